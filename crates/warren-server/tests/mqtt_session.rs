#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // tests: a panic is the failure report
//! The MQTT session state machine without sockets: packets encoded with `warren-mqtt` go in,
//! the core routes, packets come out, and time is a virtual clock.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use warren_core::{Broker, BrokerConfig, ExchangeKind, ExchangeOptions};
use warren_mqtt::{
    Connect, Decoder, Packet, PacketId, ProtocolLevel, PubAck, Publish, QoS, ReasonCode, Subscribe,
    Subscription, SubscriptionOptions, Will,
};
use warren_server::mqtt::{MqttSession, MqttSettings, MqttShared};

fn shared(now: Instant) -> Arc<MqttShared> {
    let broker = Arc::new(Broker::with_defaults(BrokerConfig::default()));
    broker
        .declare_exchange(
            "/",
            "webos.topic",
            ExchangeOptions::new(ExchangeKind::Topic),
        )
        .unwrap();
    let settings = MqttSettings {
        exchange: "webos.topic".into(),
        ..MqttSettings::default()
    };
    MqttShared::new(broker, settings, now)
}

/// One client: a session plus a decoder for what it sends back.
struct Client {
    session: MqttSession,
    decoder: Decoder,
    level: ProtocolLevel,
}

fn peer() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 40000))
}

impl Client {
    fn new(shared: &Arc<MqttShared>, now: Instant) -> Client {
        Client {
            session: MqttSession::new(Arc::clone(shared), peer(), now),
            decoder: Decoder::new(),
            level: ProtocolLevel::V3_1_1,
        }
    }

    fn send(&mut self, p: Packet, now: Instant) {
        let mut buf = BytesMut::new();
        p.encode(self.level, &mut buf).unwrap();
        self.session.handle_input(&mut buf, now);
    }

    fn recv(&mut self, now: Instant) -> Vec<Packet> {
        self.session.handle_outbox(now);
        let mut out = self.session.transmit_buffer().split();
        let mut packets = Vec::new();
        while let Some(p) = self.decoder.decode(&mut out).unwrap() {
            packets.push(p);
        }
        packets
    }

    fn connect(
        &mut self,
        level: ProtocolLevel,
        id: &str,
        clean: bool,
        will: Option<Will>,
        now: Instant,
    ) -> Packet {
        self.level = level;
        self.decoder.set_level(level);
        self.send(
            Packet::Connect(Box::new(Connect {
                level,
                clean_start: clean,
                keep_alive: 10,
                client_id: id.into(),
                will,
                username: Some("guest".into()),
                password: Some(Bytes::from_static(b"guest")),
                properties: Default::default(),
            })),
            now,
        );
        let mut got = self.recv(now);
        assert_eq!(got.len(), 1, "{got:?}");
        got.remove(0)
    }

    fn subscribe(&mut self, filter: &str, qos: QoS, now: Instant) -> Vec<Packet> {
        self.send(
            Packet::Subscribe(Subscribe {
                packet_id: pid(1),
                properties: Default::default(),
                subscriptions: vec![Subscription {
                    filter: filter.into(),
                    options: SubscriptionOptions {
                        qos,
                        ..Default::default()
                    },
                }],
            }),
            now,
        );
        self.recv(now)
    }
}

fn pid(n: u16) -> PacketId {
    PacketId::new(n).unwrap()
}

fn publish(topic: &str, qos: QoS, id: Option<u16>, body: &'static [u8]) -> Packet {
    Packet::Publish(Publish {
        dup: false,
        qos,
        retain: false,
        topic: topic.into(),
        packet_id: id.map(pid),
        properties: Default::default(),
        payload: Bytes::from_static(body),
    })
}

#[test]
fn connect_subscribe_publish_and_qos2_without_duplicates() {
    let now = Instant::now();
    let sh = shared(now);
    let mut sub = Client::new(&sh, now);
    let Packet::ConnAck(ack) = sub.connect(ProtocolLevel::V3_1_1, "sub", true, None, now) else {
        panic!("CONNACK expected");
    };
    assert_eq!(
        (ack.reason_code, ack.session_present),
        (ReasonCode::Success, false)
    );
    let suback = sub.subscribe("webos/car/+", QoS::ExactlyOnce, now);
    assert!(
        matches!(&suback[..], [Packet::SubAck(s)] if s.reason_codes == vec![ReasonCode::GrantedQos2])
    );

    let mut publ = Client::new(&sh, now);
    publ.connect(ProtocolLevel::V5, "pub", true, None, now);
    // QoS 2 publish, then the same packet id again (a resend before PUBREL): routed once.
    for _ in 0..2 {
        publ.send(
            publish("webos/car/info", QoS::ExactlyOnce, Some(9), b"x"),
            now,
        );
        let got = publ.recv(now);
        assert!(
            matches!(&got[..], [Packet::PubRec(r)] if r.packet_id == pid(9)),
            "{got:?}"
        );
    }
    publ.send(Packet::PubRel(PubAck::new(pid(9))), now);
    assert!(matches!(&publ.recv(now)[..], [Packet::PubComp(_)]));

    let got = sub.recv(now);
    assert_eq!(got.len(), 1, "exactly one delivery: {got:?}");
    let Packet::Publish(p) = &got[0] else {
        panic!("{got:?}")
    };
    assert_eq!(
        (p.topic.as_str(), p.qos),
        ("webos/car/info", QoS::ExactlyOnce)
    );
    let id = p.packet_id.unwrap();
    sub.send(Packet::PubRec(PubAck::new(id)), now);
    assert!(matches!(&sub.recv(now)[..], [Packet::PubRel(r)] if r.packet_id == id));
    assert_eq!(sub.session.awaiting_pubcomp(), 1);
    sub.send(Packet::PubComp(PubAck::new(id)), now);
    sub.recv(now);
    assert_eq!(sub.session.inflight_count(), 0);
}

#[test]
fn keepalive_timeout_closes_and_publishes_the_will() {
    let now = Instant::now();
    let sh = shared(now);
    let mut watcher = Client::new(&sh, now);
    watcher.connect(ProtocolLevel::V3_1_1, "w", true, None, now);
    watcher.subscribe("dead/#", QoS::AtMostOnce, now);
    let mut c = Client::new(&sh, now);
    let will = Will {
        topic: "dead/c".into(),
        payload: Bytes::from_static(b"bye"),
        qos: QoS::AtMostOnce,
        retain: false,
        properties: Default::default(),
    };
    c.connect(ProtocolLevel::V3_1_1, "c", true, Some(will), now);
    // Keep-alive 10 s: still fine at 14 s, closed at 15 s (1.5x).
    let deadline = c.session.poll_timeout().unwrap();
    assert_eq!(deadline, now + Duration::from_secs(15));
    c.session.handle_timeout(now + Duration::from_secs(14));
    assert!(!c.session.is_closed());
    c.session.handle_timeout(deadline);
    assert!(c.session.is_closed());
    let got = watcher.recv(deadline);
    assert!(
        matches!(&got[..], [Packet::Publish(p)] if p.payload == Bytes::from_static(b"bye")),
        "{got:?}"
    );
}

#[test]
fn garbage_before_connect_closes_silently_and_takeover_kicks() {
    let now = Instant::now();
    let sh = shared(now);
    let mut bad = MqttSession::new(Arc::clone(&sh), peer(), now);
    let mut junk = BytesMut::from(&b"\x30\x02\x00\x00GET / HTTP/1.1\r\n"[..]);
    bad.handle_input(&mut junk, now);
    assert!(bad.is_closed());
    assert!(bad.transmit_buffer().is_empty());

    let mut a = Client::new(&sh, now);
    a.connect(ProtocolLevel::V5, "same", true, None, now);
    let mut b = Client::new(&sh, now);
    b.connect(ProtocolLevel::V5, "same", true, None, now);
    let got = a.recv(now);
    assert!(
        matches!(&got[..], [Packet::Disconnect(d)] if d.reason_code == ReasonCode::SessionTakenOver),
        "{got:?}"
    );
    assert!(a.session.is_closed() && b.session.is_connected());
}

/// A broker on a message store in a temporary directory, with a durable `webos.topic`, and
/// MQTT settings `settings` on top of it.
fn durable_shared(
    settings: MqttSettings,
    now: Instant,
) -> (
    tempfile::TempDir,
    Arc<warren_core::store::Store>,
    Arc<MqttShared>,
) {
    use warren_core::store::{Store, StoreConfig};
    use warren_core::User;
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(StoreConfig::new(dir.path())).unwrap());
    let broker = Arc::new(Broker::with_storage(
        BrokerConfig::default(),
        store.factory(),
    ));
    broker.add_vhost("/");
    broker.put_user(User::new("guest", "guest", vec!["administrator".into()]));
    broker
        .set_permissions("guest", "/", ".*", ".*", ".*")
        .unwrap();
    broker
        .declare_exchange(
            "/",
            "webos.topic",
            ExchangeOptions::new(ExchangeKind::Topic).durable(true),
        )
        .unwrap();
    store.attach(&broker).unwrap();
    let sh = MqttShared::with_store(broker, settings, now, Some(Arc::clone(&store)));
    (dir, store, sh)
}

#[test]
fn answers_to_durable_publishes_wait_for_the_store_and_stay_in_order() {
    let settings = MqttSettings {
        exchange: "webos.topic".into(),
        ..MqttSettings::default()
    };
    let now = Instant::now();
    let (_dir, store, sh) = durable_shared(settings, now);
    // A persistent session: its QoS 1 queue is durable, so QoS 1 publishes go to the log.
    let mut sub = Client::new(&sh, now);
    sub.connect(ProtocolLevel::V3_1_1, "keeper", false, None, now);
    sub.subscribe("webos/car/#", QoS::AtLeastOnce, now);
    let mut publ = Client::new(&sh, now);
    publ.connect(ProtocolLevel::V3_1_1, "pub", true, None, now);
    // Durable (routed to the durable queue) and not (no subscriber) publishes, interleaved.
    let mut expected = Vec::new();
    for i in 1..=40u16 {
        let topic = if i % 3 == 0 {
            "webos/home/x"
        } else {
            "webos/car/x"
        };
        publ.send(publish(topic, QoS::AtLeastOnce, Some(i), b"m"), now);
        expected.push(i);
    }
    let mut acked = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while acked.len() < expected.len() && Instant::now() < deadline {
        for p in publ.recv(now) {
            match p {
                Packet::PubAck(a) => acked.push(a.packet_id.get()),
                other => panic!("unexpected {other:?}"),
            }
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(acked, expected, "PUBACKs out of order or missing");
    assert_eq!(publ.session.held_count(), 0);
    // The session record is in the store too.
    assert_eq!(store.kv_list("mqtt.sessions").len(), 1);
    store.close();
}

#[test]
fn a_persistent_connection_resumes_a_clean_sessions_queue() {
    let now = Instant::now();
    let sh = shared(now);
    // A clean session's queue is not durable; a persistent takeover keeps using it.
    let mut a = Client::new(&sh, now);
    a.connect(ProtocolLevel::V3_1_1, "switcher", true, None, now);
    a.subscribe("webos/car/#", QoS::AtLeastOnce, now);
    let mut b = Client::new(&sh, now);
    match b.connect(ProtocolLevel::V3_1_1, "switcher", false, None, now) {
        Packet::ConnAck(c) => assert!(c.session_present),
        other => panic!("unexpected {other:?}"),
    }
    a.recv(now);
    assert!(a.session.is_closed());
    let mut publ = Client::new(&sh, now);
    publ.connect(ProtocolLevel::V3_1_1, "pub", true, None, now);
    publ.send(
        publish("webos/car/x", QoS::AtLeastOnce, Some(1), b"hi"),
        now,
    );
    let got = b.recv(now);
    assert!(
        matches!(got.as_slice(), [Packet::Publish(p)] if p.payload == Bytes::from_static(b"hi")),
        "{got:?}"
    );
}

#[test]
fn qos1_publishes_waiting_for_the_disk_count_against_receive_maximum() {
    let settings = MqttSettings {
        exchange: "webos.topic".into(),
        receive_maximum: 1,
        ..MqttSettings::default()
    };
    let now = Instant::now();
    let (_dir, store, sh) = durable_shared(settings, now);
    let mut sub = Client::new(&sh, now);
    sub.connect(ProtocolLevel::V3_1_1, "keeper", false, None, now);
    sub.subscribe("webos/car/#", QoS::AtLeastOnce, now);
    let mut publ = Client::new(&sh, now);
    publ.connect(ProtocolLevel::V5, "pub5", true, None, now);
    // Two QoS 1 publishes in one batch: the first one's PUBACK waits for the fsync, so the
    // second exceeds a Receive Maximum of 1.
    publ.send(publish("webos/car/x", QoS::AtLeastOnce, Some(1), b"a"), now);
    assert_eq!(
        publ.session.held_count(),
        1,
        "the first PUBACK waits for the disk"
    );
    publ.send(publish("webos/car/x", QoS::AtLeastOnce, Some(2), b"b"), now);
    let out = publ.recv(now);
    assert!(
        out.iter().any(|p| matches!(
            p,
            Packet::Disconnect(d) if d.reason_code == ReasonCode::ReceiveMaximumExceeded
        )),
        "{out:?}"
    );
    store.close();
}

#[test]
fn a_connection_closed_by_the_broker_gets_disconnect_0x98() {
    let now = Instant::now();
    let sh = shared(now);
    let mut c = Client::new(&sh, now);
    c.connect(ProtocolLevel::V5, "kicked", true, None, now);
    let conns = sh.broker.connections();
    assert_eq!(conns.len(), 1);
    // What DELETE /api/connections/{name} does.
    conns[0].force_close("Closed via management plugin");
    let out = c.recv(now);
    assert!(
        out.iter().any(|p| matches!(
            p,
            Packet::Disconnect(d) if d.reason_code == ReasonCode::AdministrativeAction
        )),
        "{out:?}"
    );
    assert!(c.session.is_closed());
}
