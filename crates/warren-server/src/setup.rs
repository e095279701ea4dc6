//! Building the broker core from the configuration: vhost, users, permissions, the Car2Home
//! topology and an optional RabbitMQ `definitions.json`.

use crate::config::Config;
use crate::ServerError;
use std::path::Path;
use warren_core::{Broker, BrokerConfig, Definitions, User};

/// A broker with everything the configuration (and definitions file, if any) asks for.
pub fn build_broker(config: &Config, definitions: Option<&Path>) -> Result<Broker, ServerError> {
    let broker = Broker::new(BrokerConfig {
        max_message_size: usize::try_from(config.amqp.max_message_size).unwrap_or(usize::MAX),
        loopback_users: config.defaults.loopback_users.clone(),
        ..BrokerConfig::default()
    });
    let vhost = &config.defaults.vhost;
    broker.add_vhost(vhost);
    for u in &config.defaults.users {
        broker.put_user(User::new(u.name.clone(), &u.password, u.tags.clone()));
        broker
            .set_permissions(&u.name, vhost, ".*", ".*", ".*")
            .map_err(ServerError::Setup)?;
    }
    if config.defaults.car2home_topology {
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
    Ok(broker)
}
