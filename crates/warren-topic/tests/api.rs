#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // tests: a panic is the failure report
//! The contract details of the public API: limits, counting, the other table kinds.

use warren_topic::{
    Binding, DirectTable, FanoutTable, InvalidReason, Limits, LinearTable, MqttTable, PatternError,
    RoutingTable, TopicTable,
};

fn send_sync<T: Send + Sync>() {}

#[test]
fn tables_are_send_and_sync() {
    send_sync::<TopicTable<String>>();
    send_sync::<MqttTable<String>>();
    send_sync::<DirectTable<String>>();
    send_sync::<FanoutTable<String>>();
    send_sync::<LinearTable<String>>();
}

#[test]
fn limits_give_typed_errors() {
    let mut table = TopicTable::new();
    let long = "a".repeat(256);
    assert_eq!(
        table.bind(&long, 0),
        Err(PatternError::TooLong { len: 256, max: 255 })
    );
    assert!(table.bind(&"a".repeat(255), 0).is_ok());
    assert!(
        table.bind(&".".repeat(255), 0).is_ok(),
        "256 empty words fit the default"
    );
    let hashes = ["#"; 9].join(".");
    assert_eq!(
        table.bind(&hashes, 0),
        Err(PatternError::TooManyHashes { hashes: 9, max: 8 })
    );
    let mut small = TopicTable::with_limits(Limits {
        max_words: 3,
        max_hashes: 1,
        max_len: 100,
    });
    assert_eq!(
        small.bind("a.b.c.d", 0),
        Err(PatternError::TooManyWords { words: 4, max: 3 })
    );
    assert!(small.bind("a.#.c", 0).is_ok());
    assert_eq!(small.len(), 1);

    let mut mqtt = MqttTable::new();
    assert_eq!(
        mqtt.bind("a/#/b", 0),
        Err(PatternError::Invalid {
            level: 1,
            reason: InvalidReason::HashNotLast
        })
    );
    assert_eq!(
        mqtt.bind("a/b+", 0),
        Err(PatternError::Invalid {
            level: 1,
            reason: InvalidReason::WildcardNotWholeLevel
        })
    );
    assert!(mqtt.is_empty());
    let err = mqtt.bind("", 0).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid pattern at level 0: the filter is empty"
    );
}

#[test]
fn counted_bindings_in_every_table() {
    fn exercise(table: &mut impl RoutingTable<&'static str>, key: &str) {
        table.bind(key, "q").unwrap();
        table.bind(key, "q").unwrap();
        table.bind("other", "q").unwrap();
        table.bind(key, "r").unwrap();
        assert_eq!(table.len(), 3);
        let listed = table.bindings();
        assert_eq!(listed.len(), 3);
        assert!(listed.contains(&Binding {
            pattern: key.to_string(),
            destination: "q",
            count: 2
        }));
        let mut out = Vec::new();
        table.route(key, &mut out);
        out.sort_unstable();
        assert_eq!(out, ["q", "r"], "each destination once");
        assert!(table.unbind(key, &"q"));
        assert!(table.unbind(key, &"q"));
        assert!(!table.unbind(key, &"q"));
        assert_eq!(table.remove_destination(&"q"), 1);
        assert_eq!(table.remove_destination(&"q"), 0);
        assert_eq!(table.len(), 1);
        assert!(table.unbind(key, &"r"));
        assert!(table.is_empty());
        let mut out = Vec::new();
        table.route(key, &mut out);
        assert!(out.is_empty());
    }
    exercise(&mut TopicTable::new(), "webos.car.info");
    exercise(&mut MqttTable::new(), "webos/car/info");
    exercise(&mut DirectTable::new(), "webos.car.info");
    exercise(&mut FanoutTable::new(), "webos.car.info");
    exercise(&mut LinearTable::new(), "webos.car.info");
}

#[test]
fn direct_table_ignores_wildcards_and_fanout_ignores_keys() {
    let mut direct = DirectTable::new();
    direct.bind("a.#", 1).unwrap();
    let mut out = Vec::new();
    direct.route("a.b", &mut out);
    assert!(out.is_empty());
    direct.route("a.#", &mut out);
    assert_eq!(out, [1]);

    let mut fanout = FanoutTable::new();
    fanout.bind("x", 1).unwrap();
    fanout.bind("y", 1).unwrap();
    let mut out = Vec::new();
    fanout.route("", &mut out);
    assert_eq!(out, [1]);
}

#[test]
fn many_overlapping_patterns_route_each_destination_once() {
    let mut table = TopicTable::new();
    for d in 0..40u32 {
        for p in ["a.*", "a.#", "#", "*.b", "a.b"] {
            table.bind(p, d).unwrap();
        }
    }
    table.bind("#.b", 99).unwrap();
    let mut out = vec![7];
    table.route("a.b", &mut out);
    assert_eq!(out.len(), 42, "the 7 already there, 40 + 99 once each");
    out.remove(0);
    out.sort_unstable();
    let want: Vec<u32> = (0..40).chain([99]).collect();
    assert_eq!(out, want);
}
