#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // tests: a panic is the failure report
//! Runs the `mqtt_frames` example's logic on the committed captures in `data/`.

#[allow(dead_code)] // the example's `main` is not called here
#[path = "../examples/mqtt_frames.rs"]
mod example;

use example::{sniff, SniffError, Summary};
use warren_mqtt::ProtocolLevel;

fn data(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/data/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn run(input: &[u8], level: Option<ProtocolLevel>) -> (Result<Summary, SniffError>, String) {
    let mut out = Vec::new();
    let result = sniff(input, level, &mut out);
    (result, String::from_utf8(out).unwrap())
}

#[test]
fn mqtt5_client_stream_takes_its_level_from_connect() {
    let (summary, out) = run(&data("mosquitto_pub_v5_client.bin"), None);
    assert_eq!(
        summary.unwrap(),
        Summary {
            packets: 3,
            mismatches: 0,
            trailing: 0
        }
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "-- MQTT 5.0 --");
    assert!(
        lines[1].starts_with("#1    CONNECT     Connect(Connect { level: V5,"),
        "{out}"
    );
    assert!(lines[1].contains(r#"client_id: "warren-pub-mqttv5""#));
    assert!(
        lines[2].starts_with("#2    PUBLISH     Publish(Publish {"),
        "{out}"
    );
    assert!(lines[2].contains(r#"topic: "warren/vectors/mqttv5/garage/door""#));
    assert!(
        lines[3].starts_with("#3    DISCONNECT  Disconnect("),
        "{out}"
    );
    assert_eq!(lines[4], "re-encoded 3 packets: identical to the input");
    assert_eq!(lines.len(), 5);
}

#[test]
fn mqtt311_server_stream_decodes_at_the_given_level() {
    let (summary, out) = run(&data("paho_v311_server.bin"), Some(ProtocolLevel::V3_1_1));
    assert_eq!(summary.unwrap().packets, 10);
    let kinds: Vec<&str> = out
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1))
        .collect();
    assert_eq!(
        kinds,
        [
            "CONNACK", "SUBACK", "PUBLISH", "PUBLISH", "PUBACK", "PUBREC", "PUBLISH", "PUBCOMP",
            "PUBREL", "UNSUBACK", "10"
        ]
    );
    assert!(out.ends_with("re-encoded 10 packets: identical to the input\n"));
}

#[test]
fn a_server_stream_without_a_level_is_refused_at_its_first_packet() {
    let (summary, _) = run(&data("paho_v311_server.bin"), None);
    let err = summary.unwrap_err();
    assert!(
        matches!(
            err,
            SniffError::Decode {
                index: 1,
                offset: 0,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn a_cut_capture_reports_its_trailing_bytes() {
    let input = data("mosquitto_pub_v5_client.bin");
    let (summary, out) = run(&input[..input.len() - 1], None);
    let summary = summary.unwrap();
    assert_eq!(summary.packets, 2);
    assert!(summary.trailing > 0);
    assert!(
        out.contains("trailing bytes: an incomplete packet"),
        "{out}"
    );
}
