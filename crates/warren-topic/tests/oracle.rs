#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // tests: a panic is the failure report
//! The tries against the naive matchers: random bind / unbind / remove / route sequences, route
//! results compared as sets, counts and listings compared with a model.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use warren_topic::{amqp_matches, mqtt_matches, LinearTable, MqttTable, RoutingTable, TopicTable};

#[derive(Debug, Clone)]
enum Op {
    Bind(String, u8),
    Unbind(String, u8),
    RemoveDestination(u8),
    Route(String),
}

fn words(
    alphabet: &'static [&'static str],
    min: usize,
    max: usize,
    sep: &'static str,
) -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(alphabet), min..=max).prop_map(move |w| w.join(sep))
}

fn amqp_pattern() -> impl Strategy<Value = String> {
    words(&["a", "b", "", "*", "#", "#", "*"], 0, 5, ".")
}

fn amqp_key() -> impl Strategy<Value = String> {
    words(&["a", "b", ""], 0, 6, ".")
}

fn mqtt_filter() -> impl Strategy<Value = String> {
    (
        prop::sample::select(&["a", "b", "", "$x", "+"][..]),
        words(&["a", "b", "", "+"], 0, 3, "/"),
        any::<bool>(),
    )
        .prop_map(|(first, middle, hash)| {
            let mut levels = vec![first.to_string()];
            if !middle.is_empty() {
                levels.push(middle);
            }
            if hash {
                levels.push("#".to_string());
            }
            let filter = levels.join("/");
            // A lone "" first level with nothing after is the invalid empty filter.
            if filter.is_empty() {
                "#".to_string()
            } else {
                filter
            }
        })
}

fn mqtt_topic() -> impl Strategy<Value = String> {
    (
        prop::sample::select(&["a", "b", "", "$x"][..]),
        words(&["a", "b", ""], 0, 4, "/"),
    )
        .prop_map(|(first, rest)| {
            if rest.is_empty() {
                first.to_string()
            } else {
                format!("{first}/{rest}")
            }
        })
}

fn ops(
    pattern: BoxedStrategy<String>,
    key: BoxedStrategy<String>,
) -> impl Strategy<Value = Vec<Op>> {
    // Bind more often than unbind so tables grow; unbinds pick from the same small space so
    // they often hit an existing binding.
    let op = prop_oneof![
        4 => (pattern.clone(), 0u8..6).prop_map(|(p, d)| Op::Bind(p, d)),
        2 => (pattern, 0u8..6).prop_map(|(p, d)| Op::Unbind(p, d)),
        1 => (0u8..6).prop_map(Op::RemoveDestination),
        4 => key.prop_map(Op::Route),
    ];
    prop::collection::vec(op, 1..60)
}

/// Runs `ops` on `table` and on a model, checking every answer.
fn check(
    table: &mut impl RoutingTable<u8>,
    ops: &[Op],
    matches: fn(&str, &str) -> bool,
) -> Result<(), TestCaseError> {
    let mut model: BTreeMap<(String, u8), usize> = BTreeMap::new();
    for op in ops {
        match op {
            Op::Bind(p, d) => {
                table.bind(p, *d).unwrap();
                *model.entry((p.clone(), *d)).or_default() += 1;
            }
            Op::Unbind(p, d) => {
                let had = match model.get_mut(&(p.clone(), *d)) {
                    Some(n) => {
                        *n -= 1;
                        if *n == 0 {
                            model.remove(&(p.clone(), *d));
                        }
                        true
                    }
                    None => false,
                };
                prop_assert_eq!(table.unbind(p, d), had, "unbind {:?} {}", p, d);
            }
            Op::RemoveDestination(d) => {
                let before = model.len();
                model.retain(|(_, dest), _| dest != d);
                prop_assert_eq!(table.remove_destination(d), before - model.len());
            }
            Op::Route(key) => {
                let want: BTreeSet<u8> = model
                    .keys()
                    .filter(|(p, _)| matches(key, p))
                    .map(|(_, d)| *d)
                    .collect();
                let mut out = vec![200u8]; // route appends and leaves this alone
                table.route(key, &mut out);
                prop_assert_eq!(out[0], 200);
                let got: BTreeSet<u8> = out[1..].iter().copied().collect();
                prop_assert_eq!(got.len(), out.len() - 1, "duplicates routing {:?}", key);
                prop_assert_eq!(got, want, "routing {:?}", key);
            }
        }
        prop_assert_eq!(table.len(), model.len());
        let listed: BTreeMap<(String, u8), usize> = table
            .bindings()
            .into_iter()
            .map(|b| ((b.pattern, b.destination), b.count))
            .collect();
        prop_assert_eq!(&listed, &model);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn topic_table_matches_oracle(ops in ops(amqp_pattern().boxed(), amqp_key().boxed())) {
        check(&mut TopicTable::new(), &ops, amqp_matches)?;
    }

    #[test]
    fn linear_table_matches_oracle(ops in ops(amqp_pattern().boxed(), amqp_key().boxed())) {
        check(&mut LinearTable::new(), &ops, amqp_matches)?;
    }

    #[test]
    fn mqtt_table_matches_oracle(ops in ops(mqtt_filter().boxed(), mqtt_topic().boxed())) {
        check(&mut MqttTable::new(), &ops, mqtt_matches)?;
    }

    /// The greedy matcher against a plain recursive definition of the AMQP semantics.
    #[test]
    fn amqp_matches_is_the_recursive_definition(key in amqp_key(), pattern in amqp_pattern()) {
        prop_assert_eq!(amqp_matches(&key, &pattern), recursive(&split(&key), &split(&pattern)));
    }
}

fn split(s: &str) -> Vec<&str> {
    if s.is_empty() {
        Vec::new()
    } else {
        s.split('.').collect()
    }
}

/// RabbitMQ's definition, word by word (exponential, fine for short inputs).
fn recursive(key: &[&str], pattern: &[&str]) -> bool {
    match (pattern.first(), key.first()) {
        (None, None) => true,
        (None, Some(_)) => false,
        (Some(&"#"), _) => {
            recursive(key, &pattern[1..]) || (!key.is_empty() && recursive(&key[1..], pattern))
        }
        (Some(_), None) => false,
        (Some(&p), Some(&k)) => (p == "*" || p == k) && recursive(&key[1..], &pattern[1..]),
    }
}

#[test]
fn hash_heavy_patterns_stay_correct() {
    let mut table = TopicTable::new();
    let patterns = [
        "#.#.#.#.#.#.#.#",
        "#.a.#.a.#.a.#.b",
        "#.*.#.*.#.*.#",
        "a.#.#.#.#.#.#.z",
    ];
    for (i, p) in patterns.iter().enumerate() {
        table.bind(p, i).unwrap();
    }
    let key = vec!["a"; 200].join(".");
    let mut out = Vec::new();
    table.route(&key, &mut out);
    out.sort_unstable();
    let want: Vec<usize> = (0..patterns.len())
        .filter(|&i| amqp_matches(&key, patterns[i]))
        .collect();
    assert_eq!(out, want);
    assert_eq!(want, [0, 2]);
}
