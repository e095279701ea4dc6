//! Consumer priorities (`x-priority`): the highest-priority consumers with credit get the
//! messages; lower ones only when those are full; round-robin among equals.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // tests: a panic is the failure report

mod common;
use common::*;

fn tags(sink: &Recorder) -> Vec<String> {
    sink.take()
        .iter()
        .map(|d| d.consumer_tag.to_string())
        .collect()
}

#[test]
fn higher_priority_consumer_takes_everything_while_it_has_credit() {
    let b = broker();
    let c = connect(&b);
    let (ch, sink) = channel(&c, 1);
    declare(&ch, "q");
    ch.basic_consume_with_priority("q", "low", true, false, 0, |_| {})
        .unwrap();
    ch.basic_consume_with_priority("q", "high", true, false, 10, |_| {})
        .unwrap();
    for i in 0..4 {
        publish(&ch, "", "q", &i.to_string());
    }
    assert_eq!(tags(&sink), ["high", "high", "high", "high"]);
}

#[test]
fn lower_priority_gets_messages_when_the_higher_one_is_full() {
    let b = broker();
    let c = connect(&b);
    let (ch, sink) = channel(&c, 1);
    declare(&ch, "q");
    ch.basic_qos(0, 1, false).unwrap();
    ch.basic_consume_with_priority("q", "high", false, false, 5, |_| {})
        .unwrap();
    ch.basic_consume_with_priority("q", "low", false, false, -1, |_| {})
        .unwrap();
    for i in 0..3 {
        publish(&ch, "", "q", &i.to_string());
    }
    // high takes one (prefetch 1), low takes one, the third waits.
    assert_eq!(tags(&sink), ["high", "low"]);
    assert_eq!(ready(&b, "q"), 1);
    // Acking the high consumer's delivery (tag 1) frees its credit: it gets the third.
    ch.basic_ack(1, false).unwrap();
    assert_eq!(tags(&sink), ["high"]);
}

#[test]
fn equal_priorities_round_robin_above_a_lower_group() {
    let b = broker();
    let c = connect(&b);
    let (ch, sink) = channel(&c, 1);
    declare(&ch, "q");
    ch.basic_consume_with_priority("q", "z", true, false, 0, |_| {})
        .unwrap();
    ch.basic_consume_with_priority("q", "a", true, false, 3, |_| {})
        .unwrap();
    ch.basic_consume_with_priority("q", "b", true, false, 3, |_| {})
        .unwrap();
    for i in 0..4 {
        publish(&ch, "", "q", &i.to_string());
    }
    assert_eq!(tags(&sink), ["a", "b", "a", "b"]);
}
