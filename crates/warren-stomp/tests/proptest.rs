#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // tests: a panic is the failure report

//! Properties: decode(encode(f)) == f for arbitrary frames at every version, every strict
//! prefix is incomplete, chunking does not change the result, arbitrary bytes never panic.

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use warren_stomp::{Command, Decoded, Decoder, Frame, Header, Headers, Limits, Version};

fn version() -> impl Strategy<Value = Version> {
    prop::sample::select(Version::ALL.to_vec())
}

fn command() -> impl Strategy<Value = Command> {
    prop::sample::select(Command::ALL.to_vec())
}

/// Text rich in the octets escaping is about.
fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            4 => prop::sample::select(vec!['a', 'z', '0', '/', '-', ' ', '.', '\0', '\t']),
            2 => prop::sample::select(vec![':', '\\', '\n', '\r']),
            1 => prop::sample::select(vec!['é', '€', '𝄞', 'c', 'n', 'r']),
        ],
        0..12,
    )
    .prop_map(|chars| chars.into_iter().collect())
}

/// Removes what `command` at `version` cannot carry, so that the frame encodes.
fn encodable(s: &str, command: Command, version: Version, name: bool) -> String {
    let escaping = command.escapes_headers(version);
    s.chars()
        .filter(|&c| match c {
            '\r' => escaping && version == Version::V1_2,
            '\n' => escaping,
            ':' => escaping || !name,
            _ => true,
        })
        .collect()
}

/// A frame that `version` can encode, with `content-length` where the encoder puts it, so
/// that decoding its encoding gives it back exactly.
fn frame(version: Version) -> impl Strategy<Value = Frame> {
    (
        command(),
        prop::collection::vec((text(), text()), 0..6),
        prop::collection::vec(any::<u8>(), 0..64),
        any::<prop::sample::Index>(),
        any::<bool>(),
    )
        .prop_map(move |(command, pairs, body, at, zero_length)| {
            let mut list: Vec<Header> = pairs
                .into_iter()
                .map(|(n, v)| {
                    let mut n = encodable(&n, command, version, true);
                    if n.is_empty() || n == "content-length" {
                        n.insert(0, 'h');
                    }
                    Header::new(n, encodable(&v, command, version, false))
                })
                .collect();
            if !body.is_empty() || zero_length {
                let at = at.index(list.len() + 1);
                list.insert(at, Header::new("content-length", body.len().to_string()));
            }
            Frame {
                command,
                headers: Headers::from(list),
                body: Bytes::from(body),
            }
        })
}

fn with_version() -> impl Strategy<Value = (Version, Frame)> {
    version().prop_flat_map(|v| (Just(v), frame(v)))
}

fn encode(frame: &Frame, version: Version) -> BytesMut {
    let mut buf = BytesMut::new();
    frame.encode(version, &mut buf).unwrap();
    buf
}

fn decode_stream(decoder: &Decoder, chunks: &[&[u8]]) -> Vec<Decoded> {
    let mut buf = BytesMut::new();
    let mut items = Vec::new();
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        while let Some(item) = decoder.decode(&mut buf).unwrap() {
            items.push(item);
        }
    }
    assert!(buf.is_empty());
    items
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn round_trip((version, frame) in with_version()) {
        let mut buf = encode(&frame, version);
        prop_assert_eq!(frame.encoded_len(version), Ok(buf.len()));
        let decoded = Decoder::new(version).decode(&mut buf).unwrap();
        prop_assert_eq!(decoded, Some(Decoded::Frame(frame)));
        prop_assert!(buf.is_empty());
    }

    #[test]
    fn from_bytes_too((version, frame) in with_version()) {
        let mut bytes = encode(&frame, version).freeze();
        let decoded = Decoder::new(version).decode_bytes(&mut bytes).unwrap();
        prop_assert_eq!(decoded, Some(Decoded::Frame(frame)));
        prop_assert!(bytes.is_empty());
    }

    #[test]
    fn strict_prefixes_are_incomplete((version, frame) in with_version()) {
        let wire = encode(&frame, version);
        let decoder = Decoder::new(version);
        for end in 0..wire.len() {
            let mut buf = BytesMut::from(&wire[..end]);
            prop_assert_eq!(decoder.decode(&mut buf), Ok(None), "prefix {}", end);
            prop_assert_eq!(buf.len(), end);
        }
    }

    #[test]
    fn chunking_does_not_matter(
        (version, frames) in version().prop_flat_map(|v| {
            (Just(v), prop::collection::vec((any::<bool>(), any::<bool>(), frame(v)), 1..6))
        }),
        cuts in prop::collection::vec(1usize..40, 1..30),
    ) {
        // A stream of frames and heart-beats (LF and CRLF).
        let mut wire = BytesMut::new();
        let mut expected = Vec::new();
        for (beat, crlf, f) in frames {
            if beat {
                wire.extend_from_slice(if crlf { b"\r\n" } else { b"\n" });
                expected.push(Decoded::HeartBeat);
            }
            f.encode(version, &mut wire).unwrap();
            expected.push(Decoded::Frame(f));
        }
        let decoder = Decoder::new(version);
        prop_assert_eq!(&decode_stream(&decoder, &[&wire]), &expected);
        let mut chunks = Vec::new();
        let mut rest = &wire[..];
        for cut in cuts.iter().cycle() {
            if rest.is_empty() {
                break;
            }
            let (a, b) = rest.split_at((*cut).min(rest.len()));
            chunks.push(a);
            rest = b;
        }
        prop_assert_eq!(&decode_stream(&decoder, &chunks), &expected);
    }

    #[test]
    fn arbitrary_bytes_never_panic(
        version in version(),
        data in prop::collection::vec(any::<u8>(), 0..256),
        small in any::<bool>(),
    ) {
        let limits = if small {
            Limits { max_command_len: 8, max_header_line_len: 12, max_headers: 3, max_body_len: 16 }
        } else {
            Limits::DEFAULT
        };
        let decoder = Decoder::with_limits(version, limits);
        let mut buf = BytesMut::from(&data[..]);
        loop {
            let before = buf.len();
            match decoder.decode(&mut buf) {
                Ok(Some(_)) => prop_assert!(buf.len() < before),
                Ok(None) => { prop_assert_eq!(buf.len(), before); break }
                Err(_) => break,
            }
        }
    }

    /// Frame-shaped noise: valid frames with some bytes overwritten go through the fuzz body,
    /// which checks chunking invariance and the round trip of whatever decodes.
    #[test]
    fn mutated_frames_keep_the_invariants(
        (version, frame) in with_version(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), prop::sample::select(b":\\\n\r\0cnrx".to_vec())), 0..4),
        mode in any::<u8>(),
        seed in prop::collection::vec(any::<u8>(), 0..8),
    ) {
        let mut wire = encode(&frame, version).to_vec();
        for (at, byte) in edits {
            let i = at.index(wire.len());
            wire[i] = byte;
        }
        warren_stomp::fuzzing::decode_at(version, &wire);
        let v = Version::ALL.iter().position(|v| *v == version).unwrap() as u8;
        let mut input = vec![(mode / 3).min(84) * 3 + v, seed.len() as u8];
        input.extend_from_slice(&seed);
        input.extend_from_slice(&wire);
        warren_stomp::fuzzing::decode_chunked(&input);
    }

    #[test]
    fn fuzz_body_on_arbitrary_bytes(data in prop::collection::vec(any::<u8>(), 0..300)) {
        warren_stomp::fuzzing::decode_chunked(&data);
    }
}
