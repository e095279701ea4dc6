#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // tests: a panic is the failure report
//! Durability of the real `warren` binary on a data directory: publishers with confirms while
//! the broker is killed with SIGKILL at random moments (every confirmed message is there after
//! the restart, exactly once; nothing acknowledged comes back), and restarts keeping the
//! durable topology (vhosts, users, permissions, exchanges, queues, bindings) while dropping
//! the transient, exclusive and auto-delete kinds.
//!
//! These tests start their own broker processes (a data directory each), so they do nothing
//! under `WARREN_TEST_BROKER`.

use std::collections::{BTreeSet, HashSet};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod node;

use node::{skip_under_external, Node, Rng, STARTUP, WAIT};

use lapin::options::{
    BasicAckOptions, BasicGetOptions, BasicPublishOptions, ConfirmSelectOptions,
    ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions,
};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties, ExchangeKind};

async fn connect(url: &str) -> lapin::Result<Connection> {
    let props = ConnectionProperties::default()
        .with_executor(tokio_executor_trait::Tokio::current())
        .with_reactor(tokio_reactor_trait::Tokio::current());
    match tokio::time::timeout(WAIT, Connection::connect(url, props)).await {
        Ok(r) => r,
        Err(_) => panic!("connect to {url} timed out"),
    }
}

fn persistent() -> BasicProperties {
    BasicProperties::default().with_delivery_mode(2)
}

fn id_of(body: &[u8]) -> u64 {
    std::str::from_utf8(body).unwrap().parse().unwrap()
}

/// Gets every ready message (not acked), in order: (body, delivery tag).
async fn drain(ch: &Channel, queue: &str) -> Vec<(Vec<u8>, u64)> {
    let mut out = Vec::new();
    while let Some(m) = tokio::time::timeout(WAIT, ch.basic_get(queue, BasicGetOptions::default()))
        .await
        .expect("basic.get timed out")
        .expect("basic.get")
    {
        out.push((m.delivery.data.clone(), m.delivery.delivery_tag));
    }
    out
}

/// What the test knows about every id it published.
#[derive(Default)]
struct Ledger {
    /// Confirmed by the broker (or seen after a restart) and not acked: must be present.
    must_exist: BTreeSet<u64>,
    /// Published without a confirm before a kill: may be present or lost.
    maybe: BTreeSet<u64>,
    /// Acked, but the ack may not have reached the disk before the kill.
    acked_maybe: BTreeSet<u64>,
    /// Gone for good (acked and known settled, or lost unconfirmed): must never appear.
    gone: BTreeSet<u64>,
}

impl Ledger {
    /// Checks one drain after a restart and updates what is known.
    fn check(&mut self, cycle: u32, drained: &[(u64, u64)]) {
        let ids: Vec<u64> = drained.iter().map(|(id, _)| *id).collect();
        let set: HashSet<u64> = ids.iter().copied().collect();
        assert_eq!(
            set.len(),
            ids.len(),
            "cycle {cycle}: a message is present twice"
        );
        for id in &ids {
            assert!(
                !self.gone.contains(id),
                "cycle {cycle}: message {id} came back after it was acked (or lost)"
            );
            assert!(
                self.must_exist.contains(id)
                    || self.maybe.contains(id)
                    || self.acked_maybe.contains(id),
                "cycle {cycle}: message {id} was never published"
            );
        }
        let missing: Vec<u64> = self
            .must_exist
            .iter()
            .filter(|id| !set.contains(id))
            .copied()
            .collect();
        assert!(
            missing.is_empty(),
            "cycle {cycle}: {} confirmed messages lost, e.g. {:?}",
            missing.len(),
            &missing[..missing.len().min(10)]
        );
        for id in std::mem::take(&mut self.maybe)
            .into_iter()
            .chain(std::mem::take(&mut self.acked_maybe))
        {
            if set.contains(&id) {
                self.must_exist.insert(id);
            } else {
                self.gone.insert(id);
            }
        }
    }
}

/// Publishes ids from `next` with confirms, up to `window` outstanding, until the connection
/// dies; returns (confirmed ids, ids published but not confirmed).
async fn publish_until_dead(
    ch: &Channel,
    queue: &str,
    next: &mut u64,
    window: usize,
) -> (Vec<u64>, Vec<u64>) {
    let mut confirmed = Vec::new();
    let mut inflight = std::collections::VecDeque::new();
    loop {
        while inflight.len() < window {
            let id = *next;
            *next += 1;
            let body = id.to_string();
            match ch
                .basic_publish(
                    "",
                    queue,
                    BasicPublishOptions::default(),
                    body.as_bytes(),
                    persistent(),
                )
                .await
            {
                Ok(confirm) => inflight.push_back((id, confirm)),
                Err(_) => {
                    let maybe = std::iter::once(id)
                        .chain(inflight.into_iter().map(|(id, _)| id))
                        .collect();
                    return (confirmed, maybe);
                }
            }
        }
        let (id, confirm) = inflight.pop_front().unwrap();
        match tokio::time::timeout(WAIT, confirm).await {
            Ok(Ok(c)) if c.is_ack() => confirmed.push(id),
            Ok(Ok(c)) => panic!("message {id} was nacked: {c:?}"),
            Ok(Err(_)) => {
                let maybe = std::iter::once(id)
                    .chain(inflight.into_iter().map(|(id, _)| id))
                    .collect();
                return (confirmed, maybe);
            }
            Err(_) => panic!("no confirm for message {id} within {WAIT:?}"),
        }
    }
}

fn crash_cycles(fsync: &'static str, cycles: u32) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut node = Node::new(fsync);
    // Small index pages, so that the queue is mostly paged out when the broker dies and
    // recovery rebuilds it through page files.
    node.storage
        .push(("queue_page_entries", toml::Value::Integer(64)));
    node.start();
    let queue = "crash.q";
    let mut ledger = Ledger::default();
    let mut next = 1u64;
    let mut rng = Rng::new();
    let mut total_confirmed = 0usize;
    for cycle in 1..=cycles {
        let kill_after = Duration::from_millis(rng.range(30, 350));
        let ack_share = rng.range(0, 100) as f64 / 100.0;
        let url = node.url("guest", "guest", "/");
        let pid = node.child.as_ref().unwrap().id();
        let killer = rt.block_on(async {
            let conn = connect(&url).await.expect("connect after restart");
            let ch = conn.create_channel().await.unwrap();
            ch.queue_declare(
                queue,
                QueueDeclareOptions {
                    durable: true,
                    ..QueueDeclareOptions::default()
                },
                FieldTable::default(),
            )
            .await
            .unwrap();
            // What survived the last kill.
            let drained: Vec<(u64, u64)> = drain(&ch, queue)
                .await
                .into_iter()
                .map(|(body, tag)| (id_of(&body), tag))
                .collect();
            ledger.check(cycle, &drained);
            // Ack a random share; the rest stays unacked and must come back.
            for (id, tag) in &drained {
                if rng.chance(ack_share) {
                    ch.basic_ack(*tag, BasicAckOptions::default())
                        .await
                        .unwrap();
                    ledger.must_exist.remove(id);
                    ledger.acked_maybe.insert(*id);
                }
            }
            ch.confirm_select(ConfirmSelectOptions::default())
                .await
                .unwrap();
            // The killer: SIGKILL at a random moment of the publish phase.
            let killer = std::thread::spawn(move || {
                std::thread::sleep(kill_after);
                let _ = Command::new("kill")
                    .arg("-KILL")
                    .arg(pid.to_string())
                    .status();
            });
            let (confirmed, maybe) = publish_until_dead(&ch, queue, &mut next, 64).await;
            // A publish confirmed after the acks means the acks are on disk too (one log).
            if !confirmed.is_empty() {
                ledger.gone.extend(std::mem::take(&mut ledger.acked_maybe));
            }
            total_confirmed += confirmed.len();
            ledger.must_exist.extend(confirmed);
            ledger.maybe.extend(maybe);
            killer
        });
        killer.join().unwrap();
        node.restart();
    }
    // The final state after the last kill.
    rt.block_on(async {
        let conn = connect(&node.url("guest", "guest", "/")).await.unwrap();
        let ch = conn.create_channel().await.unwrap();
        let drained: Vec<(u64, u64)> = drain(&ch, queue)
            .await
            .into_iter()
            .map(|(body, tag)| (id_of(&body), tag))
            .collect();
        ledger.check(cycles + 1, &drained);
    });
    node.stop();
    assert!(
        total_confirmed > 0,
        "no publish was ever confirmed: the test did not exercise anything"
    );
    println!(
        "{cycles} SIGKILL cycles with fsync={fsync}: {total_confirmed} confirmed, {} present at the end, {} gone",
        ledger.must_exist.len(),
        ledger.gone.len()
    );
}

#[test]
fn sigkill_never_loses_a_confirmed_message_fsync_always() {
    if skip_under_external("sigkill_never_loses_a_confirmed_message_fsync_always") {
        return;
    }
    crash_cycles("always", 12);
}

#[test]
fn sigkill_never_loses_a_confirmed_message_fsync_never() {
    if skip_under_external("sigkill_never_loses_a_confirmed_message_fsync_never") {
        return;
    }
    // Confirms after the write (page cache): a process crash still loses nothing.
    crash_cycles("never", 6);
}

#[test]
fn durable_entities_survive_a_restart_and_transient_ones_do_not() {
    if skip_under_external("durable_entities_survive_a_restart_and_transient_ones_do_not") {
        return;
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut node = Node::new("always");
    node.start();
    rt.block_on(async {
        let conn = connect(&node.url("guest", "guest", "/")).await.unwrap();
        let ch = conn.create_channel().await.unwrap();
        let durable = ExchangeDeclareOptions {
            durable: true,
            ..ExchangeDeclareOptions::default()
        };
        ch.exchange_declare(
            "d.topic",
            ExchangeKind::Topic,
            durable,
            FieldTable::default(),
        )
        .await
        .unwrap();
        ch.exchange_declare(
            "t.topic",
            ExchangeKind::Topic,
            ExchangeDeclareOptions::default(),
            FieldTable::default(),
        )
        .await
        .unwrap();
        let q = |durable, exclusive, auto_delete| QueueDeclareOptions {
            durable,
            exclusive,
            auto_delete,
            ..QueueDeclareOptions::default()
        };
        ch.queue_declare("d.q", q(true, false, false), FieldTable::default())
            .await
            .unwrap();
        ch.queue_declare("t.q", q(false, false, false), FieldTable::default())
            .await
            .unwrap();
        ch.queue_declare("x.q", q(true, true, false), FieldTable::default())
            .await
            .unwrap();
        ch.queue_declare("a.q", q(true, false, true), FieldTable::default())
            .await
            .unwrap();
        for (queue, exchange) in [
            ("d.q", "d.topic"),
            ("t.q", "d.topic"),
            ("d.q", "t.topic"),
            ("d.q", "amq.topic"),
        ] {
            ch.queue_bind(
                queue,
                exchange,
                "car.#",
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await
            .unwrap();
        }
        // A persistent and a transient message in the durable queue.
        ch.confirm_select(ConfirmSelectOptions::default())
            .await
            .unwrap();
        for (body, props) in [("kept", persistent()), ("lost", BasicProperties::default())] {
            ch.basic_publish(
                "d.topic",
                "car.lock",
                BasicPublishOptions::default(),
                body.as_bytes(),
                props,
            )
            .await
            .unwrap()
            .await
            .unwrap();
        }
    });
    // A clean restart (SIGTERM) and a crash restart must both keep exactly the durable kinds.
    for how in ["sigterm", "sigkill"] {
        if how == "sigterm" {
            node.stop();
            node.start();
        } else {
            node.restart();
        }
        rt.block_on(async {
            let conn = connect(&node.url("guest", "guest", "/")).await.unwrap();
            let ch = conn.create_channel().await.unwrap();
            let passive = |name: &'static str| {
                let ch = ch.clone();
                async move {
                    ch.queue_declare(
                        name,
                        QueueDeclareOptions {
                            passive: true,
                            ..QueueDeclareOptions::default()
                        },
                        FieldTable::default(),
                    )
                    .await
                    .map(|q| q.message_count())
                }
            };
            assert_eq!(
                passive("d.q").await.unwrap(),
                1,
                "{how}: the persistent message"
            );
            for gone in ["t.q", "x.q", "a.q"] {
                let ch2 = conn.create_channel().await.unwrap();
                let r = ch2
                    .queue_declare(
                        gone,
                        QueueDeclareOptions {
                            passive: true,
                            ..QueueDeclareOptions::default()
                        },
                        FieldTable::default(),
                    )
                    .await;
                assert!(r.is_err(), "{how}: {gone} survived the restart");
            }
            let ch3 = conn.create_channel().await.unwrap();
            ch3.exchange_declare(
                "d.topic",
                ExchangeKind::Topic,
                ExchangeDeclareOptions {
                    passive: true,
                    ..ExchangeDeclareOptions::default()
                },
                FieldTable::default(),
            )
            .await
            .unwrap();
            let ch4 = conn.create_channel().await.unwrap();
            let r = ch4
                .exchange_declare(
                    "t.topic",
                    ExchangeKind::Topic,
                    ExchangeDeclareOptions {
                        passive: true,
                        ..ExchangeDeclareOptions::default()
                    },
                    FieldTable::default(),
                )
                .await;
            assert!(r.is_err(), "{how}: the transient exchange survived");
            // The bindings: d.topic and amq.topic still route to d.q, t.q is gone.
            ch3.confirm_select(ConfirmSelectOptions::default())
                .await
                .unwrap();
            for exchange in ["d.topic", "amq.topic"] {
                ch3.basic_publish(
                    exchange,
                    "car.x",
                    BasicPublishOptions::default(),
                    b"routed",
                    persistent(),
                )
                .await
                .unwrap()
                .await
                .unwrap();
            }
            let got = drain(&ch3, "d.q").await;
            assert_eq!(got.len(), 3, "{how}: kept + two routed");
            for (_, tag) in got {
                ch3.basic_ack(tag, BasicAckOptions::default())
                    .await
                    .unwrap();
            }
            ch3.basic_publish(
                "d.topic",
                "car.lock",
                BasicPublishOptions::default(),
                b"kept",
                persistent(),
            )
            .await
            .unwrap()
            .await
            .unwrap();
            conn.close(200, "bye").await.unwrap();
        });
    }
    node.stop();
}

#[test]
fn users_vhosts_and_permissions_survive_a_restart() {
    if skip_under_external("users_vhosts_and_permissions_survive_a_restart") {
        return;
    }
    let mut node = Node::new("always");
    node.start();
    let defs = r#"{
        "vhosts": [{"name": "cars"}],
        "users": [{"name": "rabbit", "password_hash": "", "tags": ["management"]}],
        "permissions": [{"user": "guest", "vhost": "cars", "configure": "^car", "write": ".*", "read": ".*"}]
    }"#;
    // Imported at boot through --definitions the first time only: the second start must get
    // them from the data directory.
    let defs_file = node.dir.path().join("defs.json");
    std::fs::write(&defs_file, defs).unwrap();
    node.kill9();
    let mut child = Command::new(env!("CARGO_BIN_EXE_warren"))
        .arg("--config")
        .arg(node.dir.path().join("warren.toml"))
        .arg("--definitions")
        .arg(&defs_file)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let deadline = Instant::now() + STARTUP;
    loop {
        let line = lines.next().expect("stdout open").unwrap();
        if line.trim() == "READY" {
            break;
        }
        assert!(Instant::now() < deadline);
    }
    child.kill().unwrap();
    child.wait().unwrap();
    node.start();
    let saved = std::fs::read_to_string(node.data_dir().join("definitions.json")).unwrap();
    let saved: serde_json::Value = serde_json::from_str(&saved).unwrap();
    assert!(saved["vhosts"]
        .as_array()
        .unwrap()
        .iter()
        .any(|v| v["name"] == "cars"));
    assert!(saved["users"]
        .as_array()
        .unwrap()
        .iter()
        .any(|u| u["name"] == "rabbit"));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let conn = connect(&node.url("guest", "guest", "cars"))
            .await
            .expect("vhost cars and guest's permission there");
        let ch = conn.create_channel().await.unwrap();
        // Configure is limited to ^car.
        let r = ch
            .queue_declare(
                "other",
                QueueDeclareOptions::default(),
                FieldTable::default(),
            )
            .await;
        assert!(
            r.is_err(),
            "the restored permission should refuse configure on 'other'"
        );
        let ch = conn.create_channel().await.unwrap();
        ch.queue_declare(
            "car.q",
            QueueDeclareOptions::default(),
            FieldTable::default(),
        )
        .await
        .unwrap();
    });
    node.stop();
}

#[test]
fn the_memory_alarm_blocks_publishers_but_not_consumers() {
    if skip_under_external("the_memory_alarm_blocks_publishers_but_not_consumers") {
        return;
    }
    let mut node = Node::new("always");
    // Any process is over a 1-byte watermark: the alarm is raised at the first check.
    node.storage = vec![
        ("memory_high_watermark_bytes", toml::Value::Integer(1)),
        ("alarm_check_ms", toml::Value::Integer(20)),
    ];
    node.start();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let url = node.url("guest", "guest", "/");
        let publisher = connect(&url).await.unwrap();
        let consumer = connect(&url).await.unwrap();
        let ch = publisher.create_channel().await.unwrap();
        let durable = QueueDeclareOptions {
            durable: true,
            ..QueueDeclareOptions::default()
        };
        ch.queue_declare("alarm.q", durable, FieldTable::default())
            .await
            .unwrap();
        ch.basic_publish(
            "",
            "alarm.q",
            BasicPublishOptions::default(),
            b"one",
            persistent(),
        )
        .await
        .unwrap();
        let deadline = Instant::now() + WAIT;
        while !publisher.status().blocked() {
            assert!(
                Instant::now() < deadline,
                "no connection.blocked after publishing during a memory alarm"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // The consumer never published: it is not blocked and still gets messages.
        let cch = consumer.create_channel().await.unwrap();
        let got = drain(&cch, "alarm.q").await;
        assert_eq!(got.len(), 1);
        assert!(!consumer.status().blocked());
    });
    node.kill9();
}
