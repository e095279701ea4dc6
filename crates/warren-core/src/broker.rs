//! The broker: users, vhosts, permissions, connections, and management listings.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Weak};

use parking_lot::{Mutex, RwLock};

use crate::auth::{Mechanism, User};
use crate::connection::{Connection, ConnectionId, ConnectionInfo};
use crate::error::{CoreError, LoginFailure};
use crate::exchange::{BindingInfo, ExchangeOptions};
use crate::expiry::{Clock, Time};
use crate::metrics::{Metrics, MetricsSnapshot};
use crate::permissions::Permissions;
use crate::queue::{ConsumerInfo, QueueOptions};
use crate::storage::{MemoryStorageFactory, StorageFactory};
use crate::value::FieldTable;
use crate::vhost::VHost;

/// The few limits and policies the core itself needs (frame and channel limits are the
/// server's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerConfig {
    /// Largest message body accepted, in bytes (RabbitMQ's `max_message_size`, default 128 MiB).
    pub max_message_size: usize,
    /// Users who may only log in from a loopback address (RabbitMQ's `loopback_users`,
    /// default `["guest"]`).
    pub loopback_users: Vec<String>,
    /// Most queues per vhost (`None`: unlimited).
    pub max_queues_per_vhost: Option<usize>,
}

impl Default for BrokerConfig {
    fn default() -> BrokerConfig {
        BrokerConfig {
            max_message_size: 128 * 1024 * 1024,
            loopback_users: vec!["guest".to_owned()],
            max_queues_per_vhost: None,
        }
    }
}

/// A queue as listed for management.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueInfo {
    /// The vhost.
    pub vhost: String,
    /// The name.
    pub name: String,
    /// Declared properties.
    pub options: QueueOptions,
    /// Owner of an exclusive queue.
    pub owner: Option<ConnectionId>,
    /// Ready messages.
    pub messages_ready: usize,
    /// Delivered, unacked messages.
    pub messages_unacked: usize,
    /// Body bytes of the ready messages.
    pub message_bytes: usize,
    /// Consumers.
    pub consumers: usize,
    /// Messages enqueued since creation.
    pub enqueued: u64,
    /// Deliveries and gets since creation.
    pub delivered: u64,
}

/// An exchange as listed for management.
#[derive(Debug, Clone, PartialEq)]
pub struct ExchangeInfo {
    /// The vhost.
    pub vhost: String,
    /// The name (`""` is the default exchange).
    pub name: String,
    /// Declared properties.
    pub options: ExchangeOptions,
}

/// A connection as listed for management.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionSummary {
    /// Its id.
    pub id: ConnectionId,
    /// The user.
    pub user: String,
    /// The vhost.
    pub vhost: String,
    /// The peer.
    pub peer: String,
    /// Open channels.
    pub channels: usize,
}

/// A resource alarm: while one is active, publishers are blocked (AMQP `connection.blocked`),
/// as RabbitMQ's memory and disk alarms do. The server measures; the core only keeps the flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Alarm {
    /// The memory high watermark is exceeded.
    Memory,
    /// Free disk space is below the limit.
    Disk,
}

impl Alarm {
    fn bit(self) -> u8 {
        match self {
            Alarm::Memory => 1,
            Alarm::Disk => 2,
        }
    }

    /// RabbitMQ's `connection.blocked` reason text.
    pub fn reason(self) -> &'static str {
        match self {
            Alarm::Memory => "low on memory",
            Alarm::Disk => "low on disk",
        }
    }
}

/// Told when the set of active alarms changes (a front wakes its connection, which then reads
/// [`Broker::active_alarms`]). Called with no core lock held; must not block.
pub trait AlarmListener: Send + Sync {
    /// The alarms changed.
    fn alarms_changed(&self);
}

/// The broker core. Share it as `Arc<Broker>` between connection tasks; every method takes
/// `&self` and is thread-safe.
pub struct Broker {
    config: BrokerConfig,
    users: RwLock<HashMap<String, Arc<User>>>,
    /// (vhost, user) -> compiled permissions.
    permissions: RwLock<HashMap<(String, String), Arc<Permissions>>>,
    vhosts: RwLock<BTreeMap<String, Arc<VHost>>>,
    storage: Arc<dyn StorageFactory>,
    metrics: Arc<Metrics>,
    next_connection: AtomicU64,
    connections: Mutex<HashMap<ConnectionId, Weak<Connection>>>,
    /// Active alarms, one bit per [`Alarm`].
    alarms: AtomicU8,
    alarm_listeners: Mutex<Vec<Weak<dyn AlarmListener>>>,
    /// The time of message TTLs and queue expiry (see [`crate::expiry`]).
    time: Arc<Time>,
}

impl std::fmt::Debug for Broker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Broker")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Broker {
    /// An empty broker (no vhost, no user) with in-memory queues.
    pub fn new(config: BrokerConfig) -> Broker {
        Broker::with_storage(config, Arc::new(MemoryStorageFactory))
    }

    /// An empty broker whose queues use `storage`.
    pub fn with_storage(config: BrokerConfig, storage: Arc<dyn StorageFactory>) -> Broker {
        Broker {
            config,
            users: RwLock::new(HashMap::new()),
            permissions: RwLock::new(HashMap::new()),
            vhosts: RwLock::new(BTreeMap::new()),
            storage,
            metrics: Arc::new(Metrics::default()),
            next_connection: AtomicU64::new(1),
            connections: Mutex::new(HashMap::new()),
            alarms: AtomicU8::new(0),
            alarm_listeners: Mutex::new(Vec::new()),
            time: Arc::new(Time::default()),
        }
    }

    /// RabbitMQ's fresh-install state: vhost `/`, user `guest`/`guest` (administrator, loopback
    /// only by the default config) with full permissions on `/`.
    pub fn with_defaults(config: BrokerConfig) -> Broker {
        let b = Broker::new(config);
        b.add_vhost("/");
        b.put_user(User::new(
            "guest",
            "guest",
            vec!["administrator".to_owned()],
        ));
        b.permissions.write().insert(
            ("/".to_owned(), "guest".to_owned()),
            Arc::new(Permissions::full()),
        );
        b
    }

    /// The configuration.
    pub fn config(&self) -> &BrokerConfig {
        &self.config
    }

    /// The counters.
    pub fn metrics(&self) -> MetricsSnapshot {
        self.metrics.snapshot()
    }

    // ---- users, vhosts, permissions ---------------------------------------------------------

    /// Adds or replaces a user.
    pub fn put_user(&self, user: User) {
        self.users.write().insert(user.name.clone(), Arc::new(user));
        self.storage.topology_changed();
    }

    /// Removes a user and its permissions; returns whether it existed.
    pub fn delete_user(&self, name: &str) -> bool {
        self.permissions.write().retain(|(_, u), _| u != name);
        let existed = self.users.write().remove(name).is_some();
        self.storage.topology_changed();
        existed
    }

    /// The user called `name`.
    pub fn user(&self, name: &str) -> Option<Arc<User>> {
        self.users.read().get(name).cloned()
    }

    /// Every user, sorted by name.
    pub fn users(&self) -> Vec<Arc<User>> {
        let mut v: Vec<_> = self.users.read().values().cloned().collect();
        v.sort_by(|a, b| a.name.cmp(&b.name));
        v
    }

    /// Checks a login (PLAIN or AMQPLAIN: the front extracts user and password). Users in
    /// `loopback_users` are refused unless `peer_is_loopback`. Every refusal is the same 403
    /// text, as in RabbitMQ; the reason is in the error for the log.
    pub fn authenticate(
        &self,
        mechanism: Mechanism,
        username: &str,
        password: &str,
        peer_is_loopback: bool,
    ) -> Result<Arc<User>, CoreError> {
        let refuse = |reason| CoreError::LoginRefused { mechanism, reason };
        let user = self
            .user(username)
            .ok_or(refuse(LoginFailure::UnknownUser))?;
        let ok = user.password.as_ref().is_some_and(|h| h.verify(password));
        if !ok {
            return Err(refuse(LoginFailure::BadPassword));
        }
        if !peer_is_loopback && self.config.loopback_users.iter().any(|u| u == username) {
            return Err(refuse(LoginFailure::LoopbackOnly));
        }
        Ok(user)
    }

    /// Adds a vhost (with its predeclared exchanges) unless it exists; returns it.
    pub fn add_vhost(&self, name: &str) -> Arc<VHost> {
        self.add_vhost_described(name, String::new())
    }

    pub(crate) fn add_vhost_described(&self, name: &str, description: String) -> Arc<VHost> {
        let mut vhosts = self.vhosts.write();
        if let Some(v) = vhosts.get(name) {
            return Arc::clone(v);
        }
        let v = Arc::new_cyclic(|this| {
            VHost::new(
                name,
                description,
                Arc::clone(&self.storage),
                Arc::clone(&self.metrics),
                self.config.max_queues_per_vhost,
                Arc::clone(&self.time),
                Weak::clone(this),
            )
        });
        vhosts.insert(name.to_owned(), Arc::clone(&v));
        drop(vhosts);
        self.storage.topology_changed();
        v
    }

    /// Deletes a vhost and everything in it; returns whether it existed.
    pub fn delete_vhost(&self, name: &str) -> bool {
        let removed = self.vhosts.write().remove(name);
        self.permissions.write().retain(|(v, _), _| v != name);
        match removed {
            Some(v) => {
                v.clear();
                self.storage.topology_changed();
                true
            }
            None => false,
        }
    }

    /// The vhost called `name`.
    pub fn vhost(&self, name: &str) -> Option<Arc<VHost>> {
        self.vhosts.read().get(name).cloned()
    }

    /// Every vhost, sorted by name.
    pub fn vhosts(&self) -> Vec<Arc<VHost>> {
        self.vhosts.read().values().cloned().collect()
    }

    /// Sets a user's permissions in a vhost (regexes compiled here; an invalid one is an error).
    /// Open connections keep the permissions they had (RabbitMQ caches them per connection too).
    pub fn set_permissions(
        &self,
        user: &str,
        vhost: &str,
        configure: &str,
        write: &str,
        read: &str,
    ) -> Result<(), CoreError> {
        let p = Permissions::new(configure, write, read)?;
        self.permissions
            .write()
            .insert((vhost.to_owned(), user.to_owned()), Arc::new(p));
        self.storage.topology_changed();
        Ok(())
    }

    /// Removes a user's permissions in a vhost.
    pub fn clear_permissions(&self, user: &str, vhost: &str) {
        self.permissions
            .write()
            .remove(&(vhost.to_owned(), user.to_owned()));
        self.storage.topology_changed();
    }

    /// A user's permissions in a vhost.
    pub fn permissions(&self, user: &str, vhost: &str) -> Option<Arc<Permissions>> {
        self.permissions
            .read()
            .get(&(vhost.to_owned(), user.to_owned()))
            .cloned()
    }

    /// Every (vhost, user, permissions), sorted.
    pub fn all_permissions(&self) -> Vec<(String, String, Arc<Permissions>)> {
        let mut v: Vec<_> = self
            .permissions
            .read()
            .iter()
            .map(|((vh, u), p)| (vh.clone(), u.clone(), Arc::clone(p)))
            .collect();
        v.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
        v
    }

    // ---- alarms -----------------------------------------------------------------------------

    /// Raises or clears an alarm; returns whether anything changed (listeners are told then).
    pub fn set_alarm(&self, alarm: Alarm, active: bool) -> bool {
        let before = if active {
            self.alarms.fetch_or(alarm.bit(), Ordering::AcqRel)
        } else {
            self.alarms.fetch_and(!alarm.bit(), Ordering::AcqRel)
        };
        let changed = (before & alarm.bit() != 0) != active;
        if changed {
            let listeners: Vec<Arc<dyn AlarmListener>> = {
                let mut l = self.alarm_listeners.lock();
                l.retain(|w| w.strong_count() > 0);
                l.iter().filter_map(Weak::upgrade).collect()
            };
            for listener in listeners {
                listener.alarms_changed();
            }
        }
        changed
    }

    /// The active alarms (empty: publishers may publish).
    pub fn active_alarms(&self) -> Vec<Alarm> {
        let bits = self.alarms.load(Ordering::Acquire);
        [Alarm::Memory, Alarm::Disk]
            .into_iter()
            .filter(|a| bits & a.bit() != 0)
            .collect()
    }

    /// True while any alarm is active.
    pub fn is_blocked(&self) -> bool {
        self.alarms.load(Ordering::Acquire) != 0
    }

    /// Registers `listener` (held weakly: dropping it unregisters) for alarm changes.
    pub fn watch_alarms(&self, listener: &Arc<dyn AlarmListener>) {
        let mut l = self.alarm_listeners.lock();
        l.retain(|w| w.strong_count() > 0);
        l.push(Arc::downgrade(listener));
    }

    // ---- time -------------------------------------------------------------------------------

    /// Sets the clock the broker reads between ticks (to stamp messages that have a TTL, check
    /// the head of a queue before a delivery, mark a queue with `x-expires` as used). It can
    /// be set once, before the broker is used; returns false if one was already set. Without
    /// one the broker's time is that of the last [`Broker::tick`]. See [`crate::expiry`].
    pub fn set_clock(&self, clock: Arc<dyn Clock>) -> bool {
        self.time.set_clock(clock)
    }

    /// The periodic work at `now` (milliseconds since the Unix epoch, the same time base as
    /// the clock): in every queue, expired messages at the head are dropped or dead-lettered,
    /// and queues unused for longer than their `x-expires` are deleted. A front calls it
    /// every 100 ms or so; TTLs are also checked lazily on delivery and `basic.get`, so the
    /// period only bounds how late message counts fall for queues nobody consumes from.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use bytes::Bytes;
    /// use warren_core::*;
    ///
    /// let broker = Broker::with_defaults(BrokerConfig::default());
    /// let clock = Arc::new(ManualClock::new(1_000));
    /// broker.set_clock(clock.clone());
    /// let vhost = broker.vhost("/").unwrap();
    /// let options = QueueOptions::default().argument("x-message-ttl", 500i32);
    /// broker.declare_queue("/", "short-lived", options)?;
    /// # let user = broker.authenticate(Mechanism::Plain, "guest", "guest", true)?;
    /// # let conn = broker.open_connection(ConnectionInfo { user, vhost: "/".into(),
    /// #     peer: "127.0.0.1:1".into(), protocol: Protocol::Amqp091, client_name: None })?;
    /// # struct Nobody;
    /// # impl DeliverySink for Nobody { fn deliver(&self, _: Delivery) {} fn cancelled(&self, _: &str) {} }
    /// # let ch = conn.open_channel(1, Arc::new(Nobody))?;
    /// ch.basic_publish("", "short-lived".into(), false, Properties::default(), Bytes::from_static(b"x"))?;
    /// let queue = vhost.queue("short-lived").unwrap();
    /// assert_eq!(queue.message_count(), 1);
    ///
    /// clock.advance(500);
    /// broker.tick(clock.now_ms());
    /// assert_eq!(queue.message_count(), 0);
    /// # Ok::<(), CoreError>(())
    /// ```
    pub fn tick(&self, now: u64) {
        self.time.ticked(now);
        for v in self.vhosts() {
            v.sweep(now);
        }
    }

    // ---- connections ------------------------------------------------------------------------

    /// Opens a connection for an authenticated user (`connection.open`): 530 NOT_ALLOWED when
    /// the vhost does not exist or the user has no permissions there.
    pub fn open_connection(&self, info: ConnectionInfo) -> Result<Arc<Connection>, CoreError> {
        let vhost = self
            .vhost(&info.vhost)
            .ok_or_else(|| CoreError::VHostNotFound {
                vhost: info.vhost.clone(),
            })?;
        let permissions = self
            .permissions(&info.user.name, &info.vhost)
            .ok_or_else(|| CoreError::VHostAccessRefused {
                vhost: info.vhost.clone(),
                user: info.user.name.clone(),
            })?;
        let id = ConnectionId(self.next_connection.fetch_add(1, Ordering::Relaxed));
        let conn = Arc::new(Connection::new(
            id,
            info,
            vhost,
            permissions,
            Arc::clone(&self.metrics),
            self.config.max_message_size,
        ));
        let mut conns = self.connections.lock();
        conns.retain(|_, w| w.strong_count() > 0);
        conns.insert(id, Arc::downgrade(&conn));
        Ok(conn)
    }

    /// Open connections (for management and shutdown: the server closes each with 320).
    pub fn connections(&self) -> Vec<Arc<Connection>> {
        let mut v: Vec<_> = self
            .connections
            .lock()
            .values()
            .filter_map(Weak::upgrade)
            .collect();
        v.sort_by_key(|c| c.id());
        v
    }

    /// Open connections, summarised.
    pub fn list_connections(&self) -> Vec<ConnectionSummary> {
        self.connections()
            .iter()
            .map(|c| ConnectionSummary {
                id: c.id(),
                user: c.user().name.clone(),
                vhost: c.vhost().to_owned(),
                peer: c.info().peer.clone(),
                channels: c.channel_count(),
            })
            .collect()
    }

    // ---- listings ---------------------------------------------------------------------------

    /// Queues with their counts, sorted by vhost then name.
    pub fn list_queues(&self) -> Vec<QueueInfo> {
        let mut out = Vec::new();
        for v in self.vhosts() {
            for q in v.queues() {
                let (ready, bytes, consumers) = q.counts();
                out.push(QueueInfo {
                    vhost: v.name().to_owned(),
                    name: q.name().to_owned(),
                    options: q.options().clone(),
                    owner: q.owner(),
                    messages_ready: ready,
                    messages_unacked: q.unacked.load(Ordering::Relaxed),
                    message_bytes: bytes,
                    consumers,
                    enqueued: q.enqueued.load(Ordering::Relaxed),
                    delivered: q.delivered.load(Ordering::Relaxed),
                });
            }
        }
        out
    }

    /// Exchanges (the default exchange included, as `""`), sorted by vhost then name.
    pub fn list_exchanges(&self) -> Vec<ExchangeInfo> {
        let mut out = Vec::new();
        for v in self.vhosts() {
            for e in v.exchanges() {
                out.push(ExchangeInfo {
                    vhost: v.name().to_owned(),
                    name: e.name().to_owned(),
                    options: e.options().clone(),
                });
            }
        }
        out
    }

    /// Explicit bindings (not the default exchange's implicit ones), as (vhost, binding).
    pub fn list_bindings(&self) -> Vec<(String, BindingInfo)> {
        let mut out = Vec::new();
        for v in self.vhosts() {
            for e in v.exchanges() {
                for b in e.bindings() {
                    out.push((v.name().to_owned(), b));
                }
            }
        }
        out
    }

    /// Consumers of every queue, as (vhost, consumer).
    pub fn list_consumers(&self) -> Vec<(String, ConsumerInfo)> {
        let mut out = Vec::new();
        for v in self.vhosts() {
            for q in v.queues() {
                for c in q.consumers() {
                    out.push((v.name().to_owned(), c));
                }
            }
        }
        out
    }

    /// Declares an exchange directly (configuration and definitions: no permission check).
    pub fn declare_exchange(
        &self,
        vhost: &str,
        name: &str,
        options: ExchangeOptions,
    ) -> Result<(), CoreError> {
        self.vhost_or_error(vhost)?
            .declare_exchange(name, options, false)
            .map(drop)
    }

    /// Declares a queue directly (configuration and definitions: no permission check, never
    /// exclusive to a connection).
    pub fn declare_queue(
        &self,
        vhost: &str,
        name: &str,
        options: QueueOptions,
    ) -> Result<(), CoreError> {
        self.vhost_or_error(vhost)?
            .declare_queue(name, options, false, None)
            .map(drop)
    }

    /// Binds directly (configuration and definitions).
    pub fn bind(
        &self,
        vhost: &str,
        source: &str,
        destination: &crate::exchange::Destination,
        key: &str,
        arguments: &FieldTable,
    ) -> Result<(), CoreError> {
        self.vhost_or_error(vhost)?
            .bind(source, destination, key, arguments)
    }

    fn vhost_or_error(&self, vhost: &str) -> Result<Arc<VHost>, CoreError> {
        self.vhost(vhost).ok_or_else(|| CoreError::VHostNotFound {
            vhost: vhost.to_owned(),
        })
    }
}
