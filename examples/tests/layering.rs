#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // tests: a panic is the failure report
//! The dependency direction of the workspace, checked from the manifests (`cargo metadata`) and
//! the resolved graph (`cargo tree`):
//!
//! ```text
//! server -> core -> (topic, car2home)
//! server -> codecs (amqp, mqtt)
//! ```
//!
//! Every crate can be depended on alone, so a lower crate never depends on a higher one, and the
//! sans-IO crates never pull in tokio.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// Crates at the bottom: they depend on no Warren crate.
const LEAVES: [&str; 5] = [
    "warren-amqp",
    "warren-mqtt",
    "warren-stomp",
    "warren-topic",
    "warren-car2home",
];
/// What the core may depend on.
const CORE_MAY_USE: [&str; 2] = ["warren-topic", "warren-car2home"];
/// The only packages that may depend on the server crate (they drive a running broker).
const SERVER_USERS: [&str; 3] = ["warren-examples", "warren-benches", "warren-perf"];
/// Crates that are sans-IO: no tokio, no mio, in their normal dependency graph.
const SANS_IO: [&str; 6] = [
    "warren-amqp",
    "warren-mqtt",
    "warren-stomp",
    "warren-topic",
    "warren-car2home",
    "warren-core",
];

fn cargo() -> Command {
    let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    c.current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap());
    c
}

fn output(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Every workspace package with the Warren crates it declares as dependencies (any kind: normal,
/// build or dev; a crate's dev-dependency on itself is left out).
fn warren_deps() -> BTreeMap<String, Vec<(String, String)>> {
    let json = output(cargo().args(["metadata", "--no-deps", "--format-version", "1"]));
    let meta: Value = serde_json::from_str(&json).unwrap();
    let mut map = BTreeMap::new();
    for pkg in meta["packages"].as_array().unwrap() {
        let name = pkg["name"].as_str().unwrap().to_owned();
        let deps = pkg["dependencies"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|d| {
                let dep = d["name"].as_str()?;
                let kind = d["kind"].as_str().unwrap_or("normal");
                (dep.starts_with("warren-") && dep != name).then(|| (dep.to_owned(), kind.into()))
            })
            .collect();
        map.insert(name, deps);
    }
    map
}

#[test]
fn lower_crates_never_depend_on_higher_ones() {
    let deps = warren_deps();
    for crate_name in LEAVES.iter().chain(["warren-core", "warren-server"].iter()) {
        assert!(
            deps.contains_key(*crate_name),
            "{crate_name} is not in the workspace"
        );
    }
    let mut wrong = Vec::new();
    for (pkg, list) in &deps {
        for (dep, kind) in list {
            let allowed = if LEAVES.contains(&pkg.as_str()) {
                false
            } else if pkg == "warren-core" {
                CORE_MAY_USE.contains(&dep.as_str())
            } else if dep == "warren-server" {
                SERVER_USERS.contains(&pkg.as_str())
            } else {
                true
            };
            if !allowed {
                wrong.push(format!("{pkg} -> {dep} ({kind})"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "dependencies against the layering (server -> core -> (topic, car2home); server -> codecs):\n  {}",
        wrong.join("\n  ")
    );
}

#[test]
fn sans_io_crates_do_not_pull_in_tokio() {
    for crate_name in SANS_IO {
        // The graph as a user of the crate alone gets it: default features, normal and build
        // dependencies (an optional adapter such as warren-mqtt's `tokio` feature is opt-in).
        let tree = output(cargo().args([
            "tree",
            "-p",
            crate_name,
            "-e",
            "normal,build",
            "--prefix",
            "none",
            "--format",
            "{p}",
        ]));
        let async_io: Vec<&str> = tree
            .lines()
            .filter(|l| {
                let name = l.split_whitespace().next().unwrap_or_default();
                matches!(name, "tokio" | "tokio-util" | "mio" | "async-std")
            })
            .collect();
        assert!(
            async_io.is_empty(),
            "{crate_name} is sans-IO but depends on {async_io:?}"
        );
        // And, transitively, on no Warren crate above it.
        let higher: Vec<&str> = tree
            .lines()
            .filter_map(|l| l.split_whitespace().next())
            .filter(|n| n.starts_with("warren-") && *n != crate_name)
            .filter(|n| !(crate_name == "warren-core" && CORE_MAY_USE.contains(n)))
            .collect();
        assert!(higher.is_empty(), "{crate_name} depends on {higher:?}");
    }
}
