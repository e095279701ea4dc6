//! JSON Schema files generated from the types, for devices written in other languages.
//!
//! The files are committed under `crates/warren-car2home/schemas/`; a test fails when they are
//! stale. Regenerate them with
//!
//! ```sh
//! cargo test -p warren-car2home --test schemas -- --ignored regenerate
//! ```
//!
//! or from other tooling with [`files`] (each file's name and text; the caller writes them).
//!
//! | file | what it validates |
//! | --- | --- |
//! | `<command>.schema.json` | one catalogued command's whole payload, `Producer` limited to its senders; `x-car2home` lists its recipients, message types and routing keys |
//! | `message.schema.json` | any payload: one of the commands above, or an unknown command |
//! | `routing-key.schema.json` | a routing key string |
//!
//! Schemas are JSON Schema 2020-12 with every sub-schema inlined, keys sorted, two-space
//! indented, one trailing newline.

use serde_json::{json, Map, Value};

use crate::catalogue::{catalogue, CommandSpec};
use crate::device::{Device, MessageType};
use crate::routing_key::{RoutingKey, KEY_PREFIX};

/// The JSON Schema dialect of every file.
pub const DIALECT: &str = "https://json-schema.org/draft/2020-12/schema";

/// One generated file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaFile {
    /// The file name (no directory), e.g. `signup.schema.json`.
    pub name: String,
    /// The file's text.
    pub contents: String,
}

/// Every schema file, in a fixed order: the commands in catalogue order, then
/// `message.schema.json` and `routing-key.schema.json`.
///
/// ```
/// let files = warren_car2home::schema::files();
/// assert!(files.iter().any(|f| f.name == "signup.schema.json"));
/// ```
pub fn files() -> Vec<SchemaFile> {
    let mut out: Vec<SchemaFile> = catalogue()
        .iter()
        .map(|spec| file(format!("{}.schema.json", spec.name), command_schema(spec)))
        .collect();
    out.push(file("message.schema.json".to_owned(), message_schema()));
    out.push(file(
        "routing-key.schema.json".to_owned(),
        routing_key_schema(),
    ));
    out
}

fn file(name: String, schema: Value) -> SchemaFile {
    SchemaFile {
        name,
        contents: format!("{:#}\n", canonical(schema)),
    }
}

/// The schema of one catalogued command's whole payload.
pub fn command_schema(spec: &CommandSpec) -> Value {
    let mut payload = match spec.payload_schema() {
        Value::Object(o) => o,
        _ => Map::new(),
    };
    let mut properties = Map::new();
    properties.insert(
        "Producer".to_owned(),
        json!({
            "description": "The sending device.",
            "type": "string",
            "enum": spec.senders,
        }),
    );
    properties.insert(
        "command".to_owned(),
        json!({ "type": "string", "const": spec.name }),
    );
    if let Some(Value::Object(fields)) = payload.remove("properties") {
        properties.extend(fields);
    }
    let mut required = vec![Value::from("Producer"), Value::from("command")];
    if let Some(Value::Array(fields)) = payload.remove("required") {
        required.extend(fields);
    }
    let routing_keys: Vec<String> = spec
        .recipients
        .iter()
        .flat_map(|d| {
            spec.message_types
                .iter()
                .map(|t| RoutingKey::new(*d, *t).to_string())
        })
        .collect();
    let mut schema = json!({
        "$schema": DIALECT,
        "title": spec.name,
        "description": payload.remove("description").unwrap_or_else(|| spec.summary.into()),
        "type": "object",
        "properties": properties,
        "required": required,
        "x-car2home": {
            "senders": spec.senders,
            "recipients": spec.recipients,
            "message_types": spec.message_types,
            "broadcast": spec.broadcast,
            "routing_keys": routing_keys,
        },
    });
    if let (Some(extra), Value::Object(s)) = (payload.remove("additionalProperties"), &mut schema) {
        s.insert("additionalProperties".to_owned(), extra);
    }
    schema
}

/// The schema of any payload: one of the catalogued commands, or an unknown one.
pub fn message_schema() -> Value {
    let mut branches: Vec<Value> = catalogue()
        .iter()
        .map(|spec| {
            let mut s = command_schema(spec);
            if let Value::Object(o) = &mut s {
                o.remove("$schema");
            }
            s
        })
        .collect();
    let names: Vec<&str> = catalogue().iter().map(|s| s.name).collect();
    branches.push(json!({
        "title": "unknown command",
        "description": "A command the catalogue does not know: any fields, kept as they are.",
        "type": "object",
        "properties": {
            "Producer": { "description": "The sending device.", "type": "string", "enum": Device::ALL },
            "command": { "type": "string", "minLength": 1, "not": { "enum": names } },
        },
        "required": ["Producer", "command"],
    }));
    json!({
        "$schema": DIALECT,
        "title": "Car2Home message",
        "description": "A Car2Home payload: a JSON object whose `Producer` names the sending device \
                        and whose `command` says what it is.",
        "oneOf": branches,
    })
}

/// The schema of a routing key string, `webos.DEVICE.TYPE`.
pub fn routing_key_schema() -> Value {
    let devices: Vec<&str> = Device::ALL.iter().map(|d| d.as_str()).collect();
    let types: Vec<&str> = MessageType::ALL.iter().map(|t| t.as_str()).collect();
    json!({
        "$schema": DIALECT,
        "title": "Car2Home routing key",
        "description": "webos.DEVICE.TYPE: DEVICE is the recipient, TYPE the kind of message.",
        "type": "string",
        "pattern": format!("^{KEY_PREFIX}\\.({})\\.({})$", devices.join("|"), types.join("|")),
    })
}

/// The value with every object's keys sorted, whatever map type `serde_json` was built with
/// (so the files do not change when another crate turns on `preserve_order`).
pub(crate) fn canonical(v: Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut entries: Vec<(String, Value)> = m.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k, canonical(v)))
                    .collect(),
            )
        }
        Value::Array(a) => Value::Array(a.into_iter().map(canonical).collect()),
        other => other,
    }
}
