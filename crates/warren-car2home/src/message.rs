//! The message as a whole: the envelope (`Producer`, `command`, the rest) and its typed form.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::catalogue::{lookup_command, serialize_unknown, Command};
use crate::device::Device;

/// The untyped form of every Car2Home payload: who sent it, the command, and every other field
/// as it came. Use it to read the header of any message without knowing its command.
///
/// ```
/// use warren_car2home::{Device, Envelope};
///
/// let e: Envelope = serde_json::from_str(
///     r#"{"Producer":"android","command":"signup","UID":"u1","name":"Hong-Gil-Dong"}"#,
/// )?;
/// assert_eq!(e.producer, Device::Android);
/// assert_eq!(e.command, "signup");
/// assert_eq!(e.rest["UID"], "u1");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    /// The sending device.
    #[serde(rename = "Producer")]
    pub producer: Device,
    /// The command's wire name.
    pub command: String,
    /// Every other field (must not repeat `Producer` or `command`).
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

/// A command the catalogue does not know, with its fields (everything but `Producer` and
/// `command`) kept exactly as they came.
#[derive(Debug, Clone, PartialEq)]
pub struct UnknownCommand {
    /// The command's wire name.
    pub command: String,
    /// Every other field. Keys `Producer` and `command` here are ignored when serializing.
    pub fields: Map<String, Value>,
}

impl UnknownCommand {
    pub(crate) fn serialize_as<S: Serializer>(
        &self,
        producer: Device,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serialize_unknown(producer, &self.command, &self.fields, serializer)
    }
}

/// A typed Car2Home message: the producer and the command with its payload.
///
/// Serializes as one flat JSON object, `Producer` first and `command` second, as the seed's
/// examples are written. Deserializing checks types only; use [`validate`](crate::validate) to
/// check ranges, lengths and the catalogue's directions too.
///
/// ```
/// use warren_car2home::{payload::Signup, Command, Device, Message};
///
/// let m = Message::new(
///     Device::Android,
///     Signup { uid: "eAMHGLmiBGO76PIQ54O9CpsqTb23".into(), name: "Hong-Gil-Dong".into() },
/// );
/// let json = serde_json::to_string(&m)?;
/// assert_eq!(
///     json,
///     r#"{"Producer":"android","command":"signup","UID":"eAMHGLmiBGO76PIQ54O9CpsqTb23","name":"Hong-Gil-Dong"}"#
/// );
/// let back: Message = serde_json::from_str(&json)?;
/// assert_eq!(back, m);
/// assert!(matches!(back.command, Command::Signup(_)));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// The sending device (the `Producer` field).
    pub producer: Device,
    /// The command and its payload.
    pub command: Command,
}

impl Message {
    /// A message from `producer` carrying `command` (a payload struct or a [`Command`]).
    pub fn new(producer: Device, command: impl Into<Command>) -> Self {
        Message {
            producer,
            command: command.into(),
        }
    }
}

impl From<UnknownCommand> for Command {
    fn from(u: UnknownCommand) -> Self {
        Command::Unknown(u)
    }
}

impl TryFrom<Envelope> for Message {
    type Error = serde_json::Error;

    /// Types the envelope's fields by its command; an unknown command keeps them as they are.
    fn try_from(e: Envelope) -> Result<Self, Self::Error> {
        let command = match lookup_command(&e.command) {
            Some(spec) => (spec.decode)(e.rest)?,
            None => Command::Unknown(UnknownCommand {
                command: e.command,
                fields: e.rest,
            }),
        };
        Ok(Message {
            producer: e.producer,
            command,
        })
    }
}

impl Serialize for Message {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.command.serialize_as(self.producer, serializer)
    }
}

impl<'de> Deserialize<'de> for Message {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let envelope = Envelope::deserialize(deserializer)?;
        Message::try_from(envelope).map_err(serde::de::Error::custom)
    }
}
