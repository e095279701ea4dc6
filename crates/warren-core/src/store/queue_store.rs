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

use tracing::{error, warn};

use super::pages::{PageFile, PageWriter, PagedEntry};
use super::recovery::RecoveredQueue;
use super::{Persisted, Shared};
use crate::channel::DeliverySink;
use crate::message::Message;
use crate::storage::{QueueStorage, QueuedMessage, StorageFactory, Ticket};

/// One ready message of a queue on the store, while its entry is in RAM.
struct Entry {
    /// The message, when held in RAM (transient messages while the budget allows; persistent
    /// ones only while the memory budget allows).
    message: Option<Arc<Message>>,
    /// The publish (or spill) record (dropping it writes the ack).
    persisted: Option<Persisted>,
    redelivered: bool,
    /// Body size.
    size: usize,
}

/// Ready messages of a queue on the store. In a queue that survives restarts (`durable`),
/// persistent messages are appended to the log on `push_back`; the others are lost on restart
/// (as in RabbitMQ) and only spilled to disk when RAM is short.
///
/// The entries are, in delivery order: `head` (in RAM, delivered from), `pages` (on disk, see
/// [`super::pages`]) and `tail` (in RAM, appended to). The tail is written out as a page
/// whenever it reaches the configured page size, so at most about two pages of entries are in
/// RAM however deep the queue is.
pub(crate) struct DurableQueue {
    shared: Arc<Shared>,
    durable: bool,
    vhost: Arc<str>,
    name: Arc<str>,
    head: VecDeque<Entry>,
    pages: VecDeque<PageFile>,
    tail: VecDeque<Entry>,
    /// Entries in `pages`.
    paged: usize,
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
        recovered: RecoveredQueue,
    ) -> DurableQueue {
        let entry = |r: &super::recovery::RecoveredMessage| Entry {
            message: None,
            persisted: Some(Persisted::from_raw(&shared, r.location, r.len, false)),
            // Delivered before the restart and never acked: redelivered.
            redelivered: r.delivered,
            size: r.size,
        };
        let head: VecDeque<Entry> = recovered.head.iter().map(entry).collect();
        let tail: VecDeque<Entry> = recovered.tail.iter().map(entry).collect();
        let paged = recovered.pages.iter().map(|p| p.count).sum();
        shared.paged.fetch_add(paged, Ordering::AcqRel);
        let bytes = head
            .iter()
            .chain(tail.iter())
            .map(|e| e.size)
            .chain(recovered.pages.iter().map(|p| p.bytes))
            .fold(0usize, usize::saturating_add);
        DurableQueue {
            shared: Arc::clone(&shared),
            durable,
            vhost,
            name,
            head,
            pages: recovered.pages.into(),
            tail,
            paged,
            bytes,
            cached: 0,
        }
    }

    fn page_entries(&self) -> usize {
        self.shared.config.queue_page_entries.max(1)
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

    /// Writes the tail out as one page. On a write error the tail stays in RAM (nothing is
    /// lost; the queue just uses more memory) and the error is logged.
    fn page_out(&mut self) {
        let mut page = PageWriter::default();
        for e in &self.tail {
            match (&e.persisted, &e.message) {
                (Some(p), _) => {
                    let (location, len, spill) = p.raw();
                    page.push_stored(location, len, e.size, e.redelivered, spill);
                }
                (None, Some(m)) => page.push_inline(m, e.redelivered),
                (None, None) => {}
            }
        }
        let file = match self.shared.pager.write(&page) {
            Ok(f) => f,
            Err(err) => {
                warn!(queue = %self.name, vhost = %self.vhost, error = %err,
                    "cannot write a queue index page; its entries stay in RAM");
                return;
            }
        };
        self.paged += file.count;
        self.shared.paged.fetch_add(file.count, Ordering::AcqRel);
        self.pages.push_back(file);
        for e in std::mem::take(&mut self.tail) {
            self.uncache(&e);
            if let Some(p) = e.persisted {
                p.disarm();
            }
        }
    }

    /// Refills an empty head: from the oldest page, or else by taking the tail.
    fn refill(&mut self) {
        while self.head.is_empty() {
            let Some(page) = self.pages.pop_front() else {
                std::mem::swap(&mut self.head, &mut self.tail);
                return;
            };
            self.paged = self.paged.saturating_sub(page.count);
            self.shared.paged.fetch_sub(page.count, Ordering::AcqRel);
            let (count, bytes) = (page.count, page.bytes);
            match page.take() {
                Ok(entries) => {
                    self.head.reserve(entries.len());
                    for p in entries {
                        let e = self.unpage(p);
                        self.head.push_back(e);
                    }
                }
                Err(err) => {
                    error!(queue = %self.name, vhost = %self.vhost, error = %err, messages = count,
                        "cannot read a queue index page back; its messages are dropped");
                    self.bytes = self.bytes.saturating_sub(bytes);
                }
            }
        }
    }

    fn unpage(&mut self, p: PagedEntry) -> Entry {
        match p {
            PagedEntry::Stored {
                location,
                len,
                size,
                redelivered,
                spill,
            } => Entry {
                message: None,
                persisted: Some(Persisted::from_raw(&self.shared, location, len, spill)),
                redelivered,
                size,
            },
            PagedEntry::Inline {
                message,
                redelivered,
            } => {
                let size = message.size();
                self.hold(size);
                Entry {
                    message: Some(message),
                    persisted: None,
                    redelivered,
                    size,
                }
            }
        }
    }

    /// Settles every paged-out message (a purge or the queue's deletion) and deletes the
    /// pages; once the store is closed only the files go.
    fn settle_pages(&mut self) {
        let closed = self.shared.closed.load(Ordering::Acquire);
        for page in std::mem::take(&mut self.pages) {
            if closed {
                page.discard();
                continue;
            }
            match page.take() {
                Ok(entries) => {
                    for p in entries {
                        if let PagedEntry::Stored {
                            location,
                            len,
                            spill,
                            ..
                        } = p
                        {
                            // Dropping the handle writes the ack.
                            drop(Persisted::from_raw(&self.shared, location, len, spill));
                        }
                    }
                }
                Err(err) => {
                    error!(queue = %self.name, vhost = %self.vhost, error = %err,
                        "cannot read a queue index page to settle it; its messages come back at the next start");
                }
            }
        }
        self.shared.paged.fetch_sub(self.paged, Ordering::AcqRel);
        self.paged = 0;
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

    /// Takes the head entry, refilling from the pages or the tail first.
    fn take_head(&mut self) -> Option<Entry> {
        if self.head.is_empty() {
            self.refill();
        }
        let e = self.head.pop_front()?;
        self.bytes = self.bytes.saturating_sub(e.size);
        Some(e)
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
        let entry = Entry {
            message: keep.then_some(message),
            persisted,
            redelivered,
            size,
        };
        let page = self.page_entries();
        if self.pages.is_empty() && self.tail.is_empty() && self.head.len() < page {
            self.head.push_back(entry);
        } else {
            self.tail.push_back(entry);
            if self.tail.len() >= page {
                self.page_out();
            }
        }
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
        self.head.push_front(Entry {
            message: keep.then_some(message.message),
            persisted: message.persisted,
            redelivered: message.redelivered,
            size,
        });
    }

    fn pop_front(&mut self) -> Option<QueuedMessage> {
        while let Some(e) = self.take_head() {
            if let Some(m) = self.materialise(e) {
                return Some(m);
            }
        }
        None
    }

    fn drop_front(&mut self) -> bool {
        let Some(e) = self.take_head() else {
            return false;
        };
        self.uncache(&e);
        true
    }

    fn len(&self) -> usize {
        self.head.len() + self.paged + self.tail.len()
    }

    fn bytes(&self) -> usize {
        self.bytes
    }

    fn purge(&mut self) -> usize {
        let n = self.len();
        // Dropping the entries writes their acks.
        self.head.clear();
        self.tail.clear();
        self.settle_pages();
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
        self.settle_pages();
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
                RecoveredQueue::default(),
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
        if st.failed {
            // The writer stopped after an I/O error (see `writer::fail`, which drains the
            // waiters under this lock): this ticket will never be durable.
            drop(st);
            sink.store_failed();
            return false;
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
