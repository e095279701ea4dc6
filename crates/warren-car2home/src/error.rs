//! Why a (routing key, payload) pair is not a valid Car2Home message.

use std::fmt::{self, Display};

use crate::device::{Device, MessageType};
use crate::routing_key::{RoutingKey, RoutingKeyError};

/// Why a message is invalid. Each variant is one named case with a stable machine-readable
/// [`code`](ValidationError::code); those that concern one field give its JSON Pointer
/// [`path`](ValidationError::path) (`/UID`, `/readings/0/value`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ValidationError {
    /// The routing key is not `webos.DEVICE.TYPE`.
    #[error(transparent)]
    RoutingKey(#[from] RoutingKeyError),
    /// The payload is larger than the validator accepts.
    #[error("payload is {size} bytes; at most {max} are accepted")]
    PayloadTooLarge {
        /// The payload's size in bytes.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// The payload is not JSON (or not UTF-8).
    #[error("payload is not JSON: {reason} at line {line} column {column}")]
    NotJson {
        /// Line of the first error (1-based).
        line: usize,
        /// Column of the first error (1-based).
        column: usize,
        /// What the JSON parser found wrong.
        reason: String,
    },
    /// The payload is JSON but not an object.
    #[error("payload must be a JSON object, found {found}")]
    NotAnObject {
        /// What it is instead.
        found: String,
    },
    /// A required field is missing.
    #[error("{path}: missing field; expected {expected}")]
    MissingField {
        /// Where the field belongs.
        path: String,
        /// What it should hold.
        expected: String,
    },
    /// A field has the wrong JSON type.
    #[error("{path}: expected {expected}, found {found}")]
    WrongType {
        /// The field.
        path: String,
        /// What it should hold.
        expected: String,
        /// What it holds.
        found: String,
    },
    /// A field has the right type but a value out of range, of the wrong length, or not one of
    /// the allowed values.
    #[error("{path}: expected {expected}, found {found}")]
    InvalidValue {
        /// The field.
        path: String,
        /// What it should hold.
        expected: String,
        /// What it holds.
        found: String,
    },
    /// A field the command does not have (only when the validator rejects unknown fields).
    #[error("{path}: unexpected field for command `{command}`")]
    UnexpectedField {
        /// The field.
        path: String,
        /// The command.
        command: String,
    },
    /// `Producer` is a string that names no device.
    #[error(
        "/Producer: `{found}` is not a device \
         (expected one of server, smarthome, car, android, camera)"
    )]
    UnknownProducer {
        /// The `Producer` value.
        found: String,
    },
    /// The command is not in the catalogue (only when the validator rejects unknown commands).
    #[error("/command: `{command}` is not in the catalogue")]
    UnknownCommand {
        /// The `command` value.
        command: String,
    },
    /// The `Producer` may not send this command.
    #[error("/Producer: `{command}` is sent by {}, not by {producer}", list(.allowed))]
    SenderNotAllowed {
        /// The command.
        command: String,
        /// The `Producer` value.
        producer: Device,
        /// Who may send it.
        allowed: &'static [Device],
    },
    /// The routing key addresses a device this command is not for.
    #[error("routing key `{key}`: `{command}` goes to {}, not to {}", list(.allowed), .key.recipient)]
    RecipientNotAllowed {
        /// The command.
        command: String,
        /// The routing key.
        key: RoutingKey,
        /// Who may receive it.
        allowed: &'static [Device],
    },
    /// The routing key's message type does not fit the command (`report` is for `error` and
    /// `warning`; other catalogued commands are `info`).
    #[error("routing key `{key}`: `{command}` travels as {}, not as {}", list(.allowed), .key.message_type)]
    MessageTypeNotAllowed {
        /// The command.
        command: String,
        /// The routing key.
        key: RoutingKey,
        /// The types it may travel as.
        allowed: &'static [MessageType],
    },
    /// A catalogued command that may not be broadcast on `webos.fanout`.
    #[error(
        "/command: `{command}` may not be broadcast; only `emergency` and unknown commands may"
    )]
    NotBroadcast {
        /// The command.
        command: String,
    },
    /// The fields passed the schema but the typed payload still refused them (a schema and type
    /// out of step: a bug in this crate, reported rather than hidden).
    #[error("payload of `{command}` does not fit its type: {reason}")]
    Payload {
        /// The command.
        command: String,
        /// The deserializer's complaint.
        reason: String,
    },
}

fn list<T: Display>(items: &[T]) -> String {
    let mut s = String::new();
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        s.push_str(&item.to_string());
    }
    s
}

impl ValidationError {
    /// Every code [`code`](Self::code) can return.
    pub const CODES: [&'static str; 15] = [
        "bad-routing-key",
        "payload-too-large",
        "not-json",
        "not-an-object",
        "missing-field",
        "wrong-type",
        "invalid-value",
        "unexpected-field",
        "unknown-producer",
        "unknown-command",
        "sender-not-allowed",
        "recipient-not-allowed",
        "message-type-not-allowed",
        "not-broadcast",
        "invalid-payload",
    ];

    /// A short, stable, machine-readable code for this case (one per variant).
    pub const fn code(&self) -> &'static str {
        match self {
            ValidationError::RoutingKey(_) => "bad-routing-key",
            ValidationError::PayloadTooLarge { .. } => "payload-too-large",
            ValidationError::NotJson { .. } => "not-json",
            ValidationError::NotAnObject { .. } => "not-an-object",
            ValidationError::MissingField { .. } => "missing-field",
            ValidationError::WrongType { .. } => "wrong-type",
            ValidationError::InvalidValue { .. } => "invalid-value",
            ValidationError::UnexpectedField { .. } => "unexpected-field",
            ValidationError::UnknownProducer { .. } => "unknown-producer",
            ValidationError::UnknownCommand { .. } => "unknown-command",
            ValidationError::SenderNotAllowed { .. } => "sender-not-allowed",
            ValidationError::RecipientNotAllowed { .. } => "recipient-not-allowed",
            ValidationError::MessageTypeNotAllowed { .. } => "message-type-not-allowed",
            ValidationError::NotBroadcast { .. } => "not-broadcast",
            ValidationError::Payload { .. } => "invalid-payload",
        }
    }

    /// The JSON Pointer of the offending field, when the error concerns one.
    pub fn path(&self) -> Option<&str> {
        match self {
            ValidationError::MissingField { path, .. }
            | ValidationError::WrongType { path, .. }
            | ValidationError::InvalidValue { path, .. }
            | ValidationError::UnexpectedField { path, .. } => Some(path),
            ValidationError::UnknownProducer { .. } | ValidationError::SenderNotAllowed { .. } => {
                Some("/Producer")
            }
            ValidationError::UnknownCommand { .. } | ValidationError::NotBroadcast { .. } => {
                Some("/command")
            }
            _ => None,
        }
    }

    /// The error as a dead-letter reason: code, path and human text, ready for message headers.
    ///
    /// ```
    /// use warren_car2home::validate;
    ///
    /// let err = validate("webos.server.info", br#"{"Producer":"android","command":"signup","name":"Kim"}"#)
    ///     .unwrap_err();
    /// let reason = err.reason();
    /// assert_eq!(reason.code, "missing-field");
    /// assert_eq!(reason.path.as_deref(), Some("/UID"));
    /// assert_eq!(reason.text, "/UID: missing field; expected string of 1 to 128 characters");
    /// ```
    pub fn reason(&self) -> DeadLetterReason {
        DeadLetterReason {
            code: self.code(),
            path: self.path().map(str::to_owned),
            text: self.to_string(),
        }
    }
}

/// Why a message was dead-lettered, as the broker writes it into headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetterReason {
    /// [`ValidationError::code`]; header [`DeadLetterReason::CODE_HEADER`].
    pub code: &'static str,
    /// [`ValidationError::path`]; header [`DeadLetterReason::PATH_HEADER`] when present.
    pub path: Option<String>,
    /// The error's `Display` text; header [`DeadLetterReason::TEXT_HEADER`].
    pub text: String,
}

impl DeadLetterReason {
    /// Header carrying the code.
    pub const CODE_HEADER: &'static str = "x-car2home-error";
    /// Header carrying the JSON Pointer of the field.
    pub const PATH_HEADER: &'static str = "x-car2home-error-path";
    /// Header carrying the human text.
    pub const TEXT_HEADER: &'static str = "x-car2home-error-text";

    /// The headers to add, as (name, value) pairs, in the order above.
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        let mut h = vec![(Self::CODE_HEADER, self.code.to_owned())];
        if let Some(p) = &self.path {
            h.push((Self::PATH_HEADER, p.clone()));
        }
        h.push((Self::TEXT_HEADER, self.text.clone()));
        h
    }
}

impl Display for DeadLetterReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.text)
    }
}
