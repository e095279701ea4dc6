//! The Car2Home default topology as plain data: exchanges, one queue per device, bindings.
//!
//! The broker core translates it into declarations (or loads [`Topology::to_definitions`], the
//! same thing in RabbitMQ's `definitions.json` format).

use serde_json::{json, Value};

use crate::device::Device;
use crate::routing_key::RoutingKey;

/// The topic exchange every Car2Home message goes through.
pub const TOPIC_EXCHANGE: &str = "webos.topic";
/// The fanout exchange for emergency messages to every device.
pub const FANOUT_EXCHANGE: &str = "webos.fanout";

/// An exchange type used by the topology.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ExchangeKind {
    /// Routes by `.`-separated words with `*` and `#` wildcards.
    Topic,
    /// Routes to every bound queue.
    Fanout,
}

impl ExchangeKind {
    /// The AMQP type name (`"topic"`, `"fanout"`).
    pub const fn as_str(self) -> &'static str {
        match self {
            ExchangeKind::Topic => "topic",
            ExchangeKind::Fanout => "fanout",
        }
    }
}

/// An exchange to declare.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExchangeDef {
    /// Its name.
    pub name: String,
    /// Its type.
    pub kind: ExchangeKind,
    /// Survives a broker restart.
    pub durable: bool,
    /// Deleted when its last binding goes.
    pub auto_delete: bool,
    /// Cannot be published to directly.
    pub internal: bool,
    /// The broker should apply the Car2Home validation policy ([`crate::validate`]) to
    /// messages published to it.
    pub validated: bool,
}

/// A queue to declare.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueDef {
    /// Its name (the device's name).
    pub name: String,
    /// Survives a broker restart.
    pub durable: bool,
    /// Owned by one connection.
    pub exclusive: bool,
    /// Deleted when its last consumer goes.
    pub auto_delete: bool,
}

/// A queue binding to declare.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindingDef {
    /// The source exchange.
    pub exchange: String,
    /// The destination queue.
    pub queue: String,
    /// The binding key (a topic pattern; empty for the fanout).
    pub routing_key: String,
}

/// A set of exchanges, queues and bindings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topology {
    /// Exchanges, declared first.
    pub exchanges: Vec<ExchangeDef>,
    /// Queues, declared second.
    pub queues: Vec<QueueDef>,
    /// Bindings, declared last.
    pub bindings: Vec<BindingDef>,
}

impl Default for Topology {
    fn default() -> Self {
        Topology::car2home()
    }
}

impl Topology {
    /// The Car2Home topology: `webos.topic` (topic) and `webos.fanout` (fanout), both transient,
    /// not auto-delete, not internal; one queue per device, named after it (`server`,
    /// `smarthome`, `car`, `android`, `camera`; transient, not exclusive, not auto-delete),
    /// bound to `webos.topic` with `webos.<device>.*` and to `webos.fanout`. Validation is on
    /// for `webos.topic`.
    ///
    /// ```
    /// use warren_car2home::topology::{Topology, TOPIC_EXCHANGE};
    ///
    /// let t = Topology::car2home();
    /// assert_eq!(t.queues.len(), 5);
    /// assert!(t.bindings.iter().any(|b| b.exchange == TOPIC_EXCHANGE
    ///     && b.queue == "android"
    ///     && b.routing_key == "webos.android.*"));
    /// ```
    pub fn car2home() -> Self {
        let exchange = |name: &str, kind, validated| ExchangeDef {
            name: name.to_owned(),
            kind,
            durable: false,
            auto_delete: false,
            internal: false,
            validated,
        };
        let exchanges = vec![
            exchange(TOPIC_EXCHANGE, ExchangeKind::Topic, true),
            exchange(FANOUT_EXCHANGE, ExchangeKind::Fanout, false),
        ];
        let queues = Device::ALL
            .iter()
            .map(|d| QueueDef {
                name: d.as_str().to_owned(),
                durable: false,
                exclusive: false,
                auto_delete: false,
            })
            .collect();
        let bindings = Device::ALL
            .iter()
            .flat_map(|d| {
                [
                    BindingDef {
                        exchange: TOPIC_EXCHANGE.to_owned(),
                        queue: d.as_str().to_owned(),
                        routing_key: RoutingKey::binding_pattern(*d),
                    },
                    BindingDef {
                        exchange: FANOUT_EXCHANGE.to_owned(),
                        queue: d.as_str().to_owned(),
                        routing_key: String::new(),
                    },
                ]
            })
            .collect();
        Topology {
            exchanges,
            queues,
            bindings,
        }
    }

    /// The topology in RabbitMQ's `definitions.json` shape (the `exchanges`, `queues` and
    /// `bindings` members), all in `vhost`. The `validated` flag has no RabbitMQ equivalent and
    /// is left out.
    pub fn to_definitions(&self, vhost: &str) -> Value {
        let exchanges: Vec<Value> = self
            .exchanges
            .iter()
            .map(|e| {
                json!({
                    "name": e.name, "vhost": vhost, "type": e.kind.as_str(),
                    "durable": e.durable, "auto_delete": e.auto_delete, "internal": e.internal,
                    "arguments": {},
                })
            })
            .collect();
        let queues: Vec<Value> = self
            .queues
            .iter()
            .map(|q| {
                json!({
                    "name": q.name, "vhost": vhost, "durable": q.durable,
                    "auto_delete": q.auto_delete, "arguments": {},
                })
            })
            .collect();
        let bindings: Vec<Value> = self
            .bindings
            .iter()
            .map(|b| {
                json!({
                    "source": b.exchange, "vhost": vhost, "destination": b.queue,
                    "destination_type": "queue", "routing_key": b.routing_key, "arguments": {},
                })
            })
            .collect();
        json!({ "exchanges": exchanges, "queues": queues, "bindings": bindings })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn car2home_topology_matches_the_seed() {
        let t = Topology::car2home();
        let names: Vec<_> = t.exchanges.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["webos.topic", "webos.fanout"]);
        for e in &t.exchanges {
            assert!(!e.durable && !e.auto_delete && !e.internal);
        }
        assert_eq!(t.exchanges[0].kind, ExchangeKind::Topic);
        assert_eq!(t.exchanges[1].kind, ExchangeKind::Fanout);
        let queues: Vec<_> = t.queues.iter().map(|q| q.name.as_str()).collect();
        assert_eq!(queues, ["server", "smarthome", "car", "android", "camera"]);
        assert_eq!(t.bindings.len(), 10);
        for q in &queues {
            let on = |ex: &str| {
                t.bindings
                    .iter()
                    .filter(|b| b.queue == *q && b.exchange == ex)
                    .map(|b| b.routing_key.clone())
                    .collect::<Vec<_>>()
            };
            assert_eq!(on("webos.topic"), [format!("webos.{q}.*")]);
            assert_eq!(on("webos.fanout"), [String::new()]);
        }
    }

    #[test]
    fn definitions_shape() {
        let d = Topology::car2home().to_definitions("/");
        assert_eq!(d["exchanges"][0]["type"], "topic");
        assert_eq!(d["exchanges"][1]["durable"], false);
        assert_eq!(d["queues"][4]["name"], "camera");
        assert_eq!(d["bindings"][0]["routing_key"], "webos.server.*");
        assert_eq!(d["bindings"][1]["source"], "webos.fanout");
        assert_eq!(d["bindings"][1]["destination_type"], "queue");
    }
}
