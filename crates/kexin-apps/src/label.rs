//! Product labels: the QR code a producer prints on a batch, carrying the address of its public
//! trace page (`{node}/explorer/trace/{product-id}`), as PNG or SVG.

use qrcode::{Color, EcLevel, QrCode};

use crate::AppError;

/// Light modules around the code, as the QR standard asks (ISO/IEC 18004, 4 modules).
const QUIET_ZONE: usize = 4;

/// The format of a label image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// A grayscale PNG, `scale` pixels per module.
    Png,
    /// A scalable SVG.
    Svg,
}

impl Format {
    /// The format a file name's extension asks for (`.png` or `.svg`, any case).
    pub fn of_path(path: &std::path::Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "png" => Some(Format::Png),
            "svg" => Some(Format::Svg),
            _ => None,
        }
    }
}

/// Whether `id` is a product id the traceability contract accepts: 1 to 64 of `A-Z a-z 0-9 .
/// _ -`, so that it fits a URL path segment unescaped.
pub fn is_product_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// The public trace page of `product` on the node at `node` (an `http(s)://` URL).
pub fn trace_url(node: &str, product: &str) -> Result<String, AppError> {
    if !is_product_id(product) {
        return Err(AppError::Invalid(format!(
            "{product:?} is not a product id: 1 to 64 characters of A-Z, a-z, 0-9, '.', '_', '-'"
        )));
    }
    let base = node.trim_end_matches('/');
    if !(base.starts_with("http://") || base.starts_with("https://")) || base.contains(['?', '#']) {
        return Err(AppError::Invalid(format!(
            "{node:?} is not a node URL: http:// or https://, without a query or fragment"
        )));
    }
    Ok(format!("{base}/explorer/trace/{product}"))
}

/// The QR code of `text` as an image: error correction level M (15% of the code may be
/// smudged), with the standard quiet zone; `scale` pixels per module for PNG (1 to 64).
pub fn qr_image(text: &str, format: Format, scale: u32) -> Result<Vec<u8>, AppError> {
    if !(1..=64).contains(&scale) {
        return Err(AppError::Invalid(format!(
            "a scale of {scale} pixels per module: it is 1 to 64"
        )));
    }
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M)
        .map_err(|e| AppError::Invalid(format!("cannot encode {text:?} as a QR code: {e}")))?;
    match format {
        Format::Svg => Ok(code
            .render::<qrcode::render::svg::Color>()
            .quiet_zone(true)
            .module_dimensions(scale, scale)
            .build()
            .into_bytes()),
        Format::Png => png_of(&code, scale as usize),
    }
}

fn png_of(code: &QrCode, scale: usize) -> Result<Vec<u8>, AppError> {
    let modules = code.width();
    let colors = code.to_colors();
    let side = (modules + 2 * QUIET_ZONE) * scale;
    let mut pixels = vec![0xffu8; side * side];
    for (i, color) in colors.iter().enumerate() {
        if *color != Color::Dark {
            continue;
        }
        let (x, y) = (
            (i % modules + QUIET_ZONE) * scale,
            (i / modules + QUIET_ZONE) * scale,
        );
        for row in y..y + scale {
            pixels[row * side + x..row * side + x + scale].fill(0);
        }
    }
    let side = u32::try_from(side)
        .map_err(|_| AppError::Invalid("the label image is too large".into()))?;
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, side, side);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::Eight);
    let png_error = |e: png::EncodingError| AppError::Invalid(format!("cannot write the PNG: {e}"));
    let mut writer = encoder.write_header().map_err(png_error)?;
    writer.write_image_data(&pixels).map_err(png_error)?;
    writer.finish().map_err(png_error)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_built_only_from_valid_ids_and_nodes() {
        assert_eq!(
            trace_url("http://127.0.0.1:8080/", "GOJI-2026-001").unwrap(),
            "http://127.0.0.1:8080/explorer/trace/GOJI-2026-001"
        );
        assert_eq!(
            trace_url("https://kexin.example.com", "a.b_c").unwrap(),
            "https://kexin.example.com/explorer/trace/a.b_c"
        );
        for bad in ["", "GOJI/1", "a b", "é", &"x".repeat(65)] {
            assert!(trace_url("http://n", bad).is_err(), "{bad:?}");
        }
        for bad in ["ftp://n", "n:8080", "http://n/?x=1", "http://n#a"] {
            assert!(trace_url(bad, "P-1").is_err(), "{bad:?}");
        }
    }

    #[test]
    fn png_labels_have_the_quiet_zone_and_square_modules() {
        let url = "http://127.0.0.1:8080/explorer/trace/GOJI-2026-001";
        let png = qr_image(url, Format::Png, 4).unwrap();
        let decoder = png::Decoder::new(std::io::Cursor::new(&png));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        let modules = QrCode::with_error_correction_level(url.as_bytes(), EcLevel::M)
            .unwrap()
            .width();
        assert_eq!(info.width as usize, (modules + 8) * 4);
        assert_eq!(info.width, info.height);
        let side = info.width as usize;
        // The quiet zone is light; the top-left finder pattern's corner is dark.
        assert!(buf[..side * 16].iter().all(|&p| p == 0xff));
        assert_eq!(buf[16 * side + 16], 0);
        assert!(qr_image(url, Format::Png, 0).is_err());
        let svg = String::from_utf8(qr_image(url, Format::Svg, 8).unwrap()).unwrap();
        assert!(svg.starts_with("<?xml") && svg.contains("<svg"), "{svg}");
    }
}
