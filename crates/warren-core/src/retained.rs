//! Retained messages (MQTT): the last message published with the retain flag on each topic,
//! kept per vhost and handed to new subscriptions whose filter matches.
//!
//! The store knows topics, not exchanges: a front stores what was published with retain and asks
//! for the messages matching a subscription filter. An empty payload clears a topic (MQTT's
//! rule). Expiry (MQTT 5 Message Expiry Interval) is checked against the time passed in.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use parking_lot::RwLock;

use crate::message::Properties;

/// One retained message.
#[derive(Debug, Clone, PartialEq)]
pub struct RetainedMessage {
    /// The MQTT topic name it was published on.
    pub topic: String,
    /// The QoS it was published with (0, 1 or 2).
    pub qos: u8,
    /// Its properties, in the core's terms (headers carry what the front needs to rebuild it).
    pub properties: Properties,
    /// The payload (never empty: an empty payload clears the topic instead).
    pub payload: Bytes,
    /// When it stops being delivered (MQTT 5 Message Expiry Interval), if ever.
    pub expires_at: Option<Instant>,
}

/// Retained messages of every vhost. Shared (`Arc`) between a front's connections.
///
/// ```
/// use bytes::Bytes;
/// use std::time::Instant;
/// use warren_core::{Properties, RetainedMessage, RetainedStore};
///
/// let store = RetainedStore::new();
/// let now = Instant::now();
/// store.retain("/", RetainedMessage {
///     topic: "webos/car/info".into(), qos: 1, properties: Properties::default(),
///     payload: Bytes::from_static(b"parked"), expires_at: None,
/// });
/// assert_eq!(store.matching("/", "webos/car/+", now).len(), 1);
/// assert!(store.matching("/", "webos/home/#", now).is_empty());
/// store.clear("/", "webos/car/info");
/// assert!(store.matching("/", "#", now).is_empty());
/// ```
#[derive(Debug, Default)]
pub struct RetainedStore {
    vhosts: RwLock<HashMap<String, HashMap<String, Arc<RetainedMessage>>>>,
}

impl RetainedStore {
    /// An empty store.
    pub fn new() -> RetainedStore {
        RetainedStore::default()
    }

    /// Stores `message` as the retained message of its topic in `vhost`, replacing any previous
    /// one; an empty payload clears the topic instead (MQTT 3.3.1.3).
    pub fn retain(&self, vhost: &str, message: RetainedMessage) {
        if message.payload.is_empty() {
            self.clear(vhost, &message.topic);
            return;
        }
        let mut vhosts = self.vhosts.write();
        vhosts
            .entry(vhost.to_owned())
            .or_default()
            .insert(message.topic.clone(), Arc::new(message));
    }

    /// Removes the retained message of `topic` in `vhost`; returns true if there was one.
    pub fn clear(&self, vhost: &str, topic: &str) -> bool {
        let mut vhosts = self.vhosts.write();
        let Some(topics) = vhosts.get_mut(vhost) else {
            return false;
        };
        let removed = topics.remove(topic).is_some();
        if topics.is_empty() {
            vhosts.remove(vhost);
        }
        removed
    }

    /// The unexpired retained messages of `vhost` whose topic matches the MQTT `filter` (with
    /// the `$`-topic rule: `#` and `+` do not match a leading `$` level), sorted by topic.
    pub fn matching(&self, vhost: &str, filter: &str, now: Instant) -> Vec<Arc<RetainedMessage>> {
        let vhosts = self.vhosts.read();
        let Some(topics) = vhosts.get(vhost) else {
            return Vec::new();
        };
        let mut out: Vec<Arc<RetainedMessage>> = topics
            .values()
            .filter(|m| m.expires_at.is_none_or(|t| t > now))
            .filter(|m| warren_topic::mqtt_matches(&m.topic, filter))
            .cloned()
            .collect();
        out.sort_by(|a, b| a.topic.cmp(&b.topic));
        out
    }

    /// Drops expired messages everywhere; returns their (vhost, topic), so that a durable copy
    /// can be deleted too.
    pub fn purge_expired(&self, now: Instant) -> Vec<(String, String)> {
        let mut vhosts = self.vhosts.write();
        let mut dropped = Vec::new();
        for (vhost, topics) in vhosts.iter_mut() {
            topics.retain(|topic, m| {
                let keep = m.expires_at.is_none_or(|t| t > now);
                if !keep {
                    dropped.push((vhost.clone(), topic.clone()));
                }
                keep
            });
        }
        vhosts.retain(|_, t| !t.is_empty());
        dropped
    }

    /// Number of retained messages in `vhost` (expired ones included until purged).
    pub fn len(&self, vhost: &str) -> usize {
        self.vhosts.read().get(vhost).map_or(0, HashMap::len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn msg(topic: &str, payload: &'static [u8], expires_at: Option<Instant>) -> RetainedMessage {
        RetainedMessage {
            topic: topic.into(),
            qos: 0,
            properties: Properties::default(),
            payload: Bytes::from_static(payload),
            expires_at,
        }
    }

    #[test]
    fn replace_clear_and_match() {
        let s = RetainedStore::new();
        let now = Instant::now();
        s.retain("/", msg("a/b", b"1", None));
        s.retain("/", msg("a/b", b"2", None));
        s.retain("/", msg("a/c", b"3", None));
        s.retain("other", msg("a/b", b"4", None));
        assert_eq!(s.len("/"), 2);
        let m = s.matching("/", "a/+", now);
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].payload, Bytes::from_static(b"2"));
        s.retain("/", msg("a/b", b"", None));
        assert_eq!(s.matching("/", "#", now).len(), 1);
        assert!(!s.clear("/", "nope"));
        assert_eq!(s.matching("other", "a/b", now).len(), 1);
    }

    #[test]
    fn dollar_topics_need_an_explicit_first_level() {
        let s = RetainedStore::new();
        let now = Instant::now();
        s.retain("/", msg("$SYS/x", b"1", None));
        assert!(s.matching("/", "#", now).is_empty());
        assert!(s.matching("/", "+/x", now).is_empty());
        assert_eq!(s.matching("/", "$SYS/#", now).len(), 1);
    }

    #[test]
    fn expired_messages_are_not_delivered_and_purged() {
        let s = RetainedStore::new();
        let now = Instant::now();
        s.retain("/", msg("t", b"1", Some(now + Duration::from_secs(5))));
        assert_eq!(s.matching("/", "t", now).len(), 1);
        let later = now + Duration::from_secs(6);
        assert!(s.matching("/", "t", later).is_empty());
        assert_eq!(
            s.purge_expired(later),
            vec![("/".to_owned(), "t".to_owned())]
        );
        assert_eq!(s.len("/"), 0);
    }
}
