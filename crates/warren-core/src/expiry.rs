//! Time-based work: message TTL (`x-message-ttl`, the `expiration` property), queue expiry
//! (`x-expires`) and the dead-letter settings that go with them (`x-dead-letter-exchange`,
//! `x-dead-letter-routing-key`).
//!
//! The core never reads a system clock. Time comes in two ways, both in milliseconds since the
//! Unix epoch (the time base RabbitMQ uses for expiry and for `x-death` timestamps):
//!
//! - [`Broker::tick`](crate::Broker::tick)`(now)`, which a front calls periodically: it drops
//!   (or dead-letters) expired messages at the heads of queues, so counts fall without
//!   consumers, and deletes queues unused for longer than their `x-expires`;
//! - a [`Clock`] injected with [`Broker::set_clock`](crate::Broker::set_clock), read on the
//!   paths that need the time *between* ticks: stamping a message that has a TTL when it is
//!   enqueued, checking the head of a queue with TTL'd messages before a delivery or a
//!   `basic.get`, marking a queue with `x-expires` as used. Without one, these paths use the
//!   time of the last tick (the broker's time advances only when it is told).
//!
//! A queue with neither a TTL nor TTL'd messages never reads the clock: its messages carry no
//! time stamp, and its hot path costs one branch.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use crate::error::{CoreError, ResourceKind};
use crate::value::{FieldTable, Value};

/// A source of wall-clock time, in milliseconds since the Unix epoch. The server implements it
/// with the system clock; tests use [`ManualClock`].
pub trait Clock: Send + Sync {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> u64;
}

/// A clock that only moves when told to (tests, simulations).
///
/// ```
/// use warren_core::{Clock, ManualClock};
///
/// let clock = ManualClock::new(1_000);
/// clock.advance(250);
/// assert_eq!(clock.now_ms(), 1_250);
/// clock.set(5);
/// assert_eq!(clock.now_ms(), 5);
/// ```
#[derive(Debug, Default)]
pub struct ManualClock(AtomicU64);

impl ManualClock {
    /// A clock reading `ms`.
    pub fn new(ms: u64) -> ManualClock {
        ManualClock(AtomicU64::new(ms))
    }

    /// Sets the time.
    pub fn set(&self, ms: u64) {
        self.0.store(ms, Ordering::Release);
    }

    /// Moves the time forward by `ms`.
    pub fn advance(&self, ms: u64) {
        self.0.fetch_add(ms, Ordering::AcqRel);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> u64 {
        self.0.load(Ordering::Acquire)
    }
}

/// The broker's time: an injected clock if one was set, else the time of the last tick.
#[derive(Default)]
pub(crate) struct Time {
    clock: OnceLock<Arc<dyn Clock>>,
    ticked: AtomicU64,
}

impl Time {
    pub(crate) fn now(&self) -> u64 {
        match self.clock.get() {
            Some(c) => c.now_ms(),
            None => self.ticked.load(Ordering::Acquire),
        }
    }

    pub(crate) fn set_clock(&self, clock: Arc<dyn Clock>) -> bool {
        self.clock.set(clock).is_ok()
    }

    pub(crate) fn ticked(&self, now: u64) {
        self.ticked.fetch_max(now, Ordering::AcqRel);
    }
}

/// Reads the time at most once, and only if asked.
pub(crate) struct LazyNow<'a> {
    time: &'a Time,
    value: Option<u64>,
}

impl<'a> LazyNow<'a> {
    pub(crate) fn new(time: &'a Time) -> LazyNow<'a> {
        LazyNow { time, value: None }
    }

    /// A reading already taken.
    pub(crate) fn at(time: &'a Time, now: u64) -> LazyNow<'a> {
        LazyNow {
            time,
            value: Some(now),
        }
    }

    pub(crate) fn get(&mut self) -> u64 {
        *self.value.get_or_insert_with(|| self.time.now())
    }
}

/// "Never expires".
pub(crate) const NEVER: u64 = u64::MAX;

/// The expiry deadlines of a queue's ready messages, in the queue's order, run-length encoded
/// (a burst published in the same millisecond with the same TTL is one run). Empty while
/// every ready message is untimed, so queues without TTLs pay nothing; otherwise it covers
/// every ready message (untimed ones as [`NEVER`]).
#[derive(Debug, Default)]
pub(crate) struct Deadlines {
    runs: VecDeque<(u64, usize)>,
    total: usize,
}

impl Deadlines {
    /// True while no ready message has a deadline.
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.runs.is_empty()
    }

    /// The head message's deadline.
    #[inline]
    pub(crate) fn front(&self) -> u64 {
        self.runs.front().map_or(NEVER, |r| r.0)
    }

    /// Starts covering a queue of `len` untimed messages.
    fn activate(&mut self, len: usize) {
        if len > 0 {
            self.runs.push_back((NEVER, len));
            self.total = len;
        }
    }

    /// A message appended to a queue that held `len` messages.
    pub(crate) fn push_back(&mut self, deadline: u64, len: usize) {
        if self.runs.is_empty() {
            if deadline == NEVER {
                return;
            }
            self.activate(len);
        }
        match self.runs.back_mut() {
            Some((d, n)) if *d == deadline => *n += 1,
            _ => self.runs.push_back((deadline, 1)),
        }
        self.total += 1;
    }

    /// A message put back at the head of a queue that held `len` messages.
    pub(crate) fn push_front(&mut self, deadline: u64, len: usize) {
        if self.runs.is_empty() {
            if deadline == NEVER {
                return;
            }
            self.activate(len);
        }
        match self.runs.front_mut() {
            Some((d, n)) if *d == deadline => *n += 1,
            _ => self.runs.push_front((deadline, 1)),
        }
        self.total += 1;
    }

    /// The head message left; returns its deadline.
    pub(crate) fn pop_front(&mut self) -> u64 {
        let Some((d, n)) = self.runs.front_mut() else {
            return NEVER;
        };
        let d = *d;
        *n -= 1;
        if *n == 0 {
            self.runs.pop_front();
        }
        self.total = self.total.saturating_sub(1);
        if self.runs.len() == 1 && self.front() == NEVER {
            // Only untimed messages left: stop covering them.
            self.clear();
        }
        d
    }

    /// Re-aligns with a queue that holds `len` messages (a store may drop an entry it cannot
    /// read back, taking two from the head at once).
    pub(crate) fn resync(&mut self, len: usize) {
        if self.runs.is_empty() {
            return;
        }
        while self.total > len {
            self.pop_front();
            if self.runs.is_empty() {
                return;
            }
        }
        if self.total < len {
            let missing = len - self.total;
            self.runs.push_back((NEVER, missing));
            self.total = len;
        }
    }

    /// Gives all `len` messages of a queue whose messages are all untimed the deadline `at`
    /// (messages recovered from disk in a queue with a TTL).
    pub(crate) fn stamp_all(&mut self, at: u64, len: usize) {
        if self.runs.is_empty() && len > 0 && at != NEVER {
            self.runs.push_back((at, len));
            self.total = len;
        }
    }

    pub(crate) fn clear(&mut self) {
        self.runs.clear();
        self.total = 0;
    }
}

/// Where a queue's dead letters go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DeadLetterTarget {
    /// The exchange (`""` is the default exchange).
    pub(crate) exchange: Arc<str>,
    /// The routing key to use instead of the message's own.
    pub(crate) routing_key: Option<Arc<str>>,
}

/// A queue's time and dead-letter settings, read from its declare arguments.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Lifecycle {
    /// `x-message-ttl`, ms.
    pub(crate) message_ttl: Option<u64>,
    /// `x-expires`, ms.
    pub(crate) expires: Option<u64>,
    /// `x-dead-letter-exchange` (and `x-dead-letter-routing-key`).
    pub(crate) dead_letter: Option<DeadLetterTarget>,
}

impl Lifecycle {
    /// Validates and reads the arguments as RabbitMQ does (406 with RabbitMQ's reason terms).
    pub(crate) fn parse(
        args: &FieldTable,
        name: &str,
        vhost: &str,
    ) -> Result<Lifecycle, CoreError> {
        let invalid = |arg: &str, reason: String| CoreError::InvalidArg {
            kind: ResourceKind::Queue,
            name: name.to_owned(),
            vhost: vhost.to_owned(),
            arg: arg.to_owned(),
            reason,
        };
        let millis = |arg: &str, zero_ok: bool| -> Result<Option<u64>, CoreError> {
            let Some(v) = args.get(arg) else {
                return Ok(None);
            };
            let Some(n) = v.as_i128() else {
                return Err(invalid(
                    arg,
                    format!("\"expected integer, got {}\"", v.type_name()),
                ));
            };
            if n == 0 && !zero_ok {
                return Err(invalid(arg, "{value_zero,0}".to_owned()));
            }
            if n < 0 {
                return Err(invalid(arg, format!("{{value_negative,{n}}}")));
            }
            // No upper bound (RabbitMQ 3.10 takes 2^32 and more); past u64: never.
            Ok(Some(u64::try_from(n).unwrap_or(NEVER)))
        };
        let text = |arg: &str| -> Result<Option<Arc<str>>, CoreError> {
            match args.get(arg) {
                None => Ok(None),
                Some(v) => match v {
                    Value::LongStr(_) | Value::ShortStr(_) => Ok(v.as_str().map(Arc::from)),
                    other => Err(invalid(
                        arg,
                        format!("{{unacceptable_type,{}}}", other.type_name()),
                    )),
                },
            }
        };
        let message_ttl = millis("x-message-ttl", true)?;
        let expires = millis("x-expires", false)?;
        let exchange = text("x-dead-letter-exchange")?;
        let routing_key = text("x-dead-letter-routing-key")?;
        let dead_letter = match (exchange, routing_key) {
            (Some(exchange), routing_key) => Some(DeadLetterTarget {
                exchange,
                routing_key,
            }),
            (None, Some(_)) => {
                return Err(invalid(
                    "x-dead-letter-routing-key",
                    "routing_key_but_no_dlx_defined".to_owned(),
                ))
            }
            (None, None) => None,
        };
        Ok(Lifecycle {
            message_ttl,
            expires,
            dead_letter,
        })
    }
}

/// Reads the `expiration` property as RabbitMQ does (a decimal number of milliseconds, an
/// optional sign, nothing else — not even spaces). `Err` names what is wrong, in RabbitMQ's
/// terms (`no_integer`, `{leftover_string,"x"}`, `{value_negative,-1}`).
pub(crate) fn parse_expiration(text: &str) -> Result<u64, String> {
    let (negative, digits) = match text.as_bytes().first() {
        Some(b'-') => (true, text.get(1..).unwrap_or("")),
        Some(b'+') => (false, text.get(1..).unwrap_or("")),
        _ => (false, text),
    };
    let end = digits
        .bytes()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(digits.len());
    let (number, rest) = digits.split_at(end);
    if number.is_empty() {
        return Err("no_integer".to_owned());
    }
    if !rest.is_empty() {
        return Err(format!("{{leftover_string,\"{rest}\"}}"));
    }
    let n: u64 = number.parse().unwrap_or(NEVER);
    if negative && n != 0 {
        return Err(format!("{{value_negative,-{number}}}"));
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines_stay_empty_for_untimed_messages() {
        let mut d = Deadlines::default();
        d.push_back(NEVER, 0);
        d.push_back(NEVER, 1);
        assert!(d.is_empty());
        assert_eq!(d.pop_front(), NEVER);
    }

    #[test]
    fn deadlines_cover_a_queue_once_timed() {
        let mut d = Deadlines::default();
        // Two untimed messages, then timed ones.
        d.push_back(10, 2);
        d.push_back(10, 3);
        d.push_back(NEVER, 4);
        d.push_back(20, 5);
        assert_eq!(d.front(), NEVER);
        assert_eq!(d.pop_front(), NEVER);
        assert_eq!(d.pop_front(), NEVER);
        assert_eq!(d.front(), 10);
        d.push_front(5, 4);
        assert_eq!(d.pop_front(), 5);
        assert_eq!(d.pop_front(), 10);
        assert_eq!(d.pop_front(), 10);
        // NEVER then 20: still covering.
        assert!(!d.is_empty());
        assert_eq!(d.pop_front(), NEVER);
        assert_eq!(d.pop_front(), 20);
        assert!(d.is_empty());
    }

    #[test]
    fn deadlines_drop_cover_when_only_untimed_remain() {
        let mut d = Deadlines::default();
        d.push_back(10, 0);
        d.push_back(NEVER, 1);
        assert_eq!(d.pop_front(), 10);
        assert!(d.is_empty());
    }

    #[test]
    fn deadlines_resync_with_the_store() {
        let mut d = Deadlines::default();
        d.push_back(1, 0);
        d.push_back(2, 1);
        d.push_back(3, 2);
        d.resync(1);
        assert_eq!(d.front(), 3);
        d.resync(3);
        assert_eq!(d.pop_front(), 3);
        assert_eq!(d.pop_front(), NEVER);
    }

    #[test]
    fn expiration_parsing_follows_rabbitmq() {
        assert_eq!(parse_expiration("0"), Ok(0));
        assert_eq!(parse_expiration("1500"), Ok(1500));
        assert_eq!(parse_expiration("+7"), Ok(7));
        assert_eq!(parse_expiration("abc").unwrap_err(), "no_integer");
        assert_eq!(parse_expiration("").unwrap_err(), "no_integer");
        assert_eq!(
            parse_expiration("12x").unwrap_err(),
            "{leftover_string,\"x\"}"
        );
        assert_eq!(parse_expiration("-5").unwrap_err(), "{value_negative,-5}");
        assert_eq!(parse_expiration(" 5").unwrap_err(), "no_integer");
        assert_eq!(parse_expiration("4294967296"), Ok(4_294_967_296));
        assert_eq!(
            parse_expiration("99999999999999999999999999999999999999999"),
            Ok(NEVER)
        );
    }

    #[test]
    fn lifecycle_arguments_are_validated() {
        let parse = |args: FieldTable| Lifecycle::parse(&args, "q", "/");
        let ok = parse(
            [
                ("x-message-ttl", Value::I32(0)),
                ("x-expires", Value::I64(1000)),
                ("x-dead-letter-exchange", Value::str("dlx")),
                ("x-dead-letter-routing-key", Value::str("dead")),
            ]
            .into_iter()
            .collect(),
        )
        .unwrap();
        assert_eq!(ok.message_ttl, Some(0));
        assert_eq!(ok.expires, Some(1000));
        let dl = ok.dead_letter.unwrap();
        assert_eq!(
            (&*dl.exchange, dl.routing_key.as_deref()),
            ("dlx", Some("dead"))
        );
        let err =
            |args: Vec<(&str, Value)>| parse(args.into_iter().collect()).unwrap_err().to_string();
        assert!(err(vec![("x-expires", Value::I32(0))]).ends_with("{value_zero,0}"));
        assert!(err(vec![("x-message-ttl", Value::I32(-1))]).ends_with("{value_negative,-1}"));
        assert!(err(vec![("x-message-ttl", Value::str("1"))])
            .ends_with("\"expected integer, got longstr\""));
        assert!(err(vec![("x-dead-letter-exchange", Value::I32(5))])
            .ends_with("{unacceptable_type,signedint}"));
        assert!(err(vec![("x-dead-letter-routing-key", Value::str("k"))])
            .ends_with("routing_key_but_no_dlx_defined"));
    }
}
