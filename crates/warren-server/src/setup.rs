//! Building the broker core from the configuration: the durable store (when
//! `storage.data_dir` is set), vhost, users, permissions, the Car2Home topology and its
//! validation policy (`[car2home]`), and an optional RabbitMQ `definitions.json`.
//!
//! With a data directory, a first start creates the configured vhost and users; later starts
//! restore what the previous run saved instead (so users and permissions changed at run time
//! survive), then apply the Car2Home topology and the definitions file on top (both are
//! idempotent declarations).

use crate::config::{Config, FsyncMode, StorageConfig};
use crate::ServerError;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tracing::{info, warn};
use warren_car2home::topology::{ExchangeKind as Car2HomeKind, Topology};
use warren_car2home::Validator;
use warren_core::store::{FsyncPolicy, Store, StoreConfig};
use warren_core::{Broker, BrokerConfig, Car2HomePolicy, Definitions, ExchangePolicy, User};

/// A built broker and, with a data directory, its store.
#[derive(Debug)]
pub struct Built {
    /// The broker.
    pub broker: Arc<Broker>,
    /// The durable store (`None` without `storage.data_dir`).
    pub store: Option<Arc<Store>>,
}

impl Built {
    /// Flushes and closes the store (call after the connections are closed).
    pub fn close(&self) {
        if let Some(store) = &self.store {
            store.close();
        }
    }
}

fn broker_config(config: &Config) -> BrokerConfig {
    BrokerConfig {
        max_message_size: usize::try_from(config.amqp.max_message_size).unwrap_or(usize::MAX),
        loopback_users: config.defaults.loopback_users.clone(),
        ..BrokerConfig::default()
    }
}

/// The store settings of `[storage]` with data directory `dir`.
pub fn store_config(storage: &StorageConfig, dir: &Path) -> StoreConfig {
    let mut c = StoreConfig::new(dir);
    c.fsync = match storage.fsync {
        FsyncMode::Always => FsyncPolicy::Always,
        FsyncMode::Interval => {
            FsyncPolicy::Interval(Duration::from_millis(storage.fsync_interval_ms))
        }
        FsyncMode::Never => FsyncPolicy::Never,
    };
    c.segment_size = storage.segment_size;
    c.memory_budget = usize::try_from(storage.memory_budget).unwrap_or(usize::MAX);
    c.queue_page_entries = usize::try_from(storage.queue_page_entries).unwrap_or(usize::MAX);
    c
}

/// The broker with everything the configuration (and definitions file, if any) asks for, on
/// the durable store when `storage.data_dir` is set (recovered and attached).
pub fn build(config: &Config, definitions: Option<&Path>) -> Result<Built, ServerError> {
    let Some(dir) = &config.storage.data_dir else {
        warn!(
            "storage.data_dir is not set: queues, messages and definitions are kept in memory only"
        );
        return Ok(Built {
            broker: Arc::new(build_broker(config, definitions)?),
            store: None,
        });
    };
    let store = Store::open(store_config(&config.storage, dir)).map_err(ServerError::Storage)?;
    let broker = Broker::with_storage(broker_config(config), store.factory());
    match store.definitions().map_err(ServerError::Storage)? {
        Some(saved) => {
            info!(dir = %dir.display(), "restoring the durable definitions");
            broker
                .import_definitions(&saved)
                .map_err(ServerError::Setup)?;
        }
        None => add_defaults(&broker, config)?,
    }
    add_topology(&broker, config, definitions)?;
    let broker = Arc::new(broker);
    store.attach(&broker).map_err(ServerError::Storage)?;
    Ok(Built {
        broker,
        store: Some(Arc::new(store)),
    })
}

/// An in-memory broker with everything the configuration (and definitions file, if any) asks
/// for; ignores `[storage]`.
pub fn build_broker(config: &Config, definitions: Option<&Path>) -> Result<Broker, ServerError> {
    let broker = Broker::new(broker_config(config));
    add_defaults(&broker, config)?;
    add_topology(&broker, config, definitions)?;
    Ok(broker)
}

/// The configured vhost and users (with full permissions on it).
fn add_defaults(broker: &Broker, config: &Config) -> Result<(), ServerError> {
    let vhost = &config.defaults.vhost;
    broker.add_vhost(vhost);
    for u in &config.defaults.users {
        broker.put_user(User::new(u.name.clone(), &u.password, u.tags.clone()));
        broker
            .set_permissions(&u.name, vhost, ".*", ".*", ".*")
            .map_err(ServerError::Setup)?;
    }
    Ok(())
}

/// The Car2Home topology and the definitions file.
fn add_topology(
    broker: &Broker,
    config: &Config,
    definitions: Option<&Path>,
) -> Result<(), ServerError> {
    let vhost = &config.defaults.vhost;
    if config.defaults.car2home_topology {
        broker.add_vhost(vhost);
        let topology = warren_car2home::topology::Topology::car2home().to_definitions(vhost);
        let defs: Definitions =
            serde_json::from_value(topology).map_err(|e| ServerError::Definitions {
                path: "<built-in Car2Home topology>".into(),
                reason: e.to_string(),
            })?;
        broker
            .import_definitions(&defs)
            .map_err(ServerError::Setup)?;
    }
    if let Some(path) = definitions {
        let text = std::fs::read_to_string(path).map_err(|e| ServerError::Definitions {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        let defs: Definitions =
            serde_json::from_str(&text).map_err(|e| ServerError::Definitions {
                path: path.display().to_string(),
                reason: e.to_string(),
            })?;
        broker
            .import_definitions(&defs)
            .map_err(ServerError::Setup)?;
    }
    add_car2home_policies(broker, config);
    Ok(())
}

/// With `car2home.validate`, the Car2Home validation policy on every exchange the topology
/// marks validated (`webos.topic`), dead-lettering to the exchange it names (`webos.dlx`).
fn add_car2home_policies(broker: &Broker, config: &Config) {
    let c2h = &config.car2home;
    if !c2h.validate {
        return;
    }
    let Some(vhost) = broker.vhost(&config.defaults.vhost) else {
        warn!(vhost = %config.defaults.vhost, "car2home.validate: the vhost does not exist");
        return;
    };
    let mut validator = Validator::new();
    validator.max_payload_len = usize::try_from(c2h.max_payload_len).unwrap_or(usize::MAX);
    validator.reject_unknown_commands = c2h.reject_unknown_commands;
    validator.reject_unknown_fields = c2h.reject_unknown_fields;
    for ex in Topology::car2home()
        .exchanges
        .iter()
        .filter(|e| e.validated)
    {
        let mut policy = Car2HomePolicy::new()
            .validator(validator.clone())
            .broadcast(ex.kind == Car2HomeKind::Fanout);
        if let Some(dlx) = &ex.dead_letter_exchange {
            policy = policy.dead_letter_exchange(dlx.clone());
        }
        vhost.set_exchange_policy(&ex.name, Some(ExchangePolicy::Car2Home(policy)));
        info!(
            exchange = %ex.name,
            dead_letter_exchange = ex.dead_letter_exchange.as_deref().unwrap_or("(none)"),
            "Car2Home validation on"
        );
    }
}
