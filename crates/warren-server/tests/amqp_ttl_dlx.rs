#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // tests: a panic is the failure report
//! Message TTL, dead-lettering and queue expiry through pika (`python/pika_ttl_dlx.py`), one
//! test per case; each case's docstring says what it checks. Every case passes against
//! RabbitMQ 3.10 (`WARREN_TEST_BROKER=127.0.0.1:26672`).

mod common;

use common::Broker;

macro_rules! cases {
    ($script:literal: $($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                Broker::start().case($script, stringify!($case), &[]);
            }
        )*
    };
}

cases!("pika_ttl_dlx.py":
    queue_ttl, message_expiration, ttl_zero, dlx_rejected, dlx_nack_requeue,
    dlx_expired_routing_key, dlx_maxlen, dlx_cycle, dlx_retry_loop, dlx_missing_exchange,
    queue_expires, invalid_arguments, invalid_expiration,
);
