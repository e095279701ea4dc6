#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // tests: a panic is the failure report
//! The MQTT front driven by rumqttc (Rust, MQTT 3.1.1): QoS 1 and 2 publishes between two
//! clients through the Car2Home exchange, and a persistent session resumed after a reconnect.

mod common;

use std::time::Duration;

use common::{Broker, Options};
use rumqttc::{AsyncClient, Event, EventLoop, MqttOptions, Packet, QoS};

fn broker(test: &str) -> Option<(Broker, u16)> {
    let broker = Broker::start_with(test, Options::default().mqtt("exchange", "\"webos.topic\""))?;
    let Some(addr) = broker.mqtt_addr() else {
        common::skip_note(test, "WARREN_TEST_MQTT is not set");
        return None;
    };
    Some((broker, addr.port()))
}

fn client(id: &str, port: u16, clean: bool) -> (AsyncClient, EventLoop) {
    let mut o = MqttOptions::new(id, "127.0.0.1", port);
    o.set_credentials("guest", "guest");
    o.set_clean_session(clean);
    o.set_keep_alive(Duration::from_secs(30));
    AsyncClient::new(o, 64)
}

/// Polls until `want` PUBLISHes arrived (or 5 s passed); returns (topic, payload, qos).
async fn receive(ev: &mut EventLoop, want: usize) -> Vec<(String, Vec<u8>, QoS)> {
    let mut got = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while got.len() < want {
        match tokio::time::timeout_at(deadline, ev.poll()).await {
            Ok(Ok(Event::Incoming(Packet::Publish(p)))) => {
                got.push((p.topic.clone(), p.payload.to_vec(), p.qos))
            }
            Ok(Ok(_)) => {}
            Ok(Err(e)) => panic!("connection error: {e}"),
            Err(_) => break,
        }
    }
    got
}

/// Polls until the SUBACK arrives.
async fn until_suback(ev: &mut EventLoop) {
    loop {
        if let Event::Incoming(Packet::SubAck(_)) = ev.poll().await.unwrap() {
            return;
        }
    }
}

/// Drives a publishing client's event loop in the background.
fn drive(mut ev: EventLoop) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move { while ev.poll().await.is_ok() {} })
}

#[tokio::test]
async fn qos1_and_qos2_between_rumqttc_clients() {
    let Some((_broker, port)) = broker("qos1_and_qos2_between_rumqttc_clients") else {
        return;
    };
    let (sub, mut sub_ev) = client("rumq-sub", port, true);
    sub.subscribe("webos/android/#", QoS::ExactlyOnce)
        .await
        .unwrap();
    until_suback(&mut sub_ev).await;
    let (publ, pub_ev) = client("rumq-pub", port, true);
    let task = drive(pub_ev);
    publ.publish("webos/android/info", QoS::AtLeastOnce, false, "one")
        .await
        .unwrap();
    publ.publish("webos/android/warning", QoS::ExactlyOnce, false, "two")
        .await
        .unwrap();
    let got = receive(&mut sub_ev, 2).await;
    assert_eq!(
        got,
        vec![
            (
                "webos/android/info".into(),
                b"one".to_vec(),
                QoS::AtLeastOnce
            ),
            (
                "webos/android/warning".into(),
                b"two".to_vec(),
                QoS::ExactlyOnce
            ),
        ]
    );
    task.abort();
}

#[tokio::test]
async fn persistent_session_resumes_after_reconnect() {
    let Some((_broker, port)) = broker("persistent_session_resumes_after_reconnect") else {
        return;
    };
    let (sub, mut sub_ev) = client("rumq-persist", port, false);
    sub.subscribe("rq/#", QoS::AtLeastOnce).await.unwrap();
    until_suback(&mut sub_ev).await;
    sub.disconnect().await.unwrap();
    while sub_ev.poll().await.is_ok() {}
    let (publ, pub_ev) = client("rumq-pub2", port, true);
    let task = drive(pub_ev);
    publ.publish("rq/x", QoS::AtLeastOnce, false, "offline")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (_sub2, mut ev2) = client("rumq-persist", port, false);
    let got = receive(&mut ev2, 1).await;
    assert_eq!(
        got,
        vec![("rq/x".into(), b"offline".to_vec(), QoS::AtLeastOnce)]
    );
    task.abort();
}
