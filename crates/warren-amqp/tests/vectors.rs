//! Byte-exact tests against traffic captured from real clients talking to RabbitMQ 3.10.
//!
//! The `.bin` files in `tests/vectors/` are the raw bytes of each direction of one connection,
//! recorded by `tests/capture/proxy.py` between the client and RabbitMQ (see
//! `tests/capture/README.md` for how to record them again). Client streams start with the
//! protocol header. Each stream must decode completely, in any chunking, to the expected
//! frames, and re-encode to exactly the captured bytes.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // tests: a panic is the failure report

use bytes::{Bytes, BytesMut};
use warren_amqp::*;

/// The pika session negotiated `frame_max = 4096`, so every frame fits under it.
const FRAME_MAX: u32 = 4096;
/// lapin asked for 4096 too but negotiates at least 8192.
const LAPIN_FRAME_MAX: u32 = 8192;

fn vector(name: &str) -> Bytes {
    let path = format!("{}/tests/vectors/{name}.bin", env!("CARGO_MANIFEST_DIR"));
    Bytes::from(std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}")))
}

/// Decodes a captured stream (the client's starts with the protocol header), checks that it
/// re-encodes byte-exactly and that reading it in small chunks gives the same frames.
fn frames(name: &str, frame_max: u32) -> Vec<Frame> {
    let data = vector(name);
    let mut stream = data.clone();
    let mut expected_wire = BytesMut::new();
    if name.ends_with("_client") {
        assert_eq!(
            check_protocol_header(&stream),
            ProtocolHeaderCheck::Accepted
        );
        expected_wire.extend_from_slice(&stream.split_to(PROTOCOL_HEADER.len()));
    }
    let mut buf = BytesMut::from(&stream[..]);
    let mut decoder = FrameDecoder::new(frame_max);
    let mut frames = Vec::new();
    while let Some(f) = decoder.decode(&mut buf).unwrap() {
        frames.push(f);
    }
    assert!(buf.is_empty(), "{name}: {} trailing bytes", buf.len());

    for f in &frames {
        f.encode(&mut expected_wire, frame_max).unwrap();
    }
    assert!(
        expected_wire[..] == data[..],
        "{name}: re-encoding is not byte-exact"
    );

    for chunk in [1, 2, 3, 7, 8, 13, 1000] {
        let mut decoder = FrameDecoder::new(frame_max);
        let mut buf = BytesMut::new();
        let mut again = Vec::new();
        for piece in stream.chunks(chunk) {
            buf.extend_from_slice(piece);
            while let Some(f) = decoder.decode(&mut buf).unwrap() {
                again.push(f);
            }
        }
        assert_eq!(again, frames, "{name}: chunks of {chunk} bytes");
    }
    frames
}

/// Runs the frames of `channel` through a `MessageAssembler`.
fn assembled(frames: &[Frame], channel: u16) -> Vec<Assembled> {
    let mut asm = MessageAssembler::new(channel, 1 << 20);
    frames
        .iter()
        .filter(|f| f.channel() == channel && !matches!(f, Frame::Heartbeat))
        .filter_map(|f| asm.handle(f.clone()).unwrap())
        .collect()
}

fn messages(frames: &[Frame], channel: u16) -> Vec<Message> {
    assembled(frames, channel)
        .into_iter()
        .filter_map(|a| match a {
            Assembled::Message(m) => Some(m),
            Assembled::Method(_) => None,
        })
        .collect()
}

fn method_at(frames: &[Frame], i: usize) -> &Method {
    match &frames[i] {
        Frame::Method { method, .. } => method,
        other => panic!("frame {i} is {other:?}"),
    }
}

fn s(v: &str) -> Option<ShortStr> {
    Some(ShortStr::try_from(v).unwrap())
}

fn pika_properties() -> BasicProperties {
    let mut headers = FieldTable::new();
    headers.insert("car", "42".into()).unwrap();
    headers.insert("n", FieldValue::I32(7)).unwrap();
    let d = Decimal {
        scale: 1,
        value: 15,
    };
    headers.insert("d", FieldValue::Decimal(d)).unwrap();
    headers
        .insert("t", FieldValue::Timestamp(1_704_164_645))
        .unwrap();
    headers.insert("big", FieldValue::I64(1 << 40)).unwrap();
    let raw = FieldValue::Bytes(Bytes::from_static(b"\x00\xff"));
    headers.insert("raw", raw).unwrap();
    headers.insert("none", FieldValue::Void).unwrap();
    headers.insert("flag", FieldValue::Bool(true)).unwrap();
    let list = FieldValue::Array(vec![FieldValue::I32(1), "two".into()]);
    headers.insert("list", list).unwrap();
    let mut nested = FieldTable::new();
    nested.insert("a", FieldValue::I32(1)).unwrap();
    headers.insert("nested", nested.into()).unwrap();
    BasicProperties {
        content_type: s("application/json"),
        content_encoding: s("utf-8"),
        headers: Some(headers),
        delivery_mode: Some(2),
        priority: Some(5),
        correlation_id: s("corr-1"),
        reply_to: s("car2home.replies"),
        expiration: s("60000"),
        message_id: s("msg-1"),
        timestamp: Some(1_700_000_000),
        kind: s("status"),
        user_id: s("rabbit"),
        app_id: s("car2home"),
        cluster_id: None,
    }
}

#[test]
fn pika_client_handshake() {
    let frames = frames("pika_client", FRAME_MAX);
    let Method::ConnectionStartOk(start_ok) = method_at(&frames, 0) else {
        panic!("{:?}", frames[0])
    };
    assert_eq!(start_ok.mechanism, "PLAIN");
    assert_eq!(&start_ok.response[..], b"\0rabbit\0MQ321");
    assert_eq!(start_ok.locale, "en_US");
    let props = &start_ok.client_properties;
    assert_eq!(
        props.get("product").and_then(FieldValue::as_str),
        Some("Pika Python Client Library")
    );
    let caps = props.get("capabilities").and_then(FieldValue::as_table);
    assert_eq!(
        caps.and_then(|c| c.get("publisher_confirms"))
            .and_then(FieldValue::as_bool),
        Some(true)
    );
    assert_eq!(
        method_at(&frames, 1),
        &Method::ConnectionTuneOk(ConnectionTuneOk {
            channel_max: 2047,
            frame_max: 4096,
            heartbeat: 60
        })
    );
    let Method::ConnectionOpen(open) = method_at(&frames, 2) else {
        panic!()
    };
    assert_eq!(open.virtual_host, "/");
    assert_eq!(frames[3].channel(), 1);
    assert_eq!(method_at(&frames, 4).name(), "confirm.select");
    let Method::QueueDeclare(q) = method_at(&frames, 6) else {
        panic!()
    };
    assert!(q.exclusive);
    assert_eq!(
        q.arguments.get("x-max-length").and_then(FieldValue::as_int),
        Some(100)
    );
    assert_eq!(
        q.arguments.get("x-queue-mode").and_then(FieldValue::as_str),
        Some("lazy")
    );
    let last = frames.last().unwrap();
    assert_eq!(last.channel(), 0);
    assert!(matches!(
        method_at(&frames, frames.len() - 1),
        Method::ConnectionClose(ConnectionClose {
            reply_code: 200,
            ..
        })
    ));
}

#[test]
fn pika_client_publishes() {
    let frames = frames("pika_client", FRAME_MAX);
    let msgs = messages(&frames, 1);
    assert_eq!(msgs.len(), 3);
    let publish = Method::BasicPublish(BasicPublish {
        exchange: ShortStr::from_static("warren-capture-pika"),
        routing_key: ShortStr::from_static("car.42.status"),
        ..Default::default()
    });
    assert!(msgs.iter().all(|m| m.method == publish));
    assert_eq!(msgs[0].properties, pika_properties());
    assert_eq!(&msgs[0].body[..], br#"{"online":true}"#);
    assert_eq!(msgs[1].properties, BasicProperties::default());
    assert!(msgs[1].body.is_empty());
    assert_eq!(&msgs[2].body[..], &[b'y'; 10_000][..]);
    // pika split the 10 000-byte body under frame_max 4096: 4088 + 4088 + 1824.
    let body_sizes: Vec<usize> = frames
        .iter()
        .filter_map(|f| match f {
            Frame::Body { payload, .. } if payload.len() > 100 => Some(payload.len()),
            _ => None,
        })
        .collect();
    assert_eq!(body_sizes, [4088, 4088, 1824]);
    // Splitting the message again gives pika's exact bytes.
    let mut ours = BytesMut::new();
    msgs[2].encode(&mut ours, 1, FRAME_MAX).unwrap();
    let start = frames
        .iter()
        .rposition(|f| {
            matches!(
                f,
                Frame::Method {
                    method: Method::BasicPublish(_),
                    ..
                }
            )
        })
        .unwrap();
    let mut theirs = BytesMut::new();
    for f in &frames[start..start + 5] {
        f.encode(&mut theirs, FRAME_MAX).unwrap();
    }
    assert_eq!(ours, theirs);
}

#[test]
fn rabbitmq_server_side_of_the_pika_session() {
    let frames = frames("pika_server", FRAME_MAX);
    let Method::ConnectionStart(start) = method_at(&frames, 0) else {
        panic!()
    };
    assert_eq!((start.version_major, start.version_minor), (0, 9));
    assert!(std::str::from_utf8(&start.mechanisms)
        .unwrap()
        .contains("PLAIN"));
    let caps = start
        .server_properties
        .get("capabilities")
        .and_then(FieldValue::as_table)
        .unwrap();
    assert_eq!(
        caps.get("basic.nack").and_then(FieldValue::as_bool),
        Some(true)
    );
    assert!(matches!(
        method_at(&frames, 1),
        Method::ConnectionTune(ConnectionTune {
            frame_max: 131_072,
            ..
        })
    ));
    // Publisher confirms for the three publishes.
    let acks: Vec<u64> = frames
        .iter()
        .filter_map(|f| match f {
            Frame::Method {
                method: Method::BasicAck(a),
                ..
            } => Some(a.delivery_tag),
            _ => None,
        })
        .collect();
    assert_eq!(acks, [1, 2, 3]);
    // basic.get-ok carries the first message back, properties intact.
    let msgs = messages(&frames, 1);
    assert_eq!(msgs.len(), 1);
    assert!(matches!(&msgs[0].method, Method::BasicGetOk(g) if g.routing_key == "car.42.status"));
    assert_eq!(msgs[0].properties, pika_properties());
    assert_eq!(&msgs[0].body[..], br#"{"online":true}"#);
}

#[test]
fn lapin_client_handshake_and_publishes() {
    let frames = frames("lapin_client", LAPIN_FRAME_MAX);
    let Method::ConnectionStartOk(start_ok) = method_at(&frames, 0) else {
        panic!("{:?}", frames[0])
    };
    assert_eq!(
        start_ok
            .client_properties
            .get("product")
            .and_then(FieldValue::as_str),
        Some("lapin")
    );
    assert_eq!(&start_ok.response[..], b"\0rabbit\0MQ321");
    assert!(matches!(
        method_at(&frames, 1),
        Method::ConnectionTuneOk(ConnectionTuneOk {
            frame_max: 8192,
            heartbeat: 60,
            ..
        })
    ));
    let Method::QueueDeclare(q) = method_at(&frames, 5) else {
        panic!()
    };
    assert!(q.auto_delete);
    assert_eq!(
        q.arguments.get("x-message-ttl"),
        Some(&FieldValue::I32(60_000))
    );

    let msgs = messages(&frames, 1);
    assert_eq!(msgs.len(), 2);
    let mut headers = FieldTable::new();
    headers.insert("car", "42".into()).unwrap();
    headers.insert("n", FieldValue::I64(-7)).unwrap();
    headers.insert("ok", FieldValue::Bool(true)).unwrap();
    assert_eq!(
        msgs[0].properties,
        BasicProperties {
            content_type: s("application/json"),
            headers: Some(headers),
            delivery_mode: Some(2),
            priority: Some(3),
            message_id: s("m-1"),
            timestamp: Some(1_700_000_000),
            ..Default::default()
        }
    );
    assert_eq!(&msgs[0].body[..], br#"{"speed":88}"#);
    assert_eq!(
        msgs[1].method,
        Method::BasicPublish(BasicPublish {
            exchange: ShortStr::from_static("amq.topic"),
            routing_key: ShortStr::from_static("car.42.blob"),
            mandatory: true,
            ..Default::default()
        })
    );
    assert_eq!(&msgs[1].body[..], &[b'x'; 10_000][..]);
}

#[test]
fn rabbitmq_returns_lapins_unroutable_mandatory_message() {
    let frames = frames("lapin_server", LAPIN_FRAME_MAX);
    let msgs = messages(&frames, 1);
    assert_eq!(msgs.len(), 1);
    let Method::BasicReturn(ret) = &msgs[0].method else {
        panic!("{:?}", msgs[0].method)
    };
    assert_eq!(ret.reply_code, ReplyCode::NoRoute.code());
    assert_eq!(ret.reply_text, "NO_ROUTE");
    assert_eq!(ret.routing_key, "car.42.blob");
    assert_eq!(msgs[0].body.len(), 10_000);
    // Our splitter cuts the returned message exactly as RabbitMQ did.
    let mut ours = BytesMut::new();
    msgs[0].encode(&mut ours, 1, LAPIN_FRAME_MAX).unwrap();
    let start = frames
        .iter()
        .position(|f| {
            matches!(
                f,
                Frame::Method {
                    method: Method::BasicReturn(_),
                    ..
                }
            )
        })
        .unwrap();
    let mut theirs = BytesMut::new();
    for f in &frames[start..start + 4] {
        f.encode(&mut theirs, LAPIN_FRAME_MAX).unwrap();
    }
    assert_eq!(ours, theirs);
}
