#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // tests: a panic is the failure report

//! Exchanges, queues, bindings and every error code, worded as RabbitMQ 3.10 words them
//! (texts captured from a real RabbitMQ with pika).

mod common;

use common::*;
use warren_core::*;

fn t() -> FieldTable {
    FieldTable::new()
}

#[test]
fn exchange_redeclare_rules() {
    let b = broker();
    let c = connect(&b);
    let (ch, _) = channel(&c, 1);
    ch.exchange_declare("px1", ExchangeOptions::new(ExchangeKind::Direct))
        .unwrap();
    ch.exchange_declare("px1", ExchangeOptions::new(ExchangeKind::Direct))
        .unwrap();
    let cases = [
        (
            ExchangeOptions::new(ExchangeKind::Fanout),
            "PRECONDITION_FAILED - inequivalent arg 'type' for exchange 'px1' in vhost '/': received 'fanout' but current is 'direct'",
        ),
        (
            ExchangeOptions::new(ExchangeKind::Direct).durable(true),
            "PRECONDITION_FAILED - inequivalent arg 'durable' for exchange 'px1' in vhost '/': received 'true' but current is 'false'",
        ),
        (
            ExchangeOptions::new(ExchangeKind::Direct).auto_delete(true),
            "PRECONDITION_FAILED - inequivalent arg 'auto_delete' for exchange 'px1' in vhost '/': received 'true' but current is 'false'",
        ),
        (
            ExchangeOptions::new(ExchangeKind::Direct).internal(true),
            "PRECONDITION_FAILED - inequivalent arg 'internal' for exchange 'px1' in vhost '/': received 'true' but current is 'false'",
        ),
    ];
    for (opts, want) in cases {
        let e = ch.exchange_declare("px1", opts).unwrap_err();
        assert_eq!(text(e.clone()), (406, want.to_owned()));
        assert_eq!(e.scope(), ErrorScope::Channel);
    }
    let mut ae = ExchangeOptions::new(ExchangeKind::Direct);
    ae.arguments.insert("alternate-exchange", "x");
    assert_eq!(
        text(ch.exchange_declare("px1", ae).unwrap_err()).1,
        "PRECONDITION_FAILED - inequivalent arg 'alternate-exchange' for exchange 'px1' in vhost '/': received the value 'x' of type 'longstr' but current is none"
    );
}

#[test]
fn exchange_names_and_system_exchanges() {
    let b = broker();
    let c = connect(&b);
    let (ch, _) = channel(&c, 1);
    assert_eq!(
        text(ch.exchange_declare_passive("nope").unwrap_err()),
        (404, "NOT_FOUND - no exchange 'nope' in vhost '/'".into())
    );
    assert_eq!(
        text(
            ch.exchange_declare("amq.foo", ExchangeOptions::new(ExchangeKind::Direct))
                .unwrap_err()
        ),
        (
            403,
            "ACCESS_REFUSED - exchange name 'amq.foo' contains reserved prefix 'amq.*'".into()
        )
    );
    // Predeclared, durable: same properties fine, others 406.
    ch.exchange_declare(
        "amq.direct",
        ExchangeOptions::new(ExchangeKind::Direct).durable(true),
    )
    .unwrap();
    assert_eq!(
        text(ch.exchange_declare("amq.direct", ExchangeOptions::new(ExchangeKind::Direct)).unwrap_err()).1,
        "PRECONDITION_FAILED - inequivalent arg 'durable' for exchange 'amq.direct' in vhost '/': received 'false' but current is 'true'"
    );
    for name in ["amq.fanout", "amq.topic", "amq.headers", "amq.match"] {
        ch.exchange_declare_passive(name).unwrap();
    }
    let e = ExchangeKind::parse("foo").unwrap_err();
    assert_eq!(
        text(e.clone()),
        (503, "COMMAND_INVALID - invalid exchange type 'foo'".into())
    );
    assert_eq!(e.scope(), ErrorScope::Connection);
    let default = "ACCESS_REFUSED - operation not permitted on the default exchange".to_owned();
    assert_eq!(
        text(ch.exchange_delete("", false).unwrap_err()),
        (403, default.clone())
    );
    assert_eq!(
        text(
            ch.exchange_declare("", ExchangeOptions::new(ExchangeKind::Direct))
                .unwrap_err()
        )
        .1,
        default
    );
    assert_eq!(
        text(ch.exchange_declare_passive("").unwrap_err()).1,
        default
    );
    declare(&ch, "pq1");
    assert_eq!(
        text(ch.queue_bind("pq1", "", "pq1", &t()).unwrap_err()).1,
        default
    );
    assert_eq!(
        text(ch.queue_unbind("pq1", "", "pq1", &t()).unwrap_err()).1,
        default
    );
    assert_eq!(
        text(ch.exchange_bind("amq.direct", "", "k", &t()).unwrap_err()).1,
        default
    );
    assert_eq!(
        text(ch.exchange_bind("", "amq.direct", "k", &t()).unwrap_err()).1,
        default
    );
    assert_eq!(
        text(ch.exchange_delete("amq.direct", false).unwrap_err()),
        (
            403,
            "ACCESS_REFUSED - deletion of system exchange 'amq.direct' in vhost '/' not allowed"
                .into()
        )
    );
    // Idempotent deletes and unbinds.
    ch.exchange_delete("nope", false).unwrap();
    ch.queue_delete("nope", false, false).unwrap();
    ch.queue_unbind("pq1", "amq.direct", "nokey", &t()).unwrap();
    ch.queue_unbind("nope", "amq.direct", "nokey", &t())
        .unwrap();
    ch.queue_unbind("pq1", "nope", "nokey", &t()).unwrap();
}

#[test]
fn exchange_delete_if_unused_and_auto_delete() {
    let b = broker();
    let c = connect(&b);
    let (ch, _) = channel(&c, 1);
    ch.exchange_declare("px", ExchangeOptions::new(ExchangeKind::Direct))
        .unwrap();
    declare(&ch, "q");
    ch.queue_bind("q", "px", "k", &t()).unwrap();
    assert_eq!(
        text(ch.exchange_delete("px", true).unwrap_err()),
        (
            406,
            "PRECONDITION_FAILED - exchange 'px' in vhost '/' in use".into()
        )
    );
    ch.exchange_delete("px", false).unwrap();
    assert!(b.vhost("/").unwrap().exchange("px").is_none());

    // Auto-delete: goes when its last binding goes (not before it ever had one).
    ch.exchange_declare(
        "ad",
        ExchangeOptions::new(ExchangeKind::Fanout).auto_delete(true),
    )
    .unwrap();
    ch.exchange_declare_passive("ad").unwrap();
    ch.queue_bind("q", "ad", "", &t()).unwrap();
    ch.queue_bind("q", "ad", "other", &t()).unwrap();
    ch.queue_unbind("q", "ad", "", &t()).unwrap();
    ch.exchange_declare_passive("ad").unwrap();
    ch.queue_unbind("q", "ad", "other", &t()).unwrap();
    assert_eq!(
        ch.exchange_declare_passive("ad").unwrap_err().reply_code(),
        404
    );

    // Deleting the queue removes its bindings, which auto-deletes the exchange too.
    ch.exchange_declare(
        "ad2",
        ExchangeOptions::new(ExchangeKind::Fanout).auto_delete(true),
    )
    .unwrap();
    ch.queue_bind("q", "ad2", "", &t()).unwrap();
    ch.queue_delete("q", false, false).unwrap();
    assert_eq!(
        ch.exchange_declare_passive("ad2").unwrap_err().reply_code(),
        404
    );
}

#[test]
fn queue_declare_rules() {
    let b = broker();
    let c = connect(&b);
    let (ch, _) = channel(&c, 1);
    let ok = ch
        .queue_declare("pq1", QueueOptions::default(), false)
        .unwrap();
    assert_eq!(
        ok,
        QueueDeclareOk {
            queue: "pq1".into(),
            message_count: 0,
            consumer_count: 0
        }
    );
    assert_eq!(
        text(ch.queue_declare("pq1", QueueOptions::default().durable(true), false).unwrap_err()),
        (406, "PRECONDITION_FAILED - inequivalent arg 'durable' for queue 'pq1' in vhost '/': received 'true' but current is 'false'".into())
    );
    assert_eq!(
        text(ch.queue_declare("pq1", QueueOptions::default().auto_delete(true), false).unwrap_err()).1,
        "PRECONDITION_FAILED - inequivalent arg 'auto_delete' for queue 'pq1' in vhost '/': received 'true' but current is 'false'"
    );
    let locked = "RESOURCE_LOCKED - cannot obtain exclusive access to locked queue 'pq1' in vhost '/'. It could be originally declared on another connection or the exclusive property value does not match that of the original declaration.";
    assert_eq!(
        text(
            ch.queue_declare("pq1", QueueOptions::default().exclusive(true), false)
                .unwrap_err()
        ),
        (405, locked.into())
    );
    assert_eq!(
        text(ch.queue_declare("pq1", QueueOptions::default().argument("x-max-length", 10), false).unwrap_err()).1,
        "PRECONDITION_FAILED - inequivalent arg 'x-max-length' for queue 'pq1' in vhost '/': received the value '10' of type 'signedint' but current is none"
    );
    // Unknown (non-compared) arguments are ignored, as RabbitMQ.
    ch.queue_declare("pq1", QueueOptions::default().argument("foo", 1), false)
        .unwrap();
    ch.queue_declare(
        "pqa",
        QueueOptions::default().argument("x-max-length", 10),
        false,
    )
    .unwrap();
    assert_eq!(
        text(ch.queue_declare("pqa", QueueOptions::default().argument("x-max-length", 20i64), false).unwrap_err()).1,
        "PRECONDITION_FAILED - inequivalent arg 'x-max-length' for queue 'pqa' in vhost '/': received '20' but current is '10'"
    );
    assert_eq!(
        text(ch.queue_declare("pqa", QueueOptions::default(), false).unwrap_err()).1,
        "PRECONDITION_FAILED - inequivalent arg 'x-max-length' for queue 'pqa' in vhost '/': received none but current is the value '10' of type 'signedint'"
    );
    // Integer width does not matter.
    ch.queue_declare(
        "pqa",
        QueueOptions::default().argument("x-max-length", 10i64),
        false,
    )
    .unwrap();
    assert_eq!(
        text(ch.queue_declare("pqb", QueueOptions::default().argument("x-max-length", "abc"), false).unwrap_err()).1,
        "PRECONDITION_FAILED - invalid arg 'x-max-length' for queue 'pqb' in vhost '/': \"expected integer, got longstr\""
    );
    assert_eq!(
        text(ch.queue_declare("pqb", QueueOptions::default().argument("x-max-length", -1), false).unwrap_err()).1,
        "PRECONDITION_FAILED - invalid arg 'x-max-length' for queue 'pqb' in vhost '/': {value_negative,-1}"
    );
    assert_eq!(
        text(ch.queue_declare("pqb", QueueOptions::default().argument("x-overflow", "foo"), false).unwrap_err()).1,
        "PRECONDITION_FAILED - invalid arg 'x-overflow' for queue 'pqb' in vhost '/': invalid_overflow"
    );
    assert_eq!(
        text(
            ch.queue_declare("nope", QueueOptions::default(), true)
                .unwrap_err()
        ),
        (404, "NOT_FOUND - no queue 'nope' in vhost '/'".into())
    );
    assert_eq!(
        text(
            ch.queue_declare("amq.foo", QueueOptions::default(), false)
                .unwrap_err()
        ),
        (
            403,
            "ACCESS_REFUSED - queue name 'amq.foo' contains reserved prefix 'amq.*'".into()
        )
    );
    let gen = ch
        .queue_declare("", QueueOptions::default().exclusive(true), false)
        .unwrap();
    assert!(
        gen.queue.starts_with("amq.gen-") && gen.queue.len() == 30,
        "{}",
        gen.queue
    );
    // An empty name then means the last declared queue.
    publish(&ch, "", &gen.queue, "m");
    assert_eq!(
        ch.queue_declare("", QueueOptions::default(), true)
            .unwrap()
            .message_count,
        1
    );
    assert_eq!(ch.queue_purge("").unwrap(), 1);
}

#[test]
fn queue_counts_delete_and_purge() {
    let b = broker();
    let c = connect(&b);
    let (ch, _) = channel(&c, 1);
    declare(&ch, "q");
    publish(&ch, "", "q", "a");
    publish(&ch, "", "q", "b");
    let ok = ch
        .queue_declare("q", QueueOptions::default(), true)
        .unwrap();
    assert_eq!((ok.message_count, ok.consumer_count), (2, 0));
    assert_eq!(
        text(ch.queue_delete("q", false, true).unwrap_err()),
        (
            406,
            "PRECONDITION_FAILED - queue 'q' in vhost '/' not empty".into()
        )
    );
    let (ch2, _) = channel(&c, 2);
    consume(&ch2, "q", "c1", false);
    assert_eq!(
        ch.queue_declare("q", QueueOptions::default(), false)
            .unwrap()
            .consumer_count,
        1
    );
    assert_eq!(
        text(ch.queue_delete("q", true, false).unwrap_err()),
        (
            406,
            "PRECONDITION_FAILED - queue 'q' in vhost '/' in use".into()
        )
    );
    declare(&ch, "p");
    publish(&ch, "", "p", "x");
    assert_eq!(ch.queue_purge("p").unwrap(), 1);
    assert_eq!(ch.queue_purge("p").unwrap(), 0);
    assert_eq!(ch.queue_delete("p", false, false).unwrap(), 0);
    for e in [
        ch.queue_purge("nope").unwrap_err(),
        ch.basic_get("nope", false).unwrap_err(),
        ch.basic_consume("nope", "", false, false, |_| {})
            .unwrap_err(),
        ch.queue_bind("nope", "amq.direct", "k", &t()).unwrap_err(),
    ] {
        assert_eq!(
            text(e),
            (404, "NOT_FOUND - no queue 'nope' in vhost '/'".into())
        );
    }
    assert_eq!(
        text(ch.queue_bind("q", "nope", "k", &t()).unwrap_err()),
        (404, "NOT_FOUND - no exchange 'nope' in vhost '/'".into())
    );
    assert_eq!(
        ch.exchange_bind("amq.direct", "nope", "k", &t())
            .unwrap_err()
            .reply_code(),
        404
    );
}

#[test]
fn exclusive_queues_belong_to_their_connection() {
    let b = broker();
    let owner = connect(&b);
    let (och, _) = channel(&owner, 1);
    och.queue_declare("pqx", QueueOptions::default().exclusive(true), false)
        .unwrap();
    let other = connect(&b);
    let (ch, _) = channel(&other, 1);
    let errors = [
        ch.queue_declare("pqx", QueueOptions::default().exclusive(true), false)
            .unwrap_err(),
        ch.queue_declare("pqx", QueueOptions::default(), false)
            .unwrap_err(),
        ch.queue_declare("pqx", QueueOptions::default(), true)
            .unwrap_err(),
        ch.basic_consume("pqx", "", false, false, |_| {})
            .unwrap_err(),
        ch.basic_get("pqx", false).unwrap_err(),
        ch.queue_delete("pqx", false, false).unwrap_err(),
        ch.queue_bind("pqx", "amq.direct", "k", &t()).unwrap_err(),
        ch.queue_purge("pqx").unwrap_err(),
    ];
    for e in errors {
        assert_eq!(e.reply_code(), 405, "{e}");
        assert_eq!(e.scope(), ErrorScope::Channel);
    }
    // The owner redeclaring it non-exclusive is also 405.
    assert_eq!(
        och.queue_declare("pqx", QueueOptions::default(), false)
            .unwrap_err()
            .reply_code(),
        405
    );
    // The owner may use it from any of its channels; closing the connection deletes it.
    let (och2, _) = channel(&owner, 2);
    och2.queue_declare("pqx", QueueOptions::default().exclusive(true), false)
        .unwrap();
    owner.close();
    assert!(b.vhost("/").unwrap().queue("pqx").is_none());
    ch.queue_declare("pqx", QueueOptions::default().exclusive(true), false)
        .unwrap();
}

#[test]
fn consumer_exclusivity_and_tag_reuse() {
    let b = broker();
    let c = connect(&b);
    let (ch, _) = channel(&c, 1);
    declare(&ch, "q");
    consume(&ch, "q", "c1", false);
    let e = ch
        .basic_consume("q", "c2", false, true, |_| {})
        .unwrap_err();
    assert_eq!(
        text(e),
        (
            403,
            "ACCESS_REFUSED - queue 'q' in vhost '/' in exclusive use".into()
        )
    );
    let e = ch
        .basic_consume("q", "c1", false, false, |_| {})
        .unwrap_err();
    assert_eq!(
        text(e.clone()),
        (
            530,
            "NOT_ALLOWED - attempt to reuse consumer tag 'c1'".into()
        )
    );
    assert_eq!(e.scope(), ErrorScope::Connection);
    declare(&ch, "q2");
    ch.basic_consume("q2", "x1", false, true, |_| {}).unwrap();
    assert_eq!(
        ch.basic_consume("q2", "x2", false, false, |_| {})
            .unwrap_err()
            .reply_code(),
        403
    );
    let generated = ch.basic_consume("q2", "", false, false, |_| {});
    assert!(generated.is_err());
    let tag = ch.basic_consume("q", "", false, false, |_| {}).unwrap();
    assert!(tag.starts_with("amq.ctag-") && tag.len() == 31, "{tag}");
}

#[test]
fn publish_errors() {
    let b = Broker::with_defaults(BrokerConfig {
        max_message_size: 4,
        ..BrokerConfig::default()
    });
    let c = connect(&b);
    let (ch, _) = channel(&c, 1);
    ch.exchange_declare(
        "pxi",
        ExchangeOptions::new(ExchangeKind::Direct).internal(true),
    )
    .unwrap();
    let p = |ex: &str, props: Properties, body: &'static [u8]| {
        ch.basic_publish(
            ex,
            "k".into(),
            false,
            props,
            bytes::Bytes::from_static(body),
        )
    };
    assert_eq!(
        text(p("pxi", Properties::default(), b"x").unwrap_err()),
        (
            403,
            "ACCESS_REFUSED - cannot publish to internal exchange 'pxi' in vhost '/'".into()
        )
    );
    assert_eq!(
        text(p("nope", Properties::default(), b"x").unwrap_err()),
        (404, "NOT_FOUND - no exchange 'nope' in vhost '/'".into())
    );
    let bob = Properties {
        user_id: Some("bob".into()),
        ..Properties::default()
    };
    assert_eq!(
        text(p("", bob, b"x").unwrap_err()),
        (406, "PRECONDITION_FAILED - user_id property set to 'bob' but authenticated user was 'guest'".into())
    );
    let me = Properties {
        user_id: Some("guest".into()),
        ..Properties::default()
    };
    p("", me, b"x").unwrap();
    assert_eq!(
        text(p("", Properties::default(), b"12345").unwrap_err()),
        (
            406,
            "PRECONDITION_FAILED - message size 5 is larger than configured max size 4".into()
        )
    );
}

#[test]
fn routing_by_exchange_kind() {
    let b = broker();
    let c = connect(&b);
    let (ch, sink) = channel(&c, 1);
    for q in ["d", "f1", "f2", "t", "h_all", "h_any"] {
        declare(&ch, q);
        consume(&ch, q, q, true);
    }
    ch.queue_bind("d", "amq.direct", "key", &t()).unwrap();
    ch.queue_bind("d", "amq.direct", "key", &t()).unwrap(); // idempotent
    ch.queue_bind("f1", "amq.fanout", "", &t()).unwrap();
    ch.queue_bind("f2", "amq.fanout", "ignored", &t()).unwrap();
    ch.queue_bind("t", "amq.topic", "webos.*.info", &t())
        .unwrap();
    let all: FieldTable = [
        ("x-match", Value::str("all")),
        ("a", Value::I32(1)),
        ("b", Value::str("x")),
    ]
    .into_iter()
    .collect();
    let any: FieldTable = [
        ("x-match", Value::str("any")),
        ("a", Value::I32(1)),
        ("b", Value::str("x")),
    ]
    .into_iter()
    .collect();
    ch.queue_bind("h_all", "amq.headers", "", &all).unwrap();
    ch.queue_bind("h_any", "amq.match", "", &any).unwrap();
    let bad: FieldTable = [("x-match", Value::str("foo"))].into_iter().collect();
    assert_eq!(
        text(ch.queue_bind("h_all", "amq.headers", "", &bad).unwrap_err()),
        (406, "PRECONDITION_FAILED - Invalid x-match field value <<\"foo\">>; expected all, any, all-with-x, or any-with-x".into())
    );

    assert_eq!(publish(&ch, "amq.direct", "key", "1").routed, 1);
    assert_eq!(publish(&ch, "amq.direct", "other", "2").routed, 0);
    assert_eq!(publish(&ch, "amq.fanout", "whatever", "3").routed, 2);
    assert_eq!(publish(&ch, "amq.topic", "webos.car.info", "4").routed, 1);
    assert_eq!(publish(&ch, "amq.topic", "webos.car.x.info", "5").routed, 0);
    assert_eq!(publish(&ch, "", "d", "6").routed, 1);
    assert_eq!(publish(&ch, "", "missing", "7").routed, 0);
    let headers = |h: FieldTable| Properties {
        headers: Some(h),
        ..Properties::default()
    };
    let both: FieldTable = [("a", Value::I64(1)), ("b", Value::str("x"))]
        .into_iter()
        .collect();
    let one: FieldTable = [("a", Value::U8(1))].into_iter().collect();
    let pubh = |h| {
        ch.basic_publish(
            "amq.headers",
            String::new(),
            false,
            headers(h),
            bytes::Bytes::new(),
        )
        .unwrap()
        .routed
    };
    assert_eq!(pubh(both.clone()), 1);
    assert_eq!(pubh(one.clone()), 0);
    let pubm = |h| {
        ch.basic_publish(
            "amq.match",
            String::new(),
            false,
            headers(h),
            bytes::Bytes::new(),
        )
        .unwrap()
        .routed
    };
    assert_eq!(pubm(one), 1);
    let got: Vec<(String, String)> = sink
        .take()
        .iter()
        .map(|d| {
            (
                d.consumer_tag.to_string(),
                String::from_utf8_lossy(&d.message.body).into_owned(),
            )
        })
        .collect();
    assert!(got.contains(&("d".into(), "1".into())));
    assert!(got.contains(&("f1".into(), "3".into())) && got.contains(&("f2".into(), "3".into())));
    assert!(got.contains(&("t".into(), "4".into())));
    assert!(got.contains(&("d".into(), "6".into())));
    assert_eq!(got.len(), 7);
    // Unbind stops routing.
    ch.queue_unbind("d", "amq.direct", "key", &t()).unwrap();
    assert_eq!(publish(&ch, "amq.direct", "key", "8").routed, 0);
}

#[test]
fn exchange_to_exchange_bindings_and_loops() {
    let b = broker();
    let c = connect(&b);
    let (ch, _) = channel(&c, 1);
    ch.exchange_declare("a", ExchangeOptions::new(ExchangeKind::Fanout))
        .unwrap();
    ch.exchange_declare("b", ExchangeOptions::new(ExchangeKind::Fanout))
        .unwrap();
    ch.exchange_declare(
        "inner",
        ExchangeOptions::new(ExchangeKind::Topic).internal(true),
    )
    .unwrap();
    declare(&ch, "q");
    // a -> b -> a (a loop), a -> inner -> q, b -> q: q gets one copy.
    ch.exchange_bind("b", "a", "", &t()).unwrap();
    ch.exchange_bind("a", "b", "", &t()).unwrap();
    ch.exchange_bind("inner", "a", "", &t()).unwrap();
    ch.queue_bind("q", "inner", "#", &t()).unwrap();
    ch.queue_bind("q", "b", "", &t()).unwrap();
    assert_eq!(publish(&ch, "a", "x.y", "m").routed, 1);
    assert_eq!(ready(&b, "q"), 1);
    // Deleting an exchange removes bindings to it.
    ch.exchange_delete("b", false).unwrap();
    assert_eq!(publish(&ch, "a", "x.y", "m").routed, 1);
    ch.exchange_unbind("inner", "a", "", &t()).unwrap();
    assert_eq!(publish(&ch, "a", "x.y", "m").routed, 0);
    // if-unused counts being a destination too.
    ch.exchange_bind("inner", "a", "", &t()).unwrap();
    assert_eq!(
        ch.exchange_delete("inner", true).unwrap_err().reply_code(),
        406
    );
}

#[test]
fn bindings_are_listed() {
    let b = broker();
    let c = connect(&b);
    let (ch, _) = channel(&c, 1);
    declare(&ch, "q");
    ch.queue_bind("q", "amq.topic", "a.#", &t()).unwrap();
    ch.exchange_bind("amq.fanout", "amq.direct", "k", &t())
        .unwrap();
    let listed: Vec<_> = b
        .list_bindings()
        .into_iter()
        .map(|(_, b)| (b.source, b.destination, b.routing_key))
        .collect();
    assert!(listed.contains(&(
        "amq.topic".into(),
        Destination::Queue("q".into()),
        "a.#".into()
    )));
    assert!(listed.contains(&(
        "amq.direct".into(),
        Destination::Exchange("amq.fanout".into()),
        "k".into()
    )));
    assert_eq!(listed.len(), 2);
    let names: Vec<_> = b.list_exchanges().into_iter().map(|e| e.name).collect();
    assert_eq!(
        names,
        [
            "",
            "amq.direct",
            "amq.fanout",
            "amq.headers",
            "amq.match",
            "amq.topic"
        ]
    );
}
