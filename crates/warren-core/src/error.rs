//! The one error type of the core, worded as RabbitMQ words it.

use std::fmt;

use crate::auth::Mechanism;

/// What kind of resource an error or a permission check is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResourceKind {
    /// An exchange.
    Exchange,
    /// A queue.
    Queue,
}

impl fmt::Display for ResourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ResourceKind::Exchange => "exchange",
            ResourceKind::Queue => "queue",
        })
    }
}

/// Which of the three RabbitMQ permissions an operation needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    /// Create, delete or change a resource.
    Configure,
    /// Inject messages into a resource (publish, bind destination).
    Write,
    /// Take messages out of a resource (consume, get, purge, bind source).
    Read,
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Permission::Configure => "configure",
            Permission::Write => "write",
            Permission::Read => "read",
        })
    }
}

/// Why a login was refused. RabbitMQ tells the client only the mechanism (the reason goes to
/// the log), so this is kept out of the `Display` text; the server logs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginFailure {
    /// No such user.
    UnknownUser,
    /// The password does not match (or the user has no password).
    BadPassword,
    /// The user is in `loopback_users` and the peer is not on a loopback address.
    LoopbackOnly,
}

/// Whether an error closes the channel or the whole connection (AMQP's two exception kinds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorScope {
    /// A channel exception (403, 404, 405, 406): `channel.close`, the connection lives on.
    Channel,
    /// A connection exception (5xx): `connection.close`.
    Connection,
}

/// Every error the core reports. `Display` gives RabbitMQ's reply text (`CODE_NAME - explanation`),
/// [`CoreError::reply_code`] the AMQP reply code and [`CoreError::scope`] whether the channel or the
/// connection closes.
///
/// ```
/// use warren_core::{CoreError, ErrorScope, ResourceKind};
///
/// let e = CoreError::NotFound { kind: ResourceKind::Queue, name: "foo".into(), vhost: "/".into() };
/// assert_eq!(e.to_string(), "NOT_FOUND - no queue 'foo' in vhost '/'");
/// assert_eq!(e.reply_code(), 404);
/// assert_eq!(e.scope(), ErrorScope::Channel);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CoreError {
    /// Authentication failed (403, connection).
    #[error("ACCESS_REFUSED - Login was refused using authentication mechanism {mechanism}. For details see the broker logfile.")]
    LoginRefused {
        /// The SASL mechanism used.
        mechanism: Mechanism,
        /// Why (for the log, not sent to the client).
        reason: LoginFailure,
    },
    /// The virtual host does not exist (530, connection).
    #[error("NOT_ALLOWED - vhost {vhost} not found")]
    VHostNotFound {
        /// The vhost asked for.
        vhost: String,
    },
    /// The user has no permissions in the virtual host (530, connection).
    #[error("NOT_ALLOWED - access to vhost '{vhost}' refused for user '{user}'")]
    VHostAccessRefused {
        /// The vhost asked for.
        vhost: String,
        /// The user.
        user: String,
    },
    /// A configure/write/read permission check failed (403, channel).
    #[error(
        "ACCESS_REFUSED - access to {kind} '{name}' in vhost '{vhost}' refused for user '{user}'"
    )]
    AccessRefused {
        /// Exchange or queue.
        kind: ResourceKind,
        /// The resource name (`amq.default` for the default exchange).
        name: String,
        /// The vhost.
        vhost: String,
        /// The user.
        user: String,
        /// Which permission was missing.
        permission: Permission,
    },
    /// Declare, delete, bind or unbind on the default exchange (403, channel).
    #[error("ACCESS_REFUSED - operation not permitted on the default exchange")]
    DefaultExchange,
    /// Deleting a predeclared `amq.*` exchange (403, channel).
    #[error(
        "ACCESS_REFUSED - deletion of system exchange '{name}' in vhost '{vhost}' not allowed"
    )]
    SystemExchange {
        /// The exchange.
        name: String,
        /// The vhost.
        vhost: String,
    },
    /// Creating an exchange or queue whose name starts with `amq.` (403, channel).
    #[error("ACCESS_REFUSED - {kind} name '{name}' contains reserved prefix 'amq.*'")]
    ReservedName {
        /// Exchange or queue.
        kind: ResourceKind,
        /// The name asked for.
        name: String,
    },
    /// Publishing to an internal exchange (403, channel).
    #[error("ACCESS_REFUSED - cannot publish to internal exchange '{name}' in vhost '{vhost}'")]
    InternalExchange {
        /// The exchange.
        name: String,
        /// The vhost.
        vhost: String,
    },
    /// An exclusive consumer exists, or an exclusive consume meets existing consumers (403, channel).
    #[error("ACCESS_REFUSED - queue '{queue}' in vhost '{vhost}' in exclusive use")]
    ExclusiveConsumer {
        /// The queue.
        queue: String,
        /// The vhost.
        vhost: String,
    },
    /// No such exchange or queue (404, channel).
    #[error("NOT_FOUND - no {kind} '{name}' in vhost '{vhost}'")]
    NotFound {
        /// Exchange or queue.
        kind: ResourceKind,
        /// The name asked for.
        name: String,
        /// The vhost.
        vhost: String,
    },
    /// An exclusive queue used from another connection, or redeclared with another exclusive
    /// flag (405, channel).
    #[error("RESOURCE_LOCKED - cannot obtain exclusive access to locked queue '{queue}' in vhost '{vhost}'. It could be originally declared on another connection or the exclusive property value does not match that of the original declaration.")]
    ResourceLocked {
        /// The queue.
        queue: String,
        /// The vhost.
        vhost: String,
    },
    /// Redeclare with other properties or arguments (406, channel). `received` and `current`
    /// are already worded (`'true'`, `none`, `the value '10' of type 'signedint'`).
    #[error("PRECONDITION_FAILED - inequivalent arg '{arg}' for {kind} '{name}' in vhost '{vhost}': received {received} but current is {current}")]
    Inequivalent {
        /// Exchange or queue.
        kind: ResourceKind,
        /// Its name.
        name: String,
        /// The vhost.
        vhost: String,
        /// The property or argument that differs.
        arg: &'static str,
        /// What the client sent, worded.
        received: String,
        /// What the resource has, worded.
        current: String,
    },
    /// A declare argument of the wrong type or value (406, channel).
    #[error("PRECONDITION_FAILED - invalid arg '{arg}' for {kind} '{name}' in vhost '{vhost}': {reason}")]
    InvalidArg {
        /// Exchange or queue.
        kind: ResourceKind,
        /// Its name.
        name: String,
        /// The vhost.
        vhost: String,
        /// The argument.
        arg: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A publish whose `expiration` property is not a TTL in milliseconds (406, channel).
    #[error("PRECONDITION_FAILED - invalid expiration '{value}': {reason}")]
    InvalidExpiration {
        /// The property as sent.
        value: String,
        /// What is wrong, in RabbitMQ's words (`no_integer`, `{value_negative,-5}`, …).
        reason: String,
    },
    /// Delete with if-unused on a resource in use (406, channel).
    #[error("PRECONDITION_FAILED - {kind} '{name}' in vhost '{vhost}' in use")]
    InUse {
        /// Exchange or queue.
        kind: ResourceKind,
        /// Its name.
        name: String,
        /// The vhost.
        vhost: String,
    },
    /// Delete with if-empty on a queue holding messages (406, channel).
    #[error("PRECONDITION_FAILED - queue '{name}' in vhost '{vhost}' not empty")]
    NotEmpty {
        /// The queue.
        name: String,
        /// The vhost.
        vhost: String,
    },
    /// Ack/nack/reject of a tag that is not outstanding on the channel (406, channel).
    #[error("PRECONDITION_FAILED - unknown delivery tag {tag}")]
    UnknownDeliveryTag {
        /// The tag.
        tag: u64,
    },
    /// The `user_id` property is not the authenticated user (406, channel).
    #[error("PRECONDITION_FAILED - user_id property set to '{claimed}' but authenticated user was '{actual}'")]
    UserIdMismatch {
        /// The property value.
        claimed: String,
        /// The connection's user.
        actual: String,
    },
    /// The body is larger than [`crate::BrokerConfig::max_message_size`] (406, channel).
    #[error("PRECONDITION_FAILED - message size {size} is larger than configured max size {max}")]
    MessageTooLarge {
        /// The body size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// A headers binding with an `x-match` other than all/any/all-with-x/any-with-x (406, channel).
    #[error("PRECONDITION_FAILED - Invalid x-match field value {value}; expected all, any, all-with-x, or any-with-x")]
    InvalidXMatch {
        /// The value as given, worded like RabbitMQ (`<<"foo">>` for a string).
        value: String,
    },
    /// A binding pattern the routing table refuses (too long, too many words or `#`) (406, channel).
    #[error("PRECONDITION_FAILED - invalid binding key '{key}' for exchange '{exchange}' in vhost '{vhost}': {reason}")]
    InvalidBindingKey {
        /// The pattern.
        key: String,
        /// The source exchange.
        exchange: String,
        /// The vhost.
        vhost: String,
        /// The routing table's reason.
        reason: String,
    },
    /// Unknown exchange type (503, connection).
    #[error("COMMAND_INVALID - invalid exchange type '{0}'")]
    InvalidExchangeType(String),
    /// A consumer tag already used on this channel (530, connection).
    #[error("NOT_ALLOWED - attempt to reuse consumer tag '{0}'")]
    ConsumerTagReuse(String),
    /// Something RabbitMQ does not implement either, e.g. `basic.recover` with requeue=false (540, connection).
    #[error("NOT_IMPLEMENTED - {0}")]
    NotImplemented(&'static str),
    /// A channel number already open on this connection (504, connection).
    #[error("CHANNEL_ERROR - channel {0} is already open")]
    ChannelAlreadyOpen(u16),
    /// An operation on a channel or connection that is closed (504, connection).
    #[error("CHANNEL_ERROR - channel is closed")]
    ChannelClosed,
    /// A configured limit such as the number of queues is reached (506, channel).
    #[error("RESOURCE_ERROR - {0}")]
    ResourceLimit(String),
    /// A user, vhost or definitions entry refused by the management/definitions API.
    #[error("definitions: {0}")]
    Definitions(String),
    /// A direct reply-to (`amq.rabbitmq.reply-to`) rule was broken (406, channel), e.g.
    /// "fast reply consumer does not exist".
    #[error("PRECONDITION_FAILED - {0}")]
    ReplyTo(&'static str),
}

impl CoreError {
    /// The AMQP reply code RabbitMQ sends for this error.
    pub fn reply_code(&self) -> u16 {
        match self {
            CoreError::LoginRefused { .. }
            | CoreError::AccessRefused { .. }
            | CoreError::DefaultExchange
            | CoreError::SystemExchange { .. }
            | CoreError::ReservedName { .. }
            | CoreError::InternalExchange { .. }
            | CoreError::ExclusiveConsumer { .. } => 403,
            CoreError::NotFound { .. } => 404,
            CoreError::ResourceLocked { .. } => 405,
            CoreError::Inequivalent { .. }
            | CoreError::InvalidArg { .. }
            | CoreError::InvalidExpiration { .. }
            | CoreError::InUse { .. }
            | CoreError::NotEmpty { .. }
            | CoreError::UnknownDeliveryTag { .. }
            | CoreError::UserIdMismatch { .. }
            | CoreError::MessageTooLarge { .. }
            | CoreError::InvalidXMatch { .. }
            | CoreError::InvalidBindingKey { .. }
            | CoreError::ReplyTo(_) => 406,
            CoreError::InvalidExchangeType(_) => 503,
            CoreError::ChannelAlreadyOpen(_) | CoreError::ChannelClosed => 504,
            CoreError::ResourceLimit(_) => 506,
            CoreError::VHostNotFound { .. }
            | CoreError::VHostAccessRefused { .. }
            | CoreError::ConsumerTagReuse(_) => 530,
            CoreError::NotImplemented(_) => 540,
            CoreError::Definitions(_) => 541,
        }
    }

    /// Whether this error closes the channel or the connection.
    pub fn scope(&self) -> ErrorScope {
        match self {
            // Login happens before any channel exists.
            CoreError::LoginRefused { .. } => ErrorScope::Connection,
            _ => match self.reply_code() {
                403..=406 | 506 => ErrorScope::Channel,
                _ => ErrorScope::Connection,
            },
        }
    }
}

/// The core's result type.
pub type Result<T, E = CoreError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_enough_for_results_everywhere() {
        // clippy's result_large_err fires at 128 bytes in every caller's code (the server's too).
        assert!(std::mem::size_of::<CoreError>() < 128);
    }

    #[test]
    fn codes_and_scopes() {
        let login = CoreError::LoginRefused {
            mechanism: Mechanism::Plain,
            reason: LoginFailure::BadPassword,
        };
        assert_eq!(
            (login.reply_code(), login.scope()),
            (403, ErrorScope::Connection)
        );
        let denied = CoreError::DefaultExchange;
        assert_eq!(
            (denied.reply_code(), denied.scope()),
            (403, ErrorScope::Channel)
        );
        let limit = CoreError::ResourceLimit("x".into());
        assert_eq!(
            (limit.reply_code(), limit.scope()),
            (506, ErrorScope::Channel)
        );
        let tag = CoreError::ChannelAlreadyOpen(1);
        assert_eq!(
            (tag.reply_code(), tag.scope()),
            (504, ErrorScope::Connection)
        );
    }
}
