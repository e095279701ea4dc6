#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // tests: a panic is the failure report
//! The MQTT front driven by paho-mqtt (Python; 3.1.1 and 5.0) with pika on the AMQP side: the
//! Car2Home cross-protocol tests of issue 6 and one test per MQTT behaviour. Each test runs one
//! case of tests/python/mqtt_paho.py against its own broker, whose MQTT front bridges into
//! `webos.topic` as the Car2Home configuration does. Under `WARREN_TEST_BROKER` the MQTT
//! listener is `WARREN_TEST_MQTT` (RabbitMQ's plugin must then be configured the same way).

mod common;

use common::{Broker, Options};

/// The Car2Home MQTT settings on top of the test configuration.
pub fn car2home() -> Options {
    Options::default()
        .mqtt("exchange", "\"webos.topic\"")
        .mqtt("subscription_ttl", "1800000")
        .mqtt("prefetch", "10")
}

/// Runs `case` of mqtt_paho.py against a broker with `opts`.
fn run(case: &str, opts: Options) {
    let Some(broker) = Broker::start_with(case, opts) else {
        return;
    };
    let Some(mqtt) = broker.mqtt_addr() else {
        common::skip_note(case, "WARREN_TEST_MQTT is not set");
        return;
    };
    broker.case("mqtt_paho.py", case, &[&mqtt.port().to_string()]);
}

macro_rules! cases {
    ($($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                run(stringify!($case), car2home());
            }
        )*
    };
}

cases!(
    car2home_mqtt_to_amqp,
    car2home_amqp_to_mqtt,
    car2home_fanout_emergency,
    mqtt_to_mqtt_qos,
    prefetch_limits_unacked,
    qos2_end_to_end,
    persistent_session_queues_offline,
    takeover_disconnects_old_client,
    keepalive_enforced,
    retained_delivered_on_subscribe,
    will_on_abnormal_disconnect_only,
    login_rules,
    v5_connack_properties,
    v5_properties_cross_protocol,
    v5_no_matching_subscribers,
    v5_subscription_options,
    v5_shared_subscription,
    v5_topic_alias_and_message_expiry,
    v5_will_delay,
    v5_bad_input_disconnects,
);

#[test]
fn v5_server_keep_alive() {
    run(
        "v5_server_keep_alive",
        car2home().mqtt("max_keepalive", "30"),
    );
}
