//! Management: a RabbitMQ-compatible HTTP API, the web UI and the Prometheus endpoint.
//!
//! The API answers on the `[management]` listeners (default `0.0.0.0:15672`) with RabbitMQ's
//! paths, field names, status codes and `{"error", "reason"}` bodies, so tools written for
//! RabbitMQ's management API work unchanged. The web UI is served from the same port (every
//! asset is embedded in the binary). Prometheus metrics answer on their own listener (default
//! `0.0.0.0:15692`, path `/metrics`).
//!
//! Requests need HTTP basic auth as a user with a management tag (see [`auth`]). Operations on
//! queues and exchanges go through a short-lived in-process ("direct") connection as that user,
//! so the same vhost access and configure/write/read permission checks apply as over AMQP.
//!
//! Warren-specific: `POST /api/warren/shutdown` (administrators) stops the broker as SIGTERM
//! would; `warren ctl stop` uses it.
//!
//! Rates come from [`stats::Stats`], sampled on a timer; the broker's hot path only bumps
//! relaxed atomic counters.
//!
//! # Endpoints
//!
//! | path | methods |
//! | --- | --- |
//! | `/api/overview`, `/api/whoami`, `/api/cluster-name`, `/api/nodes[/{node}]`, `/api/extensions` | GET |
//! | `/api/vhosts[/{vhost}]`, `/api/vhosts/{vhost}/permissions\|connections\|channels` | GET, PUT, DELETE |
//! | `/api/users[/{user}]`, `/api/users/{user}/permissions`, `/api/users/without-permissions`, `/api/users/bulk-delete` | GET, PUT, DELETE, POST |
//! | `/api/permissions[/{vhost}/{user}]` | GET, PUT, DELETE |
//! | `/api/queues[/{vhost}[/{name}]]`, `…/{name}/bindings`, `…/{name}/contents`, `…/{name}/get` | GET, PUT, DELETE, POST |
//! | `/api/exchanges[/{vhost}[/{name}]]`, `…/{name}/publish`, `…/{name}/bindings/source\|destination` | GET, PUT, DELETE, POST |
//! | `/api/bindings[/{vhost}]`, `/api/bindings/{vhost}/e/{source}/q\|e/{dest}[/{props}]` | GET, POST, DELETE |
//! | `/api/connections[/{name}[/channels]]`, `/api/channels[/{name}]`, `/api/consumers[/{vhost}]` | GET (DELETE a connection) |
//! | `/api/definitions[/{vhost}]` | GET, POST |
//! | `/api/aliveness-test/{vhost}`, `/api/health/checks/…`, `/api/healthchecks/node` | GET |
//! | `/api/warren/shutdown` (Warren: stop the broker; administrators) | POST |
//! | `/api/warren/rates` (Warren: the sampled rate history the UI charts) | GET |
//!
//! Lists take `sort`, `sort_reverse`, `columns`, and `page`/`page_size` (which also enable the
//! `name` filter, with `use_regex`), as RabbitMQ's do.
//!
//! # Departures from RabbitMQ
//! - Message stats: `deliver` counts gets too (the core has one delivery counter); per-exchange
//!   `message_stats`, byte counters (`recv_oct`, `send_oct`) and `confirm` are not kept.
//! - `product_name` is `Warren`; `rabbitmq_version`/`management_version` give the API version
//!   Warren follows ([`RABBITMQ_API_VERSION`]).
//! - Errors RabbitMQ answers with 500 (bad `ackmode`, malformed definitions) are 400 here.

pub mod auth;
pub mod error;
pub mod stats;

mod admin;
mod api;
mod body;
mod list;
mod live;
mod objects;
mod prometheus;
mod render;
mod ui;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::routing::{delete, get, post};
use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::{watch, Notify};
use warren_core::{Broker, Channel, Connection, ConnectionInfo, Delivery, DeliverySink, Protocol};

use self::auth::Auth;
use self::error::ApiError;
use self::stats::Stats;

/// The API version Warren's management API follows (what RabbitMQ tools see as
/// `rabbitmq_version` / `management_version`).
pub const RABBITMQ_API_VERSION: &str = "3.10.8";

/// Unix time in milliseconds.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// Bound listeners as `(protocol, address)`, shared with the server that binds them.
pub type Listeners = Arc<parking_lot::RwLock<Vec<(String, SocketAddr)>>>;

/// What the management handlers share.
pub struct Management {
    broker: Arc<Broker>,
    stats: Arc<Stats>,
    node: String,
    started_ms: u64,
    /// Notified by `POST /api/warren/shutdown`.
    stop: Arc<Notify>,
    /// Bound listeners, `(protocol, address)`, as announced by the server.
    listeners: Listeners,
}

impl std::fmt::Debug for Management {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Management")
            .field("node", &self.node)
            .finish_non_exhaustive()
    }
}

impl Management {
    /// Management state over `broker`. `stop` is notified when an administrator asks the
    /// broker to shut down; `listeners` is the live list of bound `(protocol, address)` pairs.
    pub fn new(
        broker: Arc<Broker>,
        stats: Arc<Stats>,
        stop: Arc<Notify>,
        listeners: Listeners,
    ) -> Management {
        let host = std::env::var("HOSTNAME")
            .ok()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "localhost".into());
        Management {
            broker,
            stats,
            node: format!("warren@{host}"),
            started_ms: now_ms(),
            stop,
            listeners,
        }
    }

    /// The first bound listener of `protocol` (`amqp`, `mqtt`, `management`, …).
    fn listener(&self, protocol: &str) -> Option<SocketAddr> {
        self.listeners
            .read()
            .iter()
            .find(|(p, _)| p == protocol)
            .map(|(_, a)| *a)
    }

    /// A short-lived in-process connection and channel as the requesting user, so that the
    /// core applies vhost access and resource permissions exactly as for a client.
    fn direct(&self, auth: &Auth, vhost: &str) -> Result<Direct, ApiError> {
        if self.broker.vhost(vhost).is_none() {
            return Err(ApiError::VHostNotFound);
        }
        let conn = self.broker.open_connection(ConnectionInfo {
            user: Arc::clone(&auth.user),
            vhost: vhost.to_owned(),
            peer: "management".into(),
            protocol: Protocol::Direct,
            client_name: Some("Warren management".into()),
        })?;
        let channel = conn.open_channel(1, Arc::new(NullSink))?;
        Ok(Direct { conn, channel })
    }
}

/// Management operations take no deliveries (they only `get`).
struct NullSink;

impl DeliverySink for NullSink {
    fn deliver(&self, _delivery: Delivery) {}
    fn cancelled(&self, _consumer_tag: &str) {}
}

/// A direct connection, closed when dropped.
struct Direct {
    conn: Arc<Connection>,
    channel: Arc<Channel>,
}

impl Drop for Direct {
    fn drop(&mut self) {
        self.conn.close();
    }
}

/// Whether a connection is one a client made (not the management API's own).
fn is_client(c: &Connection) -> bool {
    c.info().protocol != Protocol::Direct
}

/// The API and UI routes.
pub fn router(state: Arc<Management>) -> Router {
    let api = Router::new()
        .route("/api/overview", get(api::overview))
        .route("/api/whoami", get(api::whoami))
        .route("/api/cluster-name", get(api::cluster_name))
        .route("/api/nodes", get(api::nodes))
        .route("/api/nodes/{node}", get(api::node))
        .route("/api/extensions", get(api::extensions))
        .route("/api/auth", get(api::auth_info))
        .route("/api/aliveness-test/{vhost}", get(api::aliveness))
        .route("/api/health/checks/alarms", get(api::health_ok))
        .route("/api/health/checks/local-alarms", get(api::health_ok))
        .route("/api/health/checks/virtual-hosts", get(api::health_ok))
        .route(
            "/api/health/checks/node-is-quorum-critical",
            get(api::health_ok),
        )
        .route(
            "/api/health/checks/node-is-mirror-sync-critical",
            get(api::health_ok),
        )
        .route(
            "/api/health/checks/port-listener/{port}",
            get(api::health_port),
        )
        .route(
            "/api/health/checks/protocol-listener/{proto}",
            get(api::health_protocol),
        )
        // The pre-3.8 node health check, still answered by RabbitMQ 3.10 and used by clients.
        .route("/api/healthchecks/node", get(api::health_ok))
        .route("/api/healthchecks/node/", get(api::health_ok))
        .route("/api/healthchecks/node/{node}", get(api::health_ok))
        .route("/api/warren/shutdown", post(api::shutdown))
        .route("/api/warren/rates", get(api::rate_history))
        .route(
            "/api/definitions",
            get(admin::definitions_get).post(admin::definitions_post),
        )
        .route(
            "/api/definitions/{vhost}",
            get(admin::vhost_definitions_get).post(admin::vhost_definitions_post),
        )
        .route("/api/vhosts", get(admin::vhosts))
        .route(
            "/api/vhosts/{vhost}",
            get(admin::vhost_get)
                .put(admin::vhost_put)
                .delete(admin::vhost_delete),
        )
        .route(
            "/api/vhosts/{vhost}/permissions",
            get(admin::vhost_permissions),
        )
        .route(
            "/api/vhosts/{vhost}/connections",
            get(live::vhost_connections),
        )
        .route("/api/vhosts/{vhost}/channels", get(live::vhost_channels))
        .route("/api/users", get(admin::users))
        .route(
            "/api/users/without-permissions",
            get(admin::users_without_permissions),
        )
        .route("/api/users/bulk-delete", post(admin::users_bulk_delete))
        .route(
            "/api/users/{user}",
            get(admin::user_get)
                .put(admin::user_put)
                .delete(admin::user_delete),
        )
        .route(
            "/api/users/{user}/permissions",
            get(admin::user_permissions),
        )
        .route("/api/permissions", get(admin::permissions))
        .route(
            "/api/permissions/{vhost}/{user}",
            get(admin::permission_get)
                .put(admin::permission_put)
                .delete(admin::permission_delete),
        )
        .route("/api/connections", get(live::connections))
        .route(
            "/api/connections/{name}",
            get(live::connection_get).delete(live::connection_delete),
        )
        .route(
            "/api/connections/{name}/channels",
            get(live::connection_channels),
        )
        .route("/api/channels", get(live::channels))
        .route("/api/channels/{name}", get(live::channel_get))
        .route("/api/consumers", get(live::consumers))
        .route("/api/consumers/{vhost}", get(live::vhost_consumers))
        .route("/api/queues", get(objects::queues))
        .route("/api/queues/{vhost}", get(objects::vhost_queues))
        .route(
            "/api/queues/{vhost}/{name}",
            get(objects::queue_get)
                .put(objects::queue_put)
                .delete(objects::queue_delete),
        )
        .route(
            "/api/queues/{vhost}/{name}/bindings",
            get(objects::queue_bindings),
        )
        .route(
            "/api/queues/{vhost}/{name}/contents",
            delete(objects::queue_purge),
        )
        .route(
            "/api/queues/{vhost}/{name}/get",
            post(objects::queue_get_messages),
        )
        .route("/api/exchanges", get(objects::exchanges))
        .route("/api/exchanges/{vhost}", get(objects::vhost_exchanges))
        .route(
            "/api/exchanges/{vhost}/{name}",
            get(objects::exchange_get)
                .put(objects::exchange_put)
                .delete(objects::exchange_delete),
        )
        .route(
            "/api/exchanges/{vhost}/{name}/publish",
            post(objects::exchange_publish),
        )
        .route(
            "/api/exchanges/{vhost}/{name}/bindings/source",
            get(objects::exchange_bindings_source),
        )
        .route(
            "/api/exchanges/{vhost}/{name}/bindings/destination",
            get(objects::exchange_bindings_destination),
        )
        .route("/api/bindings", get(objects::bindings))
        .route("/api/bindings/{vhost}", get(objects::vhost_bindings))
        .route(
            "/api/bindings/{vhost}/e/{source}/{kind}/{dest}",
            get(objects::bindings_between).post(objects::binding_create),
        )
        .route(
            "/api/bindings/{vhost}/e/{source}/{kind}/{dest}/{props}",
            get(objects::binding_get).delete(objects::binding_delete),
        )
        .route(
            "/api/{*rest}",
            get(api::not_found)
                .post(api::not_found)
                .put(api::not_found)
                .delete(api::not_found),
        );
    api.merge(ui::routes()).with_state(state)
}

/// Serves the API and UI on `listener` until `shutdown` turns true.
pub async fn serve(
    listener: TcpListener,
    state: Arc<Management>,
    mut shutdown: watch::Receiver<bool>,
) {
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    let stop = async move {
        let _ = shutdown.wait_for(|s| *s).await;
    };
    if let Err(e) = axum::serve(listener, app)
        .with_graceful_shutdown(stop)
        .await
    {
        tracing::warn!(error = %e, "management listener failed");
    }
}

/// Serves Prometheus metrics on `listener` until `shutdown` turns true.
pub async fn serve_prometheus(
    listener: TcpListener,
    state: Arc<Management>,
    mut shutdown: watch::Receiver<bool>,
) {
    let app = prometheus::routes().with_state(state);
    let stop = async move {
        let _ = shutdown.wait_for(|s| *s).await;
    };
    if let Err(e) = axum::serve(listener, app)
        .with_graceful_shutdown(stop)
        .await
    {
        tracing::warn!(error = %e, "prometheus listener failed");
    }
}

/// Samples the broker's counters every `interval` until `shutdown` turns true.
pub async fn sample(
    broker: Arc<Broker>,
    stats: Arc<Stats>,
    interval: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.wait_for(|s| *s) => break,
            _ = tick.tick() => stats.sample(&broker, now_ms()),
        }
    }
}
