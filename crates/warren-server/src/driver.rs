//! The one tokio task shape every protocol front runs in: move bytes between a socket and a
//! sans-IO [`Session`], wake it for core events (its outbox) and timers, and nothing else.
//!
//! Memory per idle connection is kept small: the read buffer grows to [`READ_CHUNK`] only while
//! reads fill it and is released whenever it has been drained, and output buffers are taken,
//! written and dropped rather than kept at their high-water mark.

use crate::amqp::outbox::Outbox;
use bytes::BytesMut;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tracing::debug;

/// Read buffer size while a client is sending a lot.
pub const READ_CHUNK: usize = 64 * 1024;
/// Read buffer size for a quiet client (one small packet or frame at a time).
const READ_SMALL: usize = 2048;

/// What a protocol front's sans-IO state machine offers its driver. The driver calls, after
/// every wake-up: `handle_input` (bytes read) or `handle_timeout` (a deadline passed), then
/// `handle_outbox`, then writes what `transmit_buffer` holds.
pub trait Session {
    /// The outbox the core fills; the driver sleeps on its notifications.
    fn outbox(&self) -> &Arc<Outbox>;
    /// Handles every complete frame or packet in `buf`, leaving a partial one.
    fn handle_input(&mut self, buf: &mut BytesMut, now: Instant);
    /// Encodes what the core queued (deliveries, confirms, cancels).
    fn handle_outbox(&mut self, now: Instant);
    /// Bytes to send.
    fn transmit_buffer(&mut self) -> &mut BytesMut;
    /// True when the connection is over: flush, then drop the socket.
    fn is_closed(&self) -> bool;
    /// The next deadline for `handle_timeout`.
    fn poll_timeout(&self) -> Option<Instant>;
    /// Heartbeats, keep-alive, handshake and close timeouts.
    fn handle_timeout(&mut self, now: Instant);
    /// Server shutdown: close the connection the protocol's way.
    fn shutdown(&mut self, now: Instant);
    /// Output was written at `now`.
    fn on_transmit(&mut self, _now: Instant) {}
    /// False while the session must not read (e.g. a publisher blocked by a resource alarm).
    fn wants_input(&self) -> bool {
        true
    }
    /// The socket ended (for any reason); called once after the loop.
    fn connection_lost(&mut self, _now: Instant) {}
}

/// Runs `session` on `stream` until either side closes. `shutdown` turning true calls
/// [`Session::shutdown`]; above `max_pending_output` unwritten bytes the driver stops reading
/// until the client catches up.
pub async fn drive<S: Session>(
    stream: TcpStream,
    peer: SocketAddr,
    mut session: S,
    max_pending_output: usize,
    mut shutdown: watch::Receiver<bool>,
) {
    let (mut rd, mut wr) = stream.into_split();
    let outbox = Arc::clone(session.outbox());
    let mut rbuf = BytesMut::new();
    let mut wbuf = BytesMut::new();
    let mut busy = false;
    let mut shutting_down = *shutdown.borrow();
    if shutting_down {
        return;
    }
    loop {
        session.handle_outbox(Instant::now());
        let produced = std::mem::take(session.transmit_buffer());
        if wbuf.is_empty() {
            wbuf = produced;
        } else if !produced.is_empty() {
            wbuf.unsplit(produced);
        }
        if session.is_closed() {
            // Best effort: the client may already be gone.
            let _ = wr.write_all(&wbuf).await;
            let _ = wr.shutdown().await;
            break;
        }
        let want = if busy { READ_CHUNK } else { READ_SMALL };
        if rbuf.capacity() - rbuf.len() < want / 4 {
            rbuf.reserve(want);
        }
        let deadline = session.poll_timeout();
        tokio::select! {
            biased;
            changed = shutdown.changed(), if !shutting_down => {
                shutting_down = true;
                if changed.is_err() || *shutdown.borrow() {
                    session.shutdown(Instant::now());
                }
            }
            written = wr.write_buf(&mut wbuf), if !wbuf.is_empty() => {
                match written {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        session.on_transmit(Instant::now());
                        if wbuf.is_empty() {
                            wbuf = BytesMut::new();
                        }
                    }
                }
            }
            read = rd.read_buf(&mut rbuf),
                if wbuf.len() < max_pending_output && session.wants_input() =>
            {
                match read {
                    Ok(0) => break,
                    Ok(_) => {
                        // A read that filled most of the room asks for a bigger buffer next time.
                        busy = rbuf.capacity() - rbuf.len() < want / 4;
                        session.handle_input(&mut rbuf, Instant::now());
                        if rbuf.is_empty() {
                            rbuf = BytesMut::new();
                        }
                    }
                    Err(e) => {
                        debug!(%peer, error = %e, "read failed");
                        break;
                    }
                }
            }
            _ = outbox.notified() => {}
            _ = sleep_until(deadline), if deadline.is_some() => {
                session.handle_timeout(Instant::now());
            }
        }
    }
    session.connection_lost(Instant::now());
    debug!(%peer, "connection task done");
}

async fn sleep_until(deadline: Option<Instant>) {
    if let Some(d) = deadline {
        tokio::time::sleep_until(d.into()).await;
    }
}
