//! The append side of the log and its writer thread: callers append framed records to an
//! in-memory batch under a short lock (the record's location is fixed there); one thread writes
//! each batch, fsyncs it according to the [`FsyncPolicy`], and only then releases the publisher
//! confirms of everything in it (group commit). It also deletes reclaimed segments, after the
//! batch that made them reclaimable is on disk.
//!
//! When a write or fsync fails the thread logs the error and stops for good ([`fail`]): the
//! store is marked failed, what was waiting to be written is dropped (and so is everything
//! appended later: memory does not grow), and every sink waiting for a confirm is told
//! [`DeliverySink::store_failed`], as is every sink that asks to wait later (the factory's
//! `when_durable` checks `AppendState::failed`).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use tracing::{error, warn};

use super::record::Location;
use super::segment::{segment_path, FIRST_RECORD, MAGIC};
use super::{FsyncPolicy, Shared};
use crate::channel::DeliverySink;
use crate::storage::Ticket;

/// Bytes to write to one segment.
#[derive(Debug)]
pub(crate) struct Chunk {
    pub(crate) segment: u64,
    pub(crate) bytes: Vec<u8>,
}

/// Bookkeeping of one segment for reclamation.
#[derive(Debug, Default)]
pub(crate) struct SegInfo {
    /// Publish records in it not yet acked.
    pub(crate) live: u64,
    /// Older segments holding messages that ack records in this segment settle: this segment
    /// may only go once they are gone, or those messages would come back.
    pub(crate) acks_into: BTreeSet<u64>,
}

/// The append side, behind `Shared::state`.
pub(crate) struct AppendState {
    /// The segment being appended to and the offset of the next record in it.
    pub(crate) segment: u64,
    pub(crate) offset: u64,
    /// Framed records not yet handed to the writer.
    pub(crate) chunks: Vec<Chunk>,
    /// The last ticket handed out (each record gets the next one).
    pub(crate) last_ticket: u64,
    /// Everything up to this ticket is written (and fsynced, under `always`).
    pub(crate) durable: u64,
    /// Sinks waiting for confirms: sink address -> (sink, highest ticket it waits for).
    pub(crate) waiters: HashMap<usize, (Weak<dyn DeliverySink>, u64)>,
    pub(crate) segments: BTreeMap<u64, SegInfo>,
    /// Reclaimed segments the writer deletes after its current batch.
    pub(crate) to_delete: Vec<u64>,
    pub(crate) shutdown: bool,
    /// The writer stopped after an I/O error: appended records are not kept (no ticket
    /// becomes durable any more).
    pub(crate) failed: bool,
}

impl AppendState {
    /// Appends one framed record; returns its location and ticket. Rolls to a new segment
    /// when this one would exceed `segment_size` (a record is never split).
    pub(crate) fn append(&mut self, framed: &[u8], segment_size: u64) -> (Location, Ticket) {
        let len = framed.len() as u64;
        if self.offset > FIRST_RECORD && self.offset.saturating_add(len) > segment_size {
            self.roll();
        }
        let location = Location {
            segment: self.segment,
            offset: self.offset,
        };
        self.offset = self.offset.saturating_add(len);
        match self.chunks.last_mut() {
            _ if self.failed => {}
            Some(c) if c.segment == self.segment => c.bytes.extend_from_slice(framed),
            _ => self.chunks.push(Chunk {
                segment: self.segment,
                bytes: framed.to_vec(),
            }),
        }
        self.last_ticket += 1;
        (location, Ticket(self.last_ticket))
    }

    /// Starts the next segment (its header goes first in its chunk).
    pub(crate) fn roll(&mut self) {
        let sealed = self.segment;
        self.segment += 1;
        self.offset = FIRST_RECORD;
        self.segments.entry(self.segment).or_default();
        if !self.failed {
            self.chunks.push(Chunk {
                segment: self.segment,
                bytes: MAGIC.to_vec(),
            });
        }
        self.reclaim_from(sealed);
    }

    /// Marks sealed segments whose messages are all settled for deletion, following the
    /// `acks_into` rule; `hint` is a segment whose count just changed.
    pub(crate) fn reclaim_from(&mut self, _hint: u64) {
        loop {
            let current = self.segment;
            let doomed: Vec<u64> = self
                .segments
                .iter()
                .filter(|(&n, info)| {
                    n < current
                        && info.live == 0
                        && info
                            .acks_into
                            .iter()
                            .all(|s| *s == n || !self.segments.contains_key(s))
                })
                .map(|(&n, _)| n)
                .collect();
            if doomed.is_empty() {
                return;
            }
            for n in doomed {
                self.segments.remove(&n);
                self.to_delete.push(n);
            }
        }
    }
}

/// Where the writer has written up to: (segment, end offset). Readers wait for it.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct WrittenPos {
    pub(crate) segment: u64,
    pub(crate) end: u64,
}

/// The writer thread's body.
pub(crate) fn run(shared: Arc<Shared>) {
    let mut files: BTreeMap<u64, File> = BTreeMap::new();
    let mut unsynced = false;
    let mut last_sync = Instant::now();
    loop {
        let (chunks, to_delete, last_ticket, shutdown) = {
            let mut st = shared.state.lock();
            loop {
                if !st.chunks.is_empty() || !st.to_delete.is_empty() || st.shutdown {
                    break;
                }
                match shared.config.fsync {
                    FsyncPolicy::Interval(every) if unsynced => {
                        let due = last_sync + every;
                        if Instant::now() >= due || shared.work.wait_until(&mut st, due).timed_out()
                        {
                            break;
                        }
                    }
                    _ => shared.work.wait(&mut st),
                }
            }
            (
                std::mem::take(&mut st.chunks),
                std::mem::take(&mut st.to_delete),
                st.last_ticket,
                st.shutdown,
            )
        };
        let mut touched: Vec<u64> = Vec::new();
        for chunk in &chunks {
            if let Err(e) = write_chunk(&shared, &mut files, chunk) {
                error!(segment = chunk.segment, error = %e,
                    "cannot write to the message store; persistent publishes are refused until restart");
                fail(&shared);
                return;
            }
            if !touched.contains(&chunk.segment) {
                touched.push(chunk.segment);
            }
            let mut w = shared.written.lock();
            let len = chunk.bytes.len() as u64;
            // A segment's first chunk starts with its header at offset 0.
            let end = if w.segment == chunk.segment {
                w.end + len
            } else {
                len
            };
            *w = WrittenPos {
                segment: chunk.segment,
                end,
            };
            drop(w);
            shared.written_cv.notify_all();
        }
        let sync_now = match shared.config.fsync {
            FsyncPolicy::Always => !chunks.is_empty(),
            FsyncPolicy::Interval(every) => {
                unsynced |= !chunks.is_empty();
                unsynced && (last_sync.elapsed() >= every || shutdown)
            }
            FsyncPolicy::Never => shutdown && !chunks.is_empty(),
        };
        if sync_now {
            let all: Vec<u64> = if matches!(shared.config.fsync, FsyncPolicy::Always) {
                touched.clone()
            } else {
                files.keys().copied().collect()
            };
            for n in all {
                if let Some(f) = files.get(&n) {
                    if let Err(e) = f.sync_data() {
                        error!(segment = n, error = %e,
                            "fsync of the message store failed; persistent publishes are refused until restart");
                        fail(&shared);
                        return;
                    }
                }
            }
            unsynced = false;
            last_sync = Instant::now();
        }
        // Keep only the segment being appended to open for writing.
        while files.len() > 1 {
            let Some((&n, _)) = files.iter().next() else {
                break;
            };
            if unsynced {
                if let Some(f) = files.get(&n) {
                    let _ = f.sync_data();
                }
            }
            files.remove(&n);
        }
        if !chunks.is_empty() {
            release_confirms(&shared, last_ticket);
        }
        for n in to_delete {
            files.remove(&n);
            shared.files.lock().remove(&n);
            let path = segment_path(&shared.seg_dir, n);
            if let Err(e) = std::fs::remove_file(&path) {
                warn!(path = %path.display(), error = %e, "cannot delete a reclaimed segment");
            }
        }
        if shutdown && chunks.is_empty() {
            return;
        }
    }
}

fn write_chunk(
    shared: &Shared,
    files: &mut BTreeMap<u64, File>,
    chunk: &Chunk,
) -> std::io::Result<()> {
    let f = match files.entry(chunk.segment) {
        std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
        std::collections::btree_map::Entry::Vacant(e) => {
            let path = segment_path(&shared.seg_dir, chunk.segment);
            let f = OpenOptions::new().create(true).append(true).open(&path)?;
            if matches!(shared.config.fsync, FsyncPolicy::Always) {
                // The new file's directory entry must survive a power loss too.
                File::open(&shared.seg_dir).and_then(|d| d.sync_all())?;
            }
            e.insert(f)
        }
    };
    f.write_all(&chunk.bytes)
}

/// The writer cannot go on: marks the store failed (readers and `sync` give up with
/// `NotWriting`), drops the records waiting to be written, and tells every sink waiting for a
/// confirm that it will never come ([`DeliverySink::store_failed`]), with no lock held.
fn fail(shared: &Shared) {
    // Every waiter is drained under the state lock, and `when_durable` checks `state.failed`
    // under it before registering one: no sink is left waiting.
    shared.failed.store(true, Ordering::Release);
    let waiting: Vec<Arc<dyn DeliverySink>> = {
        let mut st = shared.state.lock();
        st.failed = true;
        st.chunks.clear();
        st.waiters
            .drain()
            .filter_map(|(_, (sink, _))| sink.upgrade())
            .collect()
    };
    // Under their locks, so that no reader or syncer is between its check and its wait.
    drop(shared.written.lock());
    shared.written_cv.notify_all();
    shared.durable_cv.notify_all();
    for sink in waiting {
        sink.store_failed();
    }
}

/// Marks everything up to `ticket` durable and tells the waiting sinks.
fn release_confirms(shared: &Shared, ticket: u64) {
    let mut notify: Vec<Arc<dyn DeliverySink>> = Vec::new();
    {
        let mut st = shared.state.lock();
        st.durable = st.durable.max(ticket);
        let durable = st.durable;
        st.waiters.retain(|_, (sink, max)| {
            let Some(s) = sink.upgrade() else {
                return false;
            };
            notify.push(s);
            *max > durable
        });
    }
    shared.durable_cv.notify_all();
    for sink in notify {
        sink.confirmed(Ticket(ticket));
    }
}

/// How long a reader waits for the writer to put a record on disk before giving up.
pub(crate) const READ_WAIT: Duration = Duration::from_secs(30);
