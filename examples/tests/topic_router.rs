#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // tests: a panic is the failure report
//! Runs the `topic_router` example's logic on the committed bindings and keys in `data/`.

#[allow(dead_code)] // the example's `main` is not called here
#[path = "../examples/topic_router.rs"]
mod example;

use example::{build, route_all, RouterError, Syntax};

fn data(name: &str) -> String {
    std::fs::read_to_string(format!("{}/data/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

/// The output without the timings (`  [1.2µs]` and the total line's figures).
fn route(bindings: &str, syntax: Syntax, keys: &str) -> Vec<String> {
    let table = build(bindings, syntax).unwrap();
    let mut out = Vec::new();
    let (count, _) = route_all(table.as_ref(), keys.as_bytes(), &mut out).unwrap();
    let out = String::from_utf8(out).unwrap();
    let mut lines: Vec<String> = out.lines().map(str::to_owned).collect();
    let total = lines.pop().unwrap();
    assert!(
        total.starts_with(&format!(
            "routed {count} keys through {} bindings in ",
            table.len()
        )),
        "{total}"
    );
    lines
        .iter()
        .map(|l| {
            let (routed, time) = l.rsplit_once("  [").unwrap();
            assert!(time.ends_with("s]"), "{l}");
            routed.to_owned()
        })
        .collect()
}

#[test]
fn car2home_bindings_route_the_sample_keys() {
    let lines = route(&data("bindings.txt"), Syntax::Amqp, &data("keys.txt"));
    assert_eq!(
        lines,
        [
            "webos.server.info -> audit, server",
            "webos.car.error -> alerts, audit, car",
            "webos.android.warning -> android, audit",
            "webos -> audit",
            "home.kitchen.light -> (no match)",
        ]
    );
}

#[test]
fn mqtt_syntax_keeps_dollar_topics_apart() {
    let bindings = "# all\nhome/+/light lights\n$SYS/# sys\n";
    let lines = route(bindings, Syntax::Mqtt, "home/garage/light\n$SYS/uptime\n");
    assert_eq!(
        lines,
        ["home/garage/light -> all, lights", "$SYS/uptime -> sys"]
    );
}

#[test]
fn bad_lines_name_their_line_number() {
    let err = build("// comment\n\nwebos.# audit extra\n", Syntax::Amqp)
        .err()
        .unwrap();
    assert!(matches!(err, RouterError::Syntax { line: 3, .. }), "{err}");
    let err = build("a.b q\nhome/#/x q\n", Syntax::Mqtt).err().unwrap();
    assert!(matches!(err, RouterError::Pattern { line: 2, .. }), "{err}");
}
