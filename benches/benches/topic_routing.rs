//! Topic routing: the warren-topic tries against the linear-scan baseline.
//!
//! Groups (each at 10 / 1 000 / 100 000 bindings):
//! - `topic_match/car2home/{trie,linear}`: Car2Home-shaped bindings and keys
//!   (`webos.<device>-<n>.<info|error|warning>`, per-device exact keys and `*` / `#` patterns,
//!   plus the global `webos.smarthome.*`, `webos.#`, `*.car.#`); one route per element.
//! - `topic_match/random/{trie,linear}`: random words, 10% `*` and 5% `#` words in patterns.
//! - `mqtt_match/car2home/trie`: the same shape as MQTT filters (`webos/car-3/+`, `webos/#`).
//! - `topic_bind_unbind/{trie,linear}`: bind then unbind one fresh pattern in a full table.
//!
//! Memory per binding is printed before the timings: the bench binary's global allocator counts
//! bytes (stats_alloc), and building each table is measured as net bytes allocated.
//!
//! Run: `cargo bench -p warren-benches --bench topic_routing -- --warm-up-time 1 --measurement-time 2`

use std::alloc::System;
use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput};
use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};
use warren_topic::{LinearTable, MqttTable, RoutingTable, TopicTable};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const SIZES: [usize; 3] = [10, 1_000, 100_000];
const DEVICES: [&str; 5] = ["server", "smarthome", "car", "android", "camera"];
const LEVELS: [&str; 3] = ["info", "error", "warning"];
const KEYS: usize = 1024;

/// splitmix64: a fixed-seed generator so every run routes the same keys.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items.get(self.below(items.len())).copied().unwrap_or("")
    }
}

/// Car2Home bindings with `sep` as the separator and `single` as the one-word wildcard: three
/// global patterns, then per device instance 60% exact keys, 20% `<dev>.*`, 10% `<dev>.#`,
/// 10% `*.<dev>.#`.
fn car2home_bindings(n: usize, sep: char, single: &str) -> Vec<String> {
    let globals = [
        format!("webos{sep}smarthome{sep}{single}"),
        format!("webos{sep}#"),
        format!("{single}{sep}car{sep}#"),
    ];
    (0..n)
        .map(|i| {
            if let Some(g) = globals.get(i) {
                return g.clone();
            }
            let device = DEVICES[i % DEVICES.len()];
            let instance = i / DEVICES.len();
            let level = LEVELS[i % LEVELS.len()];
            match i % 10 {
                0..=5 => format!("webos{sep}{device}-{instance}{sep}{level}"),
                6 | 7 => format!("webos{sep}{device}-{instance}{sep}{single}"),
                8 => format!("webos{sep}{device}-{instance}{sep}#"),
                _ => format!("{single}{sep}{device}-{instance}{sep}#"),
            }
        })
        .collect()
}

/// Keys for a table of `n` bindings: 80% name a device instance that exists, 20% are the plain
/// `webos.<device>.<level>`.
fn car2home_keys(n: usize, sep: char, rng: &mut Rng) -> Vec<String> {
    let instances = (n / DEVICES.len()).max(1);
    (0..KEYS)
        .map(|_| {
            let device = rng.pick(&DEVICES);
            let level = rng.pick(&LEVELS);
            if rng.below(5) == 0 {
                format!("webos{sep}{device}{sep}{level}")
            } else {
                format!("webos{sep}{device}-{}{sep}{level}", rng.below(instances))
            }
        })
        .collect()
}

fn random_word(rng: &mut Rng) -> String {
    format!("w{}", rng.below(1000))
}

fn random_pattern(rng: &mut Rng) -> String {
    let words = 1 + rng.below(5);
    (0..words)
        .map(|_| match rng.below(100) {
            0..=9 => "*".to_string(),
            10..=14 => "#".to_string(),
            _ => random_word(rng),
        })
        .collect::<Vec<_>>()
        .join(".")
}

fn random_key(rng: &mut Rng) -> String {
    let words = 1 + rng.below(5);
    (0..words)
        .map(|_| random_word(rng))
        .collect::<Vec<_>>()
        .join(".")
}

fn build<T: RoutingTable<u32> + Default>(patterns: &[String]) -> T {
    let mut table = T::default();
    for (i, p) in patterns.iter().enumerate() {
        let _ = table.bind(p, i as u32);
    }
    table
}

/// Routes one key per iteration, cycling through `keys`.
fn bench_route<T: RoutingTable<u32>>(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    n: usize,
    table: &T,
    keys: &[String],
) {
    group.bench_with_input(BenchmarkId::new(name, n), &n, |b, _| {
        let mut out = Vec::with_capacity(64);
        let mut i = 0usize;
        b.iter(|| {
            out.clear();
            let key = keys.get(i % keys.len()).map_or("", String::as_str);
            i = i.wrapping_add(1);
            table.route(black_box(key), &mut out);
            black_box(out.len())
        });
    });
}

fn matching(c: &mut Criterion) {
    let mut group = c.benchmark_group("topic_match/car2home");
    group.throughput(Throughput::Elements(1));
    for n in SIZES {
        let patterns = car2home_bindings(n, '.', "*");
        let keys = car2home_keys(n, '.', &mut Rng(n as u64));
        bench_route(
            &mut group,
            "trie",
            n,
            &build::<TopicTable<u32>>(&patterns),
            &keys,
        );
        bench_route(
            &mut group,
            "linear",
            n,
            &build::<LinearTable<u32>>(&patterns),
            &keys,
        );
    }
    group.finish();

    let mut group = c.benchmark_group("topic_match/random");
    group.throughput(Throughput::Elements(1));
    for n in SIZES {
        let mut rng = Rng(7 + n as u64);
        let patterns: Vec<String> = (0..n).map(|_| random_pattern(&mut rng)).collect();
        let keys: Vec<String> = (0..KEYS).map(|_| random_key(&mut rng)).collect();
        bench_route(
            &mut group,
            "trie",
            n,
            &build::<TopicTable<u32>>(&patterns),
            &keys,
        );
        bench_route(
            &mut group,
            "linear",
            n,
            &build::<LinearTable<u32>>(&patterns),
            &keys,
        );
    }
    group.finish();

    let mut group = c.benchmark_group("mqtt_match/car2home");
    group.throughput(Throughput::Elements(1));
    for n in SIZES {
        let filters = car2home_bindings(n, '/', "+");
        let topics = car2home_keys(n, '/', &mut Rng(n as u64));
        bench_route(
            &mut group,
            "trie",
            n,
            &build::<MqttTable<u32>>(&filters),
            &topics,
        );
    }
    group.finish();
}

fn bind_unbind(c: &mut Criterion) {
    let mut group = c.benchmark_group("topic_bind_unbind");
    group.throughput(Throughput::Elements(1));
    for n in SIZES {
        let patterns = car2home_bindings(n, '.', "*");
        // Fresh patterns of the same shape (instances beyond the table's), bound then unbound,
        // so the table is the same after every iteration.
        let fresh: Vec<String> = car2home_bindings(n + KEYS, '.', "*").split_off(n);
        fn pair<T: RoutingTable<u32>>(
            group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
            name: &str,
            n: usize,
            mut table: T,
            fresh: &[String],
        ) {
            group.bench_function(BenchmarkId::new(name, n), |b| {
                let mut i = 0usize;
                b.iter(|| {
                    let p = fresh.get(i % fresh.len()).map_or("", String::as_str);
                    i = i.wrapping_add(1);
                    let _ = table.bind(black_box(p), u32::MAX);
                    black_box(table.unbind(p, &u32::MAX))
                });
            });
        }
        pair(
            &mut group,
            "trie",
            n,
            build::<TopicTable<u32>>(&patterns),
            &fresh,
        );
        pair(
            &mut group,
            "linear",
            n,
            build::<LinearTable<u32>>(&patterns),
            &fresh,
        );
    }
    group.finish();
}

/// Net heap bytes held by a table built from `patterns` (the pattern strings themselves are
/// allocated before measuring and not counted).
fn bytes_for<T: RoutingTable<u32> + Default>(patterns: &[String]) -> (isize, T) {
    let region = Region::new(GLOBAL);
    let table = build::<T>(patterns);
    let change = region.change();
    let net = change.bytes_allocated as isize - change.bytes_deallocated as isize
        + change.bytes_reallocated;
    (net, table)
}

/// Mean number of destinations one route returns (the output size bounds the route cost).
fn mean_fan_out(table: &impl RoutingTable<u32>, keys: &[String]) -> f64 {
    let mut out = Vec::new();
    let mut total = 0usize;
    for key in keys {
        out.clear();
        table.route(key, &mut out);
        total += out.len();
    }
    total as f64 / keys.len().max(1) as f64
}

fn memory() {
    println!("memory per binding (net heap bytes after building the table / bindings):");
    for n in SIZES {
        let car = car2home_bindings(n, '.', "*");
        let mqtt = car2home_bindings(n, '/', "+");
        let mut rng = Rng(7 + n as u64);
        let random: Vec<String> = (0..n).map(|_| random_pattern(&mut rng)).collect();
        let (car_bytes, car_table) = bytes_for::<TopicTable<u32>>(&car);
        let (random_bytes, random_table) = bytes_for::<TopicTable<u32>>(&random);
        let random_keys: Vec<String> = (0..KEYS).map(|_| random_key(&mut rng)).collect();
        println!(
            "fan-out/{n}: car2home {:.1}, random {:.1} destinations per route",
            mean_fan_out(&car_table, &car2home_keys(n, '.', &mut Rng(n as u64))),
            mean_fan_out(&random_table, &random_keys),
        );
        let rows = [
            ("topic trie car2home", car_bytes),
            ("topic trie random", random_bytes),
            ("mqtt trie car2home", bytes_for::<MqttTable<u32>>(&mqtt).0),
            ("linear car2home", bytes_for::<LinearTable<u32>>(&car).0),
        ];
        for (name, bytes) in rows {
            println!(
                "memory/{name}/{n}: {bytes} bytes, {:.1} bytes/binding",
                bytes as f64 / n as f64
            );
        }
    }
}

fn main() {
    memory();
    let mut c = Criterion::default().configure_from_args();
    matching(&mut c);
    bind_unbind(&mut c);
    c.final_summary();
}
