#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // tests: a panic is the failure report

//! Exchange policies in the publish path: a refused message is dead-lettered with the reason's
//! headers, counted and nacked; a valid one is routed as usual.

mod common;

use bytes::Bytes;
use common::*;
use warren_core::*;

const SIGNUP: &str = r#"{"Producer":"android","command":"signup","UID":"u1","name":"Kim"}"#;
const NO_UID: &str = r#"{"Producer":"android","command":"signup","name":"Kim"}"#;

/// `webos.topic` with the Car2Home policy, a `server` queue on it, and `webos.dlx` (fanout)
/// feeding `webos.invalid`.
fn car2home(ch: &Channel, b: &Broker, with_dlx: bool) {
    let vhost = b.vhost("/").unwrap();
    let mut policy = Car2HomePolicy::new();
    if with_dlx {
        policy = policy.dead_letter_exchange("webos.dlx");
    }
    assert!(vhost.set_exchange_policy("webos.topic", Some(ExchangePolicy::Car2Home(policy))));
    ch.exchange_declare("webos.topic", ExchangeOptions::new(ExchangeKind::Topic))
        .unwrap();
    ch.exchange_declare("webos.dlx", ExchangeOptions::new(ExchangeKind::Fanout))
        .unwrap();
    declare(ch, "server");
    declare(ch, "webos.invalid");
    ch.queue_bind(
        "server",
        "webos.topic",
        "webos.server.*",
        &FieldTable::new(),
    )
    .unwrap();
    ch.queue_bind("webos.invalid", "webos.dlx", "", &FieldTable::new())
        .unwrap();
}

#[test]
fn valid_message_is_routed_and_acked() {
    let b = broker();
    let conn = connect(&b);
    let (ch, _) = channel(&conn, 1);
    car2home(&ch, &b, true);
    let out = publish(&ch, "webos.topic", "webos.server.info", SIGNUP);
    assert_eq!(out.routed, 1);
    assert_eq!(out.confirm, Confirm::Ack);
    assert_eq!(out.policy_rejected, None);
    assert_eq!((ready(&b, "server"), ready(&b, "webos.invalid")), (1, 0));
    assert_eq!(b.metrics().invalid, 0);
}

#[test]
fn invalid_message_is_dead_lettered_with_headers_counted_and_nacked() {
    let b = broker();
    let conn = connect(&b);
    let (ch, _) = channel(&conn, 1);
    car2home(&ch, &b, true);
    let before = b.metrics();
    let mut headers = FieldTable::new();
    headers.insert("trace", Value::str("t-1"));
    let out = ch
        .basic_publish(
            "webos.topic",
            "webos.server.info".into(),
            true,
            Properties {
                headers: Some(headers),
                ..Properties::default()
            },
            Bytes::from_static(NO_UID.as_bytes()),
        )
        .unwrap();
    assert_eq!(out.routed, 0);
    assert!(!out.returned, "dead-lettered, not returned");
    assert_eq!(out.confirm, Confirm::Nack);
    assert_eq!(out.policy_rejected, Some("missing-field"));
    assert_eq!((ready(&b, "server"), ready(&b, "webos.invalid")), (0, 1));

    let got = ch.basic_get("webos.invalid", true).unwrap().unwrap();
    let m = &got.message;
    assert_eq!(&*m.exchange, "webos.topic");
    assert_eq!(m.routing_key, "webos.server.info");
    assert_eq!(&m.body[..], NO_UID.as_bytes());
    let h = m.properties.headers.as_ref().unwrap();
    let header = |name| h.get(name).and_then(Value::as_str).map(str::to_owned);
    assert_eq!(header("trace").as_deref(), Some("t-1"));
    assert_eq!(header("x-car2home-error").as_deref(), Some("missing-field"));
    assert_eq!(header("x-car2home-error-path").as_deref(), Some("/UID"));
    assert_eq!(
        header("x-car2home-error-text").as_deref(),
        Some("/UID: missing field; expected string of 1 to 128 characters")
    );

    let after = b.metrics();
    assert_eq!(after.invalid - before.invalid, 1);
    assert_eq!(after.published - before.published, 1);
    assert_eq!(after.routed, before.routed);
    assert_eq!(after.unroutable, before.unroutable);
}

#[test]
fn bad_routing_key_is_refused_before_the_payload() {
    let b = broker();
    let conn = connect(&b);
    let (ch, _) = channel(&conn, 1);
    car2home(&ch, &b, true);
    let out = publish(&ch, "webos.topic", "webos.server", SIGNUP);
    assert_eq!(out.policy_rejected, Some("bad-routing-key"));
    let got = ch.basic_get("webos.invalid", true).unwrap().unwrap();
    let h = got.message.properties.headers.as_ref().unwrap();
    assert!(h.get("x-car2home-error-path").is_none());
}

#[test]
fn without_a_dead_letter_exchange_refused_messages_are_dropped_but_counted() {
    let b = broker();
    let conn = connect(&b);
    let (ch, _) = channel(&conn, 1);
    car2home(&ch, &b, false);
    let out = publish(&ch, "webos.topic", "webos.server.info", "not json");
    assert_eq!(out.policy_rejected, Some("not-json"));
    assert_eq!(out.confirm, Confirm::Nack);
    assert_eq!((ready(&b, "server"), ready(&b, "webos.invalid")), (0, 0));
    assert_eq!(b.metrics().invalid, 1);
}

#[test]
fn policy_follows_the_name_across_delete_and_redeclare_and_can_be_removed() {
    let b = broker();
    let conn = connect(&b);
    let (ch, _) = channel(&conn, 1);
    car2home(&ch, &b, true);
    ch.exchange_delete("webos.topic", false).unwrap();
    ch.exchange_declare("webos.topic", ExchangeOptions::new(ExchangeKind::Topic))
        .unwrap();
    ch.queue_bind(
        "server",
        "webos.topic",
        "webos.server.*",
        &FieldTable::new(),
    )
    .unwrap();
    assert_eq!(
        publish(&ch, "webos.topic", "webos.server.info", "{}").policy_rejected,
        Some("missing-field")
    );
    let vhost = b.vhost("/").unwrap();
    assert!(vhost.set_exchange_policy("webos.topic", None));
    assert!(vhost.exchange("webos.topic").unwrap().policy().is_none());
    let out = publish(&ch, "webos.topic", "webos.server.info", "{}");
    assert_eq!((out.routed, out.policy_rejected), (1, None));
    assert!(
        !vhost.set_exchange_policy("", None),
        "the default exchange takes no policy"
    );
}

#[test]
fn other_exchanges_are_not_checked() {
    let b = broker();
    let conn = connect(&b);
    let (ch, _) = channel(&conn, 1);
    car2home(&ch, &b, true);
    ch.queue_bind("server", "amq.topic", "#", &FieldTable::new())
        .unwrap();
    let out = publish(&ch, "amq.topic", "anything", "not json");
    assert_eq!((out.routed, out.policy_rejected), (1, None));
}
