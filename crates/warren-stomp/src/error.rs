//! Decoding, encoding and header errors.

use std::fmt;

use crate::command::{Command, Version};

/// Which configurable limit of [`Limits`](crate::Limits) a frame broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Limit {
    /// [`Limits::max_command_len`](crate::Limits::max_command_len): the command line.
    CommandLength,
    /// [`Limits::max_header_line_len`](crate::Limits::max_header_line_len): one header line.
    HeaderLineLength,
    /// [`Limits::max_headers`](crate::Limits::max_headers): the number of headers.
    HeaderCount,
    /// [`Limits::max_body_len`](crate::Limits::max_body_len): the body.
    BodyLength,
}

impl Limit {
    /// The limit's field name in [`Limits`](crate::Limits).
    pub const fn as_str(self) -> &'static str {
        match self {
            Limit::CommandLength => "max_command_len",
            Limit::HeaderLineLength => "max_header_line_len",
            Limit::HeaderCount => "max_headers",
            Limit::BodyLength => "max_body_len",
        }
    }
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Limit::CommandLength => "command line length",
            Limit::HeaderLineLength => "header line length",
            Limit::HeaderCount => "header count",
            Limit::BodyLength => "body length",
        })
    }
}

/// Bytes that can never become a valid frame. After an error the stream is out of step: a
/// server sends an ERROR frame (see [`DecodeError::error_frame`]) and closes the connection.
///
/// Header positions (`header`) count from 0 in the order received.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// A frame exceeds one of the configured [`Limits`](crate::Limits).
    #[error("{limit} exceeds the limit of {max}")]
    LimitExceeded {
        /// Which limit.
        limit: Limit,
        /// The configured maximum (bytes, or headers for [`Limit::HeaderCount`]).
        max: usize,
    },
    /// The first line of a frame is not a STOMP command.
    #[error("unknown command {command:?}")]
    UnknownCommand {
        /// The line received (lossily decoded as UTF-8).
        command: String,
    },
    /// A header line without a `:`.
    #[error("header {header}: no ':' between name and value")]
    MissingColon {
        /// Position of the header.
        header: usize,
    },
    /// A header line that starts with `:`.
    #[error("header {header}: empty header name")]
    EmptyHeaderName {
        /// Position of the header.
        header: usize,
    },
    /// A carriage return that does not end a line (a raw CR can never be re-encoded, and 1.2
    /// escapes it as `\r`).
    #[error("{}: carriage return not followed by line feed", line_name(*.header))]
    BareCarriageReturn {
        /// Position of the header, or `None` for the command line.
        header: Option<usize>,
    },
    /// A backslash sequence the version does not define (`\t`, `\r` in 1.1, a trailing `\`).
    #[error("header {header}: undefined escape sequence '\\{}'", escape_char(*.sequence))]
    InvalidEscape {
        /// Position of the header.
        header: usize,
        /// The byte after the backslash, or `None` when the backslash ends the name or value.
        sequence: Option<u8>,
    },
    /// A header name or value that is not UTF-8 after unescaping.
    #[error("header {header}: not valid UTF-8")]
    InvalidUtf8 {
        /// Position of the header.
        header: usize,
    },
    /// The `content-length` header is not a decimal number of octets.
    #[error("content-length {value:?} is not a decimal octet count")]
    InvalidContentLength {
        /// The value received.
        value: String,
    },
    /// The octet after a `content-length` body is not the terminating NUL.
    #[error("expected NUL after the {content_length}-octet body, found byte 0x{found:02X}")]
    MissingNul {
        /// The declared body length.
        content_length: usize,
        /// The byte found instead.
        found: u8,
    },
}

fn line_name(header: Option<usize>) -> String {
    match header {
        Some(h) => format!("header {h}"),
        None => "command line".to_string(),
    }
}

fn escape_char(sequence: Option<u8>) -> String {
    match sequence {
        Some(b) if b.is_ascii_graphic() => char::from(b).to_string(),
        Some(b) => format!("\\x{b:02X}"),
        None => String::new(),
    }
}

impl DecodeError {
    /// The short text a server puts in the `message` header of its ERROR frame.
    pub fn message(&self) -> &'static str {
        match self {
            DecodeError::LimitExceeded { limit, .. } => match limit {
                Limit::CommandLength => "command too long",
                Limit::HeaderLineLength => "header too long",
                Limit::HeaderCount => "too many headers",
                Limit::BodyLength => "frame too large",
            },
            DecodeError::UnknownCommand { .. } => "unknown command",
            DecodeError::InvalidContentLength { .. } => "invalid content-length",
            DecodeError::MissingNul { .. } => "frame not terminated by NUL",
            DecodeError::InvalidEscape { .. } => "invalid header escape",
            _ => "malformed frame",
        }
    }

    /// The ERROR frame a server sends before closing the connection: a `message` header with
    /// [`DecodeError::message`], `content-type: text/plain` and the full error text as body.
    ///
    /// ```
    /// use warren_stomp::{Command, DecodeError, Limit};
    /// let e = DecodeError::LimitExceeded { limit: Limit::HeaderCount, max: 64 };
    /// let frame = e.error_frame();
    /// assert_eq!(frame.command, Command::Error);
    /// assert_eq!(frame.headers.get("message"), Some("too many headers"));
    /// ```
    pub fn error_frame(&self) -> crate::Frame {
        let mut frame = crate::Frame::new(Command::Error);
        frame
            .headers
            .push(crate::Header::new("message", self.message()));
        frame
            .headers
            .push(crate::Header::new("content-type", "text/plain"));
        frame.body = bytes::Bytes::from(self.to_string());
        frame
    }
}

/// A frame that cannot be put on the wire as it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// A header name or value holds an octet this frame cannot carry: a line feed or carriage
    /// return where headers are not escaped (1.0, CONNECT/STOMP/CONNECTED), a carriage return in
    /// 1.1 (which has no `\r` escape), or a `:` in an unescaped header name.
    #[error("{command} at STOMP {version}: header {header} cannot carry byte 0x{byte:02X} in its {}", if *.in_name { "name" } else { "value" })]
    Unencodable {
        /// The frame's command.
        command: Command,
        /// The version encoded for.
        version: Version,
        /// Position of the header.
        header: usize,
        /// Whether the octet is in the name (else the value).
        in_name: bool,
        /// The octet.
        byte: u8,
    },
    /// A header with an empty name.
    #[error("header {header}: empty header name")]
    EmptyHeaderName {
        /// Position of the header.
        header: usize,
    },
}

/// A header value that does not parse as its typed accessor expects.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HeaderError {
    /// The value is not what the header allows.
    #[error("{name}: invalid value {value:?}")]
    InvalidValue {
        /// The header name.
        name: &'static str,
        /// The value received.
        value: String,
    },
}

/// `accept-version` names no version the server supports.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no common STOMP version: client accepts {accepted:?}, server supports {supported}")]
pub struct VersionError {
    /// The client's `accept-version` value.
    pub accepted: String,
    /// The server's versions, comma-separated as for the ERROR frame's `version` header.
    pub supported: String,
}
