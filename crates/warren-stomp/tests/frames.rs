#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // tests: a panic is the failure report

//! Byte-exact frames modelled on the specification's examples, the decoder's rules and limits,
//! the encoder's escaping and `content-length`, and the header helpers.

use bytes::{Bytes, BytesMut};
use warren_stomp::{
    encode_heart_beat, negotiate_version, AckMode, Command, DecodeError, Decoded, Decoder,
    EncodeError, Frame, Header, HeartBeat, Limit, Limits, Version,
};

fn decode_all(version: Version, wire: &[u8]) -> Vec<Decoded> {
    let decoder = Decoder::new(version);
    let mut buf = BytesMut::from(wire);
    let mut items = Vec::new();
    while let Some(item) = decoder.decode(&mut buf).unwrap() {
        items.push(item);
    }
    assert!(buf.is_empty(), "left over: {buf:?}");
    items
}

fn one_frame(version: Version, wire: &[u8]) -> Frame {
    match decode_all(version, wire).as_slice() {
        [Decoded::Frame(f)] => f.clone(),
        other => panic!("expected one frame, got {other:?}"),
    }
}

fn encode(frame: &Frame, version: Version) -> Vec<u8> {
    let mut out = BytesMut::new();
    let n = frame.encode(version, &mut out).unwrap();
    assert_eq!(n, out.len());
    assert_eq!(frame.encoded_len(version), Ok(n));
    out.to_vec()
}

fn decode_err(version: Version, limits: Limits, wire: &[u8]) -> DecodeError {
    let decoder = Decoder::with_limits(version, limits);
    let mut buf = BytesMut::from(wire);
    loop {
        match decoder.decode(&mut buf) {
            Ok(Some(_)) => {}
            Ok(None) => panic!("no error, {} bytes left", buf.len()),
            Err(e) => return e,
        }
    }
}

fn headers(frame: &Frame) -> Vec<(&str, &str)> {
    frame
        .headers
        .iter()
        .map(|h| (h.name(), h.value()))
        .collect()
}

#[test]
fn connect_and_connected() {
    let wire = b"CONNECT\naccept-version:1.2\nhost:stomp.github.org\n\n\0";
    let f = one_frame(Version::V1_2, wire);
    assert_eq!(f.command, Command::Connect);
    assert_eq!(
        headers(&f),
        [("accept-version", "1.2"), ("host", "stomp.github.org")]
    );
    assert!(f.body.is_empty());
    assert_eq!(encode(&f, Version::V1_2), wire);

    let wire = b"CONNECTED\nversion:1.2\n\n\0";
    let f = one_frame(Version::V1_2, wire);
    assert_eq!(f.version(), Ok(Some(Version::V1_2)));
    assert_eq!(encode(&f, Version::V1_2), wire);
}

#[test]
fn send_without_content_length_gains_one() {
    let wire = b"SEND\ndestination:/queue/a\ncontent-type:text/plain\n\nhello queue a\n\0";
    let f = one_frame(Version::V1_2, wire);
    assert_eq!(f.destination(), Some("/queue/a"));
    assert_eq!(f.content_type(), Some("text/plain"));
    assert_eq!(f.content_length(), Ok(None));
    assert_eq!(&f.body[..], b"hello queue a\n");
    assert_eq!(
        encode(&f, Version::V1_2),
        b"SEND\ncontent-length:14\ndestination:/queue/a\ncontent-type:text/plain\n\nhello queue a\n\0"
    );
}

#[test]
fn client_frames_round_trip_byte_exact() {
    for wire in [
        &b"SUBSCRIBE\nid:0\ndestination:/queue/foo\nack:client\n\n\0"[..],
        b"UNSUBSCRIBE\nid:0\n\n\0",
        b"ACK\nid:12345\ntransaction:tx1\n\n\0",
        b"NACK\nid:12345\ntransaction:tx1\n\n\0",
        b"BEGIN\ntransaction:tx1\n\n\0",
        b"COMMIT\ntransaction:tx1\n\n\0",
        b"ABORT\ntransaction:tx1\n\n\0",
        b"DISCONNECT\nreceipt:77\n\n\0",
        b"RECEIPT\nreceipt-id:77\n\n\0",
        b"STOMP\naccept-version:1.0,1.1,1.2\nhost:/\nlogin:guest\npasscode:guest\n\n\0",
        b"MESSAGE\nsubscription:0\nmessage-id:007\ndestination:/queue/a\ncontent-type:text/plain\ncontent-length:13\n\nhello queue a\0",
    ] {
        let f = one_frame(Version::V1_2, wire);
        assert_eq!(encode(&f, Version::V1_2), wire, "{f:?}");
    }
    let sub = one_frame(
        Version::V1_2,
        b"SUBSCRIBE\nid:0\ndestination:/queue/foo\nack:client\n\n\0",
    );
    assert_eq!(sub.id(), Some("0"));
    assert_eq!(sub.ack_mode(), Ok(AckMode::Client));
    let ack = one_frame(Version::V1_2, b"ACK\nid:12345\ntransaction:tx1\n\n\0");
    assert_eq!(ack.ack_id(Version::V1_2), Some("12345"));
    assert_eq!(ack.transaction(), Some("tx1"));
}

#[test]
fn error_frame_with_content_length_body() {
    let body = b"The message:\n-----\nMESSAGE\ndestined:/queue/a\nreceipt:message-12345\n\nHello queue a!\n-----\nDid not contain a destination header, which is REQUIRED\nfor message propagation.\n";
    assert_eq!(body.len(), 170);
    let mut wire = b"ERROR\nreceipt-id:message-12345\ncontent-type:text/plain\ncontent-length:170\nmessage:malformed frame received\n\n".to_vec();
    wire.extend_from_slice(body);
    wire.push(0);
    let f = one_frame(Version::V1_2, &wire);
    assert_eq!(f.command, Command::Error);
    assert_eq!(f.receipt_id(), Some("message-12345"));
    assert_eq!(f.message(), Some("malformed frame received"));
    assert_eq!(f.content_length(), Ok(Some(170)));
    assert_eq!(&f.body[..], body);
    assert_eq!(encode(&f, Version::V1_2), wire);
}

#[test]
fn repeated_headers_first_wins() {
    let f = one_frame(Version::V1_2, b"MESSAGE\nfoo:World\nfoo:Hello\n\n\0");
    assert_eq!(f.headers.get("foo"), Some("World"));
    assert_eq!(
        f.headers.get_all("foo").collect::<Vec<_>>(),
        ["World", "Hello"]
    );
    assert_eq!(
        encode(&f, Version::V1_2),
        b"MESSAGE\nfoo:World\nfoo:Hello\n\n\0"
    );
}

#[test]
fn crlf_lines() {
    let f = one_frame(
        Version::V1_2,
        b"SEND\r\ndestination:/queue/a\r\ncontent-length:2\r\n\r\nhi\0",
    );
    assert_eq!(f.destination(), Some("/queue/a"));
    assert_eq!(&f.body[..], b"hi");
    let items = decode_all(
        Version::V1_2,
        b"SEND\r\ndestination:/queue/a\r\n\r\nhi\0\r\n\n",
    );
    assert_eq!(items.len(), 3);
    assert_eq!(items[1], Decoded::HeartBeat);
    assert_eq!(items[2], Decoded::HeartBeat);
}

#[test]
fn heart_beats_between_frames() {
    let items = decode_all(Version::V1_1, b"\n\r\nRECEIPT\nreceipt-id:1\n\n\0\n");
    assert_eq!(items.len(), 4);
    assert_eq!(items[0], Decoded::HeartBeat);
    assert_eq!(items[1], Decoded::HeartBeat);
    assert!(matches!(items[2], Decoded::Frame(ref f) if f.command == Command::Receipt));
    assert_eq!(items[3], Decoded::HeartBeat);

    // A lone CR may be the start of a CRLF heart-beat.
    let decoder = Decoder::default();
    let mut buf = BytesMut::from(&b"\r"[..]);
    assert_eq!(decoder.decode(&mut buf), Ok(None));
    assert_eq!(buf.len(), 1);
    buf.extend_from_slice(b"\n");
    assert_eq!(decoder.decode(&mut buf), Ok(Some(Decoded::HeartBeat)));
    assert!(buf.is_empty());

    let mut out = BytesMut::new();
    encode_heart_beat(&mut out);
    assert_eq!(&out[..], b"\n");
}

#[test]
fn escaping_1_2() {
    let wire = b"MESSAGE\na\\cb:x\\ny\\rz\\\\w\n\n\0";
    let f = one_frame(Version::V1_2, wire);
    assert_eq!(headers(&f), [("a:b", "x\ny\rz\\w")]);
    assert_eq!(encode(&f, Version::V1_2), wire);
}

#[test]
fn escaping_1_1_has_no_cr_escape() {
    let f = one_frame(Version::V1_1, b"SEND\nk:a\\cb\\nc\\\\d\n\n\0");
    assert_eq!(f.headers.get("k"), Some("a:b\nc\\d"));
    assert_eq!(
        decode_err(Version::V1_1, Limits::DEFAULT, b"SEND\nk:a\\rb\n\n\0"),
        DecodeError::InvalidEscape {
            header: 0,
            sequence: Some(b'r')
        }
    );
    let cr = Frame::new(Command::Send).header("k", "a\rb");
    assert!(matches!(
        cr.encode(Version::V1_1, &mut BytesMut::new()),
        Err(EncodeError::Unencodable {
            byte: b'\r',
            in_name: false,
            header: 0,
            ..
        })
    ));
    assert_eq!(encode(&cr, Version::V1_2), b"SEND\nk:a\\rb\n\n\0");
}

#[test]
fn undefined_escapes_are_errors() {
    for (wire, sequence) in [
        (&b"SEND\nk:a\\tb\n\n\0"[..], Some(b't')),
        (b"SEND\nk:ab\\\n\n\0", None),
    ] {
        assert_eq!(
            decode_err(Version::V1_2, Limits::DEFAULT, wire),
            DecodeError::InvalidEscape {
                header: 0,
                sequence
            }
        );
    }
}

#[test]
fn no_escaping_in_1_0_or_connect() {
    let f = one_frame(Version::V1_0, b"SEND\ndestination:/queue/a\\tb\n\n\0");
    assert_eq!(f.destination(), Some("/queue/a\\tb"));
    assert_eq!(
        encode(&f, Version::V1_0),
        b"SEND\ndestination:/queue/a\\tb\n\n\0"
    );
    let f = one_frame(Version::V1_2, b"CONNECT\npasscode:p\\ss:w\n\n\0");
    assert_eq!(f.passcode(), Some("p\\ss:w"));
    assert_eq!(
        encode(&f, Version::V1_2),
        b"CONNECT\npasscode:p\\ss:w\n\n\0"
    );
    // A colon in a value is kept outside CONNECT too (the first colon separates).
    let f = one_frame(Version::V1_2, b"SEND\ndestination:a:b\n\n\0");
    assert_eq!(f.destination(), Some("a:b"));
}

#[test]
fn connect_cannot_carry_line_breaks() {
    let f = Frame::new(Command::Connect).header("login", "a\nb");
    assert!(matches!(
        f.encode(Version::V1_2, &mut BytesMut::new()),
        Err(EncodeError::Unencodable { byte: b'\n', .. })
    ));
    let f = Frame::new(Command::Connected).header("a:b", "c");
    assert!(matches!(
        f.encode(Version::V1_2, &mut BytesMut::new()),
        Err(EncodeError::Unencodable {
            byte: b':',
            in_name: true,
            ..
        })
    ));
    let f = Frame::new(Command::Send).header("", "c");
    assert_eq!(
        f.encode(Version::V1_2, &mut BytesMut::new()),
        Err(EncodeError::EmptyHeaderName { header: 0 })
    );
}

#[test]
fn content_length_body_may_hold_nuls() {
    let wire = b"SEND\ndestination:/q\ncontent-length:5\n\na\0b\0c\0";
    let f = one_frame(Version::V1_2, wire);
    assert_eq!(&f.body[..], b"a\0b\0c");
    assert_eq!(
        encode(&f, Version::V1_2),
        b"SEND\ndestination:/q\ncontent-length:5\n\na\0b\0c\0"
    );
    // Built without content-length: the encoder adds it, so the NULs survive.
    let f = Frame::new(Command::Send).body(Bytes::from_static(b"\0\0"));
    assert_eq!(
        encode(&f, Version::V1_0),
        b"SEND\ncontent-length:2\n\n\0\0\0"
    );
    // A wrong content-length is corrected, later ones dropped.
    let f = Frame::new(Command::Send)
        .header("content-length", "99")
        .header("k", "v")
        .header("content-length", "7")
        .body("abc");
    assert_eq!(
        encode(&f, Version::V1_2),
        b"SEND\ncontent-length:3\nk:v\n\nabc\0"
    );
}

#[test]
fn content_length_errors() {
    assert_eq!(
        decode_err(
            Version::V1_2,
            Limits::DEFAULT,
            b"SEND\ncontent-length:3\n\nabcd\0"
        ),
        DecodeError::MissingNul {
            content_length: 3,
            found: b'd'
        }
    );
    assert_eq!(
        decode_err(
            Version::V1_2,
            Limits::DEFAULT,
            b"SEND\ncontent-length:x3\n\nabc\0"
        ),
        DecodeError::InvalidContentLength { value: "x3".into() }
    );
    // Only the first content-length counts.
    let f = one_frame(
        Version::V1_2,
        b"SEND\ncontent-length:1\ncontent-length:junk\n\na\0",
    );
    assert_eq!(&f.body[..], b"a");
    // 1.0 style with a space.
    let f = one_frame(Version::V1_0, b"SEND\ncontent-length: 2\n\nab\0");
    assert_eq!(&f.body[..], b"ab");
}

#[test]
fn malformed_lines() {
    let e = |wire: &[u8]| decode_err(Version::V1_2, Limits::DEFAULT, wire);
    assert_eq!(
        e(b"SENDX\n\n\0"),
        DecodeError::UnknownCommand {
            command: "SENDX".into()
        }
    );
    assert_eq!(
        e(b"send\n\n\0"),
        DecodeError::UnknownCommand {
            command: "send".into()
        }
    );
    assert_eq!(
        e(b"SEND\nk:v\nnocolon\n\n\0"),
        DecodeError::MissingColon { header: 1 }
    );
    assert_eq!(
        e(b"SEND\n:v\n\n\0"),
        DecodeError::EmptyHeaderName { header: 0 }
    );
    assert_eq!(
        e(b"SEND\nk:a\rb\n\n\0"),
        DecodeError::BareCarriageReturn { header: Some(0) }
    );
    assert_eq!(
        e(b"SE\rND\n\n\0"),
        DecodeError::BareCarriageReturn { header: None }
    );
    assert_eq!(
        e(b"SEND\nk:\xff\n\n\0"),
        DecodeError::InvalidUtf8 { header: 0 }
    );
}

#[test]
fn every_limit_is_named() {
    let small = Limits {
        max_command_len: 8,
        max_header_line_len: 16,
        max_headers: 2,
        max_body_len: 4,
    };
    let cases: [(&[u8], Limit); 6] = [
        (b"UNSUBSCRIBE\n\n\0", Limit::CommandLength),
        (b"UNSUBSCRI", Limit::CommandLength), // partial, already too long
        (b"SEND\nk:0123456789abcdef\n\n\0", Limit::HeaderLineLength),
        (b"SEND\na:1\nb:2\nc:3\n\n\0", Limit::HeaderCount),
        (b"SEND\n\nabcde\0", Limit::BodyLength),
        // Refused from the header alone, before the body is buffered.
        (b"SEND\ncontent-length:5\n\n", Limit::BodyLength),
    ];
    for (wire, limit) in cases {
        match decode_err(Version::V1_2, small, wire) {
            DecodeError::LimitExceeded { limit: l, max } => {
                assert_eq!(l, limit, "{wire:?}");
                assert_eq!(
                    max,
                    match limit {
                        Limit::CommandLength => 8,
                        Limit::HeaderLineLength => 16,
                        Limit::HeaderCount => 2,
                        _ => 4,
                    }
                );
            }
            other => panic!("{wire:?}: {other:?}"),
        }
    }
    // Exactly at each limit is fine.
    let f = one_frame_with(small, b"SEND\nk:0123456789abcd\nb:2\r\n\r\nabcd\0");
    assert_eq!(f.headers.len(), 2);
    assert_eq!(&f.body[..], b"abcd");
    let eleven = Limits {
        max_command_len: 11,
        ..small
    };
    assert_eq!(
        one_frame_with(eleven, b"UNSUBSCRIBE\r\n\r\n\0").command,
        Command::Unsubscribe
    );
}

fn one_frame_with(limits: Limits, wire: &[u8]) -> Frame {
    let mut buf = BytesMut::from(wire);
    match Decoder::with_limits(Version::V1_2, limits).decode(&mut buf) {
        Ok(Some(Decoded::Frame(f))) => f,
        other => panic!("{other:?}"),
    }
}

#[test]
fn partial_frames_consume_nothing() {
    let wire = b"SEND\ndestination:/q\ncontent-length:3\n\nabc\0";
    let decoder = Decoder::default();
    for end in 0..wire.len() {
        let mut buf = BytesMut::from(&wire[..end]);
        assert_eq!(decoder.decode(&mut buf), Ok(None), "prefix of {end}");
        assert_eq!(buf.len(), end);
        assert_eq!(decoder.item_len(&wire[..end]), Ok(None));
    }
    assert_eq!(decoder.item_len(wire), Ok(Some(wire.len())));
}

#[test]
fn bodies_and_values_are_slices_of_the_buffer() {
    let wire = b"SEND\ndestination:/queue/a\ncontent-length:5\n\nhello\0";
    let buf = BytesMut::from(&wire[..]);
    let range = buf.as_ptr() as usize..buf.as_ptr() as usize + buf.len();
    let mut buf = buf;
    let Some(Decoded::Frame(f)) = Decoder::default().decode(&mut buf).unwrap() else {
        panic!()
    };
    assert!(range.contains(&(f.body.as_ptr() as usize)));
    let value = f.headers.get_header("destination").unwrap().value_bytes();
    assert!(range.contains(&(value.as_ptr() as usize)));

    // The same from `Bytes` (a WebSocket message).
    let mut msg = Bytes::from_static(wire);
    let Some(Decoded::Frame(g)) = Decoder::default().decode_bytes(&mut msg).unwrap() else {
        panic!()
    };
    assert_eq!(f, g);
    assert!(msg.is_empty());
}

#[test]
fn decode_error_makes_an_error_frame() {
    let e = decode_err(Version::V1_2, Limits::DEFAULT, b"FOO\n\n\0");
    let f = e.error_frame();
    assert_eq!(f.message(), Some("unknown command"));
    assert_eq!(f.content_type(), Some("text/plain"));
    assert_eq!(&f.body[..], b"unknown command \"FOO\"");
    let wire = encode(&f, Version::V1_2);
    let back = one_frame(Version::V1_2, &wire);
    assert_eq!(back.content_length(), Ok(Some(21)));
    assert_eq!(back.body, f.body);
    assert_eq!(back.headers.get("message"), Some("unknown command"));
}

#[test]
fn heart_beat_header() {
    let f = one_frame(
        Version::V1_2,
        b"CONNECTED\nversion:1.2\nheart-beat:10000,0\n\n\0",
    );
    assert_eq!(f.heart_beat(), Ok(HeartBeat { cx: 10000, cy: 0 }));
    assert_eq!(
        Frame::new(Command::Connect).heart_beat(),
        Ok(HeartBeat::NONE)
    );
    for bad in ["", "1", "1,", ",1", "a,b", "1,2,3", "-1,2", "99999999999,1"] {
        assert!(HeartBeat::parse(bad).is_err(), "{bad:?}");
    }
    assert_eq!(HeartBeat::parse(" 5 , 6 "), Ok(HeartBeat { cx: 5, cy: 6 }));
    assert_eq!(HeartBeat { cx: 5, cy: 6 }.to_string(), "5,6");

    use std::time::Duration;
    let client = HeartBeat { cx: 1000, cy: 2000 };
    let server = HeartBeat { cx: 3000, cy: 500 };
    let c = client.negotiate(server);
    let s = server.negotiate(client);
    assert_eq!(c.send_every, Some(Duration::from_millis(1000)));
    assert_eq!(c.expect_every, Some(Duration::from_millis(3000)));
    assert_eq!(
        (s.send_every, s.expect_every),
        (c.expect_every, c.send_every)
    );
    let off = HeartBeat::NONE.negotiate(server);
    assert_eq!((off.send_every, off.expect_every), (None, None));
}

#[test]
fn version_negotiation() {
    let all = &Version::ALL;
    assert_eq!(negotiate_version(Some("1.1,1.0"), all), Ok(Version::V1_1));
    assert_eq!(negotiate_version(Some("1.2, 1.1"), all), Ok(Version::V1_2));
    assert_eq!(
        negotiate_version(Some("1.2"), &[Version::V1_0, Version::V1_1]),
        Err(warren_stomp::VersionError {
            accepted: "1.2".into(),
            supported: "1.0,1.1".into()
        })
    );
    assert!(negotiate_version(None, &[Version::V1_2]).is_err());
}

#[test]
fn ack_modes_and_ids() {
    for mode in [AckMode::Auto, AckMode::Client, AckMode::ClientIndividual] {
        assert_eq!(AckMode::parse(mode.as_str()), Ok(mode));
    }
    assert!(AckMode::parse("Client").is_err());
    let msg = Frame::new(Command::Message)
        .header("message-id", "m1")
        .header("ack", "a1");
    assert_eq!(msg.ack_id(Version::V1_2), Some("a1"));
    assert_eq!(msg.ack_id(Version::V1_1), Some("m1"));
}

#[test]
fn headers_set_and_remove() {
    let mut f = Frame::new(Command::Send)
        .header("a", "1")
        .header("b", "2")
        .header("a", "3");
    f.headers.set("a", "x");
    assert_eq!(headers(&f), [("a", "x"), ("b", "2")]);
    f.headers.set("c", "y");
    assert_eq!(f.headers.remove("b"), 1);
    assert_eq!(headers(&f), [("a", "x"), ("c", "y")]);
    f.headers.push(Header::from_static("d", "z"));
    assert!(f.headers.contains("d"));
}

#[test]
fn commands_round_trip_their_names() {
    for c in Command::ALL {
        assert_eq!(Command::from_bytes(c.as_str().as_bytes()), Some(c));
    }
    assert_eq!(Command::ALL.iter().filter(|c| c.is_client()).count(), 11);
}

#[test]
fn tokio_codec() {
    use tokio_util::codec::{Decoder as _, Encoder as _};
    let mut codec = warren_stomp::StompCodec::new(Version::V1_2);
    let mut buf = BytesMut::new();
    let frame = Frame::new(Command::Send)
        .header("destination", "/q")
        .body("x");
    codec.encode(&frame, &mut buf).unwrap();
    codec.encode(Decoded::HeartBeat, &mut buf).unwrap();
    let expected = Frame::new(Command::Send)
        .header("content-length", "1")
        .header("destination", "/q")
        .body("x");
    assert_eq!(
        codec.decode(&mut buf).unwrap(),
        Some(Decoded::Frame(expected))
    );
    assert_eq!(codec.decode(&mut buf).unwrap(), Some(Decoded::HeartBeat));
    assert_eq!(codec.decode(&mut buf).unwrap(), None);
}
