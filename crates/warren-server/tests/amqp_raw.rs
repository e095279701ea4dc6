#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // tests: a panic is the failure report
//! The broker driven with raw AMQP frames (tests/python/amqp_raw.py) for what no client can
//! express: bad protocol headers, oversize and malformed frames, frames out of order, methods on
//! unopened channels, `immediate`, channel.flow, heartbeats, login mechanisms, the exact
//! connection.start and connection.tune contents.

mod common;

use common::Broker;

macro_rules! cases {
    ($($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                Broker::start().case("raw_cases.py", stringify!($case), &[]);
            }
        )*
    };
}

cases!(
    bad_protocol_header,
    connection_start,
    tune_defaults,
    amqplain_login,
    login_failure,
    unknown_vhost,
    frame_too_large,
    frame_over_server_max,
    bad_frame_end,
    header_without_publish,
    body_without_header,
    unopened_channel,
    channel_reopen,
    immediate,
    channel_flow,
    heartbeat_sent,
    heartbeat_missed,
    confirms_multiple,
    server_consumer_tag,
);
