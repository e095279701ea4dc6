//! Validation of a (routing key, payload) pair: the entry point of the broker's exchange policy.

use std::sync::OnceLock;

use serde_json::{Map, Value};

use crate::catalogue::{catalogue, command_index, Command, CommandSpec};
use crate::device::Device;
use crate::error::ValidationError;
use crate::message::{Message, UnknownCommand};
use crate::routing_key::RoutingKey;
use crate::rules::{found, Ctx, Rule};

/// Where a valid message goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Route {
    /// Published on `webos.topic` with this key (to `key.recipient`'s queue).
    Key(RoutingKey),
    /// Published on `webos.fanout` (to every device); the routing key is not looked at.
    Broadcast,
}

/// A message that passed validation: where it goes and what it says.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidMessage {
    /// The parsed routing key, or broadcast.
    pub route: Route,
    /// The typed message (its payload fields typed by the catalogue, or kept as they came for
    /// an unknown command).
    pub message: Message,
}

impl ValidMessage {
    /// The sending device (`Producer`).
    pub fn producer(&self) -> Device {
        self.message.producer
    }

    /// The catalogue's entry for the command, `None` for an unknown command.
    pub fn spec(&self) -> Option<&'static CommandSpec> {
        command_index(self.message.command.name()).and_then(|i| catalogue().get(i))
    }
}

/// Validation settings. [`Validator::new`] (also `Default`) accepts unknown commands and unknown
/// fields, so the format stays open; the broker may tighten either.
///
/// What "the sender" means: the routing key's DEVICE word names the **recipient**
/// (`webos.android.info` is a message *to* android); the payload's `Producer` field names the
/// sender. The validator checks that `Producer` is a device and, for a catalogued command, that
/// the catalogue lets that device send it, lets the key's device receive it and lets it travel
/// as the key's type (see [the catalogue](mod@crate::catalogue)). It cannot know which device really published:
/// a broker that knows (say, from the login) compares that with [`ValidMessage::producer`].
///
/// ```
/// use warren_car2home::{Validator, ValidationError};
///
/// let mut v = Validator::new();
/// v.reject_unknown_commands = true;
/// let err = v
///     .validate("webos.server.info", br#"{"Producer":"car","command":"honk"}"#)
///     .unwrap_err();
/// assert_eq!(err, ValidationError::UnknownCommand { command: "honk".into() });
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Validator {
    /// Larger payloads are refused before parsing ([`ValidationError::PayloadTooLarge`]).
    /// Default 1 MiB (a camera frame fits).
    pub max_payload_len: usize,
    /// Refuse commands the catalogue does not know ([`ValidationError::UnknownCommand`]).
    /// Default false.
    pub reject_unknown_commands: bool,
    /// Refuse fields a catalogued command does not have ([`ValidationError::UnexpectedField`]).
    /// Default false.
    pub reject_unknown_fields: bool,
}

/// The default payload limit: 1 MiB.
pub const DEFAULT_MAX_PAYLOAD_LEN: usize = 1 << 20;

static DEFAULT: Validator = Validator {
    max_payload_len: DEFAULT_MAX_PAYLOAD_LEN,
    reject_unknown_commands: false,
    reject_unknown_fields: false,
};

impl Default for Validator {
    fn default() -> Self {
        Validator::new()
    }
}

/// The catalogue's field rules, compiled once from the payload schemas.
fn rules() -> &'static [Rule] {
    static RULES: OnceLock<Vec<Rule>> = OnceLock::new();
    RULES.get_or_init(|| {
        catalogue()
            .iter()
            .map(|spec| {
                // Unsupported keywords are kept empty by a unit test; here they are ignored.
                Rule::compile(&spec.payload_schema(), &mut Vec::new())
            })
            .collect()
    })
}

/// Validates one message published on `webos.topic` with the default [`Validator`].
///
/// ```
/// use warren_car2home::{validate, Command, Device, Route, ValidationError};
///
/// let ok = validate(
///     "webos.server.info",
///     br#"{"Producer":"android","command":"signup","UID":"eAMHGLmiBGO76PIQ54O9CpsqTb23","name":"Hong-Gil-Dong"}"#,
/// )?;
/// assert_eq!(ok.producer(), Device::Android);
/// assert!(matches!(ok.message.command, Command::Signup(ref s) if s.name == "Hong-Gil-Dong"));
///
/// // A sign-up goes to the server; addressed to the car it is refused, and the error says why.
/// let err = validate(
///     "webos.car.info",
///     br#"{"Producer":"android","command":"signup","UID":"u1","name":"Kim"}"#,
/// )
/// .unwrap_err();
/// assert_eq!(err.code(), "recipient-not-allowed");
/// assert_eq!(
///     err.to_string(),
///     "routing key `webos.car.info`: `signup` goes to server, not to car"
/// );
/// # Ok::<(), ValidationError>(())
/// ```
pub fn validate(routing_key: &str, payload: &[u8]) -> Result<ValidMessage, ValidationError> {
    DEFAULT.validate(routing_key, payload)
}

impl Validator {
    /// The default settings; also compiles the catalogue's rules now, so the first message
    /// does not pay for it.
    pub fn new() -> Self {
        rules();
        DEFAULT.clone()
    }

    /// Validates one message published on `webos.topic`: the key first (no parsing if it is
    /// wrong), then the payload, parsed once.
    pub fn validate(
        &self,
        routing_key: &str,
        payload: &[u8],
    ) -> Result<ValidMessage, ValidationError> {
        let key = RoutingKey::parse(routing_key)?;
        self.validate_route(Route::Key(key), payload)
    }

    /// Validates one message published on `webos.fanout` (its routing key is not looked at):
    /// only `emergency` and unknown commands may be broadcast.
    pub fn validate_broadcast(&self, payload: &[u8]) -> Result<ValidMessage, ValidationError> {
        self.validate_route(Route::Broadcast, payload)
    }

    /// Validates a payload for an already-parsed route.
    pub fn validate_route(
        &self,
        route: Route,
        payload: &[u8],
    ) -> Result<ValidMessage, ValidationError> {
        if payload.len() > self.max_payload_len {
            return Err(ValidationError::PayloadTooLarge {
                size: payload.len(),
                max: self.max_payload_len,
            });
        }
        let value: Value = serde_json::from_slice(payload).map_err(not_json)?;
        let Value::Object(mut fields) = value else {
            return Err(ValidationError::NotAnObject {
                found: found(&value),
            });
        };
        let producer = take_producer(&mut fields)?;
        let command = take_command(&mut fields)?;
        let Some(index) = command_index(&command) else {
            if self.reject_unknown_commands {
                return Err(ValidationError::UnknownCommand { command });
            }
            return Ok(ValidMessage {
                route,
                message: Message::new(producer, UnknownCommand { command, fields }),
            });
        };
        let (Some(spec), Some(rule)) = (catalogue().get(index), rules().get(index)) else {
            return Err(ValidationError::Payload {
                command,
                reason: "catalogue entry without compiled rules".to_owned(),
            });
        };
        check_direction(spec, producer, route)?;
        let fields = Value::Object(fields);
        let ctx = Ctx {
            reject_extra: self.reject_unknown_fields,
            command: spec.name,
        };
        if !rule.accepts(&fields, ctx) {
            rule.check(&fields, &mut String::new(), ctx)?;
            return Err(ValidationError::Payload {
                command,
                reason: "field rules disagree with themselves".to_owned(),
            });
        }
        let Value::Object(fields) = fields else {
            return Err(ValidationError::Payload {
                command,
                reason: "payload stopped being an object".to_owned(),
            });
        };
        let typed: Command = (spec.decode)(fields).map_err(|e| ValidationError::Payload {
            command,
            reason: e.to_string(),
        })?;
        Ok(ValidMessage {
            route,
            message: Message::new(producer, typed),
        })
    }
}

fn not_json(e: serde_json::Error) -> ValidationError {
    let full = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    let reason = full.strip_suffix(&suffix).unwrap_or(&full).to_owned();
    ValidationError::NotJson {
        line: e.line(),
        column: e.column(),
        reason,
    }
}

const DEVICES: &str = r#"one of "server", "smarthome", "car", "android", "camera""#;

fn take_producer(fields: &mut Map<String, Value>) -> Result<Device, ValidationError> {
    match fields.remove("Producer") {
        None => Err(ValidationError::MissingField {
            path: "/Producer".to_owned(),
            expected: DEVICES.to_owned(),
        }),
        Some(Value::String(s)) => s
            .parse::<Device>()
            .map_err(|e| ValidationError::UnknownProducer { found: e.found }),
        Some(other) => Err(ValidationError::WrongType {
            path: "/Producer".to_owned(),
            expected: DEVICES.to_owned(),
            found: found(&other),
        }),
    }
}

fn take_command(fields: &mut Map<String, Value>) -> Result<String, ValidationError> {
    match fields.remove("command") {
        None => Err(ValidationError::MissingField {
            path: "/command".to_owned(),
            expected: "string naming the command".to_owned(),
        }),
        Some(Value::String(s)) if s.is_empty() => Err(ValidationError::InvalidValue {
            path: "/command".to_owned(),
            expected: "non-empty string naming the command".to_owned(),
            found: "string \"\"".to_owned(),
        }),
        Some(Value::String(s)) => Ok(s),
        Some(other) => Err(ValidationError::WrongType {
            path: "/command".to_owned(),
            expected: "string naming the command".to_owned(),
            found: found(&other),
        }),
    }
}

fn check_direction(
    spec: &'static CommandSpec,
    producer: Device,
    route: Route,
) -> Result<(), ValidationError> {
    if !spec.senders.contains(&producer) {
        return Err(ValidationError::SenderNotAllowed {
            command: spec.name.to_owned(),
            producer,
            allowed: spec.senders,
        });
    }
    match route {
        Route::Broadcast if !spec.broadcast => Err(ValidationError::NotBroadcast {
            command: spec.name.to_owned(),
        }),
        Route::Broadcast => Ok(()),
        Route::Key(key) if !spec.recipients.contains(&key.recipient) => {
            Err(ValidationError::RecipientNotAllowed {
                command: spec.name.to_owned(),
                key,
                allowed: spec.recipients,
            })
        }
        Route::Key(key) if !spec.message_types.contains(&key.message_type) => {
            Err(ValidationError::MessageTypeNotAllowed {
                command: spec.name.to_owned(),
                key,
                allowed: spec.message_types,
            })
        }
        Route::Key(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_catalogue_schema_compiles_without_unsupported_keywords() {
        for spec in catalogue() {
            let mut unsupported = Vec::new();
            Rule::compile(&spec.payload_schema(), &mut unsupported);
            assert!(unsupported.is_empty(), "{}: {unsupported:?}", spec.name);
        }
        assert_eq!(rules().len(), catalogue().len());
    }
}
