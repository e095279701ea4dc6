//! tokio-util `Decoder` / `Encoder` adapter (feature `tokio`).

use bytes::BytesMut;

use crate::decode::Decoder;
use crate::error::{DecodeError, EncodeError};
use crate::packet::{Packet, ProtocolLevel};

/// An error from a framed MQTT stream.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CodecError {
    /// The transport failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// The peer sent bytes that are not a valid packet.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// A packet given to the encoder cannot be encoded.
    #[error(transparent)]
    Encode(#[from] EncodeError),
}

/// A [`Decoder`] for `tokio_util::codec::Framed`: decodes with the inner decoder and encodes at its
/// protocol level. Encoding a CONNECT sets the level (a client speaks the level it asks for); a
/// server sets it with [`MqttCodec::set_level`] once it accepts a CONNECT.
#[derive(Debug, Clone, Default)]
pub struct MqttCodec {
    decoder: Decoder,
}

impl MqttCodec {
    /// A codec with no level yet and the largest maximum packet size.
    pub fn new() -> Self {
        Self::default()
    }

    /// A codec around a configured decoder.
    pub fn with_decoder(decoder: Decoder) -> Self {
        Self { decoder }
    }

    /// Sets the protocol level used for decoding and encoding.
    pub fn set_level(&mut self, level: ProtocolLevel) {
        self.decoder.set_level(level);
    }

    /// The inner decoder (level, maximum packet size).
    pub fn decoder(&self) -> &Decoder {
        &self.decoder
    }

    /// The inner decoder, mutably.
    pub fn decoder_mut(&mut self) -> &mut Decoder {
        &mut self.decoder
    }
}

impl tokio_util::codec::Decoder for MqttCodec {
    type Item = Packet;
    type Error = CodecError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Packet>, CodecError> {
        match self.decoder.decode(src)? {
            Some(packet) => Ok(Some(packet)),
            None => {
                // Reserve room for the whole packet once its header is known.
                if let Some(len) = self.decoder.peek_packet_len(src)? {
                    src.reserve(len.saturating_sub(src.len()));
                }
                Ok(None)
            }
        }
    }
}

impl tokio_util::codec::Encoder<&Packet> for MqttCodec {
    type Error = CodecError;

    fn encode(&mut self, packet: &Packet, dst: &mut BytesMut) -> Result<(), CodecError> {
        let level = match packet {
            Packet::Connect(connect) => {
                self.decoder.set_level(connect.level);
                connect.level
            }
            _ => self.decoder.level().ok_or(EncodeError::LevelUnknown {
                packet: packet.packet_type(),
            })?,
        };
        packet.encode(level, dst)?;
        Ok(())
    }
}

impl tokio_util::codec::Encoder<Packet> for MqttCodec {
    type Error = CodecError;

    fn encode(&mut self, packet: Packet, dst: &mut BytesMut) -> Result<(), CodecError> {
        tokio_util::codec::Encoder::<&Packet>::encode(self, &packet, dst)
    }
}
