#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // tests: a panic is the failure report
//! Corner cases of topic matching, with the answers of the real brokers.
//!
//! The AMQP table was recorded from RabbitMQ 3.10: a topic exchange with one queue bound per
//! pattern, every key published once, each queue drained (script: one `basic_publish` per key,
//! `basic_get` until empty). The MQTT table was recorded the same way from Mosquitto 2.0 (one
//! subscriber per filter, QoS 0). Mosquitto refuses client publishes to `$SYS/...`, so the `$`
//! rule is recorded with `$x` topics; `$SYS` cases from the MQTT spec (4.7.2) are added by hand.

use std::collections::BTreeSet;

use warren_topic::{
    amqp_matches, mqtt_matches, mqtt_matches_valid, LinearTable, MqttTable, RoutingTable,
    TopicTable,
};

/// Every key published to RabbitMQ.
const AMQP_KEYS: &[&str] = &[
    "", "a", "b", "a.b", "a..b", ".", "..", "a.", ".a", "a.b.c", "a.x.b", "a.b.b", "a.x.y.b", "#",
    "*", "a.#", "x.a.y",
];

/// (binding pattern, the keys RabbitMQ delivered through it).
const AMQP: &[(&str, &[&str])] = &[
    ("", &[""]),
    (
        "#",
        &[
            "", "a", "b", "a.b", "a..b", ".", "..", "a.", ".a", "a.b.c", "a.x.b", "a.b.b",
            "a.x.y.b", "#", "*", "a.#", "x.a.y",
        ],
    ),
    ("*", &["a", "b", "#", "*"]),
    (
        "#.#",
        &[
            "", "a", "b", "a.b", "a..b", ".", "..", "a.", ".a", "a.b.c", "a.x.b", "a.b.b",
            "a.x.y.b", "#", "*", "a.#", "x.a.y",
        ],
    ),
    (
        "#.#.#",
        &[
            "", "a", "b", "a.b", "a..b", ".", "..", "a.", ".a", "a.b.c", "a.x.b", "a.b.b",
            "a.x.y.b", "#", "*", "a.#", "x.a.y",
        ],
    ),
    ("*.*", &["a.b", ".", "a.", ".a", "a.#"]),
    (
        "*.#",
        &[
            "a", "b", "a.b", "a..b", ".", "..", "a.", ".a", "a.b.c", "a.x.b", "a.b.b", "a.x.y.b",
            "#", "*", "a.#", "x.a.y",
        ],
    ),
    (
        "#.*",
        &[
            "a", "b", "a.b", "a..b", ".", "..", "a.", ".a", "a.b.c", "a.x.b", "a.b.b", "a.x.y.b",
            "#", "*", "a.#", "x.a.y",
        ],
    ),
    ("a", &["a"]),
    (
        "a.#",
        &[
            "a", "a.b", "a..b", "a.", "a.b.c", "a.x.b", "a.b.b", "a.x.y.b", "a.#",
        ],
    ),
    ("#.a", &["a", ".a"]),
    ("a.*", &["a.b", "a.", "a.#"]),
    ("*.a", &[".a"]),
    ("a.#.b", &["a.b", "a..b", "a.x.b", "a.b.b", "a.x.y.b"]),
    ("a.*.b", &["a..b", "a.x.b", "a.b.b"]),
    ("a..b", &["a..b"]),
    ("a.#.#.b", &["a.b", "a..b", "a.x.b", "a.b.b", "a.x.y.b"]),
    (
        "#.b.#",
        &["b", "a.b", "a..b", "a.b.c", "a.x.b", "a.b.b", "a.x.y.b"],
    ),
    (
        "#.a.#",
        &[
            "a", "a.b", "a..b", "a.", ".a", "a.b.c", "a.x.b", "a.b.b", "a.x.y.b", "a.#", "x.a.y",
        ],
    ),
    (".", &["."]),
    ("a.", &["a."]),
    (".#", &[".", "..", ".a"]),
    ("#.", &[".", "..", "a."]),
    ("*.*.*", &["a..b", "..", "a.b.c", "a.x.b", "a.b.b", "x.a.y"]),
    (
        "a.*.#",
        &[
            "a.b", "a..b", "a.", "a.b.c", "a.x.b", "a.b.b", "a.x.y.b", "a.#",
        ],
    ),
    ("#.*.b", &["a.b", "a..b", "a.x.b", "a.b.b", "a.x.y.b"]),
    (
        "*.#.*",
        &[
            "a.b", "a..b", ".", "..", "a.", ".a", "a.b.c", "a.x.b", "a.b.b", "a.x.y.b", "a.#",
            "x.a.y",
        ],
    ),
    ("x.#.y", &["x.a.y"]),
    ("#.#.b", &["b", "a.b", "a..b", "a.x.b", "a.b.b", "a.x.y.b"]),
];

/// Every topic published to Mosquitto.
const MQTT_TOPICS: &[&str] = &[
    "a", "b", "a/b", "a/", "/a", "/", "//", "a//b", "a/b/c", "a/x/b", "$x", "$x/a", "a/$x",
    "$x/a/b", "$",
];

/// (subscription filter, the topics Mosquitto delivered to it).
const MQTT: &[(&str, &[&str])] = &[
    (
        "#",
        &[
            "a", "b", "a/b", "a/", "/a", "/", "//", "a//b", "a/b/c", "a/x/b", "a/$x",
        ],
    ),
    ("+", &["a", "b"]),
    ("a/#", &["a", "a/b", "a/", "a//b", "a/b/c", "a/x/b", "a/$x"]),
    ("a/+", &["a/b", "a/", "a/$x"]),
    ("+/+", &["a/b", "a/", "/a", "/", "a/$x"]),
    (
        "+/#",
        &[
            "a", "b", "a/b", "a/", "/a", "/", "//", "a//b", "a/b/c", "a/x/b", "a/$x",
        ],
    ),
    ("/#", &["/a", "/", "//"]),
    ("/+", &["/a", "/"]),
    ("+/", &["a/", "/"]),
    ("a/+/b", &["a//b", "a/x/b"]),
    ("a//b", &["a//b"]),
    ("+/+/+", &["//", "a//b", "a/b/c", "a/x/b"]),
    ("$x/#", &["$x", "$x/a", "$x/a/b"]),
    ("$x/+", &["$x/a"]),
    ("+/x", &[]),
    ("$x", &["$x"]),
    ("+/+/b", &["a//b", "a/x/b"]),
    ("$/#", &["$"]),
    ("a/b/#", &["a/b", "a/b/c"]),
    ("+/a", &["/a"]),
    ("a/$x", &["a/$x"]),
    ("$SYS/#", &[]),
];

/// MQTT 3.1.1 section 4.7.2 / MQTT 5.0 section 4.7.2: the `$SYS` examples.
const MQTT_SPEC: &[(&str, &str, bool)] = &[
    ("$SYS/monitor/Clients", "#", false),
    ("$SYS/monitor/Clients", "+/monitor/Clients", false),
    ("$SYS/monitor/Clients", "$SYS/#", true),
    ("$SYS/monitor/Clients", "$SYS/monitor/+", true),
    ("$SYS", "#", false),
    ("$SYS", "$SYS/#", true),
    ("sport/tennis/player1", "sport/tennis/player1/#", true),
    (
        "sport/tennis/player1/ranking",
        "sport/tennis/player1/#",
        true,
    ),
    ("sport", "sport/#", true),
    ("sport/", "sport/+", true),
    ("sport", "sport/+", false),
    ("/finance", "+/+", true),
    ("/finance", "/+", true),
    ("/finance", "+", false),
];

fn expected(table: &[(&str, &[&str])], key: &str) -> BTreeSet<usize> {
    table
        .iter()
        .enumerate()
        .filter(|(_, (_, keys))| keys.contains(&key))
        .map(|(i, _)| i)
        .collect()
}

fn routed(table: &impl RoutingTable<usize>, key: &str) -> BTreeSet<usize> {
    let mut out = Vec::new();
    table.route(key, &mut out);
    let set: BTreeSet<usize> = out.iter().copied().collect();
    assert_eq!(set.len(), out.len(), "duplicate destination for {key:?}");
    set
}

#[test]
fn amqp_matcher_agrees_with_rabbitmq() {
    for (pattern, keys) in AMQP {
        for key in AMQP_KEYS {
            assert_eq!(
                amqp_matches(key, pattern),
                keys.contains(key),
                "key {key:?} pattern {pattern:?}"
            );
        }
    }
}

#[test]
fn amqp_tables_agree_with_rabbitmq() {
    let mut trie = TopicTable::new();
    let mut linear = LinearTable::new();
    for (i, (pattern, _)) in AMQP.iter().enumerate() {
        trie.bind(pattern, i).unwrap();
        linear.bind(pattern, i).unwrap();
    }
    for key in AMQP_KEYS {
        assert_eq!(routed(&trie, key), expected(AMQP, key), "trie, key {key:?}");
        assert_eq!(
            routed(&linear, key),
            expected(AMQP, key),
            "linear, key {key:?}"
        );
    }
}

#[test]
fn mqtt_matcher_agrees_with_mosquitto_and_the_spec() {
    for (filter, topics) in MQTT {
        for topic in MQTT_TOPICS {
            assert_eq!(
                mqtt_matches(topic, filter),
                topics.contains(topic),
                "topic {topic:?} filter {filter:?}"
            );
        }
    }
    for (topic, filter, matches) in MQTT_SPEC {
        assert_eq!(
            mqtt_matches(topic, filter),
            *matches,
            "topic {topic:?} filter {filter:?}"
        );
        // Every spec filter is valid: the unchecked matcher gives the same answers.
        assert_eq!(
            mqtt_matches_valid(topic, filter),
            *matches,
            "topic {topic:?} filter {filter:?}"
        );
    }
    for (filter, topics) in MQTT {
        for topic in MQTT_TOPICS {
            assert_eq!(
                mqtt_matches_valid(topic, filter),
                topics.contains(topic),
                "topic {topic:?} filter {filter:?}"
            );
        }
    }
}

#[test]
fn mqtt_table_agrees_with_mosquitto_and_the_spec() {
    let mut table = MqttTable::new();
    for (i, (filter, _)) in MQTT.iter().enumerate() {
        table.bind(filter, i).unwrap();
    }
    for topic in MQTT_TOPICS {
        assert_eq!(
            routed(&table, topic),
            expected(MQTT, topic),
            "topic {topic:?}"
        );
    }
    for (topic, filter, matches) in MQTT_SPEC {
        let mut single = MqttTable::new();
        single.bind(filter, 0usize).unwrap();
        assert_eq!(
            !routed(&single, topic).is_empty(),
            *matches,
            "topic {topic:?} filter {filter:?}"
        );
    }
}

#[test]
fn invalid_mqtt_filters_are_refused_and_match_nothing() {
    for filter in ["", "#/", "a/#/b", "a+", "a/b#", "+a/b", "##"] {
        let mut table = MqttTable::new();
        assert!(table.bind(filter, 0usize).is_err(), "{filter:?} accepted");
        assert!(!mqtt_matches("a/b", filter));
    }
}
