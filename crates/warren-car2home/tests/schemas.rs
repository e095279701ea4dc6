#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // tests: a panic is the failure report

//! The committed JSON Schema files are what the types generate.
//!
//! Regenerate with `cargo test -p warren-car2home --test schemas -- --ignored regenerate`.

use std::collections::BTreeSet;
use std::fs;
use std::path::PathBuf;

use warren_car2home::schema;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("schemas")
}

#[test]
fn committed_schemas_are_current() {
    let files = schema::files();
    let mut stale = Vec::new();
    for f in &files {
        match fs::read_to_string(dir().join(&f.name)) {
            Ok(text) if text == f.contents => {}
            Ok(_) => stale.push(format!("{} differs", f.name)),
            Err(e) => stale.push(format!("{}: {e}", f.name)),
        }
    }
    let expected: BTreeSet<String> = files.iter().map(|f| f.name.clone()).collect();
    for entry in fs::read_dir(dir()).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if !expected.contains(&name) {
            stale.push(format!("{name} is not generated any more"));
        }
    }
    assert!(
        stale.is_empty(),
        "schemas/ is stale ({}); regenerate with \
         `cargo test -p warren-car2home --test schemas -- --ignored regenerate` and commit",
        stale.join("; ")
    );
}

/// Rewrites `schemas/` from the types (run on demand; ignored in normal test runs).
#[test]
#[ignore = "writes files: run with --ignored regenerate"]
fn regenerate() {
    let files = schema::files();
    fs::create_dir_all(dir()).unwrap();
    for entry in fs::read_dir(dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            fs::remove_file(path).unwrap();
        }
    }
    for f in files {
        fs::write(dir().join(&f.name), f.contents).unwrap();
    }
}
