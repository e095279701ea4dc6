//! Queue dead-lettering as RabbitMQ 3.10 does it: a message rejected with `requeue=false`,
//! expired, or dropped from the head of a full queue is republished to the queue's
//! `x-dead-letter-exchange`, with its routing key (or `x-dead-letter-routing-key`), an
//! `x-death` header recording the event and, the first time, the `x-first-death-*` headers.
//!
//! `x-death` is an array of tables, newest event first, one per (queue, reason) pair:
//! `count` (how often this pair happened), `reason` (`rejected`, `expired`, `maxlen`), `queue`,
//! `time` (a timestamp in seconds), `exchange` (the exchange the message had been published
//! to) and `routing-keys` (its routing key, and its `CC` keys), plus `original-expiration`
//! when the message had an `expiration` property — which is removed, so the dead letter does
//! not expire again. A repeated (queue, reason) pair increments its entry's count and moves it
//! to the front (its other fields stay as first recorded).
//!
//! Cycles: a message dead-lettered automatically (expired, maxlen) is not delivered to a queue
//! it already died in, unless some death on the way back to that queue was a rejection (a
//! client's decision), as RabbitMQ does; it is dropped for that queue instead.

use std::sync::Arc;

use crate::message::Message;
use crate::value::{FieldTable, Value};

/// Why a message left its queue to be dead-lettered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DeathReason {
    /// Rejected or nacked with `requeue=false`.
    Rejected,
    /// Its TTL ran out.
    Expired,
    /// Dropped from the head of a queue at its `x-max-length` / `x-max-length-bytes`.
    MaxLen,
}

impl DeathReason {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            DeathReason::Rejected => "rejected",
            DeathReason::Expired => "expired",
            DeathReason::MaxLen => "maxlen",
        }
    }
}

fn text(v: &Value) -> Option<&str> {
    v.as_str()
}

fn table_text<'a>(t: &'a FieldTable, key: &str) -> Option<&'a str> {
    t.get(key).and_then(text)
}

/// The message as it is republished to the dead-letter exchange `dlx` from `queue`.
/// `now_ms` is the time of death (milliseconds since the epoch; `x-death` keeps seconds).
pub(crate) fn dead_lettered(
    message: &Message,
    reason: DeathReason,
    queue: &str,
    dlx: &Arc<str>,
    routing_key: Option<&str>,
    now_ms: u64,
) -> Message {
    let mut properties = message.properties.clone();
    let mut headers = properties.headers.take().unwrap_or_default();
    let mut keys = vec![Value::str(&message.routing_key)];
    if let Some(Value::Array(cc)) = headers.get("CC") {
        keys.extend(cc.iter().filter(|v| text(v).is_some()).cloned());
    }
    let mut info: Vec<(&str, Value)> = vec![
        ("reason", Value::str(reason.as_str())),
        ("queue", Value::str(queue)),
        ("time", Value::Timestamp(now_ms / 1000)),
        ("exchange", Value::str(&message.exchange)),
        ("routing-keys", Value::Array(keys)),
    ];
    if let Some(expiration) = &properties.expiration {
        info.push(("original-expiration", Value::str(expiration)));
    }
    update_x_death(
        &mut headers,
        info,
        queue,
        reason.as_str(),
        &message.exchange,
    );
    if routing_key.is_some() {
        // The CC keys were for the original routing, not the dead letter's.
        headers.remove("CC");
    }
    properties.headers = Some(headers);
    properties.expiration = None;
    Message {
        exchange: Arc::clone(dlx),
        routing_key: routing_key.unwrap_or(&message.routing_key).to_owned(),
        properties,
        body: message.body.clone(),
    }
}

/// Records one death in `headers` (RabbitMQ's `update_x_death_header`).
fn update_x_death(
    headers: &mut FieldTable,
    info: Vec<(&str, Value)>,
    queue: &str,
    reason: &str,
    exchange: &str,
) {
    let existing = match headers.get("x-death") {
        Some(Value::Array(deaths)) => Some(deaths.clone()),
        _ => None,
    };
    let Some(deaths) = existing else {
        headers.insert("x-first-death-reason", Value::str(reason));
        headers.insert("x-first-death-queue", Value::str(queue));
        headers.insert("x-first-death-exchange", Value::str(exchange));
        let mut entry = FieldTable::new();
        entry.insert("count", Value::I64(1));
        for (k, v) in info {
            entry.insert(k, v);
        }
        headers.insert("x-death", Value::Array(vec![Value::Table(entry)]));
        return;
    };
    let mut matched: Option<FieldTable> = None;
    let mut others = Vec::with_capacity(deaths.len() + 1);
    for d in deaths {
        let is_match = matches!(&d, Value::Table(t)
            if table_text(t, "queue") == Some(queue) && table_text(t, "reason") == Some(reason));
        match d {
            Value::Table(t) if is_match && matched.is_none() => matched = Some(t),
            other => others.push(other),
        }
    }
    let entry = match matched {
        Some(mut t) => {
            let count = t
                .get("count")
                .and_then(Value::as_i128)
                .and_then(|c| i64::try_from(c).ok())
                .unwrap_or(0);
            t.insert("count", Value::I64(count.saturating_add(1)));
            t
        }
        None => {
            let mut t = FieldTable::new();
            t.insert("count", Value::I64(1));
            for (k, v) in info {
                t.insert(k, v);
            }
            t
        }
    };
    let mut deaths = Vec::with_capacity(others.len() + 1);
    deaths.push(Value::Table(sorted(entry)));
    deaths.extend(others);
    headers.insert("x-death", Value::Array(deaths));
}

/// A table with its keys in order (RabbitMQ sorts the entry it rewrites).
fn sorted(t: FieldTable) -> FieldTable {
    let mut entries: Vec<(String, Value)> =
        t.iter().map(|(k, v)| (k.to_owned(), v.clone())).collect();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    entries.into_iter().collect()
}

/// True when delivering the dead letter `message` (its `x-death` already updated) to `queue`
/// would close a cycle of automatic dead-lettering (RabbitMQ's `is_cycle`): `queue` appears in
/// `x-death` and no death from the newest one up to and including that entry was a rejection.
pub(crate) fn is_cycle(message: &Message, queue: &str) -> bool {
    let Some(Value::Array(deaths)) = message
        .properties
        .headers
        .as_ref()
        .and_then(|h| h.get("x-death"))
    else {
        return false;
    };
    let Some(pos) = deaths
        .iter()
        .position(|d| matches!(d, Value::Table(t) if table_text(t, "queue") == Some(queue)))
    else {
        return false;
    };
    deaths
        .iter()
        .take(pos + 1)
        .all(|d| matches!(d, Value::Table(t) if table_text(t, "reason") != Some("rejected")))
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::message::Properties;

    fn death(m: &Message, i: usize) -> &FieldTable {
        match m.properties.headers.as_ref().unwrap().get("x-death") {
            Some(Value::Array(a)) => match &a[i] {
                Value::Table(t) => t,
                _ => panic!("not a table"),
            },
            _ => panic!("no x-death"),
        }
    }

    fn original() -> Message {
        let properties = Properties {
            expiration: Some("100".into()),
            ..Properties::default()
        };
        Message::new("ex", "key", properties, Bytes::from_static(b"hi"))
    }

    #[test]
    fn first_death_adds_x_death_and_first_death_headers() {
        let dlx: Arc<str> = Arc::from("dlx");
        let m = dead_lettered(
            &original(),
            DeathReason::Expired,
            "q",
            &dlx,
            None,
            1_700_000_000_123,
        );
        assert_eq!((&*m.exchange, m.routing_key.as_str()), ("dlx", "key"));
        assert_eq!(m.properties.expiration, None);
        let h = m.properties.headers.as_ref().unwrap();
        assert_eq!(
            h.get("x-first-death-reason").and_then(Value::as_str),
            Some("expired")
        );
        assert_eq!(
            h.get("x-first-death-queue").and_then(Value::as_str),
            Some("q")
        );
        assert_eq!(
            h.get("x-first-death-exchange").and_then(Value::as_str),
            Some("ex")
        );
        let d = death(&m, 0);
        assert_eq!(d.get("count"), Some(&Value::I64(1)));
        assert_eq!(d.get("time"), Some(&Value::Timestamp(1_700_000_000)));
        assert_eq!(
            d.get("original-expiration").and_then(Value::as_str),
            Some("100")
        );
        assert_eq!(
            d.get("routing-keys"),
            Some(&Value::Array(vec![Value::str("key")]))
        );
    }

    #[test]
    fn repeated_deaths_count_and_cycles_are_found() {
        let dlx: Arc<str> = Arc::from("dlx");
        let once = dead_lettered(&original(), DeathReason::Expired, "q", &dlx, Some("rk"), 0);
        assert_eq!(once.routing_key, "rk");
        assert!(is_cycle(&once, "q"));
        assert!(!is_cycle(&once, "other"));
        let rejected = dead_lettered(&once, DeathReason::Rejected, "r", &dlx, None, 0);
        // The way back to q passes a rejection: not a cycle.
        assert!(!is_cycle(&rejected, "q"));
        let again = dead_lettered(&rejected, DeathReason::Expired, "q", &dlx, None, 5000);
        let d = death(&again, 0);
        assert_eq!(d.get("count"), Some(&Value::I64(2)));
        // The entry keeps its first time and moves to the front.
        assert_eq!(d.get("time"), Some(&Value::Timestamp(0)));
        assert_eq!(table_text(death(&again, 1), "queue"), Some("r"));
        let h = again.properties.headers.as_ref().unwrap();
        assert_eq!(
            h.get("x-first-death-queue").and_then(Value::as_str),
            Some("q")
        );
        assert!(is_cycle(&again, "q"));
    }
}
