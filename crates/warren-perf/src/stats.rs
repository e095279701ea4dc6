//! Counters shared by a run's tasks, latency histograms, the live progress line and the final
//! report.

use crate::check::Verdict;
use hdrhistogram::Histogram;
use parking_lot::Mutex;
use serde::Serialize;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Highest latency the histograms track (60 s, in nanoseconds); larger values are clamped.
const MAX_LATENCY_NANOS: u64 = 60_000_000_000;

/// A latency histogram in nanoseconds, 3 significant digits.
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_LATENCY_NANOS, 3)
        // Constant bounds within the crate's rules (low >= 1, high >= 2 * low, sigfig <= 5);
        // `histogram_bounds_are_valid` below checks them.
        .unwrap_or_else(|_| unreachable!("constant histogram bounds are valid"))
}

/// Counters every task of a run updates.
#[derive(Debug)]
pub struct Shared {
    /// Messages written to the broker.
    pub sent: AtomicU64,
    /// Messages received by all receivers.
    pub received: AtomicU64,
    /// Deliveries the receivers should get for what was sent so far (a publish routed to three
    /// queues adds three).
    pub expected: AtomicU64,
    /// Publishes confirmed by the broker (confirms, PUBACK, PUBCOMP).
    pub confirmed: AtomicU64,
    /// Publishes the broker refused (`basic.nack`, an MQTT failure reason code).
    pub nacked: AtomicU64,
    /// Producers stop when this turns true.
    pub stop: AtomicBool,
    /// Receivers record latencies only while this is true (after warm-up, before the end of
    /// the measured window).
    pub measuring: AtomicBool,
    /// Latencies recorded since the last progress line; drained into `total` each second.
    pub interval: Mutex<Histogram<u64>>,
    /// All latencies of the measured window.
    pub total: Mutex<Histogram<u64>>,
    /// Messages received per stream (all receivers), for the producers' backlog gates.
    pub stream_received: Vec<AtomicU64>,
}

impl Shared {
    /// Fresh counters for a run with `streams` producer streams.
    pub fn new(streams: usize) -> Arc<Shared> {
        Arc::new(Shared {
            sent: AtomicU64::new(0),
            received: AtomicU64::new(0),
            expected: AtomicU64::new(0),
            confirmed: AtomicU64::new(0),
            nacked: AtomicU64::new(0),
            stop: AtomicBool::new(false),
            measuring: AtomicBool::new(false),
            interval: Mutex::new(new_histogram()),
            total: Mutex::new(new_histogram()),
            stream_received: (0..streams).map(|_| AtomicU64::new(0)).collect(),
        })
    }

    /// Deliveries still owed to receivers (sent and routed, not yet received).
    pub fn backlog(&self) -> u64 {
        self.expected
            .load(Ordering::Relaxed)
            .saturating_sub(self.received.load(Ordering::Relaxed))
    }

    /// Counts one message of `stream` received.
    pub fn count_stream(&self, stream: u32) {
        if let Some(c) = self.stream_received.get(stream as usize) {
            c.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Messages of `streams` received so far.
    pub fn received_of(&self, streams: std::ops::Range<u32>) -> u64 {
        streams
            .filter_map(|s| self.stream_received.get(s as usize))
            .map(|c| c.load(Ordering::Relaxed))
            .sum()
    }

    /// True once producers were told to stop.
    pub fn stopping(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// Records what one receiver got since its last call: each message's stamp (`None` for a
    /// body without a valid stamp) goes to its queue's `checker` and the per-stream counts,
    /// the received total grows, and the latencies are recorded. Clears both batches.
    pub fn record_received(
        &self,
        checker: &Mutex<crate::check::Checker>,
        stamps: &mut Vec<Option<crate::stamp::Stamp>>,
        latencies: &mut Vec<u64>,
    ) {
        if stamps.is_empty() {
            return;
        }
        let mut c = checker.lock();
        for s in stamps.iter() {
            match s {
                Some(s) => {
                    c.observe(s.stream, s.seq);
                    self.count_stream(s.stream);
                }
                None => c.observe_bad_stamp(),
            }
        }
        drop(c);
        self.received
            .fetch_add(stamps.len() as u64, Ordering::Relaxed);
        stamps.clear();
        self.record_latencies(latencies);
    }

    /// Records a batch of latencies (nanoseconds) taken by one receiver.
    pub fn record_latencies(&self, batch: &mut Vec<u64>) {
        if batch.is_empty() {
            return;
        }
        if self.measuring.load(Ordering::Relaxed) {
            let mut h = self.interval.lock();
            for &ns in batch.iter() {
                let _ = h.record(ns.clamp(1, MAX_LATENCY_NANOS));
            }
        }
        batch.clear();
    }

    /// Moves the interval histogram into the total, returning (p50, p99) of the interval in µs.
    pub fn roll_interval(&self) -> Option<(f64, f64)> {
        let mut interval = self.interval.lock();
        let summary = (!interval.is_empty()).then(|| {
            (
                interval.value_at_quantile(0.5) as f64 / 1e3,
                interval.value_at_quantile(0.99) as f64 / 1e3,
            )
        });
        let _ = self.total.lock().add(&*interval);
        interval.reset();
        summary
    }
}

/// Latency percentiles in microseconds.
#[derive(Debug, Default, Clone, Copy, Serialize)]
pub struct Latency {
    /// Median.
    pub p50: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    pub p999: f64,
    /// Largest.
    pub max: f64,
    /// Samples.
    pub samples: u64,
}

impl Latency {
    /// Percentiles of `h` (nanoseconds) in microseconds.
    pub fn of(h: &Histogram<u64>) -> Latency {
        if h.is_empty() {
            return Latency::default();
        }
        Latency {
            p50: h.value_at_quantile(0.5) as f64 / 1e3,
            p99: h.value_at_quantile(0.99) as f64 / 1e3,
            p999: h.value_at_quantile(0.999) as f64 / 1e3,
            max: h.max() as f64 / 1e3,
            samples: h.len(),
        }
    }
}

/// The final JSON record of a run.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Always `warren-perf`.
    pub tool: &'static str,
    /// `amqp`, `mqtt` or `mqtt-idle`.
    pub mode: &'static str,
    /// The scenario's parameters as given.
    pub scenario: serde_json::Value,
    /// Seconds of the measured window (after warm-up).
    pub measured_seconds: f64,
    /// Messages sent during the whole run.
    pub sent: u64,
    /// Messages received during the whole run (drain included).
    pub received: u64,
    /// Sent messages per second over the measured window.
    pub sent_rate: f64,
    /// Received messages per second over the measured window.
    pub received_rate: f64,
    /// Latency over the measured window.
    pub latency_us: Latency,
    /// Loss, duplicates, order, misrouting.
    pub check: Verdict,
    /// Publishes the broker refused.
    pub nacked: u64,
    /// Loss is accepted by this scenario (MQTT QoS 0 with `--allow-loss`).
    pub loss_allowed: bool,
    /// Idle mode: connections that were open at the end of the hold.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connections: Option<u64>,
    /// AMQP: each queue's message count when the run declared it (in `--queue` order).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub queue_messages: Vec<u64>,
    /// What went wrong (connection errors, broker closes, check failures).
    pub errors: Vec<String>,
    /// True when the run met its checks.
    pub ok: bool,
}

/// Counter values at one instant, for rates over a window.
#[derive(Debug, Clone, Copy)]
pub struct Snapshot {
    /// When.
    pub at: Instant,
    /// `Shared::sent` then.
    pub sent: u64,
    /// `Shared::received` then.
    pub received: u64,
}

impl Snapshot {
    /// Reads the counters now.
    pub fn take(shared: &Shared) -> Snapshot {
        Snapshot {
            at: Instant::now(),
            sent: shared.sent.load(Ordering::Relaxed),
            received: shared.received.load(Ordering::Relaxed),
        }
    }

    /// (seconds, sent/s, received/s) from `earlier` to `self`.
    pub fn rates_since(&self, earlier: &Snapshot) -> (f64, f64, f64) {
        let secs = self
            .at
            .saturating_duration_since(earlier.at)
            .as_secs_f64()
            .max(1e-9);
        (
            secs,
            self.sent.saturating_sub(earlier.sent) as f64 / secs,
            self.received.saturating_sub(earlier.received) as f64 / secs,
        )
    }
}

/// Prints one progress line per second to stderr until `shared.stop` and the drain end
/// (the caller aborts the task).
pub async fn progress(shared: Arc<Shared>, quiet: bool) {
    let start = Instant::now();
    let mut last = Snapshot::take(&shared);
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.tick().await;
    loop {
        tick.tick().await;
        let now = Snapshot::take(&shared);
        let (_, s, r) = now.rates_since(&last);
        let lat = shared.roll_interval();
        if !quiet {
            let lat = lat
                .map(|(p50, p99)| format!(" latency p50 {p50:.0} µs p99 {p99:.0} µs"))
                .unwrap_or_default();
            eprintln!(
                "[{:>4.0}s] sent {s:>10.0} msg/s  received {r:>10.0} msg/s  backlog {}{lat}",
                start.elapsed().as_secs_f64(),
                shared.backlog(),
            );
        }
        last = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_bounds_are_valid() {
        assert!(Histogram::<u64>::new_with_bounds(1, MAX_LATENCY_NANOS, 3).is_ok());
    }

    #[test]
    fn latencies_count_only_while_measuring() {
        let shared = Shared::new(0);
        shared.record_latencies(&mut vec![1_000, 2_000]);
        assert!(shared.roll_interval().is_none());
        shared.measuring.store(true, Ordering::Relaxed);
        let mut batch = vec![1_000, 2_000, 3_000];
        shared.record_latencies(&mut batch);
        assert!(batch.is_empty());
        let (p50, _) = shared.roll_interval().unwrap();
        assert!((1.9..2.1).contains(&p50), "{p50}");
        let total = Latency::of(&shared.total.lock());
        assert_eq!(total.samples, 3);
        assert!((2.9..3.1).contains(&total.max), "{}", total.max);
    }
}
