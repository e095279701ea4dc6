#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // tests: a panic is the failure report
//! Third-party clients written for RabbitMQ's management API, unchanged, against Warren:
//! pyrabbit2's `Client` and `requests` following RabbitMQ's documented examples
//! (`tests/python/management_compat.py`, needing pyrabbit2 and requests from
//! tests/requirements.txt). Under `WARREN_TEST_BROKER` they run against that broker's API.

mod common;

use common::{run_python, Broker};

fn run(case: &str) {
    let broker = Broker::start();
    let base = broker.management_url();
    let out = run_python("management_compat.py", &[&base, "guest", "guest", case]);
    assert!(
        out.status.success()
            && out
                .stdout
                .lines()
                .any(|l| l.trim() == format!("PASS {case}")),
        "management_compat.py {case} against {base}:\n{}\n{}",
        out.describe(),
        broker.log()
    );
}

#[test]
fn pyrabbit2_management_client() {
    run("pyrabbit2");
}

#[test]
fn requests_following_rabbitmq_documentation() {
    run("requests");
}
