//! The streaming decoder: fixed header first (size checked before buffering), then the packet
//! body as the protocol level reads it.

use bytes::{Buf, Bytes, BytesMut};

use crate::error::DecodeError;
use crate::packet::{
    Auth, ConnAck, Connect, Disconnect, Packet, PacketId, PacketType, ProtocolLevel, PubAck,
    Publish, QoS, RetainHandling, SubAck, Subscribe, Subscription, SubscriptionOptions, UnsubAck,
    Unsubscribe, Will,
};
use crate::properties::{Properties, PropertyContext};
use crate::read::Reader;
use crate::reason::{ConnectReturnCode, ReasonCode};
use crate::topic;

/// The largest packet MQTT can express: 1 type byte, 4 length bytes, 268,435,455 body bytes.
pub const MAX_PACKET_SIZE: u32 = 268_435_460;

/// A parsed fixed header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FixedHeader {
    /// The first byte: packet type (high nibble) and flags (low nibble).
    pub first_byte: u8,
    /// The Remaining Length (body size).
    pub remaining_length: u32,
    /// Bytes the fixed header itself takes (2 to 5).
    pub header_len: usize,
}

impl FixedHeader {
    /// Parses a fixed header from the front of `buf`: `Ok(None)` if more bytes are needed.
    pub fn parse(buf: &[u8]) -> Result<Option<Self>, DecodeError> {
        let Some(&first_byte) = buf.first() else {
            return Ok(None);
        };
        let mut value: u32 = 0;
        for (i, shift) in [0u32, 7, 14, 21].into_iter().enumerate() {
            let Some(&byte) = buf.get(i + 1) else {
                return Ok(None);
            };
            value |= u32::from(byte & 0x7F) << shift;
            if byte & 0x80 == 0 {
                return Ok(Some(Self {
                    first_byte,
                    remaining_length: value,
                    header_len: i + 2,
                }));
            }
        }
        Err(DecodeError::MalformedVarint {
            field: "Remaining Length",
        })
    }

    /// Size of the whole packet (header plus body).
    pub fn packet_len(&self) -> usize {
        self.header_len + self.remaining_length as usize
    }
}

/// Turns a byte stream into packets. Holds the protocol level (unknown until the connection's
/// CONNECT has been accepted: call [`Decoder::set_level`]) and the maximum packet size.
///
/// ```
/// use bytes::BytesMut;
/// use warren_mqtt::{Decoder, Packet, ProtocolLevel};
///
/// let mut decoder = Decoder::new();
/// let mut buf = BytesMut::from(&b"\x10\x11\x00\x04MQTT\x04\x02\x00\x3c\x00\x05warr"[..]);
/// assert_eq!(decoder.decode(&mut buf)?, None); // one byte short: need more
/// buf.extend_from_slice(b"n");
/// let Some(Packet::Connect(connect)) = decoder.decode(&mut buf)? else { unreachable!() };
/// assert_eq!(connect.client_id, "warrn");
/// decoder.set_level(connect.level);
/// assert_eq!(decoder.level(), Some(ProtocolLevel::V3_1_1));
/// # Ok::<(), warren_mqtt::DecodeError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Decoder {
    level: Option<ProtocolLevel>,
    max_packet_size: u32,
}

impl Default for Decoder {
    fn default() -> Self {
        Self::new()
    }
}

impl Decoder {
    /// A decoder with no protocol level yet (only CONNECT decodes) and the protocol's largest
    /// packet size as the maximum.
    pub fn new() -> Self {
        Self {
            level: None,
            max_packet_size: MAX_PACKET_SIZE,
        }
    }

    /// A decoder for an already known level (a client after sending CONNECT, a test, a sniffer).
    pub fn with_level(level: ProtocolLevel) -> Self {
        Self {
            level: Some(level),
            max_packet_size: MAX_PACKET_SIZE,
        }
    }

    /// Sets the protocol level every packet but CONNECT is read at.
    pub fn set_level(&mut self, level: ProtocolLevel) {
        self.level = Some(level);
    }

    /// The protocol level, if set.
    pub fn level(&self) -> Option<ProtocolLevel> {
        self.level
    }

    /// Sets the largest packet (fixed header included) accepted; larger ones fail with
    /// [`DecodeError::PacketTooLarge`] as soon as their fixed header is read.
    pub fn set_max_packet_size(&mut self, max: u32) {
        self.max_packet_size = max;
    }

    /// The largest packet accepted.
    pub fn max_packet_size(&self) -> u32 {
        self.max_packet_size
    }

    /// Checks the fixed header at the front of `buf` and returns the size of the packet it
    /// announces (`Ok(None)` until the header is complete). Lets a driver reserve buffer space.
    pub fn peek_packet_len(&self, buf: &[u8]) -> Result<Option<usize>, DecodeError> {
        let Some(header) = FixedHeader::parse(buf)? else {
            return Ok(None);
        };
        let size = header.packet_len();
        if size as u64 > u64::from(self.max_packet_size) {
            return Err(DecodeError::PacketTooLarge {
                size: size as u64,
                max: self.max_packet_size,
            });
        }
        Ok(Some(size))
    }

    /// Takes one whole packet off the front of `buf`: `Ok(None)` if `buf` holds only part of
    /// one (nothing is consumed), `Err` for bytes that can never become a valid packet.
    /// Payloads and binary fields are slices of `buf`'s memory, not copies.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Packet>, DecodeError> {
        let Some(header) = FixedHeader::parse(buf)? else {
            return Ok(None);
        };
        let size = header.packet_len();
        if size as u64 > u64::from(self.max_packet_size) {
            return Err(DecodeError::PacketTooLarge {
                size: size as u64,
                max: self.max_packet_size,
            });
        }
        if buf.len() < size {
            return Ok(None);
        }
        let mut packet = buf.split_to(size);
        packet.advance(header.header_len);
        decode_body(header.first_byte, packet.freeze(), self.level).map(Some)
    }
}

/// Decodes one packet body whose fixed header began with `first_byte`.
pub(crate) fn decode_body(
    first_byte: u8,
    body: Bytes,
    level: Option<ProtocolLevel>,
) -> Result<Packet, DecodeError> {
    let kind = PacketType::from_u8(first_byte >> 4).ok_or(DecodeError::ReservedPacketType)?;
    let flags = first_byte & 0x0F;
    if let Some(expected) = kind.required_flags() {
        if flags != expected {
            return Err(DecodeError::InvalidFlags {
                packet: kind,
                flags,
                expected,
            });
        }
    }
    let mut r = Reader::new(body);
    if kind == PacketType::Connect {
        return decode_connect(&mut r);
    }
    let Some(level) = level else {
        return Err(DecodeError::ConnectExpected { packet: kind });
    };
    let v5 = level.is_v5();
    let packet = match kind {
        PacketType::Connect => return decode_connect(&mut r),
        PacketType::ConnAck => {
            let ack_flags = r.u8("CONNACK acknowledge flags")?;
            if ack_flags & 0xFE != 0 {
                return Err(DecodeError::InvalidConnAckFlags(ack_flags));
            }
            let code = r.u8("CONNACK reason code")?;
            let reason_code = if v5 {
                reason(kind, code)?
            } else {
                ConnectReturnCode::from_u8(code)
                    .ok_or(DecodeError::InvalidReasonCode { packet: kind, code })?
                    .reason_code()
            };
            let properties = props(&mut r, v5, PropertyContext::ConnAck)?;
            Packet::ConnAck(ConnAck {
                session_present: ack_flags & 1 == 1,
                reason_code,
                properties,
            })
        }
        PacketType::Publish => Packet::Publish(decode_publish(flags, &mut r, v5)?),
        PacketType::PubAck => Packet::PubAck(decode_puback(kind, &mut r, v5)?),
        PacketType::PubRec => Packet::PubRec(decode_puback(kind, &mut r, v5)?),
        PacketType::PubRel => Packet::PubRel(decode_puback(kind, &mut r, v5)?),
        PacketType::PubComp => Packet::PubComp(decode_puback(kind, &mut r, v5)?),
        PacketType::Subscribe => {
            let packet_id = packet_id(kind, &mut r)?;
            let properties = props(&mut r, v5, PropertyContext::Subscribe)?;
            let mut subscriptions = Vec::new();
            while !r.is_empty() {
                let filter = r.string("topic filter")?;
                let byte = r.u8("subscription options")?;
                subscriptions.push(Subscription {
                    filter,
                    options: subscription_options(byte, v5)?,
                });
            }
            if subscriptions.is_empty() {
                return Err(DecodeError::EmptyPayload { packet: kind });
            }
            Packet::Subscribe(Subscribe {
                packet_id,
                properties,
                subscriptions,
            })
        }
        PacketType::SubAck => {
            let packet_id = packet_id(kind, &mut r)?;
            let properties = props(&mut r, v5, PropertyContext::SubAck)?;
            let mut reason_codes = Vec::with_capacity(r.remaining());
            while !r.is_empty() {
                let code = r.u8("SUBACK reason code")?;
                reason_codes.push(if v5 {
                    reason(kind, code)?
                } else {
                    match code {
                        0x00 | 0x01 | 0x02 | 0x80 => reason(kind, code)?,
                        _ => return Err(DecodeError::InvalidReasonCode { packet: kind, code }),
                    }
                });
            }
            if reason_codes.is_empty() {
                return Err(DecodeError::EmptyPayload { packet: kind });
            }
            Packet::SubAck(SubAck {
                packet_id,
                properties,
                reason_codes,
            })
        }
        PacketType::Unsubscribe => {
            let packet_id = packet_id(kind, &mut r)?;
            let properties = props(&mut r, v5, PropertyContext::Unsubscribe)?;
            let mut filters = Vec::new();
            while !r.is_empty() {
                filters.push(r.string("topic filter")?);
            }
            if filters.is_empty() {
                return Err(DecodeError::EmptyPayload { packet: kind });
            }
            Packet::Unsubscribe(Unsubscribe {
                packet_id,
                properties,
                filters,
            })
        }
        PacketType::UnsubAck => {
            let packet_id = packet_id(kind, &mut r)?;
            let properties = props(&mut r, v5, PropertyContext::UnsubAck)?;
            let mut reason_codes = Vec::new();
            if v5 {
                while !r.is_empty() {
                    reason_codes.push(reason(kind, r.u8("UNSUBACK reason code")?)?);
                }
                if reason_codes.is_empty() {
                    return Err(DecodeError::EmptyPayload { packet: kind });
                }
            }
            Packet::UnsubAck(UnsubAck {
                packet_id,
                properties,
                reason_codes,
            })
        }
        PacketType::PingReq => Packet::PingReq,
        PacketType::PingResp => Packet::PingResp,
        PacketType::Disconnect => {
            let mut d = Disconnect::default();
            if v5 && !r.is_empty() {
                d.reason_code = reason(kind, r.u8("DISCONNECT reason code")?)?;
                if !r.is_empty() {
                    d.properties = Properties::decode(&mut r, PropertyContext::Disconnect)?;
                }
            }
            Packet::Disconnect(d)
        }
        PacketType::Auth => {
            if !v5 {
                return Err(DecodeError::PacketNotInLevel {
                    packet: kind,
                    level,
                });
            }
            let mut a = Auth::default();
            if !r.is_empty() {
                a.reason_code = reason(kind, r.u8("AUTH reason code")?)?;
                if !r.is_empty() {
                    a.properties = Properties::decode(&mut r, PropertyContext::Auth)?;
                }
            }
            Packet::Auth(a)
        }
    };
    end(kind, &r)?;
    Ok(packet)
}

fn end(packet: PacketType, r: &Reader) -> Result<(), DecodeError> {
    match r.remaining() {
        0 => Ok(()),
        extra => Err(DecodeError::TrailingBytes { packet, extra }),
    }
}

fn props(r: &mut Reader, v5: bool, ctx: PropertyContext) -> Result<Properties, DecodeError> {
    if v5 {
        Properties::decode(r, ctx)
    } else {
        Ok(Properties::default())
    }
}

fn reason(packet: PacketType, code: u8) -> Result<ReasonCode, DecodeError> {
    ReasonCode::from_u8(code)
        .filter(|c| c.allowed_in(packet))
        .ok_or(DecodeError::InvalidReasonCode { packet, code })
}

fn packet_id(packet: PacketType, r: &mut Reader) -> Result<PacketId, DecodeError> {
    PacketId::new(r.u16("packet identifier")?).ok_or(DecodeError::ZeroPacketId { packet })
}

fn subscription_options(byte: u8, v5: bool) -> Result<SubscriptionOptions, DecodeError> {
    let reserved = if v5 { 0xC0 } else { 0xFC };
    if byte & reserved != 0 {
        return Err(DecodeError::InvalidSubscriptionOptions(byte));
    }
    let qos = QoS::from_u8(byte & 0x03).ok_or(DecodeError::InvalidSubscriptionOptions(byte))?;
    let retain_handling = match (byte >> 4) & 0x03 {
        0 => RetainHandling::SendAtSubscribe,
        1 => RetainHandling::SendAtSubscribeIfNew,
        2 => RetainHandling::DoNotSend,
        _ => return Err(DecodeError::InvalidRetainHandling(byte)),
    };
    Ok(SubscriptionOptions {
        qos,
        no_local: byte & 0x04 != 0,
        retain_as_published: byte & 0x08 != 0,
        retain_handling,
    })
}

fn decode_publish(flags: u8, r: &mut Reader, v5: bool) -> Result<Publish, DecodeError> {
    let qos = QoS::from_u8((flags >> 1) & 0x03).ok_or(DecodeError::InvalidQos {
        field: "PUBLISH flags",
    })?;
    let dup = flags & 0x08 != 0;
    if dup && qos == QoS::AtMostOnce {
        return Err(DecodeError::DupAtQos0);
    }
    let topic = r.string("topic name")?;
    let packet_id = match qos {
        QoS::AtMostOnce => None,
        _ => Some(packet_id(PacketType::Publish, r)?),
    };
    let properties = props(r, v5, PropertyContext::Publish)?;
    if !(topic.is_empty() && properties.topic_alias.is_some()) {
        topic::validate_topic_name(&topic).map_err(DecodeError::InvalidTopicName)?;
    }
    Ok(Publish {
        dup,
        qos,
        retain: flags & 0x01 != 0,
        topic,
        packet_id,
        properties,
        payload: r.rest(),
    })
}

fn decode_puback(kind: PacketType, r: &mut Reader, v5: bool) -> Result<PubAck, DecodeError> {
    let mut ack = PubAck::new(packet_id(kind, r)?);
    if v5 && !r.is_empty() {
        ack.reason_code = reason(kind, r.u8("reason code")?)?;
        if !r.is_empty() {
            ack.properties = Properties::decode(r, PropertyContext::PubAck)?;
        }
    }
    Ok(ack)
}

fn decode_connect(r: &mut Reader) -> Result<Packet, DecodeError> {
    let name = r.binary("protocol name")?;
    let level_byte = r.u8("protocol level")?;
    let level = match (&name[..], ProtocolLevel::from_u8(level_byte)) {
        (b"MQIsdp", Some(ProtocolLevel::V3_1)) => ProtocolLevel::V3_1,
        (b"MQTT", Some(level @ (ProtocolLevel::V3_1_1 | ProtocolLevel::V5))) => level,
        _ => {
            return Err(DecodeError::UnsupportedProtocol {
                name,
                level: level_byte,
            })
        }
    };
    let v5 = level.is_v5();
    let flags = r.u8("connect flags")?;
    let bad = |rule| DecodeError::InvalidConnectFlags { flags, rule };
    if flags & 0x01 != 0 {
        return Err(bad("reserved bit 0 is set"));
    }
    let will_flag = flags & 0x04 != 0;
    let will_qos =
        QoS::from_u8((flags >> 3) & 0x03).ok_or(DecodeError::InvalidQos { field: "will QoS" })?;
    let will_retain = flags & 0x20 != 0;
    if !will_flag && (will_qos != QoS::AtMostOnce || will_retain) {
        return Err(bad("will QoS or retain set without the will flag"));
    }
    let password_flag = flags & 0x40 != 0;
    let username_flag = flags & 0x80 != 0;
    if !v5 && password_flag && !username_flag {
        return Err(bad("password without user name"));
    }
    let keep_alive = r.u16("keep alive")?;
    let properties = props(r, v5, PropertyContext::Connect)?;
    let client_id = r.string("client identifier")?;
    let will = if will_flag {
        let properties = props(r, v5, PropertyContext::Will)?;
        let topic = r.string("will topic")?;
        topic::validate_topic_name(&topic).map_err(DecodeError::InvalidTopicName)?;
        let payload = r.binary("will payload")?;
        Some(Will {
            topic,
            payload,
            qos: will_qos,
            retain: will_retain,
            properties,
        })
    } else {
        None
    };
    let username = if username_flag {
        Some(r.string("user name")?)
    } else {
        None
    };
    let password = if password_flag {
        Some(r.binary("password")?)
    } else {
        None
    };
    end(PacketType::Connect, r)?;
    Ok(Packet::Connect(Box::new(Connect {
        level,
        clean_start: flags & 0x02 != 0,
        keep_alive,
        client_id,
        will,
        username,
        password,
        properties,
    })))
}
