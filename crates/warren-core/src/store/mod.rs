//! The durable message store: persistent messages of durable queues in append-only segment
//! files, publisher confirms released by group-committed fsyncs, and the durable topology in
//! an atomically replaced metadata file.
//!
//! It does its own file I/O on its own thread (std threads and a condition variable, no async
//! runtime); everything else in the core stays I/O-free. The broker sees it only as a
//! [`StorageFactory`] ([`Store::factory`]) handed to [`Broker::with_storage`].
//!
//! # Data directory
//! ```text
//! DIR/LOCK                      held (flock) while a broker uses DIR: two brokers never share it
//! DIR/definitions.json          durable vhosts, users, permissions, exchanges, queues, bindings
//!                               (RabbitMQ definitions format), replaced atomically on each change
//! DIR/segments/NNNN….seg        the message log, 20-digit segment numbers, appended in order
//! DIR/pages/NNNN….page           index pages of deep queues (scratch: wiped at every start)
//! ```
//!
//! # Segment format (version 1)
//! A segment starts with the 8-byte header `WRNSEG\0\x01` and holds records back to back. Every
//! record is framed as
//!
//! | bytes | field |
//! | --- | --- |
//! | 4 | payload length, u32 little-endian |
//! | 4 | CRC-32 (IEEE, as `crc32fast`) of the payload, u32 little-endian |
//! | n | payload |
//!
//! The payload's first byte is its kind. Strings and byte strings are a u32 LE length then the
//! bytes; integers are little-endian.
//!
//! * `1` **publish**: vhost, queue, exchange, routing key (strings); properties: a u16 presence
//!   bitmask (bit 0 content-type … bit 13 cluster-id, in the AMQP order) then each present
//!   property (strings; delivery-mode and priority one byte; timestamp u64; headers a table:
//!   u32 entry count, then key string, one tag byte — the AMQP field type letters, `#` for the
//!   spec's short string — and the value); then the body (byte string). A message routed to
//!   several durable queues has one publish record per queue.
//! * `2` **ack**: the location of the record it settles: segment u64, offset u64. For a
//!   publish it is written when the message leaves its queue for good: a consumer ack, a
//!   reject or nack without requeue, an auto-ack delivery, a purge, a drop-head overflow or the
//!   queue's deletion. For a key-value record, when it is replaced or deleted.
//! * `3` **key-value**: namespace, key (strings), value (byte string): a small durable record
//!   ([`Store::kv_put`]) such as an MQTT retained message or session state, live until acked.
//! * `4` **spill**: see *Memory* below.
//! * `5` **delivered**: the location of a publish record whose message was delivered for the
//!   first time (so that it comes back redelivered). A hint only: it holds no segment back.
//!
//! A record is never split across segments; a new segment starts when the next record would
//! take the current one past `segment_size`. A sealed segment is deleted once every publish in
//! it is acked **and** every older segment that its ack records refer to is gone (otherwise
//! the messages those acks settle would come back at the next start).
//!
//! # Recovery
//! At [`Store::open`] every segment is read in order, twice. Reading a segment stops at the first
//! frame that is incomplete, fails its CRC or does not decode; the file is cut there with a
//! `warn` log line naming the segment, the reason and the bytes removed — never a panic. The
//! publish records that no ack record settles are the live messages. The first pass checks
//! every record and collects only the ack and delivered marks (8 bytes of RAM per ack record
//! in the log) and the key-value records; the second streams the live publishes into their
//! queues, writing deep ones out as index pages as it goes, so recovering ten million
//! messages takes no more RAM than holding them. Each durable queue gets
//! its own back, in publish order, when the definitions re-declare it; those a delivered
//! record names (delivered before, never acked) are marked **redelivered**. Live messages of a queue that no longer
//! exists are acked. Appending continues in a fresh segment.
//!
//! # Confirms and fsync ([`FsyncPolicy`])
//! Appending fixes a record's location and *ticket* (its position in the log) under a short
//! lock; the writer thread takes everything appended so far as one batch, writes it, and then,
//! per policy:
//!
//! * [`FsyncPolicy::Always`] — `fdatasync` before the batch's confirms are released. A
//!   confirmed message survives a process crash, `kill -9`, a kernel crash and a power loss.
//!   One fsync confirms every publish of the batch (group commit).
//! * [`FsyncPolicy::Interval`] — confirms are released once the batch is written (in the OS
//!   page cache); fsync runs at most once per interval. Survives a process crash / `kill -9`;
//!   a power loss or kernel crash may lose the last interval.
//! * [`FsyncPolicy::Never`] — confirms after the write, fsync left to the OS (and at a clean
//!   shutdown). Survives a process crash only.
//!
//! The front learns of durability through [`DeliverySink::confirmed`], called from the writer
//! thread with the highest ticket now durable.
//!
//! **When the disk fails.** If a write or an fsync fails (disk full, I/O error, the
//! `segments` directory gone), the writer logs an `error` line naming the segment and the OS
//! error and stops for good; the broker keeps running. Nothing appended after the last
//! released confirm is ever confirmed: every waiting channel is told
//! [`DeliverySink::store_failed`], and so is every channel that waits for a ticket later.
//! What a publisher sees:
//!
//! * AMQP with confirms: `basic.nack` for every persistent publish to a durable queue still
//!   waiting for the disk and for every later one, as RabbitMQ nacks what it cannot persist
//!   (publishes that needed no disk — transient, or to transient queues — are still acked).
//!   A nacked message may still be delivered from memory, but will not survive a restart.
//! * MQTT 5: PUBACK / PUBREC with reason code 0x80 (unspecified error) for QoS 1/2 publishes
//!   waiting for the disk. MQTT 3.1 / 3.1.1 have no negative acknowledgement: the connection
//!   is closed without the answer, so the client publishes again after reconnecting (and is
//!   refused the same way until the broker is restarted on a working disk). A PUBCOMP waiting
//!   for the disk (the session's QoS 2 state) closes the connection in both versions.
//!
//! Until a restart, appended records are dropped rather than kept in memory, and bodies that
//! were only on disk can no longer be read back ([`StoreError::NotWriting`]).
//!
//! # Memory
//! What RAM the store uses is set by configuration, not by queue depth:
//!
//! * **Index entries.** A queue keeps, per message, its location, size and flags (about 64
//!   bytes) — but only for about two [`StoreConfig::queue_page_entries`] pages: its head and
//!   its tail. Entries between them are written to page files (about 30 bytes each on disk,
//!   see the `pages` module) and read back a page at a time as the head drains.
//! * **Bodies.** A body stays in RAM only while the store-wide
//!   [`StoreConfig::memory_budget`] allows and is read back from its segment when delivered
//!   otherwise. Persistent messages of surviving queues are on disk anyway; transient
//!   messages (and every message of a queue that does not survive restarts) are written out
//!   past the budget as kind `4` **spill** records — the publish layout — which recovery
//!   ignores: they are lost at restart, as in RabbitMQ. Settling a spilled message writes
//!   nothing. A transient message still in RAM when its entry is paged out moves into the
//!   page whole (no log record).
//!
//! # Example
//! ```
//! use std::sync::Arc;
//! use warren_core::store::{Store, StoreConfig};
//! use warren_core::*;
//!
//! let dir = tempfile::tempdir()?;
//! let store = Store::open(StoreConfig::new(dir.path()))?;
//! let broker = Arc::new(Broker::with_storage(BrokerConfig::default(), store.factory()));
//! broker.add_vhost("/");
//! broker.declare_queue("/", "jobs", QueueOptions::default().durable(true))?;
//! store.attach(&broker)?; // persists the topology from now on
//! assert!(dir.path().join("definitions.json").exists());
//! store.close();
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod metadata;
mod pages;
mod queue_store;
mod record;
mod recovery;
mod segment;
mod writer;

use std::collections::HashMap;
use std::fs::File;
use std::os::unix::fs::FileExt as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use fs4::fs_std::FileExt as _;
use parking_lot::{Condvar, Mutex};
use tracing::{error, info};

use crate::broker::Broker;
use crate::definitions::Definitions;
use crate::message::Message;
use crate::storage::{StorageFactory, Ticket};

pub use record::Location;
pub use recovery::RecoveryReport;

#[cfg(doc)]
use crate::channel::DeliverySink;

use queue_store::DurableStorageFactory;
use record::Record;
use writer::{AppendState, WrittenPos, READ_WAIT};

/// When the writer thread fsyncs, and so what a publisher confirm guarantees (see the module
/// docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FsyncPolicy {
    /// fsync every batch before confirming it: survives power loss.
    Always,
    /// Confirm after the write, fsync at most once per interval: survives a process crash.
    Interval(Duration),
    /// Confirm after the write, never fsync (except at a clean shutdown).
    Never,
}

/// How the store is set up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreConfig {
    /// The data directory (created if missing).
    pub dir: PathBuf,
    /// The fsync policy. Default [`FsyncPolicy::Always`].
    pub fsync: FsyncPolicy,
    /// Size at which a new segment starts, in bytes. Default 64 MiB.
    pub segment_size: u64,
    /// Message body bytes kept in RAM across all queues; beyond it bodies are on disk only
    /// (persistent ones in their publish record, the others spilled) and read back on
    /// delivery. Default 256 MiB.
    pub memory_budget: usize,
    /// Index entries per queue page: a queue keeps at most about twice this many message
    /// entries in RAM (its head and its tail) and the rest in page files, so its RAM does not
    /// grow with its depth. Default 16384 (about 64 bytes of RAM each: 2 MiB for a deep queue).
    pub queue_page_entries: usize,
}

impl StoreConfig {
    /// The defaults with data directory `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> StoreConfig {
        StoreConfig {
            dir: dir.into(),
            fsync: FsyncPolicy::Always,
            segment_size: 64 * 1024 * 1024,
            memory_budget: 256 * 1024 * 1024,
            queue_page_entries: 16384,
        }
    }
}

/// Why the store could not do something.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A file operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// Another process holds the data directory.
    #[error("data directory {path} is in use by another broker (its LOCK file is held)")]
    Locked {
        /// The directory.
        path: PathBuf,
    },
    /// The metadata file does not parse.
    #[error("metadata file {path}: {reason}")]
    Metadata {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A record read back for delivery is not the publish record expected.
    #[error("record at segment {} offset {}: {reason}", .location.segment, .location.offset)]
    Corrupt {
        /// Where.
        location: Location,
        /// What is wrong.
        reason: String,
    },
    /// The writer thread stopped after an I/O error (see the log) or the store was closed.
    #[error("the message store is not writing (closed, or stopped after an I/O error)")]
    NotWriting,
    /// The metadata cannot be saved because the broker is gone.
    #[error("the store is not attached to a live broker")]
    NotAttached,
}

/// Counters of a running store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreStats {
    /// Segment files that exist.
    pub segments: usize,
    /// Live (unacked) persistent messages on disk.
    pub live_messages: u64,
    /// Body bytes of persistent messages held in RAM.
    pub cached_bytes: usize,
    /// Ready messages whose index entries are paged out to disk (not in RAM).
    pub paged_messages: usize,
    /// Records appended since start.
    pub appended: u64,
    /// The highest ticket known durable.
    pub durable: u64,
}

/// State shared by the store handle, the writer thread, the queues and the tokens.
pub(crate) struct Shared {
    pub(crate) dir: PathBuf,
    pub(crate) seg_dir: PathBuf,
    pub(crate) config: StoreConfig,
    pub(crate) state: Mutex<AppendState>,
    /// Wakes the writer.
    pub(crate) work: Condvar,
    pub(crate) written: Mutex<WrittenPos>,
    pub(crate) written_cv: Condvar,
    /// Signalled when `state.durable` advances.
    pub(crate) durable_cv: Condvar,
    /// Read handles of segments.
    pub(crate) files: Mutex<HashMap<u64, Arc<File>>>,
    /// Set by [`Store::close`]: dropped tokens write nothing any more (a shutdown tears the
    /// queues down without settling their messages).
    pub(crate) closed: AtomicBool,
    pub(crate) failed: AtomicBool,
    pub(crate) cached_bytes: AtomicUsize,
    /// Messages whose index entries are in page files.
    pub(crate) paged: AtomicUsize,
    pub(crate) recovered: Mutex<recovery::ByQueue>,
    /// Writes the index pages of deep queues.
    pub(crate) pager: pages::Pager,
    /// Live key-value records.
    kv: Mutex<recovery::KvMap>,
    broker: Mutex<Option<Weak<Broker>>>,
    /// Serialises metadata writes.
    meta: Mutex<()>,
}

impl Shared {
    /// Appends the publish record of `message` in queue `queue` (a spill record with `spill`:
    /// written only to free RAM, forgotten at restart).
    pub(crate) fn append_publish(
        self: &Arc<Self>,
        vhost: &str,
        queue: &str,
        message: &Message,
        spill: bool,
    ) -> (Persisted, Ticket) {
        let mut payload = Vec::with_capacity(64 + message.body.len());
        record::encode_publish(vhost, queue, message, spill, &mut payload);
        let mut framed = Vec::with_capacity(record::FRAME_HEADER + payload.len());
        record::frame(&payload, &mut framed);
        let len = u32::try_from(framed.len()).unwrap_or(u32::MAX);
        let mut st = self.state.lock();
        let (location, ticket) = st.append(&framed, self.config.segment_size);
        st.segments.entry(location.segment).or_default().live += 1;
        drop(st);
        self.work.notify_one();
        (Persisted::from_raw(self, location, len, spill), ticket)
    }

    /// A spilled message is gone: its segment may be reclaimed (no record: recovery ignores
    /// spill records anyway).
    fn release_spill(&self, target: Location) {
        let mut st = self.state.lock();
        let emptied = match st.segments.get_mut(&target.segment) {
            Some(info) => {
                info.live = info.live.saturating_sub(1);
                info.live == 0
            }
            None => false,
        };
        if emptied && target.segment < st.segment {
            st.reclaim_from(target.segment);
            drop(st);
            self.work.notify_one();
        }
    }

    /// Appends the ack of the publish record at `target` (no-op once closed).
    pub(crate) fn append_ack(&self, target: Location) {
        if self.closed.load(Ordering::Acquire) {
            return;
        }
        let mut payload = Vec::with_capacity(17);
        record::encode_ack(target, false, &mut payload);
        let mut framed = Vec::with_capacity(record::FRAME_HEADER + payload.len());
        record::frame(&payload, &mut framed);
        let mut st = self.state.lock();
        let (at, _) = st.append(&framed, self.config.segment_size);
        if at.segment != target.segment {
            st.segments
                .entry(at.segment)
                .or_default()
                .acks_into
                .insert(target.segment);
        }
        let emptied = match st.segments.get_mut(&target.segment) {
            Some(info) => {
                info.live = info.live.saturating_sub(1);
                info.live == 0
            }
            None => false,
        };
        if emptied && target.segment < st.segment {
            st.reclaim_from(target.segment);
        }
        drop(st);
        self.work.notify_one();
    }

    /// Notes that the publish record at `target` was delivered (no-op once closed).
    pub(crate) fn append_delivered(&self, target: Location) {
        if self.closed.load(Ordering::Acquire) {
            return;
        }
        let mut payload = Vec::with_capacity(17);
        record::encode_ack(target, true, &mut payload);
        let mut framed = Vec::with_capacity(record::FRAME_HEADER + payload.len());
        record::frame(&payload, &mut framed);
        self.state.lock().append(&framed, self.config.segment_size);
        self.work.notify_one();
    }

    /// Reads the publish record at `location` back (waiting for the writer if it is not on
    /// disk yet).
    pub(crate) fn read(&self, location: Location, len: u32) -> Result<Message, StoreError> {
        let need = WrittenPos {
            segment: location.segment,
            end: location.offset.saturating_add(u64::from(len)),
        };
        {
            let deadline = Instant::now() + READ_WAIT;
            let mut w = self.written.lock();
            while *w < need {
                if self.failed.load(Ordering::Acquire)
                    || self.written_cv.wait_until(&mut w, deadline).timed_out()
                {
                    return Err(StoreError::NotWriting);
                }
            }
        }
        let file = {
            let mut files = self.files.lock();
            match files.get(&location.segment) {
                Some(f) => Arc::clone(f),
                None => {
                    let path = segment::segment_path(&self.seg_dir, location.segment);
                    let f = Arc::new(
                        File::open(&path).map_err(|source| StoreError::Io { path, source })?,
                    );
                    files.insert(location.segment, Arc::clone(&f));
                    f
                }
            }
        };
        let mut buf = vec![0u8; usize::try_from(len).unwrap_or(0)];
        file.read_exact_at(&mut buf, location.offset)
            .map_err(|source| StoreError::Io {
                path: segment::segment_path(&self.seg_dir, location.segment),
                source,
            })?;
        let corrupt = |reason: String| StoreError::Corrupt { location, reason };
        let buf = bytes::Bytes::from(buf);
        let (payload, _) = segment::next_frame(&buf).map_err(corrupt)?;
        // The body is a slice of the record just read, not a second copy.
        record::decode_message_in(&buf, payload).map_err(|e| corrupt(e.to_string()))
    }

    /// Rewrites the metadata file from the attached broker (logging a failure).
    pub(crate) fn save_definitions_logged(&self) {
        if let Err(e) = self.save_definitions() {
            if !matches!(e, StoreError::NotAttached) {
                error!(error = %e, "cannot save the durable definitions");
            }
        }
    }

    fn save_definitions(&self) -> Result<(), StoreError> {
        let _guard = self.meta.lock();
        let broker = self
            .broker
            .lock()
            .as_ref()
            .and_then(Weak::upgrade)
            .ok_or(StoreError::NotAttached)?;
        metadata::save(&self.dir, &broker.export_durable_definitions())
    }
}

/// Encodes a message (exchange, routing key, every property, body) in the store's record
/// layout, for values of [`Store::kv_put`] — e.g. an MQTT retained message as a [`Message`]
/// whose routing key is the topic. [`decode_message`] reads it back.
///
/// ```
/// use bytes::Bytes;
/// use warren_core::store::{decode_message, encode_message};
/// use warren_core::{Message, Properties};
///
/// let m = Message::new("", "webos/car/info", Properties::default(), Bytes::from_static(b"parked"));
/// assert_eq!(decode_message(&encode_message(&m)).unwrap(), m);
/// assert!(decode_message(b"\x01garbage").is_err());
/// ```
pub fn encode_message(message: &Message) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + message.body.len());
    record::encode_publish("", "", message, false, &mut out);
    out
}

/// Decodes what [`encode_message`] wrote; never panics on bad bytes.
pub fn decode_message(bytes: &[u8]) -> Result<Message, StoreError> {
    let corrupt = |reason: String| StoreError::Corrupt {
        location: Location {
            segment: 0,
            offset: 0,
        },
        reason,
    };
    match record::decode(bytes).map_err(|e| corrupt(e.to_string()))? {
        Record::Publish { message, .. } => Ok(*message),
        _ => Err(corrupt("not an encoded message".into())),
    }
}

/// A persistent message's publish record, owned by whoever holds the message (its queue, or
/// the channel that delivered it and waits for the ack). Dropping it writes the ack record:
/// every way a message leaves the broker for good (ack, reject, auto-ack, purge, overflow,
/// queue deletion) settles it, and requeueing moves it back into the queue instead.
pub struct Persisted {
    shared: Arc<Shared>,
    location: Location,
    len: u32,
    /// A spill record: settling it writes nothing.
    spill: bool,
    /// False once the handle was written to an index page: dropping it then settles nothing
    /// (the page entry stands for it).
    armed: bool,
}

impl Persisted {
    /// Where the publish record is.
    pub fn location(&self) -> Location {
        self.location
    }

    /// The handle of the record at `location` (one that recovery found, or a page named).
    pub(crate) fn from_raw(
        shared: &Arc<Shared>,
        location: Location,
        len: u32,
        spill: bool,
    ) -> Persisted {
        Persisted {
            shared: Arc::clone(shared),
            location,
            len,
            spill,
            armed: true,
        }
    }

    /// (location, frame length, spill): what an index page keeps of it.
    pub(crate) fn raw(&self) -> (Location, u32, bool) {
        (self.location, self.len, self.spill)
    }

    /// Forgets the handle without settling the record: an index page now stands for it.
    pub(crate) fn disarm(mut self) {
        self.armed = false;
    }
}

impl std::fmt::Debug for Persisted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Persisted")
            .field("location", &self.location)
            .field("len", &self.len)
            .finish()
    }
}

impl Drop for Persisted {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        if self.spill {
            self.shared.release_spill(self.location);
        } else {
            self.shared.append_ack(self.location);
        }
    }
}

/// The durable store: open it on the data directory, give [`Store::factory`] to
/// [`Broker::with_storage`], import [`Store::definitions`], then [`Store::attach`] the broker.
/// Keep the handle for as long as the broker runs and [`Store::close`] it at shutdown (or let
/// it drop): after that, tearing the broker down settles nothing.
pub struct Store {
    shared: Arc<Shared>,
    writer: Mutex<Option<JoinHandle<()>>>,
    report: RecoveryReport,
    /// The data directory's lock, released when the store handle goes.
    _lock: File,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("dir", &self.shared.dir)
            .field("config", &self.shared.config)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Opens (creating if needed) the data directory, locks it, replays the log (cutting a
    /// torn tail) and starts the writer thread.
    pub fn open(config: StoreConfig) -> Result<Store, StoreError> {
        let dir = config.dir.clone();
        let seg_dir = dir.join("segments");
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| StoreError::Io { path, source }
        };
        std::fs::create_dir_all(&seg_dir).map_err(io(&seg_dir))?;
        let lock_path = dir.join("LOCK");
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io(&lock_path))?;
        if !lock.try_lock_exclusive().map_err(io(&lock_path))? {
            return Err(StoreError::Locked { path: dir });
        }
        let started = Instant::now();
        let pager = pages::Pager::open(&dir.join("pages"))?;
        let recovered = recovery::recover(&seg_dir, &pager, config.queue_page_entries.max(1))?;
        let mut state = AppendState {
            segment: recovered.last_segment,
            offset: segment::FIRST_RECORD,
            chunks: Vec::new(),
            last_ticket: 0,
            durable: 0,
            waiters: HashMap::new(),
            segments: recovered.segments,
            to_delete: Vec::new(),
            shutdown: false,
            failed: false,
        };
        // Never append to a recovered segment: start a fresh one (this also seals the others
        // and reclaims those that are fully acked).
        state.roll();
        info!(
            dir = %dir.display(),
            messages = recovered.report.messages,
            took_ms = started.elapsed().as_millis() as u64,
            "message store open"
        );
        let shared = Arc::new(Shared {
            dir,
            seg_dir,
            config,
            state: Mutex::new(state),
            work: Condvar::new(),
            written: Mutex::new(WrittenPos::default()),
            written_cv: Condvar::new(),
            durable_cv: Condvar::new(),
            files: Mutex::new(HashMap::new()),
            closed: AtomicBool::new(false),
            failed: AtomicBool::new(false),
            cached_bytes: AtomicUsize::new(0),
            paged: AtomicUsize::new(0),
            recovered: Mutex::new(recovered.queues),
            pager,
            kv: Mutex::new(recovered.kv),
            broker: Mutex::new(None),
            meta: Mutex::new(()),
        });
        // Records in recovered segments are on disk already.
        *shared.written.lock() = WrittenPos {
            segment: recovered.last_segment,
            end: u64::MAX,
        };
        for stale in recovered.stale_kv {
            shared.append_ack(stale);
        }
        let thread_shared = Arc::clone(&shared);
        let writer = std::thread::Builder::new()
            .name("warren-store".into())
            .spawn(move || writer::run(thread_shared))
            .map_err(io(&shared.dir))?;
        Ok(Store {
            shared,
            writer: Mutex::new(Some(writer)),
            report: recovered.report,
            _lock: lock,
        })
    }

    /// The storage factory for [`Broker::with_storage`]: durable queues get the log, the
    /// others memory.
    pub fn factory(&self) -> Arc<dyn StorageFactory> {
        Arc::new(DurableStorageFactory {
            shared: Arc::clone(&self.shared),
        })
    }

    /// What recovery found at open.
    pub fn recovery(&self) -> &RecoveryReport {
        &self.report
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.shared.dir
    }

    /// The durable definitions saved by the previous run (`None` on a first start).
    pub fn definitions(&self) -> Result<Option<Definitions>, StoreError> {
        metadata::load(&self.shared.dir)
    }

    /// Starts persisting `broker`'s durable topology (saving it now), and settles recovered
    /// messages whose queue was not re-declared. Call it once setup is complete.
    pub fn attach(&self, broker: &Arc<Broker>) -> Result<(), StoreError> {
        *self.shared.broker.lock() = Some(Arc::downgrade(broker));
        let orphans: Vec<_> = self.shared.recovered.lock().drain().collect();
        for ((vhost, queue), messages) in orphans {
            info!(%vhost, %queue, messages = messages.len(),
                "recovered messages of a queue that no longer exists are dropped");
            // Dropping the queue settles every message in it.
            drop(queue_store::DurableQueue::new(
                Arc::clone(&self.shared),
                true,
                vhost,
                queue,
                messages,
            ));
        }
        self.shared.save_definitions()
    }

    /// Rewrites the metadata file now.
    pub fn save_definitions(&self) -> Result<(), StoreError> {
        self.shared.save_definitions()
    }

    // ---- durable key-value records -----------------------------------------------------------

    /// Stores `value` under (`namespace`, `key`) in the log, replacing the previous value; it
    /// survives restarts until deleted. Returns the ticket to wait for (e.g. with
    /// [`Store::is_durable`] or the factory's `when_durable`) before acknowledging whatever the
    /// record stands for. For small records — MQTT retained messages and session state — whose
    /// values are kept in RAM.
    pub fn kv_put(&self, namespace: &str, key: &str, value: &[u8]) -> Ticket {
        let mut payload = Vec::with_capacity(16 + namespace.len() + key.len() + value.len());
        record::encode_kv(namespace, key, value, &mut payload);
        let mut framed = Vec::with_capacity(record::FRAME_HEADER + payload.len());
        record::frame(&payload, &mut framed);
        let mut kv = self.shared.kv.lock();
        let (location, ticket) = {
            let mut st = self.shared.state.lock();
            let r = st.append(&framed, self.shared.config.segment_size);
            st.segments.entry(r.0.segment).or_default().live += 1;
            r
        };
        self.shared.work.notify_one();
        let old = kv.insert(
            (namespace.to_owned(), key.to_owned()),
            (location, bytes::Bytes::copy_from_slice(value)),
        );
        drop(kv);
        if let Some((old, _)) = old {
            self.shared.append_ack(old);
        }
        ticket
    }

    /// Deletes (`namespace`, `key`); returns whether it existed.
    pub fn kv_delete(&self, namespace: &str, key: &str) -> bool {
        let old = self
            .shared
            .kv
            .lock()
            .remove(&(namespace.to_owned(), key.to_owned()));
        match old {
            Some((location, _)) => {
                self.shared.append_ack(location);
                true
            }
            None => false,
        }
    }

    /// Every (key, value) of `namespace`, sorted by key.
    pub fn kv_list(&self, namespace: &str) -> Vec<(String, bytes::Bytes)> {
        let mut v: Vec<(String, bytes::Bytes)> = self
            .shared
            .kv
            .lock()
            .iter()
            .filter(|((ns, _), _)| ns == namespace)
            .map(|((_, k), (_, value))| (k.clone(), value.clone()))
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }

    /// The ticket of the last record appended: once it is durable, so is everything appended
    /// before it (for example the ack records written by settling messages just now).
    ///
    /// ```
    /// # use warren_core::store::{Store, StoreConfig};
    /// let dir = tempfile::tempdir()?;
    /// let store = Store::open(StoreConfig::new(dir.path()))?;
    /// let put = store.kv_put("ns", "k", b"v");
    /// assert_eq!(store.last_ticket(), put);
    /// store.sync()?;
    /// assert!(store.is_durable(store.last_ticket()));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn last_ticket(&self) -> Ticket {
        Ticket(self.shared.state.lock().last_ticket)
    }

    /// True once `ticket` is durable (per the fsync policy).
    pub fn is_durable(&self, ticket: Ticket) -> bool {
        self.shared.state.lock().durable >= ticket.0
    }

    /// Waits until everything appended so far is durable (per the fsync policy).
    pub fn sync(&self) -> Result<(), StoreError> {
        let mut st = self.shared.state.lock();
        let target = st.last_ticket;
        while st.durable < target {
            if self.shared.failed.load(Ordering::Acquire)
                || self
                    .shared
                    .durable_cv
                    .wait_for(&mut st, READ_WAIT)
                    .timed_out()
            {
                return Err(StoreError::NotWriting);
            }
        }
        Ok(())
    }

    /// Counters.
    pub fn stats(&self) -> StoreStats {
        let st = self.shared.state.lock();
        StoreStats {
            segments: st.segments.len(),
            live_messages: st.segments.values().map(|s| s.live).sum(),
            cached_bytes: self.shared.cached_bytes.load(Ordering::Acquire),
            paged_messages: self.shared.paged.load(Ordering::Acquire),
            appended: st.last_ticket,
            durable: st.durable,
        }
    }

    /// Free bytes on the data directory's file system.
    pub fn disk_free(&self) -> Result<u64, StoreError> {
        fs4::available_space(&self.shared.dir).map_err(|source| StoreError::Io {
            path: self.shared.dir.clone(),
            source,
        })
    }

    /// Flushes and fsyncs what was appended, stops the writer, and from then on ignores
    /// settles (so tearing the broker down keeps every message). Idempotent.
    pub fn close(&self) {
        self.shared.closed.store(true, Ordering::Release);
        {
            let mut st = self.shared.state.lock();
            st.shutdown = true;
        }
        self.shared.work.notify_all();
        if let Some(handle) = self.writer.lock().take() {
            let _ = handle.join();
        }
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        self.close();
    }
}
