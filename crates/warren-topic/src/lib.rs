//! Routing tables for a message broker: which destinations (queues, sessions…) a message with a
//! given routing key goes to.
//!
//! - [`TopicTable`]: AMQP topic exchanges (`.` words, `*`, `#`), RabbitMQ's semantics.
//! - [`MqttTable`]: MQTT subscriptions (`/` levels, `+`, `#`, the `$` rule).
//! - [`DirectTable`] and [`FanoutTable`]: the other exchange types, behind the same
//!   [`RoutingTable`] trait so a broker core uses one routing API.
//! - [`amqp_matches`] / [`mqtt_matches`]: the naive one-pattern matchers, and [`LinearTable`], a
//!   linear scan used as the benchmark baseline.
//!
//! Bindings are counted per (pattern, destination), a route returns each destination once, and
//! [`RoutingTable::bindings`] lists everything for management and export.
//!
//! What this crate is not: it holds no messages, does no I/O, reads no clock and knows nothing
//! about queues or exchanges beyond the destination values it is given (any `Clone + Eq + Hash`
//! type). Tables are `Send + Sync` when the destination is; `route` takes `&self`, so a broker can
//! share a table behind an `RwLock`.
//!
//! ```
//! use warren_topic::{MqttTable, RoutingTable, TopicTable};
//!
//! // Car2Home: one queue per device bound to the topic exchange `webos.topic`.
//! let mut topic = TopicTable::new();
//! topic.bind("webos.smarthome.*", "smarthome-queue")?;
//! topic.bind("webos.#", "audit-queue")?;
//! topic.bind("*.car.#", "car-queue")?;
//!
//! let mut queues = Vec::new();
//! topic.route("webos.car.error", &mut queues);
//! queues.sort();
//! assert_eq!(queues, ["audit-queue", "car-queue"]);
//!
//! // MQTT devices subscribe with filters.
//! let mut mqtt = MqttTable::new();
//! mqtt.bind("webos/car/+", 1u32)?;
//! let mut sessions = Vec::new();
//! mqtt.route("webos/car/info", &mut sessions);
//! assert_eq!(sessions, [1]);
//! # Ok::<(), warren_topic::PatternError>(())
//! ```

mod dest_set;
mod direct;
mod error;
mod fanout;
mod limits_check;
mod linear;
mod matching;
mod registry;
mod table;
mod topic;
mod trie;

pub use direct::DirectTable;
pub use error::{InvalidReason, Limits, PatternError};
pub use fanout::FanoutTable;
pub use linear::LinearTable;
pub use matching::{amqp_matches, mqtt_matches, mqtt_matches_valid};
pub use table::{Binding, RoutingTable};
pub use topic::{MqttTable, TopicTable};
