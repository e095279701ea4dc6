//! Decoding and encoding errors, and the reply a broker sends for each.

use bytes::Bytes;

use crate::packet::{PacketType, ProtocolLevel};
use crate::properties::PropertyContext;
use crate::reason::{ConnectReturnCode, ReasonCode};
use crate::topic::TopicError;

/// Bytes that can never become a valid packet. After an error the stream is out of step: close
/// the connection (a 5.0 server first sends CONNACK or DISCONNECT with [`DecodeError::reason_code`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The fixed header announces a packet larger than the configured maximum.
    #[error("packet of {size} bytes exceeds the maximum packet size of {max} bytes")]
    PacketTooLarge {
        /// Size of the whole packet (fixed header included).
        size: u64,
        /// The configured maximum.
        max: u32,
    },
    /// A Variable Byte Integer runs past 4 bytes.
    #[error("{field}: Variable Byte Integer longer than 4 bytes")]
    MalformedVarint {
        /// Which integer.
        field: &'static str,
    },
    /// Packet type 0 (reserved in every version).
    #[error("reserved packet type 0")]
    ReservedPacketType,
    /// A packet type this protocol level does not have (AUTH before 5.0).
    #[error("{packet} is not part of {level}")]
    PacketNotInLevel {
        /// The packet type.
        packet: PacketType,
        /// The level in use.
        level: ProtocolLevel,
    },
    /// Reserved fixed-header flags are wrong.
    #[error("{packet} with fixed header flags {flags:#06b} (must be {expected:#06b})")]
    InvalidFlags {
        /// The packet type.
        packet: PacketType,
        /// The flags received.
        flags: u8,
        /// The flags the packet type requires.
        expected: u8,
    },
    /// Before the protocol level is set only CONNECT can be decoded.
    #[error("expected CONNECT first, got {packet} (protocol level not set)")]
    ConnectExpected {
        /// The packet type received.
        packet: PacketType,
    },
    /// A QoS field holds 3.
    #[error("{field}: QoS 3 is not a QoS")]
    InvalidQos {
        /// Which QoS field.
        field: &'static str,
    },
    /// PUBLISH with DUP set at QoS 0.
    #[error("PUBLISH with DUP set at QoS 0")]
    DupAtQos0,
    /// The Remaining Length ends before a field does.
    #[error("{field}: packet ends before this field does")]
    Truncated {
        /// The field being read.
        field: &'static str,
    },
    /// Bytes are left after the last field of the packet.
    #[error("{packet}: {extra} bytes after the last field")]
    TrailingBytes {
        /// The packet type.
        packet: PacketType,
        /// How many bytes were left.
        extra: usize,
    },
    /// A UTF-8 string field is not well-formed UTF-8.
    #[error("{field}: not well-formed UTF-8")]
    InvalidUtf8 {
        /// The field.
        field: &'static str,
    },
    /// A UTF-8 string field contains U+0000.
    #[error("{field}: contains U+0000")]
    NullCharacter {
        /// The field.
        field: &'static str,
    },
    /// CONNECT names a protocol or level this crate does not speak (or a mismatched pair).
    #[error("unsupported protocol {name:?} level {level}")]
    UnsupportedProtocol {
        /// The protocol name bytes.
        name: Bytes,
        /// The protocol level byte.
        level: u8,
    },
    /// CONNECT flags break a rule.
    #[error("CONNECT flags {flags:#010b}: {rule}")]
    InvalidConnectFlags {
        /// The flags byte.
        flags: u8,
        /// The rule broken.
        rule: &'static str,
    },
    /// CONNACK acknowledge flags have reserved bits set.
    #[error("CONNACK acknowledge flags {0:#010b} have reserved bits set")]
    InvalidConnAckFlags(u8),
    /// A packet identifier that must be non-zero is zero.
    #[error("{packet}: packet identifier 0")]
    ZeroPacketId {
        /// The packet type.
        packet: PacketType,
    },
    /// A byte that is not a reason code this packet may carry.
    #[error("{packet}: 0x{code:02X} is not a reason code it may carry")]
    InvalidReasonCode {
        /// The packet type.
        packet: PacketType,
        /// The byte received.
        code: u8,
    },
    /// An unknown property identifier.
    #[error("unknown property identifier 0x{0:02X}")]
    UnknownProperty(u32),
    /// A property the packet may not carry.
    #[error("property 0x{property:02X} is not allowed in {context}")]
    PropertyNotAllowed {
        /// Property identifier.
        property: u8,
        /// Where it appeared.
        context: PropertyContext,
    },
    /// A property that may appear once appears again.
    #[error("property 0x{property:02X} appears more than once")]
    DuplicateProperty {
        /// Property identifier.
        property: u8,
    },
    /// A property value outside its allowed range (a 0/1 byte that is 2, a zero maximum, ...).
    #[error("property 0x{property:02X} has invalid value {value}")]
    InvalidPropertyValue {
        /// Property identifier.
        property: u8,
        /// The value received.
        value: u32,
    },
    /// SUBSCRIBE / UNSUBSCRIBE without topic filters, or SUBACK without codes.
    #[error("{packet} carries no entries")]
    EmptyPayload {
        /// The packet type.
        packet: PacketType,
    },
    /// Subscription options with reserved bits set or QoS 3.
    #[error("subscription options {0:#010b} are malformed")]
    InvalidSubscriptionOptions(u8),
    /// Subscription options with Retain Handling 3.
    #[error("subscription options {0:#010b}: Retain Handling 3")]
    InvalidRetainHandling(u8),
    /// A PUBLISH or will topic name that is not a valid topic name.
    #[error("invalid topic name: {0}")]
    InvalidTopicName(#[source] TopicError),
}

impl DecodeError {
    /// The MQTT 5.0 reason code a server sends for this error: in CONNACK while the error is in
    /// CONNECT, in DISCONNECT afterwards.
    pub fn reason_code(&self) -> ReasonCode {
        match self {
            Self::PacketTooLarge { .. } => ReasonCode::PacketTooLarge,
            Self::UnsupportedProtocol { .. } => ReasonCode::UnsupportedProtocolVersion,
            Self::InvalidTopicName(_) => ReasonCode::TopicNameInvalid,
            Self::ConnectExpected { .. }
            | Self::DupAtQos0
            | Self::DuplicateProperty { .. }
            | Self::InvalidPropertyValue { .. }
            | Self::EmptyPayload { .. }
            | Self::InvalidRetainHandling(_) => ReasonCode::ProtocolError,
            _ => ReasonCode::MalformedPacket,
        }
    }

    /// The MQTT 3.x CONNACK return code a server sends for this error in CONNECT, or `None`
    /// where 3.1.1 says to close the network connection without a CONNACK.
    pub fn connack_return_code(&self) -> Option<ConnectReturnCode> {
        match self {
            Self::UnsupportedProtocol { .. } => {
                Some(ConnectReturnCode::UnacceptableProtocolVersion)
            }
            _ => None,
        }
    }
}

/// A packet that cannot be put on the wire as it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// A string or binary field longer than 65,535 bytes.
    #[error("{field}: {len} bytes is longer than 65535")]
    FieldTooLong {
        /// The field.
        field: &'static str,
        /// Its length.
        len: usize,
    },
    /// The packet is larger than the 268,435,455-byte Remaining Length limit.
    #[error("packet body of {len} bytes exceeds the Remaining Length limit")]
    PacketTooLarge {
        /// Body length.
        len: usize,
    },
    /// PUBLISH at QoS 1 or 2 without a packet identifier, or at QoS 0 with one.
    #[error("PUBLISH at {qos:?} with packet identifier {packet_id:?}")]
    PacketIdMismatch {
        /// The QoS.
        qos: crate::QoS,
        /// The identifier given.
        packet_id: Option<crate::PacketId>,
    },
    /// PUBLISH with DUP set at QoS 0.
    #[error("PUBLISH with DUP set at QoS 0")]
    DupAtQos0,
    /// A packet type this level does not have (AUTH before 5.0).
    #[error("{packet} is not part of {level}")]
    PacketNotInLevel {
        /// The packet type.
        packet: PacketType,
        /// The level.
        level: ProtocolLevel,
    },
    /// A reason code the packet may not carry.
    #[error("{packet} may not carry reason code {code}")]
    ReasonCodeNotAllowed {
        /// The packet type.
        packet: PacketType,
        /// The code.
        code: ReasonCode,
    },
    /// A property the packet may not carry.
    #[error("property 0x{property:02X} is not allowed in {context}")]
    PropertyNotAllowed {
        /// Property identifier.
        property: u8,
        /// Where it was set.
        context: PropertyContext,
    },
    /// A property value outside its allowed range.
    #[error("property 0x{property:02X} has invalid value {value}")]
    InvalidPropertyValue {
        /// Property identifier.
        property: u8,
        /// The value.
        value: u32,
    },
    /// SUBSCRIBE / UNSUBSCRIBE / SUBACK without entries.
    #[error("{packet} must carry at least one entry")]
    EmptyPayload {
        /// The packet type.
        packet: PacketType,
    },
    /// No protocol level is known yet and the packet is not CONNECT (codec adapter).
    #[error("{packet} cannot be encoded before the protocol level is known")]
    LevelUnknown {
        /// The packet type.
        packet: PacketType,
    },
}
