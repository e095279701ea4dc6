//! A sans-IO codec for AMQP 0-9-1 as RabbitMQ speaks it.
//!
//! This crate turns bytes into frames and frames into bytes, and nothing else: no sockets, no
//! tokio, no clock. It covers the protocol header (and the answer to a wrong one), the four
//! frame types, every class and method of 0-9-1 including RabbitMQ's extensions (generated from
//! RabbitMQ's spec file), the content header with all 14 basic properties, field tables and
//! arrays, and the assembly of method + content header + body frames into messages.
//!
//! It is not a client or a broker: it keeps no connection or channel state beyond the message
//! being assembled, negotiates nothing and routes nothing.
//!
//! - Decoding works on the connection's `BytesMut` read buffer: [`FrameDecoder::decode`] splits
//!   a frame off it and returns payloads as `Bytes` slices of it (no copy). A partial frame is
//!   `Ok(None)`; a frame declaring more than the negotiated `frame_max` is rejected from its
//!   header alone; nested tables are limited to [`MAX_NESTING_DEPTH`].
//! - Every [`Error`] maps to the reply code the broker must send ([`Error::reply_code`]).
//! - Encoding appends to a `BytesMut` with no allocation per field.
//!
//! # Using it in a broker
//!
//! 1. Read until [`check_protocol_header`] says `Accepted` (consume 8 bytes) or `Rejected`
//!    (write [`PROTOCOL_HEADER`], close).
//! 2. Feed the rest of the stream to one [`FrameDecoder`] per connection; after
//!    `connection.tune-ok`, [`FrameDecoder::set_frame_max`].
//! 3. Handle heartbeats and channel 0 yourself; give every other frame to the
//!    [`MessageAssembler`] of its channel, which yields [`Assembled::Method`] or
//!    [`Assembled::Message`].
//! 4. On an [`Error`], close with [`Error::reply_code`] and [`Error::class_method`] (a channel
//!    close when [`Error::is_connection_error`] is false).
//! 5. Answer with [`encode_method`], [`encode_message`] or [`Frame::encode`] into the write
//!    buffer, then write it out once per batch.
//!
//! # Example
//!
//! ```
//! use bytes::BytesMut;
//! use warren_amqp::{
//!     Assembled, BasicProperties, BasicPublish, Frame, FrameDecoder, Method, MessageAssembler,
//!     ShortStr, encode_message,
//! };
//!
//! // A client publishes 5 bytes to exchange "amq.topic" with routing key "car.1.gps".
//! let publish = BasicPublish {
//!     exchange: ShortStr::from_static("amq.topic"),
//!     routing_key: ShortStr::from_static("car.1.gps"),
//!     ..Default::default()
//! };
//! let props = BasicProperties { delivery_mode: Some(2), ..Default::default() };
//! let mut wire = BytesMut::new();
//! encode_message(&mut wire, 1, &publish.clone().into(), &props, b"hello", 131_072)?;
//!
//! // The broker decodes frames from its read buffer and assembles them per channel.
//! let mut decoder = FrameDecoder::new(131_072);
//! let mut channel_1 = MessageAssembler::new(1, 128 << 20);
//! let mut messages = Vec::new();
//! while let Some(frame) = decoder.decode(&mut wire)? {
//!     if let Some(Assembled::Message(m)) = channel_1.handle(frame)? {
//!         messages.push(m);
//!     }
//! }
//! assert_eq!(messages.len(), 1);
//! assert_eq!(messages[0].method, Method::BasicPublish(publish));
//! assert_eq!(messages[0].properties.delivery_mode, Some(2));
//! assert_eq!(&messages[0].body[..], b"hello");
//!
//! // Single frames encode the same way.
//! let mut out = BytesMut::new();
//! Frame::Heartbeat.encode(&mut out, 131_072)?;
//! assert_eq!(&out[..], &[8, 0, 0, 0, 0, 0, 0, 0xCE]);
//! # Ok::<(), warren_amqp::Error>(())
//! ```
#![warn(clippy::indexing_slicing)]

mod assemble;
mod codec;
mod error;
mod frame;
#[rustfmt::skip]
mod generated;
mod short_str;
mod table;

#[cfg(feature = "fuzzing")]
pub mod fuzzing;
#[cfg(test)]
mod proptests;
#[cfg(test)]
mod test_strategies;

pub use assemble::{encode_message, Assembled, Message, MessageAssembler};
pub use error::Error;
pub use frame::{
    check_protocol_header, encode_method, ContentHeader, Frame, FrameDecoder, ProtocolHeaderCheck,
    RawFrame, FRAME_HEADER_SIZE, FRAME_OVERHEAD, PROTOCOL_HEADER,
};
pub use generated::*;
pub use short_str::ShortStr;
pub use table::{Decimal, FieldArray, FieldTable, FieldValue, MAX_NESTING_DEPTH};
