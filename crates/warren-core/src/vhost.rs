//! Virtual hosts: the exchange and queue maps and every topology operation (declare, delete,
//! bind, unbind), without permission checks (channels check, definitions import trusts).

use std::collections::HashMap;
use std::sync::{Arc, Weak};

use parking_lot::{Mutex, RwLock};

use crate::connection::ConnectionId;
use crate::error::{CoreError, ResourceKind};
use crate::exchange::{BindError, Destination, Exchange, ExchangeKind, ExchangeOptions};
use crate::expiry::{Lifecycle, Time};
use crate::message::Message;
use crate::metrics::Metrics;
use crate::policy::ExchangePolicy;
use crate::queue::{Consumer, Limits, Queue, QueueOptions, COMPARED_QUEUE_ARGS};
use crate::storage::StorageFactory;
use crate::value::{FieldTable, Value};

/// The predeclared exchanges of every vhost (all durable).
pub(crate) const PREDECLARED: &[(&str, ExchangeKind)] = &[
    ("amq.direct", ExchangeKind::Direct),
    ("amq.fanout", ExchangeKind::Fanout),
    ("amq.topic", ExchangeKind::Topic),
    ("amq.headers", ExchangeKind::Headers),
    ("amq.match", ExchangeKind::Headers),
];

/// A virtual host.
pub struct VHost {
    name: Arc<str>,
    pub(crate) description: String,
    /// Serialises topology changes (declare, delete, bind, unbind) in this vhost, so that a bind
    /// cannot race a delete. Publishing never takes it. First in the lock order.
    topology: Mutex<()>,
    exchanges: RwLock<HashMap<Arc<str>, Arc<Exchange>>>,
    queues: RwLock<HashMap<Arc<str>, Arc<Queue>>>,
    /// Exchange policies by exchange name, attached to the exchange of that name whenever it is
    /// declared (taken after the topology mutex, before the exchange map).
    policies: RwLock<HashMap<Arc<str>, Arc<ExchangePolicy>>>,
    storage: Arc<dyn StorageFactory>,
    metrics: Arc<Metrics>,
    max_queues: Option<usize>,
    /// Direct reply-to consumers (`amq.rabbitmq.reply-to`) by token.
    pub(crate) reply_to: crate::reply_to::ReplyRegistry,
    /// The broker's time (message TTL, queue expiry).
    time: Arc<Time>,
    /// This vhost, for its queues (they route their dead letters here).
    this: Weak<VHost>,
}

impl std::fmt::Debug for VHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VHost")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

fn word_bool(b: bool) -> String {
    format!("'{b}'")
}

/// RabbitMQ's wording of one side of an inequivalent argument.
fn word_arg(v: Option<&Value>, other: Option<&Value>) -> String {
    match (v, other) {
        (None, _) => "none".to_owned(),
        (Some(v), Some(_)) => format!("'{v}'"),
        (Some(v), None) => format!("the value '{v}' of type '{}'", v.type_name()),
    }
}

impl VHost {
    pub(crate) fn new(
        name: &str,
        description: String,
        storage: Arc<dyn StorageFactory>,
        metrics: Arc<Metrics>,
        max_queues: Option<usize>,
        time: Arc<Time>,
        this: Weak<VHost>,
    ) -> VHost {
        let mut exchanges = HashMap::new();
        let default: Arc<str> = Arc::from("");
        exchanges.insert(
            Arc::clone(&default),
            Arc::new(Exchange::new(
                default,
                ExchangeOptions::new(ExchangeKind::Direct).durable(true),
            )),
        );
        for (n, kind) in PREDECLARED {
            let n: Arc<str> = Arc::from(*n);
            exchanges.insert(
                Arc::clone(&n),
                Arc::new(Exchange::new(n, ExchangeOptions::new(*kind).durable(true))),
            );
        }
        VHost {
            name: Arc::from(name),
            description,
            topology: Mutex::new(()),
            exchanges: RwLock::new(exchanges),
            queues: RwLock::new(HashMap::new()),
            policies: RwLock::new(HashMap::new()),
            storage,
            metrics,
            max_queues,
            reply_to: Default::default(),
            time,
            this,
        }
    }

    /// The name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The storage factory of this vhost's queues.
    pub(crate) fn storage(&self) -> &Arc<dyn StorageFactory> {
        &self.storage
    }

    fn not_found(&self, kind: ResourceKind, name: &str) -> CoreError {
        CoreError::NotFound {
            kind,
            name: name.to_owned(),
            vhost: self.name.to_string(),
        }
    }

    /// The exchange called `name`.
    pub fn exchange(&self, name: &str) -> Option<Arc<Exchange>> {
        self.exchanges.read().get(name).cloned()
    }

    /// The queue called `name`.
    pub fn queue(&self, name: &str) -> Option<Arc<Queue>> {
        self.queues.read().get(name).cloned()
    }

    pub(crate) fn exchange_or_404(&self, name: &str) -> Result<Arc<Exchange>, CoreError> {
        self.exchange(name)
            .ok_or_else(|| self.not_found(ResourceKind::Exchange, name))
    }

    pub(crate) fn queue_or_404(&self, name: &str) -> Result<Arc<Queue>, CoreError> {
        self.queue(name)
            .ok_or_else(|| self.not_found(ResourceKind::Queue, name))
    }

    /// Every exchange, sorted by name.
    pub fn exchanges(&self) -> Vec<Arc<Exchange>> {
        let mut v: Vec<_> = self.exchanges.read().values().cloned().collect();
        v.sort_by(|a, b| a.name().cmp(b.name()));
        v
    }

    /// Every queue, sorted by name.
    pub fn queues(&self) -> Vec<Arc<Queue>> {
        let mut v: Vec<_> = self.queues.read().values().cloned().collect();
        v.sort_by(|a, b| a.name().cmp(b.name()));
        v
    }

    /// Declares an exchange (or checks an existing one is equivalent). `passive` only checks
    /// that it exists.
    pub fn declare_exchange(
        &self,
        name: &str,
        options: ExchangeOptions,
        passive: bool,
    ) -> Result<Arc<Exchange>, CoreError> {
        if name.is_empty() {
            return Err(CoreError::DefaultExchange);
        }
        let _topology = self.topology.lock();
        if let Some(existing) = self.exchange(name) {
            if !passive {
                self.check_exchange_equivalent(&existing, &options)?;
            }
            return Ok(existing);
        }
        if passive {
            return Err(self.not_found(ResourceKind::Exchange, name));
        }
        if name.starts_with("amq.") {
            return Err(CoreError::ReservedName {
                kind: ResourceKind::Exchange,
                name: name.to_owned(),
            });
        }
        let name: Arc<str> = Arc::from(name);
        let durable = options.durable;
        let ex = Arc::new(Exchange::new(Arc::clone(&name), options));
        ex.set_policy(self.policies.read().get(&name).cloned());
        self.exchanges.write().insert(name, Arc::clone(&ex));
        drop(_topology);
        if durable {
            self.storage.topology_changed();
        }
        Ok(ex)
    }

    /// Sets (or with `None` removes) the policy of the exchange called `exchange`: now if it
    /// exists, and whenever an exchange of that name is declared later. The default exchange
    /// takes no policy (`false`); otherwise `true`.
    ///
    /// ```
    /// use warren_core::*;
    ///
    /// let broker = Broker::with_defaults(BrokerConfig::default());
    /// let vhost = broker.vhost("/").unwrap();
    /// let policy = ExchangePolicy::Car2Home(Car2HomePolicy::new().dead_letter_exchange("webos.dlx"));
    /// assert!(vhost.set_exchange_policy("webos.topic", Some(policy)));
    /// // Declared afterwards, the exchange has it.
    /// let ex = vhost.declare_exchange("webos.topic", ExchangeOptions::new(ExchangeKind::Topic), false)?;
    /// assert_eq!(ex.policy().map(|p| p.name()), Some("car2home"));
    /// # Ok::<(), CoreError>(())
    /// ```
    pub fn set_exchange_policy(&self, exchange: &str, policy: Option<ExchangePolicy>) -> bool {
        if exchange.is_empty() {
            return false;
        }
        let _topology = self.topology.lock();
        let policy = policy.map(Arc::new);
        match &policy {
            Some(p) => {
                self.policies
                    .write()
                    .insert(Arc::from(exchange), Arc::clone(p));
            }
            None => {
                self.policies.write().remove(exchange);
            }
        }
        if let Some(ex) = self.exchange(exchange) {
            ex.set_policy(policy);
        }
        true
    }

    fn check_exchange_equivalent(
        &self,
        existing: &Exchange,
        new: &ExchangeOptions,
    ) -> Result<(), CoreError> {
        let cur = existing.options();
        let fail = |arg: &'static str, received: String, current: String| CoreError::Inequivalent {
            kind: ResourceKind::Exchange,
            name: existing.name().to_owned(),
            vhost: self.name.to_string(),
            arg,
            received,
            current,
        };
        if cur.kind != new.kind {
            return Err(fail(
                "type",
                format!("'{}'", new.kind),
                format!("'{}'", cur.kind),
            ));
        }
        for (arg, a, b) in [
            ("durable", new.durable, cur.durable),
            ("auto_delete", new.auto_delete, cur.auto_delete),
            ("internal", new.internal, cur.internal),
        ] {
            if a != b {
                return Err(fail(arg, word_bool(a), word_bool(b)));
            }
        }
        compare_args(&["alternate-exchange"], &new.arguments, &cur.arguments)
            .map_err(|(arg, r, c)| fail(arg, r, c))
    }

    /// Deletes an exchange. Missing is not an error (RabbitMQ's idempotent delete).
    pub fn delete_exchange(&self, name: &str, if_unused: bool) -> Result<(), CoreError> {
        if name.is_empty() {
            return Err(CoreError::DefaultExchange);
        }
        if name.starts_with("amq.") && PREDECLARED.iter().any(|(n, _)| *n == name) {
            return Err(CoreError::SystemExchange {
                name: name.to_owned(),
                vhost: self.name.to_string(),
            });
        }
        let _topology = self.topology.lock();
        let Some(ex) = self.exchange(name) else {
            return Ok(());
        };
        if if_unused && (ex.binding_count() > 0 || self.is_destination(name)) {
            return Err(CoreError::InUse {
                kind: ResourceKind::Exchange,
                name: name.to_owned(),
                vhost: self.name.to_string(),
            });
        }
        self.remove_exchange_locked(name);
        drop(_topology);
        self.storage.topology_changed();
        Ok(())
    }

    /// True when some exchange-to-exchange binding points at exchange `name`.
    fn is_destination(&self, name: &str) -> bool {
        let d = Destination::Exchange(Arc::from(name));
        self.exchanges
            .read()
            .values()
            .any(|e| e.has_destination(&d))
    }

    /// Removes an exchange and every binding to it (topology lock held), cascading auto-delete.
    fn remove_exchange_locked(&self, name: &str) {
        let removed = self.exchanges.write().remove(name);
        if let Some(ex) = removed {
            self.scrub_destination(&Destination::Exchange(Arc::clone(ex.name_arc())));
        }
    }

    /// Removes every binding to `dest` and auto-deletes source exchanges left without bindings.
    fn scrub_destination(&self, dest: &Destination) {
        let exchanges: Vec<Arc<Exchange>> = self.exchanges.read().values().cloned().collect();
        for ex in exchanges {
            if ex.remove_destination(dest) > 0
                && ex.options().auto_delete
                && ex.binding_count() == 0
            {
                self.remove_exchange_locked(ex.name());
            }
        }
    }

    /// Declares a queue (or checks an existing one). Returns the queue, its ready message count
    /// and consumer count, as declare-ok carries them. `owner` is the declaring connection.
    pub fn declare_queue(
        &self,
        name: &str,
        options: QueueOptions,
        passive: bool,
        owner: Option<ConnectionId>,
    ) -> Result<(Arc<Queue>, usize, usize), CoreError> {
        let _topology = self.topology.lock();
        if let Some(q) = self.queue(name) {
            if let Some(conn) = owner {
                q.check_owner(conn)?;
            }
            if !passive {
                if q.options().exclusive != options.exclusive {
                    return Err(q.locked());
                }
                self.check_queue_equivalent(&q, &options)?;
            }
            // A redeclare (passive too) is a use: `x-expires` counts again from now.
            q.touch();
            let (ready, _, consumers) = q.counts();
            return Ok((q, ready, consumers));
        }
        if passive {
            return Err(self.not_found(ResourceKind::Queue, name));
        }
        if let Some(max) = self.max_queues {
            if self.queues.read().len() >= max {
                return Err(CoreError::ResourceLimit(format!(
                    "cannot declare queue '{name}' in vhost '{}': queue limit ({max}) is reached",
                    self.name
                )));
            }
        }
        let limits = Limits::parse(&options.arguments, name, &self.name)?;
        let lifecycle = Lifecycle::parse(&options.arguments, name, &self.name)?;
        let owner = if options.exclusive { owner } else { None };
        let survives = survives_restart(&options);
        let store = self.storage.create(&self.name, name, survives);
        let name: Arc<str> = Arc::from(name);
        let q = Arc::new(Queue::new(
            Arc::clone(&name),
            Arc::clone(&self.name),
            options,
            owner,
            (limits, lifecycle),
            Weak::clone(&self.this),
            Arc::clone(&self.time),
            store,
        ));
        self.queues.write().insert(name, Arc::clone(&q));
        self.metrics.queue_declared();
        drop(_topology);
        if survives {
            self.storage.topology_changed();
        }
        // Recovered messages of a durable queue are ready at once.
        let (ready, _, _) = q.counts();
        Ok((q, ready, 0))
    }

    fn check_queue_equivalent(&self, q: &Queue, new: &QueueOptions) -> Result<(), CoreError> {
        let cur = q.options();
        let fail = |arg: &'static str, received: String, current: String| CoreError::Inequivalent {
            kind: ResourceKind::Queue,
            name: q.name().to_owned(),
            vhost: self.name.to_string(),
            arg,
            received,
            current,
        };
        for (arg, a, b) in [
            ("durable", new.durable, cur.durable),
            ("auto_delete", new.auto_delete, cur.auto_delete),
        ] {
            if a != b {
                return Err(fail(arg, word_bool(a), word_bool(b)));
            }
        }
        compare_args(COMPARED_QUEUE_ARGS, &new.arguments, &cur.arguments)
            .map_err(|(arg, r, c)| fail(arg, r, c))
    }

    /// Deletes a queue; returns the number of ready messages it had. Missing is not an error.
    /// `requester` is checked against an exclusive queue's owner (`None`: trusted caller).
    pub fn delete_queue(
        &self,
        name: &str,
        if_unused: bool,
        if_empty: bool,
        requester: Option<ConnectionId>,
    ) -> Result<usize, CoreError> {
        let _topology = self.topology.lock();
        let Some(q) = self.queue(name) else {
            return Ok(0);
        };
        if let Some(conn) = requester {
            q.check_owner(conn)?;
        }
        let (ready, _, consumers) = q.counts();
        if if_unused && consumers > 0 {
            return Err(CoreError::InUse {
                kind: ResourceKind::Queue,
                name: name.to_owned(),
                vhost: self.name.to_string(),
            });
        }
        if if_empty && ready > 0 {
            return Err(CoreError::NotEmpty {
                name: name.to_owned(),
                vhost: self.name.to_string(),
            });
        }
        let ready = self.remove_queue_locked(&q);
        drop(_topology);
        if survives_restart(q.options()) {
            self.storage.topology_changed();
        }
        Ok(ready)
    }

    /// Publishes a message the broker re-routes itself (a dead letter, or a message an
    /// exchange policy refused) from `exchange` to every matching queue that `accept` lets
    /// through. Nobody waits for a confirm, so full queues and durability tickets do not
    /// matter. The one republish path of the core: exchange policies and queue dead-lettering
    /// both use it.
    pub(crate) fn republish(
        &self,
        exchange: &Exchange,
        message: &Arc<Message>,
        scratch: &mut RouteScratch,
        queues: &mut Vec<Arc<Queue>>,
        accept: impl Fn(&Queue) -> bool,
    ) {
        queues.clear();
        self.route(
            exchange,
            &message.routing_key,
            message.properties.headers.as_ref(),
            scratch,
            queues,
        );
        // Taken out first: an enqueue may republish again (a dead letter dropped at once),
        // which must not find this list in use.
        let targets = std::mem::take(queues);
        for q in &targets {
            if accept(q) {
                let _ = q.enqueue(Arc::clone(message), None);
            } else {
                tracing::debug!(queue = %q.name(), vhost = %self.name,
                    "dead-letter cycle: message dropped for this queue");
            }
        }
        *queues = targets;
        queues.clear();
    }

    /// The periodic sweep of time-based work at `now` (ms since the epoch): expired messages
    /// at the head of each queue are dropped or dead-lettered, and queues unused for longer
    /// than their `x-expires` are deleted (their messages are not dead-lettered, as in
    /// RabbitMQ).
    pub(crate) fn sweep(&self, now: u64) {
        let queues: Vec<Arc<Queue>> = self.queues.read().values().cloned().collect();
        for q in queues {
            if q.sweep(now) {
                tracing::debug!(queue = %q.name(), vhost = %self.name, "queue expired (x-expires)");
                self.delete_queue_instance(&q);
                if survives_restart(q.options()) {
                    self.storage.topology_changed();
                }
            }
        }
    }

    /// Deletes `q` if it is still the queue of that name (used by auto-delete and exclusive
    /// cleanup, which hold an `Arc` that may be stale).
    pub(crate) fn delete_queue_instance(&self, q: &Arc<Queue>) {
        let _topology = self.topology.lock();
        if self.queue(q.name()).is_some_and(|cur| Arc::ptr_eq(&cur, q)) {
            self.remove_queue_locked(q);
        }
    }

    fn remove_queue_locked(&self, q: &Arc<Queue>) -> usize {
        self.queues.write().remove(q.name());
        self.scrub_destination(&Destination::Queue(Arc::clone(q.name_arc())));
        let (ready, consumers) = q.mark_deleted();
        self.metrics.queue_deleted();
        notify_cancelled(consumers);
        ready
    }

    /// Binds `destination` to exchange `source` with `key` and `arguments` (idempotent).
    pub fn bind(
        &self,
        source: &str,
        destination: &Destination,
        key: &str,
        arguments: &FieldTable,
    ) -> Result<(), CoreError> {
        if source.is_empty() || destination.name().is_empty() {
            return Err(CoreError::DefaultExchange);
        }
        let _topology = self.topology.lock();
        self.check_destination(destination)?;
        let ex = self.exchange_or_404(source)?;
        match ex.bind(destination.clone(), key, arguments) {
            Ok(created) => {
                drop(_topology);
                if created {
                    self.storage.topology_changed();
                }
                Ok(())
            }
            Err(BindError::Core(e)) => Err(*e),
            Err(BindError::Pattern(e)) => Err(CoreError::InvalidBindingKey {
                key: key.to_owned(),
                exchange: source.to_owned(),
                vhost: self.name.to_string(),
                reason: e.to_string(),
            }),
        }
    }

    fn check_destination(&self, destination: &Destination) -> Result<(), CoreError> {
        match destination {
            Destination::Queue(q) => self.queue_or_404(q).map(drop),
            Destination::Exchange(e) => self.exchange_or_404(e).map(drop),
        }
    }

    /// Removes a binding. Missing binding, queue or exchange is not an error (as RabbitMQ);
    /// an auto-delete source left without bindings is deleted.
    pub fn unbind(
        &self,
        source: &str,
        destination: &Destination,
        key: &str,
        arguments: &FieldTable,
    ) -> Result<(), CoreError> {
        if source.is_empty() || destination.name().is_empty() {
            return Err(CoreError::DefaultExchange);
        }
        let _topology = self.topology.lock();
        let Some(ex) = self.exchange(source) else {
            return Ok(());
        };
        let removed = ex.unbind(destination, key, arguments);
        if removed && ex.options().auto_delete && ex.binding_count() == 0 {
            self.remove_exchange_locked(source);
        }
        drop(_topology);
        if removed {
            self.storage.topology_changed();
        }
        Ok(())
    }

    /// Routes to queues: appends each matching queue once to `out`. Follows exchange-to-exchange
    /// bindings, visiting each exchange once (so binding loops are harmless). `scratch` is reused
    /// between calls to avoid allocating.
    pub(crate) fn route(
        &self,
        exchange: &Exchange,
        key: &str,
        headers: Option<&FieldTable>,
        scratch: &mut RouteScratch,
        out: &mut Vec<Arc<Queue>>,
    ) {
        if exchange.name().is_empty() {
            if let Some(q) = self.queue(key) {
                out.push(q);
            }
            return;
        }
        let RouteScratch { dests, visited } = scratch;
        dests.clear();
        visited.clear();
        exchange.route(key, headers, dests);
        let mut i = 0;
        while let Some(d) = dests.get(i) {
            if let Destination::Exchange(name) = d {
                if name.as_ref() != exchange.name() && !visited.contains(name) {
                    let name = Arc::clone(name);
                    if let Some(next) = self.exchange(&name) {
                        next.route(key, headers, dests);
                    }
                    visited.push(name);
                }
            }
            i += 1;
        }
        if !visited.is_empty() {
            dests.sort_unstable();
            dests.dedup();
        }
        let queues = self.queues.read();
        for d in dests.iter() {
            if let Destination::Queue(name) = d {
                if let Some(q) = queues.get(name) {
                    out.push(Arc::clone(q));
                }
            }
        }
    }

    /// Deletes this vhost's contents (its queues tell their consumers).
    pub(crate) fn clear(&self) {
        let _topology = self.topology.lock();
        let queues: Vec<Arc<Queue>> = self.queues.write().drain().map(|(_, q)| q).collect();
        self.exchanges.write().clear();
        for q in queues {
            let (_, consumers) = q.mark_deleted();
            self.metrics.queue_deleted();
            notify_cancelled(consumers);
        }
    }
}

/// Scratch buffers for [`VHost::route`].
#[derive(Debug, Default)]
pub(crate) struct RouteScratch {
    dests: Vec<Destination>,
    visited: Vec<Arc<str>>,
}

/// True when a queue with these options survives a restart: durable, and neither exclusive nor
/// auto-delete (those are cleaned up at restart).
pub(crate) fn survives_restart(options: &QueueOptions) -> bool {
    options.durable && !options.exclusive && !options.auto_delete
}

/// Tells each consumer's channel that its queue is gone (`basic.cancel` from the server).
fn notify_cancelled(consumers: Vec<Arc<Consumer>>) {
    for c in consumers {
        c.channel.consumer_gone(&c);
    }
}

/// Compares the listed arguments; on a difference returns (arg, received, current) worded.
fn compare_args(
    keys: &[&'static str],
    new: &FieldTable,
    cur: &FieldTable,
) -> Result<(), (&'static str, String, String)> {
    for key in keys {
        let (a, b) = (new.get(key), cur.get(key));
        let same = match (a, b) {
            (None, None) => true,
            (Some(a), Some(b)) => a.equivalent(b),
            _ => false,
        };
        if !same {
            return Err((key, word_arg(a, b), word_arg(b, a)));
        }
    }
    Ok(())
}
