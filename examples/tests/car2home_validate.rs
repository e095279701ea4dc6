#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // tests: a panic is the failure report
//! Runs the `car2home_validate` example's logic on the committed messages in `data/`.

#[allow(dead_code)] // the example's `main` is not called here
#[path = "../examples/car2home_validate.rs"]
mod example;

use example::{check, check_lines, Tally};
use warren_car2home::Validator;

#[test]
fn sample_messages_get_the_expected_verdicts() {
    let path = format!("{}/data/car2home_messages.txt", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(path).unwrap();
    let mut out = Vec::new();
    let mut tally = Tally::default();
    check_lines(&Validator::new(), "m", &text, &mut out, &mut tally).unwrap();
    assert_eq!(
        tally,
        Tally {
            valid: 4,
            invalid: 4
        }
    );
    let out = String::from_utf8(out).unwrap();
    let expected = [
        "m:2: ok       webos.server.info: signup from android",
        "m:3: ok       webos.server.info: sensor from smarthome",
        "m:4: ok       webos.car.info: seat_heat from server (not in the catalogue: passed through)",
        "m:5: ok       fanout: emergency from camera",
        "m:6: INVALID  webos.car.info: [recipient-not-allowed] routing key `webos.car.info`: `signup` goes to server, not to car",
        r#"m:7: INVALID  webos.server.info: [wrong-type] /value: expected number, found string "hot""#,
        "m:8: INVALID  webos.fridge.info: [bad-routing-key] routing key `webos.fridge.info`: second word `fridge` is not a device (expected one of server, smarthome, car, android, camera)",
        "m:9: INVALID  webos.server.info: [not-json] payload is not JSON: EOF while parsing an object at line 1 column 53",
    ];
    assert_eq!(out.lines().collect::<Vec<_>>(), expected);
}

#[test]
fn only_broadcastable_commands_pass_on_the_fanout() {
    let mut out = Vec::new();
    let mut tally = Tally::default();
    let payload = br#"{"Producer":"android","command":"signup","UID":"u1","name":"Kim"}"#;
    check(
        &Validator::new(),
        "f",
        "fanout",
        payload,
        &mut out,
        &mut tally,
    )
    .unwrap();
    assert_eq!(tally.invalid, 1);
    let out = String::from_utf8(out).unwrap();
    assert!(
        out.starts_with("f: INVALID  fanout: [not-broadcast]"),
        "{out}"
    );
}
