//! Topic names and topic filters: validation, `$`-topics and shared subscriptions.
//!
//! Levels are separated by `/`; empty levels are allowed (`a//b`, `/a`). A topic *name* (what
//! PUBLISH carries) has no wildcards. A topic *filter* (what SUBSCRIBE carries) may use `+` as a
//! whole level and `#` as the whole last level. Topics starting with `$` are reserved for the
//! server: wildcards at the first level do not match them (the matching itself lives in the
//! routing tables, not here). `$share/<group>/<filter>` is a shared subscription.
//!
//! ```
//! use warren_mqtt::topic::{self, Filter};
//!
//! assert!(topic::validate_topic_name("car2home/garage/door").is_ok());
//! assert!(topic::validate_topic_name("car2home/+/door").is_err());
//! let f = Filter::parse("$share/loggers/car2home/#")?;
//! assert_eq!((f.share_group, f.filter), (Some("loggers"), "car2home/#"));
//! assert!(Filter::parse("car2home/#/door").is_err());
//! assert!(topic::is_dollar_topic("$SYS/broker/uptime"));
//! # Ok::<(), warren_mqtt::topic::TopicError>(())
//! ```

/// Longest topic name or filter: a UTF-8 string of at most 65,535 bytes.
pub const MAX_TOPIC_LEN: usize = 65_535;

/// The prefix of a shared-subscription filter.
pub const SHARE_PREFIX: &str = "$share/";

/// Why a topic name or filter is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TopicError {
    /// Names and filters are at least one character long.
    #[error("empty topic")]
    Empty,
    /// Longer than 65,535 bytes.
    #[error("topic of {len} bytes is longer than 65535")]
    TooLong {
        /// Its length in bytes.
        len: usize,
    },
    /// Contains U+0000.
    #[error("topic contains U+0000")]
    NullCharacter,
    /// A topic name contains `+` or `#`.
    #[error("wildcard in a topic name")]
    WildcardInName,
    /// `+` or `#` shares its level with other characters.
    #[error("wildcard is not a whole level (level {level})")]
    WildcardNotWholeLevel {
        /// Zero-based level index.
        level: usize,
    },
    /// `#` is not the last level.
    #[error("`#` is not the last level")]
    MultiLevelNotLast,
    /// `$share/` with an empty group, or one containing `+` or `#`.
    #[error("invalid share name in a shared subscription")]
    InvalidShareGroup,
    /// `$share/<group>` with no filter after it.
    #[error("shared subscription without a topic filter")]
    MissingSharedFilter,
}

fn check_common(s: &str) -> Result<(), TopicError> {
    if s.is_empty() {
        return Err(TopicError::Empty);
    }
    if s.len() > MAX_TOPIC_LEN {
        return Err(TopicError::TooLong { len: s.len() });
    }
    if s.as_bytes().contains(&0) {
        return Err(TopicError::NullCharacter);
    }
    Ok(())
}

/// Checks a topic name (PUBLISH, will): non-empty, at most 65,535 bytes, no U+0000, no wildcards.
pub fn validate_topic_name(name: &str) -> Result<(), TopicError> {
    check_common(name)?;
    if name.bytes().any(|b| b == b'+' || b == b'#') {
        return Err(TopicError::WildcardInName);
    }
    Ok(())
}

/// Checks a plain topic filter (no `$share/` handling): wildcards only as whole levels, `#` last.
pub fn validate_topic_filter(filter: &str) -> Result<(), TopicError> {
    check_common(filter)?;
    let mut levels = filter.split('/').enumerate().peekable();
    while let Some((level, text)) = levels.next() {
        match text {
            "#" if levels.peek().is_some() => return Err(TopicError::MultiLevelNotLast),
            "#" | "+" => {}
            _ if text.contains(['+', '#']) => {
                return Err(TopicError::WildcardNotWholeLevel { level })
            }
            _ => {}
        }
    }
    Ok(())
}

/// True if the topic is reserved for the server (starts with `$`, like `$SYS/...`).
pub fn is_dollar_topic(topic: &str) -> bool {
    topic.starts_with('$')
}

/// True if the filter contains a `+` or `#` wildcard.
pub fn has_wildcards(filter: &str) -> bool {
    filter.contains(['+', '#'])
}

/// A validated subscription filter, split into its share group (for `$share/<group>/<filter>`)
/// and the filter that is matched against topic names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Filter<'a> {
    /// The share group of a shared subscription.
    pub share_group: Option<&'a str>,
    /// The topic filter proper (without the `$share/<group>/` prefix).
    pub filter: &'a str,
}

impl<'a> Filter<'a> {
    /// Validates a SUBSCRIBE / UNSUBSCRIBE topic filter and splits off a share group.
    pub fn parse(filter: &'a str) -> Result<Self, TopicError> {
        check_common(filter)?;
        let Some(rest) = filter.strip_prefix(SHARE_PREFIX) else {
            validate_topic_filter(filter)?;
            return Ok(Self {
                share_group: None,
                filter,
            });
        };
        let (group, inner) = rest
            .split_once('/')
            .ok_or(TopicError::MissingSharedFilter)?;
        if group.is_empty() || has_wildcards(group) {
            return Err(TopicError::InvalidShareGroup);
        }
        if inner.is_empty() {
            return Err(TopicError::MissingSharedFilter);
        }
        validate_topic_filter(inner)?;
        Ok(Self {
            share_group: Some(group),
            filter: inner,
        })
    }

    /// True for a `$share/` subscription.
    pub fn is_shared(&self) -> bool {
        self.share_group.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for ok in ["a", "/", "a//b", "/a/", "$SYS/x", "ünï/✓", " "] {
            assert_eq!(validate_topic_name(ok), Ok(()), "{ok:?}");
        }
        assert_eq!(validate_topic_name(""), Err(TopicError::Empty));
        assert_eq!(validate_topic_name("a/+"), Err(TopicError::WildcardInName));
        assert_eq!(validate_topic_name("#"), Err(TopicError::WildcardInName));
        assert_eq!(validate_topic_name("a\0b"), Err(TopicError::NullCharacter));
        let long = "x".repeat(MAX_TOPIC_LEN + 1);
        assert_eq!(
            validate_topic_name(&long),
            Err(TopicError::TooLong {
                len: MAX_TOPIC_LEN + 1
            })
        );
        assert_eq!(validate_topic_name(&long[1..]), Ok(()));
    }

    #[test]
    fn filters() {
        for ok in [
            "#", "+", "a/#", "+/+", "/+", "a//+/#", "+/#", "$SYS/#", "a/b",
        ] {
            assert_eq!(validate_topic_filter(ok), Ok(()), "{ok:?}");
        }
        assert_eq!(
            validate_topic_filter("#/a"),
            Err(TopicError::MultiLevelNotLast)
        );
        assert_eq!(
            validate_topic_filter("a/b#"),
            Err(TopicError::WildcardNotWholeLevel { level: 1 })
        );
        assert_eq!(
            validate_topic_filter("a+/b"),
            Err(TopicError::WildcardNotWholeLevel { level: 0 })
        );
        assert_eq!(validate_topic_filter(""), Err(TopicError::Empty));
    }

    #[test]
    fn shared() {
        let f = Filter::parse("$share/g/a/+").unwrap();
        assert_eq!(f.share_group, Some("g"));
        assert_eq!(f.filter, "a/+");
        assert!(f.is_shared());
        assert_eq!(Filter::parse("$share/g/#").unwrap().filter, "#");
        assert_eq!(
            Filter::parse("$share/g"),
            Err(TopicError::MissingSharedFilter)
        );
        assert_eq!(
            Filter::parse("$share/g/"),
            Err(TopicError::MissingSharedFilter)
        );
        assert_eq!(
            Filter::parse("$share//a"),
            Err(TopicError::InvalidShareGroup)
        );
        assert_eq!(
            Filter::parse("$share/+/a"),
            Err(TopicError::InvalidShareGroup)
        );
        assert_eq!(
            Filter::parse("$share/g/a#"),
            Err(TopicError::WildcardNotWholeLevel { level: 0 })
        );
        let plain = Filter::parse("$shared/x").unwrap();
        assert_eq!((plain.share_group, plain.filter), (None, "$shared/x"));
        assert!(is_dollar_topic("$share/g/a"));
        assert!(!is_dollar_topic("a/$b"));
        assert!(has_wildcards("a/+") && has_wildcards("#") && !has_wildcards("a/b"));
    }
}
