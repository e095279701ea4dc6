//! Broker-wide counters: relaxed atomics, cheap enough for the hot path, read by the management
//! API as a [`MetricsSnapshot`].

use std::sync::atomic::{AtomicU64, Ordering};

/// The counters. Monotonic totals and gauges, updated with relaxed atomics.
#[derive(Debug, Default)]
pub struct Metrics {
    published: AtomicU64,
    routed: AtomicU64,
    unroutable: AtomicU64,
    rejected: AtomicU64,
    invalid: AtomicU64,
    delivered: AtomicU64,
    redelivered: AtomicU64,
    acked: AtomicU64,
    requeued: AtomicU64,
    discarded: AtomicU64,
    connections: AtomicU64,
    channels: AtomicU64,
    consumers: AtomicU64,
    queues: AtomicU64,
}

/// A copy of the counters at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MetricsSnapshot {
    /// Messages published (accepted by an exchange).
    pub published: u64,
    /// Messages routed to at least one queue.
    pub routed: u64,
    /// Messages that matched no queue.
    pub unroutable: u64,
    /// Messages refused by a full queue (`x-overflow: reject-publish`).
    pub rejected: u64,
    /// Messages refused by an exchange policy (Car2Home validation) and dead-lettered instead
    /// of routed; also counted in `published`, not in `routed` or `unroutable`.
    pub invalid: u64,
    /// Deliveries to consumers and basic.get responses.
    pub delivered: u64,
    /// Of those, redeliveries.
    pub redelivered: u64,
    /// Acknowledged deliveries.
    pub acked: u64,
    /// Deliveries put back in their queue (nack/reject/recover/close).
    pub requeued: u64,
    /// Deliveries nacked or rejected without requeue.
    pub discarded: u64,
    /// Open connections (gauge).
    pub connections: u64,
    /// Open channels (gauge).
    pub channels: u64,
    /// Consumers (gauge).
    pub consumers: u64,
    /// Queues (gauge).
    pub queues: u64,
}

fn inc(c: &AtomicU64, n: u64) {
    c.fetch_add(n, Ordering::Relaxed);
}

fn dec(c: &AtomicU64) {
    // Gauges never go below zero even if a close races a delete.
    let _ = c.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| v.checked_sub(1));
}

impl Metrics {
    /// Reads every counter.
    pub fn snapshot(&self) -> MetricsSnapshot {
        let r = |c: &AtomicU64| c.load(Ordering::Relaxed);
        MetricsSnapshot {
            published: r(&self.published),
            routed: r(&self.routed),
            unroutable: r(&self.unroutable),
            rejected: r(&self.rejected),
            invalid: r(&self.invalid),
            delivered: r(&self.delivered),
            redelivered: r(&self.redelivered),
            acked: r(&self.acked),
            requeued: r(&self.requeued),
            discarded: r(&self.discarded),
            connections: r(&self.connections),
            channels: r(&self.channels),
            consumers: r(&self.consumers),
            queues: r(&self.queues),
        }
    }

    pub(crate) fn published(&self, routed_to: usize, rejected: usize) {
        inc(&self.published, 1);
        if routed_to == 0 {
            inc(&self.unroutable, 1);
        } else {
            inc(&self.routed, 1);
        }
        if rejected > 0 {
            inc(&self.rejected, 1);
        }
    }

    /// A publish an exchange policy refused.
    pub(crate) fn invalid(&self) {
        inc(&self.published, 1);
        inc(&self.invalid, 1);
    }

    pub(crate) fn delivered(&self, redelivered: bool) {
        inc(&self.delivered, 1);
        if redelivered {
            inc(&self.redelivered, 1);
        }
    }

    pub(crate) fn acked(&self, n: usize) {
        inc(&self.acked, n as u64);
    }

    pub(crate) fn requeued(&self, n: usize) {
        inc(&self.requeued, n as u64);
    }

    pub(crate) fn discarded(&self, n: usize) {
        inc(&self.discarded, n as u64);
    }

    pub(crate) fn connection_opened(&self) {
        inc(&self.connections, 1);
    }

    pub(crate) fn connection_closed(&self) {
        dec(&self.connections);
    }

    pub(crate) fn channel_opened(&self) {
        inc(&self.channels, 1);
    }

    pub(crate) fn channel_closed(&self) {
        dec(&self.channels);
    }

    pub(crate) fn consumer_added(&self) {
        inc(&self.consumers, 1);
    }

    pub(crate) fn consumer_removed(&self) {
        dec(&self.consumers);
    }

    pub(crate) fn queue_declared(&self) {
        inc(&self.queues, 1);
    }

    pub(crate) fn queue_deleted(&self) {
        dec(&self.queues);
    }
}
