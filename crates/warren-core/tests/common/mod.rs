//! Socketless harness: a broker, connections, and a sink that records what the core hands out.
#![allow(dead_code)] // each test file uses a different part of the harness

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use parking_lot::Mutex;
use warren_core::*;

/// What a sink received, in order.
#[derive(Debug, Clone)]
pub enum Event {
    Deliver(Delivery),
    Cancelled(String),
    ConsumeOk(String),
}

/// Records deliveries and cancels; `full` simulates a full outbox.
#[derive(Default)]
pub struct Recorder {
    pub events: Mutex<Vec<Event>>,
    pub full: AtomicBool,
}

impl DeliverySink for Recorder {
    fn deliver(&self, d: Delivery) {
        self.events.lock().push(Event::Deliver(d));
    }
    fn cancelled(&self, tag: &str) {
        self.events.lock().push(Event::Cancelled(tag.to_owned()));
    }
    fn has_capacity(&self) -> bool {
        !self.full.load(Ordering::SeqCst)
    }
}

impl Recorder {
    /// Takes the recorded deliveries (dropping other events).
    pub fn take(&self) -> Vec<Delivery> {
        self.events
            .lock()
            .drain(..)
            .filter_map(|e| match e {
                Event::Deliver(d) => Some(d),
                _ => None,
            })
            .collect()
    }
    pub fn bodies(&self) -> Vec<String> {
        self.take()
            .iter()
            .map(|d| String::from_utf8_lossy(&d.message.body).into_owned())
            .collect()
    }
    pub fn cancels(&self) -> Vec<String> {
        self.events
            .lock()
            .iter()
            .filter_map(|e| match e {
                Event::Cancelled(t) => Some(t.clone()),
                _ => None,
            })
            .collect()
    }
}

pub fn broker() -> Arc<Broker> {
    Arc::new(Broker::with_defaults(BrokerConfig::default()))
}

pub fn connect_as(b: &Broker, user: &str, password: &str) -> Arc<Connection> {
    let user = b
        .authenticate(Mechanism::Plain, user, password, true)
        .unwrap();
    b.open_connection(ConnectionInfo {
        user,
        vhost: "/".into(),
        peer: "127.0.0.1:1".into(),
        protocol: Protocol::Amqp091,
        client_name: None,
    })
    .unwrap()
}

pub fn connect(b: &Broker) -> Arc<Connection> {
    connect_as(b, "guest", "guest")
}

pub fn channel(conn: &Connection, id: u16) -> (Arc<Channel>, Arc<Recorder>) {
    let sink = Arc::new(Recorder::default());
    let ch = conn.open_channel(id, sink.clone()).unwrap();
    (ch, sink)
}

pub fn publish(ch: &Channel, exchange: &str, key: &str, body: &str) -> PublishOutcome {
    ch.basic_publish(
        exchange,
        key.to_owned(),
        false,
        Properties::default(),
        Bytes::copy_from_slice(body.as_bytes()),
    )
    .unwrap()
}

pub fn declare(ch: &Channel, name: &str) {
    ch.queue_declare(name, QueueOptions::default(), false)
        .unwrap();
}

pub fn consume(ch: &Channel, queue: &str, tag: &str, no_ack: bool) -> Arc<str> {
    ch.basic_consume(queue, tag, no_ack, false, |_| {}).unwrap()
}

pub fn ready(b: &Broker, queue: &str) -> usize {
    b.vhost("/").unwrap().queue(queue).unwrap().message_count()
}

pub fn text(e: CoreError) -> (u16, String) {
    (e.reply_code(), e.to_string())
}

/// A broker over a store on `dir`, booted as the server does: saved definitions (or a fresh
/// `/` with guest), then attach.
pub fn boot_store(
    config: warren_core::store::StoreConfig,
) -> (warren_core::store::Store, Arc<Broker>) {
    let store = warren_core::store::Store::open(config).unwrap();
    let broker = Arc::new(Broker::with_storage(
        BrokerConfig::default(),
        store.factory(),
    ));
    match store.definitions().unwrap() {
        Some(defs) => broker.import_definitions(&defs).unwrap(),
        None => {
            broker.add_vhost("/");
            broker.put_user(User::new("guest", "guest", vec!["administrator".into()]));
            broker
                .set_permissions("guest", "/", ".*", ".*", ".*")
                .unwrap();
        }
    }
    store.attach(&broker).unwrap();
    (store, broker)
}
