//! MQTT 3.1.1 scenarios in the spirit of emqtt-bench: publishers, subscribers, topics, QoS 0/1/2,
//! payload size, and a mode that opens N idle connections.

use crate::check::{Checker, Verdict};
use crate::error::PerfError;
use crate::routing::mqtt_matches;
use crate::runner::{orchestrate, Pacer, ProducerResult, RunArgs};
use crate::stamp::{now_nanos, Stamp, STAMP_LEN};
use crate::stats::{Report, Shared};
use bytes::{Bytes, BytesMut};
use parking_lot::Mutex;
use serde::Serialize;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::sync::Notify;
use warren_mqtt::{
    Connect, Decoder, Packet, PacketId, Properties, ProtocolLevel, PubAck, Publish, QoS,
    ReasonCode, Subscribe, Subscription, SubscriptionOptions,
};

/// How long CONNACK / SUBACK may take.
const REPLY_TIMEOUT: Duration = Duration::from_secs(30);

/// The protocol level the tool speaks.
const LEVEL: ProtocolLevel = ProtocolLevel::V3_1_1;

/// Connection options shared by the MQTT modes.
#[derive(Debug, Clone, clap::Args, Serialize)]
pub struct MqttTarget {
    /// Broker address.
    #[arg(long, default_value = "127.0.0.1:1883")]
    pub addr: String,
    /// User name (none by default).
    #[arg(long)]
    pub user: Option<String>,
    /// Password.
    #[arg(long)]
    #[serde(skip)]
    pub password: Option<String>,
    /// Client id prefix (default `wp<pid>`).
    #[arg(long)]
    pub client_prefix: Option<String>,
}

/// An MQTT publish/subscribe scenario.
#[derive(Debug, Clone, clap::Args, Serialize)]
pub struct MqttArgs {
    /// Where to connect.
    #[command(flatten)]
    #[serde(flatten)]
    pub target: MqttTarget,
    /// Publisher connections.
    #[arg(long, default_value_t = 1)]
    pub publishers: usize,
    /// Subscriber connections.
    #[arg(long, default_value_t = 1)]
    pub subscribers: usize,
    /// Topics: publisher i publishes to `<prefix>/<i mod topics>`, subscriber j subscribes to
    /// `<prefix>/<j mod topics>`.
    #[arg(long, default_value_t = 1)]
    pub topics: usize,
    /// Topic prefix (default `perf/<pid>`).
    #[arg(long)]
    pub topic_prefix: Option<String>,
    /// QoS of publishes and subscriptions (0, 1 or 2).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=2))]
    pub qos: u8,
    /// Payload size in bytes (at least 16: the stamp).
    #[arg(long, default_value_t = 16)]
    pub size: usize,
    /// QoS 1/2: unacknowledged publishes in flight per publisher. The default is Mosquitto's
    /// `max_inflight_messages`: above it Mosquitto 2.0 acknowledges QoS 2 publishes from a
    /// 3.1.1 client and then drops them.
    #[arg(long, default_value_t = 20)]
    pub inflight: u64,
    /// Accept lost messages (QoS 0 under overload may drop); duplicates, reordering and
    /// misrouting still fail the run.
    #[arg(long)]
    pub allow_loss: bool,
    /// Timing and pacing.
    #[command(flatten)]
    #[serde(flatten)]
    pub run: RunArgs,
}

/// The idle-connections mode.
#[derive(Debug, Clone, clap::Args, Serialize)]
pub struct MqttIdleArgs {
    /// Where to connect.
    #[command(flatten)]
    #[serde(flatten)]
    pub target: MqttTarget,
    /// Connections to open.
    #[arg(long, default_value_t = 1000)]
    pub connections: usize,
    /// Connections opened concurrently.
    #[arg(long, default_value_t = 100)]
    pub concurrency: usize,
    /// Seconds to hold them open once all are connected.
    #[arg(long, default_value_t = 5.0)]
    pub hold: f64,
    /// Keep-alive in seconds sent in CONNECT (0: none, so idle means idle).
    #[arg(long, default_value_t = 0)]
    pub keep_alive: u16,
    /// No progress lines.
    #[arg(long)]
    pub quiet: bool,
}

/// One MQTT connection: socket halves, read buffer, decoder.
#[derive(Debug)]
struct MqttConn {
    rd: OwnedReadHalf,
    wr: OwnedWriteHalf,
    buf: BytesMut,
    decoder: Decoder,
}

impl MqttConn {
    async fn connect(
        target: &MqttTarget,
        client_id: String,
        keep_alive: u16,
    ) -> Result<MqttConn, PerfError> {
        let stream = TcpStream::connect(&target.addr)
            .await
            .map_err(PerfError::io("connecting"))?;
        stream
            .set_nodelay(true)
            .map_err(PerfError::io("setting TCP_NODELAY"))?;
        let (rd, wr) = stream.into_split();
        let mut conn = MqttConn {
            rd,
            wr,
            buf: BytesMut::new(),
            decoder: Decoder::with_level(LEVEL),
        };
        let connect = Packet::Connect(Box::new(Connect {
            level: LEVEL,
            clean_start: true,
            keep_alive,
            client_id,
            will: None,
            username: target.user.clone(),
            password: target.password.clone().map(Bytes::from),
            properties: Properties::default(),
        }));
        conn.send(&connect).await?;
        match conn.reply("CONNACK").await? {
            Packet::ConnAck(ack) if ack.reason_code == ReasonCode::Success => Ok(conn),
            Packet::ConnAck(ack) => Err(PerfError::MqttRefused {
                packet: "CONNACK",
                code: ack.reason_code.as_u8(),
            }),
            other => Err(unexpected("CONNACK", &other)),
        }
    }

    async fn send(&mut self, packet: &Packet) -> Result<(), PerfError> {
        let mut out = BytesMut::new();
        packet.encode(LEVEL, &mut out)?;
        self.wr
            .write_all(&out)
            .await
            .map_err(PerfError::io("writing to the broker"))
    }

    async fn next_packet(&mut self, while_doing: &'static str) -> Result<Packet, PerfError> {
        loop {
            if let Some(p) = self.decoder.decode(&mut self.buf)? {
                return Ok(p);
            }
            fill(&mut self.rd, &mut self.buf, while_doing).await?;
        }
    }

    async fn reply(&mut self, what: &'static str) -> Result<Packet, PerfError> {
        tokio::time::timeout(REPLY_TIMEOUT, self.next_packet(what))
            .await
            .map_err(|_| PerfError::Timeout(what))?
    }

    async fn subscribe(&mut self, filter: String, qos: QoS) -> Result<(), PerfError> {
        let sub = Packet::Subscribe(Subscribe {
            packet_id: PacketId::MIN,
            properties: Properties::default(),
            subscriptions: vec![Subscription {
                filter,
                options: SubscriptionOptions {
                    qos,
                    ..SubscriptionOptions::default()
                },
            }],
        });
        self.send(&sub).await?;
        match self.reply("SUBACK").await? {
            Packet::SubAck(ack) => match ack.reason_codes.first() {
                Some(code) if !code.is_error() => Ok(()),
                Some(code) => Err(PerfError::MqttRefused {
                    packet: "SUBACK",
                    code: code.as_u8(),
                }),
                None => Err(PerfError::Unexpected {
                    expected: "a SUBACK reason code",
                    got: "none".into(),
                }),
            },
            other => Err(unexpected("SUBACK", &other)),
        }
    }
}

async fn fill(
    rd: &mut OwnedReadHalf,
    buf: &mut BytesMut,
    while_doing: &'static str,
) -> Result<(), PerfError> {
    if buf.capacity() - buf.len() < 8 * 1024 {
        buf.reserve(64 * 1024);
    }
    let n = rd
        .read_buf(buf)
        .await
        .map_err(PerfError::io("reading from the broker"))?;
    if n == 0 {
        return Err(PerfError::Closed { while_doing });
    }
    Ok(())
}

fn unexpected(expected: &'static str, got: &Packet) -> PerfError {
    PerfError::Unexpected {
        expected,
        got: format!("{:?}", got.packet_type()),
    }
}

fn qos_of(n: u8) -> QoS {
    QoS::from_u8(n).unwrap_or(QoS::AtMostOnce)
}

fn client_prefix(target: &MqttTarget) -> String {
    target
        .client_prefix
        .clone()
        .unwrap_or_else(|| format!("wp{}", std::process::id()))
}

fn empty_report(mode: &'static str, scenario: serde_json::Value, loss_allowed: bool) -> Report {
    Report {
        tool: "warren-perf",
        mode,
        scenario,
        measured_seconds: 0.0,
        sent: 0,
        received: 0,
        sent_rate: 0.0,
        received_rate: 0.0,
        latency_us: Default::default(),
        check: Verdict::default(),
        nacked: 0,
        loss_allowed,
        connections: None,
        queue_messages: Vec::new(),
        errors: Vec::new(),
        ok: false,
    }
}

/// Runs an MQTT publish/subscribe scenario.
pub async fn run(args: MqttArgs) -> Report {
    let scenario = serde_json::to_value(&args).unwrap_or_default();
    let mut report = empty_report("mqtt", scenario, args.allow_loss);
    if let Err(e) = run_inner(&args, &mut report).await {
        report.errors.push(e.to_string());
    }
    let mut judged = report.check;
    if args.allow_loss {
        judged.lost = 0;
    }
    report.ok = report.errors.is_empty() && judged.is_clean() && report.nacked == 0;
    report
}

async fn run_inner(args: &MqttArgs, report: &mut Report) -> Result<(), PerfError> {
    if args.size < STAMP_LEN {
        return Err(PerfError::Scenario(
            "--size must be at least 16 (the stamp)",
        ));
    }
    if args.qos > 0 && !(1..65_535).contains(&args.inflight) {
        return Err(PerfError::Scenario(
            "--inflight must be between 1 and 65534",
        ));
    }
    let topics = args.topics.max(1);
    let prefix = args
        .topic_prefix
        .clone()
        .unwrap_or_else(|| format!("perf/{}", std::process::id()));
    let pub_topics: Vec<String> = (0..args.publishers)
        .map(|i| format!("{prefix}/{}", i % topics))
        .collect();
    let filters: Vec<String> = (0..args.subscribers)
        .map(|j| format!("{prefix}/{}", j % topics))
        .collect();
    let fanout: Vec<u64> = pub_topics
        .iter()
        .map(|t| filters.iter().filter(|f| mqtt_matches(f, t)).count() as u64)
        .collect();
    let qos = qos_of(args.qos);
    let ids = client_prefix(&args.target);
    let shared = Shared::new(args.publishers);
    let checkers: Vec<Arc<Mutex<Checker>>> = filters
        .iter()
        .map(|_| Arc::new(Mutex::new(Checker::new(true))))
        .collect();
    let mut consumers = Vec::new();
    for (j, filter) in filters.iter().enumerate() {
        let mut conn = MqttConn::connect(&args.target, format!("{ids}s{j}"), 0).await?;
        conn.subscribe(filter.clone(), qos).await?;
        consumers.push(tokio::spawn(subscribe_loop(
            conn,
            Arc::clone(&checkers[j]),
            Arc::clone(&shared),
        )));
    }
    let mut producers = Vec::new();
    for (i, topic) in pub_topics.iter().enumerate() {
        let conn = MqttConn::connect(&args.target, format!("{ids}p{i}"), 0).await?;
        producers.push(tokio::spawn(publish_loop(
            conn,
            i as u32,
            topic.clone(),
            fanout.get(i).copied().unwrap_or(0),
            args.clone(),
            Pacer::new(
                &args.run,
                i as u32..i as u32 + 1,
                fanout.get(i).copied().unwrap_or(0) as usize,
            ),
            Arc::clone(&shared),
        )));
    }
    let outcome = orchestrate(Arc::clone(&shared), &args.run, producers, consumers).await;
    let sent: Vec<u64> = outcome
        .sent_per_producer
        .iter()
        .map(|v| v.first().copied().unwrap_or(0))
        .collect();
    for (j, checker) in checkers.iter().enumerate() {
        let filter = &filters[j];
        let v = checker.lock().verdict(&sent, |s| {
            pub_topics
                .get(s as usize)
                .is_some_and(|t| mqtt_matches(filter, t))
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
    Ok(())
}

/// A publish encoded once; the tool copies it and patches packet id and stamp.
struct Template {
    bytes: Vec<u8>,
    stamp_at: usize,
}

fn template(topic: &str, qos: QoS, size: usize) -> Result<Template, PerfError> {
    let publish = Packet::Publish(Publish {
        dup: false,
        qos,
        retain: false,
        topic: topic.to_owned(),
        packet_id: (qos != QoS::AtMostOnce).then_some(PacketId::MIN),
        properties: Properties::default(),
        payload: Bytes::from(vec![b'x'; size]),
    });
    let mut out = BytesMut::new();
    publish.encode(LEVEL, &mut out)?;
    Ok(Template {
        stamp_at: out.len() - size,
        bytes: out.to_vec(),
    })
}

/// Packet id of the n-th publish (1..=65535, wrapping).
fn packet_id(n: u64) -> u16 {
    (n % 65_535) as u16 + 1
}

#[derive(Debug, Default)]
struct AckState {
    confirmed: AtomicU64,
    closing: AtomicBool,
    failed: AtomicBool,
    notify: Notify,
}

async fn publish_loop(
    conn: MqttConn,
    index: u32,
    topic: String,
    fanout: u64,
    args: MqttArgs,
    mut pacer: Pacer,
    shared: Arc<Shared>,
) -> ProducerResult {
    let qos = qos_of(args.qos);
    let t = template(&topic, qos, args.size)?;
    let MqttConn {
        rd,
        wr,
        buf,
        decoder,
    } = conn;
    let wr = Arc::new(tokio::sync::Mutex::new(wr));
    let state = Arc::new(AckState::default());
    let reader = tokio::spawn(publisher_reader(
        rd,
        buf,
        decoder,
        Arc::clone(&wr),
        Arc::clone(&state),
        Arc::clone(&shared),
    ));
    let mut wbuf = BytesMut::with_capacity(256 * 1024);
    let mut published = 0u64;
    let result: Result<(), PerfError> = async {
        loop {
            if state.failed.load(Ordering::Relaxed) {
                break;
            }
            let window = if qos == QoS::AtMostOnce {
                u64::MAX
            } else {
                let in_flight = published - state.confirmed.load(Ordering::Acquire);
                if in_flight >= args.inflight {
                    let wait = state.notify.notified();
                    if published - state.confirmed.load(Ordering::Acquire) >= args.inflight {
                        let _ = tokio::time::timeout(Duration::from_millis(100), wait).await;
                    }
                    if shared.stopping() {
                        break;
                    }
                    continue;
                }
                args.inflight - in_flight
            };
            let Some(n) = pacer.next_batch(&shared, window).await else {
                break;
            };
            let now = now_nanos();
            for k in 0..n {
                let seq = published + k;
                let start = wbuf.len();
                wbuf.extend_from_slice(&t.bytes);
                if let Some(slot) = wbuf.get_mut(start + t.stamp_at..) {
                    Stamp {
                        stream: index,
                        seq,
                        sent_nanos: now,
                    }
                    .write(slot);
                }
                if qos != QoS::AtMostOnce {
                    let at = start + t.stamp_at - 2;
                    if let Some(slot) = wbuf.get_mut(at..at + 2) {
                        slot.copy_from_slice(&packet_id(seq).to_be_bytes());
                    }
                }
            }
            shared.expected.fetch_add(n * fanout, Ordering::Relaxed);
            wr.lock()
                .await
                .write_all(&wbuf)
                .await
                .map_err(PerfError::io("publishing"))?;
            wbuf.clear();
            published += n;
            pacer.record(n, n * fanout);
            shared.sent.fetch_add(n, Ordering::Relaxed);
        }
        Ok(())
    }
    .await;
    if qos != QoS::AtMostOnce && result.is_ok() {
        let deadline = Instant::now() + Duration::from_secs(5);
        while state.confirmed.load(Ordering::Acquire) < published
            && !state.failed.load(Ordering::Relaxed)
            && Instant::now() < deadline
        {
            let _ = tokio::time::timeout(Duration::from_millis(50), state.notify.notified()).await;
        }
    }
    // DISCONNECT, then wait for the broker to close: everything before it was processed.
    state.closing.store(true, Ordering::Relaxed);
    let _ = wr.lock().await.write_all(&[0xE0, 0x00]).await;
    let reader_error = match tokio::time::timeout(Duration::from_secs(10), reader).await {
        Ok(Ok(Err(e))) => Some(e),
        Ok(_) => None,
        Err(_) => Some(PerfError::Timeout("the broker to close after DISCONNECT")),
    };
    result?;
    if let Some(e) = reader_error {
        return Err(e);
    }
    Ok(vec![published])
}

async fn publisher_reader(
    mut rd: OwnedReadHalf,
    mut buf: BytesMut,
    mut decoder: Decoder,
    wr: Arc<tokio::sync::Mutex<OwnedWriteHalf>>,
    state: Arc<AckState>,
    shared: Arc<Shared>,
) -> Result<(), PerfError> {
    let mut out = BytesMut::new();
    let mut confirmed = 0u64;
    let result = async {
        loop {
            match fill(&mut rd, &mut buf, "reading acknowledgements").await {
                Err(PerfError::Closed { .. }) if state.closing.load(Ordering::Relaxed) => {
                    return Ok(())
                }
                r => r?,
            }
            let before = confirmed;
            while let Some(p) = decoder.decode(&mut buf)? {
                match p {
                    Packet::PubAck(a) | Packet::PubComp(a) => {
                        confirmed += 1;
                        if a.reason_code.is_error() {
                            shared.nacked.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    Packet::PubRec(r) => {
                        if r.reason_code.is_error() {
                            confirmed += 1;
                            shared.nacked.fetch_add(1, Ordering::Relaxed);
                        } else {
                            Packet::PubRel(PubAck::new(r.packet_id)).encode(LEVEL, &mut out)?;
                        }
                    }
                    other => return Err(unexpected("PUBACK, PUBREC or PUBCOMP", &other)),
                }
            }
            if !out.is_empty() {
                wr.lock()
                    .await
                    .write_all(&out)
                    .await
                    .map_err(PerfError::io("sending PUBREL"))?;
                out.clear();
            }
            shared
                .confirmed
                .fetch_add(confirmed - before, Ordering::Relaxed);
            state.confirmed.store(confirmed, Ordering::Release);
            state.notify.notify_one();
        }
    }
    .await;
    state.failed.store(true, Ordering::Relaxed);
    state.notify.notify_one();
    result
}

async fn subscribe_loop(
    conn: MqttConn,
    checker: Arc<Mutex<Checker>>,
    shared: Arc<Shared>,
) -> Result<(), PerfError> {
    let MqttConn {
        mut rd,
        mut wr,
        mut buf,
        mut decoder,
    } = conn;
    let mut stamps: Vec<Option<Stamp>> = Vec::with_capacity(1024);
    let mut latencies: Vec<u64> = Vec::with_capacity(1024);
    let mut out = BytesMut::new();
    loop {
        fill(&mut rd, &mut buf, "subscribing").await?;
        let now = now_nanos();
        while let Some(p) = decoder.decode(&mut buf)? {
            match p {
                Packet::Publish(p) => {
                    let stamp = Stamp::read(&p.payload);
                    if let Some(s) = stamp {
                        latencies.push(now.saturating_sub(s.sent_nanos));
                    }
                    stamps.push(stamp);
                    match (p.qos, p.packet_id) {
                        (QoS::AtLeastOnce, Some(id)) => {
                            Packet::PubAck(PubAck::new(id)).encode(LEVEL, &mut out)?;
                        }
                        (QoS::ExactlyOnce, Some(id)) => {
                            Packet::PubRec(PubAck::new(id)).encode(LEVEL, &mut out)?;
                        }
                        _ => {}
                    }
                }
                Packet::PubRel(r) => {
                    Packet::PubComp(PubAck::new(r.packet_id)).encode(LEVEL, &mut out)?;
                }
                Packet::PingResp => {}
                other => return Err(unexpected("PUBLISH", &other)),
            }
        }
        shared.record_received(&checker, &mut stamps, &mut latencies);
        if !out.is_empty() {
            wr.write_all(&out)
                .await
                .map_err(PerfError::io("acknowledging"))?;
            out.clear();
        }
    }
}

/// Opens `connections` idle MQTT connections, holds them, and reports how many stayed open
/// (`connections` in the report; `sent_rate` is connections opened per second).
pub async fn run_idle(args: MqttIdleArgs) -> Report {
    let scenario = serde_json::to_value(&args).unwrap_or_default();
    let mut report = empty_report("mqtt-idle", scenario, false);
    let ids = client_prefix(&args.target);
    let started = Instant::now();
    let mut open: Vec<MqttConn> = Vec::with_capacity(args.connections);
    let mut next = 0usize;
    let mut tasks = tokio::task::JoinSet::new();
    let mut last_note = Instant::now();
    while next < args.connections || !tasks.is_empty() {
        while next < args.connections && tasks.len() < args.concurrency.max(1) {
            let target = args.target.clone();
            let id = format!("{ids}i{next}");
            let keep_alive = args.keep_alive;
            tasks.spawn(async move { MqttConn::connect(&target, id, keep_alive).await });
            next += 1;
        }
        match tasks.join_next().await {
            Some(Ok(Ok(c))) => open.push(c),
            Some(Ok(Err(e))) if report.errors.len() < 10 => {
                report
                    .errors
                    .push(format!("connection {}: {e}", open.len()));
            }
            Some(Ok(Err(_))) => {}
            Some(Err(e)) => report.errors.push(format!("connect task: {e}")),
            None => {}
        }
        if !args.quiet && last_note.elapsed() >= Duration::from_secs(1) {
            eprintln!("[idle] {} connections open", open.len());
            last_note = Instant::now();
        }
    }
    let setup = started.elapsed().as_secs_f64();
    if !args.quiet {
        eprintln!(
            "[idle] {} connections open after {setup:.1} s; holding {} s",
            open.len(),
            args.hold
        );
    }
    tokio::time::sleep(Duration::from_secs_f64(args.hold.max(0.0))).await;
    // Count the ones still open: a closed socket reads end-of-stream at once.
    let mut alive = 0u64;
    for c in &mut open {
        let mut probe = [0u8; 1];
        match tokio::time::timeout(Duration::from_millis(1), c.rd.read(&mut probe)).await {
            Err(_) => alive += 1, // nothing to read: still open
            Ok(Ok(n)) if n > 0 => alive += 1,
            Ok(_) => {}
        }
    }
    report.measured_seconds = setup;
    report.connections = Some(alive);
    report.sent_rate = open.len() as f64 / setup.max(1e-9);
    if alive < args.connections as u64 && report.errors.is_empty() {
        report.errors.push(format!(
            "{} of {} connections were closed",
            args.connections as u64 - alive,
            args.connections
        ));
    }
    report.ok = report.errors.is_empty();
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_patches_land_on_packet_id_and_payload() {
        for qos in [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce] {
            let t = template("perf/1/0", qos, 100).unwrap();
            let mut bytes = BytesMut::from(&t.bytes[..]);
            let stamp = Stamp {
                stream: 4,
                seq: 70_000,
                sent_nanos: 12,
            };
            assert!(stamp.write(&mut bytes[t.stamp_at..]));
            if qos != QoS::AtMostOnce {
                bytes[t.stamp_at - 2..t.stamp_at].copy_from_slice(&packet_id(70_000).to_be_bytes());
            }
            let mut d = Decoder::with_level(LEVEL);
            let Some(Packet::Publish(p)) = d.decode(&mut bytes).unwrap() else {
                panic!("a publish")
            };
            assert_eq!(p.topic, "perf/1/0");
            assert_eq!(Stamp::read(&p.payload), Some(stamp));
            if qos != QoS::AtMostOnce {
                assert_eq!(p.packet_id.map(|i| i.get()), Some(packet_id(70_000)));
            }
        }
    }

    #[test]
    fn packet_ids_are_never_zero() {
        assert_eq!(packet_id(0), 1);
        assert_eq!(packet_id(65_534), 65_535);
        assert_eq!(packet_id(65_535), 1);
    }
}
