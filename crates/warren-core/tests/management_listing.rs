//! What the management API reads from the core: channels of a connection and their prefetch.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // tests: a panic is the failure report

mod common;

use std::sync::Arc;

use common::Recorder;
use warren_core::*;

#[test]
fn channels_are_listed_in_order_with_their_prefetch() {
    let broker = Broker::with_defaults(BrokerConfig::default());
    let user = broker
        .authenticate(Mechanism::Plain, "guest", "guest", true)
        .unwrap();
    let conn = broker
        .open_connection(ConnectionInfo {
            user,
            vhost: "/".into(),
            peer: "127.0.0.1:1".into(),
            protocol: Protocol::Amqp091,
            client_name: None,
        })
        .unwrap();
    let sink = Arc::new(Recorder::default());
    let c3 = conn.open_channel(3, sink.clone()).unwrap();
    let c1 = conn.open_channel(1, sink).unwrap();
    c3.basic_qos(0, 10, false).unwrap();
    c1.basic_qos(0, 7, true).unwrap();
    let ids: Vec<u16> = conn.channels().iter().map(|c| c.id()).collect();
    assert_eq!(ids, vec![1, 3]);
    assert_eq!(c3.prefetch(), (10, 0));
    assert_eq!(c1.prefetch(), (0, 7));
    conn.close_channel(3);
    assert_eq!(conn.channels().len(), 1);
}
