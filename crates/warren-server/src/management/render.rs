//! The core's objects as RabbitMQ's management API shows them (field names, nesting, units).

use std::net::SocketAddr;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{json, Map, Value};
use warren_core::{
    json_to_table, table_to_json, BindingInfo, Connection, ConsumerInfo, Destination, ExchangeInfo,
    FieldTable, Message, Properties, Protocol, QueueInfo,
};

use super::error::ApiError;
use super::stats::{QueueRates, Rates};
use super::Management;

/// `{"rate": r}`, RabbitMQ's `*_details` object.
pub fn details(rate: f64) -> Value {
    json!({ "rate": rate })
}

/// A table as a JSON object.
pub fn table(t: &FieldTable) -> Value {
    Value::Object(table_to_json(t))
}

/// The broker-wide `message_stats` object.
pub fn message_stats(m: &warren_core::MetricsSnapshot, r: &Rates) -> Value {
    json!({
        "publish": m.published, "publish_details": details(r.publish),
        "deliver_get": m.delivered, "deliver_get_details": details(r.deliver_get),
        "deliver": m.delivered, "deliver_details": details(r.deliver_get),
        "redeliver": m.redelivered, "redeliver_details": details(r.redeliver),
        "ack": m.acked, "ack_details": details(r.ack),
        "drop_unroutable": m.unroutable, "drop_unroutable_details": details(r.drop_unroutable),
        // Warren's own: refused by an exchange policy (Car2Home validation), dead-lettered.
        "invalid": m.invalid,
    })
}

/// A queue object (list form; `detail` adds consumers and the empty RabbitMQ extras).
pub fn queue(m: &Management, q: &QueueInfo, r: &QueueRates) -> Value {
    let messages = q.messages_ready + q.messages_unacked;
    let mut v = json!({
        "name": q.name,
        "vhost": q.vhost,
        "durable": q.options.durable,
        "auto_delete": q.options.auto_delete,
        "exclusive": q.options.exclusive,
        "arguments": table(&q.options.arguments),
        "node": m.node,
        "state": "running",
        "type": "classic",
        "policy": null,
        "operator_policy": null,
        "effective_policy_definition": {},
        "exclusive_consumer_tag": null,
        "single_active_consumer_tag": null,
        "head_message_timestamp": null,
        "recoverable_slaves": null,
    });
    let counts = json!({
        "consumers": q.consumers,
        "consumer_capacity": if q.consumers > 0 { 1.0 } else { 0.0 },
        "consumer_utilisation": if q.consumers > 0 { 1.0 } else { 0.0 },
        "memory": 0,
        "messages": messages,
        "messages_details": details(r.messages_ready + r.messages_unacknowledged),
        "messages_ready": q.messages_ready,
        "messages_ready_details": details(r.messages_ready),
        "messages_unacknowledged": q.messages_unacked,
        "messages_unacknowledged_details": details(r.messages_unacknowledged),
        "messages_ram": messages,
        "messages_ready_ram": q.messages_ready,
        "messages_unacknowledged_ram": q.messages_unacked,
        "messages_persistent": 0,
        "messages_paged_out": 0,
        "message_bytes": q.message_bytes,
        "message_bytes_ready": q.message_bytes,
        "message_bytes_unacknowledged": 0,
        "message_bytes_ram": q.message_bytes,
        "message_bytes_persistent": 0,
        "message_bytes_paged_out": 0,
        "backing_queue_status": { "mode": "default", "len": q.messages_ready, "version": 1 },
        "message_stats": {
            "publish": q.enqueued, "publish_details": details(r.publish),
            "deliver_get": q.delivered, "deliver_get_details": details(r.deliver_get),
        },
    });
    if let (Some(obj), Value::Object(more)) = (v.as_object_mut(), counts) {
        obj.extend(more);
    }
    if let (Some(owner), Some(obj)) = (q.owner, v.as_object_mut()) {
        let owner_name = m
            .broker
            .connections()
            .iter()
            .find(|c| c.id() == owner)
            .map(|c| connection_name(m, c))
            .unwrap_or_default();
        obj.insert(
            "owner_pid_details".into(),
            json!({ "name": owner_name, "peer_host": "", "peer_port": 0 }),
        );
    }
    v
}

/// An exchange object; the default exchange is listed as `""` as RabbitMQ does.
pub fn exchange(e: &ExchangeInfo) -> Value {
    json!({
        "name": e.name,
        "vhost": e.vhost,
        "type": e.options.kind.name(),
        "durable": e.options.durable,
        "auto_delete": e.options.auto_delete,
        "internal": e.options.internal,
        "arguments": table(&e.options.arguments),
        "user_who_performed_action": "rmq-internal",
    })
}

/// RabbitMQ's `properties_key`: the routing key alone, `~` for an empty key, and a hash of the
/// arguments after `~` when there are any.
pub fn properties_key(key: &str, args: &FieldTable) -> String {
    use std::hash::{Hash, Hasher};
    if args.is_empty() {
        return if key.is_empty() {
            "~".into()
        } else {
            key.to_owned()
        };
    }
    // DefaultHasher::new() has fixed keys: the same arguments give the same key every run.
    let mut h = std::collections::hash_map::DefaultHasher::new();
    Value::Object(table_to_json(args)).to_string().hash(&mut h);
    format!("{key}~{:x}", h.finish())
}

/// A binding object.
pub fn binding(vhost: &str, b: &BindingInfo) -> Value {
    let (dest_type, dest) = match &b.destination {
        Destination::Queue(q) => ("queue", q.to_string()),
        Destination::Exchange(e) => ("exchange", e.to_string()),
    };
    json!({
        "source": b.source,
        "vhost": vhost,
        "destination": dest,
        "destination_type": dest_type,
        "routing_key": b.routing_key,
        "arguments": table(&b.arguments),
        "properties_key": properties_key(&b.routing_key, &b.arguments),
    })
}

/// The default exchange's implicit binding of a queue, as RabbitMQ lists it.
pub fn default_binding(vhost: &str, queue: &str) -> Value {
    json!({
        "source": "",
        "vhost": vhost,
        "destination": queue,
        "destination_type": "queue",
        "routing_key": queue,
        "arguments": {},
        "properties_key": queue,
    })
}

/// (short name, display name) of a front.
pub fn protocol_names(p: Protocol) -> (&'static str, &'static str) {
    match p {
        Protocol::Amqp091 => ("amqp", "AMQP 0-9-1"),
        Protocol::Mqtt => ("mqtt", "MQTT"),
        Protocol::Stomp => ("stomp", "STOMP"),
        _ => ("direct", "Direct 0-9-1"),
    }
}

/// `peer -> listener`, RabbitMQ's connection name.
pub fn connection_name(m: &Management, c: &Connection) -> String {
    let (short, _) = protocol_names(c.info().protocol);
    match m.listener(short) {
        Some(local) => format!("{} -> {local}", c.info().peer),
        None => c.info().peer.clone(),
    }
}

fn peer_parts(peer: &str) -> (String, u16) {
    match peer.parse::<SocketAddr>() {
        Ok(a) => (a.ip().to_string(), a.port()),
        Err(_) => (peer.to_owned(), 0),
    }
}

/// A connection object.
pub fn connection(m: &Management, c: &Connection) -> Value {
    let (short, long) = protocol_names(c.info().protocol);
    let (peer_host, peer_port) = peer_parts(&c.info().peer);
    let local = m.listener(short);
    let mut client_properties = Map::new();
    if let Some(n) = &c.info().client_name {
        client_properties.insert("connection_name".into(), json!(n));
    }
    json!({
        "name": connection_name(m, c),
        "node": m.node,
        "vhost": c.vhost(),
        "user": c.user().name,
        "user_who_performed_action": c.user().name,
        "protocol": long,
        "type": "network",
        "state": "running",
        "ssl": false,
        "auth_mechanism": "PLAIN",
        "host": local.map(|a| a.ip().to_string()).unwrap_or_default(),
        "port": local.map(|a| a.port()).unwrap_or(0),
        "peer_host": peer_host,
        "peer_port": peer_port,
        "channels": c.channel_count(),
        "connected_at": m.stats.connected_at(c.id().0).unwrap_or_else(super::now_ms),
        "client_properties": client_properties,
        "user_provided_name": c.info().client_name,
        "recv_oct": 0, "recv_oct_details": details(0.0),
        "send_oct": 0, "send_oct_details": details(0.0),
        "recv_cnt": 0, "send_cnt": 0, "send_pend": 0,
        "timeout": 0, "frame_max": 0, "channel_max": 0,
        "peer_cert_issuer": null, "peer_cert_subject": null, "peer_cert_validity": null,
        "ssl_cipher": null, "ssl_hash": null, "ssl_key_exchange": null, "ssl_protocol": null,
        "warren_id": c.id().0,
    })
}

/// The channels of a connection.
pub fn channels(m: &Management, c: &Connection) -> Vec<Value> {
    let name = connection_name(m, c);
    let (peer_host, peer_port) = peer_parts(&c.info().peer);
    c.channels()
        .iter()
        .map(|ch| {
            let (prefetch, global) = ch.prefetch();
            json!({
                "name": format!("{name} ({})", ch.id()),
                "number": ch.id(),
                "node": m.node,
                "user": c.user().name,
                "user_who_performed_action": c.user().name,
                "vhost": c.vhost(),
                "connection_details": { "name": name, "peer_host": peer_host, "peer_port": peer_port },
                "consumer_count": ch.consumer_tags().len(),
                "messages_unacknowledged": ch.unacked_count(),
                "messages_unconfirmed": 0,
                "messages_uncommitted": 0,
                "acks_uncommitted": 0,
                "pending_raft_commands": 0,
                "prefetch_count": prefetch,
                "global_prefetch_count": global,
                "state": "running",
                "confirm": false,
                "transactional": false,
            })
        })
        .collect()
}

/// A consumer object.
pub fn consumer(m: &Management, vhost: &str, c: &ConsumerInfo) -> Value {
    let conn = m
        .broker
        .connections()
        .into_iter()
        .find(|x| x.id() == c.connection);
    let (conn_name, peer_host, peer_port, user) = match &conn {
        Some(x) => {
            let (h, p) = peer_parts(&x.info().peer);
            (connection_name(m, x), h, p, x.user().name.clone())
        }
        None => (String::new(), String::new(), 0, String::new()),
    };
    json!({
        "arguments": {},
        "ack_required": !c.no_ack,
        "active": true,
        "activity_status": "up",
        "consumer_tag": c.consumer_tag,
        "exclusive": c.exclusive,
        "prefetch_count": c.prefetch,
        "queue": { "name": c.queue, "vhost": vhost },
        "channel_details": {
            "connection_name": conn_name,
            "name": format!("{conn_name} ({})", c.channel),
            "node": m.node,
            "number": c.channel,
            "peer_host": peer_host,
            "peer_port": peer_port,
            "user": user,
        },
    })
}

/// Message properties in RabbitMQ's JSON form (absent properties are left out).
pub fn properties(p: &Properties) -> Value {
    let mut o = Map::new();
    let mut put = |k: &str, v: Value| {
        o.insert(k.to_owned(), v);
    };
    if let Some(v) = &p.content_type {
        put("content_type", json!(v));
    }
    if let Some(v) = &p.content_encoding {
        put("content_encoding", json!(v));
    }
    if let Some(v) = &p.headers {
        put("headers", table(v));
    }
    if let Some(v) = p.delivery_mode {
        put("delivery_mode", json!(v));
    }
    if let Some(v) = p.priority {
        put("priority", json!(v));
    }
    for (k, v) in [
        ("correlation_id", &p.correlation_id),
        ("reply_to", &p.reply_to),
        ("expiration", &p.expiration),
        ("message_id", &p.message_id),
        ("type", &p.kind),
        ("user_id", &p.user_id),
        ("app_id", &p.app_id),
        ("cluster_id", &p.cluster_id),
    ] {
        if let Some(v) = v {
            put(k, json!(v));
        }
    }
    if let Some(v) = p.timestamp {
        put("timestamp", json!(v));
    }
    Value::Object(o)
}

fn bad(what: &str) -> ApiError {
    ApiError::BadRequest(format!("invalid property {what}"))
}

/// Message properties from a publish request's `properties` object.
pub fn parse_properties(v: &Value) -> Result<Properties, ApiError> {
    let mut p = Properties::default();
    let Some(o) = v.as_object() else {
        return if v.is_null() || v.as_array().is_some_and(|a| a.is_empty()) {
            Ok(p)
        } else {
            Err(bad("object"))
        };
    };
    let text = |k: &str| -> Result<Option<String>, ApiError> {
        match o.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(_) => Err(bad(k)),
        }
    };
    let small = |k: &str| -> Result<Option<u8>, ApiError> {
        match o.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v
                .as_u64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                .and_then(|n| u8::try_from(n).ok())
                .map(Some)
                .ok_or_else(|| bad(k)),
        }
    };
    p.content_type = text("content_type")?;
    p.content_encoding = text("content_encoding")?;
    p.correlation_id = text("correlation_id")?;
    p.reply_to = text("reply_to")?;
    p.expiration = text("expiration")?;
    p.message_id = text("message_id")?;
    p.kind = text("type")?;
    p.user_id = text("user_id")?;
    p.app_id = text("app_id")?;
    p.cluster_id = text("cluster_id")?;
    p.delivery_mode = small("delivery_mode")?;
    p.priority = small("priority")?;
    p.timestamp = match o.get("timestamp") {
        None | Some(Value::Null) => None,
        Some(v) => Some(v.as_u64().ok_or_else(|| bad("timestamp"))?),
    };
    p.headers = match o.get("headers") {
        None | Some(Value::Null) => None,
        Some(Value::Object(h)) => Some(json_to_table(h)),
        Some(_) => return Err(bad("headers")),
    };
    Ok(p)
}

/// How `get` shows payloads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// Text when the body is UTF-8, base64 otherwise.
    Auto,
    /// Always base64.
    Base64,
}

/// A message as `POST …/get` returns it.
pub fn got_message(
    message: &Message,
    redelivered: bool,
    message_count: usize,
    encoding: Encoding,
    truncate: Option<usize>,
) -> Value {
    let body = &message.body[..];
    let cut = match truncate {
        Some(n) if n < body.len() => body.get(..n).unwrap_or(body),
        _ => body,
    };
    let (payload, enc) = match (encoding, std::str::from_utf8(cut)) {
        (Encoding::Auto, Ok(s)) => (s.to_owned(), "string"),
        _ => (STANDARD.encode(cut), "base64"),
    };
    json!({
        "payload_bytes": body.len(),
        "redelivered": redelivered,
        "exchange": &*message.exchange,
        "routing_key": message.routing_key,
        "message_count": message_count,
        "properties": properties(&message.properties),
        "payload": payload,
        "payload_encoding": enc,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    #[test]
    fn properties_roundtrip_through_json() {
        let v = json!({"content_type": "text/plain", "delivery_mode": 2, "priority": "3",
                       "headers": {"a": 1, "b": "x"}, "timestamp": 17, "type": "t"});
        let p = parse_properties(&v).unwrap();
        assert_eq!(p.delivery_mode, Some(2));
        assert_eq!(p.priority, Some(3));
        assert_eq!(p.kind.as_deref(), Some("t"));
        let back = properties(&p);
        assert_eq!(back["headers"], json!({"a": 1, "b": "x"}));
        assert_eq!(back["priority"], json!(3));
        assert!(parse_properties(&json!({"delivery_mode": 300})).is_err());
        assert!(parse_properties(&json!([])).unwrap().content_type.is_none());
    }

    #[test]
    fn payloads_are_text_or_base64_and_truncated() {
        let m = Message::new("", "k", Properties::default(), Bytes::from_static(b"hello"));
        let v = got_message(&m, false, 0, Encoding::Auto, Some(2));
        assert_eq!(
            (v["payload"].as_str(), v["payload_bytes"].as_u64()),
            (Some("he"), Some(5))
        );
        let v = got_message(&m, true, 3, Encoding::Base64, None);
        assert_eq!(v["payload"], json!("aGVsbG8="));
        assert_eq!(v["payload_encoding"], json!("base64"));
        let bin = Message::new(
            "",
            "k",
            Properties::default(),
            Bytes::from_static(&[0xff, 0]),
        );
        assert_eq!(
            got_message(&bin, false, 0, Encoding::Auto, None)["payload_encoding"],
            json!("base64")
        );
    }

    #[test]
    fn properties_keys() {
        let mut args = FieldTable::new();
        assert_eq!(properties_key("", &args), "~");
        assert_eq!(properties_key("a.b", &args), "a.b");
        args.insert("x", 1i64);
        let k = properties_key("a", &args);
        assert!(k.starts_with("a~") && k.len() > 2, "{k}");
        assert_eq!(k, properties_key("a", &args));
    }
}
