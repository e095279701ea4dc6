//! Typed routing keys: `webos.DEVICE.TYPE`.

use std::fmt;
use std::str::FromStr;

use crate::device::{Device, MessageType};

/// The first word of every Car2Home routing key.
pub const KEY_PREFIX: &str = "webos";

/// A Car2Home routing key, `webos.DEVICE.TYPE`.
///
/// The DEVICE word names the **recipient**: `webos.android.info` is an info message *to* the
/// Android app, delivered to the `android` queue. Who sent it is said by the payload's
/// `Producer` field.
///
/// ```
/// use warren_car2home::{Device, MessageType, RoutingKey};
///
/// let key: RoutingKey = "webos.android.info".parse()?;
/// assert_eq!(key, RoutingKey::new(Device::Android, MessageType::Info));
/// assert_eq!(key.to_string(), "webos.android.info");
/// assert_eq!(RoutingKey::binding_pattern(Device::Car), "webos.car.*");
/// # Ok::<(), warren_car2home::RoutingKeyError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RoutingKey {
    /// The device the message is for (whose queue receives it).
    pub recipient: Device,
    /// What kind of message it is.
    pub message_type: MessageType,
}

impl RoutingKey {
    /// A key for `recipient` and `message_type`.
    pub const fn new(recipient: Device, message_type: MessageType) -> Self {
        RoutingKey {
            recipient,
            message_type,
        }
    }

    /// Parses `webos.DEVICE.TYPE`; the error says which word is wrong.
    pub fn parse(key: &str) -> Result<Self, RoutingKeyError> {
        if key.is_empty() {
            return Err(RoutingKeyError::Empty);
        }
        let mut words = key.split('.');
        let (Some(prefix), Some(device), Some(kind), None) =
            (words.next(), words.next(), words.next(), words.next())
        else {
            return Err(RoutingKeyError::WordCount {
                key: key.to_owned(),
                found: key.split('.').count(),
            });
        };
        if prefix != KEY_PREFIX {
            return Err(RoutingKeyError::Prefix {
                key: key.to_owned(),
                found: prefix.to_owned(),
            });
        }
        let recipient = device
            .parse::<Device>()
            .map_err(|e| RoutingKeyError::Device {
                key: key.to_owned(),
                found: e.found,
            })?;
        let message_type =
            kind.parse::<MessageType>()
                .map_err(|e| RoutingKeyError::MessageType {
                    key: key.to_owned(),
                    found: e.found,
                })?;
        Ok(RoutingKey::new(recipient, message_type))
    }

    /// The topic binding pattern of a device's queue: `webos.<device>.*`.
    pub fn binding_pattern(device: Device) -> String {
        format!("{KEY_PREFIX}.{device}.*")
    }
}

impl fmt::Display for RoutingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{KEY_PREFIX}.{}.{}", self.recipient, self.message_type)
    }
}

impl FromStr for RoutingKey {
    type Err = RoutingKeyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RoutingKey::parse(s)
    }
}

/// Why a string is not a Car2Home routing key; each variant names the wrong part.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RoutingKeyError {
    /// The key is the empty string.
    #[error("the routing key is empty; expected webos.DEVICE.TYPE")]
    Empty,
    /// The key does not have exactly three dot-separated words.
    #[error("routing key `{key}` has {found} words; expected 3: webos.DEVICE.TYPE")]
    WordCount {
        /// The whole key.
        key: String,
        /// How many words it has.
        found: usize,
    },
    /// The first word is not `webos`.
    #[error("routing key `{key}`: first word `{found}` should be `webos`")]
    Prefix {
        /// The whole key.
        key: String,
        /// The first word.
        found: String,
    },
    /// The second word names no device.
    #[error(
        "routing key `{key}`: second word `{found}` is not a device \
         (expected one of server, smarthome, car, android, camera)"
    )]
    Device {
        /// The whole key.
        key: String,
        /// The second word.
        found: String,
    },
    /// The third word names no message type.
    #[error(
        "routing key `{key}`: third word `{found}` is not a message type \
         (expected one of info, error, warning)"
    )]
    MessageType {
        /// The whole key.
        key: String,
        /// The third word.
        found: String,
    },
}

impl RoutingKeyError {
    /// Which part of the key is wrong, as a short machine-readable word:
    /// `empty`, `word-count`, `prefix`, `device` or `message-type`.
    pub const fn part(&self) -> &'static str {
        match self {
            RoutingKeyError::Empty => "empty",
            RoutingKeyError::WordCount { .. } => "word-count",
            RoutingKeyError::Prefix { .. } => "prefix",
            RoutingKeyError::Device { .. } => "device",
            RoutingKeyError::MessageType { .. } => "message-type",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_round_trips() {
        for d in Device::ALL {
            for t in MessageType::ALL {
                let k = RoutingKey::new(d, t);
                assert_eq!(RoutingKey::parse(&k.to_string()), Ok(k));
            }
        }
    }

    #[test]
    fn each_wrong_part_is_named() {
        let e = |k: &str| RoutingKey::parse(k).unwrap_err();
        assert_eq!(e(""), RoutingKeyError::Empty);
        assert_eq!(
            e("webos.car"),
            RoutingKeyError::WordCount {
                key: "webos.car".into(),
                found: 2
            }
        );
        assert_eq!(
            e("webos.car.info.x"),
            RoutingKeyError::WordCount {
                key: "webos.car.info.x".into(),
                found: 4
            }
        );
        assert_eq!(
            e("webOS.car.info"),
            RoutingKeyError::Prefix {
                key: "webOS.car.info".into(),
                found: "webOS".into()
            }
        );
        assert_eq!(
            e("webos.truck.info"),
            RoutingKeyError::Device {
                key: "webos.truck.info".into(),
                found: "truck".into()
            }
        );
        assert_eq!(
            e("webos.car.*"),
            RoutingKeyError::MessageType {
                key: "webos.car.*".into(),
                found: "*".into()
            }
        );
        assert_eq!(
            e("webos.truck.info").to_string(),
            "routing key `webos.truck.info`: second word `truck` is not a device \
             (expected one of server, smarthome, car, android, camera)"
        );
        assert_eq!(e("webos..info").part(), "device");
    }
}
