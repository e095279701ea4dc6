//! Queue message storage behind a narrow trait, so a disk-backed store (the durable
//! [`crate::store`]) can replace the in-memory one without touching routing, delivery or the
//! server.

use std::collections::VecDeque;
use std::sync::Arc;

use crate::channel::DeliverySink;
use crate::message::Message;
use crate::store::Persisted;

/// A message waiting in a queue (or, once delivered, held by the channel until settled).
#[derive(Debug)]
pub struct QueuedMessage {
    /// The shared message record.
    pub message: Arc<Message>,
    /// True once it has been delivered and requeued.
    pub redelivered: bool,
    /// Its publish record in the durable store, for persistent messages of durable queues.
    /// Dropping it writes the ack: whoever ends up dropping the message settles it.
    pub persisted: Option<Persisted>,
}

impl QueuedMessage {
    /// A message not (yet) on disk.
    pub fn new(message: Arc<Message>, redelivered: bool) -> QueuedMessage {
        QueuedMessage {
            message,
            redelivered,
            persisted: None,
        }
    }
}

/// A position in the durable log: a persistent publish is on stable storage once the store
/// has confirmed a ticket at least this high ([`DeliverySink::confirmed`]). Tickets grow in
/// append order, so confirming one confirms every lower one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ticket(pub u64);

/// The ready messages of one queue, in delivery order. Called with the queue's lock held, so an
/// implementation needs no locking of its own and must not block for long (a disk store appends
/// to a buffer and leaves fsync to its own thread).
pub trait QueueStorage: Send {
    /// Appends a newly routed message. Returns a ticket when the message is being written to
    /// stable storage: a publisher confirm for it must wait until that ticket is durable.
    fn push_back(&mut self, message: QueuedMessage) -> Option<Ticket>;
    /// Puts a requeued message back at the head (redelivered messages go first, as in RabbitMQ).
    fn push_front(&mut self, message: QueuedMessage);
    /// Takes the head message.
    fn pop_front(&mut self) -> Option<QueuedMessage>;
    /// Drops the head message (overflow); returns false when empty. A disk store overrides it
    /// to skip reading the body back.
    fn drop_front(&mut self) -> bool {
        self.pop_front().is_some()
    }
    /// Number of ready messages.
    fn len(&self) -> usize;
    /// Total body bytes of the ready messages.
    fn bytes(&self) -> usize;
    /// Drops every ready message; returns how many there were.
    fn purge(&mut self) -> usize;
    /// True when no message is ready.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Makes the storage of each new queue (the broker calls it on declare), and is told what a
/// disk store must know: durability waits and topology changes.
pub trait StorageFactory: Send + Sync {
    /// Storage for the queue `name` in `vhost`; `durable` is true when the queue survives a
    /// restart (declared durable, neither exclusive nor auto-delete), telling a disk store
    /// whether to persist.
    fn create(&self, vhost: &str, name: &str, durable: bool) -> Box<dyn QueueStorage>;

    /// Asks for `sink.confirmed(t)` with `t >= ticket` once `ticket` is durable. Returns true
    /// (and calls nothing) when it already is. False means the sink will be told: either
    /// `confirmed` later, or [`DeliverySink::store_failed`] when the store cannot write
    /// (possibly at once). The default: everything is always durable.
    fn when_durable(&self, ticket: Ticket, sink: &Arc<dyn DeliverySink>) -> bool {
        let _ = (ticket, sink);
        true
    }

    /// A durable vhost, user, permission, exchange, queue or binding was created, changed or
    /// deleted (called after the change, with no core lock held). The default does nothing.
    fn topology_changed(&self) {}
}

/// The in-memory store: a ring buffer of shared messages and a byte count.
#[derive(Debug, Default)]
pub struct MemoryStorage {
    messages: VecDeque<QueuedMessage>,
    bytes: usize,
}

impl MemoryStorage {
    /// An empty store.
    pub fn new() -> MemoryStorage {
        MemoryStorage::default()
    }

    /// Looks at the head message.
    pub fn peek_front(&self) -> Option<&QueuedMessage> {
        self.messages.front()
    }
}

impl QueueStorage for MemoryStorage {
    fn push_back(&mut self, message: QueuedMessage) -> Option<Ticket> {
        self.bytes = self.bytes.saturating_add(message.message.size());
        self.messages.push_back(message);
        None
    }

    fn push_front(&mut self, message: QueuedMessage) {
        self.bytes = self.bytes.saturating_add(message.message.size());
        self.messages.push_front(message);
    }

    fn pop_front(&mut self) -> Option<QueuedMessage> {
        let m = self.messages.pop_front()?;
        self.bytes = self.bytes.saturating_sub(m.message.size());
        Some(m)
    }

    fn len(&self) -> usize {
        self.messages.len()
    }

    fn bytes(&self) -> usize {
        self.bytes
    }

    fn purge(&mut self) -> usize {
        let n = self.messages.len();
        self.messages.clear();
        self.bytes = 0;
        n
    }
}

/// The default factory: every queue in memory.
#[derive(Debug, Default, Clone, Copy)]
pub struct MemoryStorageFactory;

impl StorageFactory for MemoryStorageFactory {
    fn create(&self, _vhost: &str, _name: &str, _durable: bool) -> Box<dyn QueueStorage> {
        Box::new(MemoryStorage::new())
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::message::Properties;

    fn qm(body: &'static [u8]) -> QueuedMessage {
        QueuedMessage::new(
            Arc::new(Message::new(
                "",
                "k",
                Properties::default(),
                Bytes::from_static(body),
            )),
            false,
        )
    }

    #[test]
    fn fifo_with_front_requeue_and_byte_count() {
        let mut s = MemoryStorage::new();
        s.push_back(qm(b"one"));
        s.push_back(qm(b"three"));
        assert_eq!((s.len(), s.bytes()), (2, 8));
        let first = s.pop_front().unwrap();
        assert_eq!(&first.message.body[..], b"one");
        s.push_front(first);
        assert_eq!(&s.peek_front().unwrap().message.body[..], b"one");
        assert_eq!(s.purge(), 2);
        assert_eq!((s.len(), s.bytes()), (0, 0));
        assert!(s.pop_front().is_none());
    }
}
