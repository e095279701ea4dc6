//! Users, vhosts, permissions and definitions.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use bytes::Bytes;
use serde_json::{json, Value};
use warren_core::{Definitions, HashingAlgorithm, PasswordHash, User};

use super::auth::Auth;
use super::error::ApiError;
use super::render::details;
use super::{body, list, Management};

type Result<T> = std::result::Result<T, ApiError>;
type Params = Query<HashMap<String, String>>;

// ---- vhosts ---------------------------------------------------------------------------------

fn vhost_value(m: &Management, name: &str, description: &str) -> Value {
    let queues: Vec<_> = m
        .broker
        .list_queues()
        .into_iter()
        .filter(|q| q.vhost == name)
        .collect();
    let ready: usize = queues.iter().map(|q| q.messages_ready).sum();
    let unacked: usize = queues.iter().map(|q| q.messages_unacked).sum();
    json!({
        "name": name,
        "description": description,
        "tags": [],
        "metadata": {"description": description, "tags": []},
        "default_queue_type": "classic",
        "tracing": false,
        "cluster_state": {m.node.clone(): "running"},
        "messages": ready + unacked, "messages_details": details(0.0),
        "messages_ready": ready, "messages_ready_details": details(0.0),
        "messages_unacknowledged": unacked, "messages_unacknowledged_details": details(0.0),
        "recv_oct": 0, "recv_oct_details": details(0.0),
        "send_oct": 0, "send_oct_details": details(0.0),
    })
}

fn descriptions(m: &Management) -> HashMap<String, String> {
    m.broker
        .export_definitions()
        .vhosts
        .into_iter()
        .map(|v| (v.name, v.description.unwrap_or_default()))
        .collect()
}

/// `GET /api/vhosts`.
pub async fn vhosts(
    State(m): State<Arc<Management>>,
    auth: Auth,
    Query(p): Params,
) -> Result<Json<Value>> {
    let desc = descriptions(&m);
    let items = m
        .broker
        .vhosts()
        .iter()
        .filter(|v| auth.sees_vhost(&m, v.name()))
        .map(|v| vhost_value(&m, v.name(), desc.get(v.name()).map_or("", String::as_str)))
        .collect();
    Ok(Json(list::apply(items, &p)?))
}

/// `GET /api/vhosts/{vhost}`.
pub async fn vhost_get(
    State(m): State<Arc<Management>>,
    auth: Auth,
    Path(vhost): Path<String>,
) -> Result<Json<Value>> {
    if m.broker.vhost(&vhost).is_none() {
        return Err(ApiError::NotFound);
    }
    auth.require_vhost(&m, &vhost)?;
    let desc = descriptions(&m);
    Ok(Json(vhost_value(
        &m,
        &vhost,
        desc.get(&vhost).map_or("", String::as_str),
    )))
}

/// `PUT /api/vhosts/{vhost}`: creates it (201) and, as RabbitMQ does, gives the creating user
/// full permissions there; 204 when it exists.
pub async fn vhost_put(
    State(m): State<Arc<Management>>,
    auth: Auth,
    Path(vhost): Path<String>,
    payload: Bytes,
) -> Result<StatusCode> {
    auth.require_admin()?;
    let o = body::object(&payload)?;
    let description = body::text(&o, "description")?.unwrap_or("").to_owned();
    if vhost.is_empty() {
        return Err(ApiError::BadRequest("vhost name must not be empty".into()));
    }
    if m.broker.vhost(&vhost).is_some() {
        return Ok(StatusCode::NO_CONTENT);
    }
    let defs = Definitions {
        vhosts: vec![
            serde_json::from_value(json!({"name": vhost, "description": description}))
                .map_err(|e| ApiError::BadRequest(e.to_string()))?,
        ],
        ..Definitions::default()
    };
    m.broker.import_definitions(&defs)?;
    m.broker
        .set_permissions(&auth.user.name, &vhost, ".*", ".*", ".*")?;
    Ok(StatusCode::CREATED)
}

/// `DELETE /api/vhosts/{vhost}`.
pub async fn vhost_delete(
    State(m): State<Arc<Management>>,
    auth: Auth,
    Path(vhost): Path<String>,
) -> Result<StatusCode> {
    auth.require_admin()?;
    if m.broker.delete_vhost(&vhost) {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound)
    }
}

// ---- permissions ----------------------------------------------------------------------------

fn permission_values(m: &Management, filter: impl Fn(&str, &str) -> bool) -> Vec<Value> {
    m.broker
        .all_permissions()
        .iter()
        .filter(|(vh, u, _)| filter(vh, u))
        .map(|(vh, u, p)| {
            json!({
                "user": u, "vhost": vh,
                "configure": p.source(warren_core::Permission::Configure),
                "write": p.source(warren_core::Permission::Write),
                "read": p.source(warren_core::Permission::Read),
            })
        })
        .collect()
}

/// `GET /api/permissions`.
pub async fn permissions(State(m): State<Arc<Management>>, auth: Auth) -> Result<Json<Value>> {
    auth.require_admin()?;
    Ok(Json(Value::Array(permission_values(&m, |_, _| true))))
}

/// `GET /api/vhosts/{vhost}/permissions`.
pub async fn vhost_permissions(
    State(m): State<Arc<Management>>,
    auth: Auth,
    Path(vhost): Path<String>,
) -> Result<Json<Value>> {
    auth.require_admin()?;
    if m.broker.vhost(&vhost).is_none() {
        return Err(ApiError::NotFound);
    }
    Ok(Json(Value::Array(permission_values(&m, |vh, _| {
        vh == vhost
    }))))
}

/// `GET /api/users/{user}/permissions`.
pub async fn user_permissions(
    State(m): State<Arc<Management>>,
    auth: Auth,
    Path(user): Path<String>,
) -> Result<Json<Value>> {
    auth.require_admin()?;
    if m.broker.user(&user).is_none() {
        return Err(ApiError::NotFound);
    }
    Ok(Json(Value::Array(permission_values(&m, |_, u| u == user))))
}

/// `GET /api/permissions/{vhost}/{user}`.
pub async fn permission_get(
    State(m): State<Arc<Management>>,
    auth: Auth,
    Path((vhost, user)): Path<(String, String)>,
) -> Result<Json<Value>> {
    auth.require_admin()?;
    permission_values(&m, |vh, u| vh == vhost && u == user)
        .pop()
        .map(Json)
        .ok_or(ApiError::NotFound)
}

/// `PUT /api/permissions/{vhost}/{user}`: `configure`, `write`, `read` regexes.
pub async fn permission_put(
    State(m): State<Arc<Management>>,
    auth: Auth,
    Path((vhost, user)): Path<(String, String)>,
    payload: Bytes,
) -> Result<StatusCode> {
    auth.require_admin()?;
    let o = body::object(&payload)?;
    if m.broker.vhost(&vhost).is_none() {
        return Err(ApiError::VHostNotFound);
    }
    if m.broker.user(&user).is_none() {
        return Err(ApiError::BadRequest("user_not_found".into()));
    }
    let field = |k: &str| -> Result<String> {
        body::text(&o, k)?
            .map(str::to_owned)
            .ok_or_else(|| ApiError::BadRequest(format!("[{{key_missing,{k}}}]")))
    };
    let (c, w, r) = (field("configure")?, field("write")?, field("read")?);
    let existed = m.broker.permissions(&user, &vhost).is_some();
    m.broker.set_permissions(&user, &vhost, &c, &w, &r)?;
    Ok(if existed {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::CREATED
    })
}

/// `DELETE /api/permissions/{vhost}/{user}`.
pub async fn permission_delete(
    State(m): State<Arc<Management>>,
    auth: Auth,
    Path((vhost, user)): Path<(String, String)>,
) -> Result<StatusCode> {
    auth.require_admin()?;
    if m.broker.permissions(&user, &vhost).is_none() {
        return Err(ApiError::NotFound);
    }
    m.broker.clear_permissions(&user, &vhost);
    Ok(StatusCode::NO_CONTENT)
}

// ---- users ----------------------------------------------------------------------------------

fn user_value(u: &User) -> Value {
    let (hash, algorithm) = match &u.password {
        Some(h) => (h.to_base64(), h.algorithm().name()),
        None => (String::new(), HashingAlgorithm::Sha256.name()),
    };
    json!({
        "name": u.name,
        "password_hash": hash,
        "hashing_algorithm": algorithm,
        "tags": u.tags,
        "limits": {},
    })
}

/// `GET /api/users`.
pub async fn users(
    State(m): State<Arc<Management>>,
    auth: Auth,
    Query(p): Params,
) -> Result<Json<Value>> {
    auth.require_admin()?;
    let items = m.broker.users().iter().map(|u| user_value(u)).collect();
    Ok(Json(list::apply(items, &p)?))
}

/// `GET /api/users/without-permissions`.
pub async fn users_without_permissions(
    State(m): State<Arc<Management>>,
    auth: Auth,
) -> Result<Json<Value>> {
    auth.require_admin()?;
    let with: Vec<String> = m
        .broker
        .all_permissions()
        .into_iter()
        .map(|(_, u, _)| u)
        .collect();
    Ok(Json(Value::Array(
        m.broker
            .users()
            .iter()
            .filter(|u| !with.contains(&u.name))
            .map(|u| user_value(u))
            .collect(),
    )))
}

/// `GET /api/users/{user}`.
pub async fn user_get(
    State(m): State<Arc<Management>>,
    auth: Auth,
    Path(user): Path<String>,
) -> Result<Json<Value>> {
    auth.require_admin()?;
    m.broker
        .user(&user)
        .map(|u| Json(user_value(&u)))
        .ok_or(ApiError::NotFound)
}

/// `PUT /api/users/{user}`: `password` or `password_hash` (+ `hashing_algorithm`) and `tags`.
/// 201 when created, 204 when updated. Without either password field a new user cannot log in
/// with a password; an existing user keeps the one it has.
pub async fn user_put(
    State(m): State<Arc<Management>>,
    auth: Auth,
    Path(user): Path<String>,
    payload: Bytes,
) -> Result<StatusCode> {
    auth.require_admin()?;
    let o = body::object(&payload)?;
    let existing = m.broker.user(&user);
    let tags = body::tags(&o)?;
    let password = if let Some(p) = body::text(&o, "password")? {
        Some(PasswordHash::new(p, HashingAlgorithm::Sha256))
    } else if let Some(h) = body::text(&o, "password_hash")? {
        if h.is_empty() {
            None
        } else {
            let algorithm = match body::text(&o, "hashing_algorithm")? {
                None => HashingAlgorithm::Sha256,
                Some(a) => HashingAlgorithm::from_name(a).ok_or_else(|| {
                    ApiError::BadRequest(format!("unsupported hashing_algorithm {a}"))
                })?,
            };
            Some(PasswordHash::from_base64(h, algorithm)?)
        }
    } else {
        existing.as_ref().and_then(|u| u.password.clone())
    };
    m.broker.put_user(User {
        name: user,
        password,
        tags,
    });
    Ok(if existing.is_some() {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::CREATED
    })
}

/// `DELETE /api/users/{user}`.
pub async fn user_delete(
    State(m): State<Arc<Management>>,
    auth: Auth,
    Path(user): Path<String>,
) -> Result<StatusCode> {
    auth.require_admin()?;
    if m.broker.delete_user(&user) {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound)
    }
}

/// `POST /api/users/bulk-delete`: `{"users": [...]}`.
pub async fn users_bulk_delete(
    State(m): State<Arc<Management>>,
    auth: Auth,
    payload: Bytes,
) -> Result<StatusCode> {
    auth.require_admin()?;
    let o = body::object(&payload)?;
    let Some(Value::Array(names)) = o.get("users") else {
        return Err(ApiError::BadRequest("[{key_missing,users}]".into()));
    };
    for n in names.iter().filter_map(Value::as_str) {
        m.broker.delete_user(n);
    }
    Ok(StatusCode::NO_CONTENT)
}

// ---- definitions ----------------------------------------------------------------------------

fn export(m: &Management) -> Definitions {
    let mut d = m.broker.export_definitions();
    d.rabbit_version = Some(super::RABBITMQ_API_VERSION.into());
    d.rabbitmq_version = Some(super::RABBITMQ_API_VERSION.into());
    d.product_name = Some("Warren".into());
    d.product_version = Some(env!("CARGO_PKG_VERSION").into());
    d
}

fn to_value(d: &Definitions) -> Result<Value> {
    serde_json::to_value(d).map_err(|e| ApiError::BadRequest(e.to_string()))
}

fn parse_definitions(payload: &[u8]) -> Result<Definitions> {
    serde_json::from_slice(payload).map_err(|e| ApiError::BadRequest(format!("not_json: {e}")))
}

/// `GET /api/definitions`: RabbitMQ's export format.
pub async fn definitions_get(State(m): State<Arc<Management>>, auth: Auth) -> Result<Json<Value>> {
    auth.require_admin()?;
    Ok(Json(to_value(&export(&m))?))
}

/// `POST /api/definitions`: imports a RabbitMQ export.
pub async fn definitions_post(
    State(m): State<Arc<Management>>,
    auth: Auth,
    payload: Bytes,
) -> Result<StatusCode> {
    auth.require_admin()?;
    let defs = parse_definitions(&payload)?;
    m.broker.import_definitions(&defs)?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/definitions/{vhost}`: the vhost's queues, exchanges and bindings.
pub async fn vhost_definitions_get(
    State(m): State<Arc<Management>>,
    auth: Auth,
    Path(vhost): Path<String>,
) -> Result<Json<Value>> {
    auth.require_admin()?;
    if m.broker.vhost(&vhost).is_none() {
        return Err(ApiError::NotFound);
    }
    let all = export(&m);
    let mut v = json!({
        "rabbit_version": all.rabbit_version,
        "rabbitmq_version": all.rabbitmq_version,
        "product_name": all.product_name,
        "product_version": all.product_version,
        "parameters": [],
        "policies": [],
        "queues": all.queues.iter().filter(|q| q.vhost == vhost).collect::<Vec<_>>(),
        "exchanges": all.exchanges.iter().filter(|e| e.vhost == vhost).collect::<Vec<_>>(),
        "bindings": all.bindings.iter().filter(|b| b.vhost == vhost).collect::<Vec<_>>(),
    });
    // The per-vhost format leaves out the vhost field of each object.
    for key in ["queues", "exchanges", "bindings"] {
        if let Some(Value::Array(items)) = v.get_mut(key) {
            for i in items {
                if let Some(o) = i.as_object_mut() {
                    o.remove("vhost");
                }
            }
        }
    }
    Ok(Json(v))
}

/// `POST /api/definitions/{vhost}`: imports queues, exchanges and bindings into one vhost.
pub async fn vhost_definitions_post(
    State(m): State<Arc<Management>>,
    auth: Auth,
    Path(vhost): Path<String>,
    payload: Bytes,
) -> Result<StatusCode> {
    auth.require_admin()?;
    if m.broker.vhost(&vhost).is_none() {
        return Err(ApiError::VHostNotFound);
    }
    let mut raw: Value =
        serde_json::from_slice(&payload).map_err(|_| ApiError::BadRequest("not_json".into()))?;
    for key in ["queues", "exchanges", "bindings"] {
        if let Some(Value::Array(items)) = raw.get_mut(key) {
            for i in items {
                if let Some(o) = i.as_object_mut() {
                    o.insert("vhost".into(), json!(vhost));
                }
            }
        }
    }
    let mut defs: Definitions =
        serde_json::from_value(raw).map_err(|e| ApiError::BadRequest(format!("not_json: {e}")))?;
    defs.users.clear();
    defs.vhosts.clear();
    defs.permissions.clear();
    m.broker.import_definitions(&defs)?;
    Ok(StatusCode::NO_CONTENT)
}
