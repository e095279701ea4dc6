//! STOMP codec: decode and encode of a typical SEND (client) and MESSAGE (server) frame with a
//! 256-byte JSON-ish body, STOMP 1.2.
//!
//! One iteration handles a batch of 64 frames, as a broker handles one read buffer: decoding
//! takes them off a `BytesMut` (the buffer copy is set-up, not timed), encoding appends them to
//! a reused `BytesMut`. Throughput is reported in frames/s.
#![allow(missing_docs)] // criterion_group! generates an undocumented public function
#![allow(clippy::unwrap_used)] // bench set-up: a panic is the failure report

use bytes::{Bytes, BytesMut};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use std::hint::black_box;
use warren_stomp::{Command, Decoded, Decoder, Frame, Version};

const BATCH: usize = 64;

fn body() -> Bytes {
    let mut b = String::from("{\"Producer\":\"car\",\"command\":\"telemetry\",\"data\":\"");
    while b.len() < 254 {
        b.push('x');
    }
    b.push_str("\"}");
    Bytes::from(b)
}

fn send() -> Frame {
    Frame::new(Command::Send)
        .header("destination", "/exchange/webos.topic/webos.server.info")
        .header("content-type", "application/json")
        .header("receipt", "r-4711")
        .body(body())
}

fn message() -> Frame {
    Frame::new(Command::Message)
        .header("subscription", "sub-0")
        .header("destination", "/exchange/webos.topic/webos.server.info")
        .header("message-id", "T_sub-0@@session-Xk3q@@4711")
        .header("ack", "T_sub-0@@session-Xk3q@@4711")
        .header("redelivered", "false")
        .header("content-type", "application/json")
        .body(body())
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("stomp_codec");
    group.throughput(Throughput::Elements(BATCH as u64));
    for (name, frame) in [("send", send()), ("message", message())] {
        let mut wire = BytesMut::new();
        for _ in 0..BATCH {
            frame.encode(Version::V1_2, &mut wire).unwrap();
        }
        let decoder = Decoder::new(Version::V1_2);
        group.bench_function(format!("decode/{name}"), |b| {
            b.iter_batched_ref(
                || wire.clone(),
                |buf| {
                    while let Ok(Some(item)) = decoder.decode(buf) {
                        black_box(&item);
                        if let Decoded::HeartBeat = item {
                            unreachable!()
                        }
                    }
                },
                BatchSize::SmallInput,
            )
        });
        let mut out = BytesMut::with_capacity(wire.len());
        group.bench_function(format!("encode/{name}"), |b| {
            b.iter(|| {
                out.clear();
                for _ in 0..BATCH {
                    black_box(&frame).encode(Version::V1_2, &mut out).unwrap();
                }
                black_box(&out);
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
