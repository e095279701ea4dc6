//! Conversions between the AMQP codec's wire types and the core's types.
//!
//! The core owns its own property and table types (it knows no wire format); the front converts
//! at the boundary. Short strings are bytes on the wire; the core keeps text, so bytes that are
//! not UTF-8 are converted lossily (RabbitMQ's own clients only ever send UTF-8 here).

use bytes::Bytes;
use warren_amqp::{BasicProperties, Decimal, FieldTable, FieldValue, ShortStr};
use warren_core::{FieldTable as CoreTable, Properties, Value};

/// Text of a short string.
pub fn text(s: &ShortStr) -> String {
    match s.as_str() {
        Some(t) => t.to_owned(),
        None => String::from_utf8_lossy(s.as_bytes()).into_owned(),
    }
}

/// Text of a short string, borrowed when it is UTF-8.
pub fn text_ref(s: &ShortStr) -> std::borrow::Cow<'_, str> {
    match s.as_str() {
        Some(t) => std::borrow::Cow::Borrowed(t),
        None => String::from_utf8_lossy(s.as_bytes()),
    }
}

/// A short string from core text, cut at 255 bytes on a character boundary if it is longer
/// (the core never produces longer names; user-supplied values came from short strings).
pub fn short(s: &str) -> ShortStr {
    let mut end = s.len().min(255);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    let cut = s.get(..end).unwrap_or_default();
    ShortStr::try_from(cut).unwrap_or_default()
}

/// Wire table → core table.
pub fn table_in(t: &FieldTable) -> CoreTable {
    let mut out = CoreTable::new();
    for (k, v) in t.iter() {
        out.insert(text(k), value_in(v));
    }
    out
}

fn value_in(v: &FieldValue) -> Value {
    match v {
        FieldValue::Bool(b) => Value::Bool(*b),
        FieldValue::I8(x) => Value::I8(*x),
        FieldValue::U8(x) => Value::U8(*x),
        FieldValue::I16(x) => Value::I16(*x),
        FieldValue::U16(x) => Value::U16(*x),
        FieldValue::I32(x) => Value::I32(*x),
        FieldValue::U32(x) => Value::U32(*x),
        FieldValue::I64(x) => Value::I64(*x),
        FieldValue::U64(x) => Value::U64(*x),
        FieldValue::F32(x) => Value::F32(*x),
        FieldValue::F64(x) => Value::F64(*x),
        FieldValue::Decimal(d) => Value::Decimal {
            scale: d.scale,
            value: d.value,
        },
        FieldValue::LongStr(b) => Value::LongStr(b.clone()),
        FieldValue::Bytes(b) => Value::ByteArray(b.clone()),
        FieldValue::Array(a) => Value::Array(a.iter().map(value_in).collect()),
        FieldValue::Timestamp(t) => Value::Timestamp(*t),
        FieldValue::Table(t) => Value::Table(table_in(t)),
        FieldValue::Void => Value::Void,
    }
}

/// Core table → wire table.
pub fn table_out(t: &CoreTable) -> FieldTable {
    t.iter().map(|(k, v)| (short(k), value_out(v))).collect()
}

fn value_out(v: &Value) -> FieldValue {
    match v {
        Value::Bool(b) => FieldValue::Bool(*b),
        Value::I8(x) => FieldValue::I8(*x),
        Value::U8(x) => FieldValue::U8(*x),
        Value::I16(x) => FieldValue::I16(*x),
        Value::U16(x) => FieldValue::U16(*x),
        Value::I32(x) => FieldValue::I32(*x),
        Value::U32(x) => FieldValue::U32(*x),
        Value::I64(x) => FieldValue::I64(*x),
        Value::U64(x) => FieldValue::U64(*x),
        Value::F32(x) => FieldValue::F32(*x),
        Value::F64(x) => FieldValue::F64(*x),
        Value::Decimal { scale, value } => FieldValue::Decimal(Decimal {
            scale: *scale,
            value: *value,
        }),
        Value::ShortStr(s) => FieldValue::LongStr(Bytes::copy_from_slice(s.as_bytes())),
        Value::LongStr(b) => FieldValue::LongStr(b.clone()),
        Value::ByteArray(b) => FieldValue::Bytes(b.clone()),
        Value::Array(a) => FieldValue::Array(a.iter().map(value_out).collect()),
        Value::Timestamp(t) => FieldValue::Timestamp(*t),
        Value::Table(t) => FieldValue::Table(table_out(t)),
        Value::Void => FieldValue::Void,
        #[allow(unreachable_patterns)] // the core's Value is non-exhaustive
        _ => FieldValue::Void,
    }
}

/// Wire properties → core properties.
pub fn properties_in(p: BasicProperties) -> Properties {
    let t = |s: Option<ShortStr>| s.as_ref().map(text);
    Properties {
        content_type: t(p.content_type),
        content_encoding: t(p.content_encoding),
        headers: p.headers.as_ref().map(table_in),
        delivery_mode: p.delivery_mode,
        priority: p.priority,
        correlation_id: t(p.correlation_id),
        reply_to: t(p.reply_to),
        expiration: t(p.expiration),
        message_id: t(p.message_id),
        timestamp: p.timestamp,
        kind: t(p.kind),
        user_id: t(p.user_id),
        app_id: t(p.app_id),
        cluster_id: t(p.cluster_id),
    }
}

/// Core properties → wire properties.
pub fn properties_out(p: &Properties) -> BasicProperties {
    let s = |v: &Option<String>| v.as_deref().map(short);
    BasicProperties {
        content_type: s(&p.content_type),
        content_encoding: s(&p.content_encoding),
        headers: p.headers.as_ref().map(table_out),
        delivery_mode: p.delivery_mode,
        priority: p.priority,
        correlation_id: s(&p.correlation_id),
        reply_to: s(&p.reply_to),
        expiration: s(&p.expiration),
        message_id: s(&p.message_id),
        timestamp: p.timestamp,
        kind: s(&p.kind),
        user_id: s(&p.user_id),
        app_id: s(&p.app_id),
        cluster_id: s(&p.cluster_id),
    }
}
