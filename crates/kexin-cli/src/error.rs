//! Error codes at the command-line edge: every failure is printed as `error: <code>: <message>`.

use kexin_client::{ClientError, IdentityError, KeyFileError};
use kexin_pki::PkiError;
use kexin_types::ReceiptError;

/// An error with an explicit code.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct CliError {
    /// The machine-readable code printed after `error: `.
    pub code: &'static str,
    /// The explanation.
    pub message: String,
}

/// Shorthand for an `anyhow::Error` carrying a [`CliError`].
pub fn fail(code: &'static str, message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(CliError {
        code,
        message: message.into(),
    })
}

/// The code and message to print for an error: the code of the innermost error that has one
/// (`failed` when none does), and the whole chain of messages.
pub fn describe(err: &anyhow::Error) -> (String, String) {
    let mut code: Option<String> = None;
    let mut parts: Vec<String> = Vec::new();
    for cause in err.chain() {
        let (c, text) = if let Some(e) = cause.downcast_ref::<CliError>() {
            (Some(e.code.to_owned()), e.message.clone())
        } else if let Some(e) = cause.downcast_ref::<kexin_apps::AppError>() {
            (Some(e.code().to_owned()), e.to_string())
        } else if let Some(e) = cause.downcast_ref::<ClientError>() {
            (Some(e.code().to_owned()), e.message())
        } else if let Some(e) = cause.downcast_ref::<ReceiptError>() {
            (Some(e.code().to_owned()), e.to_string())
        } else if let Some(e) = cause.downcast_ref::<KeyFileError>() {
            (Some(e.code().to_owned()), e.to_string())
        } else if let Some(e) = cause.downcast_ref::<IdentityError>() {
            (Some(e.code().to_owned()), e.to_string())
        } else if let Some(e) = cause.downcast_ref::<PkiError>() {
            (Some(e.code().to_owned()), e.to_string())
        } else if let Some(e) = cause.downcast_ref::<std::io::Error>() {
            (Some("io".to_owned()), e.to_string())
        } else {
            (None, cause.to_string())
        };
        if c.is_some() {
            code = c;
        }
        // Errors often repeat their source's text; do not print it twice.
        if !parts.last().is_some_and(|p| p.ends_with(&text)) {
            parts.push(text);
        }
    }
    (
        code.unwrap_or_else(|| "failed".to_owned()),
        parts.join(": "),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context as _;

    #[test]
    fn codes_come_from_the_innermost_typed_error() {
        let e: anyhow::Error = ClientError::Api {
            status: 409,
            code: "nonce_replayed".into(),
            message: "nonce 1 already used".into(),
        }
        .into();
        let e = e.context("submitting batch 1");
        let (code, msg) = describe(&e);
        assert_eq!(code, "nonce_replayed");
        assert_eq!(msg, "submitting batch 1: nonce 1 already used (HTTP 409)");

        let e = fail("bad_genesis", "not JSON");
        assert_eq!(describe(&e), ("bad_genesis".into(), "not JSON".into()));

        let e = Err::<(), _>(anyhow::anyhow!("plain"))
            .context("ctx")
            .unwrap_err();
        assert_eq!(describe(&e), ("failed".into(), "ctx: plain".into()));
    }
}
