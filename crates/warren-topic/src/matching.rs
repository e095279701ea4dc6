//! Naive matchers: one key against one pattern, no index.
//!
//! These are the reference semantics (the property tests compare the tries against them) and the
//! per-binding test of [`LinearTable`](crate::LinearTable).

/// A sequence of words still to be matched: `None` when no word is left, otherwise the remaining
/// text, which holds at least one (possibly empty) word.
pub(crate) type Rest<'a> = Option<&'a str>;

/// Splits off the first word of `rest`.
#[inline]
pub(crate) fn next_word(rest: Rest<'_>, sep: char) -> Option<(&str, Rest<'_>)> {
    let s = rest?;
    Some(match s.split_once(sep) {
        Some((word, tail)) => (word, Some(tail)),
        None => (s, None),
    })
}

/// The words of an AMQP key or pattern: the empty string has no words (as in RabbitMQ), any other
/// string has one more word than it has dots (`"a..b"` is `a`, ``, `b`).
#[inline]
pub(crate) fn amqp_words(s: &str) -> Rest<'_> {
    if s.is_empty() {
        None
    } else {
        Some(s)
    }
}

/// Glob-style matching over words: `multi` matches zero or more words, `single` exactly one.
/// The greedy algorithm with one back-up point is linear-times-linear, never exponential.
fn glob_words(key: Rest<'_>, pattern: Rest<'_>, sep: char, single: &str, multi: &str) -> bool {
    let mut k = key;
    let mut p = pattern;
    // (pattern after the last multi wildcard, key position that wildcard has absorbed up to)
    let mut backup: Option<(Rest<'_>, Rest<'_>)> = None;
    loop {
        match next_word(p, sep) {
            Some((pw, p_rest)) if pw == multi => {
                backup = Some((p_rest, k));
                p = p_rest;
                continue;
            }
            Some((pw, p_rest)) => {
                if let Some((kw, k_rest)) = next_word(k, sep) {
                    if pw == single || pw == kw {
                        p = p_rest;
                        k = k_rest;
                        continue;
                    }
                }
            }
            None => {
                if k.is_none() {
                    return true;
                }
            }
        }
        // Mismatch: let the last multi wildcard absorb one more word, or fail.
        let Some((bp, bk)) = backup else {
            return false;
        };
        let Some((_, bk_rest)) = next_word(bk, sep) else {
            return false;
        };
        backup = Some((bp, bk_rest));
        p = bp;
        k = bk_rest;
    }
}

/// Does AMQP routing key `key` match topic binding pattern `pattern`?
///
/// RabbitMQ's topic semantics: words are separated by `.`; `*` matches exactly one word, `#` zero
/// or more; any other word must be equal. Empty words are words (`a..b` has three), and the empty
/// string has no words, so `#` matches the empty key and `*` does not.
///
/// ```
/// use warren_topic::amqp_matches;
/// assert!(amqp_matches("webos.car.info", "webos.#"));
/// assert!(amqp_matches("webos.car.info", "*.car.#"));
/// assert!(!amqp_matches("webos.car.info", "webos.*"));
/// assert!(amqp_matches("", "#"));
/// assert!(!amqp_matches("", "*"));
/// ```
pub fn amqp_matches(key: &str, pattern: &str) -> bool {
    glob_words(amqp_words(key), amqp_words(pattern), '.', "*", "#")
}

/// Does MQTT topic name `topic` match topic filter `filter`?
///
/// Levels are separated by `/`; `+` matches exactly one level (possibly empty), `#` (only as the
/// last level) matches the rest, including the parent level itself (`a/#` matches `a`). A topic
/// beginning with `$` is not matched by a filter whose first level is a wildcard. An invalid filter
/// (see [`PatternError::Invalid`](crate::PatternError::Invalid)) matches nothing.
///
/// ```
/// use warren_topic::mqtt_matches;
/// assert!(mqtt_matches("webos/car/info", "webos/car/+"));
/// assert!(mqtt_matches("webos", "webos/#"));
/// assert!(!mqtt_matches("$SYS/load", "#"));
/// assert!(mqtt_matches("$SYS/load", "$SYS/#"));
/// ```
pub fn mqtt_matches(topic: &str, filter: &str) -> bool {
    validate_mqtt(filter).is_ok() && mqtt_matches_valid(topic, filter)
}

/// [`mqtt_matches`] for a filter already known to be valid (checked when it was subscribed),
/// without checking it again: for matching every delivery against stored filters. On an
/// invalid filter the answer is unspecified (but it never panics).
///
/// ```
/// use warren_topic::mqtt_matches_valid;
/// assert!(mqtt_matches_valid("webos/car/info", "webos/+/info"));
/// assert!(!mqtt_matches_valid("$SYS/load", "+/load"));
/// ```
pub fn mqtt_matches_valid(topic: &str, filter: &str) -> bool {
    if topic.starts_with('$') && (filter.starts_with('+') || filter.starts_with('#')) {
        return false;
    }
    glob_words(Some(topic), Some(filter), '/', "+", "#")
}

/// Checks MQTT filter syntax: not empty, `#` only as the whole last level, `+` only as a whole level.
pub(crate) fn validate_mqtt(filter: &str) -> Result<(), crate::PatternError> {
    use crate::{InvalidReason, PatternError};
    if filter.is_empty() {
        return Err(PatternError::Invalid {
            level: 0,
            reason: InvalidReason::Empty,
        });
    }
    let mut levels = filter.split('/').enumerate().peekable();
    while let Some((level, word)) = levels.next() {
        if word.len() > 1 && (word.contains('+') || word.contains('#')) {
            return Err(PatternError::Invalid {
                level,
                reason: InvalidReason::WildcardNotWholeLevel,
            });
        }
        if word == "#" && levels.peek().is_some() {
            return Err(PatternError::Invalid {
                level,
                reason: InvalidReason::HashNotLast,
            });
        }
    }
    Ok(())
}
