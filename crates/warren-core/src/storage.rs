//! Queue message storage behind a narrow trait, so a disk-backed store can replace the in-memory
//! one without touching routing, delivery or the server.

use std::collections::VecDeque;
use std::sync::Arc;

use crate::message::Message;

/// A message waiting in a queue.
#[derive(Debug, Clone)]
pub struct QueuedMessage {
    /// The shared message record.
    pub message: Arc<Message>,
    /// True once it has been delivered and requeued.
    pub redelivered: bool,
}

/// The ready messages of one queue, in delivery order. Called with the queue's lock held, so an
/// implementation needs no locking of its own and must not block for long (a disk store appends
/// to a buffer and leaves fsync to its own thread).
pub trait QueueStorage: Send {
    /// Appends a newly routed message.
    fn push_back(&mut self, message: QueuedMessage);
    /// Puts a requeued message back at the head (redelivered messages go first, as in RabbitMQ).
    fn push_front(&mut self, message: QueuedMessage);
    /// Takes the head message.
    fn pop_front(&mut self) -> Option<QueuedMessage>;
    /// Looks at the head message.
    fn peek_front(&self) -> Option<&QueuedMessage>;
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

/// Makes the storage of each new queue (the broker calls it on declare).
pub trait StorageFactory: Send + Sync {
    /// Storage for the queue `name` in `vhost`; `durable` tells a disk store whether to persist.
    fn create(&self, vhost: &str, name: &str, durable: bool) -> Box<dyn QueueStorage>;
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
}

impl QueueStorage for MemoryStorage {
    fn push_back(&mut self, message: QueuedMessage) {
        self.bytes = self.bytes.saturating_add(message.message.size());
        self.messages.push_back(message);
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

    fn peek_front(&self) -> Option<&QueuedMessage> {
        self.messages.front()
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
        QueuedMessage {
            message: Arc::new(Message::new(
                "",
                "k",
                Properties::default(),
                Bytes::from_static(body),
            )),
            redelivered: false,
        }
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
