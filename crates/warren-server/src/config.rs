//! The broker's configuration: one typed struct, loaded from TOML, with defaults that run the
//! Car2Home setup on a laptop (`cargo run --release` with no arguments).
//!
//! Every key is optional; a missing key takes the default documented on its field. Unknown keys
//! are rejected so that a typo does not silently fall back to a default.
//!
//! ```
//! let config = warren_server::config::Config::from_toml_str(r#"
//!     [amqp]
//!     listeners = ["127.0.0.1:5673"]
//!     heartbeat = 30
//! "#).unwrap();
//! assert_eq!(config.amqp.heartbeat, 30);
//! assert_eq!(config.amqp.frame_max, 131072);
//! ```

use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// The configuration embedded in the binary: what `cargo run --release` uses.
pub const DEFAULT_TOML: &str = include_str!("../warren.toml");

/// Why a configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read configuration file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The TOML is malformed or has a key of the wrong type or an unknown key.
    #[error("invalid configuration{}: {source}", .path.as_ref().map(|p| format!(" in {}", p.display())).unwrap_or_default())]
    Parse {
        /// The file, if the text came from one.
        path: Option<PathBuf>,
        /// The parser's description, with line and column.
        source: toml::de::Error,
    },
    /// A value is well-formed but not allowed.
    #[error("invalid configuration: {key}: {reason}")]
    Invalid {
        /// The dotted key.
        key: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// AMQP 0-9-1 listener and protocol limits (`[amqp]`).
    pub amqp: AmqpConfig,
    /// Users, vhosts and the topology created at boot (`[defaults]`).
    pub defaults: DefaultsConfig,
    /// Logging (`[log]`).
    pub log: LogConfig,
}

/// `[amqp]`: AMQP 0-9-1 listeners and the limits negotiated with clients.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AmqpConfig {
    /// Addresses to listen on. Default `["0.0.0.0:5672"]`. An empty list disables AMQP.
    pub listeners: Vec<SocketAddr>,
    /// Largest frame the server accepts and offers in connection.tune, in bytes. Default
    /// 131072 (RabbitMQ's). Must be at least 4096 (the spec's minimum).
    pub frame_max: u32,
    /// Most channels per connection offered in connection.tune. Default 2047 (RabbitMQ's).
    pub channel_max: u16,
    /// Heartbeat interval offered in connection.tune, in seconds; 0 disables. Default 60.
    pub heartbeat: u16,
    /// Largest message body accepted, in bytes; larger publishes close the channel with 406.
    /// Default 134217728 (128 MiB, RabbitMQ's `max_message_size`).
    pub max_message_size: u64,
    /// Seconds a client has to finish the handshake (protocol header to connection.open).
    /// Default 10.
    pub handshake_timeout: u64,
    /// Bytes of pending output to one connection above which the server stops reading from it
    /// until the client catches up. Default 4194304 (4 MiB).
    pub max_pending_output: usize,
    /// Set TCP_NODELAY on accepted sockets. Default true.
    pub nodelay: bool,
}

/// `[defaults]`: what exists when the broker starts with no definitions file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DefaultsConfig {
    /// The vhost created at boot. Default `"/"`.
    pub vhost: String,
    /// Users created at boot with full permissions on `vhost`. Default: guest/guest with the
    /// `administrator` tag.
    pub users: Vec<UserConfig>,
    /// Users that may only log in from a loopback address (RabbitMQ's `loopback_users`).
    /// Default `["guest"]`.
    pub loopback_users: Vec<String>,
    /// Declare the Car2Home topology at boot: exchanges `webos.topic` and `webos.fanout` and one
    /// queue per device bound to both. Default true.
    pub car2home_topology: bool,
}

/// One user created at boot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserConfig {
    /// The login name.
    pub name: String,
    /// The password in clear text (hashed at boot as RabbitMQ hashes it).
    pub password: String,
    /// Tags such as `administrator` or `management`. Default none.
    #[serde(default)]
    pub tags: Vec<String>,
}

/// `[log]`: logging.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// A `tracing` filter such as `info` or `warren_server=debug,info`; the `RUST_LOG`
    /// environment variable overrides it. Default `"info"`.
    pub level: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            amqp: AmqpConfig::default(),
            defaults: DefaultsConfig::default(),
            log: LogConfig::default(),
        }
    }
}

impl Default for AmqpConfig {
    fn default() -> Self {
        AmqpConfig {
            listeners: vec![SocketAddr::from(([0, 0, 0, 0], 5672))],
            frame_max: 131_072,
            channel_max: 2047,
            heartbeat: 60,
            max_message_size: 128 * 1024 * 1024,
            handshake_timeout: 10,
            max_pending_output: 4 * 1024 * 1024,
            nodelay: true,
        }
    }
}

impl Default for DefaultsConfig {
    fn default() -> Self {
        DefaultsConfig {
            vhost: "/".into(),
            users: vec![UserConfig {
                name: "guest".into(),
                password: "guest".into(),
                tags: vec!["administrator".into()],
            }],
            loopback_users: vec!["guest".into()],
            car2home_topology: true,
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            level: "info".into(),
        }
    }
}

impl Config {
    /// Parses and validates a TOML text.
    pub fn from_toml_str(text: &str) -> Result<Config, ConfigError> {
        let config: Config =
            toml::from_str(text).map_err(|source| ConfigError::Parse { path: None, source })?;
        config.validate()?;
        Ok(config)
    }

    /// Reads, parses and validates a TOML file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let config: Config = toml::from_str(&text).map_err(|source| ConfigError::Parse {
            path: Some(path.to_path_buf()),
            source,
        })?;
        config.validate()?;
        Ok(config)
    }

    /// The embedded default configuration ([`DEFAULT_TOML`]).
    pub fn embedded() -> Result<Config, ConfigError> {
        Config::from_toml_str(DEFAULT_TOML)
    }

    /// Checks values that parse but make no sense.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.amqp.frame_max < 4096 {
            return Err(ConfigError::Invalid {
                key: "amqp.frame_max",
                reason: format!(
                    "{} is below the protocol minimum of 4096",
                    self.amqp.frame_max
                ),
            });
        }
        if self.amqp.channel_max == 0 {
            return Err(ConfigError::Invalid {
                key: "amqp.channel_max",
                reason: "must be at least 1".into(),
            });
        }
        if self.defaults.vhost.is_empty() {
            return Err(ConfigError::Invalid {
                key: "defaults.vhost",
                reason: "must not be empty".into(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_config_parses_and_equals_the_defaults() {
        assert_eq!(Config::embedded().unwrap(), Config::default());
    }

    #[test]
    fn unknown_keys_are_rejected_with_their_name() {
        let err = Config::from_toml_str("[amqp]\nframemax = 5").unwrap_err();
        assert!(err.to_string().contains("framemax"), "{err}");
    }

    #[test]
    fn tiny_frame_max_is_rejected() {
        let err = Config::from_toml_str("[amqp]\nframe_max = 100").unwrap_err();
        assert!(matches!(
            err,
            ConfigError::Invalid {
                key: "amqp.frame_max",
                ..
            }
        ));
    }

    #[test]
    fn users_parse() {
        let c = Config::from_toml_str(
            "[defaults]\nusers = [{ name = \"rabbit\", password = \"MQ321\", tags = [\"administrator\"] }]",
        )
        .unwrap();
        assert_eq!(c.defaults.users[0].name, "rabbit");
        assert_eq!(c.defaults.vhost, "/");
    }
}
