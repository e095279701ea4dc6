//! The Warren server: listeners, per-connection drivers, configuration and signals around
//! `warren-core`. It holds no broker logic: everything a client can observe about queues and
//! exchanges is decided by the core; this crate only moves bytes, timers and events.
