#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // tests: a panic is the failure report
//! The durable store through the core's public API: persistent messages of durable queues
//! survive a restart of the broker on the same data directory, confirms wait for the writer,
//! acked messages never come back, torn and corrupt tails are cut, segments are reclaimed, and
//! the durable topology is saved.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use parking_lot::Mutex;
use warren_core::store::{FsyncPolicy, Store, StoreConfig};
use warren_core::*;

mod common;
use common::boot_store as boot;

#[derive(Default)]
struct Recorder {
    deliveries: Mutex<Vec<Delivery>>,
    confirmed: Mutex<u64>,
}

impl DeliverySink for Recorder {
    fn deliver(&self, d: Delivery) {
        self.deliveries.lock().push(d);
    }
    fn cancelled(&self, _tag: &str) {}
    fn confirmed(&self, ticket: Ticket) {
        let mut c = self.confirmed.lock();
        *c = (*c).max(ticket.0);
    }
}

fn open_channel(broker: &Broker) -> (Arc<Connection>, Arc<Channel>, Arc<Recorder>) {
    let user = broker
        .authenticate(Mechanism::Plain, "guest", "guest", true)
        .unwrap();
    let conn = broker
        .open_connection(ConnectionInfo {
            user,
            vhost: "/".into(),
            peer: "127.0.0.1:1".into(),
            protocol: Protocol::Amqp091,
            client_name: None,
        })
        .unwrap();
    let sink = Arc::new(Recorder::default());
    let ch = conn.open_channel(1, sink.clone()).unwrap();
    (conn, ch, sink)
}

fn persistent() -> Properties {
    Properties {
        delivery_mode: Some(2),
        ..Properties::default()
    }
}

fn publish(ch: &Channel, queue: &str, body: &str, props: Properties) -> PublishOutcome {
    ch.basic_publish("", queue.into(), false, props, Bytes::from(body.to_owned()))
        .unwrap()
}

/// Stops the broker as a crash after the last write would: the store stops first, so
/// tearing the queues down settles nothing.
fn stop(store: Store, broker: Arc<Broker>) {
    store.close();
    drop(broker);
    drop(store);
}

fn drain(ch: &Channel, queue: &str) -> Vec<(String, bool, u64)> {
    let mut out = Vec::new();
    while let Some(g) = ch.basic_get(queue, false).unwrap() {
        out.push((
            String::from_utf8(g.message.body.to_vec()).unwrap(),
            g.redelivered,
            g.delivery_tag,
        ));
    }
    out
}

fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn persistent_messages_survive_and_acked_ones_do_not_come_back() {
    let dir = tempfile::tempdir().unwrap();
    let (store, broker) = boot(StoreConfig::new(dir.path()));
    {
        let (_conn, ch, sink) = open_channel(&broker);
        ch.queue_declare("jobs", QueueOptions::default().durable(true), false)
            .unwrap();
        ch.queue_declare("scratch", QueueOptions::default(), false)
            .unwrap();
        let mut last = None;
        for i in 0..10 {
            let out = publish(&ch, "jobs", &format!("m{i}"), persistent());
            last = out.durable.or(last);
            publish(&ch, "scratch", "gone", persistent());
        }
        publish(&ch, "jobs", "transient", Properties::default());
        // The confirm of the last persistent publish arrives from the writer thread.
        let last = last.expect("persistent publishes to a durable queue wait for the disk");
        wait_for("the confirm", || *sink.confirmed.lock() >= last.0);
        // Ack m0..m2; get m3 and leave it unacked.
        for _ in 0..3 {
            let g = ch.basic_get("jobs", false).unwrap().unwrap();
            ch.basic_ack(g.delivery_tag, false).unwrap();
        }
        let g = ch.basic_get("jobs", false).unwrap().unwrap();
        assert_eq!(&g.message.body[..], b"m3");
        store.sync().unwrap();
    }
    stop(store, broker);

    let (store, broker) = boot(StoreConfig::new(dir.path()));
    assert_eq!(store.recovery().messages, 7);
    let (_conn, ch, _sink) = open_channel(&broker);
    let got = drain(&ch, "jobs");
    let bodies: Vec<&str> = got.iter().map(|(b, _, _)| b.as_str()).collect();
    assert_eq!(bodies, ["m3", "m4", "m5", "m6", "m7", "m8", "m9"]);
    // Only m3 was delivered before the restart.
    let redelivered: Vec<bool> = got.iter().map(|(_, r, _)| *r).collect();
    assert_eq!(
        redelivered,
        [true, false, false, false, false, false, false]
    );
    // The transient queue is gone, with its messages.
    assert!(broker.vhost("/").unwrap().queue("scratch").is_none());
    // Ack everything: nothing comes back after another restart.
    ch.basic_ack(0, true).unwrap();
    store.sync().unwrap();
    drop(ch);
    stop(store, broker);
    let (store, broker) = boot(StoreConfig::new(dir.path()));
    assert_eq!(store.recovery().messages, 0);
    let (_conn, ch, _sink) = open_channel(&broker);
    assert!(drain(&ch, "jobs").is_empty());
    drop(ch);
    stop(store, broker);
}

#[test]
fn unacked_deliveries_return_redelivered_and_requeue_keeps_them() {
    let dir = tempfile::tempdir().unwrap();
    let (store, broker) = boot(StoreConfig::new(dir.path()));
    {
        let (_conn, ch, sink) = open_channel(&broker);
        ch.queue_declare("q", QueueOptions::default().durable(true), false)
            .unwrap();
        for i in 0..4 {
            publish(&ch, "q", &format!("m{i}"), persistent());
        }
        ch.basic_consume("q", "c", false, false, |_| {}).unwrap();
        assert_eq!(sink.deliveries.lock().len(), 4);
        // Nack with requeue: back in the queue, still on disk.
        ch.basic_nack(2, true, true).unwrap();
        // Reject m2 for good (tag 5 or so: find it).
        let tags: Vec<u64> = sink
            .deliveries
            .lock()
            .iter()
            .map(|d| d.delivery_tag)
            .collect();
        assert!(tags.len() >= 6);
        let m2 = sink
            .deliveries
            .lock()
            .iter()
            .rev()
            .find(|d| &d.message.body[..] == b"m2")
            .map(|d| d.delivery_tag)
            .unwrap();
        ch.basic_reject(m2, false).unwrap();
        store.sync().unwrap();
    }
    stop(store, broker);
    let (store, broker) = boot(StoreConfig::new(dir.path()));
    let (_conn, ch, _sink) = open_channel(&broker);
    let got = drain(&ch, "q");
    let bodies: Vec<&str> = got.iter().map(|(b, _, _)| b.as_str()).collect();
    assert_eq!(bodies, ["m0", "m1", "m3"]);
    drop(ch);
    stop(store, broker);
}

#[test]
fn bodies_beyond_the_memory_budget_are_read_back_from_disk() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = StoreConfig::new(dir.path());
    config.memory_budget = 100;
    config.fsync = FsyncPolicy::Never;
    let (store, broker) = boot(config);
    let (_conn, ch, _sink) = open_channel(&broker);
    ch.queue_declare("big", QueueOptions::default().durable(true), false)
        .unwrap();
    let body = "x".repeat(60);
    for i in 0..20 {
        publish(&ch, "big", &format!("{i:02}{body}"), persistent());
    }
    assert!(store.stats().cached_bytes <= 100);
    let got = drain(&ch, "big");
    assert_eq!(got.len(), 20);
    for (i, (b, redelivered, _)) in got.iter().enumerate() {
        assert_eq!(b, &format!("{i:02}{body}"));
        assert!(!redelivered);
    }
    assert_eq!(store.stats().cached_bytes, 0);
    drop(ch);
    stop(store, broker);
}

#[test]
fn fully_acked_segments_are_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = StoreConfig::new(dir.path());
    config.segment_size = 4096;
    config.fsync = FsyncPolicy::Never;
    let (store, broker) = boot(config);
    let (_conn, ch, _sink) = open_channel(&broker);
    ch.queue_declare("q", QueueOptions::default().durable(true), false)
        .unwrap();
    let body = "y".repeat(500);
    for _ in 0..100 {
        publish(&ch, "q", &body, persistent());
    }
    store.sync().unwrap();
    let segs = |d: &Path| std::fs::read_dir(d.join("segments")).unwrap().count();
    assert!(segs(dir.path()) >= 10, "{} segments", segs(dir.path()));
    while let Some(g) = ch.basic_get("q", false).unwrap() {
        ch.basic_ack(g.delivery_tag, false).unwrap();
    }
    // Acks go into new segments; push a little more so the ack-holding segments seal too.
    ch.queue_declare("other", QueueOptions::default().durable(true), false)
        .unwrap();
    for _ in 0..20 {
        publish(&ch, "other", &body, persistent());
    }
    store.sync().unwrap();
    // The writer deletes after its batch: wait for the files to go.
    wait_for("reclaimed segments to be deleted", || segs(dir.path()) <= 5);
    assert_eq!(store.stats().live_messages, 20);
    drop(ch);
    stop(store, broker);
    let (store, broker) = boot(StoreConfig::new(dir.path()));
    assert_eq!(store.recovery().messages, 20);
    stop(store, broker);
}

fn last_segment(dir: &Path) -> std::path::PathBuf {
    let mut v: Vec<_> = std::fs::read_dir(dir.join("segments"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| std::fs::metadata(p).unwrap().len() > 8)
        .collect();
    v.sort();
    v.pop().unwrap()
}

fn write_ten(dir: &Path) {
    let (store, broker) = boot(StoreConfig::new(dir));
    let (_conn, ch, _sink) = open_channel(&broker);
    ch.queue_declare("q", QueueOptions::default().durable(true), false)
        .unwrap();
    for i in 0..10 {
        publish(&ch, "q", &format!("message number {i}"), persistent());
    }
    store.sync().unwrap();
    drop(ch);
    stop(store, broker);
}

fn bodies_after_restart(dir: &Path) -> (Vec<String>, store::RecoveryReport) {
    let (store, broker) = boot(StoreConfig::new(dir));
    let report = store.recovery().clone();
    let (_conn, ch, _sink) = open_channel(&broker);
    ch.queue_declare("q", QueueOptions::default().durable(true), false)
        .unwrap();
    let got = drain(&ch, "q").into_iter().map(|(b, _, _)| b).collect();
    ch.basic_recover(true).unwrap();
    drop(ch);
    stop(store, broker);
    (got, report)
}

#[test]
fn a_torn_tail_is_cut_and_every_intact_record_kept() {
    let dir = tempfile::tempdir().unwrap();
    write_ten(dir.path());
    let seg = last_segment(dir.path());
    let len = std::fs::metadata(&seg).unwrap().len();
    // Tear the last record: its last 3 bytes never made it.
    let f = std::fs::OpenOptions::new().write(true).open(&seg).unwrap();
    f.set_len(len - 3).unwrap();
    drop(f);
    let (got, report) = bodies_after_restart(dir.path());
    let want: Vec<String> = (0..9).map(|i| format!("message number {i}")).collect();
    assert_eq!(got, want);
    assert_eq!(report.truncated.len(), 1, "{report:?}");
    assert!(report.truncated[0].1.contains("torn"), "{report:?}");
    // The cut is permanent: a second restart finds a clean log.
    let (got, report) = bodies_after_restart(dir.path());
    assert_eq!(got, want);
    assert!(report.truncated.is_empty(), "{report:?}");
}

#[test]
fn a_flipped_byte_cuts_from_the_damaged_record_on() {
    let dir = tempfile::tempdir().unwrap();
    write_ten(dir.path());
    let seg = last_segment(dir.path());
    let mut data = std::fs::read(&seg).unwrap();
    // Find record 6's body and flip a byte in it.
    let needle = b"message number 6";
    let at = data
        .windows(needle.len())
        .position(|w| w == needle)
        .unwrap();
    data[at + 3] ^= 0x5a;
    // And tear the end as well, for good measure.
    data.truncate(data.len() - 1);
    std::fs::write(&seg, &data).unwrap();
    let (got, report) = bodies_after_restart(dir.path());
    let want: Vec<String> = (0..6).map(|i| format!("message number {i}")).collect();
    assert_eq!(got, want);
    assert!(report.truncated[0].1.contains("checksum"), "{report:?}");
}

#[test]
fn garbage_segments_never_panic() {
    let dir = tempfile::tempdir().unwrap();
    write_ten(dir.path());
    let seg = last_segment(dir.path());
    let mut data = std::fs::read(&seg).unwrap();
    // Every prefix of the file, and a few corruptions of the header and lengths.
    for cut in [0usize, 3, 8, 9, 12, 16, 40] {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("segments")).unwrap();
        std::fs::write(
            d.path().join("segments").join(seg.file_name().unwrap()),
            &data[..cut.min(data.len())],
        )
        .unwrap();
        let (got, _) = bodies_after_restart(d.path());
        assert!(got.is_empty());
    }
    data[8] = 0xff;
    data[9] = 0xff;
    data[10] = 0xff;
    data[11] = 0x7f;
    std::fs::write(&seg, &data).unwrap();
    let (got, report) = bodies_after_restart(dir.path());
    assert!(got.is_empty());
    assert!(report.truncated[0].1.contains("implausible"), "{report:?}");
}

#[test]
fn durable_topology_survives_and_transient_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let (store, broker) = boot(StoreConfig::new(dir.path()));
    broker.add_vhost("cars");
    broker.put_user(User::new("rabbit", "MQ321", vec!["management".into()]));
    broker
        .set_permissions("rabbit", "cars", "^car", ".*", ".*")
        .unwrap();
    let (conn, ch, _sink) = open_channel(&broker);
    ch.exchange_declare(
        "d.topic",
        ExchangeOptions::new(ExchangeKind::Topic).durable(true),
    )
    .unwrap();
    ch.exchange_declare("t.fanout", ExchangeOptions::new(ExchangeKind::Fanout))
        .unwrap();
    ch.queue_declare(
        "d.q",
        QueueOptions::default()
            .durable(true)
            .argument("x-max-length", Value::I64(5)),
        false,
    )
    .unwrap();
    ch.queue_declare("t.q", QueueOptions::default(), false)
        .unwrap();
    ch.queue_declare(
        "x.q",
        QueueOptions::default().durable(true).exclusive(true),
        false,
    )
    .unwrap();
    ch.queue_declare(
        "a.q",
        QueueOptions::default().durable(true).auto_delete(true),
        false,
    )
    .unwrap();
    let none = FieldTable::new();
    ch.queue_bind("d.q", "d.topic", "car.*", &none).unwrap();
    ch.queue_bind("d.q", "amq.topic", "x.#", &none).unwrap();
    ch.queue_bind("t.q", "d.topic", "car.*", &none).unwrap();
    ch.queue_bind("d.q", "t.fanout", "", &none).unwrap();
    ch.exchange_declare(
        "d.fanout",
        ExchangeOptions::new(ExchangeKind::Fanout).durable(true),
    )
    .unwrap();
    ch.exchange_bind("d.fanout", "d.topic", "car.#", &none)
        .unwrap();
    // A removed binding stays removed.
    ch.queue_bind("d.q", "d.topic", "gone", &none).unwrap();
    ch.queue_unbind("d.q", "d.topic", "gone", &none).unwrap();
    drop(ch);
    conn.close();
    stop(store, broker);

    let (store, broker) = boot(StoreConfig::new(dir.path()));
    let vh = broker.vhost("/").unwrap();
    assert!(broker.vhost("cars").is_some());
    assert!(broker
        .authenticate(Mechanism::Plain, "rabbit", "MQ321", false)
        .is_ok());
    let p = broker.permissions("rabbit", "cars").unwrap();
    assert_eq!(p.source(Permission::Configure), "^car");
    assert!(vh.exchange("d.topic").is_some());
    assert!(vh.exchange("d.fanout").is_some());
    assert!(vh.exchange("t.fanout").is_none());
    let q = vh.queue("d.q").unwrap();
    assert!(q.options().durable);
    assert_eq!(
        q.options()
            .arguments
            .get("x-max-length")
            .and_then(Value::as_i128),
        Some(5)
    );
    for gone in ["t.q", "x.q", "a.q"] {
        assert!(vh.queue(gone).is_none(), "{gone} survived");
    }
    let mut bindings: Vec<(String, String, String)> = broker
        .list_bindings()
        .into_iter()
        .map(|(_, b)| (b.source, b.destination.name().to_owned(), b.routing_key))
        .collect();
    bindings.sort();
    assert_eq!(
        bindings,
        [
            ("amq.topic".into(), "d.q".into(), "x.#".into()),
            ("d.topic".into(), "d.fanout".into(), "car.#".into()),
            ("d.topic".into(), "d.q".into(), "car.*".into()),
        ]
    );
    // Deleting survives too.
    broker.delete_vhost("cars");
    broker.delete_user("rabbit");
    vh.delete_queue("d.q", false, false, None).unwrap();
    stop(store, broker);
    let (store, broker) = boot(StoreConfig::new(dir.path()));
    assert!(broker.vhost("cars").is_none());
    assert!(broker.user("rabbit").is_none());
    assert!(broker.vhost("/").unwrap().queue("d.q").is_none());
    stop(store, broker);
}

#[test]
fn a_data_directory_is_used_by_one_store_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let first = Store::open(StoreConfig::new(dir.path())).unwrap();
    let err = Store::open(StoreConfig::new(dir.path())).unwrap_err();
    assert!(err.to_string().contains("in use"), "{err}");
    drop(first);
    Store::open(StoreConfig::new(dir.path())).unwrap();
}

#[test]
fn every_fsync_policy_confirms() {
    for policy in [
        FsyncPolicy::Always,
        FsyncPolicy::Interval(Duration::from_millis(5)),
        FsyncPolicy::Never,
    ] {
        let dir = tempfile::tempdir().unwrap();
        let mut config = StoreConfig::new(dir.path());
        config.fsync = policy;
        let (store, broker) = boot(config);
        let (_conn, ch, sink) = open_channel(&broker);
        ch.queue_declare("q", QueueOptions::default().durable(true), false)
            .unwrap();
        let mut last = 0;
        for _ in 0..50 {
            if let Some(t) = publish(&ch, "q", "p", persistent()).durable {
                last = t.0;
            }
        }
        wait_for("confirms", || *sink.confirmed.lock() >= last);
        drop(ch);
        stop(store, broker);
        let (store, broker) = boot(StoreConfig::new(dir.path()));
        assert_eq!(store.recovery().messages, 50, "{policy:?}");
        stop(store, broker);
    }
}

#[test]
fn key_value_records_survive_replace_and_delete() {
    let dir = tempfile::tempdir().unwrap();
    let (store, broker) = boot(StoreConfig::new(dir.path()));
    store.kv_put("mqtt.retained", "/|car/info", b"parked");
    store.kv_put("mqtt.retained", "/|home/door", b"open");
    let t = store.kv_put("mqtt.retained", "/|car/info", b"driving");
    store.kv_put("mqtt.sessions", "/|phone-1", b"{}");
    store.kv_put("mqtt.sessions", "/|gone", b"{}");
    assert!(store.kv_delete("mqtt.sessions", "/|gone"));
    assert!(!store.kv_delete("mqtt.sessions", "/|never"));
    store.sync().unwrap();
    assert!(store.is_durable(t));
    stop(store, broker);
    let (store, broker) = boot(StoreConfig::new(dir.path()));
    assert_eq!(
        store.kv_list("mqtt.retained"),
        [
            ("/|car/info".to_owned(), Bytes::from_static(b"driving")),
            ("/|home/door".to_owned(), Bytes::from_static(b"open")),
        ]
    );
    assert_eq!(
        store.kv_list("mqtt.sessions"),
        [("/|phone-1".to_owned(), Bytes::from_static(b"{}"))]
    );
    // The replaced and deleted records are settled: 3 live records in all.
    assert_eq!(store.stats().live_messages, 3);
    stop(store, broker);
}

#[test]
fn transient_messages_spill_past_the_budget_and_never_come_back() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = StoreConfig::new(dir.path());
    config.memory_budget = 1000;
    config.fsync = FsyncPolicy::Never;
    let (store, broker) = boot(config);
    {
        let (_conn, ch, _sink) = open_channel(&broker);
        ch.queue_declare("t", QueueOptions::default(), false)
            .unwrap();
        ch.queue_declare("d", QueueOptions::default().durable(true), false)
            .unwrap();
        let body = "z".repeat(100);
        for i in 0..50 {
            // Transient queue, and transient messages in a durable queue: both spill.
            assert!(publish(&ch, "t", &format!("{i:02}{body}"), persistent())
                .durable
                .is_none());
            publish(&ch, "d", &format!("{i:02}{body}"), Properties::default());
        }
        assert!(store.stats().cached_bytes <= 1000, "{:?}", store.stats());
        for q in ["t", "d"] {
            let got = drain(&ch, q);
            assert_eq!(got.len(), 50);
            for (i, (b, _, _)) in got.iter().enumerate() {
                assert_eq!(b, &format!("{i:02}{body}"));
            }
        }
        ch.basic_recover(true).unwrap();
        store.sync().unwrap();
    }
    stop(store, broker);
    let (store, broker) = boot(StoreConfig::new(dir.path()));
    assert_eq!(store.recovery().messages, 0);
    let (_conn, ch, _sink) = open_channel(&broker);
    assert!(drain(&ch, "d").is_empty());
    drop(ch);
    stop(store, broker);
}

/// A sink that also records [`DeliverySink::store_failed`] calls.
#[derive(Default)]
struct FailRecorder {
    confirmed: Mutex<u64>,
    failed: Mutex<u32>,
}

impl DeliverySink for FailRecorder {
    fn deliver(&self, _d: Delivery) {}
    fn cancelled(&self, _tag: &str) {}
    fn confirmed(&self, ticket: Ticket) {
        let mut c = self.confirmed.lock();
        *c = (*c).max(ticket.0);
    }
    fn store_failed(&self) {
        *self.failed.lock() += 1;
    }
}

/// Makes the next segment creation fail (ENOTDIR, even as root): the `segments` directory
/// becomes a regular file. The open segment keeps working until the store rolls.
fn break_segments_dir(dir: &Path) {
    let segments = dir.join("segments");
    std::fs::remove_dir_all(&segments).unwrap();
    std::fs::write(&segments, b"not a directory").unwrap();
}

#[test]
fn a_failed_disk_refuses_waiting_and_later_confirms() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = StoreConfig::new(dir.path());
    config.segment_size = 4096;
    let (store, broker) = boot(config);
    let (conn, ch, _) = open_channel(&broker);
    ch.queue_declare("q", QueueOptions::default().durable(true), false)
        .unwrap();
    ch.queue_declare("t", QueueOptions::default(), false)
        .unwrap();
    let sink = Arc::new(FailRecorder::default());
    let pub_ch = conn.open_channel(2, sink.clone()).unwrap();
    let big = "x".repeat(1000);

    // A working disk confirms.
    let first = publish(&pub_ch, "q", &big, persistent()).durable.unwrap();
    wait_for("the first confirm", || *sink.confirmed.lock() >= first.0);
    assert_eq!(*sink.failed.lock(), 0);

    // Then the next segment cannot be created: the writer fails and says so, once.
    break_segments_dir(dir.path());
    let mut last = first;
    for _ in 0..8 {
        if let Some(t) = publish(&pub_ch, "q", &big, persistent()).durable {
            last = t;
        }
    }
    wait_for("store_failed", || *sink.failed.lock() == 1);
    assert!(
        *sink.confirmed.lock() < last.0,
        "a publish the writer never wrote was confirmed"
    );
    assert!(matches!(store.sync(), Err(store::StoreError::NotWriting)));

    // A later persistent publish to the durable queue is refused at once, from the publishing
    // thread; transient ones and those to transient queues need no disk and are unaffected.
    let outcome = publish(&pub_ch, "q", &big, persistent());
    assert!(outcome.durable.is_some());
    assert_eq!(*sink.failed.lock(), 2);
    assert_eq!(
        publish(&pub_ch, "q", "transient", Properties::default()).durable,
        None
    );
    assert_eq!(
        publish(&pub_ch, "t", "to a transient queue", persistent()).durable,
        None
    );
    assert_eq!(*sink.failed.lock(), 2);

    // The broker keeps serving from memory.
    let bodies: Vec<String> = drain(&ch, "t").into_iter().map(|(b, _, _)| b).collect();
    assert_eq!(bodies, ["to a transient queue"]);
    let in_q = drain(&ch, "q");
    assert_eq!(in_q.last().map(|(b, _, _)| b.as_str()), Some("transient"));
    drop((ch, pub_ch, conn));
    stop(store, broker);
}
