//! `cargo xtask fuzz <target> [seconds]`: runs one cargo-fuzz target for a while.
//!
//! cargo-fuzz needs nightly-only compiler flags (sanitizer coverage). With a nightly toolchain
//! installed through rustup it runs there (`rustup run nightly cargo fuzz ...`); without one it
//! runs on the current toolchain with `RUSTC_BOOTSTRAP=1`, which lets a stable compiler accept
//! them. cargo-fuzz itself is installed with `cargo install cargo-fuzz --locked` when missing.
//!
//! The fuzzer starts from the committed seeds in `fuzz/corpus/<target>/` but writes the inputs it
//! finds to `fuzz/target/scratch-corpus/<target>/` (git-ignored), so a run never adds hundreds
//! of files to the committed corpus; crashes land in `fuzz/artifacts/<target>/` as usual.

use crate::util::{cargo, have, root, run as run_step};
use std::process::Command;

/// Default run time when no `seconds` is given.
const DEFAULT_SECONDS: u64 = 60;

/// `cargo xtask fuzz <target> [seconds]`; without a target, lists the targets.
pub fn run(args: &[String]) -> Result<(), String> {
    let targets = targets()?;
    let Some(target) = args.first() else {
        return Err(format!(
            "usage: cargo xtask fuzz <target> [seconds]\ntargets: {}",
            targets.join(", ")
        ));
    };
    if !targets.contains(target) {
        return Err(format!(
            "no fuzz target `{target}`; targets: {}",
            targets.join(", ")
        ));
    }
    let seconds = match args.get(1) {
        Some(s) => s
            .parse::<u64>()
            .map_err(|_| format!("seconds must be a whole number, not `{s}`"))?,
        None => DEFAULT_SECONDS,
    };

    if !have("cargo", &["fuzz", "--version"]) {
        run_step(
            "install cargo-fuzz",
            cargo().args(["install", "cargo-fuzz", "--locked"]),
        )?;
    }

    let root = root();
    let scratch = root.join("fuzz/target/scratch-corpus").join(target);
    std::fs::create_dir_all(&scratch).map_err(|e| format!("{scratch:?}: {e}"))?;
    let seeds = root.join("fuzz/corpus").join(target);

    let mut cmd = if has_nightly() {
        let mut c = Command::new("rustup");
        c.args(["run", "nightly", "cargo"]);
        c
    } else {
        eprintln!("no nightly toolchain: using the current one with RUSTC_BOOTSTRAP=1");
        let mut c = Command::new("cargo");
        c.env("RUSTC_BOOTSTRAP", "1");
        c
    };
    cmd.current_dir(&root)
        // The toolchain chosen above, not the one `cargo xtask` itself runs under.
        .env_remove("CARGO")
        .env_remove("RUSTC")
        .env_remove("RUSTUP_TOOLCHAIN")
        .args(["fuzz", "run", target.as_str()])
        .arg(&scratch);
    if seeds.is_dir() {
        cmd.arg(&seeds);
    }
    cmd.arg("--").arg(format!("-max_total_time={seconds}"));
    run_step(&format!("fuzz {target} for {seconds} s"), &mut cmd)
}

/// The targets: the files in `fuzz/fuzz_targets/`.
fn targets() -> Result<Vec<String>, String> {
    let dir = root().join("fuzz/fuzz_targets");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .map_err(|e| format!("{dir:?}: {e}"))?
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            name.strip_suffix(".rs").map(str::to_owned)
        })
        .collect();
    names.sort();
    Ok(names)
}

/// True when rustup lists a nightly toolchain.
fn has_nightly() -> bool {
    Command::new("rustup")
        .args(["toolchain", "list"])
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .any(|l| l.starts_with("nightly"))
        })
        .unwrap_or(false)
}
