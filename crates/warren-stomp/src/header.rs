//! Headers: ordered name/value pairs, repeats allowed, the first one wins on lookup.

use std::fmt;

use bytes::Bytes;

/// Names of the headers the specification defines.
pub mod names {
    /// CONNECT/STOMP: the versions the client speaks (`1.0,1.1,1.2`).
    pub const ACCEPT_VERSION: &str = "accept-version";
    /// CONNECT/STOMP: the virtual host.
    pub const HOST: &str = "host";
    /// CONNECT/STOMP: the user.
    pub const LOGIN: &str = "login";
    /// CONNECT/STOMP: the password.
    pub const PASSCODE: &str = "passcode";
    /// CONNECT/STOMP/CONNECTED: heart-beat intervals `cx,cy` in milliseconds.
    pub const HEART_BEAT: &str = "heart-beat";
    /// CONNECTED and ERROR: the version chosen, or the versions supported.
    pub const VERSION: &str = "version";
    /// CONNECTED: the session identifier.
    pub const SESSION: &str = "session";
    /// CONNECTED: the server's name and version.
    pub const SERVER: &str = "server";
    /// SEND, SUBSCRIBE, MESSAGE: where messages go or come from.
    pub const DESTINATION: &str = "destination";
    /// SUBSCRIBE/UNSUBSCRIBE: the subscription id; ACK/NACK (1.2): the `ack` of the MESSAGE.
    pub const ID: &str = "id";
    /// SUBSCRIBE: the acknowledgement mode; MESSAGE (1.2): the id to acknowledge with.
    pub const ACK: &str = "ack";
    /// MESSAGE: the subscription it is delivered for; ACK/NACK (1.1).
    pub const SUBSCRIPTION: &str = "subscription";
    /// MESSAGE: the message id; ACK/NACK (1.0, 1.1).
    pub const MESSAGE_ID: &str = "message-id";
    /// Any client frame: ask for a RECEIPT carrying this value.
    pub const RECEIPT: &str = "receipt";
    /// RECEIPT and ERROR: the `receipt` value answered.
    pub const RECEIPT_ID: &str = "receipt-id";
    /// SEND, ACK, NACK, BEGIN, COMMIT, ABORT: the transaction.
    pub const TRANSACTION: &str = "transaction";
    /// Frames with a body: its MIME type.
    pub const CONTENT_TYPE: &str = "content-type";
    /// Frames with a body: its length in octets.
    pub const CONTENT_LENGTH: &str = "content-length";
    /// ERROR: a short description.
    pub const MESSAGE: &str = "message";
}

/// One header. Name and value are UTF-8 text, unescaped (escaping is a wire matter); both are
/// kept as `Bytes`, so a decoded header without escapes is a slice of the received frame.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Header {
    // Invariant: both are valid UTF-8 (every constructor guarantees it).
    name: Bytes,
    value: Bytes,
}

impl Header {
    /// A header from owned or borrowed text (a `String` is taken without copying).
    ///
    /// ```
    /// use warren_stomp::Header;
    /// let h = Header::new("destination", String::from("/queue/car"));
    /// assert_eq!((h.name(), h.value()), ("destination", "/queue/car"));
    /// ```
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Header {
        Header {
            name: Bytes::from(name.into()),
            value: Bytes::from(value.into()),
        }
    }

    /// A header from static text, without allocating.
    pub const fn from_static(name: &'static str, value: &'static str) -> Header {
        Header {
            name: Bytes::from_static(name.as_bytes()),
            value: Bytes::from_static(value.as_bytes()),
        }
    }

    /// A header from bytes the caller has checked to be UTF-8.
    pub(crate) fn from_checked(name: Bytes, value: Bytes) -> Header {
        debug_assert!(std::str::from_utf8(&name).is_ok() && std::str::from_utf8(&value).is_ok());
        Header { name, value }
    }

    /// The name.
    pub fn name(&self) -> &str {
        // Never falls back: the bytes are UTF-8 by construction.
        std::str::from_utf8(&self.name).unwrap_or_default()
    }

    /// The value.
    pub fn value(&self) -> &str {
        std::str::from_utf8(&self.value).unwrap_or_default()
    }

    /// The name as `Bytes` (cheap to clone).
    pub fn name_bytes(&self) -> &Bytes {
        &self.name
    }

    /// The value as `Bytes` (cheap to clone: forward it without copying).
    pub fn value_bytes(&self) -> &Bytes {
        &self.value
    }
}

impl fmt::Debug for Header {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {:?}", self.name(), self.value())
    }
}

/// The headers of a frame, in wire order. A name may repeat; lookups return the first, as the
/// specification says a repeated header's first value is the one used.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Headers {
    list: Vec<Header>,
}

impl Headers {
    /// No headers.
    pub const fn new() -> Headers {
        Headers { list: Vec::new() }
    }

    /// No headers, room for `n`.
    pub fn with_capacity(n: usize) -> Headers {
        Headers {
            list: Vec::with_capacity(n),
        }
    }

    /// How many headers (repeats included).
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The headers in wire order.
    pub fn iter(&self) -> std::slice::Iter<'_, Header> {
        self.list.iter()
    }

    /// The headers as a slice.
    pub fn as_slice(&self) -> &[Header] {
        &self.list
    }

    /// Appends a header (after any with the same name).
    pub fn push(&mut self, header: Header) {
        self.list.push(header);
    }

    /// Appends a header made from `name` and `value`.
    pub fn append(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.list.push(Header::new(name, value));
    }

    /// The first header named `name`.
    pub fn get_header(&self, name: &str) -> Option<&Header> {
        self.list
            .iter()
            .find(|h| h.name.as_ref() == name.as_bytes())
    }

    /// The value of the first header named `name`.
    ///
    /// ```
    /// use warren_stomp::{Header, Headers};
    /// let mut headers = Headers::new();
    /// headers.push(Header::from_static("foo", "first"));
    /// headers.push(Header::from_static("foo", "second"));
    /// assert_eq!(headers.get("foo"), Some("first"));
    /// assert_eq!(headers.get_all("foo").count(), 2);
    /// ```
    pub fn get(&self, name: &str) -> Option<&str> {
        self.get_header(name).map(Header::value)
    }

    /// Every value of headers named `name`, in order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.list
            .iter()
            .filter(move |h| h.name.as_ref() == name.as_bytes())
            .map(Header::value)
    }

    /// Whether a header named `name` is present.
    pub fn contains(&self, name: &str) -> bool {
        self.get_header(name).is_some()
    }

    /// Sets `name` to `value`: replaces the first header of that name in place and removes
    /// the others, or appends one.
    pub fn set(&mut self, name: impl Into<String>, value: impl Into<String>) {
        let header = Header::new(name, value);
        match self.list.iter().position(|h| h.name == header.name) {
            Some(first) => {
                let mut i = 0;
                self.list.retain(|h| {
                    let keep = i <= first || h.name != header.name;
                    i += 1;
                    keep
                });
                if let Some(slot) = self.list.get_mut(first) {
                    *slot = header;
                }
            }
            None => self.list.push(header),
        }
    }

    /// Removes every header named `name`; returns how many there were.
    pub fn remove(&mut self, name: &str) -> usize {
        let before = self.list.len();
        self.list.retain(|h| h.name.as_ref() != name.as_bytes());
        before.saturating_sub(self.list.len())
    }
}

impl fmt::Debug for Headers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(&self.list).finish()
    }
}

impl FromIterator<Header> for Headers {
    fn from_iter<I: IntoIterator<Item = Header>>(iter: I) -> Headers {
        Headers {
            list: iter.into_iter().collect(),
        }
    }
}

impl Extend<Header> for Headers {
    fn extend<I: IntoIterator<Item = Header>>(&mut self, iter: I) {
        self.list.extend(iter);
    }
}

impl IntoIterator for Headers {
    type Item = Header;
    type IntoIter = std::vec::IntoIter<Header>;

    fn into_iter(self) -> Self::IntoIter {
        self.list.into_iter()
    }
}

impl<'a> IntoIterator for &'a Headers {
    type Item = &'a Header;
    type IntoIter = std::slice::Iter<'a, Header>;

    fn into_iter(self) -> Self::IntoIter {
        self.list.iter()
    }
}

impl From<Vec<Header>> for Headers {
    fn from(list: Vec<Header>) -> Headers {
        Headers { list }
    }
}
