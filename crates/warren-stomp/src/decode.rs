//! The decoder: streaming nom parsers over the read buffer, then zero-copy slicing.
//!
//! Decoding runs in two passes. The first ([`scan`]) parses `&[u8]` with nom's streaming
//! combinators: it finds where the frame ends, checks every rule and limit, and returns
//! `Incomplete` without touching the buffer while the frame is partial. Only a complete,
//! valid frame is taken off the buffer (`split_to(len).freeze()`); the second pass ([`build`])
//! then slices the headers and the body out of those `Bytes`. A header value is copied only
//! when it holds escape sequences.

use bytes::{Buf, Bytes, BytesMut};
use nom::branch::alt;
use nom::bytes::streaming::{tag, take, take_until};
use nom::error::{ErrorKind, ParseError};
use nom::{IResult, Offset};

use crate::command::{Command, Version};
use crate::error::{DecodeError, Limit};
use crate::escape::unescape;
use crate::frame::{parse_content_length, Frame};
use crate::header::{names, Header, Headers};
use crate::limits::Limits;

/// One item taken off the front of a byte stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decoded {
    /// A whole frame.
    Frame(Frame),
    /// One EOL (`\n` or `\r\n`) between frames: a heart-beat, or the optional EOLs after a
    /// frame's NUL. Either way, proof that the peer is alive.
    HeartBeat,
}

/// Takes frames and heart-beats off the front of a buffer.
///
/// It holds no state between calls but its configuration: the negotiated [`Version`] (which
/// decides header unescaping) and the [`Limits`]. A server starts at any version (CONNECT and
/// STOMP are never escaped) and calls [`Decoder::set_version`] once it has answered CONNECTED;
/// before that, a 1.0 client's backslashes would be read as 1.2 escapes.
///
/// Lines may end with LF or CRLF in every version (1.2 defines CRLF; a CR before LF is never
/// part of a 1.0/1.1 header either, as no client can write one that survives re-encoding).
/// Header names and values must be UTF-8; a raw colon in a value is taken as part of it (the
/// first colon separates), as 1.0 and CONNECT frames need.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Decoder {
    version: Version,
    limits: Limits,
}

/// What the scanning pass learnt about a complete frame (offsets into the frame).
#[derive(Debug, Clone, Copy)]
struct Scan {
    command: Command,
    /// Header lines, EOLs included, without the blank line.
    headers: (usize, usize),
    header_count: usize,
    body: (usize, usize),
    /// The whole frame, NUL included.
    len: usize,
}

/// The parsers' error type: a decode error, or nom's "no match" (mapped by the caller).
#[derive(Debug)]
enum Fail {
    NoMatch,
    Decode(DecodeError),
}

impl<'a> ParseError<&'a [u8]> for Fail {
    fn from_error_kind(_: &'a [u8], _: ErrorKind) -> Fail {
        Fail::NoMatch
    }

    fn append(_: &'a [u8], _: ErrorKind, other: Fail) -> Fail {
        other
    }
}

type Res<'a, O> = IResult<&'a [u8], O, Fail>;

fn fail<T>(e: DecodeError) -> Result<T, nom::Err<Fail>> {
    Err(nom::Err::Failure(Fail::Decode(e)))
}

fn eol(i: &[u8]) -> Res<'_, &[u8]> {
    alt((tag("\r\n"), tag("\n")))(i)
}

/// One line up to LF, the CR of a CRLF removed; its content may be at most `max` octets.
fn line(i: &[u8], max: usize, limit: Limit, header: Option<usize>) -> Res<'_, &[u8]> {
    // `take_until` of one byte is a memchr.
    let (rest, content) = match take_until("\n")(i) {
        // No LF yet: fail as soon as the line can no longer fit (`max` octets, then CRLF).
        Err(nom::Err::Incomplete(_))
            if i.len() > max.saturating_add(1) || (i.len() > max && i.get(max) != Some(&b'\r')) =>
        {
            return fail(DecodeError::LimitExceeded { limit, max })
        }
        other => other?,
    };
    let (rest, _) = tag("\n")(rest)?;
    let content = content.strip_suffix(b"\r").unwrap_or(content);
    if content.len() > max {
        return fail(DecodeError::LimitExceeded { limit, max });
    }
    if content.contains(&b'\r') {
        return fail(DecodeError::BareCarriageReturn { header });
    }
    Ok((rest, content))
}

/// Splits a header line at its first colon.
fn split_header(line: &[u8]) -> Option<(&[u8], &[u8])> {
    let colon = line.iter().position(|&b| b == b':')?;
    let (name, value) = line.split_at(colon);
    Some((name, value.get(1..).unwrap_or_default()))
}

/// Checks that every backslash in `raw` starts a sequence `version` defines.
fn check_escapes(raw: &[u8], version: Version, header: usize) -> Result<(), DecodeError> {
    let mut bytes = raw.iter();
    while let Some(&b) = bytes.next() {
        if b == b'\\' {
            match bytes.next() {
                Some(b'n' | b'c' | b'\\') => {}
                Some(b'r') if version >= Version::V1_2 => {}
                other => {
                    return Err(DecodeError::InvalidEscape {
                        header,
                        sequence: other.copied(),
                    })
                }
            }
        }
    }
    Ok(())
}

/// Checks one header line; returns its `content-length` value if it is one and `want_length`
/// (only the first `content-length` counts; later ones are not even parsed).
fn check_header(
    line: &[u8],
    header: usize,
    escaping: Option<Version>,
    want_length: bool,
) -> Result<Option<usize>, DecodeError> {
    let (name, value) = split_header(line).ok_or(DecodeError::MissingColon { header })?;
    if name.is_empty() {
        return Err(DecodeError::EmptyHeaderName { header });
    }
    if let Some(version) = escaping {
        check_escapes(name, version, header)?;
        check_escapes(value, version, header)?;
    }
    // Escape sequences are ASCII and decode to ASCII: UTF-8 validity is the same before and
    // after unescaping.
    if std::str::from_utf8(name).is_err() || std::str::from_utf8(value).is_err() {
        return Err(DecodeError::InvalidUtf8 { header });
    }
    if want_length && name == names::CONTENT_LENGTH.as_bytes() {
        return parse_content_length(value).map(Some).ok_or_else(|| {
            DecodeError::InvalidContentLength {
                value: String::from_utf8_lossy(value).into_owned(),
            }
        });
    }
    Ok(None)
}

impl Decoder {
    /// A decoder for `version` with the default [`Limits`].
    pub fn new(version: Version) -> Decoder {
        Decoder {
            version,
            limits: Limits::DEFAULT,
        }
    }

    /// A decoder for `version` with `limits`.
    pub fn with_limits(version: Version, limits: Limits) -> Decoder {
        Decoder { version, limits }
    }

    /// The version whose escaping rules apply.
    pub fn version(&self) -> Version {
        self.version
    }

    /// Sets the negotiated version.
    pub fn set_version(&mut self, version: Version) {
        self.version = version;
    }

    /// The limits.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Replaces the limits.
    pub fn set_limits(&mut self, limits: Limits) {
        self.limits = limits;
    }

    /// Takes one item off the front of `buf`: `Ok(None)` when `buf` holds only part of one
    /// (nothing is consumed; call again with more bytes), `Err` when the bytes can never be a
    /// frame (the connection is beyond repair). The frame's body and unescaped header values
    /// are slices of `buf`'s memory.
    pub fn decode(&self, buf: &mut BytesMut) -> Result<Option<Decoded>, DecodeError> {
        Ok(match self.scan_item(buf)? {
            None => None,
            Some(Item::HeartBeat(n)) => {
                buf.advance(n);
                Some(Decoded::HeartBeat)
            }
            Some(Item::Frame(scan)) => Some(Decoded::Frame(build(
                buf.split_to(scan.len).freeze(),
                &scan,
                self,
            ))),
        })
    }

    /// [`Decoder::decode`] on `Bytes`, e.g. the payload of a WebSocket message (Web-STOMP).
    pub fn decode_bytes(&self, buf: &mut Bytes) -> Result<Option<Decoded>, DecodeError> {
        Ok(match self.scan_item(buf)? {
            None => None,
            Some(Item::HeartBeat(n)) => {
                buf.advance(n);
                Some(Decoded::HeartBeat)
            }
            Some(Item::Frame(scan)) => {
                Some(Decoded::Frame(build(buf.split_to(scan.len), &scan, self)))
            }
        })
    }

    /// The length of the complete item at the front of `input` (a frame, NUL included, or
    /// one EOL), `None` while it is partial: what [`Decoder::decode`] would consume.
    pub fn item_len(&self, input: &[u8]) -> Result<Option<usize>, DecodeError> {
        Ok(self.scan_item(input)?.map(|item| match item {
            Item::HeartBeat(n) => n,
            Item::Frame(scan) => scan.len,
        }))
    }

    fn scan_item(&self, input: &[u8]) -> Result<Option<Item>, DecodeError> {
        match eol(input) {
            Ok((rest, _)) => return Ok(Some(Item::HeartBeat(input.offset(rest)))),
            Err(nom::Err::Incomplete(_)) => return Ok(None),
            Err(_) => {}
        }
        match scan(input, self) {
            Ok((_, scan)) => Ok(Some(Item::Frame(scan))),
            Err(nom::Err::Incomplete(_)) => Ok(None),
            Err(nom::Err::Error(e) | nom::Err::Failure(e)) => match e {
                Fail::Decode(e) => Err(e),
                // Every nom error is mapped where it can happen; this is unreachable.
                Fail::NoMatch => Err(DecodeError::UnknownCommand {
                    command: String::new(),
                }),
            },
        }
    }
}

enum Item {
    HeartBeat(usize),
    Frame(Scan),
}

/// The checking pass over a whole frame.
fn scan<'a>(input: &'a [u8], dec: &Decoder) -> Res<'a, Scan> {
    let limits = &dec.limits;
    let (i, command_line) = line(input, limits.max_command_len, Limit::CommandLength, None)?;
    let Some(command) = Command::from_bytes(command_line) else {
        return fail(DecodeError::UnknownCommand {
            command: String::from_utf8_lossy(command_line).into_owned(),
        });
    };
    let escaping = command.escapes_headers(dec.version).then_some(dec.version);
    let headers_start = input.offset(i);
    let mut i = i;
    let mut header_count = 0usize;
    let mut content_length = None;
    let headers_end = loop {
        let line_start = input.offset(i);
        let (rest, header) = line(
            i,
            limits.max_header_line_len,
            Limit::HeaderLineLength,
            Some(header_count),
        )?;
        i = rest;
        if header.is_empty() {
            break line_start;
        }
        if header_count >= limits.max_headers {
            return fail(DecodeError::LimitExceeded {
                limit: Limit::HeaderCount,
                max: limits.max_headers,
            });
        }
        match check_header(header, header_count, escaping, content_length.is_none()) {
            Ok(Some(n)) => content_length = Some(n),
            Ok(None) => {}
            Err(e) => return fail(e),
        }
        header_count = header_count.saturating_add(1);
    };
    let body_limit = || DecodeError::LimitExceeded {
        limit: Limit::BodyLength,
        max: limits.max_body_len,
    };
    let (i, body) = match content_length {
        Some(n) => {
            if n > limits.max_body_len {
                return fail(body_limit());
            }
            let (i, body) = take(n)(i)?;
            match i.first() {
                None => return Err(nom::Err::Incomplete(nom::Needed::new(1))),
                Some(0) => {}
                Some(&found) => {
                    return fail(DecodeError::MissingNul {
                        content_length: n,
                        found,
                    })
                }
            }
            (i, body)
        }
        None => match take_until("\0")(i) {
            Err(nom::Err::Incomplete(_)) if i.len() > limits.max_body_len => {
                return fail(body_limit())
            }
            Ok((_, body)) if body.len() > limits.max_body_len => return fail(body_limit()),
            other => other?,
        },
    };
    let (i, _) = tag("\0")(i)?;
    let body_start = input.offset(body);
    Ok((
        i,
        Scan {
            command,
            headers: (headers_start, headers_end),
            header_count,
            body: (body_start, body_start.saturating_add(body.len())),
            len: input.offset(i),
        },
    ))
}

/// The slicing pass over a frame `scan` accepted: nothing here can fail.
fn build(frame: Bytes, scan: &Scan, dec: &Decoder) -> Frame {
    let escaping = scan.command.escapes_headers(dec.version);
    let mut headers = Headers::with_capacity(scan.header_count);
    let block = frame
        .get(scan.headers.0..scan.headers.1)
        .unwrap_or_default();
    for raw in block.split(|&b| b == b'\n') {
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let Some((name, value)) = split_header(raw) else {
            continue; // the empty piece after the last LF
        };
        let part = |text: &[u8]| {
            if escaping && text.contains(&b'\\') {
                unescape(text, dec.version).unwrap_or_else(|_| frame.slice_ref(text))
            } else {
                frame.slice_ref(text)
            }
        };
        headers.push(Header::from_checked(part(name), part(value)));
    }
    let body = frame
        .get(scan.body.0..scan.body.1)
        .map(|b| frame.slice_ref(b))
        .unwrap_or_default();
    Frame {
        command: scan.command,
        headers,
        body,
    }
}
