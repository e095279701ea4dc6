//! What every MQTT connection of one server shares: the settings, the broker, the client-id
//! registry, the retained messages, and the periodic sweep (expired sessions, delayed wills).

use std::sync::Arc;
use std::time::{Duration, Instant};

use tracing::{debug, warn};
use warren_core::{
    Broker, ConnectionInfo, Delivery, DeliverySink, PendingWill, Protocol, RetainedMessage,
    RetainedStore, SessionRegistry,
};

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
#[derive(Debug)]
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
        Arc::new(MqttShared {
            broker,
            settings,
            sessions: SessionRegistry::new(),
            retained: RetainedStore::new(),
            epoch: now,
        })
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
                    self.retained.retain(
                        &will.vhost,
                        RetainedMessage {
                            topic: will.topic.clone(),
                            qos: will.qos,
                            properties: will.properties.clone(),
                            payload: will.payload.clone(),
                            expires_at: None,
                        },
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
            self.delete_session_queues(&s.vhost, &s.client_id);
        }
        for will in self.sessions.due_wills(now) {
            self.publish_will(&will);
        }
        self.retained.purge_expired(now);
    }
}
