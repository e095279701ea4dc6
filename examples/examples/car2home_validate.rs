//! Checks Car2Home messages against the Car2Home schemas from the command line, as the broker's
//! exchange policy does. Uses only `warren-car2home`.
//!
//! ```sh
//! # Lines of `ROUTING-KEY JSON` from files (or stdin without files):
//! cargo run -p warren-examples --example car2home_validate -- examples/data/car2home_messages.txt
//! echo 'webos.server.info {"Producer":"car","command":"lookup","what":"parking"}' \
//!     | cargo run -p warren-examples --example car2home_validate
//! # One payload per file, for a given routing key:
//! cargo run -p warren-examples --example car2home_validate -- --key webos.server.info signup.json
//! ```
//!
//! The key `fanout` stands for a message published on `webos.fanout` (the routing key is not
//! looked at; only broadcastable commands pass). Blank lines and lines starting with `//` are
//! skipped. Prints one verdict per message; exit status 1 when any message is invalid.

use std::io::{Read, Write};
use std::process::ExitCode;

use warren_car2home::{Route, ValidMessage, Validator};

/// The routing-key word that stands for the fanout exchange.
const FANOUT: &str = "fanout";

/// Valid and invalid messages seen.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    /// Messages that passed.
    pub valid: usize,
    /// Messages that were refused.
    pub invalid: usize,
}

/// Validates one message and writes its verdict, prefixed by `place` (e.g. `file:3`).
pub fn check(
    validator: &Validator,
    place: &str,
    key: &str,
    payload: &[u8],
    out: &mut impl Write,
    tally: &mut Tally,
) -> std::io::Result<()> {
    let result = if key == FANOUT {
        validator.validate_broadcast(payload)
    } else {
        validator.validate(key, payload)
    };
    match result {
        Ok(valid) => {
            tally.valid += 1;
            writeln!(out, "{place}: ok       {}", summary(&valid))
        }
        Err(e) => {
            tally.invalid += 1;
            writeln!(out, "{place}: INVALID  {key}: [{}] {e}", e.code())
        }
    }
}

/// Validates every `ROUTING-KEY JSON` line of `text` (from `source`).
pub fn check_lines(
    validator: &Validator,
    source: &str,
    text: &str,
    out: &mut impl Write,
    tally: &mut Tally,
) -> std::io::Result<()> {
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with("//") {
            continue;
        }
        let place = format!("{source}:{}", n + 1);
        // A line without a payload is checked as an empty payload, which is refused as "not JSON".
        let (key, payload) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        check(
            validator,
            &place,
            key,
            payload.trim().as_bytes(),
            out,
            tally,
        )?;
    }
    Ok(())
}

/// `webos.server.info signup from android` or `fanout emergency from camera`.
fn summary(valid: &ValidMessage) -> String {
    let route = match valid.route {
        Route::Key(key) => key.to_string(),
        Route::Broadcast => FANOUT.to_owned(),
    };
    let known = if valid.spec().is_some() {
        ""
    } else {
        " (not in the catalogue: passed through)"
    };
    format!(
        "{route}: {} from {}{known}",
        valid.message.command.name(),
        valid.producer()
    )
}

fn main() -> ExitCode {
    let validator = Validator::new();
    let mut tally = Tally::default();
    let mut out = std::io::stdout().lock();
    let mut args = std::env::args().skip(1);
    let mut any_file = false;
    while let Some(arg) = args.next() {
        any_file = true;
        let result = if arg == "--key" {
            let (Some(key), Some(path)) = (args.next(), args.next()) else {
                eprintln!("usage: car2home_validate [FILE | --key ROUTING-KEY PAYLOAD-FILE]...");
                return ExitCode::FAILURE;
            };
            std::fs::read(&path)
                .map_err(|e| format!("{path}: {e}"))
                .and_then(|payload| {
                    check(&validator, &path, &key, &payload, &mut out, &mut tally)
                        .map_err(|e| e.to_string())
                })
        } else {
            std::fs::read_to_string(&arg)
                .map_err(|e| format!("{arg}: {e}"))
                .and_then(|text| {
                    check_lines(&validator, &arg, &text, &mut out, &mut tally)
                        .map_err(|e| e.to_string())
                })
        };
        if let Err(e) = result {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    }
    if !any_file {
        let mut text = String::new();
        let result = std::io::stdin()
            .read_to_string(&mut text)
            .and_then(|_| check_lines(&validator, "stdin", &text, &mut out, &mut tally));
        if let Err(e) = result {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    }
    let _ = writeln!(out, "{} valid, {} invalid", tally.valid, tally.invalid);
    if tally.invalid == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
