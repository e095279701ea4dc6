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
//!
//! Sample inputs live in `examples/data/`; the tests in `examples/tests/` run every example's
//! logic on them and check the output. This library itself is empty: the package exists for its
//! examples and for the test that enforces the crates' dependency direction
//! (`tests/layering.rs`).
