//! Resource alarms, as RabbitMQ's: a memory high watermark and a disk free-space limit,
//! checked every `storage.alarm_check_ms`. While one is exceeded the broker's alarm is raised
//! ([`warren_core::Broker::set_alarm`]) and every connection that publishes is blocked: AMQP
//! clients that announced the capability get `connection.blocked`, and their input is not read
//! until the alarm clears (`connection.unblocked`). Consumers keep consuming, which is what
//! brings memory back down.
//!
//! Memory is the process's resident set (`VmRSS` in `/proc/self/status`); the limit is
//! `memory_high_watermark_bytes`, or `memory_high_watermark` × `MemTotal` of `/proc/meminfo`.
//! Disk is the free space of the data directory's file system. Where `/proc` is missing the
//! memory alarm is off.

use crate::config::Config;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tracing::{info, warn};
use warren_core::store::Store;
use warren_core::{Alarm, Broker};

/// The limits, resolved from the configuration.
#[derive(Debug, Clone)]
pub struct AlarmLimits {
    /// Resident memory above which the memory alarm is raised (`None`: off).
    pub memory_limit: Option<u64>,
    /// Free bytes below which the disk alarm is raised (0: off; also off without a store).
    pub disk_free_limit: u64,
    /// Time between checks.
    pub every: Duration,
}

impl AlarmLimits {
    /// The limits of `[storage]`.
    pub fn from_config(config: &Config) -> AlarmLimits {
        let s = &config.storage;
        let memory_limit = if s.memory_high_watermark_bytes > 0 {
            Some(s.memory_high_watermark_bytes)
        } else if s.memory_high_watermark > 0.0 {
            total_memory().map(|total| (total as f64 * s.memory_high_watermark) as u64)
        } else {
            None
        };
        AlarmLimits {
            memory_limit,
            disk_free_limit: s.disk_free_limit,
            every: Duration::from_millis(s.alarm_check_ms.max(10)),
        }
    }
}

/// A `kB` figure of a `/proc` file, in bytes.
fn proc_kb(path: &str, key: &str) -> Option<u64> {
    let text = std::fs::read_to_string(path).ok()?;
    let line = text.lines().find(|l| l.starts_with(key))?;
    let kb: u64 = line
        .trim_start_matches(key)
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    kb.checked_mul(1024)
}

/// The machine's RAM.
fn total_memory() -> Option<u64> {
    proc_kb("/proc/meminfo", "MemTotal:")
}

/// This process's resident memory.
fn resident_memory() -> Option<u64> {
    proc_kb("/proc/self/status", "VmRSS:")
}

/// One check: raises or clears the memory and disk alarms.
pub fn check(broker: &Broker, limits: &AlarmLimits, store: Option<&Store>) {
    if let Some(limit) = limits.memory_limit {
        if let Some(used) = resident_memory() {
            let over = used > limit;
            if broker.set_alarm(Alarm::Memory, over) {
                if over {
                    warn!(used, limit, "memory alarm: publishers are blocked");
                } else {
                    info!(used, limit, "memory alarm cleared");
                }
            }
        }
    }
    if limits.disk_free_limit > 0 {
        if let Some(free) = store.and_then(|s| s.disk_free().ok()) {
            let low = free < limits.disk_free_limit;
            if broker.set_alarm(Alarm::Disk, low) {
                if low {
                    warn!(
                        free,
                        limit = limits.disk_free_limit,
                        "disk alarm: publishers are blocked"
                    );
                } else {
                    info!(free, limit = limits.disk_free_limit, "disk alarm cleared");
                }
            }
        }
    }
}

/// Checks the alarms every `limits.every` until shutdown.
pub async fn monitor(
    broker: Arc<Broker>,
    limits: AlarmLimits,
    store: Option<Arc<Store>>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(limits.every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.changed() => return,
            _ = tick.tick() => check(&broker, &limits, store.as_deref()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_figures_parse_where_proc_exists() {
        if std::path::Path::new("/proc/self/status").exists() {
            assert!(resident_memory().is_some_and(|m| m > 0));
            assert!(total_memory().is_some_and(|m| m > 0));
        }
    }

    #[test]
    fn a_tiny_watermark_raises_the_memory_alarm_and_a_huge_one_clears_it() {
        if resident_memory().is_none() {
            return;
        }
        let broker = Broker::new(warren_core::BrokerConfig::default());
        let mut limits = AlarmLimits {
            memory_limit: Some(1),
            disk_free_limit: 0,
            every: Duration::from_secs(1),
        };
        check(&broker, &limits, None);
        assert_eq!(broker.active_alarms(), vec![Alarm::Memory]);
        limits.memory_limit = Some(u64::MAX);
        check(&broker, &limits, None);
        assert!(!broker.is_blocked());
    }
}
