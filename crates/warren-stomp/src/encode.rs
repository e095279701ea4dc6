//! The encoder: one checking pass, one writing pass straight into the caller's `BytesMut`.

use bytes::{BufMut, BytesMut};

use crate::command::Version;
use crate::error::EncodeError;
use crate::escape::{escaped_len, put_escaped};
use crate::frame::Frame;
use crate::header::names;

const CONTENT_LENGTH: &[u8] = names::CONTENT_LENGTH.as_bytes();

/// Appends one heart-beat (an LF) to `dst`.
pub fn encode_heart_beat(dst: &mut BytesMut) {
    dst.put_u8(b'\n');
}

impl Frame {
    /// Appends the frame to `dst` as `version` writes it; returns the number of bytes written.
    /// On `Err` nothing is written.
    ///
    /// Headers are written in order, escaped when the version and command call for it (see
    /// [`Command::escapes_headers`](crate::Command::escapes_headers)); lines end with LF.
    ///
    /// **`content-length` belongs to the encoder.** It writes the body's true length: in place
    /// of the frame's first `content-length` header (dropping any later ones), or, when the
    /// frame has none, as the first header whenever the body is non-empty. Every non-empty
    /// body thus travels with its length, so a body holding NULs is safe and the reader need
    /// not scan for the terminator; an empty body gets no header (the NUL follows at once).
    /// A frame decoded from the wire re-encodes to the same frame as long as its
    /// `content-length` was present whenever its body was non-empty.
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use warren_stomp::{Command, Frame, Version};
    ///
    /// let frame = Frame::new(Command::Send)
    ///     .header("destination", "/queue/a:b")
    ///     .body("hi");
    /// let mut out = BytesMut::new();
    /// frame.encode(Version::V1_2, &mut out)?;
    /// assert_eq!(&out[..], b"SEND\ncontent-length:2\ndestination:/queue/a\\cb\n\nhi\0");
    /// # Ok::<(), warren_stomp::EncodeError>(())
    /// ```
    pub fn encode(&self, version: Version, dst: &mut BytesMut) -> Result<usize, EncodeError> {
        let len = self.encoded_len(version)?;
        dst.reserve(len);
        let escaping = self.command.escapes_headers(version);
        let mut digits = [0u8; 20];
        let length = format_usize(self.body.len(), &mut digits);
        let has_length_header = self
            .headers
            .iter()
            .any(|h| h.name_bytes().as_ref() == CONTENT_LENGTH);
        let put_length = |dst: &mut BytesMut| {
            dst.put_slice(CONTENT_LENGTH);
            dst.put_u8(b':');
            dst.put_slice(length);
            dst.put_u8(b'\n');
        };

        dst.put_slice(self.command.as_str().as_bytes());
        dst.put_u8(b'\n');
        if !has_length_header && !self.body.is_empty() {
            put_length(dst);
        }
        let mut length_written = false;
        for header in &self.headers {
            if header.name_bytes().as_ref() == CONTENT_LENGTH {
                if !length_written {
                    put_length(dst);
                    length_written = true;
                }
                continue;
            }
            if escaping {
                put_escaped(dst, header.name_bytes(), version);
                dst.put_u8(b':');
                put_escaped(dst, header.value_bytes(), version);
            } else {
                dst.put_slice(header.name_bytes());
                dst.put_u8(b':');
                dst.put_slice(header.value_bytes());
            }
            dst.put_u8(b'\n');
        }
        dst.put_u8(b'\n');
        dst.put_slice(&self.body);
        dst.put_u8(0);
        Ok(len)
    }

    /// The number of bytes [`Frame::encode`] writes for `version`, or why it cannot.
    pub fn encoded_len(&self, version: Version) -> Result<usize, EncodeError> {
        let escaping = self.command.escapes_headers(version);
        let mut digits = [0u8; 20];
        let length_line = CONTENT_LENGTH
            .len()
            .saturating_add(format_usize(self.body.len(), &mut digits).len())
            .saturating_add(2);
        let mut len = self.command.as_str().len().saturating_add(1);
        let mut has_length_header = false;
        for (i, header) in self.headers.iter().enumerate() {
            let (name, value) = (header.name_bytes(), header.value_bytes());
            if name.is_empty() {
                return Err(EncodeError::EmptyHeaderName { header: i });
            }
            if name.as_ref() == CONTENT_LENGTH {
                has_length_header = true;
                continue;
            }
            let refuse = |in_name: bool, byte: u8| EncodeError::Unencodable {
                command: self.command,
                version,
                header: i,
                in_name,
                byte,
            };
            // Octets that cannot be written: CR without a `\r` escape, LF unescaped, and a
            // colon in an unescaped name (the first colon ends the name).
            let cannot = |b: u8, in_name: bool| match b {
                b'\r' => !escaping || version < Version::V1_2,
                b'\n' => !escaping,
                b':' => in_name && !escaping,
                _ => false,
            };
            if let Some(&b) = name.iter().find(|&&b| cannot(b, true)) {
                return Err(refuse(true, b));
            }
            if let Some(&b) = value.iter().find(|&&b| cannot(b, false)) {
                return Err(refuse(false, b));
            }
            let line = if escaping {
                escaped_len(name).saturating_add(escaped_len(value))
            } else {
                name.len().saturating_add(value.len())
            };
            len = len.saturating_add(line).saturating_add(2);
        }
        if has_length_header || !self.body.is_empty() {
            len = len.saturating_add(length_line);
        }
        Ok(len.saturating_add(self.body.len()).saturating_add(2))
    }
}

/// Writes `n` in decimal into `buf`; returns the digits.
fn format_usize(mut n: usize, buf: &mut [u8; 20]) -> &[u8] {
    let mut start = buf.len();
    loop {
        start = start.saturating_sub(1);
        if let Some(slot) = buf.get_mut(start) {
            // `n % 10` is below 10: the cast cannot truncate.
            *slot = b'0' + (n % 10) as u8;
        }
        n /= 10;
        if n == 0 || start == 0 {
            break;
        }
    }
    buf.get(start..).unwrap_or_default()
}
