//! Overview, identity, node, health checks and Warren's own endpoints.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use bytes::Bytes;
use serde_json::{json, Value};
use warren_core::{Properties, QueueOptions};

use super::auth::Auth;
use super::error::ApiError;
use super::render::{self, details};
use super::{is_client, Management, RABBITMQ_API_VERSION};

type Result<T> = std::result::Result<T, ApiError>;

const EXCHANGE_TYPES: &[(&str, &str)] = &[
    (
        "direct",
        "AMQP direct exchange, as per the AMQP specification",
    ),
    (
        "fanout",
        "AMQP fanout exchange, as per the AMQP specification",
    ),
    (
        "headers",
        "AMQP headers exchange, as per the AMQP specification",
    ),
    (
        "topic",
        "AMQP topic exchange, as per the AMQP specification",
    ),
];

fn exchange_types() -> Value {
    Value::Array(
        EXCHANGE_TYPES
            .iter()
            .map(|(n, d)| json!({"name": n, "description": d, "enabled": true}))
            .collect(),
    )
}

fn listeners(m: &Management) -> Vec<Value> {
    m.listeners
        .read()
        .iter()
        .map(|(p, a)| {
            let protocol = if p == "management" {
                "http"
            } else {
                p.as_str()
            };
            json!({
                "node": m.node, "protocol": protocol,
                "ip_address": a.ip().to_string(), "port": a.port(), "socket_opts": {},
            })
        })
        .collect()
}

/// `GET /api/overview`.
pub async fn overview(State(m): State<Arc<Management>>, auth: Auth) -> Result<Json<Value>> {
    let snapshot = m.broker.metrics();
    let rates = m.stats.rates();
    let visible = |vh: &str| auth.sees_vhost(&m, vh);
    let queues: Vec<_> = m
        .broker
        .list_queues()
        .into_iter()
        .filter(|q| visible(&q.vhost))
        .collect();
    let ready: usize = queues.iter().map(|q| q.messages_ready).sum();
    let unacked: usize = queues.iter().map(|q| q.messages_unacked).sum();
    let conns: Vec<_> = m
        .broker
        .connections()
        .into_iter()
        .filter(|c| is_client(c) && visible(c.vhost()))
        .collect();
    let channels: usize = conns.iter().map(|c| c.channel_count()).sum();
    let consumers: usize = queues.iter().map(|q| q.consumers).sum();
    let exchanges = m
        .broker
        .list_exchanges()
        .into_iter()
        .filter(|e| visible(&e.vhost))
        .count();
    let contexts: Vec<Value> = m
        .listeners
        .read()
        .iter()
        .filter(|(p, _)| p == "management")
        .map(|(_, a)| {
            json!({"node": m.node, "description": "Warren Management", "path": "/",
                             "ip": a.ip().to_string(), "port": a.port().to_string()})
        })
        .collect();
    Ok(Json(json!({
        "management_version": RABBITMQ_API_VERSION,
        "rabbitmq_version": RABBITMQ_API_VERSION,
        "product_name": "Warren",
        "product_version": env!("CARGO_PKG_VERSION"),
        "erlang_version": "none (Warren is written in Rust)",
        "erlang_full_version": "none (Warren is written in Rust)",
        "rates_mode": "basic",
        "sample_retention_policies": {"global": [600], "basic": [600], "detailed": [600]},
        "exchange_types": exchange_types(),
        "cluster_name": m.node,
        "node": m.node,
        "disable_stats": false,
        "enable_queue_totals": false,
        "statistics_db_event_queue": 0,
        "message_stats": render::message_stats(&snapshot, &rates),
        "churn_rates": {},
        "queue_totals": {
            "messages": ready + unacked,
            "messages_details": details(rates.messages_ready + rates.messages_unacknowledged),
            "messages_ready": ready,
            "messages_ready_details": details(rates.messages_ready),
            "messages_unacknowledged": unacked,
            "messages_unacknowledged_details": details(rates.messages_unacknowledged),
        },
        "object_totals": {
            "channels": channels,
            "connections": conns.len(),
            "consumers": consumers,
            "exchanges": exchanges,
            "queues": queues.len(),
        },
        "listeners": listeners(&m),
        "contexts": contexts,
    })))
}

/// `GET /api/whoami`.
pub async fn whoami(auth: Auth) -> Json<Value> {
    Json(json!({"name": auth.user.name, "tags": auth.user.tags}))
}

/// `GET /api/cluster-name`.
pub async fn cluster_name(State(m): State<Arc<Management>>, _auth: Auth) -> Json<Value> {
    Json(json!({"name": m.node}))
}

fn node_object(m: &Management) -> Value {
    json!({
        "name": m.node,
        "type": "disc",
        "running": true,
        "being_drained": false,
        "uptime": super::now_ms().saturating_sub(m.started_ms),
        "processors": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        "os_pid": std::process::id().to_string(),
        "rates_mode": "basic",
        "mem_alarm": false,
        "disk_free_alarm": false,
        "partitions": [],
        "exchange_types": exchange_types(),
        "auth_mechanisms": [
            {"name": "PLAIN", "description": "SASL PLAIN authentication mechanism", "enabled": true},
            {"name": "AMQPLAIN", "description": "QPid AMQPLAIN mechanism", "enabled": true},
        ],
        "applications": [{"name": "warren", "description": "Warren", "version": env!("CARGO_PKG_VERSION")}],
        "enabled_plugins": ["rabbitmq_management", "rabbitmq_prometheus"],
    })
}

/// `GET /api/nodes`.
pub async fn nodes(State(m): State<Arc<Management>>, _auth: Auth) -> Json<Value> {
    Json(json!([node_object(&m)]))
}

/// `GET /api/nodes/{node}`.
pub async fn node(
    State(m): State<Arc<Management>>,
    _auth: Auth,
    Path(name): Path<String>,
) -> Result<Json<Value>> {
    if name == m.node {
        Ok(Json(node_object(&m)))
    } else {
        Err(ApiError::NotFound)
    }
}

/// `GET /api/extensions`: no UI extensions.
pub async fn extensions(_auth: Auth) -> Json<Value> {
    Json(json!([]))
}

/// `GET /api/auth`: how the UI logs in (basic auth only).
pub async fn auth_info() -> Json<Value> {
    Json(json!({"oauth_enabled": false}))
}

/// `GET /api/aliveness-test/{vhost}`: declares `aliveness-test`, publishes to it and reads the
/// message back, as RabbitMQ does.
pub async fn aliveness(
    State(m): State<Arc<Management>>,
    auth: Auth,
    Path(vhost): Path<String>,
) -> Result<Json<Value>> {
    auth.require_vhost(&m, &vhost)?;
    let d = m.direct(&auth, &vhost)?;
    d.channel
        .queue_declare("aliveness-test", QueueOptions::default(), false)?;
    d.channel.basic_publish(
        "",
        "aliveness-test".into(),
        false,
        Properties::default(),
        Bytes::from_static(b"test_message"),
    )?;
    match d.channel.basic_get("aliveness-test", true)? {
        Some(_) => Ok(Json(json!({"status": "ok"}))),
        None => Err(ApiError::HealthCheck(
            "aliveness test message not received".into(),
        )),
    }
}

/// Checks that always pass on a single node with no alarms.
pub async fn health_ok(_auth: Auth) -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// `GET /api/health/checks/port-listener/{port}`.
pub async fn health_port(
    State(m): State<Arc<Management>>,
    _auth: Auth,
    Path(port): Path<String>,
) -> Result<Json<Value>> {
    let port: u16 = port
        .parse()
        .map_err(|_| ApiError::BadRequest(format!("invalid port {port}")))?;
    if m.listeners.read().iter().any(|(_, a)| a.port() == port) {
        Ok(Json(json!({"status": "ok", "port": port})))
    } else {
        Err(ApiError::HealthCheck(format!(
            "No active listener on port {port}"
        )))
    }
}

/// `GET /api/health/checks/protocol-listener/{proto}`.
pub async fn health_protocol(
    State(m): State<Arc<Management>>,
    _auth: Auth,
    Path(proto): Path<String>,
) -> Result<Json<Value>> {
    let wanted = match proto.as_str() {
        "http" => "management",
        other => other,
    };
    if m.listener(wanted).is_some() {
        Ok(Json(json!({"status": "ok", "protocol": proto})))
    } else {
        Err(ApiError::HealthCheck(format!(
            "No active listener for protocol {proto}"
        )))
    }
}

/// `POST /api/warren/shutdown` (administrators): stops the broker as SIGTERM does.
pub async fn shutdown(State(m): State<Arc<Management>>, auth: Auth) -> Result<Response> {
    auth.require_admin()?;
    tracing::info!(user = %auth.user.name, "shutdown requested through the management API");
    m.stop.notify_one();
    Ok((StatusCode::ACCEPTED, Json(json!({"status": "stopping"}))).into_response())
}

/// `GET /api/warren/rates`: the sampled rate history the Overview chart draws.
pub async fn rate_history(State(m): State<Arc<Management>>, _auth: Auth) -> Json<Value> {
    Json(json!(m.stats.history()))
}

/// Anything else under `/api/`.
pub async fn not_found(_auth: Auth) -> ApiError {
    ApiError::NotFound
}
