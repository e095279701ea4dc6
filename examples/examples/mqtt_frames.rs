//! A tiny MQTT sniffer: decodes a captured MQTT 3.1 / 3.1.1 / 5.0 byte stream into readable
//! packets, re-encodes every packet and checks that the bytes come out the same. Uses only
//! `warren-mqtt` (+ `bytes`).
//!
//! ```sh
//! # A client's stream: the level comes from its CONNECT.
//! cargo run -p warren-examples --example mqtt_frames -- examples/data/mosquitto_pub_v5_client.bin
//! # A server's stream has no CONNECT: say which level the connection speaks (3, 4 or 5).
//! cargo run -p warren-examples --example mqtt_frames -- --level 4 examples/data/paho_v311_server.bin
//! ```
//!
//! Exit status 0 when every byte decoded and re-encoded identically, 1 otherwise.

use std::io::{Read, Write};
use std::process::ExitCode;

use bytes::BytesMut;
use warren_mqtt::{Decoder, Packet, ProtocolLevel};

/// What went wrong reading a stream.
#[derive(Debug, thiserror::Error)]
pub enum SniffError {
    /// The bytes are not MQTT (at this level).
    #[error("packet {index} (byte {offset}): {source}")]
    Decode {
        /// 1-based packet number.
        index: usize,
        /// Where the packet starts in the input.
        offset: usize,
        /// What the codec said.
        source: warren_mqtt::DecodeError,
    },
    /// A packet decoded but could not be encoded again.
    #[error("packet {index}: cannot re-encode: {source}")]
    Encode {
        /// 1-based packet number.
        index: usize,
        /// What the codec said.
        source: warren_mqtt::EncodeError,
    },
    /// Writing the report failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// What [`sniff`] found.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Packets decoded.
    pub packets: usize,
    /// Packets whose re-encoding differs from the captured bytes.
    pub mismatches: usize,
    /// Bytes after the last whole packet (a capture cut mid-packet).
    pub trailing: usize,
}

/// Decodes `input` packet by packet, writing one line per packet to `out`, and re-encodes each
/// to compare it with the bytes it came from. Without `level` the stream must start with a
/// CONNECT, whose level then applies to the rest.
pub fn sniff(
    input: &[u8],
    level: Option<ProtocolLevel>,
    out: &mut impl Write,
) -> Result<Summary, SniffError> {
    let mut decoder = match level {
        Some(level) => Decoder::with_level(level),
        None => Decoder::new(),
    };
    let mut buf = BytesMut::from(input);
    let mut offset = 0;
    let mut summary = Summary::default();
    loop {
        let index = summary.packets + 1;
        let before = buf.len();
        let packet = match decoder.decode(&mut buf) {
            Ok(Some(packet)) => packet,
            Ok(None) => break,
            Err(source) => {
                return Err(SniffError::Decode {
                    index,
                    offset,
                    source,
                })
            }
        };
        let len = before.saturating_sub(buf.len());
        summary.packets = index;
        if let Packet::Connect(connect) = &packet {
            decoder.set_level(connect.level);
            writeln!(out, "-- {} --", connect.level)?;
        }
        let kind = packet.packet_type().to_string();
        writeln!(out, "#{index:<4} {kind:<11} {packet:?}")?;

        // The decoder knows the level by now: it has decoded this packet at it.
        let level = decoder.level().unwrap_or(ProtocolLevel::V5);
        let mut again = BytesMut::new();
        packet
            .encode(level, &mut again)
            .map_err(|source| SniffError::Encode { index, source })?;
        if input.get(offset..offset + len) != Some(&again[..]) {
            summary.mismatches += 1;
            writeln!(
                out,
                "      ^ re-encoded differently ({} bytes)",
                again.len()
            )?;
        }
        offset += len;
    }
    summary.trailing = buf.len();
    if summary.trailing > 0 {
        writeln!(
            out,
            "{} trailing bytes: an incomplete packet",
            summary.trailing
        )?;
    }
    let verdict = if summary.mismatches == 0 {
        "identical to the input".to_string()
    } else {
        format!("{} differ from the input", summary.mismatches)
    };
    writeln!(out, "re-encoded {} packets: {verdict}", summary.packets)?;
    Ok(summary)
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mut path = None;
    let mut level = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--level" => match args
                .next()
                .and_then(|n| n.parse().ok())
                .and_then(ProtocolLevel::from_u8)
            {
                Some(l) => level = Some(l),
                None => return usage("--level takes 3 (3.1), 4 (3.1.1) or 5 (5.0)"),
            },
            "-h" | "--help" => return usage(""),
            _ if path.is_none() => path = Some(arg),
            _ => return usage("one input file at most"),
        }
    }
    let input = match &path {
        Some(p) => std::fs::read(p),
        None => {
            let mut v = Vec::new();
            std::io::stdin().read_to_end(&mut v).map(|_| v)
        }
    };
    let input = match input {
        Ok(bytes) => bytes,
        Err(e) => {
            eprintln!("{}: {e}", path.as_deref().unwrap_or("<stdin>"));
            return ExitCode::FAILURE;
        }
    };
    match sniff(&input, level, &mut std::io::stdout().lock()) {
        Ok(s) if s.mismatches == 0 && s.trailing == 0 => ExitCode::SUCCESS,
        Ok(_) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn usage(problem: &str) -> ExitCode {
    if !problem.is_empty() {
        eprintln!("error: {problem}");
    }
    eprintln!("usage: mqtt_frames [--level 3|4|5] [FILE]   (reads stdin without FILE)");
    if problem.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
