//! What every load scenario shares: timing options, the producer pacer (count, rate, backlog
//! gate), and the run's orchestration (warm-up, measured window, stop, drain, checks).

use crate::error::PerfError;
use crate::stats::{progress, Latency, Shared, Snapshot};
use serde::Serialize;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;

/// Timing and pacing options of a run.
#[derive(Debug, Clone, clap::Args, Serialize)]
pub struct RunArgs {
    /// Seconds of the measured window (after the warm-up); ignored with --count.
    #[arg(long, default_value_t = 10.0)]
    pub duration: f64,
    /// Seconds of load before measuring starts (0 with --count).
    #[arg(long, default_value_t = 1.0)]
    pub warmup: f64,
    /// Messages each producer sends, instead of a duration.
    #[arg(long)]
    pub count: Option<u64>,
    /// Messages per second per producer (0: as fast as the broker takes them).
    #[arg(long, default_value_t = 0)]
    pub rate: u64,
    /// A producer pauses while more than this many of its messages per receiver it reaches
    /// are undelivered (0: no limit). Keeps an unlimited-rate run from building an unbounded
    /// queue (and Mosquitto, whose per-client queue holds 1000, from dropping).
    #[arg(long, default_value_t = 0)]
    pub max_backlog: u64,
    /// Most messages encoded into one write.
    #[arg(long, default_value_t = 128)]
    pub batch: usize,
    /// After producers stop, seconds to wait for outstanding deliveries without progress.
    #[arg(long, default_value_t = 5.0)]
    pub drain_timeout: f64,
    /// No progress lines.
    #[arg(long)]
    pub quiet: bool,
}

impl Default for RunArgs {
    fn default() -> Self {
        RunArgs {
            duration: 10.0,
            warmup: 1.0,
            count: None,
            rate: 0,
            max_backlog: 0,
            batch: 128,
            drain_timeout: 5.0,
            quiet: false,
        }
    }
}

/// Messages a producer limited to `rate`/s may have sent `elapsed` after it started
/// (`u64::MAX` when unlimited).
///
/// ```
/// use std::time::Duration;
/// use warren_perf::runner::allowed_by_rate;
/// assert_eq!(allowed_by_rate(1000, Duration::from_millis(2500)), 2501);
/// assert_eq!(allowed_by_rate(0, Duration::from_secs(1)), u64::MAX);
/// ```
pub fn allowed_by_rate(rate: u64, elapsed: Duration) -> u64 {
    if rate == 0 {
        return u64::MAX;
    }
    // The first message goes at once, then one every 1/rate seconds.
    let n = (elapsed.as_secs_f64() * rate as f64) as u64;
    n.saturating_add(1)
}

/// Longest a producer waits at the backlog gate before sending anyway (lossy scenarios would
/// otherwise wait forever for messages that were dropped).
const GATE_TIMEOUT: Duration = Duration::from_secs(1);

/// Decides how many messages a producer sends next.
#[derive(Debug)]
pub struct Pacer {
    start: Instant,
    rate: u64,
    count: Option<u64>,
    sent: u64,
    batch: u64,
    backlog_limit: u64,
    streams: std::ops::Range<u32>,
    owed: u64,
}

impl Pacer {
    /// A pacer for one producer whose messages go out on `streams` and reach `receivers`
    /// receivers (the backlog limit is per receiver).
    pub fn new(args: &RunArgs, streams: std::ops::Range<u32>, receivers: usize) -> Pacer {
        Pacer {
            start: Instant::now(),
            rate: args.rate,
            count: args.count,
            sent: 0,
            batch: args.batch.max(1) as u64,
            backlog_limit: args.max_backlog.saturating_mul(receivers.max(1) as u64),
            streams,
            owed: 0,
        }
    }

    /// Messages sent so far by this producer.
    pub fn sent(&self) -> u64 {
        self.sent
    }

    /// Waits until the producer may send, then says how many (at most `window` more, the
    /// free confirm window). `None`: stop (told to, or the count is reached).
    pub async fn next_batch(&mut self, shared: &Shared, window: u64) -> Option<u64> {
        let mut gate_since: Option<Instant> = None;
        loop {
            if shared.stopping() {
                return None;
            }
            let mut n = self.batch.min(window);
            if let Some(count) = self.count {
                if self.sent >= count {
                    return None;
                }
                n = n.min(count - self.sent);
            }
            let allowed = allowed_by_rate(self.rate, self.start.elapsed());
            if allowed <= self.sent {
                // The next message is due at (sent / rate) seconds after start.
                let due = Duration::from_secs_f64(self.sent as f64 / self.rate.max(1) as f64);
                tokio::time::sleep_until((self.start + due).into()).await;
                continue;
            }
            n = n.min(allowed - self.sent);
            if self.backlog_limit > 0
                && self
                    .owed
                    .saturating_sub(shared.received_of(self.streams.clone()))
                    >= self.backlog_limit
            {
                let since = *gate_since.get_or_insert_with(Instant::now);
                if since.elapsed() < GATE_TIMEOUT {
                    tokio::time::sleep(Duration::from_micros(500)).await;
                    continue;
                }
            }
            return Some(n.max(1));
        }
    }

    /// Records `n` messages sent, owing `deliveries` deliveries to receivers.
    pub fn record(&mut self, n: u64, deliveries: u64) {
        self.sent += n;
        self.owed += deliveries;
    }
}

/// A producer task's result: the number of messages it sent on each of its streams.
pub type ProducerResult = Result<Vec<u64>, PerfError>;

/// What the orchestration measured.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Messages sent per producer per stream, in producer order (empty for a failed producer).
    pub sent_per_producer: Vec<Vec<u64>>,
    /// Length of the measured window in seconds.
    pub measured_seconds: f64,
    /// Sent messages per second in the window.
    pub sent_rate: f64,
    /// Received messages per second in the window.
    pub received_rate: f64,
    /// Latency percentiles in the window.
    pub latency: Latency,
    /// Task errors.
    pub errors: Vec<String>,
}

/// Runs the load: warm-up, measured window, stop, drain. Consumers must already be subscribed
/// and producers started; consumers are aborted after the drain.
pub async fn orchestrate(
    shared: Arc<Shared>,
    args: &RunArgs,
    producers: Vec<JoinHandle<ProducerResult>>,
    consumers: Vec<JoinHandle<Result<(), PerfError>>>,
) -> Outcome {
    let ticker = tokio::spawn(progress(Arc::clone(&shared), args.quiet));
    let count_mode = args.count.is_some();
    let warmup = if count_mode {
        0.0
    } else {
        args.warmup.max(0.0)
    };
    let failed = |c: &[JoinHandle<Result<(), PerfError>>], p: &[JoinHandle<ProducerResult>]| {
        c.iter().any(JoinHandle::is_finished)
            || (!count_mode && p.iter().any(JoinHandle::is_finished))
    };
    tokio::time::sleep(Duration::from_secs_f64(warmup)).await;
    shared.measuring.store(true, Ordering::Relaxed);
    let window_start = Snapshot::take(&shared);
    let deadline = Instant::now() + Duration::from_secs_f64(args.duration.max(0.0));
    loop {
        if failed(&consumers, &producers)
            || (count_mode && producers.iter().all(JoinHandle::is_finished))
            || (!count_mode && Instant::now() >= deadline)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut window_end = Snapshot::take(&shared);
    if !count_mode {
        shared.measuring.store(false, Ordering::Relaxed);
    }
    shared.stop.store(true, Ordering::Relaxed);
    let mut errors = Vec::new();
    let mut sent_per_producer = Vec::new();
    for p in producers {
        match p.await {
            Ok(Ok(sent)) => sent_per_producer.push(sent),
            Ok(Err(e)) => {
                errors.push(format!("producer: {e}"));
                sent_per_producer.push(Vec::new());
            }
            Err(e) => {
                errors.push(format!("producer task: {e}"));
                sent_per_producer.push(Vec::new());
            }
        }
    }
    // Drain: wait for what is still owed, as long as it keeps coming.
    let drain_timeout = Duration::from_secs_f64(args.drain_timeout.max(0.0));
    let mut last_received = shared.received.load(Ordering::Relaxed);
    let mut last_progress = Instant::now();
    while shared.backlog() > 0 && !consumers.iter().any(JoinHandle::is_finished) {
        tokio::time::sleep(Duration::from_millis(10)).await;
        let now = shared.received.load(Ordering::Relaxed);
        if now != last_received {
            last_received = now;
            last_progress = Instant::now();
        } else if last_progress.elapsed() >= drain_timeout {
            break;
        }
    }
    if count_mode {
        window_end = Snapshot::take(&shared);
        shared.measuring.store(false, Ordering::Relaxed);
    }
    for c in consumers {
        if c.is_finished() {
            match c.await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => errors.push(format!("consumer: {e}")),
                Err(e) => errors.push(format!("consumer task: {e}")),
            }
        } else {
            c.abort();
        }
    }
    ticker.abort();
    let _ = shared.roll_interval();
    let latency = Latency::of(&shared.total.lock());
    let (measured_seconds, sent_rate, received_rate) = window_end.rates_since(&window_start);
    Outcome {
        sent_per_producer,
        measured_seconds,
        sent_rate,
        received_rate,
        latency,
        errors,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limit_allows_one_then_paces() {
        assert_eq!(allowed_by_rate(10, Duration::ZERO), 1);
        assert_eq!(allowed_by_rate(10, Duration::from_millis(99)), 1);
        assert_eq!(allowed_by_rate(10, Duration::from_millis(100)), 2);
        assert_eq!(allowed_by_rate(10, Duration::from_secs(10)), 101);
    }

    #[tokio::test]
    async fn pacer_stops_at_count_and_on_stop() {
        let shared = Shared::new(1);
        let args = RunArgs {
            count: Some(300),
            batch: 128,
            ..RunArgs::default()
        };
        let mut p = Pacer::new(&args, 0..1, 1);
        let mut total = 0;
        while let Some(n) = p.next_batch(&shared, u64::MAX).await {
            assert!(n <= 128);
            p.record(n, n);
            total += n;
        }
        assert_eq!(total, 300);
        let mut p = Pacer::new(&RunArgs::default(), 0..1, 1);
        assert_eq!(p.next_batch(&shared, 5).await, Some(5));
        shared.stop.store(true, Ordering::Relaxed);
        assert_eq!(p.next_batch(&shared, 5).await, None);
    }
}
