//! Sans-IO codec for STOMP 1.0, 1.1 and 1.2 frames.
//!
//! `warren-stomp` turns bytes into STOMP frames and back: every client and server command,
//! ordered headers with the escaping rules of each version, `content-length` and
//! NUL-terminated bodies, heart-beat EOLs between frames, and configurable [`Limits`]. It is the
//! codec under Warren's STOMP and Web-STOMP front (stomp.py over TCP, stomp.js over
//! WebSocket), and stands on its own for any Rust program that reads or writes STOMP.
//!
//! What it is **not**: it opens no sockets, reads no clock and keeps no connection state.
//! Version negotiation and heart-beat timing are helpers ([`negotiate_version`],
//! [`HeartBeat::negotiate`]) whose results the caller applies; subscriptions, receipts,
//! transactions and acknowledgements belong to the broker. It checks what one frame can check
//! on its own (syntax, escapes, UTF-8 headers, `content-length`, limits), not which headers a
//! command requires. The core has no tokio; the `tokio` feature adds `StompCodec`, a
//! tokio-util `Decoder`/`Encoder`.
//!
//! # Reading and writing
//!
//! A [`Decoder`] takes one [`Decoded`] item at a time off the front of a `BytesMut` (or
//! `Bytes`, e.g. a WebSocket message): a [`Frame`] or a heart-beat EOL. `Ok(None)` means
//! "need more bytes" and consumes nothing; an `Err` means the bytes can never be a frame, and
//! [`DecodeError::error_frame`] is the ERROR frame a server sends before closing. Limits are
//! checked as bytes arrive: a `content-length` over the body limit is refused before the body
//! is buffered. Bodies and unescaped header values are `Bytes` slices of the read buffer.
//!
//! [`Frame::encode`] appends a frame to a `BytesMut` as a given version writes it, escaping
//! headers where that version does, and writing `content-length` for every non-empty body.
//!
//! ```
//! use bytes::BytesMut;
//! use warren_stomp::{negotiate_version, Command, Decoded, Decoder, Frame, Version};
//!
//! // stomp.py's CONNECT, a heart-beat, then a SEND, as read from a socket.
//! let mut wire = BytesMut::from(
//!     &b"CONNECT\naccept-version:1.0,1.1,1.2\nhost:/\nheart-beat:0,0\n\n\0\n\
//!        SEND\ndestination:/queue/car\ncontent-length:5\n\nhello\0"[..],
//! );
//! let mut decoder = Decoder::default();
//! let Some(Decoded::Frame(connect)) = decoder.decode(&mut wire)? else { panic!() };
//! assert_eq!(connect.command, Command::Connect);
//! let version = negotiate_version(connect.accept_version(), &Version::ALL).unwrap();
//! decoder.set_version(version); // after sending CONNECTED
//!
//! let mut out = BytesMut::new();
//! Frame::new(Command::Connected)
//!     .header("version", version.as_str())
//!     .encode(version, &mut out)?;
//! assert_eq!(&out[..], b"CONNECTED\nversion:1.2\n\n\0");
//!
//! assert_eq!(decoder.decode(&mut wire)?, Some(Decoded::HeartBeat));
//! let Some(Decoded::Frame(send)) = decoder.decode(&mut wire)? else { panic!() };
//! assert_eq!(send.destination(), Some("/queue/car"));
//! assert_eq!(&send.body[..], b"hello");
//! assert_eq!(decoder.decode(&mut wire)?, None); // drained: need more bytes
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Features
//!
//! - `tokio`: `StompCodec`, a `tokio_util::codec::{Decoder, Encoder}` for `Framed` streams.
//! - `fuzzing`: `pub mod fuzzing`, the bodies of the fuzz targets in the workspace's `fuzz/`.
#![warn(clippy::indexing_slicing)]

#[cfg(feature = "tokio")]
mod codec;
mod command;
mod decode;
mod encode;
mod error;
mod escape;
mod frame;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
mod header;
mod limits;
mod negotiate;

#[cfg(feature = "tokio")]
pub use codec::{CodecError, StompCodec};
pub use command::{Command, Version};
pub use decode::{Decoded, Decoder};
pub use encode::encode_heart_beat;
pub use error::{DecodeError, EncodeError, HeaderError, Limit, VersionError};
pub use frame::Frame;
pub use header::{names, Header, Headers};
pub use limits::Limits;
pub use negotiate::{negotiate_version, AckMode, HeartBeat, HeartBeatTiming};
