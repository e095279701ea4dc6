//! Fuzz target bodies (feature `fuzzing`). Each function panics only when an invariant of the
//! codec is broken, which is what the fuzzer looks for.

use bytes::BytesMut;

use crate::decode::Decoder;
use crate::packet::{Packet, ProtocolLevel};

/// Everything a decode run produced: the packets, then how it stopped.
type Outcome = (Vec<Packet>, Option<crate::DecodeError>);

fn run(mut decoder: Decoder, chunks: &mut dyn Iterator<Item = &[u8]>) -> Outcome {
    let mut buf = BytesMut::new();
    let mut packets = Vec::new();
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        loop {
            match decoder.decode(&mut buf) {
                Ok(Some(packet)) => {
                    if let (None, Packet::Connect(c)) = (decoder.level(), &packet) {
                        decoder.set_level(c.level);
                    }
                    packets.push(packet);
                }
                Ok(None) => break,
                Err(e) => return (packets, Some(e)),
            }
        }
    }
    (packets, None)
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

/// Decodes `data` at a fuzzer-chosen level, maximum packet size and chunking.
///
/// Input layout: byte 0 picks the level (`% 4`: unknown until CONNECT, 3.1, 3.1.1, 5.0) and the
/// maximum packet size (`/ 4`: 0 means unlimited, else `n * 16` bytes); byte 1 is the number
/// `k` of chunk-size bytes that follow; the rest is the stream. Checks that the chunked decode
/// gives the same packets and error as decoding the whole stream at once, and that every packet
/// decoded re-encodes to bytes that decode to an equal packet.
pub fn decode_chunked(data: &[u8]) {
    let (Some(&mode), Some(&k)) = (data.first(), data.get(1)) else {
        return;
    };
    let rest = data.get(2..).unwrap_or_default();
    let (seed, stream) = rest.split_at(usize::from(k).min(rest.len()));
    let level = match mode % 4 {
        1 => Some(ProtocolLevel::V3_1),
        2 => Some(ProtocolLevel::V3_1_1),
        3 => Some(ProtocolLevel::V5),
        _ => None,
    };
    let mut decoder = level.map_or_else(Decoder::new, Decoder::with_level);
    if mode / 4 > 0 {
        decoder.set_max_packet_size(u32::from(mode / 4) * 16);
    }
    let whole = run(decoder.clone(), &mut std::iter::once(stream));
    let chunked = run(
        decoder.clone(),
        &mut Chunks {
            data: stream,
            seed,
            i: 0,
        },
    );
    assert_eq!(whole, chunked, "chunking changed the result");
    round_trip(level, &whole.0);
}

/// Decodes `data` as one stream at `level` (`None`: CONNECT first) and checks the round trip of
/// every packet decoded.
pub fn decode_at(level: Option<ProtocolLevel>, data: &[u8]) {
    let decoder = level.map_or_else(Decoder::new, Decoder::with_level);
    let (packets, _) = run(decoder, &mut std::iter::once(data));
    round_trip(level, &packets);
}

fn round_trip(mut level: Option<ProtocolLevel>, packets: &[Packet]) {
    for packet in packets {
        if let (None, Packet::Connect(c)) = (level, packet) {
            level = Some(c.level);
        }
        let at = match packet {
            Packet::Connect(c) => c.level,
            _ => match level {
                Some(l) => l,
                None => return,
            },
        };
        let mut buf = BytesMut::new();
        let written = packet.encode(at, &mut buf);
        assert_eq!(written, Ok(buf.len()), "a decoded packet failed to encode");
        let mut decoder = Decoder::with_level(at);
        let again = decoder.decode(&mut buf);
        assert_eq!(
            again.as_ref(),
            Ok(&Some(packet.clone())),
            "round trip changed {packet:?}"
        );
        assert!(buf.is_empty(), "re-encoded packet left bytes behind");
    }
}
