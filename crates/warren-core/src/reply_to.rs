//! Direct reply-to (RabbitMQ's `amq.rabbitmq.reply-to`): RPC replies that skip queues.
//!
//! A client consumes (no-ack) from the pseudo-queue [`REPLY_TO_QUEUE`] and publishes its
//! request with `reply_to = "amq.rabbitmq.reply-to"`; the core rewrites that to
//! `amq.rabbitmq.reply-to.<token>`, a name for this channel's reply consumer. A replier
//! publishes to the default exchange with that routing key and the message goes straight to
//! the consumer, or is dropped if it is gone (as in RabbitMQ). Tokens are 128 random bits.

use std::collections::HashMap;
use std::sync::{Arc, Weak};

use parking_lot::Mutex;

use crate::channel::ChannelCore;

/// The pseudo-queue a client consumes from to receive direct replies.
pub const REPLY_TO_QUEUE: &str = "amq.rabbitmq.reply-to";

/// The routing-key prefix of a direct reply (`amq.rabbitmq.reply-to.<token>`).
pub const REPLY_TO_PREFIX: &str = "amq.rabbitmq.reply-to.";

/// A reply consumer: its channel (weak: the registry must not keep a closed channel alive)
/// and its consumer tag.
type ReplyConsumer = (Weak<ChannelCore>, Arc<str>);

/// The reply consumers of one vhost, by token.
#[derive(Default)]
pub(crate) struct ReplyRegistry {
    consumers: Mutex<HashMap<String, ReplyConsumer>>,
}

impl ReplyRegistry {
    /// Registers a channel's reply consumer; returns its token.
    pub(crate) fn register(&self, channel: &Arc<ChannelCore>, consumer_tag: Arc<str>) -> String {
        let token = crate::names::reply_token();
        self.consumers
            .lock()
            .insert(token.clone(), (Arc::downgrade(channel), consumer_tag));
        token
    }

    /// Forgets a token (consumer cancelled or channel closed).
    pub(crate) fn unregister(&self, token: &str) {
        self.consumers.lock().remove(token);
    }

    /// The live channel and consumer tag behind `token`.
    pub(crate) fn lookup(&self, token: &str) -> Option<(Arc<ChannelCore>, Arc<str>)> {
        let map = self.consumers.lock();
        let (channel, tag) = map.get(token)?;
        Some((channel.upgrade()?, Arc::clone(tag)))
    }
}
