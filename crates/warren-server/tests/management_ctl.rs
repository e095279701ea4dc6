#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // tests: a panic is the failure report
//! `warren ctl` against a running broker: rabbitmqctl's commands, column selection, table and
//! JSON output, exit codes, and `stop`. Under `WARREN_TEST_BROKER` the commands run against that
//! broker's management API (`stop` and the definitions round trip are skipped).

mod common;

use common::{unique, Broker};
use serde_json::{json, Value};
use std::process::{Command, Output};
use std::time::Duration;

fn ctl(broker: &Broker, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_warren"))
        .arg("ctl")
        .arg("--url")
        .arg(broker.management_url())
        .args(args)
        .output()
        .expect("run warren ctl")
}

/// Runs a command that must succeed; returns its stdout.
fn ok(broker: &Broker, args: &[&str]) -> String {
    let out = ctl(broker, args);
    assert!(
        out.status.success(),
        "warren ctl {args:?} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn json_rows(broker: &Broker, args: &[&str]) -> Vec<Value> {
    let mut all = args.to_vec();
    all.extend(["--formatter", "json"]);
    serde_json::from_str::<Value>(&ok(broker, &all))
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

fn publish(broker: &Broker, queue: &str, n: usize) {
    for i in 0..n {
        let resp = ureq::post(&format!(
            "{}/api/exchanges/%2F/amq.default/publish",
            broker.management_url()
        ))
        .set("Authorization", "Basic Z3Vlc3Q6Z3Vlc3Q=")
        .send_json(json!({"properties": {}, "routing_key": queue,
                          "payload": format!("m{i}"), "payload_encoding": "string"}))
        .unwrap();
        assert_eq!(resp.status(), 200);
    }
}

#[test]
fn list_commands_select_columns_in_table_and_json() {
    let broker = Broker::start();
    let q = unique("ctlq");
    ureq::put(&format!("{}/api/queues/%2F/{q}", broker.management_url()))
        .set("Authorization", "Basic Z3Vlc3Q6Z3Vlc3Q=")
        .send_json(json!({"durable": false}))
        .unwrap();
    publish(&broker, &q, 2);

    // Table: an informational line, a header, tab-separated rows; -q drops the info line.
    let text = ok(
        &broker,
        &["list_queues", "name", "messages_ready", "consumers"],
    );
    let mut lines = text.lines();
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("Listing queues for vhost /"),
        "{text}"
    );
    assert_eq!(lines.next().unwrap(), "name\tmessages_ready\tconsumers");
    let quiet = ok(&broker, &["-q", "list_queues"]);
    assert!(quiet.starts_with("name\tmessages\n"), "{quiet}");
    let mut found = false;
    for _ in 0..60 {
        let rows = json_rows(&broker, &["list_queues", "name", "messages_ready"]);
        if rows
            .iter()
            .any(|r| *r == json!({"name": q, "messages_ready": 2}))
        {
            found = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(200)); // RabbitMQ's stats lag
    }
    assert!(found, "list_queues shows {q} with 2 ready messages");

    let ex = json_rows(&broker, &["list_exchanges"]);
    assert!(
        ex.iter()
            .any(|e| *e == json!({"name": "amq.topic", "type": "topic"})),
        "{ex:?}"
    );
    let b = json_rows(
        &broker,
        &[
            "list_bindings",
            "source_name",
            "destination_name",
            "routing_key",
        ],
    );
    assert!(b.iter().any(|r| r["destination_name"] == json!(q)), "{b:?}");
    let users = ok(&broker, &["-q", "list_users"]);
    assert!(
        users.lines().any(|l| l == "guest\tadministrator"),
        "{users}"
    );
    let vhosts = json_rows(&broker, &["list_vhosts", "name"]);
    assert!(vhosts.contains(&json!({"name": "/"})));
    let perms = ok(&broker, &["-q", "list_permissions"]);
    assert!(perms.lines().any(|l| l == "guest\t.*\t.*\t.*"), "{perms}");
    for cmd in ["list_connections", "list_channels", "list_consumers"] {
        assert!(
            json_rows(&broker, &[cmd]).iter().all(Value::is_object),
            "{cmd}"
        );
    }

    // purge_queue, then delete_queue; deleting again fails with rabbitmqctl's data-error code.
    ok(&broker, &["purge_queue", &q]);
    ok(&broker, &["delete_queue", &q]);
    let again = ctl(&broker, &["delete_queue", &q]);
    assert_eq!(
        again.status.code(),
        Some(65),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert!(String::from_utf8_lossy(&again.stderr).starts_with("Error:"));
}

#[test]
fn user_vhost_and_permission_commands() {
    let broker = Broker::start();
    let u = unique("ctlu").replace('.', "-");
    let v = unique("ctlv").replace('.', "-");
    ok(&broker, &["add_user", &u, "first"]);
    let dup = ctl(&broker, &["add_user", &u, "again"]);
    assert_eq!(dup.status.code(), Some(65));
    ok(&broker, &["set_user_tags", &u, "management", "monitoring"]);
    let users = json_rows(&broker, &["list_users"]);
    let row = users.iter().find(|r| r["user"] == json!(u)).unwrap();
    assert_eq!(row["tags"], json!(["management", "monitoring"]));
    ok(&broker, &["change_password", &u, "second"]);
    ok(&broker, &["add_vhost", &v]);
    ok(
        &broker,
        &["-p", &v, "set_permissions", &u, "^c", "^w", ".*"],
    );
    let perms = json_rows(&broker, &["-p", &v, "list_permissions"]);
    assert!(
        perms.contains(&json!({"user": u, "configure": "^c", "write": "^w", "read": ".*"})),
        "{perms:?}"
    );
    // The new password works (and the tags survived the change), the old one does not.
    let as_user = |pw: &str| {
        Command::new(env!("CARGO_BIN_EXE_warren"))
            .args([
                "ctl",
                "--url",
                &broker.management_url(),
                "--user",
                &u,
                "--password",
                pw,
                "-p",
                &v,
                "list_queues",
            ])
            .output()
            .unwrap()
    };
    assert!(as_user("second").status.success());
    assert!(!as_user("first").status.success());
    ok(&broker, &["-p", &v, "clear_permissions", &u]);
    assert!(json_rows(&broker, &["-p", &v, "list_permissions"])
        .iter()
        .all(|p| p["user"] != json!(u)));
    ok(&broker, &["delete_vhost", &v]);
    ok(&broker, &["delete_user", &u]);
    assert_eq!(ctl(&broker, &["delete_user", &u]).status.code(), Some(65));
}

#[test]
fn status_definitions_and_stop() {
    let Some(mut broker) = Broker::fresh(
        "status_definitions_and_stop",
        "it stops the broker",
        common::Options::default(),
    ) else {
        return;
    };
    let status = ok(&broker, &["status"]);
    assert!(status.contains("Status of node warren@"), "{status}");
    assert!(status.contains("amqp: 127.0.0.1:"), "{status}");
    let j: Value = serde_json::from_str(&ok(&broker, &["status", "--formatter", "json"])).unwrap();
    assert!(j["object_totals"]["queues"].is_u64());

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("defs.json");
    let file = file.to_str().unwrap();
    ok(&broker, &["export_definitions", file]);
    let mut defs: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    assert!(defs["queues"]
        .as_array()
        .unwrap()
        .iter()
        .any(|q| q["name"] == json!("car")));
    defs["queues"] = json!([{"name": "imported-by-ctl", "vhost": "/", "durable": true, "auto_delete": false, "arguments": {}}]);
    std::fs::write(file, defs.to_string()).unwrap();
    ok(&broker, &["import_definitions", file]);
    let names = ok(&broker, &["-q", "list_queues", "name"]);
    assert!(names.lines().any(|l| l == "imported-by-ctl"), "{names}");

    // Wrong credentials and an unreachable broker have their own exit codes.
    let denied = Command::new(env!("CARGO_BIN_EXE_warren"))
        .args([
            "ctl",
            "--url",
            &broker.management_url(),
            "--password",
            "wrong",
            "status",
        ])
        .output()
        .unwrap();
    assert_eq!(denied.status.code(), Some(65));
    let unreachable = Command::new(env!("CARGO_BIN_EXE_warren"))
        .args(["ctl", "--url", "http://127.0.0.1:1", "status"])
        .output()
        .unwrap();
    assert_eq!(unreachable.status.code(), Some(69));

    ok(&broker, &["stop"]);
    let exit = broker
        .wait_exit(Duration::from_secs(10))
        .expect("broker exits after ctl stop");
    assert!(exit.success(), "{exit}");
}
