//! MQTT sessions: the client-identifier registry (one live connection per client id, takeover),
//! persistent session state kept between connections with its expiry, and delayed wills.
//!
//! A session's messages live in ordinary queues (the front names them); what this registry
//! keeps is the rest of the session: its subscriptions, the QoS 2 packet identifiers received
//! but not yet released, when it expires while no connection holds it, and a will waiting for
//! its delay. Time is an argument (`Instant`); nothing here reads a clock.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use parking_lot::Mutex;

use crate::message::Properties;

/// One subscription of a session, as the front granted it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SubscriptionRecord {
    /// The topic filter as subscribed (including a `$share/<group>/` prefix).
    pub filter: String,
    /// Granted QoS (0, 1 or 2).
    pub qos: u8,
    /// MQTT 5 No Local.
    pub no_local: bool,
    /// MQTT 5 Retain As Published.
    pub retain_as_published: bool,
    /// MQTT 5 Subscription Identifier.
    pub identifier: Option<u32>,
}

/// The state of a session that outlives its connections.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SessionState {
    /// Subscriptions, in the order they were made (a re-subscribe replaces in place).
    pub subscriptions: Vec<SubscriptionRecord>,
    /// QoS 2 packet identifiers received (PUBREC sent) and not yet released by PUBREL.
    pub incoming_qos2: Vec<u16>,
    /// Packet identifiers of QoS 2 messages the server sent whose PUBREC came (PUBREL sent)
    /// and whose PUBCOMP has not: the PUBRELs to send again when the session resumes.
    #[serde(default)]
    pub outgoing_released: Vec<u16>,
}

impl SessionState {
    /// Adds or replaces the subscription with the same filter; returns true if it existed.
    pub fn upsert(&mut self, record: SubscriptionRecord) -> bool {
        match self
            .subscriptions
            .iter_mut()
            .find(|s| s.filter == record.filter)
        {
            Some(existing) => {
                *existing = record;
                true
            }
            None => {
                self.subscriptions.push(record);
                false
            }
        }
    }

    /// Removes the subscription to `filter`; returns it if it existed.
    pub fn remove(&mut self, filter: &str) -> Option<SubscriptionRecord> {
        let pos = self.subscriptions.iter().position(|s| s.filter == filter)?;
        Some(self.subscriptions.remove(pos))
    }

    /// Encodes the state and how long the session outlives its connection (`None`: forever)
    /// for a durable record (JSON); [`SessionState::decode`] reads it back.
    ///
    /// ```
    /// use std::time::Duration;
    /// use warren_core::{SessionState, SubscriptionRecord};
    ///
    /// let mut s = SessionState::default();
    /// s.upsert(SubscriptionRecord { filter: "webos/car/+".into(), qos: 1, no_local: false,
    ///                               retain_as_published: false, identifier: Some(7) });
    /// s.incoming_qos2.push(42);
    /// s.outgoing_released.push(9);
    /// let bytes = s.encode(Some(Duration::from_secs(3600)));
    /// assert_eq!(SessionState::decode(&bytes), Some((s, Some(Duration::from_secs(3600)))));
    /// assert_eq!(SessionState::decode(b"not json"), None);
    /// ```
    pub fn encode(&self, expiry: Option<Duration>) -> Vec<u8> {
        let stored = StoredSession {
            state: self.clone(),
            expiry_secs: expiry.map(|d| d.as_secs()),
        };
        serde_json::to_vec(&stored).unwrap_or_default()
    }

    /// Decodes what [`SessionState::encode`] wrote: the state and the session expiry. `None`
    /// when the bytes are not such a record.
    pub fn decode(bytes: &[u8]) -> Option<(SessionState, Option<Duration>)> {
        let stored: StoredSession = serde_json::from_slice(bytes).ok()?;
        Some((stored.state, stored.expiry_secs.map(Duration::from_secs)))
    }
}

/// The durable form of a session (see [`SessionState::encode`]).
#[derive(serde::Serialize, serde::Deserialize)]
struct StoredSession {
    state: SessionState,
    expiry_secs: Option<u64>,
}

/// Told when another connection takes over its client id. Implemented by the front; called
/// with the registry lock held, so it must only flag and wake (never call back in).
pub trait SessionOwner: Send + Sync {
    /// A newer connection with the same client id took the session over.
    fn taken_over(&self);
}

/// Proof of ownership of a session, returned by [`SessionRegistry::claim`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SessionToken(u64);

/// What [`SessionRegistry::claim`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimed {
    /// The ownership token to pass back on every later call.
    pub token: SessionToken,
    /// True when an existing session was resumed (MQTT `session present`).
    pub session_present: bool,
    /// The state to resume (empty for a new session).
    pub state: SessionState,
    /// A live connection held the client id and was told to go.
    pub took_over: bool,
    /// True when a stored session was discarded (clean start): its queues should be deleted.
    pub discarded: bool,
    /// The state of the discarded session (empty unless `discarded`): its subscriptions, e.g.
    /// to see which shared-subscription groups lost a member.
    pub discarded_state: SessionState,
}

/// A will message waiting for its delay (MQTT 5 Will Delay Interval), in core terms.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingWill {
    /// The vhost it is published in.
    pub vhost: String,
    /// The client id whose will it is.
    pub client_id: String,
    /// The user it is published as (permissions are checked as that user).
    pub user: String,
    /// The MQTT topic.
    pub topic: String,
    /// The will QoS.
    pub qos: u8,
    /// The will retain flag.
    pub retain: bool,
    /// Properties (headers carry what the front needs).
    pub properties: Properties,
    /// The payload.
    pub payload: Bytes,
    /// When it is due.
    pub due: Instant,
}

/// An expired session: its queues should be deleted by the front that named them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpiredSession {
    /// The vhost.
    pub vhost: String,
    /// The client id.
    pub client_id: String,
    /// Its last state.
    pub state: SessionState,
}

struct Entry {
    token: SessionToken,
    owner: Option<Arc<dyn SessionOwner>>,
    state: SessionState,
    /// While no connection holds it: when it expires (`None`: never).
    expires_at: Option<Instant>,
}

type Key = (String, String);

/// The client-id registry: one per front (shared by its connections).
///
/// ```
/// use std::sync::Arc;
/// use std::time::{Duration, Instant};
/// use warren_core::{SessionOwner, SessionRegistry, SubscriptionRecord};
///
/// struct Nobody;
/// impl SessionOwner for Nobody { fn taken_over(&self) {} }
///
/// let reg = SessionRegistry::new();
/// let now = Instant::now();
/// let c = reg.claim("/", "car-42", false, Arc::new(Nobody), now);
/// assert!(!c.session_present);
/// reg.update(&("/".into(), "car-42".into()), c.token, |s| {
///     s.upsert(SubscriptionRecord { filter: "webos/car/+".into(), qos: 1, no_local: false,
///                                   retain_as_published: false, identifier: None });
/// });
/// reg.disconnected("/", "car-42", c.token, Some(Duration::from_secs(60)), now);
/// let again = reg.claim("/", "car-42", false, Arc::new(Nobody), now + Duration::from_secs(1));
/// assert!(again.session_present);
/// assert_eq!(again.state.subscriptions.len(), 1);
/// ```
#[derive(Default)]
pub struct SessionRegistry {
    sessions: Mutex<HashMap<Key, Entry>>,
    wills: Mutex<Vec<PendingWill>>,
    next_token: AtomicU64,
}

impl std::fmt::Debug for SessionRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionRegistry")
            .field("sessions", &self.sessions.lock().len())
            .field("pending_wills", &self.wills.lock().len())
            .finish()
    }
}

impl SessionRegistry {
    /// An empty registry.
    pub fn new() -> SessionRegistry {
        SessionRegistry::default()
    }

    /// A connection with `client_id` in `vhost` starts: takes the session over from any live
    /// connection (which is told through its [`SessionOwner`]), cancels a pending delayed will
    /// of the client, and resumes the stored state unless `clean_start` (or it expired).
    pub fn claim(
        &self,
        vhost: &str,
        client_id: &str,
        clean_start: bool,
        owner: Arc<dyn SessionOwner>,
        now: Instant,
    ) -> Claimed {
        self.wills
            .lock()
            .retain(|w| !(w.vhost == vhost && w.client_id == client_id));
        let token = SessionToken(self.next_token.fetch_add(1, Ordering::Relaxed));
        let mut sessions = self.sessions.lock();
        let key = (vhost.to_owned(), client_id.to_owned());
        let previous = sessions.remove(&key);
        let mut took_over = false;
        let mut existed = false;
        let mut state = SessionState::default();
        if let Some(prev) = previous {
            if let Some(old) = &prev.owner {
                old.taken_over();
                took_over = true;
            }
            let live = prev.owner.is_some() || prev.expires_at.is_none_or(|t| t > now);
            if live {
                existed = true;
                state = prev.state;
            }
        }
        let (session_present, discarded) = if clean_start {
            (false, existed)
        } else {
            (existed, false)
        };
        let discarded_state = if clean_start {
            std::mem::take(&mut state)
        } else {
            SessionState::default()
        };
        sessions.insert(
            key,
            Entry {
                token,
                owner: Some(owner),
                state: state.clone(),
                expires_at: None,
            },
        );
        Claimed {
            token,
            session_present,
            state,
            took_over,
            discarded,
            discarded_state,
        }
    }

    /// Puts back a session saved by an earlier run (at boot, before any connection): held by
    /// no connection, resumable until `expires_at` (`None`: never). Replaces nothing that a
    /// connection already holds; returns whether it was restored.
    pub fn restore(
        &self,
        vhost: &str,
        client_id: &str,
        state: SessionState,
        expires_at: Option<Instant>,
    ) -> bool {
        let token = SessionToken(self.next_token.fetch_add(1, Ordering::Relaxed));
        let mut sessions = self.sessions.lock();
        let key = (vhost.to_owned(), client_id.to_owned());
        if sessions.get(&key).is_some_and(|e| e.owner.is_some()) {
            return false;
        }
        sessions.insert(
            key,
            Entry {
                token,
                owner: None,
                state,
                expires_at,
            },
        );
        true
    }

    /// Changes the stored state of a session the caller owns; returns false (and changes
    /// nothing) when `token` no longer owns it.
    pub fn update(
        &self,
        key: &(String, String),
        token: SessionToken,
        change: impl FnOnce(&mut SessionState),
    ) -> bool {
        let mut sessions = self.sessions.lock();
        match sessions.get_mut(key) {
            Some(e) if e.token == token => {
                change(&mut e.state);
                true
            }
            _ => false,
        }
    }

    /// True while `token` owns the session.
    pub fn owns(&self, vhost: &str, client_id: &str, token: SessionToken) -> bool {
        self.sessions
            .lock()
            .get(&(vhost.to_owned(), client_id.to_owned()))
            .is_some_and(|e| e.token == token)
    }

    /// The owning connection ended. `expiry`: how long the session outlives it (`Some(ZERO)`
    /// ends it now, `None` keeps it forever). Returns true when the session ended now (the
    /// caller deletes its queues); false when it is kept or `token` no longer owns it.
    pub fn disconnected(
        &self,
        vhost: &str,
        client_id: &str,
        token: SessionToken,
        expiry: Option<Duration>,
        now: Instant,
    ) -> bool {
        let mut sessions = self.sessions.lock();
        let key = (vhost.to_owned(), client_id.to_owned());
        match sessions.get_mut(&key) {
            Some(e) if e.token == token => {
                if expiry == Some(Duration::ZERO) {
                    sessions.remove(&key);
                    true
                } else {
                    e.owner = None;
                    e.expires_at = expiry.and_then(|d| now.checked_add(d));
                    false
                }
            }
            _ => false,
        }
    }

    /// Removes and returns the sessions with no connection whose expiry has passed.
    pub fn expired(&self, now: Instant) -> Vec<ExpiredSession> {
        let mut sessions = self.sessions.lock();
        let keys: Vec<Key> = sessions
            .iter()
            .filter(|(_, e)| e.owner.is_none() && e.expires_at.is_some_and(|t| t <= now))
            .map(|(k, _)| k.clone())
            .collect();
        keys.into_iter()
            .filter_map(|k| {
                sessions.remove(&k).map(|e| ExpiredSession {
                    vhost: k.0,
                    client_id: k.1,
                    state: e.state,
                })
            })
            .collect()
    }

    /// True when some session of `vhost` (connected or stored) holds a subscription to
    /// exactly `filter` — e.g. whether a `$share/<group>/<filter>` group still has a member.
    pub fn any_subscribed(&self, vhost: &str, filter: &str) -> bool {
        self.sessions.lock().iter().any(|((v, _), e)| {
            v == vhost && e.state.subscriptions.iter().any(|s| s.filter == filter)
        })
    }

    /// Every filter some session of `vhost` (connected or stored) subscribes to, sorted, each
    /// once.
    pub fn subscribed_filters(&self, vhost: &str) -> Vec<String> {
        let mut filters: Vec<String> = self
            .sessions
            .lock()
            .iter()
            .filter(|((v, _), _)| v == vhost)
            .flat_map(|(_, e)| e.state.subscriptions.iter().map(|s| s.filter.clone()))
            .collect();
        filters.sort_unstable();
        filters.dedup();
        filters
    }

    /// Number of sessions (connected or stored).
    pub fn len(&self) -> usize {
        self.sessions.lock().len()
    }

    /// True when no session is known.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Queues a will to publish at `will.due` unless its client reconnects first.
    pub fn schedule_will(&self, will: PendingWill) {
        self.wills.lock().push(will);
    }

    /// Removes and returns the wills due at `now`, oldest first.
    pub fn due_wills(&self, now: Instant) -> Vec<PendingWill> {
        let mut wills = self.wills.lock();
        let (mut due, rest): (Vec<_>, Vec<_>) = wills.drain(..).partition(|w| w.due <= now);
        *wills = rest;
        due.sort_by_key(|w| w.due);
        due
    }

    /// The earliest time something (a session expiry or a will) falls due, for a timer.
    pub fn next_deadline(&self) -> Option<Instant> {
        let s = self
            .sessions
            .lock()
            .values()
            .filter(|e| e.owner.is_none())
            .filter_map(|e| e.expires_at)
            .min();
        let w = self.wills.lock().iter().map(|w| w.due).min();
        match (s, w) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;

    #[derive(Default)]
    struct Flag(AtomicBool);
    impl SessionOwner for Flag {
        fn taken_over(&self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }

    fn sub(filter: &str) -> SubscriptionRecord {
        SubscriptionRecord {
            filter: filter.into(),
            qos: 1,
            no_local: false,
            retain_as_published: false,
            identifier: None,
        }
    }

    fn key(c: &str) -> (String, String) {
        ("/".into(), c.into())
    }

    #[test]
    fn takeover_tells_the_old_owner_and_keeps_the_state() {
        let r = SessionRegistry::new();
        let now = Instant::now();
        let old = Arc::new(Flag::default());
        let a = r.claim("/", "c", false, old.clone(), now);
        assert!(r.update(&key("c"), a.token, |s| {
            s.upsert(sub("x/#"));
        }));
        let b = r.claim("/", "c", false, Arc::new(Flag::default()), now);
        assert!(old.0.load(Ordering::SeqCst));
        assert!(b.took_over && b.session_present);
        assert_eq!(b.state.subscriptions, vec![sub("x/#")]);
        // The old connection's late calls change nothing.
        assert!(!r.update(&key("c"), a.token, |s| s.subscriptions.clear()));
        assert!(!r.disconnected("/", "c", a.token, Some(Duration::ZERO), now));
        assert!(r.owns("/", "c", b.token));
    }

    #[test]
    fn clean_start_discards_and_zero_expiry_ends() {
        let r = SessionRegistry::new();
        let now = Instant::now();
        let a = r.claim("/", "c", false, Arc::new(Flag::default()), now);
        r.update(&key("c"), a.token, |s| {
            s.upsert(sub("a"));
        });
        r.disconnected("/", "c", a.token, None, now);
        let b = r.claim("/", "c", true, Arc::new(Flag::default()), now);
        assert!(!b.session_present && b.discarded && b.state.subscriptions.is_empty());
        assert_eq!(b.discarded_state.subscriptions, vec![sub("a")]);
        assert!(r.disconnected("/", "c", b.token, Some(Duration::ZERO), now));
        assert!(r.is_empty());
    }

    #[test]
    fn stored_sessions_expire() {
        let r = SessionRegistry::new();
        let now = Instant::now();
        let a = r.claim("/", "c", false, Arc::new(Flag::default()), now);
        r.disconnected("/", "c", a.token, Some(Duration::from_secs(10)), now);
        assert_eq!(r.next_deadline(), Some(now + Duration::from_secs(10)));
        assert!(r.expired(now + Duration::from_secs(9)).is_empty());
        let gone = r.expired(now + Duration::from_secs(10));
        assert_eq!(gone.len(), 1);
        assert_eq!(gone[0].client_id, "c");
        // An expired (but not yet swept) session is not resumed.
        let b = r.claim("/", "d", false, Arc::new(Flag::default()), now);
        r.disconnected("/", "d", b.token, Some(Duration::from_secs(1)), now);
        let c = r.claim(
            "/",
            "d",
            false,
            Arc::new(Flag::default()),
            now + Duration::from_secs(2),
        );
        assert!(!c.session_present);
    }

    #[test]
    fn restored_sessions_resume_and_expire() {
        let r = SessionRegistry::new();
        let now = Instant::now();
        let mut st = SessionState::default();
        st.upsert(sub("a/#"));
        st.incoming_qos2.push(9);
        let bytes = st.encode(Some(Duration::from_secs(5)));
        let (back, expiry) = SessionState::decode(&bytes).unwrap();
        assert!(r.restore("/", "c", back, expiry.map(|d| now + d)));
        assert!(r.restore("/", "gone", st.clone(), Some(now)));
        assert_eq!(r.expired(now).len(), 1);
        let c = r.claim("/", "c", false, Arc::new(Flag::default()), now);
        assert!(c.session_present && !c.took_over);
        assert_eq!(c.state, st);
        // A session a connection holds is not overwritten.
        assert!(!r.restore("/", "c", SessionState::default(), None));
    }

    #[test]
    fn released_ids_are_kept_and_older_records_still_read() {
        let st = SessionState {
            outgoing_released: vec![3, 65535],
            ..SessionState::default()
        };
        let (back, _) = SessionState::decode(&st.encode(None)).unwrap();
        assert_eq!(back.outgoing_released, vec![3, 65535]);
        // A record written before the field existed.
        let old = br#"{"state":{"subscriptions":[],"incoming_qos2":[5]},"expiry_secs":null}"#;
        let (back, expiry) = SessionState::decode(old).unwrap();
        assert_eq!(back.incoming_qos2, vec![5]);
        assert!(back.outgoing_released.is_empty() && expiry.is_none());
    }

    #[test]
    fn any_subscribed_sees_connected_and_stored_sessions() {
        let r = SessionRegistry::new();
        let now = Instant::now();
        let a = r.claim("/", "a", false, Arc::new(Flag::default()), now);
        r.update(&key("a"), a.token, |s| {
            s.upsert(sub("$share/g/x/#"));
        });
        assert!(r.any_subscribed("/", "$share/g/x/#"));
        assert!(!r.any_subscribed("other", "$share/g/x/#"));
        assert!(!r.any_subscribed("/", "$share/h/x/#"));
        assert_eq!(r.subscribed_filters("/"), vec!["$share/g/x/#".to_owned()]);
        assert!(r.subscribed_filters("other").is_empty());
        r.disconnected("/", "a", a.token, None, now);
        assert!(r.any_subscribed("/", "$share/g/x/#"));
        let b = r.claim("/", "a", true, Arc::new(Flag::default()), now);
        assert!(!r.any_subscribed("/", "$share/g/x/#"));
        r.disconnected("/", "a", b.token, Some(Duration::ZERO), now);
        assert!(r.is_empty());
    }

    #[test]
    fn wills_wait_and_reconnect_cancels() {
        let r = SessionRegistry::new();
        let now = Instant::now();
        let will = |client: &str, secs| PendingWill {
            vhost: "/".into(),
            client_id: client.into(),
            user: "guest".into(),
            topic: "t".into(),
            qos: 0,
            retain: false,
            properties: Properties::default(),
            payload: Bytes::from_static(b"bye"),
            due: now + Duration::from_secs(secs),
        };
        r.schedule_will(will("a", 5));
        r.schedule_will(will("b", 3));
        assert_eq!(r.next_deadline(), Some(now + Duration::from_secs(3)));
        r.claim("/", "a", false, Arc::new(Flag::default()), now);
        assert!(r.due_wills(now + Duration::from_secs(2)).is_empty());
        let due = r.due_wills(now + Duration::from_secs(10));
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].client_id, "b");
    }
}
