#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // tests: a panic is the failure report
//! A disk failure under a running `warren`: the message store's writer hits an I/O error and
//! stops. Publishers waiting for the disk, and later ones that would wait, are refused —
//! AMQP `basic.nack`, MQTT 5 PUBACK/PUBREC 0x80, MQTT 3.1.1 a closed connection without the
//! PUBACK — while the broker stays up, logs the error and keeps moving transient messages.
//!
//! The fault works even as root: the store runs with 4 KiB segments, and its `segments`
//! directory is replaced by a regular file, so the next segment cannot be created (ENOTDIR).
//! These tests start their own broker processes, so they do nothing under
//! `WARREN_TEST_BROKER`.

mod node;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lapin::options::{
    BasicGetOptions, BasicPublishOptions, ConfirmSelectOptions, QueueBindOptions,
    QueueDeclareOptions,
};
use lapin::publisher_confirm::Confirmation;
use lapin::types::FieldTable;
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties};
use node::{skip_under_external, Node, STARTUP, WAIT};

async fn connect(url: &str) -> Connection {
    let props = ConnectionProperties::default()
        .with_executor(tokio_executor_trait::Tokio::current())
        .with_reactor(tokio_reactor_trait::Tokio::current());
    tokio::time::timeout(WAIT, Connection::connect(url, props))
        .await
        .expect("connect timed out")
        .expect("connect")
}

/// A broker with MQTT on, 4 KiB segments and `fsync = always`, and every line it prints
/// (`LISTENING`/`READY` on stdout, the log on stderr).
fn start_node() -> (Node, Arc<Mutex<Vec<String>>>) {
    let mut node = Node::new("always");
    node.mqtt = true;
    node.storage
        .push(("segment_size", toml::Value::Integer(4096)));
    let config = node.dir.path().join("warren.toml");
    std::fs::write(&config, node.config_toml()).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_warren"))
        .arg("--config")
        .arg(&config)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = Arc::new(Mutex::new(Vec::new()));
    for out in [
        Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
        Box::new(child.stderr.take().unwrap()),
    ] {
        let lines = Arc::clone(&lines);
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                lines.lock().unwrap().push(line);
            }
        });
    }
    node.child = Some(child);
    let deadline = Instant::now() + STARTUP;
    loop {
        let seen = lines.lock().unwrap().clone();
        for line in &seen {
            if let Some(addr) = line.strip_prefix("LISTENING amqp ") {
                node.addr = addr.trim().parse().unwrap();
            }
            if let Some(addr) = line.strip_prefix("LISTENING mqtt ") {
                node.mqtt_addr = addr.trim().parse().unwrap();
            }
        }
        if seen.iter().any(|l| l.trim() == "READY") {
            return (node, lines);
        }
        assert!(Instant::now() < deadline, "warren did not start: {seen:#?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The next segment creation fails from now on.
fn break_segments_dir(node: &Node) {
    let segments = node.data_dir().join("segments");
    std::fs::remove_dir_all(&segments).unwrap();
    std::fs::write(&segments, b"not a directory").unwrap();
}

fn persistent() -> BasicProperties {
    BasicProperties::default().with_delivery_mode(2)
}

fn transient() -> BasicProperties {
    BasicProperties::default().with_delivery_mode(1)
}

/// Publishes to the default exchange and waits for the confirm.
async fn publish(ch: &Channel, queue: &str, body: &[u8], props: BasicProperties) -> Confirmation {
    let confirm = ch
        .basic_publish("", queue, BasicPublishOptions::default(), body, props)
        .await
        .expect("basic.publish");
    tokio::time::timeout(WAIT, confirm)
        .await
        .expect("no confirm")
        .expect("confirm")
}

async fn declare(ch: &Channel, queue: &str, durable: bool) {
    ch.queue_declare(
        queue,
        QueueDeclareOptions {
            durable,
            ..QueueDeclareOptions::default()
        },
        FieldTable::default(),
    )
    .await
    .unwrap();
}

/// Waits until the broker's log shows the writer's error line.
fn assert_logged(log: &Mutex<Vec<String>>) {
    let deadline = Instant::now() + WAIT;
    loop {
        let lines = log.lock().unwrap().clone();
        if lines
            .iter()
            .any(|l| l.contains("ERROR") && l.contains("cannot write to the message store"))
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "no error line for the failed write: {lines:#?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Transient messages still flow through a fresh connection.
async fn transient_traffic_flows(node: &Node) {
    let conn = connect(&node.url("guest", "guest", "/")).await;
    let ch = conn.create_channel().await.unwrap();
    ch.confirm_select(ConfirmSelectOptions::default())
        .await
        .unwrap();
    declare(&ch, "after-failure", false).await;
    assert!(publish(&ch, "after-failure", b"still here", transient())
        .await
        .is_ack());
    let got = ch
        .basic_get("after-failure", BasicGetOptions { no_ack: true })
        .await
        .unwrap()
        .expect("the transient message");
    assert_eq!(got.delivery.data, b"still here");
    conn.close(200, "bye").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amqp_publishers_are_nacked_when_the_disk_fails() {
    if skip_under_external("amqp_publishers_are_nacked_when_the_disk_fails") {
        return;
    }
    let (node, log) = start_node();
    let conn = connect(&node.url("guest", "guest", "/")).await;
    let ch = conn.create_channel().await.unwrap();
    ch.confirm_select(ConfirmSelectOptions::default())
        .await
        .unwrap();
    declare(&ch, "dq", true).await;
    declare(&ch, "tq", false).await;
    let body = vec![b'x'; 1000];
    assert!(publish(&ch, "dq", &body, persistent()).await.is_ack());

    break_segments_dir(&node);
    // Pipelined: some wait for the disk when the writer fails, some come after.
    let mut confirms = Vec::new();
    for _ in 0..20 {
        let c = ch
            .basic_publish(
                "",
                "dq",
                BasicPublishOptions::default(),
                &body,
                persistent(),
            )
            .await
            .unwrap();
        confirms.push(c);
    }
    let mut outcomes = Vec::new();
    for c in confirms {
        let c = tokio::time::timeout(WAIT, c)
            .await
            .expect("a publish was never confirmed nor nacked")
            .unwrap();
        outcomes.push(c.is_ack());
    }
    // Acks (written to the open segment before the roll) then only nacks.
    let first_nack = outcomes
        .iter()
        .position(|ack| !ack)
        .expect("no nack after the disk failed");
    assert!(
        outcomes[first_nack..].iter().all(|ack| !ack),
        "an ack after a nack: {outcomes:?}"
    );
    assert_logged(&log);

    // Later persistent publishes to the durable queue are nacked too; those that need no
    // disk are acked.
    assert!(publish(&ch, "dq", b"later", persistent()).await.is_nack());
    assert!(publish(&ch, "dq", b"transient", transient()).await.is_ack());
    assert!(publish(&ch, "tq", b"to a transient queue", persistent())
        .await
        .is_ack());
    assert!(publish(&ch, "dq", b"later again", persistent())
        .await
        .is_nack());

    transient_traffic_flows(&node).await;
    conn.close(200, "bye").await.unwrap();
}

mod mqtt {
    use rumqttc::v5::mqttbytes::v5::{Packet, PubAckReason, PubRecReason};
    use rumqttc::v5::mqttbytes::QoS;
    use rumqttc::v5::{AsyncClient, ConnectionError, Event, EventLoop, MqttOptions, StateError};

    use super::*;

    fn client5(id: &str, node: &Node) -> (AsyncClient, EventLoop) {
        let mut o = MqttOptions::new(id, "127.0.0.1", node.mqtt_addr.port());
        o.set_credentials("guest", "guest");
        o.set_keep_alive(Duration::from_secs(30));
        AsyncClient::new(o, 64)
    }

    /// Polls until the answer to the one publish in flight: the PUBACK / PUBREC of a success,
    /// or the error the client reports for a refusal.
    async fn answer(ev: &mut EventLoop) -> Result<Packet, ConnectionError> {
        loop {
            match tokio::time::timeout(WAIT, ev.poll())
                .await
                .expect("no answer to the publish")
            {
                Ok(Event::Incoming(p @ (Packet::PubAck(_) | Packet::PubRec(_)))) => return Ok(p),
                Ok(_) => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// MQTT 5: PUBACK / PUBREC with 0x80 for the publish waiting when the writer fails and
    /// for later ones; MQTT 3.1.1: the connection closes without a PUBACK.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn mqtt_publishers_are_refused_when_the_disk_fails() {
        if skip_under_external("mqtt_publishers_are_refused_when_the_disk_fails") {
            return;
        }
        let (node, log) = start_node();
        // A durable queue bound to the MQTT exchange: QoS 1/2 publishes wait for the disk.
        let conn = connect(&node.url("guest", "guest", "/")).await;
        let ch = conn.create_channel().await.unwrap();
        declare(&ch, "mq", true).await;
        ch.queue_bind(
            "mq",
            "amq.topic",
            "#",
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await
        .unwrap();

        let (client, mut ev) = client5("v5-qos1", &node);
        let payload = vec![b'x'; 1000];
        client
            .publish("car/info", QoS::AtLeastOnce, false, payload.clone())
            .await
            .unwrap();
        match answer(&mut ev).await {
            Ok(Packet::PubAck(a)) => assert_eq!(a.reason, PubAckReason::Success),
            other => panic!("expected PUBACK success, got {other:?}"),
        }

        // One publish at a time until the store rolls to a segment it cannot create: that
        // publish's PUBACK, waiting for the disk, is 0x80; so is the next one.
        break_segments_dir(&node);
        let mut refused = 0;
        for _ in 0..20 {
            client
                .publish("car/info", QoS::AtLeastOnce, false, payload.clone())
                .await
                .unwrap();
            match answer(&mut ev).await {
                Ok(Packet::PubAck(a)) => {
                    assert_eq!(a.reason, PubAckReason::Success);
                    assert_eq!(refused, 0, "a PUBACK success after a refusal");
                }
                Err(ConnectionError::MqttState(StateError::PubAckFail {
                    reason: PubAckReason::UnspecifiedError,
                })) => {
                    refused += 1;
                    if refused == 2 {
                        break;
                    }
                }
                other => panic!("expected PUBACK, got {other:?}"),
            }
        }
        assert_eq!(refused, 2, "the publishes were never refused");
        assert_logged(&log);

        // QoS 2: PUBREC 0x80.
        let (client, mut ev) = client5("v5-qos2", &node);
        client
            .publish("car/info", QoS::ExactlyOnce, false, payload.clone())
            .await
            .unwrap();
        match answer(&mut ev).await {
            Err(ConnectionError::MqttState(StateError::PubRecFail {
                reason: PubRecReason::UnspecifiedError,
            })) => {}
            other => panic!("expected PUBREC 0x80, got {other:?}"),
        }

        // QoS 0 needs no disk: accepted, the connection stays (the QoS 1 publish after it is
        // answered, with 0x80).
        let (client, mut ev) = client5("v5-qos0", &node);
        client
            .publish("car/info", QoS::AtMostOnce, false, b"qos0".to_vec())
            .await
            .unwrap();
        client
            .publish("car/info", QoS::AtLeastOnce, false, payload.clone())
            .await
            .unwrap();
        match answer(&mut ev).await {
            Err(ConnectionError::MqttState(StateError::PubAckFail {
                reason: PubAckReason::UnspecifiedError,
            })) => {}
            other => panic!("expected PUBACK 0x80, got {other:?}"),
        }

        // MQTT 3.1.1 has no negative PUBACK: the broker closes the connection instead.
        let mut o = rumqttc::MqttOptions::new("v311", "127.0.0.1", node.mqtt_addr.port());
        o.set_credentials("guest", "guest");
        o.set_keep_alive(Duration::from_secs(30));
        let (client, mut ev) = rumqttc::AsyncClient::new(o, 64);
        client
            .publish(
                "car/info",
                rumqttc::QoS::AtLeastOnce,
                false,
                payload.clone(),
            )
            .await
            .unwrap();
        loop {
            match tokio::time::timeout(WAIT, ev.poll())
                .await
                .expect("the 3.1.1 connection was neither acknowledged nor closed")
            {
                Ok(rumqttc::Event::Incoming(rumqttc::Packet::PubAck(_))) => {
                    panic!("a 3.1.1 PUBACK for a publish that is not on disk")
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }

        transient_traffic_flows(&node).await;
        conn.close(200, "bye").await.unwrap();
    }
}
