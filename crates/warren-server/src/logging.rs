//! Log output through `tracing`, on stderr (stdout carries the `LISTENING`/`READY` lines).

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber: `RUST_LOG` if set, else `default_filter`.
pub fn init(default_filter: &str) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(default_filter))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    // A second init (tests) is harmless: keep the first subscriber.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_writer(std::io::stderr)
        .try_init();
}
