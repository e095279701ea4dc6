//! Panic-free primitives: a `Reader` over a complete frame payload and the matching writers.
//!
//! The reader checks every length before it takes bytes, and hands out sub-slices of the payload
//! as `Bytes` (a refcount bump, never a copy). The writers append to a `BytesMut`; lengths of
//! tables are patched in after the table is written, so nothing is measured or allocated twice.

use crate::table::{read_table, write_table, FieldTable};
use crate::{Error, ShortStr};
use bytes::{Buf, BufMut, Bytes, BytesMut};

/// Reads fields from one complete frame payload.
#[derive(Debug)]
pub(crate) struct Reader {
    buf: Bytes,
    context: &'static str,
}

impl Reader {
    /// A reader over `buf`; `context` names what is decoded, for error messages.
    pub(crate) fn new(buf: Bytes, context: &'static str) -> Self {
        Reader { buf, context }
    }

    pub(crate) fn set_context(&mut self, context: &'static str) {
        self.context = context;
    }

    fn need(&self, n: usize, field: &'static str) -> Result<(), Error> {
        if self.buf.remaining() < n {
            Err(Error::Truncated {
                context: self.context,
                field,
                class_method: None,
            })
        } else {
            Ok(())
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    pub(crate) fn u8(&mut self, field: &'static str) -> Result<u8, Error> {
        self.need(1, field)?;
        Ok(self.buf.get_u8())
    }

    pub(crate) fn u16(&mut self, field: &'static str) -> Result<u16, Error> {
        self.need(2, field)?;
        Ok(self.buf.get_u16())
    }

    pub(crate) fn u32(&mut self, field: &'static str) -> Result<u32, Error> {
        self.need(4, field)?;
        Ok(self.buf.get_u32())
    }

    pub(crate) fn u64(&mut self, field: &'static str) -> Result<u64, Error> {
        self.need(8, field)?;
        Ok(self.buf.get_u64())
    }

    /// The next `n` bytes as a zero-copy slice.
    pub(crate) fn bytes(&mut self, n: usize, field: &'static str) -> Result<Bytes, Error> {
        self.need(n, field)?;
        Ok(self.buf.split_to(n))
    }

    pub(crate) fn short_str(&mut self, field: &'static str) -> Result<ShortStr, Error> {
        let len = self.u8(field)?;
        Ok(ShortStr::from_bytes_unchecked(
            self.bytes(usize::from(len), field)?,
        ))
    }

    pub(crate) fn long_str(&mut self, field: &'static str) -> Result<Bytes, Error> {
        let len = self.u32(field)?;
        let len = usize::try_from(len).map_err(|_| Error::Truncated {
            context: self.context,
            field,
            class_method: None,
        })?;
        self.bytes(len, field)
    }

    pub(crate) fn table(&mut self, field: &'static str) -> Result<FieldTable, Error> {
        read_table(self, field, 0)
    }

    /// Fails if any bytes are left.
    pub(crate) fn finish(self) -> Result<(), Error> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(Error::TrailingBytes {
                context: self.context,
                extra: self.buf.len(),
                class_method: None,
            })
        }
    }
}

/// Writes a short string: one length octet, then the bytes.
pub(crate) fn put_short_str(buf: &mut BytesMut, s: &ShortStr) {
    // ShortStr guarantees len <= 255.
    buf.put_u8(u8::try_from(s.len()).unwrap_or(u8::MAX));
    buf.put_slice(s.as_bytes());
}

/// Writes a long string: a 32-bit length, then the bytes.
pub(crate) fn put_long_str(buf: &mut BytesMut, s: &[u8], what: &'static str) -> Result<(), Error> {
    let len = u32::try_from(s.len()).map_err(|_| Error::TooLong { what, len: s.len() })?;
    buf.put_u32(len);
    buf.put_slice(s);
    Ok(())
}

/// Writes a field table with its 32-bit length prefix.
pub(crate) fn put_table(buf: &mut BytesMut, t: &FieldTable) -> Result<(), Error> {
    write_table(buf, t)
}

/// Reserves a 32-bit length slot, runs `body`, then patches the slot with the bytes written.
pub(crate) fn with_u32_len(
    buf: &mut BytesMut,
    what: &'static str,
    body: impl FnOnce(&mut BytesMut) -> Result<(), Error>,
) -> Result<(), Error> {
    let start = buf.len();
    buf.put_u32(0);
    body(buf)?;
    let len = buf.len().saturating_sub(start).saturating_sub(4);
    let len32 = u32::try_from(len).map_err(|_| Error::TooLong { what, len })?;
    if let Some(slot) = buf.get_mut(start..start.saturating_add(4)) {
        slot.copy_from_slice(&len32.to_be_bytes());
    }
    Ok(())
}

/// Packs consecutive `bit` arguments into octets, least significant bit first.
#[derive(Debug, Default)]
pub(crate) struct BitWriter {
    octet: u8,
    used: u8,
}

impl BitWriter {
    pub(crate) fn push(&mut self, buf: &mut BytesMut, bit: bool) {
        if self.used == 8 {
            self.flush(buf);
        }
        if bit {
            self.octet |= 1 << self.used;
        }
        self.used += 1;
    }

    pub(crate) fn flush(&mut self, buf: &mut BytesMut) {
        if self.used > 0 {
            buf.put_u8(self.octet);
            self.octet = 0;
            self.used = 0;
        }
    }
}

/// Unpacks consecutive `bit` arguments, least significant bit first.
#[derive(Debug, Default)]
pub(crate) struct BitReader {
    octet: u8,
    used: u8,
}

impl BitReader {
    pub(crate) fn next(&mut self, r: &mut Reader, field: &'static str) -> Result<bool, Error> {
        if self.used == 0 || self.used == 8 {
            self.octet = r.u8(field)?;
            self.used = 0;
        }
        let bit = self.octet & (1 << self.used) != 0;
        self.used += 1;
        Ok(bit)
    }
}
