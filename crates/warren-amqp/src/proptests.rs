//! Property tests: round trips for every method and for content headers, prefixes, chunking,
//! arbitrary bytes.

use crate::generated::strategies::{all_methods, any_method, basic_properties};
use crate::test_strategies::{field_table, long_str};
use crate::*;
use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

fn frame_strategy() -> impl Strategy<Value = Frame> {
    let channel = any::<u16>();
    prop_oneof![
        (channel, any_method()).prop_map(|(channel, method)| Frame::Method { channel, method }),
        (channel, any::<u16>(), any::<u64>(), basic_properties()).prop_map(
            |(channel, class_id, body_size, properties)| Frame::Header {
                channel,
                header: ContentHeader {
                    class_id,
                    body_size,
                    properties
                }
            }
        ),
        (channel, long_str()).prop_map(|(channel, payload)| Frame::Body { channel, payload }),
        Just(Frame::Heartbeat),
    ]
}

fn content_method() -> impl Strategy<Value = Method> {
    use crate::generated::strategies::{basic_deliver, basic_get_ok, basic_publish, basic_return};
    prop_oneof![
        basic_publish().prop_map(Method::from),
        basic_deliver().prop_map(Method::from),
        basic_get_ok().prop_map(Method::from),
        basic_return().prop_map(Method::from),
    ]
}

fn encode_all(frames: &[Frame]) -> BytesMut {
    let mut buf = BytesMut::new();
    for f in frames {
        f.encode(&mut buf, 0).unwrap();
    }
    buf
}

fn decode_all(mut buf: BytesMut) -> Vec<Frame> {
    let mut d = FrameDecoder::new(0);
    let mut out = Vec::new();
    while let Some(f) = d.decode(&mut buf).unwrap() {
        out.push(f);
    }
    assert!(buf.is_empty(), "left over: {buf:?}");
    out
}

/// Every method, each with its own runner, so none is left to chance.
#[test]
fn every_method_round_trips() {
    let methods = all_methods();
    assert_eq!(methods.len(), 66, "0-9-1 plus RabbitMQ's extensions");
    for (name, strategy) in methods {
        let mut runner = TestRunner::new(Config {
            cases: 48,
            ..Config::default()
        });
        runner
            .run(&strategy, |method| {
                let mut buf = BytesMut::new();
                method.encode(&mut buf).unwrap();
                let decoded = Method::decode(buf.clone().freeze()).unwrap();
                prop_assert_eq!(&decoded, &method);
                prop_assert_eq!(decoded.name(), name);
                // And as a whole frame.
                let frame = Frame::Method { channel: 3, method };
                let mut wire = encode_all(std::slice::from_ref(&frame));
                let again = FrameDecoder::new(0).decode(&mut wire).unwrap();
                prop_assert_eq!(again, Some(frame));
                Ok(())
            })
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

proptest! {
    #[test]
    fn content_header_round_trips(class_id in any::<u16>(), body_size in any::<u64>(),
                                  properties in basic_properties()) {
        let header = ContentHeader { class_id, body_size, properties };
        let mut buf = BytesMut::new();
        header.encode(&mut buf).unwrap();
        prop_assert_eq!(ContentHeader::decode(buf.freeze()).unwrap(), header);
    }

    #[test]
    fn field_tables_round_trip(table in field_table()) {
        let mut buf = BytesMut::new();
        crate::codec::put_table(&mut buf, &table).unwrap();
        let mut r = crate::codec::Reader::new(buf.freeze(), "test");
        prop_assert_eq!(r.table("t").unwrap(), table);
        prop_assert!(r.is_empty());
    }

    #[test]
    fn every_strict_prefix_is_incomplete(frame in frame_strategy()) {
        let wire = encode_all(std::slice::from_ref(&frame));
        for n in 0..wire.len() {
            let mut partial = BytesMut::from(&wire[..n]);
            prop_assert_eq!(FrameDecoder::new(0).decode(&mut partial), Ok(None), "prefix {}", n);
            prop_assert_eq!(partial.len(), n, "a partial frame consumes nothing");
        }
    }

    #[test]
    fn any_chunking_gives_the_same_frames(
        frames in proptest::collection::vec(frame_strategy(), 1..6),
        cuts in proptest::collection::vec(1usize..64, 0..40),
    ) {
        let wire = encode_all(&frames).freeze();
        prop_assert_eq!(decode_all(BytesMut::from(&wire[..])), frames.clone());
        let mut d = FrameDecoder::new(0);
        let mut buf = BytesMut::new();
        let mut got = Vec::new();
        let mut rest = wire.clone();
        let mut cuts = cuts.into_iter().cycle();
        while !rest.is_empty() {
            let n = cuts.next().unwrap_or(rest.len()).min(rest.len());
            buf.extend_from_slice(&rest.split_to(n));
            while let Some(f) = d.decode(&mut buf).unwrap() {
                got.push(f);
            }
        }
        prop_assert_eq!(got, frames);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512),
                                   frame_max in prop_oneof![Just(0u32), 8u32..70_000]) {
        let mut buf = BytesMut::from(&bytes[..]);
        let mut d = FrameDecoder::new(frame_max);
        let mut asm = MessageAssembler::new(0, 1 << 20);
        while let Ok(Some(f)) = d.decode(&mut buf) {
            let _ = asm.handle(f);
        }
        let _ = Method::decode(Bytes::from(bytes.clone()));
        let _ = ContentHeader::decode(Bytes::from(bytes));
    }

    #[test]
    fn arbitrary_method_payloads_never_panic(class_method in (any::<u16>(), any::<u16>()),
                                             args in proptest::collection::vec(any::<u8>(), 0..64)) {
        // Aim at real class/method ids half of the time.
        let mut payload = BytesMut::new();
        let (c, m) = class_method;
        let (c, m) = if c % 2 == 0 { ([10u16, 20, 40, 50, 60, 85, 90][usize::from(m % 7)], m % 130) } else { (c, m) };
        payload.extend_from_slice(&c.to_be_bytes());
        payload.extend_from_slice(&m.to_be_bytes());
        payload.extend_from_slice(&args);
        if let Err(e) = Method::decode(payload.freeze()) {
            let _ = e.reply_code();
        }
    }

    #[test]
    fn messages_split_and_reassemble(method in content_method(), properties in basic_properties(),
                                     body in proptest::collection::vec(any::<u8>(), 0..3000),
                                     frame_max in prop_oneof![Just(0u32), 9u32..2000]) {
        let mut wire = BytesMut::new();
        match encode_message(&mut wire, 7, &method, &properties, &body, frame_max) {
            Ok(()) => {}
            // Method or header larger than a tiny frame_max: refused, buffer untouched.
            Err(Error::FrameTooLarge { .. }) => { prop_assert!(wire.is_empty()); return Ok(()); }
            Err(e) => return Err(TestCaseError::fail(e.to_string())),
        }
        let mut d = FrameDecoder::new(frame_max);
        let mut asm = MessageAssembler::new(7, u64::MAX);
        let mut out = None;
        while let Some(f) = d.decode(&mut wire).unwrap() {
            prop_assert_eq!(f.channel(), 7);
            prop_assert!(out.is_none());
            out = asm.handle(f).unwrap();
        }
        prop_assert_eq!(out, Some(Assembled::Message(Message { method, properties, body: Bytes::from(body) })));
        prop_assert!(asm.is_idle());
    }
}

#[test]
fn bits_are_packed_lsb_first_and_runs_share_an_octet() {
    let m = Method::ExchangeDeclare(ExchangeDeclare {
        exchange: ShortStr::from_static("x"),
        kind: ShortStr::from_static("topic"),
        passive: false,
        durable: true,
        auto_delete: false,
        internal: false,
        nowait: true,
        ..Default::default()
    });
    let mut buf = BytesMut::new();
    m.encode(&mut buf).unwrap();
    // class, method, ticket, "x", "topic", one bit octet, empty table.
    assert_eq!(
        &buf[..],
        &[0, 40, 0, 10, 0, 0, 1, b'x', 5, b't', b'o', b'p', b'i', b'c', 0b1_0010, 0, 0, 0, 0]
    );
}

#[test]
fn oversized_frame_is_rejected_from_its_header() {
    let mut buf = BytesMut::from(&[1u8, 0, 1, 0, 0, 0x10, 0x00][..]); // 4096-byte payload
    let err = FrameDecoder::new(4096).decode(&mut buf).unwrap_err();
    assert_eq!(
        err,
        Error::FrameTooLarge {
            size: 4096 + 8,
            frame_max: 4096
        }
    );
    assert_eq!(err.reply_code(), ReplyCode::FrameError);
}

#[test]
fn frame_errors_map_to_reply_codes() {
    let mut d = FrameDecoder::new(0);
    let mut bad_end = BytesMut::from(&[8u8, 0, 0, 0, 0, 0, 0, 0xCD][..]);
    assert_eq!(d.decode(&mut bad_end).unwrap_err().reply_code().code(), 501);
    let mut bad_type = BytesMut::from(&[4u8][..]);
    assert_eq!(
        d.decode(&mut bad_type).unwrap_err(),
        Error::UnknownFrameType { frame_type: 4 }
    );
    let mut hb_on_1 = BytesMut::from(&[8u8, 0, 1, 0, 0, 0, 0, 0xCE][..]);
    assert_eq!(d.decode(&mut hb_on_1).unwrap_err().reply_code().code(), 501);
    let unknown = Method::decode(Bytes::from_static(&[0, 60, 0, 99])).unwrap_err();
    assert_eq!(unknown.reply_code(), ReplyCode::NotImplemented);
    assert_eq!(unknown.class_method(), Some((60, 99)));
    // basic.publish cut short names its class and method.
    let short = Method::decode(Bytes::from_static(&[0, 60, 0, 40, 0])).unwrap_err();
    assert_eq!(short.reply_code(), ReplyCode::FrameError);
    assert_eq!(short.class_method(), Some((60, 40)));
    let trailing = Method::decode(Bytes::from_static(&[0, 90, 0, 10, 1])).unwrap_err();
    assert!(matches!(trailing, Error::TrailingBytes { extra: 1, .. }));
}

#[test]
fn nesting_is_limited() {
    fn nested(depth: usize) -> FieldTable {
        let mut t = FieldTable::new();
        for _ in 1..depth {
            let mut outer = FieldTable::new();
            outer.insert("t", FieldValue::Table(t)).unwrap();
            t = outer;
        }
        t
    }
    for (depth, ok) in [(MAX_NESTING_DEPTH, true), (MAX_NESTING_DEPTH + 1, false)] {
        let m = Method::QueueDeclare(QueueDeclare {
            arguments: nested(depth),
            ..Default::default()
        });
        let mut buf = BytesMut::new();
        m.encode(&mut buf).unwrap();
        let r = Method::decode(buf.freeze());
        assert_eq!(r.is_ok(), ok, "depth {depth}: {r:?}");
        if !ok {
            let e = r.unwrap_err();
            assert_eq!(e.reply_code(), ReplyCode::SyntaxError);
            assert_eq!(e.class_method(), Some((50, 10)), "queue.declare");
        }
    }
}

#[test]
fn bad_property_flags_are_a_syntax_error() {
    let mut buf = BytesMut::new();
    ContentHeader::default().encode(&mut buf).unwrap();
    let n = buf.len();
    buf[n - 1] = 0x01; // continuation bit
    let e = ContentHeader::decode(buf.freeze()).unwrap_err();
    assert_eq!(e, Error::BadPropertyFlags { flags: 1 });
    assert_eq!(e.reply_code().code(), 502);
}

#[test]
fn assembler_enforces_the_content_sequence() {
    let publish: Method = BasicPublish::default().into();
    let header = |size| ContentHeader {
        class_id: 60,
        body_size: size,
        properties: BasicProperties::default(),
    };
    // Method where a header is due.
    let mut a = MessageAssembler::new(1, 100);
    a.handle_method(publish.clone()).unwrap();
    let e = a.handle_method(publish.clone()).unwrap_err();
    assert_eq!(e.reply_code(), ReplyCode::UnexpectedFrame);
    assert_eq!(e.class_method(), Some((60, 40)));
    // Body or header with nothing before it.
    let mut a = MessageAssembler::new(1, 100);
    assert_eq!(
        a.handle_body(Bytes::from_static(b"x"))
            .unwrap_err()
            .reply_code(),
        ReplyCode::UnexpectedFrame
    );
    assert_eq!(
        a.handle_header(header(1)).unwrap_err().reply_code(),
        ReplyCode::UnexpectedFrame
    );
    // Body where a header is due.
    let mut a = MessageAssembler::new(1, 100);
    a.handle_method(publish.clone()).unwrap();
    assert!(a.handle_body(Bytes::from_static(b"x")).is_err());
    // Header of another class.
    let mut a = MessageAssembler::new(1, 100);
    a.handle_method(publish.clone()).unwrap();
    let mut h = header(1);
    h.class_id = 50;
    assert_eq!(
        a.handle_header(h).unwrap_err().reply_code(),
        ReplyCode::UnexpectedFrame
    );
    // Too much body.
    let mut a = MessageAssembler::new(1, 100);
    a.handle_method(publish.clone()).unwrap();
    a.handle_header(header(3)).unwrap();
    a.handle_body(Bytes::from_static(b"ab")).unwrap();
    assert!(a.handle_body(Bytes::from_static(b"cd")).is_err());
    // Method in the middle of a body.
    let mut a = MessageAssembler::new(1, 100);
    a.handle_method(publish.clone()).unwrap();
    a.handle_header(header(3)).unwrap();
    assert!(a.handle_method(BasicAck::default().into()).is_err());
    // Over the cap: refused at the header, a channel error.
    let mut a = MessageAssembler::new(1, 100);
    a.handle_method(publish.clone()).unwrap();
    let e = a.handle_header(header(101)).unwrap_err();
    assert_eq!(e.reply_code(), ReplyCode::PreconditionFailed);
    assert!(!e.is_connection_error());
    assert!(a.is_idle());
    // Non-content methods pass straight through; empty bodies complete at the header.
    let mut a = MessageAssembler::new(1, 100);
    assert_eq!(
        a.handle_method(BasicAck::default().into()).unwrap(),
        Some(Assembled::Method(BasicAck::default().into()))
    );
    a.handle_method(publish.clone()).unwrap();
    assert!(matches!(
        a.handle_header(header(0)).unwrap(),
        Some(Assembled::Message(Message { body, .. })) if body.is_empty()
    ));
}

#[test]
fn multi_frame_bodies_are_joined() {
    let mut a = MessageAssembler::new(1, 100);
    a.handle_method(BasicPublish::default().into()).unwrap();
    a.handle_header(ContentHeader {
        class_id: 60,
        body_size: 6,
        ..Default::default()
    })
    .unwrap();
    assert_eq!(a.handle_body(Bytes::from_static(b"ab")).unwrap(), None);
    assert_eq!(a.handle_body(Bytes::new()).unwrap(), None);
    assert_eq!(a.handle_body(Bytes::from_static(b"cd")).unwrap(), None);
    match a.handle_body(Bytes::from_static(b"ef")).unwrap() {
        Some(Assembled::Message(m)) => assert_eq!(&m.body[..], b"abcdef"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn encode_refuses_frames_over_frame_max_and_leaves_the_buffer() {
    let mut buf = BytesMut::from(&b"keep"[..]);
    let big = Frame::Body {
        channel: 1,
        payload: Bytes::from(vec![0u8; 5000]),
    };
    assert!(matches!(
        big.encode(&mut buf, 4096),
        Err(Error::FrameTooLarge { .. })
    ));
    assert_eq!(&buf[..], b"keep");
    assert_eq!(
        encode_message(
            &mut buf,
            1,
            &BasicPublish::default().into(),
            &BasicProperties::default(),
            b"x",
            8
        ),
        Err(Error::FrameMaxTooSmall { frame_max: 8 })
    );
}

#[test]
fn reply_codes_know_their_names_and_severity() {
    assert_eq!(ReplyCode::from_code(404), Some(ReplyCode::NotFound));
    assert_eq!(ReplyCode::NotFound.name(), "NOT_FOUND");
    assert!(!ReplyCode::NotFound.is_hard_error());
    assert!(ReplyCode::UnexpectedFrame.is_hard_error());
    assert_eq!(ReplyCode::Success.code(), 200);
    assert_eq!(method_name(60, 40), Some("basic.publish"));
    assert_eq!(method_name(40, 51), Some("exchange.unbind-ok"));
}
