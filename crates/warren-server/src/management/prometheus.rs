//! Prometheus text endpoint with rabbitmq_prometheus's metric names: `/metrics` gives totals
//! (as RabbitMQ's default aggregated endpoint), `/metrics/per-object` adds per-queue series
//! labelled `vhost` and `queue`. No authentication, as RabbitMQ's plugin.

use std::fmt::Write as _;
use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

use super::{is_client, Management};

/// `/metrics` and `/metrics/per-object`.
pub fn routes() -> Router<Arc<Management>> {
    Router::new()
        .route("/metrics", get(aggregated))
        .route("/metrics/per-object", get(per_object))
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# TYPE {name} {kind}\n# HELP {name} {help}");
}

fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The metrics text.
pub fn render(m: &Management, per_object: bool) -> String {
    let mut out = String::new();
    let s = m.broker.metrics();
    let queues = m.broker.list_queues();
    let conns: Vec<_> = m
        .broker
        .connections()
        .into_iter()
        .filter(|c| is_client(c))
        .collect();
    let channels: usize = conns.iter().map(|c| c.channel_count()).sum();
    let consumers: usize = queues.iter().map(|q| q.consumers).sum();
    let ready: usize = queues.iter().map(|q| q.messages_ready).sum();
    let unacked: usize = queues.iter().map(|q| q.messages_unacked).sum();
    let bytes: usize = queues.iter().map(|q| q.message_bytes).sum();
    let gauges: [(&str, &str, usize); 7] = [
        (
            "rabbitmq_connections",
            "Connections currently open",
            conns.len(),
        ),
        ("rabbitmq_channels", "Channels currently open", channels),
        (
            "rabbitmq_consumers",
            "Consumers currently connected",
            consumers,
        ),
        ("rabbitmq_queues", "Queues available", queues.len()),
        (
            "rabbitmq_queue_messages_ready",
            "Messages ready to be delivered to consumers",
            ready,
        ),
        (
            "rabbitmq_queue_messages_unacked",
            "Messages delivered to consumers but not yet acknowledged",
            unacked,
        ),
        (
            "rabbitmq_queue_messages",
            "Sum of ready and unacknowledged messages - total queue depth",
            ready + unacked,
        ),
    ];
    for (name, help, v) in gauges {
        family(&mut out, name, "gauge", help);
        let _ = writeln!(out, "{name} {v}");
    }
    family(
        &mut out,
        "rabbitmq_queue_messages_bytes",
        "gauge",
        "Size in bytes of ready messages",
    );
    let _ = writeln!(out, "rabbitmq_queue_messages_bytes {bytes}");
    let counters: [(&str, &str, u64); 8] = [
        ("rabbitmq_global_messages_received_total", "Total number of messages received from publishers", s.published),
        ("rabbitmq_global_messages_routed_total", "Total number of messages routed to queues or streams", s.routed),
        ("rabbitmq_global_messages_unroutable_dropped_total", "Total number of messages published as non-mandatory into an exchange and dropped as unroutable", s.unroutable),
        ("rabbitmq_global_messages_delivered_total", "Total number of messages delivered to consumers", s.delivered),
        ("rabbitmq_global_messages_redelivered_total", "Total number of messages redelivered to consumers", s.redelivered),
        ("rabbitmq_global_messages_acknowledged_total", "Total number of message acknowledgements received from consumers", s.acked),
        ("rabbitmq_global_messages_rejected_total", "Total number of messages rejected by queues (reject-publish)", s.rejected),
        ("warren_messages_invalid_total", "Total number of messages refused by an exchange policy (Car2Home validation) and dead-lettered", s.invalid),
    ];
    for (name, help, v) in counters {
        family(&mut out, name, "counter", help);
        let _ = writeln!(out, "{name} {v}");
    }
    family(
        &mut out,
        "rabbitmq_build_info",
        "untracked",
        "Warren build info (RabbitMQ API it follows)",
    );
    let _ = writeln!(
        out,
        "rabbitmq_build_info{{rabbitmq_version=\"{}\",product_name=\"Warren\",product_version=\"{}\"}} 1",
        super::RABBITMQ_API_VERSION,
        env!("CARGO_PKG_VERSION")
    );
    family(
        &mut out,
        "rabbitmq_identity_info",
        "untracked",
        "Node identity",
    );
    let _ = writeln!(
        out,
        "rabbitmq_identity_info{{rabbitmq_node=\"{}\",rabbitmq_cluster=\"{}\"}} 1",
        label(&m.node),
        label(&m.node)
    );
    if per_object {
        let series: [Series; 5] = [
            (
                "rabbitmq_detailed_queue_messages_ready",
                "gauge",
                "Messages ready to be delivered to consumers",
                |q| q.messages_ready as u64,
            ),
            (
                "rabbitmq_detailed_queue_messages_unacked",
                "gauge",
                "Messages delivered to consumers but not yet acknowledged",
                |q| q.messages_unacked as u64,
            ),
            (
                "rabbitmq_detailed_queue_consumers",
                "gauge",
                "Consumers on a queue",
                |q| q.consumers as u64,
            ),
            (
                "rabbitmq_detailed_queue_messages_published_total",
                "counter",
                "Messages enqueued",
                |q| q.enqueued,
            ),
            (
                "rabbitmq_detailed_queue_messages_delivered_total",
                "counter",
                "Messages delivered or got",
                |q| q.delivered,
            ),
        ];
        for (name, kind, help, f) in series {
            family(&mut out, name, kind, help);
            for q in &queues {
                let _ = writeln!(
                    out,
                    "{name}{{vhost=\"{}\",queue=\"{}\"}} {}",
                    label(&q.vhost),
                    label(&q.name),
                    f(q)
                );
            }
        }
    }
    out
}

/// One per-queue series: name, type, help, value.
type Series = (
    &'static str,
    &'static str,
    &'static str,
    fn(&warren_core::QueueInfo) -> u64,
);

const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

async fn aggregated(State(m): State<Arc<Management>>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], render(&m, false))
}

async fn per_object(State(m): State<Arc<Management>>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], render(&m, true))
}
