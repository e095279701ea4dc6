//! Connections, channels and consumers.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde_json::Value;
use warren_core::Connection;

use super::auth::Auth;
use super::error::ApiError;
use super::{is_client, list, render, Management};

type Result<T> = std::result::Result<T, ApiError>;
type Params = Query<HashMap<String, String>>;

/// Client connections the user may see (all for administrators and monitoring users, else its
/// own, as RabbitMQ shows them).
fn visible(m: &Management, auth: &Auth, vhost: Option<&str>) -> Vec<Arc<Connection>> {
    m.broker
        .connections()
        .into_iter()
        .filter(|c| is_client(c))
        .filter(|c| vhost.is_none_or(|v| v == c.vhost()))
        .filter(|c| auth.sees_all() || c.user().name == auth.user.name)
        .collect()
}

fn by_name(m: &Management, auth: &Auth, name: &str) -> Result<Arc<Connection>> {
    visible(m, auth, None)
        .into_iter()
        .find(|c| render::connection_name(m, c) == name)
        .ok_or(ApiError::NotFound)
}

/// `GET /api/connections`.
pub async fn connections(
    State(m): State<Arc<Management>>,
    auth: Auth,
    Query(p): Params,
) -> Result<Json<Value>> {
    let items = visible(&m, &auth, None)
        .iter()
        .map(|c| render::connection(&m, c))
        .collect();
    Ok(Json(list::apply(items, &p)?))
}

/// `GET /api/vhosts/{vhost}/connections`.
pub async fn vhost_connections(
    State(m): State<Arc<Management>>,
    auth: Auth,
    Path(vhost): Path<String>,
    Query(p): Params,
) -> Result<Json<Value>> {
    auth.require_vhost(&m, &vhost)?;
    let items = visible(&m, &auth, Some(&vhost))
        .iter()
        .map(|c| render::connection(&m, c))
        .collect();
    Ok(Json(list::apply(items, &p)?))
}

/// `GET /api/connections/{name}`.
pub async fn connection_get(
    State(m): State<Arc<Management>>,
    auth: Auth,
    Path(name): Path<String>,
) -> Result<Json<Value>> {
    let c = by_name(&m, &auth, &name)?;
    Ok(Json(render::connection(&m, &c)))
}

/// `DELETE /api/connections/{name}`: closes the connection in the core and has its front tell
/// the client (AMQP `connection.close` 320 CONNECTION_FORCED, MQTT 5 DISCONNECT 0x98).
pub async fn connection_delete(
    State(m): State<Arc<Management>>,
    auth: Auth,
    Path(name): Path<String>,
) -> Result<StatusCode> {
    let c = by_name(&m, &auth, &name)?;
    if !auth.is_admin() && c.user().name != auth.user.name {
        return Err(ApiError::NotAuthorised("Not administrator user".into()));
    }
    // RabbitMQ's reason header, else its default text.
    c.force_close("Closed via management plugin");
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/connections/{name}/channels`.
pub async fn connection_channels(
    State(m): State<Arc<Management>>,
    auth: Auth,
    Path(name): Path<String>,
) -> Result<Json<Value>> {
    let c = by_name(&m, &auth, &name)?;
    Ok(Json(Value::Array(render::channels(&m, &c))))
}

fn channel_values(m: &Management, auth: &Auth, vhost: Option<&str>) -> Vec<Value> {
    visible(m, auth, vhost)
        .iter()
        .flat_map(|c| render::channels(m, c))
        .collect()
}

/// `GET /api/channels`.
pub async fn channels(
    State(m): State<Arc<Management>>,
    auth: Auth,
    Query(p): Params,
) -> Result<Json<Value>> {
    Ok(Json(list::apply(channel_values(&m, &auth, None), &p)?))
}

/// `GET /api/vhosts/{vhost}/channels`.
pub async fn vhost_channels(
    State(m): State<Arc<Management>>,
    auth: Auth,
    Path(vhost): Path<String>,
    Query(p): Params,
) -> Result<Json<Value>> {
    auth.require_vhost(&m, &vhost)?;
    Ok(Json(list::apply(
        channel_values(&m, &auth, Some(&vhost)),
        &p,
    )?))
}

/// `GET /api/channels/{name}`.
pub async fn channel_get(
    State(m): State<Arc<Management>>,
    auth: Auth,
    Path(name): Path<String>,
) -> Result<Json<Value>> {
    channel_values(&m, &auth, None)
        .into_iter()
        .find(|c| c["name"] == name.as_str())
        .map(Json)
        .ok_or(ApiError::NotFound)
}

fn consumer_values(m: &Management, auth: &Auth, vhost: Option<&str>) -> Vec<Value> {
    m.broker
        .list_consumers()
        .iter()
        .filter(|(vh, _)| vhost.is_none_or(|v| v == vh) && auth.sees_vhost(m, vh))
        .map(|(vh, c)| render::consumer(m, vh, c))
        .collect()
}

/// `GET /api/consumers`.
pub async fn consumers(State(m): State<Arc<Management>>, auth: Auth) -> Json<Value> {
    Json(Value::Array(consumer_values(&m, &auth, None)))
}

/// `GET /api/consumers/{vhost}`.
pub async fn vhost_consumers(
    State(m): State<Arc<Management>>,
    auth: Auth,
    Path(vhost): Path<String>,
) -> Result<Json<Value>> {
    auth.require_vhost(&m, &vhost)?;
    Ok(Json(Value::Array(consumer_values(&m, &auth, Some(&vhost)))))
}
