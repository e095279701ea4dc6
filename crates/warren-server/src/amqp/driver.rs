//! The tokio task of one AMQP connection: [`crate::driver::drive`] around the sans-IO
//! [`AmqpConnection`]. No protocol logic here.

use super::connection::{AmqpConnection, AmqpSettings};
use super::outbox::Outbox;
use crate::driver::Session;
use bytes::BytesMut;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;
use tokio::net::TcpStream;
use tokio::sync::watch;
use warren_core::Broker;

impl Session for AmqpConnection {
    fn outbox(&self) -> &Arc<Outbox> {
        AmqpConnection::outbox(self)
    }
    fn handle_input(&mut self, buf: &mut BytesMut, now: Instant) {
        AmqpConnection::handle_input(self, buf, now);
    }
    fn handle_outbox(&mut self, _now: Instant) {
        AmqpConnection::handle_outbox(self);
    }
    fn transmit_buffer(&mut self) -> &mut BytesMut {
        AmqpConnection::transmit_buffer(self)
    }
    fn is_closed(&self) -> bool {
        AmqpConnection::is_closed(self)
    }
    fn poll_timeout(&self) -> Option<Instant> {
        AmqpConnection::poll_timeout(self)
    }
    fn handle_timeout(&mut self, now: Instant) {
        AmqpConnection::handle_timeout(self, now);
    }
    fn shutdown(&mut self, now: Instant) {
        AmqpConnection::shutdown(self, now);
    }
    fn on_transmit(&mut self, now: Instant) {
        AmqpConnection::on_transmit(self, now);
    }
    fn wants_input(&self) -> bool {
        AmqpConnection::wants_input(self)
    }
}

/// Runs one connection until the client or the server closes it. `shutdown` turning true
/// closes it with 320 CONNECTION_FORCED. Dropping the connection at the end closes its core
/// channels: unacked messages go back to their queues.
///
/// A plain function returning the driver's future (not an `async fn` wrapping it), so the
/// spawned task holds the connection once rather than also in a wrapper's state.
pub fn drive(
    stream: TcpStream,
    peer: SocketAddr,
    broker: Arc<Broker>,
    settings: AmqpSettings,
    max_pending_output: usize,
    shutdown: watch::Receiver<bool>,
) -> impl Future<Output = ()> + Send + 'static {
    let conn = AmqpConnection::new(broker, settings, peer, Instant::now());
    crate::driver::drive(stream, peer, conn, max_pending_output, shutdown)
}
