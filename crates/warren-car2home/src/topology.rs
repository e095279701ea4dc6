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
/// The fanout exchange where the broker's validation policy sends the messages it refuses
/// (with headers saying why, see [`crate::DeadLetterReason`]).
pub const DEAD_LETTER_EXCHANGE: &str = "webos.dlx";
/// The queue bound to [`DEAD_LETTER_EXCHANGE`]: the refused messages, for inspection.
pub const INVALID_QUEUE: &str = "webos.invalid";
/// How many refused messages [`INVALID_QUEUE`] keeps (the oldest are dropped beyond that), so
/// that a misbehaving device cannot fill the broker's memory when nobody reads them.
pub const INVALID_QUEUE_MAX_LENGTH: u64 = 10_000;

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
    /// Where the validation policy sends the messages it refuses (`None`: they are dropped).
    /// Only meaningful when `validated`.
    pub dead_letter_exchange: Option<String>,
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
    /// Most messages kept (`x-max-length`; the oldest are dropped beyond it); `None`: no limit.
    pub max_length: Option<u64>,
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
    /// for `webos.topic`, with dead letters going to the fanout exchange `webos.dlx`, which
    /// feeds the queue `webos.invalid` (the latest [`INVALID_QUEUE_MAX_LENGTH`] messages).
    ///
    /// ```
    /// use warren_car2home::topology::{Topology, INVALID_QUEUE, TOPIC_EXCHANGE};
    ///
    /// let t = Topology::car2home();
    /// assert_eq!(t.queues.len(), 6); // five devices and webos.invalid
    /// assert_eq!(t.queues[5].name, INVALID_QUEUE);
    /// assert!(t.bindings.iter().any(|b| b.exchange == TOPIC_EXCHANGE
    ///     && b.queue == "android"
    ///     && b.routing_key == "webos.android.*"));
    /// ```
    pub fn car2home() -> Self {
        let exchange = |name: &str, kind, dead_letter_exchange: Option<&str>| ExchangeDef {
            name: name.to_owned(),
            kind,
            durable: false,
            auto_delete: false,
            internal: false,
            validated: dead_letter_exchange.is_some(),
            dead_letter_exchange: dead_letter_exchange.map(str::to_owned),
        };
        let exchanges = vec![
            exchange(
                TOPIC_EXCHANGE,
                ExchangeKind::Topic,
                Some(DEAD_LETTER_EXCHANGE),
            ),
            exchange(FANOUT_EXCHANGE, ExchangeKind::Fanout, None),
            exchange(DEAD_LETTER_EXCHANGE, ExchangeKind::Fanout, None),
        ];
        let queue = |name: &str, max_length| QueueDef {
            name: name.to_owned(),
            durable: false,
            exclusive: false,
            auto_delete: false,
            max_length,
        };
        let queues = Device::ALL
            .iter()
            .map(|d| queue(d.as_str(), None))
            .chain([queue(INVALID_QUEUE, Some(INVALID_QUEUE_MAX_LENGTH))])
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
            .chain([BindingDef {
                exchange: DEAD_LETTER_EXCHANGE.to_owned(),
                queue: INVALID_QUEUE.to_owned(),
                routing_key: String::new(),
            }])
            .collect();
        Topology {
            exchanges,
            queues,
            bindings,
        }
    }

    /// The topology in RabbitMQ's `definitions.json` shape (the `exchanges`, `queues` and
    /// `bindings` members), all in `vhost`. The `validated` flag and the dead-letter exchange
    /// have no RabbitMQ equivalent (a policy on an exchange, not a declare argument) and are
    /// left out; a queue's `max_length` becomes its `x-max-length` argument.
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
                let arguments = match q.max_length {
                    Some(n) => json!({ "x-max-length": n }),
                    None => json!({}),
                };
                json!({
                    "name": q.name, "vhost": vhost, "durable": q.durable,
                    "auto_delete": q.auto_delete, "arguments": arguments,
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
        assert_eq!(names, ["webos.topic", "webos.fanout", "webos.dlx"]);
        for e in &t.exchanges {
            assert!(!e.durable && !e.auto_delete && !e.internal);
        }
        assert_eq!(t.exchanges[0].kind, ExchangeKind::Topic);
        assert_eq!(t.exchanges[1].kind, ExchangeKind::Fanout);
        assert_eq!(t.exchanges[2].kind, ExchangeKind::Fanout);
        let validated: Vec<_> = t.exchanges.iter().map(|e| e.validated).collect();
        assert_eq!(validated, [true, false, false]);
        assert_eq!(
            t.exchanges[0].dead_letter_exchange.as_deref(),
            Some("webos.dlx")
        );
        let queues: Vec<_> = t.queues.iter().map(|q| q.name.as_str()).collect();
        assert_eq!(
            queues,
            [
                "server",
                "smarthome",
                "car",
                "android",
                "camera",
                "webos.invalid"
            ]
        );
        assert_eq!(t.bindings.len(), 11);
        let invalid: Vec<_> = t
            .bindings
            .iter()
            .filter(|b| b.queue == INVALID_QUEUE)
            .map(|b| (b.exchange.as_str(), b.routing_key.as_str()))
            .collect();
        assert_eq!(invalid, [("webos.dlx", "")]);
        for q in &queues[..5] {
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
        assert_eq!(d["queues"][5]["arguments"]["x-max-length"], 10_000);
        assert_eq!(d["queues"][0]["arguments"], json!({}));
    }
}
