//! The tokio task that drives one AMQP connection: moves bytes between the socket and the
//! sans-IO [`AmqpConnection`], wakes it for core events and timers. No protocol logic here.

use super::connection::{AmqpConnection, AmqpSettings};
use bytes::BytesMut;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tracing::debug;
use warren_core::Broker;

/// Read buffer growth step.
const READ_CHUNK: usize = 64 * 1024;

/// Runs one connection until the client or the server closes it. `shutdown` turning true
/// closes it with 320 CONNECTION_FORCED. `max_pending_output` bounds unwritten output: above it
/// the task stops reading from the client until the client catches up.
pub async fn drive(
    stream: TcpStream,
    peer: SocketAddr,
    broker: Arc<Broker>,
    settings: AmqpSettings,
    max_pending_output: usize,
    mut shutdown: watch::Receiver<bool>,
) {
    let (mut rd, mut wr) = stream.into_split();
    let mut conn = AmqpConnection::new(broker, settings, peer, Instant::now());
    let outbox = Arc::clone(conn.outbox());
    let mut rbuf = BytesMut::with_capacity(READ_CHUNK);
    let mut wbuf = BytesMut::new();
    let mut shutting_down = *shutdown.borrow();
    if shutting_down {
        return;
    }
    loop {
        conn.handle_outbox();
        let produced = conn.transmit_buffer().split();
        if wbuf.is_empty() {
            wbuf = produced;
        } else {
            wbuf.unsplit(produced);
        }
        if conn.is_closed() {
            // Best effort: the client may already be gone.
            let _ = wr.write_all(&wbuf).await;
            let _ = wr.shutdown().await;
            break;
        }
        if rbuf.capacity() - rbuf.len() < READ_CHUNK / 4 {
            rbuf.reserve(READ_CHUNK);
        }
        let deadline = conn.poll_timeout();
        tokio::select! {
            biased;
            changed = shutdown.changed(), if !shutting_down => {
                shutting_down = true;
                if changed.is_err() || *shutdown.borrow() {
                    conn.shutdown(Instant::now());
                }
            }
            written = wr.write_buf(&mut wbuf), if !wbuf.is_empty() => {
                match written {
                    Ok(0) | Err(_) => break,
                    Ok(_) => conn.on_transmit(Instant::now()),
                }
            }
            // Not while a resource alarm blocks this publisher (connection.blocked).
            read = rd.read_buf(&mut rbuf), if wbuf.len() < max_pending_output && conn.wants_input() => {
                match read {
                    Ok(0) => break,
                    Ok(_) => conn.handle_input(&mut rbuf, Instant::now()),
                    Err(e) => {
                        debug!(%peer, error = %e, "read failed");
                        break;
                    }
                }
            }
            _ = outbox.notified() => {}
            _ = sleep_until(deadline), if deadline.is_some() => {
                conn.handle_timeout(Instant::now());
            }
        }
    }
    debug!(%peer, "connection task done");
    // Dropping `conn` closes its core channels: unacked messages go back to their queues.
}

async fn sleep_until(deadline: Option<Instant>) {
    if let Some(d) = deadline {
        tokio::time::sleep_until(d.into()).await;
    }
}
