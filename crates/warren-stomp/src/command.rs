//! Frame commands and protocol versions.

use std::fmt;

/// The command of a frame: the first line of every frame.
///
/// Commands are case-sensitive on the wire (`SEND`, never `send`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Command {
    /// Client: open a connection (every version).
    Connect,
    /// Client: open a connection (1.1 and later; same headers as CONNECT).
    Stomp,
    /// Server: the connection is accepted.
    Connected,
    /// Client: send a message to a destination.
    Send,
    /// Client: register for messages from a destination.
    Subscribe,
    /// Client: cancel a subscription.
    Unsubscribe,
    /// Client: acknowledge a message.
    Ack,
    /// Client: refuse a message (1.1 and later).
    Nack,
    /// Client: start a transaction.
    Begin,
    /// Client: commit a transaction.
    Commit,
    /// Client: roll back a transaction.
    Abort,
    /// Client: close the connection (ask for a receipt to close gracefully).
    Disconnect,
    /// Server: a message for a subscription.
    Message,
    /// Server: a client frame that asked for a receipt was processed.
    Receipt,
    /// Server: something went wrong; the server closes the connection after it.
    Error,
}

impl Command {
    /// Every command, client commands first.
    pub const ALL: [Command; 15] = [
        Command::Connect,
        Command::Stomp,
        Command::Send,
        Command::Subscribe,
        Command::Unsubscribe,
        Command::Ack,
        Command::Nack,
        Command::Begin,
        Command::Commit,
        Command::Abort,
        Command::Disconnect,
        Command::Connected,
        Command::Message,
        Command::Receipt,
        Command::Error,
    ];

    /// The command as written on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            Command::Connect => "CONNECT",
            Command::Stomp => "STOMP",
            Command::Connected => "CONNECTED",
            Command::Send => "SEND",
            Command::Subscribe => "SUBSCRIBE",
            Command::Unsubscribe => "UNSUBSCRIBE",
            Command::Ack => "ACK",
            Command::Nack => "NACK",
            Command::Begin => "BEGIN",
            Command::Commit => "COMMIT",
            Command::Abort => "ABORT",
            Command::Disconnect => "DISCONNECT",
            Command::Message => "MESSAGE",
            Command::Receipt => "RECEIPT",
            Command::Error => "ERROR",
        }
    }

    /// The command spelled by `bytes` (exact, case-sensitive), if any.
    ///
    /// ```
    /// use warren_stomp::Command;
    /// assert_eq!(Command::from_bytes(b"SEND"), Some(Command::Send));
    /// assert_eq!(Command::from_bytes(b"send"), None);
    /// ```
    pub fn from_bytes(bytes: &[u8]) -> Option<Command> {
        Some(match bytes {
            b"CONNECT" => Command::Connect,
            b"STOMP" => Command::Stomp,
            b"CONNECTED" => Command::Connected,
            b"SEND" => Command::Send,
            b"SUBSCRIBE" => Command::Subscribe,
            b"UNSUBSCRIBE" => Command::Unsubscribe,
            b"ACK" => Command::Ack,
            b"NACK" => Command::Nack,
            b"BEGIN" => Command::Begin,
            b"COMMIT" => Command::Commit,
            b"ABORT" => Command::Abort,
            b"DISCONNECT" => Command::Disconnect,
            b"MESSAGE" => Command::Message,
            b"RECEIPT" => Command::Receipt,
            b"ERROR" => Command::Error,
            _ => return None,
        })
    }

    /// Whether a client sends this command (the rest are server commands).
    pub const fn is_client(self) -> bool {
        !matches!(
            self,
            Command::Connected | Command::Message | Command::Receipt | Command::Error
        )
    }

    /// Whether header escaping applies to this command's frames at `version`.
    ///
    /// 1.0 has no escaping. From 1.1 on every frame escapes its headers except CONNECT and
    /// CONNECTED, which stay readable by 1.0 peers; STOMP, the 1.1 synonym of CONNECT, is
    /// treated like CONNECT (as stompest and RabbitMQ do), since the version is not negotiated
    /// yet when it is sent.
    pub const fn escapes_headers(self, version: Version) -> bool {
        !matches!(version, Version::V1_0)
            && !matches!(self, Command::Connect | Command::Stomp | Command::Connected)
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A STOMP protocol version. Ordered: `V1_0 < V1_1 < V1_2`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Version {
    /// STOMP 1.0: no header escaping, no NACK, no heart-beating.
    V1_0,
    /// STOMP 1.1: escaping of `\n`, `:` and `\`; heart-beating; NACK; the STOMP command.
    V1_1,
    /// STOMP 1.2: adds the `\r` escape, CRLF line endings and the `ack` header of ACK/NACK.
    #[default]
    V1_2,
}

impl Version {
    /// Every version, oldest first.
    pub const ALL: [Version; 3] = [Version::V1_0, Version::V1_1, Version::V1_2];

    /// The version as written in `accept-version` and `version` headers (`"1.2"`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Version::V1_0 => "1.0",
            Version::V1_1 => "1.1",
            Version::V1_2 => "1.2",
        }
    }

    /// Parses `"1.0"`, `"1.1"` or `"1.2"` (surrounding spaces ignored).
    pub fn parse(s: &str) -> Option<Version> {
        match s.trim() {
            "1.0" => Some(Version::V1_0),
            "1.1" => Some(Version::V1_1),
            "1.2" => Some(Version::V1_2),
            _ => None,
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
