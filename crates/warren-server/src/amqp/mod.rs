//! The AMQP 0-9-1 front: a sans-IO connection state machine over `warren-amqp` frames and
//! `warren-core` operations, and the tokio driver that moves its bytes.

pub mod connection;
pub mod convert;
pub mod driver;
pub mod outbox;

pub use connection::{AmqpConnection, AmqpSettings};
