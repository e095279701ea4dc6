//! Field tables and arrays: the typed key/value maps of `arguments`, `client-properties` and the
//! `headers` property, with every value type RabbitMQ and the common clients send.

use crate::codec::{put_long_str, put_short_str, with_u32_len, Reader};
use crate::{Error, ShortStr};
use bytes::{BufMut, Bytes, BytesMut};

/// How deeply tables and arrays may nest inside each other (the outermost table is depth 1).
/// Deeper input is rejected with [`Error::NestingTooDeep`] instead of recursing without bound.
pub const MAX_NESTING_DEPTH: usize = 32;

/// An AMQP decimal: `value / 10^scale`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Decimal {
    /// Number of decimal digits after the point.
    pub scale: u8,
    /// The unscaled value, as sent (RabbitMQ reads it as signed).
    pub value: u32,
}

/// One value in a field table or array. The type octet each variant is written with is given
/// in its documentation (RabbitMQ's errata table, plus `'L'` and `'u'` from the 0-9-1 spec).
#[derive(Debug, Clone, PartialEq)]
pub enum FieldValue {
    /// `t`: boolean.
    Bool(bool),
    /// `b`: signed 8-bit.
    I8(i8),
    /// `B`: unsigned 8-bit.
    U8(u8),
    /// `s`: signed 16-bit (RabbitMQ's meaning of `s`).
    I16(i16),
    /// `u`: unsigned 16-bit.
    U16(u16),
    /// `I`: signed 32-bit.
    I32(i32),
    /// `i`: unsigned 32-bit.
    U32(u32),
    /// `l`: signed 64-bit.
    I64(i64),
    /// `L`: unsigned 64-bit.
    U64(u64),
    /// `f`: 32-bit float.
    F32(f32),
    /// `d`: 64-bit float.
    F64(f64),
    /// `D`: decimal.
    Decimal(Decimal),
    /// `S`: long string.
    LongStr(Bytes),
    /// `x`: byte array.
    Bytes(Bytes),
    /// `A`: array of values.
    Array(FieldArray),
    /// `T`: timestamp, seconds since the epoch.
    Timestamp(u64),
    /// `F`: nested table.
    Table(FieldTable),
    /// `V`: no value.
    Void,
}

impl FieldValue {
    /// The type octet this value is written with.
    pub fn tag(&self) -> u8 {
        match self {
            FieldValue::Bool(_) => b't',
            FieldValue::I8(_) => b'b',
            FieldValue::U8(_) => b'B',
            FieldValue::I16(_) => b's',
            FieldValue::U16(_) => b'u',
            FieldValue::I32(_) => b'I',
            FieldValue::U32(_) => b'i',
            FieldValue::I64(_) => b'l',
            FieldValue::U64(_) => b'L',
            FieldValue::F32(_) => b'f',
            FieldValue::F64(_) => b'd',
            FieldValue::Decimal(_) => b'D',
            FieldValue::LongStr(_) => b'S',
            FieldValue::Bytes(_) => b'x',
            FieldValue::Array(_) => b'A',
            FieldValue::Timestamp(_) => b'T',
            FieldValue::Table(_) => b'F',
            FieldValue::Void => b'V',
        }
    }

    /// The value as a string slice, for `S` values holding UTF-8.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            FieldValue::LongStr(b) => std::str::from_utf8(b).ok(),
            _ => None,
        }
    }

    /// The value as a boolean, for `t` values.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            FieldValue::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// Any integer variant widened to `i128` (how `x-max-length`, `x-message-ttl` and friends are
    /// read, since clients choose different widths).
    pub fn as_int(&self) -> Option<i128> {
        Some(match self {
            FieldValue::I8(v) => i128::from(*v),
            FieldValue::U8(v) => i128::from(*v),
            FieldValue::I16(v) => i128::from(*v),
            FieldValue::U16(v) => i128::from(*v),
            FieldValue::I32(v) => i128::from(*v),
            FieldValue::U32(v) => i128::from(*v),
            FieldValue::I64(v) => i128::from(*v),
            FieldValue::U64(v) => i128::from(*v),
            FieldValue::Timestamp(v) => i128::from(*v),
            _ => return None,
        })
    }

    /// The nested table, for `F` values.
    pub fn as_table(&self) -> Option<&FieldTable> {
        match self {
            FieldValue::Table(t) => Some(t),
            _ => None,
        }
    }
}

impl From<bool> for FieldValue {
    fn from(v: bool) -> Self {
        FieldValue::Bool(v)
    }
}
impl From<i32> for FieldValue {
    fn from(v: i32) -> Self {
        FieldValue::I32(v)
    }
}
impl From<i64> for FieldValue {
    fn from(v: i64) -> Self {
        FieldValue::I64(v)
    }
}
impl From<&str> for FieldValue {
    fn from(v: &str) -> Self {
        FieldValue::LongStr(Bytes::copy_from_slice(v.as_bytes()))
    }
}
impl From<FieldTable> for FieldValue {
    fn from(v: FieldTable) -> Self {
        FieldValue::Table(v)
    }
}

/// A field array (`A`): values in order.
pub type FieldArray = Vec<FieldValue>;

/// A field table: key/value pairs in wire order (order is kept so that re-encoding is
/// byte-exact; duplicate keys from the wire are kept too, and [`FieldTable::get`] returns the
/// first).
///
/// ```
/// use warren_amqp::{FieldTable, FieldValue};
/// let mut args = FieldTable::new();
/// args.insert("x-max-length", FieldValue::I32(10)).unwrap();
/// args.insert("x-queue-type", "quorum".into()).unwrap();
/// assert_eq!(args.get("x-max-length").and_then(FieldValue::as_int), Some(10));
/// assert_eq!(args.get("x-queue-type").and_then(FieldValue::as_str), Some("quorum"));
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FieldTable(Vec<(ShortStr, FieldValue)>);

impl FieldTable {
    /// An empty table.
    pub const fn new() -> Self {
        FieldTable(Vec::new())
    }

    /// The first value stored under `key`.
    pub fn get(&self, key: &str) -> Option<&FieldValue> {
        self.0
            .iter()
            .find(|(k, _)| k.as_bytes() == key.as_bytes())
            .map(|(_, v)| v)
    }

    /// Sets `key` to `value`, replacing the first existing entry or appending a new one.
    /// Fails if the key is longer than 255 bytes.
    pub fn insert(&mut self, key: &str, value: FieldValue) -> Result<(), Error> {
        if let Some(slot) = self
            .0
            .iter_mut()
            .find(|(k, _)| k.as_bytes() == key.as_bytes())
        {
            slot.1 = value;
        } else {
            self.0.push((ShortStr::try_from(key)?, value));
        }
        Ok(())
    }

    /// Appends an entry without looking for an existing key.
    pub fn push(&mut self, key: ShortStr, value: FieldValue) {
        self.0.push((key, value));
    }

    /// Entries in order.
    pub fn iter(&self) -> impl Iterator<Item = (&ShortStr, &FieldValue)> {
        self.0.iter().map(|(k, v)| (k, v))
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when there are no entries.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The entries.
    pub fn into_inner(self) -> Vec<(ShortStr, FieldValue)> {
        self.0
    }
}

impl From<Vec<(ShortStr, FieldValue)>> for FieldTable {
    fn from(v: Vec<(ShortStr, FieldValue)>) -> Self {
        FieldTable(v)
    }
}

impl FromIterator<(ShortStr, FieldValue)> for FieldTable {
    fn from_iter<I: IntoIterator<Item = (ShortStr, FieldValue)>>(iter: I) -> Self {
        FieldTable(iter.into_iter().collect())
    }
}

pub(crate) fn read_table(
    r: &mut Reader,
    field: &'static str,
    depth: usize,
) -> Result<FieldTable, Error> {
    let depth = enter(depth)?;
    let body = r.long_str(field)?;
    let mut inner = Reader::new(body, "field table");
    let mut entries = Vec::new();
    while !inner.is_empty() {
        let key = inner.short_str("table key")?;
        let value = read_value(&mut inner, depth)?;
        entries.push((key, value));
    }
    Ok(FieldTable(entries))
}

fn read_array(r: &mut Reader, depth: usize) -> Result<FieldArray, Error> {
    let depth = enter(depth)?;
    let body = r.long_str("field array")?;
    let mut inner = Reader::new(body, "field array");
    let mut values = Vec::new();
    while !inner.is_empty() {
        values.push(read_value(&mut inner, depth)?);
    }
    Ok(values)
}

fn enter(depth: usize) -> Result<usize, Error> {
    let depth = depth.saturating_add(1);
    if depth > MAX_NESTING_DEPTH {
        Err(Error::NestingTooDeep {
            limit: MAX_NESTING_DEPTH,
            class_method: None,
        })
    } else {
        Ok(depth)
    }
}

fn read_value(r: &mut Reader, depth: usize) -> Result<FieldValue, Error> {
    const F: &str = "field value";
    let tag = r.u8("field value type")?;
    Ok(match tag {
        b't' => FieldValue::Bool(r.u8(F)? != 0),
        b'b' => FieldValue::I8(i8::from_be_bytes([r.u8(F)?])),
        b'B' => FieldValue::U8(r.u8(F)?),
        b's' => FieldValue::I16(i16::from_be_bytes(r.u16(F)?.to_be_bytes())),
        b'u' => FieldValue::U16(r.u16(F)?),
        b'I' => FieldValue::I32(i32::from_be_bytes(r.u32(F)?.to_be_bytes())),
        b'i' => FieldValue::U32(r.u32(F)?),
        b'l' => FieldValue::I64(i64::from_be_bytes(r.u64(F)?.to_be_bytes())),
        b'L' => FieldValue::U64(r.u64(F)?),
        b'f' => FieldValue::F32(f32::from_bits(r.u32(F)?)),
        b'd' => FieldValue::F64(f64::from_bits(r.u64(F)?)),
        b'D' => FieldValue::Decimal(Decimal {
            scale: r.u8(F)?,
            value: r.u32(F)?,
        }),
        b'S' => FieldValue::LongStr(r.long_str(F)?),
        b'x' => FieldValue::Bytes(r.long_str(F)?),
        b'A' => FieldValue::Array(read_array(r, depth)?),
        b'T' => FieldValue::Timestamp(r.u64(F)?),
        b'F' => FieldValue::Table(read_table(r, F, depth)?),
        b'V' => FieldValue::Void,
        tag => {
            return Err(Error::UnknownFieldType {
                tag,
                class_method: None,
            })
        }
    })
}

pub(crate) fn write_table(buf: &mut BytesMut, t: &FieldTable) -> Result<(), Error> {
    with_u32_len(buf, "field table", |buf| {
        for (k, v) in &t.0 {
            put_short_str(buf, k);
            write_value(buf, v)?;
        }
        Ok(())
    })
}

fn write_value(buf: &mut BytesMut, v: &FieldValue) -> Result<(), Error> {
    buf.put_u8(v.tag());
    match v {
        FieldValue::Bool(b) => buf.put_u8(u8::from(*b)),
        FieldValue::I8(x) => buf.put_i8(*x),
        FieldValue::U8(x) => buf.put_u8(*x),
        FieldValue::I16(x) => buf.put_i16(*x),
        FieldValue::U16(x) => buf.put_u16(*x),
        FieldValue::I32(x) => buf.put_i32(*x),
        FieldValue::U32(x) => buf.put_u32(*x),
        FieldValue::I64(x) => buf.put_i64(*x),
        FieldValue::U64(x) => buf.put_u64(*x),
        FieldValue::F32(x) => buf.put_f32(*x),
        FieldValue::F64(x) => buf.put_f64(*x),
        FieldValue::Decimal(d) => {
            buf.put_u8(d.scale);
            buf.put_u32(d.value);
        }
        FieldValue::LongStr(s) => put_long_str(buf, s, "long string")?,
        FieldValue::Bytes(s) => put_long_str(buf, s, "byte array")?,
        FieldValue::Array(a) => with_u32_len(buf, "field array", |buf| {
            a.iter().try_for_each(|v| write_value(buf, v))
        })?,
        FieldValue::Timestamp(t) => buf.put_u64(*t),
        FieldValue::Table(t) => write_table(buf, t)?,
        FieldValue::Void => {}
    }
    Ok(())
}

impl FieldTable {
    /// Decodes table entries from bytes that hold them *without* the 4-byte length prefix, as
    /// the AMQPLAIN mechanism's `connection.start-ok` response carries its `LOGIN`/`PASSWORD`.
    ///
    /// ```
    /// use warren_amqp::{FieldTable, FieldValue};
    /// // "LOGIN" => S"guest"
    /// let body = b"\x05LOGINS\x00\x00\x00\x05guest";
    /// let t = FieldTable::decode_entries(bytes::Bytes::from_static(body))?;
    /// assert_eq!(t.get("LOGIN").and_then(FieldValue::as_str), Some("guest"));
    /// # Ok::<(), warren_amqp::Error>(())
    /// ```
    pub fn decode_entries(body: Bytes) -> Result<FieldTable, Error> {
        let mut inner = Reader::new(body, "field table");
        let mut entries = Vec::new();
        while !inner.is_empty() {
            let key = inner.short_str("table key")?;
            let value = read_value(&mut inner, 0)?;
            entries.push((key, value));
        }
        Ok(FieldTable(entries))
    }
}
