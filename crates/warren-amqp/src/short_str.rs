//! `ShortStr`: the AMQP short string, at most 255 bytes, sliced from the frame without copying.

use crate::Error;
use bytes::Bytes;
use std::fmt;

/// An AMQP short string: at most 255 bytes, usually (but not necessarily) UTF-8.
///
/// The length limit is checked when the value is built, so encoding never fails. Decoded
/// short strings are slices of the frame they came from (no copy); a broker that keeps one
/// for long (a binding key, a queue name) may want [`ShortStr::copied`] so that the whole read
/// buffer is not kept alive.
///
/// ```
/// use warren_amqp::ShortStr;
/// let rk = ShortStr::try_from("car.42.status").unwrap();
/// assert_eq!(rk, "car.42.status");
/// assert_eq!(rk.as_str(), Some("car.42.status"));
/// assert!(ShortStr::try_from("x".repeat(256)).is_err());
/// ```
#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ShortStr(Bytes);

impl ShortStr {
    /// The longest short string, in bytes.
    pub const MAX_LEN: usize = 255;

    /// The empty short string.
    pub const EMPTY: ShortStr = ShortStr(Bytes::new());

    /// A short string from a `'static` str, checked at compile time when used in a `const`.
    ///
    /// # Panics
    /// If `s` is longer than 255 bytes (a programming error, never network input).
    pub const fn from_static(s: &'static str) -> Self {
        assert!(
            s.len() <= Self::MAX_LEN,
            "short string longer than 255 bytes"
        );
        ShortStr(Bytes::from_static(s.as_bytes()))
    }

    /// Wraps bytes, checking the 255-byte limit.
    pub fn new(bytes: impl Into<Bytes>) -> Result<Self, Error> {
        let bytes = bytes.into();
        if bytes.len() > Self::MAX_LEN {
            return Err(Error::ShortStrTooLong { len: bytes.len() });
        }
        Ok(ShortStr(bytes))
    }

    /// Wraps bytes already known to be at most 255 bytes long (decoder use).
    pub(crate) fn from_bytes_unchecked(bytes: Bytes) -> Self {
        debug_assert!(bytes.len() <= Self::MAX_LEN);
        ShortStr(bytes)
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The string, if it is valid UTF-8.
    pub fn as_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.0).ok()
    }

    /// The underlying `Bytes` (a refcount bump, no copy).
    pub fn as_shared(&self) -> &Bytes {
        &self.0
    }

    /// Turns into the underlying `Bytes`.
    pub fn into_bytes(self) -> Bytes {
        self.0
    }

    /// A copy that owns its bytes, so it no longer keeps the frame it was decoded from alive.
    pub fn copied(&self) -> Self {
        ShortStr(Bytes::copy_from_slice(&self.0))
    }

    /// Length in bytes (0..=255).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True for the empty string.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for ShortStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.as_str() {
            Some(s) => fmt::Debug::fmt(s, f),
            None => write!(f, "ShortStr({:?})", self.0),
        }
    }
}

impl fmt::Display for ShortStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&String::from_utf8_lossy(&self.0))
    }
}

impl TryFrom<&str> for ShortStr {
    type Error = Error;
    fn try_from(s: &str) -> Result<Self, Error> {
        ShortStr::new(Bytes::copy_from_slice(s.as_bytes()))
    }
}

impl TryFrom<String> for ShortStr {
    type Error = Error;
    fn try_from(s: String) -> Result<Self, Error> {
        ShortStr::new(s)
    }
}

impl TryFrom<&[u8]> for ShortStr {
    type Error = Error;
    fn try_from(s: &[u8]) -> Result<Self, Error> {
        ShortStr::new(Bytes::copy_from_slice(s))
    }
}

impl TryFrom<Bytes> for ShortStr {
    type Error = Error;
    fn try_from(b: Bytes) -> Result<Self, Error> {
        ShortStr::new(b)
    }
}

impl From<ShortStr> for Bytes {
    fn from(s: ShortStr) -> Bytes {
        s.0
    }
}

impl AsRef<[u8]> for ShortStr {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl PartialEq<str> for ShortStr {
    fn eq(&self, other: &str) -> bool {
        self.0 == other.as_bytes()
    }
}

impl PartialEq<&str> for ShortStr {
    fn eq(&self, other: &&str) -> bool {
        self.0 == other.as_bytes()
    }
}
