//! The Warren broker core: vhosts, users, permissions, exchanges, queues, bindings, consumers
//! and message storage — with no wire format and no sockets.
//!
//! Protocol fronts (the AMQP 0-9-1 connection state machine in `warren-server`, later MQTT and
//! STOMP) turn frames into calls on this crate and turn what it hands back (deliveries through a
//! [`DeliverySink`], return values, errors) into frames. The core is synchronous and
//! thread-safe: share one `Arc<Broker>` between connection tasks on a multi-threaded runtime.
//!
//! **What it is not**: no tokio, no I/O, no clock reads, no codec (it has its own
//! [`FieldTable`]/[`Value`] and [`Properties`] types that a front converts to losslessly).
//! Time is given to it: [`Broker::tick`] for periodic work (message TTL, queue expiry) and an
//! injected [`Clock`] for the paths between ticks (see [`expiry`]); queue dead-lettering
//! (`x-dead-letter-exchange`) and exchange [`policy`] refusals share one republish path.
//! The one exception to "no I/O" is the optional durable [`store`]: queues keep messages
//! through the [`QueueStorage`] trait, in memory
//! ([`MemoryStorage`]) or, for durable queues, in the store's append-only segment files,
//! written and fsynced on the store's own thread (see the [`store`] module for the format and
//! the guarantees).
//!
//! # Flow
//! [`Broker::authenticate`] (PLAIN/AMQPLAIN user + password, loopback rule) →
//! [`Broker::open_connection`] (vhost access) → [`Connection::open_channel`] with a sink →
//! [`Channel`] methods, one per AMQP channel method. Errors are [`CoreError`]s carrying
//! RabbitMQ's reply code, scope (channel or connection) and reply text.
//!
//! # Concurrency and lock order
//! Shared state with fine-grained locks (parking_lot). A thread may take a lock only if it
//! holds no lock that comes *later* in this list:
//!
//! 1. `Broker` maps (users, permissions, vhosts, connections) — each taken alone, briefly.
//! 2. A vhost's *topology* mutex: serialises declare/delete/bind/unbind in that vhost (so a bind
//!    cannot race a delete). Publishing never takes it.
//! 3. A vhost's exchange map, then its queue map (read-mostly `RwLock`s, held briefly).
//! 4. An exchange's routing table (`RwLock`; read by publishers, one exchange at a time).
//! 5. A channel's publish scratch buffers (only ever taken by the channel's own front).
//! 6. **One** queue's mutex — never two queue locks at once.
//! 7. A channel's state mutex (delivery tags, unacked, credit, consumers).
//! 8. The front's [`DeliverySink`] (its outbox lock), which must not call back into the core.
//!
//! Dispatch runs with the queue lock held and takes the consumer's channel lock for each
//! delivery, calling the sink inside it, so deliveries reach a channel's sink in delivery-tag
//! order. The reverse path — ack, nack, cancel, qos, close — takes the channel lock, collects
//! what it must do, **releases it**, and only then locks queues (requeue, dispatch). So the
//! only nesting is queue → channel → sink, and no cycle is possible.
//!
//! # Hot path
//! `basic_publish`: one read of the exchange map, one read of the routing table (plus one per
//! exchange-to-exchange hop), one read of the queue map, then per matched queue one lock to
//! enqueue and dispatch. The message record (`Arc<Message>`) is the only allocation: routing
//! uses per-channel scratch vectors, fan-out clones the `Arc`, bodies are [`bytes::Bytes`].
//!
//! # Example
//! ```
//! use std::sync::Arc;
//! use bytes::Bytes;
//! use parking_lot::Mutex;
//! use warren_core::*;
//!
//! /// A sink that records deliveries (a real front appends frames to its outbox).
//! #[derive(Default)]
//! struct Recorder(Mutex<Vec<Delivery>>);
//! impl DeliverySink for Recorder {
//!     fn deliver(&self, d: Delivery) { self.0.lock().push(d); }
//!     fn cancelled(&self, _tag: &str) {}
//! }
//!
//! let broker = Arc::new(Broker::with_defaults(BrokerConfig::default()));
//! let user = broker.authenticate(Mechanism::Plain, "guest", "guest", true)?;
//! let conn = broker.open_connection(ConnectionInfo {
//!     user,
//!     vhost: "/".into(),
//!     peer: "127.0.0.1:50000".into(),
//!     protocol: Protocol::Amqp091,
//!     client_name: None,
//! })?;
//! let sink = Arc::new(Recorder::default());
//! let ch = conn.open_channel(1, sink.clone())?;
//!
//! ch.exchange_declare("webos.topic", ExchangeOptions::new(ExchangeKind::Topic))?;
//! let q = ch.queue_declare("car", QueueOptions::default(), false)?;
//! ch.queue_bind(&q.queue, "webos.topic", "webos.car.*", &FieldTable::new())?;
//! ch.basic_consume("car", "", false, false, |_tag| { /* write consume-ok here */ })?;
//!
//! let out = ch.basic_publish("webos.topic", "webos.car.lock".into(), true,
//!                            Properties::default(), Bytes::from_static(b"{}"))?;
//! assert_eq!(out.routed, 1);
//! assert_eq!(out.confirm, Confirm::Ack);
//!
//! let d = sink.0.lock().pop().unwrap();
//! assert_eq!((d.delivery_tag, d.redelivered), (1, false));
//! assert_eq!(d.message.routing_key, "webos.car.lock");
//! ch.basic_ack(d.delivery_tag, false)?;
//! conn.close();
//! # Ok::<(), CoreError>(())
//! ```

mod auth;
mod broker;
mod channel;
mod connection;
mod dead_letter;
mod definitions;
mod error;
mod exchange;
pub mod expiry;
mod headers;
mod message;
mod metrics;
mod names;
mod permissions;
pub mod policy;
mod queue;
mod reply_to;
mod retained;
mod session;
mod storage;
pub mod store;
mod value;
mod vhost;

pub use auth::{HashingAlgorithm, Mechanism, PasswordHash, User};
pub use broker::{
    Alarm, AlarmListener, Broker, BrokerConfig, ConnectionSummary, ExchangeInfo, QueueInfo,
};
pub use channel::{
    Channel, Confirm, Delivery, DeliverySink, GetOk, PublishOutcome, QueueDeclareOk,
};
pub use connection::{CloseListener, Connection, ConnectionId, ConnectionInfo, Protocol};
pub use definitions::{
    json_to_table, json_to_value, table_to_json, value_to_json, BindingDef, Definitions,
    ExchangeDef, PermissionDef, QueueDef, Tags, UserDef, VHostDef,
};
pub use error::{CoreError, ErrorScope, LoginFailure, Permission, ResourceKind, Result};
pub use exchange::{BindingInfo, Destination, Exchange, ExchangeKind, ExchangeOptions};
pub use expiry::{Clock, ManualClock};
pub use headers::{headers_match, XMatch};
pub use message::{Message, Properties};
pub use metrics::{Metrics, MetricsSnapshot};
pub use names::{consumer_tag as generate_consumer_tag, queue_name as generate_queue_name};
pub use permissions::Permissions;
pub use policy::{Car2HomePolicy, ExchangePolicy};
pub use queue::{ConsumerInfo, Overflow, Queue, QueueOptions};
pub use reply_to::{REPLY_TO_PREFIX, REPLY_TO_QUEUE};
pub use retained::{RetainedMessage, RetainedStore};
pub use session::{
    Claimed, ExpiredSession, PendingWill, SessionOwner, SessionRegistry, SessionState,
    SessionToken, SubscriptionRecord,
};
pub use storage::{
    MemoryStorage, MemoryStorageFactory, QueueStorage, QueuedMessage, StorageFactory, Ticket,
};
pub use value::{FieldTable, Value};
pub use vhost::VHost;
