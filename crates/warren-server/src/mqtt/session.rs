//! The MQTT connection state machine, sans-IO.
//!
//! [`MqttSession`] turns the bytes an MQTT 3.1 / 3.1.1 / 5.0 client sent into core operations
//! and the core's deliveries into PUBLISH packets. It owns no socket and reads no clock: the
//! driver ([`super::driver`]) feeds it input with [`MqttSession::handle_input`], core events
//! with [`MqttSession::handle_outbox`], the time with [`MqttSession::handle_timeout`], and
//! writes whatever [`MqttSession::transmit_buffer`] holds, in that order after every wake-up.
//! Tests drive it the same way without a socket.
//!
//! Bridging (as RabbitMQ's MQTT plugin): a PUBLISH goes to the configured exchange with the
//! topic as routing key (`/` ↔ `.`); a SUBSCRIBE binds the client's queue
//! `mqtt-subscription-<client id>qos0` (QoS 0 subscriptions, consumed without acks) or
//! `…qos1` (QoS 1 and 2, consumed with acks and `prefetch`) to it. A shared subscription
//! `$share/<group>/<filter>` consumes from one queue per group, so each message reaches one
//! member. Deliveries are checked against the session's own filters (which also applies the
//! MQTT `$`-topic rule, No Local and the subscription identifiers) before they are sent.
//!
//! Phases: waiting for CONNECT → running → closed (the driver flushes and drops the socket).

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::num::NonZeroU16;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use tracing::{debug, info, warn};
use warren_core::{
    AlarmListener, Channel, Connection, ConnectionInfo, CoreError, Delivery, DeliverySink,
    LoginFailure, Mechanism, PendingWill, Protocol, QueueOptions, RetainedMessage, SessionOwner,
    SessionState, SessionToken, SubscriptionRecord, Ticket,
};
use warren_mqtt::topic::Filter;
use warren_mqtt::{
    ConnAck, Connect, Decoder, Disconnect, Packet, PacketId, ProtocolLevel, PubAck, Publish, QoS,
    ReasonCode, RetainHandling, SubAck, Subscribe, UnsubAck, Unsubscribe, Will,
};

use super::convert;
use super::shared::MqttShared;
use crate::amqp::outbox::{AlarmWaker, ChannelSink, OutEvent, Outbox};

/// The core channel number the session uses.
const CHANNEL: u16 = 1;
/// Consumer tag of the QoS 0 queue.
const TAG_QOS0: &str = "qos0";
/// Consumer tag of the QoS 1/2 queue.
const TAG_QOS1: &str = "qos1";
/// Prefix of the consumer tags of shared subscriptions (followed by the full filter).
const TAG_SHARE: &str = "share:";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Connect,
    Running,
    Closed,
}

/// Flags the session when another connection takes its client id over.
#[derive(Debug)]
struct Kick {
    flag: AtomicBool,
    outbox: Arc<Outbox>,
}

impl SessionOwner for Kick {
    fn taken_over(&self) {
        self.flag.store(true, Ordering::Release);
        self.outbox.wake();
    }
}

/// One outgoing QoS 1/2 message waiting for the client.
#[derive(Debug)]
struct Inflight {
    /// The core delivery tag to ack (None for retained messages sent at subscribe).
    tag: Option<u64>,
    qos: QoS,
    /// PUBREC received, PUBREL sent: waiting for PUBCOMP.
    released: bool,
}

/// A message about to be sent to the client.
struct Outgoing {
    topic: String,
    qos: QoS,
    retain: bool,
    dup: bool,
    properties: warren_mqtt::Properties,
    payload: bytes::Bytes,
    tag: Option<u64>,
}

/// A packet that waits for a store ticket, and what goes out right after it.
struct AfterStore {
    ticket: Option<Ticket>,
    packet: Packet,
    then: Vec<Outgoing>,
}

/// One client connection's MQTT state. See the module docs for the calling order.
pub struct MqttSession {
    shared: Arc<MqttShared>,
    peer: SocketAddr,
    phase: Phase,
    decoder: Decoder,
    level: ProtocolLevel,
    out: BytesMut,
    outbox: Arc<Outbox>,
    events: Vec<(u16, OutEvent)>,
    kick: Arc<Kick>,
    core: Option<Arc<Connection>>,
    channel: Option<Arc<Channel>>,
    /// The channel's sink: told when store tickets become durable.
    sink: Option<Arc<dyn DeliverySink>>,
    /// PUBACK / PUBREC / PUBCOMP waiting for their ticket to be on stable storage, in the
    /// order the client's packets came (a later answer never overtakes an earlier one).
    held: VecDeque<(Option<Ticket>, Packet)>,
    /// The highest store ticket known durable.
    durable_upto: u64,
    /// Packets (SUBACK, UNSUBACK, PUBREL) waiting for the session record they stand for to be
    /// on stable storage, with the PUBLISHes (retained messages) that follow them, in order.
    after_store: VecDeque<AfterStore>,
    /// Messages taken over from a transient `$share` group queue this session replaced with a
    /// durable one (see `declare_group_queue`), to send directly.
    backlog: Vec<(Arc<warren_core::Message>, SubscriptionRecord)>,
    /// The store stopped writing (I/O error): held answers whose ticket is not durable are
    /// refused (see `flush_held`).
    store_failed: bool,
    client_id: String,
    vhost: String,
    user: String,
    token: Option<SessionToken>,
    /// How long the session outlives the connection (`None`: forever).
    expiry: Option<Duration>,
    state: SessionState,
    consumers: HashSet<String>,
    prefetch_set: bool,
    will: Option<Will>,
    keep_alive: u16,
    last_recv: Instant,
    connect_deadline: Instant,
    incoming_qos2: HashSet<u16>,
    in_aliases: HashMap<u16, String>,
    inflight: HashMap<u16, Inflight>,
    next_pid: u16,
    out_aliases: HashMap<String, u16>,
    client_alias_max: u16,
    client_max_packet: u32,
    client_receive_max: u16,
    /// Registered with the broker's alarms at the first PUBLISH (connections that never
    /// publish are never blocked, as in RabbitMQ, and pay nothing for it).
    alarm_waker: Option<Arc<dyn AlarmListener>>,
    /// A resource alarm is active and this connection publishes: the socket is not read
    /// (and keep-alive is suspended) until the alarm clears.
    blocked: bool,
}

impl std::fmt::Debug for MqttSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MqttSession")
            .field("peer", &self.peer)
            .field("phase", &self.phase)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

fn core_reason(e: &CoreError) -> ReasonCode {
    match e {
        CoreError::AccessRefused { .. } => ReasonCode::NotAuthorized,
        CoreError::MessageTooLarge { .. } => ReasonCode::PacketTooLarge,
        _ => ReasonCode::UnspecifiedError,
    }
}

fn qos_of(n: u8) -> QoS {
    QoS::from_u8(n.min(2)).unwrap_or(QoS::AtMostOnce)
}

impl MqttSession {
    /// A connection accepted at `now` from `peer`.
    pub fn new(shared: Arc<MqttShared>, peer: SocketAddr, now: Instant) -> MqttSession {
        let outbox = Outbox::new(shared.settings.outbox_limit);
        let mut decoder = Decoder::new();
        decoder.set_max_packet_size(shared.settings.max_packet_size);
        let connect_deadline = now + shared.settings.connect_timeout;
        MqttSession {
            kick: Arc::new(Kick {
                flag: AtomicBool::new(false),
                outbox: Arc::clone(&outbox),
            }),
            shared,
            peer,
            phase: Phase::Connect,
            decoder,
            level: ProtocolLevel::V3_1_1,
            out: BytesMut::new(),
            outbox,
            events: Vec::new(),
            core: None,
            channel: None,
            sink: None,
            held: VecDeque::new(),
            durable_upto: 0,
            after_store: VecDeque::new(),
            backlog: Vec::new(),
            store_failed: false,
            client_id: String::new(),
            vhost: String::new(),
            user: String::new(),
            token: None,
            expiry: Some(Duration::ZERO),
            state: SessionState::default(),
            consumers: HashSet::new(),
            prefetch_set: false,
            will: None,
            keep_alive: 0,
            last_recv: now,
            connect_deadline,
            incoming_qos2: HashSet::new(),
            in_aliases: HashMap::new(),
            inflight: HashMap::new(),
            next_pid: 1,
            out_aliases: HashMap::new(),
            client_alias_max: 0,
            client_max_packet: u32::MAX,
            client_receive_max: u16::MAX,
            alarm_waker: None,
            blocked: false,
        }
    }

    /// The outbox the core delivers into (the driver waits on it).
    pub fn outbox(&self) -> &Arc<Outbox> {
        &self.outbox
    }

    /// Bytes to send to the client (the driver takes them with `split()`).
    pub fn transmit_buffer(&mut self) -> &mut BytesMut {
        &mut self.out
    }

    /// True once the connection is done: flush and drop the socket.
    pub fn is_closed(&self) -> bool {
        self.phase == Phase::Closed
    }

    /// True after a successful CONNECT, until closed.
    pub fn is_connected(&self) -> bool {
        self.phase == Phase::Running
    }

    /// The client id (assigned by the server when the client sent none), once connected.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The protocol level the client speaks (3.1.1 until CONNECT says otherwise).
    pub fn level(&self) -> ProtocolLevel {
        self.level
    }

    /// Number of outgoing QoS 1/2 messages the client has not acknowledged.
    pub fn inflight_count(&self) -> usize {
        self.inflight.len()
    }

    fn v5(&self) -> bool {
        self.level.is_v5()
    }

    fn send(&mut self, packet: &Packet) {
        if let Err(e) = packet.encode(self.level, &mut self.out) {
            warn!(peer = %self.peer, error = %e, "cannot encode {}", packet.packet_type());
        }
    }

    /// Consumes every whole packet in `buf`.
    pub fn handle_input(&mut self, buf: &mut BytesMut, now: Instant) {
        if !buf.is_empty() {
            self.last_recv = now;
        }
        while self.phase != Phase::Closed {
            match self.decoder.decode(buf) {
                Ok(Some(packet)) => self.handle_packet(packet, now),
                Ok(None) => break,
                Err(e) => {
                    debug!(peer = %self.peer, error = %e, "bad packet");
                    buf.clear();
                    if self.phase == Phase::Connect {
                        match e.connack_return_code() {
                            Some(code) => {
                                // 3.x: protocol level we do not speak. Answer as 3.1.1.
                                self.send(&Packet::ConnAck(ConnAck {
                                    session_present: false,
                                    reason_code: code.reason_code(),
                                    properties: warren_mqtt::Properties::default(),
                                }));
                            }
                            None if self.decoder.level().is_some_and(ProtocolLevel::is_v5) => {
                                self.connack_refuse(e.reason_code());
                            }
                            None => {}
                        }
                        self.phase = Phase::Closed;
                    } else {
                        self.fail(e.reason_code(), now);
                    }
                    break;
                }
            }
        }
        // What was read is handled; a publisher under an alarm reads no more.
        self.check_alarms(now);
    }

    /// Sends DISCONNECT with `reason` (5.0) and closes as an abnormal end (the will goes out).
    fn fail(&mut self, reason: ReasonCode, now: Instant) {
        if self.phase == Phase::Running && self.v5() {
            self.send(&Packet::Disconnect(Disconnect {
                reason_code: reason,
                properties: warren_mqtt::Properties::default(),
            }));
        }
        info!(peer = %self.peer, client = %self.client_id, %reason, "closing MQTT connection");
        self.close(true, now);
    }

    fn handle_packet(&mut self, packet: Packet, now: Instant) {
        if self.phase == Phase::Connect {
            match packet {
                Packet::Connect(c) => self.on_connect(c, now),
                _ => self.phase = Phase::Closed,
            }
            return;
        }
        match packet {
            Packet::Connect(_) => self.fail(ReasonCode::ProtocolError, now),
            Packet::Publish(p) => self.on_publish(p, now),
            Packet::PubAck(a) => self.on_puback(a.packet_id),
            Packet::PubRec(a) => self.on_pubrec(a),
            Packet::PubRel(a) => self.on_pubrel(a.packet_id),
            Packet::PubComp(a) => self.on_pubcomp(a.packet_id),
            Packet::Subscribe(s) => self.on_subscribe(s, now),
            Packet::Unsubscribe(u) => self.on_unsubscribe(u),
            Packet::PingReq => self.send(&Packet::PingResp),
            Packet::Disconnect(d) => self.on_disconnect(d, now),
            Packet::Auth(_) => self.fail(ReasonCode::ProtocolError, now),
            Packet::ConnAck(_) | Packet::SubAck(_) | Packet::UnsubAck(_) | Packet::PingResp => {
                self.fail(ReasonCode::ProtocolError, now)
            }
        }
    }

    // ---- CONNECT -----------------------------------------------------------------------------

    fn connack_refuse(&mut self, reason: ReasonCode) {
        self.send(&Packet::ConnAck(ConnAck {
            session_present: false,
            reason_code: reason,
            properties: warren_mqtt::Properties::default(),
        }));
        self.phase = Phase::Closed;
    }

    fn on_connect(&mut self, c: Box<Connect>, now: Instant) {
        self.level = c.level;
        self.decoder.set_level(c.level);
        let v5 = c.level.is_v5();
        let settings = self.shared.settings.clone();
        if v5 && c.properties.authentication_method.is_some() {
            return self.connack_refuse(ReasonCode::BadAuthenticationMethod);
        }
        let mut assigned = None;
        let client_id = if c.client_id.is_empty() {
            if c.level == ProtocolLevel::V3_1 || (!v5 && !c.clean_start) {
                return self.connack_refuse(ReasonCode::ClientIdentifierNotValid);
            }
            let id = format!(
                "warren-{}",
                warren_core::generate_queue_name().trim_start_matches("amq.gen-")
            );
            if v5 {
                assigned = Some(id.clone());
            }
            id
        } else {
            c.client_id.clone()
        };
        // Credentials: "vhost:user" picks a vhost; no user name means the default user.
        let (vhost, user, pass) = match &c.username {
            Some(name) => {
                let (vhost, user) = match name.split_once(':') {
                    Some((v, u)) if !v.is_empty() => (v.to_owned(), u.to_owned()),
                    _ => (settings.vhost.clone(), name.clone()),
                };
                let pass = c
                    .password
                    .as_ref()
                    .map(|p| String::from_utf8_lossy(p).into_owned())
                    .unwrap_or_default();
                (vhost, user, pass)
            }
            None if settings.allow_anonymous => (
                settings.vhost.clone(),
                settings.default_user.clone(),
                settings.default_pass.clone(),
            ),
            None => return self.connack_refuse(ReasonCode::BadUserNameOrPassword),
        };
        let broker = Arc::clone(&self.shared.broker);
        let user_rec =
            match broker.authenticate(Mechanism::Plain, &user, &pass, self.peer.ip().is_loopback())
            {
                Ok(u) => u,
                Err(e) => {
                    info!(peer = %self.peer, %user, error = %e, "MQTT login refused");
                    let reason = match e {
                        CoreError::LoginRefused {
                            reason: LoginFailure::LoopbackOnly,
                            ..
                        } => ReasonCode::NotAuthorized,
                        _ => ReasonCode::BadUserNameOrPassword,
                    };
                    return self.connack_refuse(reason);
                }
            };
        let conn = match broker.open_connection(ConnectionInfo {
            user: user_rec,
            vhost: vhost.clone(),
            peer: self.peer.to_string(),
            protocol: Protocol::Mqtt,
            client_name: Some(client_id.clone()),
        }) {
            Ok(c) => c,
            Err(e) => {
                info!(peer = %self.peer, %user, %vhost, error = %e, "MQTT vhost access refused");
                return self.connack_refuse(ReasonCode::NotAuthorized);
            }
        };
        // The broker (management) may close it: we hear it through the outbox.
        conn.set_close_listener(Arc::clone(&self.outbox) as Arc<dyn warren_core::CloseListener>);
        let sink: Arc<dyn DeliverySink> = Arc::new(ChannelSink {
            channel: CHANNEL,
            outbox: Arc::clone(&self.outbox),
        });
        self.sink = Some(Arc::clone(&sink));
        let channel = match conn.open_channel(CHANNEL, sink) {
            Ok(ch) => ch,
            Err(_) => return self.connack_refuse(ReasonCode::ServerUnavailable),
        };
        // Session lifetime after the connection.
        let mut server_expiry = None;
        self.expiry = if v5 {
            match c.properties.session_expiry_interval.unwrap_or(0) {
                0 => Some(Duration::ZERO),
                asked => {
                    let granted = asked.min(settings.max_session_expiry);
                    if granted != asked {
                        server_expiry = Some(granted);
                    }
                    Some(Duration::from_secs(granted.into()))
                }
            }
        } else if c.clean_start {
            Some(Duration::ZERO)
        } else {
            settings.subscription_ttl
        };
        let kick: Arc<dyn SessionOwner> = self.kick.clone();
        let claimed = self
            .shared
            .sessions
            .claim(&vhost, &client_id, c.clean_start, kick, now);
        if claimed.discarded {
            self.shared.delete_session_queues(&vhost, &client_id);
            self.shared
                .drop_unused_groups(&vhost, &claimed.discarded_state.subscriptions);
        }
        self.client_id = client_id;
        self.vhost = vhost;
        self.user = user;
        self.token = Some(claimed.token);
        self.incoming_qos2 = claimed.state.incoming_qos2.iter().copied().collect();
        self.state = claimed.state;
        self.save_session();
        self.core = Some(conn);
        self.channel = Some(channel);
        // Keep-alive, lowered to the server's cap.
        let mut server_keep_alive = None;
        self.keep_alive = c.keep_alive;
        if settings.max_keepalive != 0
            && (c.keep_alive == 0 || c.keep_alive > settings.max_keepalive)
        {
            self.keep_alive = settings.max_keepalive;
            server_keep_alive = Some(settings.max_keepalive);
        }
        if v5 {
            self.client_receive_max = c.properties.receive_maximum.unwrap_or(u16::MAX);
            self.client_max_packet = c.properties.maximum_packet_size.unwrap_or(u32::MAX);
            self.client_alias_max = c.properties.topic_alias_maximum.unwrap_or(0);
        }
        self.will = c.will;
        self.phase = Phase::Running;
        let mut props = warren_mqtt::Properties::default();
        if v5 {
            props.assigned_client_identifier = assigned;
            props.server_keep_alive = server_keep_alive;
            props.session_expiry_interval = server_expiry;
            props.receive_maximum = Some(settings.receive_maximum);
            props.topic_alias_maximum = Some(settings.topic_alias_maximum);
            props.maximum_packet_size = Some(settings.max_packet_size);
            props.retain_available = Some(true);
            props.wildcard_subscription_available = Some(true);
            props.subscription_identifier_available = Some(true);
            props.shared_subscription_available = Some(true);
        }
        info!(peer = %self.peer, client = %self.client_id, level = %self.level,
              session_present = claimed.session_present, "MQTT client connected");
        self.send(&Packet::ConnAck(ConnAck {
            session_present: claimed.session_present,
            reason_code: ReasonCode::Success,
            properties: props,
        }));
        // MQTT §4.4: PUBREL again for the QoS 2 messages released but not completed. (The
        // unacknowledged PUBLISHes come again from the session's queues, redelivered: DUP=1.)
        for id in self.state.outgoing_released.clone() {
            if let Some(pid) = NonZeroU16::new(id) {
                self.inflight.insert(
                    id,
                    Inflight {
                        tag: None,
                        qos: QoS::ExactlyOnce,
                        released: true,
                    },
                );
                self.send(&Packet::PubRel(PubAck::new(pid)));
            }
        }
        // Resume the stored subscriptions: their queues kept collecting messages.
        let subs = self.state.subscriptions.clone();
        for rec in subs {
            if let Err(e) = self.bind(&rec, None) {
                warn!(client = %self.client_id, filter = %rec.filter, error = %e,
                      "cannot resume subscription");
            }
        }
        for o in self.take_backlog(now) {
            self.send_publish(o);
        }
    }

    // ---- PUBLISH from the client -------------------------------------------------------------

    fn on_publish(&mut self, mut p: Publish, now: Instant) {
        if self.alarm_waker.is_none() {
            let waker: Arc<dyn AlarmListener> = Arc::new(AlarmWaker(Arc::clone(&self.outbox)));
            self.shared.broker.watch_alarms(&waker);
            self.alarm_waker = Some(waker);
        }
        if self.v5() {
            if let Some(alias) = p.properties.topic_alias {
                if alias == 0 || alias > self.shared.settings.topic_alias_maximum {
                    return self.fail(ReasonCode::TopicAliasInvalid, now);
                }
                if p.topic.is_empty() {
                    match self.in_aliases.get(&alias) {
                        Some(t) => p.topic = t.clone(),
                        None => return self.fail(ReasonCode::ProtocolError, now),
                    }
                } else {
                    self.in_aliases.insert(alias, p.topic.clone());
                }
                p.properties.topic_alias = None;
            }
        }
        if p.topic.is_empty() {
            return self.fail(ReasonCode::ProtocolError, now);
        }
        if !p.properties.subscription_identifiers.is_empty() {
            return self.fail(ReasonCode::ProtocolError, now);
        }
        if p.qos == QoS::ExactlyOnce {
            let Some(id) = p.packet_id else {
                return self.fail(ReasonCode::ProtocolError, now);
            };
            if self.incoming_qos2.contains(&id.get()) {
                // A resend of a message we already have: acknowledge, never route it twice.
                return self.reply(Packet::PubRec(PubAck::new(id)), None);
            }
        }
        // Receive Maximum (MQTT 5 §3.3.4): QoS 1 and 2 publishes not yet answered with PUBACK
        // or PUBCOMP — QoS 2 ids not yet released, plus PUBACKs held for the disk.
        if p.qos != QoS::AtMostOnce {
            let held_pubacks = self
                .held
                .iter()
                .filter(|(_, packet)| matches!(packet, Packet::PubAck(_)))
                .count();
            let in_flight = self.incoming_qos2.len() + held_pubacks;
            if in_flight >= usize::from(self.shared.settings.receive_maximum) {
                return self.fail(ReasonCode::ReceiveMaximumExceeded, now);
            }
        }
        let now_ms = self.shared.now_ms(now);
        let props = convert::inbound_properties(&convert::Inbound {
            qos: p.qos.as_u8(),
            retain: p.retain,
            dup: p.dup,
            client_id: &self.client_id,
            properties: &p.properties,
            now_ms,
        });
        let Some(channel) = self.channel.clone() else {
            return;
        };
        let result = channel.basic_publish(
            &self.shared.settings.exchange,
            convert::topic_to_key(&p.topic),
            false,
            props.clone(),
            p.payload.clone(),
        );
        // The store ticket the answer waits for: the message's, the retained record's.
        let mut ticket = result.as_ref().ok().and_then(|o| o.durable);
        let reason = match &result {
            Ok(outcome) if outcome.policy_rejected.is_some() => {
                // Refused by the exchange's policy (Car2Home validation) and dead-lettered, not
                // retained: MQTT 5 says so at QoS 1/2; 3.x has no way to, and the connection
                // stays up.
                info!(
                    client = %self.client_id,
                    topic = %p.topic,
                    reason = outcome.policy_rejected.unwrap_or_default(),
                    "publish refused by the exchange policy"
                );
                ReasonCode::PayloadFormatInvalid
            }
            Ok(outcome) => {
                if p.retain {
                    let retained = self.shared.retain(
                        &self.vhost,
                        RetainedMessage {
                            topic: p.topic.clone(),
                            qos: p.qos.as_u8(),
                            properties: props,
                            payload: p.payload.clone(),
                            expires_at: p
                                .properties
                                .message_expiry_interval
                                .map(|s| now + Duration::from_secs(s.into())),
                        },
                        now,
                    );
                    ticket = ticket.max(retained);
                }
                if outcome.routed == 0 {
                    ReasonCode::NoMatchingSubscribers
                } else {
                    ReasonCode::Success
                }
            }
            Err(e) => {
                info!(client = %self.client_id, topic = %p.topic, error = %e, "publish refused");
                if !self.v5() || p.qos == QoS::AtMostOnce {
                    // 3.x has no way to refuse a publish: close, as RabbitMQ does.
                    return self.fail(core_reason(e), now);
                }
                core_reason(e)
            }
        };
        let reason = if self.v5() {
            reason
        } else {
            ReasonCode::Success
        };
        let ack = |id| PubAck {
            packet_id: id,
            reason_code: reason,
            properties: warren_mqtt::Properties::default(),
        };
        match (p.qos, p.packet_id) {
            (QoS::AtLeastOnce, Some(id)) => self.reply(Packet::PubAck(ack(id)), ticket),
            (QoS::ExactlyOnce, Some(id)) => {
                if !reason.is_error() {
                    self.incoming_qos2.insert(id.get());
                    ticket = ticket.max(self.save_qos2());
                }
                self.reply(Packet::PubRec(ack(id)), ticket);
            }
            _ => {}
        }
    }

    /// Sends an answer to a client's publish once `ticket` (if any) is on stable storage,
    /// keeping the answers in order.
    fn reply(&mut self, packet: Packet, ticket: Option<Ticket>) {
        let ticket = ticket.filter(|t| {
            t.0 > self.durable_upto
                && !self
                    .sink
                    .as_ref()
                    .is_none_or(|sink| self.shared.when_durable(*t, sink))
        });
        if ticket.is_none() && self.held.is_empty() {
            self.send(&packet);
        } else {
            self.held.push_back((ticket, packet));
        }
    }

    /// Sends the held answers whose ticket is now durable, in order. Once the store has
    /// failed, the others never will be: MQTT 5 gets PUBACK / PUBREC 0x80 (unspecified
    /// error); 3.x, which has no negative answer, and a PUBCOMP (which has none either) get
    /// the connection closed without the answer, so the client publishes again later.
    fn flush_held(&mut self, now: Instant) {
        while let Some((ticket, _)) = self.held.front() {
            let waiting = ticket.is_some_and(|t| t.0 > self.durable_upto);
            if waiting && !self.store_failed {
                break;
            }
            let Some((_, mut packet)) = self.held.pop_front() else {
                break;
            };
            if waiting {
                match &mut packet {
                    Packet::PubAck(a) | Packet::PubRec(a) if self.v5() => {
                        if !a.reason_code.is_error() {
                            a.reason_code = ReasonCode::UnspecifiedError;
                        }
                        // A refused QoS 2 publish is over: a resend is a new publish.
                        if let Packet::PubRec(a) = &packet {
                            self.incoming_qos2.remove(&a.packet_id.get());
                        }
                    }
                    _ => {
                        warn!(client = %self.client_id,
                            "the message store failed: closing without acknowledging");
                        self.held.clear();
                        return self.fail(ReasonCode::UnspecifiedError, now);
                    }
                }
            }
            self.send(&packet);
        }
    }

    /// Number of answers (PUBACK, PUBREC, PUBCOMP) waiting for the store.
    pub fn held_count(&self) -> usize {
        self.held.len()
    }

    fn save_qos2(&mut self) -> Option<Ticket> {
        let ids: Vec<u16> = self.incoming_qos2.iter().copied().collect();
        self.update_state(|s| s.incoming_qos2 = ids)
    }

    fn on_pubrel(&mut self, id: PacketId) {
        let known = self.incoming_qos2.remove(&id.get());
        let ticket = if known { self.save_qos2() } else { None };
        self.reply(
            Packet::PubComp(PubAck {
                packet_id: id,
                reason_code: if known || !self.v5() {
                    ReasonCode::Success
                } else {
                    ReasonCode::PacketIdentifierNotFound
                },
                properties: warren_mqtt::Properties::default(),
            }),
            ticket,
        );
    }

    // ---- acknowledgements of our PUBLISHes ---------------------------------------------------

    fn ack_core(&self, tag: Option<u64>) {
        if let (Some(tag), Some(ch)) = (tag, &self.channel) {
            if let Err(e) = ch.basic_ack(tag, false) {
                debug!(client = %self.client_id, error = %e, "ack failed");
            }
        }
    }

    fn on_puback(&mut self, id: PacketId) {
        if let Some(f) = self.inflight.remove(&id.get()) {
            self.ack_core(f.tag);
        }
    }

    fn on_pubrec(&mut self, a: PubAck) {
        let id = a.packet_id;
        let found = match self.inflight.get_mut(&id.get()) {
            Some(f) if f.qos == QoS::ExactlyOnce => {
                let tag = f.tag.take();
                f.released = true;
                if a.reason_code.is_error() {
                    self.inflight.remove(&id.get());
                }
                Some(tag)
            }
            _ => None,
        };
        match found {
            Some(tag) if a.reason_code.is_error() => self.ack_core(tag),
            Some(tag) => {
                // The client owns the message now: remember that PUBREL is due (sent again
                // when the session resumes, also after a restart), then settle it in the
                // queue. In that order, a crash between the two repeats the message rather
                // than losing it. PUBREL waits until both are on disk (the record written
                // again after the ack gives the ticket that covers the ack), so a client
                // never completes a message the broker could still deliver again.
                let mut ticket = self.update_state(|st| {
                    if !st.outgoing_released.contains(&id.get()) {
                        st.outgoing_released.push(id.get());
                    }
                });
                if ticket.is_some() && tag.is_some() {
                    self.ack_core(tag);
                    ticket = self.update_state(|_| {});
                } else {
                    self.ack_core(tag);
                }
                self.send_after_store(ticket, Packet::PubRel(PubAck::new(id)), Vec::new());
            }
            None => self.send(&Packet::PubRel(PubAck {
                packet_id: id,
                reason_code: if self.v5() {
                    ReasonCode::PacketIdentifierNotFound
                } else {
                    ReasonCode::Success
                },
                properties: warren_mqtt::Properties::default(),
            })),
        }
    }

    fn on_pubcomp(&mut self, id: PacketId) {
        self.inflight.remove(&id.get());
        if self.state.outgoing_released.contains(&id.get()) {
            self.update_state(|st| st.outgoing_released.retain(|&r| r != id.get()));
        }
    }

    // ---- SUBSCRIBE / UNSUBSCRIBE -------------------------------------------------------------

    /// Changes the session state (registry and, for a persistent session, the store); returns
    /// the store ticket of the new record.
    fn update_state(&mut self, change: impl FnOnce(&mut SessionState)) -> Option<Ticket> {
        let token = self.token?;
        let key = (self.vhost.clone(), self.client_id.clone());
        let mut copy = self.state.clone();
        change(&mut copy);
        let shared = &self.shared;
        let mut ticket = None;
        // Saved under the registry's lock: a takeover's record is never overwritten by the
        // connection it replaced.
        shared.sessions.update(&key, token, |s| {
            *s = copy.clone();
            ticket = shared.save_session(&key.0, &key.1, s, self.expiry);
        });
        self.state = copy;
        ticket
    }

    /// Writes the session's record again (while this connection owns it).
    fn save_session(&self) {
        if let Some(token) = self.token {
            let key = (self.vhost.clone(), self.client_id.clone());
            let shared = &self.shared;
            shared.sessions.update(&key, token, |s| {
                shared.save_session(&key.0, &key.1, s, self.expiry);
            });
        }
    }

    /// Options of a subscription queue: a persistent session's queues are durable (their
    /// persistent messages survive a restart), a clean session's are not.
    fn queue_options(&self, auto_delete: bool) -> QueueOptions {
        QueueOptions::default()
            .auto_delete(auto_delete)
            .durable(!auto_delete && self.expiry != Some(Duration::ZERO))
    }

    /// Puts one subscription in place: queue, binding, consumer. `previous` is the record it
    /// replaces (unbound from its old queue when the QoS class changed).
    fn bind(
        &mut self,
        rec: &SubscriptionRecord,
        previous: Option<&SubscriptionRecord>,
    ) -> Result<(), CoreError> {
        let Some(ch) = self.channel.clone() else {
            return Ok(());
        };
        let exchange = self.shared.settings.exchange.clone();
        let table = warren_core::FieldTable::new();
        let filter = Filter::parse(&rec.filter).map_err(|_| CoreError::ChannelClosed)?;
        let pattern = convert::filter_to_pattern(filter.filter);
        if let Some(group) = filter.share_group {
            let queue = convert::shared_queue(group, filter.filter);
            self.declare_group_queue(&ch, &queue, rec)?;
            ch.queue_bind(&queue, &exchange, &pattern, &table)?;
            let tag = format!("{TAG_SHARE}{}", rec.filter);
            if self.consumers.remove(&tag) {
                ch.basic_cancel(&tag)?;
            }
            if rec.qos > 0 {
                self.ensure_prefetch(&ch)?;
            }
            ch.basic_consume(&queue, &tag, rec.qos == 0, false, |_| {})?;
            self.consumers.insert(tag);
            return Ok(());
        }
        let class = u8::from(rec.qos > 0);
        if let Some(prev) = previous {
            let prev_class = u8::from(prev.qos > 0);
            if prev_class != class {
                let old = convert::subscription_queue(&self.client_id, prev_class);
                ch.queue_unbind(&old, &exchange, &pattern, &table)?;
            }
        }
        let queue = convert::subscription_queue(&self.client_id, class);
        match ch.queue_declare(&queue, self.queue_options(false), false) {
            // Declared durable by a persistent connection of the session and now resumed by
            // a clean one (or the other way round): keep the queue and its messages.
            Err(CoreError::Inequivalent { .. }) => {
                ch.queue_declare(&queue, self.queue_options(false), true)?;
            }
            other => {
                other?;
            }
        }
        ch.queue_bind(&queue, &exchange, &pattern, &table)?;
        let tag = if class == 0 { TAG_QOS0 } else { TAG_QOS1 };
        if !self.consumers.contains(tag) {
            if class == 1 {
                self.ensure_prefetch(&ch)?;
            }
            ch.basic_consume(&queue, tag, class == 0, false, |_| {})?;
            self.consumers.insert(tag.to_owned());
        }
        Ok(())
    }

    /// Declares the queue of a `$share` group. A persistent member's is durable (so are the
    /// QoS 1/2 messages waiting in it: they survive a restart, for whichever member comes
    /// first) and is deleted by the front when the group's last member leaves
    /// ([`MqttShared::drop_unused_groups`]); a group of clean sessions only has a transient,
    /// auto-delete queue. A persistent session joining such a group replaces the transient
    /// queue with a durable one: it takes over the messages waiting in the old queue
    /// (`backlog`), and the other members re-attach when their consumer is cancelled.
    fn declare_group_queue(
        &mut self,
        ch: &Channel,
        queue: &str,
        rec: &SubscriptionRecord,
    ) -> Result<(), CoreError> {
        let persistent = self.expiry != Some(Duration::ZERO);
        match ch.queue_declare(queue, self.queue_options(!persistent), false) {
            Ok(_) => Ok(()),
            // A durable group queue: a clean member uses it as it is.
            Err(CoreError::Inequivalent { .. }) if !persistent => ch
                .queue_declare(queue, self.queue_options(true), true)
                .map(drop),
            Err(CoreError::Inequivalent { .. }) => {
                while let Some(got) = ch.basic_get(queue, true)? {
                    self.backlog.push((got.message, rec.clone()));
                }
                ch.queue_delete(queue, false, false)?;
                info!(client = %self.client_id, %queue, taken = self.backlog.len(),
                      "shared subscription queue made durable for a persistent member");
                ch.queue_declare(queue, self.queue_options(false), false)
                    .map(drop)
            }
            Err(e) => Err(e),
        }
    }

    /// The messages taken over from a replaced group queue, as PUBLISHes to this client.
    fn take_backlog(&mut self, now: Instant) -> Vec<Outgoing> {
        let now_ms = self.shared.now_ms(now);
        let v5 = self.v5();
        std::mem::take(&mut self.backlog)
            .into_iter()
            .filter_map(|(msg, rec)| {
                let info = convert::outbound(&msg);
                if warren_mqtt::topic::validate_topic_name(&info.topic).is_err()
                    || info.expires_at.is_some_and(|at| at <= now_ms)
                {
                    return None;
                }
                let mut properties = if v5 {
                    convert::outbound_properties(&msg, now_ms, info.expires_at)
                } else {
                    warren_mqtt::Properties::default()
                };
                properties.subscription_identifiers = rec.identifier.into_iter().collect();
                Some(Outgoing {
                    topic: info.topic,
                    qos: qos_of(info.qos.map_or(rec.qos, |q| q.min(rec.qos))),
                    retain: info.retain && rec.retain_as_published,
                    dup: false,
                    properties,
                    payload: msg.body.clone(),
                    tag: None,
                })
            })
            .collect()
    }

    fn ensure_prefetch(&mut self, ch: &Channel) -> Result<(), CoreError> {
        if !self.prefetch_set {
            let configured = self.shared.settings.prefetch;
            let limit = match configured {
                0 => self.client_receive_max,
                n => n.min(self.client_receive_max),
            };
            ch.basic_qos(0, limit, false)?;
            self.prefetch_set = true;
        }
        Ok(())
    }

    fn on_subscribe(&mut self, s: Subscribe, now: Instant) {
        let identifier = s.properties.subscription_identifiers.first().copied();
        let mut codes = Vec::with_capacity(s.subscriptions.len());
        let mut retained = Vec::new();
        // The store ticket of the session record with the new subscriptions.
        let mut ticket = None;
        for sub in &s.subscriptions {
            let parsed = match Filter::parse(&sub.filter) {
                Ok(f) => f,
                Err(e) => {
                    debug!(client = %self.client_id, filter = %sub.filter, error = %e, "bad filter");
                    codes.push(ReasonCode::TopicFilterInvalid);
                    continue;
                }
            };
            if parsed.is_shared() && sub.options.no_local && self.v5() {
                return self.fail(ReasonCode::ProtocolError, now);
            }
            let rec = SubscriptionRecord {
                filter: sub.filter.clone(),
                qos: sub.options.qos.as_u8(),
                no_local: sub.options.no_local,
                retain_as_published: sub.options.retain_as_published,
                identifier,
            };
            let previous = self
                .state
                .subscriptions
                .iter()
                .find(|r| r.filter == rec.filter)
                .cloned();
            match self.bind(&rec, previous.as_ref()) {
                Ok(()) => {
                    let existed = previous.is_some();
                    ticket = ticket.max(self.update_state(|st| {
                        st.upsert(rec.clone());
                    }));
                    codes.push(ReasonCode::granted(sub.options.qos));
                    let send_retained = !parsed.is_shared()
                        && match sub.options.retain_handling {
                            RetainHandling::SendAtSubscribe => true,
                            RetainHandling::SendAtSubscribeIfNew => !existed,
                            RetainHandling::DoNotSend => false,
                        };
                    if send_retained {
                        for m in self
                            .shared
                            .retained
                            .matching(&self.vhost, parsed.filter, now)
                        {
                            retained.push((m, rec.clone()));
                        }
                    }
                }
                Err(e) => {
                    info!(client = %self.client_id, filter = %sub.filter, error = %e,
                          "subscribe refused");
                    codes.push(core_reason(&e));
                }
            }
        }
        let now_ms = self.shared.now_ms(now);
        let mut then = Vec::with_capacity(retained.len());
        for (m, rec) in retained {
            let msg = warren_core::Message::new("", "", m.properties.clone(), m.payload.clone());
            let info = convert::outbound(&msg);
            let mut properties = convert::outbound_properties(&msg, now_ms, info.expires_at);
            if let Some(id) = rec.identifier {
                properties.subscription_identifiers = vec![id];
            }
            then.push(Outgoing {
                topic: m.topic.clone(),
                qos: qos_of(m.qos.min(rec.qos)),
                retain: true,
                dup: false,
                properties,
                payload: m.payload.clone(),
                tag: None,
            });
        }
        then.extend(self.take_backlog(now));
        // A persistent session's SUBACK promises the subscription survives a crash: it goes
        // out once the session record is on disk, the retained messages right after it.
        let suback = Packet::SubAck(SubAck {
            packet_id: s.packet_id,
            properties: warren_mqtt::Properties::default(),
            reason_codes: codes,
        });
        self.send_after_store(ticket, suback, then);
    }

    /// `ticket` unless it is durable already; when it is not, the sink is told
    /// ([`DeliverySink::confirmed`]) once it is.
    fn not_yet_durable(&self, ticket: Option<Ticket>) -> Option<Ticket> {
        ticket.filter(|t| {
            t.0 > self.durable_upto
                && !self
                    .sink
                    .as_ref()
                    .is_none_or(|sink| self.shared.when_durable(*t, sink))
        })
    }

    /// Sends `packet`, then the PUBLISHes `then`, once `ticket` (the session record the
    /// packet stands for) is on stable storage: at once without a ticket, but never before
    /// the packets already waiting.
    fn send_after_store(&mut self, ticket: Option<Ticket>, packet: Packet, then: Vec<Outgoing>) {
        let ticket = self.not_yet_durable(ticket);
        if ticket.is_none() && self.after_store.is_empty() {
            self.send(&packet);
            for o in then {
                self.send_publish(o);
            }
        } else {
            self.after_store.push_back(AfterStore {
                ticket,
                packet,
                then,
            });
        }
    }

    /// Sends the packets of `after_store` whose ticket is durable now, in order. If the store
    /// failed, the rest never will be: the connection closes without them (the client
    /// subscribes again after reconnecting).
    fn flush_after_store(&mut self, now: Instant) {
        while let Some(first) = self.after_store.front() {
            if first.ticket.is_some_and(|t| t.0 > self.durable_upto) {
                if self.store_failed {
                    warn!(client = %self.client_id,
                        "the message store failed: closing without SUBACK / UNSUBACK / PUBREL");
                    self.after_store.clear();
                    return self.fail(ReasonCode::UnspecifiedError, now);
                }
                break;
            }
            let Some(next) = self.after_store.pop_front() else {
                break;
            };
            self.send(&next.packet);
            for o in next.then {
                self.send_publish(o);
            }
        }
    }

    /// Number of SUBACK / UNSUBACK / PUBREL packets waiting for the store.
    pub fn after_store_count(&self) -> usize {
        self.after_store.len()
    }

    fn on_unsubscribe(&mut self, u: Unsubscribe) {
        let mut codes = Vec::with_capacity(u.filters.len());
        let exchange = self.shared.settings.exchange.clone();
        let table = warren_core::FieldTable::new();
        let mut ticket = None;
        for filter in &u.filters {
            let Some(rec) = self
                .state
                .subscriptions
                .iter()
                .find(|r| &r.filter == filter)
                .cloned()
            else {
                codes.push(ReasonCode::NoSubscriptionExisted);
                continue;
            };
            ticket = ticket.max(self.update_state(|st| {
                st.remove(filter);
            }));
            let Some(ch) = self.channel.clone() else {
                codes.push(ReasonCode::UnspecifiedError);
                continue;
            };
            let result = match Filter::parse(filter) {
                Ok(f) if f.is_shared() => {
                    // Other members may still use the group's queue: stop consuming; the
                    // queue goes with the group's last member.
                    let tag = format!("{TAG_SHARE}{filter}");
                    self.consumers.remove(&tag);
                    let cancelled = ch.basic_cancel(&tag).map(drop);
                    self.shared
                        .drop_unused_groups(&self.vhost, std::slice::from_ref(&rec));
                    cancelled
                }
                Ok(f) => {
                    let queue = convert::subscription_queue(&self.client_id, u8::from(rec.qos > 0));
                    ch.queue_unbind(
                        &queue,
                        &exchange,
                        &convert::filter_to_pattern(f.filter),
                        &table,
                    )
                }
                Err(_) => Ok(()),
            };
            codes.push(match result {
                Ok(()) => ReasonCode::Success,
                Err(e) => core_reason(&e),
            });
        }
        if !self.v5() {
            codes.clear();
        }
        // As SUBACK: a persistent session's UNSUBACK waits for its record on disk.
        let unsuback = Packet::UnsubAck(UnsubAck {
            packet_id: u.packet_id,
            properties: warren_mqtt::Properties::default(),
            reason_codes: codes,
        });
        self.send_after_store(ticket, unsuback, Vec::new());
    }

    // ---- DISCONNECT and closing --------------------------------------------------------------

    fn on_disconnect(&mut self, d: Disconnect, now: Instant) {
        if self.v5() {
            if let Some(secs) = d.properties.session_expiry_interval {
                if self.expiry == Some(Duration::ZERO) && secs != 0 {
                    return self.fail(ReasonCode::ProtocolError, now);
                }
                let granted = secs.min(self.shared.settings.max_session_expiry);
                self.expiry = Some(Duration::from_secs(granted.into()));
            }
        }
        let with_will = self.v5() && d.reason_code == ReasonCode::DisconnectWithWillMessage;
        self.close(with_will, now);
    }

    /// The server is shutting down: 5.0 clients are told (0x8B), then the connection closes.
    pub fn shutdown(&mut self, now: Instant) {
        if self.phase == Phase::Running && self.v5() {
            self.send(&Packet::Disconnect(Disconnect {
                reason_code: ReasonCode::ServerShuttingDown,
                properties: warren_mqtt::Properties::default(),
            }));
        }
        self.close(false, now);
    }

    /// The connection is gone without a DISCONNECT (socket closed or failed): publishes the
    /// will and closes.
    pub fn connection_lost(&mut self, now: Instant) {
        self.close(true, now);
    }

    fn close(&mut self, publish_will: bool, now: Instant) {
        if self.phase == Phase::Closed {
            return;
        }
        let was_running = self.phase == Phase::Running;
        self.phase = Phase::Closed;
        if !was_running {
            return;
        }
        let will = self.will.take();
        // Taken over: the session lives on in the new connection, which cancels a delayed will.
        let taken_over = !self
            .token
            .is_some_and(|t| self.shared.sessions.owns(&self.vhost, &self.client_id, t));
        if let (true, Some(w)) = (publish_will, will) {
            let delay = w.properties.will_delay_interval.unwrap_or(0);
            let now_ms = self.shared.now_ms(now);
            let properties = convert::inbound_properties(&convert::Inbound {
                qos: w.qos.as_u8(),
                retain: w.retain,
                dup: false,
                client_id: &self.client_id,
                properties: &w.properties,
                now_ms,
            });
            let session_lasts = self.expiry != Some(Duration::ZERO);
            let due_in = match self.expiry {
                Some(e) => Duration::from_secs(delay.into()).min(e),
                None => Duration::from_secs(delay.into()),
            };
            let pending = PendingWill {
                vhost: self.vhost.clone(),
                client_id: self.client_id.clone(),
                user: self.user.clone(),
                topic: w.topic,
                qos: w.qos.as_u8(),
                retain: w.retain,
                properties,
                payload: w.payload,
                due: now + due_in,
            };
            if delay > 0 && self.v5() && taken_over {
                debug!(client = %self.client_id, "delayed will dropped: session taken over");
            } else if delay > 0 && session_lasts && self.v5() {
                self.shared.sessions.schedule_will(pending);
            } else {
                self.shared.publish_will(&pending);
            }
        }
        if let Some(token) = self.token.take() {
            let ended = self.shared.sessions.disconnected(
                &self.vhost,
                &self.client_id,
                token,
                self.expiry,
                now,
            );
            // Close the core connection first: its consumers go and unacked messages return
            // to the queues (marked redelivered, for a persistent session's next connection).
            if let Some(conn) = self.core.take() {
                conn.close();
            }
            if ended {
                self.shared.forget_session(&self.vhost, &self.client_id);
                self.shared
                    .delete_session_queues(&self.vhost, &self.client_id);
                self.shared
                    .drop_unused_groups(&self.vhost, &self.state.subscriptions);
            } else {
                // The expiry may have changed at DISCONNECT (5.0).
                self.token = Some(token);
                self.save_session();
                self.token = None;
            }
        }
        if let Some(conn) = self.core.take() {
            conn.close();
        }
        self.channel = None;
        debug!(peer = %self.peer, client = %self.client_id, "MQTT session closed");
    }

    // ---- deliveries --------------------------------------------------------------------------

    /// Turns the core's deliveries into PUBLISH packets; handles a takeover.
    pub fn handle_outbox(&mut self, now: Instant) {
        self.check_alarms(now);
        if self.outbox.take_forced_close().is_some() {
            // Closed by the broker (management): DISCONNECT 0x98 for 5.0 clients.
            return self.fail(ReasonCode::AdministrativeAction, now);
        }
        let mut events = std::mem::take(&mut self.events);
        self.outbox.drain(&mut events);
        // `$share` consumers whose group queue was replaced or deleted under them.
        let mut reattach = Vec::new();
        for (_, event) in events.drain(..) {
            match event {
                OutEvent::Deliver(d) => self.deliver(d, now),
                OutEvent::Cancelled(tag) => {
                    self.consumers.remove(&tag);
                    if tag.starts_with(TAG_SHARE) {
                        reattach.push(tag);
                    }
                }
                OutEvent::Confirmed(t) => {
                    self.durable_upto = self.durable_upto.max(t.0);
                }
                OutEvent::StoreFailed => self.store_failed = true,
            }
        }
        self.events = events;
        self.reattach_groups(reattach, now);
        if !self.held.is_empty() {
            self.flush_held(now);
        }
        if !self.after_store.is_empty() {
            self.flush_after_store(now);
        }
        if self.outbox.take_throttled() {
            if let Some(ch) = &self.channel {
                ch.notify_writable();
            }
        }
        if self.kick.flag.load(Ordering::Acquire) && self.phase == Phase::Running {
            info!(client = %self.client_id, "MQTT session taken over");
            // The new connection owns the session: do not end it or delete its queues.
            self.token = None;
            if self.v5() {
                self.send(&Packet::Disconnect(Disconnect {
                    reason_code: ReasonCode::SessionTakenOver,
                    properties: warren_mqtt::Properties::default(),
                }));
            }
            self.close(true, now);
        }
    }

    fn deliver(&mut self, d: Delivery, now: Instant) {
        let manual = if &*d.consumer_tag == TAG_QOS0 {
            false
        } else if &*d.consumer_tag == TAG_QOS1 {
            true
        } else {
            d.consumer_tag
                .strip_prefix(TAG_SHARE)
                .and_then(|f| self.state.subscriptions.iter().find(|r| r.filter == f))
                .is_some_and(|r| r.qos > 0)
        };
        if self.phase != Phase::Running {
            return;
        }
        let info = convert::outbound(&d.message);
        let drop_it = |s: &Self| {
            if manual {
                s.ack_core(Some(d.delivery_tag));
            }
        };
        if warren_mqtt::topic::validate_topic_name(&info.topic).is_err() {
            return drop_it(self);
        }
        // The subscriptions this delivery is for.
        let from_me = info.client_id.as_deref() == Some(self.client_id.as_str());
        let matching: Vec<&SubscriptionRecord> = self
            .state
            .subscriptions
            .iter()
            .filter(|r| match d.consumer_tag.strip_prefix(TAG_SHARE) {
                Some(f) => r.filter == f,
                None => {
                    !r.filter.starts_with("$share/")
                        && (r.qos > 0) == manual
                        && warren_topic::mqtt_matches(&info.topic, &r.filter)
                }
            })
            .filter(|r| !(r.no_local && from_me))
            .collect();
        if matching.is_empty() {
            return drop_it(self);
        }
        let now_ms = self.shared.now_ms(now);
        if info.expires_at.is_some_and(|at| at <= now_ms) {
            return drop_it(self);
        }
        let sub_qos = matching.iter().map(|r| r.qos).max().unwrap_or(0);
        let qos = qos_of(info.qos.map_or(sub_qos, |q| q.min(sub_qos)));
        let retain = info.retain && matching.iter().any(|r| r.retain_as_published);
        let mut ids: Vec<u32> = matching.iter().filter_map(|r| r.identifier).collect();
        ids.sort_unstable();
        ids.dedup();
        let mut properties = if self.v5() {
            convert::outbound_properties(&d.message, now_ms, info.expires_at)
        } else {
            warren_mqtt::Properties::default()
        };
        properties.subscription_identifiers = ids;
        if qos == QoS::AtMostOnce && manual {
            self.ack_core(Some(d.delivery_tag));
        }
        self.send_publish(Outgoing {
            topic: info.topic,
            qos,
            retain,
            dup: d.redelivered && qos != QoS::AtMostOnce,
            properties,
            payload: d.message.body.clone(),
            tag: (qos != QoS::AtMostOnce).then_some(d.delivery_tag),
        });
    }

    /// Consumes again from the group queues of `$share` subscriptions whose consumer the core
    /// cancelled (the queue was replaced by a durable one, or deleted by a race with the last
    /// member leaving) while the subscription stands.
    fn reattach_groups(&mut self, tags: Vec<String>, now: Instant) {
        if self.phase != Phase::Running {
            return;
        }
        for tag in tags {
            let Some(rec) = tag.strip_prefix(TAG_SHARE).and_then(|f| {
                self.state
                    .subscriptions
                    .iter()
                    .find(|r| r.filter == f)
                    .cloned()
            }) else {
                continue;
            };
            if let Err(e) = self.bind(&rec, None) {
                warn!(client = %self.client_id, filter = %rec.filter, error = %e,
                      "cannot re-attach to the shared subscription's queue");
            }
        }
        for o in self.take_backlog(now) {
            self.send_publish(o);
        }
    }

    fn alloc_pid(&mut self) -> Option<NonZeroU16> {
        for _ in 0..=u16::MAX {
            let id = self.next_pid;
            self.next_pid = self.next_pid.checked_add(1).unwrap_or(1);
            if let Some(nz) = NonZeroU16::new(id) {
                if !self.inflight.contains_key(&id) {
                    return Some(nz);
                }
            }
        }
        None
    }

    fn send_publish(&mut self, mut o: Outgoing) {
        let v5 = self.v5();
        if !v5 {
            o.properties = warren_mqtt::Properties::default();
        }
        let packet_id = if o.qos == QoS::AtMostOnce {
            None
        } else {
            match self.alloc_pid() {
                Some(id) => Some(id),
                None => {
                    self.ack_core(o.tag);
                    return;
                }
            }
        };
        // Topic alias (5.0, when the client accepts them).
        let mut new_alias = None;
        let mut topic = o.topic.clone();
        if v5 && self.client_alias_max > 0 {
            if let Some(&alias) = self.out_aliases.get(&o.topic) {
                o.properties.topic_alias = Some(alias);
                topic.clear();
            } else if let Ok(n) = u16::try_from(self.out_aliases.len() + 1) {
                if n <= self.client_alias_max {
                    o.properties.topic_alias = Some(n);
                    new_alias = Some(n);
                }
            }
        }
        let packet = Packet::Publish(Publish {
            dup: o.dup,
            qos: o.qos,
            retain: o.retain,
            topic,
            packet_id,
            properties: o.properties,
            payload: o.payload,
        });
        let start = self.out.len();
        if let Err(e) = packet.encode(self.level, &mut self.out) {
            warn!(client = %self.client_id, error = %e, "cannot encode PUBLISH");
            self.out.truncate(start);
            self.ack_core(o.tag);
            return;
        }
        let size = self.out.len() - start;
        if u64::try_from(size).unwrap_or(u64::MAX) > u64::from(self.client_max_packet) {
            // Larger than the client accepts: discarded, as 5.0 says.
            self.out.truncate(start);
            self.ack_core(o.tag);
            return;
        }
        if let Some(n) = new_alias {
            self.out_aliases.insert(o.topic, n);
        }
        if let Some(id) = packet_id {
            self.inflight.insert(
                id.get(),
                Inflight {
                    tag: o.tag,
                    qos: o.qos,
                    released: false,
                },
            );
        }
    }

    // ---- timers ------------------------------------------------------------------------------

    fn keepalive_deadline(&self) -> Option<Instant> {
        (self.keep_alive > 0 && !self.blocked)
            .then(|| self.last_recv + Duration::from_millis(u64::from(self.keep_alive) * 1500))
    }

    /// False while a resource alarm blocks this publishing connection: the driver stops
    /// reading from the socket, so the client's TCP window fills and it stops publishing (as
    /// RabbitMQ's MQTT plugin does; MQTT has no `connection.blocked`).
    pub fn wants_input(&self) -> bool {
        !self.blocked
    }

    /// Follows the broker's alarms once this connection has published: blocks it while one
    /// is active.
    fn check_alarms(&mut self, now: Instant) {
        if self.alarm_waker.is_none() {
            return;
        }
        let block = self.shared.broker.is_blocked();
        if block == self.blocked {
            return;
        }
        self.blocked = block;
        if block {
            debug!(peer = %self.peer, "publisher blocked by a resource alarm");
        } else {
            // Input was not read while blocked: keep-alive starts over.
            self.last_recv = now;
            debug!(peer = %self.peer, "publisher unblocked");
        }
    }

    /// When [`MqttSession::handle_timeout`] should be called next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.phase {
            Phase::Connect => Some(self.connect_deadline),
            Phase::Running => self.keepalive_deadline(),
            Phase::Closed => None,
        }
    }

    /// Applies the timers: CONNECT timeout, keep-alive (1.5 × the interval, then the will).
    pub fn handle_timeout(&mut self, now: Instant) {
        match self.phase {
            Phase::Connect if now >= self.connect_deadline => {
                debug!(peer = %self.peer, "no CONNECT in time");
                self.phase = Phase::Closed;
            }
            Phase::Running if self.keepalive_deadline().is_some_and(|d| now >= d) => {
                self.fail(ReasonCode::KeepAliveTimeout, now);
            }
            _ => {}
        }
    }

    /// The number of released-but-not-completed outgoing QoS 2 messages (for tests).
    pub fn awaiting_pubcomp(&self) -> usize {
        self.inflight.values().filter(|f| f.released).count()
    }
}
