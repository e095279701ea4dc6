//! The MQTT 3.1 / 3.1.1 / 5.0 front: a sans-IO session state machine over `warren-mqtt`
//! packets and `warren-core` operations, the state its connections share (client ids,
//! retained messages, delayed wills), and the tokio driver that moves its bytes.
//!
//! # Durability
//!
//! With a data directory (`[storage] data_dir`), a *persistent session* — MQTT 3.x clean
//! session 0, MQTT 5 Session Expiry Interval > 0 — survives a restart and a `kill -9` of the
//! broker, per the store's `fsync` policy; a clean session never does. What is kept, and
//! when the client is told:
//!
//! | what | kept in | the client's answer waits for the disk |
//! | --- | --- | --- |
//! | a QoS 1/2 message from the client | its durable queues | PUBACK / PUBREC |
//! | QoS 2 ids received, not released | the session record | PUBREC, PUBCOMP |
//! | subscriptions | the session record (and the durable bindings) | SUBACK, UNSUBACK |
//! | QoS 1/2 messages for the session | its durable `…qos1` queue | — |
//! | QoS 2 messages it released (PUBREC came, PUBREL sent) | the session record | PUBREL |
//! | retained messages | key-value records | PUBACK / PUBREC of the retaining publish |
//!
//! * A client that got SUBACK finds the subscription after a crash; one that got UNSUBACK
//!   does not. A SUBACK waits for the session record with the new subscription to be on
//!   disk; the retained messages for the subscription follow it.
//! * Messages the broker sent at QoS 1/2 and the client did not acknowledge (PUBACK, or
//!   PUBREC for QoS 2) stay in the session's queue and are sent again when the session
//!   resumes, also after a restart, with DUP=1 (under new packet identifiers). DUP rests on
//!   the store's "delivered" hint, written just after the delivery: a message sent in the
//!   very last instant before a crash may come back with DUP=0.
//! * When PUBREC comes for a QoS 2 message, the broker records the packet id in the session
//!   record, then settles the message in the queue, and sends PUBREL once both are on disk.
//!   When the session resumes (also after a restart) it sends PUBREL again for every such
//!   id (MQTT 3.1.1 / 5.0 §4.4); PUBCOMP ends it. The message itself is not sent again. (A
//!   crash between the two writes, a few microseconds, sends the message again rather than
//!   losing it.)
//! * Shared subscriptions (`$share/<group>/<filter>`): the group has one queue, consumed by
//!   its connected members. When any member is a persistent session the queue is durable,
//!   so QoS 1/2 messages published while no member is connected wait in it, survive a
//!   restart, and go to whichever member comes first; it is deleted when the group's last
//!   member leaves (unsubscribes, or its session ends or expires), and at boot if no stored
//!   session belongs to it. A group of clean sessions has a transient queue that goes with
//!   its last consumer. Mosquitto instead hands each message to one member, online or not,
//!   and queues it in that member's session; Warren does not park a message with an absent
//!   member while others are connected. When a persistent session joins a group whose queue
//!   is transient, the queue is replaced by a durable one: the joining member takes over the
//!   messages waiting in it; messages then in flight to other members are not redelivered.
//!
//! # Resource alarms
//!
//! MQTT has no `connection.blocked`. While a memory or disk alarm is active (see
//! `[storage]` in the configuration), a connection that has published stops being read, as
//! in RabbitMQ's MQTT plugin: its TCP window fills and the client's publishes wait. What was
//! already read is handled; keep-alive is suspended while blocked and starts over when the
//! alarm clears. Connections that never published (subscribers) are not blocked.

pub mod convert;
pub mod driver;
pub mod session;
pub mod shared;

pub use session::MqttSession;
pub use shared::{MqttSettings, MqttShared};
