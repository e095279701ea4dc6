#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // tests: a panic is the failure report
//! Byte-exact vectors captured from real clients talking to Mosquitto 2.0 (mosquitto_pub /
//! mosquitto_sub 3.1.1 and 5.0, paho-mqtt 3.1 / 3.1.1 / 5.0) through the logging proxy in
//! `tests/vectors/capture.py`. Every packet must decode, re-encode to the same bytes, and the
//! interesting ones must decode to the packets the clients were asked to send.

use std::path::Path;

use bytes::{Bytes, BytesMut};
use warren_mqtt::{
    Decoder, Packet, PacketId, ProtocolLevel, QoS, ReasonCode, RetainHandling, SubscriptionOptions,
};

/// One capture: the level, then (from_client, bytes) per packet.
struct Capture {
    level: ProtocolLevel,
    packets: Vec<(bool, Vec<u8>)>,
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn load(name: &str) -> Capture {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/vectors")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap();
    let mut level = None;
    let mut packets = Vec::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        match line.split_once(' ').unwrap() {
            ("level", l) => level = ProtocolLevel::from_u8(l.parse().unwrap()),
            ("c", h) => packets.push((true, hex(h))),
            ("s", h) => packets.push((false, hex(h))),
            other => panic!("bad line {other:?}"),
        }
    }
    Capture {
        level: level.unwrap(),
        packets,
    }
}

/// Decodes every packet of a capture (client side starting with no level, as a server does) and
/// checks the byte-exact re-encoding; returns (client packets, server packets).
fn decode_all(name: &str) -> (Vec<Packet>, Vec<Packet>) {
    let capture = load(name);
    let mut from_client = Decoder::new();
    let mut from_server = Decoder::with_level(capture.level);
    let (mut client, mut server) = (Vec::new(), Vec::new());
    for (is_client, bytes) in &capture.packets {
        let decoder = if *is_client {
            &mut from_client
        } else {
            &mut from_server
        };
        let mut buf = BytesMut::from(&bytes[..]);
        let packet = decoder
            .decode(&mut buf)
            .unwrap_or_else(|e| panic!("{name}: {e} in {}", hex_str(bytes)))
            .unwrap_or_else(|| panic!("{name}: incomplete {}", hex_str(bytes)));
        assert!(buf.is_empty(), "{name}: trailing bytes");
        if let Packet::Connect(c) = &packet {
            assert_eq!(c.level, capture.level, "{name}");
            decoder.set_level(c.level);
        }
        let mut out = BytesMut::new();
        let written = packet.encode(capture.level, &mut out).unwrap();
        assert_eq!(written, out.len());
        assert_eq!(
            hex_str(&out),
            hex_str(bytes),
            "{name}: re-encoding {packet:?} is not byte-exact"
        );
        if *is_client {
            client.push(packet);
        } else {
            server.push(packet);
        }
    }
    (client, server)
}

fn hex_str(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn pid(n: u16) -> Option<PacketId> {
    PacketId::new(n)
}

#[test]
fn every_capture_round_trips_byte_exactly() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".vec"))
        .collect();
    names.sort();
    assert_eq!(names.len(), 9, "{names:?}");
    for name in names {
        let (client, server) = decode_all(&name);
        assert!(matches!(client[0], Packet::Connect(_)), "{name}");
        assert!(matches!(server[0], Packet::ConnAck(_)), "{name}");
    }
}

#[test]
fn mosquitto_pub_311() {
    let (client, server) = decode_all("mosquitto_pub_mqttv311.vec");
    let Packet::Connect(c) = &client[0] else {
        panic!()
    };
    assert_eq!(c.level, ProtocolLevel::V3_1_1);
    assert_eq!(c.client_id, "warren-pub-mqttv311");
    assert_eq!(c.keep_alive, 30);
    assert!(c.clean_start);
    assert_eq!(c.username.as_deref(), Some("car2home"));
    assert_eq!(c.password.as_deref(), Some(&b"s3cret"[..]));
    let will = c.will.as_ref().unwrap();
    assert_eq!(will.topic, "warren/vectors/mqttv311/status");
    assert_eq!(&will.payload[..], b"gone");
    assert_eq!((will.qos, will.retain), (QoS::AtLeastOnce, true));
    let Packet::Publish(p) = &client[1] else {
        panic!()
    };
    assert_eq!(p.topic, "warren/vectors/mqttv311/garage/door");
    assert_eq!((p.qos, p.retain, p.dup), (QoS::AtLeastOnce, true, false));
    assert_eq!(p.packet_id, pid(1));
    assert_eq!(p.payload, Bytes::from_static(b"open"));
    assert!(matches!(client[2], Packet::Disconnect(_)));
    let Packet::ConnAck(ack) = &server[0] else {
        panic!()
    };
    assert_eq!(
        (ack.session_present, ack.reason_code),
        (false, ReasonCode::Success)
    );
    let Packet::PubAck(ack) = &server[1] else {
        panic!()
    };
    assert_eq!(ack.packet_id.get(), 1);
}

#[test]
fn mosquitto_pub_5_properties_in_client_order() {
    let (client, server) = decode_all("mosquitto_pub_mqttv5.vec");
    let Packet::Connect(c) = &client[0] else {
        panic!()
    };
    assert_eq!(c.level, ProtocolLevel::V5);
    assert_eq!(c.properties.session_expiry_interval, Some(60));
    assert_eq!(c.properties.receive_maximum, Some(20));
    assert_eq!(
        c.properties.user_properties,
        [("client".into(), "car".into())]
    );
    // mosquitto sends 0x11, 0x26, 0x21: not ascending, kept for the byte-exact re-encoding.
    assert_eq!(c.properties.wire_order.ids(), Some(&[0x11, 0x26, 0x21][..]));
    let will = c.will.as_ref().unwrap();
    assert_eq!(will.properties.will_delay_interval, Some(5));
    assert_eq!(will.properties.content_type.as_deref(), Some("text/plain"));
    let Packet::Publish(p) = &client[1] else {
        panic!()
    };
    let props = &p.properties;
    assert_eq!(props.message_expiry_interval, Some(120));
    assert_eq!(props.content_type.as_deref(), Some("text/plain"));
    assert_eq!(props.response_topic.as_deref(), Some("warren/reply"));
    assert_eq!(props.correlation_data.as_deref(), Some(&b"c0ffee"[..]));
    assert_eq!(props.payload_format_indicator, Some(true));
    assert_eq!(
        props.user_properties,
        [("k".into(), "v1".into()), ("k".into(), "v2".into())]
    );
    let Packet::ConnAck(ack) = &server[0] else {
        panic!()
    };
    assert_eq!(ack.properties.topic_alias_maximum, Some(10));
    assert_eq!(ack.properties.receive_maximum, Some(20));
    let Packet::PubAck(ack) = &server[1] else {
        panic!()
    };
    assert_eq!(ack.reason_code, ReasonCode::NoMatchingSubscribers);
}

fn suback(packets: &[Packet]) -> &warren_mqtt::SubAck {
    packets
        .iter()
        .find_map(|p| match p {
            Packet::SubAck(a) => Some(a),
            _ => None,
        })
        .unwrap()
}

fn publishes(packets: &[Packet]) -> Vec<&warren_mqtt::Publish> {
    packets
        .iter()
        .filter_map(|p| match p {
            Packet::Publish(p) => Some(p),
            _ => None,
        })
        .collect()
}

#[test]
fn mosquitto_sub_both_levels() {
    let (client, server) = decode_all("mosquitto_sub_mqttv311.vec");
    let Packet::Subscribe(s) = &client[1] else {
        panic!()
    };
    assert_eq!(s.packet_id.get(), 1);
    let filters: Vec<_> = s.subscriptions.iter().map(|s| s.filter.as_str()).collect();
    assert_eq!(
        filters,
        [
            "warren/vectors/mqttv311/+/door",
            "warren/vectors/mqttv311/#"
        ]
    );
    assert!(s
        .subscriptions
        .iter()
        .all(|s| s.options.qos == QoS::ExactlyOnce));
    // `-c` keeps the session: this capture resumed one (session present) and the broker
    // re-delivered queued messages with DUP set before answering the SUBSCRIBE.
    let Packet::ConnAck(ack) = &server[0] else {
        panic!()
    };
    assert!(ack.session_present);
    assert_eq!(suback(&server).reason_codes, [ReasonCode::GrantedQos2; 2]);
    let delivered = publishes(&server);
    assert!(delivered
        .iter()
        .any(|p| p.dup && p.qos == QoS::AtLeastOnce && !p.retain));
    assert!(delivered
        .iter()
        .any(|p| !p.dup && p.qos == QoS::AtLeastOnce && p.retain));
    assert!(delivered.iter().all(|p| &p.payload[..] == b"open"));

    let (client, server) = decode_all("mosquitto_sub_mqttv5.vec");
    let Packet::Subscribe(s) = &client[1] else {
        panic!()
    };
    assert_eq!(s.properties.subscription_identifiers, [7]);
    assert_eq!(
        s.properties.user_properties,
        [("room".into(), "garage".into())]
    );
    let p = publishes(&server)[0];
    assert_eq!(p.properties.subscription_identifiers, [7]);
    assert_eq!(
        p.properties.message_expiry_interval.map(|s| s <= 120),
        Some(true)
    );
}

#[test]
fn mosquitto_clear_retained() {
    for name in ["mosquitto_clear_mqttv311.vec", "mosquitto_clear_mqttv5.vec"] {
        let (client, _) = decode_all(name);
        let Packet::Publish(p) = &client[1] else {
            panic!()
        };
        assert!(
            p.retain && p.payload.is_empty() && p.qos == QoS::AtMostOnce,
            "{name}"
        );
    }
}

#[test]
fn paho_all_levels() {
    for (name, level) in [
        ("paho_v31.vec", ProtocolLevel::V3_1),
        ("paho_v311.vec", ProtocolLevel::V3_1_1),
        ("paho_v5.vec", ProtocolLevel::V5),
    ] {
        let (client, server) = decode_all(name);
        let Packet::Connect(c) = &client[0] else {
            panic!()
        };
        assert_eq!(c.level, level);
        assert_eq!(c.keep_alive, 45);
        assert_eq!(c.username.as_deref(), Some("car2home"));
        assert_eq!(c.password.as_deref(), Some("pässword".as_bytes()));
        let will = c.will.as_ref().unwrap();
        assert_eq!(&will.payload[..], b"\x00\x01offline");
        assert_eq!((will.qos, will.retain), (QoS::ExactlyOnce, false));
        let Packet::Subscribe(s) = &client[1] else {
            panic!()
        };
        assert_eq!(s.subscriptions.len(), 2);
        assert!(s.subscriptions[0].filter.ends_with("/sensors/+"));
        let publishes = publishes(&client);
        assert_eq!(publishes.len(), 3, "{name}");
        assert_eq!(&publishes[0].payload[..], b"21.5");
        assert_eq!(publishes[1].payload.len(), 300);
        assert_eq!(&publishes[2].payload[..], "ünïcode ✓".as_bytes());
        assert_eq!(
            publishes.iter().map(|p| p.qos).collect::<Vec<_>>(),
            [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce]
        );
        assert!(client
            .iter()
            .any(|p| matches!(p, Packet::Unsubscribe(u) if u.filters.len() == 2)));
        assert!(server.iter().any(|p| matches!(p, Packet::UnsubAck(_))));
        if level == ProtocolLevel::V5 {
            assert_eq!(c.properties.receive_maximum, Some(20));
            assert_eq!(c.properties.maximum_packet_size, Some(65536));
            assert_eq!(c.properties.topic_alias_maximum, Some(4));
            assert_eq!(c.properties.session_expiry_interval, Some(0));
            assert_eq!(c.properties.user_properties.len(), 2);
            assert_eq!(will.properties.will_delay_interval, Some(10));
            assert_eq!(s.properties.subscription_identifiers, [42]);
            assert_eq!(
                s.subscriptions[0].options,
                SubscriptionOptions {
                    qos: QoS::ExactlyOnce,
                    no_local: false,
                    retain_as_published: true,
                    retain_handling: RetainHandling::SendAtSubscribeIfNew,
                }
            );
            assert_eq!(publishes[0].properties.message_expiry_interval, Some(300));
            assert_eq!(
                publishes[0].properties.user_properties,
                [("unit".into(), "celsius".into())]
            );
        } else {
            assert!(c.properties.is_empty());
            assert_eq!(s.subscriptions[1].options.qos, QoS::AtLeastOnce);
        }
    }
}
