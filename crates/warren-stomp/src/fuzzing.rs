//! Fuzz target bodies (feature `fuzzing`). Each function panics only when an invariant of the
//! codec is broken, which is what the fuzzer looks for.

use bytes::BytesMut;

use crate::command::Version;
use crate::decode::{Decoded, Decoder};
use crate::error::DecodeError;
use crate::limits::Limits;

/// Everything a decode run produced: the items, then how it stopped.
type Outcome = (Vec<Decoded>, Option<DecodeError>);

fn run(decoder: &Decoder, chunks: &mut dyn Iterator<Item = &[u8]>) -> Outcome {
    let mut buf = BytesMut::new();
    let mut items = Vec::new();
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        loop {
            let before = buf.len();
            match decoder.decode(&mut buf) {
                Ok(Some(item)) => {
                    assert!(buf.len() < before, "an item consumed nothing");
                    items.push(item);
                }
                Ok(None) => {
                    assert_eq!(buf.len(), before, "Incomplete consumed bytes");
                    break;
                }
                Err(e) => return (items, Some(e)),
            }
        }
    }
    (items, None)
}

/// Chunk sizes drawn from `seed` bytes (1..=64 each, cycling).
struct Chunks<'a> {
    data: &'a [u8],
    seed: &'a [u8],
    i: usize,
}

impl<'a> Iterator for Chunks<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.data.is_empty() {
            return None;
        }
        let size = match self.seed.len() {
            0 => 1,
            n => usize::from(self.seed.get(self.i % n).copied().unwrap_or(0) % 64) + 1,
        };
        self.i = self.i.wrapping_add(1);
        let (chunk, rest) = self.data.split_at(size.min(self.data.len()));
        self.data = rest;
        Some(chunk)
    }
}

/// Decodes `data` at a fuzzer-chosen version, limits and chunking.
///
/// Input layout: byte 0 picks the version (`% 3`: 1.0, 1.1, 1.2) and, when `/ 3` is non-zero,
/// small limits (command 16, header line `4 * n`, 8 headers, body `16 * n` octets); byte 1 is
/// the number `k` of chunk-size bytes that follow; the rest is the stream. Checks that the
/// chunked decode gives the same items and error as decoding the whole stream at once, and
/// that every decoded frame re-encodes to bytes that decode to the same frame.
pub fn decode_chunked(data: &[u8]) {
    let (Some(&mode), Some(&k)) = (data.first(), data.get(1)) else {
        return;
    };
    let rest = data.get(2..).unwrap_or_default();
    let (seed, stream) = rest.split_at(usize::from(k).min(rest.len()));
    let version = Version::ALL
        .get(usize::from(mode % 3))
        .copied()
        .unwrap_or_default();
    let n = usize::from(mode / 3);
    let limits = if n == 0 {
        Limits::DEFAULT
    } else {
        Limits {
            max_command_len: 16,
            max_header_line_len: 4 * n,
            max_headers: 8,
            max_body_len: 16 * n,
        }
    };
    let decoder = Decoder::with_limits(version, limits);
    let whole = run(&decoder, &mut std::iter::once(stream));
    let chunked = run(
        &decoder,
        &mut Chunks {
            data: stream,
            seed,
            i: 0,
        },
    );
    assert_eq!(whole, chunked, "chunking changed the result");
    round_trip(version, &whole.0);
}

/// Decodes `data` as one stream at `version` and checks the round trip of every frame.
pub fn decode_at(version: Version, data: &[u8]) {
    let decoder = Decoder::new(version);
    let (items, _) = run(&decoder, &mut std::iter::once(data));
    round_trip(version, &items);
}

fn round_trip(version: Version, items: &[Decoded]) {
    for item in items {
        let Decoded::Frame(frame) = item else {
            continue;
        };
        let mut buf = BytesMut::new();
        let written = frame.encode(version, &mut buf);
        assert_eq!(written, Ok(buf.len()), "a decoded frame failed to encode");
        let again = Decoder::new(version).decode(&mut buf);
        assert!(
            matches!(again, Ok(Some(Decoded::Frame(_)))),
            "re-encoded frame of {frame:?} does not decode: {again:?}"
        );
        let Ok(Some(Decoded::Frame(again))) = again else {
            return;
        };
        assert!(buf.is_empty(), "re-encoded frame left bytes behind");
        assert_eq!(again.command, frame.command);
        assert_eq!(again.body, frame.body);
        // The encoder owns content-length: compare the other headers, in order.
        let others = |f: &crate::Frame| {
            f.headers
                .iter()
                .filter(|h| h.name() != crate::names::CONTENT_LENGTH)
                .cloned()
                .collect::<Vec<_>>()
        };
        assert_eq!(others(&again), others(frame), "round trip changed headers");
        if !frame.body.is_empty() || frame.headers.contains(crate::names::CONTENT_LENGTH) {
            assert_eq!(again.content_length(), Ok(Some(frame.body.len())));
        }
    }
}
