#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // tests: a panic is the failure report
//! The management HTTP API against the real `warren` binary: every endpoint family with its
//! status codes, JSON shapes and auth failures. Written against RabbitMQ 3.10's API: under
//! `WARREN_TEST_BROKER` they run against the management API of that broker
//! (`WARREN_TEST_MANAGEMENT`), except the Warren-only parts (shutdown, UI, Prometheus).

mod common;

use common::{skip_note, unique, Broker};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// A tiny client for the API: status and JSON body of each call.
struct Api {
    base: String,
    agent: ureq::Agent,
}

struct Reply {
    status: u16,
    body: Value,
    headers: Vec<(String, String)>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// `/` as RabbitMQ's API wants it in a path.
const VH: &str = "%2F";

impl Api {
    fn new(broker: &Broker) -> Api {
        Api {
            base: broker.management_url(),
            agent: ureq::AgentBuilder::new()
                .timeout(Duration::from_secs(20))
                .build(),
        }
    }

    fn call_as(
        &self,
        auth: Option<(&str, &str)>,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Reply {
        use base64::Engine as _;
        let mut req = self.agent.request(method, &format!("{}{path}", self.base));
        if let Some((u, p)) = auth {
            let token = base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"));
            req = req.set("Authorization", &format!("Basic {token}"));
        }
        req = req.set("Content-Type", "application/json");
        let resp = match body {
            Some(b) => req.send_string(&b.to_string()),
            None => req.call(),
        };
        let r = match resp {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("{method} {path}: {e}"),
        };
        let status = r.status();
        let headers = r
            .headers_names()
            .into_iter()
            .map(|n| {
                let v = r.header(&n).unwrap_or_default().to_owned();
                (n, v)
            })
            .collect();
        let text = r.into_string().unwrap();
        let body = if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Reply {
            status,
            body,
            headers,
        }
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Reply {
        self.call_as(Some(("guest", "guest")), method, path, body)
    }

    fn get(&self, path: &str) -> Value {
        let r = self.call("GET", path, None);
        assert_eq!(r.status, 200, "GET {path}: {}", r.body);
        r.body
    }

    fn expect(&self, method: &str, path: &str, body: Option<Value>, status: u16) -> Value {
        let r = self.call(method, path, body);
        assert_eq!(r.status, status, "{method} {path}: {}", r.body);
        r.body
    }
}

/// Polls until `f` holds (RabbitMQ's statistics lag by up to 5 s; Warren's listings do not).
/// A path segment as RabbitMQ's API expects it: every byte but ASCII letters and digits
/// percent-encoded (connection and channel names hold `:`, `>` and spaces).
fn percent_encode(name: &str) -> String {
    name.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(12);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn assert_error(r: &Reply, status: u16, error: &str) {
    assert_eq!(r.status, status, "{}", r.body);
    assert_eq!(r.body["error"], json!(error), "{}", r.body);
    assert!(r.body["reason"].is_string(), "{}", r.body);
}

#[test]
fn auth_failures_are_401_with_rabbitmq_bodies() {
    let broker = Broker::start();
    let api = Api::new(&broker);
    let r = api.call_as(None, "GET", "/api/overview", None);
    assert_eq!(r.status, 401);
    assert!(r
        .header("www-authenticate")
        .is_some_and(|h| h.starts_with("Basic")));
    let r = api.call_as(Some(("guest", "wrong")), "GET", "/api/overview", None);
    assert_error(&r, 401, "not_authorized");
    assert_eq!(r.body["reason"], json!("Login failed"));
    let r = api.call_as(Some(("nobody", "x")), "GET", "/api/queues", None);
    assert_error(&r, 401, "not_authorized");

    // A user without a management tag, then one with `management` but no permissions.
    let plain = unique("plain").replace('.', "-");
    api.expect(
        "PUT",
        &format!("/api/users/{plain}"),
        Some(json!({"password": "pw", "tags": ""})),
        201,
    );
    let r = api.call_as(Some((&plain, "pw")), "GET", "/api/overview", None);
    assert_error(&r, 401, "not_authorised");
    assert_eq!(r.body["reason"], json!("Not management user"));
    api.expect(
        "PUT",
        &format!("/api/users/{plain}"),
        Some(json!({"password": "pw", "tags": "management"})),
        204,
    );
    let r = api.call_as(Some((&plain, "pw")), "GET", "/api/overview", None);
    assert_eq!(r.status, 200, "{}", r.body);
    let r = api.call_as(Some((&plain, "pw")), "GET", "/api/users", None);
    assert_error(&r, 401, "not_authorised");
    assert_eq!(r.body["reason"], json!("Not administrator user"));
    let r = api.call_as(
        Some((&plain, "pw")),
        "GET",
        &format!("/api/queues/{VH}"),
        None,
    );
    assert_error(&r, 401, "not_authorised");
    let r = api.call_as(Some((&plain, "pw")), "GET", "/api/queues", None);
    assert_eq!(
        (r.status, r.body.clone()),
        (200, json!([])),
        "sees no vhost"
    );

    // With permissions on "/" but none to configure: declare is refused, listing works.
    api.expect(
        "PUT",
        &format!("/api/permissions/{VH}/{plain}"),
        Some(json!({"configure": "^$", "write": ".*", "read": ".*"})),
        201,
    );
    let r = api.call_as(
        Some((&plain, "pw")),
        "GET",
        &format!("/api/queues/{VH}"),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let q = unique("denied");
    let r = api.call_as(
        Some((&plain, "pw")),
        "PUT",
        &format!("/api/queues/{VH}/{q}"),
        Some(json!({})),
    );
    assert_error(&r, 401, "not_authorised");
    api.expect("DELETE", &format!("/api/users/{plain}"), None, 204);
}

#[test]
fn overview_whoami_nodes_and_health() {
    let broker = Broker::start();
    let api = Api::new(&broker);
    let o = api.get("/api/overview");
    for key in [
        "management_version",
        "rabbitmq_version",
        "product_name",
        "node",
        "cluster_name",
    ] {
        assert!(o[key].is_string(), "{key}: {o}");
    }
    for key in [
        "connections",
        "channels",
        "consumers",
        "exchanges",
        "queues",
    ] {
        assert!(o["object_totals"][key].is_u64(), "object_totals.{key}: {o}");
    }
    assert!(o["exchange_types"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["name"] == "topic"));
    assert!(o["listeners"]
        .as_array()
        .unwrap()
        .iter()
        .any(|l| l["protocol"] == "amqp" && l["port"].is_u64()));
    assert_eq!(
        api.get("/api/whoami"),
        json!({"name": "guest", "tags": ["administrator"]})
    );
    let nodes = api.get("/api/nodes");
    assert_eq!(nodes[0]["name"], o["node"]);
    let node = api.get(&format!("/api/nodes/{}", o["node"].as_str().unwrap()));
    assert!(node["running"].as_bool().unwrap());
    assert!(api.get("/api/extensions").is_array());
    assert!(api.get("/api/cluster-name")["name"].is_string());
    for check in ["alarms", "local-alarms", "virtual-hosts"] {
        assert_eq!(
            api.get(&format!("/api/health/checks/{check}"))["status"],
            json!("ok")
        );
    }
    assert_eq!(
        api.get("/api/health/checks/protocol-listener/amqp")["status"],
        json!("ok")
    );
    let amqp_port = broker.port();
    assert_eq!(
        api.get(&format!("/api/health/checks/port-listener/{amqp_port}"))["port"],
        json!(amqp_port)
    );
    let r = api.call("GET", "/api/health/checks/port-listener/1", None);
    assert_eq!(
        (r.status, r.body["status"].clone()),
        (503, json!("failed")),
        "{}",
        r.body
    );
    assert_eq!(
        api.get(&format!("/api/aliveness-test/{VH}")),
        json!({"status": "ok"})
    );
    let r = api.call("GET", "/api/aliveness-test/no-such-vhost", None);
    assert_eq!(r.status, 404, "{}", r.body);
    let r = api.call("GET", "/api/no-such-endpoint", None);
    assert_error(&r, 404, "Object Not Found");
}

#[test]
fn queues_declare_list_get_purge_delete() {
    let broker = Broker::start();
    let api = Api::new(&broker);
    let q = unique("mq");
    let path = format!("/api/queues/{VH}/{q}");
    api.expect(
        "PUT",
        &path,
        Some(json!({"durable": true, "arguments": {"x-max-length": 100}})),
        201,
    );
    api.expect(
        "PUT",
        &path,
        Some(json!({"durable": true, "arguments": {"x-max-length": 100}})),
        204,
    );
    let r = api.call("PUT", &path, Some(json!({"durable": true})));
    assert_error(&r, 400, "bad_request");
    assert!(r.body["reason"]
        .as_str()
        .unwrap()
        .contains("inequivalent arg 'x-max-length'"));
    let r = api.call("PUT", &path, Some(json!("not an object")));
    assert_error(&r, 400, "bad_request");
    let r = api.call(
        "PUT",
        &format!("/api/queues/no-such-vhost/{q}"),
        Some(json!({})),
    );
    assert_eq!(r.status, 404, "{}", r.body);

    // Publish three messages through the default exchange ("amq.default" in the API).
    for (payload, enc) in [("hello", "string"), ("AAEC", "base64"), ("third", "string")] {
        let body = json!({"properties": {"content_type": "text/plain", "headers": {"n": 1}},
                          "routing_key": q, "payload": payload, "payload_encoding": enc});
        let r = api.expect(
            "POST",
            &format!("/api/exchanges/{VH}/amq.default/publish"),
            Some(body),
            200,
        );
        assert_eq!(r, json!({"routed": true}));
    }
    let r = api.call(
        "POST",
        &format!("/api/exchanges/{VH}/amq.default/publish"),
        Some(json!({"routing_key": q})),
    );
    assert_error(&r, 400, "bad_request");

    eventually("3 ready messages", || {
        api.get(&path)["messages_ready"] == json!(3)
    });
    let item = api.get(&path);
    for key in [
        "name",
        "vhost",
        "durable",
        "auto_delete",
        "exclusive",
        "arguments",
        "node",
        "messages",
        "messages_ready",
        "messages_unacknowledged",
        "messages_details",
        "consumer_details",
    ] {
        assert!(item.get(key).is_some(), "queue detail lacks {key}: {item}");
    }
    assert_eq!(item["arguments"], json!({"x-max-length": 100}));
    assert!(item["messages_details"]["rate"].as_f64().is_some());

    // List, filter, sort, paginate, select columns.
    let all = api.get("/api/queues");
    assert!(all
        .as_array()
        .unwrap()
        .iter()
        .any(|x| x["name"] == json!(q)));
    let page = api.get(&format!(
        "/api/queues/{VH}?page=1&page_size=1&name={q}&use_regex=false"
    ));
    assert_eq!(page["filtered_count"], json!(1));
    assert_eq!(page["items"][0]["name"], json!(q));
    for key in [
        "item_count",
        "page",
        "page_count",
        "page_size",
        "total_count",
    ] {
        assert!(page[key].is_u64(), "{key}: {page}");
    }
    let cols = api.get(&format!(
        "/api/queues/{VH}?columns=name,messages&name={q}&page=1"
    ));
    assert_eq!(cols["items"], json!([{"name": q, "messages": 3}]));
    assert_error(
        &api.call("GET", "/api/queues?page=0", None),
        400,
        "invalid_pagination_parameters",
    );
    assert_error(
        &api.call("GET", "/api/queues?page=999", None),
        400,
        "page_out_of_range",
    );

    // Get: requeue keeps the messages (now redelivered), ack removes them.
    let get = |count: u64, ackmode: &str, encoding: &str| {
        api.expect("POST", &format!("{path}/get"),
                   Some(json!({"count": count, "ackmode": ackmode, "encoding": encoding, "truncate": 50000})), 200)
    };
    let got = get(5, "ack_requeue_true", "auto");
    let got = got.as_array().unwrap();
    assert_eq!(got.len(), 3);
    assert_eq!(got[0]["payload"], json!("hello"));
    assert_eq!(got[0]["payload_encoding"], json!("string"));
    assert_eq!(got[0]["payload_bytes"], json!(5));
    assert_eq!(got[0]["message_count"], json!(2));
    assert_eq!(got[0]["routing_key"], json!(q));
    assert_eq!(got[0]["exchange"], json!(""));
    assert_eq!(got[0]["redelivered"], json!(false));
    assert_eq!(got[0]["properties"]["headers"], json!({"n": 1}));
    assert_eq!(got[1]["payload_bytes"], json!(3));
    let again = get(1, "reject_requeue_true", "base64");
    assert_eq!(again[0]["payload"], json!("aGVsbG8="));
    assert_eq!(again[0]["payload_encoding"], json!("base64"));
    assert_eq!(again[0]["redelivered"], json!(true));
    let truncated = api.expect(
        "POST",
        &format!("{path}/get"),
        Some(json!({"count": 1, "ackmode": "ack_requeue_true", "encoding": "auto", "truncate": 2})),
        200,
    );
    assert_eq!(
        (
            truncated[0]["payload"].clone(),
            truncated[0]["payload_bytes"].clone()
        ),
        (json!("he"), json!(5))
    );
    let acked = get(1, "ack_requeue_false", "auto");
    assert_eq!(acked[0]["payload"], json!("hello"));
    eventually("2 ready messages", || {
        api.get(&path)["messages_ready"] == json!(2)
    });
    let r = api.call(
        "POST",
        &format!("{path}/get"),
        Some(json!({"count": 1, "ackmode": "ack_requeue_true"})),
    );
    assert_error(&r, 400, "bad_request");
    let r = api.call(
        "POST",
        &format!("/api/queues/{VH}/{q}-missing/get"),
        Some(json!({"count": 1, "ackmode": "ack_requeue_true", "encoding": "auto"})),
    );
    assert_eq!(r.status, 404, "{}", r.body);

    // Delete refuses a non-empty queue with if-empty; purge, then delete; then 404.
    let r = api.call("DELETE", &format!("{path}?if-empty=true"), None);
    assert_error(&r, 400, "bad_request");
    api.expect("DELETE", &format!("{path}/contents"), None, 204);
    eventually("purged", || api.get(&path)["messages_ready"] == json!(0));
    assert_eq!(get(1, "ack_requeue_true", "auto"), json!([]));
    api.expect("DELETE", &path, None, 204);
    assert_error(&api.call("GET", &path, None), 404, "Object Not Found");
    assert_error(&api.call("DELETE", &path, None), 404, "Object Not Found");
}

#[test]
fn exchanges_and_bindings() {
    let broker = Broker::start();
    let api = Api::new(&broker);
    let x = unique("mx");
    let q = unique("mq");
    let xp = format!("/api/exchanges/{VH}/{x}");
    api.expect(
        "PUT",
        &xp,
        Some(json!({"type": "topic", "durable": false})),
        201,
    );
    api.expect(
        "PUT",
        &xp,
        Some(json!({"type": "topic", "durable": false})),
        204,
    );
    assert_error(
        &api.call(
            "PUT",
            &xp,
            Some(json!({"type": "fanout", "durable": false})),
        ),
        400,
        "bad_request",
    );
    assert_error(
        &api.call("PUT", &format!("{xp}-2"), Some(json!({"type": "bogus"}))),
        400,
        "bad_request",
    );
    assert_error(
        &api.call(
            "PUT",
            &format!("/api/exchanges/{VH}/amq.custom"),
            Some(json!({"type": "direct"})),
        ),
        401,
        "not_authorised",
    );
    let e = api.get(&xp);
    assert_eq!(
        (e["name"].clone(), e["type"].clone(), e["durable"].clone()),
        (json!(x), json!("topic"), json!(false))
    );
    for key in ["vhost", "auto_delete", "internal", "arguments"] {
        assert!(e.get(key).is_some(), "exchange lacks {key}: {e}");
    }
    let list = api.get(&format!("/api/exchanges/{VH}"));
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .any(|e| e["name"] == json!("")),
        "default exchange listed as \"\""
    );
    assert_eq!(
        api.get(&format!("/api/exchanges/{VH}/amq.default"))["name"],
        json!("")
    );

    api.expect(
        "PUT",
        &format!("/api/queues/{VH}/{q}"),
        Some(json!({"durable": false})),
        201,
    );
    let r = api.call(
        "POST",
        &format!("/api/bindings/{VH}/e/{x}/q/{q}"),
        Some(json!({"routing_key": "car.*", "arguments": {}})),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    assert!(
        r.header("location")
            .is_some_and(|l| l.starts_with(&format!("{q}/car."))),
        "{:?}",
        r.headers
    );
    let between = api.get(&format!("/api/bindings/{VH}/e/{x}/q/{q}"));
    assert_eq!(between.as_array().unwrap().len(), 1);
    let b = &between[0];
    assert_eq!(
        (
            b["source"].clone(),
            b["destination"].clone(),
            b["destination_type"].clone(),
            b["routing_key"].clone()
        ),
        (json!(x), json!(q), json!("queue"), json!("car.*"))
    );
    let key = b["properties_key"].as_str().unwrap().to_owned();
    assert_eq!(
        api.get(&format!("/api/bindings/{VH}/e/{x}/q/{q}/{key}"))["routing_key"],
        json!("car.*")
    );
    let qb = api.get(&format!("/api/queues/{VH}/{q}/bindings"));
    assert_eq!(qb.as_array().unwrap().len(), 2, "default + explicit: {qb}");
    assert_eq!(qb[0]["source"], json!(""));
    assert_eq!(
        api.get(&format!("{xp}/bindings/source"))
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert!(api
        .get("/api/bindings")
        .as_array()
        .unwrap()
        .iter()
        .any(|b| b["source"] == json!(x)));
    assert!(api
        .get(&format!("/api/bindings/{VH}"))
        .as_array()
        .unwrap()
        .iter()
        .any(|b| b["destination"] == json!(q)));

    // Exchange-to-exchange binding.
    let x2 = format!("{x}.dest");
    api.expect(
        "PUT",
        &format!("/api/exchanges/{VH}/{x2}"),
        Some(json!({"type": "fanout", "durable": false})),
        201,
    );
    api.expect(
        "POST",
        &format!("/api/bindings/{VH}/e/{x}/e/{x2}"),
        Some(json!({"routing_key": "#"})),
        201,
    );
    api.expect(
        "POST",
        &format!("/api/bindings/{VH}/e/{x2}/q/{q}"),
        Some(json!({"routing_key": ""})),
        201,
    );
    assert_eq!(
        api.get(&format!("/api/exchanges/{VH}/{x2}/bindings/destination"))
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // Publishing through the exchange routes (or not).
    let publish = |rk: &str| {
        api.expect("POST", &format!("{xp}/publish"),
        Some(json!({"properties": {}, "routing_key": rk, "payload": "x", "payload_encoding": "string"})), 200)
    };
    assert_eq!(publish("car.lock"), json!({"routed": true}));
    assert_eq!(
        publish("house.light"),
        json!({"routed": true}),
        "routed through the e2e binding"
    );
    api.expect("DELETE", &format!("/api/exchanges/{VH}/{x2}"), None, 204);
    assert_eq!(publish("house.light"), json!({"routed": false}));

    api.expect(
        "DELETE",
        &format!("/api/bindings/{VH}/e/{x}/q/{q}/{key}"),
        None,
        204,
    );
    assert_error(
        &api.call(
            "DELETE",
            &format!("/api/bindings/{VH}/e/{x}/q/{q}/{key}"),
            None,
        ),
        404,
        "Object Not Found",
    );
    assert_eq!(publish("car.lock"), json!({"routed": false}));
    assert_error(
        &api.call("DELETE", &format!("/api/exchanges/{VH}/amq.direct"), None),
        401,
        "not_authorised",
    );
    api.expect("DELETE", &xp, None, 204);
    assert_error(&api.call("DELETE", &xp, None), 404, "Object Not Found");
    assert_error(&api.call("GET", &xp, None), 404, "Object Not Found");
    api.expect("DELETE", &format!("/api/queues/{VH}/{q}"), None, 204);
}

#[test]
fn users_vhosts_permissions() {
    let broker = Broker::start();
    let api = Api::new(&broker);
    let u = unique("user").replace('.', "-");
    let up = format!("/api/users/{u}");
    api.expect(
        "PUT",
        &up,
        Some(json!({"password": "s3cret", "tags": "management,monitoring"})),
        201,
    );
    let user = api.get(&up);
    assert_eq!(user["name"], json!(u));
    assert_eq!(user["tags"], json!(["management", "monitoring"]));
    assert_eq!(
        user["hashing_algorithm"],
        json!("rabbit_password_hashing_sha256")
    );
    assert!(user["password_hash"].as_str().unwrap().len() > 20);
    assert!(api
        .get("/api/users")
        .as_array()
        .unwrap()
        .iter()
        .any(|x| x["name"] == json!(u)));
    assert!(api
        .get("/api/users/without-permissions")
        .as_array()
        .unwrap()
        .iter()
        .any(|x| x["name"] == json!(u)));

    let v = unique("vh").replace('.', "-");
    let vp = format!("/api/vhosts/{v}");
    api.expect("PUT", &vp, Some(json!({"description": "test vhost"})), 201);
    api.expect("PUT", &vp, Some(json!({})), 204);
    let vh = api.get(&vp);
    assert_eq!(vh["name"], json!(v));
    assert!(vh["messages"].is_u64() || vh["messages"].is_null(), "{vh}");
    assert!(api
        .get("/api/vhosts")
        .as_array()
        .unwrap()
        .iter()
        .any(|x| x["name"] == json!(v)));
    // The creator gets full permissions on a new vhost.
    assert_eq!(
        api.get(&format!("/api/permissions/{v}/guest"))["configure"],
        json!(".*")
    );

    let pp = format!("/api/permissions/{v}/{u}");
    api.expect(
        "PUT",
        &pp,
        Some(json!({"configure": "^c", "write": "^w", "read": ".*"})),
        201,
    );
    api.expect(
        "PUT",
        &pp,
        Some(json!({"configure": "^c", "write": "^w", "read": "^r"})),
        204,
    );
    assert_eq!(
        api.get(&pp),
        json!({"user": u, "vhost": v, "configure": "^c", "write": "^w", "read": "^r"})
    );
    assert!(api
        .get("/api/permissions")
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["user"] == json!(u)));
    assert_eq!(
        api.get(&format!("{up}/permissions"))
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        api.get(&format!("{vp}/permissions"))
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let r = api.call("PUT", &pp, Some(json!({"configure": ".*"})));
    assert_error(&r, 400, "bad_request");

    // The new user logs in and sees only its vhost.
    let whoami = api.call_as(Some((&u, "s3cret")), "GET", "/api/whoami", None);
    assert_eq!(whoami.body["name"], json!(u));
    api.expect(
        "PUT",
        &up,
        Some(json!({"password": "changed", "tags": "management"})),
        204,
    );
    assert_eq!(
        api.call_as(Some((&u, "s3cret")), "GET", "/api/whoami", None)
            .status,
        401
    );
    let vhosts = api.call_as(Some((&u, "changed")), "GET", "/api/vhosts", None);
    assert_eq!(
        vhosts
            .body
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["name"].clone())
            .collect::<Vec<_>>(),
        vec![json!(v)]
    );

    api.expect("DELETE", &pp, None, 204);
    assert_error(&api.call("GET", &pp, None), 404, "Object Not Found");
    api.expect("DELETE", &vp, None, 204);
    assert_error(&api.call("DELETE", &vp, None), 404, "Object Not Found");
    api.expect("DELETE", &up, None, 204);
    assert_error(&api.call("GET", &up, None), 404, "Object Not Found");
    let u2 = format!("{u}-b");
    api.expect(
        "PUT",
        &format!("/api/users/{u2}"),
        Some(json!({"password": "x", "tags": ""})),
        201,
    );
    api.expect(
        "POST",
        "/api/users/bulk-delete",
        Some(json!({"users": [u2]})),
        204,
    );
    assert_eq!(
        api.call("GET", &format!("/api/users/{u2}"), None).status,
        404
    );
}

#[test]
fn definitions_export_and_import() {
    let broker = Broker::start();
    let api = Api::new(&broker);
    let defs = api.get("/api/definitions");
    for key in [
        "users",
        "vhosts",
        "permissions",
        "queues",
        "exchanges",
        "bindings",
    ] {
        assert!(defs[key].is_array(), "{key}: {defs}");
    }
    assert!(defs["rabbit_version"].is_string());
    let q = unique("defq");
    let x = unique("defx");
    let import = json!({
        "queues": [{"name": q, "vhost": "/", "durable": true, "auto_delete": false, "arguments": {}}],
        "exchanges": [{"name": x, "vhost": "/", "type": "fanout", "durable": true, "auto_delete": false,
                       "internal": false, "arguments": {}}],
        "bindings": [{"source": x, "vhost": "/", "destination": q, "destination_type": "queue",
                      "routing_key": "", "arguments": {}}],
    });
    let r = api.call("POST", "/api/definitions", Some(import));
    assert!(
        r.status == 204 || r.status == 201,
        "{} {}",
        r.status,
        r.body
    );
    assert_eq!(
        api.get(&format!("/api/queues/{VH}/{q}"))["durable"],
        json!(true)
    );
    assert_eq!(
        api.get(&format!("/api/bindings/{VH}/e/{x}/q/{q}"))
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let per_vhost = api.get(&format!("/api/definitions/{VH}"));
    assert!(per_vhost["queues"]
        .as_array()
        .unwrap()
        .iter()
        .any(|d| d["name"] == json!(q)));
    // Per-vhost definitions: objects without a vhost field, imported into the path's vhost.
    let q2 = format!("{q}.vh");
    api.expect(
        "POST",
        &format!("/api/definitions/{VH}"),
        Some(json!({"queues": [{"name": q2, "durable": false, "auto_delete": false, "arguments": {}}]})),
        204,
    );
    assert_eq!(
        api.get(&format!("/api/queues/{VH}/{q2}"))["durable"],
        json!(false)
    );
    api.expect("DELETE", &format!("/api/queues/{VH}/{q2}"), None, 204);
    let r = api.call("POST", "/api/definitions", Some(json!({"queues": "nope"})));
    assert!(r.status >= 400, "{} {}", r.status, r.body); // RabbitMQ: 500, Warren: 400
    api.expect("DELETE", &format!("/api/queues/{VH}/{q}"), None, 204);
    api.expect("DELETE", &format!("/api/exchanges/{VH}/{x}"), None, 204);
}

/// Connections, channels and consumers, with a lapin client holding a consumer.
#[test]
fn connections_channels_consumers() {
    use lapin::options::{BasicConsumeOptions, BasicQosOptions, QueueDeclareOptions};
    use lapin::types::FieldTable;
    let broker = Broker::start();
    let api = Api::new(&broker);
    let q = unique("cq");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let url = format!("{}?connection_name=mgmt-test", broker.url("guest", "guest"));
    let (conn, _ch, _consumer) = rt.block_on(async {
        let props = lapin::ConnectionProperties::default()
            .with_executor(tokio_executor_trait::Tokio::current())
            .with_reactor(tokio_reactor_trait::Tokio::current())
            .with_connection_name("mgmt-test".into());
        let conn = lapin::Connection::connect(&url, props).await.unwrap();
        let ch = conn.create_channel().await.unwrap();
        ch.basic_qos(7, BasicQosOptions::default()).await.unwrap();
        ch.queue_declare(
            &q,
            QueueDeclareOptions {
                auto_delete: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await
        .unwrap();
        let consumer = ch
            .basic_consume(
                &q,
                "mgmt-ctag",
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await
            .unwrap();
        (conn, ch, consumer)
    });
    let mut ours = Value::Null;
    eventually("the connection is listed", || {
        let list = api.get("/api/connections");
        match list
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["user_provided_name"] == json!("mgmt-test"))
        {
            Some(c) => {
                ours = c.clone();
                true
            }
            None => false,
        }
    });
    for key in [
        "name",
        "vhost",
        "user",
        "protocol",
        "peer_host",
        "peer_port",
        "host",
        "port",
        "node",
    ] {
        assert!(ours.get(key).is_some(), "connection lacks {key}: {ours}");
    }
    assert_eq!(ours["protocol"], json!("AMQP 0-9-1"));
    assert_eq!(ours["user"], json!("guest"));
    let name = ours["name"].as_str().unwrap().to_owned();
    let enc = percent_encode(&name);
    assert_eq!(
        api.get(&format!("/api/connections/{enc}"))["name"],
        json!(name)
    );
    eventually("the channel is listed", || {
        api.get(&format!("/api/connections/{enc}/channels"))
            .as_array()
            .is_some_and(|a| !a.is_empty())
    });
    let channels = api.get("/api/channels");
    let ch = channels
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["connection_details"]["name"] == json!(name))
        .unwrap()
        .clone();
    for key in [
        "name",
        "number",
        "user",
        "vhost",
        "consumer_count",
        "messages_unacknowledged",
        "prefetch_count",
    ] {
        assert!(ch.get(key).is_some(), "channel lacks {key}: {ch}");
    }
    eventually("the consumer is listed", || {
        api.get(&format!("/api/consumers/{VH}"))
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["consumer_tag"] == json!("mgmt-ctag"))
    });
    let consumers = api.get("/api/consumers");
    let c = consumers
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["consumer_tag"] == json!("mgmt-ctag"))
        .unwrap();
    assert_eq!(c["queue"], json!({"name": q, "vhost": "/"}));
    assert_eq!(c["ack_required"], json!(true));
    assert_eq!(c["prefetch_count"], json!(7));
    assert_eq!(c["channel_details"]["connection_name"], json!(name));
    eventually("the queue counts its consumer", || {
        api.get(&format!("/api/queues/{VH}/{q}"))["consumers"] == json!(1)
    });
    let queue = api.get(&format!("/api/queues/{VH}/{q}"));
    assert_eq!(
        queue["consumer_details"][0]["consumer_tag"],
        json!("mgmt-ctag")
    );
    let chan_name = ch["name"].as_str().unwrap().to_owned();
    let chan_enc = percent_encode(&chan_name);
    assert_eq!(
        api.get(&format!("/api/channels/{chan_enc}"))["name"],
        json!(chan_name)
    );
    assert!(api
        .get(&format!("/api/vhosts/{VH}/connections"))
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["name"] == json!(name)));
    assert!(api
        .get(&format!("/api/vhosts/{VH}/channels"))
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["name"] == json!(chan_name)));
    assert_error(
        &api.call("GET", "/api/connections/nope", None),
        404,
        "Object Not Found",
    );
    rt.block_on(conn.close(200, "bye")).unwrap();
}

#[test]
fn shutdown_prometheus_and_ui_are_warren_only() {
    let Some(mut broker) = Broker::fresh(
        "shutdown_prometheus_and_ui_are_warren_only",
        "Warren-only endpoints",
        common::Options::default(),
    ) else {
        return;
    };
    let api = Api::new(&broker);
    // Prometheus: RabbitMQ's metric names, no auth.
    let prom = broker.listener("prometheus").expect("LISTENING prometheus");
    let text = ureq::get(&format!("http://{prom}/metrics"))
        .call()
        .unwrap()
        .into_string()
        .unwrap();
    for name in [
        "rabbitmq_connections ",
        "rabbitmq_queues ",
        "rabbitmq_queue_messages_ready ",
        "rabbitmq_global_messages_received_total ",
        "rabbitmq_global_messages_delivered_total ",
    ] {
        assert!(text.contains(name), "{name} missing:\n{text}");
    }
    let detailed = ureq::get(&format!("http://{prom}/metrics/per-object"))
        .call()
        .unwrap()
        .into_string()
        .unwrap();
    assert!(
        detailed.contains("rabbitmq_detailed_queue_messages_ready{vhost=\"/\",queue=\"car\"}"),
        "{detailed}"
    );
    // The sampled rate history the Overview chart draws (sample_interval = 1 in the harness).
    std::thread::sleep(Duration::from_millis(1200));
    let rates = api.get("/api/warren/rates");
    let first = &rates.as_array().expect("a list of samples")[0];
    for key in [
        "timestamp",
        "publish",
        "deliver_get",
        "ack",
        "messages_ready",
    ] {
        assert!(first.get(key).is_some(), "sample lacks {key}: {first}");
    }
    assert_eq!(api.get("/api/healthchecks/node")["status"], json!("ok"));
    // The UI ships with the binary.
    let page = ureq::get(&format!("{}/", broker.management_url()))
        .call()
        .unwrap();
    assert!(page.content_type().starts_with("text/html"));
    let html = page.into_string().unwrap();
    assert!(html.contains("warren.js"));
    for asset in ["/warren.js", "/warren.css"] {
        assert_eq!(
            ureq::get(&format!("{}{asset}", broker.management_url()))
                .call()
                .unwrap()
                .status(),
            200
        );
    }
    // Shutdown: administrators only; then the process exits 0.
    let mgmt_user = "monitor-only";
    api.expect(
        "PUT",
        &format!("/api/users/{mgmt_user}"),
        Some(json!({"password": "pw", "tags": "monitoring"})),
        201,
    );
    let r = api.call_as(
        Some((mgmt_user, "pw")),
        "POST",
        "/api/warren/shutdown",
        None,
    );
    assert_error(&r, 401, "not_authorised");
    let r = api.call("POST", "/api/warren/shutdown", None);
    assert_eq!(r.status, 202, "{}", r.body);
    let status = broker
        .wait_exit(Duration::from_secs(10))
        .expect("exits after shutdown");
    assert!(status.success(), "{status}");
}

#[test]
fn external_note() {
    if broker_is_external() {
        skip_note(
            "shutdown_prometheus_and_ui_are_warren_only",
            "Warren-only endpoints",
        );
    }
}

fn broker_is_external() -> bool {
    common::external().is_some()
}

/// `DELETE /api/connections/{name}` closes the client's connection the AMQP way: the client
/// receives connection.close 320 CONNECTION_FORCED (and can no longer use it).
#[test]
fn delete_connection_sends_connection_forced() {
    let broker = Broker::start();
    let api = Api::new(&broker);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let cname = unique("mgmt-kill");
    let url = broker.url("guest", "guest");
    let conn = rt.block_on(async {
        let props = lapin::ConnectionProperties::default()
            .with_executor(tokio_executor_trait::Tokio::current())
            .with_reactor(tokio_reactor_trait::Tokio::current())
            .with_connection_name(cname.clone().into());
        lapin::Connection::connect(&url, props).await.unwrap()
    });
    let errors = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let seen = std::sync::Arc::clone(&errors);
    // The error callback is the one place lapin 3 reports the server's close reason (a later
    // call only says "invalid connection state"); its replacement API is not in this version.
    #[allow(deprecated)]
    conn.on_error(move |e| seen.lock().unwrap().push(e.to_string()));
    let mut name = String::new();
    eventually("the connection is listed", || {
        let list = api.get("/api/connections");
        match list
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["user_provided_name"] == json!(cname))
        {
            Some(c) => {
                name = c["name"].as_str().unwrap().to_owned();
                true
            }
            None => false,
        }
    });
    let enc = percent_encode(&name);
    api.expect("DELETE", &format!("/api/connections/{enc}"), None, 204);
    eventually("the client saw the close", || {
        !errors.lock().unwrap().is_empty()
    });
    let seen = errors.lock().unwrap().join(" | ");
    assert!(
        seen.contains("CONNECTION_FORCED") || seen.contains("320"),
        "client error: {seen}"
    );
    assert!(rt.block_on(conn.create_channel()).is_err());
    eventually("the connection is gone from the list", || {
        !api.get("/api/connections")
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["user_provided_name"] == json!(cname))
    });
}
