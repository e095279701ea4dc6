//! `cargo xtask bench-durability`: recovery time and memory of a deep persistent queue.
//!
//! For each broker and depth: start a fresh node, publish that many persistent 256-byte
//! messages with confirms into one durable queue nobody consumes, sample RSS, SIGKILL the node,
//! start it again on the same data and time the start until it serves AMQP (Warren: its `READY`
//! line, printed after the message store has recovered; RabbitMQ: the AMQP port accepting), read
//! the queue's depth back with a declare, and sample RSS once more.

use crate::bench_compare::{
    cmd_out, rss_kib, start_rabbitmq, start_warren, target_dir, write_section_between, Broker,
};
use crate::util::{cargo, root};
use std::fmt::Write as _;
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const HELP: &str = "\
cargo xtask bench-durability [options]

  --messages N        depth for the recovery run (default 1000000)
  --deep-messages M   depth for the memory run, Warren only (default 10000000; 0: skip)
  --skip rabbitmq     leave RabbitMQ out
  --no-write          print the section instead of writing docs/benchmarks.md
";

const START_MARK: &str = "<!-- bench-durability:start -->";
const END_MARK: &str = "<!-- bench-durability:end -->";
const SIZE: usize = 256;

struct Options {
    messages: u64,
    deep: u64,
    rabbitmq: bool,
    write: bool,
    argv: Vec<String>,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut o = Options {
        messages: 1_000_000,
        deep: 10_000_000,
        rabbitmq: true,
        write: true,
        argv: args.to_vec(),
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut val = || {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{a} needs a value"))
        };
        match a.as_str() {
            "--messages" => o.messages = val()?.parse().map_err(|e| format!("--messages: {e}"))?,
            "--deep-messages" => {
                o.deep = val()?
                    .parse()
                    .map_err(|e| format!("--deep-messages: {e}"))?
            }
            "--skip" => match val()?.as_str() {
                "rabbitmq" => o.rabbitmq = false,
                other => {
                    return Err(format!(
                        "--skip: only `rabbitmq` can be skipped, not {other}"
                    ))
                }
            },
            "--no-write" => o.write = false,
            "-h" | "--help" => return Err(HELP.to_string()),
            other => return Err(format!("unknown option {other}\n\n{HELP}")),
        }
    }
    Ok(o)
}

/// One broker at one depth.
struct Row {
    broker: &'static str,
    messages: u64,
    publish_rate: f64,
    /// The first start, on an empty data directory.
    empty_start_s: f64,
    idle_kib: u64,
    rss_before_kib: u64,
    recovery_s: f64,
    /// RabbitMQ: until the first declare answered (the port may open before queues are back).
    depth_s: f64,
    rss_after_kib: u64,
    depth_after: Option<u64>,
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Warren,
    RabbitMq,
}

/// Runs the benchmark (see the module docs).
pub fn run(args: &[String]) -> Result<(), String> {
    let o = parse(args)?;
    let started = Instant::now();
    eprintln!("==> building warren and warren-perf (release)");
    let status = cargo()
        .args([
            "build",
            "--release",
            "-p",
            "warren-server",
            "-p",
            "warren-perf",
        ])
        .status()
        .map_err(|e| format!("cargo build: {e}"))?;
    if !status.success() {
        return Err("cargo build --release failed".into());
    }
    let bin = target_dir().join("release");
    let perf = bin.join("warren-perf");
    let work = std::env::temp_dir().join(format!("warren-durability-{}", std::process::id()));
    let mut plan = vec![(Kind::Warren, o.messages)];
    if o.deep > 0 && o.deep != o.messages {
        plan.push((Kind::Warren, o.deep));
    }
    if o.rabbitmq {
        plan.push((Kind::RabbitMq, o.messages));
    }
    let mut rows = Vec::new();
    let mut notes = Vec::new();
    for (kind, n) in plan {
        let dir = work.join(format!("{}-{n}", kind_name(kind)));
        std::fs::create_dir_all(&dir).map_err(|e| format!("{dir:?}: {e}"))?;
        match run_one(kind, n, &bin.join("warren"), &perf, &dir) {
            Ok(row) => rows.push(row),
            Err(e) => {
                eprintln!("    {} with {n}: {e}", kind_name(kind));
                notes.push(format!("{} with {n} messages: {e}", kind_name(kind)));
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
    let _ = std::fs::remove_dir_all(&work);
    let section = render(&o, &rows, &notes, started.elapsed());
    if o.write {
        let path = root().join("docs/benchmarks.md");
        write_section_between(&path, &section, START_MARK, END_MARK)?;
        eprintln!("==> wrote {}", path.display());
    } else {
        print!("{section}");
    }
    Ok(())
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Warren => "Warren",
        Kind::RabbitMq => "RabbitMQ",
    }
}

fn start(kind: Kind, bin: &Path, dir: &Path) -> Result<Broker, String> {
    match kind {
        Kind::Warren => start_warren(bin, dir, false),
        Kind::RabbitMq => start_rabbitmq(dir, false),
    }
}

fn run_one(kind: Kind, n: u64, bin: &Path, perf: &Path, dir: &Path) -> Result<Row, String> {
    eprintln!("==> {}: {n} persistent messages", kind_name(kind));
    let t = Instant::now();
    let broker = start(kind, bin, dir)?;
    let empty_start_s = t.elapsed().as_secs_f64();
    let addr = broker.amqp.clone().ok_or("no AMQP listener")?;
    std::thread::sleep(Duration::from_secs(1));
    let idle_kib = rss_kib(broker.pid).unwrap_or(0);
    let t = Instant::now();
    let report = perf_run(perf, &addr, n)?;
    let secs = t.elapsed().as_secs_f64();
    if report.get("sent").and_then(|v| v.as_u64()) != Some(n) {
        return Err(format!("publish did not complete: {report}"));
    }
    let publish_rate = n as f64 / secs.max(1e-9);
    eprintln!("    published in {secs:.1} s ({publish_rate:.0} msg/s)");
    std::thread::sleep(Duration::from_secs(2));
    let rss_before_kib = rss_kib(broker.pid).unwrap_or(0);
    kill9(broker);
    let t = Instant::now();
    let broker = start(kind, bin, dir)?;
    let recovery_s = t.elapsed().as_secs_f64();
    let addr = broker
        .amqp
        .clone()
        .ok_or("no AMQP listener after restart")?;
    let depth_report = depth(perf, &addr, Duration::from_secs(600))?;
    let depth_s = t.elapsed().as_secs_f64();
    let depth_after = depth_report
        .get("queue_messages")
        .and_then(|v| v.get(0))
        .and_then(|v| v.as_u64());
    std::thread::sleep(Duration::from_secs(2));
    let rss_after_kib = rss_kib(broker.pid).unwrap_or(0);
    eprintln!(
        "    recovery {recovery_s:.2} s (depth readable at {depth_s:.2} s), depth {depth_after:?}, \
         RSS {rss_before_kib} KiB before kill, {rss_after_kib} KiB after recovery"
    );
    drop(broker);
    Ok(Row {
        broker: kind_name(kind),
        messages: n,
        publish_rate,
        empty_start_s,
        idle_kib,
        rss_before_kib,
        recovery_s,
        depth_s,
        rss_after_kib,
        depth_after,
    })
}

/// SIGKILL the node (no shutdown of any kind), then let the broker's drop reap what is left.
fn kill9(broker: Broker) {
    let _ = Command::new("kill")
        .args(["-9", &broker.pid.to_string()])
        .status();
    std::thread::sleep(Duration::from_millis(500));
    drop(broker);
}

fn perf_cmd(perf: &Path, addr: &str, count: u64) -> Command {
    let mut c = Command::new(perf);
    c.args([
        "amqp",
        "--addr",
        addr,
        "--user",
        "guest",
        "--password",
        "guest",
    ])
    .args([
        "--publish-only",
        "--persistent",
        "--queue-prefix",
        "durability",
    ])
    .args(["--size", &SIZE.to_string(), "--confirm", "1000"])
    .args([
        "--count",
        &count.to_string(),
        "--drain-timeout",
        "0",
        "--quiet",
    ]);
    c
}

fn perf_run(perf: &Path, addr: &str, count: u64) -> Result<serde_json::Value, String> {
    let out = perf_cmd(perf, addr, count)
        .output()
        .map_err(|e| format!("warren-perf: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let report: serde_json::Value = serde_json::from_str(text.trim()).map_err(|e| {
        format!(
            "warren-perf report: {e}: {text} {}",
            String::from_utf8_lossy(&out.stderr)
        )
    })?;
    if report.get("ok").and_then(|v| v.as_bool()) != Some(true) {
        return Err(format!("warren-perf failed: {report}"));
    }
    Ok(report)
}

/// Reads the queue's depth with a declare, retrying while the broker is still coming up.
fn depth(perf: &Path, addr: &str, timeout: Duration) -> Result<serde_json::Value, String> {
    let deadline = Instant::now() + timeout;
    loop {
        let last = if TcpStream::connect(addr).is_ok() {
            match perf_run(perf, addr, 0) {
                Ok(r) => return Ok(r),
                Err(e) => e,
            }
        } else {
            "port closed".into()
        };
        if Instant::now() >= deadline {
            return Err(format!("queue depth not readable: {last}"));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn mib(kib: u64) -> String {
    format!("{:.0} MiB", kib as f64 / 1024.0)
}

fn render(o: &Options, rows: &[Row], notes: &[String], took: Duration) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{START_MARK}");
    let _ = writeln!(
        s,
        "## Durability: recovery time and memory of a deep queue\n"
    );
    let _ = writeln!(
        s,
        "One durable queue, no consumer, {SIZE}-byte persistent messages (delivery-mode 2) \
         published with confirms (1000 in flight); RSS sampled 2 s after the last confirm; the node \
         killed with SIGKILL and started again on the same data. *Recovery* is the time from \
         starting the process until it serves AMQP (Warren: its `READY` line, printed once the \
         message store has recovered; RabbitMQ: the AMQP port accepting). *Depth readable* is \
         the time until a queue.declare answered with the message count, which is checked \
         against what was published. *Empty start* is the first start of the same node on an \
         empty data directory, for comparison. *Bytes/message* is (RSS - RSS of the same node empty, \
         sampled 1 s after its first start) / messages.\n"
    );
    let _ = writeln!(
        s,
        "| broker | messages | publish msg/s | RSS before kill | recovery | depth readable | \
         RSS after recovery | bytes/message (before / after) | depth after restart | empty RSS | \
         empty start |"
    );
    let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|");
    for r in rows {
        let per =
            |kib: u64| kib.saturating_sub(r.idle_kib) as f64 * 1024.0 / r.messages.max(1) as f64;
        let depth = match r.depth_after {
            Some(d) if d == r.messages => format!("{d} (all)"),
            Some(d) => format!("**{d}** (expected {})", r.messages),
            None => "unreadable".into(),
        };
        let _ = writeln!(
            s,
            "| {} | {} | {:.0} | {} | {:.2} s | {:.2} s | {} | {:.0} / {:.0} | {} | {} | {:.2} s |",
            r.broker,
            r.messages,
            r.publish_rate,
            mib(r.rss_before_kib),
            r.recovery_s,
            r.depth_s,
            mib(r.rss_after_kib),
            per(r.rss_before_kib),
            per(r.rss_after_kib),
            depth,
            mib(r.idle_kib),
            r.empty_start_s
        );
    }
    if !notes.is_empty() {
        let _ = writeln!(s, "\nRuns that failed:\n");
        for n in notes {
            let _ = writeln!(s, "- {n}");
        }
    }
    let _ = writeln!(
        s,
        "\nCommand: `cargo xtask bench-durability {}` ({:.0} s, {}; {} cores; load before: {}).",
        o.argv.join(" "),
        took.as_secs_f64(),
        cmd_out("date", &["-u", "+%Y-%m-%d %H:%M UTC"]),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    let _ = writeln!(s, "\n{END_MARK}");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_default_to_the_issue_figures() {
        let o = parse(&[]).unwrap();
        assert_eq!(
            (o.messages, o.deep, o.rabbitmq),
            (1_000_000, 10_000_000, true)
        );
        let o = parse(&[
            "--messages".into(),
            "5".into(),
            "--skip".into(),
            "rabbitmq".into(),
        ])
        .unwrap();
        assert_eq!((o.messages, o.rabbitmq), (5, false));
        assert!(parse(&["--skip".into(), "warren".into()]).is_err());
    }
}
