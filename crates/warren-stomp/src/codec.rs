//! tokio-util `Decoder` / `Encoder` adapter (feature `tokio`).

use bytes::BytesMut;

use crate::command::Version;
use crate::decode::{Decoded, Decoder};
use crate::encode::encode_heart_beat;
use crate::error::{DecodeError, EncodeError};
use crate::frame::Frame;

/// An error from a framed STOMP stream.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CodecError {
    /// The transport failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// The peer sent bytes that are not a valid frame.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// A frame given to the encoder cannot be encoded.
    #[error(transparent)]
    Encode(#[from] EncodeError),
}

/// A [`Decoder`] for `tokio_util::codec::Framed`: yields [`Decoded`] items and encodes
/// [`Frame`]s (and heart-beats, as `Decoded::HeartBeat`) at the decoder's version.
#[derive(Debug, Clone, Copy, Default)]
pub struct StompCodec {
    decoder: Decoder,
}

impl StompCodec {
    /// A codec for `version` with default limits.
    pub fn new(version: Version) -> StompCodec {
        StompCodec {
            decoder: Decoder::new(version),
        }
    }

    /// A codec around a configured decoder.
    pub fn with_decoder(decoder: Decoder) -> StompCodec {
        StompCodec { decoder }
    }

    /// Sets the negotiated version (decoding and encoding).
    pub fn set_version(&mut self, version: Version) {
        self.decoder.set_version(version);
    }

    /// The inner decoder.
    pub fn decoder(&self) -> &Decoder {
        &self.decoder
    }

    /// The inner decoder, mutably.
    pub fn decoder_mut(&mut self) -> &mut Decoder {
        &mut self.decoder
    }
}

impl tokio_util::codec::Decoder for StompCodec {
    type Item = Decoded;
    type Error = CodecError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Decoded>, CodecError> {
        Ok(self.decoder.decode(src)?)
    }
}

impl tokio_util::codec::Encoder<&Frame> for StompCodec {
    type Error = CodecError;

    fn encode(&mut self, frame: &Frame, dst: &mut BytesMut) -> Result<(), CodecError> {
        frame.encode(self.decoder.version(), dst)?;
        Ok(())
    }
}

impl tokio_util::codec::Encoder<Frame> for StompCodec {
    type Error = CodecError;

    fn encode(&mut self, frame: Frame, dst: &mut BytesMut) -> Result<(), CodecError> {
        tokio_util::codec::Encoder::<&Frame>::encode(self, &frame, dst)
    }
}

impl tokio_util::codec::Encoder<Decoded> for StompCodec {
    type Error = CodecError;

    fn encode(&mut self, item: Decoded, dst: &mut BytesMut) -> Result<(), CodecError> {
        match item {
            Decoded::Frame(frame) => {
                tokio_util::codec::Encoder::<&Frame>::encode(self, &frame, dst)
            }
            Decoded::HeartBeat => {
                encode_heart_beat(dst);
                Ok(())
            }
        }
    }
}
