//! Frames: the protocol header, the four frame types, and the incremental `FrameDecoder`.
//!
//! Wire layout of a frame: type (1 octet), channel (2), payload size (4), payload, `0xCE`.

use crate::codec::{with_u32_len, Reader};
use crate::generated::{
    BasicProperties, Method, FRAME_BODY, FRAME_END, FRAME_HEADER, FRAME_HEARTBEAT, FRAME_METHOD,
};
use crate::Error;
use bytes::{Buf, BufMut, Bytes, BytesMut};

/// The header a client sends first, and the one a server answers a wrong header with.
pub const PROTOCOL_HEADER: [u8; 8] = *b"AMQP\x00\x00\x09\x01";

/// Size of a frame's header: type, channel, payload size.
pub const FRAME_HEADER_SIZE: usize = 7;

/// Bytes a frame adds around its payload: the 7-byte header and the end octet.
pub const FRAME_OVERHEAD: usize = FRAME_HEADER_SIZE + 1;

/// What to do with the first bytes a client sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProtocolHeaderCheck {
    /// The bytes so far agree with [`PROTOCOL_HEADER`]; wait for the rest.
    Incomplete,
    /// The first 8 bytes are `AMQP 0-9-1`: consume them and send `connection.start`.
    Accepted,
    /// Not AMQP 0-9-1: write [`PROTOCOL_HEADER`] and close the connection (the spec's answer,
    /// which tells the client which version this server speaks).
    Rejected,
}

/// Checks the protocol header at the start of `buf`. A mismatch is reported as soon as one
/// byte differs, without waiting for all 8.
///
/// ```
/// use warren_amqp::{check_protocol_header, ProtocolHeaderCheck, PROTOCOL_HEADER};
/// assert_eq!(check_protocol_header(b"AMQP\0\0\x09\x01"), ProtocolHeaderCheck::Accepted);
/// assert_eq!(check_protocol_header(b"AMQ"), ProtocolHeaderCheck::Incomplete);
/// assert_eq!(check_protocol_header(b"AMQP\0\0\x09\x00"), ProtocolHeaderCheck::Rejected);
/// assert_eq!(check_protocol_header(b"GET / HTTP/1.1"), ProtocolHeaderCheck::Rejected);
/// ```
pub fn check_protocol_header(buf: &[u8]) -> ProtocolHeaderCheck {
    let n = buf.len().min(PROTOCOL_HEADER.len());
    if buf
        .iter()
        .zip(PROTOCOL_HEADER.iter())
        .take(n)
        .any(|(a, b)| a != b)
    {
        ProtocolHeaderCheck::Rejected
    } else if n < PROTOCOL_HEADER.len() {
        ProtocolHeaderCheck::Incomplete
    } else {
        ProtocolHeaderCheck::Accepted
    }
}

/// A content header frame's payload: which class the content belongs to, the total body size,
/// and the properties.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ContentHeader {
    /// Class of the method the content belongs to (60, `basic`, for every method that carries
    /// content).
    pub class_id: u16,
    /// Total size of the body frames that follow.
    pub body_size: u64,
    /// The properties. Every class that carries content uses the `basic` property list.
    pub properties: BasicProperties,
}

impl ContentHeader {
    /// Decodes a content header frame payload. The `weight` field (always 0) is not kept.
    pub fn decode(payload: Bytes) -> Result<Self, Error> {
        let mut r = Reader::new(payload, "content header");
        let class_id = r.u16("class-id")?;
        let _weight = r.u16("weight")?;
        let body_size = r.u64("body-size")?;
        let flags = r.u16("property-flags")?;
        let properties = BasicProperties::decode(flags, &mut r)?;
        r.finish()?;
        Ok(ContentHeader {
            class_id,
            body_size,
            properties,
        })
    }

    /// Appends the content header payload to `buf`.
    pub fn encode(&self, buf: &mut BytesMut) -> Result<(), Error> {
        buf.put_u16(self.class_id);
        buf.put_u16(0);
        buf.put_u64(self.body_size);
        self.properties.encode(buf)
    }
}

/// One decoded frame.
// Frames and messages move once, from decoder to handler, by value; boxing the big variant
// would cost an allocation per frame on the hot path to save a memcpy.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    /// A method frame.
    Method {
        /// Channel number (0 is the connection itself).
        channel: u16,
        /// The method.
        method: Method,
    },
    /// A content header frame.
    Header {
        /// Channel number.
        channel: u16,
        /// The header.
        header: ContentHeader,
    },
    /// A content body frame; the payload is a slice of the read buffer.
    Body {
        /// Channel number.
        channel: u16,
        /// Body bytes.
        payload: Bytes,
    },
    /// A heartbeat frame (always channel 0, empty payload).
    Heartbeat,
}

impl Frame {
    /// The channel the frame is on (0 for heartbeats).
    pub fn channel(&self) -> u16 {
        match self {
            Frame::Method { channel, .. }
            | Frame::Header { channel, .. }
            | Frame::Body { channel, .. } => *channel,
            Frame::Heartbeat => 0,
        }
    }

    /// A short name of the frame type, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Frame::Method { .. } => "method",
            Frame::Header { .. } => "content header",
            Frame::Body { .. } => "content body",
            Frame::Heartbeat => "heartbeat",
        }
    }

    /// Appends the whole frame to `buf`. Fails, leaving `buf` as it was, if the frame would be
    /// larger than `frame_max` (0: no limit) or a length overflows its field.
    pub fn encode(&self, buf: &mut BytesMut, frame_max: u32) -> Result<(), Error> {
        match self {
            Frame::Method { channel, method } => {
                encode_frame(buf, FRAME_METHOD, *channel, frame_max, |b| method.encode(b))
            }
            Frame::Header { channel, header } => {
                encode_frame(buf, FRAME_HEADER, *channel, frame_max, |b| header.encode(b))
            }
            Frame::Body { channel, payload } => {
                encode_frame(buf, FRAME_BODY, *channel, frame_max, |b| {
                    b.put_slice(payload);
                    Ok(())
                })
            }
            Frame::Heartbeat => encode_frame(buf, FRAME_HEARTBEAT, 0, frame_max, |_| Ok(())),
        }
    }
}

/// Appends a method frame for `method` on `channel` to `buf` (the frame is not built, so the
/// method is only borrowed). Fails, leaving `buf` as it was, if it exceeds `frame_max`
/// (0: no limit).
///
/// ```
/// use bytes::BytesMut;
/// use warren_amqp::{encode_method, ConnectionTune, Method};
/// let mut out = BytesMut::new();
/// let tune = Method::ConnectionTune(ConnectionTune { channel_max: 2047, frame_max: 131_072, heartbeat: 60 });
/// encode_method(&mut out, 0, &tune, 4096).unwrap();
/// assert_eq!(&out[..7], &[1, 0, 0, 0, 0, 0, 12]); // method frame, channel 0, 12-byte payload
/// assert_eq!(out.last(), Some(&0xCE));
/// ```
pub fn encode_method(
    buf: &mut BytesMut,
    channel: u16,
    method: &Method,
    frame_max: u32,
) -> Result<(), Error> {
    encode_frame(buf, FRAME_METHOD, channel, frame_max, |b| method.encode(b))
}

/// Appends one frame whose payload `body` writes; on error `buf` is truncated back.
pub(crate) fn encode_frame(
    buf: &mut BytesMut,
    frame_type: u8,
    channel: u16,
    frame_max: u32,
    body: impl FnOnce(&mut BytesMut) -> Result<(), Error>,
) -> Result<(), Error> {
    let start = buf.len();
    buf.put_u8(frame_type);
    buf.put_u16(channel);
    let result = with_u32_len(buf, "frame payload", body).and_then(|()| {
        let size = buf.len().saturating_sub(start).saturating_add(1);
        if frame_max != 0 && size > frame_max as usize {
            Err(Error::FrameTooLarge {
                size: size as u64,
                frame_max,
            })
        } else {
            Ok(())
        }
    });
    match result {
        Ok(()) => {
            buf.put_u8(FRAME_END);
            Ok(())
        }
        Err(e) => {
            buf.truncate(start);
            Err(e)
        }
    }
}

/// A frame split off the read buffer but not yet parsed: type, channel and payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawFrame {
    /// Frame type octet (1 method, 2 header, 3 body, 8 heartbeat).
    pub frame_type: u8,
    /// Channel number.
    pub channel: u16,
    /// The payload, a zero-copy slice of the read buffer.
    pub payload: Bytes,
}

impl RawFrame {
    /// Parses the payload according to the frame type.
    pub fn parse(self) -> Result<Frame, Error> {
        let channel = self.channel;
        Ok(match self.frame_type {
            FRAME_METHOD => Frame::Method {
                channel,
                method: Method::decode(self.payload)?,
            },
            FRAME_HEADER => Frame::Header {
                channel,
                header: ContentHeader::decode(self.payload)?,
            },
            FRAME_BODY => Frame::Body {
                channel,
                payload: self.payload,
            },
            FRAME_HEARTBEAT => Frame::Heartbeat,
            frame_type => return Err(Error::UnknownFrameType { frame_type }),
        })
    }
}

/// Splits frames off a read buffer.
///
/// The decoder knows the negotiated `frame_max` and rejects a frame whose declared size is
/// larger as soon as its 7-byte header is in the buffer, before any of the payload is waited
/// for. A partial frame is `Ok(None)`: read more bytes into the same buffer and call again.
/// After an `Err` the connection must be closed (with [`Error::reply_code`]); the buffer is
/// left unspecified.
///
/// ```
/// use bytes::BytesMut;
/// use warren_amqp::{FrameDecoder, Frame};
///
/// let mut decoder = FrameDecoder::new(131_072);
/// let mut buf = BytesMut::from(&[8u8, 0, 0, 0, 0, 0, 0][..]); // a heartbeat, minus its end
/// assert_eq!(decoder.decode(&mut buf).unwrap(), None);       // need more bytes
/// buf.extend_from_slice(&[0xCE]);
/// assert_eq!(decoder.decode(&mut buf).unwrap(), Some(Frame::Heartbeat));
/// assert!(buf.is_empty());
/// ```
#[derive(Debug, Clone)]
pub struct FrameDecoder {
    frame_max: u32,
}

impl FrameDecoder {
    /// A decoder enforcing `frame_max` (the whole frame, header and end octet included;
    /// 0 means no limit, as in `connection.tune`). Before tuning, a server typically uses its
    /// own advertised `frame_max`.
    pub fn new(frame_max: u32) -> Self {
        FrameDecoder { frame_max }
    }

    /// The limit in force.
    pub fn frame_max(&self) -> u32 {
        self.frame_max
    }

    /// Changes the limit (after `connection.tune-ok`).
    pub fn set_frame_max(&mut self, frame_max: u32) {
        self.frame_max = frame_max;
    }

    /// Splits the next whole frame off `buf` without parsing its payload.
    pub fn decode_raw(&mut self, buf: &mut BytesMut) -> Result<Option<RawFrame>, Error> {
        let Some(header) = buf.get(..FRAME_HEADER_SIZE) else {
            // Reject a bad type octet as early as possible.
            return match buf.first() {
                Some(&t) if !is_frame_type(t) => Err(Error::UnknownFrameType { frame_type: t }),
                _ => Ok(None),
            };
        };
        let mut header = header;
        let frame_type = header.get_u8();
        let channel = header.get_u16();
        let size = header.get_u32();
        if !is_frame_type(frame_type) {
            return Err(Error::UnknownFrameType { frame_type });
        }
        let total = u64::from(size) + FRAME_OVERHEAD as u64;
        if self.frame_max != 0 && total > u64::from(self.frame_max) {
            return Err(Error::FrameTooLarge {
                size: total,
                frame_max: self.frame_max,
            });
        }
        if frame_type == FRAME_HEARTBEAT && (channel != 0 || size != 0) {
            return Err(Error::BadHeartbeat { channel, size });
        }
        let Ok(total) = usize::try_from(total) else {
            return Err(Error::FrameTooLarge {
                size: total,
                frame_max: self.frame_max,
            });
        };
        let Some(&end) = buf.get(total.saturating_sub(1)) else {
            // Make room for the rest of this frame once, instead of growing step by step;
            // only under a negotiated limit, so a declared size cannot make us allocate much.
            if self.frame_max != 0 {
                buf.reserve(total.saturating_sub(buf.len()));
            }
            return Ok(None);
        };
        if end != FRAME_END {
            return Err(Error::BadFrameEnd { found: end });
        }
        buf.advance(FRAME_HEADER_SIZE);
        let payload = buf.split_to(total.saturating_sub(FRAME_OVERHEAD)).freeze();
        buf.advance(1);
        Ok(Some(RawFrame {
            frame_type,
            channel,
            payload,
        }))
    }

    /// Splits the next whole frame off `buf` and parses it.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Frame>, Error> {
        match self.decode_raw(buf)? {
            Some(raw) => raw.parse().map(Some),
            None => Ok(None),
        }
    }
}

fn is_frame_type(t: u8) -> bool {
    matches!(
        t,
        FRAME_METHOD | FRAME_HEADER | FRAME_BODY | FRAME_HEARTBEAT
    )
}
