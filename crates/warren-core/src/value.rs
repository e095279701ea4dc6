//! Field tables and values: the AMQP field value kinds, owned by the core so it does not depend
//! on any codec. A front converts its wire tables to these without loss.

use std::fmt;

use bytes::Bytes;

/// One field value. The variants mirror AMQP 0-9-1 field value kinds (with RabbitMQ's type
/// letters in the docs), so a front converts both ways without loss.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `t` boolean.
    Bool(bool),
    /// `b` signed 8-bit.
    I8(i8),
    /// `B` unsigned 8-bit.
    U8(u8),
    /// `s` signed 16-bit (RabbitMQ's meaning of `s`).
    I16(i16),
    /// `u` unsigned 16-bit.
    U16(u16),
    /// `I` signed 32-bit.
    I32(i32),
    /// `i` unsigned 32-bit.
    U32(u32),
    /// `l` signed 64-bit.
    I64(i64),
    /// `L` unsigned 64-bit (in the 0-9-1 spec, unused by RabbitMQ).
    U64(u64),
    /// `f` 32-bit float.
    F32(f32),
    /// `d` 64-bit float.
    F64(f64),
    /// `D` decimal: `value / 10^scale`.
    Decimal {
        /// Number of decimal digits after the point.
        scale: u8,
        /// The unscaled value.
        value: u32,
    },
    /// Spec short string (the 0-9-1 spec's `s`); kept for lossless conversion.
    ShortStr(String),
    /// `S` long string: bytes, usually UTF-8.
    LongStr(Bytes),
    /// `T` timestamp (seconds since the epoch).
    Timestamp(u64),
    /// `F` nested table.
    Table(FieldTable),
    /// `A` array.
    Array(Vec<Value>),
    /// `x` byte array.
    ByteArray(Bytes),
    /// `V` void (no value).
    Void,
}

impl Value {
    /// A long string from text.
    pub fn str(s: &str) -> Value {
        Value::LongStr(Bytes::copy_from_slice(s.as_bytes()))
    }

    /// RabbitMQ's name of the type, as it appears in error messages (`longstr`, `signedint`…).
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Bool(_) => "bool",
            Value::I8(_) => "byte",
            Value::U8(_) => "unsignedbyte",
            Value::I16(_) => "short",
            Value::U16(_) => "unsignedshort",
            Value::I32(_) => "signedint",
            Value::U32(_) => "unsignedint",
            Value::I64(_) | Value::U64(_) => "long",
            Value::F32(_) => "float",
            Value::F64(_) => "double",
            Value::Decimal { .. } => "decimal",
            Value::ShortStr(_) | Value::LongStr(_) => "longstr",
            Value::Timestamp(_) => "timestamp",
            Value::Table(_) => "table",
            Value::Array(_) => "array",
            Value::ByteArray(_) => "binary",
            Value::Void => "void",
        }
    }

    /// The value as an integer, if it is one of the integer kinds.
    pub fn as_i128(&self) -> Option<i128> {
        Some(match *self {
            Value::I8(v) => v.into(),
            Value::U8(v) => v.into(),
            Value::I16(v) => v.into(),
            Value::U16(v) => v.into(),
            Value::I32(v) => v.into(),
            Value::U32(v) => v.into(),
            Value::I64(v) => v.into(),
            Value::U64(v) => v.into(),
            _ => return None,
        })
    }

    /// The value as text, if it is a string kind holding UTF-8.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::ShortStr(s) => Some(s),
            Value::LongStr(b) => std::str::from_utf8(b).ok(),
            _ => None,
        }
    }

    /// Equality as RabbitMQ's equivalence checks see it: integers compare by value whatever their
    /// width (clients pick widths freely), strings by content whatever their kind.
    pub fn equivalent(&self, other: &Value) -> bool {
        if let (Some(a), Some(b)) = (self.as_i128(), other.as_i128()) {
            return a == b;
        }
        match (self, other) {
            (Value::ShortStr(_) | Value::LongStr(_), Value::ShortStr(_) | Value::LongStr(_)) => {
                self.string_bytes() == other.string_bytes()
            }
            _ => self == other,
        }
    }

    fn string_bytes(&self) -> &[u8] {
        match self {
            Value::ShortStr(s) => s.as_bytes(),
            Value::LongStr(b) => b,
            _ => &[],
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(i) = self.as_i128() {
            return write!(f, "{i}");
        }
        match self {
            Value::Bool(b) => write!(f, "{b}"),
            Value::F32(v) => write!(f, "{v}"),
            Value::F64(v) => write!(f, "{v}"),
            Value::Decimal { scale, value } => write!(f, "{value}e-{scale}"),
            Value::ShortStr(s) => f.write_str(s),
            Value::LongStr(b) | Value::ByteArray(b) => f.write_str(&String::from_utf8_lossy(b)),
            Value::Timestamp(t) => write!(f, "{t}"),
            Value::Table(t) => write!(f, "{t:?}"),
            Value::Array(a) => write!(f, "{a:?}"),
            _ => f.write_str("void"),
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::str(s)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}

impl From<i32> for Value {
    fn from(v: i32) -> Value {
        Value::I32(v)
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Value {
        Value::I64(v)
    }
}

/// An AMQP field table: ordered (name, value) pairs, as on the wire.
///
/// ```
/// use warren_core::{FieldTable, Value};
///
/// let mut t = FieldTable::new();
/// t.insert("x-match", "any");
/// t.insert("x-max-length", 10);
/// assert_eq!(t.get("x-match").and_then(Value::as_str), Some("any"));
/// assert_eq!(t.get("x-max-length").and_then(Value::as_i128), Some(10));
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FieldTable {
    entries: Vec<(String, Value)>,
}

impl FieldTable {
    /// An empty table.
    pub fn new() -> FieldTable {
        FieldTable::default()
    }

    /// The value of `key`, if present (the first one, should a table repeat a key).
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.entries.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// Sets `key` (replacing an existing entry, else appending).
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<Value>) {
        let key = key.into();
        let value = value.into();
        match self.entries.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => self.entries.push((key, value)),
        }
    }

    /// Removes `key`, returning its value.
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        let pos = self.entries.iter().position(|(k, _)| k == key)?;
        Some(self.entries.remove(pos).1)
    }

    /// The entries in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when the table has no entry.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Equality as RabbitMQ sees binding arguments: same keys, equivalent values, any order.
    pub fn equivalent(&self, other: &FieldTable) -> bool {
        self.len() == other.len()
            && self
                .iter()
                .all(|(k, v)| other.get(k).is_some_and(|o| o.equivalent(v)))
    }
}

impl<K: Into<String>, V: Into<Value>> FromIterator<(K, V)> for FieldTable {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> FieldTable {
        let mut t = FieldTable::new();
        for (k, v) in iter {
            t.insert(k, v);
        }
        t
    }
}

impl From<FieldTable> for Value {
    fn from(t: FieldTable) -> Value {
        Value::Table(t)
    }
}
