//! Sans-IO codec for MQTT 3.1, 3.1.1 and 5.0.
//!
//! `warren-mqtt` turns bytes into typed MQTT control packets and back: every packet type
//! (CONNECT … DISCONNECT, and AUTH for 5.0), every 5.0 property and reason code, and the topic
//! name / filter rules. It is the codec under Warren's MQTT front, and stands on its own for any
//! Rust program that reads or writes MQTT: clients, brokers, proxies, sniffers.
//!
//! What it is **not**: it opens no sockets, reads no clock and keeps no session state (packet
//! identifiers in flight, topic aliases, keep-alive timers, retained messages are the caller's
//! business). It checks what one packet can check on its own: lengths, reserved flags, QoS 3,
//! non-zero packet identifiers, UTF-8 rules, property placement and duplication, reason codes
//! per packet. The core has no tokio; the `tokio` feature adds `MqttCodec`, a tokio-util
//! `Decoder`/`Encoder`.
//!
//! # Reading and writing
//!
//! A [`Decoder`] takes whole packets off the front of a `BytesMut`. `Ok(None)` means "need more
//! bytes" and consumes nothing; an `Err` means the bytes can never be valid, and maps to the
//! reply a server sends ([`DecodeError::reason_code`] for 5.0, [`DecodeError::connack_return_code`]
//! for 3.x). The decoder does not know the protocol level until told: only CONNECT decodes before
//! [`Decoder::set_level`]. The maximum packet size is checked from the fixed header, before the
//! body is buffered. Payloads are `Bytes` slices of the read buffer, not copies.
//!
//! [`Packet::encode`] appends a packet to a `BytesMut` as a given level speaks it.
//!
//! ```
//! use bytes::{Bytes, BytesMut};
//! use warren_mqtt::{Decoder, Packet, ProtocolLevel, Publish, QoS, PacketId, Properties};
//!
//! // A client's CONNECT (MQTT 3.1.1, client id "car-42") and a QoS 1 PUBLISH, as read from a socket.
//! let mut wire = BytesMut::from(&b"\x10\x12\x00\x04MQTT\x04\x02\x00\x3c\x00\x06car-42"[..]);
//! let publish = Packet::Publish(Publish {
//!     dup: false,
//!     qos: QoS::AtLeastOnce,
//!     retain: false,
//!     topic: "car2home/car-42/battery".into(),
//!     packet_id: PacketId::new(7),
//!     properties: Properties::default(),
//!     payload: Bytes::from_static(b"{\"soc\":81}"),
//! });
//! publish.encode(ProtocolLevel::V3_1_1, &mut wire)?;
//!
//! let mut decoder = Decoder::new();
//! decoder.set_max_packet_size(64 * 1024);
//! let Some(Packet::Connect(connect)) = decoder.decode(&mut wire)? else { panic!("CONNECT first") };
//! assert_eq!(connect.client_id, "car-42");
//! decoder.set_level(connect.level); // the server accepted the level
//! assert_eq!(decoder.decode(&mut wire)?, Some(publish));
//! assert_eq!(decoder.decode(&mut wire)?, None); // buffer drained: need more bytes
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Features
//!
//! - `tokio`: `MqttCodec`, a `tokio_util::codec::{Decoder, Encoder}` for `Framed` streams.
//! - `fuzzing`: `pub mod fuzzing`, the bodies of the fuzz targets in the workspace's `fuzz/`.
#![warn(clippy::indexing_slicing)]

#[cfg(feature = "tokio")]
mod codec;
mod decode;
mod encode;
mod error;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
mod packet;
mod properties;
mod read;
mod reason;
pub mod topic;

#[cfg(feature = "tokio")]
pub use codec::{CodecError, MqttCodec};
pub use decode::{Decoder, FixedHeader, MAX_PACKET_SIZE};
pub use error::{DecodeError, EncodeError};
pub use packet::{
    Auth, ConnAck, Connect, Disconnect, Packet, PacketId, PacketType, ProtocolLevel, PubAck,
    PubComp, PubRec, PubRel, Publish, QoS, RetainHandling, SubAck, Subscribe, Subscription,
    SubscriptionOptions, UnsubAck, Unsubscribe, Will,
};
pub use properties::{allowed_contexts, id as property_id, Properties, PropertyContext, WireOrder};
pub use reason::{ConnectReturnCode, ReasonCode};
