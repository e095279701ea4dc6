//! Which receivers a message should reach: the tool predicts routing itself (naively) so it
//! knows how many deliveries each publish owes and can count losses and misroutes.

use clap::ValueEnum;
use serde::Serialize;

/// AMQP exchange types the tool declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ExchangeKind {
    /// Routing key equals binding key.
    Direct,
    /// Every bound queue.
    Fanout,
    /// `*` matches one word, `#` zero or more, words separated by `.`.
    Topic,
}

impl ExchangeKind {
    /// The type name sent in `exchange.declare`.
    pub fn as_str(self) -> &'static str {
        match self {
            ExchangeKind::Direct => "direct",
            ExchangeKind::Fanout => "fanout",
            ExchangeKind::Topic => "topic",
        }
    }

    /// True when a queue bound with `binding` gets a message published with `key`.
    ///
    /// ```
    /// use warren_perf::routing::ExchangeKind;
    /// assert!(ExchangeKind::Topic.routes("webos.#", "webos.car-1.gps"));
    /// assert!(ExchangeKind::Topic.routes("webos.*.gps", "webos.car-1.gps"));
    /// assert!(!ExchangeKind::Topic.routes("webos.*", "webos.car-1.gps"));
    /// assert!(ExchangeKind::Fanout.routes("", "anything"));
    /// ```
    pub fn routes(self, binding: &str, key: &str) -> bool {
        match self {
            ExchangeKind::Direct => binding == key,
            ExchangeKind::Fanout => true,
            ExchangeKind::Topic => {
                let pattern: Vec<&str> = binding.split('.').collect();
                let words: Vec<&str> = key.split('.').collect();
                topic_match(&pattern, &words)
            }
        }
    }
}

fn topic_match(pattern: &[&str], words: &[&str]) -> bool {
    match pattern.split_first() {
        None => words.is_empty(),
        Some((&"#", rest)) => {
            (0..=words.len()).any(|skip| topic_match(rest, words.get(skip..).unwrap_or(&[])))
        }
        Some((p, rest)) => match words.split_first() {
            Some((w, wrest)) => (*p == "*" || p == w) && topic_match(rest, wrest),
            None => false,
        },
    }
}

/// True when the MQTT topic filter `filter` matches topic name `topic` (`+` one level, `#`
/// the rest; `$` topics are not matched by a leading wildcard).
///
/// ```
/// use warren_perf::routing::mqtt_matches;
/// assert!(mqtt_matches("perf/+/t", "perf/1/t"));
/// assert!(mqtt_matches("perf/#", "perf"));
/// assert!(!mqtt_matches("#", "$SYS/x"));
/// ```
pub fn mqtt_matches(filter: &str, topic: &str) -> bool {
    if topic.starts_with('$') && (filter.starts_with('+') || filter.starts_with('#')) {
        return false;
    }
    let mut f = filter.split('/');
    let mut t = topic.split('/');
    loop {
        match (f.next(), t.next()) {
            (Some("#"), _) => return true,
            (Some("+"), Some(_)) => {}
            (Some(a), Some(b)) if a == b => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_corner_cases() {
        let t = ExchangeKind::Topic;
        assert!(t.routes("#", ""));
        assert!(t.routes("#", "a.b.c"));
        assert!(t.routes("a.#.c", "a.c"));
        assert!(t.routes("a.#.c", "a.b.b.c"));
        assert!(!t.routes("a.*.c", "a.c"));
        assert!(t.routes("webos.car-1.#", "webos.car-1.gps"));
        assert!(!t.routes("webos.car-2.#", "webos.car-1.gps"));
    }

    #[test]
    fn direct_is_equality() {
        assert!(ExchangeKind::Direct.routes("q", "q"));
        assert!(!ExchangeKind::Direct.routes("q", "q2"));
    }

    #[test]
    fn mqtt_filters() {
        assert!(mqtt_matches("a/b", "a/b"));
        assert!(!mqtt_matches("a/b", "a/b/c"));
        assert!(!mqtt_matches("a/+", "a/b/c"));
        assert!(mqtt_matches("a/#", "a/b/c"));
        assert!(mqtt_matches("+/b", "a/b"));
    }
}
