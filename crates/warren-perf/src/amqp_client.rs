//! A minimal AMQP 0-9-1 client on `warren-amqp` and tokio: handshake, one channel, setup calls
//! that wait for their reply, and raw access to the socket for the hot paths.

use crate::error::PerfError;
use bytes::{Bytes, BytesMut};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use warren_amqp::{
    encode_method, ChannelOpen, ConnectionClose, ConnectionOpen, ConnectionStartOk,
    ConnectionTuneOk, FieldTable, FieldValue, Frame, FrameDecoder, Method, ShortStr,
    PROTOCOL_HEADER,
};

/// Frame size the tool asks for (and the largest it accepts before tuning).
pub const CLIENT_FRAME_MAX: u32 = 131_072;

/// How long a setup reply may take.
const REPLY_TIMEOUT: Duration = Duration::from_secs(30);

/// Where and as whom to connect.
#[derive(Debug, Clone)]
pub struct Target {
    /// `host:port`.
    pub addr: String,
    /// User name (PLAIN).
    pub user: String,
    /// Password (PLAIN).
    pub password: String,
    /// Virtual host.
    pub vhost: String,
}

/// The read side: socket half, buffer and frame decoder.
#[derive(Debug)]
pub struct Reader {
    /// The socket's read half.
    pub rd: OwnedReadHalf,
    /// Bytes read and not yet decoded.
    pub buf: BytesMut,
    /// The frame decoder (tuned `frame_max`).
    pub decoder: FrameDecoder,
}

impl Reader {
    /// Reads more bytes; end of stream is an error naming `while_doing`.
    pub async fn fill(&mut self, while_doing: &'static str) -> Result<usize, PerfError> {
        if self.buf.capacity() - self.buf.len() < 16 * 1024 {
            self.buf.reserve(64 * 1024);
        }
        let n = self
            .rd
            .read_buf(&mut self.buf)
            .await
            .map_err(PerfError::io("reading from the broker"))?;
        if n == 0 {
            return Err(PerfError::Closed { while_doing });
        }
        Ok(n)
    }

    /// The next whole frame, reading as needed.
    pub async fn next_frame(&mut self, while_doing: &'static str) -> Result<Frame, PerfError> {
        loop {
            if let Some(frame) = self.decoder.decode(&mut self.buf)? {
                return Ok(frame);
            }
            self.fill(while_doing).await?;
        }
    }

    /// The next method on any channel (heartbeats skipped); a close from the broker is an
    /// error.
    pub async fn next_method(&mut self, while_doing: &'static str) -> Result<Method, PerfError> {
        loop {
            match self.next_frame(while_doing).await? {
                Frame::Method { method, .. } => return check_close(method),
                Frame::Heartbeat => {}
                other => {
                    return Err(PerfError::Unexpected {
                        expected: while_doing,
                        got: other.kind().to_string(),
                    })
                }
            }
        }
    }
}

/// Turns a broker's `connection.close` / `channel.close` into an error.
pub fn check_close(method: Method) -> Result<Method, PerfError> {
    match method {
        Method::ConnectionClose(c) => Err(PerfError::BrokerClose {
            what: "connection",
            code: c.reply_code,
            text: String::from_utf8_lossy(c.reply_text.as_bytes()).into_owned(),
            class_id: c.class_id,
            method_id: c.method_id,
        }),
        Method::ChannelClose(c) => Err(PerfError::BrokerClose {
            what: "channel",
            code: c.reply_code,
            text: String::from_utf8_lossy(c.reply_text.as_bytes()).into_owned(),
            class_id: c.class_id,
            method_id: c.method_id,
        }),
        m => Ok(m),
    }
}

/// An open connection with channel 1 open.
#[derive(Debug)]
pub struct Conn {
    /// Read side.
    pub reader: Reader,
    /// The socket's write half.
    pub wr: OwnedWriteHalf,
    /// Negotiated frame size.
    pub frame_max: u32,
}

/// The channel every tool connection uses.
pub const CHANNEL: u16 = 1;

impl Conn {
    /// Connects, logs in with PLAIN, tunes (no heartbeats), opens the vhost and channel 1.
    pub async fn open(target: &Target, name: &str) -> Result<Conn, PerfError> {
        let stream = TcpStream::connect(&target.addr)
            .await
            .map_err(PerfError::io("connecting"))?;
        stream
            .set_nodelay(true)
            .map_err(PerfError::io("setting TCP_NODELAY"))?;
        let (rd, mut wr) = stream.into_split();
        wr.write_all(&PROTOCOL_HEADER)
            .await
            .map_err(PerfError::io("sending the protocol header"))?;
        let mut reader = Reader {
            rd,
            buf: BytesMut::with_capacity(64 * 1024),
            decoder: FrameDecoder::new(CLIENT_FRAME_MAX),
        };
        let mut conn_setup = Setup::default();
        match with_timeout(reader.next_method("waiting for connection.start")).await? {
            Method::ConnectionStart(_) => {}
            other => return Err(unexpected("connection.start", &other)),
        }
        let mut props = FieldTable::new();
        props.insert(
            "product",
            FieldValue::LongStr(Bytes::from_static(b"warren-perf")),
        )?;
        props.insert(
            "connection_name",
            FieldValue::LongStr(Bytes::from(name.to_owned())),
        )?;
        let mut caps = FieldTable::new();
        caps.insert("publisher_confirms", FieldValue::Bool(true))?;
        caps.insert("consumer_cancel_notify", FieldValue::Bool(true))?;
        props.insert("capabilities", FieldValue::Table(caps))?;
        let mut response = Vec::with_capacity(target.user.len() + target.password.len() + 2);
        response.push(0);
        response.extend_from_slice(target.user.as_bytes());
        response.push(0);
        response.extend_from_slice(target.password.as_bytes());
        conn_setup.push(
            0,
            &ConnectionStartOk {
                client_properties: props,
                mechanism: ShortStr::from_static("PLAIN"),
                response: Bytes::from(response),
                locale: ShortStr::from_static("en_US"),
            }
            .into(),
        )?;
        conn_setup.flush(&mut wr).await?;
        let tune = match with_timeout(reader.next_method("waiting for connection.tune")).await? {
            Method::ConnectionTune(t) => t,
            other => return Err(unexpected("connection.tune", &other)),
        };
        let frame_max = match tune.frame_max {
            0 => CLIENT_FRAME_MAX,
            n => n.min(CLIENT_FRAME_MAX),
        };
        reader.decoder.set_frame_max(frame_max);
        conn_setup.push(
            0,
            &ConnectionTuneOk {
                channel_max: tune.channel_max,
                frame_max,
                heartbeat: 0,
            }
            .into(),
        )?;
        conn_setup.push(
            0,
            &ConnectionOpen {
                virtual_host: ShortStr::try_from(target.vhost.as_str())?,
                ..ConnectionOpen::default()
            }
            .into(),
        )?;
        conn_setup.flush(&mut wr).await?;
        match with_timeout(reader.next_method("waiting for connection.open-ok")).await? {
            Method::ConnectionOpenOk(_) => {}
            other => return Err(unexpected("connection.open-ok", &other)),
        }
        let mut conn = Conn {
            reader,
            wr,
            frame_max,
        };
        conn.call(ChannelOpen::default().into(), "channel.open-ok", |m| {
            matches!(m, Method::ChannelOpenOk(_))
        })
        .await?;
        Ok(conn)
    }

    /// Sends `method` on channel 1 and waits for the reply `is_reply` accepts.
    pub async fn call(
        &mut self,
        method: Method,
        expected: &'static str,
        is_reply: impl Fn(&Method) -> bool,
    ) -> Result<Method, PerfError> {
        self.send(&method).await?;
        let reply = with_timeout(self.reader.next_method(expected)).await?;
        if is_reply(&reply) {
            Ok(reply)
        } else {
            Err(unexpected(expected, &reply))
        }
    }

    /// Sends one method on channel 1 without waiting.
    pub async fn send(&mut self, method: &Method) -> Result<(), PerfError> {
        let mut buf = BytesMut::new();
        encode_method(&mut buf, CHANNEL, method, self.frame_max)?;
        self.wr
            .write_all(&buf)
            .await
            .map_err(PerfError::io("writing to the broker"))
    }

    /// Closes the connection politely (best effort, bounded wait).
    pub async fn close(mut self) {
        let close: Method = ConnectionClose {
            reply_code: 200,
            reply_text: ShortStr::from_static("bye"),
            class_id: 0,
            method_id: 0,
        }
        .into();
        let mut buf = BytesMut::new();
        if encode_method(&mut buf, 0, &close, self.frame_max).is_err() {
            return;
        }
        if self.wr.write_all(&buf).await.is_err() {
            return;
        }
        let wait = async {
            loop {
                match self.reader.next_frame("closing").await {
                    Ok(Frame::Method {
                        method: Method::ConnectionCloseOk(_),
                        ..
                    })
                    | Err(_) => break,
                    Ok(_) => {}
                }
            }
        };
        let _ = tokio::time::timeout(Duration::from_secs(2), wait).await;
    }
}

/// Methods collected to go out in one write.
#[derive(Debug, Default)]
struct Setup {
    buf: BytesMut,
}

impl Setup {
    fn push(&mut self, channel: u16, method: &Method) -> Result<(), PerfError> {
        encode_method(&mut self.buf, channel, method, CLIENT_FRAME_MAX)?;
        Ok(())
    }

    async fn flush(&mut self, wr: &mut OwnedWriteHalf) -> Result<(), PerfError> {
        wr.write_all(&self.buf)
            .await
            .map_err(PerfError::io("writing to the broker"))?;
        self.buf.clear();
        Ok(())
    }
}

async fn with_timeout<T>(
    f: impl std::future::Future<Output = Result<T, PerfError>>,
) -> Result<T, PerfError> {
    tokio::time::timeout(REPLY_TIMEOUT, f)
        .await
        .map_err(|_| PerfError::Timeout("a reply from the broker"))?
}

fn unexpected(expected: &'static str, got: &Method) -> PerfError {
    PerfError::Unexpected {
        expected,
        got: got.name().to_string(),
    }
}
