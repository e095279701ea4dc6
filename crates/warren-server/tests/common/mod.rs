//! The integration-test harness: start the real `warren` binary on a free port (or use the broker
//! named by `WARREN_TEST_BROKER`), run the Python client cases against it, and clean up.
//!
//! Contract with the binary (see tests/README.md): `warren --config FILE [--definitions FILE]`
//! prints `LISTENING amqp HOST:PORT` for each bound listener and then `READY` on stdout; logs go to
//! stderr; SIGTERM closes client connections with 320 CONNECTION_FORCED and exits 0.

// Each test binary uses a different part of this module.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long the binary may take to print READY.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(20);
/// How long one Python case may run before it is killed.
const CASE_TIMEOUT: Duration = Duration::from_secs(90);

/// The broker under test: a child `warren` process, or an external broker (WARREN_TEST_BROKER).
pub struct Broker {
    addr: SocketAddr,
    child: Option<Child>,
    /// Holds the config file, definitions file and the broker's stdout and stderr logs.
    dir: Option<tempfile::TempDir>,
    /// Users imported into an external broker through its management API, deleted on drop.
    external_users: Vec<String>,
    /// Every `LISTENING <protocol> <address>` line of a child broker.
    listeners: Vec<(String, SocketAddr)>,
}

/// Extra configuration for a broker the harness starts itself.
#[derive(Default, Clone)]
pub struct Options {
    amqp: Vec<(String, String)>,
    mqtt: Vec<(String, String)>,
    car2home: Vec<(String, String)>,
    definitions: Option<String>,
    definitions_users: Vec<String>,
}

impl Options {
    /// An extra key in the `[amqp]` table, with its value written as TOML (`"5"`, `"\"x\""`).
    pub fn amqp(mut self, key: &str, toml_value: &str) -> Self {
        self.amqp.push((key.to_owned(), toml_value.to_owned()));
        self
    }

    /// An extra key in the `[mqtt]` table, with its value written as TOML.
    pub fn mqtt(mut self, key: &str, toml_value: &str) -> Self {
        self.mqtt.push((key.to_owned(), toml_value.to_owned()));
        self
    }

    /// An extra key in the `[car2home]` table (`validate`, …), with its value written as TOML.
    pub fn car2home(mut self, key: &str, toml_value: &str) -> Self {
        self.car2home.push((key.to_owned(), toml_value.to_owned()));
        self
    }

    /// A RabbitMQ `definitions.json` document to load at boot; `users` are the user names it
    /// creates (deleted again from an external broker when the test ends).
    pub fn definitions(mut self, json: &str, users: &[&str]) -> Self {
        self.definitions = Some(json.to_owned());
        self.definitions_users = users.iter().map(|u| (*u).to_owned()).collect();
        self
    }
}

/// The external broker from `WARREN_TEST_BROKER=host:port`, if set.
pub fn external() -> Option<SocketAddr> {
    let value = std::env::var("WARREN_TEST_BROKER").ok()?;
    let addr = value
        .parse()
        .unwrap_or_else(|e| panic!("WARREN_TEST_BROKER={value:?} is not host:port: {e}"));
    Some(addr)
}

/// The management API of the external broker: `WARREN_TEST_MANAGEMENT` (default
/// `127.0.0.1:26680`) and `WARREN_TEST_MANAGEMENT_AUTH` (default `rabbit:MQ321`).
fn management() -> (String, String) {
    let addr = std::env::var("WARREN_TEST_MANAGEMENT").unwrap_or_else(|_| "127.0.0.1:26680".into());
    let auth =
        std::env::var("WARREN_TEST_MANAGEMENT_AUTH").unwrap_or_else(|_| "rabbit:MQ321".into());
    (addr, auth)
}

/// Print why a test does nothing under `WARREN_TEST_BROKER` (visible with --nocapture / nextest).
pub fn skip_note(test: &str, why: &str) {
    println!("SKIPPED {test} under WARREN_TEST_BROKER: {why}");
    eprintln!("SKIPPED {test} under WARREN_TEST_BROKER: {why}");
}

/// The configuration file the harness writes for the binary.
fn config_toml(opts: &Options) -> String {
    let mut toml = String::from("[amqp]\nlisteners = [\"127.0.0.1:0\"]\n");
    for (key, value) in &opts.amqp {
        toml.push_str(&format!("{key} = {value}\n"));
    }
    // MQTT on an ephemeral port too (tests run in parallel; the default is 0.0.0.0:1883).
    toml.push_str("\n[mqtt]\nlisteners = [\"127.0.0.1:0\"]\n");
    for (key, value) in &opts.mqtt {
        toml.push_str(&format!("{key} = {value}\n"));
    }
    // Management and Prometheus on ephemeral ports (tests run in parallel); fast rate samples.
    toml.push_str(concat!(
        "\n[management]\n",
        "listeners = [\"127.0.0.1:0\"]\n",
        "prometheus_listeners = [\"127.0.0.1:0\"]\n",
        "sample_interval = 1\n",
    ));
    toml.push_str(concat!(
        "\n[defaults]\n",
        "vhost = \"/\"\n",
        "users = [{ name = \"guest\", password = \"guest\", tags = [\"administrator\"] }, ",
        "{ name = \"rabbit\", password = \"MQ321\", tags = [\"administrator\"] }]\n",
        "loopback_users = [\"guest\"]\n",
        "car2home_topology = true\n",
    ));
    if !opts.car2home.is_empty() {
        toml.push_str("\n[car2home]\n");
        for (key, value) in &opts.car2home {
            toml.push_str(&format!("{key} = {value}\n"));
        }
    }
    toml
}

impl Broker {
    /// A broker with the default test configuration: the external one if set, else a fresh child.
    pub fn start() -> Broker {
        match external() {
            Some(addr) => Broker {
                addr,
                child: None,
                dir: None,
                external_users: Vec::new(),
                listeners: Vec::new(),
            },
            None => Broker::spawn(&Options::default()),
        }
    }

    /// A broker with extra configuration. Under `WARREN_TEST_BROKER` only definitions can be
    /// applied (through the management API); with config keys this returns `None` after a note.
    pub fn start_with(test: &str, opts: Options) -> Option<Broker> {
        let Some(addr) = external() else {
            return Some(Broker::spawn(&opts));
        };
        if !opts.amqp.is_empty() || !opts.car2home.is_empty() {
            skip_note(test, "it needs a broker started with its own configuration");
            return None;
        }
        let mut broker = Broker {
            addr,
            child: None,
            dir: None,
            external_users: Vec::new(),
            listeners: Vec::new(),
        };
        if let Some(json) = &opts.definitions {
            let dir = tempfile::tempdir().expect("temp dir");
            let file = dir.path().join("definitions.json");
            std::fs::write(&file, json).expect("write definitions");
            let (maddr, auth) = management();
            // Register the users before importing so that a partial import is still cleaned up.
            broker.external_users = opts.definitions_users.clone();
            let out = run_python("management.py", &[&maddr, &auth, "import", path_str(&file)]);
            assert!(
                out.status.success(),
                "importing definitions into {maddr} failed:\n{}",
                out.describe()
            );
        }
        Some(broker)
    }

    /// A fresh child broker; `None` (after a note) under `WARREN_TEST_BROKER`.
    pub fn fresh(test: &str, why: &str, opts: Options) -> Option<Broker> {
        if external().is_some() {
            skip_note(test, why);
            return None;
        }
        Some(Broker::spawn(&opts))
    }

    fn spawn(opts: &Options) -> Broker {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = dir.path().join("warren.toml");
        std::fs::write(&config, config_toml(opts)).expect("write config");
        let log = std::fs::File::create(dir.path().join("stderr.log")).expect("create log file");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_warren"));
        cmd.arg("--config").arg(&config);
        if let Some(json) = &opts.definitions {
            let file = dir.path().join("definitions.json");
            std::fs::write(&file, json).expect("write definitions");
            cmd.arg("--definitions").arg(&file);
        }
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log));
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", env!("CARGO_BIN_EXE_warren")));
        let stdout = child.stdout.take().expect("piped stdout");
        let mut copy =
            std::fs::File::create(dir.path().join("stdout.log")).expect("create log file");
        let (tx, rx) = mpsc::channel();
        // Forward stdout lines until READY, then keep draining so the child never blocks on it;
        // every line is also kept in stdout.log for failure reports.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let _ = writeln!(copy, "{line}");
                // After READY nobody receives: the send fails and the line is dropped.
                let _ = tx.send(line);
            }
        });
        let mut broker = Broker {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            child: Some(child),
            dir: Some(dir),
            external_users: Vec::new(),
            listeners: Vec::new(),
        };
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        let mut amqp = None;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    if let Some((protocol, addr)) =
                        line.strip_prefix("LISTENING ").and_then(|r| r.split_once(' '))
                    {
                        if let Ok(addr) = addr.trim().parse() {
                            broker.listeners.push((protocol.to_owned(), addr));
                        }
                    }
                    if let (Some(addr), Some(dir)) =
                        (line.strip_prefix("LISTENING mqtt "), &broker.dir)
                    {
                        // Read back by `mqtt_addr()`.
                        let _ = std::fs::write(dir.path().join("mqtt.addr"), addr.trim());
                    }
                    if let Some(addr) = line.strip_prefix("LISTENING amqp ") {
                        let addr: SocketAddr = addr.trim().parse().unwrap_or_else(|e| {
                            panic!("bad LISTENING line {line:?}: {e}\n{}", broker.log())
                        });
                        amqp.get_or_insert(addr);
                    } else if line.trim() == "READY" {
                        break;
                    }
                    seen.push(line);
                }
                Err(_) => panic!(
                    "warren did not print READY within {STARTUP_TIMEOUT:?} (exit: {:?}); stdout so far: {seen:?}\n{}",
                    broker.child.as_mut().and_then(|c| c.try_wait().ok().flatten()),
                    broker.log()
                ),
            }
        }
        broker.addr = amqp
            .unwrap_or_else(|| panic!("READY without a `LISTENING amqp` line; stdout: {seen:?}"));
        broker
    }

    /// The MQTT listener: the child's `LISTENING mqtt` address, or `WARREN_TEST_MQTT` for an
    /// external broker (`None` when that is not set).
    pub fn mqtt_addr(&self) -> Option<SocketAddr> {
        match &self.dir {
            Some(dir) => std::fs::read_to_string(dir.path().join("mqtt.addr"))
                .ok()
                .and_then(|a| a.trim().parse().ok()),
            None => std::env::var("WARREN_TEST_MQTT")
                .ok()
                .and_then(|a| a.parse().ok()),
        }
    }

    /// The address of a child broker's `LISTENING <protocol>` line (`management`,
    /// `prometheus`, `mqtt`, …).
    pub fn listener(&self, protocol: &str) -> Option<SocketAddr> {
        self.listeners
            .iter()
            .find(|(p, _)| p == protocol)
            .map(|(_, a)| *a)
    }

    /// Base URL of the management API: the child's `LISTENING management` address, or
    /// `WARREN_TEST_MANAGEMENT` (default 127.0.0.1:26680) for an external broker.
    pub fn management_url(&self) -> String {
        match self.listener("management") {
            Some(a) => format!("http://{a}"),
            None if self.is_external() => format!("http://{}", management().0),
            None => panic!(
                "no `LISTENING management` line; listeners: {:?}",
                self.listeners
            ),
        }
    }

    /// Host part of the AMQP address.
    pub fn host(&self) -> String {
        self.addr.ip().to_string()
    }

    /// Port of the AMQP listener.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `amqp://user:password@host:port/%2f`.
    pub fn url(&self, user: &str, password: &str) -> String {
        format!("amqp://{user}:{password}@{}/%2f", self.addr)
    }

    /// Whether this is the external broker of `WARREN_TEST_BROKER`.
    pub fn is_external(&self) -> bool {
        self.child.is_none()
    }

    /// The child's stdout and stderr so far, each cut to its last 8000 characters (for failure
    /// reports).
    pub fn log(&self) -> String {
        let Some(dir) = &self.dir else {
            return String::from("(external broker: no log)");
        };
        let mut out = String::new();
        for name in ["stdout.log", "stderr.log"] {
            let text = std::fs::read_to_string(dir.path().join(name)).unwrap_or_default();
            let skip = text.chars().count().saturating_sub(8000);
            let tail: String = text.chars().skip(skip).collect();
            out.push_str(&format!(
                "--- warren {name} (last 8000 chars) ---\n{tail}\n"
            ));
        }
        out
    }

    /// Send SIGTERM to the child broker.
    pub fn terminate(&self) {
        let child = self
            .child
            .as_ref()
            .expect("terminate() needs a child broker");
        let status = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM {} failed", child.id());
    }

    /// Wait up to `timeout` for the child to exit.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let child = self
            .child
            .as_mut()
            .expect("wait_exit() needs a child broker");
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = child.try_wait().expect("try_wait") {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Run `python tests/python/SCRIPT HOST PORT CASE ARGS...`; it must exit 0 and print
    /// `PASS CASE`. Returns its stdout.
    pub fn case(&self, script: &str, case: &str, args: &[&str]) -> String {
        let host = self.host();
        let port = self.port().to_string();
        let mut argv: Vec<&str> = vec![&host, &port, case];
        argv.extend_from_slice(args);
        let out = run_python(script, &argv);
        assert!(
            out.status.success()
                && out
                    .stdout
                    .lines()
                    .any(|l| l.trim() == format!("PASS {case}")),
            // The broker's log follows: Drop prints it while the test panics.
            "{script} {case} failed against {}:\n{}",
            self.addr,
            out.describe(),
        );
        out.stdout
    }

    /// Run a Python script that is not a case runner (seed examples): must exit 0.
    pub fn script(&self, script: &str, args: &[&str]) -> String {
        let host = self.host();
        let port = self.port().to_string();
        let mut argv: Vec<&str> = vec![&host, &port];
        argv.extend_from_slice(args);
        let out = run_python(script, &argv);
        assert!(
            out.status.success(),
            "{script} failed against {}:\n{}",
            self.addr,
            out.describe(),
        );
        out.stdout
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        if self.child.is_some() && std::thread::panicking() {
            eprintln!("{}", self.log());
        }
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
        if !self.external_users.is_empty() {
            let (maddr, auth) = management();
            for user in &self.external_users {
                let _ = run_python("management.py", &[&maddr, &auth, "delete-user", user]);
            }
        }
    }
}

/// What a Python run printed and how it ended.
pub struct PyOutput {
    /// Exit status (killed after CASE_TIMEOUT shows as a signal).
    pub status: ExitStatus,
    /// Everything on stdout.
    pub stdout: String,
    /// Everything on stderr.
    pub stderr: String,
}

impl PyOutput {
    /// Status, stdout and stderr for an assertion message.
    pub fn describe(&self) -> String {
        format!(
            "status: {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.status, self.stdout, self.stderr
        )
    }
}

/// The Python interpreter: `WARREN_PYTHON` (set by `cargo xtask ci` to .venv/bin/python) or python3.
pub fn python() -> String {
    std::env::var("WARREN_PYTHON").unwrap_or_else(|_| "python3".into())
}

/// tests/python/NAME.
pub fn script_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/python")
        .join(name)
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 temp path")
}

/// Start `python tests/python/SCRIPT ARGS...` with piped output.
pub fn spawn_python(script: &str, args: &[&str]) -> Child {
    Command::new(python())
        .arg(script_path(script))
        .args(args)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("PYTHONUNBUFFERED", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run {} (set WARREN_PYTHON to a Python with pika and aio-pika): {e}",
                python()
            )
        })
}

/// Wait for a Python child (killing it after CASE_TIMEOUT) and collect its output.
pub fn finish_python(mut child: Child) -> PyOutput {
    // A caller may have taken stdout to read it line by line; then only stderr is collected.
    let out_pipe = child.stdout.take();
    let err_pipe = child.stderr.take();
    let out_thread = std::thread::spawn(move || {
        let mut s = String::new();
        if let Some(mut pipe) = out_pipe {
            let _ = pipe.read_to_string(&mut s);
        }
        s
    });
    let err_thread = std::thread::spawn(move || {
        let mut s = String::new();
        if let Some(mut pipe) = err_pipe {
            let _ = pipe.read_to_string(&mut s);
        }
        s
    });
    let deadline = Instant::now() + CASE_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            break child.wait().expect("wait after kill");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    PyOutput {
        status,
        stdout: out_thread.join().unwrap_or_default(),
        stderr: err_thread.join().unwrap_or_default(),
    }
}

/// Run a Python script to completion.
pub fn run_python(script: &str, args: &[&str]) -> PyOutput {
    finish_python(spawn_python(script, args))
}

/// A name no other test uses (tests share an external broker).
pub fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("itest.{prefix}.{}.{nanos:09}", std::process::id())
}
