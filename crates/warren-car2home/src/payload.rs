//! Typed payloads of the catalogue's commands: the fields after `Producer` and `command`.
//!
//! Field names are the wire names (`UID` is upper-case, as in the seed's sign-up example; the
//! rest are lower-case snake case). Optional fields are left out when `None`. Ranges and lengths
//! written here (`#[schemars(...)]`) are enforced by [`validate`](crate::validate) and appear in
//! the JSON Schema files; plain serde deserialization checks only types.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `signup`: a user signs up from the Android app or the car panel (to the server).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Signup {
    /// The user's Firebase UID.
    #[serde(rename = "UID")]
    #[schemars(length(min = 1, max = 128))]
    pub uid: String,
    /// The user's display name.
    #[schemars(length(min = 1, max = 128))]
    pub name: String,
}

/// `signup_ok`: the server accepted a sign-up (a refused one is a `report` on an `error` key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SignupOk {
    /// The UID that signed up.
    #[serde(rename = "UID")]
    #[schemars(length(min = 1, max = 128))]
    pub uid: String,
}

/// What a sensor measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SensorKind {
    /// Air temperature, °C.
    Temperature,
    /// Relative humidity, %.
    Humidity,
    /// Illuminance, lux.
    Illuminance,
    /// Gas concentration, ppm.
    Gas,
    /// Fine dust, µg/m³.
    Dust,
    /// Motion detected: 1, none: 0.
    Motion,
    /// Door open: 1, closed: 0.
    Door,
    /// Water leak detected: 1, none: 0.
    Water,
}

/// `sensor`: one sensor reading from the smart-home board or the camera.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SensorReport {
    /// What was measured.
    pub sensor: SensorKind,
    /// The reading, in the sensor kind's usual unit unless `unit` says otherwise.
    pub value: f64,
    /// The unit, when not the sensor kind's usual one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 16))]
    pub unit: Option<String>,
}

/// On or off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Power {
    /// Switched on.
    On,
    /// Switched off.
    Off,
}

/// `appliance`: switch or set an appliance of the smart home.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ApplianceControl {
    /// The appliance's name on the board, e.g. `aircon`, `boiler`, `living_light`.
    #[schemars(length(min = 1, max = 64))]
    pub appliance: String,
    /// Switch it on or off.
    pub action: Power,
    /// Power level in percent (fan speed, dimmer), for appliances that have one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(max = 100))]
    pub level: Option<u8>,
}

/// `appliance_state`: the smart-home board reports an appliance's state (after a command, or
/// when it changed by hand).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ApplianceState {
    /// The appliance's name on the board.
    #[schemars(length(min = 1, max = 64))]
    pub appliance: String,
    /// Whether it is on.
    pub state: Power,
    /// Its power level in percent, for appliances that have one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(max = 100))]
    pub level: Option<u8>,
}

/// `face_frame`: one frame of the camera's face stream, for the server's recognizer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct FaceFrame {
    /// The image, base64-encoded JPEG.
    #[schemars(length(min = 1))]
    pub image: String,
    /// Frame sequence number, counting up from 0 per stream.
    pub seq: u64,
}

/// `face`: the server's face-recognition result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FaceEvent {
    /// Whether the face belongs to a known user.
    pub recognized: bool,
    /// The recognized user's UID.
    #[serde(rename = "UID", default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 128))]
    pub uid: Option<String>,
    /// The recognized user's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 128))]
    pub name: Option<String>,
    /// The recognizer's confidence, 0 to 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.0, max = 1.0))]
    pub confidence: Option<f64>,
}

/// How the car's lights are driven.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum LightMode {
    /// Always on.
    On,
    /// Always off.
    Off,
    /// On when the camera's illuminance sensor says it is dark.
    Auto,
}

/// `light`: set the mode of the lights the camera drives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct LightControl {
    /// The new mode.
    pub mode: LightMode,
    /// Brightness in percent, when on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(max = 100))]
    pub level: Option<u8>,
}

/// `light_state`: the camera reports its lights (after a command, or when `auto` switched them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LightState {
    /// The current mode.
    pub mode: LightMode,
    /// Whether the lights are lit now.
    pub lit: bool,
    /// The illuminance sensor's reading, lux.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.0))]
    pub illuminance: Option<f64>,
}

/// `lookup`: ask the server for stored data (Firebase), e.g. a user's profile or appliances.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct LookupRequest {
    /// The user whose data is asked for.
    #[serde(rename = "UID")]
    #[schemars(length(min = 1, max = 128))]
    pub uid: String,
    /// What to look up, e.g. `profile`, `appliances`, `sensors`, `history`.
    #[schemars(length(min = 1, max = 64))]
    pub query: String,
    /// Echoed in the reply, to match replies with requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 64))]
    pub request_id: Option<String>,
}

/// `lookup_result`: the server's reply to a `lookup`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LookupReply {
    /// The user whose data this is.
    #[serde(rename = "UID")]
    #[schemars(length(min = 1, max = 128))]
    pub uid: String,
    /// The request's `query`.
    #[schemars(length(min = 1, max = 64))]
    pub query: String,
    /// The request's `request_id`, if it had one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 64))]
    pub request_id: Option<String>,
    /// The data found (any JSON value; `null` when there is none).
    pub data: Value,
}

/// `report`: the body of every `error` and `warning` message — what went wrong with which command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Report {
    /// The command the report is about, e.g. `signup` or `appliance`.
    #[schemars(length(min = 1, max = 64))]
    pub about: String,
    /// A short machine-readable code, e.g. `uid_taken`, `sensor_timeout`.
    #[schemars(length(min = 1, max = 64))]
    pub code: String,
    /// Human-readable text.
    pub message: String,
    /// The user concerned, if any.
    #[serde(rename = "UID", default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 128))]
    pub uid: Option<String>,
}

/// What kind of emergency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum EmergencyKind {
    /// Fire or smoke.
    Fire,
    /// Gas leak.
    Gas,
    /// Break-in.
    Intrusion,
    /// The car crashed.
    Crash,
    /// A person needs help.
    Medical,
    /// Anything else.
    Other,
}

/// `emergency`: an alarm for every device, published on the `webos.fanout` exchange.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Emergency {
    /// What happened.
    pub kind: EmergencyKind,
    /// Human-readable text.
    pub message: String,
}
