//! Entry points for the fuzz targets in `fuzz/` (feature `fuzzing`). Each takes the fuzzer's
//! bytes, must never panic on them, and panics only when an invariant of the codec breaks.

use crate::{Assembled, FrameDecoder, MessageAssembler};
use bytes::BytesMut;
use std::collections::HashMap;

/// Splits `data` into a control prefix and the stream: the first byte picks `frame_max`, the
/// next few pick read sizes.
fn controls(data: &[u8]) -> (u32, [usize; 4], &[u8]) {
    let (ctl, stream) = data.split_at(data.len().min(5));
    let mut it = ctl.iter().copied();
    let frame_max = match it.next().unwrap_or(0) {
        0 => 0,
        n => 4096u32.saturating_add(u32::from(n).saturating_mul(512)),
    };
    let mut sizes = [1usize; 4];
    for s in &mut sizes {
        *s = usize::from(it.next().unwrap_or(1)).max(1);
    }
    (frame_max, sizes, stream)
}

/// Decodes the stream once whole and once in fuzzer-chosen chunks: both must give the same
/// frames and the same first error (if any). Every decoded frame must re-encode and decode to
/// itself.
pub fn decode_frames(data: &[u8]) {
    let (frame_max, sizes, stream) = controls(data);

    let mut whole = BytesMut::from(stream);
    let mut d = FrameDecoder::new(frame_max);
    let mut frames = Vec::new();
    let end = loop {
        match d.decode(&mut whole) {
            Ok(Some(f)) => frames.push(f),
            Ok(None) => break None,
            Err(e) => break Some(e),
        }
    };

    let mut chunked = Vec::new();
    let mut buf = BytesMut::new();
    let mut d = FrameDecoder::new(frame_max);
    let mut rest = stream;
    let mut chunk_end = None;
    'feed: for size in sizes.iter().cycle() {
        if rest.is_empty() {
            break;
        }
        let (now, later) = rest.split_at((*size).min(rest.len()));
        rest = later;
        buf.extend_from_slice(now);
        loop {
            match d.decode(&mut buf) {
                Ok(Some(f)) => chunked.push(f),
                Ok(None) => break,
                Err(e) => {
                    chunk_end = Some(e);
                    break 'feed;
                }
            }
        }
    }
    assert_eq!(frames, chunked, "chunking changed the frames");
    assert_eq!(end, chunk_end, "chunking changed the error");

    for f in frames {
        let mut out = BytesMut::new();
        if f.encode(&mut out, 0).is_ok() {
            let again = FrameDecoder::new(0).decode(&mut out);
            assert_eq!(again, Ok(Some(f)), "re-encoded frame decodes differently");
            assert!(out.is_empty());
        }
    }
}

/// Decodes frames and feeds them to per-channel assemblers; every message assembled is split
/// again under `frame_max` and must reassemble to itself.
pub fn assemble(data: &[u8]) {
    let (frame_max, _, stream) = controls(data);
    let max_body = 1u64 << 20;
    let mut buf = BytesMut::from(stream);
    let mut d = FrameDecoder::new(frame_max);
    let mut channels: HashMap<u16, MessageAssembler> = HashMap::new();
    while let Ok(Some(frame)) = d.decode(&mut buf) {
        let channel = frame.channel();
        let asm = channels
            .entry(channel)
            .or_insert_with(|| MessageAssembler::new(channel, max_body));
        match asm.handle(frame) {
            Ok(Some(Assembled::Message(m))) => check_resplit(&m, channel, frame_max, max_body),
            Ok(_) => {}
            Err(e) => {
                let _ = (e.reply_code(), e.class_method());
                asm.reset();
            }
        }
    }
}

fn check_resplit(m: &crate::Message, channel: u16, frame_max: u32, max_body: u64) {
    let mut out = BytesMut::new();
    if m.encode(&mut out, channel, frame_max).is_err() {
        return; // a method or header too large for frame_max when re-encoded alone
    }
    let mut d = FrameDecoder::new(frame_max);
    let mut asm = MessageAssembler::new(channel, max_body);
    let mut got = None;
    while let Some(f) = d.decode(&mut out).ok().flatten() {
        assert!(got.is_none(), "frames after the message completed");
        got = asm.handle(f).ok().flatten();
    }
    assert_eq!(
        got,
        Some(Assembled::Message(m.clone())),
        "split message differs"
    );
}
