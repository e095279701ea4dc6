//! Per-(user, vhost) permissions: configure/write/read regular expressions, compiled once.

use regex::Regex;

use crate::error::{CoreError, Permission};

/// One compiled permission pattern. As in RabbitMQ the match is unanchored (`^`/`$` anchor it)
/// and the empty pattern matches nothing.
#[derive(Debug, Clone)]
struct Pattern {
    source: String,
    regex: Option<Regex>,
}

impl Pattern {
    fn new(source: &str) -> Result<Pattern, CoreError> {
        let regex = if source.is_empty() {
            None
        } else {
            Some(Regex::new(source).map_err(|e| {
                CoreError::Definitions(format!("invalid permission regex '{source}': {e}"))
            })?)
        };
        Ok(Pattern {
            source: source.to_owned(),
            regex,
        })
    }

    fn matches(&self, name: &str) -> bool {
        self.regex.as_ref().is_some_and(|r| r.is_match(name))
    }
}

/// A user's permissions in one vhost.
///
/// ```
/// use warren_core::{Permission, Permissions};
///
/// let p = Permissions::new("^amq\\.gen-.*", ".*", "").unwrap();
/// assert!(p.allows(Permission::Configure, "amq.gen-abc"));
/// assert!(!p.allows(Permission::Configure, "orders"));
/// assert!(p.allows(Permission::Write, "orders"));
/// assert!(!p.allows(Permission::Read, "orders")); // empty pattern: nothing
/// ```
#[derive(Debug, Clone)]
pub struct Permissions {
    configure: Pattern,
    write: Pattern,
    read: Pattern,
}

impl Permissions {
    /// Compiles the three patterns (an invalid regex is an error).
    pub fn new(configure: &str, write: &str, read: &str) -> Result<Permissions, CoreError> {
        Ok(Permissions {
            configure: Pattern::new(configure)?,
            write: Pattern::new(write)?,
            read: Pattern::new(read)?,
        })
    }

    /// Everything allowed (`.*` for all three).
    pub fn full() -> Permissions {
        let all = || Pattern {
            source: ".*".to_owned(),
            regex: Regex::new(".*").ok(),
        };
        Permissions {
            configure: all(),
            write: all(),
            read: all(),
        }
    }

    /// True when `permission` is granted on the resource called `name`.
    pub fn allows(&self, permission: Permission, name: &str) -> bool {
        match permission {
            Permission::Configure => self.configure.matches(name),
            Permission::Write => self.write.matches(name),
            Permission::Read => self.read.matches(name),
        }
    }

    /// The source text of a pattern (for listing and export).
    pub fn source(&self, permission: Permission) -> &str {
        match permission {
            Permission::Configure => &self.configure.source,
            Permission::Write => &self.write.source,
            Permission::Read => &self.read.source,
        }
    }
}
