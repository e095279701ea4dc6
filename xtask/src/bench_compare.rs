//! `cargo xtask bench-compare`: the same load scenarios against Warren, RabbitMQ and Mosquitto on
//! this machine, in one run, written as a table into `docs/benchmarks.md`.
//!
//! It installs the Debian packages `rabbitmq-server` and `mosquitto` when missing, starts its own
//! RabbitMQ node (MQTT plugin only) and Mosquitto on free loopback ports, starts Warren's release
//! build with a config listening on port 0, runs `warren-perf` against each (scenarios
//! interleaved, each repeated, median kept), samples each broker's RSS and CPU from `/proc`, and
//! stops what it started. Broker and load tool are pinned to separate cores with `taskset` when
//! there are at least two.

use crate::util::{cargo, root};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const HELP: &str = "\
cargo xtask bench-compare [options]

  --duration S          measured seconds per run (default 10)
  --warmup S            warm-up seconds per run (default 1)
  --repeats N           runs per scenario and broker; the median is kept (default 3)
  --idle N              idle MQTT connections for the memory scenario (default 10000)
  --only TEXT           only scenarios whose name contains TEXT (repeatable)
  --skip BROKER         warren | rabbitmq | mosquitto (repeatable)
  --rabbitmq ADDR:PID   use a running RabbitMQ (AMQP address and beam.smp pid) instead of
                        starting one; its MQTT rows are then skipped unless --rabbitmq-mqtt
  --rabbitmq-mqtt ADDR  MQTT address of that running RabbitMQ
  --mosquitto ADDR:PID  use a running Mosquitto instead of starting one
  --no-pin              do not pin broker and load tool to separate cores
  --no-write            print the section instead of writing docs/benchmarks.md
";

const START_MARK: &str = "<!-- bench-compare:start -->";
const END_MARK: &str = "<!-- bench-compare:end -->";

#[derive(Debug, Clone)]
struct Options {
    duration: f64,
    warmup: f64,
    repeats: usize,
    idle: usize,
    only: Vec<String>,
    skip: Vec<String>,
    rabbitmq: Option<(String, u32)>,
    rabbitmq_mqtt: Option<String>,
    mosquitto: Option<(String, u32)>,
    pin: bool,
    write: bool,
    argv: Vec<String>,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut o = Options {
        duration: 10.0,
        warmup: 1.0,
        repeats: 3,
        idle: 10_000,
        only: Vec::new(),
        skip: Vec::new(),
        rabbitmq: None,
        rabbitmq_mqtt: None,
        mosquitto: None,
        pin: true,
        write: true,
        argv: args.to_vec(),
    };
    let mut it = args.iter();
    let addr_pid = |v: &str| -> Result<(String, u32), String> {
        let (a, p) = v
            .rsplit_once(':')
            .ok_or_else(|| format!("expected ADDR:PID, got {v}"))?;
        Ok((a.to_string(), p.parse().map_err(|e| format!("{v}: {e}"))?))
    };
    while let Some(a) = it.next() {
        let mut val = || {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{a} needs a value"))
        };
        match a.as_str() {
            "--duration" => o.duration = val()?.parse().map_err(|e| format!("--duration: {e}"))?,
            "--warmup" => o.warmup = val()?.parse().map_err(|e| format!("--warmup: {e}"))?,
            "--repeats" => o.repeats = val()?.parse().map_err(|e| format!("--repeats: {e}"))?,
            "--idle" => o.idle = val()?.parse().map_err(|e| format!("--idle: {e}"))?,
            "--only" => o.only.push(val()?),
            "--skip" => o.skip.push(val()?),
            "--rabbitmq" => o.rabbitmq = Some(addr_pid(&val()?)?),
            "--rabbitmq-mqtt" => o.rabbitmq_mqtt = Some(val()?),
            "--mosquitto" => o.mosquitto = Some(addr_pid(&val()?)?),
            "--no-pin" => o.pin = false,
            "--no-write" => o.write = false,
            "-h" | "--help" => return Err(HELP.to_string()),
            other => return Err(format!("unknown option {other}\n\n{HELP}")),
        }
    }
    o.repeats = o.repeats.max(1);
    Ok(o)
}

/// A broker under test.
pub(crate) struct Broker {
    pub(crate) name: &'static str,
    pub(crate) amqp: Option<String>,
    mqtt: Option<String>,
    /// The process whose RSS and CPU are sampled.
    pub(crate) pid: u32,
    /// What we started (killed at the end), if anything.
    pub(crate) child: Option<Child>,
    /// Extra cleanup (RabbitMQ's epmd).
    cleanup: Vec<u32>,
    /// The port of the epmd RabbitMQ started, to find it again at the end.
    epmd_port: Option<u16>,
    idle_rss_kib: u64,
    /// Why MQTT is missing, for the table.
    no_mqtt: &'static str,
}

impl Drop for Broker {
    fn drop(&mut self) {
        if self.child.is_some() {
            let _ = Command::new("kill").arg(self.pid.to_string()).status();
            std::thread::sleep(Duration::from_millis(500));
        }
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        // RabbitMQ's start script may run its own shutdown on SIGTERM, which can start epmd
        // again: look for epmd on our port once more after the node is gone.
        let again = self.epmd_port.map(epmd_pids).unwrap_or_default();
        for pid in self.cleanup.iter().chain(again.iter()) {
            let _ = Command::new("kill").arg(pid.to_string()).status();
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Proto {
    Amqp,
    Mqtt,
    Idle,
}

struct Scenario {
    name: &'static str,
    what: &'static str,
    proto: Proto,
    args: Vec<String>,
}

fn scenarios(o: &Options) -> Vec<Scenario> {
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let mut car2home = s(&["--exchange-type", "topic"]);
    for dev in ["car-1", "car-2", "home-1", "home-2", "tv-1"] {
        car2home.extend(s(&["--queue-binding", &format!("webos.{dev}.#")]));
    }
    car2home.extend(s(&["--queue-binding", "webos.#"]));
    for key in [
        "webos.car-1.gps",
        "webos.car-2.battery",
        "webos.home-1.temperature",
        "webos.home-2.door",
        "webos.tv-1.state",
    ] {
        car2home.extend(s(&["--routing-key", key]));
    }
    let amqp_backlog = s(&["--max-backlog", "10000"]);
    let mqtt_backlog = s(&["--max-backlog", "500"]);
    let with = |mut a: Vec<String>, b: &[String]| {
        a.extend_from_slice(b);
        a
    };
    let all = vec![
        Scenario { name: "amqp-1-1-16B", what: "AMQP 1 producer -> 1 queue -> 1 consumer, 16 B, auto-ack", proto: Proto::Amqp, args: with(s(&["--size", "16"]), &amqp_backlog) },
        Scenario { name: "amqp-1-1-1KiB", what: "AMQP 1 -> 1 -> 1, 1 KiB, auto-ack", proto: Proto::Amqp, args: with(s(&["--size", "1024"]), &amqp_backlog) },
        Scenario { name: "amqp-confirm-ack", what: "AMQP 1 -> 1 -> 1, 16 B, confirms (window 100), manual ack every 50, prefetch 100", proto: Proto::Amqp, args: s(&["--size", "16", "--confirm", "100", "--prefetch", "100", "--ack-every", "50"]) },
        Scenario { name: "amqp-persistent-confirm", what: "AMQP durable queue, persistent 1 KiB messages, confirms (window 100), manual ack every 50, prefetch 100", proto: Proto::Amqp, args: s(&["--size", "1024", "--persistent", "--exchange", "perf.durable", "--confirm", "100", "--prefetch", "100", "--ack-every", "50"]) },
        Scenario { name: "amqp-fanout-10", what: "AMQP fanout to 10 queues (10 consumers), 16 B; deliveries/s", proto: Proto::Amqp, args: with(s(&["--exchange-type", "fanout", "--queues", "10"]), &amqp_backlog) },
        Scenario { name: "amqp-car2home-topic", what: "AMQP topic `webos.<device>.<type>`, 5 device queues + `webos.#`, 16 B; deliveries/s", proto: Proto::Amqp, args: with(car2home, &amqp_backlog) },
        Scenario { name: "amqp-latency-5k", what: "AMQP 1 -> 1 -> 1, 1 KiB at a fixed 5,000 msg/s (latency run)", proto: Proto::Amqp, args: s(&["--size", "1024", "--rate", "5000"]) },
        Scenario { name: "mqtt-qos0-1-1", what: "MQTT QoS 0, 1 publisher -> 1 subscriber, 16 B (loss allowed)", proto: Proto::Mqtt, args: with(s(&["--qos", "0", "--allow-loss"]), &mqtt_backlog) },
        Scenario { name: "mqtt-qos1-1-1", what: "MQTT QoS 1, 1 -> 1, 16 B, 20 in flight", proto: Proto::Mqtt, args: with(s(&["--qos", "1"]), &mqtt_backlog) },
        Scenario { name: "mqtt-qos0-10-10", what: "MQTT QoS 0, 10 publishers -> 10 topics -> 10 subscribers (loss allowed)", proto: Proto::Mqtt, args: with(s(&["--qos", "0", "--allow-loss", "--publishers", "10", "--subscribers", "10", "--topics", "10"]), &mqtt_backlog) },
        Scenario { name: "mqtt-qos1-10-10", what: "MQTT QoS 1, 10 -> 10 -> 10", proto: Proto::Mqtt, args: with(s(&["--qos", "1", "--publishers", "10", "--subscribers", "10", "--topics", "10"]), &mqtt_backlog) },
        Scenario { name: "mqtt-qos0-1-100", what: "MQTT QoS 0, 1 publisher -> 100 subscribers (loss allowed); deliveries/s", proto: Proto::Mqtt, args: with(s(&["--qos", "0", "--allow-loss", "--subscribers", "100"]), &mqtt_backlog) },
        Scenario { name: "mqtt-qos1-1-100", what: "MQTT QoS 1, 1 -> 100 subscribers; deliveries/s", proto: Proto::Mqtt, args: with(s(&["--qos", "1", "--subscribers", "100"]), &mqtt_backlog) },
        Scenario { name: "mqtt-idle", what: "idle MQTT connections: broker RSS per connection", proto: Proto::Idle, args: s(&["--connections", &o.idle.to_string(), "--hold", "3"]) },
    ];
    all.into_iter()
        .filter(|sc| o.only.is_empty() || o.only.iter().any(|t| sc.name.contains(t.as_str())))
        .collect()
}

/// One run's measurements.
#[derive(Debug, Clone, Default)]
struct Sample {
    ok: bool,
    rate: f64,
    p99_us: f64,
    cpu_pct: f64,
    peak_rss_kib: u64,
    base_rss_kib: u64,
    connections: u64,
    error: Option<String>,
}

/// Entry point.
pub fn run(args: &[String]) -> Result<(), String> {
    let o = parse(args)?;
    let started = Instant::now();
    ensure_packages(&o)?;
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
    let pin = o.pin && cores() >= 2 && crate::util::have("taskset", &["--version"]);
    let work = std::env::temp_dir().join(format!("warren-bench-{}", std::process::id()));
    std::fs::create_dir_all(&work).map_err(|e| format!("{work:?}: {e}"))?;
    let load_before = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();

    let mut brokers: Vec<Broker> = Vec::new();
    if !o.skip.iter().any(|s| s == "warren") {
        brokers.push(start_warren(&bin.join("warren"), &work, pin)?);
    }
    if !o.skip.iter().any(|s| s == "rabbitmq") {
        brokers.push(match &o.rabbitmq {
            Some((addr, pid)) => Broker {
                name: "RabbitMQ",
                amqp: Some(addr.clone()),
                mqtt: o.rabbitmq_mqtt.clone(),
                pid: *pid,
                child: None,
                cleanup: Vec::new(),
                epmd_port: None,
                idle_rss_kib: 0,
                no_mqtt: "not measured (--rabbitmq without --rabbitmq-mqtt)",
            },
            None => start_rabbitmq(&work, pin)?,
        });
    }
    if !o.skip.iter().any(|s| s == "mosquitto") {
        brokers.push(match &o.mosquitto {
            Some((addr, pid)) => Broker {
                name: "Mosquitto",
                amqp: None,
                mqtt: Some(addr.clone()),
                pid: *pid,
                child: None,
                cleanup: Vec::new(),
                epmd_port: None,
                idle_rss_kib: 0,
                no_mqtt: "",
            },
            None => start_mosquitto(&work, pin)?,
        });
    }
    std::thread::sleep(Duration::from_secs(2));
    for b in &mut brokers {
        b.idle_rss_kib = rss_kib(b.pid).unwrap_or(0);
        eprintln!(
            "==> {}: pid {} amqp {:?} mqtt {:?} idle RSS {} KiB",
            b.name, b.pid, b.amqp, b.mqtt, b.idle_rss_kib
        );
    }

    let scens = scenarios(&o);
    // results[scenario][broker] = samples
    let mut results: BTreeMap<(usize, usize), Vec<Sample>> = BTreeMap::new();
    let perf = bin.join("warren-perf");
    for (si, sc) in scens.iter().enumerate() {
        let reps = if sc.proto == Proto::Idle {
            1
        } else {
            o.repeats
        };
        for rep in 0..reps {
            for (bi, b) in brokers.iter().enumerate() {
                let addr = match sc.proto {
                    Proto::Amqp => b.amqp.clone(),
                    Proto::Mqtt | Proto::Idle => b.mqtt.clone(),
                };
                let Some(addr) = addr else { continue };
                eprintln!("==> {} on {} (run {}/{reps})", sc.name, b.name, rep + 1);
                let sample = run_one(&perf, sc, &addr, b, &o, pin);
                eprintln!(
                    "    {} msg/s p99 {:.0} µs cpu {:.0}% rss {} KiB {}",
                    sample.rate as u64,
                    sample.p99_us,
                    sample.cpu_pct,
                    sample.peak_rss_kib,
                    sample.error.as_deref().unwrap_or("")
                );
                results.entry((si, bi)).or_default().push(sample);
            }
        }
    }
    let section = render(
        &o,
        &brokers,
        &scens,
        &results,
        pin,
        &load_before,
        started.elapsed(),
    );
    drop(brokers);
    let _ = std::fs::remove_dir_all(&work);
    if o.write {
        let path = root().join("docs/benchmarks.md");
        write_section(&path, &section)?;
        eprintln!("==> wrote {}", path.display());
    } else {
        print!("{section}");
    }
    Ok(())
}

pub(crate) fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|p| if p.is_absolute() { p } else { root().join(p) })
        .unwrap_or_else(|| root().join("target"))
}

fn cores() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

fn ensure_packages(o: &Options) -> Result<(), String> {
    let mut missing = Vec::new();
    if o.rabbitmq.is_none()
        && !o.skip.iter().any(|s| s == "rabbitmq")
        && !Path::new("/usr/lib/rabbitmq/bin/rabbitmq-server").exists()
    {
        missing.push("rabbitmq-server");
    }
    if o.mosquitto.is_none()
        && !o.skip.iter().any(|s| s == "mosquitto")
        && !crate::util::have("sh", &["-c", "command -v mosquitto"])
    {
        missing.push("mosquitto");
    }
    if missing.is_empty() {
        return Ok(());
    }
    eprintln!("==> installing {missing:?}");
    let ok = Command::new("apt-get")
        .args(["update", "-qq"])
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
        && Command::new("apt-get")
            .args(["install", "-y", "-qq"])
            .args(&missing)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
    if ok {
        Ok(())
    } else {
        Err(format!("apt-get install {missing:?} failed"))
    }
}

/// A command run with the open-files limit raised to the hard limit and, when pinning, on `cpu`.
fn limited(program: &Path, cpu: Option<usize>) -> Command {
    let mut c = Command::new("sh");
    let pin = match cpu {
        Some(n) => format!("taskset -c {n} "),
        None => String::new(),
    };
    c.arg("-c")
        .arg(format!(
            "ulimit -n $(ulimit -Hn) 2>/dev/null; exec {pin}\"$0\" \"$@\""
        ))
        .arg(program);
    c
}

fn free_port() -> Result<u16, String> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free port: {e}"))
}

fn wait_port(addr: &str, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if TcpStream::connect(addr).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    false
}

/// Unacknowledged QoS 1/2 messages each broker may have in flight to one MQTT subscriber:
/// Mosquitto's default (`max_inflight_messages 20`), given to Warren (`[mqtt] prefetch`) and
/// RabbitMQ (`mqtt.prefetch`, default 10) too, so that the MQTT rows compare the brokers and
/// not their window sizes.
const INFLIGHT: u16 = 20;

pub(crate) fn start_warren(bin: &Path, work: &Path, pin: bool) -> Result<Broker, String> {
    // Ask for an MQTT listener too; a build without an MQTT front rejects the section, and we
    // start again without it.
    for with_mqtt in [true, false] {
        // Management and Prometheus on free ports (the defaults would clash with anything on
        // 15672/15692); the message store in the run's own directory.
        let mut cfg = format!(
            "[amqp]\nlisteners = [\"127.0.0.1:0\"]\n\n[log]\nlevel = \"warn\"\n\n\
             [management]\nlisteners = [\"127.0.0.1:0\"]\nprometheus_listeners = [\"127.0.0.1:0\"]\n\n\
             [storage]\ndata_dir = {:?}\n",
            work.join("warren-data")
        );
        if with_mqtt {
            // The same QoS 1/2 window towards each subscriber as every broker in the run
            // (Mosquitto's default max_inflight_messages; see INFLIGHT).
            cfg.push_str(&format!(
                "\n[mqtt]\nlisteners = [\"127.0.0.1:0\"]\nprefetch = {INFLIGHT}\n"
            ));
        }
        let path = work.join("warren.toml");
        std::fs::write(&path, cfg).map_err(|e| format!("{path:?}: {e}"))?;
        let mut child = limited(bin, pin.then_some(0))
            .arg("--config")
            .arg(&path)
            .stdout(Stdio::piped())
            .stderr(Stdio::from(
                std::fs::File::create(work.join("warren.err")).map_err(|e| e.to_string())?,
            ))
            .spawn()
            .map_err(|e| format!("starting {bin:?}: {e}"))?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let (mut amqp, mut mqtt, mut ready) = (None, None, false);
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(a) = line.strip_prefix("LISTENING amqp ") {
                amqp = Some(a.trim().to_string());
            } else if let Some(a) = line.strip_prefix("LISTENING mqtt ") {
                mqtt = Some(a.trim().to_string());
            } else if line.trim() == "READY" {
                ready = true;
                break;
            }
        }
        if ready {
            let pid = child.id();
            return Ok(Broker {
                name: "Warren",
                amqp,
                mqtt,
                pid,
                child: Some(child),
                cleanup: Vec::new(),
                epmd_port: None,
                idle_rss_kib: 0,
                no_mqtt: "n/a (no MQTT front yet)",
            });
        }
        let _ = child.kill();
        let _ = child.wait();
        let err = std::fs::read_to_string(work.join("warren.err")).unwrap_or_default();
        if !with_mqtt {
            return Err(format!("warren did not start: {err}"));
        }
    }
    Err("warren did not start".into())
}

pub(crate) fn start_rabbitmq(work: &Path, pin: bool) -> Result<Broker, String> {
    let dir = work.join("rmq");
    for d in ["mnesia", "log", "home"] {
        std::fs::create_dir_all(dir.join(d)).map_err(|e| e.to_string())?;
    }
    let (amqp, mqtt, dist, epmd) = (free_port()?, free_port()?, free_port()?, free_port()?);
    let ctl = free_port()?;
    std::fs::write(dir.join("enabled_plugins"), "[rabbitmq_mqtt].\n").map_err(|e| e.to_string())?;
    std::fs::write(
        dir.join("rabbitmq.conf"),
        format!(
            "loopback_users = none\nlisteners.tcp.default = 127.0.0.1:{amqp}\n\
             mqtt.listeners.tcp.default = 127.0.0.1:{mqtt}\nmqtt.allow_anonymous = true\n\
             mqtt.default_user = guest\nmqtt.default_pass = guest\nmqtt.vhost = /\n\
             mqtt.exchange = amq.topic\nmqtt.prefetch = {INFLIGHT}\n\
             log.console = false\nlog.file.level = warning\n"
        ),
    )
    .map_err(|e| e.to_string())?;
    let node = format!("bench{}@localhost", std::process::id());
    let child = limited(
        Path::new("/usr/lib/rabbitmq/bin/rabbitmq-server"),
        pin.then_some(0),
    )
    .env("RABBITMQ_NODENAME", &node)
    .env("RABBITMQ_BASE", &dir)
    .env("RABBITMQ_MNESIA_BASE", dir.join("mnesia"))
    .env("RABBITMQ_LOG_BASE", dir.join("log"))
    .env("RABBITMQ_PID_FILE", dir.join("node.pid"))
    .env("RABBITMQ_CONFIG_FILE", dir.join("rabbitmq.conf"))
    .env("RABBITMQ_ENABLED_PLUGINS_FILE", dir.join("enabled_plugins"))
    .env("RABBITMQ_DIST_PORT", dist.to_string())
    .env("ERL_EPMD_PORT", epmd.to_string())
    .env("RABBITMQ_CTL_DIST_PORT_MIN", ctl.to_string())
    .env("RABBITMQ_CTL_DIST_PORT_MAX", (ctl + 10).to_string())
    .env("HOME", dir.join("home"))
    .stdin(Stdio::null())
    .stdout(Stdio::from(
        std::fs::File::create(dir.join("log/server.out")).map_err(|e| e.to_string())?,
    ))
    .stderr(Stdio::null())
    .spawn()
    .map_err(|e| format!("starting rabbitmq-server: {e}"))?;
    let script = child.id();
    let mut broker = Broker {
        name: "RabbitMQ",
        amqp: Some(format!("127.0.0.1:{amqp}")),
        mqtt: Some(format!("127.0.0.1:{mqtt}")),
        pid: script,
        child: Some(child),
        cleanup: Vec::new(),
        epmd_port: None,
        idle_rss_kib: 0,
        no_mqtt: "",
    };
    let up = wait_port(&format!("127.0.0.1:{amqp}"), Duration::from_secs(120))
        && wait_port(&format!("127.0.0.1:{mqtt}"), Duration::from_secs(30));
    // The node is the beam.smp under the start script; epmd is started beside it.
    if let Some(beam) = descendants(script)
        .into_iter()
        .find(|p| comm(*p) == "beam.smp")
    {
        broker.pid = beam;
    }
    broker.cleanup = epmd_pids(epmd);
    broker.epmd_port = Some(epmd);
    if !up {
        return Err(format!("RabbitMQ did not open its ports (logs in {dir:?})"));
    }
    Ok(broker)
}

fn start_mosquitto(work: &Path, pin: bool) -> Result<Broker, String> {
    let port = free_port()?;
    let conf = work.join("mosquitto.conf");
    std::fs::write(
        &conf,
        format!(
            "listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest none\n"
        ),
    )
    .map_err(|e| e.to_string())?;
    let program = Command::new("sh")
        .args(["-c", "command -v mosquitto"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|_| "mosquitto".into());
    let child = limited(Path::new(&program), pin.then_some(0))
        .arg("-c")
        .arg(&conf)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("starting mosquitto: {e}"))?;
    let addr = format!("127.0.0.1:{port}");
    if !wait_port(&addr, Duration::from_secs(10)) {
        return Err("Mosquitto did not open its port".into());
    }
    Ok(Broker {
        name: "Mosquitto",
        amqp: None,
        mqtt: Some(addr),
        pid: child.id(),
        child: Some(child),
        cleanup: Vec::new(),
        epmd_port: None,
        idle_rss_kib: 0,
        no_mqtt: "",
    })
}

fn proc_stat(pid: u32) -> Option<Vec<String>> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may contain spaces.
    let rest = s.rsplit_once(')')?.1;
    Some(rest.split_whitespace().map(str::to_string).collect())
}

fn comm(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// All processes below `pid`.
fn descendants(pid: u32) -> Vec<u32> {
    let mut parent_of = Vec::new();
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for e in dir.flatten() {
            if let Some(p) = e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) {
                // Field 4 of stat (index 1 after the name) is the parent pid.
                if let Some(pp) = proc_stat(p).and_then(|f| f.get(1)?.parse::<u32>().ok()) {
                    parent_of.push((p, pp));
                }
            }
        }
    }
    let mut out = Vec::new();
    let mut frontier = vec![pid];
    while let Some(p) = frontier.pop() {
        for &(c, pp) in &parent_of {
            if pp == p && !out.contains(&c) {
                out.push(c);
                frontier.push(c);
            }
        }
    }
    out
}

fn epmd_pids(port: u16) -> Vec<u32> {
    let needle = format!("ERL_EPMD_PORT={port}");
    let mut out = Vec::new();
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for e in dir.flatten() {
            if let Some(p) = e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) {
                if comm(p) == "epmd" {
                    let env = std::fs::read(format!("/proc/{p}/environ")).unwrap_or_default();
                    if env.split(|b| *b == 0).any(|kv| kv == needle.as_bytes()) {
                        out.push(p);
                    }
                }
            }
        }
    }
    out
}

pub(crate) fn rss_kib(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
}

/// utime + stime in clock ticks.
fn cpu_ticks(pid: u32) -> Option<u64> {
    let f = proc_stat(pid)?;
    // utime and stime are fields 14 and 15 of stat: indexes 11 and 12 after the name.
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

fn run_one(perf: &Path, sc: &Scenario, addr: &str, b: &Broker, o: &Options, pin: bool) -> Sample {
    let mode = match sc.proto {
        Proto::Amqp => "amqp",
        Proto::Mqtt => "mqtt",
        Proto::Idle => "mqtt-idle",
    };
    let mut cmd = limited(perf, pin.then_some(1));
    cmd.arg(mode)
        .args(["--addr", addr, "--quiet"])
        .args(&sc.args);
    if sc.proto != Proto::Idle {
        cmd.args([
            "--duration",
            &o.duration.to_string(),
            "--warmup",
            &o.warmup.to_string(),
        ]);
    }
    // For the idle-connections scenario the base is the broker's RSS right after it started:
    // memory freed by earlier scenarios stays resident and would be reused by the connections,
    // hiding their cost (a delta from "now" undercounts). This charges all growth since start
    // to the connections, the conservative reading.
    let base_rss = if sc.proto == Proto::Idle && b.idle_rss_kib > 0 {
        b.idle_rss_kib
    } else {
        rss_kib(b.pid).unwrap_or(0)
    };
    let cpu0 = cpu_ticks(b.pid).unwrap_or(0);
    let t0 = Instant::now();
    let child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => {
            return Sample {
                error: Some(format!("cannot start warren-perf: {e}")),
                ..Sample::default()
            }
        }
    };
    let mut peak = base_rss;
    let limit = Duration::from_secs_f64(o.duration + o.warmup + 120.0);
    let status = loop {
        peak = peak.max(rss_kib(b.pid).unwrap_or(0));
        match child.try_wait() {
            Ok(Some(s)) => break Some(s),
            Ok(None) if t0.elapsed() > limit => {
                let _ = child.kill();
                break None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(200)),
            Err(_) => break None,
        }
    };
    let wall = t0.elapsed().as_secs_f64();
    let cpu = cpu_ticks(b.pid).unwrap_or(cpu0).saturating_sub(cpu0) as f64 / clock_ticks();
    let mut out = String::new();
    if let Some(mut so) = child.stdout.take() {
        let _ = std::io::Read::read_to_string(&mut so, &mut out);
    }
    let mut err = String::new();
    if let Some(mut se) = child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut se, &mut err);
    }
    let _ = child.wait();
    let report: Option<Value> = out.lines().rev().find_map(|l| serde_json::from_str(l).ok());
    let mut s = Sample {
        cpu_pct: 100.0 * cpu / wall.max(1e-9),
        peak_rss_kib: peak,
        base_rss_kib: base_rss,
        ..Sample::default()
    };
    match report {
        Some(r) => {
            s.ok = r["ok"].as_bool().unwrap_or(false);
            s.rate = r["received_rate"].as_f64().unwrap_or(0.0);
            s.p99_us = r["latency_us"]["p99"].as_f64().unwrap_or(0.0);
            s.connections = r["connections"].as_u64().unwrap_or(0);
            if !s.ok {
                let errors: Vec<String> = r["errors"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|e| e.as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default();
                s.error = Some(if errors.is_empty() {
                    format!("check failed: {}", r["check"])
                } else {
                    errors.join("; ")
                });
            }
        }
        None => {
            s.error = Some(format!(
                "no report ({:?}): {}",
                status,
                err.lines().last().unwrap_or("")
            ))
        }
    }
    s
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    Some(v[v.len() / 2])
}

fn fmt_rate(r: f64) -> String {
    if r >= 1e6 {
        format!("{:.2} M", r / 1e6)
    } else if r >= 1e3 {
        format!("{:.1} k", r / 1e3)
    } else {
        format!("{r:.0}")
    }
}

fn fmt_us(us: f64) -> String {
    if us >= 1e6 {
        format!("{:.2} s", us / 1e6)
    } else if us >= 1e3 {
        format!("{:.1} ms", us / 1e3)
    } else {
        format!("{us:.0} µs")
    }
}

fn fmt_mib(kib: u64) -> String {
    format!("{:.0} MiB", kib as f64 / 1024.0)
}

struct Cell {
    rate: Option<f64>,
    p99: Option<f64>,
    cpu: Option<f64>,
    rss: Option<u64>,
    per_conn: Option<f64>,
    failures: usize,
    text: String,
}

fn cell(samples: Option<&Vec<Sample>>, unavailable: &str, idle: bool) -> Cell {
    let Some(samples) = samples else {
        return Cell {
            rate: None,
            p99: None,
            cpu: None,
            rss: None,
            per_conn: None,
            failures: 0,
            text: unavailable.to_string(),
        };
    };
    let good: Vec<&Sample> = samples.iter().filter(|s| s.ok).collect();
    let failures = samples.len() - good.len();
    let rate = median(good.iter().map(|s| s.rate).collect());
    let p99 = median(good.iter().map(|s| s.p99_us).collect());
    let cpu = median(good.iter().map(|s| s.cpu_pct).collect());
    let rss = good.iter().map(|s| s.peak_rss_kib).max();
    let per_conn = if idle {
        good.first().filter(|s| s.connections > 0).map(|s| {
            s.peak_rss_kib.saturating_sub(s.base_rss_kib) as f64 * 1024.0 / s.connections as f64
        })
    } else {
        None
    };
    let text = match (idle, rate, per_conn) {
        (true, _, Some(pc)) => format!("{:.1} KiB/conn", pc / 1024.0),
        (false, Some(r), _) => fmt_rate(r),
        _ => format!("FAILED ({failures}/{})", samples.len()),
    };
    Cell {
        rate,
        p99,
        cpu,
        rss,
        per_conn,
        failures,
        text,
    }
}

fn ratio(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}x", a / b),
        _ => "–".into(),
    }
}

#[allow(clippy::too_many_arguments)] // one call site; the pieces of the report
fn render(
    o: &Options,
    brokers: &[Broker],
    scens: &[Scenario],
    results: &BTreeMap<(usize, usize), Vec<Sample>>,
    pin: bool,
    load_before: &str,
    took: Duration,
) -> String {
    let mut s = String::new();
    let idx = |name: &str| brokers.iter().position(|b| b.name == name);
    let (w, r, m) = (idx("Warren"), idx("RabbitMQ"), idx("Mosquitto"));
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines().find_map(|l| {
                l.strip_prefix("model name")
                    .map(|v| v.trim_start_matches([' ', '\t', ':']).to_string())
            })
        })
        .unwrap_or_default();
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|c| {
            c.lines().next().map(|l| {
                l.split_whitespace()
                    .nth(1)
                    .unwrap_or("0")
                    .parse::<u64>()
                    .unwrap_or(0)
            })
        })
        .unwrap_or(0);
    let kernel = cmd_out("uname", &["-r"]);
    let rmq_v = cmd_out("dpkg-query", &["-W", "-f", "${Version}", "rabbitmq-server"]);
    let mosq_v = cmd_out("dpkg-query", &["-W", "-f", "${Version}", "mosquitto"]);
    let rev = cmd_out(
        "git",
        &[
            "-C",
            &root().to_string_lossy(),
            "rev-parse",
            "--short",
            "HEAD",
        ],
    );
    let nofile = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|l| {
            l.lines()
                .find(|x| x.starts_with("Max open files"))
                .map(|x| {
                    x.split_whitespace()
                        .skip(3)
                        .take(2)
                        .collect::<Vec<_>>()
                        .join("/")
                })
        })
        .unwrap_or_default();
    let _ = writeln!(s, "{START_MARK}");
    let _ = writeln!(s, "## Side-by-side comparison\n");
    let _ = writeln!(
        s,
        "Written by `cargo xtask bench-compare` (xtask/src/bench_compare.rs); do not edit by hand. \
         Every broker ran on this machine in the same run, scenarios interleaved (run 1 on each \
         broker, then run 2, ...), {} run(s) per scenario and broker, median kept; {} s measured \
         after {} s warm-up per run. Throughput is messages *received* per second (deliveries: a \
         fanout counts each copy). p99 is the latency from the send timestamp in the body to its \
         arrival at the consumer; in the unlimited-rate rows it mostly measures the backlog the \
         producers are allowed (`--max-backlog`), the fixed-rate latency row is the one to compare. \
         CPU is the broker's user+system time over the run's wall time (100 % = one core). RSS is \
         the broker's peak VmRSS during the run.\n",
        o.repeats, o.duration, o.warmup
    );
    let _ = writeln!(s, "- Machine: {model}, {} cores, {:.1} GiB RAM, Linux {kernel}; load average before the run: {}", cores(), mem as f64 / 1048576.0, load_before.split_whitespace().take(3).collect::<Vec<_>>().join(" "));
    let _ = writeln!(
        s,
        "- Pinning: {}",
        if pin {
            "broker on CPU 0, load tool on CPU 1 (`taskset`)"
        } else {
            "none (fewer than 2 cores, no `taskset`, or --no-pin): broker and load tool share the cores"
        }
    );
    let _ = writeln!(s, "- Versions: Warren {rev} (release build), RabbitMQ {rmq_v} (Debian; only the MQTT plugin enabled), Mosquitto {mosq_v} (Debian; default limits: max_inflight_messages 20, max_queued_messages 1000); every broker sends at most {INFLIGHT} unacknowledged QoS 1/2 messages to one MQTT subscriber (Warren `[mqtt] prefetch`, RabbitMQ `mqtt.prefetch`)");
    let _ = writeln!(s, "- Open-files limit (soft/hard) of the harness, raised to the hard limit for every process it starts: {nofile}");
    let _ = writeln!(
        s,
        "- Whole comparison took {:.0} s. Idle RSS after start: {}",
        took.as_secs_f64(),
        brokers
            .iter()
            .map(|b| format!("{} {}", b.name, fmt_mib(b.idle_rss_kib)))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let _ = writeln!(
        s,
        "\nCommand:\n\n```sh\ncargo xtask bench-compare {}\n```\n",
        o.argv.join(" ")
    );
    let _ = writeln!(s, "| scenario | Warren | RabbitMQ | W/R | Mosquitto | W/M | p99 W / R / M | CPU W / R / M | peak RSS W / R / M |");
    let _ = writeln!(s, "| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    let mut notes = Vec::new();
    for (si, sc) in scens.iter().enumerate() {
        let idle = sc.proto == Proto::Idle;
        let get = |bi: Option<usize>| -> Cell {
            let Some(bi) = bi else {
                return cell(None, "skipped", idle);
            };
            let b = &brokers[bi];
            let has = match sc.proto {
                Proto::Amqp => b.amqp.is_some(),
                _ => b.mqtt.is_some(),
            };
            let unavailable = if has {
                "–"
            } else if sc.proto == Proto::Amqp {
                "n/a (no AMQP)"
            } else {
                b.no_mqtt
            };
            cell(results.get(&(si, bi)), unavailable, idle)
        };
        let (cw, cr, cm) = (get(w), get(r), get(m));
        for (c, bi) in [(&cw, w), (&cr, r), (&cm, m)] {
            if c.failures > 0 {
                if let Some(bi) = bi {
                    let errs: Vec<String> = results
                        .get(&(si, bi))
                        .map(|v| v.iter().filter_map(|x| x.error.clone()).collect())
                        .unwrap_or_default();
                    notes.push(format!(
                        "{} on {}: {} failed run(s): {}",
                        sc.name,
                        brokers[bi].name,
                        c.failures,
                        errs.join(" | ")
                    ));
                }
            }
        }
        let (rw, rr, rm) = if idle {
            (
                cw.per_conn.map(|x| 1.0 / x.max(1e-9)),
                cr.per_conn.map(|x| 1.0 / x.max(1e-9)),
                cm.per_conn.map(|x| 1.0 / x.max(1e-9)),
            )
        } else {
            (cw.rate, cr.rate, cm.rate)
        };
        let tri = |f: &dyn Fn(&Cell) -> Option<String>| {
            [&cw, &cr, &cm]
                .iter()
                .map(|c| f(c).unwrap_or_else(|| "–".into()))
                .collect::<Vec<_>>()
                .join(" / ")
        };
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            sc.what,
            cw.text,
            cr.text,
            ratio(rw, rr),
            cm.text,
            ratio(rw, rm),
            if idle {
                "–".into()
            } else {
                tri(&|c| c.p99.map(fmt_us))
            },
            tri(&|c| c.cpu.map(|x| format!("{x:.0} %"))),
            tri(&|c| c.rss.map(fmt_mib)),
        );
    }
    let _ = writeln!(s, "\nRatios are Warren / other for throughput (higher is better for Warren); for idle connections they compare memory per connection (other's KiB per connection / Warren's: above 1 means Warren uses less).");
    let _ = writeln!(s, "\nThe load tool command per row is `warren-perf <amqp|mqtt|mqtt-idle> --addr <broker> --quiet --duration {} --warmup {} <args>` with these args:\n", o.duration, o.warmup);
    for sc in scens {
        let _ = writeln!(s, "- `{}`: `{}`", sc.name, sc.args.join(" "));
    }
    if !notes.is_empty() {
        let _ = writeln!(s, "\nFailed runs (excluded from the medians):\n");
        for n in notes {
            let _ = writeln!(s, "- {n}");
        }
    }
    let _ = writeln!(s, "\n{END_MARK}");
    s
}

pub(crate) fn cmd_out(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

/// Replaces the text between the bench-compare markers (or appends the section) in `path`.
fn write_section(path: &Path, section: &str) -> Result<(), String> {
    write_section_between(path, section, START_MARK, END_MARK)
}

/// Replaces the text from `start` to `end` (or appends the section) in `path`.
pub(crate) fn write_section_between(
    path: &Path,
    section: &str,
    start: &str,
    end: &str,
) -> Result<(), String> {
    let doc = std::fs::read_to_string(path).unwrap_or_else(|_| "# Benchmarks\n".into());
    let new = match (doc.find(start), doc.find(end)) {
        (Some(a), Some(b)) if b > a => {
            let end = b + end.len();
            let rest = doc[end..].strip_prefix('\n').unwrap_or(&doc[end..]);
            format!("{}{}{}", &doc[..a], section, rest)
        }
        _ => format!(
            "{}\n{}",
            doc.trim_end_matches('\n').to_string() + "\n",
            section
        ),
    };
    std::fs::write(path, new).map_err(|e| format!("{path:?}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn section_replaces_only_between_markers() {
        let dir = std::env::temp_dir().join(format!("bench-compare-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("b.md");
        std::fs::write(&path, "# B\n\n## Other\n\nkeep\n").unwrap();
        write_section(&path, &format!("{START_MARK}\none\n{END_MARK}\n")).unwrap();
        write_section(&path, &format!("{START_MARK}\ntwo\n{END_MARK}\n")).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("keep"));
        assert!(text.contains("two") && !text.contains("one"));
        assert_eq!(text.matches(START_MARK).count(), 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn median_of_three_is_the_middle() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(vec![]), None);
    }
}
