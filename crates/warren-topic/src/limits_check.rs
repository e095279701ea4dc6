//! Applying [`Limits`] to a pattern.

use crate::{Limits, PatternError};

/// Checks `pattern` against `limits`; `sep` separates words and `multi` is the multi-word wildcard.
pub(crate) fn check(
    pattern: &str,
    limits: &Limits,
    sep: char,
    multi: &str,
) -> Result<(), PatternError> {
    if pattern.len() > limits.max_len {
        return Err(PatternError::TooLong {
            len: pattern.len(),
            max: limits.max_len,
        });
    }
    let (mut words, mut hashes) = (0usize, 0usize);
    if !pattern.is_empty() {
        for word in pattern.split(sep) {
            words += 1;
            if word == multi {
                hashes += 1;
            }
        }
    }
    if words > limits.max_words {
        return Err(PatternError::TooManyWords {
            words,
            max: limits.max_words,
        });
    }
    if hashes > limits.max_hashes {
        return Err(PatternError::TooManyHashes {
            hashes,
            max: limits.max_hashes,
        });
    }
    Ok(())
}
