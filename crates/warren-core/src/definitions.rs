//! RabbitMQ's `definitions.json`: serde types, import into a [`Broker`] and export from it, so a
//! RabbitMQ export loads as it is. Policies, parameters, global parameters and topic
//! permissions are read and kept in the types but not applied.

use std::sync::Arc;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::auth::{HashingAlgorithm, PasswordHash, User};
use crate::broker::Broker;
use crate::error::{CoreError, Permission};
use crate::exchange::{Destination, ExchangeKind, ExchangeOptions};
use crate::queue::QueueOptions;
use crate::value::{FieldTable, Value};

/// The whole file. Every section is optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Definitions {
    /// Version of the RabbitMQ that wrote it (informative).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rabbit_version: Option<String>,
    /// Same, newer key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rabbitmq_version: Option<String>,
    /// Product name (informative).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product_name: Option<String>,
    /// Product version (informative).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product_version: Option<String>,
    /// Users.
    pub users: Vec<UserDef>,
    /// Virtual hosts.
    pub vhosts: Vec<VHostDef>,
    /// Permissions per (user, vhost).
    pub permissions: Vec<PermissionDef>,
    /// Topic permissions (kept, not applied).
    pub topic_permissions: Vec<serde_json::Value>,
    /// Runtime parameters (kept, not applied).
    pub parameters: Vec<serde_json::Value>,
    /// Global parameters (kept, not applied).
    pub global_parameters: Vec<serde_json::Value>,
    /// Policies (kept, not applied).
    pub policies: Vec<serde_json::Value>,
    /// Queues.
    pub queues: Vec<QueueDef>,
    /// Exchanges.
    pub exchanges: Vec<ExchangeDef>,
    /// Bindings.
    pub bindings: Vec<BindingDef>,
}

/// User tags: RabbitMQ 3.9+ writes a list, older versions a comma-separated string.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Tags {
    /// `["administrator", "monitoring"]`.
    List(Vec<String>),
    /// `"administrator,monitoring"`.
    Text(String),
}

impl Default for Tags {
    fn default() -> Tags {
        Tags::List(Vec::new())
    }
}

impl Tags {
    /// The tags as a list.
    pub fn to_vec(&self) -> Vec<String> {
        match self {
            Tags::List(v) => v.clone(),
            Tags::Text(s) => s
                .split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
                .collect(),
        }
    }
}

/// A user entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct UserDef {
    /// Name.
    pub name: String,
    /// base64(salt ++ hash); empty means no password login.
    pub password_hash: String,
    /// `rabbit_password_hashing_sha256` (the default when absent) or `…_sha512`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hashing_algorithm: Option<String>,
    /// Tags.
    pub tags: Tags,
    /// Limits (kept, not applied).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limits: Option<serde_json::Value>,
}

/// A vhost entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct VHostDef {
    /// Name.
    pub name: String,
    /// Description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Anything else RabbitMQ writes (tags, metadata, limits), kept as is.
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

/// A permission entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PermissionDef {
    /// User.
    pub user: String,
    /// Vhost.
    pub vhost: String,
    /// Configure regex.
    pub configure: String,
    /// Write regex.
    pub write: String,
    /// Read regex.
    pub read: String,
}

/// A queue entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct QueueDef {
    /// Name.
    pub name: String,
    /// Vhost.
    pub vhost: String,
    /// Durable.
    pub durable: bool,
    /// Auto-delete.
    pub auto_delete: bool,
    /// Arguments.
    pub arguments: serde_json::Map<String, serde_json::Value>,
}

/// An exchange entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ExchangeDef {
    /// Name.
    pub name: String,
    /// Vhost.
    pub vhost: String,
    /// Type (`direct`, `fanout`, `topic`, `headers`).
    #[serde(rename = "type")]
    pub kind: String,
    /// Durable.
    pub durable: bool,
    /// Auto-delete.
    pub auto_delete: bool,
    /// Internal.
    pub internal: bool,
    /// Arguments.
    pub arguments: serde_json::Map<String, serde_json::Value>,
}

/// A binding entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BindingDef {
    /// Source exchange.
    pub source: String,
    /// Vhost.
    pub vhost: String,
    /// Destination name.
    pub destination: String,
    /// `queue` or `exchange`.
    pub destination_type: String,
    /// Routing key.
    pub routing_key: String,
    /// Arguments.
    pub arguments: serde_json::Map<String, serde_json::Value>,
}

impl Definitions {
    /// Parses a definitions.json text.
    pub fn from_json(text: &str) -> Result<Definitions, CoreError> {
        serde_json::from_str(text).map_err(|e| CoreError::Definitions(format!("invalid JSON: {e}")))
    }

    /// Writes pretty JSON.
    pub fn to_json(&self) -> String {
        // Serialising these plain types cannot fail; fall back to an empty object regardless.
        serde_json::to_string_pretty(self).unwrap_or_else(|_| "{}".to_owned())
    }
}

/// JSON → field value, as RabbitMQ imports arguments (integers become `long`).
pub fn json_to_value(v: &serde_json::Value) -> Value {
    match v {
        serde_json::Value::Null => Value::Void,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => Value::I64(i),
            (None, Some(u)) => Value::U64(u),
            _ => Value::F64(n.as_f64().unwrap_or(0.0)),
        },
        serde_json::Value::String(s) => Value::LongStr(Bytes::copy_from_slice(s.as_bytes())),
        serde_json::Value::Array(a) => Value::Array(a.iter().map(json_to_value).collect()),
        serde_json::Value::Object(o) => Value::Table(json_to_table(o)),
    }
}

/// JSON object → field table.
pub fn json_to_table(o: &serde_json::Map<String, serde_json::Value>) -> FieldTable {
    o.iter()
        .map(|(k, v)| (k.clone(), json_to_value(v)))
        .collect()
}

/// Field value → JSON.
pub fn value_to_json(v: &Value) -> serde_json::Value {
    use serde_json::Value as J;
    if let Some(i) = v.as_i128() {
        return i64::try_from(i)
            .map(J::from)
            .or_else(|_| u64::try_from(i).map(J::from))
            .unwrap_or(J::Null);
    }
    match v {
        Value::Bool(b) => J::Bool(*b),
        Value::F32(f) => J::from(f64::from(*f)),
        Value::F64(f) => J::from(*f),
        Value::Decimal { .. } => J::String(v.to_string()),
        Value::ShortStr(s) => J::String(s.clone()),
        Value::LongStr(b) | Value::ByteArray(b) => {
            J::String(String::from_utf8_lossy(b).into_owned())
        }
        Value::Timestamp(t) => J::from(*t),
        Value::Table(t) => J::Object(table_to_json(t)),
        Value::Array(a) => J::Array(a.iter().map(value_to_json).collect()),
        _ => J::Null,
    }
}

/// Field table → JSON object.
pub fn table_to_json(t: &FieldTable) -> serde_json::Map<String, serde_json::Value> {
    t.iter()
        .map(|(k, v)| (k.to_owned(), value_to_json(v)))
        .collect()
}

fn ctx(what: &str, e: CoreError) -> CoreError {
    CoreError::Definitions(format!("{what}: {e}"))
}

impl Broker {
    /// Imports definitions: vhosts, users, permissions, exchanges, queues, bindings, in that
    /// order. Existing objects are kept (an exchange or queue must be equivalent). Stops at the
    /// first bad entry, naming it.
    pub fn import_definitions(&self, defs: &Definitions) -> Result<(), CoreError> {
        for v in &defs.vhosts {
            self.add_vhost_described(&v.name, v.description.clone().unwrap_or_default());
        }
        for u in &defs.users {
            let algorithm = match &u.hashing_algorithm {
                None => HashingAlgorithm::Sha256,
                Some(name) => HashingAlgorithm::from_name(name).ok_or_else(|| {
                    CoreError::Definitions(format!(
                        "user '{}': unsupported hashing_algorithm '{name}'",
                        u.name
                    ))
                })?,
            };
            let password = if u.password_hash.is_empty() {
                None
            } else {
                Some(
                    PasswordHash::from_base64(&u.password_hash, algorithm)
                        .map_err(|e| ctx(&format!("user '{}'", u.name), e))?,
                )
            };
            self.put_user(User {
                name: u.name.clone(),
                password,
                tags: u.tags.to_vec(),
            });
        }
        for p in &defs.permissions {
            self.set_permissions(&p.user, &p.vhost, &p.configure, &p.write, &p.read)
                .map_err(|e| ctx(&format!("permissions of '{}' in '{}'", p.user, p.vhost), e))?;
        }
        for x in &defs.exchanges {
            let what = format!("exchange '{}' in vhost '{}'", x.name, x.vhost);
            let kind = ExchangeKind::parse(&x.kind).map_err(|e| ctx(&what, e))?;
            let options = ExchangeOptions {
                kind,
                durable: x.durable,
                auto_delete: x.auto_delete,
                internal: x.internal,
                arguments: json_to_table(&x.arguments),
            };
            self.declare_exchange(&x.vhost, &x.name, options)
                .map_err(|e| ctx(&what, e))?;
        }
        for q in &defs.queues {
            let what = format!("queue '{}' in vhost '{}'", q.name, q.vhost);
            let options = QueueOptions {
                durable: q.durable,
                exclusive: false,
                auto_delete: q.auto_delete,
                arguments: json_to_table(&q.arguments),
            };
            self.declare_queue(&q.vhost, &q.name, options)
                .map_err(|e| ctx(&what, e))?;
        }
        for b in &defs.bindings {
            let what = format!(
                "binding '{}' -> '{}' ({}) in vhost '{}'",
                b.source, b.destination, b.routing_key, b.vhost
            );
            let dest = match b.destination_type.as_str() {
                "queue" => Destination::Queue(Arc::from(b.destination.as_str())),
                "exchange" => Destination::Exchange(Arc::from(b.destination.as_str())),
                other => {
                    return Err(CoreError::Definitions(format!(
                        "{what}: unknown destination_type '{other}'"
                    )))
                }
            };
            self.bind(
                &b.vhost,
                &b.source,
                &dest,
                &b.routing_key,
                &json_to_table(&b.arguments),
            )
            .map_err(|e| ctx(&what, e))?;
        }
        Ok(())
    }

    /// The definitions that survive a restart (what the durable store saves): every user,
    /// vhost and permission, the durable exchanges, the durable queues that are neither
    /// exclusive nor auto-delete, and the bindings between two of those (or from an `amq.*`
    /// exchange).
    pub fn export_durable_definitions(&self) -> Definitions {
        let mut defs = self.export_definitions();
        let exchanges: Vec<(String, String)> = self
            .list_exchanges()
            .into_iter()
            .filter(|e| e.options.durable)
            .map(|e| (e.vhost, e.name))
            .collect();
        let queues: Vec<(String, String)> = self
            .list_queues()
            .into_iter()
            .filter(|q| crate::vhost::survives_restart(&q.options))
            .map(|q| (q.vhost, q.name))
            .collect();
        let has = |set: &[(String, String)], vhost: &str, name: &str| {
            set.iter().any(|(v, n)| v == vhost && n == name)
        };
        defs.exchanges.retain(|x| x.durable);
        defs.queues.retain(|q| has(&queues, &q.vhost, &q.name));
        defs.bindings.retain(|b| {
            has(&exchanges, &b.vhost, &b.source)
                && match b.destination_type.as_str() {
                    "queue" => has(&queues, &b.vhost, &b.destination),
                    _ => has(&exchanges, &b.vhost, &b.destination),
                }
        });
        defs
    }

    /// Exports definitions in RabbitMQ's format: users, vhosts, permissions, the user-declared
    /// exchanges (not the default and `amq.*` ones), non-exclusive queues, bindings.
    pub fn export_definitions(&self) -> Definitions {
        let users = self
            .users()
            .iter()
            .map(|u| UserDef {
                name: u.name.clone(),
                password_hash: u
                    .password
                    .as_ref()
                    .map(|h| h.to_base64())
                    .unwrap_or_default(),
                hashing_algorithm: Some(
                    u.password
                        .as_ref()
                        .map(|h| h.algorithm())
                        .unwrap_or_default()
                        .name()
                        .to_owned(),
                ),
                tags: Tags::List(u.tags.clone()),
                limits: Some(serde_json::Value::Object(Default::default())),
            })
            .collect();
        let vhosts = self
            .vhosts()
            .iter()
            .map(|v| VHostDef {
                name: v.name().to_owned(),
                description: (!v.description.is_empty()).then(|| v.description.clone()),
                other: Default::default(),
            })
            .collect();
        let permissions = self
            .all_permissions()
            .into_iter()
            .map(|(vhost, user, p)| PermissionDef {
                user,
                vhost,
                configure: p.source(Permission::Configure).to_owned(),
                write: p.source(Permission::Write).to_owned(),
                read: p.source(Permission::Read).to_owned(),
            })
            .collect();
        let exchanges = self
            .list_exchanges()
            .into_iter()
            .filter(|e| !e.name.is_empty() && !e.name.starts_with("amq."))
            .map(|e| ExchangeDef {
                name: e.name,
                vhost: e.vhost,
                kind: e.options.kind.name().to_owned(),
                durable: e.options.durable,
                auto_delete: e.options.auto_delete,
                internal: e.options.internal,
                arguments: table_to_json(&e.options.arguments),
            })
            .collect();
        let queues = self
            .list_queues()
            .into_iter()
            .filter(|q| !q.options.exclusive)
            .map(|q| QueueDef {
                name: q.name,
                vhost: q.vhost,
                durable: q.options.durable,
                auto_delete: q.options.auto_delete,
                arguments: table_to_json(&q.options.arguments),
            })
            .collect();
        let bindings = self
            .list_bindings()
            .into_iter()
            .map(|(vhost, b)| BindingDef {
                source: b.source,
                vhost,
                destination: b.destination.name().to_owned(),
                destination_type: match b.destination {
                    Destination::Queue(_) => "queue",
                    Destination::Exchange(_) => "exchange",
                }
                .to_owned(),
                routing_key: b.routing_key,
                arguments: table_to_json(&b.arguments),
            })
            .collect();
        Definitions {
            product_name: Some("Warren".to_owned()),
            product_version: Some(env!("CARGO_PKG_VERSION").to_owned()),
            users,
            vhosts,
            permissions,
            queues,
            exchanges,
            bindings,
            ..Definitions::default()
        }
    }
}
