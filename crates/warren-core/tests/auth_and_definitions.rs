#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // tests: a panic is the failure report

//! Logins, vhost access, permission checks per operation, and definitions.json.

mod common;

use std::sync::Arc;

use common::*;
use warren_core::*;

const FIXTURE: &str = include_str!("fixtures/rabbitmq-3.10-definitions.json");

fn info(user: Arc<User>, vhost: &str) -> ConnectionInfo {
    ConnectionInfo {
        user,
        vhost: vhost.into(),
        peer: "10.0.0.2:4000".into(),
        protocol: Protocol::Amqp091,
        client_name: Some("test".into()),
    }
}

#[test]
fn logins_as_rabbitmq() {
    let b = broker();
    let refused = "ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN. For details see the broker logfile.";
    let e = b
        .authenticate(Mechanism::Plain, "guest", "bad", true)
        .unwrap_err();
    assert_eq!(text(e.clone()), (403, refused.into()));
    assert_eq!(e.scope(), ErrorScope::Connection);
    assert!(matches!(
        e,
        CoreError::LoginRefused {
            reason: LoginFailure::BadPassword,
            ..
        }
    ));
    let e = b
        .authenticate(Mechanism::Plain, "nobody", "x", true)
        .unwrap_err();
    assert!(matches!(
        e,
        CoreError::LoginRefused {
            reason: LoginFailure::UnknownUser,
            ..
        }
    ));
    // guest only from loopback.
    let e = b
        .authenticate(Mechanism::Amqplain, "guest", "guest", false)
        .unwrap_err();
    assert!(e.to_string().contains("mechanism AMQPLAIN"));
    assert!(matches!(
        e,
        CoreError::LoginRefused {
            reason: LoginFailure::LoopbackOnly,
            ..
        }
    ));
    b.authenticate(Mechanism::Amqplain, "guest", "guest", true)
        .unwrap();
    // Other users from anywhere.
    b.put_user(User::new("rabbit", "MQ321", vec![]));
    let rabbit = b
        .authenticate(Mechanism::Plain, "rabbit", "MQ321", false)
        .unwrap();
    // No permissions in / yet.
    let e = b.open_connection(info(rabbit.clone(), "/")).unwrap_err();
    assert_eq!(
        text(e.clone()),
        (
            530,
            "NOT_ALLOWED - access to vhost '/' refused for user 'rabbit'".into()
        )
    );
    assert_eq!(e.scope(), ErrorScope::Connection);
    let e = b.open_connection(info(rabbit.clone(), "nope")).unwrap_err();
    assert_eq!(text(e), (530, "NOT_ALLOWED - vhost nope not found".into()));
    b.set_permissions("rabbit", "/", ".*", ".*", ".*").unwrap();
    b.open_connection(info(rabbit, "/")).unwrap();
    // A config that lets guest in from anywhere.
    let open = Broker::with_defaults(BrokerConfig {
        loopback_users: vec![],
        ..BrokerConfig::default()
    });
    open.authenticate(Mechanism::Plain, "guest", "guest", false)
        .unwrap();
    assert!(b.set_permissions("rabbit", "/", "(", "", "").is_err());
}

#[test]
fn permissions_are_checked_per_operation() {
    let b = broker();
    b.put_user(User::new("u", "p", vec![]));
    // configure only "cfg.*", write only "w.*" and the default exchange, read only "r.*".
    b.set_permissions("u", "/", "^cfg", "^(w|amq\\.default)", "^r")
        .unwrap();
    let admin = connect(&b);
    let (ach, _) = channel(&admin, 1);
    for q in ["cfgq", "wq", "rq"] {
        declare(&ach, q);
    }
    ach.exchange_declare("rx", ExchangeOptions::new(ExchangeKind::Direct))
        .unwrap();
    ach.exchange_declare("wx", ExchangeOptions::new(ExchangeKind::Direct))
        .unwrap();
    let user = b.authenticate(Mechanism::Plain, "u", "p", false).unwrap();
    let c = b.open_connection(info(user, "/")).unwrap();
    let (ch, _) = channel(&c, 1);
    let denied = |e: CoreError, kind: &str, name: &str| {
        assert_eq!(
            text(e),
            (
                403,
                format!(
                    "ACCESS_REFUSED - access to {kind} '{name}' in vhost '/' refused for user 'u'"
                )
            )
        );
    };
    let t = FieldTable::new();
    // declare: configure.
    ch.queue_declare("cfg1", QueueOptions::default(), false)
        .unwrap();
    denied(
        ch.queue_declare("other", QueueOptions::default(), false)
            .unwrap_err(),
        "queue",
        "other",
    );
    ch.queue_declare("wq", QueueOptions::default(), true)
        .unwrap(); // passive: no permission
    denied(
        ch.exchange_declare("x", ExchangeOptions::new(ExchangeKind::Direct))
            .unwrap_err(),
        "exchange",
        "x",
    );
    ch.exchange_declare_passive("rx").unwrap();
    // delete: configure.
    denied(
        ch.queue_delete("wq", false, false).unwrap_err(),
        "queue",
        "wq",
    );
    denied(
        ch.exchange_delete("rx", false).unwrap_err(),
        "exchange",
        "rx",
    );
    // bind: write on the queue, read on the exchange.
    ch.queue_bind("wq", "rx", "k", &t).unwrap();
    denied(
        ch.queue_bind("rq", "rx", "k", &t).unwrap_err(),
        "queue",
        "rq",
    );
    denied(
        ch.queue_bind("wq", "wx", "k", &t).unwrap_err(),
        "exchange",
        "wx",
    );
    denied(
        ch.queue_unbind("rq", "rx", "k", &t).unwrap_err(),
        "queue",
        "rq",
    );
    // e2e: write on destination, read on source.
    ch.exchange_bind("wx", "rx", "k", &t).unwrap();
    denied(
        ch.exchange_bind("rx", "rx", "k", &t).unwrap_err(),
        "exchange",
        "rx",
    );
    // publish: write on the exchange (amq.default for "").
    publish(&ch, "wx", "k", "m");
    publish(&ch, "", "rq", "m");
    denied(
        ch.basic_publish(
            "rx",
            "k".into(),
            false,
            Properties::default(),
            bytes::Bytes::new(),
        )
        .unwrap_err(),
        "exchange",
        "rx",
    );
    // consume, get, purge: read on the queue.
    assert!(ch.basic_get("rq", true).unwrap().is_some());
    denied(ch.basic_get("wq", true).unwrap_err(), "queue", "wq");
    denied(
        ch.basic_consume("wq", "", false, false, |_| {})
            .unwrap_err(),
        "queue",
        "wq",
    );
    ch.basic_consume("rq", "", false, false, |_| {}).unwrap();
    ch.queue_purge("rq").unwrap();
    denied(ch.queue_purge("wq").unwrap_err(), "queue", "wq");
}

#[test]
fn rabbitmq_export_imports_as_is() {
    let b = Broker::new(BrokerConfig::default());
    let defs = Definitions::from_json(FIXTURE).unwrap();
    b.import_definitions(&defs).unwrap();
    // The hashes RabbitMQ made verify the seed's passwords.
    let rabbit = b
        .authenticate(Mechanism::Plain, "rabbit", "MQ321", false)
        .unwrap();
    assert_eq!(rabbit.tags, ["administrator"]);
    b.authenticate(Mechanism::Plain, "guest", "guest", true)
        .unwrap();
    let conn = b.open_connection(info(rabbit, "/")).unwrap();
    let (ch, _) = channel(&conn, 1);
    let q = ch
        .queue_declare("pqa", QueueOptions::default(), true)
        .unwrap();
    assert_eq!(q.message_count, 0);
    // The queue's x-max-length came in as a long and compares equal to an int.
    ch.queue_declare(
        "pqa",
        QueueOptions::default().argument("x-max-length", 10),
        false,
    )
    .unwrap();
}

#[test]
fn definitions_roundtrip_topology() {
    let json = r#"{
      "users": [{"name": "rabbit", "password_hash": "anrgJqzy2ENE975hqF/saHlqOBOiawYE+WWO+UOjtvoSaubw",
                 "hashing_algorithm": "rabbit_password_hashing_sha256", "tags": "administrator,monitoring"}],
      "vhosts": [{"name": "/"}, {"name": "car2home", "description": "cars", "tags": [], "limits": []}],
      "permissions": [{"user": "rabbit", "vhost": "car2home", "configure": ".*", "write": ".*", "read": ".*"}],
      "policies": [{"vhost": "/", "name": "p", "pattern": ".*", "definition": {}}],
      "exchanges": [
        {"name": "webos.topic", "vhost": "car2home", "type": "topic", "durable": false, "auto_delete": false, "internal": false, "arguments": {}},
        {"name": "webos.fanout", "vhost": "car2home", "type": "fanout", "durable": false, "auto_delete": false, "internal": false, "arguments": {}}
      ],
      "queues": [
        {"name": "car", "vhost": "car2home", "durable": true, "auto_delete": false, "arguments": {"x-max-length": 1000, "x-queue-type": "classic"}}
      ],
      "bindings": [
        {"source": "webos.topic", "vhost": "car2home", "destination": "car", "destination_type": "queue", "routing_key": "webos.car.*", "arguments": {}},
        {"source": "webos.fanout", "vhost": "car2home", "destination": "car", "destination_type": "queue", "routing_key": "", "arguments": {}},
        {"source": "webos.fanout", "vhost": "car2home", "destination": "webos.topic", "destination_type": "exchange", "routing_key": "", "arguments": {}}
      ]
    }"#;
    let b = Broker::new(BrokerConfig::default());
    b.import_definitions(&Definitions::from_json(json).unwrap())
        .unwrap();
    let user = b
        .authenticate(Mechanism::Plain, "rabbit", "MQ321", false)
        .unwrap();
    assert_eq!(user.tags, ["administrator", "monitoring"]);
    let conn = b.open_connection(info(user, "car2home")).unwrap();
    let (ch, _) = channel(&conn, 1);
    assert_eq!(publish(&ch, "webos.topic", "webos.car.lock", "x").routed, 1);
    assert_eq!(publish(&ch, "webos.fanout", "", "x").routed, 1);

    let out = b.export_definitions();
    let again = Broker::new(BrokerConfig::default());
    again
        .import_definitions(&Definitions::from_json(&out.to_json()).unwrap())
        .unwrap();
    let out2 = again.export_definitions();
    assert_eq!(out.users, out2.users);
    assert_eq!(out.vhosts, out2.vhosts);
    assert_eq!(out.permissions, out2.permissions);
    assert_eq!(out.exchanges, out2.exchanges);
    assert_eq!(out.queues, out2.queues);
    assert_eq!(out.bindings, out2.bindings);
    assert_eq!(out.exchanges.len(), 2);
    assert_eq!(out.bindings.len(), 3);
    assert_eq!(
        out.queues[0].arguments["x-max-length"],
        serde_json::json!(1000)
    );
}

#[test]
fn bad_definitions_name_the_entry() {
    let b = Broker::new(BrokerConfig::default());
    let bad_hash = r#"{"users": [{"name": "x", "password_hash": "nope!", "tags": []}]}"#;
    let e = b
        .import_definitions(&Definitions::from_json(bad_hash).unwrap())
        .unwrap_err();
    assert!(e.to_string().contains("user 'x'"), "{e}");
    let bad_type = r#"{"vhosts": [{"name": "/"}], "exchanges": [{"name": "e", "vhost": "/", "type": "x-delayed"}]}"#;
    let e = b
        .import_definitions(&Definitions::from_json(bad_type).unwrap())
        .unwrap_err();
    assert!(
        e.to_string().contains("exchange 'e'") && e.to_string().contains("x-delayed"),
        "{e}"
    );
    let no_vhost = r#"{"queues": [{"name": "q", "vhost": "missing"}]}"#;
    assert!(b
        .import_definitions(&Definitions::from_json(no_vhost).unwrap())
        .is_err());
    assert!(Definitions::from_json("{").is_err());
}
