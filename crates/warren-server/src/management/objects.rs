//! Queues, exchanges and bindings: listings, declare/delete, purge, get and publish.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use bytes::Bytes;
use serde_json::{json, Value};
use warren_core::{ExchangeKind, ExchangeOptions, QueueOptions};

use super::auth::Auth;
use super::error::ApiError;
use super::render::{self, Encoding};
use super::{body, list, Management};

type Result<T> = std::result::Result<T, ApiError>;
type Params = Query<HashMap<String, String>>;

/// The API names the default exchange `amq.default`.
fn exchange_name(name: &str) -> &str {
    if name == "amq.default" {
        ""
    } else {
        name
    }
}

fn created(was_there: bool) -> StatusCode {
    if was_there {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::CREATED
    }
}

// ---- queues ---------------------------------------------------------------------------------

fn queue_values(m: &Management, auth: &Auth, vhost: Option<&str>) -> Vec<Value> {
    m.broker
        .list_queues()
        .iter()
        .filter(|q| vhost.is_none_or(|v| v == q.vhost) && auth.sees_vhost(m, &q.vhost))
        .map(|q| render::queue(m, q, &m.stats.queue_rates(&q.vhost, &q.name)))
        .collect()
}

/// `GET /api/queues`.
pub async fn queues(
    State(m): State<Arc<Management>>,
    auth: Auth,
    Query(p): Params,
) -> Result<Json<Value>> {
    Ok(Json(list::apply(queue_values(&m, &auth, None), &p)?))
}

/// `GET /api/queues/{vhost}`.
pub async fn vhost_queues(
    State(m): State<Arc<Management>>,
    auth: Auth,
    Path(vhost): Path<String>,
    Query(p): Params,
) -> Result<Json<Value>> {
    auth.require_vhost(&m, &vhost)?;
    Ok(Json(list::apply(
        queue_values(&m, &auth, Some(&vhost)),
        &p,
    )?))
}

/// `GET /api/queues/{vhost}/{name}`: the list form plus consumers.
pub async fn queue_get(
    State(m): State<Arc<Management>>,
    auth: Auth,
    Path((vhost, name)): Path<(String, String)>,
) -> Result<Json<Value>> {
    auth.require_vhost(&m, &vhost)?;
    let q = m
        .broker
        .list_queues()
        .into_iter()
        .find(|q| q.vhost == vhost && q.name == name)
        .ok_or(ApiError::NotFound)?;
    let mut v = render::queue(&m, &q, &m.stats.queue_rates(&vhost, &name));
    let consumers: Vec<Value> = m
        .broker
        .list_consumers()
        .iter()
        .filter(|(vh, c)| *vh == vhost && c.queue == name)
        .map(|(vh, c)| render::consumer(&m, vh, c))
        .collect();
    if let Some(o) = v.as_object_mut() {
        o.insert("consumer_details".into(), Value::Array(consumers));
        o.insert("deliveries".into(), json!([]));
        o.insert("incoming".into(), json!([]));
    }
    Ok(Json(v))
}

/// `PUT /api/queues/{vhost}/{name}`: declare (201) or check an existing one (204).
pub async fn queue_put(
    State(m): State<Arc<Management>>,
    auth: Auth,
    Path((vhost, name)): Path<(String, String)>,
    payload: Bytes,
) -> Result<StatusCode> {
    let o = body::object(&payload)?;
    let options = QueueOptions {
        durable: body::flag(&o, "durable", true)?,
        auto_delete: body::flag(&o, "auto_delete", false)?,
        exclusive: false,
        arguments: body::arguments(&o)?,
    };
    let d = m.direct(&auth, &vhost)?;
    let existed = m
        .broker
        .vhost(&vhost)
        .and_then(|v| v.queue(&name))
        .is_some();
    d.channel.queue_declare(&name, options, false)?;
    Ok(created(existed))
}

/// `DELETE /api/queues/{vhost}/{name}` (`if-empty`, `if-unused`).
pub async fn queue_delete(
    State(m): State<Arc<Management>>,
    auth: Auth,
    Path((vhost, name)): Path<(String, String)>,
    Query(p): Params,
) -> Result<StatusCode> {
    let d = m.direct(&auth, &vhost)?;
    if m.broker
        .vhost(&vhost)
        .and_then(|v| v.queue(&name))
        .is_none()
    {
        return Err(ApiError::NotFound);
    }
    let yes = |k: &str| p.get(k).is_some_and(|v| v == "true");
    d.channel
        .queue_delete(&name, yes("if-unused"), yes("if-empty"))?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /api/queues/{vhost}/{name}/contents`: purge.
pub async fn queue_purge(
    State(m): State<Arc<Management>>,
    auth: Auth,
    Path((vhost, name)): Path<(String, String)>,
) -> Result<StatusCode> {
    let d = m.direct(&auth, &vhost)?;
    if m.broker
        .vhost(&vhost)
        .and_then(|v| v.queue(&name))
        .is_none()
    {
        return Err(ApiError::NotFound);
    }
    d.channel.queue_purge(&name)?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/queues/{vhost}/{name}/get`: `count`, `ackmode`, `encoding`, `truncate`.
pub async fn queue_get_messages(
    State(m): State<Arc<Management>>,
    auth: Auth,
    Path((vhost, name)): Path<(String, String)>,
    payload: Bytes,
) -> Result<Json<Value>> {
    let o = body::object(&payload)?;
    let count = body::required(&o, "count")?;
    let count = count
        .as_u64()
        .or_else(|| count.as_str().and_then(|s| s.parse().ok()))
        .ok_or_else(|| ApiError::BadRequest("count must be a number".into()))?;
    let ackmode = body::required(&o, "ackmode")?
        .as_str()
        .ok_or_else(|| ApiError::BadRequest("ackmode must be a string".into()))?;
    let (requeue, ack) = match ackmode {
        "ack_requeue_true" | "reject_requeue_true" => (true, false),
        "ack_requeue_false" => (false, true),
        "reject_requeue_false" => (false, false),
        other => {
            return Err(ApiError::BadRequest(format!("invalid ackmode {other}")));
        }
    };
    let encoding = match body::required(&o, "encoding")?.as_str() {
        Some("auto") => Encoding::Auto,
        Some("base64") => Encoding::Base64,
        _ => {
            return Err(ApiError::BadRequest(
                "encoding must be auto or base64".into(),
            ))
        }
    };
    let truncate = match o.get("truncate") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_u64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                .and_then(|n| usize::try_from(n).ok())
                .ok_or_else(|| ApiError::BadRequest("truncate must be a number".into()))?,
        ),
    };
    let d = m.direct(&auth, &vhost)?;
    let mut out = Vec::new();
    for _ in 0..count {
        let Some(got) = d.channel.basic_get(&name, false)? else {
            break;
        };
        out.push(render::got_message(
            &got.message,
            got.redelivered,
            got.message_count,
            encoding,
            truncate,
        ));
    }
    if !out.is_empty() {
        if ack {
            d.channel.basic_ack(0, true)?;
        } else {
            d.channel.basic_nack(0, true, requeue)?;
        }
    }
    Ok(Json(Value::Array(out)))
}

/// `GET /api/queues/{vhost}/{name}/bindings`.
pub async fn queue_bindings(
    State(m): State<Arc<Management>>,
    auth: Auth,
    Path((vhost, name)): Path<(String, String)>,
) -> Result<Json<Value>> {
    auth.require_vhost(&m, &vhost)?;
    if m.broker
        .vhost(&vhost)
        .and_then(|v| v.queue(&name))
        .is_none()
    {
        return Err(ApiError::NotFound);
    }
    let mut out = vec![render::default_binding(&vhost, &name)];
    out.extend(
        m.broker
            .list_bindings()
            .iter()
            .filter(|(vh, b)| {
                *vh == vhost
                    && matches!(&b.destination, warren_core::Destination::Queue(q) if **q == *name)
            })
            .map(|(vh, b)| render::binding(vh, b)),
    );
    Ok(Json(Value::Array(out)))
}

// ---- exchanges ------------------------------------------------------------------------------

fn exchange_values(m: &Management, auth: &Auth, vhost: Option<&str>) -> Vec<Value> {
    m.broker
        .list_exchanges()
        .iter()
        .filter(|e| vhost.is_none_or(|v| v == e.vhost) && auth.sees_vhost(m, &e.vhost))
        .map(render::exchange)
        .collect()
}

/// `GET /api/exchanges`.
pub async fn exchanges(
    State(m): State<Arc<Management>>,
    auth: Auth,
    Query(p): Params,
) -> Result<Json<Value>> {
    Ok(Json(list::apply(exchange_values(&m, &auth, None), &p)?))
}

/// `GET /api/exchanges/{vhost}`.
pub async fn vhost_exchanges(
    State(m): State<Arc<Management>>,
    auth: Auth,
    Path(vhost): Path<String>,
    Query(p): Params,
) -> Result<Json<Value>> {
    auth.require_vhost(&m, &vhost)?;
    Ok(Json(list::apply(
        exchange_values(&m, &auth, Some(&vhost)),
        &p,
    )?))
}

/// `GET /api/exchanges/{vhost}/{name}`.
pub async fn exchange_get(
    State(m): State<Arc<Management>>,
    auth: Auth,
    Path((vhost, name)): Path<(String, String)>,
) -> Result<Json<Value>> {
    auth.require_vhost(&m, &vhost)?;
    let name = exchange_name(&name);
    let e = m
        .broker
        .list_exchanges()
        .into_iter()
        .find(|e| e.vhost == vhost && e.name == name)
        .ok_or(ApiError::NotFound)?;
    let mut v = render::exchange(&e);
    if let Some(o) = v.as_object_mut() {
        o.insert("incoming".into(), json!([]));
        o.insert("outgoing".into(), json!([]));
    }
    Ok(Json(v))
}

/// `PUT /api/exchanges/{vhost}/{name}`.
pub async fn exchange_put(
    State(m): State<Arc<Management>>,
    auth: Auth,
    Path((vhost, name)): Path<(String, String)>,
    payload: Bytes,
) -> Result<StatusCode> {
    let o = body::object(&payload)?;
    let kind = body::text(&o, "type")?
        .ok_or_else(|| ApiError::BadRequest("[{key_missing,type}]".into()))?;
    let options = ExchangeOptions {
        kind: ExchangeKind::parse(kind)?,
        durable: body::flag(&o, "durable", true)?,
        auto_delete: body::flag(&o, "auto_delete", false)?,
        internal: body::flag(&o, "internal", false)?,
        arguments: body::arguments(&o)?,
    };
    let d = m.direct(&auth, &vhost)?;
    let name = exchange_name(&name);
    let existed = m
        .broker
        .vhost(&vhost)
        .and_then(|v| v.exchange(name))
        .is_some();
    d.channel.exchange_declare(name, options)?;
    Ok(created(existed))
}

/// `DELETE /api/exchanges/{vhost}/{name}` (`if-unused`).
pub async fn exchange_delete(
    State(m): State<Arc<Management>>,
    auth: Auth,
    Path((vhost, name)): Path<(String, String)>,
    Query(p): Params,
) -> Result<StatusCode> {
    let d = m.direct(&auth, &vhost)?;
    let name = exchange_name(&name);
    if m.broker
        .vhost(&vhost)
        .and_then(|v| v.exchange(name))
        .is_none()
    {
        return Err(ApiError::NotFound);
    }
    d.channel
        .exchange_delete(name, p.get("if-unused").is_some_and(|v| v == "true"))?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/exchanges/{vhost}/{name}/publish`: answers `{"routed": bool}`.
pub async fn exchange_publish(
    State(m): State<Arc<Management>>,
    auth: Auth,
    Path((vhost, name)): Path<(String, String)>,
    payload: Bytes,
) -> Result<Json<Value>> {
    let o = body::object(&payload)?;
    let properties = render::parse_properties(body::required(&o, "properties")?)?;
    let routing_key = body::required(&o, "routing_key")?
        .as_str()
        .ok_or_else(|| ApiError::BadRequest("routing_key must be a string".into()))?
        .to_owned();
    let text = body::required(&o, "payload")?
        .as_str()
        .ok_or_else(|| ApiError::BadRequest("payload must be a string".into()))?;
    let bytes = match body::required(&o, "payload_encoding")?.as_str() {
        Some("string") => Bytes::copy_from_slice(text.as_bytes()),
        Some("base64") => Bytes::from(
            STANDARD
                .decode(text)
                .map_err(|_| ApiError::BadRequest("payload is not base64".into()))?,
        ),
        _ => {
            return Err(ApiError::BadRequest(
                "payload_encoding must be string or base64".into(),
            ))
        }
    };
    let d = m.direct(&auth, &vhost)?;
    let name = exchange_name(&name);
    if m.broker
        .vhost(&vhost)
        .and_then(|v| v.exchange(name))
        .is_none()
    {
        return Err(ApiError::NotFound);
    }
    let out = d
        .channel
        .basic_publish(name, routing_key, false, properties, bytes)?;
    Ok(Json(json!({"routed": out.routed > 0})))
}

fn exchange_bindings(
    m: &Management,
    auth: &Auth,
    vhost: &str,
    name: &str,
    as_source: bool,
) -> Result<Json<Value>> {
    auth.require_vhost(m, vhost)?;
    let name = exchange_name(name);
    if m.broker
        .vhost(vhost)
        .and_then(|v| v.exchange(name))
        .is_none()
    {
        return Err(ApiError::NotFound);
    }
    let out: Vec<Value> = m
        .broker
        .list_bindings()
        .iter()
        .filter(|(vh, b)| {
            vh == vhost
                && if as_source {
                    b.source == name
                } else {
                    matches!(&b.destination, warren_core::Destination::Exchange(e) if **e == *name)
                }
        })
        .map(|(vh, b)| render::binding(vh, b))
        .collect();
    Ok(Json(Value::Array(out)))
}

/// `GET /api/exchanges/{vhost}/{name}/bindings/source`.
pub async fn exchange_bindings_source(
    State(m): State<Arc<Management>>,
    auth: Auth,
    Path((vhost, name)): Path<(String, String)>,
) -> Result<Json<Value>> {
    exchange_bindings(&m, &auth, &vhost, &name, true)
}

/// `GET /api/exchanges/{vhost}/{name}/bindings/destination`.
pub async fn exchange_bindings_destination(
    State(m): State<Arc<Management>>,
    auth: Auth,
    Path((vhost, name)): Path<(String, String)>,
) -> Result<Json<Value>> {
    exchange_bindings(&m, &auth, &vhost, &name, false)
}

// ---- bindings -------------------------------------------------------------------------------

fn binding_values(m: &Management, auth: &Auth, vhost: Option<&str>) -> Vec<Value> {
    let mut out = Vec::new();
    for v in m.broker.vhosts() {
        if vhost.is_some_and(|x| x != v.name()) || !auth.sees_vhost(m, v.name()) {
            continue;
        }
        for q in v.queues() {
            out.push(render::default_binding(v.name(), q.name()));
        }
    }
    out.extend(
        m.broker
            .list_bindings()
            .iter()
            .filter(|(vh, _)| vhost.is_none_or(|x| x == vh) && auth.sees_vhost(m, vh))
            .map(|(vh, b)| render::binding(vh, b)),
    );
    out
}

/// `GET /api/bindings`.
pub async fn bindings(State(m): State<Arc<Management>>, auth: Auth) -> Json<Value> {
    Json(Value::Array(binding_values(&m, &auth, None)))
}

/// `GET /api/bindings/{vhost}`.
pub async fn vhost_bindings(
    State(m): State<Arc<Management>>,
    auth: Auth,
    Path(vhost): Path<String>,
) -> Result<Json<Value>> {
    auth.require_vhost(&m, &vhost)?;
    Ok(Json(Value::Array(binding_values(&m, &auth, Some(&vhost)))))
}

/// `q` or `e` in a bindings path.
fn dest_kind(kind: &str) -> Result<&'static str> {
    match kind {
        "q" => Ok("queue"),
        "e" => Ok("exchange"),
        _ => Err(ApiError::NotFound),
    }
}

fn between(
    m: &Management,
    auth: &Auth,
    vhost: &str,
    source: &str,
    kind: &str,
    dest: &str,
) -> Result<Vec<Value>> {
    auth.require_vhost(m, vhost)?;
    let kind = dest_kind(kind)?;
    let v = m.broker.vhost(vhost).ok_or(ApiError::VHostNotFound)?;
    let source = exchange_name(source);
    let dest_exists = match kind {
        "queue" => v.queue(dest).is_some(),
        _ => v.exchange(dest).is_some(),
    };
    if v.exchange(source).is_none() || !dest_exists {
        return Err(ApiError::NotFound);
    }
    let mut out: Vec<Value> = Vec::new();
    if source.is_empty() && kind == "queue" {
        out.push(render::default_binding(vhost, dest));
    }
    out.extend(
        binding_values(m, auth, Some(vhost))
            .into_iter()
            .filter(|b| {
                b["source"] == source
                    && !source.is_empty()
                    && b["destination"] == dest
                    && b["destination_type"] == kind
            }),
    );
    Ok(out)
}

/// `GET /api/bindings/{vhost}/e/{source}/{q|e}/{dest}`.
pub async fn bindings_between(
    State(m): State<Arc<Management>>,
    auth: Auth,
    Path((vhost, source, kind, dest)): Path<(String, String, String, String)>,
) -> Result<Json<Value>> {
    Ok(Json(Value::Array(between(
        &m, &auth, &vhost, &source, &kind, &dest,
    )?)))
}

/// `POST /api/bindings/{vhost}/e/{source}/{q|e}/{dest}`: 201 with the new binding's
/// `properties_key` in `Location`.
pub async fn binding_create(
    State(m): State<Arc<Management>>,
    auth: Auth,
    Path((vhost, source, kind, dest)): Path<(String, String, String, String)>,
    payload: Bytes,
) -> Result<Response> {
    let kind = dest_kind(&kind)?;
    let o = body::object(&payload)?;
    let key = body::text(&o, "routing_key")?.unwrap_or("").to_owned();
    let args = body::arguments(&o)?;
    let d = m.direct(&auth, &vhost)?;
    let source = exchange_name(&source);
    if kind == "queue" {
        d.channel.queue_bind(&dest, source, &key, &args)?;
    } else {
        d.channel.exchange_bind(&dest, source, &key, &args)?;
    }
    // RabbitMQ's Location: `<destination>/<properties_key>`, relative to the request path.
    let location = format!(
        "{}/{}",
        crate::ctl::encode_segment(&dest),
        crate::ctl::encode_segment(&render::properties_key(&key, &args))
    );
    Ok((StatusCode::CREATED, [(header::LOCATION, location)]).into_response())
}

fn find_binding(
    m: &Management,
    auth: &Auth,
    (vhost, source, kind, dest, props): &(String, String, String, String, String),
) -> Result<Value> {
    between(m, auth, vhost, source, kind, dest)?
        .into_iter()
        .find(|b| b["properties_key"] == props.as_str())
        .ok_or(ApiError::NotFound)
}

/// `GET /api/bindings/{vhost}/e/{source}/{q|e}/{dest}/{props}`.
pub async fn binding_get(
    State(m): State<Arc<Management>>,
    auth: Auth,
    Path(path): Path<(String, String, String, String, String)>,
) -> Result<Json<Value>> {
    Ok(Json(find_binding(&m, &auth, &path)?))
}

/// `DELETE /api/bindings/{vhost}/e/{source}/{q|e}/{dest}/{props}`.
pub async fn binding_delete(
    State(m): State<Arc<Management>>,
    auth: Auth,
    Path(path): Path<(String, String, String, String, String)>,
) -> Result<StatusCode> {
    let b = find_binding(&m, &auth, &path)?;
    let (vhost, source, kind, dest, _) = &path;
    let source = exchange_name(source);
    let key = b["routing_key"].as_str().unwrap_or_default();
    let args = match &b["arguments"] {
        Value::Object(a) => warren_core::json_to_table(a),
        _ => warren_core::FieldTable::new(),
    };
    let d = m.direct(&auth, vhost)?;
    if kind == "q" {
        d.channel.queue_unbind(dest, source, key, &args)?;
    } else {
        d.channel.exchange_unbind(dest, source, key, &args)?;
    }
    Ok(StatusCode::NO_CONTENT)
}
