#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // tests: a panic is the failure report
//! The optional features: the tokio-util adapter and the fuzzing entry points.

use bytes::{Bytes, BytesMut};
use tokio_util::codec::{Decoder as _, Encoder as _};
use warren_mqtt::{
    CodecError, Connect, DecodeError, EncodeError, MqttCodec, Packet, PacketId, Properties,
    ProtocolLevel, Publish, QoS,
};

fn connect(level: ProtocolLevel) -> Packet {
    Packet::Connect(Box::new(Connect {
        level,
        clean_start: true,
        keep_alive: 60,
        client_id: "c".into(),
        will: None,
        username: None,
        password: None,
        properties: Properties::default(),
    }))
}

#[test]
fn codec_client_and_server_sides() {
    let mut client = MqttCodec::new();
    let mut server = MqttCodec::new();
    let mut wire = BytesMut::new();
    let publish = Packet::Publish(Publish {
        dup: false,
        qos: QoS::ExactlyOnce,
        retain: true,
        topic: "t".into(),
        packet_id: PacketId::new(9),
        properties: Properties {
            message_expiry_interval: Some(5),
            ..Properties::default()
        },
        payload: Bytes::from_static(b"x"),
    });
    // Before CONNECT the client cannot encode other packets.
    assert!(matches!(
        client.encode(&publish, &mut wire),
        Err(CodecError::Encode(EncodeError::LevelUnknown { .. }))
    ));
    client
        .encode(connect(ProtocolLevel::V5), &mut wire)
        .unwrap();
    assert_eq!(client.decoder().level(), Some(ProtocolLevel::V5));
    client.encode(&publish, &mut wire).unwrap();

    let mut partial = wire.split_to(3);
    assert_eq!(server.decode(&mut partial).unwrap(), None);
    partial.unsplit(wire);
    let mut wire = partial;
    let Some(Packet::Connect(c)) = server.decode(&mut wire).unwrap() else {
        panic!()
    };
    // The server has not accepted a level yet: the PUBLISH is refused.
    let mut copy = wire.clone();
    assert!(matches!(
        server.decode(&mut copy),
        Err(CodecError::Decode(DecodeError::ConnectExpected { .. }))
    ));
    server.set_level(c.level);
    assert_eq!(server.decode(&mut wire).unwrap(), Some(publish));
    assert_eq!(server.decode(&mut wire).unwrap(), None);
}

#[test]
fn codec_reserves_and_rejects_large_packets() {
    let mut codec = MqttCodec::new();
    codec.set_level(ProtocolLevel::V3_1_1);
    codec.decoder_mut().set_max_packet_size(100);
    let mut buf = BytesMut::from(&b"\x30\x40"[..]);
    assert_eq!(codec.decode(&mut buf).unwrap(), None);
    assert!(buf.capacity() >= 0x42);
    let mut big = BytesMut::from(&b"\x30\xff\x01"[..]);
    assert!(matches!(
        codec.decode(&mut big),
        Err(CodecError::Decode(DecodeError::PacketTooLarge {
            size: 258,
            max: 100
        }))
    ));
}

#[test]
fn fuzz_entry_points_accept_anything() {
    warren_mqtt::fuzzing::decode_chunked(&[]);
    warren_mqtt::fuzzing::decode_chunked(&[0, 3, 1, 2, 3, 0x10, 0x0c, 0, 4, b'M']);
    let mut connect_bytes = BytesMut::new();
    connect(ProtocolLevel::V3_1_1)
        .encode(ProtocolLevel::V3_1_1, &mut connect_bytes)
        .unwrap();
    let mut input = vec![0u8, 2, 1, 5];
    input.extend_from_slice(&connect_bytes);
    input.extend_from_slice(b"\xc0\x00\xe0\x00");
    warren_mqtt::fuzzing::decode_chunked(&input);
    warren_mqtt::fuzzing::decode_at(None, &connect_bytes);
    warren_mqtt::fuzzing::decode_at(Some(ProtocolLevel::V5), b"\xe0\x02\x04\x00");
}

#[test]
fn packet_sizes_stay_reasonable() {
    // Packets are moved by value out of the decoder; keep an eye on their size.
    let packet = std::mem::size_of::<Packet>();
    let properties = std::mem::size_of::<Properties>();
    eprintln!("size_of Packet = {packet}, Properties = {properties}");
    assert!(packet <= properties + 128, "{packet} vs {properties}");
}
