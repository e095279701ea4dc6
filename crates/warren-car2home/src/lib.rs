//! Car2Home message schemas: routing keys, devices, typed JSON payloads and their validation.
//!
//! Car2Home is a smart-home + connected-car system whose devices talk through an AMQP/MQTT
//! broker. Every message goes through the topic exchange `webos.topic` with a routing key
//! `webos.DEVICE.TYPE` — DEVICE is the **recipient** (`server`, `smarthome`, `car`, `android`,
//! `camera`), TYPE is `info`, `error` (could not do it) or `warning` (done, but something went
//! wrong) — and carries a JSON object that starts with the sender and the command:
//! `{"Producer":"android","command":"signup","UID":"…","name":"Hong-Gil-Dong"}`. Emergencies go
//! to every device through the fanout exchange `webos.fanout`.
//!
//! This crate is what any Rust device, service or broker needs to speak that protocol:
//! - [`RoutingKey`], [`Device`], [`MessageType`]: parse, format and check routing keys;
//! - [`Envelope`] (untyped) and [`Message`] (typed by the [catalogue](mod@catalogue) of commands, with an
//!   [`UnknownCommand`] form that round-trips untouched) for payloads, with serde;
//! - [`validate`] / [`Validator`]: check a (routing key, payload) pair in one parse, with
//!   errors that name the field, what was expected and what was found, and convert to a
//!   dead-letter reason ([`ValidationError::reason`]);
//! - [`schema`]: JSON Schema files generated from the types, for Arduino, Android and Python;
//! - [`topology`]: the default exchanges, queues and bindings as plain data.
//!
//! It is **not** a client or a broker: it opens no sockets and depends on no broker crate. The
//! broker core calls [`Validator::validate`] from an exchange policy and translates
//! [`topology::Topology`] into declarations.
//!
//! # Example
//!
//! A device builds a message, the broker validates it:
//!
//! ```
//! use warren_car2home::payload::{SensorKind, SensorReport};
//! use warren_car2home::{validate, Command, Device, Message, MessageType, RoutingKey};
//!
//! // The smart-home board reports a temperature to the server.
//! let key = RoutingKey::new(Device::Server, MessageType::Info);
//! let msg = Message::new(
//!     Device::Smarthome,
//!     SensorReport { sensor: SensorKind::Temperature, value: 23.5, unit: None },
//! );
//! let body = serde_json::to_vec(&msg)?;
//! assert_eq!(body, br#"{"Producer":"smarthome","command":"sensor","sensor":"temperature","value":23.5}"#);
//!
//! // The broker's policy on `webos.topic`:
//! let valid = validate(&key.to_string(), &body)?;
//! assert_eq!(valid.message, msg);
//!
//! // A reading out of its type is refused with a precise reason.
//! let err = validate(
//!     "webos.server.info",
//!     br#"{"Producer":"smarthome","command":"sensor","sensor":"temperature","value":"hot"}"#,
//! )
//! .unwrap_err();
//! assert_eq!(err.code(), "wrong-type");
//! assert_eq!(err.to_string(), r#"/value: expected number, found string "hot""#);
//!
//! // Commands the catalogue does not know pass through untouched.
//! let v = validate("webos.car.info", br#"{"Producer":"server","command":"seat_heat","on":true}"#)?;
//! assert!(matches!(v.message.command, Command::Unknown(_)));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod catalogue;
mod device;
mod error;
mod message;
pub mod payload;
mod routing_key;
mod rules;
pub mod schema;
pub mod topology;
mod validate;

pub use catalogue::{catalogue, lookup_command, Command, CommandSpec, Payload};
pub use device::{Device, MessageType, UnknownDevice, UnknownMessageType};
pub use error::{DeadLetterReason, ValidationError};
pub use message::{Envelope, Message, UnknownCommand};
pub use routing_key::{RoutingKey, RoutingKeyError, KEY_PREFIX};
pub use validate::{validate, Route, ValidMessage, Validator, DEFAULT_MAX_PAYLOAD_LEN};
