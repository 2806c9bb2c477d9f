//! Canonical binary encoding with bounded decoding.
//!
//! Integers are fixed-width big-endian; variable-length fields carry an explicit length prefix
//! whose width is part of the field's definition; every length is checked against a limit
//! *before* anything is allocated. Decoding a top-level object must consume every byte.
//! There is exactly one encoding of every value: booleans and option tags are `0` or `1`,
//! strings are valid UTF-8, enum tags are known, lists are in their defined order.

use std::fmt;

/// Why bytes were refused by a decoder.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The input ended before `field` was complete.
    #[error("truncated input: {field} needs {needed} more byte(s)")]
    Truncated {
        /// The field being read.
        field: &'static str,
        /// How many bytes were missing.
        needed: usize,
    },
    /// Bytes were left over after a complete object.
    #[error("{0} trailing byte(s) after a complete object")]
    TrailingBytes(usize),
    /// A length or count exceeds its limit.
    #[error("{field} is too large: {actual} exceeds the limit of {limit}")]
    TooLarge {
        /// The field.
        field: &'static str,
        /// Its limit.
        limit: u64,
        /// What was found.
        actual: u64,
    },
    /// A value is outside what the format allows (bad tag, bad version, empty list, ...).
    #[error("invalid {field}: {reason}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// Why.
        reason: String,
    },
}

impl DecodeError {
    /// A stable, machine-readable error code.
    pub fn code(&self) -> &'static str {
        match self {
            DecodeError::Truncated { .. } => "truncated",
            DecodeError::TrailingBytes(_) => "trailing_bytes",
            DecodeError::TooLarge { .. } => "too_large",
            DecodeError::Invalid { .. } => "malformed",
        }
    }

    pub(crate) fn invalid(field: &'static str, reason: impl fmt::Display) -> DecodeError {
        DecodeError::Invalid {
            field,
            reason: reason.to_string(),
        }
    }
}

/// Writes a value's canonical encoding.
pub trait Encode {
    /// Appends the encoding to `out`.
    fn encode_to(&self, out: &mut Vec<u8>);

    /// The encoding as a fresh vector.
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_to(&mut out);
        out
    }
}

/// Reads a value from its canonical encoding.
pub trait Decode: Sized {
    /// Reads one value from `r`, leaving the rest.
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError>;

    /// Decodes exactly one value from `bytes`; trailing bytes are an error.
    fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let v = Self::decode_from(&mut r)?;
        r.finish()?;
        Ok(v)
    }
}

/// A cursor over input bytes that never reads past the end.
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `buf`.
    pub fn new(buf: &'a [u8]) -> Reader<'a> {
        Reader { buf, pos: 0 }
    }

    /// Bytes not yet read.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Fails if any byte is left.
    pub fn finish(&self) -> Result<(), DecodeError> {
        match self.remaining() {
            0 => Ok(()),
            n => Err(DecodeError::TrailingBytes(n)),
        }
    }

    /// Reads `n` bytes.
    pub fn take(&mut self, field: &'static str, n: usize) -> Result<&'a [u8], DecodeError> {
        if self.remaining() < n {
            return Err(DecodeError::Truncated {
                field,
                needed: n - self.remaining(),
            });
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    /// Reads a fixed-size array.
    pub fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], DecodeError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(field, N)?);
        Ok(out)
    }

    /// Reads a `u8`.
    pub fn u8(&mut self, field: &'static str) -> Result<u8, DecodeError> {
        Ok(self.take(field, 1)?[0])
    }

    /// Reads a big-endian `u16`.
    pub fn u16(&mut self, field: &'static str) -> Result<u16, DecodeError> {
        Ok(u16::from_be_bytes(self.array(field)?))
    }

    /// Reads a big-endian `u32`.
    pub fn u32(&mut self, field: &'static str) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.array(field)?))
    }

    /// Reads a big-endian `u64`.
    pub fn u64(&mut self, field: &'static str) -> Result<u64, DecodeError> {
        Ok(u64::from_be_bytes(self.array(field)?))
    }

    /// Reads a 32-byte hash.
    pub fn hash(&mut self, field: &'static str) -> Result<kexin_crypto::Hash, DecodeError> {
        Ok(kexin_crypto::Hash(self.array(field)?))
    }

    /// Reads a boolean-like tag that must be exactly 0 or 1.
    pub fn flag(&mut self, field: &'static str) -> Result<bool, DecodeError> {
        match self.u8(field)? {
            0 => Ok(false),
            1 => Ok(true),
            t => Err(DecodeError::invalid(
                field,
                format!("tag must be 0 or 1, got {t}"),
            )),
        }
    }

    /// Reads a UTF-8 string with a `u8` length prefix, at most `max` bytes.
    pub fn str8(&mut self, field: &'static str, max: usize) -> Result<String, DecodeError> {
        let len = self.u8(field)? as usize;
        self.str_body(field, len, max)
    }

    /// Reads a UTF-8 string with a `u16` length prefix, at most `max` bytes.
    pub fn str16(&mut self, field: &'static str, max: usize) -> Result<String, DecodeError> {
        let len = self.u16(field)? as usize;
        self.str_body(field, len, max)
    }

    fn str_body(
        &mut self,
        field: &'static str,
        len: usize,
        max: usize,
    ) -> Result<String, DecodeError> {
        if len > max {
            return Err(DecodeError::TooLarge {
                field,
                limit: max as u64,
                actual: len as u64,
            });
        }
        let bytes = self.take(field, len)?;
        String::from_utf8(bytes.to_vec())
            .map_err(|_| DecodeError::invalid(field, "not valid UTF-8"))
    }

    /// Reads a `u32` count and checks it against `1..=max` (or `0..=max` when `allow_empty`).
    pub fn count(
        &mut self,
        field: &'static str,
        max: u32,
        allow_empty: bool,
    ) -> Result<u32, DecodeError> {
        let n = self.u32(field)?;
        if n > max {
            return Err(DecodeError::TooLarge {
                field,
                limit: max as u64,
                actual: n as u64,
            });
        }
        if n == 0 && !allow_empty {
            return Err(DecodeError::invalid(field, "must not be empty"));
        }
        Ok(n)
    }
}

/// Helpers for writing canonical fields.
pub(crate) trait Writer {
    fn put_u8(&mut self, v: u8);
    fn put_u16(&mut self, v: u16);
    fn put_u32(&mut self, v: u32);
    fn put_u64(&mut self, v: u64);
    fn put_str8(&mut self, s: &str);
    fn put_str16(&mut self, s: &str);
}

impl Writer for Vec<u8> {
    fn put_u8(&mut self, v: u8) {
        self.push(v);
    }
    fn put_u16(&mut self, v: u16) {
        self.extend_from_slice(&v.to_be_bytes());
    }
    fn put_u32(&mut self, v: u32) {
        self.extend_from_slice(&v.to_be_bytes());
    }
    fn put_u64(&mut self, v: u64) {
        self.extend_from_slice(&v.to_be_bytes());
    }
    fn put_str8(&mut self, s: &str) {
        debug_assert!(s.len() <= u8::MAX as usize);
        self.push(s.len() as u8);
        self.extend_from_slice(s.as_bytes());
    }
    fn put_str16(&mut self, s: &str) {
        debug_assert!(s.len() <= u16::MAX as usize);
        self.put_u16(s.len() as u16);
        self.extend_from_slice(s.as_bytes());
    }
}
