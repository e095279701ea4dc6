//! The five Car2Home devices and the three message types.

use std::fmt;
use std::str::FromStr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A Car2Home device: the second word of a routing key (the recipient) and the value of a
/// payload's `Producer` field (the sender).
///
/// ```
/// use warren_car2home::Device;
///
/// let d: Device = "smarthome".parse()?;
/// assert_eq!(d, Device::Smarthome);
/// assert_eq!(d.to_string(), "smarthome");
/// # Ok::<(), warren_car2home::UnknownDevice>(())
/// ```
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Device {
    /// The processing server: MQTT bridge, OpenCV face recognition, Firebase look-ups.
    Server,
    /// The smart-home board (Arduino): sensors and appliance control.
    Smarthome,
    /// The car's touch panel: sign-up, UI control, data look-ups.
    Car,
    /// The Android app: sign-up, UI control, data look-ups.
    Android,
    /// The car's webcam: face streaming, lights driven by its illuminance sensor.
    Camera,
}

impl Device {
    /// Every device, in the order the default topology declares their queues.
    pub const ALL: [Device; 5] = [
        Device::Server,
        Device::Smarthome,
        Device::Car,
        Device::Android,
        Device::Camera,
    ];

    /// The wire name (`"server"`, `"smarthome"`, …), also the name of the device's queue.
    pub const fn as_str(self) -> &'static str {
        match self {
            Device::Server => "server",
            Device::Smarthome => "smarthome",
            Device::Car => "car",
            Device::Android => "android",
            Device::Camera => "camera",
        }
    }
}

impl fmt::Display for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that names no [`Device`] (names are lower-case and exact).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{found}` is not a device (expected one of server, smarthome, car, android, camera)")]
pub struct UnknownDevice {
    /// The string that was given.
    pub found: String,
}

impl FromStr for Device {
    type Err = UnknownDevice;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Device::ALL
            .into_iter()
            .find(|d| d.as_str() == s)
            .ok_or_else(|| UnknownDevice {
                found: s.to_owned(),
            })
    }
}

/// The third word of a routing key: what kind of message it is.
///
/// ```
/// use warren_car2home::MessageType;
///
/// assert_eq!("warning".parse::<MessageType>()?, MessageType::Warning);
/// # Ok::<(), warren_car2home::UnknownMessageType>(())
/// ```
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum MessageType {
    /// An ordinary message: a request, a reading, a reply.
    Info,
    /// The sender could not do what was asked (fatal for that request).
    Error,
    /// The sender did it, but something went wrong on the way.
    Warning,
}

impl MessageType {
    /// Every message type.
    pub const ALL: [MessageType; 3] = [MessageType::Info, MessageType::Error, MessageType::Warning];

    /// The wire name (`"info"`, `"error"`, `"warning"`).
    pub const fn as_str(self) -> &'static str {
        match self {
            MessageType::Info => "info",
            MessageType::Error => "error",
            MessageType::Warning => "warning",
        }
    }
}

impl fmt::Display for MessageType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that names no [`MessageType`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{found}` is not a message type (expected one of info, error, warning)")]
pub struct UnknownMessageType {
    /// The string that was given.
    pub found: String,
}

impl FromStr for MessageType {
    type Err = UnknownMessageType;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        MessageType::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| UnknownMessageType {
                found: s.to_owned(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_match_serde() {
        for d in Device::ALL {
            assert_eq!(d.as_str().parse::<Device>().unwrap(), d);
            assert_eq!(
                serde_json::to_value(d).unwrap(),
                serde_json::Value::from(d.as_str())
            );
        }
        for t in MessageType::ALL {
            assert_eq!(t.as_str().parse::<MessageType>().unwrap(), t);
            assert_eq!(
                serde_json::to_value(t).unwrap(),
                serde_json::Value::from(t.as_str())
            );
        }
    }

    #[test]
    fn names_are_exact() {
        assert_eq!(
            "Server".parse::<Device>(),
            Err(UnknownDevice {
                found: "Server".into()
            })
        );
        assert!("".parse::<Device>().is_err());
        assert!("INFO".parse::<MessageType>().is_err());
    }
}
