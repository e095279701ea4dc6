//! Message rates: the broker's counters sampled on a timer (never per message), turned into
//! per-second rates and a short history for the Overview chart.
//!
//! The core keeps monotonic counters in relaxed atomics; [`Stats::sample`] reads them every
//! `sample_interval` and keeps the difference. Sans-clock: the caller passes the time.

use std::collections::{HashMap, VecDeque};

use parking_lot::Mutex;
use warren_core::{Broker, MetricsSnapshot};

/// One point of the Overview chart.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Sample {
    /// Milliseconds since the Unix epoch.
    pub timestamp: u64,
    /// Publishes per second over the interval before this point.
    pub publish: f64,
    /// Deliveries (and gets) per second.
    pub deliver_get: f64,
    /// Acks per second.
    pub ack: f64,
    /// Ready messages at this point.
    pub messages_ready: u64,
    /// Unacked messages at this point.
    pub messages_unacknowledged: u64,
}

/// Per-second rates of the broker-wide counters.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Rates {
    /// Publishes.
    pub publish: f64,
    /// Deliveries and gets.
    pub deliver_get: f64,
    /// Redeliveries.
    pub redeliver: f64,
    /// Acks.
    pub ack: f64,
    /// Unroutable publishes dropped.
    pub drop_unroutable: f64,
    /// Change of ready messages.
    pub messages_ready: f64,
    /// Change of unacked messages.
    pub messages_unacknowledged: f64,
}

/// Per-second rates of one queue.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct QueueRates {
    /// Messages enqueued.
    pub publish: f64,
    /// Deliveries and gets.
    pub deliver_get: f64,
    /// Change of ready messages.
    pub messages_ready: f64,
    /// Change of unacked messages.
    pub messages_unacknowledged: f64,
}

#[derive(Debug, Clone, Copy, Default)]
struct QueuePoint {
    enqueued: u64,
    delivered: u64,
    ready: u64,
    unacked: u64,
}

#[derive(Debug, Default)]
struct Inner {
    last: Option<(u64, MetricsSnapshot, u64, u64)>,
    rates: Rates,
    history: VecDeque<Sample>,
    queues: HashMap<(String, String), (QueuePoint, QueueRates)>,
    /// First time each connection id was seen (its `connected_at`).
    connections: HashMap<u64, u64>,
}

/// Sampled rates and history, shared by the API handlers and the sampling task.
#[derive(Debug)]
pub struct Stats {
    inner: Mutex<Inner>,
    capacity: usize,
}

fn rate(now: u64, then: u64, secs: f64) -> f64 {
    if secs <= 0.0 {
        return 0.0;
    }
    let delta = now as f64 - then as f64;
    (delta / secs * 10.0).round() / 10.0
}

impl Stats {
    /// Keeps the last `capacity` samples for the chart.
    pub fn new(capacity: usize) -> Stats {
        Stats {
            inner: Mutex::new(Inner::default()),
            capacity: capacity.max(1),
        }
    }

    /// Reads the broker's counters at `now_ms` (Unix milliseconds) and updates rates.
    pub fn sample(&self, broker: &Broker, now_ms: u64) {
        let m = broker.metrics();
        let queues = broker.list_queues();
        let ready: u64 = queues.iter().map(|q| q.messages_ready as u64).sum();
        let unacked: u64 = queues.iter().map(|q| q.messages_unacked as u64).sum();
        let mut inner = self.inner.lock();
        let secs = match inner.last {
            Some((then, ..)) => now_ms.saturating_sub(then) as f64 / 1000.0,
            None => 0.0,
        };
        if let Some((_, prev, prev_ready, prev_unacked)) = inner.last {
            inner.rates = Rates {
                publish: rate(m.published, prev.published, secs),
                deliver_get: rate(m.delivered, prev.delivered, secs),
                redeliver: rate(m.redelivered, prev.redelivered, secs),
                ack: rate(m.acked, prev.acked, secs),
                drop_unroutable: rate(m.unroutable, prev.unroutable, secs),
                messages_ready: rate(ready, prev_ready, secs),
                messages_unacknowledged: rate(unacked, prev_unacked, secs),
            };
        }
        inner.last = Some((now_ms, m, ready, unacked));
        let sample = Sample {
            timestamp: now_ms,
            publish: inner.rates.publish,
            deliver_get: inner.rates.deliver_get,
            ack: inner.rates.ack,
            messages_ready: ready,
            messages_unacknowledged: unacked,
        };
        inner.history.push_back(sample);
        while inner.history.len() > self.capacity {
            inner.history.pop_front();
        }
        let mut next = HashMap::with_capacity(queues.len());
        for q in &queues {
            let key = (q.vhost.clone(), q.name.clone());
            let point = QueuePoint {
                enqueued: q.enqueued,
                delivered: q.delivered,
                ready: q.messages_ready as u64,
                unacked: q.messages_unacked as u64,
            };
            let rates = match inner.queues.get(&key) {
                Some((prev, _)) => QueueRates {
                    publish: rate(point.enqueued, prev.enqueued, secs),
                    deliver_get: rate(point.delivered, prev.delivered, secs),
                    messages_ready: rate(point.ready, prev.ready, secs),
                    messages_unacknowledged: rate(point.unacked, prev.unacked, secs),
                },
                None => QueueRates::default(),
            };
            next.insert(key, (point, rates));
        }
        inner.queues = next;
        let live: Vec<u64> = broker.connections().iter().map(|c| c.id().0).collect();
        inner.connections.retain(|id, _| live.contains(id));
        for id in live {
            inner.connections.entry(id).or_insert(now_ms);
        }
    }

    /// The broker-wide rates of the last interval.
    pub fn rates(&self) -> Rates {
        self.inner.lock().rates
    }

    /// One queue's rates of the last interval (zero for a queue not sampled yet).
    pub fn queue_rates(&self, vhost: &str, name: &str) -> QueueRates {
        self.inner
            .lock()
            .queues
            .get(&(vhost.to_owned(), name.to_owned()))
            .map(|(_, r)| *r)
            .unwrap_or_default()
    }

    /// The chart history, oldest first.
    pub fn history(&self) -> Vec<Sample> {
        self.inner.lock().history.iter().copied().collect()
    }

    /// When a connection was first seen (Unix ms), if it has been sampled.
    pub fn connected_at(&self, id: u64) -> Option<u64> {
        self.inner.lock().connections.get(&id).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use std::sync::Arc;
    use warren_core::*;

    struct Null;
    impl DeliverySink for Null {
        fn deliver(&self, _d: Delivery) {}
        fn cancelled(&self, _t: &str) {}
    }

    #[test]
    fn rates_are_deltas_over_the_interval() {
        let broker = Broker::with_defaults(BrokerConfig::default());
        let stats = Stats::new(3);
        stats.sample(&broker, 10_000);
        assert_eq!(stats.rates(), Rates::default());
        let user = broker.user("guest").unwrap();
        let conn = broker
            .open_connection(ConnectionInfo {
                user,
                vhost: "/".into(),
                peer: "127.0.0.1:1".into(),
                protocol: Protocol::Direct,
                client_name: None,
            })
            .unwrap();
        let ch = conn.open_channel(1, Arc::new(Null)).unwrap();
        ch.queue_declare("q", QueueOptions::default(), false)
            .unwrap();
        for _ in 0..10 {
            ch.basic_publish("", "q".into(), false, Properties::default(), Bytes::new())
                .unwrap();
        }
        stats.sample(&broker, 15_000);
        let r = stats.rates();
        assert_eq!(r.publish, 2.0);
        assert_eq!(r.messages_ready, 2.0);
        assert_eq!(stats.queue_rates("/", "q").publish, 0.0, "first sight of q");
        ch.basic_publish("", "q".into(), false, Properties::default(), Bytes::new())
            .unwrap();
        stats.sample(&broker, 16_000);
        assert_eq!(stats.queue_rates("/", "q").publish, 1.0);
        stats.sample(&broker, 17_000);
        let h = stats.history();
        assert_eq!(h.len(), 3, "capacity bounds the history");
        assert_eq!(h[0].timestamp, 15_000);
        assert_eq!(h[2].messages_ready, 11);
        assert_eq!(stats.connected_at(conn.id().0), Some(15_000));
    }
}
