//! MQTT 5.0 properties: every property as a typed field, where each may appear, and the wire
//! order of a decoded block (so re-encoding reproduces the received bytes).

use std::fmt;

use bytes::{BufMut, Bytes, BytesMut};

use crate::encode::{put_binary, put_string, put_varint, string_len, varint_len};
use crate::error::{DecodeError, EncodeError};
use crate::packet::QoS;
use crate::read::Reader;

/// Property identifiers (MQTT 5.0 section 2.2.2.2).
pub mod id {
    /// Payload Format Indicator (byte).
    pub const PAYLOAD_FORMAT_INDICATOR: u8 = 0x01;
    /// Message Expiry Interval (four-byte integer).
    pub const MESSAGE_EXPIRY_INTERVAL: u8 = 0x02;
    /// Content Type (UTF-8 string).
    pub const CONTENT_TYPE: u8 = 0x03;
    /// Response Topic (UTF-8 string).
    pub const RESPONSE_TOPIC: u8 = 0x08;
    /// Correlation Data (binary).
    pub const CORRELATION_DATA: u8 = 0x09;
    /// Subscription Identifier (Variable Byte Integer).
    pub const SUBSCRIPTION_IDENTIFIER: u8 = 0x0B;
    /// Session Expiry Interval (four-byte integer).
    pub const SESSION_EXPIRY_INTERVAL: u8 = 0x11;
    /// Assigned Client Identifier (UTF-8 string).
    pub const ASSIGNED_CLIENT_IDENTIFIER: u8 = 0x12;
    /// Server Keep Alive (two-byte integer).
    pub const SERVER_KEEP_ALIVE: u8 = 0x13;
    /// Authentication Method (UTF-8 string).
    pub const AUTHENTICATION_METHOD: u8 = 0x15;
    /// Authentication Data (binary).
    pub const AUTHENTICATION_DATA: u8 = 0x16;
    /// Request Problem Information (byte).
    pub const REQUEST_PROBLEM_INFORMATION: u8 = 0x17;
    /// Will Delay Interval (four-byte integer).
    pub const WILL_DELAY_INTERVAL: u8 = 0x18;
    /// Request Response Information (byte).
    pub const REQUEST_RESPONSE_INFORMATION: u8 = 0x19;
    /// Response Information (UTF-8 string).
    pub const RESPONSE_INFORMATION: u8 = 0x1A;
    /// Server Reference (UTF-8 string).
    pub const SERVER_REFERENCE: u8 = 0x1C;
    /// Reason String (UTF-8 string).
    pub const REASON_STRING: u8 = 0x1F;
    /// Receive Maximum (two-byte integer).
    pub const RECEIVE_MAXIMUM: u8 = 0x21;
    /// Topic Alias Maximum (two-byte integer).
    pub const TOPIC_ALIAS_MAXIMUM: u8 = 0x22;
    /// Topic Alias (two-byte integer).
    pub const TOPIC_ALIAS: u8 = 0x23;
    /// Maximum QoS (byte).
    pub const MAXIMUM_QOS: u8 = 0x24;
    /// Retain Available (byte).
    pub const RETAIN_AVAILABLE: u8 = 0x25;
    /// User Property (UTF-8 string pair).
    pub const USER_PROPERTY: u8 = 0x26;
    /// Maximum Packet Size (four-byte integer).
    pub const MAXIMUM_PACKET_SIZE: u8 = 0x27;
    /// Wildcard Subscription Available (byte).
    pub const WILDCARD_SUBSCRIPTION_AVAILABLE: u8 = 0x28;
    /// Subscription Identifier Available (byte).
    pub const SUBSCRIPTION_IDENTIFIER_AVAILABLE: u8 = 0x29;
    /// Shared Subscription Available (byte).
    pub const SHARED_SUBSCRIPTION_AVAILABLE: u8 = 0x2A;

    /// Every property identifier, ascending (the order the encoder uses by default).
    pub const ALL: [u8; 27] = [
        0x01, 0x02, 0x03, 0x08, 0x09, 0x0B, 0x11, 0x12, 0x13, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1A,
        0x1C, 0x1F, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2A,
    ];
}

/// Which property block a property appears in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PropertyContext {
    /// CONNECT properties.
    Connect,
    /// Will properties inside CONNECT.
    Will,
    /// CONNACK properties.
    ConnAck,
    /// PUBLISH properties.
    Publish,
    /// PUBACK, PUBREC, PUBREL and PUBCOMP properties.
    PubAck,
    /// SUBSCRIBE properties.
    Subscribe,
    /// SUBACK properties.
    SubAck,
    /// UNSUBSCRIBE properties.
    Unsubscribe,
    /// UNSUBACK properties.
    UnsubAck,
    /// DISCONNECT properties.
    Disconnect,
    /// AUTH properties.
    Auth,
}

impl PropertyContext {
    fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

impl fmt::Display for PropertyContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Connect => "CONNECT",
            Self::Will => "will properties",
            Self::ConnAck => "CONNACK",
            Self::Publish => "PUBLISH",
            Self::PubAck => "PUBACK/PUBREC/PUBREL/PUBCOMP",
            Self::Subscribe => "SUBSCRIBE",
            Self::SubAck => "SUBACK",
            Self::Unsubscribe => "UNSUBSCRIBE",
            Self::UnsubAck => "UNSUBACK",
            Self::Disconnect => "DISCONNECT",
            Self::Auth => "AUTH",
        })
    }
}

/// The contexts a property may appear in, or `None` for an unknown identifier.
pub fn allowed_contexts(property: u8) -> Option<&'static [PropertyContext]> {
    use PropertyContext::*;
    Some(match property {
        id::PAYLOAD_FORMAT_INDICATOR
        | id::MESSAGE_EXPIRY_INTERVAL
        | id::CONTENT_TYPE
        | id::RESPONSE_TOPIC
        | id::CORRELATION_DATA => &[Publish, Will],
        id::SUBSCRIPTION_IDENTIFIER => &[Publish, Subscribe],
        id::SESSION_EXPIRY_INTERVAL => &[Connect, ConnAck, Disconnect],
        id::ASSIGNED_CLIENT_IDENTIFIER
        | id::SERVER_KEEP_ALIVE
        | id::RESPONSE_INFORMATION
        | id::MAXIMUM_QOS
        | id::RETAIN_AVAILABLE
        | id::WILDCARD_SUBSCRIPTION_AVAILABLE
        | id::SUBSCRIPTION_IDENTIFIER_AVAILABLE
        | id::SHARED_SUBSCRIPTION_AVAILABLE => &[ConnAck],
        id::AUTHENTICATION_METHOD | id::AUTHENTICATION_DATA => &[Connect, ConnAck, Auth],
        id::REQUEST_PROBLEM_INFORMATION | id::REQUEST_RESPONSE_INFORMATION => &[Connect],
        id::WILL_DELAY_INTERVAL => &[Will],
        id::SERVER_REFERENCE => &[ConnAck, Disconnect],
        id::REASON_STRING => &[ConnAck, PubAck, SubAck, UnsubAck, Disconnect, Auth],
        id::RECEIVE_MAXIMUM | id::TOPIC_ALIAS_MAXIMUM | id::MAXIMUM_PACKET_SIZE => {
            &[Connect, ConnAck]
        }
        id::TOPIC_ALIAS => &[Publish],
        id::USER_PROPERTY => &[
            Connect,
            Will,
            ConnAck,
            Publish,
            PubAck,
            Subscribe,
            SubAck,
            Unsubscribe,
            UnsubAck,
            Disconnect,
            Auth,
        ],
        _ => return None,
    })
}

fn allowed_mask(property: u8) -> Option<u16> {
    allowed_contexts(property).map(|ctxs| ctxs.iter().fold(0, |m, c| m | c.bit()))
}

/// The order in which properties appeared on the wire, kept so that re-encoding a decoded
/// packet reproduces its bytes. `None` (the default) means ascending identifier order, which is
/// what the encoder writes for packets built in code. Ignored by `==`.
#[derive(Debug, Clone, Default)]
pub struct WireOrder(Option<Box<[u8]>>);

impl WireOrder {
    /// The identifiers in wire order, if they were not ascending.
    pub fn ids(&self) -> Option<&[u8]> {
        self.0.as_deref()
    }
}

impl PartialEq for WireOrder {
    fn eq(&self, _other: &Self) -> bool {
        true
    }
}

impl Eq for WireOrder {}

/// The properties of one MQTT 5.0 property block. Every field is optional; repeatable
/// properties are vectors in wire order. At MQTT 3.x properties are neither decoded nor encoded.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Properties {
    /// 0x01 Payload Format Indicator: `true` means UTF-8 payload.
    pub payload_format_indicator: Option<bool>,
    /// 0x02 Message Expiry Interval, seconds.
    pub message_expiry_interval: Option<u32>,
    /// 0x03 Content Type.
    pub content_type: Option<String>,
    /// 0x08 Response Topic.
    pub response_topic: Option<String>,
    /// 0x09 Correlation Data.
    pub correlation_data: Option<Bytes>,
    /// 0x0B Subscription Identifiers (several in a server's PUBLISH, at most one in SUBSCRIBE),
    /// each 1..=268,435,455.
    pub subscription_identifiers: Vec<u32>,
    /// 0x11 Session Expiry Interval, seconds.
    pub session_expiry_interval: Option<u32>,
    /// 0x12 Assigned Client Identifier.
    pub assigned_client_identifier: Option<String>,
    /// 0x13 Server Keep Alive, seconds.
    pub server_keep_alive: Option<u16>,
    /// 0x15 Authentication Method.
    pub authentication_method: Option<String>,
    /// 0x16 Authentication Data.
    pub authentication_data: Option<Bytes>,
    /// 0x17 Request Problem Information.
    pub request_problem_information: Option<bool>,
    /// 0x18 Will Delay Interval, seconds.
    pub will_delay_interval: Option<u32>,
    /// 0x19 Request Response Information.
    pub request_response_information: Option<bool>,
    /// 0x1A Response Information.
    pub response_information: Option<String>,
    /// 0x1C Server Reference.
    pub server_reference: Option<String>,
    /// 0x1F Reason String.
    pub reason_string: Option<String>,
    /// 0x21 Receive Maximum (non-zero).
    pub receive_maximum: Option<u16>,
    /// 0x22 Topic Alias Maximum.
    pub topic_alias_maximum: Option<u16>,
    /// 0x23 Topic Alias (non-zero).
    pub topic_alias: Option<u16>,
    /// 0x24 Maximum QoS (0 or 1).
    pub maximum_qos: Option<QoS>,
    /// 0x25 Retain Available.
    pub retain_available: Option<bool>,
    /// 0x26 User Properties, name/value pairs in wire order (names may repeat).
    pub user_properties: Vec<(String, String)>,
    /// 0x27 Maximum Packet Size (non-zero).
    pub maximum_packet_size: Option<u32>,
    /// 0x28 Wildcard Subscription Available.
    pub wildcard_subscription_available: Option<bool>,
    /// 0x29 Subscription Identifier Available.
    pub subscription_identifier_available: Option<bool>,
    /// 0x2A Shared Subscription Available.
    pub shared_subscription_available: Option<bool>,
    /// Wire order of a decoded block (see [`WireOrder`]).
    pub wire_order: WireOrder,
}

fn bool_byte(r: &mut Reader, property: u8) -> Result<bool, DecodeError> {
    match r.u8("property value")? {
        0 => Ok(false),
        1 => Ok(true),
        value => Err(DecodeError::InvalidPropertyValue {
            property,
            value: u32::from(value),
        }),
    }
}

fn non_zero<T: Into<u32> + Copy>(value: T, property: u8) -> Result<T, DecodeError> {
    if value.into() == 0 {
        return Err(DecodeError::InvalidPropertyValue { property, value: 0 });
    }
    Ok(value)
}

/// Largest Variable Byte Integer.
pub(crate) const VARINT_MAX: u32 = 268_435_455;

impl Properties {
    /// An empty block.
    pub fn new() -> Self {
        Self::default()
    }

    /// True when no property is set.
    pub fn is_empty(&self) -> bool {
        self.present_mask() == 0
    }

    /// Bit `id` is set for every property present.
    fn present_mask(&self) -> u64 {
        let mut m = 0u64;
        let mut set = |present: bool, id: u8| {
            if present {
                m |= 1u64 << id;
            }
        };
        set(
            self.payload_format_indicator.is_some(),
            id::PAYLOAD_FORMAT_INDICATOR,
        );
        set(
            self.message_expiry_interval.is_some(),
            id::MESSAGE_EXPIRY_INTERVAL,
        );
        set(self.content_type.is_some(), id::CONTENT_TYPE);
        set(self.response_topic.is_some(), id::RESPONSE_TOPIC);
        set(self.correlation_data.is_some(), id::CORRELATION_DATA);
        set(
            !self.subscription_identifiers.is_empty(),
            id::SUBSCRIPTION_IDENTIFIER,
        );
        set(
            self.session_expiry_interval.is_some(),
            id::SESSION_EXPIRY_INTERVAL,
        );
        set(
            self.assigned_client_identifier.is_some(),
            id::ASSIGNED_CLIENT_IDENTIFIER,
        );
        set(self.server_keep_alive.is_some(), id::SERVER_KEEP_ALIVE);
        set(
            self.authentication_method.is_some(),
            id::AUTHENTICATION_METHOD,
        );
        set(self.authentication_data.is_some(), id::AUTHENTICATION_DATA);
        set(
            self.request_problem_information.is_some(),
            id::REQUEST_PROBLEM_INFORMATION,
        );
        set(self.will_delay_interval.is_some(), id::WILL_DELAY_INTERVAL);
        set(
            self.request_response_information.is_some(),
            id::REQUEST_RESPONSE_INFORMATION,
        );
        set(
            self.response_information.is_some(),
            id::RESPONSE_INFORMATION,
        );
        set(self.server_reference.is_some(), id::SERVER_REFERENCE);
        set(self.reason_string.is_some(), id::REASON_STRING);
        set(self.receive_maximum.is_some(), id::RECEIVE_MAXIMUM);
        set(self.topic_alias_maximum.is_some(), id::TOPIC_ALIAS_MAXIMUM);
        set(self.topic_alias.is_some(), id::TOPIC_ALIAS);
        set(self.maximum_qos.is_some(), id::MAXIMUM_QOS);
        set(self.retain_available.is_some(), id::RETAIN_AVAILABLE);
        set(!self.user_properties.is_empty(), id::USER_PROPERTY);
        set(self.maximum_packet_size.is_some(), id::MAXIMUM_PACKET_SIZE);
        set(
            self.wildcard_subscription_available.is_some(),
            id::WILDCARD_SUBSCRIPTION_AVAILABLE,
        );
        set(
            self.subscription_identifier_available.is_some(),
            id::SUBSCRIPTION_IDENTIFIER_AVAILABLE,
        );
        set(
            self.shared_subscription_available.is_some(),
            id::SHARED_SUBSCRIPTION_AVAILABLE,
        );
        m
    }

    /// Decodes a property block (length prefix included) allowed in `ctx`.
    pub(crate) fn decode(r: &mut Reader, ctx: PropertyContext) -> Result<Self, DecodeError> {
        let len = r.varint("property length")?;
        let mut props = Self::default();
        if len == 0 {
            return Ok(props);
        }
        let block = usize::try_from(len).map_err(|_| DecodeError::Truncated {
            field: "properties",
        })?;
        let mut pr = Reader::new(r.take(block, "properties")?);
        let mut seen = 0u64;
        let mut last = 0u8;
        let mut order: Option<Vec<u8>> = None;
        while !pr.is_empty() {
            let raw = pr.varint("property identifier")?;
            let property = u8::try_from(raw).map_err(|_| DecodeError::UnknownProperty(raw))?;
            let mask = allowed_mask(property).ok_or(DecodeError::UnknownProperty(raw))?;
            if mask & ctx.bit() == 0 {
                return Err(DecodeError::PropertyNotAllowed {
                    property,
                    context: ctx,
                });
            }
            let repeatable = property == id::USER_PROPERTY
                || (property == id::SUBSCRIPTION_IDENTIFIER && ctx == PropertyContext::Publish);
            if !repeatable {
                let bit = 1u64 << property;
                if seen & bit != 0 {
                    return Err(DecodeError::DuplicateProperty { property });
                }
                seen |= bit;
            }
            match order.as_mut() {
                Some(o) => o.push(property),
                None if property < last => {
                    let mut o = Vec::new();
                    props.canonical_order(&mut o);
                    o.push(property);
                    order = Some(o);
                }
                None => last = property,
            }
            props.read_value(property, &mut pr)?;
        }
        props.wire_order = WireOrder(order.map(Vec::into_boxed_slice));
        Ok(props)
    }

    /// The ascending-order identifier list of what is present (repeatable ones repeated).
    fn canonical_order(&self, out: &mut Vec<u8>) {
        let mask = self.present_mask();
        for property in id::ALL {
            if mask & (1u64 << property) == 0 {
                continue;
            }
            let times = match property {
                id::SUBSCRIPTION_IDENTIFIER => self.subscription_identifiers.len(),
                id::USER_PROPERTY => self.user_properties.len(),
                _ => 1,
            };
            out.extend(std::iter::repeat_n(property, times));
        }
    }

    fn read_value(&mut self, property: u8, r: &mut Reader) -> Result<(), DecodeError> {
        match property {
            id::PAYLOAD_FORMAT_INDICATOR => {
                self.payload_format_indicator = Some(bool_byte(r, property)?)
            }
            id::MESSAGE_EXPIRY_INTERVAL => {
                self.message_expiry_interval = Some(r.u32("message expiry interval")?)
            }
            id::CONTENT_TYPE => self.content_type = Some(r.string("content type")?),
            id::RESPONSE_TOPIC => self.response_topic = Some(r.string("response topic")?),
            id::CORRELATION_DATA => self.correlation_data = Some(r.binary("correlation data")?),
            id::SUBSCRIPTION_IDENTIFIER => {
                let value = non_zero(r.varint("subscription identifier")?, property)?;
                self.subscription_identifiers.push(value);
            }
            id::SESSION_EXPIRY_INTERVAL => {
                self.session_expiry_interval = Some(r.u32("session expiry interval")?)
            }
            id::ASSIGNED_CLIENT_IDENTIFIER => {
                self.assigned_client_identifier = Some(r.string("assigned client identifier")?)
            }
            id::SERVER_KEEP_ALIVE => self.server_keep_alive = Some(r.u16("server keep alive")?),
            id::AUTHENTICATION_METHOD => {
                self.authentication_method = Some(r.string("authentication method")?)
            }
            id::AUTHENTICATION_DATA => {
                self.authentication_data = Some(r.binary("authentication data")?)
            }
            id::REQUEST_PROBLEM_INFORMATION => {
                self.request_problem_information = Some(bool_byte(r, property)?)
            }
            id::WILL_DELAY_INTERVAL => {
                self.will_delay_interval = Some(r.u32("will delay interval")?)
            }
            id::REQUEST_RESPONSE_INFORMATION => {
                self.request_response_information = Some(bool_byte(r, property)?)
            }
            id::RESPONSE_INFORMATION => {
                self.response_information = Some(r.string("response information")?)
            }
            id::SERVER_REFERENCE => self.server_reference = Some(r.string("server reference")?),
            id::REASON_STRING => self.reason_string = Some(r.string("reason string")?),
            id::RECEIVE_MAXIMUM => {
                self.receive_maximum = Some(non_zero(r.u16("receive maximum")?, property)?)
            }
            id::TOPIC_ALIAS_MAXIMUM => {
                self.topic_alias_maximum = Some(r.u16("topic alias maximum")?)
            }
            id::TOPIC_ALIAS => self.topic_alias = Some(non_zero(r.u16("topic alias")?, property)?),
            id::MAXIMUM_QOS => {
                self.maximum_qos = Some(match r.u8("maximum qos")? {
                    0 => QoS::AtMostOnce,
                    1 => QoS::AtLeastOnce,
                    value => {
                        return Err(DecodeError::InvalidPropertyValue {
                            property,
                            value: u32::from(value),
                        })
                    }
                })
            }
            id::RETAIN_AVAILABLE => self.retain_available = Some(bool_byte(r, property)?),
            id::USER_PROPERTY => {
                let name = r.string("user property name")?;
                let value = r.string("user property value")?;
                self.user_properties.push((name, value));
            }
            id::MAXIMUM_PACKET_SIZE => {
                self.maximum_packet_size = Some(non_zero(r.u32("maximum packet size")?, property)?)
            }
            id::WILDCARD_SUBSCRIPTION_AVAILABLE => {
                self.wildcard_subscription_available = Some(bool_byte(r, property)?)
            }
            id::SUBSCRIPTION_IDENTIFIER_AVAILABLE => {
                self.subscription_identifier_available = Some(bool_byte(r, property)?)
            }
            id::SHARED_SUBSCRIPTION_AVAILABLE => {
                self.shared_subscription_available = Some(bool_byte(r, property)?)
            }
            other => return Err(DecodeError::UnknownProperty(u32::from(other))),
        }
        Ok(())
    }

    /// Length of the block's content (without its length prefix), after checking that every
    /// property present is allowed in `ctx` and in range.
    pub(crate) fn content_len(&self, ctx: PropertyContext) -> Result<usize, EncodeError> {
        let mask = self.present_mask();
        if mask == 0 {
            return Ok(0);
        }
        for property in id::ALL {
            if mask & (1u64 << property) != 0
                && allowed_mask(property).unwrap_or(0) & ctx.bit() == 0
            {
                return Err(EncodeError::PropertyNotAllowed {
                    property,
                    context: ctx,
                });
            }
        }
        let invalid =
            |property: u8, value: u32| EncodeError::InvalidPropertyValue { property, value };
        let mut len = 0usize;
        let s = |v: &Option<String>, field| {
            v.as_deref()
                .map_or(Ok(0), |s| string_len(s.as_bytes(), field).map(|n| n + 1))
        };
        let b = |v: &Option<Bytes>, field| {
            v.as_deref()
                .map_or(Ok(0), |s| string_len(s, field).map(|n| n + 1))
        };
        let fixed = |present: bool, n: usize| if present { n + 1 } else { 0 };
        len += fixed(self.payload_format_indicator.is_some(), 1);
        len += fixed(self.message_expiry_interval.is_some(), 4);
        len += s(&self.content_type, "content type")?;
        len += s(&self.response_topic, "response topic")?;
        len += b(&self.correlation_data, "correlation data")?;
        if ctx == PropertyContext::Subscribe && self.subscription_identifiers.len() > 1 {
            return Err(invalid(
                id::SUBSCRIPTION_IDENTIFIER,
                u32::try_from(self.subscription_identifiers.len()).unwrap_or(u32::MAX),
            ));
        }
        for &sub in &self.subscription_identifiers {
            if sub == 0 || sub > VARINT_MAX {
                return Err(invalid(id::SUBSCRIPTION_IDENTIFIER, sub));
            }
            len += 1 + varint_len(sub as usize);
        }
        len += fixed(self.session_expiry_interval.is_some(), 4);
        len += s(
            &self.assigned_client_identifier,
            "assigned client identifier",
        )?;
        len += fixed(self.server_keep_alive.is_some(), 2);
        len += s(&self.authentication_method, "authentication method")?;
        len += b(&self.authentication_data, "authentication data")?;
        len += fixed(self.request_problem_information.is_some(), 1);
        len += fixed(self.will_delay_interval.is_some(), 4);
        len += fixed(self.request_response_information.is_some(), 1);
        len += s(&self.response_information, "response information")?;
        len += s(&self.server_reference, "server reference")?;
        len += s(&self.reason_string, "reason string")?;
        if self.receive_maximum == Some(0) {
            return Err(invalid(id::RECEIVE_MAXIMUM, 0));
        }
        len += fixed(self.receive_maximum.is_some(), 2);
        len += fixed(self.topic_alias_maximum.is_some(), 2);
        if self.topic_alias == Some(0) {
            return Err(invalid(id::TOPIC_ALIAS, 0));
        }
        len += fixed(self.topic_alias.is_some(), 2);
        if self.maximum_qos == Some(QoS::ExactlyOnce) {
            return Err(invalid(id::MAXIMUM_QOS, 2));
        }
        len += fixed(self.maximum_qos.is_some(), 1);
        len += fixed(self.retain_available.is_some(), 1);
        for (name, value) in &self.user_properties {
            len += 1
                + string_len(name.as_bytes(), "user property name")?
                + string_len(value.as_bytes(), "user property value")?;
        }
        if self.maximum_packet_size == Some(0) {
            return Err(invalid(id::MAXIMUM_PACKET_SIZE, 0));
        }
        len += fixed(self.maximum_packet_size.is_some(), 4);
        len += fixed(self.wildcard_subscription_available.is_some(), 1);
        len += fixed(self.subscription_identifier_available.is_some(), 1);
        len += fixed(self.shared_subscription_available.is_some(), 1);
        if len > VARINT_MAX as usize {
            return Err(EncodeError::PacketTooLarge { len });
        }
        Ok(len)
    }

    /// Writes the length prefix and the block (`content_len` must come from [`Self::content_len`]).
    pub(crate) fn write(&self, content_len: usize, buf: &mut BytesMut) {
        put_varint(buf, content_len);
        if content_len == 0 {
            return;
        }
        let mut subs = self.subscription_identifiers.iter();
        let mut users = self.user_properties.iter();
        let mut done = 0u64;
        if let Some(order) = self.wire_order.ids() {
            for &property in order {
                self.write_one(property, &mut done, &mut subs, &mut users, buf);
            }
        }
        // Whatever the wire order did not cover (all of it for packets built in code), ascending;
        // repeatable properties are written until their vector is exhausted.
        for property in id::ALL {
            while self.write_one(property, &mut done, &mut subs, &mut users, buf)
                && matches!(property, id::SUBSCRIPTION_IDENTIFIER | id::USER_PROPERTY)
            {}
        }
    }

    /// Writes one occurrence of `property` if it is present and not yet written; returns whether
    /// it wrote anything.
    fn write_one<'a>(
        &'a self,
        property: u8,
        done: &mut u64,
        subs: &mut std::slice::Iter<'a, u32>,
        users: &mut std::slice::Iter<'a, (String, String)>,
        buf: &mut BytesMut,
    ) -> bool {
        match property {
            id::SUBSCRIPTION_IDENTIFIER => {
                return match subs.next() {
                    Some(&sub) => {
                        buf.put_u8(property);
                        put_varint(buf, sub as usize);
                        true
                    }
                    None => false,
                };
            }
            id::USER_PROPERTY => {
                return match users.next() {
                    Some((name, value)) => {
                        buf.put_u8(property);
                        put_string(buf, name);
                        put_string(buf, value);
                        true
                    }
                    None => false,
                };
            }
            _ => {}
        }
        let bit = 1u64 << (property & 63);
        if *done & bit != 0 {
            return false;
        }
        let u8v = |buf: &mut BytesMut, v: Option<bool>| {
            v.map(|v| {
                buf.put_u8(property);
                buf.put_u8(u8::from(v));
            })
        };
        let u16v = |buf: &mut BytesMut, v: Option<u16>| {
            v.map(|v| {
                buf.put_u8(property);
                buf.put_u16(v);
            })
        };
        let u32v = |buf: &mut BytesMut, v: Option<u32>| {
            v.map(|v| {
                buf.put_u8(property);
                buf.put_u32(v);
            })
        };
        let strv = |buf: &mut BytesMut, v: &Option<String>| {
            v.as_deref().map(|v| {
                buf.put_u8(property);
                put_string(buf, v);
            })
        };
        let binv = |buf: &mut BytesMut, v: &Option<Bytes>| {
            v.as_deref().map(|v| {
                buf.put_u8(property);
                put_binary(buf, v);
            })
        };
        let wrote = match property {
            id::PAYLOAD_FORMAT_INDICATOR => u8v(buf, self.payload_format_indicator),
            id::MESSAGE_EXPIRY_INTERVAL => u32v(buf, self.message_expiry_interval),
            id::CONTENT_TYPE => strv(buf, &self.content_type),
            id::RESPONSE_TOPIC => strv(buf, &self.response_topic),
            id::CORRELATION_DATA => binv(buf, &self.correlation_data),
            id::SESSION_EXPIRY_INTERVAL => u32v(buf, self.session_expiry_interval),
            id::ASSIGNED_CLIENT_IDENTIFIER => strv(buf, &self.assigned_client_identifier),
            id::SERVER_KEEP_ALIVE => u16v(buf, self.server_keep_alive),
            id::AUTHENTICATION_METHOD => strv(buf, &self.authentication_method),
            id::AUTHENTICATION_DATA => binv(buf, &self.authentication_data),
            id::REQUEST_PROBLEM_INFORMATION => u8v(buf, self.request_problem_information),
            id::WILL_DELAY_INTERVAL => u32v(buf, self.will_delay_interval),
            id::REQUEST_RESPONSE_INFORMATION => u8v(buf, self.request_response_information),
            id::RESPONSE_INFORMATION => strv(buf, &self.response_information),
            id::SERVER_REFERENCE => strv(buf, &self.server_reference),
            id::REASON_STRING => strv(buf, &self.reason_string),
            id::RECEIVE_MAXIMUM => u16v(buf, self.receive_maximum),
            id::TOPIC_ALIAS_MAXIMUM => u16v(buf, self.topic_alias_maximum),
            id::TOPIC_ALIAS => u16v(buf, self.topic_alias),
            id::MAXIMUM_QOS => self.maximum_qos.map(|q| {
                buf.put_u8(property);
                buf.put_u8(q.as_u8());
            }),
            id::RETAIN_AVAILABLE => u8v(buf, self.retain_available),
            id::MAXIMUM_PACKET_SIZE => u32v(buf, self.maximum_packet_size),
            id::WILDCARD_SUBSCRIPTION_AVAILABLE => u8v(buf, self.wildcard_subscription_available),
            id::SUBSCRIPTION_IDENTIFIER_AVAILABLE => {
                u8v(buf, self.subscription_identifier_available)
            }
            id::SHARED_SUBSCRIPTION_AVAILABLE => u8v(buf, self.shared_subscription_available),
            _ => None,
        };
        *done |= bit;
        wrote.is_some()
    }
}
