//! The metadata file: the durable vhosts, users, permissions, exchanges, queues and bindings as
//! a RabbitMQ `definitions.json` document, replaced atomically (write a temporary file, fsync
//! it, rename it over the old one, fsync the directory) after every change.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::StoreError;
use crate::definitions::Definitions;

/// The file name inside the data directory.
pub(crate) const FILE: &str = "definitions.json";
const TEMP: &str = "definitions.json.tmp";

/// Reads the metadata file; `None` when there is none yet (first start).
pub(crate) fn load(dir: &Path) -> Result<Option<Definitions>, StoreError> {
    let path = dir.join(FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(StoreError::Io { path, source: e }),
    };
    Definitions::from_json(&text)
        .map(Some)
        .map_err(|e| StoreError::Metadata {
            path,
            reason: e.to_string(),
        })
}

/// Replaces the metadata file atomically.
pub(crate) fn save(dir: &Path, defs: &Definitions) -> Result<(), StoreError> {
    let temp: PathBuf = dir.join(TEMP);
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| StoreError::Io { path, source }
    };
    let mut f = File::create(&temp).map_err(io(&temp))?;
    f.write_all(defs.to_json().as_bytes())
        .and_then(|()| f.sync_all())
        .map_err(io(&temp))?;
    drop(f);
    let path = dir.join(FILE);
    std::fs::rename(&temp, &path).map_err(io(&path))?;
    File::open(dir).and_then(|d| d.sync_all()).map_err(io(dir))
}
