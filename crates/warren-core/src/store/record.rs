//! The bytes of one segment record: framing (length + CRC-32), and the payload codec for
//! publish and ack records. Decoding never panics: every read is bounds-checked and a bad
//! record is a [`RecordError`].

use std::sync::Arc;

use bytes::Bytes;

use crate::message::{Message, Properties};
use crate::value::{FieldTable, Value};

/// Bytes before a record's payload: `len: u32 LE` then `crc32: u32 LE` of the payload.
pub(crate) const FRAME_HEADER: usize = 8;

/// Largest payload a record may claim (bounds what a corrupt length field can make us read).
pub(crate) const MAX_PAYLOAD: usize = 1 << 30;

const KIND_PUBLISH: u8 = 1;
const KIND_ACK: u8 = 2;
const KIND_KV: u8 = 3;
const KIND_SPILL: u8 = 4;
const KIND_DELIVERED: u8 = 5;

/// Where a record sits: its segment and the byte offset of its frame in that segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Location {
    /// Segment number (the file `NNNNNNNNNNNNNNNNNNNN.seg`).
    pub segment: u64,
    /// Offset of the record's frame header in the segment file.
    pub offset: u64,
}

/// A decoded record payload.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Record {
    /// A persistent message enqueued in a durable queue.
    Publish {
        vhost: String,
        queue: String,
        message: Box<Message>,
    },
    /// The publish record at `target` is settled (acked, dropped, purged or its queue deleted),
    /// or the key-value record at `target` is replaced or deleted.
    Ack { target: Location },
    /// A message written out only to free RAM (a transient message, or any message of a
    /// queue that does not survive a restart): read back on delivery, ignored by recovery.
    Spill { message: Box<Message> },
    /// The publish record at `target` was delivered (so it comes back redelivered after a
    /// restart). A hint: losing it only loses the redelivered flag.
    Delivered { target: Location },
    /// A durable key-value record (MQTT retained messages, session state): live until acked.
    Kv {
        namespace: String,
        key: String,
        value: Bytes,
    },
}

/// Why a record's payload could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum RecordError {
    #[error("record payload ends early while reading {0}")]
    Truncated(&'static str),
    #[error("unknown record kind {0}")]
    UnknownKind(u8),
    #[error("unknown field value tag {0:#04x}")]
    UnknownValueTag(u8),
    #[error("{0} is not UTF-8")]
    NotUtf8(&'static str),
    #[error("{0} trailing bytes after the record")]
    Trailing(usize),
    #[error("field tables nested deeper than {MAX_DEPTH}")]
    TooDeep,
}

const MAX_DEPTH: usize = 64;

/// Frames `payload`: length, CRC-32, payload.
pub(crate) fn frame(payload: &[u8], out: &mut Vec<u8>) {
    let len = u32::try_from(payload.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    out.extend_from_slice(payload);
}

/// Encodes a publish record's payload (a spill record's with `spill`).
pub(crate) fn encode_publish(
    vhost: &str,
    queue: &str,
    message: &Message,
    spill: bool,
    out: &mut Vec<u8>,
) {
    out.push(if spill { KIND_SPILL } else { KIND_PUBLISH });
    put_str(out, vhost);
    put_str(out, queue);
    put_str(out, &message.exchange);
    put_str(out, &message.routing_key);
    put_properties(out, &message.properties);
    put_bytes(out, &message.body);
}

/// Encodes a key-value record's payload.
pub(crate) fn encode_kv(namespace: &str, key: &str, value: &[u8], out: &mut Vec<u8>) {
    out.push(KIND_KV);
    put_str(out, namespace);
    put_str(out, key);
    put_bytes(out, value);
}

/// Encodes an ack record's payload (a delivered record's with `delivered`).
pub(crate) fn encode_ack(target: Location, delivered: bool, out: &mut Vec<u8>) {
    out.push(if delivered { KIND_DELIVERED } else { KIND_ACK });
    out.extend_from_slice(&target.segment.to_le_bytes());
    out.extend_from_slice(&target.offset.to_le_bytes());
}

/// Decodes a payload (whose CRC has been checked).
pub(crate) fn decode(payload: &[u8]) -> Result<Record, RecordError> {
    let mut r = Reader { buf: payload };
    let record = match r.u8("kind")? {
        kind @ (KIND_PUBLISH | KIND_SPILL) => {
            let vhost = r.string("vhost")?;
            let queue = r.string("queue")?;
            let exchange = r.string("exchange")?;
            let routing_key = r.string("routing key")?;
            let properties = r.properties()?;
            let body = Bytes::copy_from_slice(r.bytes("body")?);
            let message = Box::new(Message {
                exchange: Arc::from(exchange),
                routing_key,
                properties,
                body,
            });
            if kind == KIND_SPILL {
                Record::Spill { message }
            } else {
                Record::Publish {
                    vhost,
                    queue,
                    message,
                }
            }
        }
        kind @ (KIND_ACK | KIND_DELIVERED) => {
            let target = Location {
                segment: r.u64("ack segment")?,
                offset: r.u64("ack offset")?,
            };
            if kind == KIND_DELIVERED {
                Record::Delivered { target }
            } else {
                Record::Ack { target }
            }
        }
        KIND_KV => Record::Kv {
            namespace: r.string("namespace")?,
            key: r.string("key")?,
            value: Bytes::copy_from_slice(r.bytes("value")?),
        },
        other => return Err(RecordError::UnknownKind(other)),
    };
    if !r.buf.is_empty() {
        return Err(RecordError::Trailing(r.buf.len()));
    }
    Ok(record)
}

/// Decodes the message of a publish or spill record whose payload lies in `whole` (a
/// segment read or an index page), slicing the body out of `whole` instead of copying it.
pub(crate) fn decode_message_in(whole: &Bytes, payload: &[u8]) -> Result<Message, RecordError> {
    let mut r = Reader { buf: payload };
    match r.u8("kind")? {
        KIND_PUBLISH | KIND_SPILL => {}
        other => return Err(RecordError::UnknownKind(other)),
    }
    r.str("vhost")?;
    r.str("queue")?;
    let exchange: Arc<str> = Arc::from(r.str("exchange")?);
    let routing_key = r.string("routing key")?;
    let properties = r.properties()?;
    let body = r.bytes("body")?;
    if !r.buf.is_empty() {
        return Err(RecordError::Trailing(r.buf.len()));
    }
    Ok(Message {
        exchange,
        routing_key,
        properties,
        body: if body.is_empty() {
            Bytes::new()
        } else {
            whole.slice_ref(body)
        },
    })
}

/// What recovery needs of a record, read without copying its body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Summary<'a> {
    /// A publish record: its queue and body size.
    Publish {
        vhost: &'a str,
        queue: &'a str,
        size: usize,
    },
    /// A spill record.
    Spill,
    /// An ack record and its target.
    Ack(Location),
    /// A delivered record and its target.
    Delivered(Location),
    /// A key-value record.
    Kv {
        namespace: &'a str,
        key: &'a str,
        value: &'a [u8],
    },
}

/// Decodes a payload (whose CRC has been checked) as far as recovery needs, checking the whole
/// layout as [`decode`] does but without copying the body.
pub(crate) fn summarise(payload: &[u8]) -> Result<Summary<'_>, RecordError> {
    let mut r = Reader { buf: payload };
    let summary = match r.u8("kind")? {
        kind @ (KIND_PUBLISH | KIND_SPILL) => {
            let vhost = r.str("vhost")?;
            let queue = r.str("queue")?;
            r.str("exchange")?;
            r.str("routing key")?;
            r.properties()?;
            let size = r.bytes("body")?.len();
            if kind == KIND_SPILL {
                Summary::Spill
            } else {
                Summary::Publish { vhost, queue, size }
            }
        }
        kind @ (KIND_ACK | KIND_DELIVERED) => {
            let target = Location {
                segment: r.u64("ack segment")?,
                offset: r.u64("ack offset")?,
            };
            if kind == KIND_DELIVERED {
                Summary::Delivered(target)
            } else {
                Summary::Ack(target)
            }
        }
        KIND_KV => Summary::Kv {
            namespace: r.str("namespace")?,
            key: r.str("key")?,
            value: r.bytes("value")?,
        },
        other => return Err(RecordError::UnknownKind(other)),
    };
    if !r.buf.is_empty() {
        return Err(RecordError::Trailing(r.buf.len()));
    }
    Ok(summary)
}

fn put_u32(out: &mut Vec<u8>, n: usize) {
    out.extend_from_slice(&u32::try_from(n).unwrap_or(u32::MAX).to_le_bytes());
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_u32(out, b.len());
    out.extend_from_slice(b);
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_bytes(out, s.as_bytes());
}

fn put_opt_str(out: &mut Vec<u8>, s: &Option<String>) {
    if let Some(s) = s {
        put_str(out, s);
    }
}

fn put_properties(out: &mut Vec<u8>, p: &Properties) {
    let flags: u16 = [
        p.content_type.is_some(),
        p.content_encoding.is_some(),
        p.headers.is_some(),
        p.delivery_mode.is_some(),
        p.priority.is_some(),
        p.correlation_id.is_some(),
        p.reply_to.is_some(),
        p.expiration.is_some(),
        p.message_id.is_some(),
        p.timestamp.is_some(),
        p.kind.is_some(),
        p.user_id.is_some(),
        p.app_id.is_some(),
        p.cluster_id.is_some(),
    ]
    .iter()
    .enumerate()
    .fold(0, |acc, (i, set)| if *set { acc | (1 << i) } else { acc });
    out.extend_from_slice(&flags.to_le_bytes());
    put_opt_str(out, &p.content_type);
    put_opt_str(out, &p.content_encoding);
    if let Some(h) = &p.headers {
        put_table(out, h);
    }
    if let Some(m) = p.delivery_mode {
        out.push(m);
    }
    if let Some(m) = p.priority {
        out.push(m);
    }
    put_opt_str(out, &p.correlation_id);
    put_opt_str(out, &p.reply_to);
    put_opt_str(out, &p.expiration);
    put_opt_str(out, &p.message_id);
    if let Some(t) = p.timestamp {
        out.extend_from_slice(&t.to_le_bytes());
    }
    put_opt_str(out, &p.kind);
    put_opt_str(out, &p.user_id);
    put_opt_str(out, &p.app_id);
    put_opt_str(out, &p.cluster_id);
}

fn put_table(out: &mut Vec<u8>, t: &FieldTable) {
    put_u32(out, t.len());
    for (k, v) in t.iter() {
        put_str(out, k);
        put_value(out, v);
    }
}

fn put_value(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Bool(b) => {
            out.push(b't');
            out.push(u8::from(*b));
        }
        Value::I8(n) => {
            out.push(b'b');
            out.extend_from_slice(&n.to_le_bytes());
        }
        Value::U8(n) => {
            out.push(b'B');
            out.push(*n);
        }
        Value::I16(n) => {
            out.push(b's');
            out.extend_from_slice(&n.to_le_bytes());
        }
        Value::U16(n) => {
            out.push(b'u');
            out.extend_from_slice(&n.to_le_bytes());
        }
        Value::I32(n) => {
            out.push(b'I');
            out.extend_from_slice(&n.to_le_bytes());
        }
        Value::U32(n) => {
            out.push(b'i');
            out.extend_from_slice(&n.to_le_bytes());
        }
        Value::I64(n) => {
            out.push(b'l');
            out.extend_from_slice(&n.to_le_bytes());
        }
        Value::U64(n) => {
            out.push(b'L');
            out.extend_from_slice(&n.to_le_bytes());
        }
        Value::F32(n) => {
            out.push(b'f');
            out.extend_from_slice(&n.to_bits().to_le_bytes());
        }
        Value::F64(n) => {
            out.push(b'd');
            out.extend_from_slice(&n.to_bits().to_le_bytes());
        }
        Value::Decimal { scale, value } => {
            out.push(b'D');
            out.push(*scale);
            out.extend_from_slice(&value.to_le_bytes());
        }
        Value::ShortStr(s) => {
            out.push(b'#');
            put_str(out, s);
        }
        Value::LongStr(b) => {
            out.push(b'S');
            put_bytes(out, b);
        }
        Value::Timestamp(t) => {
            out.push(b'T');
            out.extend_from_slice(&t.to_le_bytes());
        }
        Value::Table(t) => {
            out.push(b'F');
            put_table(out, t);
        }
        Value::Array(a) => {
            out.push(b'A');
            put_u32(out, a.len());
            for v in a {
                put_value(out, v);
            }
        }
        Value::ByteArray(b) => {
            out.push(b'x');
            put_bytes(out, b);
        }
        Value::Void => out.push(b'V'),
    }
}

struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], RecordError> {
        if self.buf.len() < n {
            return Err(RecordError::Truncated(what));
        }
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        Ok(head)
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], RecordError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N, what)?);
        Ok(a)
    }

    fn u8(&mut self, what: &'static str) -> Result<u8, RecordError> {
        Ok(self.array::<1>(what)?[0])
    }

    fn u64(&mut self, what: &'static str) -> Result<u64, RecordError> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }

    fn len(&mut self, what: &'static str) -> Result<usize, RecordError> {
        let n = u32::from_le_bytes(self.array(what)?);
        Ok(usize::try_from(n).unwrap_or(usize::MAX))
    }

    fn bytes(&mut self, what: &'static str) -> Result<&'a [u8], RecordError> {
        let n = self.len(what)?;
        self.take(n, what)
    }

    fn string(&mut self, what: &'static str) -> Result<String, RecordError> {
        self.str(what).map(str::to_owned)
    }

    fn str(&mut self, what: &'static str) -> Result<&'a str, RecordError> {
        let b = self.bytes(what)?;
        std::str::from_utf8(b).map_err(|_| RecordError::NotUtf8(what))
    }

    fn properties(&mut self) -> Result<Properties, RecordError> {
        let flags = u16::from_le_bytes(self.array("property flags")?);
        let has = |i: u32| flags & (1 << i) != 0;
        let mut p = Properties::default();
        let s = |r: &mut Self, i: u32, what| -> Result<Option<String>, RecordError> {
            if has(i) {
                r.string(what).map(Some)
            } else {
                Ok(None)
            }
        };
        p.content_type = s(self, 0, "content-type")?;
        p.content_encoding = s(self, 1, "content-encoding")?;
        if has(2) {
            p.headers = Some(self.table(0)?);
        }
        if has(3) {
            p.delivery_mode = Some(self.u8("delivery-mode")?);
        }
        if has(4) {
            p.priority = Some(self.u8("priority")?);
        }
        p.correlation_id = s(self, 5, "correlation-id")?;
        p.reply_to = s(self, 6, "reply-to")?;
        p.expiration = s(self, 7, "expiration")?;
        p.message_id = s(self, 8, "message-id")?;
        if has(9) {
            p.timestamp = Some(self.u64("timestamp")?);
        }
        p.kind = s(self, 10, "type")?;
        p.user_id = s(self, 11, "user-id")?;
        p.app_id = s(self, 12, "app-id")?;
        p.cluster_id = s(self, 13, "cluster-id")?;
        Ok(p)
    }

    fn table(&mut self, depth: usize) -> Result<FieldTable, RecordError> {
        if depth > MAX_DEPTH {
            return Err(RecordError::TooDeep);
        }
        let n = self.len("table size")?;
        let mut t = FieldTable::new();
        for _ in 0..n {
            let k = self.string("table key")?;
            let v = self.value(depth)?;
            t.insert(k, v);
        }
        Ok(t)
    }

    fn value(&mut self, depth: usize) -> Result<Value, RecordError> {
        let tag = self.u8("value tag")?;
        Ok(match tag {
            b't' => Value::Bool(self.u8("bool")? != 0),
            b'b' => Value::I8(i8::from_le_bytes(self.array("i8")?)),
            b'B' => Value::U8(self.u8("u8")?),
            b's' => Value::I16(i16::from_le_bytes(self.array("i16")?)),
            b'u' => Value::U16(u16::from_le_bytes(self.array("u16")?)),
            b'I' => Value::I32(i32::from_le_bytes(self.array("i32")?)),
            b'i' => Value::U32(u32::from_le_bytes(self.array("u32")?)),
            b'l' => Value::I64(i64::from_le_bytes(self.array("i64")?)),
            b'L' => Value::U64(self.u64("u64")?),
            b'f' => Value::F32(f32::from_bits(u32::from_le_bytes(self.array("f32")?))),
            b'd' => Value::F64(f64::from_bits(self.u64("f64")?)),
            b'D' => Value::Decimal {
                scale: self.u8("decimal scale")?,
                value: u32::from_le_bytes(self.array("decimal")?),
            },
            b'#' => Value::ShortStr(self.string("short string")?),
            b'S' => Value::LongStr(Bytes::copy_from_slice(self.bytes("long string")?)),
            b'T' => Value::Timestamp(self.u64("timestamp")?),
            b'F' => Value::Table(self.table(depth + 1)?),
            b'A' => {
                if depth >= MAX_DEPTH {
                    return Err(RecordError::TooDeep);
                }
                let n = self.len("array size")?;
                let mut a = Vec::new();
                for _ in 0..n {
                    a.push(self.value(depth + 1)?);
                }
                Value::Array(a)
            }
            b'x' => Value::ByteArray(Bytes::copy_from_slice(self.bytes("byte array")?)),
            b'V' => Value::Void,
            other => return Err(RecordError::UnknownValueTag(other)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full_message() -> Message {
        let mut headers = FieldTable::new();
        headers.insert("a", Value::I32(-5));
        headers.insert(
            "nested",
            Value::Table(
                [("x", Value::Array(vec![Value::Void, Value::F64(1.5)]))]
                    .into_iter()
                    .collect(),
            ),
        );
        headers.insert("bin", Value::ByteArray(Bytes::from_static(&[0, 1, 2])));
        headers.insert(
            "d",
            Value::Decimal {
                scale: 2,
                value: 314,
            },
        );
        Message::new(
            "webos.topic",
            "webos.car.lock",
            Properties {
                content_type: Some("application/json".into()),
                headers: Some(headers),
                delivery_mode: Some(2),
                priority: Some(7),
                message_id: Some("m-1".into()),
                timestamp: Some(1_700_000_000),
                kind: Some("cmd".into()),
                cluster_id: Some("c".into()),
                ..Properties::default()
            },
            Bytes::from_static(b"{\"lock\":true}"),
        )
    }

    #[test]
    fn publish_round_trips_every_property() {
        let m = full_message();
        let mut out = Vec::new();
        encode_publish("/", "car", &m, false, &mut out);
        assert_eq!(
            decode(&out).unwrap(),
            Record::Publish {
                vhost: "/".into(),
                queue: "car".into(),
                message: Box::new(m)
            }
        );
    }

    #[test]
    fn kv_round_trips() {
        let mut out = Vec::new();
        encode_kv("mqtt.retained", "/\u{0}a/b", b"\x00\x01", &mut out);
        assert_eq!(
            decode(&out).unwrap(),
            Record::Kv {
                namespace: "mqtt.retained".into(),
                key: "/\u{0}a/b".into(),
                value: Bytes::from_static(b"\x00\x01"),
            }
        );
    }

    #[test]
    fn ack_round_trips() {
        let mut out = Vec::new();
        let target = Location {
            segment: 7,
            offset: 123_456,
        };
        encode_ack(target, false, &mut out);
        assert_eq!(decode(&out).unwrap(), Record::Ack { target });
        out.clear();
        encode_ack(target, true, &mut out);
        assert_eq!(decode(&out).unwrap(), Record::Delivered { target });
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        let mut out = Vec::new();
        encode_publish("/", "car", &full_message(), true, &mut out);
        assert!(matches!(decode(&out), Ok(Record::Spill { .. })));
        for n in 0..out.len() {
            assert!(decode(&out[..n]).is_err(), "prefix of {n} bytes decoded");
        }
        out.push(0);
        assert_eq!(decode(&out), Err(RecordError::Trailing(1)));
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..256)) {
            let _ = decode(&bytes);
        }
    }
}
