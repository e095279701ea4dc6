//! The connection's outbox: where the core drops deliveries for the connection's channels, and
//! the wake-up that gets the connection task to encode and write them.
//!
//! The core calls a [`ChannelSink`] with a queue lock held, so pushing is a short mutex section
//! and a wake-up; all encoding happens later on the connection's own task, in order.

use parking_lot::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::Notify;
use warren_core::{AlarmListener, Delivery, DeliverySink, Ticket};

/// Something the core produced for one channel.
#[derive(Debug)]
pub enum OutEvent {
    /// `basic.deliver`.
    Deliver(Delivery),
    /// `basic.cancel` from the server: the consumer's queue is gone.
    Cancelled(String),
    /// The store made every publish up to this ticket durable: their confirms may go out.
    Confirmed(Ticket),
    /// The store stopped writing (I/O error): publishes waiting for the disk, and later ones
    /// that would, are refused.
    StoreFailed,
}

/// Shared between the core (through [`ChannelSink`]s) and the connection task.
#[derive(Debug)]
pub struct Outbox {
    events: Mutex<Vec<(u16, OutEvent)>>,
    notify: Notify,
    /// Events queued above which sinks report no capacity (the core then holds deliveries in
    /// the queues until the task has written and calls `notify_writable`).
    limit: usize,
    /// Events pending (a copy of `events.len()` readable without the lock).
    pending: AtomicUsize,
    throttled: AtomicBool,
    /// Set when the broker closed the connection (management): the reason to tell the client.
    forced_close: Mutex<Option<String>>,
}

impl Outbox {
    /// An empty outbox reporting "full" at `limit` pending events.
    pub fn new(limit: usize) -> Arc<Outbox> {
        Arc::new(Outbox {
            events: Mutex::new(Vec::new()),
            notify: Notify::new(),
            limit: limit.max(1),
            pending: AtomicUsize::new(0),
            throttled: AtomicBool::new(false),
            forced_close: Mutex::new(None),
        })
    }

    fn push(&self, channel: u16, event: OutEvent) {
        let mut events = self.events.lock();
        events.push((channel, event));
        self.pending.store(events.len(), Ordering::Release);
        drop(events);
        self.notify.notify_one();
    }

    /// Moves every pending event into `into` (which is cleared first), in arrival order.
    pub fn drain(&self, into: &mut Vec<(u16, OutEvent)>) {
        into.clear();
        let mut events = self.events.lock();
        std::mem::swap(&mut *events, into);
        self.pending.store(0, Ordering::Release);
    }

    /// True when a sink said "full" since the last call (the caller then tells its channels
    /// they are writable again).
    pub fn take_throttled(&self) -> bool {
        self.throttled.swap(false, Ordering::AcqRel)
    }

    /// Resolves when events arrived since the last wake-up.
    pub async fn notified(&self) {
        self.notify.notified().await;
    }

    /// Wakes the connection task without an event (e.g. to notice shutdown).
    pub fn wake(&self) {
        self.notify.notify_one();
    }

    /// The reason the broker closed the connection, once (see [`warren_core::CloseListener`]).
    pub fn take_forced_close(&self) -> Option<String> {
        self.forced_close.lock().take()
    }
}

impl warren_core::CloseListener for Outbox {
    fn force_closed(&self, reason: &str) {
        *self.forced_close.lock() = Some(reason.to_owned());
        self.notify.notify_one();
    }
}

/// A [`DeliverySink`] for one channel: tags events with the channel number.
#[derive(Debug)]
pub struct ChannelSink {
    /// The channel number.
    pub channel: u16,
    /// The connection's outbox.
    pub outbox: Arc<Outbox>,
}

impl DeliverySink for ChannelSink {
    fn deliver(&self, delivery: Delivery) {
        self.outbox.push(self.channel, OutEvent::Deliver(delivery));
    }

    fn cancelled(&self, consumer_tag: &str) {
        self.outbox
            .push(self.channel, OutEvent::Cancelled(consumer_tag.to_owned()));
    }

    fn confirmed(&self, ticket: Ticket) {
        self.outbox.push(self.channel, OutEvent::Confirmed(ticket));
    }

    fn store_failed(&self) {
        self.outbox.push(self.channel, OutEvent::StoreFailed);
    }

    fn has_capacity(&self) -> bool {
        let ok = self.outbox.pending.load(Ordering::Acquire) < self.outbox.limit;
        if !ok {
            self.outbox.throttled.store(true, Ordering::Release);
        }
        ok
    }
}

/// Wakes the connection task when the broker's resource alarms change (it then blocks or
/// unblocks itself in `handle_outbox`).
#[derive(Debug)]
pub struct AlarmWaker(pub Arc<Outbox>);

impl AlarmListener for AlarmWaker {
    fn alarms_changed(&self) {
        self.0.wake();
    }
}
