//! The tokio task of one MQTT connection: [`crate::driver::drive`] around the sans-IO
//! [`MqttSession`]. No protocol logic here.

use super::session::MqttSession;
use super::shared::MqttShared;
use crate::amqp::outbox::Outbox;
use crate::driver::Session;
use bytes::BytesMut;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;
use tokio::net::TcpStream;
use tokio::sync::watch;

impl Session for MqttSession {
    fn outbox(&self) -> &Arc<Outbox> {
        MqttSession::outbox(self)
    }
    fn handle_input(&mut self, buf: &mut BytesMut, now: Instant) {
        MqttSession::handle_input(self, buf, now);
    }
    fn handle_outbox(&mut self, now: Instant) {
        MqttSession::handle_outbox(self, now);
    }
    fn transmit_buffer(&mut self) -> &mut BytesMut {
        MqttSession::transmit_buffer(self)
    }
    fn is_closed(&self) -> bool {
        MqttSession::is_closed(self)
    }
    fn poll_timeout(&self) -> Option<Instant> {
        MqttSession::poll_timeout(self)
    }
    fn handle_timeout(&mut self, now: Instant) {
        MqttSession::handle_timeout(self, now);
    }
    fn shutdown(&mut self, now: Instant) {
        MqttSession::shutdown(self, now);
    }
    fn wants_input(&self) -> bool {
        MqttSession::wants_input(self)
    }
    /// The socket ended without DISCONNECT (a no-op when the session already closed): the will.
    fn connection_lost(&mut self, now: Instant) {
        MqttSession::connection_lost(self, now);
    }
}

/// Runs one connection until the client or the server closes it. `shutdown` turning true
/// closes it (5.0 clients get DISCONNECT 0x8B). `max_pending_output` bounds unwritten output:
/// above it the driver stops reading from the client until the client catches up.
///
/// A plain function returning the driver's future (not an `async fn` wrapping it), so the
/// spawned task holds the session once rather than also in a wrapper's state.
pub fn drive(
    stream: TcpStream,
    peer: SocketAddr,
    shared: Arc<MqttShared>,
    max_pending_output: usize,
    shutdown: watch::Receiver<bool>,
) -> impl Future<Output = ()> + Send + 'static {
    let session = MqttSession::new(shared, peer, Instant::now());
    crate::driver::drive(stream, peer, session, max_pending_output, shutdown)
}
