//! The per-queue side of the store: a queue's ready messages as a small in-RAM index (location,
//! size, redelivered, and the body only while it fits the memory budget), and the
//! [`StorageFactory`] that gives every queue this storage.
//!
//! In a queue that survives restarts, persistent messages get publish records (and their
//! confirms wait for the disk). Everything else — transient messages, and every message of a
//! queue that does not survive a restart — stays in RAM while the store-wide budget allows
//! and is *spilled* past it: written as a spill record that recovery ignores, read back on
//! delivery.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};

use tracing::error;

use super::recovery::RecoveredMessage;
use super::{Persisted, Shared};
use crate::channel::DeliverySink;
use crate::message::Message;
use crate::storage::{QueueStorage, QueuedMessage, StorageFactory, Ticket};

/// One ready message of a durable queue.
struct Entry {
    /// The message, when held in RAM (always for transient messages; for persistent ones only
    /// while the memory budget allows).
    message: Option<Arc<Message>>,
    /// The publish record of a persistent message (dropping it writes the ack).
    persisted: Option<Persisted>,
    redelivered: bool,
    /// Body size.
    size: usize,
}

/// Ready messages of a queue on the store. In a queue that survives restarts (`durable`),
/// persistent messages are appended to the log on `push_back`; the others are lost on restart
/// (as in RabbitMQ) and only spilled to disk when RAM is short.
pub(crate) struct DurableQueue {
    shared: Arc<Shared>,
    durable: bool,
    vhost: Arc<str>,
    name: Arc<str>,
    entries: VecDeque<Entry>,
    bytes: usize,
    /// Body bytes of this queue counted in `Shared::cached_bytes`.
    cached: usize,
}

impl DurableQueue {
    pub(crate) fn new(
        shared: Arc<Shared>,
        durable: bool,
        vhost: Arc<str>,
        name: Arc<str>,
        recovered: Vec<RecoveredMessage>,
    ) -> DurableQueue {
        let mut q = DurableQueue {
            shared: Arc::clone(&shared),
            durable,
            vhost,
            name,
            entries: VecDeque::with_capacity(recovered.len()),
            bytes: 0,
            cached: 0,
        };
        for r in recovered {
            q.bytes = q.bytes.saturating_add(r.size);
            q.entries.push_back(Entry {
                message: None,
                persisted: Some(Persisted {
                    shared: Arc::clone(&shared),
                    location: r.location,
                    len: r.len,
                    spill: false,
                }),
                // Delivered before the restart and never acked: redelivered.
                redelivered: r.delivered,
                size: r.size,
            });
        }
        q
    }

    /// Keeps the body in RAM if the store-wide budget allows.
    fn try_cache(&mut self, size: usize) -> bool {
        let budget = self.shared.config.memory_budget;
        let prev = self.shared.cached_bytes.fetch_add(size, Ordering::AcqRel);
        if prev.saturating_add(size) <= budget {
            self.cached += size;
            true
        } else {
            self.shared.cached_bytes.fetch_sub(size, Ordering::AcqRel);
            false
        }
    }

    /// Counts a body that must stay in RAM (it has no record to read back from).
    fn hold(&mut self, size: usize) {
        self.shared.cached_bytes.fetch_add(size, Ordering::AcqRel);
        self.cached += size;
    }

    fn uncache(&mut self, e: &Entry) {
        if e.message.is_some() {
            self.cached = self.cached.saturating_sub(e.size);
            self.shared.cached_bytes.fetch_sub(e.size, Ordering::AcqRel);
        }
    }

    fn materialise(&mut self, e: Entry) -> Option<QueuedMessage> {
        self.uncache(&e);
        let message = match (e.message, &e.persisted) {
            (Some(m), _) => m,
            (None, Some(p)) => match self.shared.read(p.location, p.len) {
                Ok(m) => Arc::new(m),
                Err(err) => {
                    error!(queue = %self.name, vhost = %self.vhost, error = %err,
                        "cannot read a message back from the store; it is dropped");
                    return None;
                }
            },
            (None, None) => return None,
        };
        if let Some(p) = &e.persisted {
            if !p.spill && !e.redelivered {
                // First delivery of a message on disk: after a restart it is redelivered.
                self.shared.append_delivered(p.location);
            }
        }
        Some(QueuedMessage {
            message,
            redelivered: e.redelivered,
            persisted: e.persisted,
        })
    }
}

impl QueueStorage for DurableQueue {
    fn push_back(&mut self, message: QueuedMessage) -> Option<Ticket> {
        let size = message.message.size();
        self.bytes = self.bytes.saturating_add(size);
        let QueuedMessage {
            message,
            redelivered,
            persisted,
        } = message;
        let (persisted, ticket, keep) = match persisted {
            Some(p) => {
                let keep = self.try_cache(size);
                (Some(p), None, keep)
            }
            None if self.durable && message.properties.is_persistent() => {
                let (p, t) = self
                    .shared
                    .append_publish(&self.vhost, &self.name, &message, false);
                let keep = self.try_cache(size);
                (Some(p), Some(t), keep)
            }
            None if self.try_cache(size) => (None, None, true),
            None => {
                // Over the budget: spill to disk rather than hold it in RAM.
                let (p, _) = self
                    .shared
                    .append_publish(&self.vhost, &self.name, &message, true);
                (Some(p), None, false)
            }
        };
        self.entries.push_back(Entry {
            message: keep.then_some(message),
            persisted,
            redelivered,
            size,
        });
        ticket
    }

    fn push_front(&mut self, message: QueuedMessage) {
        let size = message.message.size();
        self.bytes = self.bytes.saturating_add(size);
        let keep = if message.persisted.is_none() {
            self.hold(size);
            true
        } else {
            self.try_cache(size)
        };
        self.entries.push_front(Entry {
            message: keep.then_some(message.message),
            persisted: message.persisted,
            redelivered: message.redelivered,
            size,
        });
    }

    fn pop_front(&mut self) -> Option<QueuedMessage> {
        while let Some(e) = self.entries.pop_front() {
            self.bytes = self.bytes.saturating_sub(e.size);
            if let Some(m) = self.materialise(e) {
                return Some(m);
            }
        }
        None
    }

    fn drop_front(&mut self) -> bool {
        let Some(e) = self.entries.pop_front() else {
            return false;
        };
        self.bytes = self.bytes.saturating_sub(e.size);
        self.uncache(&e);
        true
    }

    fn len(&self) -> usize {
        self.entries.len()
    }

    fn bytes(&self) -> usize {
        self.bytes
    }

    fn purge(&mut self) -> usize {
        let n = self.entries.len();
        // Dropping the entries writes their acks.
        self.entries.clear();
        self.shared
            .cached_bytes
            .fetch_sub(self.cached, Ordering::AcqRel);
        self.cached = 0;
        self.bytes = 0;
        n
    }
}

impl Drop for DurableQueue {
    fn drop(&mut self) {
        self.shared
            .cached_bytes
            .fetch_sub(self.cached, Ordering::AcqRel);
    }
}

/// Durable queues on disk, the others in memory. Made by [`super::Store::factory`].
pub(crate) struct DurableStorageFactory {
    pub(crate) shared: Arc<Shared>,
}

impl StorageFactory for DurableStorageFactory {
    fn create(&self, vhost: &str, name: &str, durable: bool) -> Box<dyn QueueStorage> {
        if !durable {
            return Box::new(DurableQueue::new(
                Arc::clone(&self.shared),
                false,
                Arc::from(vhost),
                Arc::from(name),
                Vec::new(),
            ));
        }
        let recovered = self
            .shared
            .recovered
            .lock()
            .remove(&(Arc::from(vhost), Arc::from(name)))
            .unwrap_or_default();
        Box::new(DurableQueue::new(
            Arc::clone(&self.shared),
            true,
            Arc::from(vhost),
            Arc::from(name),
            recovered,
        ))
    }

    fn when_durable(&self, ticket: Ticket, sink: &Arc<dyn DeliverySink>) -> bool {
        let mut st = self.shared.state.lock();
        if ticket.0 <= st.durable {
            return true;
        }
        let key = Arc::as_ptr(sink) as *const () as usize;
        let weak: Weak<dyn DeliverySink> = Arc::downgrade(sink);
        let slot = st.waiters.entry(key).or_insert((Weak::clone(&weak), 0));
        if slot.0.strong_count() == 0 {
            // A sink that died left its slot; this is a new sink at the same address.
            *slot = (weak, 0);
        }
        slot.1 = slot.1.max(ticket.0);
        false
    }

    fn topology_changed(&self) {
        self.shared.save_definitions_logged();
    }
}
