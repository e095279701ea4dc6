//! Start-up: replay every segment, cut a torn or corrupt tail, and rebuild which publish
//! records are still live (published, never acked) per queue, plus the reclamation counts.

use std::collections::{BTreeMap, HashMap};
use std::fs::OpenOptions;
use std::path::Path;
use std::sync::Arc;

use tracing::{info, warn};

use super::pages::{PageFile, PageWriter, Pager};
use super::record::{Location, Summary};
use super::segment;
use super::writer::SegInfo;
use super::StoreError;

/// A live message found at recovery: where its record is and its body size.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RecoveredMessage {
    pub(crate) location: Location,
    pub(crate) len: u32,
    pub(crate) size: usize,
    /// A delivered record names it: it comes back redelivered.
    pub(crate) delivered: bool,
}

/// What recovery found (also logged).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// Segment files read.
    pub segments: usize,
    /// Intact records read (publishes and acks).
    pub records: u64,
    /// Messages still live (published to a durable queue and never acked).
    pub messages: u64,
    /// Segments whose tail was cut, with the reason and the bytes removed.
    pub truncated: Vec<(u64, String, u64)>,
}

/// The live messages of one queue, in log order: the first page and the last partial page in
/// RAM, the pages between them on disk (so recovering a deep queue takes no more RAM than
/// running it).
#[derive(Debug, Default)]
pub(crate) struct RecoveredQueue {
    pub(crate) head: Vec<RecoveredMessage>,
    pub(crate) pages: Vec<PageFile>,
    pub(crate) tail: Vec<RecoveredMessage>,
}

impl RecoveredQueue {
    fn push(
        &mut self,
        m: RecoveredMessage,
        pager: &Pager,
        page_entries: usize,
    ) -> std::io::Result<()> {
        if self.pages.is_empty() && self.tail.is_empty() && self.head.len() < page_entries {
            self.head.push(m);
            return Ok(());
        }
        self.tail.push(m);
        if self.tail.len() >= page_entries {
            let mut page = PageWriter::default();
            for m in &self.tail {
                page.push_stored(m.location, m.len, m.size, m.delivered, false);
            }
            self.pages.push(pager.write(&page)?);
            self.tail.clear();
        }
        Ok(())
    }

    /// Messages in it.
    pub(crate) fn len(&self) -> usize {
        self.head.len() + self.tail.len() + self.pages.iter().map(|p| p.count).sum::<usize>()
    }
}

/// Live messages per (vhost, queue).
pub(crate) type ByQueue = HashMap<(Arc<str>, Arc<str>), RecoveredQueue>;

/// Live key-value records: (namespace, key) -> (location, value).
pub(crate) type KvMap = HashMap<(String, String), (Location, bytes::Bytes)>;

pub(crate) struct Recovered {
    pub(crate) report: RecoveryReport,
    /// Live messages per (vhost, queue), in log order.
    pub(crate) queues: ByQueue,
    pub(crate) kv: KvMap,
    /// Key-value records superseded without an ack on disk (a crash between the new record
    /// and the ack of the old one): acked once the store runs.
    pub(crate) stale_kv: Vec<Location>,
    pub(crate) segments: BTreeMap<u64, SegInfo>,
    /// The highest segment number present (0 when none).
    pub(crate) last_segment: u64,
}

/// Offsets per segment, sorted after the first pass for binary search.
type Marks = HashMap<u64, Vec<u64>>;

fn marked(marks: &Marks, at: Location) -> bool {
    marks
        .get(&at.segment)
        .is_some_and(|v| v.binary_search(&at.offset).is_ok())
}

/// Replays the segments in `seg_dir` in two passes: the first checks every record (cutting a
/// torn or corrupt tail) and collects acks, delivered marks and key-value records; the second
/// streams the publish records that no ack settles into their queues, paging deep ones out
/// through `pager`. RAM stays proportional to the acks in the log, not to the live messages.
pub(crate) fn recover(
    seg_dir: &Path,
    pager: &Pager,
    page_entries: usize,
) -> Result<Recovered, StoreError> {
    let io_at = |path: &Path| {
        let path = path.to_path_buf();
        move |source| StoreError::Io { path, source }
    };
    let numbers = segment::list(seg_dir).map_err(io_at(seg_dir))?;
    let mut report = RecoveryReport::default();
    let mut segments: BTreeMap<u64, SegInfo> = BTreeMap::new();
    let mut acked: Marks = HashMap::new();
    let mut delivered: Marks = HashMap::new();
    let mut kv_live: BTreeMap<Location, (String, String, bytes::Bytes)> = BTreeMap::new();
    for &n in &numbers {
        let path = segment::segment_path(seg_dir, n);
        let info = segments.entry(n).or_default();
        let scanned = segment::scan(&path, n, |location, _, summary| match summary {
            Summary::Publish { .. } | Summary::Spill => {}
            Summary::Delivered(target) => delivered
                .entry(target.segment)
                .or_default()
                .push(target.offset),
            Summary::Kv {
                namespace,
                key,
                value,
            } => {
                kv_live.insert(
                    location,
                    (
                        namespace.to_owned(),
                        key.to_owned(),
                        bytes::Bytes::copy_from_slice(value),
                    ),
                );
            }
            Summary::Ack(target) => {
                if kv_live.remove(&target).is_none() {
                    acked.entry(target.segment).or_default().push(target.offset);
                }
                if target.segment != n {
                    info.acks_into.insert(target.segment);
                }
            }
        })
        .map_err(io_at(&path))?;
        report.segments += 1;
        report.records += scanned.records;
        if let Some(why) = scanned.problem {
            let cut = scanned.file_len.saturating_sub(scanned.valid_len);
            warn!(
                segment = n,
                path = %path.display(),
                reason = %why,
                bytes_cut = cut,
                "message store: torn or corrupt tail cut at recovery; intact records before it are kept"
            );
            let f = OpenOptions::new()
                .write(true)
                .open(&path)
                .map_err(io_at(&path))?;
            f.set_len(scanned.valid_len)
                .and_then(|()| f.sync_all())
                .map_err(io_at(&path))?;
            report.truncated.push((n, why, cut));
        }
    }
    for v in acked.values_mut().chain(delivered.values_mut()) {
        v.sort_unstable();
        v.dedup();
    }
    // Second pass: the live publishes, in log order, into their queues.
    let mut queues: HashMap<String, HashMap<String, RecoveredQueue>> = HashMap::new();
    let pages_dir = pager.dir().to_path_buf();
    let mut page_error = None;
    for &n in &numbers {
        let path = segment::segment_path(seg_dir, n);
        let mut live = 0;
        segment::scan(&path, n, |location, len, summary| {
            let Summary::Publish { vhost, queue, size } = summary else {
                return;
            };
            if marked(&acked, location) {
                return;
            }
            live += 1;
            let q = match queues.get_mut(vhost).and_then(|m| m.get_mut(queue)) {
                Some(q) => q,
                None => queues
                    .entry(vhost.to_owned())
                    .or_default()
                    .entry(queue.to_owned())
                    .or_default(),
            };
            let m = RecoveredMessage {
                location,
                len,
                size,
                delivered: marked(&delivered, location),
            };
            if let Err(e) = q.push(m, pager, page_entries) {
                page_error.get_or_insert(e);
            }
        })
        .map_err(io_at(&path))?;
        segments.entry(n).or_default().live = live;
        report.messages += live;
    }
    if let Some(e) = page_error {
        return Err(io_at(&pages_dir)(e));
    }
    let queues: ByQueue = queues
        .into_iter()
        .flat_map(|(v, qs)| {
            let v: Arc<str> = Arc::from(v);
            qs.into_iter()
                .map(move |(q, rq)| ((Arc::clone(&v), Arc::from(q)), rq))
        })
        .collect();
    // Key-value records: the last live one per key wins (log order), older ones are stale.
    let mut kv: KvMap = HashMap::new();
    let mut stale_kv = Vec::new();
    for (location, (namespace, key, value)) in kv_live {
        segments.entry(location.segment).or_default().live += 1;
        if let Some((older, _)) = kv.insert((namespace, key), (location, value)) {
            stale_kv.push(older);
        }
    }
    info!(
        segments = report.segments,
        records = report.records,
        messages = report.messages,
        cut = report.truncated.len(),
        "message store recovered"
    );
    Ok(Recovered {
        report,
        queues,
        kv,
        stale_kv,
        segments,
        last_segment: numbers.last().copied().unwrap_or(0),
    })
}
