//! Errors and limits for binding patterns.

use thiserror::Error;

/// Why a pattern was refused by [`RoutingTable::bind`](crate::RoutingTable::bind).
///
/// Pathological patterns are bounded so that neither memory nor match cost can be
/// driven up without limit by a client choosing binding keys.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum PatternError {
    /// The pattern has more words (AMQP) or levels (MQTT) than [`Limits::max_words`].
    #[error("pattern has {words} words, more than the limit of {max}")]
    TooManyWords {
        /// Words in the pattern.
        words: usize,
        /// The configured limit.
        max: usize,
    },
    /// The pattern has more `#` words than [`Limits::max_hashes`].
    #[error("pattern has {hashes} '#' words, more than the limit of {max}")]
    TooManyHashes {
        /// `#` words in the pattern.
        hashes: usize,
        /// The configured limit.
        max: usize,
    },
    /// The pattern is longer (in bytes) than [`Limits::max_len`].
    #[error("pattern is {len} bytes long, more than the limit of {max}")]
    TooLong {
        /// Length of the pattern in bytes.
        len: usize,
        /// The configured limit.
        max: usize,
    },
    /// The pattern is not valid in this table's syntax (MQTT filters only).
    #[error("invalid pattern at level {level}: {reason}")]
    Invalid {
        /// Zero-based index of the offending level.
        level: usize,
        /// What is wrong with it.
        reason: InvalidReason,
    },
}

/// What makes an MQTT topic filter invalid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum InvalidReason {
    /// The filter is the empty string (MQTT requires at least one character).
    #[error("the filter is empty")]
    Empty,
    /// `#` appears somewhere other than the last level.
    #[error("'#' must be the last level")]
    HashNotLast,
    /// `+` or `#` shares a level with other characters (`a+/b`, `a#`).
    #[error("a wildcard must occupy the whole level")]
    WildcardNotWholeLevel,
}

/// Bounds on the patterns a table accepts.
///
/// The defaults ([`Limits::amqp`], also [`Default`]) follow AMQP 0-9-1, where a binding key is a
/// short string of at most 255 bytes: `max_len` 255, `max_words` 256 (the most a 255-byte key can
/// have: 255 dots make 256 empty words), `max_hashes` 8. [`Limits::mqtt`] allows 65 535 bytes (the
/// MQTT string limit) and 1024 levels; an MQTT filter has at most one `#` anyway.
///
/// Routing keys themselves are not limited here (the codecs bound them); the trie's matching cost
/// is bounded by memoisation, not by refusing keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most words (`.`-separated) or levels (`/`-separated) in one pattern.
    pub max_words: usize,
    /// Most `#` words in one pattern.
    pub max_hashes: usize,
    /// Most bytes in one pattern.
    pub max_len: usize,
}

impl Limits {
    /// AMQP defaults: 255 bytes, 256 words, 8 `#`.
    pub const fn amqp() -> Self {
        Limits {
            max_words: 256,
            max_hashes: 8,
            max_len: 255,
        }
    }

    /// MQTT defaults: 65 535 bytes, 1024 levels, 1 `#`.
    pub const fn mqtt() -> Self {
        Limits {
            max_words: 1024,
            max_hashes: 1,
            max_len: 65_535,
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits::amqp()
    }
}
