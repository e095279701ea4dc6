//! Channels: every client operation, delivery tags, unacked tracking, prefetch credit, and the
//! [`DeliverySink`] a front implements to receive deliveries.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use parking_lot::Mutex;

use crate::connection::ConnShared;
use crate::error::{CoreError, Permission, ResourceKind};
use crate::exchange::{Destination, ExchangeOptions};
use crate::expiry::parse_expiration;
use crate::message::{Message, Properties};
use crate::names;
use crate::policy::{dead_letter_headers, ExchangePolicy};
use crate::queue::{Consumer, Enqueued, Queue, QueueOptions, QueueState};
use crate::reply_to::{REPLY_TO_PREFIX, REPLY_TO_QUEUE};
use crate::storage::{QueuedMessage, Ticket};
use crate::store::Persisted;
use crate::value::FieldTable;
use crate::vhost::RouteScratch;

/// One message handed to a consumer.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// The consumer it is for.
    pub consumer_tag: Arc<str>,
    /// The channel-wide delivery tag (1, 2, 3, … over deliveries and gets).
    pub delivery_tag: u64,
    /// True when delivered before and requeued.
    pub redelivered: bool,
    /// The message (exchange and routing key included); shared, never copied.
    pub message: Arc<Message>,
}

/// Where a channel's deliveries go: implemented by the protocol front.
///
/// The core calls these methods **while holding a queue lock and the channel's lock** (so that
/// deliveries reach the sink in delivery-tag order). An implementation must therefore be quick
/// and non-blocking, and must never call back into the core: append to an outbox and wake the
/// connection task, nothing more.
pub trait DeliverySink: Send + Sync {
    /// A delivery for one of the channel's consumers (AMQP `basic.deliver`).
    fn deliver(&self, delivery: Delivery);

    /// The consumer's queue was deleted (AMQP `basic.cancel` from the server).
    fn cancelled(&self, consumer_tag: &str);

    /// False when the front's outbox is full: queues stop delivering to this channel until the
    /// front calls [`Channel::notify_writable`]. Bounds what a slow consumer can pile up.
    fn has_capacity(&self) -> bool {
        true
    }

    /// Every publish of this channel whose [`PublishOutcome::durable`] ticket is at most
    /// `ticket` is now on stable storage: its confirm may be sent. Called from the store's
    /// writer thread with no core lock held; like the other methods it must only record the
    /// fact and wake the front. The default ignores it (for sinks of channels that never
    /// publish persistent messages with confirms).
    fn confirmed(&self, ticket: Ticket) {
        let _ = ticket;
    }

    /// The store stopped writing after an I/O error (a failed write or fsync; it logs the
    /// error): no ticket above the last one [`confirmed`](DeliverySink::confirmed) will ever
    /// become durable, so every publish of this channel still waiting for one must be refused
    /// now — AMQP `basic.nack`, MQTT 5 reason code 0x80, MQTT 3.x a closed connection — and
    /// so must every later publish that gets a [`PublishOutcome::durable`] ticket (the flag is
    /// sticky: the store is not written again until the broker restarts).
    ///
    /// Called once from the writer thread, when it fails, for every sink then waiting, and
    /// again from the publishing thread (inside the storage factory's `when_durable`, which
    /// then returns false) whenever a sink asks to wait for a ticket after the failure. No core
    /// lock is held; like the other methods it must only record the fact and wake the front.
    /// The default ignores it.
    fn store_failed(&self) {}
}

/// A `basic.get` answer.
#[derive(Debug, Clone)]
pub struct GetOk {
    /// The delivery tag (same sequence as consumer deliveries).
    pub delivery_tag: u64,
    /// True when delivered before and requeued.
    pub redelivered: bool,
    /// The message.
    pub message: Arc<Message>,
    /// Ready messages left in the queue.
    pub message_count: usize,
}

/// A `queue.declare-ok`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueDeclareOk {
    /// The queue name (server-generated when the request had none).
    pub queue: String,
    /// Ready messages.
    pub message_count: usize,
    /// Consumers.
    pub consumer_count: usize,
}

/// The publisher-confirm decision for one publish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confirm {
    /// Taken by every queue it was routed to (or unroutable): `basic.ack`.
    Ack,
    /// Refused by at least one queue (full, `reject-publish`) or by the exchange's policy:
    /// `basic.nack`.
    Nack,
}

/// What happened to a publish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublishOutcome {
    /// How many queues it was routed to.
    pub routed: usize,
    /// Mandatory and unroutable: the front sends `basic.return` 312 NO_ROUTE (before the confirm).
    pub returned: bool,
    /// The confirm to send when the channel is in confirm mode.
    pub confirm: Confirm,
    /// `Some(code)`: the exchange's policy refused the message (the code says why, e.g.
    /// `missing-field`); it was sent to the policy's dead-letter exchange instead of being
    /// routed, and `confirm` is [`Confirm::Nack`]. MQTT 5 answers PUBACK/PUBREC 0x99
    /// (payload format invalid). See [`crate::policy`].
    pub policy_rejected: Option<&'static str>,
    /// `Some(ticket)`: a persistent message in a durable queue that is not on stable storage
    /// yet. The confirm must wait until the sink is told [`DeliverySink::confirmed`] with a
    /// ticket at least this high (and confirms go out in publish order, so later ones wait
    /// too). `None`: the confirm may be sent now. When the store fails instead, the sink is
    /// told [`DeliverySink::store_failed`] and the confirm becomes a nack.
    pub durable: Option<Ticket>,
}

/// One outstanding (delivered, not yet acked) message.
struct Unacked {
    tag: u64,
    queue: Arc<Queue>,
    message: Arc<Message>,
    /// Its publish record on disk: dropping the entry (ack) writes the ack record.
    persisted: Option<Persisted>,
    /// Its expiry deadline in its queue (kept if it is requeued), ms; `u64::MAX`: none.
    deadline: u64,
    /// The consumer it counts against (None for basic.get).
    consumer: Option<Arc<Consumer>>,
}

struct ChannelState {
    next_tag: u64,
    /// In tag order (tags only grow), so acks of the oldest are cheap.
    unacked: VecDeque<Unacked>,
    consumers: HashMap<Arc<str>, Arc<Consumer>>,
    /// basic.qos global=false: prefetch of consumers created afterwards (0 = unlimited).
    consumer_prefetch: u32,
    /// basic.qos global=true: limit shared by the channel's consumers (0 = unlimited).
    global_prefetch: u32,
    global_unacked: u32,
    flow: bool,
    closed: bool,
    /// The last queue declared on the channel (AMQP: an empty queue name means it).
    last_queue: Option<Arc<str>>,
}

/// The part of a channel that queues reach (through their consumers) to deliver.
pub(crate) struct ChannelCore {
    pub(crate) id: u16,
    state: Mutex<ChannelState>,
    sink: Arc<dyn DeliverySink>,
    pub(crate) conn: Arc<ConnShared>,
}

impl ChannelCore {
    /// Hands `message` to the direct reply-to consumer `consumer_tag` of this channel (no-ack,
    /// no queue). False when the channel is closed.
    pub(crate) fn deliver_direct(&self, consumer_tag: &Arc<str>, message: Arc<Message>) -> bool {
        let mut st = self.state.lock();
        if st.closed {
            return false;
        }
        let tag = st.next_tag;
        st.next_tag += 1;
        self.conn.metrics.delivered(false);
        self.sink.deliver(Delivery {
            consumer_tag: Arc::clone(consumer_tag),
            delivery_tag: tag,
            redelivered: false,
            message,
        });
        true
    }

    /// Delivers the head of the queue to `consumer` if it has credit. Called by the queue with
    /// its lock held (`queue_state`); takes this channel's lock and calls the sink inside it.
    #[inline]
    pub(crate) fn try_deliver(
        &self,
        queue: &Arc<Queue>,
        consumer: &Arc<Consumer>,
        queue_state: &mut QueueState,
    ) -> bool {
        let mut st = self.state.lock();
        if st.closed || !st.flow || !self.sink.has_capacity() {
            return false;
        }
        if !consumer.no_ack {
            let mine = consumer.unacked.load(Ordering::Relaxed);
            if (consumer.prefetch != 0 && mine >= consumer.prefetch)
                || (st.global_prefetch != 0 && st.global_unacked >= st.global_prefetch)
            {
                return false;
            }
        }
        let Some((
            QueuedMessage {
                message,
                redelivered,
                persisted,
            },
            deadline,
        )) = queue_state.pop()
        else {
            return false;
        };
        let tag = st.next_tag;
        st.next_tag += 1;
        if !consumer.no_ack {
            consumer.unacked.fetch_add(1, Ordering::Relaxed);
            st.global_unacked = st.global_unacked.saturating_add(1);
            queue.unacked.fetch_add(1, Ordering::Relaxed);
            st.unacked.push_back(Unacked {
                tag,
                queue: Arc::clone(queue),
                message: Arc::clone(&message),
                persisted,
                deadline,
                consumer: Some(Arc::clone(consumer)),
            });
        } else {
            // Auto-ack: settled as it leaves.
            drop(persisted);
        }
        self.conn.metrics.delivered(redelivered);
        self.sink.deliver(Delivery {
            consumer_tag: Arc::clone(&consumer.tag),
            delivery_tag: tag,
            redelivered,
            message,
        });
        true
    }

    /// The consumer's queue was deleted: forget it and tell the front.
    pub(crate) fn consumer_gone(&self, consumer: &Arc<Consumer>) {
        let mut st = self.state.lock();
        let mine = st
            .consumers
            .get(&consumer.tag)
            .is_some_and(|c| Arc::ptr_eq(c, consumer));
        if mine {
            st.consumers.remove(&consumer.tag);
            self.conn.metrics.consumer_removed();
            self.sink.cancelled(&consumer.tag);
        }
    }
}

impl ChannelState {
    /// Takes the entries an ack/nack of (`tag`, `multiple`) covers, or fails without change.
    fn take(&mut self, tag: u64, multiple: bool) -> Result<Vec<Unacked>, CoreError> {
        if multiple && tag == 0 {
            return Ok(self.unacked.drain(..).collect());
        }
        let pos = self
            .unacked
            .binary_search_by_key(&tag, |u| u.tag)
            .map_err(|_| CoreError::UnknownDeliveryTag { tag })?;
        if multiple {
            Ok(self.unacked.drain(..=pos).collect())
        } else {
            Ok(self.unacked.remove(pos).into_iter().collect())
        }
    }

    /// Gives back the credit of settled entries; returns true if a limit could have been
    /// holding deliveries back (so queues should dispatch again).
    fn release(&mut self, taken: &[Unacked]) -> bool {
        let mut limited = false;
        for u in taken {
            u.queue.unacked.fetch_sub(1, Ordering::Relaxed);
            if let Some(c) = &u.consumer {
                c.unacked.fetch_sub(1, Ordering::Relaxed);
                self.global_unacked = self.global_unacked.saturating_sub(1);
                limited |= c.prefetch != 0 || self.global_prefetch != 0;
            }
        }
        limited
    }

    /// The distinct queues the channel consumes from.
    fn consumer_queues(&self) -> Vec<Arc<Queue>> {
        let mut out: Vec<Arc<Queue>> = Vec::new();
        for c in self.consumers.values() {
            if !out.iter().any(|q| Arc::ptr_eq(q, &c.queue)) {
                out.push(Arc::clone(&c.queue));
            }
        }
        out
    }
}

#[derive(Default)]
struct Scratch {
    route: RouteScratch,
    queues: Vec<Arc<Queue>>,
}

/// A channel: the handle a front calls for every AMQP channel method (and an MQTT session for
/// its subscriptions). Obtained from [`crate::Connection::open_channel`]. Dropping the last
/// handle closes it.
pub struct Channel {
    core: Arc<ChannelCore>,
    closed: AtomicBool,
    scratch: Mutex<Scratch>,
    /// The channel's direct reply-to consumer: (consumer tag, token).
    reply_to: Mutex<Option<(Arc<str>, String)>>,
}

impl std::fmt::Debug for Channel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Channel")
            .field("id", &self.core.id)
            .field("connection", &self.core.conn.id)
            .finish_non_exhaustive()
    }
}

impl Drop for Channel {
    fn drop(&mut self) {
        self.close();
    }
}

fn requeue_grouped(taken: Vec<Unacked>) {
    // Group by queue, keeping tag order within each queue.
    type Group = (Arc<Queue>, Vec<(Arc<Message>, Option<Persisted>, u64)>);
    let mut groups: Vec<Group> = Vec::new();
    for u in taken {
        let entry = (u.message, u.persisted, u.deadline);
        match groups.iter_mut().find(|(q, _)| Arc::ptr_eq(q, &u.queue)) {
            Some((_, v)) => v.push(entry),
            None => groups.push((u.queue, vec![entry])),
        }
    }
    for (q, msgs) in groups {
        q.requeue(msgs.into_iter());
    }
}

impl Channel {
    pub(crate) fn new(id: u16, sink: Arc<dyn DeliverySink>, conn: Arc<ConnShared>) -> Channel {
        conn.metrics.channel_opened();
        Channel {
            core: Arc::new(ChannelCore {
                id,
                state: Mutex::new(ChannelState {
                    next_tag: 1,
                    unacked: VecDeque::new(),
                    consumers: HashMap::new(),
                    consumer_prefetch: 0,
                    global_prefetch: 0,
                    global_unacked: 0,
                    flow: true,
                    closed: false,
                    last_queue: None,
                }),
                sink,
                conn,
            }),
            closed: AtomicBool::new(false),
            scratch: Mutex::new(Scratch::default()),
            reply_to: Mutex::new(None),
        }
    }

    /// The channel number.
    pub fn id(&self) -> u16 {
        self.core.id
    }

    /// True once closed.
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    fn ensure_open(&self) -> Result<(), CoreError> {
        if self.is_closed() {
            Err(CoreError::ChannelClosed)
        } else {
            Ok(())
        }
    }

    fn conn(&self) -> &ConnShared {
        &self.core.conn
    }

    /// An empty queue name means the channel's last declared queue (AMQP rule).
    fn queue_name<'a>(&self, name: &'a str) -> std::borrow::Cow<'a, str> {
        if name.is_empty() {
            if let Some(last) = &self.core.state.lock().last_queue {
                return std::borrow::Cow::Owned(last.to_string());
            }
        }
        std::borrow::Cow::Borrowed(name)
    }

    /// Looks up a queue this connection may use (404, then 405).
    fn usable_queue(&self, name: &str) -> Result<Arc<Queue>, CoreError> {
        let q = self.conn().vhost.queue_or_404(name)?;
        q.check_owner(self.conn().id)?;
        Ok(q)
    }

    // ---- exchanges -------------------------------------------------------------------------

    /// `exchange.declare` (not passive): creates the exchange or checks that the existing one
    /// has the same type, flags and `alternate-exchange` (406 otherwise). Needs configure.
    pub fn exchange_declare(&self, name: &str, options: ExchangeOptions) -> Result<(), CoreError> {
        self.ensure_open()?;
        if name.is_empty() {
            return Err(CoreError::DefaultExchange);
        }
        self.conn()
            .check(Permission::Configure, ResourceKind::Exchange, name)?;
        self.conn()
            .vhost
            .declare_exchange(name, options, false)
            .map(drop)
    }

    /// `exchange.declare` with passive: 404 unless the exchange exists. Needs no permission.
    pub fn exchange_declare_passive(&self, name: &str) -> Result<(), CoreError> {
        self.ensure_open()?;
        if name.is_empty() {
            return Err(CoreError::DefaultExchange);
        }
        self.conn().vhost.exchange_or_404(name).map(drop)
    }

    /// `exchange.delete`. Missing is fine; `if_unused` refuses (406) while bindings exist.
    /// Needs configure.
    pub fn exchange_delete(&self, name: &str, if_unused: bool) -> Result<(), CoreError> {
        self.ensure_open()?;
        if name.is_empty() {
            return Err(CoreError::DefaultExchange);
        }
        self.conn()
            .check(Permission::Configure, ResourceKind::Exchange, name)?;
        self.conn().vhost.delete_exchange(name, if_unused)
    }

    /// `exchange.bind`: messages of `source` matching `key` flow into exchange `destination`.
    /// Needs write on the destination and read on the source.
    pub fn exchange_bind(
        &self,
        destination: &str,
        source: &str,
        key: &str,
        arguments: &FieldTable,
    ) -> Result<(), CoreError> {
        self.ensure_open()?;
        if destination.is_empty() || source.is_empty() {
            return Err(CoreError::DefaultExchange);
        }
        self.conn()
            .check(Permission::Write, ResourceKind::Exchange, destination)?;
        self.conn()
            .check(Permission::Read, ResourceKind::Exchange, source)?;
        self.conn().vhost.bind(
            source,
            &Destination::Exchange(Arc::from(destination)),
            key,
            arguments,
        )
    }

    /// `exchange.unbind` (missing binding is fine). Same permissions as bind.
    pub fn exchange_unbind(
        &self,
        destination: &str,
        source: &str,
        key: &str,
        arguments: &FieldTable,
    ) -> Result<(), CoreError> {
        self.ensure_open()?;
        if destination.is_empty() || source.is_empty() {
            return Err(CoreError::DefaultExchange);
        }
        self.conn()
            .check(Permission::Write, ResourceKind::Exchange, destination)?;
        self.conn()
            .check(Permission::Read, ResourceKind::Exchange, source)?;
        self.conn().vhost.unbind(
            source,
            &Destination::Exchange(Arc::from(destination)),
            key,
            arguments,
        )
    }

    // ---- queues ----------------------------------------------------------------------------

    /// `queue.declare`. An empty name makes a server-named `amq.gen-…` queue. Exclusive queues
    /// belong to this connection. `passive` only checks existence (and ownership). Needs
    /// configure unless passive.
    pub fn queue_declare(
        &self,
        name: &str,
        options: QueueOptions,
        passive: bool,
    ) -> Result<QueueDeclareOk, CoreError> {
        self.ensure_open()?;
        if passive && name == REPLY_TO_QUEUE {
            // The direct reply-to pseudo-queue always "exists" (as in RabbitMQ).
            return Ok(QueueDeclareOk {
                queue: name.to_owned(),
                message_count: 0,
                consumer_count: 0,
            });
        }
        let name = if name.is_empty() && !passive {
            names::queue_name()
        } else {
            if !passive && name.starts_with("amq.") {
                // Only client-chosen names are checked: `amq.gen-…` is ours to make.
                return Err(CoreError::ReservedName {
                    kind: ResourceKind::Queue,
                    name: name.to_owned(),
                });
            }
            self.queue_name(name).into_owned()
        };
        if !passive {
            self.conn()
                .check(Permission::Configure, ResourceKind::Queue, &name)?;
        }
        let exclusive = options.exclusive;
        let (q, message_count, consumer_count) =
            self.conn()
                .vhost
                .declare_queue(&name, options, passive, Some(self.conn().id))?;
        if exclusive && !passive && q.owner() == Some(self.conn().id) {
            self.conn().own_exclusive(&q);
        }
        self.core.state.lock().last_queue = Some(Arc::clone(q.name_arc()));
        Ok(QueueDeclareOk {
            queue: name,
            message_count,
            consumer_count,
        })
    }

    /// `queue.bind`. Needs write on the queue and read on the exchange.
    pub fn queue_bind(
        &self,
        queue: &str,
        exchange: &str,
        key: &str,
        arguments: &FieldTable,
    ) -> Result<(), CoreError> {
        self.ensure_open()?;
        let queue = self.queue_name(queue);
        if exchange.is_empty() {
            return Err(CoreError::DefaultExchange);
        }
        self.conn()
            .check(Permission::Write, ResourceKind::Queue, &queue)?;
        self.conn()
            .check(Permission::Read, ResourceKind::Exchange, exchange)?;
        let q = self.conn().vhost.queue_or_404(&queue)?;
        q.check_owner(self.conn().id)?;
        self.conn().vhost.bind(
            exchange,
            &Destination::Queue(Arc::clone(q.name_arc())),
            key,
            arguments,
        )
    }

    /// `queue.unbind` (missing binding, queue or exchange is fine). Same permissions as bind.
    pub fn queue_unbind(
        &self,
        queue: &str,
        exchange: &str,
        key: &str,
        arguments: &FieldTable,
    ) -> Result<(), CoreError> {
        self.ensure_open()?;
        let queue = self.queue_name(queue);
        if exchange.is_empty() {
            return Err(CoreError::DefaultExchange);
        }
        self.conn()
            .check(Permission::Write, ResourceKind::Queue, &queue)?;
        self.conn()
            .check(Permission::Read, ResourceKind::Exchange, exchange)?;
        if let Some(q) = self.conn().vhost.queue(&queue) {
            q.check_owner(self.conn().id)?;
        }
        self.conn().vhost.unbind(
            exchange,
            &Destination::Queue(Arc::from(queue.as_ref())),
            key,
            arguments,
        )
    }

    /// `queue.purge`: drops the ready messages, returns how many. Needs read (as RabbitMQ).
    pub fn queue_purge(&self, queue: &str) -> Result<usize, CoreError> {
        self.ensure_open()?;
        let queue = self.queue_name(queue);
        self.conn()
            .check(Permission::Read, ResourceKind::Queue, &queue)?;
        Ok(self.usable_queue(&queue)?.purge())
    }

    /// `queue.delete`: returns the ready message count. Missing is fine. `if_unused` refuses
    /// while consumers exist, `if_empty` while messages are ready (406). Consumers get a
    /// cancel notification. Needs configure.
    pub fn queue_delete(
        &self,
        queue: &str,
        if_unused: bool,
        if_empty: bool,
    ) -> Result<usize, CoreError> {
        self.ensure_open()?;
        let queue = self.queue_name(queue);
        self.conn()
            .check(Permission::Configure, ResourceKind::Queue, &queue)?;
        self.conn()
            .vhost
            .delete_queue(&queue, if_unused, if_empty, Some(self.conn().id))
    }

    // ---- basic -----------------------------------------------------------------------------

    /// `basic.qos`. `global = false`: the prefetch of consumers created afterwards; `global =
    /// true`: one limit shared by all the channel's consumers (RabbitMQ's meaning). 0 means no
    /// limit. A non-zero `prefetch_size` is 540 NOT_IMPLEMENTED, as in RabbitMQ.
    pub fn basic_qos(
        &self,
        prefetch_size: u32,
        prefetch_count: u16,
        global: bool,
    ) -> Result<(), CoreError> {
        self.ensure_open()?;
        if prefetch_size != 0 {
            return Err(CoreError::NotImplemented("prefetch_size!=0"));
        }
        let queues = {
            let mut st = self.core.state.lock();
            if global {
                st.global_prefetch = prefetch_count.into();
                st.consumer_queues()
            } else {
                st.consumer_prefetch = prefetch_count.into();
                Vec::new()
            }
        };
        for q in queues {
            q.dispatch();
        }
        Ok(())
    }

    /// `basic.consume`. An empty `consumer_tag` gets a server-generated `amq.ctag-…`.
    /// `registered` is called with the tag once the consumer is in place but before its first
    /// delivery can reach the sink: the front writes `basic.consume-ok` there (a no-op for
    /// no-wait), so consume-ok always precedes the deliveries. Returns the tag. Needs read.
    pub fn basic_consume(
        &self,
        queue: &str,
        consumer_tag: &str,
        no_ack: bool,
        exclusive: bool,
        registered: impl FnOnce(&str),
    ) -> Result<Arc<str>, CoreError> {
        self.basic_consume_with_priority(queue, consumer_tag, no_ack, exclusive, 0, registered)
    }

    /// [`Channel::basic_consume`] with a consumer priority (RabbitMQ's `x-priority` consume
    /// argument): the queue delivers to its highest-priority consumers that have credit, and to
    /// lower ones only when those are full (round-robin among equal priorities).
    pub fn basic_consume_with_priority(
        &self,
        queue: &str,
        consumer_tag: &str,
        no_ack: bool,
        exclusive: bool,
        priority: i32,
        registered: impl FnOnce(&str),
    ) -> Result<Arc<str>, CoreError> {
        self.ensure_open()?;
        if queue == REPLY_TO_QUEUE {
            return self.consume_reply_to(consumer_tag, no_ack, registered);
        }
        let queue = self.queue_name(queue);
        self.conn()
            .check(Permission::Read, ResourceKind::Queue, &queue)?;
        let q = self.usable_queue(&queue)?;
        let tag: Arc<str> = if consumer_tag.is_empty() {
            Arc::from(names::consumer_tag())
        } else {
            Arc::from(consumer_tag)
        };
        let consumer = {
            let mut st = self.core.state.lock();
            if st.consumers.contains_key(&tag) {
                return Err(CoreError::ConsumerTagReuse(tag.to_string()));
            }
            let consumer = Arc::new(Consumer {
                tag: Arc::clone(&tag),
                channel: Arc::clone(&self.core),
                queue: Arc::clone(&q),
                no_ack,
                exclusive,
                priority,
                prefetch: st.consumer_prefetch,
                unacked: Default::default(),
            });
            st.consumers.insert(Arc::clone(&tag), Arc::clone(&consumer));
            consumer
        };
        if let Err(e) = q.add_consumer(Arc::clone(&consumer), registered) {
            self.core.state.lock().consumers.remove(&tag);
            return Err(e);
        }
        self.conn().metrics.consumer_added();
        Ok(tag)
    }

    /// `basic.consume` on [`REPLY_TO_QUEUE`]: registers the channel's direct reply-to
    /// consumer (no-ack only, one per channel, as RabbitMQ).
    fn consume_reply_to(
        &self,
        consumer_tag: &str,
        no_ack: bool,
        registered: impl FnOnce(&str),
    ) -> Result<Arc<str>, CoreError> {
        if !no_ack {
            return Err(CoreError::ReplyTo("reply consumer cannot acknowledge"));
        }
        let mut slot = self.reply_to.lock();
        if slot.is_some() {
            return Err(CoreError::ReplyTo("reply consumer already set"));
        }
        let tag: Arc<str> = if consumer_tag.is_empty() {
            Arc::from(names::consumer_tag())
        } else {
            Arc::from(consumer_tag)
        };
        let token = self
            .conn()
            .vhost
            .reply_to
            .register(&self.core, Arc::clone(&tag));
        registered(&tag);
        *slot = Some((Arc::clone(&tag), token));
        Ok(tag)
    }

    /// Cancels the direct reply-to consumer if `consumer_tag` is it.
    fn cancel_reply_to(&self, consumer_tag: &str) -> bool {
        let mut slot = self.reply_to.lock();
        match &*slot {
            Some((tag, token)) if &**tag == consumer_tag => {
                self.conn().vhost.reply_to.unregister(token);
                *slot = None;
                true
            }
            _ => false,
        }
    }

    /// `basic.cancel`: returns false for an unknown tag (not an error, as RabbitMQ). An
    /// auto-delete queue that loses its last consumer is deleted. The consumer's unacked
    /// messages stay unacked on the channel.
    pub fn basic_cancel(&self, consumer_tag: &str) -> Result<bool, CoreError> {
        self.ensure_open()?;
        if self.cancel_reply_to(consumer_tag) {
            return Ok(true);
        }
        let removed = self.core.state.lock().consumers.remove(consumer_tag);
        let Some(consumer) = removed else {
            return Ok(false);
        };
        self.conn().metrics.consumer_removed();
        if consumer.queue.remove_consumer(&consumer) {
            self.conn().vhost.delete_queue_instance(&consumer.queue);
        }
        Ok(true)
    }

    /// `basic.get`: the head message, or `None` when the queue is empty (`get-empty`). Not
    /// subject to prefetch. Needs read.
    pub fn basic_get(&self, queue: &str, no_ack: bool) -> Result<Option<GetOk>, CoreError> {
        self.ensure_open()?;
        let queue = self.queue_name(queue);
        self.conn()
            .check(Permission::Read, ResourceKind::Queue, &queue)?;
        let q = self.usable_queue(&queue)?;
        let mut qs = q.state.lock();
        let Some((m, deadline)) = q.take_for_get(&mut qs) else {
            q.unlock(qs);
            return Ok(None);
        };
        let message_count = qs.len();
        let mut st = self.core.state.lock();
        let tag = st.next_tag;
        st.next_tag += 1;
        let QueuedMessage {
            message,
            redelivered,
            persisted,
        } = m;
        if !no_ack {
            q.unacked.fetch_add(1, Ordering::Relaxed);
            st.unacked.push_back(Unacked {
                tag,
                queue: Arc::clone(&q),
                message: Arc::clone(&message),
                persisted,
                deadline,
                consumer: None,
            });
        } else {
            drop(persisted);
        }
        let m = QueuedMessage::new(message, redelivered);
        drop(st);
        q.unlock(qs);
        q.delivered.fetch_add(1, Ordering::Relaxed);
        self.conn().metrics.delivered(m.redelivered);
        Ok(Some(GetOk {
            delivery_tag: tag,
            redelivered: m.redelivered,
            message: m.message,
            message_count,
        }))
    }

    /// `basic.ack`. `multiple` acks every tag up to `delivery_tag` (0 with multiple: all).
    /// An unknown tag is 406 and changes nothing.
    pub fn basic_ack(&self, delivery_tag: u64, multiple: bool) -> Result<(), CoreError> {
        self.ensure_open()?;
        let (taken, queues) = {
            let mut st = self.core.state.lock();
            let taken = st.take(delivery_tag, multiple)?;
            let queues = if st.release(&taken) {
                st.consumer_queues()
            } else {
                Vec::new()
            };
            (taken, queues)
        };
        self.conn().metrics.acked(taken.len());
        drop(taken);
        for q in queues {
            q.dispatch();
        }
        Ok(())
    }

    /// `basic.nack`: as ack, then requeues (redelivered, at the head of their queues, in their
    /// original order) or discards the messages.
    pub fn basic_nack(
        &self,
        delivery_tag: u64,
        multiple: bool,
        requeue: bool,
    ) -> Result<(), CoreError> {
        self.ensure_open()?;
        let (taken, queues) = {
            let mut st = self.core.state.lock();
            let taken = st.take(delivery_tag, multiple)?;
            let queues = if st.release(&taken) {
                st.consumer_queues()
            } else {
                Vec::new()
            };
            (taken, queues)
        };
        self.settle_rejected(taken, requeue);
        for q in queues {
            q.dispatch();
        }
        Ok(())
    }

    /// `basic.reject`: a single-message nack.
    pub fn basic_reject(&self, delivery_tag: u64, requeue: bool) -> Result<(), CoreError> {
        self.basic_nack(delivery_tag, false, requeue)
    }

    /// Requeues, or discards — dead-lettering with reason `rejected` where the queue has a
    /// dead-letter exchange.
    fn settle_rejected(&self, taken: Vec<Unacked>, requeue: bool) {
        if requeue {
            self.conn().metrics.requeued(taken.len());
            requeue_grouped(taken);
        } else {
            self.conn().metrics.discarded(taken.len());
            for u in taken {
                u.queue.reject(u.message);
            }
        }
    }

    /// `basic.recover`: requeues every unacked message (redelivered). `requeue = false` is
    /// 540 NOT_IMPLEMENTED, as in RabbitMQ.
    pub fn basic_recover(&self, requeue: bool) -> Result<(), CoreError> {
        self.ensure_open()?;
        if !requeue {
            return Err(CoreError::NotImplemented("requeue=false"));
        }
        let taken = {
            let mut st = self.core.state.lock();
            let taken = st.take(0, true)?;
            st.release(&taken);
            taken
        };
        self.settle_rejected(taken, true);
        Ok(())
    }

    /// `channel.flow`: `false` pauses deliveries to this channel's consumers, `true` resumes.
    /// Returns the new state (for flow-ok).
    pub fn flow(&self, active: bool) -> Result<bool, CoreError> {
        self.ensure_open()?;
        let queues = {
            let mut st = self.core.state.lock();
            st.flow = active;
            if active {
                st.consumer_queues()
            } else {
                Vec::new()
            }
        };
        for q in queues {
            q.dispatch();
        }
        Ok(active)
    }

    /// Tells the core the sink has room again (after [`DeliverySink::has_capacity`] said no):
    /// the channel's queues dispatch.
    pub fn notify_writable(&self) {
        let queues = self.core.state.lock().consumer_queues();
        for q in queues {
            q.dispatch();
        }
    }

    /// `basic.publish`: routes the message and enqueues it in every matching queue.
    ///
    /// Checks, in RabbitMQ's order: the body size (406), write permission (403; on
    /// `amq.default` for the default exchange), the exchange (404), internal (403), the
    /// `user_id` property (406).
    /// The returned outcome says whether to send `basic.return` (mandatory and unroutable) and
    /// which confirm to send. The message record is the only allocation (plus queue growth).
    pub fn basic_publish(
        &self,
        exchange: &str,
        routing_key: String,
        mandatory: bool,
        properties: Properties,
        body: Bytes,
    ) -> Result<PublishOutcome, CoreError> {
        self.ensure_open()?;
        let conn = self.conn();
        let max = conn.max_message_size;
        if body.len() > max {
            return Err(CoreError::MessageTooLarge {
                size: body.len(),
                max,
            });
        }
        let perm_name = if exchange.is_empty() {
            "amq.default"
        } else {
            exchange
        };
        conn.check(Permission::Write, ResourceKind::Exchange, perm_name)?;
        let ex = conn.vhost.exchange_or_404(exchange)?;
        if ex.options().internal {
            return Err(CoreError::InternalExchange {
                name: exchange.to_owned(),
                vhost: conn.vhost.name().to_owned(),
            });
        }
        if let Some(claimed) = &properties.user_id {
            if claimed != &conn.user.name {
                return Err(CoreError::UserIdMismatch {
                    claimed: claimed.clone(),
                    actual: conn.user.name.clone(),
                });
            }
        }
        // The per-message TTL, checked as RabbitMQ checks it (406 when it is not a number
        // of milliseconds up to 2^32 - 1).
        let message_ttl = match properties.expiration.as_deref() {
            None => None,
            Some(text) => {
                Some(
                    parse_expiration(text).map_err(|reason| CoreError::InvalidExpiration {
                        value: text.to_owned(),
                        reason,
                    })?,
                )
            }
        };
        let mut properties = properties;
        if properties.reply_to.as_deref() == Some(REPLY_TO_QUEUE) {
            let token = match &*self.reply_to.lock() {
                Some((_, token)) => token.clone(),
                None => return Err(CoreError::ReplyTo("fast reply consumer does not exist")),
            };
            properties.reply_to = Some(format!("{REPLY_TO_PREFIX}{token}"));
        }
        if exchange.is_empty() {
            if let Some(token) = routing_key.strip_prefix(REPLY_TO_PREFIX) {
                let target = conn.vhost.reply_to.lookup(token);
                let message = Arc::new(Message {
                    exchange: Arc::clone(ex.name_arc()),
                    routing_key,
                    properties,
                    body,
                });
                // Straight to the waiting consumer; a reply to a consumer that is gone is
                // dropped, as RabbitMQ drops it.
                let routed = usize::from(
                    target.is_some_and(|(channel, tag)| channel.deliver_direct(&tag, message)),
                );
                conn.metrics.published(routed, 0);
                return Ok(PublishOutcome {
                    routed,
                    returned: mandatory && routed == 0,
                    confirm: Confirm::Ack,
                    durable: None,
                    policy_rejected: None,
                });
            }
        }
        if let Some(policy) = ex.policy() {
            if let Err(reason) = policy.check(&routing_key, &body) {
                let message = Message {
                    exchange: Arc::clone(ex.name_arc()),
                    routing_key,
                    properties,
                    body,
                };
                return Ok(self.dead_letter(&policy, &reason, message));
            }
        }
        let message = Arc::new(Message {
            exchange: Arc::clone(ex.name_arc()),
            routing_key,
            properties,
            body,
        });
        let mut scratch = self.scratch.lock();
        let Scratch { route, queues } = &mut *scratch;
        conn.vhost.route(
            &ex,
            &message.routing_key,
            message.properties.headers.as_ref(),
            route,
            queues,
        );
        let routed = queues.len();
        let mut rejected = 0;
        let mut ticket: Option<Ticket> = None;
        for q in queues.drain(..) {
            match q.enqueue(Arc::clone(&message), message_ttl) {
                Enqueued::Rejected => rejected += 1,
                Enqueued::Accepted(t) => ticket = ticket.max(t),
            }
        }
        drop(scratch);
        conn.metrics.published(routed, rejected);
        let durable = ticket.filter(|t| !conn.vhost.storage().when_durable(*t, &self.core.sink));
        Ok(PublishOutcome {
            routed,
            returned: mandatory && routed == 0,
            confirm: if rejected > 0 {
                Confirm::Nack
            } else {
                Confirm::Ack
            },
            durable,
            policy_rejected: None,
        })
    }

    /// A message `policy` refused: counted, published to the policy's dead-letter exchange (if
    /// it exists) with the reason's headers added and its original exchange and routing key
    /// kept, and answered with a nack.
    fn dead_letter(
        &self,
        policy: &ExchangePolicy,
        reason: &warren_car2home::DeadLetterReason,
        mut message: Message,
    ) -> PublishOutcome {
        let conn = self.conn();
        conn.metrics.invalid();
        tracing::debug!(
            exchange = %message.exchange,
            routing_key = %message.routing_key,
            reason = %reason,
            "message refused by the exchange policy"
        );
        let dlx = policy
            .dead_letter_exchange()
            .and_then(|name| conn.vhost.exchange(name));
        if let Some(dlx) = dlx {
            message.properties.headers = Some(dead_letter_headers(
                message.properties.headers.as_ref(),
                reason,
            ));
            let message = Arc::new(message);
            let mut scratch = self.scratch.lock();
            let Scratch { route, queues } = &mut *scratch;
            // The publisher gets a nack whatever happens here, so neither a full queue nor
            // the durable ticket changes the outcome.
            conn.vhost
                .republish(&dlx, &message, route, queues, |_| true);
        }
        PublishOutcome {
            routed: 0,
            returned: false,
            confirm: Confirm::Nack,
            durable: None,
            policy_rejected: Some(reason.code),
        }
    }

    /// Number of delivered-but-unacked messages on the channel.
    pub fn unacked_count(&self) -> usize {
        self.core.state.lock().unacked.len()
    }

    /// The prefetch limits set by `basic.qos`: (per new consumer, shared by the channel); 0 is
    /// no limit (for management listings).
    pub fn prefetch(&self) -> (u32, u32) {
        let st = self.core.state.lock();
        (st.consumer_prefetch, st.global_prefetch)
    }

    /// The channel's consumer tags.
    pub fn consumer_tags(&self) -> Vec<Arc<str>> {
        let mut v: Vec<_> = self.core.state.lock().consumers.keys().cloned().collect();
        v.sort();
        v
    }

    /// Closes the channel (idempotent): cancels its consumers (auto-delete queues left without
    /// consumers are deleted) and requeues every unacked message, marked redelivered.
    pub fn close(&self) {
        if self.closed.swap(true, Ordering::AcqRel) {
            return;
        }
        if let Some((_, token)) = self.reply_to.lock().take() {
            self.conn().vhost.reply_to.unregister(&token);
        }
        let (consumers, unacked) = {
            let mut st = self.core.state.lock();
            st.closed = true;
            let consumers: Vec<Arc<Consumer>> = st.consumers.drain().map(|(_, c)| c).collect();
            let unacked: Vec<Unacked> = st.unacked.drain(..).collect();
            st.release(&unacked);
            (consumers, unacked)
        };
        for c in consumers {
            self.conn().metrics.consumer_removed();
            if c.queue.remove_consumer(&c) {
                self.conn().vhost.delete_queue_instance(&c.queue);
            }
        }
        if !unacked.is_empty() {
            self.conn().metrics.requeued(unacked.len());
            requeue_grouped(unacked);
        }
        self.conn().metrics.channel_closed();
    }
}
