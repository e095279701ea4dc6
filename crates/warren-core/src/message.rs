//! Messages: the 14 basic properties and the immutable, shared message record.

use std::sync::Arc;

use bytes::Bytes;

use crate::value::FieldTable;

/// The 14 AMQP basic properties, as core-owned typed fields (`None` = absent on the wire).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Properties {
    /// MIME content type.
    pub content_type: Option<String>,
    /// MIME content encoding.
    pub content_encoding: Option<String>,
    /// Application headers (also what headers exchanges match on).
    pub headers: Option<FieldTable>,
    /// 1 = transient, 2 = persistent.
    pub delivery_mode: Option<u8>,
    /// Priority 0..=9.
    pub priority: Option<u8>,
    /// Correlation id.
    pub correlation_id: Option<String>,
    /// Reply-to address.
    pub reply_to: Option<String>,
    /// Per-message TTL, milliseconds as text.
    pub expiration: Option<String>,
    /// Message id.
    pub message_id: Option<String>,
    /// Timestamp (seconds).
    pub timestamp: Option<u64>,
    /// Message type name (`type` on the wire).
    pub kind: Option<String>,
    /// Creating user id; checked against the authenticated user on publish.
    pub user_id: Option<String>,
    /// Creating application id.
    pub app_id: Option<String>,
    /// Deprecated cluster id.
    pub cluster_id: Option<String>,
}

impl Properties {
    /// True when `delivery_mode` is 2 (persistent).
    pub fn is_persistent(&self) -> bool {
        self.delivery_mode == Some(2)
    }
}

/// A published message. Immutable once built and shared as `Arc<Message>` by every queue it is
/// routed to: fan-out is a reference-count bump and the body is never copied.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// The exchange it was published to (`""` for the default exchange).
    pub exchange: Arc<str>,
    /// The routing key it was published with.
    pub routing_key: String,
    /// The basic properties.
    pub properties: Properties,
    /// The body.
    pub body: Bytes,
}

impl Message {
    /// Builds a message record.
    pub fn new(
        exchange: impl Into<Arc<str>>,
        routing_key: impl Into<String>,
        properties: Properties,
        body: Bytes,
    ) -> Message {
        Message {
            exchange: exchange.into(),
            routing_key: routing_key.into(),
            properties,
            body,
        }
    }

    /// Body size in bytes (what queue byte limits and metrics count).
    pub fn size(&self) -> usize {
        self.body.len()
    }
}
