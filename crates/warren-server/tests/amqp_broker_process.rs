#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // tests: a panic is the failure report
//! Tests that depend on how the broker process is started: its configuration (heartbeat,
//! frame_max, channel_max), definitions imported at boot (users with RabbitMQ password hashes and
//! permissions, topology), the default Car2Home topology, and graceful shutdown on SIGTERM.
//! Under WARREN_TEST_BROKER the definitions are imported through RabbitMQ's management API and
//! the configuration and shutdown tests are skipped with a note.

mod common;

use common::{finish_python, spawn_python, unique, Broker, Options};
use std::io::{BufRead, BufReader, Read};
use std::time::Duration;

/// RabbitMQ's `rabbit_password_hashing_sha256` hash of "limited-pw" with salt 0x908d1b3c:
/// base64(salt ++ sha256(salt ++ password)).
const LIMITED_HASH: &str = "kI0bPMrSU7leoTGwgviuOwh6AvoiOstYETNEEeGeiWlPrB5+";

fn limited_user_definitions(user: &str) -> String {
    format!(
        r#"{{
  "users": [{{"name": "{user}", "password_hash": "{LIMITED_HASH}",
              "hashing_algorithm": "rabbit_password_hashing_sha256", "tags": []}}],
  "vhosts": [{{"name": "/"}}],
  "permissions": [{{"user": "{user}", "vhost": "/", "configure": "^perm-c\\.",
                    "write": "^perm-w\\.", "read": "^perm-r\\."}}]
}}"#
    )
}

fn permissions(test: &str, what: &str) {
    let user = unique("limited").replace('.', "-");
    let opts = Options::default().definitions(&limited_user_definitions(&user), &[&user]);
    let broker = Broker::start_with(test, opts).expect("definitions work on both brokers");
    broker.case(
        "pika_connection.py",
        "permissions",
        &[&user, "limited-pw", what],
    );
}

/// A user from definitions with configure `^perm-c\.`: declares elsewhere get 403.
#[test]
fn permission_configure_403() {
    permissions("permission_configure_403", "configure");
}

/// A user from definitions with write `^perm-w\.`: publishes elsewhere get 403.
#[test]
fn permission_write_403() {
    permissions("permission_write_403", "write");
}

/// A user from definitions with read `^perm-r\.`: get and consume elsewhere get 403.
#[test]
fn permission_read_403() {
    permissions("permission_read_403", "read");
}

/// Exchanges, queues and bindings in a definitions file exist after boot and route.
#[test]
fn definitions_topology() {
    let x = unique("defs-x");
    let q = unique("defs-q");
    let json = format!(
        r#"{{
  "vhosts": [{{"name": "/"}}],
  "exchanges": [{{"name": "{x}", "vhost": "/", "type": "topic", "durable": false,
                  "auto_delete": false, "internal": false, "arguments": {{}}}}],
  "queues": [{{"name": "{q}", "vhost": "/", "durable": false, "auto_delete": false, "arguments": {{}}}}],
  "bindings": [{{"source": "{x}", "vhost": "/", "destination": "{q}", "destination_type": "queue",
                 "routing_key": "webos.car.*", "arguments": {{}}}}]
}}"#
    );
    let broker = Broker::start_with(
        "definitions_topology",
        Options::default().definitions(&json, &[]),
    )
    .unwrap();
    broker.case("pika_connection.py", "definitions_topology", &[&x, &q]);
}

/// The default Car2Home topology (webos.topic, webos.fanout, five device queues). Under
/// WARREN_TEST_BROKER it is checked only if the broker has it.
#[test]
fn car2home_topology() {
    let broker = Broker::start();
    let mode: &[&str] = if broker.is_external() {
        &["if-present"]
    } else {
        &[]
    };
    let out = broker.case("pika_connection.py", "car2home_topology", mode);
    if out.contains("SKIP") {
        common::skip_note(
            "car2home_topology",
            "the broker has no webos.topic exchange",
        );
    }
}

/// connection.tune offers the configured channel_max, frame_max and heartbeat; pika adopts
/// the configured heartbeat.
#[test]
fn tune_from_config() {
    let opts = Options::default()
        .amqp("channel_max", "100")
        .amqp("frame_max", "65536")
        .amqp("heartbeat", "5");
    let Some(broker) = Broker::start_with("tune_from_config", opts) else {
        return;
    };
    broker.case("raw_cases.py", "tune_configured", &["100", "65536", "5"]);
    broker.case("pika_connection.py", "heartbeat_negotiated", &["5"]);
}

/// A configured frame_max of 8192 is enforced: a larger frame closes the connection with 501.
#[test]
fn frame_max_from_config() {
    let opts = Options::default().amqp("frame_max", "8192");
    let Some(broker) = Broker::start_with("frame_max_from_config", opts) else {
        return;
    };
    broker.case("raw_cases.py", "tune_configured", &["2047", "8192", "60"]);
    broker.case("raw_cases.py", "frame_over_server_max", &[]);
}

/// A configured max_message_size of 4096: a larger body closes the channel with 406.
#[test]
fn max_message_size_from_config() {
    let opts = Options::default().amqp("max_message_size", "4096");
    let Some(broker) = Broker::start_with("max_message_size_from_config", opts) else {
        return;
    };
    broker.case("pika_delivery.py", "max_message_size", &["4096"]);
}

/// A configured heartbeat of 1 s: the server sends heartbeats and drops a silent client.
#[test]
fn heartbeat_from_config() {
    let opts = Options::default().amqp("heartbeat", "1");
    let Some(broker) = Broker::start_with("heartbeat_from_config", opts) else {
        return;
    };
    broker.case("raw_cases.py", "heartbeat_sent", &[]);
    broker.case("raw_cases.py", "heartbeat_missed", &[]);
}

/// SIGTERM: connected clients get connection.close 320 CONNECTION_FORCED; the process exits 0.
#[test]
fn sigterm_graceful_shutdown() {
    let Some(mut broker) = Broker::fresh(
        "sigterm_graceful_shutdown",
        "it sends SIGTERM to the broker",
        Options::default(),
    ) else {
        return;
    };
    let port = broker.port().to_string();
    let mut client = spawn_python(
        "pika_connection.py",
        &[&broker.host(), &port, "wait_for_forced_close"],
    );
    let mut stdout = BufReader::new(client.stdout.take().unwrap());
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        if stdout.read_line(&mut line).unwrap() == 0 {
            let out = finish_python(client);
            panic!(
                "client ended before READY-CLIENT: {seen}\n{}\n{}",
                out.describe(),
                broker.log()
            );
        }
        seen.push_str(&line);
        if line.trim() == "READY-CLIENT" {
            break;
        }
    }
    broker.terminate();
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    let out = finish_python(client);
    assert!(
        out.status.success() && rest.contains("PASS wait_for_forced_close"),
        "client did not see 320 CONNECTION_FORCED:\n{rest}\n{}\n{}",
        out.describe(),
        broker.log()
    );
    let status = broker
        .wait_exit(Duration::from_secs(10))
        .expect("warren still running 10 s after SIGTERM");
    assert!(
        status.success(),
        "warren exited with {status} after SIGTERM\n{}",
        broker.log()
    );
}
