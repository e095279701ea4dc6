//! Index pages: the middle of a deep queue, kept on disk so that a queue's RAM does not grow
//! with its depth.
//!
//! A queue on the store holds at most about two pages of entries in RAM (the head it delivers
//! from and the tail it appends to); whenever its tail reaches
//! [`StoreConfig::queue_page_entries`](super::StoreConfig::queue_page_entries) entries, the
//! tail is written out as one page file and forgotten. Pages are read back, oldest first, when
//! the head runs dry.
//!
//! Page files are scratch: `DIR/pages/NNNN….page`, written without fsync, deleted once read
//! and wiped at every start (recovery rebuilds the queues from the segment log). A page holds
//! entries back to back, each
//!
//! | bytes | field |
//! | --- | --- |
//! | 1 | tag: `0` a publish record, `1` a spill record, `2` an inline message |
//! | 1 | `1` when the message is redelivered |
//! | 28 | tags 0 and 1: segment u64, offset u64, frame length u32, body size u64 (LE) |
//! | 4 + n | tag 2: a u32 LE length, then the message in the publish-record layout |
//!
//! Inline entries are transient messages that were in RAM: they move to the page as they
//! are, without a record in the log.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;

use super::record::{self, Location};
use super::StoreError;
use crate::message::Message;

/// One page on disk.
#[derive(Debug)]
pub(crate) struct PageFile {
    path: PathBuf,
    /// Entries in it.
    pub(crate) count: usize,
    /// Body bytes of its entries.
    pub(crate) bytes: usize,
}

/// An entry read back from a page.
#[derive(Debug)]
pub(crate) enum PagedEntry {
    /// The message is in the log at `location`.
    Stored {
        location: Location,
        len: u32,
        size: usize,
        redelivered: bool,
        spill: bool,
    },
    /// The message itself (a transient message that had no record).
    Inline {
        message: Arc<Message>,
        redelivered: bool,
    },
}

const TAG_PUBLISH: u8 = 0;
const TAG_SPILL: u8 = 1;
const TAG_INLINE: u8 = 2;

/// Names and writes page files under one directory.
#[derive(Debug)]
pub(crate) struct Pager {
    dir: PathBuf,
    next: AtomicU64,
}

impl Pager {
    /// A pager over `dir`, wiped (pages of an earlier run are stale) and created.
    pub(crate) fn open(dir: &Path) -> Result<Pager, StoreError> {
        let io = |source| StoreError::Io {
            path: dir.to_path_buf(),
            source,
        };
        match std::fs::remove_dir_all(dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(e)),
        }
        std::fs::create_dir_all(dir).map_err(io)?;
        Ok(Pager {
            dir: dir.to_path_buf(),
            next: AtomicU64::new(0),
        })
    }

    /// The directory.
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes what `page` holds as a new page file.
    pub(crate) fn write(&self, page: &PageWriter) -> std::io::Result<PageFile> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let path = self.dir.join(format!("{n:020}.page"));
        std::fs::write(&path, &page.buf)?;
        Ok(PageFile {
            path,
            count: page.count,
            bytes: page.bytes,
        })
    }
}

/// Collects the entries of one page in its file layout.
#[derive(Debug, Default)]
pub(crate) struct PageWriter {
    buf: Vec<u8>,
    count: usize,
    bytes: usize,
}

impl PageWriter {
    /// Adds a message whose record is in the log.
    pub(crate) fn push_stored(
        &mut self,
        location: Location,
        len: u32,
        size: usize,
        redelivered: bool,
        spill: bool,
    ) {
        self.buf.push(if spill { TAG_SPILL } else { TAG_PUBLISH });
        self.buf.push(u8::from(redelivered));
        self.buf.extend_from_slice(&location.segment.to_le_bytes());
        self.buf.extend_from_slice(&location.offset.to_le_bytes());
        self.buf.extend_from_slice(&len.to_le_bytes());
        self.buf.extend_from_slice(&(size as u64).to_le_bytes());
        self.count += 1;
        self.bytes = self.bytes.saturating_add(size);
    }

    /// Adds a message that has no record (it is written into the page whole).
    pub(crate) fn push_inline(&mut self, message: &Message, redelivered: bool) {
        self.buf.push(TAG_INLINE);
        self.buf.push(u8::from(redelivered));
        let at = self.buf.len();
        self.buf.extend_from_slice(&[0; 4]);
        record::encode_publish("", "", message, false, &mut self.buf);
        let n = u32::try_from(self.buf.len() - at - 4).unwrap_or(u32::MAX);
        if let Some(slot) = self.buf.get_mut(at..at + 4) {
            slot.copy_from_slice(&n.to_le_bytes());
        }
        self.count += 1;
        self.bytes = self.bytes.saturating_add(message.size());
    }
}

impl PageFile {
    /// Reads the page's entries back and deletes the file.
    pub(crate) fn take(self) -> Result<Vec<PagedEntry>, StoreError> {
        let data = std::fs::read(&self.path).map_err(|source| StoreError::Io {
            path: self.path.clone(),
            source,
        })?;
        let _ = std::fs::remove_file(&self.path);
        decode(&Bytes::from(data)).map_err(|reason| StoreError::Corrupt {
            location: Location {
                segment: 0,
                offset: 0,
            },
            reason: format!("page {}: {reason}", self.path.display()),
        })
    }

    /// Deletes the file unread.
    pub(crate) fn discard(self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Decodes a page; inline bodies are slices of `whole`, not copies.
fn decode(whole: &Bytes) -> Result<Vec<PagedEntry>, String> {
    let mut data: &[u8] = whole;
    fn take<'a>(data: &mut &'a [u8], n: usize) -> Result<&'a [u8], String> {
        if data.len() < n {
            return Err("truncated entry".into());
        }
        let (head, rest) = data.split_at(n);
        *data = rest;
        Ok(head)
    }
    fn u64_at(b: &[u8], at: usize) -> u64 {
        let mut a = [0u8; 8];
        if let Some(s) = b.get(at..at + 8) {
            a.copy_from_slice(s);
        }
        u64::from_le_bytes(a)
    }
    let mut out = Vec::new();
    while !data.is_empty() {
        let head = take(&mut data, 2)?;
        let (tag, redelivered) = match head {
            [tag, flag] => (*tag, *flag != 0),
            _ => return Err("truncated entry".into()),
        };
        match tag {
            TAG_PUBLISH | TAG_SPILL => {
                let b = take(&mut data, 28)?;
                let mut len = [0u8; 4];
                if let Some(s) = b.get(16..20) {
                    len.copy_from_slice(s);
                }
                out.push(PagedEntry::Stored {
                    location: Location {
                        segment: u64_at(b, 0),
                        offset: u64_at(b, 8),
                    },
                    len: u32::from_le_bytes(len),
                    size: usize::try_from(u64_at(b, 20)).unwrap_or(usize::MAX),
                    redelivered,
                    spill: tag == TAG_SPILL,
                });
            }
            TAG_INLINE => {
                let mut n = [0u8; 4];
                n.copy_from_slice(take(&mut data, 4)?);
                let n = usize::try_from(u32::from_le_bytes(n)).unwrap_or(usize::MAX);
                let payload = take(&mut data, n)?;
                let message =
                    record::decode_message_in(whole, payload).map_err(|e| e.to_string())?;
                out.push(PagedEntry::Inline {
                    message: Arc::new(message),
                    redelivered,
                });
            }
            other => return Err(format!("unknown entry tag {other}")),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::Properties;

    #[test]
    fn pages_round_trip_and_are_deleted_once_read() {
        let dir = tempfile::tempdir().unwrap();
        let pager = Pager::open(&dir.path().join("pages")).unwrap();
        let mut w = PageWriter::default();
        let at = Location {
            segment: 3,
            offset: 77,
        };
        w.push_stored(at, 120, 9, true, false);
        let m = Message::new("ex", "rk", Properties::default(), Bytes::from_static(b"hi"));
        w.push_inline(&m, false);
        w.push_stored(at, 1, 2, false, true);
        assert_eq!(w.count, 3);
        let page = pager.write(&w).unwrap();
        assert_eq!((page.count, page.bytes), (3, 13));
        let path = page.path.clone();
        let entries = page.take().unwrap();
        assert!(!path.exists());
        assert!(matches!(
            entries[0],
            PagedEntry::Stored { location, len: 120, size: 9, redelivered: true, spill: false } if location == at
        ));
        assert!(
            matches!(&entries[1], PagedEntry::Inline { message, redelivered: false } if **message == m)
        );
        assert!(matches!(
            entries[2],
            PagedEntry::Stored {
                spill: true,
                size: 2,
                ..
            }
        ));
        // A reopened pager wipes stale pages.
        let stale = pager.write(&w).unwrap();
        let stale_path = stale.path.clone();
        let _pager = Pager::open(&dir.path().join("pages")).unwrap();
        assert!(!stale_path.exists());
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_page_bytes_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200)) {
            let _ = decode(&Bytes::from(bytes));
        }
    }
}
