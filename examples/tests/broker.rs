#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // tests: a panic is the failure report
//! Runs the `broker` example on free ports and drives it with real clients: paho-mqtt and pika
//! (Python from `WARREN_PYTHON`, else `python3`; `cargo xtask ci` installs both into `.venv`).

#[allow(dead_code)] // the example's `main` is not called here
#[path = "../examples/broker.rs"]
mod example;

use std::process::Command;
use std::sync::Arc;

use warren_core::{Broker, BrokerConfig};

#[test]
fn pika_and_paho_publish_and_pika_reads_the_queue() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let broker = Arc::new(Broker::with_defaults(BrokerConfig::default()));
    example::topology(&broker).unwrap();
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let any = "127.0.0.1:0".parse().unwrap();
    let (amqp, mqtt, serving) = rt
        .block_on(example::start(Arc::clone(&broker), any, any, shutdown))
        .unwrap();
    let serving = rt.spawn(serving);

    let python = std::env::var("WARREN_PYTHON").unwrap_or_else(|_| "python3".into());
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/python/broker_clients.py"
    );
    let out = Command::new(&python)
        .arg(script)
        .arg(amqp.port().to_string())
        .arg(mqtt.port().to_string())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {python} (set WARREN_PYTHON): {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{python} failed:\n{stdout}\n{stderr}");
    assert_eq!(
        stdout.lines().collect::<Vec<_>>(),
        ["got home.garage.light off", "got home.kitchen.light on"],
        "{stderr}"
    );

    stop.send(true).unwrap();
    rt.block_on(serving).unwrap();
    // Two messages went through the queue, and it is empty again.
    let lights = broker
        .list_queues()
        .into_iter()
        .find(|q| q.name == "lights")
        .unwrap();
    assert_eq!((lights.enqueued, lights.messages_ready), (2, 0));
}
