//! Header escaping (1.1: `\n` `\c` `\\`; 1.2 adds `\r`).

use bytes::{BufMut, Bytes, BytesMut};

use crate::command::Version;

/// Unescapes `raw` into new bytes; `Err(sequence)` names the undefined escape (the byte after
/// the backslash, or `None` for a backslash at the end).
pub(crate) fn unescape(raw: &[u8], version: Version) -> Result<Bytes, Option<u8>> {
    let mut out = BytesMut::with_capacity(raw.len());
    let mut bytes = raw.iter().copied();
    while let Some(b) = bytes.next() {
        if b != b'\\' {
            out.put_u8(b);
            continue;
        }
        let next = bytes.next();
        out.put_u8(match next {
            Some(b'n') => b'\n',
            Some(b'c') => b':',
            Some(b'\\') => b'\\',
            Some(b'r') if version >= Version::V1_2 => b'\r',
            other => return Err(other),
        });
    }
    Ok(out.freeze())
}

/// The escape sequence for `b` at `version`, if it needs one.
#[inline]
pub(crate) fn escape_of(b: u8, version: Version) -> Option<&'static [u8]> {
    match b {
        b'\n' => Some(b"\\n"),
        b':' => Some(b"\\c"),
        b'\\' => Some(b"\\\\"),
        b'\r' if version >= Version::V1_2 => Some(b"\\r"),
        _ => None,
    }
}

/// Whether `b` needs escaping at `version` (1.1 has no escape for `\r`: the caller refuses it).
#[inline]
pub(crate) fn needs_escape(b: u8) -> bool {
    matches!(b, b'\n' | b':' | b'\\' | b'\r')
}

/// Appends `text` escaped for `version` (which must escape: 1.1 or 1.2).
pub(crate) fn put_escaped(dst: &mut BytesMut, text: &[u8], version: Version) {
    let mut rest = text;
    while let Some(at) = rest.iter().position(|&b| needs_escape(b)) {
        let (plain, tail) = rest.split_at(at);
        dst.put_slice(plain);
        let Some((&b, after)) = tail.split_first() else {
            break;
        };
        match escape_of(b, version) {
            Some(seq) => dst.put_slice(seq),
            None => dst.put_u8(b), // only `\r` in 1.1, refused by the caller before writing
        }
        rest = after;
    }
    dst.put_slice(rest);
}

/// Length of `text` once escaped.
pub(crate) fn escaped_len(text: &[u8]) -> usize {
    text.len()
        .saturating_add(text.iter().filter(|&&b| needs_escape(b)).count())
}
