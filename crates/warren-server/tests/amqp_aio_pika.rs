#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // tests: a panic is the failure report
//! The broker driven by aio-pika: connect (aio-pika checks the capabilities table), declare,
//! publish with publisher confirms, consume with acks, basic.get and a passive-declare error.

mod common;

use common::Broker;

#[test]
fn connect_declare_publish_confirm_consume() {
    let broker = Broker::start();
    let out = broker.script("aio_pika_flow.py", &[]);
    assert!(
        out.contains("PASS aio_pika_flow"),
        "aio_pika_flow output: {out}"
    );
}
