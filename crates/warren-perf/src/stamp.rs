//! The 16-byte stamp at the start of every message body: which stream it belongs to, its
//! sequence number in that stream, and when it was sent.
//!
//! Layout (big-endian): one `u64` holding the stream id (high 24 bits) and the sequence number
//! (low 40 bits), then one `u64` with the send time in nanoseconds since the tool started. The
//! rest of the body is filler.

use std::sync::OnceLock;
use std::time::Instant;

/// Bytes the stamp takes; also the smallest body the tool sends.
pub const STAMP_LEN: usize = 16;

/// Largest stream id (24 bits).
pub const MAX_STREAM: u32 = (1 << 24) - 1;

const SEQ_BITS: u32 = 40;
const SEQ_MASK: u64 = (1 << SEQ_BITS) - 1;

/// What a body says about itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    /// The stream: one per (producer, routing key or topic).
    pub stream: u32,
    /// Position in the stream, from 0 (only the low 40 bits travel).
    pub seq: u64,
    /// Send time, nanoseconds since [`now_nanos`]'s origin.
    pub sent_nanos: u64,
}

impl Stamp {
    /// Writes the stamp over the first [`STAMP_LEN`] bytes of `body`; a shorter body is left
    /// as it is and `false` returned.
    ///
    /// ```
    /// use warren_perf::stamp::Stamp;
    /// let mut body = [0u8; 20];
    /// let s = Stamp { stream: 7, seq: 42, sent_nanos: 1_000 };
    /// assert!(s.write(&mut body));
    /// assert_eq!(Stamp::read(&body), Some(s));
    /// ```
    pub fn write(&self, body: &mut [u8]) -> bool {
        let Some(out) = body.get_mut(..STAMP_LEN) else {
            return false;
        };
        let head = (u64::from(self.stream & MAX_STREAM) << SEQ_BITS) | (self.seq & SEQ_MASK);
        let (a, b) = out.split_at_mut(8);
        a.copy_from_slice(&head.to_be_bytes());
        b.copy_from_slice(&self.sent_nanos.to_be_bytes());
        true
    }

    /// Reads the stamp at the start of `body` (`None` if it is shorter than [`STAMP_LEN`]).
    pub fn read(body: &[u8]) -> Option<Stamp> {
        let head = u64::from_be_bytes(body.get(..8)?.try_into().ok()?);
        let sent_nanos = u64::from_be_bytes(body.get(8..STAMP_LEN)?.try_into().ok()?);
        Some(Stamp {
            stream: (head >> SEQ_BITS) as u32,
            seq: head & SEQ_MASK,
            sent_nanos,
        })
    }
}

fn origin() -> Instant {
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    *ORIGIN.get_or_init(Instant::now)
}

/// Nanoseconds since a process-wide origin (the first call). Producers and consumers run in
/// the same process, so stamps compare without clock synchronisation.
pub fn now_nanos() -> u64 {
    u64::try_from(origin().elapsed().as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_extremes() {
        let mut body = [0u8; STAMP_LEN];
        for s in [
            Stamp {
                stream: 0,
                seq: 0,
                sent_nanos: 0,
            },
            Stamp {
                stream: MAX_STREAM,
                seq: SEQ_MASK,
                sent_nanos: u64::MAX,
            },
        ] {
            assert!(s.write(&mut body));
            assert_eq!(Stamp::read(&body), Some(s));
        }
    }

    #[test]
    fn short_bodies_have_no_stamp() {
        let mut short = [0u8; STAMP_LEN - 1];
        let s = Stamp {
            stream: 1,
            seq: 1,
            sent_nanos: 1,
        };
        assert!(!s.write(&mut short));
        assert_eq!(Stamp::read(&short), None);
    }

    #[test]
    fn clock_moves_forward() {
        let a = now_nanos();
        let b = now_nanos();
        assert!(b >= a);
    }
}
