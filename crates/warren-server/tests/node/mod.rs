//! A `warren` process on a data directory that survives its restarts (SIGKILL, SIGTERM,
//! restart on the same directory), and a small seeded random generator for kill moments.
//! Shared by the durability tests (`mod node;`).

// Each test binary uses a different part of this module.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub const STARTUP: Duration = Duration::from_secs(20);
pub const WAIT: Duration = Duration::from_secs(10);

/// A small xorshift generator: random kill moments without another dependency. The seed is
/// printed so a failing run can be repeated (`WARREN_CRASH_SEED`).
pub struct Rng(u64);

impl Rng {
    pub fn new() -> Rng {
        let seed = std::env::var("WARREN_CRASH_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos() as u64)
                    .unwrap_or(1)
            })
            | 1;
        println!("WARREN_CRASH_SEED={seed}");
        Rng(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo)
    }

    pub fn chance(&mut self, p: f64) -> bool {
        (self.next() % 1_000_000) as f64 / 1_000_000.0 < p
    }
}

pub fn skip_under_external(test: &str) -> bool {
    if std::env::var_os("WARREN_TEST_BROKER").is_some() {
        println!("SKIPPED {test} under WARREN_TEST_BROKER: it kills and restarts its own broker");
        return true;
    }
    false
}

/// A `warren` process on a data directory that survives its restarts.
pub struct Node {
    pub dir: tempfile::TempDir,
    pub fsync: &'static str,
    pub child: Option<Child>,
    pub addr: SocketAddr,
    /// Also listen for MQTT (on a free loopback port, `mqtt_addr` once started).
    pub mqtt: bool,
    /// The MQTT listener of the running process (with `mqtt`).
    pub mqtt_addr: SocketAddr,
    pub starts: u32,
    /// Extra `[storage]` keys.
    pub storage: Vec<(&'static str, toml::Value)>,
}

impl Node {
    pub fn new(fsync: &'static str) -> Node {
        Node {
            dir: tempfile::tempdir().unwrap(),
            fsync,
            child: None,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            mqtt: false,
            mqtt_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            starts: 0,
            storage: Vec::new(),
        }
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// The configuration: the embedded defaults with every listener off except AMQP on a free
    /// loopback port, and `[storage]` on this node's data directory.
    pub fn config_toml(&self) -> String {
        let mut config = warren_server::config::Config::default();
        config.amqp.listeners = vec![SocketAddr::from(([127, 0, 0, 1], 0))];
        config.mqtt.listeners = vec![SocketAddr::from(([127, 0, 0, 1], 0))];
        config.storage.data_dir = Some(self.data_dir());
        config.defaults.car2home_topology = false;
        let mut value = toml::Value::try_from(&config).unwrap();
        if let Some(root) = value.as_table_mut() {
            for (section, table) in root.iter_mut() {
                let Some(table) = table.as_table_mut() else {
                    continue;
                };
                for (key, v) in table.iter_mut() {
                    if key.ends_with("listeners")
                        && section != "amqp"
                        && !(section == "mqtt" && self.mqtt)
                    {
                        *v = toml::Value::Array(Vec::new());
                    }
                }
                if section == "storage" {
                    table.insert("fsync".into(), toml::Value::String(self.fsync.into()));
                    table.insert("disk_free_limit".into(), toml::Value::Integer(0));
                    table.insert("memory_high_watermark".into(), toml::Value::Float(0.0));
                    for (key, value) in &self.storage {
                        table.insert((*key).into(), value.clone());
                    }
                }
            }
        }
        toml::to_string(&value).unwrap()
    }

    pub fn start(&mut self) {
        assert!(self.child.is_none(), "already running");
        self.starts += 1;
        let config = self.dir.path().join("warren.toml");
        std::fs::write(&config, self.config_toml()).unwrap();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("stderr.log"))
            .unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_warren"))
            .arg("--config")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let _ = tx.send(line);
            }
        });
        self.child = Some(child);
        let deadline = Instant::now() + STARTUP;
        let mut amqp = None;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) if line.starts_with("LISTENING amqp ") => {
                    amqp = Some(line["LISTENING amqp ".len()..].trim().parse().unwrap());
                }
                Ok(line) if line.starts_with("LISTENING mqtt ") => {
                    self.mqtt_addr = line["LISTENING mqtt ".len()..].trim().parse().unwrap();
                }
                Ok(line) if line.trim() == "READY" => break,
                Ok(_) => {}
                Err(_) => panic!(
                    "warren did not start (start #{})\n{}",
                    self.starts,
                    self.log()
                ),
            }
        }
        self.addr = amqp.expect("a LISTENING amqp line");
    }

    /// SIGKILL: no shutdown code runs.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }

    /// SIGTERM and wait for a clean exit.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let ok = Command::new("kill")
                .arg("-TERM")
                .arg(child.id().to_string())
                .status()
                .unwrap()
                .success();
            assert!(ok);
            let deadline = Instant::now() + WAIT;
            loop {
                if let Some(status) = child.try_wait().unwrap() {
                    assert!(status.success(), "exit {status}\n{}", self.log());
                    break;
                }
                assert!(Instant::now() < deadline, "no exit after SIGTERM");
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }

    pub fn restart(&mut self) {
        self.kill9();
        self.start();
    }

    pub fn url(&self, user: &str, password: &str, vhost: &str) -> String {
        let vhost = if vhost == "/" { "%2f" } else { vhost };
        format!("amqp://{user}:{password}@{}/{vhost}", self.addr)
    }

    pub fn log(&self) -> String {
        let text = std::fs::read_to_string(self.dir.path().join("stderr.log")).unwrap_or_default();
        let tail: String = text
            .chars()
            .rev()
            .take(6000)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        format!("--- warren stderr (tail) ---\n{tail}")
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("{}", self.log());
        }
        self.kill9();
    }
}
