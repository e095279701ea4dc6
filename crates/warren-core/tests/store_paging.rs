#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // tests: a panic is the failure report
//! Deep queues on the store keep only about two pages of index entries in RAM: the rest is in
//! page files, read back in order, across restarts, purges and deletions.

mod common;

use std::sync::Arc;

use bytes::Bytes;
use common::{channel, connect};
use warren_core::store::{FsyncPolicy, Store, StoreConfig};
use warren_core::*;

const PAGE: usize = 100;

fn boot(dir: &std::path::Path) -> (Store, Arc<Broker>) {
    let mut config = StoreConfig::new(dir);
    config.queue_page_entries = PAGE;
    config.fsync = FsyncPolicy::Never;
    // Small enough that most bodies are read back from the log too.
    config.memory_budget = 10_000;
    common::boot_store(config)
}

fn stop(store: Store, broker: Arc<Broker>) {
    store.close();
    drop(broker);
    drop(store);
}

fn publish(ch: &Channel, queue: &str, body: String, persistent: bool) {
    let props = Properties {
        delivery_mode: persistent.then_some(2),
        ..Properties::default()
    };
    ch.basic_publish("", queue.into(), false, props, Bytes::from(body))
        .unwrap();
}

/// Gets `n` messages (acking them), returning (body, redelivered).
fn get(ch: &Channel, queue: &str, n: usize) -> Vec<(String, bool)> {
    (0..n)
        .map(|_| {
            let g = ch.basic_get(queue, false).unwrap().expect("a message");
            ch.basic_ack(g.delivery_tag, false).unwrap();
            (
                String::from_utf8(g.message.body.to_vec()).unwrap(),
                g.redelivered,
            )
        })
        .collect()
}

/// Ready messages of `queues` whose index entries are in RAM (every paged one is theirs).
fn in_ram(store: &Store, broker: &Broker, queues: &[&str]) -> usize {
    let ready: usize = queues.iter().map(|q| common::ready(broker, q)).sum();
    ready - store.stats().paged_messages
}

#[test]
fn a_deep_queue_keeps_two_pages_in_ram_and_delivers_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let (store, broker) = boot(dir.path());
    let conn = connect(&broker);
    let (ch, _sink) = channel(&conn, 1);
    ch.queue_declare("deep", QueueOptions::default().durable(true), false)
        .unwrap();
    ch.queue_declare("scratch", QueueOptions::default(), false)
        .unwrap();
    // Persistent and transient messages interleaved, in a durable and a transient queue.
    for i in 0..5_000 {
        publish(&ch, "deep", format!("d{i:05}"), i % 3 != 0);
        publish(&ch, "scratch", format!("s{i:05}"), false);
    }
    assert_eq!(common::ready(&broker, "deep"), 5_000);
    assert_eq!(common::ready(&broker, "scratch"), 5_000);
    let ram = in_ram(&store, &broker, &["deep", "scratch"]);
    assert!(ram <= 2 * 2 * PAGE, "{ram} entries in RAM");
    let got = get(&ch, "deep", 2_500);
    assert!(got
        .iter()
        .enumerate()
        .all(|(i, (b, r))| b == &format!("d{i:05}") && !r));
    // A requeue in the middle goes back to the head, redelivered.
    let g = ch.basic_get("deep", false).unwrap().unwrap();
    ch.basic_nack(g.delivery_tag, false, true).unwrap();
    let again = get(&ch, "deep", 1);
    assert_eq!(again, vec![("d02500".to_owned(), true)]);
    let rest = get(&ch, "deep", 2_499);
    assert!(rest
        .iter()
        .enumerate()
        .all(|(i, (b, _))| b == &format!("d{:05}", i + 2_501)));
    assert!(ch.basic_get("deep", false).unwrap().is_none());
    let scratch = get(&ch, "scratch", 5_000);
    assert!(scratch
        .iter()
        .enumerate()
        .all(|(i, (b, _))| b == &format!("s{i:05}")));
    assert_eq!(store.stats().paged_messages, 0);
    assert_eq!(
        std::fs::read_dir(dir.path().join("pages")).unwrap().count(),
        0,
        "page files are deleted once read"
    );
    drop(ch);
    drop(conn);
    stop(store, broker);
}

#[test]
fn a_deep_queue_recovers_paged_and_purge_and_delete_settle_every_page() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (store, broker) = boot(dir.path());
        let conn = connect(&broker);
        let (ch, _sink) = channel(&conn, 1);
        for q in ["keep", "purged", "deleted"] {
            ch.queue_declare(q, QueueOptions::default().durable(true), false)
                .unwrap();
            for i in 0..1_000 {
                publish(&ch, q, format!("{q}{i:04}"), true);
            }
        }
        // Deliver 10 of "keep" without acking: they come back redelivered.
        for _ in 0..10 {
            ch.basic_get("keep", false).unwrap().unwrap();
        }
        store.sync().unwrap();
        drop(ch);
        drop(conn);
        stop(store, broker);
    }
    {
        let (store, broker) = boot(dir.path());
        assert_eq!(store.recovery().messages, 3_000);
        let all = ["keep", "purged", "deleted"];
        for q in all {
            assert_eq!(common::ready(&broker, q), 1_000);
        }
        let ram = in_ram(&store, &broker, &all);
        assert!(ram <= 3 * 2 * PAGE, "{ram} entries in RAM");
        let conn = connect(&broker);
        let (ch, _sink) = channel(&conn, 1);
        assert_eq!(ch.queue_purge("purged").unwrap(), 1_000);
        ch.queue_delete("deleted", false, false).unwrap();
        let got = get(&ch, "keep", 20);
        assert!(got
            .iter()
            .enumerate()
            .all(|(i, (b, r))| b == &format!("keep{i:04}") && *r == (i < 10)));
        store.sync().unwrap();
        drop(ch);
        drop(conn);
        stop(store, broker);
    }
    let (store, broker) = boot(dir.path());
    // The purged and deleted messages (every page of them) and the 20 acked are settled.
    assert_eq!(store.recovery().messages, 980);
    assert_eq!(common::ready(&broker, "purged"), 0);
    let conn = connect(&broker);
    let (ch, _sink) = channel(&conn, 1);
    let got = get(&ch, "keep", 980);
    assert!(got
        .iter()
        .enumerate()
        .all(|(i, (b, r))| b == &format!("keep{:04}", i + 20) && !r));
    drop(ch);
    drop(conn);
    stop(store, broker);
}

/// One operation on a queue's storage.
#[derive(Debug, Clone)]
enum Op {
    Push {
        persistent: bool,
    },
    Pop,
    /// Pop, then put it back at the head (a requeue).
    Requeue,
    DropFront,
    Purge,
}

fn op() -> impl proptest::strategy::Strategy<Value = Op> {
    use proptest::prelude::*;
    prop_oneof![
        6 => any::<bool>().prop_map(|persistent| Op::Push { persistent }),
        3 => Just(Op::Pop),
        1 => Just(Op::Requeue),
        1 => Just(Op::DropFront),
        1 => Just(Op::Purge),
    ]
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]

    /// The storage of a durable and of a transient queue, with 3-entry pages and a tiny body
    /// budget, behaves like a plain double-ended queue under any sequence of operations.
    #[test]
    fn paged_storage_behaves_like_a_deque(ops in proptest::collection::vec(op(), 1..400), durable in proptest::prelude::any::<bool>()) {
        use std::collections::VecDeque;
        let dir = tempfile::tempdir().unwrap();
        let mut config = StoreConfig::new(dir.path());
        config.queue_page_entries = 3;
        config.fsync = FsyncPolicy::Never;
        config.memory_budget = 40;
        let store = Store::open(config).unwrap();
        let mut q = store.factory().create("/", "model", durable);
        let mut model: VecDeque<(String, bool)> = VecDeque::new();
        for (n, op) in ops.into_iter().enumerate() {
            match op {
                Op::Push { persistent } => {
                    let body = format!("m{n:04}");
                    let props = Properties {
                        delivery_mode: persistent.then_some(2),
                        ..Properties::default()
                    };
                    let m = Message::new("", "model", props, Bytes::from(body.clone()));
                    q.push_back(QueuedMessage::new(Arc::new(m), false));
                    model.push_back((body, false));
                }
                Op::Pop => {
                    let got = q.pop_front().map(|m| (String::from_utf8(m.message.body.to_vec()).unwrap(), m.redelivered));
                    proptest::prop_assert_eq!(got, model.pop_front());
                }
                Op::Requeue => {
                    if let Some(mut m) = q.pop_front() {
                        m.redelivered = true;
                        q.push_front(m);
                        let mut front = model.pop_front().unwrap();
                        front.1 = true;
                        model.push_front(front);
                    } else {
                        proptest::prop_assert!(model.is_empty());
                    }
                }
                Op::DropFront => {
                    proptest::prop_assert_eq!(q.drop_front(), model.pop_front().is_some());
                }
                Op::Purge => {
                    proptest::prop_assert_eq!(q.purge(), model.len());
                    model.clear();
                }
            }
            proptest::prop_assert_eq!(q.len(), model.len());
            let bytes: usize = model.iter().map(|(b, _)| b.len()).sum();
            proptest::prop_assert_eq!(q.bytes(), bytes);
        }
        while let Some((body, redelivered)) = model.pop_front() {
            let m = q.pop_front().unwrap();
            proptest::prop_assert_eq!(String::from_utf8(m.message.body.to_vec()).unwrap(), body);
            proptest::prop_assert_eq!(m.redelivered, redelivered);
        }
        proptest::prop_assert!(q.pop_front().is_none());
        drop(q);
        proptest::prop_assert_eq!(store.stats().paged_messages, 0);
        proptest::prop_assert_eq!(store.stats().cached_bytes, 0);
        store.sync().unwrap();
        proptest::prop_assert_eq!(store.stats().live_messages, 0);
    }
}
