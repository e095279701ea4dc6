//! Content assembly: a content-bearing method + content header + body frames make one message,
//! and the reverse, one message split into frames under `frame_max`.

use crate::frame::{encode_frame, ContentHeader, Frame, FRAME_OVERHEAD};
use crate::generated::{BasicProperties, Method, FRAME_BODY, FRAME_HEADER, FRAME_METHOD};
use crate::Error;
use bytes::{BufMut, Bytes, BytesMut};

/// A content-bearing method with its properties and body, assembled from (or to be split into)
/// a method frame, a content header frame and zero or more body frames.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// `basic.publish` from a client; `basic.deliver`, `basic.get-ok` or `basic.return` from a
    /// server.
    pub method: Method,
    /// The content header's properties.
    pub properties: BasicProperties,
    /// The body. When it arrived in one body frame this is that frame's bytes, not a copy.
    pub body: Bytes,
}

/// What [`MessageAssembler`] produced from a frame.
// Frames and messages move once, from decoder to handler, by value; boxing the big variant
// would cost an allocation per frame on the hot path to save a memcpy.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Assembled {
    /// A method without content, complete in its one frame.
    Method(Method),
    /// A content-bearing method with its whole content.
    Message(Message),
}

// Frames and messages move once, from decoder to handler, by value; boxing the big variant
// would cost an allocation per frame on the hot path to save a memcpy.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Default)]
enum State {
    #[default]
    Idle,
    AwaitHeader {
        method: Method,
    },
    AwaitBody {
        method: Method,
        properties: BasicProperties,
        body_size: u64,
        body: Body,
    },
}

#[derive(Debug)]
enum Body {
    Empty,
    One(Bytes),
    Many(BytesMut),
}

impl Body {
    fn len(&self) -> usize {
        match self {
            Body::Empty => 0,
            Body::One(b) => b.len(),
            Body::Many(b) => b.len(),
        }
    }

    fn push(self, chunk: Bytes, body_size: u64) -> Body {
        match self {
            Body::Empty => Body::One(chunk),
            Body::One(first) => {
                // The declared size was checked against the cap before any body arrived.
                let cap =
                    usize::try_from(body_size).unwrap_or(first.len().saturating_add(chunk.len()));
                let mut all = BytesMut::with_capacity(cap);
                all.put_slice(&first);
                all.put_slice(&chunk);
                Body::Many(all)
            }
            Body::Many(mut all) => {
                all.put_slice(&chunk);
                Body::Many(all)
            }
        }
    }

    fn freeze(self) -> Bytes {
        match self {
            Body::Empty => Bytes::new(),
            Body::One(b) => b,
            Body::Many(b) => b.freeze(),
        }
    }
}

/// Assembles the frames of one channel into methods and messages (sans-IO: frames in, results
/// out, no buffering beyond the message being assembled).
///
/// A content-bearing method (`has_content()`) must be followed by exactly one content header of
/// the same class and then body frames adding up to the header's `body_size`; anything else
/// is [`Error::UnexpectedFrame`] (505). A declared body larger than the configured cap is
/// [`Error::BodyTooLarge`] (406, a channel error) before any body byte is buffered; the
/// assembler is then idle again, and the broker is expected to discard the channel's frames
/// until `channel.close-ok`.
///
/// ```
/// use bytes::Bytes;
/// use warren_amqp::{Assembled, BasicPublish, ContentHeader, Frame, MessageAssembler, ShortStr};
///
/// let mut asm = MessageAssembler::new(1, 128 * 1024 * 1024);
/// let publish = BasicPublish { routing_key: ShortStr::from_static("rk"), ..Default::default() };
/// let header = ContentHeader { class_id: 60, body_size: 5, ..Default::default() };
/// assert_eq!(asm.handle(Frame::Method { channel: 1, method: publish.into() }).unwrap(), None);
/// assert_eq!(asm.handle(Frame::Header { channel: 1, header }).unwrap(), None);
/// let body = Bytes::from_static(b"hello");
/// match asm.handle(Frame::Body { channel: 1, payload: body.clone() }).unwrap() {
///     Some(Assembled::Message(m)) => assert_eq!(m.body.as_ptr(), body.as_ptr()), // no copy
///     other => panic!("{other:?}"),
/// }
/// ```
#[derive(Debug)]
pub struct MessageAssembler {
    channel: u16,
    max_body_size: u64,
    state: State,
}

impl MessageAssembler {
    /// An idle assembler for `channel` that refuses bodies larger than `max_body_size` bytes
    /// (RabbitMQ's default `max_message_size` is 128 MiB).
    pub fn new(channel: u16, max_body_size: u64) -> Self {
        MessageAssembler {
            channel,
            max_body_size,
            state: State::Idle,
        }
    }

    /// The channel this assembler serves (used in errors).
    pub fn channel(&self) -> u16 {
        self.channel
    }

    /// True when no message is partially assembled.
    pub fn is_idle(&self) -> bool {
        matches!(self.state, State::Idle)
    }

    /// Drops any partial message (on channel close).
    pub fn reset(&mut self) {
        self.state = State::Idle;
    }

    /// Feeds one frame of this channel. Heartbeats are ignored (they belong to the connection).
    pub fn handle(&mut self, frame: Frame) -> Result<Option<Assembled>, Error> {
        match frame {
            Frame::Method { method, .. } => self.handle_method(method),
            Frame::Header { header, .. } => self.handle_header(header),
            Frame::Body { payload, .. } => self.handle_body(payload),
            Frame::Heartbeat => Ok(None),
        }
    }

    /// Feeds a method frame.
    pub fn handle_method(&mut self, method: Method) -> Result<Option<Assembled>, Error> {
        match &self.state {
            State::Idle => {}
            State::AwaitHeader { method: m } => {
                return Err(self.unexpected("content header", "method", m));
            }
            State::AwaitBody { method: m, .. } => {
                return Err(self.unexpected("content body", "method", m));
            }
        }
        if method.has_content() {
            self.state = State::AwaitHeader { method };
            Ok(None)
        } else {
            Ok(Some(Assembled::Method(method)))
        }
    }

    /// Feeds a content header frame.
    pub fn handle_header(&mut self, header: ContentHeader) -> Result<Option<Assembled>, Error> {
        let method = match std::mem::take(&mut self.state) {
            State::AwaitHeader { method } => method,
            State::Idle => {
                return Err(Error::UnexpectedFrame {
                    channel: self.channel,
                    expected: "method",
                    got: "content header",
                    class_method: None,
                })
            }
            State::AwaitBody { method, .. } => {
                return Err(self.unexpected("content body", "content header", &method));
            }
        };
        let class_method = (method.class_id(), method.method_id());
        if header.class_id != method.class_id() {
            return Err(Error::UnexpectedFrame {
                channel: self.channel,
                expected: "content header of the method's class",
                got: "content header of another class",
                class_method: Some(class_method),
            });
        }
        if header.body_size > self.max_body_size {
            return Err(Error::BodyTooLarge {
                size: header.body_size,
                max: self.max_body_size,
                class_method,
            });
        }
        if header.body_size == 0 {
            return Ok(Some(Assembled::Message(Message {
                method,
                properties: header.properties,
                body: Bytes::new(),
            })));
        }
        self.state = State::AwaitBody {
            method,
            properties: header.properties,
            body_size: header.body_size,
            body: Body::Empty,
        };
        Ok(None)
    }

    /// Feeds a content body frame.
    pub fn handle_body(&mut self, payload: Bytes) -> Result<Option<Assembled>, Error> {
        let State::AwaitBody {
            method,
            properties,
            body_size,
            body,
        } = std::mem::take(&mut self.state)
        else {
            let expected = if self.is_idle() {
                "method"
            } else {
                "content header"
            };
            // A body where a header is due: put nothing back, the connection closes.
            return Err(Error::UnexpectedFrame {
                channel: self.channel,
                expected,
                got: "content body",
                class_method: None,
            });
        };
        let have = body.len() as u64;
        let new_len = have.saturating_add(payload.len() as u64);
        if new_len > body_size {
            return Err(Error::UnexpectedFrame {
                channel: self.channel,
                expected: "no more body bytes than the header declared",
                got: "content body",
                class_method: Some((method.class_id(), method.method_id())),
            });
        }
        let body = if payload.is_empty() {
            body
        } else {
            body.push(payload, body_size)
        };
        if new_len == body_size {
            Ok(Some(Assembled::Message(Message {
                method,
                properties,
                body: body.freeze(),
            })))
        } else {
            self.state = State::AwaitBody {
                method,
                properties,
                body_size,
                body,
            };
            Ok(None)
        }
    }

    fn unexpected(&self, expected: &'static str, got: &'static str, m: &Method) -> Error {
        Error::UnexpectedFrame {
            channel: self.channel,
            expected,
            got,
            class_method: Some((m.class_id(), m.method_id())),
        }
    }
}

/// Appends a message as frames to `buf`: the method frame, the content header (class of the
/// method, body size, properties) and the body in frames of at most `frame_max` bytes
/// (0: no limit). On error `buf` is left as it was.
///
/// ```
/// use bytes::BytesMut;
/// use warren_amqp::{encode_message, BasicDeliver, BasicProperties, FrameDecoder, ShortStr};
///
/// let deliver = BasicDeliver {
///     consumer_tag: ShortStr::from_static("ctag"),
///     delivery_tag: 1,
///     redelivered: false,
///     exchange: ShortStr::from_static("amq.topic"),
///     routing_key: ShortStr::from_static("car.1"),
/// };
/// let mut out = BytesMut::new();
/// encode_message(&mut out, 1, &deliver.into(), &BasicProperties::default(), &[7u8; 10_000], 4096)
///     .unwrap();
/// let mut decoder = FrameDecoder::new(4096);
/// let mut frames = 0;
/// while decoder.decode(&mut out).unwrap().is_some() {
///     frames += 1;
/// }
/// assert_eq!(frames, 2 + 3); // method, header, three body frames
/// ```
pub fn encode_message(
    buf: &mut BytesMut,
    channel: u16,
    method: &Method,
    properties: &BasicProperties,
    body: &[u8],
    frame_max: u32,
) -> Result<(), Error> {
    let chunk = if frame_max == 0 {
        usize::MAX
    } else {
        (frame_max as usize).saturating_sub(FRAME_OVERHEAD)
    };
    if chunk == 0 {
        return Err(Error::FrameMaxTooSmall { frame_max });
    }
    let start = buf.len();
    let result = (|| {
        encode_frame(buf, FRAME_METHOD, channel, frame_max, |b| method.encode(b))?;
        encode_frame(buf, FRAME_HEADER, channel, frame_max, |b| {
            b.put_u16(method.class_id());
            b.put_u16(0);
            b.put_u64(body.len() as u64);
            properties.encode(b)
        })?;
        let frames = body.len().div_ceil(chunk);
        buf.reserve(
            body.len()
                .saturating_add(frames.saturating_mul(FRAME_OVERHEAD)),
        );
        for piece in body.chunks(chunk) {
            encode_frame(buf, FRAME_BODY, channel, frame_max, |b| {
                b.put_slice(piece);
                Ok(())
            })?;
        }
        Ok(())
    })();
    if result.is_err() {
        buf.truncate(start);
    }
    result
}

impl Message {
    /// Appends this message as frames to `buf`; see [`encode_message`].
    pub fn encode(&self, buf: &mut BytesMut, channel: u16, frame_max: u32) -> Result<(), Error> {
        encode_message(
            buf,
            channel,
            &self.method,
            &self.properties,
            &self.body,
            frame_max,
        )
    }
}
