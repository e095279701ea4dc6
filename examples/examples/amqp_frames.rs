//! A tiny AMQP 0-9-1 sniffer: decodes a captured byte stream into readable frames, re-encodes
//! every frame and checks that the bytes come out the same. Uses only `warren-amqp` (+ `bytes`).
//!
//! ```sh
//! cargo run -p warren-examples --example amqp_frames -- examples/data/pika_server.bin
//! cat capture.bin | cargo run -p warren-examples --example amqp_frames -- --frame-max 4096
//! ```
//!
//! The input is one direction of one connection: a client's stream starts with the protocol
//! header `AMQP 0 0 9 1`, a server's with `connection.start`. Exit status 0 when every byte
//! decoded and re-encoded identically, 1 otherwise.

use std::io::{Read, Write};
use std::process::ExitCode;

use bytes::BytesMut;
use warren_amqp::{check_protocol_header, Frame, FrameDecoder, ProtocolHeaderCheck};

/// RabbitMQ's default `frame_max`; a capture of a connection that negotiated more needs
/// `--frame-max`.
const DEFAULT_FRAME_MAX: u32 = 131_072;

/// What went wrong reading a stream.
#[derive(Debug, thiserror::Error)]
pub enum SniffError {
    /// The bytes are not AMQP 0-9-1.
    #[error("frame {index} (byte {offset}): {source}")]
    Decode {
        /// 1-based frame number.
        index: usize,
        /// Where the frame starts in the input.
        offset: usize,
        /// What the codec said.
        source: warren_amqp::Error,
    },
    /// A frame decoded but could not be encoded again.
    #[error("frame {index}: cannot re-encode: {source}")]
    Encode {
        /// 1-based frame number.
        index: usize,
        /// What the codec said.
        source: warren_amqp::Error,
    },
    /// The stream starts with a protocol header other than 0-9-1.
    #[error("protocol header is not AMQP 0-9-1")]
    WrongProtocol,
    /// Writing the report failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// What [`sniff`] found.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Frames decoded.
    pub frames: usize,
    /// Frames whose re-encoding differs from the captured bytes.
    pub mismatches: usize,
    /// Bytes after the last whole frame (a capture cut mid-frame).
    pub trailing: usize,
}

/// Decodes `input` frame by frame, writing one line per frame to `out`, and re-encodes each
/// frame to compare it with the bytes it came from.
pub fn sniff(input: &[u8], frame_max: u32, out: &mut impl Write) -> Result<Summary, SniffError> {
    let mut offset = 0;
    match check_protocol_header(input) {
        ProtocolHeaderCheck::Accepted => {
            writeln!(out, "protocol header AMQP 0-9-1")?;
            offset = warren_amqp::PROTOCOL_HEADER.len();
        }
        // Bytes that do start like "AMQP" but name another version.
        ProtocolHeaderCheck::Rejected if input.starts_with(b"AMQP") => {
            return Err(SniffError::WrongProtocol)
        }
        // No header: a server's stream (or a capture that starts later).
        _ => {}
    }
    let mut buf = BytesMut::from(input.get(offset..).unwrap_or_default());
    let mut decoder = FrameDecoder::new(frame_max);
    let mut summary = Summary::default();
    loop {
        let index = summary.frames + 1;
        let before = buf.len();
        let raw = input.get(offset..).unwrap_or_default();
        let frame = match decoder.decode(&mut buf) {
            Ok(Some(frame)) => frame,
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
        summary.frames = index;
        writeln!(out, "#{index:<4} {}", describe(&frame))?;

        let mut again = BytesMut::new();
        frame
            .encode(&mut again, frame_max)
            .map_err(|source| SniffError::Encode { index, source })?;
        if raw.get(..len) != Some(&again[..]) {
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
            "{} trailing bytes: an incomplete frame",
            summary.trailing
        )?;
    }
    let verdict = if summary.mismatches == 0 {
        "identical to the input".to_string()
    } else {
        format!("{} differ from the input", summary.mismatches)
    };
    writeln!(out, "re-encoded {} frames: {verdict}", summary.frames)?;
    Ok(summary)
}

/// One readable line for a frame.
pub fn describe(frame: &Frame) -> String {
    match frame {
        Frame::Method { channel, method } => {
            format!("ch {channel:<3} method  {} {method:?}", method.name())
        }
        Frame::Header { channel, header } => format!(
            "ch {channel:<3} header  class {} body-size {} {:?}",
            header.class_id, header.body_size, header.properties
        ),
        Frame::Body { channel, payload } => {
            let shown = payload.get(..64).unwrap_or(payload);
            let more = if shown.len() < payload.len() {
                "…"
            } else {
                ""
            };
            format!(
                "ch {channel:<3} body    {} bytes \"{}{more}\"",
                payload.len(),
                shown.escape_ascii()
            )
        }
        Frame::Heartbeat => "ch 0   heartbeat".to_string(),
    }
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mut path = None;
    let mut frame_max = DEFAULT_FRAME_MAX;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--frame-max" => match args.next().and_then(|n| n.parse().ok()) {
                Some(n) => frame_max = n,
                None => return usage("--frame-max needs a number"),
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
    match sniff(&input, frame_max, &mut std::io::stdout().lock()) {
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
    eprintln!("usage: amqp_frames [--frame-max N] [FILE]   (reads stdin without FILE)");
    if problem.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
