#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // tests: a panic is the failure report
//! Resource alarm flags: raising and clearing them, and the listeners fronts use to wake their
//! connections.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use warren_core::{Alarm, AlarmListener, Broker, BrokerConfig};

#[derive(Default)]
struct Count(AtomicUsize);

impl AlarmListener for Count {
    fn alarms_changed(&self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn alarms_are_flags_and_listeners_hear_only_changes() {
    let broker = Broker::new(BrokerConfig::default());
    let count = Arc::new(Count::default());
    let listener: Arc<dyn AlarmListener> = count.clone();
    broker.watch_alarms(&listener);
    assert!(!broker.is_blocked());
    assert!(broker.set_alarm(Alarm::Disk, true));
    assert!(!broker.set_alarm(Alarm::Disk, true), "no change, no news");
    assert!(broker.set_alarm(Alarm::Memory, true));
    assert_eq!(broker.active_alarms(), vec![Alarm::Memory, Alarm::Disk]);
    assert!(broker.set_alarm(Alarm::Disk, false));
    assert!(broker.is_blocked());
    assert!(broker.set_alarm(Alarm::Memory, false));
    assert!(!broker.is_blocked());
    assert_eq!(count.0.load(Ordering::SeqCst), 4);
    assert_eq!(Alarm::Disk.reason(), "low on disk");
    // Dropping the listener unregisters it.
    drop(listener);
    drop(count);
    assert!(broker.set_alarm(Alarm::Memory, true));
}
