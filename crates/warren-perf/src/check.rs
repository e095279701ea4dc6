//! Checking what arrived: lost, duplicated, out-of-order and misrouted messages.
//!
//! Every message carries a [`Stamp`](crate::stamp::Stamp) with its stream and sequence number.
//! A receiver keeps one [`StreamCheck`] per stream it sees; at the end, [`Checker::verdict`]
//! compares what arrived with what was sent on the streams routed to it.

use serde::Serialize;
use std::collections::BTreeMap;

/// Sequence numbers skipped so far and not (yet) seen, as half-open ranges `start..end`.
#[derive(Debug, Default, Clone)]
struct Gaps {
    ranges: BTreeMap<u64, u64>,
    total: u64,
}

impl Gaps {
    fn add(&mut self, start: u64, end: u64) {
        if end > start {
            self.ranges.insert(start, end);
            self.total += end - start;
        }
    }

    /// Removes `seq` if it is in a gap; true when it was.
    fn take(&mut self, seq: u64) -> bool {
        let Some((&start, &end)) = self.ranges.range(..=seq).next_back() else {
            return false;
        };
        if seq >= end {
            return false;
        }
        self.ranges.remove(&start);
        if start < seq {
            self.ranges.insert(start, seq);
        }
        if seq + 1 < end {
            self.ranges.insert(seq + 1, end);
        }
        self.total -= 1;
        true
    }
}

/// What one receiver saw of one stream.
///
/// ```
/// use warren_perf::check::StreamCheck;
/// let mut s = StreamCheck::default();
/// for seq in [0, 1, 3, 2, 3] {
///     s.observe(seq);
/// }
/// assert_eq!(s.unique(), 4);
/// assert_eq!(s.duplicates(), 1); // the second 3
/// assert_eq!(s.out_of_order(), 1); // 2 arrived after 3
/// assert_eq!(s.lost(5), 1); // 4 was sent and never came
/// ```
#[derive(Debug, Default, Clone)]
pub struct StreamCheck {
    next: u64,
    gaps: Gaps,
    unique: u64,
    duplicates: u64,
    out_of_order: u64,
}

impl StreamCheck {
    /// Records the arrival of sequence number `seq`.
    pub fn observe(&mut self, seq: u64) {
        if seq == self.next {
            self.next += 1;
            self.unique += 1;
        } else if seq > self.next {
            self.gaps.add(self.next, seq);
            self.next = seq + 1;
            self.unique += 1;
        } else if self.gaps.take(seq) {
            self.unique += 1;
            self.out_of_order += 1;
        } else {
            self.duplicates += 1;
        }
    }

    /// Distinct sequence numbers seen.
    pub fn unique(&self) -> u64 {
        self.unique
    }

    /// Arrivals of a sequence number already seen.
    pub fn duplicates(&self) -> u64 {
        self.duplicates
    }

    /// Arrivals after a later sequence number of the same stream.
    pub fn out_of_order(&self) -> u64 {
        self.out_of_order
    }

    /// Messages of the `sent` first sequence numbers that never arrived.
    pub fn lost(&self, sent: u64) -> u64 {
        sent.saturating_sub(self.unique)
    }

    /// Arrivals with a sequence number at or above `sent` (never sent: a corrupt body).
    pub fn beyond(&self, sent: u64) -> u64 {
        self.next.saturating_sub(sent)
    }
}

/// The summed result of a run's checks.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Verdict {
    /// Messages sent on a stream routed to a receiver that never reached it.
    pub lost: u64,
    /// Messages that reached a receiver more than once.
    pub duplicated: u64,
    /// Messages that arrived after a later one of the same stream (only counted where order is
    /// guaranteed: one consumer per queue).
    pub out_of_order: u64,
    /// Messages a receiver got from a stream not routed to it, or with a bad stamp.
    pub misrouted: u64,
}

impl Verdict {
    /// Adds `other` to `self`.
    pub fn add(&mut self, other: Verdict) {
        self.lost += other.lost;
        self.duplicated += other.duplicated;
        self.out_of_order += other.out_of_order;
        self.misrouted += other.misrouted;
    }

    /// True when nothing was lost, duplicated, reordered or misrouted.
    pub fn is_clean(&self) -> bool {
        *self == Verdict::default()
    }
}

/// All streams one receiver (a queue, an MQTT subscriber) sees.
///
/// ```
/// use warren_perf::check::Checker;
/// let mut c = Checker::new(true);
/// c.observe(0, 0);
/// c.observe(0, 1);
/// c.observe(1, 0);
/// // Stream 0 sent 2 and is routed here; stream 1 sent 3 and is routed here too.
/// let v = c.verdict(&[2, 3], |_| true);
/// assert_eq!(v.lost, 2);
/// assert!(!v.is_clean());
/// ```
#[derive(Debug, Clone)]
pub struct Checker {
    streams: Vec<StreamCheck>,
    check_order: bool,
    bad_stamps: u64,
}

impl Checker {
    /// A checker; `check_order` is false where the broker does not promise order (several
    /// consumers sharing a queue).
    pub fn new(check_order: bool) -> Self {
        Checker {
            streams: Vec::new(),
            check_order,
            bad_stamps: 0,
        }
    }

    /// Records message `seq` of `stream`.
    pub fn observe(&mut self, stream: u32, seq: u64) {
        let i = stream as usize;
        if i >= self.streams.len() {
            self.streams.resize_with(i + 1, StreamCheck::default);
        }
        if let Some(s) = self.streams.get_mut(i) {
            s.observe(seq);
        }
    }

    /// Records a body too short to carry a stamp.
    pub fn observe_bad_stamp(&mut self) {
        self.bad_stamps += 1;
    }

    /// Distinct messages seen over all streams.
    pub fn unique(&self) -> u64 {
        self.streams.iter().map(StreamCheck::unique).sum()
    }

    /// Compares with what was sent: `sent[s]` messages on stream `s`, which reached this
    /// receiver when `routed(s)`.
    pub fn verdict(&self, sent: &[u64], routed: impl Fn(u32) -> bool) -> Verdict {
        let mut v = Verdict {
            misrouted: self.bad_stamps,
            ..Verdict::default()
        };
        let n = self.streams.len().max(sent.len());
        for i in 0..n {
            let stream = u32::try_from(i).unwrap_or(u32::MAX);
            let sent_here = sent.get(i).copied().unwrap_or(0);
            let empty = StreamCheck::default();
            let seen = self.streams.get(i).unwrap_or(&empty);
            if routed(stream) {
                v.lost += seen.lost(sent_here);
                v.duplicated += seen.duplicates();
                if self.check_order {
                    v.out_of_order += seen.out_of_order();
                }
                v.misrouted += seen.beyond(sent_here);
            } else {
                v.misrouted += seen.unique() + seen.duplicates();
            }
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_order_stream_is_clean() {
        let mut c = Checker::new(true);
        for seq in 0..1000 {
            c.observe(3, seq);
        }
        let v = c.verdict(&[0, 0, 0, 1000], |s| s == 3);
        assert!(v.is_clean(), "{v:?}");
        assert_eq!(c.unique(), 1000);
    }

    #[test]
    fn tail_never_received_is_lost() {
        let mut c = Checker::new(true);
        for seq in 0..10 {
            c.observe(0, seq);
        }
        assert_eq!(c.verdict(&[15], |_| true).lost, 5);
    }

    #[test]
    fn gap_filled_late_is_out_of_order_not_lost() {
        let mut s = StreamCheck::default();
        for seq in [0, 5, 1, 2, 3, 4, 6] {
            s.observe(seq);
        }
        assert_eq!(s.lost(7), 0);
        assert_eq!(s.out_of_order(), 4);
        assert_eq!(s.duplicates(), 0);
    }

    #[test]
    fn gap_never_filled_is_lost() {
        let mut s = StreamCheck::default();
        for seq in [0, 1, 7, 8] {
            s.observe(seq);
        }
        assert_eq!(s.lost(9), 5);
        assert_eq!(s.out_of_order(), 0);
    }

    #[test]
    fn repeats_are_duplicates_even_inside_an_old_gap() {
        let mut s = StreamCheck::default();
        for seq in [0, 3, 1, 1, 3, 0] {
            s.observe(seq);
        }
        assert_eq!(s.duplicates(), 3);
        assert_eq!(s.out_of_order(), 1);
        assert_eq!(s.unique(), 3);
        assert_eq!(s.lost(4), 1); // 2
    }

    #[test]
    fn order_is_not_judged_for_shared_queues() {
        let mut c = Checker::new(false);
        for seq in [1, 0, 2] {
            c.observe(0, seq);
        }
        let v = c.verdict(&[3], |_| true);
        assert!(v.is_clean(), "{v:?}");
    }

    #[test]
    fn messages_from_unrouted_streams_are_misrouted() {
        let mut c = Checker::new(true);
        c.observe(0, 0);
        c.observe(1, 0);
        c.observe_bad_stamp();
        let v = c.verdict(&[1, 1], |s| s == 0);
        assert_eq!(v.misrouted, 2);
        assert_eq!(v.lost, 0);
    }

    #[test]
    fn sequence_numbers_never_sent_are_misrouted() {
        let mut c = Checker::new(true);
        c.observe(0, 0);
        c.observe(0, 9);
        let v = c.verdict(&[2], |_| true);
        assert_eq!(v.misrouted, 8);
    }

    #[test]
    fn big_gaps_cost_one_range() {
        let mut s = StreamCheck::default();
        s.observe(0);
        s.observe(1_000_000_000);
        assert_eq!(s.gaps.ranges.len(), 1);
        s.observe(500);
        assert_eq!(s.gaps.ranges.len(), 2);
        assert_eq!(s.lost(1_000_000_001), 1_000_000_001 - 3);
    }
}
