//! The command catalogue: every command the crate knows, who may send it, to whom, on which
//! message types, and its typed payload.
//!
//! | command | senders (`Producer`) | recipients (routing key) | types | payload |
//! | --- | --- | --- | --- | --- |
//! | `signup` | android, car | server | info | [`Signup`] |
//! | `signup_ok` | server | android, car | info | [`SignupOk`] |
//! | `sensor` | smarthome, camera | server, car, android | info | [`SensorReport`] |
//! | `appliance` | server, car, android | smarthome, server | info | [`ApplianceControl`] |
//! | `appliance_state` | smarthome | server, car, android | info | [`ApplianceState`] |
//! | `face_frame` | camera | server | info | [`FaceFrame`] |
//! | `face` | server | car, android, camera | info | [`FaceEvent`] |
//! | `light` | server, car, android | camera, server | info | [`LightControl`] |
//! | `light_state` | camera | server, car, android | info | [`LightState`] |
//! | `lookup` | car, android | server | info | [`LookupRequest`] |
//! | `lookup_result` | server | car, android | info | [`LookupReply`] |
//! | `report` | any | any | error, warning | [`Report`] |
//! | `emergency` | any | any, or broadcast on `webos.fanout` | any | [`Emergency`] |
//!
//! Control commands may go to the server as well as to the device (`appliance` to `server` or
//! `smarthome`): the apps may talk to the server, which forwards to the board over MQTT under
//! its own `Producer`. Error and warning messages always carry a `report` naming the command
//! they are about; every other catalogued command is `info` only (except `emergency`).
//! Commands the catalogue does not know are [`Command::Unknown`]: any producer, any recipient,
//! any type, fields kept untouched.

use schemars::generate::SchemaSettings;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::device::{Device, MessageType};
use crate::message::UnknownCommand;
use crate::payload::{
    ApplianceControl, ApplianceState, Emergency, FaceEvent, FaceFrame, LightControl, LightState,
    LookupReply, LookupRequest, Report, SensorReport, Signup, SignupOk,
};
use crate::schema::canonical;

/// A typed payload of a catalogued command.
pub trait Payload: Serialize + DeserializeOwned + JsonSchema + Into<Command> {
    /// The command's wire name (the `command` field).
    const COMMAND: &'static str;
}

/// What the catalogue says about one command.
#[derive(Debug)]
pub struct CommandSpec {
    /// The wire name (the `command` field).
    pub name: &'static str,
    /// One line saying what the command is for.
    pub summary: &'static str,
    /// Devices that may send it (the `Producer` field).
    pub senders: &'static [Device],
    /// Devices it may be addressed to (the routing key's DEVICE word).
    pub recipients: &'static [Device],
    /// Message types it may travel as (the routing key's TYPE word).
    pub message_types: &'static [MessageType],
    /// Whether it may be broadcast on `webos.fanout`.
    pub broadcast: bool,
    schema: fn() -> Value,
    pub(crate) decode: fn(Map<String, Value>) -> Result<Command, serde_json::Error>,
}

impl CommandSpec {
    /// The JSON Schema of the payload's own fields (without `Producer` and `command`), with
    /// sub-schemas inlined and object keys sorted. [`crate::schema`] wraps it into the
    /// published message schema.
    pub fn payload_schema(&self) -> Value {
        (self.schema)()
    }
}

/// The generator settings every schema of this crate is made with: JSON Schema 2020-12, every
/// sub-schema inlined so that each file stands alone.
pub(crate) fn schema_settings() -> SchemaSettings {
    SchemaSettings::draft2020_12().with(|s| s.inline_subschemas = true)
}

fn payload_schema<P: JsonSchema>() -> Value {
    canonical(
        schema_settings()
            .into_generator()
            .into_root_schema_for::<P>()
            .to_value(),
    )
}

fn decode<P: Payload>(fields: Map<String, Value>) -> Result<Command, serde_json::Error> {
    serde_json::from_value::<P>(Value::Object(fields)).map(Into::into)
}

/// Writes `{"Producer": …, "command": …, <payload fields>}` in that order.
#[derive(Serialize)]
struct Wire<'a, P: Serialize> {
    #[serde(rename = "Producer")]
    producer: Device,
    command: &'a str,
    #[serde(flatten)]
    payload: &'a P,
}

macro_rules! catalogue {
    ($(
        $(#[$doc:meta])*
        $variant:ident($payload:ty) = $name:literal {
            summary: $summary:literal,
            senders: [$($sender:ident),*],
            recipients: [$($recipient:ident),*],
            types: [$($kind:ident),*],
            broadcast: $broadcast:literal $(,)?
        }
    )*) => {
        /// A message's command with its typed payload, or an unknown command kept as it came.
        #[derive(Debug, Clone, PartialEq)]
        #[non_exhaustive]
        pub enum Command {
            $( $(#[$doc])* $variant($payload), )*
            /// A command the catalogue does not know; its fields round-trip untouched.
            Unknown(UnknownCommand),
        }

        impl Command {
            /// The wire name (the `command` field).
            pub fn name(&self) -> &str {
                match self {
                    $( Command::$variant(_) => $name, )*
                    Command::Unknown(u) => &u.command,
                }
            }

            /// Serializes `{"Producer": producer, "command": name, ...fields}`.
            pub(crate) fn serialize_as<S: Serializer>(
                &self,
                producer: Device,
                serializer: S,
            ) -> Result<S::Ok, S::Error> {
                match self {
                    $( Command::$variant(p) => {
                        Wire { producer, command: $name, payload: p }.serialize(serializer)
                    } )*
                    Command::Unknown(u) => u.serialize_as(producer, serializer),
                }
            }
        }

        $(
            impl Payload for $payload {
                const COMMAND: &'static str = $name;
            }

            impl From<$payload> for Command {
                fn from(p: $payload) -> Self {
                    Command::$variant(p)
                }
            }
        )*

        static CATALOGUE: &[CommandSpec] = &[$(
            CommandSpec {
                name: $name,
                summary: $summary,
                senders: &[$(Device::$sender),*],
                recipients: &[$(Device::$recipient),*],
                message_types: &[$(MessageType::$kind),*],
                broadcast: $broadcast,
                schema: payload_schema::<$payload>,
                decode: decode::<$payload>,
            },
        )*];
    };
}

catalogue! {
    /// `signup` (android, car → server).
    Signup(Signup) = "signup" {
        summary: "A user signs up from the Android app or the car panel.",
        senders: [Android, Car], recipients: [Server], types: [Info], broadcast: false,
    }
    /// `signup_ok` (server → android, car).
    SignupOk(SignupOk) = "signup_ok" {
        summary: "The server accepted a sign-up.",
        senders: [Server], recipients: [Android, Car], types: [Info], broadcast: false,
    }
    /// `sensor` (smarthome, camera → server, car, android).
    Sensor(SensorReport) = "sensor" {
        summary: "One sensor reading.",
        senders: [Smarthome, Camera], recipients: [Server, Car, Android], types: [Info],
        broadcast: false,
    }
    /// `appliance` (server, car, android → smarthome, server).
    Appliance(ApplianceControl) = "appliance" {
        summary: "Switch or set an appliance of the smart home.",
        senders: [Server, Car, Android], recipients: [Smarthome, Server], types: [Info],
        broadcast: false,
    }
    /// `appliance_state` (smarthome → server, car, android).
    ApplianceState(ApplianceState) = "appliance_state" {
        summary: "The smart-home board reports an appliance's state.",
        senders: [Smarthome], recipients: [Server, Car, Android], types: [Info], broadcast: false,
    }
    /// `face_frame` (camera → server).
    FaceFrame(FaceFrame) = "face_frame" {
        summary: "One frame of the camera's face stream.",
        senders: [Camera], recipients: [Server], types: [Info], broadcast: false,
    }
    /// `face` (server → car, android, camera).
    Face(FaceEvent) = "face" {
        summary: "The server's face-recognition result.",
        senders: [Server], recipients: [Car, Android, Camera], types: [Info], broadcast: false,
    }
    /// `light` (server, car, android → camera, server).
    Light(LightControl) = "light" {
        summary: "Set the mode of the lights the camera drives.",
        senders: [Server, Car, Android], recipients: [Camera, Server], types: [Info],
        broadcast: false,
    }
    /// `light_state` (camera → server, car, android).
    LightState(LightState) = "light_state" {
        summary: "The camera reports its lights.",
        senders: [Camera], recipients: [Server, Car, Android], types: [Info], broadcast: false,
    }
    /// `lookup` (car, android → server).
    Lookup(LookupRequest) = "lookup" {
        summary: "Ask the server for stored data.",
        senders: [Car, Android], recipients: [Server], types: [Info], broadcast: false,
    }
    /// `lookup_result` (server → car, android).
    LookupResult(LookupReply) = "lookup_result" {
        summary: "The server's reply to a lookup.",
        senders: [Server], recipients: [Car, Android], types: [Info], broadcast: false,
    }
    /// `report` (any → any, on `error` and `warning` keys).
    Report(Report) = "report" {
        summary: "What went wrong with which command: the body of every error and warning.",
        senders: [Server, Smarthome, Car, Android, Camera],
        recipients: [Server, Smarthome, Car, Android, Camera],
        types: [Error, Warning], broadcast: false,
    }
    /// `emergency` (any → any, or broadcast on `webos.fanout`).
    Emergency(Emergency) = "emergency" {
        summary: "An alarm for every device.",
        senders: [Server, Smarthome, Car, Android, Camera],
        recipients: [Server, Smarthome, Car, Android, Camera],
        types: [Info, Error, Warning], broadcast: true,
    }
}

/// Every catalogued command, in the table's order.
///
/// ```
/// let names: Vec<_> = warren_car2home::catalogue().iter().map(|c| c.name).collect();
/// assert!(names.contains(&"signup"));
/// ```
pub fn catalogue() -> &'static [CommandSpec] {
    CATALOGUE
}

/// The catalogue's entry for a command name, if it has one.
///
/// ```
/// use warren_car2home::{lookup_command, Device};
///
/// let spec = lookup_command("signup").unwrap();
/// assert_eq!(spec.recipients, &[Device::Server]);
/// assert!(lookup_command("dance").is_none());
/// ```
pub fn lookup_command(name: &str) -> Option<&'static CommandSpec> {
    CATALOGUE.iter().find(|c| c.name == name)
}

/// The index of a command in [`catalogue`] (for per-command tables built once).
pub(crate) fn command_index(name: &str) -> Option<usize> {
    CATALOGUE.iter().position(|c| c.name == name)
}

/// Writes an unknown command's map, `Producer` and `command` first; keys named `Producer` or
/// `command` inside `fields` are skipped so the output never has duplicate keys.
pub(crate) fn serialize_unknown<S: Serializer>(
    producer: Device,
    command: &str,
    fields: &Map<String, Value>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    let mut map = serializer.serialize_map(None)?;
    map.serialize_entry("Producer", &producer)?;
    map.serialize_entry("command", command)?;
    for (k, v) in fields {
        if k != "Producer" && k != "command" {
            map.serialize_entry(k, v)?;
        }
    }
    map.end()
}
