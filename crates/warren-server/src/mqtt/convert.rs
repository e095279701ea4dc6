//! MQTT ↔ AMQP translation, as RabbitMQ's MQTT plugin does it: topics and routing keys (`/` and
//! `.` swapped), filters and binding patterns (`+` → `*`, `#` → `#`), queue names, and message
//! properties (MQTT 5 properties carried in AMQP properties and headers, and back).
//!
//! Headers the front writes on messages published over MQTT:
//! - `x-mqtt-publish-qos` (byte) and `x-mqtt-dup` (bool), as RabbitMQ;
//! - `x-mqtt-retain` (bool, only when set), for Retain As Published;
//! - `x-mqtt-client-id` (string), for No Local;
//! - `x-mqtt-payload-format-indicator` (bool), `x-mqtt-correlation-data` (bytes, when the
//!   correlation data is not UTF-8), `x-mqtt-expires-at` (ms on the broker's monotonic clock);
//! - every MQTT 5 user property as a string header of the same name.

use bytes::Bytes;
use warren_core::{FieldTable, Message, Properties, Value};

/// Header: the QoS a message was published with over MQTT.
pub const H_QOS: &str = "x-mqtt-publish-qos";
/// Header: the DUP flag of the PUBLISH.
pub const H_DUP: &str = "x-mqtt-dup";
/// Header: present (true) when the PUBLISH had the retain flag.
pub const H_RETAIN: &str = "x-mqtt-retain";
/// Header: the publishing MQTT client id.
pub const H_CLIENT: &str = "x-mqtt-client-id";
/// Header: MQTT 5 Payload Format Indicator.
pub const H_FORMAT: &str = "x-mqtt-payload-format-indicator";
/// Header: MQTT 5 Correlation Data that is not UTF-8 (UTF-8 data travels as `correlation_id`).
pub const H_CORRELATION: &str = "x-mqtt-correlation-data";
/// Header: when the message expires, in milliseconds of the broker's monotonic clock.
pub const H_EXPIRES_AT: &str = "x-mqtt-expires-at";

/// Swaps `/` and `.`: MQTT topic → AMQP routing key and back (the mapping is its own inverse).
pub fn swap_separators(s: &str) -> String {
    // Byte by byte: `/` and `.` are ASCII, and ASCII bytes never occur inside a multi-byte
    // UTF-8 sequence, so the result is as valid as the input.
    let swapped: Vec<u8> = s
        .bytes()
        .map(|b| match b {
            b'/' => b'.',
            b'.' => b'/',
            b => b,
        })
        .collect();
    String::from_utf8(swapped).unwrap_or_default()
}

/// The AMQP routing key of an MQTT topic name.
pub fn topic_to_key(topic: &str) -> String {
    swap_separators(topic)
}

/// The MQTT topic name of an AMQP routing key.
pub fn key_to_topic(key: &str) -> String {
    swap_separators(key)
}

/// The AMQP topic binding pattern of an MQTT topic filter (`+` → `*`, `#` stays).
pub fn filter_to_pattern(filter: &str) -> String {
    filter
        .split('/')
        .map(|level| match level {
            "+" => "*".to_owned(),
            "#" => "#".to_owned(),
            other => other.replace('.', "/"),
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// The queue holding a client's deliveries for its subscriptions of one QoS class (0, or 1
/// for QoS 1 and 2), named as RabbitMQ names it.
pub fn subscription_queue(client_id: &str, class: u8) -> String {
    format!("mqtt-subscription-{client_id}qos{class}")
}

/// The start of every [`shared_queue`] name.
pub const SHARED_QUEUE_PREFIX: &str = "mqtt-subscription-$share-";

/// The queue shared by the members of `$share/<group>/<filter>`.
pub fn shared_queue(group: &str, filter: &str) -> String {
    format!("{SHARED_QUEUE_PREFIX}{group}-{filter}")
}

/// What an incoming PUBLISH (or will) carries, for [`inbound_properties`].
#[derive(Debug)]
pub struct Inbound<'a> {
    /// Publish QoS.
    pub qos: u8,
    /// Retain flag.
    pub retain: bool,
    /// DUP flag.
    pub dup: bool,
    /// The publishing client id.
    pub client_id: &'a str,
    /// MQTT 5 properties (empty at 3.x).
    pub properties: &'a warren_mqtt::Properties,
    /// Now, in ms of the broker's monotonic clock (for message expiry).
    pub now_ms: u64,
}

/// The core properties of a message published over MQTT.
pub fn inbound_properties(p: &Inbound<'_>) -> Properties {
    let mut headers = FieldTable::new();
    for (name, value) in &p.properties.user_properties {
        headers.insert(name.clone(), Value::str(value));
    }
    headers.insert(H_QOS, Value::I8(i8::try_from(p.qos).unwrap_or(0)));
    headers.insert(H_DUP, Value::Bool(p.dup));
    if p.retain {
        headers.insert(H_RETAIN, Value::Bool(true));
    }
    headers.insert(H_CLIENT, Value::str(p.client_id));
    if let Some(f) = p.properties.payload_format_indicator {
        headers.insert(H_FORMAT, Value::Bool(f));
    }
    let mut correlation_id = None;
    if let Some(data) = &p.properties.correlation_data {
        match std::str::from_utf8(data) {
            Ok(text) => correlation_id = Some(text.to_owned()),
            Err(_) => headers.insert(H_CORRELATION, Value::ByteArray(data.clone())),
        }
    }
    let mut expiration = None;
    if let Some(secs) = p.properties.message_expiry_interval {
        let ms = u64::from(secs) * 1000;
        expiration = Some(ms.to_string());
        headers.insert(
            H_EXPIRES_AT,
            Value::I64(i64::try_from(p.now_ms.saturating_add(ms)).unwrap_or(i64::MAX)),
        );
    }
    Properties {
        content_type: p.properties.content_type.clone(),
        headers: Some(headers),
        delivery_mode: Some(if p.qos > 0 { 2 } else { 1 }),
        correlation_id,
        reply_to: p.properties.response_topic.as_deref().map(topic_to_key),
        expiration,
        ..Properties::default()
    }
}

/// What the front needs to know about a message before delivering it over MQTT.
#[derive(Debug, Clone, PartialEq)]
pub struct Outbound {
    /// The topic name.
    pub topic: String,
    /// The QoS it was published with over MQTT (`None`: published over AMQP).
    pub qos: Option<u8>,
    /// It was published with the retain flag.
    pub retain: bool,
    /// The publishing MQTT client id, if published over MQTT.
    pub client_id: Option<String>,
    /// When it expires (ms of the broker's monotonic clock), if it does.
    pub expires_at: Option<u64>,
}

fn header<'a>(m: &'a Properties, name: &str) -> Option<&'a Value> {
    m.headers.as_ref().and_then(|h| h.get(name))
}

/// Reads the MQTT facts of a core message.
pub fn outbound(message: &Message) -> Outbound {
    let p = &message.properties;
    Outbound {
        topic: key_to_topic(&message.routing_key),
        qos: header(p, H_QOS)
            .and_then(Value::as_i128)
            .and_then(|q| u8::try_from(q).ok())
            .map(|q| q.min(2)),
        retain: matches!(header(p, H_RETAIN), Some(Value::Bool(true))),
        client_id: header(p, H_CLIENT)
            .and_then(Value::as_str)
            .map(str::to_owned),
        expires_at: header(p, H_EXPIRES_AT)
            .and_then(Value::as_i128)
            .and_then(|v| u64::try_from(v).ok()),
    }
}

/// The MQTT 5 PUBLISH properties of a core message (user properties from string headers other
/// than the `x-mqtt-` ones, content type, response topic, correlation data, remaining expiry).
pub fn outbound_properties(
    message: &Message,
    now_ms: u64,
    expires_at: Option<u64>,
) -> warren_mqtt::Properties {
    let p = &message.properties;
    let mut out = warren_mqtt::Properties::new();
    if let Some(h) = &p.headers {
        for (name, value) in h.iter() {
            if name.starts_with("x-mqtt-") {
                continue;
            }
            let text = match value {
                Value::ShortStr(s) => s.clone(),
                Value::LongStr(b) => match std::str::from_utf8(b) {
                    Ok(s) => s.to_owned(),
                    Err(_) => continue,
                },
                Value::Bool(_)
                | Value::I8(_)
                | Value::U8(_)
                | Value::I16(_)
                | Value::U16(_)
                | Value::I32(_)
                | Value::U32(_)
                | Value::I64(_)
                | Value::U64(_) => value.to_string(),
                _ => continue,
            };
            out.user_properties.push((name.to_owned(), text));
        }
    }
    if let Some(Value::Bool(f)) = header(p, H_FORMAT) {
        out.payload_format_indicator = Some(*f);
    }
    out.content_type = p.content_type.clone();
    out.response_topic = p.reply_to.as_deref().map(key_to_topic);
    out.correlation_data = match header(p, H_CORRELATION) {
        Some(Value::ByteArray(b)) => Some(b.clone()),
        _ => p
            .correlation_id
            .as_ref()
            .map(|c| Bytes::copy_from_slice(c.as_bytes())),
    };
    if let Some(at) = expires_at {
        let left_ms = at.saturating_sub(now_ms);
        out.message_expiry_interval =
            Some(u32::try_from(left_ms.div_ceil(1000)).unwrap_or(u32::MAX));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_and_keys_swap_separators() {
        assert_eq!(topic_to_key("webos/smarthome/info"), "webos.smarthome.info");
        assert_eq!(key_to_topic("webos.car.info"), "webos/car/info");
        assert_eq!(topic_to_key("a.b/c"), "a/b.c");
        assert_eq!(key_to_topic(&topic_to_key("x/y.z//")), "x/y.z//");
    }

    #[test]
    fn filters_become_patterns() {
        assert_eq!(filter_to_pattern("webos/car/+"), "webos.car.*");
        assert_eq!(filter_to_pattern("#"), "#");
        assert_eq!(filter_to_pattern("a/+/b.c/#"), "a.*.b/c.#");
        assert_eq!(
            subscription_queue("car-1", 1),
            "mqtt-subscription-car-1qos1"
        );
    }

    #[test]
    fn properties_round_trip_through_amqp() {
        let mut props = warren_mqtt::Properties::new();
        props.user_properties = vec![("device".into(), "car".into())];
        props.content_type = Some("application/json".into());
        props.response_topic = Some("reply/here".into());
        props.correlation_data = Some(Bytes::from_static(&[0, 255]));
        props.payload_format_indicator = Some(true);
        props.message_expiry_interval = Some(10);
        let core = inbound_properties(&Inbound {
            qos: 1,
            retain: true,
            dup: false,
            client_id: "me",
            properties: &props,
            now_ms: 1000,
        });
        assert_eq!(core.reply_to.as_deref(), Some("reply.here"));
        assert_eq!(core.expiration.as_deref(), Some("10000"));
        assert_eq!(core.delivery_mode, Some(2));
        let msg = Message::new("x", "a.b", core, Bytes::new());
        let o = outbound(&msg);
        assert_eq!(o.topic, "a/b");
        assert_eq!(o.qos, Some(1));
        assert!(o.retain);
        assert_eq!(o.client_id.as_deref(), Some("me"));
        assert_eq!(o.expires_at, Some(11_000));
        let back = outbound_properties(&msg, 5000, o.expires_at);
        assert_eq!(back.user_properties, props.user_properties);
        assert_eq!(back.content_type, props.content_type);
        assert_eq!(back.response_topic, props.response_topic);
        assert_eq!(back.correlation_data, props.correlation_data);
        assert_eq!(back.payload_format_indicator, Some(true));
        assert_eq!(back.message_expiry_interval, Some(6));
    }

    #[test]
    fn amqp_messages_have_no_mqtt_qos() {
        let mut h = FieldTable::new();
        h.insert("n", Value::I32(5));
        let core = Properties {
            headers: Some(h),
            correlation_id: Some("abc".into()),
            ..Properties::default()
        };
        let msg = Message::new("x", "webos.car.info", core, Bytes::new());
        let o = outbound(&msg);
        assert_eq!((o.qos, o.retain, o.client_id), (None, false, None));
        let p = outbound_properties(&msg, 0, None);
        assert_eq!(p.user_properties, vec![("n".to_owned(), "5".to_owned())]);
        assert_eq!(p.correlation_data, Some(Bytes::from_static(b"abc")));
    }
}
