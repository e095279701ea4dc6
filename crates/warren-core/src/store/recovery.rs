//! Start-up: replay every segment, cut a torn or corrupt tail, and rebuild which publish
//! records are still live (published, never acked) per queue, plus the reclamation counts.

use std::collections::{BTreeMap, HashMap};
use std::fs::OpenOptions;
use std::path::Path;
use std::sync::Arc;

use tracing::{info, warn};

use super::record::{Location, Record};
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

/// Live messages per (vhost, queue), in log order.
pub(crate) type ByQueue = HashMap<(Arc<str>, Arc<str>), Vec<RecoveredMessage>>;

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

/// Replays the segments in `seg_dir`.
pub(crate) fn recover(seg_dir: &Path) -> Result<Recovered, StoreError> {
    let io = |e| StoreError::Io {
        path: seg_dir.to_path_buf(),
        source: e,
    };
    let numbers = segment::list(seg_dir).map_err(io)?;
    let mut report = RecoveryReport::default();
    let mut segments: BTreeMap<u64, SegInfo> = BTreeMap::new();
    // Live publishes in log order: location -> (vhost, queue, frame len, body size).
    let mut live: BTreeMap<Location, (Arc<str>, Arc<str>, u32, usize)> = BTreeMap::new();
    let mut names: HashMap<(String, String), (Arc<str>, Arc<str>)> = HashMap::new();
    let mut kv_live: BTreeMap<Location, (String, String, bytes::Bytes)> = BTreeMap::new();
    let mut delivered: std::collections::HashSet<Location> = std::collections::HashSet::new();
    for &n in &numbers {
        let path = segment::segment_path(seg_dir, n);
        let scanned = segment::scan(&path, n).map_err(|e| StoreError::Io {
            path: path.clone(),
            source: e,
        })?;
        report.segments += 1;
        let info = segments.entry(n).or_default();
        for s in scanned.records {
            report.records += 1;
            match s.record {
                Record::Publish {
                    vhost,
                    queue,
                    message,
                } => {
                    let (v, q) = names
                        .entry((vhost, queue))
                        .or_insert_with_key(|(v, q)| (Arc::from(v.as_str()), Arc::from(q.as_str())))
                        .clone();
                    live.insert(s.location, (v, q, s.len, message.body.len()));
                }
                // Spilled messages do not outlive the process that wrote them.
                Record::Spill { .. } => {}
                Record::Delivered { target } => {
                    delivered.insert(target);
                }
                Record::Kv {
                    namespace,
                    key,
                    value,
                } => {
                    kv_live.insert(s.location, (namespace, key, value));
                }
                Record::Ack { target } => {
                    kv_live.remove(&target);
                    if target.segment != n {
                        info.acks_into.insert(target.segment);
                    }
                    live.remove(&target);
                }
            }
        }
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
                .map_err(|e| StoreError::Io {
                    path: path.clone(),
                    source: e,
                })?;
            f.set_len(scanned.valid_len)
                .and_then(|()| f.sync_all())
                .map_err(|e| StoreError::Io {
                    path: path.clone(),
                    source: e,
                })?;
            report.truncated.push((n, why, cut));
        }
    }
    // Live counts per segment from what is still live (acks across segments included).
    for info in segments.values_mut() {
        info.live = 0;
    }
    let mut queues: ByQueue = HashMap::new();
    for (location, (v, q, len, size)) in live {
        segments.entry(location.segment).or_default().live += 1;
        queues.entry((v, q)).or_default().push(RecoveredMessage {
            location,
            len,
            size,
            delivered: delivered.contains(&location),
        });
        report.messages += 1;
    }
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
