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

mod close;
mod connect;
mod outgoing;
mod publish;
mod subscribe;

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
