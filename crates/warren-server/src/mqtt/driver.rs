//! The tokio task that drives one MQTT connection: moves bytes between the socket and the
//! sans-IO [`MqttSession`], wakes it for core events and timers. No protocol logic here.

use super::session::MqttSession;
use super::shared::MqttShared;
use bytes::BytesMut;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tracing::debug;

/// Read buffer growth step.
const READ_CHUNK: usize = 64 * 1024;

/// Runs one connection until the client or the server closes it. `shutdown` turning true
/// closes it (5.0 clients get DISCONNECT 0x8B). `max_pending_output` bounds unwritten output:
/// above it the task stops reading from the client until the client catches up.
pub async fn drive(
    stream: TcpStream,
    peer: SocketAddr,
    shared: Arc<MqttShared>,
    max_pending_output: usize,
    mut shutdown: watch::Receiver<bool>,
) {
    let (mut rd, mut wr) = stream.into_split();
    let mut session = MqttSession::new(shared, peer, Instant::now());
    let outbox = Arc::clone(session.outbox());
    let mut rbuf = BytesMut::with_capacity(READ_CHUNK);
    let mut wbuf = BytesMut::new();
    let mut shutting_down = *shutdown.borrow();
    if shutting_down {
        return;
    }
    loop {
        session.handle_outbox(Instant::now());
        let produced = session.transmit_buffer().split();
        if wbuf.is_empty() {
            wbuf = produced;
        } else {
            wbuf.unsplit(produced);
        }
        if session.is_closed() {
            // Best effort: the client may already be gone.
            let _ = wr.write_all(&wbuf).await;
            let _ = wr.shutdown().await;
            break;
        }
        if rbuf.capacity() - rbuf.len() < READ_CHUNK / 4 {
            rbuf.reserve(READ_CHUNK);
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
                if matches!(written, Ok(0) | Err(_)) {
                    break;
                }
            }
            read = rd.read_buf(&mut rbuf), if wbuf.len() < max_pending_output => {
                match read {
                    Ok(0) => break,
                    Ok(_) => session.handle_input(&mut rbuf, Instant::now()),
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
    // The socket ended without DISCONNECT (a no-op when the session already closed): the will.
    session.connection_lost(Instant::now());
    debug!(%peer, "MQTT connection task done");
}

async fn sleep_until(deadline: Option<Instant>) {
    if let Some(d) = deadline {
        tokio::time::sleep_until(d.into()).await;
    }
}
