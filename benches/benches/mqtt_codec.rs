//! MQTT codec: decode and encode of QoS 1 PUBLISH packets with 16-byte, 256-byte and 4 KiB
//! payloads, warren-mqtt against `mqttbytes` (the codec of rumqtt) as the reference, at MQTT
//! 3.1.1 and 5.0.
//!
//! One iteration handles a batch of 64 packets, as a broker handles one read buffer: decoding
//! takes them off a `BytesMut` (the buffer copy is set-up, not timed), encoding appends them to
//! a reused `BytesMut`. Each case is reported twice: in bytes/s and in packets/s.
#![allow(missing_docs)] // criterion_group! generates an undocumented public function

use bytes::{Bytes, BytesMut};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use std::hint::black_box;
use warren_mqtt::{Decoder, Packet, PacketId, Properties, ProtocolLevel, Publish, QoS};

const BATCH: usize = 64;
const TOPIC: &str = "car2home/car-4711/telemetry/gps";
const SIZES: [usize; 3] = [16, 256, 4096];

fn warren_publish(size: usize) -> Packet {
    Packet::Publish(Publish {
        dup: false,
        qos: QoS::AtLeastOnce,
        retain: false,
        topic: TOPIC.to_string(),
        packet_id: PacketId::new(4711),
        properties: Properties::default(),
        payload: Bytes::from(vec![b'x'; size]),
    })
}

fn v4_publish(size: usize) -> mqttbytes::v4::Publish {
    let mut p = mqttbytes::v4::Publish::new(TOPIC, mqttbytes::QoS::AtLeastOnce, vec![b'x'; size]);
    p.pkid = 4711;
    p
}

fn v5_publish(size: usize) -> mqttbytes::v5::Publish {
    let mut p = mqttbytes::v5::Publish::new(TOPIC, mqttbytes::QoS::AtLeastOnce, vec![b'x'; size]);
    p.pkid = 4711;
    p
}

/// A read buffer of `BATCH` copies of `packet` as `level` encodes it.
fn wire(level: ProtocolLevel, packet: &Packet) -> BytesMut {
    let mut buf = BytesMut::new();
    for _ in 0..BATCH {
        if let Err(e) = packet.encode(level, &mut buf) {
            eprintln!("cannot encode the bench packet: {e}");
            std::process::exit(1);
        }
    }
    buf
}

fn warren_decode(level: ProtocolLevel, buf: &mut BytesMut) -> usize {
    let mut decoder = Decoder::with_level(level);
    let mut n = 0;
    while let Ok(Some(Packet::Publish(p))) = decoder.decode(buf) {
        n += p.payload.len();
    }
    n
}

fn v4_decode(buf: &mut BytesMut) -> usize {
    let mut n = 0;
    while let Ok(mqttbytes::v4::Packet::Publish(p)) = mqttbytes::v4::read(buf, 1 << 20) {
        n += p.payload.len();
    }
    n
}

fn v5_decode(buf: &mut BytesMut) -> usize {
    let mut n = 0;
    while let Ok(mqttbytes::v5::Packet::Publish(p)) = mqttbytes::v5::read(buf, 1 << 20) {
        n += p.payload.len();
    }
    n
}

fn publish(c: &mut Criterion) {
    for size in SIZES {
        let packet = warren_publish(size);
        let v311 = wire(ProtocolLevel::V3_1_1, &packet);
        let v5 = wire(ProtocolLevel::V5, &packet);
        // Both codecs must produce (and so read) the same bytes.
        let mut check = BytesMut::new();
        for _ in 0..BATCH {
            let _ = v4_publish(size).write(&mut check);
        }
        assert_eq!(check, v311, "3.1.1 encodings differ");
        check.clear();
        for _ in 0..BATCH {
            let _ = v5_publish(size).write(&mut check);
        }
        assert_eq!(check, v5, "5.0 encodings differ");

        let v4_ref = v4_publish(size);
        let v5_ref = v5_publish(size);
        for (unit, throughput) in [
            ("bytes", Throughput::Bytes(v311.len() as u64)),
            ("packets", Throughput::Elements(BATCH as u64)),
        ] {
            let mut g = c.benchmark_group(format!("mqtt_publish_{size}B_{unit}"));
            g.throughput(throughput);
            g.bench_function("decode/warren/3.1.1", |b| {
                b.iter_batched_ref(
                    || v311.clone(),
                    |buf| black_box(warren_decode(ProtocolLevel::V3_1_1, buf)),
                    BatchSize::SmallInput,
                )
            });
            g.bench_function("decode/mqttbytes/3.1.1", |b| {
                b.iter_batched_ref(
                    || v311.clone(),
                    |buf| black_box(v4_decode(buf)),
                    BatchSize::SmallInput,
                )
            });
            g.bench_function("decode/warren/5.0", |b| {
                b.iter_batched_ref(
                    || v5.clone(),
                    |buf| black_box(warren_decode(ProtocolLevel::V5, buf)),
                    BatchSize::SmallInput,
                )
            });
            g.bench_function("decode/mqttbytes/5.0", |b| {
                b.iter_batched_ref(
                    || v5.clone(),
                    |buf| black_box(v5_decode(buf)),
                    BatchSize::SmallInput,
                )
            });
            let mut out = BytesMut::with_capacity(v5.len());
            g.bench_function("encode/warren/3.1.1", |b| {
                b.iter(|| {
                    out.clear();
                    for _ in 0..BATCH {
                        let _ = black_box(&packet).encode(ProtocolLevel::V3_1_1, &mut out);
                    }
                    black_box(out.len())
                })
            });
            g.bench_function("encode/mqttbytes/3.1.1", |b| {
                b.iter(|| {
                    out.clear();
                    for _ in 0..BATCH {
                        let _ = black_box(&v4_ref).write(&mut out);
                    }
                    black_box(out.len())
                })
            });
            g.bench_function("encode/warren/5.0", |b| {
                b.iter(|| {
                    out.clear();
                    for _ in 0..BATCH {
                        let _ = black_box(&packet).encode(ProtocolLevel::V5, &mut out);
                    }
                    black_box(out.len())
                })
            });
            g.bench_function("encode/mqttbytes/5.0", |b| {
                b.iter(|| {
                    out.clear();
                    for _ in 0..BATCH {
                        let _ = black_box(&v5_ref).write(&mut out);
                    }
                    black_box(out.len())
                })
            });
            g.finish();
        }
    }
}

criterion_group!(benches, publish);
criterion_main!(benches);
