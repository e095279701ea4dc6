//! Warren's project automation, run as `cargo xtask <task>` (see `cargo xtask help`).
//!
//! Automation lives in Rust so that it runs the same on every machine with nothing but cargo.

// xtask is a developer tool, not the broker: a panic here is an error report, not an outage.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod bench_compare;
mod bench_durability;
mod ci;
mod codegen;
mod fuzz;
mod util;

use std::process::ExitCode;

const HELP: &str = "\
cargo xtask <task>

tasks:
  ci [--keep-going] [--skip-prep]
                     everything CI checks: fmt, clippy, tests, doc tests, docs, codegen, fuzz replay
  codegen [--check]  regenerate committed generated code (or check that it is current)
  fuzz-replay        build the fuzz crate and replay the committed seed corpora
  fuzz <target> [seconds]
                     run a cargo-fuzz target (default 60 s; nightly, or RUSTC_BOOTSTRAP=1 on stable)
  bench-compare      Warren vs RabbitMQ vs Mosquitto under the same load; table into docs/benchmarks.md
  bench-durability [--messages N] [--deep-messages M] [--skip rabbitmq] [--no-write]
                     recovery time and memory with deep persistent queues; into docs/benchmarks.md
  help               this text
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let task = args.first().map(String::as_str).unwrap_or("help");
    let rest = args.get(1..).unwrap_or(&[]);
    let result = match task {
        "ci" => ci::run_all(rest),
        "codegen" => ci::codegen(rest),
        "fuzz-replay" => ci::fuzz_replay(),
        "fuzz" => fuzz::run(rest),
        "bench-compare" => bench_compare::run(rest),
        "bench-durability" => bench_durability::run(rest),
        "help" | "--help" | "-h" => {
            print!("{HELP}");
            Ok(())
        }
        other => Err(format!("unknown task `{other}`\n\n{HELP}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}
