//! The durable message store (warren-core `store`): persistent publishes into a durable queue
//! through the core's channel API until the store confirms the last one (append + group
//! commit), per fsync policy and body size; and recovery (open + replay) of a log holding
//! 100 000 live messages.
//!
//! The figures depend on the disk: `always` is bounded by fsync latency times the number of
//! batches, which the group commit keeps small (one fsync confirms everything appended while
//! the previous one ran).

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)] // bench setup: a panic is the failure report
#![allow(missing_docs)] // criterion_group! generates an undocumented public function

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use parking_lot::{Condvar, Mutex};
use warren_core::store::{FsyncPolicy, Store, StoreConfig};
use warren_core::{
    Broker, BrokerConfig, Channel, Connection, ConnectionInfo, Delivery, DeliverySink, Mechanism,
    Properties, Protocol, QueueOptions, Ticket, User,
};

/// Counts confirms; lets the bench wait for a ticket.
#[derive(Default)]
struct Confirms {
    upto: Mutex<u64>,
    cv: Condvar,
}

impl DeliverySink for Confirms {
    fn deliver(&self, _d: Delivery) {}
    fn cancelled(&self, _tag: &str) {}
    fn confirmed(&self, ticket: Ticket) {
        let mut u = self.upto.lock();
        *u = (*u).max(ticket.0);
        self.cv.notify_all();
    }
}

impl Confirms {
    fn wait(&self, ticket: u64) {
        let mut u = self.upto.lock();
        while *u < ticket {
            self.cv.wait_for(&mut u, Duration::from_secs(10));
        }
    }
}

struct Setup {
    _dir: tempfile::TempDir,
    store: Store,
    _broker: Arc<Broker>,
    _conn: Arc<Connection>,
    ch: Arc<Channel>,
    sink: Arc<Confirms>,
}

fn setup(fsync: FsyncPolicy) -> Setup {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"));
    let mut config = StoreConfig::new(dir.path());
    config.fsync = fsync;
    let store = Store::open(config).unwrap_or_else(|e| panic!("open store: {e}"));
    let broker = Arc::new(Broker::with_storage(
        BrokerConfig::default(),
        store.factory(),
    ));
    broker.add_vhost("/");
    broker.put_user(User::new("guest", "guest", vec![]));
    broker
        .set_permissions("guest", "/", ".*", ".*", ".*")
        .unwrap_or_else(|e| panic!("{e}"));
    store.attach(&broker).unwrap_or_else(|e| panic!("{e}"));
    let user = broker
        .authenticate(Mechanism::Plain, "guest", "guest", true)
        .unwrap_or_else(|e| panic!("{e}"));
    let conn = broker
        .open_connection(ConnectionInfo {
            user,
            vhost: "/".into(),
            peer: "127.0.0.1:1".into(),
            protocol: Protocol::Amqp091,
            client_name: None,
        })
        .unwrap_or_else(|e| panic!("{e}"));
    let sink = Arc::new(Confirms::default());
    let ch = conn
        .open_channel(1, sink.clone())
        .unwrap_or_else(|e| panic!("{e}"));
    ch.queue_declare("bench", QueueOptions::default().durable(true), false)
        .unwrap_or_else(|e| panic!("{e}"));
    Setup {
        _dir: dir,
        store,
        _broker: broker,
        _conn: conn,
        ch,
        sink,
    }
}

fn persistent() -> Properties {
    Properties {
        delivery_mode: Some(2),
        ..Properties::default()
    }
}

/// Publishes `n` messages and waits for the confirm of the last one.
fn publish_confirmed(s: &Setup, n: usize, body: &Bytes) {
    let mut last = 0;
    for _ in 0..n {
        let out =
            s.ch.basic_publish("", "bench".into(), false, persistent(), body.clone())
                .unwrap_or_else(|e| panic!("{e}"));
        if let Some(t) = out.durable {
            last = t.0;
        }
    }
    s.sink.wait(last);
}

fn publish_with_confirms(c: &mut Criterion) {
    const BATCH: usize = 1000;
    let mut group = c.benchmark_group("storage/publish_confirm");
    group.throughput(Throughput::Elements(BATCH as u64));
    group.sample_size(10);
    for (name, policy) in [
        ("always", FsyncPolicy::Always),
        ("never", FsyncPolicy::Never),
    ] {
        for size in [256usize, 4096] {
            let s = setup(policy);
            let body = Bytes::from(vec![b'x'; size]);
            group.bench_with_input(BenchmarkId::new(name, format!("{size}B")), &size, |b, _| {
                b.iter_custom(|iters| {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let start = Instant::now();
                        publish_confirmed(&s, BATCH, &body);
                        total += start.elapsed();
                        // Keep the queue (and the log) from growing: not timed.
                        let _ = s.ch.queue_purge("bench");
                        let _ = s.store.sync();
                    }
                    total
                })
            });
        }
    }
    group.finish();
}

fn recovery(c: &mut Criterion) {
    const MESSAGES: usize = 100_000;
    let s = setup(FsyncPolicy::Never);
    publish_confirmed(&s, MESSAGES, &Bytes::from(vec![b'y'; 256]));
    let dir = s.store.dir().to_path_buf();
    s.store.close();
    drop(s.store);
    let mut group = c.benchmark_group("storage/recovery");
    group.throughput(Throughput::Elements(MESSAGES as u64));
    group.sample_size(10);
    group.bench_function("open_100k_256B", |b| {
        b.iter(|| {
            let store = Store::open(StoreConfig::new(&dir)).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(store.recovery().messages, MESSAGES as u64);
            store.close();
        })
    });
    group.finish();
}

criterion_group!(benches, publish_with_confirms, recovery);
criterion_main!(benches);
