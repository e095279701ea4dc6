//! Segment files: naming, the file header, and scanning a segment's records with torn-tail
//! detection.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use super::record::{self, Location, Summary, FRAME_HEADER, MAX_PAYLOAD};

/// The first bytes of every segment file: `WRNSEG` + format version 1 (two bytes).
pub(crate) const MAGIC: &[u8; 8] = b"WRNSEG\x00\x01";

/// Offset of the first record in a segment.
pub(crate) const FIRST_RECORD: u64 = MAGIC.len() as u64;

/// `DIR/segments/NNNNNNNNNNNNNNNNNNNN.seg` (20 digits, so names sort as numbers).
pub(crate) fn segment_path(seg_dir: &Path, segment: u64) -> PathBuf {
    seg_dir.join(format!("{segment:020}.seg"))
}

/// The segment numbers present in `seg_dir`, ascending. Other files are ignored.
pub(crate) fn list(seg_dir: &Path) -> std::io::Result<Vec<u64>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(seg_dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some(n) = name
            .strip_suffix(".seg")
            .and_then(|stem| stem.parse::<u64>().ok())
        {
            out.push(n);
        }
    }
    out.sort_unstable();
    Ok(out)
}

/// The result of scanning one segment file.
#[derive(Debug)]
pub(crate) struct ScanResult {
    /// Intact records visited.
    pub(crate) records: u64,
    /// Bytes up to the end of the last intact record (where a torn tail is cut).
    pub(crate) valid_len: u64,
    /// The file's length on disk.
    pub(crate) file_len: u64,
    /// Why scanning stopped before the end of the file, if it did.
    pub(crate) problem: Option<String>,
}

/// Reads a whole segment and hands each record to `visit` (its location, frame length and
/// summary), stopping at the first frame that is incomplete, fails its CRC or does not
/// decode. Never panics on any file content.
pub(crate) fn scan(
    path: &Path,
    segment: u64,
    mut visit: impl FnMut(Location, u32, Summary<'_>),
) -> std::io::Result<ScanResult> {
    let mut data = Vec::new();
    File::open(path)?.read_to_end(&mut data)?;
    let file_len = data.len() as u64;
    let mut records = 0;
    let Some(mut rest) = data.strip_prefix(MAGIC.as_slice()) else {
        return Ok(ScanResult {
            records,
            valid_len: 0,
            file_len,
            problem: Some("missing or damaged segment header".into()),
        });
    };
    let mut offset = FIRST_RECORD;
    let mut problem = None;
    while !rest.is_empty() {
        match next_frame(rest) {
            Ok((payload, frame_len)) => match record::summarise(payload) {
                Ok(summary) => {
                    records += 1;
                    visit(
                        Location { segment, offset },
                        u32::try_from(frame_len).unwrap_or(u32::MAX),
                        summary,
                    );
                    rest = rest.get(frame_len..).unwrap_or_default();
                    offset += frame_len as u64;
                }
                Err(e) => {
                    problem = Some(format!("record at offset {offset}: {e}"));
                    break;
                }
            },
            Err(why) => {
                problem = Some(format!("record at offset {offset}: {why}"));
                break;
            }
        }
    }
    Ok(ScanResult {
        records,
        valid_len: offset,
        file_len,
        problem,
    })
}

/// Splits the next frame off `buf`: (payload, frame length), or why it is not intact.
pub(crate) fn next_frame(buf: &[u8]) -> Result<(&[u8], usize), String> {
    let (Some(len), Some(crc)) = (buf.get(0..4), buf.get(4..8)) else {
        return Err(format!("torn frame header ({} bytes)", buf.len()));
    };
    let mut l = [0u8; 4];
    l.copy_from_slice(len);
    let len = usize::try_from(u32::from_le_bytes(l)).unwrap_or(usize::MAX);
    let mut c = [0u8; 4];
    c.copy_from_slice(crc);
    let crc = u32::from_le_bytes(c);
    if len > MAX_PAYLOAD {
        return Err(format!("implausible length {len}"));
    }
    let Some(payload) = buf.get(FRAME_HEADER..FRAME_HEADER.saturating_add(len)) else {
        return Err(format!(
            "torn record: {len} payload bytes announced, {} present",
            buf.len().saturating_sub(FRAME_HEADER)
        ));
    };
    if crc32fast::hash(payload) != crc {
        return Err("checksum mismatch".into());
    }
    Ok((payload, FRAME_HEADER + len))
}
