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
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// AMQP 0-9-1 listener and protocol limits (`[amqp]`).
    pub amqp: AmqpConfig,
    /// Management HTTP API, web UI and Prometheus endpoint (`[management]`).
    pub management: ManagementConfig,
    /// MQTT 3.1 / 3.1.1 / 5.0 listener and its bridge into the exchanges (`[mqtt]`).
    pub mqtt: MqttConfig,
    /// Users, vhosts and the topology created at boot (`[defaults]`).
    pub defaults: DefaultsConfig,
    /// Car2Home message validation on the topology's exchanges (`[car2home]`).
    pub car2home: Car2HomeConfig,
    /// Durable storage: data directory, fsync policy, memory and disk limits (`[storage]`).
    pub storage: StorageConfig,
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

/// `[mqtt]`: the MQTT front, with the keys of RabbitMQ's MQTT plugin plus what MQTT 5 needs.
///
/// MQTT publishes go to `exchange` with the topic turned into a routing key (`/` and `.`
/// swapped); subscriptions become bindings of the client's queues
/// `mqtt-subscription-<client id>qos0` / `qos1` to that exchange.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MqttConfig {
    /// Addresses to listen on. Default `["0.0.0.0:1883"]`. An empty list disables MQTT.
    pub listeners: Vec<SocketAddr>,
    /// Accept CONNECTs without a user name, logging them in as `default_user`. Default true.
    /// As in RabbitMQ's plugin, the default user is still subject to `loopback_users`: while
    /// guest is loopback-only, anonymous clients from other hosts are refused (CONNACK 5 /
    /// 0x87); list no users in `loopback_users` (or pick another default user) for devices.
    pub allow_anonymous: bool,
    /// The user anonymous clients log in as. Default `"guest"`.
    pub default_user: String,
    /// The password of `default_user`. Default `"guest"`.
    pub default_pass: String,
    /// The vhost MQTT clients use unless their user name is `vhost:user`. Default `"/"`.
    pub vhost: String,
    /// The topic exchange publishes go to and subscriptions bind to. Default `"amq.topic"`.
    pub exchange: String,
    /// How long a persistent (clean session = false) MQTT 3.x session outlives its connection,
    /// in milliseconds; 0 keeps it forever. Default 86400000 (a day).
    pub subscription_ttl: u64,
    /// Most unacknowledged QoS 1/2 deliveries per client (also capped by a 5.0 client's
    /// Receive Maximum); 0 leaves only the client's limit. Default 10.
    pub prefetch: u16,
    /// Largest packet accepted, in bytes (also announced as Maximum Packet Size to 5.0
    /// clients). Default 268435455 (the protocol's limit).
    pub max_packet_size: u32,
    /// Receive Maximum announced to 5.0 clients: QoS 2 publishes a client may have unreleased.
    /// Default 65535.
    pub receive_maximum: u16,
    /// Topic Alias Maximum announced to 5.0 clients (0 disables client-to-server aliases).
    /// Default 16.
    pub topic_alias_maximum: u16,
    /// Largest keep-alive accepted, in seconds; a larger (or zero) request is lowered to it
    /// (5.0 clients are told with Server Keep Alive). 0 means no cap. Default 0.
    pub max_keepalive: u16,
    /// Largest 5.0 Session Expiry Interval granted, in seconds. Default 86400 (a day).
    pub max_session_expiry: u32,
    /// Seconds a client has to send CONNECT after the TCP connection opens. Default 10.
    pub connect_timeout: u64,
    /// Set TCP_NODELAY on accepted sockets. Default true.
    pub nodelay: bool,
}

/// `[management]`: the RabbitMQ-compatible HTTP API and web UI, and the Prometheus endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ManagementConfig {
    /// Serve the HTTP API and web UI. Default true.
    pub enabled: bool,
    /// Addresses for the HTTP API and web UI. Default `["0.0.0.0:15672"]` (RabbitMQ's port).
    pub listeners: Vec<SocketAddr>,
    /// Seconds between samples of the message counters (rates and the Overview chart).
    /// Default 5 (RabbitMQ's `collect_statistics_interval`). Must be at least 1.
    pub sample_interval: u64,
    /// Samples kept for the Overview chart. Default 120 (ten minutes at 5 s).
    pub sample_history: usize,
    /// Serve Prometheus metrics (`/metrics`, `/metrics/per-object`). Default true.
    pub prometheus_enabled: bool,
    /// Addresses for the Prometheus endpoint. Default `["0.0.0.0:15692"]` (RabbitMQ's port).
    pub prometheus_listeners: Vec<SocketAddr>,
}

impl Default for ManagementConfig {
    fn default() -> Self {
        ManagementConfig {
            enabled: true,
            listeners: vec![SocketAddr::from(([0, 0, 0, 0], 15672))],
            sample_interval: 5,
            sample_history: 120,
            prometheus_enabled: true,
            prometheus_listeners: vec![SocketAddr::from(([0, 0, 0, 0], 15692))],
        }
    }
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

/// `[car2home]`: the validation policy on the exchanges the Car2Home topology marks validated
/// (`webos.topic`). Opt-in: off unless `validate = true` (the embedded configuration turns it
/// on).
///
/// A message published to `webos.topic` whose routing key is not `webos.DEVICE.TYPE` or whose
/// payload is not a valid Car2Home message (see `warren-car2home`) is not routed to the device
/// queues: it goes to the dead-letter exchange `webos.dlx` (queue `webos.invalid`) with the
/// headers `x-car2home-error` (a code), `x-car2home-error-path` (the field) and
/// `x-car2home-error-text`; it is counted (`invalid` in the metrics,
/// `warren_messages_invalid_total` in Prometheus); an AMQP publisher in confirm mode gets a
/// `basic.nack`, an MQTT 5 publisher at QoS 1/2 a PUBACK/PUBREC with reason 0x99 (payload
/// format invalid). The policy applies to the exchange by name in `defaults.vhost`, also when
/// a client declares it later.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Car2HomeConfig {
    /// Turn the validation policy on. Default false.
    pub validate: bool,
    /// Refuse commands the Car2Home catalogue does not know. Default false (the format stays
    /// open: unknown commands pass untouched).
    pub reject_unknown_commands: bool,
    /// Refuse fields a catalogued command does not have. Default false.
    pub reject_unknown_fields: bool,
    /// Larger payloads are refused (bytes). Default 1048576.
    pub max_payload_len: u64,
}

impl Default for Car2HomeConfig {
    fn default() -> Self {
        Car2HomeConfig {
            validate: false,
            reject_unknown_commands: false,
            reject_unknown_fields: false,
            max_payload_len: 1 << 20,
        }
    }
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

/// `[storage]`: where durable queues, persistent messages and the durable topology are kept,
/// and the resource limits that block publishers.
///
/// What a publisher confirm guarantees for a persistent message (delivery_mode 2) routed to
/// durable queues, per `fsync`:
/// - `"always"`: the message was written and fsynced (one fsync per group of publishes): it
///   survives `kill -9`, an OS crash and a power loss.
/// - `"interval"`: the message was written to the OS; fsync runs every `fsync_interval_ms`. It
///   survives `kill -9`; an OS crash or power loss may lose the last interval.
/// - `"never"`: written to the OS, never fsynced by Warren (except at a clean shutdown).
///   Survives `kill -9` only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StorageConfig {
    /// The data directory (created if missing; relative paths are relative to the working
    /// directory). Default: none — nothing is persisted and everything is lost at restart. The
    /// embedded `warren.toml` sets `"warren-data"`. One broker per directory (it is locked).
    pub data_dir: Option<std::path::PathBuf>,
    /// `"always"`, `"interval"` or `"never"` (see above). Default `"always"`.
    pub fsync: FsyncMode,
    /// Milliseconds between fsyncs under `fsync = "interval"`. Default 200.
    pub fsync_interval_ms: u64,
    /// Size at which a new segment file starts, in bytes. Default 67108864 (64 MiB).
    pub segment_size: u64,
    /// Bytes of persistent message bodies kept in RAM across all durable queues; beyond it
    /// bodies are read back from disk on delivery. Default 268435456 (256 MiB).
    pub memory_budget: u64,
    /// Message index entries per queue page: a queue keeps about twice this many entries
    /// (about 64 bytes each) in RAM and pages the rest of a deep queue out to
    /// `data_dir/pages`, so its RAM does not grow with its depth. Minimum 1. Default 16384
    /// (about 2 MiB of index in RAM for a deep queue; smaller pages save RAM but make more
    /// messages pay a page write and read).
    pub queue_page_entries: u64,
    /// Memory alarm: publishers are blocked (`connection.blocked`) while the broker's resident
    /// memory exceeds this fraction of the machine's RAM. 0 disables. Default 0.4 (RabbitMQ's
    /// `vm_memory_high_watermark`).
    pub memory_high_watermark: f64,
    /// The same limit in bytes; when non-zero it replaces `memory_high_watermark`. Default 0.
    pub memory_high_watermark_bytes: u64,
    /// Disk alarm: publishers are blocked while the data directory's file system has fewer
    /// free bytes than this. 0 disables. Default 50000000 (RabbitMQ's 50 MB).
    pub disk_free_limit: u64,
    /// Milliseconds between checks of the memory and disk alarms. Default 1000.
    pub alarm_check_ms: u64,
}

/// `storage.fsync`: when the message store fsyncs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FsyncMode {
    /// fsync each group of publishes before confirming it.
    Always,
    /// Confirm after the write, fsync every `fsync_interval_ms`.
    Interval,
    /// Confirm after the write, never fsync.
    Never,
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            data_dir: None,
            fsync: FsyncMode::Always,
            fsync_interval_ms: 200,
            segment_size: 64 * 1024 * 1024,
            memory_budget: 256 * 1024 * 1024,
            queue_page_entries: 16384,
            memory_high_watermark: 0.4,
            memory_high_watermark_bytes: 0,
            disk_free_limit: 50_000_000,
            alarm_check_ms: 1000,
        }
    }
}

/// `[log]`: logging.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// A `tracing` filter such as `info` or `warren_server=debug,info`; the `RUST_LOG`
    /// environment variable overrides it. Default `"info"`.
    pub level: String,
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

impl Default for MqttConfig {
    fn default() -> Self {
        MqttConfig {
            listeners: vec![SocketAddr::from(([0, 0, 0, 0], 1883))],
            allow_anonymous: true,
            default_user: "guest".into(),
            default_pass: "guest".into(),
            vhost: "/".into(),
            exchange: "amq.topic".into(),
            subscription_ttl: 86_400_000,
            prefetch: 10,
            max_packet_size: 268_435_455,
            receive_maximum: 65_535,
            topic_alias_maximum: 16,
            max_keepalive: 0,
            max_session_expiry: 86_400,
            connect_timeout: 10,
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
        if self.mqtt.exchange.is_empty() {
            return Err(ConfigError::Invalid {
                key: "mqtt.exchange",
                reason: "must name a topic exchange (the default exchange cannot be bound)".into(),
            });
        }
        if self.mqtt.receive_maximum == 0 {
            return Err(ConfigError::Invalid {
                key: "mqtt.receive_maximum",
                reason: "must be at least 1".into(),
            });
        }
        if self.mqtt.max_packet_size < 64 {
            return Err(ConfigError::Invalid {
                key: "mqtt.max_packet_size",
                reason: format!(
                    "{} is too small to carry a CONNECT",
                    self.mqtt.max_packet_size
                ),
            });
        }
        if self.management.sample_interval == 0 {
            return Err(ConfigError::Invalid {
                key: "management.sample_interval",
                reason: "must be at least 1 second".into(),
            });
        }
        if self.storage.segment_size < 4096 {
            return Err(ConfigError::Invalid {
                key: "storage.segment_size",
                reason: format!("{} is below the minimum of 4096", self.storage.segment_size),
            });
        }
        if self.storage.queue_page_entries == 0 {
            return Err(ConfigError::Invalid {
                key: "storage.queue_page_entries",
                reason: "must be at least 1".into(),
            });
        }
        if !(0.0..=1.0).contains(&self.storage.memory_high_watermark) {
            return Err(ConfigError::Invalid {
                key: "storage.memory_high_watermark",
                reason: format!(
                    "{} is not a fraction between 0 and 1",
                    self.storage.memory_high_watermark
                ),
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
        let mut embedded = Config::embedded().unwrap();
        assert_eq!(embedded.storage.data_dir, Some("warren-data".into()));
        embedded.storage = StorageConfig::default();
        embedded.mqtt = MqttConfig::default();
        assert!(
            embedded.car2home.validate,
            "cargo run --release validates Car2Home"
        );
        embedded.car2home.validate = false;
        assert_eq!(embedded, Config::default());
    }

    #[test]
    fn car2home_section_parses() {
        let c = Config::from_toml_str(
            "[car2home]\nvalidate = true\nreject_unknown_commands = true\nmax_payload_len = 4096\n",
        )
        .unwrap()
        .car2home;
        assert!(c.validate && c.reject_unknown_commands && !c.reject_unknown_fields);
        assert_eq!(c.max_payload_len, 4096);
        assert!(!Config::default().car2home.validate, "opt-in");
        let err = Config::from_toml_str("[car2home]\nvalidat = true\n").unwrap_err();
        assert!(err.to_string().contains("validat"), "{err}");
    }

    #[test]
    fn embedded_mqtt_section_is_the_car2home_bridge() {
        let embedded = Config::embedded().unwrap().mqtt;
        let expected = MqttConfig {
            exchange: "webos.topic".into(),
            subscription_ttl: 1_800_000,
            ..MqttConfig::default()
        };
        assert_eq!(embedded, expected);
        assert!(embedded.allow_anonymous);
        assert_eq!(
            (embedded.prefetch, embedded.default_user.as_str()),
            (10, "guest")
        );
        assert_eq!(
            embedded.listeners,
            vec![SocketAddr::from(([0, 0, 0, 0], 1883))]
        );
    }

    #[test]
    fn mqtt_section_parses_and_is_checked() {
        let c = Config::from_toml_str(
            "[mqtt]\nlisteners = [\"127.0.0.1:1884\"]\nexchange = \"x\"\nprefetch = 3",
        )
        .unwrap();
        assert_eq!((c.mqtt.prefetch, c.mqtt.exchange.as_str()), (3, "x"));
        let err = Config::from_toml_str("[mqtt]\nexchange = \"\"").unwrap_err();
        assert!(matches!(
            err,
            ConfigError::Invalid {
                key: "mqtt.exchange",
                ..
            }
        ));
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
    fn management_defaults_and_overrides() {
        let c = Config::from_toml_str(
            "[management]\nlisteners = [\"127.0.0.1:0\"]\nprometheus_enabled = false",
        )
        .unwrap();
        assert_eq!(c.management.listeners, vec!["127.0.0.1:0".parse().unwrap()]);
        assert!(!c.management.prometheus_enabled);
        assert_eq!(c.management.prometheus_listeners[0].port(), 15692);
        assert_eq!(Config::default().management.listeners[0].port(), 15672);
        assert!(Config::from_toml_str("[management]\nsample_interval = 0").is_err());
    }
    #[test]
    fn storage_section_parses_and_checks() {
        let c = Config::from_toml_str(
            "[storage]\ndata_dir = \"/tmp/w\"\nfsync = \"interval\"\nfsync_interval_ms = 50",
        )
        .unwrap();
        assert_eq!(c.storage.fsync, FsyncMode::Interval);
        assert_eq!(c.storage.data_dir, Some("/tmp/w".into()));
        assert_eq!(Config::default().storage.data_dir, None);
        assert!(Config::from_toml_str("[storage]\nfsync = \"sometimes\"").is_err());
        assert!(Config::from_toml_str("[storage]\nsegment_size = 10").is_err());
        assert!(Config::from_toml_str("[storage]\nqueue_page_entries = 0").is_err());
        assert!(Config::from_toml_str("[storage]\nmemory_high_watermark = 2.0").is_err());
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
