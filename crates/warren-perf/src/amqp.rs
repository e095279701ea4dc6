//! AMQP 0-9-1 scenarios in the spirit of RabbitMQ's PerfTest: producers publish to one
//! exchange with a set of routing keys, queues are bound with binding keys, consumers (one
//! connection each) read the queues.

use crate::amqp_client::{check_close, Conn, Reader, Target, CHANNEL};
use crate::check::{Checker, Verdict};
use crate::error::PerfError;
use crate::routing::ExchangeKind;
use crate::runner::{orchestrate, Pacer, ProducerResult, RunArgs};
use crate::stamp::{now_nanos, Stamp, STAMP_LEN};
use crate::stats::{Report, Shared};
use bytes::BytesMut;
use parking_lot::Mutex;
use serde::Serialize;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use tokio::io::AsyncWriteExt;
use tokio::sync::Notify;
use warren_amqp::{
    encode_message, encode_method, BasicAck, BasicConsume, BasicProperties, BasicPublish, BasicQos,
    ConfirmSelect, ExchangeDeclare, Method, QueueBind, QueueDeclare, QueueDelete, ShortStr,
    FRAME_BODY, FRAME_HEADER, FRAME_METHOD,
};

/// An AMQP scenario.
#[derive(Debug, Clone, clap::Args, Serialize)]
pub struct AmqpArgs {
    /// Broker address.
    #[arg(long, default_value = "127.0.0.1:5672")]
    pub addr: String,
    /// User name.
    #[arg(long, default_value = "guest")]
    pub user: String,
    /// Password.
    #[arg(long, default_value = "guest")]
    #[serde(skip)]
    pub password: String,
    /// Virtual host.
    #[arg(long, default_value = "/")]
    pub vhost: String,
    /// Producer connections.
    #[arg(long, default_value_t = 1)]
    pub producers: usize,
    /// Consumer connections per queue.
    #[arg(long, default_value_t = 1)]
    pub consumers: usize,
    /// Queues (when no --queue-binding is given), bound with key `q<i>` (direct) or `""`.
    #[arg(long, default_value_t = 1)]
    pub queues: usize,
    /// One queue per flag, bound with this key (repeatable).
    #[arg(long = "queue-binding")]
    pub queue_bindings: Vec<String>,
    /// Exchange type.
    #[arg(long, value_enum, default_value = "direct")]
    pub exchange_type: ExchangeKind,
    /// Exchange name (default `perf.<type>`).
    #[arg(long)]
    pub exchange: Option<String>,
    /// Routing keys the producers cycle through (repeatable; default: the queues' keys).
    #[arg(long = "routing-key")]
    pub routing_keys: Vec<String>,
    /// Body size in bytes (at least 16: the stamp).
    #[arg(long, default_value_t = 16)]
    pub size: usize,
    /// Publisher confirms with this many unconfirmed publishes in flight (0: no confirms).
    #[arg(long, default_value_t = 0)]
    pub confirm: u64,
    /// delivery-mode 2 and durable queues.
    #[arg(long)]
    pub persistent: bool,
    /// basic.qos prefetch count (0: unlimited).
    #[arg(long, default_value_t = 0)]
    pub prefetch: u16,
    /// Manual acks, one `basic.ack multiple` every N deliveries (default: auto-ack).
    #[arg(long)]
    pub ack_every: Option<u32>,
    /// Queue name prefix (default `perf-<pid>`).
    #[arg(long)]
    pub queue_prefix: Option<String>,
    /// No consumers: messages stay queued, the queues are kept after the run and the delivery
    /// check is skipped. The report's `queue_messages` gives each queue's depth as its declare
    /// found it, so a run with `--count 0` reads the depths of existing queues.
    #[arg(long)]
    pub publish_only: bool,
    /// Timing and pacing.
    #[command(flatten)]
    #[serde(flatten)]
    pub run: RunArgs,
}

/// A queue of the scenario and its binding key.
#[derive(Debug, Clone)]
struct QueueSpec {
    name: String,
    binding: String,
}

/// The scenario's topology and who gets what.
#[derive(Debug, Clone)]
struct Plan {
    exchange: String,
    queues: Vec<QueueSpec>,
    keys: Vec<String>,
    /// `routes[q][k]`: queue q gets messages published with key k.
    routes: Vec<Vec<bool>>,
    /// Deliveries one publish with key k owes.
    fanout: Vec<u64>,
}

impl Plan {
    fn new(args: &AmqpArgs) -> Result<Plan, PerfError> {
        let prefix = args
            .queue_prefix
            .clone()
            .unwrap_or_else(|| format!("perf-{}", std::process::id()));
        let exchange = args
            .exchange
            .clone()
            .unwrap_or_else(|| format!("perf.{}", args.exchange_type.as_str()));
        let bindings: Vec<String> = if args.queue_bindings.is_empty() {
            (0..args.queues)
                .map(|i| match args.exchange_type {
                    ExchangeKind::Fanout => String::new(),
                    _ => format!("q{i}"),
                })
                .collect()
        } else {
            args.queue_bindings.clone()
        };
        if bindings.is_empty() {
            return Err(PerfError::Scenario("no queues"));
        }
        let queues: Vec<QueueSpec> = bindings
            .into_iter()
            .enumerate()
            .map(|(i, binding)| QueueSpec {
                name: format!("{prefix}-q{i}"),
                binding,
            })
            .collect();
        let keys = if !args.routing_keys.is_empty() {
            args.routing_keys.clone()
        } else if args.exchange_type == ExchangeKind::Fanout {
            vec!["perf".to_string()]
        } else {
            let mut keys: Vec<String> = queues.iter().map(|q| q.binding.clone()).collect();
            keys.dedup();
            keys
        };
        let routes: Vec<Vec<bool>> = queues
            .iter()
            .map(|q| {
                keys.iter()
                    .map(|k| args.exchange_type.routes(&q.binding, k))
                    .collect()
            })
            .collect();
        let fanout = (0..keys.len())
            .map(|k| routes.iter().filter(|r| r.get(k) == Some(&true)).count() as u64)
            .collect();
        let streams = args.producers.saturating_mul(keys.len());
        if streams > crate::stamp::MAX_STREAM as usize {
            return Err(PerfError::Scenario("too many producers x routing keys"));
        }
        Ok(Plan {
            exchange,
            queues,
            keys,
            routes,
            fanout,
        })
    }
}

/// Publisher confirms received so far: every tag up to `upto`, plus single acks above it.
///
/// ```
/// use warren_perf::amqp::ConfirmTracker;
/// let mut t = ConfirmTracker::default();
/// t.ack(2, false);
/// assert_eq!(t.confirmed(), 1);
/// t.ack(3, true); // 1, 2 (already counted) and 3
/// assert_eq!(t.confirmed(), 3);
/// ```
#[derive(Debug, Default, Clone)]
pub struct ConfirmTracker {
    upto: u64,
    singles: BTreeSet<u64>,
    confirmed: u64,
}

impl ConfirmTracker {
    /// Records `basic.ack` (or `basic.nack`) for `tag`, or for every tag up to it when
    /// `multiple`. Returns how many publishes it newly settled.
    pub fn ack(&mut self, tag: u64, multiple: bool) -> u64 {
        let before = self.confirmed;
        if multiple {
            if tag > self.upto {
                let already = self.singles.range(..=tag).count() as u64;
                self.confirmed += (tag - self.upto) - already;
                self.singles = self.singles.split_off(&(tag + 1));
                self.upto = tag;
            }
        } else if tag > self.upto && self.singles.insert(tag) {
            self.confirmed += 1;
        }
        while self.singles.first() == Some(&(self.upto + 1)) {
            self.singles.pop_first();
            self.upto += 1;
        }
        self.confirmed - before
    }

    /// Publishes settled so far.
    pub fn confirmed(&self) -> u64 {
        self.confirmed
    }
}

/// Runs an AMQP scenario and returns its report.
pub async fn run(args: AmqpArgs) -> Report {
    let scenario = serde_json::to_value(&args).unwrap_or_default();
    let mut report = Report {
        tool: "warren-perf",
        mode: "amqp",
        scenario,
        measured_seconds: 0.0,
        sent: 0,
        received: 0,
        sent_rate: 0.0,
        received_rate: 0.0,
        latency_us: Default::default(),
        check: Verdict::default(),
        nacked: 0,
        loss_allowed: false,
        connections: None,
        queue_messages: Vec::new(),
        errors: Vec::new(),
        ok: false,
    };
    if let Err(e) = run_inner(&args, &mut report).await {
        report.errors.push(e.to_string());
    }
    report.ok = report.errors.is_empty() && report.check.is_clean() && report.nacked == 0;
    report
}

async fn run_inner(args: &AmqpArgs, report: &mut Report) -> Result<(), PerfError> {
    if args.size < STAMP_LEN {
        return Err(PerfError::Scenario(
            "--size must be at least 16 (the stamp)",
        ));
    }
    if let (Some(n), p) = (args.ack_every, args.prefetch) {
        if n == 0 || (p > 0 && n > u32::from(p)) {
            return Err(PerfError::Scenario(
                "--ack-every must be between 1 and --prefetch",
            ));
        }
    }
    let plan = Arc::new(Plan::new(args)?);
    let target = Target {
        addr: args.addr.clone(),
        user: args.user.clone(),
        password: args.password.clone(),
        vhost: args.vhost.clone(),
    };
    let mut setup = Conn::open(&target, "warren-perf setup").await?;
    report.queue_messages = declare(&mut setup, args, &plan).await?;
    let shared = Shared::new(args.producers * plan.keys.len());
    let checkers: Vec<Arc<Mutex<Checker>>> = plan
        .queues
        .iter()
        .map(|_| Arc::new(Mutex::new(Checker::new(args.consumers <= 1))))
        .collect();
    let mut consumers = Vec::new();
    let consumers_per_queue = if args.publish_only {
        0
    } else {
        args.consumers.max(1)
    };
    for (q, queue) in plan.queues.iter().enumerate() {
        for c in 0..consumers_per_queue {
            let mut conn = Conn::open(&target, &format!("warren-perf consumer {q}.{c}")).await?;
            if args.prefetch > 0 {
                let qos = BasicQos {
                    prefetch_size: 0,
                    prefetch_count: args.prefetch,
                    global: false,
                };
                conn.call(qos.into(), "basic.qos-ok", |m| {
                    matches!(m, Method::BasicQosOk(_))
                })
                .await?;
            }
            let consume = BasicConsume {
                queue: ShortStr::try_from(queue.name.as_str())?,
                consumer_tag: ShortStr::try_from(format!("perf-{q}-{c}"))?,
                no_ack: args.ack_every.is_none(),
                ..BasicConsume::default()
            };
            conn.call(consume.into(), "basic.consume-ok", |m| {
                matches!(m, Method::BasicConsumeOk(_))
            })
            .await?;
            consumers.push(tokio::spawn(consume_loop(
                conn,
                Arc::clone(&checkers[q]),
                Arc::clone(&shared),
                args.ack_every,
            )));
        }
    }
    let n_keys = plan.keys.len();
    let queues_reached = plan.routes.iter().filter(|r| r.contains(&true)).count();
    let mut producers = Vec::new();
    for p in 0..args.producers {
        let streams = (p * n_keys) as u32..((p + 1) * n_keys) as u32;
        let conn = Conn::open(&target, &format!("warren-perf producer {p}")).await?;
        producers.push(tokio::spawn(produce(
            conn,
            p,
            Arc::clone(&plan),
            args.clone(),
            Pacer::new(&args.run, streams, queues_reached),
            Arc::clone(&shared),
        )));
    }
    let outcome = orchestrate(Arc::clone(&shared), &args.run, producers, consumers).await;
    // Per-stream sent counts: stream = producer * keys + key.
    let mut sent = vec![0u64; args.producers * n_keys];
    for (p, per_key) in outcome.sent_per_producer.iter().enumerate() {
        for (k, n) in per_key.iter().enumerate() {
            if let Some(slot) = sent.get_mut(p * n_keys + k) {
                *slot = *n;
            }
        }
    }
    for (q, checker) in checkers.iter().enumerate() {
        if args.publish_only {
            break;
        }
        let routes = &plan.routes[q];
        let v = checker.lock().verdict(&sent, |s| {
            routes.get(s as usize % n_keys.max(1)) == Some(&true)
        });
        report.check.add(v);
    }
    report.measured_seconds = outcome.measured_seconds;
    report.sent = shared.sent.load(Ordering::Relaxed);
    report.received = shared.received.load(Ordering::Relaxed);
    report.sent_rate = outcome.sent_rate;
    report.received_rate = outcome.received_rate;
    report.latency_us = outcome.latency;
    report.nacked = shared.nacked.load(Ordering::Relaxed);
    report.errors.extend(outcome.errors);
    // Clean up: delete the queues (best effort; the setup connection is still open).
    for queue in plan.queues.iter().filter(|_| !args.publish_only) {
        if let Ok(name) = ShortStr::try_from(queue.name.as_str()) {
            let delete = QueueDelete {
                queue: name,
                ..QueueDelete::default()
            };
            if setup
                .call(delete.into(), "queue.delete-ok", |m| {
                    matches!(m, Method::QueueDeleteOk(_))
                })
                .await
                .is_err()
            {
                break;
            }
        }
    }
    setup.close().await;
    Ok(())
}

/// Declares the exchange and the queues; returns each queue's message count from its declare-ok.
async fn declare(conn: &mut Conn, args: &AmqpArgs, plan: &Plan) -> Result<Vec<u64>, PerfError> {
    let exchange = ShortStr::try_from(plan.exchange.as_str())?;
    let declare = ExchangeDeclare {
        exchange: exchange.clone(),
        kind: ShortStr::from_static(args.exchange_type.as_str()),
        durable: args.persistent,
        ..ExchangeDeclare::default()
    };
    conn.call(declare.into(), "exchange.declare-ok", |m| {
        matches!(m, Method::ExchangeDeclareOk(_))
    })
    .await?;
    let mut depths = Vec::with_capacity(plan.queues.len());
    for q in &plan.queues {
        let name = ShortStr::try_from(q.name.as_str())?;
        let declare = QueueDeclare {
            queue: name.clone(),
            durable: args.persistent,
            ..QueueDeclare::default()
        };
        let ok = conn
            .call(declare.into(), "queue.declare-ok", |m| {
                matches!(m, Method::QueueDeclareOk(_))
            })
            .await?;
        if let Method::QueueDeclareOk(ok) = ok {
            depths.push(u64::from(ok.message_count));
        }
        let bind = QueueBind {
            queue: name,
            exchange: exchange.clone(),
            routing_key: ShortStr::try_from(q.binding.as_str())?,
            ..QueueBind::default()
        };
        conn.call(bind.into(), "queue.bind-ok", |m| {
            matches!(m, Method::QueueBindOk(_))
        })
        .await?;
    }
    Ok(depths)
}

/// One routing key's message, encoded once: the tool copies it and patches the stamp.
struct Template {
    bytes: Vec<u8>,
    stamp_at: usize,
}

fn templates(plan: &Plan, args: &AmqpArgs, frame_max: u32) -> Result<Vec<Template>, PerfError> {
    let exchange = ShortStr::try_from(plan.exchange.as_str())?;
    let props = BasicProperties {
        delivery_mode: Some(if args.persistent { 2 } else { 1 }),
        ..BasicProperties::default()
    };
    let body = vec![b'x'; args.size];
    plan.keys
        .iter()
        .map(|key| {
            let method: Method = BasicPublish {
                exchange: exchange.clone(),
                routing_key: ShortStr::try_from(key.as_str())?,
                ..BasicPublish::default()
            }
            .into();
            let mut head = BytesMut::new();
            encode_message(&mut head, CHANNEL, &method, &props, &[], frame_max)?;
            let mut whole = BytesMut::new();
            encode_message(&mut whole, CHANNEL, &method, &props, &body, frame_max)?;
            Ok(Template {
                bytes: whole.to_vec(),
                // After the method and header frames comes the first body frame's 7-byte
                // header, then the body.
                stamp_at: head.len() + warren_amqp::FRAME_HEADER_SIZE,
            })
        })
        .collect()
}

/// What the producer's reader task tells its writer.
#[derive(Debug, Default)]
struct ConfirmState {
    confirmed: AtomicU64,
    failed: AtomicBool,
    notify: Notify,
}

async fn produce(
    conn: Conn,
    index: usize,
    plan: Arc<Plan>,
    args: AmqpArgs,
    mut pacer: Pacer,
    shared: Arc<Shared>,
) -> ProducerResult {
    let mut conn = conn;
    if args.confirm > 0 {
        conn.call(
            ConfirmSelect { nowait: false }.into(),
            "confirm.select-ok",
            |m| matches!(m, Method::ConfirmSelectOk(_)),
        )
        .await?;
    }
    let templates = templates(&plan, &args, conn.frame_max)?;
    let Conn { reader, mut wr, .. } = conn;
    let state = Arc::new(ConfirmState::default());
    let reader_task = tokio::spawn(confirm_reader(
        reader,
        Arc::clone(&state),
        Arc::clone(&shared),
    ));
    let n_keys = templates.len().max(1);
    let mut per_key = vec![0u64; n_keys];
    let base_stream = (index * n_keys) as u32;
    let mut key = 0usize;
    let mut wbuf = BytesMut::with_capacity(256 * 1024);
    let mut published = 0u64;
    let result: Result<(), PerfError> = async {
        loop {
            if state.failed.load(Ordering::Relaxed) {
                break;
            }
            let window = if args.confirm > 0 {
                let in_flight = published - state.confirmed.load(Ordering::Acquire);
                if in_flight >= args.confirm {
                    let wait = state.notify.notified();
                    if published - state.confirmed.load(Ordering::Acquire) >= args.confirm {
                        let _ =
                            tokio::time::timeout(std::time::Duration::from_millis(100), wait).await;
                    }
                    if shared.stopping() {
                        break;
                    }
                    continue;
                }
                args.confirm - in_flight
            } else {
                u64::MAX
            };
            let Some(n) = pacer.next_batch(&shared, window).await else {
                break;
            };
            let now = now_nanos();
            let mut owed = 0;
            for _ in 0..n {
                let Some(t) = templates.get(key) else { break };
                let start = wbuf.len();
                wbuf.extend_from_slice(&t.bytes);
                let seq = per_key[key];
                let stamp = Stamp {
                    stream: base_stream + key as u32,
                    seq,
                    sent_nanos: now,
                };
                if let Some(slot) = wbuf.get_mut(start + t.stamp_at..) {
                    stamp.write(slot);
                }
                per_key[key] = seq + 1;
                owed += plan.fanout.get(key).copied().unwrap_or(0);
                key = (key + 1) % n_keys;
            }
            shared.expected.fetch_add(owed, Ordering::Relaxed);
            wr.write_all(&wbuf)
                .await
                .map_err(PerfError::io("publishing"))?;
            wbuf.clear();
            published += n;
            pacer.record(n, owed);
            shared.sent.fetch_add(n, Ordering::Relaxed);
        }
        Ok(())
    }
    .await;
    // Wait for the last confirms (bounded), then stop the reader.
    if args.confirm > 0 && result.is_ok() {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
        while state.confirmed.load(Ordering::Acquire) < published
            && !state.failed.load(Ordering::Relaxed)
            && tokio::time::Instant::now() < deadline
        {
            let _ = tokio::time::timeout(
                std::time::Duration::from_millis(50),
                state.notify.notified(),
            )
            .await;
        }
    }
    // Close the connection properly: a broker may drop publishes still in its pipeline when
    // the socket just goes away. The reader task ends at `connection.close-ok`.
    let mut close = BytesMut::new();
    let close_method: Method = warren_amqp::ConnectionClose {
        reply_code: 200,
        reply_text: ShortStr::from_static("done"),
        class_id: 0,
        method_id: 0,
    }
    .into();
    encode_method(&mut close, 0, &close_method, 0)?;
    let _ = wr.write_all(&close).await;
    let reader_error =
        match tokio::time::timeout(std::time::Duration::from_secs(10), reader_task).await {
            Ok(Ok(Err(e))) => Some(e),
            Ok(_) => None,
            Err(_) => Some(PerfError::Timeout("connection.close-ok")),
        };
    result?;
    if let Some(e) = reader_error {
        return Err(e);
    }
    Ok(per_key)
}

/// Reads a producer connection: confirms, and any close from the broker.
async fn confirm_reader(
    mut reader: Reader,
    state: Arc<ConfirmState>,
    shared: Arc<Shared>,
) -> Result<(), PerfError> {
    let mut tracker = ConfirmTracker::default();
    let result = async {
        loop {
            match reader.next_method("reading confirms").await? {
                Method::ConnectionCloseOk(_) => return Ok(()),
                Method::BasicAck(a) => {
                    let n = tracker.ack(a.delivery_tag, a.multiple);
                    shared.confirmed.fetch_add(n, Ordering::Relaxed);
                }
                Method::BasicNack(a) => {
                    let n = tracker.ack(a.delivery_tag, a.multiple);
                    shared.nacked.fetch_add(n, Ordering::Relaxed);
                }
                _ => {}
            }
            state
                .confirmed
                .store(tracker.confirmed(), Ordering::Release);
            state.notify.notify_one();
        }
    }
    .await;
    state.failed.store(true, Ordering::Relaxed);
    state.notify.notify_one();
    result
}

/// Where a consumer is in the message being received.
#[derive(Debug, Default)]
struct Incoming {
    tag: u64,
    body_left: u64,
    stamp: [u8; STAMP_LEN],
    stamp_len: usize,
}

async fn consume_loop(
    conn: Conn,
    checker: Arc<Mutex<Checker>>,
    shared: Arc<Shared>,
    ack_every: Option<u32>,
) -> Result<(), PerfError> {
    let Conn {
        mut reader,
        mut wr,
        frame_max,
    } = conn;
    let mut msg = Incoming::default();
    let mut stamps: Vec<Option<Stamp>> = Vec::with_capacity(1024);
    let mut latencies: Vec<u64> = Vec::with_capacity(1024);
    let mut unacked = 0u32;
    let mut wbuf = BytesMut::new();
    loop {
        reader.fill("consuming").await?;
        let now = now_nanos();
        while let Some(raw) = reader.decoder.decode_raw(&mut reader.buf)? {
            let complete = match raw.frame_type {
                FRAME_METHOD => {
                    match check_close(Method::decode(raw.payload)?)? {
                        Method::BasicDeliver(d) => msg.tag = d.delivery_tag,
                        Method::BasicCancel(_) => {
                            return Err(PerfError::Unexpected {
                                expected: "deliveries",
                                got: "basic.cancel".into(),
                            })
                        }
                        _ => {}
                    }
                    false
                }
                FRAME_HEADER => {
                    let size = raw
                        .payload
                        .get(4..12)
                        .and_then(|b| b.try_into().ok())
                        .map(u64::from_be_bytes)
                        .unwrap_or(0);
                    msg.body_left = size;
                    msg.stamp_len = 0;
                    size == 0
                }
                FRAME_BODY => {
                    let want = STAMP_LEN - msg.stamp_len;
                    let take = want.min(raw.payload.len());
                    if let (Some(dst), Some(src)) = (
                        msg.stamp.get_mut(msg.stamp_len..msg.stamp_len + take),
                        raw.payload.get(..take),
                    ) {
                        dst.copy_from_slice(src);
                        msg.stamp_len += take;
                    }
                    msg.body_left = msg.body_left.saturating_sub(raw.payload.len() as u64);
                    msg.body_left == 0
                }
                _ => false,
            };
            if complete {
                let stamp = if msg.stamp_len == STAMP_LEN {
                    Stamp::read(&msg.stamp)
                } else {
                    None
                };
                if let Some(s) = stamp {
                    latencies.push(now.saturating_sub(s.sent_nanos));
                }
                stamps.push(stamp);
                if let Some(every) = ack_every {
                    unacked += 1;
                    if unacked >= every {
                        let ack = BasicAck {
                            delivery_tag: msg.tag,
                            multiple: true,
                        };
                        encode_method(&mut wbuf, CHANNEL, &ack.into(), frame_max)?;
                        unacked = 0;
                    }
                }
            }
        }
        shared.record_received(&checker, &mut stamps, &mut latencies);
        if !wbuf.is_empty() {
            wr.write_all(&wbuf).await.map_err(PerfError::io("acking"))?;
            wbuf.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> AmqpArgs {
        AmqpArgs {
            addr: String::new(),
            user: String::new(),
            password: String::new(),
            vhost: "/".into(),
            producers: 2,
            consumers: 1,
            queues: 1,
            queue_bindings: Vec::new(),
            exchange_type: ExchangeKind::Direct,
            exchange: None,
            routing_keys: Vec::new(),
            size: 16,
            confirm: 0,
            persistent: false,
            prefetch: 0,
            ack_every: None,
            queue_prefix: Some("t".into()),
            publish_only: false,
            run: RunArgs::default(),
        }
    }

    #[test]
    fn car2home_plan_routes_device_keys() {
        let mut a = args();
        a.exchange_type = ExchangeKind::Topic;
        a.queue_bindings = vec![
            "webos.car-1.#".into(),
            "webos.car-2.#".into(),
            "webos.#".into(),
        ];
        a.routing_keys = vec!["webos.car-1.gps".into(), "webos.car-2.battery".into()];
        let plan = Plan::new(&a).unwrap();
        assert_eq!(
            plan.routes,
            vec![vec![true, false], vec![false, true], vec![true, true]]
        );
        assert_eq!(plan.fanout, vec![2, 2]);
        assert_eq!(plan.queues[2].name, "t-q2");
    }

    #[test]
    fn fanout_plan_sends_everything_everywhere() {
        let mut a = args();
        a.exchange_type = ExchangeKind::Fanout;
        a.queues = 10;
        let plan = Plan::new(&a).unwrap();
        assert_eq!(plan.keys, vec!["perf".to_string()]);
        assert_eq!(plan.fanout, vec![10]);
    }

    #[test]
    fn template_stamp_lands_at_body_start() {
        let mut a = args();
        a.size = 200_000; // several body frames
        let plan = Plan::new(&a).unwrap();
        let t = &templates(&plan, &a, 131_072).unwrap()[0];
        let mut bytes = BytesMut::from(&t.bytes[..]);
        let stamp = Stamp {
            stream: 3,
            seq: 9,
            sent_nanos: 5,
        };
        assert!(stamp.write(&mut bytes[t.stamp_at..]));
        let mut dec = warren_amqp::FrameDecoder::new(131_072);
        let mut asm = warren_amqp::MessageAssembler::new(CHANNEL, 1 << 30);
        let mut got = None;
        while let Some(f) = dec.decode(&mut bytes).unwrap() {
            if let Some(warren_amqp::Assembled::Message(m)) = asm.handle(f).unwrap() {
                got = Some(m);
            }
        }
        let m = got.unwrap();
        assert_eq!(m.body.len(), 200_000);
        assert_eq!(Stamp::read(&m.body), Some(stamp));
    }

    #[test]
    fn confirms_out_of_order_and_multiple() {
        let mut t = ConfirmTracker::default();
        assert_eq!(t.ack(3, false), 1);
        assert_eq!(t.ack(1, false), 1);
        assert_eq!(t.ack(1, false), 0); // repeated
        assert_eq!(t.ack(5, true), 3); // 2, 4, 5
        assert_eq!(t.confirmed(), 5);
        assert_eq!(t.ack(4, true), 0);
        assert_eq!(t.ack(6, false), 1);
        assert_eq!(t.confirmed(), 6);
    }
}
