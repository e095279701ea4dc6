//! The AMQP 0-9-1 connection state machine, sans-IO.
//!
//! [`AmqpConnection`] turns the bytes a client sent into core operations and the core's answers
//! and deliveries into bytes to send. It owns no socket and reads no clock: the driver
//! ([`super::driver`]) feeds it input with [`AmqpConnection::handle_input`], core events with
//! [`AmqpConnection::handle_outbox`], the time with [`AmqpConnection::handle_timeout`], and
//! writes whatever [`AmqpConnection::transmit_buffer`] holds, in that order after every wake-up.
//! Tests drive it the same way without a socket.
//!
//! Phases: protocol header → `connection.start`/`start-ok` (PLAIN or AMQPLAIN) →
//! `tune`/`tune-ok` → `open`/`open-ok` → running → closing (after `connection.close` either
//! way) → closed (the driver flushes and drops the socket).

use super::convert;
use super::outbox::{AlarmWaker, ChannelSink, OutEvent, Outbox};
use bytes::{Bytes, BytesMut};
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tracing::{debug, info, warn};
use warren_amqp::{
    check_protocol_header, encode_message, Assembled, BasicProperties, FieldTable, FieldValue,
    Frame, FrameDecoder, MessageAssembler, Method, ProtocolHeaderCheck, ReplyCode, ShortStr,
    PROTOCOL_HEADER,
};
use warren_amqp::{
    BasicAck, BasicCancel, BasicCancelOk, BasicConsumeOk, BasicDeliver, BasicGetEmpty, BasicGetOk,
    BasicNack, BasicQosOk, BasicRecoverOk, BasicReturn, ChannelClose, ChannelCloseOk,
    ChannelFlowOk, ChannelOpenOk, ConfirmSelectOk, ConnectionBlocked, ConnectionClose,
    ConnectionCloseOk, ConnectionOpenOk, ConnectionStart, ConnectionTune, ConnectionUnblocked,
    ConnectionUpdateSecretOk, ExchangeBindOk, ExchangeDeclareOk, ExchangeDeleteOk,
    ExchangeUnbindOk, QueueBindOk, QueueDeclareOk, QueueDeleteOk, QueuePurgeOk, QueueUnbindOk,
};
use warren_core::{
    AlarmListener, Broker, Channel, Confirm, ConnectionInfo, CoreError, ErrorScope, ExchangeKind,
    ExchangeOptions, Mechanism, Protocol, QueueOptions,
};

/// Limits and offers of the AMQP front, from the configuration.
#[derive(Debug, Clone)]
pub struct AmqpSettings {
    /// Largest frame accepted and offered.
    pub frame_max: u32,
    /// Most channels offered.
    pub channel_max: u16,
    /// Heartbeat interval offered (seconds, 0 = none).
    pub heartbeat: u16,
    /// Largest message body accepted.
    pub max_message_size: u64,
    /// Time allowed from accept to `connection.open`.
    pub handshake_timeout: Duration,
    /// Pending core events per connection above which queues hold back deliveries.
    pub outbox_limit: usize,
}

impl Default for AmqpSettings {
    fn default() -> Self {
        AmqpSettings {
            frame_max: 131_072,
            channel_max: 2047,
            heartbeat: 60,
            max_message_size: 128 << 20,
            handshake_timeout: Duration::from_secs(10),
            outbox_limit: 4096,
        }
    }
}

/// The frame_max used before tune-ok (the spec's minimum frame size).
const PRE_TUNE_FRAME_MAX: u32 = 4096 * 32;
/// How long to wait for `connection.close-ok` after sending `connection.close`.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(3);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Header,
    StartOk,
    TuneOk,
    Open,
    Running,
    /// We sent `connection.close` and wait for `close-ok` (everything else is discarded).
    Closing,
    /// Done: flush and drop the socket.
    Closed,
}

/// A connection-level exception: `connection.close` with this code and text.
#[derive(Debug)]
struct ConnectionException {
    code: u16,
    text: String,
    class_method: (u16, u16),
}

impl ConnectionException {
    fn new(code: ReplyCode, explanation: impl std::fmt::Display, cm: (u16, u16)) -> Self {
        ConnectionException {
            code: code.code(),
            text: format!("{} - {explanation}", code.name()),
            class_method: cm,
        }
    }

    fn from_core(e: &CoreError, cm: (u16, u16)) -> Self {
        ConnectionException {
            code: e.reply_code(),
            text: e.to_string(),
            class_method: cm,
        }
    }
}

enum ChanState {
    Open,
    /// We sent `channel.close`; wait for `close-ok`, dropping everything else.
    Closing,
}

struct ChannelSlot {
    core: Arc<Channel>,
    assembler: MessageAssembler,
    state: ChanState,
    /// Publisher confirms on: the next publish sequence number (from 1).
    confirm_seq: Option<u64>,
    /// Confirms not sent yet, in publish order: (sequence number, decision, the store ticket
    /// that must be durable first). Sent at the end of each input batch and whenever the
    /// store reports progress, as the longest ready prefix, coalesced into multiple-acks, so a
    /// later confirm never overtakes an earlier one still waiting for the disk.
    pending_confirms: VecDeque<(u64, Confirm, Option<u64>)>,
    /// The highest store ticket known durable for this channel's publishes.
    durable_upto: u64,
    /// The store stopped writing ([`OutEvent::StoreFailed`]): confirms still waiting for the
    /// disk, and every later one that would, become nacks (RabbitMQ nacks what it cannot
    /// persist).
    store_failed: bool,
}

/// One client connection's AMQP state. See the module docs for the calling order.
pub struct AmqpConnection {
    broker: Arc<Broker>,
    settings: AmqpSettings,
    peer: SocketAddr,
    phase: Phase,
    decoder: FrameDecoder,
    out: BytesMut,
    outbox: Arc<Outbox>,
    events: Vec<(u16, OutEvent)>,
    channels: HashMap<u16, ChannelSlot>,
    core: Option<Arc<warren_core::Connection>>,
    user: Option<Arc<warren_core::User>>,
    client_properties: FieldTable,
    frame_max: u32,
    channel_max: u16,
    heartbeat: u16,
    started: Instant,
    /// Wakes this connection when the broker's alarms change (registered weakly).
    _alarm_waker: Arc<dyn AlarmListener>,
    /// The client published at least once (only publishing connections are blocked).
    published: bool,
    /// An alarm blocks this connection: input is not read until it clears (what the client
    /// was told with `connection.blocked`, if it announced that capability).
    blocked: bool,
    last_recv: Instant,
    last_send: Instant,
    close_deadline: Option<Instant>,
}

impl std::fmt::Debug for AmqpConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AmqpConnection")
            .field("peer", &self.peer)
            .field("phase", &self.phase)
            .field("channels", &self.channels.len())
            .finish_non_exhaustive()
    }
}

fn cm(m: &Method) -> (u16, u16) {
    (m.class_id(), m.method_id())
}

fn s(text: &str) -> ShortStr {
    convert::short(text)
}

impl AmqpConnection {
    /// A connection accepted at `now` from `peer`.
    pub fn new(
        broker: Arc<Broker>,
        settings: AmqpSettings,
        peer: SocketAddr,
        now: Instant,
    ) -> AmqpConnection {
        let outbox = Outbox::new(settings.outbox_limit);
        let alarm_waker: Arc<dyn AlarmListener> = Arc::new(AlarmWaker(Arc::clone(&outbox)));
        broker.watch_alarms(&alarm_waker);
        AmqpConnection {
            broker,
            decoder: FrameDecoder::new(PRE_TUNE_FRAME_MAX.min(settings.frame_max.max(4096))),
            frame_max: settings.frame_max,
            channel_max: settings.channel_max,
            heartbeat: settings.heartbeat,
            settings,
            peer,
            phase: Phase::Header,
            out: BytesMut::new(),
            outbox,
            events: Vec::new(),
            channels: HashMap::new(),
            core: None,
            user: None,
            client_properties: FieldTable::default(),
            started: now,
            _alarm_waker: alarm_waker,
            published: false,
            blocked: false,
            last_recv: now,
            last_send: now,
            close_deadline: None,
        }
    }

    /// The outbox the driver waits on for core events.
    pub fn outbox(&self) -> &Arc<Outbox> {
        &self.outbox
    }

    /// Bytes to write to the socket. The driver writes them and clears (or advances) the buffer.
    pub fn transmit_buffer(&mut self) -> &mut BytesMut {
        &mut self.out
    }

    /// True when the connection is over: flush what is left, then drop the socket.
    pub fn is_closed(&self) -> bool {
        self.phase == Phase::Closed
    }

    /// True once `connection.open` succeeded (until the connection closes).
    pub fn is_open(&self) -> bool {
        self.phase == Phase::Running
    }

    /// Handles every complete frame in `buf` (consuming them; a partial frame stays).
    pub fn handle_input(&mut self, buf: &mut BytesMut, now: Instant) {
        if !buf.is_empty() {
            self.last_recv = now;
        }
        if self.phase == Phase::Header {
            match check_protocol_header(buf) {
                ProtocolHeaderCheck::Incomplete => return,
                ProtocolHeaderCheck::Rejected => {
                    debug!(peer = %self.peer, "bad protocol header");
                    self.out.extend_from_slice(&PROTOCOL_HEADER);
                    self.phase = Phase::Closed;
                    buf.clear();
                    return;
                }
                ProtocolHeaderCheck::Accepted => {
                    let _ = buf.split_to(PROTOCOL_HEADER.len());
                    self.send_start();
                    self.phase = Phase::StartOk;
                }
            }
        }
        while !matches!(self.phase, Phase::Closed) {
            let frame = match self.decoder.decode(buf) {
                Ok(Some(frame)) => frame,
                Ok(None) => break,
                Err(e) => {
                    buf.clear();
                    let cmv = e.class_method().unwrap_or((0, 0));
                    self.connection_exception(ConnectionException::new(e.reply_code(), &e, cmv));
                    break;
                }
            };
            if let Err(ex) = self.handle_frame(frame, now) {
                self.connection_exception(ex);
            }
        }
        self.flush_confirms();
    }

    /// False while a resource alarm blocks this (publishing) connection: the driver must not
    /// read input then (RabbitMQ's flow control: the publisher's TCP window closes).
    pub fn wants_input(&self) -> bool {
        !self.blocked
    }

    /// Follows the broker's alarms: blocks a publishing connection (telling a client that
    /// announced the `connection.blocked` capability) and unblocks it when they clear.
    fn check_alarms(&mut self, now: Instant) {
        if self.phase != Phase::Running {
            return;
        }
        let alarms = self.broker.active_alarms();
        let block = self.published && !alarms.is_empty();
        if block == self.blocked {
            return;
        }
        self.blocked = block;
        if !block {
            // Input was not read while blocked: heartbeats start over.
            self.last_recv = now;
        }
        if !self.client_capability("connection.blocked") {
            return;
        }
        match alarms.first() {
            Some(alarm) if block => {
                let reason = alarm.reason();
                debug!(peer = %self.peer, reason, "connection blocked");
                self.send_method(0, ConnectionBlocked { reason: s(reason) });
            }
            _ => {
                debug!(peer = %self.peer, "connection unblocked");
                self.send_method(0, ConnectionUnblocked {});
            }
        }
    }

    fn client_capability(&self, name: &str) -> bool {
        match self.client_properties.get("capabilities") {
            Some(FieldValue::Table(caps)) => matches!(caps.get(name), Some(FieldValue::Bool(true))),
            _ => false,
        }
    }

    /// Encodes the core's pending deliveries and cancellations, and follows the broker's
    /// alarms (blocking a publishing connection).
    pub fn handle_outbox(&mut self) {
        if let Some(reason) = self.outbox.take_forced_close() {
            self.connection_exception(ConnectionException::new(
                ReplyCode::ConnectionForced,
                reason,
                (0, 0),
            ));
        }
        self.check_alarms(self.last_send.max(self.last_recv));
        let mut events = std::mem::take(&mut self.events);
        self.outbox.drain(&mut events);
        let mut confirmed = false;
        for (channel, event) in events.drain(..) {
            match event {
                OutEvent::Confirmed(ticket) => {
                    if let Some(slot) = self.channels.get_mut(&channel) {
                        slot.durable_upto = slot.durable_upto.max(ticket.0);
                        confirmed = true;
                    }
                    continue;
                }
                OutEvent::StoreFailed => {
                    if let Some(slot) = self.channels.get_mut(&channel) {
                        slot.store_failed = true;
                        confirmed = true;
                    }
                    continue;
                }
                _ => {}
            }
            self.encode_event(channel, event);
        }
        self.events = events;
        if confirmed {
            self.flush_confirms();
        }
        if self.outbox.take_throttled() {
            for slot in self.channels.values() {
                slot.core.notify_writable();
            }
        }
    }

    /// When [`AmqpConnection::handle_timeout`] next has something to do.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.phase {
            Phase::Closed => None,
            Phase::Closing => self.close_deadline,
            Phase::Running if self.heartbeat > 0 => {
                let hb = Duration::from_secs(u64::from(self.heartbeat));
                if self.blocked {
                    // Input is not read while blocked: only our own heartbeats are due.
                    return Some(self.last_send + hb / 2);
                }
                Some((self.last_send + hb / 2).min(self.last_recv + hb * 2))
            }
            Phase::Running => None,
            _ => Some(self.started + self.settings.handshake_timeout),
        }
    }

    /// Sends heartbeats, detects a silent peer, enforces the handshake and close timeouts.
    pub fn handle_timeout(&mut self, now: Instant) {
        match self.phase {
            Phase::Closed => {}
            Phase::Closing => {
                if self.close_deadline.is_some_and(|d| now >= d) {
                    self.finish();
                }
            }
            Phase::Running => {
                if self.heartbeat == 0 {
                    return;
                }
                let hb = Duration::from_secs(u64::from(self.heartbeat));
                if !self.blocked && now >= self.last_recv + hb * 2 {
                    // RabbitMQ drops the socket without a close frame: the peer is gone.
                    warn!(peer = %self.peer, "missed heartbeats from client; closing");
                    self.finish();
                    return;
                }
                if now >= self.last_send + hb / 2 {
                    self.write_frame(&Frame::Heartbeat);
                    self.last_send = now;
                }
            }
            _ => {
                if now >= self.started + self.settings.handshake_timeout {
                    debug!(peer = %self.peer, "handshake timeout");
                    self.finish();
                }
            }
        }
    }

    /// Notes that the driver wrote output at `now` (heartbeat bookkeeping).
    pub fn on_transmit(&mut self, now: Instant) {
        self.last_send = now;
    }

    /// Closes the connection from the server side (shutdown): `connection.close` 320.
    pub fn shutdown(&mut self, now: Instant) {
        match self.phase {
            Phase::Running => {
                self.connection_exception(ConnectionException::new(
                    ReplyCode::ConnectionForced,
                    "broker forced connection closure with reason 'shutdown'",
                    (0, 0),
                ));
                self.close_deadline = Some(now + CLOSE_TIMEOUT);
            }
            Phase::Closing | Phase::Closed => {}
            _ => self.finish(),
        }
    }

    /// Connection teardown: core channels closed (unacked messages requeued), exclusive queues
    /// deleted. Idempotent; also called on drop.
    fn finish(&mut self) {
        self.phase = Phase::Closed;
        for (_, slot) in self.channels.drain() {
            slot.core.close();
        }
        if let Some(core) = self.core.take() {
            core.close();
        }
    }

    // ---- output helpers ----------------------------------------------------------------------

    fn write_frame(&mut self, frame: &Frame) {
        if let Err(e) = frame.encode(&mut self.out, self.frame_max) {
            // Only oversized server-built values can fail; they are bugs, not client input.
            warn!(error = %e, "could not encode a frame");
        }
    }

    fn send_method(&mut self, channel: u16, method: impl Into<Method>) {
        self.write_frame(&Frame::Method {
            channel,
            method: method.into(),
        });
    }

    fn send_message(&mut self, channel: u16, method: Method, props: &BasicProperties, body: &[u8]) {
        if let Err(e) = encode_message(&mut self.out, channel, &method, props, body, self.frame_max)
        {
            warn!(error = %e, "could not encode a message");
        }
    }

    fn connection_exception(&mut self, ex: ConnectionException) {
        if matches!(self.phase, Phase::Closing | Phase::Closed) {
            return;
        }
        info!(peer = %self.peer, code = ex.code, text = %ex.text, "closing connection");
        self.drain_outbox_first();
        let (class_id, method_id) = ex.class_method;
        self.send_method(
            0,
            ConnectionClose {
                reply_code: ex.code,
                reply_text: s(&ex.text),
                class_id,
                method_id,
            },
        );
        // Channels stop now: their unacked messages go back to the queues.
        for (_, slot) in self.channels.drain() {
            slot.core.close();
        }
        if self.phase == Phase::Running {
            self.phase = Phase::Closing;
            self.close_deadline = Some(self.last_recv + CLOSE_TIMEOUT);
        } else {
            // Before the connection is open there is nothing to wait for.
            self.finish();
        }
    }

    fn channel_exception(&mut self, channel: u16, e: &CoreError, method: (u16, u16)) {
        debug!(peer = %self.peer, channel, error = %e, "closing channel");
        self.drain_outbox_first();
        if let Some(slot) = self.channels.get_mut(&channel) {
            slot.state = ChanState::Closing;
            slot.pending_confirms.clear();
            slot.core.close();
        }
        // The number is free for a new channel.open once the client's close-ok arrives; the
        // core forgets the channel now.
        if let Some(core) = &self.core {
            core.close_channel(channel);
        }
        self.send_method(
            channel,
            ChannelClose {
                reply_code: e.reply_code(),
                reply_text: s(&e.to_string()),
                class_id: method.0,
                method_id: method.1,
            },
        );
    }

    /// Core events queued before a reply must reach the wire before it (e.g. deliveries before
    /// `basic.cancel-ok`).
    fn drain_outbox_first(&mut self) {
        self.handle_outbox();
    }

    fn encode_event(&mut self, channel: u16, event: OutEvent) {
        // Events for channels closed meanwhile are dropped: the core requeued their messages.
        if !self
            .channels
            .get(&channel)
            .is_some_and(|c| matches!(c.state, ChanState::Open))
        {
            return;
        }
        match event {
            OutEvent::Deliver(d) => {
                let m = &d.message;
                let method = BasicDeliver {
                    consumer_tag: s(&d.consumer_tag),
                    delivery_tag: d.delivery_tag,
                    redelivered: d.redelivered,
                    exchange: s(&m.exchange),
                    routing_key: s(&m.routing_key),
                };
                let props = convert::properties_out(&m.properties);
                self.send_message(channel, method.into(), &props, &m.body);
            }
            OutEvent::Cancelled(tag) => {
                self.send_method(
                    channel,
                    BasicCancel {
                        consumer_tag: s(&tag),
                        nowait: true,
                    },
                );
            }
            // Handled in `handle_outbox` (they change the channel's state, write nothing).
            OutEvent::Confirmed(_) | OutEvent::StoreFailed => {}
        }
    }

    fn flush_confirms(&mut self) {
        let mut frames = Vec::new();
        for (&id, slot) in self.channels.iter_mut() {
            if slot.pending_confirms.is_empty() {
                continue;
            }
            // The ready prefix: confirms whose message is durable (or needed no disk) — all of
            // them once the store has failed, those still waiting for the disk as nacks.
            let ready = if slot.store_failed {
                slot.pending_confirms.len()
            } else {
                slot.pending_confirms
                    .iter()
                    .take_while(|(_, _, ticket)| ticket.is_none_or(|t| t <= slot.durable_upto))
                    .count()
            };
            // Runs of the same decision become one `multiple` ack or nack (every earlier
            // confirm has gone out, so `multiple` covers exactly the run).
            let mut run: Option<(Confirm, u64, usize)> = None;
            for (seq, confirm, ticket) in slot.pending_confirms.drain(..ready) {
                let confirm = if ticket.is_some_and(|t| t > slot.durable_upto) {
                    Confirm::Nack
                } else {
                    confirm
                };
                match &mut run {
                    Some((kind, end, len)) if *kind == confirm => {
                        *end = seq;
                        *len += 1;
                    }
                    _ => {
                        if let Some(done) = run.replace((confirm, seq, 1)) {
                            frames.push((id, confirm_method(done)));
                        }
                    }
                }
            }
            if let Some(done) = run {
                frames.push((id, confirm_method(done)));
            }
        }
        for (channel, method) in frames {
            self.send_method(channel, method);
        }
    }

    // ---- input -----------------------------------------------------------------------------

    fn handle_frame(&mut self, frame: Frame, now: Instant) -> Result<(), ConnectionException> {
        let channel = frame.channel();
        if channel == 0 {
            return match frame {
                Frame::Heartbeat => Ok(()),
                Frame::Method { method, .. } => self.handle_connection_method(method, now),
                other => Err(ConnectionException::new(
                    ReplyCode::UnexpectedFrame,
                    format_args!("{} frame on channel 0", other.kind()),
                    (0, 0),
                )),
            };
        }
        match self.phase {
            Phase::Running => {}
            Phase::Closing => return Ok(()),
            _ => {
                return Err(ConnectionException::new(
                    ReplyCode::ChannelError,
                    "expected 'connection.open' before channel traffic",
                    (0, 0),
                ))
            }
        }
        let Some(slot) = self.channels.get_mut(&channel) else {
            return match frame {
                Frame::Method {
                    method: Method::ChannelOpen(_),
                    ..
                } => self.open_channel(channel),
                Frame::Method { method, .. } => Err(ConnectionException::new(
                    ReplyCode::ChannelError,
                    format_args!("expected 'channel.open' on channel {channel}"),
                    cm(&method),
                )),
                other => Err(ConnectionException::new(
                    ReplyCode::ChannelError,
                    format_args!("{} frame on unopened channel {channel}", other.kind()),
                    (0, 0),
                )),
            };
        };
        if matches!(slot.state, ChanState::Closing) {
            if let Frame::Method { method, .. } = frame {
                match method {
                    Method::ChannelCloseOk(_) => {
                        self.channels.remove(&channel);
                    }
                    Method::ChannelClose(_) => {
                        self.channels.remove(&channel);
                        self.send_method(channel, ChannelCloseOk {});
                    }
                    _ => {}
                }
            }
            return Ok(());
        }
        let assembled = slot.assembler.handle(frame);
        match assembled {
            Ok(None) => Ok(()),
            Ok(Some(Assembled::Method(method))) => self.handle_channel_method(channel, method),
            Ok(Some(Assembled::Message(message))) => {
                let Method::BasicPublish(publish) = message.method else {
                    let m = cm(&message.method);
                    return Err(ConnectionException::new(
                        ReplyCode::CommandInvalid,
                        format_args!("{} is a server method", message.method.name()),
                        m,
                    ));
                };
                self.publish(channel, publish, message.properties, message.body)
            }
            Err(e) if e.is_connection_error() => {
                let cmv = e.class_method().unwrap_or((0, 0));
                Err(ConnectionException::new(e.reply_code(), &e, cmv))
            }
            Err(e) => {
                let cmv = e.class_method().unwrap_or((0, 0));
                let size_err = match &e {
                    warren_amqp::Error::BodyTooLarge { size, max, .. } => {
                        CoreError::MessageTooLarge {
                            size: usize::try_from(*size).unwrap_or(usize::MAX),
                            max: usize::try_from(*max).unwrap_or(usize::MAX),
                        }
                    }
                    _ => CoreError::NotImplemented("unexpected channel-level codec error"),
                };
                if let Some(slot) = self.channels.get_mut(&channel) {
                    slot.assembler.reset();
                }
                self.channel_exception(channel, &size_err, cmv);
                Ok(())
            }
        }
    }

    fn open_channel(&mut self, channel: u16) -> Result<(), ConnectionException> {
        let open_cm = (20, 10);
        if channel > self.channel_max {
            return Err(ConnectionException::new(
                ReplyCode::NotAllowed,
                format_args!("channel {channel} exceeds channel_max {}", self.channel_max),
                open_cm,
            ));
        }
        let Some(core) = self.core.clone() else {
            return Err(ConnectionException::new(
                ReplyCode::ChannelError,
                "connection not open",
                open_cm,
            ));
        };
        let sink = Arc::new(ChannelSink {
            channel,
            outbox: Arc::clone(&self.outbox),
        });
        let ch = core
            .open_channel(channel, sink)
            .map_err(|e| ConnectionException::from_core(&e, open_cm))?;
        self.channels.insert(
            channel,
            ChannelSlot {
                core: ch,
                assembler: MessageAssembler::new(channel, self.settings.max_message_size),
                state: ChanState::Open,
                confirm_seq: None,
                pending_confirms: VecDeque::new(),
                durable_upto: 0,
                store_failed: false,
            },
        );
        self.send_method(
            channel,
            ChannelOpenOk {
                channel_id: Bytes::new(),
            },
        );
        Ok(())
    }

    fn handle_connection_method(
        &mut self,
        method: Method,
        now: Instant,
    ) -> Result<(), ConnectionException> {
        let here = cm(&method);
        match (self.phase, method) {
            (Phase::StartOk, Method::ConnectionStartOk(ok)) => {
                self.client_properties = ok.client_properties;
                let (mechanism, user, pass) = match ok.mechanism.as_bytes() {
                    b"PLAIN" => {
                        let (u, p) = parse_plain(&ok.response).ok_or_else(|| {
                            ConnectionException::new(
                                ReplyCode::AccessRefused,
                                "malformed PLAIN response",
                                here,
                            )
                        })?;
                        (Mechanism::Plain, u, p)
                    }
                    b"AMQPLAIN" => {
                        let (u, p) = parse_amqplain(&ok.response).ok_or_else(|| {
                            ConnectionException::new(
                                ReplyCode::AccessRefused,
                                "malformed AMQPLAIN response",
                                here,
                            )
                        })?;
                        (Mechanism::Amqplain, u, p)
                    }
                    other => {
                        return Err(ConnectionException::new(
                            ReplyCode::CommandInvalid,
                            format_args!(
                                "unknown authentication mechanism '{}'",
                                String::from_utf8_lossy(other)
                            ),
                            here,
                        ))
                    }
                };
                let loopback = self.peer.ip().is_loopback();
                match self.broker.authenticate(mechanism, &user, &pass, loopback) {
                    Ok(u) => {
                        self.user = Some(u);
                        self.send_method(
                            0,
                            ConnectionTune {
                                channel_max: self.settings.channel_max,
                                frame_max: self.settings.frame_max,
                                heartbeat: self.settings.heartbeat,
                            },
                        );
                        self.phase = Phase::TuneOk;
                        Ok(())
                    }
                    Err(e) => {
                        info!(peer = %self.peer, user = %user, error = ?e, "login refused");
                        Err(ConnectionException::from_core(&e, here))
                    }
                }
            }
            (Phase::TuneOk, Method::ConnectionTuneOk(t)) => {
                if t.frame_max != 0 && t.frame_max < warren_amqp::FRAME_MIN_SIZE {
                    return Err(ConnectionException::new(
                        ReplyCode::NotAllowed,
                        format_args!(
                            "frame_max={} < {} min size",
                            t.frame_max,
                            warren_amqp::FRAME_MIN_SIZE
                        ),
                        here,
                    ));
                }
                if t.frame_max > self.settings.frame_max {
                    return Err(ConnectionException::new(
                        ReplyCode::NotAllowed,
                        format_args!(
                            "frame_max={} > {} max size",
                            t.frame_max, self.settings.frame_max
                        ),
                        here,
                    ));
                }
                if t.channel_max > self.settings.channel_max {
                    return Err(ConnectionException::new(
                        ReplyCode::NotAllowed,
                        format_args!(
                            "channel_max={} > {} max",
                            t.channel_max, self.settings.channel_max
                        ),
                        here,
                    ));
                }
                self.frame_max = if t.frame_max == 0 {
                    self.settings.frame_max
                } else {
                    t.frame_max
                };
                self.channel_max = if t.channel_max == 0 {
                    self.settings.channel_max
                } else {
                    t.channel_max
                };
                self.heartbeat = t.heartbeat;
                self.decoder.set_frame_max(self.frame_max);
                self.phase = Phase::Open;
                Ok(())
            }
            (Phase::Open, Method::ConnectionOpen(open)) => {
                let Some(user) = self.user.clone() else {
                    return Err(ConnectionException::new(
                        ReplyCode::CommandInvalid,
                        "connection.open before login",
                        here,
                    ));
                };
                let client_name = self
                    .client_properties
                    .get("connection_name")
                    .or_else(|| self.client_properties.get("product"))
                    .and_then(|v| v.as_str())
                    .map(str::to_owned);
                let info = ConnectionInfo {
                    user,
                    vhost: convert::text(&open.virtual_host),
                    peer: self.peer.to_string(),
                    protocol: Protocol::Amqp091,
                    client_name,
                };
                let core = self
                    .broker
                    .open_connection(info)
                    .map_err(|e| ConnectionException::from_core(&e, here))?;
                // The broker (management) may close it: we hear it through the outbox.
                core.set_close_listener(
                    Arc::clone(&self.outbox) as Arc<dyn warren_core::CloseListener>
                );
                self.core = Some(core);
                self.send_method(
                    0,
                    ConnectionOpenOk {
                        known_hosts: ShortStr::default(),
                    },
                );
                self.phase = Phase::Running;
                self.last_recv = now;
                self.last_send = now;
                Ok(())
            }
            (_, Method::ConnectionClose(_)) => {
                self.drain_outbox_first();
                self.send_method(0, ConnectionCloseOk {});
                self.finish();
                Ok(())
            }
            (Phase::Closing, Method::ConnectionCloseOk(_)) => {
                self.finish();
                Ok(())
            }
            (Phase::Running, Method::ConnectionUpdateSecret(_)) => {
                self.send_method(0, ConnectionUpdateSecretOk {});
                Ok(())
            }
            (Phase::Running, Method::ConnectionBlocked(_) | Method::ConnectionUnblocked(_)) => {
                Ok(())
            }
            (_, method) => Err(ConnectionException::new(
                ReplyCode::CommandInvalid,
                format_args!("unexpected method {} on channel 0", method.name()),
                cm(&method),
            )),
        }
    }

    fn handle_channel_method(
        &mut self,
        channel: u16,
        method: Method,
    ) -> Result<(), ConnectionException> {
        let here = cm(&method);
        if !client_may_send(&method) {
            return Err(ConnectionException::new(
                ReplyCode::CommandInvalid,
                format_args!("unexpected method {} from a client", method.name()),
                here,
            ));
        }
        match self.channel_method(channel, method) {
            Ok(()) => Ok(()),
            Err(e) => match e.scope() {
                ErrorScope::Channel => {
                    self.channel_exception(channel, &e, here);
                    Ok(())
                }
                _ => Err(ConnectionException::from_core(&e, here)),
            },
        }
    }

    /// Every channel method but `basic.publish` (which arrives with content).
    fn channel_method(&mut self, channel: u16, method: Method) -> Result<(), CoreError> {
        let Some(slot) = self.channels.get(&channel) else {
            return Ok(());
        };
        let ch = Arc::clone(&slot.core);
        match method {
            Method::ChannelOpen(_) => Err(CoreError::ChannelAlreadyOpen(channel)),
            Method::ChannelClose(_) => {
                self.drain_outbox_first();
                if let Some(slot) = self.channels.remove(&channel) {
                    slot.core.close();
                }
                if let Some(core) = &self.core {
                    core.close_channel(channel);
                }
                self.send_method(channel, ChannelCloseOk {});
                Ok(())
            }
            Method::ChannelCloseOk(_) => Ok(()),
            Method::ChannelFlow(f) => {
                if !f.active {
                    // RabbitMQ's departure from the spec: a client may not pause deliveries
                    // with channel.flow (it should use basic.qos); 540, a connection error.
                    return Err(CoreError::NotImplemented("active=false"));
                }
                let active = ch.flow(f.active)?;
                self.drain_outbox_first();
                self.send_method(channel, ChannelFlowOk { active });
                Ok(())
            }
            Method::ChannelFlowOk(_) => Ok(()),
            Method::ExchangeDeclare(d) => {
                let name = convert::text(&d.exchange);
                if d.passive {
                    ch.exchange_declare_passive(&name)?;
                } else {
                    let kind = ExchangeKind::parse(&convert::text(&d.kind))?;
                    let mut options = ExchangeOptions::new(kind)
                        .durable(d.durable)
                        .auto_delete(d.auto_delete)
                        .internal(d.internal);
                    options.arguments = convert::table_in(&d.arguments);
                    ch.exchange_declare(&name, options)?;
                }
                self.reply_unless(d.nowait, channel, ExchangeDeclareOk {});
                Ok(())
            }
            Method::ExchangeDelete(d) => {
                ch.exchange_delete(&convert::text(&d.exchange), d.if_unused)?;
                self.reply_unless(d.nowait, channel, ExchangeDeleteOk {});
                Ok(())
            }
            Method::ExchangeBind(b) => {
                ch.exchange_bind(
                    &convert::text(&b.destination),
                    &convert::text(&b.source),
                    &convert::text(&b.routing_key),
                    &convert::table_in(&b.arguments),
                )?;
                self.reply_unless(b.nowait, channel, ExchangeBindOk {});
                Ok(())
            }
            Method::ExchangeUnbind(b) => {
                ch.exchange_unbind(
                    &convert::text(&b.destination),
                    &convert::text(&b.source),
                    &convert::text(&b.routing_key),
                    &convert::table_in(&b.arguments),
                )?;
                self.reply_unless(b.nowait, channel, ExchangeUnbindOk {});
                Ok(())
            }
            Method::QueueDeclare(d) => {
                let mut options = QueueOptions::default()
                    .durable(d.durable)
                    .exclusive(d.exclusive)
                    .auto_delete(d.auto_delete);
                options.arguments = convert::table_in(&d.arguments);
                let ok = ch.queue_declare(&convert::text(&d.queue), options, d.passive)?;
                if !d.nowait {
                    self.reply(
                        channel,
                        QueueDeclareOk {
                            queue: s(&ok.queue),
                            message_count: count(ok.message_count),
                            consumer_count: count(ok.consumer_count),
                        },
                    );
                }
                Ok(())
            }
            Method::QueueBind(b) => {
                ch.queue_bind(
                    &convert::text(&b.queue),
                    &convert::text(&b.exchange),
                    &convert::text(&b.routing_key),
                    &convert::table_in(&b.arguments),
                )?;
                self.reply_unless(b.nowait, channel, QueueBindOk {});
                Ok(())
            }
            Method::QueueUnbind(b) => {
                ch.queue_unbind(
                    &convert::text(&b.queue),
                    &convert::text(&b.exchange),
                    &convert::text(&b.routing_key),
                    &convert::table_in(&b.arguments),
                )?;
                self.reply(channel, QueueUnbindOk {});
                Ok(())
            }
            Method::QueuePurge(p) => {
                let n = ch.queue_purge(&convert::text(&p.queue))?;
                if !p.nowait {
                    self.reply(
                        channel,
                        QueuePurgeOk {
                            message_count: count(n),
                        },
                    );
                }
                Ok(())
            }
            Method::QueueDelete(d) => {
                let n = ch.queue_delete(&convert::text(&d.queue), d.if_unused, d.if_empty)?;
                if !d.nowait {
                    self.reply(
                        channel,
                        QueueDeleteOk {
                            message_count: count(n),
                        },
                    );
                }
                Ok(())
            }
            Method::BasicQos(q) => {
                ch.basic_qos(q.prefetch_size, q.prefetch_count, q.global)?;
                self.reply(channel, BasicQosOk {});
                Ok(())
            }
            Method::BasicConsume(c) => {
                let queue = convert::text(&c.queue);
                let tag = convert::text(&c.consumer_tag);
                // Deliveries may start inside basic_consume: consume-ok must precede them, so it
                // is written from the callback, after older events were flushed.
                self.drain_outbox_first();
                let nowait = c.nowait;
                let out = &mut self.out;
                let frame_max = self.frame_max;
                // RabbitMQ's consumer priorities: an integer `x-priority` argument.
                let priority = c
                    .arguments
                    .get("x-priority")
                    .and_then(FieldValue::as_int)
                    .and_then(|p| i32::try_from(p).ok())
                    .unwrap_or(0);
                ch.basic_consume_with_priority(
                    &queue,
                    &tag,
                    c.no_ack,
                    c.exclusive,
                    priority,
                    |tag| {
                        if !nowait {
                            let frame = Frame::Method {
                                channel,
                                method: BasicConsumeOk {
                                    consumer_tag: s(tag),
                                }
                                .into(),
                            };
                            if let Err(e) = frame.encode(out, frame_max) {
                                warn!(error = %e, "could not encode consume-ok");
                            }
                        }
                    },
                )?;
                Ok(())
            }
            Method::BasicCancel(c) => {
                let tag = convert::text(&c.consumer_tag);
                ch.basic_cancel(&tag)?;
                if !c.nowait {
                    self.reply(
                        channel,
                        BasicCancelOk {
                            consumer_tag: c.consumer_tag,
                        },
                    );
                }
                Ok(())
            }
            Method::BasicGet(g) => {
                let got = ch.basic_get(&convert::text(&g.queue), g.no_ack)?;
                self.drain_outbox_first();
                match got {
                    Some(ok) => {
                        let m = &ok.message;
                        let method = BasicGetOk {
                            delivery_tag: ok.delivery_tag,
                            redelivered: ok.redelivered,
                            exchange: s(&m.exchange),
                            routing_key: s(&m.routing_key),
                            message_count: count(ok.message_count),
                        };
                        let props = convert::properties_out(&m.properties);
                        self.send_message(channel, method.into(), &props, &m.body);
                    }
                    None => self.send_method(
                        channel,
                        BasicGetEmpty {
                            cluster_id: ShortStr::default(),
                        },
                    ),
                }
                Ok(())
            }
            Method::BasicAck(a) => ch.basic_ack(a.delivery_tag, a.multiple),
            Method::BasicNack(n) => ch.basic_nack(n.delivery_tag, n.multiple, n.requeue),
            Method::BasicReject(r) => ch.basic_reject(r.delivery_tag, r.requeue),
            Method::BasicRecover(r) => {
                ch.basic_recover(r.requeue)?;
                self.reply(channel, BasicRecoverOk {});
                Ok(())
            }
            Method::BasicRecoverAsync(r) => ch.basic_recover(r.requeue),
            Method::ConfirmSelect(c) => {
                if let Some(slot) = self.channels.get_mut(&channel) {
                    if slot.confirm_seq.is_none() {
                        slot.confirm_seq = Some(1);
                    }
                }
                self.reply_unless(c.nowait, channel, ConfirmSelectOk {});
                Ok(())
            }
            Method::TxSelect(_) | Method::TxCommit(_) | Method::TxRollback(_) => {
                Err(CoreError::NotImplemented("transactions are not supported"))
            }
            // Server-to-client methods (and content methods, which arrive as messages) are
            // filtered out by `handle_channel_method`.
            _ => Ok(()),
        }
    }

    /// [`Self::reply`] unless the client asked for `nowait`.
    fn reply_unless(&mut self, nowait: bool, channel: u16, method: impl Into<Method>) {
        if !nowait {
            self.reply(channel, method);
        }
    }

    fn reply(&mut self, channel: u16, method: impl Into<Method>) {
        self.drain_outbox_first();
        self.send_method(channel, method);
    }

    fn publish(
        &mut self,
        channel: u16,
        publish: warren_amqp::BasicPublish,
        properties: BasicProperties,
        body: Bytes,
    ) -> Result<(), ConnectionException> {
        if publish.immediate {
            return Err(ConnectionException::new(
                ReplyCode::NotImplemented,
                "immediate=true",
                (60, 40),
            ));
        }
        self.published = true;
        let Some(slot) = self.channels.get_mut(&channel) else {
            return Ok(());
        };
        let seq = slot.confirm_seq;
        if let Some(n) = seq {
            slot.confirm_seq = Some(n + 1);
        }
        let ch = Arc::clone(&slot.core);
        // Borrowed when UTF-8 (always, from real clients): no allocation per publish.
        let exchange = convert::text_ref(&publish.exchange);
        let routing_key = convert::text(&publish.routing_key);
        // Kept only when a basic.return may need them.
        let returned_props = publish.mandatory.then(|| properties.clone());
        let props_in = convert::properties_in(properties);
        match ch.basic_publish(
            &exchange,
            routing_key,
            publish.mandatory,
            props_in,
            body.clone(),
        ) {
            Ok(outcome) => {
                if let (true, Some(properties)) = (outcome.returned, returned_props) {
                    self.drain_outbox_first();
                    self.send_message(
                        channel,
                        BasicReturn {
                            reply_code: ReplyCode::NoRoute.code(),
                            reply_text: s("NO_ROUTE"),
                            exchange: publish.exchange,
                            routing_key: publish.routing_key,
                        }
                        .into(),
                        &properties,
                        &body,
                    );
                }
                if let (Some(seq), Some(slot)) = (seq, self.channels.get_mut(&channel)) {
                    slot.pending_confirms.push_back((
                        seq,
                        outcome.confirm,
                        outcome.durable.map(|t| t.0),
                    ));
                }
                Ok(())
            }
            Err(e) => match e.scope() {
                ErrorScope::Channel => {
                    self.channel_exception(channel, &e, (60, 40));
                    Ok(())
                }
                _ => Err(ConnectionException::from_core(&e, (60, 40))),
            },
        }
    }

    fn send_start(&mut self) {
        self.send_method(
            0,
            ConnectionStart {
                version_major: 0,
                version_minor: 9,
                server_properties: server_properties(),
                mechanisms: Bytes::from_static(b"PLAIN AMQPLAIN"),
                locales: Bytes::from_static(b"en_US"),
            },
        );
    }
}

impl Drop for AmqpConnection {
    fn drop(&mut self) {
        self.finish();
    }
}

/// Channel methods a client may send (the rest are server-to-client or connection methods).
fn client_may_send(m: &Method) -> bool {
    matches!(
        m,
        Method::ChannelOpen(_)
            | Method::ChannelClose(_)
            | Method::ChannelCloseOk(_)
            | Method::ChannelFlow(_)
            | Method::ChannelFlowOk(_)
            | Method::ExchangeDeclare(_)
            | Method::ExchangeDelete(_)
            | Method::ExchangeBind(_)
            | Method::ExchangeUnbind(_)
            | Method::QueueDeclare(_)
            | Method::QueueBind(_)
            | Method::QueueUnbind(_)
            | Method::QueuePurge(_)
            | Method::QueueDelete(_)
            | Method::BasicQos(_)
            | Method::BasicConsume(_)
            | Method::BasicCancel(_)
            | Method::BasicGet(_)
            | Method::BasicAck(_)
            | Method::BasicNack(_)
            | Method::BasicReject(_)
            | Method::BasicRecover(_)
            | Method::BasicRecoverAsync(_)
            | Method::ConfirmSelect(_)
            | Method::TxSelect(_)
            | Method::TxCommit(_)
            | Method::TxRollback(_)
    )
}

/// The confirm for a run of `len` publishes with the same decision ending at `tag`.
fn confirm_method((confirm, tag, len): (Confirm, u64, usize)) -> Method {
    match confirm {
        Confirm::Ack => ack(tag, len > 1),
        Confirm::Nack => Method::BasicNack(BasicNack {
            delivery_tag: tag,
            multiple: len > 1,
            requeue: false,
        }),
    }
}

fn ack(tag: u64, multiple: bool) -> Method {
    Method::BasicAck(BasicAck {
        delivery_tag: tag,
        multiple,
    })
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// `\0user\0password` (an authorization identity before the first NUL is ignored).
fn parse_plain(response: &[u8]) -> Option<(String, String)> {
    let mut parts = response.splitn(3, |b| *b == 0);
    let _authzid = parts.next()?;
    let user = parts.next()?;
    let pass = parts.next()?;
    Some((
        String::from_utf8(user.to_vec()).ok()?,
        String::from_utf8(pass.to_vec()).ok()?,
    ))
}

/// AMQPLAIN: a field table body (without its length prefix) with LOGIN and PASSWORD.
fn parse_amqplain(response: &[u8]) -> Option<(String, String)> {
    let table = FieldTable::decode_entries(Bytes::copy_from_slice(response)).ok()?;
    let get = |k: &str| match table.get(k)? {
        FieldValue::LongStr(b) => String::from_utf8(b.to_vec()).ok(),
        other => other.as_str().map(str::to_owned),
    };
    Some((get("LOGIN")?, get("PASSWORD")?))
}

/// The `server-properties` of `connection.start`, with the capabilities RabbitMQ advertises
/// (aio-pika refuses a server without them; pika needs publisher_confirms and basic.nack).
fn server_properties() -> FieldTable {
    let mut caps = FieldTable::default();
    for cap in [
        "publisher_confirms",
        "exchange_exchange_bindings",
        "basic.nack",
        "consumer_cancel_notify",
        "connection.blocked",
        "consumer_priorities",
        "authentication_failure_close",
        "per_consumer_qos",
        "direct_reply_to",
    ] {
        let _ = caps.insert(cap, FieldValue::Bool(true));
    }
    let mut p = FieldTable::default();
    let text = |t: &'static str| FieldValue::LongStr(Bytes::from_static(t.as_bytes()));
    let _ = p.insert("capabilities", FieldValue::Table(caps));
    let _ = p.insert("cluster_name", text("warren@localhost"));
    let _ = p.insert("copyright", text("Copyright (c) The Warren developers"));
    let _ = p.insert(
        "information",
        text("Licensed under MIT or Apache-2.0. Website: see README"),
    );
    let _ = p.insert("platform", text("Rust"));
    let _ = p.insert("product", text("Warren"));
    let _ = p.insert("version", text(env!("CARGO_PKG_VERSION")));
    p
}
