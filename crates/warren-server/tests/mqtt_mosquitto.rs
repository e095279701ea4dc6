#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // tests: a panic is the failure report
//! The MQTT front driven by Mosquitto's command-line clients (`mosquitto_pub`, `mosquitto_sub`;
//! Debian's `mosquitto-clients`, installed by `cargo xtask ci`), at MQTT 3.1, 3.1.1 and 5.0.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::{Broker, Options};

fn broker(test: &str) -> Option<(Broker, String)> {
    let broker = Broker::start_with(test, Options::default().mqtt("exchange", "\"webos.topic\""))?;
    let Some(addr) = broker.mqtt_addr() else {
        common::skip_note(test, "WARREN_TEST_MQTT is not set");
        return None;
    };
    Some((broker, addr.port().to_string()))
}

fn pubc(port: &str, args: &[&str]) {
    let out = Command::new("mosquitto_pub")
        .args(["-h", "127.0.0.1", "-p", port, "-u", "guest", "-P", "guest"])
        .args(args)
        .output()
        .expect("mosquitto_pub (Debian package mosquitto-clients) must be installed");
    assert!(
        out.status.success(),
        "mosquitto_pub {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Starts `mosquitto_sub` printing `topic payload` lines until it got `count` messages.
fn subc(port: &str, count: usize, args: &[&str]) -> std::process::Child {
    Command::new("mosquitto_sub")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            port,
            "-u",
            "guest",
            "-P",
            "guest",
            "-v",
        ])
        .args(["-C", &count.to_string(), "-W", "10"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("mosquitto_sub (Debian package mosquitto-clients) must be installed")
}

fn lines(child: std::process::Child) -> Vec<String> {
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "mosquitto_sub: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn pub_sub_at_every_level_and_qos() {
    let Some((_broker, port)) = broker("pub_sub_at_every_level_and_qos") else {
        return;
    };
    for (version, qos) in [("mqttv31", "0"), ("mqttv311", "1"), ("mqttv5", "2")] {
        let topic = format!("mosq/{version}/info");
        let sub = subc(&port, 1, &["-V", version, "-q", qos, "-t", "mosq/+/info"]);
        // mosquitto_sub has no "subscribed" signal: publish until it has seen one.
        std::thread::sleep(Duration::from_millis(500));
        pubc(
            &port,
            &["-V", version, "-q", qos, "-t", &topic, "-m", "hello"],
        );
        assert_eq!(lines(sub), vec![format!("{topic} hello")], "{version}");
    }
}

#[test]
fn retained_message_reaches_a_late_subscriber() {
    let Some((_broker, port)) = broker("retained_message_reaches_a_late_subscriber") else {
        return;
    };
    pubc(
        &port,
        &["-q", "1", "-r", "-t", "webos/camera/info", "-m", "armed"],
    );
    let sub = subc(&port, 1, &["-t", "webos/camera/#", "-F", "%t %p %r"]);
    assert_eq!(lines(sub), vec!["webos/camera/info armed 1".to_owned()]);
}
