#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // tests: a panic is the failure report
//! The management web UI in a real browser: `tests/browser/ui.test.js` drives headless Chromium
//! (Debian `chromium`, through `playwright-core` from npm) through login → overview → queues →
//! queue page → Get messages, and saves a screenshot of each step under
//! `target/test-artifacts/management-ui/`.
//!
//! Needs `node` and `npm` (the test runs `npm ci` in tests/browser when `node_modules` is
//! missing) and `/usr/bin/chromium` (or `CHROMIUM`). Without node it prints a note and passes;
//! without Chromium it fails, since tests/apt-packages.txt installs it.

mod common;

use common::Broker;
use std::path::{Path, PathBuf};
use std::process::Command;

fn have(cmd: &str) -> bool {
    Command::new(cmd)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser")
}

/// Installs playwright-core (pinned by package-lock.json) unless it is there already.
fn npm_install(dir: &Path) {
    if dir.join("node_modules/playwright-core").is_dir() {
        return;
    }
    let out = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(dir)
        .output()
        .expect("run npm ci");
    assert!(
        out.status.success(),
        "npm ci in {} failed:\n{}\n{}",
        dir.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn login_overview_queue_get_messages_in_chromium() {
    if !have("node") || !have("npm") {
        println!("SKIPPED login_overview_queue_get_messages_in_chromium: node/npm not installed");
        eprintln!("SKIPPED login_overview_queue_get_messages_in_chromium: node/npm not installed");
        return;
    }
    let Some(broker) = Broker::fresh(
        "login_overview_queue_get_messages_in_chromium",
        "it publishes into a Car2Home queue of its own broker",
        common::Options::default(),
    ) else {
        return;
    };
    let dir = browser_dir();
    npm_install(&dir);
    let base = broker.management_url();
    // Three messages in the Car2Home queue `car` (declared at boot).
    for body in ["car-1 {\"lock\":true}", "car-2", "car-3"] {
        let resp = ureq::post(&format!("{base}/api/exchanges/%2F/amq.default/publish"))
            .set("Authorization", "Basic Z3Vlc3Q6Z3Vlc3Q=")
            .send_json(serde_json::json!({
                "properties": {"content_type": "application/json"},
                "routing_key": "car", "payload": body, "payload_encoding": "string"}))
            .expect("publish through the API");
        assert_eq!(resp.status(), 200);
    }
    let shots =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/test-artifacts/management-ui");
    let out = Command::new("node")
        .arg("ui.test.js")
        .arg(&base)
        .arg("car")
        .arg(&shots)
        .current_dir(&dir)
        .output()
        .expect("run node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.lines().any(|l| l.trim() == "PASS ui"),
        "browser test failed (screenshots in {}):\n{stdout}\n{}\n{}",
        shots.display(),
        String::from_utf8_lossy(&out.stderr),
        broker.log()
    );
    for shot in ["01-login-failed", "02-overview", "04-queue-get-messages"] {
        assert!(
            shots.join(format!("{shot}.png")).is_file(),
            "{shot}.png saved"
        );
    }
}
