//! Typed values of the connection headers: acknowledgement modes, heart-beats, versions.

use std::fmt;
use std::time::Duration;

use crate::command::Version;
use crate::error::{HeaderError, VersionError};
use crate::header::names;

/// The `ack` header of SUBSCRIBE: how the client acknowledges messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum AckMode {
    /// `auto`: a message counts as acknowledged once sent (the default).
    #[default]
    Auto,
    /// `client`: an ACK acknowledges its message and every earlier one of the subscription.
    Client,
    /// `client-individual` (1.1 and later): an ACK acknowledges its message only.
    ClientIndividual,
}

impl AckMode {
    /// The value as written in the header.
    pub const fn as_str(self) -> &'static str {
        match self {
            AckMode::Auto => "auto",
            AckMode::Client => "client",
            AckMode::ClientIndividual => "client-individual",
        }
    }

    /// Parses a header value.
    pub fn parse(value: &str) -> Result<AckMode, HeaderError> {
        match value {
            "auto" => Ok(AckMode::Auto),
            "client" => Ok(AckMode::Client),
            "client-individual" => Ok(AckMode::ClientIndividual),
            _ => Err(HeaderError::InvalidValue {
                name: names::ACK,
                value: value.to_string(),
            }),
        }
    }
}

impl fmt::Display for AckMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The `heart-beat` header: `cx,cy` in milliseconds. `cx` is the smallest interval at which
/// the sender can send heart-beats (0: it cannot), `cy` the interval at which it wants to
/// receive them (0: it does not want any). Absent means `0,0`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct HeartBeat {
    /// Smallest interval, in ms, at which this side can send (0: never).
    pub cx: u32,
    /// Interval, in ms, at which this side wants to receive (0: never).
    pub cy: u32,
}

/// What two `heart-beat` headers agree on, seen from one side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct HeartBeatTiming {
    /// Send something (a frame or an EOL) at least this often; `None`: no heart-beats to send.
    pub send_every: Option<Duration>,
    /// The peer sends at least this often; `None`: expect nothing. Allow some slack before
    /// declaring the peer dead.
    pub expect_every: Option<Duration>,
}

impl HeartBeat {
    /// No heart-beating in either direction (`0,0`).
    pub const NONE: HeartBeat = HeartBeat { cx: 0, cy: 0 };

    /// Parses `cx,cy` (two decimal numbers; spaces around them are allowed).
    ///
    /// ```
    /// use warren_stomp::HeartBeat;
    /// assert_eq!(HeartBeat::parse("10000,5000"), Ok(HeartBeat { cx: 10000, cy: 5000 }));
    /// assert!(HeartBeat::parse("10000").is_err());
    /// ```
    pub fn parse(value: &str) -> Result<HeartBeat, HeaderError> {
        let invalid = || HeaderError::InvalidValue {
            name: names::HEART_BEAT,
            value: value.to_string(),
        };
        let (cx, cy) = value.split_once(',').ok_or_else(invalid)?;
        Ok(HeartBeat {
            cx: parse_ms(cx).ok_or_else(invalid)?,
            cy: parse_ms(cy).ok_or_else(invalid)?,
        })
    }

    /// The timing this side (`self`, the header it sent) keeps with a peer that sent `peer`:
    /// each direction beats at the larger of what the sender can do and what the receiver
    /// wants, and not at all when either says 0.
    ///
    /// ```
    /// use std::time::Duration;
    /// use warren_stomp::HeartBeat;
    /// let server = HeartBeat { cx: 10_000, cy: 10_000 };
    /// let client = HeartBeat { cx: 0, cy: 4_000 }; // cannot send, wants one every 4 s
    /// let t = server.negotiate(client);
    /// assert_eq!(t.send_every, Some(Duration::from_secs(10)));
    /// assert_eq!(t.expect_every, None);
    /// ```
    pub fn negotiate(self, peer: HeartBeat) -> HeartBeatTiming {
        let direction = |can: u32, want: u32| {
            (can != 0 && want != 0).then(|| Duration::from_millis(u64::from(can.max(want))))
        };
        HeartBeatTiming {
            send_every: direction(self.cx, peer.cy),
            expect_every: direction(peer.cx, self.cy),
        }
    }
}

fn parse_ms(s: &str) -> Option<u32> {
    let s = s.trim_matches(' ');
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

impl fmt::Display for HeartBeat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{},{}", self.cx, self.cy)
    }
}

/// Chooses the version of a connection: the highest of `supported` that the client's
/// `accept-version` value lists. A CONNECT without `accept-version` speaks 1.0.
///
/// On `Err`, the specification has the server send an ERROR frame with a `version` header
/// listing what it supports ([`VersionError::supported`]) and close the connection.
///
/// ```
/// use warren_stomp::{negotiate_version, Version};
/// let all = &Version::ALL;
/// assert_eq!(negotiate_version(Some("1.0,1.1,1.2"), all), Ok(Version::V1_2));
/// assert_eq!(negotiate_version(Some("1.1"), all), Ok(Version::V1_1));
/// assert_eq!(negotiate_version(None, all), Ok(Version::V1_0));
/// assert!(negotiate_version(Some("2.0"), all).is_err());
/// ```
pub fn negotiate_version(
    accept_version: Option<&str>,
    supported: &[Version],
) -> Result<Version, VersionError> {
    let best = match accept_version {
        None => supported.contains(&Version::V1_0).then_some(Version::V1_0),
        Some(list) => list
            .split(',')
            .filter_map(Version::parse)
            .filter(|v| supported.contains(v))
            .max(),
    };
    best.ok_or_else(|| VersionError {
        accepted: accept_version.unwrap_or("1.0").to_string(),
        supported: supported
            .iter()
            .map(|v| v.as_str())
            .collect::<Vec<_>>()
            .join(","),
    })
}
