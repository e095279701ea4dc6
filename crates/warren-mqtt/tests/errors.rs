#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // tests: a panic is the failure report
//! Malformed input: each rule the decoder enforces, the error it gives, and the reply a broker
//! sends for it; and the packets the encoder refuses.

use bytes::{Bytes, BytesMut};
use warren_mqtt::{
    Auth, ConnectReturnCode, DecodeError, Decoder, EncodeError, Packet, PacketId, PacketType,
    Properties, PropertyContext, ProtocolLevel, PubAck, Publish, QoS, ReasonCode,
};

fn decode(level: Option<ProtocolLevel>, bytes: &[u8]) -> Result<Option<Packet>, DecodeError> {
    let mut d = level.map_or_else(Decoder::new, Decoder::with_level);
    d.decode(&mut BytesMut::from(bytes))
}

fn err(level: ProtocolLevel, bytes: &[u8]) -> DecodeError {
    decode(Some(level), bytes).unwrap_err()
}

const V4: ProtocolLevel = ProtocolLevel::V3_1_1;
const V5: ProtocolLevel = ProtocolLevel::V5;

#[test]
fn packet_too_large_is_refused_from_the_fixed_header() {
    let mut d = Decoder::with_level(V5);
    d.set_max_packet_size(1024);
    // Only the fixed header of a 2 MB PUBLISH has arrived.
    let mut buf = BytesMut::from(&b"\x30\x80\x80\x80\x01"[..]);
    let e = d.decode(&mut buf).unwrap_err();
    assert_eq!(
        e,
        DecodeError::PacketTooLarge {
            size: 5 + 2_097_152,
            max: 1024
        }
    );
    assert_eq!(e.reason_code(), ReasonCode::PacketTooLarge);
    assert_eq!(e.reason_code().as_u8(), 0x95);
    assert_eq!(d.peek_packet_len(b"\x30\x05"), Ok(Some(7)));
}

#[test]
fn fixed_header_rules() {
    assert_eq!(
        err(V4, b"\x30\xff\xff\xff\xff\x01"),
        DecodeError::MalformedVarint {
            field: "Remaining Length"
        }
    );
    assert_eq!(err(V4, b"\x00\x00"), DecodeError::ReservedPacketType);
    assert_eq!(
        err(V4, b"\x80\x06\x00\x01\x00\x01a\x00"),
        DecodeError::InvalidFlags {
            packet: PacketType::Subscribe,
            flags: 0,
            expected: 2
        }
    );
    assert_eq!(
        err(V4, b"\xc1\x00"),
        DecodeError::InvalidFlags {
            packet: PacketType::PingReq,
            flags: 1,
            expected: 0
        }
    );
    assert_eq!(
        err(V4, b"\xf0\x00"),
        DecodeError::PacketNotInLevel {
            packet: PacketType::Auth,
            level: V4
        }
    );
    assert_eq!(
        err(V4, b"\xc0\x01\x00").reason_code(),
        ReasonCode::MalformedPacket
    );
    assert!(matches!(
        err(V4, b"\xc0\x01\x00"),
        DecodeError::TrailingBytes { extra: 1, .. }
    ));
}

#[test]
fn only_connect_before_the_level_is_known() {
    let e = decode(None, b"\x30\x03\x00\x01a").unwrap_err();
    assert_eq!(
        e,
        DecodeError::ConnectExpected {
            packet: PacketType::Publish
        }
    );
    assert_eq!(e.reason_code(), ReasonCode::ProtocolError);
}

#[test]
fn publish_rules() {
    assert_eq!(
        err(V4, b"\x36\x05\x00\x01a\x00\x01"),
        DecodeError::InvalidQos {
            field: "PUBLISH flags"
        }
    );
    assert_eq!(err(V4, b"\x38\x03\x00\x01a"), DecodeError::DupAtQos0);
    assert_eq!(
        err(V4, b"\x32\x05\x00\x01a\x00\x00"),
        DecodeError::ZeroPacketId {
            packet: PacketType::Publish
        }
    );
    let e = err(V5, b"\x30\x04\x00\x01+\x00");
    assert!(matches!(e, DecodeError::InvalidTopicName(_)));
    assert_eq!(e.reason_code(), ReasonCode::TopicNameInvalid);
    assert!(matches!(
        err(V4, b"\x30\x02\x00\x00"),
        DecodeError::InvalidTopicName(_)
    ));
    // 5.0: an empty topic name is fine with a topic alias.
    let Some(Packet::Publish(p)) = decode(Some(V5), b"\x30\x06\x00\x00\x03\x23\x00\x01").unwrap()
    else {
        panic!()
    };
    assert_eq!((p.topic.as_str(), p.properties.topic_alias), ("", Some(1)));
    assert_eq!(
        err(V4, b"\x30\x04\x00\x02\xc3\x28"),
        DecodeError::InvalidUtf8 {
            field: "topic name"
        }
    );
    assert_eq!(
        err(V4, b"\x30\x04\x00\x02a\x00"),
        DecodeError::NullCharacter {
            field: "topic name"
        }
    );
    assert_eq!(
        err(V4, b"\x30\x03\x00\x05a"),
        DecodeError::Truncated {
            field: "topic name"
        }
    );
}

#[test]
fn connect_rules() {
    // Wrong protocol name for the level: 0x84 in 5.0, return code 1 in 3.1.1.
    let e = decode(None, b"\x10\x0c\x00\x04MQTT\x03\x02\x00\x3c\x00\x00").unwrap_err();
    assert_eq!(
        e,
        DecodeError::UnsupportedProtocol {
            name: Bytes::from_static(b"MQTT"),
            level: 3
        }
    );
    assert_eq!(e.reason_code(), ReasonCode::UnsupportedProtocolVersion);
    assert_eq!(
        e.connack_return_code(),
        Some(ConnectReturnCode::UnacceptableProtocolVersion)
    );
    let e = decode(None, b"\x10\x0c\x00\x04MQTT\x06\x02\x00\x3c\x00\x00").unwrap_err();
    assert!(matches!(
        e,
        DecodeError::UnsupportedProtocol { level: 6, .. }
    ));
    // Reserved flag bit.
    let e = decode(None, b"\x10\x0c\x00\x04MQTT\x04\x03\x00\x3c\x00\x00").unwrap_err();
    assert!(matches!(
        e,
        DecodeError::InvalidConnectFlags { flags: 3, .. }
    ));
    assert_eq!(e.connack_return_code(), None);
    // Will QoS without the will flag.
    let e = decode(None, b"\x10\x0c\x00\x04MQTT\x04\x0a\x00\x3c\x00\x00").unwrap_err();
    assert!(matches!(e, DecodeError::InvalidConnectFlags { .. }));
    // Password without user name: an error at 3.1.1, allowed at 5.0.
    let e = decode(
        None,
        b"\x10\x0e\x00\x04MQTT\x04\x42\x00\x3c\x00\x00\x00\x00",
    )
    .unwrap_err();
    assert!(matches!(e, DecodeError::InvalidConnectFlags { .. }));
    let ok = decode(
        None,
        b"\x10\x0f\x00\x04MQTT\x05\x42\x00\x3c\x00\x00\x00\x00\x00",
    )
    .unwrap();
    let Some(Packet::Connect(c)) = ok else {
        panic!()
    };
    assert_eq!(c.password, Some(Bytes::new()));
    assert_eq!(c.username, None);
    // Will QoS 3.
    let e = decode(None, b"\x10\x0c\x00\x04MQTT\x04\x1e\x00\x3c\x00\x00").unwrap_err();
    assert_eq!(e, DecodeError::InvalidQos { field: "will QoS" });
}

#[test]
fn property_rules() {
    // Unknown identifier, not allowed in the packet, duplicated, bad value.
    assert_eq!(
        err(V5, b"\xe0\x03\x00\x01\x7f"),
        DecodeError::UnknownProperty(0x7f)
    );
    assert_eq!(
        err(V5, b"\xe0\x04\x00\x02\x23\x00"),
        DecodeError::PropertyNotAllowed {
            property: 0x23,
            context: PropertyContext::Disconnect
        }
    );
    let e = err(
        V5,
        b"\xe0\x0c\x00\x0a\x11\x00\x00\x00\x01\x11\x00\x00\x00\x02",
    );
    assert_eq!(e, DecodeError::DuplicateProperty { property: 0x11 });
    assert_eq!(e.reason_code(), ReasonCode::ProtocolError);
    let e = err(V5, b"\x30\x07\x00\x01a\x02\x01\x02x");
    assert_eq!(
        e,
        DecodeError::InvalidPropertyValue {
            property: 0x01,
            value: 2
        }
    );
    // Two subscription identifiers are fine in PUBLISH, not in SUBSCRIBE.
    let Some(Packet::Publish(p)) =
        decode(Some(V5), b"\x30\x08\x00\x01a\x04\x0b\x01\x0b\x02").unwrap()
    else {
        panic!()
    };
    assert_eq!(p.properties.subscription_identifiers, [1, 2]);
    assert_eq!(
        err(V5, b"\x82\x0b\x00\x01\x04\x0b\x01\x0b\x02\x00\x01a\x00"),
        DecodeError::DuplicateProperty { property: 0x0b }
    );
    // A property block longer than the packet.
    assert_eq!(
        err(V5, b"\xe0\x03\x00\x05\x11"),
        DecodeError::Truncated {
            field: "properties"
        }
    );
}

#[test]
fn subscribe_and_ack_rules() {
    let e = err(V5, b"\x82\x03\x00\x01\x00");
    assert_eq!(
        e,
        DecodeError::EmptyPayload {
            packet: PacketType::Subscribe
        }
    );
    assert_eq!(e.reason_code(), ReasonCode::ProtocolError);
    assert_eq!(
        err(V4, b"\x82\x06\x00\x01\x00\x01a\x04"),
        DecodeError::InvalidSubscriptionOptions(4)
    );
    let e = err(V5, b"\x82\x07\x00\x01\x00\x00\x01a\x30");
    assert_eq!(e, DecodeError::InvalidRetainHandling(0x30));
    assert_eq!(e.reason_code(), ReasonCode::ProtocolError);
    assert_eq!(
        err(V5, b"\x82\x07\x00\x01\x00\x00\x01a\x40"),
        DecodeError::InvalidSubscriptionOptions(0x40)
    );
    assert_eq!(
        err(V4, b"\x90\x03\x00\x01\x03"),
        DecodeError::InvalidReasonCode {
            packet: PacketType::SubAck,
            code: 3
        }
    );
    // 0x10 is a PUBACK code, not a PUBCOMP one.
    assert_eq!(
        err(V5, b"\x70\x03\x00\x01\x10"),
        DecodeError::InvalidReasonCode {
            packet: PacketType::PubComp,
            code: 0x10
        }
    );
    assert_eq!(
        err(V4, b"\x40\x02\x00\x00"),
        DecodeError::ZeroPacketId {
            packet: PacketType::PubAck
        }
    );
    assert_eq!(
        err(V4, b"\x20\x02\x02\x00"),
        DecodeError::InvalidConnAckFlags(2)
    );
    assert_eq!(
        err(V4, b"\x20\x02\x00\x06"),
        DecodeError::InvalidReasonCode {
            packet: PacketType::ConnAck,
            code: 6
        }
    );
}

#[test]
fn v5_short_forms() {
    // PUBACK with only a packet id, DISCONNECT with nothing or only a reason code.
    let Some(Packet::PubAck(a)) = decode(Some(V5), b"\x40\x02\x00\x07").unwrap() else {
        panic!()
    };
    assert_eq!((a.packet_id.get(), a.reason_code), (7, ReasonCode::Success));
    let Some(Packet::Disconnect(d)) = decode(Some(V5), b"\xe0\x01\x8e").unwrap() else {
        panic!()
    };
    assert_eq!(d.reason_code, ReasonCode::SessionTakenOver);
    // A long form of a success PUBACK decodes too (and re-encodes in the short form).
    let Some(p) = decode(Some(V5), b"\x40\x04\x00\x07\x00\x00").unwrap() else {
        panic!()
    };
    let mut out = BytesMut::new();
    p.encode(V5, &mut out).unwrap();
    assert_eq!(&out[..], b"\x40\x02\x00\x07");
}

#[test]
fn encoder_refusals() {
    let mut buf = BytesMut::new();
    let publish = |qos, packet_id: Option<u16>| {
        Packet::Publish(Publish {
            dup: false,
            qos,
            retain: false,
            topic: "t".into(),
            packet_id: packet_id.and_then(PacketId::new),
            properties: Properties::default(),
            payload: Bytes::new(),
        })
    };
    assert!(matches!(
        publish(QoS::AtLeastOnce, None).encode(V4, &mut buf),
        Err(EncodeError::PacketIdMismatch { .. })
    ));
    assert!(matches!(
        publish(QoS::AtMostOnce, Some(1)).encode(V4, &mut buf),
        Err(EncodeError::PacketIdMismatch { .. })
    ));
    let Packet::Publish(mut long) = publish(QoS::AtMostOnce, None) else {
        panic!()
    };
    long.topic = "x".repeat(70_000);
    assert!(matches!(
        Packet::Publish(long).encode(V4, &mut buf),
        Err(EncodeError::FieldTooLong { len: 70_000, .. })
    ));
    let Packet::Publish(mut with_props) = publish(QoS::AtMostOnce, None) else {
        panic!()
    };
    with_props.properties.session_expiry_interval = Some(1);
    let with_props = Packet::Publish(with_props);
    assert_eq!(
        with_props.encode(V5, &mut buf),
        Err(EncodeError::PropertyNotAllowed {
            property: 0x11,
            context: PropertyContext::Publish
        })
    );
    // At 3.1.1 properties are not sent at all.
    assert_eq!(with_props.encode(V4, &mut buf), Ok(5));
    let ack = Packet::PubComp(PubAck {
        reason_code: ReasonCode::Banned,
        ..PubAck::new(PacketId::new(1).unwrap())
    });
    assert!(matches!(
        ack.encode(V5, &mut buf),
        Err(EncodeError::ReasonCodeNotAllowed { .. })
    ));
    assert!(matches!(
        Packet::Auth(Auth::default()).encode(V4, &mut buf),
        Err(EncodeError::PacketNotInLevel { .. })
    ));
    assert_eq!(
        &buf[..],
        b"\x30\x03\x00\x01t",
        "failed encodes write nothing"
    );
}

#[test]
fn connack_codes_map_between_levels() {
    for code in 0..=5u8 {
        let rc = ConnectReturnCode::from_u8(code).unwrap();
        assert_eq!(ConnectReturnCode::from(rc.reason_code()), rc);
    }
    assert_eq!(
        ConnectReturnCode::from(ReasonCode::Banned),
        ConnectReturnCode::NotAuthorized
    );
    assert_eq!(
        ConnectReturnCode::from(ReasonCode::MalformedPacket),
        ConnectReturnCode::ServerUnavailable
    );
    for code in ReasonCode::ALL {
        assert_eq!(ReasonCode::from_u8(code.as_u8()), Some(*code));
    }
    assert_eq!(ReasonCode::ALL.len(), 43);
}
