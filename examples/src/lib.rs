//! Example programs for the Warren crates, one command each:
//! `cargo run -p warren-examples --example <name> -- <args>`.
//!
//! | example | uses | what it shows |
//! | --- | --- | --- |
//! | `broker` | `warren-core`, `warren-server` | a broker composed by hand: core + a topology in code + AMQP and MQTT listeners |
//! | `amqp_frames` | `warren-amqp` | decode a captured AMQP 0-9-1 stream into readable frames and re-encode them |
//! | `mqtt_frames` | `warren-mqtt` | the same for MQTT 3.1 / 3.1.1 / 5.0 |
//! | `topic_router` | `warren-topic` | a routing table built from a bindings file, keys routed from stdin, timed |
//! | `car2home_validate` | `warren-car2home` | check Car2Home messages (routing key + JSON) against the schemas |
//! | `car2home_server` | `warren-car2home`, lapin | the processing server: consumes `webos.server.*` and answers the devices |
//! | `car2home_android` | `warren-car2home`, lapin | the Android app signing a user up over AMQP |
//! | `car2home_smarthome` | `warren-car2home`, rumqttc | the Arduino-style board: MQTT QoS 0 sensor readings, obeys appliance commands |
//! | `car2home_camera` | `warren-car2home`, lapin | the car webcam: face frames, illuminance, obeys light commands |
//! | `car2home_car` | `warren-car2home`, lapin | the car panel: sign-up, look-ups, appliance control |
//! | `car2home_emergency` | `warren-car2home`, lapin | an emergency broadcast on `webos.fanout` |
//!
//! The `car2home_*` device examples talk to a running broker (`cargo run --release`; they take
//! `--amqp URL` / `--mqtt HOST:PORT` or `WARREN_AMQP_URL` / `WARREN_MQTT_ADDR`); the broker's
//! `tests/car2home_examples.rs` runs them end to end against the `warren` binary.
//!
//! Sample inputs live in `examples/data/`; the tests in `examples/tests/` run every example's
//! logic on them and check the output. This library itself is empty: the package exists for its
//! examples and for the test that enforces the crates' dependency direction
//! (`tests/layering.rs`).
