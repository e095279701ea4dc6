//! What every MQTT connection of one server shares: the settings, the broker, the client-id
//! registry, the retained messages, and the periodic sweep (expired sessions, delayed wills).
//!
//! With a durable store, retained messages and persistent sessions are also written to it as
//! key-value records and read back at boot ([`MqttShared::with_store`]):
//!
//! * namespace `mqtt.retained`, key `{vhost}\0{topic}`: one byte QoS, the expiry as u64 LE
//!   milliseconds since the Unix epoch (0: never), then the message as
//!   [`warren_core::store::encode_message`] writes it (routing key = topic).
//! * namespace `mqtt.sessions`, key `{vhost}\0{client id}`: [`SessionState::encode`] — the
//!   subscriptions, the QoS 2 ids received and not released, and the session expiry. A
//!   restored session counts as disconnected at boot: it expires that long after the restart.
//!
//! The session's messages are in its durable `…qos0` / `…qos1` queues (persistent sessions
//! only), which the store keeps like any durable queue.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tracing::{debug, info, warn};
use warren_core::store::{decode_message, encode_message, Store};
use warren_core::{
    Broker, ConnectionInfo, Delivery, DeliverySink, Message, PendingWill, Protocol,
    RetainedMessage, RetainedStore, SessionRegistry, SessionState, StorageFactory,
    SubscriptionRecord, Ticket,
};
use warren_mqtt::topic::Filter;

use super::convert;

/// The MQTT front's settings, from the `[mqtt]` configuration.
#[derive(Debug, Clone)]
pub struct MqttSettings {
    /// Accept CONNECTs without a user name as `default_user`.
    pub allow_anonymous: bool,
    /// User name of anonymous clients.
    pub default_user: String,
    /// Password of `default_user`.
    pub default_pass: String,
    /// The vhost unless the user name says `vhost:user`.
    pub vhost: String,
    /// The topic exchange publishes go to and subscriptions bind to.
    pub exchange: String,
    /// How long a 3.x persistent session outlives its connection (`None`: forever).
    pub subscription_ttl: Option<Duration>,
    /// Most unacknowledged QoS 1/2 deliveries per client (0: only the client's limit).
    pub prefetch: u16,
    /// Largest packet accepted.
    pub max_packet_size: u32,
    /// Receive Maximum announced to 5.0 clients.
    pub receive_maximum: u16,
    /// Topic Alias Maximum announced to 5.0 clients.
    pub topic_alias_maximum: u16,
    /// Largest keep-alive accepted (0: no cap).
    pub max_keepalive: u16,
    /// Largest 5.0 Session Expiry Interval granted, seconds.
    pub max_session_expiry: u32,
    /// Time allowed between accept and CONNECT.
    pub connect_timeout: Duration,
    /// Pending core events per connection above which queues hold back deliveries.
    pub outbox_limit: usize,
}

impl Default for MqttSettings {
    fn default() -> Self {
        MqttSettings {
            allow_anonymous: true,
            default_user: "guest".into(),
            default_pass: "guest".into(),
            vhost: "/".into(),
            exchange: "amq.topic".into(),
            subscription_ttl: Some(Duration::from_secs(86_400)),
            prefetch: 10,
            max_packet_size: warren_mqtt::MAX_PACKET_SIZE,
            receive_maximum: 65_535,
            topic_alias_maximum: 16,
            max_keepalive: 0,
            max_session_expiry: 86_400,
            connect_timeout: Duration::from_secs(10),
            outbox_limit: 4096,
        }
    }
}

/// State shared by the MQTT connections of one server.
pub struct MqttShared {
    /// The broker core.
    pub broker: Arc<Broker>,
    /// Settings.
    pub settings: MqttSettings,
    /// Client ids, persistent sessions, delayed wills.
    pub sessions: SessionRegistry,
    /// Retained messages.
    pub retained: RetainedStore,
    /// The origin of the millisecond clock used in message-expiry headers.
    pub epoch: Instant,
    /// The durable store (retained messages and persistent sessions), when there is one.
    pub store: Option<Arc<Store>>,
    /// The store's factory, for waiting on tickets (`when_durable`).
    durability: Option<Arc<dyn StorageFactory>>,
    /// Serializes changes of retained messages, so the store and `retained` agree.
    retain_lock: parking_lot::Mutex<()>,
}

impl std::fmt::Debug for MqttShared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MqttShared")
            .field("settings", &self.settings)
            .field("sessions", &self.sessions)
            .field("retained", &self.retained)
            .field("durable", &self.store.is_some())
            .finish_non_exhaustive()
    }
}

/// Key-value namespace of retained messages.
const NS_RETAINED: &str = "mqtt.retained";
/// Key-value namespace of persistent sessions.
const NS_SESSIONS: &str = "mqtt.sessions";

fn kv_key(vhost: &str, name: &str) -> String {
    format!("{vhost}\0{name}")
}

/// Milliseconds since the Unix epoch of `at` (an `Instant`, with `now` ↔ `wall`).
fn wall_ms(at: Instant, now: Instant, wall: SystemTime) -> u64 {
    let t = if at >= now {
        wall.checked_add(at - now)
    } else {
        wall.checked_sub(now - at)
    };
    t.and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(1, |d| {
            u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
        })
}

/// A sink for connections that only publish (wills): nothing is ever consumed on them.
struct NoDeliveries;

impl DeliverySink for NoDeliveries {
    fn deliver(&self, _delivery: Delivery) {}
    fn cancelled(&self, _consumer_tag: &str) {}
}

impl MqttShared {
    /// Shared state for a server; `now` starts the message-expiry clock.
    pub fn new(broker: Arc<Broker>, settings: MqttSettings, now: Instant) -> Arc<MqttShared> {
        MqttShared::with_store(broker, settings, now, None)
    }

    /// Shared state whose retained messages and persistent sessions are kept in `store` (when
    /// given): what an earlier run saved there is restored now, expiries counted from `now`.
    pub fn with_store(
        broker: Arc<Broker>,
        settings: MqttSettings,
        now: Instant,
        store: Option<Arc<Store>>,
    ) -> Arc<MqttShared> {
        let shared = MqttShared {
            broker,
            settings,
            sessions: SessionRegistry::new(),
            retained: RetainedStore::new(),
            epoch: now,
            durability: store.as_ref().map(|s| s.factory()),
            retain_lock: parking_lot::Mutex::new(()),
            store,
        };
        shared.restore(now);
        Arc::new(shared)
    }

    fn restore(&self, now: Instant) {
        let Some(store) = &self.store else {
            return;
        };
        let wall = SystemTime::now();
        let now_ms = wall_ms(now, now, wall);
        let (mut retained, mut sessions) = (0usize, 0usize);
        for (key, value) in store.kv_list(NS_RETAINED) {
            let Some((vhost, topic)) = key.split_once('\0') else {
                continue;
            };
            let decoded = match value.split_first() {
                Some((&qos, rest)) if rest.len() >= 8 => {
                    let (exp, body) = rest.split_at(8);
                    let mut b = [0u8; 8];
                    b.copy_from_slice(exp);
                    decode_message(body)
                        .ok()
                        .map(|m| (qos, u64::from_le_bytes(b), m))
                }
                _ => None,
            };
            let Some((qos, expires_ms, m)) = decoded else {
                warn!(%key, "unreadable retained message record dropped");
                store.kv_delete(NS_RETAINED, &key);
                continue;
            };
            let expires_at = match expires_ms {
                0 => None,
                t if t <= now_ms => {
                    store.kv_delete(NS_RETAINED, &key);
                    continue;
                }
                t => now.checked_add(Duration::from_millis(t - now_ms)),
            };
            self.retained.retain(
                vhost,
                RetainedMessage {
                    topic: topic.to_owned(),
                    qos,
                    properties: m.properties,
                    payload: m.body,
                    expires_at,
                },
            );
            retained += 1;
        }
        for (key, value) in store.kv_list(NS_SESSIONS) {
            let restored = key.split_once('\0').zip(SessionState::decode(&value));
            let Some(((vhost, client_id), (state, expiry))) = restored else {
                warn!(%key, "unreadable MQTT session record dropped");
                store.kv_delete(NS_SESSIONS, &key);
                continue;
            };
            self.sessions.restore(
                vhost,
                client_id,
                state,
                expiry.and_then(|d| now.checked_add(d)),
            );
            sessions += 1;
        }
        if retained + sessions > 0 {
            info!(retained, sessions, "MQTT state restored from the store");
        }
        // Durable `$share` group queues whose members are all gone (a crash between the last
        // member leaving and the queue's deletion) would collect messages for nobody.
        for vhost in self.broker.vhosts() {
            let live: Vec<String> = self
                .sessions
                .subscribed_filters(vhost.name())
                .iter()
                .filter_map(|f| Filter::parse(f).ok())
                .filter_map(|f| f.share_group.map(|g| convert::shared_queue(g, f.filter)))
                .collect();
            for q in vhost.queues() {
                let name = q.name();
                if name.starts_with(convert::SHARED_QUEUE_PREFIX) && !live.iter().any(|l| l == name)
                {
                    info!(queue = %name, vhost = %vhost.name(), "shared subscription queue without members deleted");
                    let _ = vhost.delete_queue(name, false, false, None);
                }
            }
        }
    }

    /// Deletes the queue of each `$share/<group>/<filter>` group in `subscriptions` that no
    /// session (connected or stored) subscribes to any more: called when a member leaves
    /// (unsubscribes, or its session ends).
    pub fn drop_unused_groups(&self, vhost: &str, subscriptions: &[SubscriptionRecord]) {
        for rec in subscriptions {
            let Ok(f) = Filter::parse(&rec.filter) else {
                continue;
            };
            let Some(group) = f.share_group else {
                continue;
            };
            if self.sessions.any_subscribed(vhost, &rec.filter) {
                continue;
            }
            if let Some(v) = self.broker.vhost(vhost) {
                let queue = convert::shared_queue(group, f.filter);
                if v.delete_queue(&queue, false, false, None).is_ok() {
                    debug!(%queue, %vhost, "shared subscription group has no member left");
                }
            }
        }
    }

    /// Stores (or, with an empty payload, clears) a retained message; with a store, writes it
    /// there too and returns the ticket to wait for before acknowledging the publish.
    pub fn retain(&self, vhost: &str, message: RetainedMessage, now: Instant) -> Option<Ticket> {
        let store = self.store.as_ref();
        let key = kv_key(vhost, &message.topic);
        let _serial = self.retain_lock.lock();
        if message.payload.is_empty() {
            self.retained.clear(vhost, &message.topic);
            store.map(|s| s.kv_delete(NS_RETAINED, &key));
            return None;
        }
        let ticket = store.map(|s| {
            let expires = message
                .expires_at
                .map_or(0, |at| wall_ms(at, now, SystemTime::now()));
            let m = Message::new(
                "",
                message.topic.clone(),
                message.properties.clone(),
                message.payload.clone(),
            );
            let mut value = Vec::with_capacity(9 + message.payload.len() + 64);
            value.push(message.qos);
            value.extend_from_slice(&expires.to_le_bytes());
            value.extend_from_slice(&encode_message(&m));
            s.kv_put(NS_RETAINED, &key, &value)
        });
        self.retained.retain(vhost, message);
        ticket
    }

    /// Writes a persistent session's state (with a store); `expiry` `Some(ZERO)` (a clean
    /// session) deletes it instead. Returns the ticket to wait for.
    pub fn save_session(
        &self,
        vhost: &str,
        client_id: &str,
        state: &SessionState,
        expiry: Option<Duration>,
    ) -> Option<Ticket> {
        let store = self.store.as_ref()?;
        if expiry == Some(Duration::ZERO) {
            store.kv_delete(NS_SESSIONS, &kv_key(vhost, client_id));
            return None;
        }
        Some(store.kv_put(
            NS_SESSIONS,
            &kv_key(vhost, client_id),
            &state.encode(expiry),
        ))
    }

    /// Deletes a session's record (it ended).
    pub fn forget_session(&self, vhost: &str, client_id: &str) {
        if let Some(store) = &self.store {
            store.kv_delete(NS_SESSIONS, &kv_key(vhost, client_id));
        }
    }

    /// True when `ticket` is durable already; otherwise `sink` is told
    /// ([`DeliverySink::confirmed`]) once it is.
    pub fn when_durable(&self, ticket: Ticket, sink: &Arc<dyn DeliverySink>) -> bool {
        self.durability
            .as_ref()
            .is_none_or(|f| f.when_durable(ticket, sink))
    }

    /// Milliseconds since the epoch of this shared state.
    pub fn now_ms(&self, now: Instant) -> u64 {
        u64::try_from(now.saturating_duration_since(self.epoch).as_millis()).unwrap_or(u64::MAX)
    }

    /// Publishes a will (or any message on behalf of a client that is gone) as `will.user`,
    /// storing it as retained when its retain flag is set. Failures are logged: there is no
    /// client left to tell.
    pub fn publish_will(&self, will: &PendingWill) {
        let Some(user) = self.broker.user(&will.user) else {
            warn!(client = %will.client_id, user = %will.user, "will dropped: user is gone");
            return;
        };
        let conn = match self.broker.open_connection(ConnectionInfo {
            user,
            vhost: will.vhost.clone(),
            peer: "(will)".into(),
            protocol: Protocol::Mqtt,
            client_name: Some(will.client_id.clone()),
        }) {
            Ok(c) => c,
            Err(e) => {
                warn!(client = %will.client_id, error = %e, "will dropped");
                return;
            }
        };
        let result = conn.open_channel(1, Arc::new(NoDeliveries)).and_then(|ch| {
            ch.basic_publish(
                &self.settings.exchange,
                convert::topic_to_key(&will.topic),
                false,
                will.properties.clone(),
                will.payload.clone(),
            )
        });
        match result {
            Ok(_) => {
                if will.retain {
                    self.retain(
                        &will.vhost,
                        RetainedMessage {
                            topic: will.topic.clone(),
                            qos: will.qos,
                            properties: will.properties.clone(),
                            payload: will.payload.clone(),
                            expires_at: None,
                        },
                        Instant::now(),
                    );
                }
                debug!(client = %will.client_id, topic = %will.topic, "will published");
            }
            Err(e) => warn!(client = %will.client_id, error = %e, "will refused"),
        }
        conn.close();
    }

    /// Deletes the queues of a session that ended.
    pub fn delete_session_queues(&self, vhost: &str, client_id: &str) {
        if let Some(v) = self.broker.vhost(vhost) {
            for class in [0, 1] {
                let _ = v.delete_queue(
                    &convert::subscription_queue(client_id, class),
                    false,
                    false,
                    None,
                );
            }
        }
    }

    /// The periodic work: ends expired persistent sessions (deleting their queues), publishes
    /// the delayed wills that are due, drops expired retained messages.
    pub fn sweep(&self, now: Instant) {
        for s in self.sessions.expired(now) {
            debug!(client = %s.client_id, vhost = %s.vhost, "session expired");
            self.forget_session(&s.vhost, &s.client_id);
            self.delete_session_queues(&s.vhost, &s.client_id);
            self.drop_unused_groups(&s.vhost, &s.state.subscriptions);
        }
        for will in self.sessions.due_wills(now) {
            self.publish_will(&will);
        }
        let _serial = self.retain_lock.lock();
        let purged = self.retained.purge_expired(now);
        if let Some(store) = &self.store {
            for (vhost, topic) in purged {
                store.kv_delete(NS_RETAINED, &kv_key(&vhost, &topic));
            }
        }
    }
}
