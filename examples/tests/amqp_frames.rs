#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // tests: a panic is the failure report
//! Runs the `amqp_frames` example's logic on the committed capture in `data/`.

#[allow(dead_code)] // the example's `main` is not called here
#[path = "../examples/amqp_frames.rs"]
mod example;

use example::{sniff, SniffError, Summary};

fn data(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/data/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn run(input: &[u8]) -> (Result<Summary, SniffError>, String) {
    let mut out = Vec::new();
    let result = sniff(input, 131_072, &mut out);
    (result, String::from_utf8(out).unwrap())
}

#[test]
fn pika_server_stream_decodes_and_reencodes_identically() {
    let (summary, out) = run(&data("pika_server.bin"));
    assert_eq!(
        summary.unwrap(),
        Summary {
            frames: 16,
            mismatches: 0,
            trailing: 0
        }
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 17, "{out}");
    assert!(lines[0].starts_with("#1    ch 0   method  connection.start ConnectionStart"));
    assert_eq!(
        lines[1],
        "#2    ch 0   method  connection.tune ConnectionTune(ConnectionTune { channel_max: 2047, frame_max: 131072, heartbeat: 60 })"
    );
    assert!(lines[11].starts_with("#12   ch 1   method  basic.get-ok BasicGetOk"));
    assert!(lines[11].contains(r#"routing_key: "car.42.status""#));
    assert!(lines[12].starts_with("#13   ch 1   header  class 60 body-size 15 BasicProperties"));
    assert_eq!(
        lines[13],
        r#"#14   ch 1   body    15 bytes "{\"online\":true}""#
    );
    assert_eq!(lines[16], "re-encoded 16 frames: identical to the input");
}

#[test]
fn client_stream_starts_with_the_protocol_header() {
    let mut input = b"AMQP\x00\x00\x09\x01".to_vec();
    input.extend_from_slice(&[8, 0, 0, 0, 0, 0, 0, 0xCE]); // a heartbeat
    let (summary, out) = run(&input);
    assert_eq!(summary.unwrap().frames, 1);
    assert_eq!(
        out,
        "protocol header AMQP 0-9-1\n#1    ch 0   heartbeat\nre-encoded 1 frames: identical to the input\n"
    );
}

#[test]
fn a_cut_capture_reports_its_trailing_bytes() {
    let input = data("pika_server.bin");
    let (summary, out) = run(&input[..input.len() - 3]);
    let summary = summary.unwrap();
    assert_eq!((summary.frames, summary.trailing), (15, 9));
    assert!(
        out.contains("9 trailing bytes: an incomplete frame"),
        "{out}"
    );
}

#[test]
fn garbage_is_an_error_naming_the_frame_and_offset() {
    let mut input = data("pika_server.bin");
    input[0] = 9; // not a frame type
    let (summary, _) = run(&input);
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
    let (summary, _) = run(b"AMQP\x00\x00\x08\x00");
    assert!(matches!(summary, Err(SniffError::WrongProtocol)));
}
