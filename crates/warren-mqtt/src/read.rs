//! A panic-free reader over one packet's bytes: every length is checked before it is used.

use bytes::{Buf, Bytes};

use crate::error::DecodeError;

/// Consumes a packet body front to back; string and binary fields are zero-copy slices.
pub(crate) struct Reader {
    buf: Bytes,
}

impl Reader {
    pub(crate) fn new(buf: Bytes) -> Self {
        Self { buf }
    }

    pub(crate) fn remaining(&self) -> usize {
        self.buf.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    pub(crate) fn u8(&mut self, field: &'static str) -> Result<u8, DecodeError> {
        if self.buf.is_empty() {
            return Err(DecodeError::Truncated { field });
        }
        Ok(self.buf.get_u8())
    }

    pub(crate) fn u16(&mut self, field: &'static str) -> Result<u16, DecodeError> {
        if self.buf.len() < 2 {
            return Err(DecodeError::Truncated { field });
        }
        Ok(self.buf.get_u16())
    }

    pub(crate) fn u32(&mut self, field: &'static str) -> Result<u32, DecodeError> {
        if self.buf.len() < 4 {
            return Err(DecodeError::Truncated { field });
        }
        Ok(self.buf.get_u32())
    }

    /// A Variable Byte Integer (1 to 4 bytes).
    pub(crate) fn varint(&mut self, field: &'static str) -> Result<u32, DecodeError> {
        let mut value: u32 = 0;
        for shift in [0u32, 7, 14, 21] {
            let byte = self.u8(field)?;
            value |= u32::from(byte & 0x7F) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(DecodeError::MalformedVarint { field })
    }

    /// The next `len` bytes as a slice of the packet.
    pub(crate) fn take(&mut self, len: usize, field: &'static str) -> Result<Bytes, DecodeError> {
        if self.buf.len() < len {
            return Err(DecodeError::Truncated { field });
        }
        Ok(self.buf.split_to(len))
    }

    /// Everything left.
    pub(crate) fn rest(&mut self) -> Bytes {
        std::mem::take(&mut self.buf)
    }

    /// Binary Data: a two-byte length and that many bytes.
    pub(crate) fn binary(&mut self, field: &'static str) -> Result<Bytes, DecodeError> {
        let len = self.u16(field)?;
        self.take(usize::from(len), field)
    }

    /// UTF-8 Encoded String: well-formed UTF-8 without U+0000.
    pub(crate) fn string(&mut self, field: &'static str) -> Result<String, DecodeError> {
        let len = self.u16(field)?;
        let len = usize::from(len);
        if self.buf.len() < len {
            return Err(DecodeError::Truncated { field });
        }
        let text = {
            let raw = self
                .buf
                .get(..len)
                .ok_or(DecodeError::Truncated { field })?;
            if raw.contains(&0) {
                return Err(DecodeError::NullCharacter { field });
            }
            std::str::from_utf8(raw)
                .map_err(|_| DecodeError::InvalidUtf8 { field })?
                .to_owned()
        };
        self.buf.advance(len);
        Ok(text)
    }
}
