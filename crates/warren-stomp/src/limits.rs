//! Configurable limits on what the decoder accepts.

/// Limits a [`Decoder`](crate::Decoder) enforces before it buffers more: a peer that breaks
/// one gets [`DecodeError::LimitExceeded`](crate::DecodeError::LimitExceeded) naming it.
///
/// The defaults suit a broker: commands are at most 11 octets, so 64 leaves room for the
/// error report; 64 KiB per header line holds long tokens in `passcode`; 128 headers are
/// far more than any client sends; 64 MiB of body matches common broker frame limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Limits {
    /// Longest command line, in octets, without its EOL.
    pub max_command_len: usize,
    /// Longest header line (`name:value` as on the wire, escapes included), without its EOL.
    pub max_header_line_len: usize,
    /// Most headers in one frame (repeats included).
    pub max_headers: usize,
    /// Largest body, in octets. A `content-length` above it is refused before the body is
    /// buffered.
    pub max_body_len: usize,
}

impl Limits {
    /// The default limits (see the type's docs).
    pub const DEFAULT: Limits = Limits {
        max_command_len: 64,
        max_header_line_len: 64 * 1024,
        max_headers: 128,
        max_body_len: 64 * 1024 * 1024,
    };
}

impl Default for Limits {
    fn default() -> Limits {
        Limits::DEFAULT
    }
}
