//! `cargo xtask ci`: every check CI runs, in order, stopping at the first failure.

use crate::util::{cargo, have, root, run};
use std::path::Path;
use std::process::Command;

/// Runs the whole suite. `--skip-prep` skips installing Python and Debian test dependencies.
pub fn run_all(args: &[String]) -> Result<(), String> {
    let prep = !args.iter().any(|a| a == "--skip-prep");
    // `--keep-going` runs every step and reports all failures at the end (for local triage).
    let keep_going = args.iter().any(|a| a == "--keep-going");
    if prep {
        prepare_test_env()?;
    }
    let mut failures = Vec::new();
    let mut step = |result: Result<(), String>| -> Result<(), String> {
        match result {
            Err(e) if keep_going => {
                failures.push(e);
                Ok(())
            }
            other => other,
        }
    };
    step(run("fmt", cargo().args(["fmt", "--all", "--", "--check"])))?;
    step(run(
        "clippy",
        cargo().args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]),
    ))?;
    let mut tests = cargo();
    if have("cargo-nextest", &["nextest", "--version"]) {
        tests.args(["nextest", "run", "--workspace", "--no-fail-fast"]);
    } else {
        tests.args([
            "test",
            "--workspace",
            "--lib",
            "--bins",
            "--tests",
            "--no-fail-fast",
        ]);
    }
    with_test_env(&mut tests);
    step(run("tests", &mut tests))?;
    step(run(
        "doc tests",
        cargo().args(["test", "--workspace", "--doc"]),
    ))?;
    step(run(
        "docs",
        cargo()
            .args(["doc", "--workspace", "--no-deps"])
            .env("RUSTDOCFLAGS", "-D warnings"),
    ))?;
    step(codegen(&["--check".to_string()]))?;
    step(fuzz_replay())?;
    if !failures.is_empty() {
        return Err(format!(
            "{} step(s) failed:\n  {}",
            failures.len(),
            failures.join("\n  ")
        ));
    }
    eprintln!("\nxtask ci: all checks passed");
    Ok(())
}

/// `cargo xtask codegen [--check]`.
pub fn codegen(args: &[String]) -> Result<(), String> {
    let check = args.iter().any(|a| a == "--check");
    crate::codegen::amqp(check)?;
    // The Car2Home JSON Schemas are generated from the crate's own types, so the generator is a
    // test of that crate: `regenerate` writes them, `schemas_are_current` checks them.
    let test = if check {
        "committed_schemas_are_current"
    } else {
        "regenerate"
    };
    run(
        "car2home schemas",
        cargo().args([
            "test",
            "-q",
            "-p",
            "warren-car2home",
            "--test",
            "schemas",
            "--",
            "--include-ignored",
            "--exact",
            test,
        ]),
    )
}

/// Environment the integration tests read: where the Python with the client libraries is.
pub fn with_test_env(cmd: &mut Command) {
    let py = root().join(".venv/bin/python");
    if py.exists() {
        cmd.env("WARREN_PYTHON", py);
    }
}

/// Installs what the integration tests drive: a Python virtual environment with the client
/// libraries in `tests/requirements.txt`, and the Debian packages in `tests/apt-packages.txt`.
pub fn prepare_test_env() -> Result<(), String> {
    let root = root();
    let apt_list = root.join("tests/apt-packages.txt");
    if apt_list.exists() {
        let wanted =
            std::fs::read_to_string(&apt_list).map_err(|e| format!("{apt_list:?}: {e}"))?;
        let missing: Vec<&str> = wanted
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .filter(|p| !dpkg_installed(p))
            .collect();
        if !missing.is_empty() {
            run(
                "apt-get update",
                Command::new("apt-get").args(["update", "-qq"]),
            )?;
            run(
                "apt-get install",
                Command::new("apt-get")
                    .args(["install", "-y", "-qq", "--no-install-recommends"])
                    .args(&missing)
                    .env("DEBIAN_FRONTEND", "noninteractive"),
            )?;
        }
    }
    let reqs = root.join("tests/requirements.txt");
    if reqs.exists() {
        let venv = root.join(".venv");
        if !venv.join("bin/python").exists() {
            run(
                "venv",
                Command::new("python3").arg("-m").arg("venv").arg(&venv),
            )?;
        }
        run(
            "pip install",
            Command::new(venv.join("bin/python"))
                .args([
                    "-m",
                    "pip",
                    "install",
                    "-q",
                    "--disable-pip-version-check",
                    "-r",
                ])
                .arg(&reqs),
        )?;
    }
    Ok(())
}

fn dpkg_installed(pkg: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", pkg])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).contains("install ok installed"))
        .unwrap_or(false)
}

/// Builds the fuzz crate on stable and runs every target over its committed seed corpus.
pub fn fuzz_replay() -> Result<(), String> {
    let root = root();
    let manifest = root.join("fuzz/Cargo.toml");
    run(
        "fuzz build",
        cargo()
            .args(["build", "--bins", "--manifest-path"])
            .arg(&manifest)
            // The fuzz crate is its own workspace; keep its binaries where the replay looks.
            .env("CARGO_TARGET_DIR", root.join("fuzz/target")),
    )?;
    let corpora = root.join("fuzz/corpus");
    let Ok(dirs) = std::fs::read_dir(&corpora) else {
        return Ok(());
    };
    let mut dirs: Vec<_> = dirs
        .flatten()
        .map(|d| d.path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    for dir in dirs {
        let target = dir
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        let bin = root.join("fuzz/target/debug").join(&target);
        if !bin.exists() {
            return Err(format!("corpus {dir:?} has no fuzz target `{target}`"));
        }
        replay(&bin, &dir)?;
    }
    Ok(())
}

fn replay(bin: &Path, dir: &Path) -> Result<(), String> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| format!("{dir:?}: {e}"))?
        .flatten()
        .map(|d| d.path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    eprintln!(
        "==> replay {} inputs through {}",
        files.len(),
        bin.display()
    );
    // libFuzzer runs each file named on its command line once (no mutation, no instrumentation
    // needed), which is exactly a corpus replay.
    for chunk in files.chunks(200) {
        let out = Command::new(bin)
            .args(chunk)
            .output()
            .map_err(|e| format!("{bin:?}: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "fuzz replay of {dir:?} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
    Ok(())
}
