#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // tests: a panic is the failure report

//! Message TTL (`x-message-ttl`, the `expiration` property), dead-lettering (rejected, expired,
//! maxlen; `x-death`; cycles) and queue expiry (`x-expires`), on a manual clock: time only
//! moves when a test moves it.

mod common;

use std::sync::Arc;

use bytes::Bytes;
use common::*;
use warren_core::*;

/// A broker on a manual clock at t = 1 000 000 ms.
fn timed_broker() -> (Arc<Broker>, Arc<ManualClock>) {
    let b = broker();
    let clock = Arc::new(ManualClock::new(1_000_000));
    assert!(b.set_clock(clock.clone()));
    assert!(!b.set_clock(clock.clone()), "the clock is set once");
    (b, clock)
}

fn declare_with(ch: &Channel, name: &str, args: &[(&str, Value)]) {
    let mut options = QueueOptions::default();
    for (k, v) in args {
        options = options.argument(k, v.clone());
    }
    ch.queue_declare(name, options, false).unwrap();
}

fn publish_expiring(ch: &Channel, key: &str, body: &str, expiration: &str) {
    let properties = Properties {
        expiration: Some(expiration.to_owned()),
        ..Properties::default()
    };
    ch.basic_publish(
        "",
        key.to_owned(),
        false,
        properties,
        Bytes::copy_from_slice(body.as_bytes()),
    )
    .unwrap();
}

fn get_body(ch: &Channel, queue: &str) -> Option<String> {
    ch.basic_get(queue, true)
        .unwrap()
        .map(|g| String::from_utf8_lossy(&g.message.body).into_owned())
}

fn header<'a>(m: &'a Message, key: &str) -> Option<&'a Value> {
    m.properties.headers.as_ref().and_then(|h| h.get(key))
}

fn deaths(m: &Message) -> Vec<FieldTable> {
    match header(m, "x-death") {
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| match v {
                Value::Table(t) => t.clone(),
                other => panic!("x-death entry is not a table: {other:?}"),
            })
            .collect(),
        other => panic!("no x-death array: {other:?}"),
    }
}

fn s<'a>(t: &'a FieldTable, key: &str) -> &'a str {
    t.get(key).and_then(Value::as_str).unwrap_or("")
}

/// `dlx` (fanout) → `dead`.
fn dead_letter_queue(ch: &Channel) {
    ch.exchange_declare("dlx", ExchangeOptions::new(ExchangeKind::Fanout))
        .unwrap();
    declare(ch, "dead");
    ch.queue_bind("dead", "dlx", "", &FieldTable::new())
        .unwrap();
}

#[test]
fn queue_ttl_expires_messages_by_the_sweep_without_consumers() {
    let (b, clock) = timed_broker();
    let conn = connect(&b);
    let (ch, _) = channel(&conn, 1);
    declare_with(&ch, "q", &[("x-message-ttl", Value::I32(1000))]);
    publish(&ch, "", "q", "old");
    clock.advance(600);
    publish(&ch, "", "q", "new");
    assert_eq!(ready(&b, "q"), 2);
    clock.advance(399);
    b.tick(clock.now_ms());
    assert_eq!(ready(&b, "q"), 2, "not yet: 999 ms");
    clock.advance(1);
    b.tick(clock.now_ms());
    assert_eq!(ready(&b, "q"), 1, "the first one at exactly its TTL");
    clock.advance(600);
    b.tick(clock.now_ms());
    assert_eq!(ready(&b, "q"), 0);
}

#[test]
fn expired_messages_are_never_delivered_nor_got() {
    let (b, clock) = timed_broker();
    let conn = connect(&b);
    let (ch, sink) = channel(&conn, 1);
    declare_with(&ch, "q", &[("x-message-ttl", Value::I32(100))]);
    publish(&ch, "", "q", "stale");
    clock.advance(100);
    // No tick: basic.get looks at the head itself.
    assert_eq!(get_body(&ch, "q"), None);
    publish(&ch, "", "q", "stale2");
    publish(&ch, "", "q", "stale3");
    clock.advance(150);
    publish(&ch, "", "q", "fresh");
    // No tick: the consumer's first dispatch drops the expired head.
    consume(&ch, "q", "c", true);
    assert_eq!(sink.bodies(), vec!["fresh"]);
}

#[test]
fn per_message_expiration_and_the_lower_of_the_two_ttls() {
    let (b, clock) = timed_broker();
    let conn = connect(&b);
    let (ch, _) = channel(&conn, 1);
    declare(&ch, "plain");
    publish_expiring(&ch, "plain", "a", "50");
    publish(&ch, "", "plain", "b");
    clock.advance(50);
    b.tick(clock.now_ms());
    assert_eq!(get_body(&ch, "plain").as_deref(), Some("b"));

    declare_with(&ch, "ttl", &[("x-message-ttl", Value::I32(1000))]);
    publish_expiring(&ch, "ttl", "short", "10"); // message TTL wins
    publish_expiring(&ch, "ttl", "long", "5000"); // queue TTL wins
    clock.advance(10);
    b.tick(clock.now_ms());
    assert_eq!(ready(&b, "ttl"), 1);
    clock.advance(990);
    b.tick(clock.now_ms());
    assert_eq!(ready(&b, "ttl"), 0);
}

#[test]
fn only_the_head_expires_as_in_rabbitmq() {
    let (b, clock) = timed_broker();
    let conn = connect(&b);
    let (ch, _) = channel(&conn, 1);
    declare(&ch, "q");
    publish_expiring(&ch, "q", "long", "1000");
    publish_expiring(&ch, "q", "short", "10");
    clock.advance(20);
    b.tick(clock.now_ms());
    // `short` has expired but waits behind `long`: counted, never delivered.
    assert_eq!(ready(&b, "q"), 2);
    assert_eq!(get_body(&ch, "q").as_deref(), Some("long"));
    assert_eq!(get_body(&ch, "q"), None);
}

#[test]
fn ttl_zero_is_delivered_now_or_never() {
    let (b, _clock) = timed_broker();
    let conn = connect(&b);
    let (ch, sink) = channel(&conn, 1);
    declare_with(&ch, "q", &[("x-message-ttl", Value::I32(0))]);
    publish(&ch, "", "q", "nobody");
    assert_eq!(ready(&b, "q"), 0, "no consumer: dropped at once");
    consume(&ch, "q", "c", false);
    publish(&ch, "", "q", "taken");
    assert_eq!(sink.bodies(), vec!["taken"]);
    // Per-message 0 behaves the same.
    declare(&ch, "p");
    publish_expiring(&ch, "p", "gone", "0");
    assert_eq!(ready(&b, "p"), 0);
}

#[test]
fn requeued_messages_keep_their_deadline() {
    let (b, clock) = timed_broker();
    let conn = connect(&b);
    let (ch, _) = channel(&conn, 1);
    declare_with(&ch, "q", &[("x-message-ttl", Value::I32(100))]);
    publish(&ch, "", "q", "m");
    let got = ch.basic_get("q", false).unwrap().unwrap();
    // Unacked messages do not expire...
    clock.advance(500);
    b.tick(clock.now_ms());
    assert_eq!(ch.unacked_count(), 1);
    // ...but once requeued, the original deadline applies.
    ch.basic_nack(got.delivery_tag, false, true).unwrap();
    assert_eq!(ready(&b, "q"), 0);
}

#[test]
fn invalid_expiration_is_refused_with_406() {
    let (b, _clock) = timed_broker();
    let conn = connect(&b);
    let (ch, _) = channel(&conn, 1);
    declare(&ch, "q");
    for bad in ["abc", "-1", " 5", "12x"] {
        let properties = Properties {
            expiration: Some(bad.to_owned()),
            ..Properties::default()
        };
        let e = ch
            .basic_publish("", "q".into(), false, properties, Bytes::new())
            .unwrap_err();
        assert_eq!(e.reply_code(), 406, "{bad}: {e}");
    }
}

#[test]
fn queue_arguments_are_validated_like_rabbitmq() {
    let b = broker();
    let conn = connect(&b);
    let (ch, _) = channel(&conn, 1);
    let cases: Vec<(Vec<(&str, Value)>, &str)> = vec![
        (
            vec![("x-message-ttl", Value::I32(-1))],
            "{value_negative,-1}",
        ),
        (vec![("x-expires", Value::I32(0))], "{value_zero,0}"),
        (
            vec![("x-message-ttl", Value::str("100"))],
            "\"expected integer, got longstr\"",
        ),
        (
            vec![("x-dead-letter-routing-key", Value::str("k"))],
            "routing_key_but_no_dlx_defined",
        ),
    ];
    for (args, reason) in cases {
        let mut options = QueueOptions::default();
        for (k, v) in args {
            options = options.argument(k, v);
        }
        let e = ch.queue_declare("bad", options, false).unwrap_err();
        assert_eq!(e.reply_code(), 406);
        assert!(e.to_string().ends_with(reason), "{e}");
    }
}

#[test]
fn rejected_messages_are_dead_lettered_with_x_death() {
    let (b, clock) = timed_broker();
    let conn = connect(&b);
    let (ch, sink) = channel(&conn, 1);
    dead_letter_queue(&ch);
    declare_with(
        &ch,
        "work",
        &[("x-dead-letter-exchange", Value::str("dlx"))],
    );
    let properties = Properties {
        expiration: Some("60000".into()),
        headers: Some([("app", Value::str("kept"))].into_iter().collect()),
        ..Properties::default()
    };
    ch.basic_publish(
        "",
        "work".into(),
        false,
        properties,
        Bytes::from_static(b"job"),
    )
    .unwrap();
    consume(&ch, "work", "c", false);
    let d = sink.take().pop().unwrap();
    ch.basic_reject(d.delivery_tag, false).unwrap();

    let g = ch.basic_get("dead", true).unwrap().unwrap();
    let m = &g.message;
    assert_eq!(&*m.body, b"job");
    assert_eq!((&*m.exchange, m.routing_key.as_str()), ("dlx", "work"));
    assert_eq!(m.properties.expiration, None, "expiration is removed");
    assert_eq!(header(m, "app").and_then(Value::as_str), Some("kept"));
    assert_eq!(
        header(m, "x-first-death-reason").and_then(Value::as_str),
        Some("rejected")
    );
    assert_eq!(
        header(m, "x-first-death-queue").and_then(Value::as_str),
        Some("work")
    );
    assert_eq!(
        header(m, "x-first-death-exchange").and_then(Value::as_str),
        Some("")
    );
    let x = deaths(m);
    assert_eq!(x.len(), 1);
    assert_eq!(
        (s(&x[0], "queue"), s(&x[0], "reason"), s(&x[0], "exchange")),
        ("work", "rejected", "")
    );
    assert_eq!(x[0].get("count").and_then(Value::as_i128), Some(1));
    assert_eq!(
        x[0].get("time"),
        Some(&Value::Timestamp(clock.now_ms() / 1000))
    );
    assert_eq!(
        x[0].get("routing-keys"),
        Some(&Value::Array(vec![Value::str("work")]))
    );
    assert_eq!(s(&x[0], "original-expiration"), "60000");
}

#[test]
fn nack_multiple_dead_letters_each_and_requeue_does_not() {
    let (b, _clock) = timed_broker();
    let conn = connect(&b);
    let (ch, _) = channel(&conn, 1);
    dead_letter_queue(&ch);
    declare_with(
        &ch,
        "work",
        &[("x-dead-letter-exchange", Value::str("dlx"))],
    );
    for body in ["1", "2", "3"] {
        publish(&ch, "", "work", body);
    }
    let tags: Vec<u64> = (0..3)
        .map(|_| ch.basic_get("work", false).unwrap().unwrap().delivery_tag)
        .collect();
    ch.basic_nack(tags[0], false, true).unwrap();
    assert_eq!((ready(&b, "work"), ready(&b, "dead")), (1, 0));
    ch.basic_nack(tags[2], true, false).unwrap();
    assert_eq!((ready(&b, "work"), ready(&b, "dead")), (1, 2));
    assert_eq!(get_body(&ch, "dead").as_deref(), Some("2"));
    assert_eq!(get_body(&ch, "dead").as_deref(), Some("3"));
}

#[test]
fn expired_messages_are_dead_lettered_with_the_routing_key_argument() {
    let (b, clock) = timed_broker();
    let conn = connect(&b);
    let (ch, _) = channel(&conn, 1);
    ch.exchange_declare("dlx.direct", ExchangeOptions::new(ExchangeKind::Direct))
        .unwrap();
    declare(&ch, "dead");
    ch.queue_bind("dead", "dlx.direct", "parked", &FieldTable::new())
        .unwrap();
    declare_with(
        &ch,
        "delay",
        &[
            ("x-message-ttl", Value::I32(500)),
            ("x-dead-letter-exchange", Value::str("dlx.direct")),
            ("x-dead-letter-routing-key", Value::str("parked")),
        ],
    );
    publish(&ch, "", "delay", "later");
    clock.advance(500);
    b.tick(clock.now_ms());
    assert_eq!((ready(&b, "delay"), ready(&b, "dead")), (0, 1));
    let m = ch.basic_get("dead", true).unwrap().unwrap().message;
    assert_eq!(m.routing_key, "parked");
    let x = deaths(&m);
    assert_eq!(
        (s(&x[0], "queue"), s(&x[0], "reason")),
        ("delay", "expired")
    );
    assert_eq!(
        x[0].get("routing-keys"),
        Some(&Value::Array(vec![Value::str("delay")]))
    );
    assert!(x[0].get("original-expiration").is_none());
}

#[test]
fn drop_head_overflow_dead_letters_with_maxlen() {
    let (b, _clock) = timed_broker();
    let conn = connect(&b);
    let (ch, _) = channel(&conn, 1);
    dead_letter_queue(&ch);
    declare_with(
        &ch,
        "small",
        &[
            ("x-max-length", Value::I32(2)),
            ("x-dead-letter-exchange", Value::str("dlx")),
        ],
    );
    for body in ["1", "2", "3", "4"] {
        publish(&ch, "", "small", body);
    }
    assert_eq!((ready(&b, "small"), ready(&b, "dead")), (2, 2));
    let m = ch.basic_get("dead", true).unwrap().unwrap().message;
    assert_eq!(&*m.body, b"1");
    assert_eq!(s(&deaths(&m)[0], "reason"), "maxlen");
}

#[test]
fn expiry_back_to_the_same_queue_is_a_cycle_and_is_cut() {
    let (b, clock) = timed_broker();
    let conn = connect(&b);
    let (ch, _) = channel(&conn, 1);
    // Dead letters go back to `loop` itself through the default exchange.
    declare_with(
        &ch,
        "loop",
        &[
            ("x-message-ttl", Value::I32(100)),
            ("x-dead-letter-exchange", Value::str("")),
        ],
    );
    publish(&ch, "", "loop", "m");
    clock.advance(100);
    b.tick(clock.now_ms());
    // Expired once: routed back to `loop`, which it already died in: dropped.
    assert_eq!(ready(&b, "loop"), 0);
}

#[test]
fn a_rejection_in_the_loop_is_not_a_cycle_and_counts_grow() {
    let (b, clock) = timed_broker();
    let conn = connect(&b);
    let (ch, _) = channel(&conn, 1);
    // work --(reject)--> dlx → retry (ttl 100) --(expired, via "")--> work
    ch.exchange_declare("dlx", ExchangeOptions::new(ExchangeKind::Fanout))
        .unwrap();
    declare_with(
        &ch,
        "work",
        &[("x-dead-letter-exchange", Value::str("dlx"))],
    );
    declare_with(
        &ch,
        "retry",
        &[
            ("x-message-ttl", Value::I32(100)),
            ("x-dead-letter-exchange", Value::str("")),
            ("x-dead-letter-routing-key", Value::str("work")),
        ],
    );
    ch.queue_bind("retry", "dlx", "", &FieldTable::new())
        .unwrap();
    publish(&ch, "", "work", "job");
    for round in 1..=2 {
        let g = ch.basic_get("work", false).unwrap().unwrap();
        ch.basic_reject(g.delivery_tag, false).unwrap();
        assert_eq!(ready(&b, "retry"), 1);
        clock.advance(100);
        b.tick(clock.now_ms());
        assert_eq!(ready(&b, "work"), 1, "round {round}");
        let m = ch.basic_get("work", false).unwrap().unwrap();
        let x = deaths(&m.message);
        assert_eq!(x.len(), 2);
        assert_eq!(
            (s(&x[0], "queue"), s(&x[0], "reason")),
            ("retry", "expired")
        );
        assert_eq!(
            (s(&x[1], "queue"), s(&x[1], "reason")),
            ("work", "rejected")
        );
        assert_eq!(x[0].get("count").and_then(Value::as_i128), Some(round));
        assert_eq!(x[1].get("count").and_then(Value::as_i128), Some(round));
        assert_eq!(
            header(&m.message, "x-first-death-queue").and_then(Value::as_str),
            Some("work")
        );
        ch.basic_nack(m.delivery_tag, false, true).unwrap();
    }
}

#[test]
fn missing_dead_letter_exchange_drops() {
    let (b, clock) = timed_broker();
    let conn = connect(&b);
    let (ch, _) = channel(&conn, 1);
    declare_with(
        &ch,
        "q",
        &[
            ("x-message-ttl", Value::I32(10)),
            ("x-dead-letter-exchange", Value::str("nowhere")),
        ],
    );
    publish(&ch, "", "q", "m");
    clock.advance(10);
    b.tick(clock.now_ms());
    assert_eq!(ready(&b, "q"), 0);
}

#[test]
fn unused_queues_expire_and_use_resets_the_timer() {
    let (b, clock) = timed_broker();
    let conn = connect(&b);
    let (ch, _) = channel(&conn, 1);
    let vhost = b.vhost("/").unwrap();
    let args = [("x-expires", Value::I32(1000))];
    declare_with(&ch, "idle", &args);
    publish(&ch, "", "idle", "m");
    clock.advance(900);
    b.tick(clock.now_ms());
    // A redeclare is a use.
    declare_with(&ch, "idle", &args);
    clock.advance(900);
    b.tick(clock.now_ms());
    // So is a basic.get (even an empty-handed one).
    assert_eq!(get_body(&ch, "idle").as_deref(), Some("m"));
    clock.advance(900);
    b.tick(clock.now_ms());
    assert!(vhost.queue("idle").is_some());
    // A consumer keeps it; the timer restarts when the last one leaves.
    let tag = consume(&ch, "idle", "c", true);
    clock.advance(5000);
    b.tick(clock.now_ms());
    assert!(vhost.queue("idle").is_some());
    ch.basic_cancel(&tag).unwrap();
    clock.advance(999);
    b.tick(clock.now_ms());
    assert!(vhost.queue("idle").is_some());
    clock.advance(1);
    b.tick(clock.now_ms());
    assert!(
        vhost.queue("idle").is_none(),
        "unused for x-expires: deleted"
    );
}

#[test]
fn without_a_clock_the_broker_uses_the_time_of_the_last_tick() {
    let b = broker();
    let conn = connect(&b);
    let (ch, _) = channel(&conn, 1);
    b.tick(10_000);
    declare_with(&ch, "q", &[("x-message-ttl", Value::I32(1000))]);
    publish(&ch, "", "q", "m"); // stamped 10 000 + 1000
    b.tick(10_999);
    assert_eq!(ready(&b, "q"), 1);
    b.tick(11_000);
    assert_eq!(ready(&b, "q"), 0);
}

#[test]
fn queues_without_ttl_are_untouched_by_the_sweep() {
    let (b, clock) = timed_broker();
    let conn = connect(&b);
    let (ch, _) = channel(&conn, 1);
    declare(&ch, "q");
    for i in 0..100 {
        publish(&ch, "", "q", &i.to_string());
    }
    clock.advance(u64::from(u32::MAX));
    b.tick(clock.now_ms());
    assert_eq!(ready(&b, "q"), 100);
}

#[test]
fn on_the_durable_store_expired_messages_stay_gone_and_dead_letters_survive() {
    use warren_core::store::StoreConfig;
    let persistent = || Properties {
        delivery_mode: Some(2),
        ..Properties::default()
    };
    let dir = tempfile::tempdir().unwrap();
    let (store, b) = boot_store(StoreConfig::new(dir.path()));
    let clock = Arc::new(ManualClock::new(1_000_000));
    b.set_clock(clock.clone());
    {
        let conn = connect(&b);
        let (ch, _) = channel(&conn, 1);
        ch.exchange_declare(
            "dlx",
            ExchangeOptions::new(ExchangeKind::Fanout).durable(true),
        )
        .unwrap();
        ch.queue_declare("dead", QueueOptions::default().durable(true), false)
            .unwrap();
        ch.queue_bind("dead", "dlx", "", &FieldTable::new())
            .unwrap();
        let ttl = QueueOptions::default()
            .durable(true)
            .argument("x-message-ttl", 100i32)
            .argument("x-dead-letter-exchange", "dlx");
        ch.queue_declare("delay", ttl, false).unwrap();
        for body in ["a", "b", "c"] {
            ch.basic_publish(
                "",
                "delay".into(),
                false,
                persistent(),
                Bytes::from_static(body.as_bytes()),
            )
            .unwrap();
        }
        clock.advance(100);
        b.tick(clock.now_ms());
        assert_eq!((ready(&b, "delay"), ready(&b, "dead")), (0, 3));
        // A message still waiting at the restart (checked below).
        let keep = QueueOptions::default()
            .durable(true)
            .argument("x-message-ttl", 60_000i32);
        ch.queue_declare("slow", keep, false).unwrap();
        ch.basic_publish("", "slow".into(), false, persistent(), Bytes::new())
            .unwrap();
        store.sync().unwrap();
    }
    store.close();
    drop(b);
    drop(store);

    let (store, b) = boot_store(StoreConfig::new(dir.path()));
    let clock = Arc::new(ManualClock::new(5_000_000));
    b.set_clock(clock.clone());
    assert_eq!(ready(&b, "delay"), 0, "expired messages do not come back");
    assert_eq!(
        ready(&b, "dead"),
        3,
        "dead letters are persistent publishes"
    );
    let conn = connect(&b);
    let (ch, _) = channel(&conn, 1);
    let m = ch.basic_get("dead", true).unwrap().unwrap().message;
    assert_eq!(
        header(&m, "x-first-death-reason").and_then(Value::as_str),
        Some("expired")
    );
    // The recovered message's TTL restarts at the first sweep after the restart.
    assert_eq!(ready(&b, "slow"), 1);
    b.tick(clock.now_ms());
    clock.advance(59_999);
    b.tick(clock.now_ms());
    assert_eq!(ready(&b, "slow"), 1);
    clock.advance(1);
    b.tick(clock.now_ms());
    assert_eq!(ready(&b, "slow"), 0);
    store.close();
}
