//! A routing table from a bindings file, and routing keys read from stdin: prints which
//! destinations each key reaches and how long routing took. Uses only `warren-topic`.
//!
//! ```sh
//! cargo run -p warren-examples --example topic_router -- examples/data/bindings.txt \
//!     < examples/data/keys.txt
//! # MQTT filters (`/`, `+`, `#`, the `$` rule) instead of AMQP topic patterns:
//! echo 'home/garage/door' | cargo run -p warren-examples --example topic_router -- --mqtt FILE
//! ```
//!
//! The bindings file has one `PATTERN DESTINATION` pair per line; blank lines and lines starting
//! with `//` are skipped (`#` is a wildcard, so it cannot start a comment).

use std::io::{BufRead, Write};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use warren_topic::{MqttTable, PatternError, RoutingTable, TopicTable};

/// What went wrong building the table or routing.
#[derive(Debug, thiserror::Error)]
pub enum RouterError {
    /// A line is not `PATTERN DESTINATION`.
    #[error("bindings line {line}: expected `PATTERN DESTINATION`, found {text:?}")]
    Syntax {
        /// 1-based line number.
        line: usize,
        /// The line.
        text: String,
    },
    /// The table refused a pattern.
    #[error("bindings line {line}: {source}")]
    Pattern {
        /// 1-based line number.
        line: usize,
        /// What the table said.
        source: PatternError,
    },
    /// Reading or writing failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Which pattern syntax the bindings use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    /// AMQP topic exchange: `.` words, `*` one word, `#` zero or more.
    Amqp,
    /// MQTT filters: `/` levels, `+` one level, `#` the rest.
    Mqtt,
}

/// Builds a table of `syntax` from the bindings text.
pub fn build(bindings: &str, syntax: Syntax) -> Result<Box<dyn RoutingTable<String>>, RouterError> {
    let mut table: Box<dyn RoutingTable<String>> = match syntax {
        Syntax::Amqp => Box::new(TopicTable::new()),
        Syntax::Mqtt => Box::new(MqttTable::new()),
    };
    for (n, text) in bindings.lines().enumerate() {
        let line = n + 1;
        let text = text.trim();
        if text.is_empty() || text.starts_with("//") {
            continue;
        }
        let mut words = text.split_whitespace();
        let (Some(pattern), Some(destination), None) = (words.next(), words.next(), words.next())
        else {
            return Err(RouterError::Syntax {
                line,
                text: text.to_owned(),
            });
        };
        table
            .bind(pattern, destination.to_owned())
            .map_err(|source| RouterError::Pattern { line, source })?;
    }
    Ok(table)
}

/// Routes every line of `keys` through `table`, writing `key -> destinations  [time]` lines
/// and a total; returns how many keys were routed and the time spent routing them.
pub fn route_all(
    table: &dyn RoutingTable<String>,
    keys: impl BufRead,
    out: &mut impl Write,
) -> Result<(usize, Duration), RouterError> {
    let mut matched = Vec::new();
    let mut total = Duration::ZERO;
    let mut count = 0;
    for key in keys.lines() {
        let key = key?;
        matched.clear();
        let start = Instant::now();
        table.route(&key, &mut matched);
        let took = start.elapsed();
        total += took;
        count += 1;
        // The table returns each destination once, in no particular order.
        matched.sort();
        let list = if matched.is_empty() {
            "(no match)".to_owned()
        } else {
            matched.join(", ")
        };
        writeln!(out, "{key} -> {list}  [{took:?}]")?;
    }
    let per_key = total.checked_div(u32::try_from(count).unwrap_or(u32::MAX).max(1));
    writeln!(
        out,
        "routed {count} keys through {} bindings in {total:?} ({:?} per key)",
        table.len(),
        per_key.unwrap_or_default()
    )?;
    Ok((count, total))
}

fn main() -> ExitCode {
    let mut syntax = Syntax::Amqp;
    let mut path = None;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--mqtt" => syntax = Syntax::Mqtt,
            "--amqp" => syntax = Syntax::Amqp,
            _ if path.is_none() && !arg.starts_with('-') => path = Some(arg),
            _ => {
                eprintln!("usage: topic_router [--amqp|--mqtt] BINDINGS-FILE < keys");
                return ExitCode::FAILURE;
            }
        }
    }
    let Some(path) = path else {
        eprintln!("usage: topic_router [--amqp|--mqtt] BINDINGS-FILE < keys");
        return ExitCode::FAILURE;
    };
    let result = std::fs::read_to_string(&path)
        .map_err(RouterError::from)
        .and_then(|text| {
            let start = Instant::now();
            let table = build(&text, syntax)?;
            eprintln!("built {} bindings in {:?}", table.len(), start.elapsed());
            route_all(
                table.as_ref(),
                std::io::stdin().lock(),
                &mut std::io::stdout().lock(),
            )
        });
    match result {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{path}: {e}");
            ExitCode::FAILURE
        }
    }
}
