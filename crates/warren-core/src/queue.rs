//! Queues: ready messages (behind [`QueueStorage`]), consumers and round-robin dispatch.

use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};

use parking_lot::{Mutex, MutexGuard};

use crate::channel::ChannelCore;
use crate::connection::ConnectionId;
use crate::dead_letter::{self, DeathReason};
use crate::error::{CoreError, ResourceKind};
use crate::expiry::{Deadlines, LazyNow, Lifecycle, Time, NEVER};
use crate::message::Message;
use crate::storage::{QueueStorage, QueuedMessage, Ticket};
use crate::value::{FieldTable, Value};
use crate::vhost::{RouteScratch, VHost};

/// What a full queue does with a new message (`x-overflow`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Overflow {
    /// Drop the oldest ready message (RabbitMQ's default).
    #[default]
    DropHead,
    /// Refuse the new message (the publisher gets a nack when confirms are on).
    RejectPublish,
}

/// The properties a queue is declared with.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct QueueOptions {
    /// Survives a restart (recorded now; persistence comes with the durability work).
    pub durable: bool,
    /// Owned by the declaring connection, deleted when it closes.
    pub exclusive: bool,
    /// Deleted when its last consumer goes (if it ever had one).
    pub auto_delete: bool,
    /// Declare arguments. Applied: `x-max-length`, `x-max-length-bytes`, `x-overflow`
    /// (`drop-head`, `reject-publish`; `reject-publish-dlx` acts as `reject-publish`),
    /// `x-message-ttl` (ms a message may wait; 0: delivered at once or never),
    /// `x-expires` (ms unused before the queue is deleted), `x-dead-letter-exchange` and
    /// `x-dead-letter-routing-key` (where rejected, expired and drop-head messages go, see
    /// the [`crate::expiry`] module). The other `x-` arguments RabbitMQ compares are recorded
    /// and compared on redeclare.
    pub arguments: FieldTable,
}

impl QueueOptions {
    /// Sets `durable`.
    pub fn durable(mut self, durable: bool) -> QueueOptions {
        self.durable = durable;
        self
    }

    /// Sets `exclusive`.
    pub fn exclusive(mut self, exclusive: bool) -> QueueOptions {
        self.exclusive = exclusive;
        self
    }

    /// Sets `auto_delete`.
    pub fn auto_delete(mut self, auto_delete: bool) -> QueueOptions {
        self.auto_delete = auto_delete;
        self
    }

    /// Sets one argument.
    pub fn argument(mut self, key: &str, value: impl Into<Value>) -> QueueOptions {
        self.arguments.insert(key, value);
        self
    }
}

/// The queue arguments RabbitMQ compares on redeclare (others are ignored, as RabbitMQ does).
pub(crate) const COMPARED_QUEUE_ARGS: &[&str] = &[
    "x-expires",
    "x-message-ttl",
    "x-dead-letter-exchange",
    "x-dead-letter-routing-key",
    "x-max-length",
    "x-max-length-bytes",
    "x-max-in-memory-length",
    "x-max-in-memory-bytes",
    "x-max-priority",
    "x-overflow",
    "x-queue-mode",
    "x-queue-type",
    "x-single-active-consumer",
    "x-queue-master-locator",
];

#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Limits {
    max_length: Option<usize>,
    max_bytes: Option<usize>,
    overflow: Overflow,
}

impl Limits {
    /// Validates and reads the length arguments as RabbitMQ does.
    pub(crate) fn parse(args: &FieldTable, name: &str, vhost: &str) -> Result<Limits, CoreError> {
        let invalid = |arg: &str, reason: String| CoreError::InvalidArg {
            kind: ResourceKind::Queue,
            name: name.to_owned(),
            vhost: vhost.to_owned(),
            arg: arg.to_owned(),
            reason,
        };
        let length = |arg: &str| -> Result<Option<usize>, CoreError> {
            let Some(v) = args.get(arg) else {
                return Ok(None);
            };
            let Some(n) = v.as_i128() else {
                return Err(invalid(
                    arg,
                    format!("\"expected integer, got {}\"", v.type_name()),
                ));
            };
            if n < 0 {
                return Err(invalid(arg, format!("{{value_negative,{n}}}")));
            }
            Ok(Some(usize::try_from(n).unwrap_or(usize::MAX)))
        };
        let overflow = match args.get("x-overflow") {
            None => Overflow::DropHead,
            Some(v) => match v.as_str() {
                Some("drop-head") => Overflow::DropHead,
                Some("reject-publish") | Some("reject-publish-dlx") => Overflow::RejectPublish,
                _ => return Err(invalid("x-overflow", "invalid_overflow".to_owned())),
            },
        };
        Ok(Limits {
            max_length: length("x-max-length")?,
            max_bytes: length("x-max-length-bytes")?,
            overflow,
        })
    }
}

/// A consumer: registered on one queue, delivering into one channel.
pub(crate) struct Consumer {
    pub(crate) tag: Arc<str>,
    pub(crate) channel: Arc<ChannelCore>,
    pub(crate) queue: Arc<Queue>,
    pub(crate) no_ack: bool,
    pub(crate) exclusive: bool,
    /// Consumer priority (RabbitMQ's `x-priority`, default 0): a queue delivers to the highest
    /// priority consumers with credit, round-robin among equals.
    pub(crate) priority: i32,
    /// Per-consumer prefetch (0 = unlimited), fixed when the consumer is created.
    pub(crate) prefetch: u32,
    /// Unacked deliveries of this consumer; changed only under its channel's lock, read anywhere
    /// as a hint.
    pub(crate) unacked: AtomicU32,
}

impl Consumer {
    /// Lock-free early-out: certainly no credit.
    fn surely_full(&self) -> bool {
        !self.no_ack && self.prefetch != 0 && self.unacked.load(Ordering::Relaxed) >= self.prefetch
    }
}

pub(crate) struct QueueState {
    store: Box<dyn QueueStorage>,
    /// The deadlines of the ready messages, kept in step with `store` (empty while none has
    /// one).
    deadlines: Deadlines,
    /// Messages taken out under the lock to be dead-lettered once it is released.
    dead: Vec<(Arc<Message>, DeathReason)>,
    consumers: Vec<Arc<Consumer>>,
    next: usize,
    ever_had_consumer: bool,
    pub(crate) deleted: bool,
}

impl QueueState {
    /// Ready messages.
    pub(crate) fn len(&self) -> usize {
        self.store.len()
    }

    /// Takes the head message and its deadline.
    #[inline]
    pub(crate) fn pop(&mut self) -> Option<(QueuedMessage, u64)> {
        let m = self.store.pop_front()?;
        if self.deadlines.is_empty() {
            // The common case: nothing timed, nothing to keep in step.
            return Some((m, NEVER));
        }
        let deadline = self.deadlines.pop_front();
        self.deadlines.resync(self.store.len());
        Some((m, deadline))
    }

    #[inline]
    fn push_back(&mut self, m: QueuedMessage, deadline: u64) -> Option<Ticket> {
        if deadline != NEVER || !self.deadlines.is_empty() {
            self.deadlines.push_back(deadline, self.store.len());
        }
        self.store.push_back(m)
    }

    #[inline]
    fn push_front(&mut self, m: QueuedMessage, deadline: u64) {
        if deadline != NEVER || !self.deadlines.is_empty() {
            self.deadlines.push_front(deadline, self.store.len());
        }
        self.store.push_front(m);
    }

    /// Drops the head message without reading it back; false when empty.
    fn drop_front(&mut self) -> bool {
        if !self.store.drop_front() {
            return false;
        }
        if !self.deadlines.is_empty() {
            self.deadlines.pop_front();
            self.deadlines.resync(self.store.len());
        }
        true
    }

    /// True when the head may have to be expired (some message is timed, or the queue has a
    /// TTL its untimed messages must get).
    #[inline]
    fn timed(&self, lifecycle: &Lifecycle) -> bool {
        !self.deadlines.is_empty() || lifecycle.message_ttl.is_some()
    }

    fn purge(&mut self) -> usize {
        self.deadlines.clear();
        self.store.purge()
    }
}

/// A queue. Shared as `Arc<Queue>`; all mutable state sits behind one mutex.
pub struct Queue {
    name: Arc<str>,
    vhost: Arc<str>,
    options: QueueOptions,
    owner: Option<ConnectionId>,
    limits: Limits,
    lifecycle: Lifecycle,
    /// Its vhost, where dead letters are routed.
    home: Weak<VHost>,
    time: Arc<Time>,
    /// When it was last used (declared, got from, left by its last consumer), for `x-expires`.
    last_used: AtomicU64,
    pub(crate) state: Mutex<QueueState>,
    /// Delivered, not yet acked (a gauge kept by channels).
    pub(crate) unacked: AtomicUsize,
    /// Messages enqueued since creation.
    pub(crate) enqueued: AtomicU64,
    /// Messages delivered (or got) since creation.
    pub(crate) delivered: AtomicU64,
}

impl std::fmt::Debug for Queue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Queue")
            .field("name", &self.name)
            .field("vhost", &self.vhost)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

/// What happened to a message offered to a queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Enqueued {
    /// Taken; with a ticket when the confirm must wait until it is durable.
    Accepted(Option<Ticket>),
    Rejected,
}

impl Queue {
    #[allow(clippy::too_many_arguments)] // one constructor, called from one place
    pub(crate) fn new(
        name: Arc<str>,
        vhost: Arc<str>,
        options: QueueOptions,
        owner: Option<ConnectionId>,
        (limits, lifecycle): (Limits, Lifecycle),
        home: Weak<VHost>,
        time: Arc<Time>,
        store: Box<dyn QueueStorage>,
    ) -> Queue {
        let last_used = if lifecycle.expires.is_some() {
            time.now()
        } else {
            0
        };
        Queue {
            name,
            vhost,
            options,
            owner,
            limits,
            lifecycle,
            home,
            time,
            last_used: AtomicU64::new(last_used),
            state: Mutex::new(QueueState {
                store,
                deadlines: Deadlines::default(),
                dead: Vec::new(),
                consumers: Vec::new(),
                next: 0,
                ever_had_consumer: false,
                deleted: false,
            }),
            unacked: AtomicUsize::new(0),
            enqueued: AtomicU64::new(0),
            delivered: AtomicU64::new(0),
        }
    }

    /// The name.
    pub fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn name_arc(&self) -> &Arc<str> {
        &self.name
    }

    /// The declared properties.
    pub fn options(&self) -> &QueueOptions {
        &self.options
    }

    /// The owning connection of an exclusive queue.
    pub fn owner(&self) -> Option<ConnectionId> {
        self.owner
    }

    /// Ready messages.
    pub fn message_count(&self) -> usize {
        self.state.lock().store.len()
    }

    /// Consumers.
    pub fn consumer_count(&self) -> usize {
        self.state.lock().consumers.len()
    }

    /// 405 unless `conn` may use this queue (exclusive queues belong to their connection).
    pub(crate) fn check_owner(&self, conn: ConnectionId) -> Result<(), CoreError> {
        match self.owner {
            Some(owner) if owner != conn => Err(self.locked()),
            _ => Ok(()),
        }
    }

    pub(crate) fn locked(&self) -> CoreError {
        CoreError::ResourceLocked {
            queue: self.name.to_string(),
            vhost: self.vhost.to_string(),
        }
    }

    pub(crate) fn not_found(&self) -> CoreError {
        CoreError::NotFound {
            kind: ResourceKind::Queue,
            name: self.name.to_string(),
            vhost: self.vhost.to_string(),
        }
    }

    /// Offers a routed message, then dispatches. `message_ttl` is the message's own TTL (its
    /// `expiration` property, already parsed); the queue's `x-message-ttl` applies too, the
    /// lower of the two wins.
    pub(crate) fn enqueue(
        self: &Arc<Self>,
        message: Arc<Message>,
        message_ttl: Option<u64>,
    ) -> Enqueued {
        let mut now = LazyNow::new(&self.time);
        let ttl = match (self.lifecycle.message_ttl, message_ttl) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let deadline = ttl.map_or(NEVER, |t| now.get().saturating_add(t));
        let mut st = self.state.lock();
        if st.deleted {
            // Deleted between routing and here: as if routed before the delete, then purged.
            return Enqueued::Accepted(None);
        }
        let size = message.size();
        let full = |st: &QueueState| {
            self.limits
                .max_length
                .is_some_and(|max| st.store.len() >= max)
                || self
                    .limits
                    .max_bytes
                    .is_some_and(|max| st.store.bytes().saturating_add(size) > max)
        };
        if full(&st) {
            match self.limits.overflow {
                Overflow::RejectPublish => return Enqueued::Rejected,
                Overflow::DropHead => {
                    while full(&st) && self.drop_head(&mut st, DeathReason::MaxLen) {}
                    if full(&st) {
                        // Larger than the byte limit on its own: dropped at once, as RabbitMQ.
                        if self.lifecycle.dead_letter.is_some() {
                            st.dead.push((message, DeathReason::MaxLen));
                        }
                        self.unlock(st);
                        return Enqueued::Accepted(None);
                    }
                }
            }
        }
        let was_empty = deadline != NEVER && st.store.is_empty();
        let ticket = st.push_back(QueuedMessage::new(message, false), deadline);
        self.enqueued.fetch_add(1, Ordering::Relaxed);
        if was_empty {
            // As RabbitMQ: a message reaching an empty queue is offered to the consumers
            // before its TTL is looked at (a TTL of 0 means "now or never").
            self.dispatch_locked(&mut st, None);
        }
        self.dispatch_locked(&mut st, Some(&mut now));
        self.unlock(st);
        Enqueued::Accepted(ticket)
    }

    /// Puts messages back at the head with their deadlines, keeping their order, then
    /// dispatches. (Messages of a deleted queue are dropped, which settles them.)
    pub(crate) fn requeue(
        self: &Arc<Self>,
        messages: impl DoubleEndedIterator<Item = (Arc<Message>, Option<crate::store::Persisted>, u64)>,
    ) {
        let mut st = self.state.lock();
        if st.deleted {
            return;
        }
        for (message, persisted, deadline) in messages.rev() {
            st.push_front(
                QueuedMessage {
                    message,
                    redelivered: true,
                    persisted,
                },
                deadline,
            );
        }
        self.dispatch_locked(&mut st, Some(&mut LazyNow::new(&self.time)));
        self.unlock(st);
    }

    /// Hands ready messages to consumers with credit, round-robin.
    pub(crate) fn dispatch(self: &Arc<Self>) {
        let mut st = self.state.lock();
        self.dispatch_locked(&mut st, Some(&mut LazyNow::new(&self.time)));
        self.unlock(st);
    }

    /// Releases the lock, then dead-letters what was set aside under it. Every path that may
    /// drop messages under the lock ends with this.
    #[inline]
    pub(crate) fn unlock(self: &Arc<Self>, mut st: MutexGuard<'_, QueueState>) {
        if st.dead.is_empty() {
            return;
        }
        let dead = std::mem::take(&mut st.dead);
        drop(st);
        self.publish_dead(dead);
    }

    /// Takes the head message out: set aside to be dead-lettered for `reason` when the queue
    /// has a dead-letter exchange, else dropped (without reading it back from disk). False
    /// when empty.
    fn drop_head(&self, st: &mut QueueState, reason: DeathReason) -> bool {
        if self.lifecycle.dead_letter.is_none() {
            return st.drop_front();
        }
        match st.pop() {
            Some((m, _)) => {
                // Dropping the record settles it here; the dead letter is a new publish.
                st.dead.push((m.message, reason));
                true
            }
            None => false,
        }
    }

    /// Drops (or sets aside to dead-letter) the expired messages at the head, as RabbitMQ
    /// does: only the head is looked at, so a message behind one with a longer TTL waits.
    pub(crate) fn expire_head(&self, st: &mut QueueState, now: &mut LazyNow<'_>) {
        if st.deadlines.is_empty() {
            if let Some(ttl) = self.lifecycle.message_ttl {
                // Untimed messages in a queue with a TTL (recovered from disk): their TTL
                // starts now.
                let len = st.store.len();
                if len > 0 {
                    st.deadlines.stamp_all(now.get().saturating_add(ttl), len);
                }
            }
            return;
        }
        while st.deadlines.front() != NEVER && st.deadlines.front() <= now.get() {
            if !self.drop_head(st, DeathReason::Expired) {
                break;
            }
        }
    }

    /// `basic.get`'s part under the queue lock: expires the head, then takes it.
    pub(crate) fn take_for_get(&self, st: &mut QueueState) -> Option<(QueuedMessage, u64)> {
        self.touch();
        self.expire_head(st, &mut LazyNow::new(&self.time));
        st.pop()
    }

    /// Dead-letters `message`, rejected by a client, if the queue has a dead-letter exchange.
    pub(crate) fn reject(self: &Arc<Self>, message: Arc<Message>) {
        if self.lifecycle.dead_letter.is_some() {
            self.publish_dead(vec![(message, DeathReason::Rejected)]);
        }
    }

    /// Republishes dead letters to the dead-letter exchange (no lock held). A dead-letter
    /// exchange that does not exist drops them, as RabbitMQ does.
    fn publish_dead(self: &Arc<Self>, dead: Vec<(Arc<Message>, DeathReason)>) {
        let Some(target) = &self.lifecycle.dead_letter else {
            return;
        };
        let Some(vhost) = self.home.upgrade() else {
            return;
        };
        let Some(dlx) = vhost.exchange(&target.exchange) else {
            tracing::debug!(queue = %self.name, vhost = %self.vhost, exchange = %target.exchange,
                "dead-letter exchange does not exist: dead letters dropped");
            return;
        };
        let now = self.time.now();
        let mut route = RouteScratch::default();
        let mut queues = Vec::new();
        for (message, reason) in dead {
            let letter = Arc::new(dead_letter::dead_lettered(
                &message,
                reason,
                &self.name,
                dlx.name_arc(),
                target.routing_key.as_deref(),
                now,
            ));
            let automatic = reason != DeathReason::Rejected;
            vhost.republish(&dlx, &letter, &mut route, &mut queues, |q| {
                !(automatic && dead_letter::is_cycle(&letter, q.name()))
            });
        }
    }

    /// The dispatch loop. Lock order: this queue's lock (held by the caller), then, for each
    /// delivery, the consumer's channel lock, inside which the sink is called. No other queue lock
    /// is taken, and channels never take a queue lock while holding their own. With `now`,
    /// expired messages at the head are dropped first (and when no consumer can take one).
    fn dispatch_locked(self: &Arc<Self>, st: &mut QueueState, mut now: Option<&mut LazyNow<'_>>) {
        // Consumers are kept sorted by priority, highest first: try each group of equal
        // priority in turn, round-robin inside the group (with one group, plain round-robin).
        loop {
            if let Some(now) = now.as_deref_mut() {
                if st.timed(&self.lifecycle) {
                    self.expire_head(st, now);
                }
            }
            if st.store.is_empty() || st.consumers.is_empty() {
                break;
            }
            let n = st.consumers.len();
            let mut delivered = false;
            let mut start = 0;
            while start < n && !delivered {
                let priority = st.consumers.get(start).map_or(0, |c| c.priority);
                let group = st
                    .consumers
                    .iter()
                    .skip(start)
                    .take_while(|c| c.priority == priority)
                    .count()
                    .max(1);
                for i in 0..group {
                    let idx = start + (st.next + i) % group;
                    let Some(consumer) = st.consumers.get(idx) else {
                        break;
                    };
                    if consumer.surely_full() {
                        continue;
                    }
                    let consumer = Arc::clone(consumer);
                    if consumer.channel.try_deliver(self, &consumer, st) {
                        self.delivered.fetch_add(1, Ordering::Relaxed);
                        st.next = (idx - start + 1) % group;
                        delivered = true;
                        break;
                    }
                }
                start += group;
            }
            if !delivered {
                break;
            }
        }
    }

    /// Marks the queue as used now (`x-expires` counts from the last use).
    pub(crate) fn touch(&self) {
        if self.lifecycle.expires.is_some() {
            self.last_used.store(self.time.now(), Ordering::Release);
        }
    }

    /// The periodic sweep: expires the head (dead-lettering), and returns true when the queue
    /// itself has expired (unused for `x-expires`; the caller deletes it).
    pub(crate) fn sweep(self: &Arc<Self>, now: u64) -> bool {
        let mut st = self.state.lock();
        if st.deleted {
            return false;
        }
        self.expire_head(&mut st, &mut LazyNow::at(&self.time, now));
        let idle = st.consumers.is_empty();
        self.unlock(st);
        match self.lifecycle.expires {
            Some(expires) if idle => {
                now.saturating_sub(self.last_used.load(Ordering::Acquire)) >= expires
            }
            _ => false,
        }
    }

    /// Registers a consumer (checking exclusivity), calls `registered` while no delivery can have
    /// happened yet, then dispatches.
    pub(crate) fn add_consumer(
        self: &Arc<Self>,
        consumer: Arc<Consumer>,
        registered: impl FnOnce(&str),
    ) -> Result<(), CoreError> {
        let mut st = self.state.lock();
        if st.deleted {
            return Err(self.not_found());
        }
        if (consumer.exclusive && !st.consumers.is_empty())
            || st.consumers.iter().any(|c| c.exclusive)
        {
            return Err(CoreError::ExclusiveConsumer {
                queue: self.name.to_string(),
                vhost: self.vhost.to_string(),
            });
        }
        registered(&consumer.tag);
        // After every consumer of the same or higher priority: order among equals is arrival.
        let pos = st
            .consumers
            .iter()
            .position(|c| c.priority < consumer.priority)
            .unwrap_or(st.consumers.len());
        st.consumers.insert(pos, consumer);
        st.ever_had_consumer = true;
        self.dispatch_locked(&mut st, Some(&mut LazyNow::new(&self.time)));
        self.unlock(st);
        Ok(())
    }

    /// Removes a consumer; returns true when the queue should now be auto-deleted.
    pub(crate) fn remove_consumer(&self, consumer: &Arc<Consumer>) -> bool {
        let mut st = self.state.lock();
        let before = st.consumers.len();
        st.consumers.retain(|c| !Arc::ptr_eq(c, consumer));
        if st.consumers.len() != before && st.next >= st.consumers.len() {
            st.next = 0;
        }
        if st.consumers.is_empty() {
            self.touch();
        }
        self.options.auto_delete && st.ever_had_consumer && st.consumers.is_empty() && !st.deleted
    }

    /// Marks the queue deleted, drops its messages and hands back its consumers (to be told).
    pub(crate) fn mark_deleted(&self) -> (usize, Vec<Arc<Consumer>>) {
        let mut st = self.state.lock();
        st.deleted = true;
        let n = st.purge();
        (n, std::mem::take(&mut st.consumers))
    }

    /// Drops every ready message; returns how many.
    pub(crate) fn purge(&self) -> usize {
        self.state.lock().purge()
    }

    /// (ready messages, ready bytes, consumers) read under one lock.
    pub(crate) fn counts(&self) -> (usize, usize, usize) {
        let st = self.state.lock();
        (st.store.len(), st.store.bytes(), st.consumers.len())
    }

    /// The queue's consumers, for listings.
    pub fn consumers(&self) -> Vec<ConsumerInfo> {
        self.state
            .lock()
            .consumers
            .iter()
            .map(|c| ConsumerInfo {
                queue: self.name.to_string(),
                consumer_tag: c.tag.to_string(),
                connection: c.channel.conn.id,
                channel: c.channel.id,
                no_ack: c.no_ack,
                exclusive: c.exclusive,
                prefetch: c.prefetch,
                unacked: c.unacked.load(Ordering::Relaxed),
            })
            .collect()
    }
}

/// A consumer as listed for management.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerInfo {
    /// Its queue.
    pub queue: String,
    /// Its tag.
    pub consumer_tag: String,
    /// Its connection.
    pub connection: ConnectionId,
    /// Its channel number.
    pub channel: u16,
    /// Deliveries need no ack.
    pub no_ack: bool,
    /// Exclusive consumer.
    pub exclusive: bool,
    /// Per-consumer prefetch (0 = unlimited).
    pub prefetch: u32,
    /// Its unacked deliveries.
    pub unacked: u32,
}
