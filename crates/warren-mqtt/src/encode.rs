//! Encoding packets into a `BytesMut`: one pass computes and checks the lengths, a second writes
//! the bytes straight into the buffer (no intermediate allocation).

use bytes::{BufMut, BytesMut};

use crate::error::EncodeError;
use crate::packet::{
    Auth, ConnAck, Connect, Disconnect, Packet, PacketType, ProtocolLevel, PubAck, Publish, QoS,
    SubAck, Subscribe, UnsubAck, Unsubscribe,
};
use crate::properties::{Properties, PropertyContext, VARINT_MAX};
use crate::reason::{ConnectReturnCode, ReasonCode};

/// Bytes a Variable Byte Integer takes.
pub(crate) fn varint_len(value: usize) -> usize {
    match value {
        0..=127 => 1,
        128..=16_383 => 2,
        16_384..=2_097_151 => 3,
        _ => 4,
    }
}

/// Writes a Variable Byte Integer (the caller has checked `value <= 268_435_455`).
pub(crate) fn put_varint(buf: &mut BytesMut, mut value: usize) {
    loop {
        let mut byte = (value % 128) as u8;
        value /= 128;
        if value > 0 {
            byte |= 0x80;
        }
        buf.put_u8(byte);
        if value == 0 {
            break;
        }
    }
}

/// Wire length of a length-prefixed string or binary field, checking the 65,535-byte limit.
pub(crate) fn string_len(bytes: &[u8], field: &'static str) -> Result<usize, EncodeError> {
    if bytes.len() > usize::from(u16::MAX) {
        return Err(EncodeError::FieldTooLong {
            field,
            len: bytes.len(),
        });
    }
    Ok(2 + bytes.len())
}

/// Writes a length-prefixed string (length checked by [`string_len`]).
pub(crate) fn put_string(buf: &mut BytesMut, s: &str) {
    put_binary(buf, s.as_bytes());
}

/// Writes length-prefixed binary data (length checked by [`string_len`]).
pub(crate) fn put_binary(buf: &mut BytesMut, bytes: &[u8]) {
    buf.put_u16(bytes.len() as u16);
    buf.put_slice(bytes);
}

/// Lengths computed by the checking pass.
#[derive(Default)]
struct Plan {
    body: usize,
    props: usize,
    will_props: usize,
}

fn props_len(
    props: &Properties,
    ctx: PropertyContext,
    level: ProtocolLevel,
) -> Result<usize, EncodeError> {
    if level.is_v5() {
        props.content_len(ctx)
    } else {
        Ok(0)
    }
}

/// Length of a property block with its prefix, at 5.0.
fn block(content: usize) -> usize {
    varint_len(content) + content
}

fn check_reason(packet: PacketType, code: ReasonCode) -> Result<(), EncodeError> {
    if code.allowed_in(packet) {
        Ok(())
    } else {
        Err(EncodeError::ReasonCodeNotAllowed { packet, code })
    }
}

/// Shortest form of a PUBACK-like or DISCONNECT body at 5.0: nothing for Success without
/// properties, the reason code alone without properties, else code and properties.
fn short_form(code: ReasonCode, props: usize, success_len: usize) -> usize {
    if props == 0 && code == ReasonCode::Success {
        success_len
    } else if props == 0 {
        success_len + 1
    } else {
        success_len + 1 + block(props)
    }
}

/// The SUBACK byte a code is sent as at 3.x: granted QoS as is, every failure as 0x80.
fn suback_v3(code: ReasonCode) -> u8 {
    match code {
        ReasonCode::Success | ReasonCode::GrantedQos1 | ReasonCode::GrantedQos2 => code.as_u8(),
        _ => 0x80,
    }
}

impl Packet {
    /// Total bytes this packet takes on the wire at `level` (a CONNECT always uses its own
    /// level), after checking it can be encoded. Compare with a peer's maximum packet size.
    pub fn encoded_len(&self, level: ProtocolLevel) -> Result<usize, EncodeError> {
        let plan = self.plan(level)?;
        Ok(1 + varint_len(plan.body) + plan.body)
    }

    /// Appends this packet to `buf` as `level` speaks it (a CONNECT always uses its own level;
    /// properties, reason codes and subscription options a 3.x packet cannot carry are left
    /// out). Returns the number of bytes written; on error nothing is written.
    ///
    /// ```
    /// use bytes::{Bytes, BytesMut};
    /// use warren_mqtt::{Packet, ProtocolLevel, Publish, QoS, Properties};
    ///
    /// let publish = Packet::Publish(Publish {
    ///     dup: false,
    ///     qos: QoS::AtMostOnce,
    ///     retain: false,
    ///     topic: "a/b".into(),
    ///     packet_id: None,
    ///     properties: Properties::default(),
    ///     payload: Bytes::from_static(b"hi"),
    /// });
    /// let mut buf = BytesMut::new();
    /// publish.encode(ProtocolLevel::V3_1_1, &mut buf)?;
    /// assert_eq!(&buf[..], b"\x30\x07\x00\x03a/bhi");
    /// # Ok::<(), warren_mqtt::EncodeError>(())
    /// ```
    pub fn encode(&self, level: ProtocolLevel, buf: &mut BytesMut) -> Result<usize, EncodeError> {
        let plan = self.plan(level)?;
        let total = 1 + varint_len(plan.body) + plan.body;
        buf.reserve(total);
        let level = match self {
            Packet::Connect(c) => c.level,
            _ => level,
        };
        let v5 = level.is_v5();
        match self {
            Packet::Connect(c) => write_connect(c, &plan, buf),
            Packet::ConnAck(c) => {
                header(buf, 0x20, plan.body);
                buf.put_u8(u8::from(c.session_present));
                if v5 {
                    buf.put_u8(c.reason_code.as_u8());
                    c.properties.write(plan.props, buf);
                } else {
                    buf.put_u8(ConnectReturnCode::from(c.reason_code).as_u8());
                }
            }
            Packet::Publish(p) => {
                let first =
                    0x30 | (u8::from(p.dup) << 3) | (p.qos.as_u8() << 1) | u8::from(p.retain);
                header(buf, first, plan.body);
                put_string(buf, &p.topic);
                if let Some(id) = p.packet_id {
                    buf.put_u16(id.get());
                }
                if v5 {
                    p.properties.write(plan.props, buf);
                }
                buf.put_slice(&p.payload);
            }
            Packet::PubAck(a) => write_puback(0x40, a, &plan, v5, buf),
            Packet::PubRec(a) => write_puback(0x50, a, &plan, v5, buf),
            Packet::PubRel(a) => write_puback(0x62, a, &plan, v5, buf),
            Packet::PubComp(a) => write_puback(0x70, a, &plan, v5, buf),
            Packet::Subscribe(s) => {
                header(buf, 0x82, plan.body);
                buf.put_u16(s.packet_id.get());
                if v5 {
                    s.properties.write(plan.props, buf);
                }
                for sub in &s.subscriptions {
                    put_string(buf, &sub.filter);
                    let o = &sub.options;
                    let mut byte = o.qos.as_u8();
                    if v5 {
                        byte |= (u8::from(o.no_local) << 2)
                            | (u8::from(o.retain_as_published) << 3)
                            | ((o.retain_handling as u8) << 4);
                    }
                    buf.put_u8(byte);
                }
            }
            Packet::SubAck(s) => {
                header(buf, 0x90, plan.body);
                buf.put_u16(s.packet_id.get());
                if v5 {
                    s.properties.write(plan.props, buf);
                    for code in &s.reason_codes {
                        buf.put_u8(code.as_u8());
                    }
                } else {
                    for &code in &s.reason_codes {
                        buf.put_u8(suback_v3(code));
                    }
                }
            }
            Packet::Unsubscribe(u) => {
                header(buf, 0xA2, plan.body);
                buf.put_u16(u.packet_id.get());
                if v5 {
                    u.properties.write(plan.props, buf);
                }
                for filter in &u.filters {
                    put_string(buf, filter);
                }
            }
            Packet::UnsubAck(u) => {
                header(buf, 0xB0, plan.body);
                buf.put_u16(u.packet_id.get());
                if v5 {
                    u.properties.write(plan.props, buf);
                    for code in &u.reason_codes {
                        buf.put_u8(code.as_u8());
                    }
                }
            }
            Packet::PingReq => header(buf, 0xC0, 0),
            Packet::PingResp => header(buf, 0xD0, 0),
            Packet::Disconnect(d) => {
                header(buf, 0xE0, plan.body);
                if plan.body > 0 {
                    buf.put_u8(d.reason_code.as_u8());
                }
                if plan.body > 1 {
                    d.properties.write(plan.props, buf);
                }
            }
            Packet::Auth(a) => {
                header(buf, 0xF0, plan.body);
                if plan.body > 0 {
                    buf.put_u8(a.reason_code.as_u8());
                    a.properties.write(plan.props, buf);
                }
            }
        }
        Ok(total)
    }

    /// The checking pass: validates the packet for `level` and computes its lengths.
    fn plan(&self, level: ProtocolLevel) -> Result<Plan, EncodeError> {
        let v5 = level.is_v5();
        let mut plan = Plan::default();
        let body = match self {
            Packet::Connect(c) => return plan_connect(c),
            Packet::ConnAck(ConnAck {
                reason_code,
                properties,
                ..
            }) => {
                if v5 {
                    check_reason(PacketType::ConnAck, *reason_code)?;
                    plan.props = properties.content_len(PropertyContext::ConnAck)?;
                    2 + block(plan.props)
                } else {
                    2
                }
            }
            Packet::Publish(Publish {
                dup,
                qos,
                topic,
                packet_id,
                properties,
                payload,
                ..
            }) => {
                if (*qos == QoS::AtMostOnce) != packet_id.is_none() {
                    return Err(EncodeError::PacketIdMismatch {
                        qos: *qos,
                        packet_id: *packet_id,
                    });
                }
                if *dup && *qos == QoS::AtMostOnce {
                    return Err(EncodeError::DupAtQos0);
                }
                let mut n = string_len(topic.as_bytes(), "topic name")? + payload.len();
                if packet_id.is_some() {
                    n += 2;
                }
                if v5 {
                    plan.props = properties.content_len(PropertyContext::Publish)?;
                    n += block(plan.props);
                }
                n
            }
            Packet::PubAck(a) => plan_puback(PacketType::PubAck, a, v5, &mut plan)?,
            Packet::PubRec(a) => plan_puback(PacketType::PubRec, a, v5, &mut plan)?,
            Packet::PubRel(a) => plan_puback(PacketType::PubRel, a, v5, &mut plan)?,
            Packet::PubComp(a) => plan_puback(PacketType::PubComp, a, v5, &mut plan)?,
            Packet::Subscribe(Subscribe {
                properties,
                subscriptions,
                ..
            }) => {
                if subscriptions.is_empty() {
                    return Err(EncodeError::EmptyPayload {
                        packet: PacketType::Subscribe,
                    });
                }
                plan.props = props_len(properties, PropertyContext::Subscribe, level)?;
                let mut n = 2 + if v5 { block(plan.props) } else { 0 };
                for sub in subscriptions {
                    n += string_len(sub.filter.as_bytes(), "topic filter")? + 1;
                }
                n
            }
            Packet::SubAck(SubAck {
                properties,
                reason_codes,
                ..
            }) => {
                if reason_codes.is_empty() {
                    return Err(EncodeError::EmptyPayload {
                        packet: PacketType::SubAck,
                    });
                }
                if v5 {
                    for &code in reason_codes {
                        check_reason(PacketType::SubAck, code)?;
                    }
                    plan.props = properties.content_len(PropertyContext::SubAck)?;
                    2 + block(plan.props) + reason_codes.len()
                } else {
                    2 + reason_codes.len()
                }
            }
            Packet::Unsubscribe(Unsubscribe {
                properties,
                filters,
                ..
            }) => {
                if filters.is_empty() {
                    return Err(EncodeError::EmptyPayload {
                        packet: PacketType::Unsubscribe,
                    });
                }
                plan.props = props_len(properties, PropertyContext::Unsubscribe, level)?;
                let mut n = 2 + if v5 { block(plan.props) } else { 0 };
                for filter in filters {
                    n += string_len(filter.as_bytes(), "topic filter")?;
                }
                n
            }
            Packet::UnsubAck(UnsubAck {
                properties,
                reason_codes,
                ..
            }) => {
                if v5 {
                    if reason_codes.is_empty() {
                        return Err(EncodeError::EmptyPayload {
                            packet: PacketType::UnsubAck,
                        });
                    }
                    for &code in reason_codes {
                        check_reason(PacketType::UnsubAck, code)?;
                    }
                    plan.props = properties.content_len(PropertyContext::UnsubAck)?;
                    2 + block(plan.props) + reason_codes.len()
                } else {
                    2
                }
            }
            Packet::PingReq | Packet::PingResp => 0,
            Packet::Disconnect(Disconnect {
                reason_code,
                properties,
            }) => {
                if v5 {
                    check_reason(PacketType::Disconnect, *reason_code)?;
                    plan.props = properties.content_len(PropertyContext::Disconnect)?;
                    short_form(*reason_code, plan.props, 0)
                } else {
                    0
                }
            }
            Packet::Auth(Auth {
                reason_code,
                properties,
            }) => {
                if !v5 {
                    return Err(EncodeError::PacketNotInLevel {
                        packet: PacketType::Auth,
                        level,
                    });
                }
                check_reason(PacketType::Auth, *reason_code)?;
                plan.props = properties.content_len(PropertyContext::Auth)?;
                if plan.props == 0 && *reason_code == ReasonCode::Success {
                    0
                } else {
                    1 + block(plan.props)
                }
            }
        };
        if body > VARINT_MAX as usize {
            return Err(EncodeError::PacketTooLarge { len: body });
        }
        plan.body = body;
        Ok(plan)
    }
}

fn header(buf: &mut BytesMut, first: u8, body: usize) {
    buf.put_u8(first);
    put_varint(buf, body);
}

fn plan_puback(
    packet: PacketType,
    ack: &PubAck,
    v5: bool,
    plan: &mut Plan,
) -> Result<usize, EncodeError> {
    if !v5 {
        return Ok(2);
    }
    check_reason(packet, ack.reason_code)?;
    plan.props = ack.properties.content_len(PropertyContext::PubAck)?;
    Ok(short_form(ack.reason_code, plan.props, 2))
}

fn write_puback(first: u8, ack: &PubAck, plan: &Plan, v5: bool, buf: &mut BytesMut) {
    header(buf, first, plan.body);
    buf.put_u16(ack.packet_id.get());
    if v5 && plan.body > 2 {
        buf.put_u8(ack.reason_code.as_u8());
        if plan.body > 3 {
            ack.properties.write(plan.props, buf);
        }
    }
}

fn plan_connect(c: &Connect) -> Result<Plan, EncodeError> {
    let level = c.level;
    let mut plan = Plan::default();
    let mut n = 2 + level.protocol_name().len() + 1 + 1 + 2;
    if level.is_v5() {
        plan.props = c.properties.content_len(PropertyContext::Connect)?;
        n += block(plan.props);
    }
    n += string_len(c.client_id.as_bytes(), "client identifier")?;
    if let Some(will) = &c.will {
        if level.is_v5() {
            plan.will_props = will.properties.content_len(PropertyContext::Will)?;
            n += block(plan.will_props);
        }
        n += string_len(will.topic.as_bytes(), "will topic")?;
        n += string_len(&will.payload, "will payload")?;
    }
    if let Some(username) = &c.username {
        n += string_len(username.as_bytes(), "user name")?;
    }
    if let Some(password) = &c.password {
        n += string_len(password, "password")?;
    }
    if n > VARINT_MAX as usize {
        return Err(EncodeError::PacketTooLarge { len: n });
    }
    plan.body = n;
    Ok(plan)
}

fn write_connect(c: &Connect, plan: &Plan, buf: &mut BytesMut) {
    header(buf, 0x10, plan.body);
    put_string(buf, c.level.protocol_name());
    buf.put_u8(c.level.as_u8());
    let mut flags = 0u8;
    if c.clean_start {
        flags |= 0x02;
    }
    if let Some(will) = &c.will {
        flags |= 0x04 | (will.qos.as_u8() << 3);
        if will.retain {
            flags |= 0x20;
        }
    }
    if c.password.is_some() {
        flags |= 0x40;
    }
    if c.username.is_some() {
        flags |= 0x80;
    }
    buf.put_u8(flags);
    buf.put_u16(c.keep_alive);
    let v5 = c.level.is_v5();
    if v5 {
        c.properties.write(plan.props, buf);
    }
    put_string(buf, &c.client_id);
    if let Some(will) = &c.will {
        if v5 {
            will.properties.write(plan.will_props, buf);
        }
        put_string(buf, &will.topic);
        put_binary(buf, &will.payload);
    }
    if let Some(username) = &c.username {
        put_string(buf, username);
    }
    if let Some(password) = &c.password {
        put_binary(buf, password);
    }
}
