//! The codec's one error type, and the AMQP reply code each error obliges the broker to send.

use crate::generated::ReplyCode;

/// Everything that can go wrong decoding or encoding AMQP 0-9-1.
///
/// A decoder never returns an error for bytes that are merely incomplete: "need more bytes" is
/// `Ok(None)`. Every variant maps to the reply code a broker sends in `connection.close` (or
/// `channel.close` for the soft [`ReplyCode::PreconditionFailed`]) with [`Error::reply_code`], and
/// names the offending method with [`Error::class_method`] when it is known.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A frame declared a size larger than the negotiated `frame_max` (header and end octet
    /// included). Detected from the 7-byte frame header, before the payload is buffered.
    #[error("frame of {size} bytes exceeds frame_max {frame_max}")]
    FrameTooLarge {
        /// Whole frame size: 7 header bytes + payload + 1 end octet.
        size: u64,
        /// The negotiated limit.
        frame_max: u32,
    },
    /// The octet after a frame's payload was not the frame-end octet `0xCE`.
    #[error("frame end octet is {found:#04x}, expected 0xce")]
    BadFrameEnd {
        /// What was found instead.
        found: u8,
    },
    /// The frame type octet is not method (1), header (2), body (3) or heartbeat (8).
    #[error("unknown frame type {frame_type}")]
    UnknownFrameType {
        /// The type octet.
        frame_type: u8,
    },
    /// A heartbeat frame on a channel other than 0 or with a non-empty payload.
    #[error("malformed heartbeat frame (channel {channel}, {size} payload bytes)")]
    BadHeartbeat {
        /// Channel of the heartbeat.
        channel: u16,
        /// Its payload size.
        size: u32,
    },
    /// A method frame named a class/method pair that AMQP 0-9-1 (with RabbitMQ's extensions)
    /// does not define.
    #[error("unknown method {class_id}.{method_id}")]
    UnknownMethod {
        /// Class id from the frame.
        class_id: u16,
        /// Method id from the frame.
        method_id: u16,
    },
    /// A frame payload ended in the middle of a field.
    #[error("{context}: payload ended while reading {field}")]
    Truncated {
        /// What was being decoded, e.g. `"basic.publish"` or `"content header"`.
        context: &'static str,
        /// The field being read.
        field: &'static str,
        /// Class and method id, when decoding a method.
        class_method: Option<(u16, u16)>,
    },
    /// A frame payload had bytes left after its last field.
    #[error("{context}: {extra} unexpected trailing bytes")]
    TrailingBytes {
        /// What was being decoded.
        context: &'static str,
        /// How many bytes were left over.
        extra: usize,
        /// Class and method id, when decoding a method.
        class_method: Option<(u16, u16)>,
    },
    /// A field table or array held a value type octet this codec does not know.
    #[error("unknown field value type {tag:#04x} ({})", char::from(*tag))]
    UnknownFieldType {
        /// The type octet.
        tag: u8,
        /// Class and method id, when decoding a method's arguments.
        class_method: Option<(u16, u16)>,
    },
    /// Field tables/arrays nested deeper than [`crate::MAX_NESTING_DEPTH`].
    #[error("field tables nested deeper than {limit}")]
    NestingTooDeep {
        /// The limit that was hit.
        limit: usize,
        /// Class and method id, when decoding a method's arguments.
        class_method: Option<(u16, u16)>,
    },
    /// A field table or array declared a byte length that does not match its contents.
    #[error("field table/array length mismatch")]
    FieldLengthMismatch,
    /// Content header property flags with bits set that name no property (or a continuation).
    #[error("content header property flags {flags:#06x} set undefined bits")]
    BadPropertyFlags {
        /// The flags word.
        flags: u16,
    },
    /// A short string would exceed 255 bytes.
    #[error("short string of {len} bytes exceeds 255")]
    ShortStrTooLong {
        /// Its length.
        len: usize,
    },
    /// A long string, table or frame payload would exceed `u32::MAX` bytes (encoding only).
    #[error("{what} of {len} bytes exceeds the 32-bit length field")]
    TooLong {
        /// What was too long.
        what: &'static str,
        /// Its length.
        len: usize,
    },
    /// `frame_max` too small to carry even one body byte per frame (encoding only).
    #[error("frame_max {frame_max} is too small")]
    FrameMaxTooSmall {
        /// The limit given.
        frame_max: u32,
    },
    /// A frame arrived that the channel's state does not allow: a content header or body with
    /// no content-bearing method before it, a method while content was still expected, a header
    /// whose class differs from its method's, or body bytes beyond the declared body size.
    #[error("unexpected {got} frame on channel {channel}, expected {expected}")]
    UnexpectedFrame {
        /// The channel.
        channel: u16,
        /// What the channel was waiting for.
        expected: &'static str,
        /// What arrived.
        got: &'static str,
        /// The content-bearing method being assembled, if any.
        class_method: Option<(u16, u16)>,
    },
    /// A content header declared a body larger than the configured cap. A channel error
    /// (406 PRECONDITION_FAILED, as RabbitMQ replies to an oversized message).
    #[error("message body of {size} bytes exceeds the maximum of {max}")]
    BodyTooLarge {
        /// Declared body size.
        size: u64,
        /// The configured cap.
        max: u64,
        /// The content-bearing method.
        class_method: (u16, u16),
    },
}

impl Error {
    /// The reply code the broker must send for this error.
    ///
    /// ```
    /// use warren_amqp::{Error, ReplyCode};
    /// let e = Error::BadFrameEnd { found: 0 };
    /// assert_eq!(e.reply_code(), ReplyCode::FrameError);
    /// assert_eq!(e.reply_code().code(), 501);
    /// ```
    pub fn reply_code(&self) -> ReplyCode {
        match self {
            Error::FrameTooLarge { .. }
            | Error::BadFrameEnd { .. }
            | Error::UnknownFrameType { .. }
            | Error::BadHeartbeat { .. }
            | Error::Truncated { .. }
            | Error::TrailingBytes { .. }
            | Error::FieldLengthMismatch => ReplyCode::FrameError,
            Error::UnknownFieldType { .. }
            | Error::NestingTooDeep { .. }
            | Error::BadPropertyFlags { .. }
            | Error::ShortStrTooLong { .. } => ReplyCode::SyntaxError,
            Error::UnknownMethod { .. } => ReplyCode::NotImplemented,
            Error::UnexpectedFrame { .. } => ReplyCode::UnexpectedFrame,
            Error::BodyTooLarge { .. } => ReplyCode::PreconditionFailed,
            Error::TooLong { .. } | Error::FrameMaxTooSmall { .. } => ReplyCode::InternalError,
        }
    }

    /// Class and method id of the method being decoded or assembled when the error happened,
    /// for the `class-id`/`method-id` fields of `connection.close`; `None` when not known.
    pub fn class_method(&self) -> Option<(u16, u16)> {
        match self {
            Error::UnknownMethod {
                class_id,
                method_id,
            } => Some((*class_id, *method_id)),
            Error::Truncated { class_method, .. }
            | Error::TrailingBytes { class_method, .. }
            | Error::UnknownFieldType { class_method, .. }
            | Error::NestingTooDeep { class_method, .. }
            | Error::UnexpectedFrame { class_method, .. } => *class_method,
            Error::BodyTooLarge { class_method, .. } => Some(*class_method),
            _ => None,
        }
    }

    /// True when the error closes the whole connection (a hard error), false when only the
    /// channel is closed.
    pub fn is_connection_error(&self) -> bool {
        self.reply_code().is_hard_error()
    }

    /// Attaches the class/method id to a field-level error raised while decoding a method.
    pub(crate) fn in_method(self, class_id: u16, method_id: u16) -> Self {
        let here = Some((class_id, method_id));
        match self {
            Error::UnknownFieldType { tag, .. } => Error::UnknownFieldType {
                tag,
                class_method: here,
            },
            Error::NestingTooDeep { limit, .. } => Error::NestingTooDeep {
                limit,
                class_method: here,
            },
            Error::Truncated { context, field, .. } => Error::Truncated {
                context,
                field,
                class_method: Some((class_id, method_id)),
            },
            Error::TrailingBytes { context, extra, .. } => Error::TrailingBytes {
                context,
                extra,
                class_method: Some((class_id, method_id)),
            },
            other => other,
        }
    }
}
