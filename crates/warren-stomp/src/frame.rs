//! The frame: a command, ordered headers and a body.

use bytes::Bytes;

use crate::command::{Command, Version};
use crate::error::HeaderError;
use crate::header::{names, Headers};
use crate::negotiate::{AckMode, HeartBeat};

/// One STOMP frame.
///
/// Headers are kept as received (including `content-length`, and repeats); the body is a
/// `Bytes` slice of the buffer it was decoded from. When encoding, the encoder writes
/// `content-length` itself (see [`Frame::encode`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Frame {
    /// The command.
    pub command: Command,
    /// The headers in wire order.
    pub headers: Headers,
    /// The body (empty when the frame has none).
    pub body: Bytes,
}

impl Frame {
    /// A frame with no headers and no body.
    pub fn new(command: Command) -> Frame {
        Frame {
            command,
            headers: Headers::new(),
            body: Bytes::new(),
        }
    }

    /// Builder style: appends a header.
    ///
    /// ```
    /// use warren_stomp::{Command, Frame};
    /// let send = Frame::new(Command::Send)
    ///     .header("destination", "/queue/car")
    ///     .body("hello");
    /// assert_eq!(send.destination(), Some("/queue/car"));
    /// ```
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Frame {
        self.headers.append(name, value);
        self
    }

    /// Builder style: sets the body.
    pub fn body(mut self, body: impl Into<Bytes>) -> Frame {
        self.body = body.into();
        self
    }

    /// `destination` (SEND, SUBSCRIBE, MESSAGE).
    pub fn destination(&self) -> Option<&str> {
        self.headers.get(names::DESTINATION)
    }

    /// `id` (SUBSCRIBE, UNSUBSCRIBE; ACK/NACK in 1.2).
    pub fn id(&self) -> Option<&str> {
        self.headers.get(names::ID)
    }

    /// `subscription` (MESSAGE; ACK/NACK in 1.1).
    pub fn subscription(&self) -> Option<&str> {
        self.headers.get(names::SUBSCRIPTION)
    }

    /// `message-id` (MESSAGE; ACK/NACK in 1.0 and 1.1).
    pub fn message_id(&self) -> Option<&str> {
        self.headers.get(names::MESSAGE_ID)
    }

    /// The id a client acknowledges a MESSAGE or names in ACK/NACK with, by `version`: the
    /// `ack` header of a 1.2 MESSAGE or the `id` of a 1.2 ACK/NACK; `message-id` before 1.2.
    pub fn ack_id(&self, version: Version) -> Option<&str> {
        match (version, self.command) {
            (Version::V1_2, Command::Message) => self.headers.get(names::ACK),
            (Version::V1_2, _) => self.id(),
            _ => self.message_id(),
        }
    }

    /// `receipt` (any client frame): the client wants a RECEIPT.
    pub fn receipt(&self) -> Option<&str> {
        self.headers.get(names::RECEIPT)
    }

    /// `receipt-id` (RECEIPT, ERROR).
    pub fn receipt_id(&self) -> Option<&str> {
        self.headers.get(names::RECEIPT_ID)
    }

    /// `transaction`.
    pub fn transaction(&self) -> Option<&str> {
        self.headers.get(names::TRANSACTION)
    }

    /// `content-type`.
    pub fn content_type(&self) -> Option<&str> {
        self.headers.get(names::CONTENT_TYPE)
    }

    /// `content-length` as a number (`Ok(None)` when absent). A decoded frame's value equals
    /// the body length when present: the decoder used it to find the body.
    pub fn content_length(&self) -> Result<Option<usize>, HeaderError> {
        match self.headers.get(names::CONTENT_LENGTH) {
            None => Ok(None),
            Some(v) => parse_content_length(v.as_bytes()).map(Some).ok_or_else(|| {
                HeaderError::InvalidValue {
                    name: names::CONTENT_LENGTH,
                    value: v.to_string(),
                }
            }),
        }
    }

    /// The `ack` mode of a SUBSCRIBE (`auto` when absent).
    pub fn ack_mode(&self) -> Result<AckMode, HeaderError> {
        self.headers
            .get(names::ACK)
            .map_or(Ok(AckMode::Auto), AckMode::parse)
    }

    /// `heart-beat` of CONNECT/STOMP/CONNECTED (`0,0` when absent).
    pub fn heart_beat(&self) -> Result<HeartBeat, HeaderError> {
        self.headers
            .get(names::HEART_BEAT)
            .map_or(Ok(HeartBeat::NONE), HeartBeat::parse)
    }

    /// `accept-version` of CONNECT/STOMP (absent: a 1.0 client); see
    /// [`negotiate_version`](crate::negotiate_version).
    pub fn accept_version(&self) -> Option<&str> {
        self.headers.get(names::ACCEPT_VERSION)
    }

    /// `version` of CONNECTED, parsed (`Ok(None)` when absent, which means 1.0).
    pub fn version(&self) -> Result<Option<Version>, HeaderError> {
        match self.headers.get(names::VERSION) {
            None => Ok(None),
            Some(v) => Version::parse(v)
                .map(Some)
                .ok_or_else(|| HeaderError::InvalidValue {
                    name: names::VERSION,
                    value: v.to_string(),
                }),
        }
    }

    /// `host` of CONNECT/STOMP (the virtual host).
    pub fn host(&self) -> Option<&str> {
        self.headers.get(names::HOST)
    }

    /// `login` of CONNECT/STOMP.
    pub fn login(&self) -> Option<&str> {
        self.headers.get(names::LOGIN)
    }

    /// `passcode` of CONNECT/STOMP.
    pub fn passcode(&self) -> Option<&str> {
        self.headers.get(names::PASSCODE)
    }

    /// `message` of ERROR.
    pub fn message(&self) -> Option<&str> {
        self.headers.get(names::MESSAGE)
    }
}

/// Parses a `content-length` value: decimal digits, spaces around them allowed (1.0 peers
/// write `content-length: 5`).
pub(crate) fn parse_content_length(value: &[u8]) -> Option<usize> {
    let digits = value.trim_ascii();
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0usize, |n, &b| {
        if b.is_ascii_digit() {
            n.checked_mul(10)?.checked_add(usize::from(b - b'0'))
        } else {
            None
        }
    })
}
