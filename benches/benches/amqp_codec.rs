//! AMQP 0-9-1 codec: decode and encode of one `basic.publish` + content header + body
//! (three frames), with 16-byte and 4 KiB bodies.
//!
//! Decoding covers what a broker does per publish: split the frames off the read buffer, parse
//! the method and header, assemble the message. Encoding writes the three frames into a reused
//! `BytesMut`. Each case is reported twice: in bytes/s and in frames/s.
#![allow(missing_docs)] // criterion_group! generates an undocumented public function

use bytes::BytesMut;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use std::hint::black_box;
use warren_amqp::{
    encode_message, Assembled, BasicProperties, BasicPublish, FieldTable, FieldValue, FrameDecoder,
    MessageAssembler, Method, ShortStr,
};

const FRAME_MAX: u32 = 131_072;
const FRAMES_PER_MESSAGE: u64 = 3;

fn message(body_len: usize) -> (Method, BasicProperties, Vec<u8>) {
    let publish = BasicPublish {
        exchange: ShortStr::from_static("webos.topic"),
        routing_key: ShortStr::from_static("car.4711.telemetry.gps"),
        ..Default::default()
    };
    let mut headers = FieldTable::new();
    headers
        .insert("device", FieldValue::from("car-4711"))
        .unwrap_or_default();
    let props = BasicProperties {
        content_type: Some(ShortStr::from_static("application/json")),
        delivery_mode: Some(2),
        message_id: Some(ShortStr::from_static(
            "3f1c9a6e-5b7d-4c1e-9e2a-1b6d8f0c2a4e",
        )),
        timestamp: Some(1_700_000_000),
        headers: Some(headers),
        ..Default::default()
    };
    (publish.into(), props, vec![b'x'; body_len])
}

fn wire(body_len: usize) -> BytesMut {
    let (method, props, body) = message(body_len);
    let mut buf = BytesMut::new();
    if let Err(e) = encode_message(&mut buf, 1, &method, &props, &body, FRAME_MAX) {
        eprintln!("cannot encode the bench message: {e}");
        std::process::exit(1);
    }
    buf
}

fn decode_one(buf: &mut BytesMut) -> usize {
    let mut decoder = FrameDecoder::new(FRAME_MAX);
    let mut asm = MessageAssembler::new(1, 128 << 20);
    let mut body = 0;
    while let Ok(Some(frame)) = decoder.decode(buf) {
        if let Ok(Some(Assembled::Message(m))) = asm.handle(frame) {
            body = m.body.len();
        }
    }
    body
}

fn bench(c: &mut Criterion) {
    let cases = [("16B", 16usize), ("4KiB", 4096)];
    for (unit, throughput) in [
        ("bytes", None),
        ("frames", Some(Throughput::Elements(FRAMES_PER_MESSAGE))),
    ] {
        let mut g = c.benchmark_group(format!("amqp_codec/{unit}"));
        for (name, len) in cases {
            let encoded = wire(len);
            g.throughput(
                throughput
                    .clone()
                    .unwrap_or(Throughput::Bytes(encoded.len() as u64)),
            );
            g.bench_function(format!("decode_publish_{name}"), |b| {
                b.iter_batched_ref(
                    || encoded.clone(),
                    |buf| black_box(decode_one(buf)),
                    BatchSize::SmallInput,
                )
            });
            let (method, props, body) = message(len);
            let mut out = BytesMut::with_capacity(encoded.len() * 2);
            g.bench_function(format!("encode_publish_{name}"), |b| {
                b.iter(|| {
                    out.clear();
                    let r = encode_message(&mut out, 1, &method, &props, &body, FRAME_MAX);
                    black_box((r, out.len()))
                })
            });
        }
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
