#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // tests: a panic is the failure report
//! The AMQP connection state machine without a socket: bytes in, frames out, a virtual clock.
//!
//! A `Pair` plays the client with the `warren-amqp` codec and drives `AmqpConnection` exactly as
//! the tokio driver does: `handle_input`, then `handle_outbox`, then read the transmit buffer;
//! time only moves when a test advances it.

use bytes::{Bytes, BytesMut};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use warren_amqp::{
    encode_message, BasicConsume, BasicProperties, BasicPublish, ChannelOpen, ConfirmSelect,
    ConnectionClose, ConnectionCloseOk, ConnectionOpen, ConnectionStartOk, ConnectionTuneOk,
    FieldTable, Frame, FrameDecoder, Method, QueueDeclare, ShortStr, PROTOCOL_HEADER,
};
use warren_core::{Broker, BrokerConfig};
use warren_server::amqp::{AmqpConnection, AmqpSettings};

const FRAME_MAX: u32 = 131_072;

struct Pair {
    conn: AmqpConnection,
    now: Instant,
    decoder: FrameDecoder,
    /// Server output not yet decoded (a frame may be split across steps).
    pending: BytesMut,
}

impl Pair {
    fn new(settings: AmqpSettings) -> Pair {
        let broker = Arc::new(Broker::with_defaults(BrokerConfig::default()));
        let now = Instant::now();
        let peer: SocketAddr = "127.0.0.1:40000".parse().unwrap();
        Pair {
            conn: AmqpConnection::new(broker, settings, peer, now),
            now,
            decoder: FrameDecoder::new(FRAME_MAX),
            pending: BytesMut::new(),
        }
    }

    /// Feeds raw bytes and returns every frame the server produced in response.
    fn send_bytes(&mut self, bytes: &[u8]) -> Vec<Frame> {
        let mut input = BytesMut::from(bytes);
        self.conn.handle_input(&mut input, self.now);
        assert!(input.is_empty(), "complete frames are consumed");
        self.output()
    }

    fn send(&mut self, channel: u16, method: impl Into<Method>) -> Vec<Frame> {
        let mut buf = BytesMut::new();
        Frame::Method {
            channel,
            method: method.into(),
        }
        .encode(&mut buf, FRAME_MAX)
        .unwrap();
        self.send_bytes(&buf)
    }

    fn output(&mut self) -> Vec<Frame> {
        self.conn.handle_outbox();
        let out = self.conn.transmit_buffer().split();
        self.pending.extend_from_slice(&out);
        let mut frames = Vec::new();
        while let Some(f) = self.decoder.decode(&mut self.pending).unwrap() {
            frames.push(f);
        }
        frames
    }

    fn advance(&mut self, by: Duration) -> Vec<Frame> {
        self.now += by;
        self.conn.handle_timeout(self.now);
        self.output()
    }

    /// Header, start-ok (PLAIN guest/guest), tune-ok with `heartbeat`, open "/".
    fn open(&mut self, heartbeat: u16) {
        let start = self.send_bytes(&PROTOCOL_HEADER);
        assert!(matches!(
            start.as_slice(),
            [Frame::Method {
                method: Method::ConnectionStart(_),
                ..
            }]
        ));
        let tune = self.send(
            0,
            ConnectionStartOk {
                client_properties: FieldTable::default(),
                mechanism: ShortStr::from_static("PLAIN"),
                response: Bytes::from_static(b"\0guest\0guest"),
                locale: ShortStr::from_static("en_US"),
            },
        );
        assert!(
            matches!(
                tune.as_slice(),
                [Frame::Method {
                    method: Method::ConnectionTune(_),
                    ..
                }]
            ),
            "{tune:?}"
        );
        assert!(self
            .send(
                0,
                ConnectionTuneOk {
                    channel_max: 2047,
                    frame_max: FRAME_MAX,
                    heartbeat,
                },
            )
            .is_empty());
        let ok = self.send(
            0,
            ConnectionOpen {
                virtual_host: ShortStr::from_static("/"),
                ..Default::default()
            },
        );
        assert!(matches!(
            ok.as_slice(),
            [Frame::Method {
                method: Method::ConnectionOpenOk(_),
                ..
            }]
        ));
        assert!(self.conn.is_open());
    }

    fn open_channel(&mut self, ch: u16) {
        let ok = self.send(ch, ChannelOpen::default());
        assert!(matches!(
            ok.as_slice(),
            [Frame::Method {
                method: Method::ChannelOpenOk(_),
                ..
            }]
        ));
    }
}

fn methods(frames: &[Frame]) -> Vec<&'static str> {
    frames
        .iter()
        .map(|f| match f {
            Frame::Method { method, .. } => method.name(),
            Frame::Header { .. } => "header",
            Frame::Body { .. } => "body",
            Frame::Heartbeat => "heartbeat",
        })
        .collect()
}

fn publish_bytes(channel: u16, routing_key: &'static str, body: &[u8]) -> BytesMut {
    let mut buf = BytesMut::new();
    let method: Method = BasicPublish {
        routing_key: ShortStr::from_static(routing_key),
        ..Default::default()
    }
    .into();
    encode_message(
        &mut buf,
        channel,
        &method,
        &BasicProperties::default(),
        body,
        FRAME_MAX,
    )
    .unwrap();
    buf
}

#[test]
fn handshake_reaches_open_and_advertises_capabilities() {
    let mut p = Pair::new(AmqpSettings::default());
    let start = p.send_bytes(&PROTOCOL_HEADER);
    let Frame::Method {
        method: Method::ConnectionStart(s),
        ..
    } = &start[0]
    else {
        panic!("{start:?}")
    };
    let caps = s.server_properties.get("capabilities").unwrap();
    let caps = caps.as_table().unwrap();
    for cap in ["publisher_confirms", "basic.nack", "consumer_cancel_notify"] {
        assert_eq!(caps.get(cap).and_then(|v| v.as_bool()), Some(true), "{cap}");
    }
    let mut p = Pair::new(AmqpSettings::default());
    p.open(0);
}

#[test]
fn a_wrong_protocol_header_gets_ours_and_a_close() {
    let mut p = Pair::new(AmqpSettings::default());
    let mut input = BytesMut::from(&b"AMQP\x00\x00\x08\x00"[..]);
    p.conn.handle_input(&mut input, p.now);
    assert_eq!(&p.conn.transmit_buffer()[..], &PROTOCOL_HEADER[..]);
    assert!(p.conn.is_closed());
}

#[test]
fn a_header_in_pieces_is_waited_for() {
    let mut p = Pair::new(AmqpSettings::default());
    let mut input = BytesMut::from(&PROTOCOL_HEADER[..3]);
    p.conn.handle_input(&mut input, p.now);
    assert!(p.output().is_empty());
    assert!(!p.conn.is_closed());
    assert_eq!(input.len(), 3, "a partial header stays in the buffer");
    input.extend_from_slice(&PROTOCOL_HEADER[3..]);
    p.conn.handle_input(&mut input, p.now);
    assert_eq!(methods(&p.output()), ["connection.start"]);
}

#[test]
fn bad_password_is_refused_with_403() {
    let mut p = Pair::new(AmqpSettings::default());
    p.send_bytes(&PROTOCOL_HEADER);
    let out = p.send(
        0,
        ConnectionStartOk {
            mechanism: ShortStr::from_static("PLAIN"),
            response: Bytes::from_static(b"\0guest\0wrong"),
            ..Default::default()
        },
    );
    let Frame::Method {
        method: Method::ConnectionClose(c),
        ..
    } = &out[0]
    else {
        panic!("{out:?}")
    };
    assert_eq!(c.reply_code, 403);
    assert!(c
        .reply_text
        .as_str()
        .unwrap()
        .starts_with("ACCESS_REFUSED - "));
    assert!(p.conn.is_closed());
}

#[test]
fn heartbeats_are_sent_and_a_silent_peer_is_dropped() {
    let mut p = Pair::new(AmqpSettings::default());
    p.open(4);
    assert_eq!(methods(&p.advance(Duration::from_secs(2))), ["heartbeat"]);
    // Client traffic (a heartbeat) keeps it alive.
    assert!(p.send_bytes(&[8, 0, 0, 0, 0, 0, 0, 0xCE]).is_empty());
    p.advance(Duration::from_secs(7));
    assert!(!p.conn.is_closed(), "7 s of silence < two 4 s intervals");
    p.advance(Duration::from_secs(2));
    assert!(
        p.conn.is_closed(),
        "two missed heartbeat intervals close the connection"
    );
}

#[test]
fn handshake_timeout_closes() {
    let mut p = Pair::new(AmqpSettings::default());
    p.send_bytes(&PROTOCOL_HEADER);
    p.advance(Duration::from_secs(11));
    assert!(p.conn.is_closed());
}

#[test]
fn publish_and_consume_on_one_connection_with_consume_ok_first() {
    let mut p = Pair::new(AmqpSettings::default());
    p.open(0);
    p.open_channel(1);
    let out = p.send(
        1,
        QueueDeclare {
            queue: ShortStr::from_static("q"),
            ..Default::default()
        },
    );
    assert_eq!(methods(&out), ["queue.declare-ok"]);
    assert!(p.send_bytes(&publish_bytes(1, "q", b"waiting")).is_empty());
    let out = p.send(
        1,
        BasicConsume {
            queue: ShortStr::from_static("q"),
            consumer_tag: ShortStr::from_static("c1"),
            no_ack: true,
            ..Default::default()
        },
    );
    assert_eq!(
        methods(&out),
        ["basic.consume-ok", "basic.deliver", "header", "body"]
    );
    let out = p.send_bytes(&publish_bytes(1, "q", b"live"));
    assert_eq!(methods(&out), ["basic.deliver", "header", "body"]);
    let Frame::Body { payload, .. } = &out[2] else {
        panic!()
    };
    assert_eq!(&payload[..], b"live");
}

#[test]
fn confirms_of_one_input_batch_are_coalesced_into_one_multiple_ack() {
    let mut p = Pair::new(AmqpSettings::default());
    p.open(0);
    p.open_channel(1);
    p.send(
        1,
        QueueDeclare {
            queue: ShortStr::from_static("q"),
            ..Default::default()
        },
    );
    assert_eq!(
        methods(&p.send(1, ConfirmSelect { nowait: false })),
        ["confirm.select-ok"]
    );
    let mut batch = BytesMut::new();
    for _ in 0..3 {
        batch.extend_from_slice(&publish_bytes(1, "q", b"m"));
    }
    let out = p.send_bytes(&batch);
    let [Frame::Method {
        method: Method::BasicAck(ack),
        ..
    }] = out.as_slice()
    else {
        panic!("{out:?}")
    };
    assert_eq!((ack.delivery_tag, ack.multiple), (3, true));
}

#[test]
fn an_oversized_frame_is_a_501_connection_error() {
    let mut p = Pair::new(AmqpSettings::default());
    p.open(0);
    // A body frame header declaring far more than frame_max.
    let out = p.send_bytes(&[3, 0, 1, 0x10, 0, 0, 0]);
    let Frame::Method {
        method: Method::ConnectionClose(c),
        ..
    } = &out[0]
    else {
        panic!("{out:?}")
    };
    assert_eq!(c.reply_code, 501);
}

#[test]
fn a_method_on_an_unopened_channel_is_504() {
    let mut p = Pair::new(AmqpSettings::default());
    p.open(0);
    let out = p.send(
        7,
        QueueDeclare {
            queue: ShortStr::from_static("q"),
            ..Default::default()
        },
    );
    let Frame::Method {
        method: Method::ConnectionClose(c),
        ..
    } = &out[0]
    else {
        panic!("{out:?}")
    };
    assert_eq!(c.reply_code, 504);
}

#[test]
fn shutdown_sends_320_and_waits_for_close_ok() {
    let mut p = Pair::new(AmqpSettings::default());
    p.open(0);
    p.conn.shutdown(p.now);
    let out = p.output();
    let Frame::Method {
        method: Method::ConnectionClose(c),
        ..
    } = &out[0]
    else {
        panic!("{out:?}")
    };
    assert_eq!(c.reply_code, 320);
    assert!(!p.conn.is_closed());
    p.send(0, ConnectionCloseOk {});
    assert!(p.conn.is_closed());
}

#[test]
fn client_close_is_answered_with_close_ok() {
    let mut p = Pair::new(AmqpSettings::default());
    p.open(0);
    let out = p.send(
        0,
        ConnectionClose {
            reply_code: 200,
            reply_text: ShortStr::from_static("bye"),
            class_id: 0,
            method_id: 0,
        },
    );
    assert_eq!(methods(&out), ["connection.close-ok"]);
    assert!(p.conn.is_closed());
}
