#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // tests: a panic is the failure report
//! Property tests: round trip of every packet type at every level, strict prefixes are
//! incomplete, chunking does not change what is decoded, arbitrary bytes never panic.

use bytes::{Bytes, BytesMut};
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use warren_mqtt::{
    allowed_contexts, property_id as id, Auth, ConnAck, Connect, Decoder, Disconnect, Packet,
    PacketId, PacketType, Properties, PropertyContext, ProtocolLevel, PubAck, Publish, QoS,
    ReasonCode, RetainHandling, SubAck, Subscribe, Subscription, SubscriptionOptions, UnsubAck,
    Unsubscribe, Will,
};

const LEVELS: [ProtocolLevel; 3] = [
    ProtocolLevel::V3_1,
    ProtocolLevel::V3_1_1,
    ProtocolLevel::V5,
];

fn text() -> impl Strategy<Value = String> {
    "[^\u{0}]{0,8}"
}

fn topic_name() -> impl Strategy<Value = String> {
    "[a-z0-9$ /ü✓]{1,12}"
}

fn filter() -> impl Strategy<Value = String> {
    prop_oneof![
        topic_name(),
        Just("#".to_string()),
        Just("a/+/b/#".to_string())
    ]
}

fn bytes(max: usize) -> impl Strategy<Value = Bytes> {
    vec(any::<u8>(), 0..max).prop_map(Bytes::from)
}

fn qos() -> impl Strategy<Value = QoS> {
    prop_oneof![
        Just(QoS::AtMostOnce),
        Just(QoS::AtLeastOnce),
        Just(QoS::ExactlyOnce)
    ]
}

fn pid() -> impl Strategy<Value = PacketId> {
    (1u16..).prop_map(|n| PacketId::new(n).unwrap())
}

fn reason(packet: PacketType) -> impl Strategy<Value = ReasonCode> {
    let allowed: Vec<ReasonCode> = ReasonCode::ALL
        .iter()
        .copied()
        .filter(|c| c.allowed_in(packet))
        .collect();
    proptest::sample::select(allowed)
}

/// Every property, then the ones `ctx` may not carry removed.
fn properties(ctx: PropertyContext) -> impl Strategy<Value = Properties> {
    let a = (
        option::of(any::<bool>()),
        option::of(any::<u32>()),
        option::of(text()),
        option::of(text()),
        option::of(bytes(8)),
        vec(1u32..=268_435_455, 0..3),
        option::of(any::<u32>()),
        option::of(text()),
        option::of(any::<u16>()),
        option::of(text()),
        option::of(bytes(8)),
        option::of(any::<bool>()),
    );
    let b = (
        option::of(any::<u32>()),
        option::of(any::<bool>()),
        option::of(text()),
        option::of(text()),
        option::of(text()),
        option::of(1u16..),
        option::of(any::<u16>()),
        option::of(1u16..),
        option::of(prop_oneof![Just(QoS::AtMostOnce), Just(QoS::AtLeastOnce)]),
        option::of(any::<bool>()),
        vec((text(), text()), 0..3),
        option::of(1u32..),
    );
    let c = (
        option::of(any::<bool>()),
        option::of(any::<bool>()),
        option::of(any::<bool>()),
    );
    (a, b, c).prop_map(move |(a, b, c)| {
        let mut p = Properties {
            payload_format_indicator: a.0,
            message_expiry_interval: a.1,
            content_type: a.2,
            response_topic: a.3,
            correlation_data: a.4,
            subscription_identifiers: a.5,
            session_expiry_interval: a.6,
            assigned_client_identifier: a.7,
            server_keep_alive: a.8,
            authentication_method: a.9,
            authentication_data: a.10,
            request_problem_information: a.11,
            will_delay_interval: b.0,
            request_response_information: b.1,
            response_information: b.2,
            server_reference: b.3,
            reason_string: b.4,
            receive_maximum: b.5,
            topic_alias_maximum: b.6,
            topic_alias: b.7,
            maximum_qos: b.8,
            retain_available: b.9,
            user_properties: b.10,
            maximum_packet_size: b.11,
            wildcard_subscription_available: c.0,
            subscription_identifier_available: c.1,
            shared_subscription_available: c.2,
            ..Properties::default()
        };
        if ctx == PropertyContext::Subscribe {
            p.subscription_identifiers.truncate(1);
        }
        for property in id::ALL {
            if !allowed_contexts(property).unwrap().contains(&ctx) {
                clear(&mut p, property);
            }
        }
        p
    })
}

fn clear(p: &mut Properties, property: u8) {
    match property {
        id::PAYLOAD_FORMAT_INDICATOR => p.payload_format_indicator = None,
        id::MESSAGE_EXPIRY_INTERVAL => p.message_expiry_interval = None,
        id::CONTENT_TYPE => p.content_type = None,
        id::RESPONSE_TOPIC => p.response_topic = None,
        id::CORRELATION_DATA => p.correlation_data = None,
        id::SUBSCRIPTION_IDENTIFIER => p.subscription_identifiers.clear(),
        id::SESSION_EXPIRY_INTERVAL => p.session_expiry_interval = None,
        id::ASSIGNED_CLIENT_IDENTIFIER => p.assigned_client_identifier = None,
        id::SERVER_KEEP_ALIVE => p.server_keep_alive = None,
        id::AUTHENTICATION_METHOD => p.authentication_method = None,
        id::AUTHENTICATION_DATA => p.authentication_data = None,
        id::REQUEST_PROBLEM_INFORMATION => p.request_problem_information = None,
        id::WILL_DELAY_INTERVAL => p.will_delay_interval = None,
        id::REQUEST_RESPONSE_INFORMATION => p.request_response_information = None,
        id::RESPONSE_INFORMATION => p.response_information = None,
        id::SERVER_REFERENCE => p.server_reference = None,
        id::REASON_STRING => p.reason_string = None,
        id::RECEIVE_MAXIMUM => p.receive_maximum = None,
        id::TOPIC_ALIAS_MAXIMUM => p.topic_alias_maximum = None,
        id::TOPIC_ALIAS => p.topic_alias = None,
        id::MAXIMUM_QOS => p.maximum_qos = None,
        id::RETAIN_AVAILABLE => p.retain_available = None,
        id::USER_PROPERTY => p.user_properties.clear(),
        id::MAXIMUM_PACKET_SIZE => p.maximum_packet_size = None,
        id::WILDCARD_SUBSCRIPTION_AVAILABLE => p.wildcard_subscription_available = None,
        id::SUBSCRIPTION_IDENTIFIER_AVAILABLE => p.subscription_identifier_available = None,
        id::SHARED_SUBSCRIPTION_AVAILABLE => p.shared_subscription_available = None,
        other => panic!("unknown property {other}"),
    }
}

/// Properties at `level`: empty before 5.0.
fn props(level: ProtocolLevel, ctx: PropertyContext) -> BoxedStrategy<Properties> {
    if level.is_v5() {
        properties(ctx).boxed()
    } else {
        Just(Properties::default()).boxed()
    }
}

fn code(level: ProtocolLevel, packet: PacketType) -> BoxedStrategy<ReasonCode> {
    if level.is_v5() {
        reason(packet).boxed()
    } else {
        Just(ReasonCode::Success).boxed()
    }
}

fn connect(level: ProtocolLevel) -> impl Strategy<Value = Packet> {
    let will = (
        topic_name(),
        bytes(16),
        qos(),
        any::<bool>(),
        props(level, PropertyContext::Will),
    )
        .prop_map(|(topic, payload, qos, retain, properties)| Will {
            topic,
            payload,
            qos,
            retain,
            properties,
        });
    (
        any::<bool>(),
        any::<u16>(),
        text(),
        option::of(will),
        option::of(text()),
        option::of(bytes(8)),
        props(level, PropertyContext::Connect),
    )
        .prop_map(
            move |(clean_start, keep_alive, client_id, will, username, password, properties)| {
                // Before 5.0 a password needs a user name.
                let username = match (&username, &password, level.is_v5()) {
                    (None, Some(_), false) => Some("u".to_string()),
                    _ => username,
                };
                Packet::Connect(Box::new(Connect {
                    level,
                    clean_start,
                    keep_alive,
                    client_id,
                    will,
                    username,
                    password,
                    properties,
                }))
            },
        )
}

fn connack(level: ProtocolLevel) -> impl Strategy<Value = Packet> {
    let code = if level.is_v5() {
        reason(PacketType::ConnAck).boxed()
    } else {
        proptest::sample::select(
            (0..=5u8)
                .map(|c| {
                    warren_mqtt::ConnectReturnCode::from_u8(c)
                        .unwrap()
                        .reason_code()
                })
                .collect::<Vec<_>>(),
        )
        .boxed()
    };
    (any::<bool>(), code, props(level, PropertyContext::ConnAck)).prop_map(
        |(session_present, reason_code, properties)| {
            Packet::ConnAck(ConnAck {
                session_present,
                reason_code,
                properties,
            })
        },
    )
}

fn publish(level: ProtocolLevel) -> impl Strategy<Value = Packet> {
    (
        qos(),
        any::<bool>(),
        any::<bool>(),
        topic_name(),
        pid(),
        props(level, PropertyContext::Publish),
        bytes(64),
    )
        .prop_map(|(qos, dup, retain, topic, pid, properties, payload)| {
            let at_least_once = qos != QoS::AtMostOnce;
            Packet::Publish(Publish {
                dup: dup && at_least_once,
                qos,
                retain,
                topic,
                packet_id: at_least_once.then_some(pid),
                properties,
                payload,
            })
        })
}

fn puback(level: ProtocolLevel, packet: PacketType) -> impl Strategy<Value = Packet> {
    (
        pid(),
        code(level, packet),
        props(level, PropertyContext::PubAck),
    )
        .prop_map(move |(packet_id, reason_code, properties)| {
            let ack = PubAck {
                packet_id,
                reason_code,
                properties,
            };
            match packet {
                PacketType::PubAck => Packet::PubAck(ack),
                PacketType::PubRec => Packet::PubRec(ack),
                PacketType::PubRel => Packet::PubRel(ack),
                _ => Packet::PubComp(ack),
            }
        })
}

fn options(level: ProtocolLevel) -> BoxedStrategy<SubscriptionOptions> {
    if level.is_v5() {
        (
            qos(),
            any::<bool>(),
            any::<bool>(),
            prop_oneof![
                Just(RetainHandling::SendAtSubscribe),
                Just(RetainHandling::SendAtSubscribeIfNew),
                Just(RetainHandling::DoNotSend)
            ],
        )
            .prop_map(
                |(qos, no_local, retain_as_published, retain_handling)| SubscriptionOptions {
                    qos,
                    no_local,
                    retain_as_published,
                    retain_handling,
                },
            )
            .boxed()
    } else {
        qos()
            .prop_map(|qos| SubscriptionOptions {
                qos,
                ..SubscriptionOptions::default()
            })
            .boxed()
    }
}

fn subscribe(level: ProtocolLevel) -> impl Strategy<Value = Packet> {
    let sub =
        (filter(), options(level)).prop_map(|(filter, options)| Subscription { filter, options });
    (
        pid(),
        props(level, PropertyContext::Subscribe),
        vec(sub, 1..4),
    )
        .prop_map(|(packet_id, properties, subscriptions)| {
            Packet::Subscribe(Subscribe {
                packet_id,
                properties,
                subscriptions,
            })
        })
}

fn suback(level: ProtocolLevel) -> impl Strategy<Value = Packet> {
    let codes = if level.is_v5() {
        reason(PacketType::SubAck).boxed()
    } else {
        proptest::sample::select(vec![
            ReasonCode::Success,
            ReasonCode::GrantedQos1,
            ReasonCode::GrantedQos2,
            ReasonCode::UnspecifiedError,
        ])
        .boxed()
    };
    (
        pid(),
        props(level, PropertyContext::SubAck),
        vec(codes, 1..4),
    )
        .prop_map(|(packet_id, properties, reason_codes)| {
            Packet::SubAck(SubAck {
                packet_id,
                properties,
                reason_codes,
            })
        })
}

fn unsubscribe(level: ProtocolLevel) -> impl Strategy<Value = Packet> {
    (
        pid(),
        props(level, PropertyContext::Unsubscribe),
        vec(filter(), 1..4),
    )
        .prop_map(|(packet_id, properties, filters)| {
            Packet::Unsubscribe(Unsubscribe {
                packet_id,
                properties,
                filters,
            })
        })
}

fn unsuback(level: ProtocolLevel) -> impl Strategy<Value = Packet> {
    let n = if level.is_v5() { 1..4 } else { 0..1 };
    (
        pid(),
        props(level, PropertyContext::UnsubAck),
        vec(reason(PacketType::UnsubAck), n),
    )
        .prop_map(|(packet_id, properties, reason_codes)| {
            Packet::UnsubAck(UnsubAck {
                packet_id,
                properties,
                reason_codes,
            })
        })
}

fn disconnect(level: ProtocolLevel) -> impl Strategy<Value = Packet> {
    (
        code(level, PacketType::Disconnect),
        props(level, PropertyContext::Disconnect),
    )
        .prop_map(|(reason_code, properties)| {
            Packet::Disconnect(Disconnect {
                reason_code,
                properties,
            })
        })
}

fn auth() -> impl Strategy<Value = Packet> {
    (reason(PacketType::Auth), properties(PropertyContext::Auth)).prop_map(
        |(reason_code, properties)| {
            Packet::Auth(Auth {
                reason_code,
                properties,
            })
        },
    )
}

/// Every packet type `level` has.
fn packet(level: ProtocolLevel) -> BoxedStrategy<Packet> {
    let common = prop_oneof![
        connect(level),
        connack(level),
        publish(level),
        puback(level, PacketType::PubAck),
        puback(level, PacketType::PubRec),
        puback(level, PacketType::PubRel),
        puback(level, PacketType::PubComp),
        subscribe(level),
        suback(level),
        unsubscribe(level),
        unsuback(level),
        Just(Packet::PingReq),
        Just(Packet::PingResp),
        disconnect(level),
    ];
    if level.is_v5() {
        prop_oneof![14 => common, 1 => auth()].boxed()
    } else {
        common.boxed()
    }
}

fn level_and_packet() -> impl Strategy<Value = (ProtocolLevel, Packet)> {
    proptest::sample::select(LEVELS.to_vec()).prop_flat_map(|level| (Just(level), packet(level)))
}

fn level_and_packets() -> impl Strategy<Value = (ProtocolLevel, Vec<Packet>)> {
    proptest::sample::select(LEVELS.to_vec())
        .prop_flat_map(|level| (Just(level), vec(packet(level), 1..6)))
}

fn encode(level: ProtocolLevel, packet: &Packet) -> BytesMut {
    let mut buf = BytesMut::new();
    let written = packet.encode(level, &mut buf).unwrap();
    assert_eq!(written, buf.len());
    assert_eq!(packet.encoded_len(level).unwrap(), written);
    buf
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn round_trip((level, packet) in level_and_packet()) {
        let mut buf = encode(level, &packet);
        let decoded = Decoder::with_level(level).decode(&mut buf).unwrap();
        prop_assert_eq!(decoded, Some(packet));
        prop_assert!(buf.is_empty());
    }

    #[test]
    fn strict_prefix_is_incomplete((level, packet) in level_and_packet()) {
        let bytes = encode(level, &packet);
        let mut decoder = Decoder::with_level(level);
        for len in 0..bytes.len() {
            let mut prefix = BytesMut::from(&bytes[..len]);
            prop_assert_eq!(decoder.decode(&mut prefix), Ok(None), "prefix of {} bytes", len);
            prop_assert_eq!(prefix.len(), len, "a partial packet was consumed");
        }
    }

    #[test]
    fn chunking_does_not_matter(
        (level, packets) in level_and_packets(),
        cuts in vec(1usize..40, 1..64),
    ) {
        let mut stream = BytesMut::new();
        for p in &packets {
            stream.extend_from_slice(&encode(level, p));
        }
        let mut decoder = Decoder::with_level(level);
        let mut buf = BytesMut::new();
        let mut got = Vec::new();
        let mut rest = &stream[..];
        let mut i = 0;
        while !rest.is_empty() {
            let n = cuts[i % cuts.len()].min(rest.len());
            i += 1;
            buf.extend_from_slice(&rest[..n]);
            rest = &rest[n..];
            while let Some(p) = decoder.decode(&mut buf).unwrap() {
                got.push(p);
            }
        }
        prop_assert!(buf.is_empty());
        prop_assert_eq!(got, packets);
    }

    #[test]
    fn arbitrary_bytes_never_panic(data in vec(any::<u8>(), 0..256), mode in 0u8..4) {
        let level = match mode {
            0 => None,
            1 => Some(ProtocolLevel::V3_1),
            2 => Some(ProtocolLevel::V3_1_1),
            _ => Some(ProtocolLevel::V5),
        };
        // Decodes, and re-encodes and decodes again whatever decoded.
        warren_mqtt::fuzzing::decode_at(level, &data);
    }

    #[test]
    fn arbitrary_bytes_after_a_valid_header_never_panic(
        (level, packet) in level_and_packet(),
        garbage in vec(any::<u8>(), 0..64),
        at in any::<prop::sample::Index>(),
    ) {
        // Keep a real fixed header and packet type, corrupt the body: deeper code paths.
        let mut bytes = encode(level, &packet).to_vec();
        let start = at.index(bytes.len());
        bytes.truncate(start.max(2));
        bytes.extend_from_slice(&garbage);
        warren_mqtt::fuzzing::decode_at(Some(level), &bytes);
        let mut seeded = vec![(level as u8) - 2, 1, 7];
        seeded.extend_from_slice(&bytes);
        warren_mqtt::fuzzing::decode_chunked(&seeded);
    }
}

#[test]
fn strategies_cover_every_packet_type() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    for level in LEVELS {
        let mut seen = std::collections::HashSet::new();
        let strategy = packet(level);
        for _ in 0..2000 {
            seen.insert(
                strategy
                    .new_tree(&mut runner)
                    .unwrap()
                    .current()
                    .packet_type(),
            );
        }
        let expected = if level.is_v5() { 15 } else { 14 };
        assert_eq!(seen.len(), expected, "{level}: {seen:?}");
    }
}
