#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // tests: a panic is the failure report
//! The broker driven by pika (Python): the seed's three examples and one test per behaviour of
//! issue 5. Each test runs one case of a script in tests/python/ against its own broker (or the
//! external one of WARREN_TEST_BROKER); the case's docstring says what it checks.

mod common;

/// One `#[test]` per case name of a Python case script.
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

mod seed {
    use super::common::{unique, Broker};

    /// Seed examples 1 and 2: send "Hello" to `icecoffe` via the default exchange, then consume
    /// it with auto_ack (one test: both use the fixed queue name).
    #[test]
    fn send_then_receive_icecoffe() {
        let broker = Broker::start();
        let body = unique("Hello World!");
        let sent = broker.script("seed_send.py", &[&body]);
        assert!(
            sent.contains(&format!("[x] Sent '{body}'")),
            "seed_send output: {sent}"
        );
        let got = broker.script("seed_receive.py", &[&body]);
        assert!(
            got.contains(&format!("[x] Received '{body}'")),
            "seed_receive output: {got}"
        );
    }

    /// Seed example 3: publish through direct exchange `test321` with routing key `amqtest`.
    #[test]
    fn direct_exchange_test321() {
        let out = Broker::start().script("seed_direct.py", &[]);
        assert!(
            out.contains("PASS seed_direct"),
            "seed_direct output: {out}"
        );
    }
}

mod queues {
    use super::common::Broker;
    cases!("pika_queues.py":
        server_named, declare_ok_counts, passive, redeclare_mismatch, exclusive, auto_delete, purge,
        delete_if_unused, delete_if_empty, delete_idempotent, durable,
    );
}

mod exchanges {
    use super::common::Broker;
    cases!("pika_exchanges.py":
        predeclared, reserved_prefix, default_exchange, direct, fanout, topic_car2home, headers,
        redeclare_mismatch, passive, delete_if_unused, publish_missing_exchange, bind_missing,
        internal, exchange_to_exchange, auto_delete,
    );
}

mod delivery {
    use super::common::Broker;
    cases!("pika_delivery.py":
        round_robin, prefetch_per_consumer, prefetch_global, prefetch_both, no_ack, basic_get,
        ack_multiple, nack_multiple_requeue, reject, unknown_delivery_tag,
        requeue_on_channel_close, requeue_on_connection_close, redelivered_flag, recover,
        recover_no_requeue,
        exclusive_consumer, cancel_notify, confirms, mandatory_return, properties_roundtrip,
        direct_reply_to,
        large_message,
    );
}

mod connection {
    use super::common::Broker;
    cases!("pika_connection.py":
        channel_error_403, channel_error_404, channel_error_405, channel_error_406,
        pika_login_failure, logins, two_threads, connection_close,
    );

    /// pika without a heartbeat preference takes the broker's 60 s; with one, its own.
    #[test]
    fn heartbeat_negotiated() {
        Broker::start().case("pika_connection.py", "heartbeat_negotiated", &["60"]);
    }
}
