#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // tests: a panic is the failure report

//! End-to-end runs of the load tool against a tiny in-process MQTT broker that can drop,
//! duplicate or reorder one message: the tool must notice each.
//! Set `WARREN_PERF_TEST_BROKER=host:port` to also run a short AMQP scenario against a real broker.

use bytes::BytesMut;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use warren_mqtt::{ConnAck, Decoder, Packet, Properties, ProtocolLevel, ReasonCode, SubAck};
use warren_perf::mqtt::{MqttArgs, MqttTarget};
use warren_perf::runner::RunArgs;

#[derive(Clone, Copy)]
enum Fault {
    None,
    Drop(u64),
    Duplicate(u64),
    /// Holds publish n back and sends it after publish n + 1.
    Swap(u64),
}

type Subscribers = Arc<Mutex<Vec<mpsc::UnboundedSender<BytesMut>>>>;

/// Starts the fake broker; returns its address.
async fn fake_mqtt(fault: Fault) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let subs: Subscribers = Arc::default();
    let count = Arc::new(AtomicU64::new(0));
    let held: Arc<Mutex<Option<BytesMut>>> = Arc::default();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let (subs, count, held) = (Arc::clone(&subs), Arc::clone(&count), Arc::clone(&held));
            tokio::spawn(async move {
                let (mut rd, mut wr) = stream.into_split();
                let (tx, mut rx) = mpsc::unbounded_channel::<BytesMut>();
                tokio::spawn(async move {
                    while let Some(b) = rx.recv().await {
                        if b.is_empty() || wr.write_all(&b).await.is_err() {
                            let _ = wr.shutdown().await;
                            break;
                        }
                    }
                });
                let mut decoder = Decoder::new();
                let mut buf = BytesMut::new();
                loop {
                    if rd.read_buf(&mut buf).await.unwrap_or(0) == 0 {
                        return;
                    }
                    while let Some(p) = decoder.decode(&mut buf).unwrap() {
                        let mut out = BytesMut::new();
                        match p {
                            Packet::Connect(c) => {
                                decoder.set_level(c.level);
                                Packet::ConnAck(ConnAck {
                                    session_present: false,
                                    reason_code: ReasonCode::Success,
                                    properties: Properties::default(),
                                })
                                .encode(ProtocolLevel::V3_1_1, &mut out)
                                .unwrap();
                                tx.send(out).unwrap();
                            }
                            Packet::Subscribe(s) => {
                                Packet::SubAck(SubAck {
                                    packet_id: s.packet_id,
                                    properties: Properties::default(),
                                    reason_codes: vec![ReasonCode::Success],
                                })
                                .encode(ProtocolLevel::V3_1_1, &mut out)
                                .unwrap();
                                tx.send(out).unwrap();
                                subs.lock().unwrap().push(tx.clone());
                            }
                            Packet::Publish(p) => {
                                let n = count.fetch_add(1, Ordering::Relaxed);
                                Packet::Publish(p)
                                    .encode(ProtocolLevel::V3_1_1, &mut out)
                                    .unwrap();
                                let copies: Vec<BytesMut> = match fault {
                                    Fault::Drop(k) if k == n => vec![],
                                    Fault::Duplicate(k) if k == n => vec![out.clone(), out],
                                    Fault::Swap(k) if k == n => {
                                        *held.lock().unwrap() = Some(out);
                                        vec![]
                                    }
                                    Fault::Swap(k) if k + 1 == n => {
                                        let first = held.lock().unwrap().take().unwrap();
                                        vec![out, first]
                                    }
                                    _ => vec![out],
                                };
                                for b in copies {
                                    for s in subs.lock().unwrap().iter() {
                                        let _ = s.send(b.clone());
                                    }
                                }
                            }
                            Packet::Disconnect(_) => {
                                let _ = tx.send(BytesMut::new());
                                return;
                            }
                            other => panic!("fake broker got {other:?}"),
                        }
                    }
                }
            });
        }
    });
    addr
}

fn args(addr: String, count: u64) -> MqttArgs {
    MqttArgs {
        target: MqttTarget {
            addr,
            user: None,
            password: None,
            client_prefix: Some("t".into()),
        },
        publishers: 1,
        subscribers: 1,
        topics: 1,
        topic_prefix: Some("perf/test".into()),
        qos: 0,
        size: 64,
        inflight: 20,
        allow_loss: false,
        run: RunArgs {
            count: Some(count),
            batch: 16,
            drain_timeout: 0.3,
            quiet: true,
            ..RunArgs::default()
        },
    }
}

#[tokio::test]
async fn clean_run_counts_every_message() {
    let addr = fake_mqtt(Fault::None).await;
    let report = warren_perf::mqtt::run(args(addr, 2000)).await;
    assert!(report.ok, "{report:?}");
    assert_eq!(report.sent, 2000);
    assert_eq!(report.received, 2000);
    assert!(report.check.is_clean());
    assert!(report.latency_us.samples > 0);
    assert!(report.received_rate > 0.0);
}

#[tokio::test]
async fn a_dropped_message_fails_the_run() {
    let addr = fake_mqtt(Fault::Drop(500)).await;
    let report = warren_perf::mqtt::run(args(addr, 1000)).await;
    assert!(!report.ok);
    assert_eq!(report.check.lost, 1, "{report:?}");
    assert_eq!(report.check.duplicated, 0);
}

#[tokio::test]
async fn loss_is_accepted_only_when_allowed() {
    let addr = fake_mqtt(Fault::Drop(10)).await;
    let mut a = args(addr, 100);
    a.allow_loss = true;
    let report = warren_perf::mqtt::run(a).await;
    assert_eq!(report.check.lost, 1);
    assert!(report.ok, "{report:?}");
}

#[tokio::test]
async fn a_duplicate_fails_the_run() {
    let addr = fake_mqtt(Fault::Duplicate(3)).await;
    let report = warren_perf::mqtt::run(args(addr, 100)).await;
    assert!(!report.ok);
    assert_eq!(report.check.duplicated, 1, "{report:?}");
    assert_eq!(report.check.lost, 0);
}

#[tokio::test]
async fn reordering_fails_the_run() {
    let addr = fake_mqtt(Fault::Swap(7)).await;
    let report = warren_perf::mqtt::run(args(addr, 100)).await;
    assert!(!report.ok);
    assert_eq!(report.check.out_of_order, 1, "{report:?}");
    assert_eq!(report.check.lost, 0);
}

/// A short AMQP scenario against a real broker, when one is named.
#[tokio::test]
async fn amqp_against_a_real_broker_when_given() {
    let Ok(addr) = std::env::var("WARREN_PERF_TEST_BROKER") else {
        eprintln!("WARREN_PERF_TEST_BROKER not set: skipping the AMQP end-to-end run");
        return;
    };
    use clap::Parser;
    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        a: warren_perf::amqp::AmqpArgs,
    }
    let cli = Cli::parse_from([
        "t",
        "--addr",
        &addr,
        "--count",
        "2000",
        "--confirm",
        "50",
        "--prefetch",
        "100",
        "--ack-every",
        "10",
        "--exchange-type",
        "fanout",
        "--queues",
        "3",
        "--quiet",
    ]);
    let report = warren_perf::amqp::run(cli.a).await;
    assert!(report.ok, "{report:?}");
    assert_eq!(report.received, 6000);
}

/// `--publish-only` leaves the messages queued, and a `--count 0` run reads the depth back.
/// Leaves one small queue `perf-publish-only-<pid>` on the named broker.
#[tokio::test]
async fn amqp_publish_only_leaves_messages_queued_when_given() {
    let Ok(addr) = std::env::var("WARREN_PERF_TEST_BROKER") else {
        eprintln!("WARREN_PERF_TEST_BROKER not set: skipping the AMQP publish-only run");
        return;
    };
    use clap::Parser;
    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        a: warren_perf::amqp::AmqpArgs,
    }
    let prefix = format!("perf-publish-only-{}", std::process::id());
    let run = |count: &str| {
        Cli::parse_from([
            "t",
            "--addr",
            &addr,
            "--publish-only",
            "--queue-prefix",
            &prefix,
            "--count",
            count,
            "--confirm",
            "50",
            "--drain-timeout",
            "0",
            "--quiet",
        ])
        .a
    };
    let publish = warren_perf::amqp::run(run("300")).await;
    assert!(publish.ok, "{publish:?}");
    assert_eq!((publish.sent, publish.received), (300, 0));
    assert_eq!(publish.queue_messages, vec![0]);
    let read = warren_perf::amqp::run(run("0")).await;
    assert!(read.ok, "{read:?}");
    assert_eq!(read.queue_messages, vec![300]);
}
