//! warren-amqp (work in progress).
