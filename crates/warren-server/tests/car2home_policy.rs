#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // tests: a panic is the failure report
//! The Car2Home validation policy (`[car2home] validate = true`) in the broker binary: an invalid
//! message on `webos.topic` is dead-lettered to `webos.invalid` with the `x-car2home-error*`
//! headers, counted (`warren_messages_invalid_total`) and refused to its publisher (pika with
//! confirms: basic.nack; paho-mqtt 5.0: PUBACK/PUBREC 0x99); a valid one is delivered. Each
//! test runs one case of tests/python/car2home_policy.py against its own broker. RabbitMQ has
//! no such policy: under `WARREN_TEST_BROKER` these tests are skipped.

mod common;

use common::{Broker, Options};

/// The Car2Home configuration with validation on.
fn validating() -> Options {
    Options::default()
        .mqtt("exchange", "\"webos.topic\"")
        .car2home("validate", "true")
}

fn run(case: &str) {
    let Some(broker) = Broker::fresh(case, "RabbitMQ has no Car2Home validation", validating())
    else {
        return;
    };
    let mqtt = broker.mqtt_addr().expect("LISTENING mqtt");
    let prometheus = broker.listener("prometheus").expect("LISTENING prometheus");
    broker.case(
        "car2home_policy.py",
        case,
        &[&mqtt.port().to_string(), &prometheus.to_string()],
    );
}

#[test]
fn amqp_invalid_is_nacked_dead_lettered_and_counted() {
    run("amqp_invalid_is_nacked_dead_lettered_and_counted");
}

#[test]
fn mqtt5_invalid_publish_gets_0x99() {
    run("mqtt5_invalid_publish_gets_0x99");
}

#[test]
fn mqtt311_invalid_publish_keeps_the_connection() {
    run("mqtt311_invalid_publish_keeps_the_connection");
}
