#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // tests: a panic is the failure report
//! The Car2Home device examples (`examples/examples/car2home_*.rs`, included here as modules)
//! run end to end against the broker binary with the Car2Home validation on: every message they
//! send is published with confirms, so one the broker refused (nack) fails the example. Each
//! test starts its own broker and the processing server example next to the device under test.
//! Under `WARREN_TEST_BROKER` they are skipped (the examples use the device queues, which other
//! tests on a shared broker also use).
#![allow(clippy::duplicate_mod)] // each included example brings its own copy of car2home_common

mod common;

#[allow(dead_code)] // the examples' `main` functions are not called here
#[path = "../../../examples/examples/car2home_android.rs"]
mod android;
#[allow(dead_code)]
#[path = "../../../examples/examples/car2home_camera.rs"]
mod camera;
#[allow(dead_code)]
#[path = "../../../examples/examples/car2home_car.rs"]
mod car;
#[allow(dead_code)]
#[path = "../../../examples/examples/car2home_emergency.rs"]
mod emergency;
#[allow(dead_code)]
#[path = "../../../examples/examples/car2home_server.rs"]
mod server;
#[allow(dead_code)]
#[path = "../../../examples/examples/car2home_smarthome.rs"]
mod smarthome;

use std::time::Duration;

use common::{Broker, Options};
use lapin::options::BasicGetOptions;
use lapin::{Connection, ConnectionProperties};
use warren_car2home::payload::{EmergencyKind, LightMode, Power};
use warren_car2home::{validate, Command, Device};

/// Where the broker listens (each example module has its own copy of the `Endpoints` type).
#[derive(Clone)]
struct Addr {
    amqp: String,
    mqtt_host: String,
    mqtt_port: u16,
}

/// `$example::common::Endpoints` for `addr`.
macro_rules! ep {
    ($example:ident, $addr:expr) => {
        $example::common::Endpoints {
            amqp: $addr.amqp.clone(),
            mqtt_host: $addr.mqtt_host.clone(),
            mqtt_port: $addr.mqtt_port,
        }
    };
}

/// A fresh broker with the Car2Home MQTT bridge and validation on, and its addresses.
fn broker(test: &str) -> Option<(Broker, Addr)> {
    let opts = Options::default()
        .mqtt("exchange", "\"webos.topic\"")
        .car2home("validate", "true");
    let broker = Broker::fresh(test, "the examples use the shared device queues", opts)?;
    let mqtt = broker.mqtt_addr().expect("LISTENING mqtt");
    let endpoints = Addr {
        amqp: broker.url("guest", "guest"),
        mqtt_host: mqtt.ip().to_string(),
        mqtt_port: mqtt.port(),
    };
    Some((broker, endpoints))
}

/// The processing server example, running until the returned handle is aborted.
fn spawn_server(addr: &Addr) -> tokio::task::JoinHandle<u64> {
    let endpoints = ep!(server, addr);
    tokio::spawn(async move { server::run(&endpoints, None).await.expect("server example") })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn android_sign_up_is_answered_by_the_server() {
    let Some((_broker, ep)) = broker("android_sign_up_is_answered_by_the_server") else {
        return;
    };
    let server = spawn_server(&ep);
    let ok = android::sign_up(
        &ep!(android, ep),
        "eAMHGLmiBGO76PIQ54O9CpsqTb23",
        "Hong-Gil-Dong",
    )
    .await
    .unwrap();
    assert_eq!(ok.uid, "eAMHGLmiBGO76PIQ54O9CpsqTb23");
    assert!(!server.is_finished(), "the server example stopped");
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn car_panel_signs_up_and_looks_up_appliances() {
    let Some((_broker, ep)) = broker("car_panel_signs_up_and_looks_up_appliances") else {
        return;
    };
    let server = spawn_server(&ep);
    let s = car::session(&ep!(car, ep), "car-driver-1").await.unwrap();
    assert_eq!(s.signed_up, "car-driver-1");
    assert_eq!(s.appliances.query, "appliances");
    assert_eq!(s.appliances.data["aircon"], "off");
    assert!(!server.is_finished(), "the server example stopped");
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smarthome_board_over_mqtt_obeys_the_aircon_command() {
    let Some((_broker, ep)) = broker("smarthome_board_over_mqtt_obeys_the_aircon_command") else {
        return;
    };
    let server = spawn_server(&ep);
    // 24, 27, 30 °C: the third round is above the server's threshold.
    let board = smarthome::run(
        &ep!(smarthome, ep),
        Some(3),
        Duration::from_millis(200),
        1,
        Duration::from_secs(10),
    )
    .await
    .unwrap();
    let aircon = board.appliances.get("aircon").expect("an aircon command");
    assert_eq!(aircon.state, Power::On);
    assert!(!server.is_finished(), "the server example stopped");
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn camera_streams_faces_and_obeys_the_light_command() {
    let Some((_broker, ep)) = broker("camera_streams_faces_and_obeys_the_light_command") else {
        return;
    };
    let server = spawn_server(&ep);
    let state = camera::run(&ep!(camera, ep), 3, 20.0).await.unwrap();
    assert_eq!((state.mode, state.lit), (LightMode::On, true));
    assert!(!server.is_finished(), "the server example stopped");
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emergency_broadcast_reaches_every_device_queue() {
    let Some((_broker, ep)) = broker("emergency_broadcast_reaches_every_device_queue") else {
        return;
    };
    let sent = emergency::broadcast(
        &ep!(emergency, ep),
        Device::Camera,
        EmergencyKind::Fire,
        "smoke",
    )
    .await
    .unwrap();
    let props = ConnectionProperties::default()
        .with_executor(tokio_executor_trait::Tokio::current())
        .with_reactor(tokio_reactor_trait::Tokio::current());
    let conn = Connection::connect(&ep.amqp, props).await.unwrap();
    let ch = conn.create_channel().await.unwrap();
    for device in Device::ALL {
        let mut got = None;
        for _ in 0..100 {
            let opts = BasicGetOptions { no_ack: true };
            if let Some(m) = ch.basic_get(device.as_str(), opts).await.unwrap() {
                got = Some(m);
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let m = got.unwrap_or_else(|| panic!("no emergency in queue {device}"));
        let valid = warren_car2home::Validator::new()
            .validate_broadcast(&m.delivery.data)
            .unwrap();
        assert_eq!(valid.message, sent, "queue {device}");
        assert!(matches!(valid.message.command, Command::Emergency(_)));
    }
    // The invalid-message queue stayed empty: every example message passed validation.
    let opts = BasicGetOptions { no_ack: true };
    assert!(ch.basic_get("webos.invalid", opts).await.unwrap().is_none());
    // (`validate` is the same check the broker ran on webos.topic.)
    assert!(validate("webos.server.info", b"{}").is_err());
}
