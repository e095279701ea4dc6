//! What every Car2Home device example shares: where the broker is, AMQP and MQTT connections,
//! and sending and reading Car2Home messages (built with `warren-car2home`).
//!
//! The broker's address comes from the command line (`--amqp URL`, `--mqtt HOST:PORT`), else
//! the environment (`WARREN_AMQP_URL`, `WARREN_MQTT_ADDR`), else the defaults of
//! `cargo run --release`: `amqp://guest:guest@127.0.0.1:5672/%2f` and `127.0.0.1:1883`.

// Each example uses a different part of this module.
#![allow(dead_code)]

use std::error::Error;
use std::time::Duration;

use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use lapin::publisher_confirm::Confirmation;
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties};
use warren_car2home::topology::TOPIC_EXCHANGE;
use warren_car2home::{Device, Message, MessageType, RoutingKey};

/// The error type of the examples: anything, with a message.
pub type BoxError = Box<dyn Error + Send + Sync>;

/// The default AMQP URL (the broker of `cargo run --release`).
pub const DEFAULT_AMQP: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";
/// The default MQTT address.
pub const DEFAULT_MQTT: &str = "127.0.0.1:1883";
/// How long to wait for a reply before giving up.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(10);

/// Where the broker listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    /// AMQP URL with user, password and vhost.
    pub amqp: String,
    /// MQTT host.
    pub mqtt_host: String,
    /// MQTT port.
    pub mqtt_port: u16,
}

impl Endpoints {
    /// From `--amqp URL` / `--mqtt HOST:PORT` in `args`, then the environment, then the defaults.
    /// Returns the other arguments too.
    pub fn parse(
        args: impl IntoIterator<Item = String>,
    ) -> Result<(Endpoints, Vec<String>), BoxError> {
        let mut amqp = std::env::var("WARREN_AMQP_URL").ok();
        let mut mqtt = std::env::var("WARREN_MQTT_ADDR").ok();
        let mut rest = Vec::new();
        let mut args = args.into_iter();
        while let Some(a) = args.next() {
            match a.as_str() {
                "--amqp" => amqp = Some(args.next().ok_or("--amqp needs a URL")?),
                "--mqtt" => mqtt = Some(args.next().ok_or("--mqtt needs HOST:PORT")?),
                _ => rest.push(a),
            }
        }
        let mqtt = mqtt.unwrap_or_else(|| DEFAULT_MQTT.to_owned());
        let (host, port) = mqtt
            .rsplit_once(':')
            .ok_or_else(|| format!("MQTT address {mqtt:?} is not HOST:PORT"))?;
        Ok((
            Endpoints {
                amqp: amqp.unwrap_or_else(|| DEFAULT_AMQP.to_owned()),
                mqtt_host: host.to_owned(),
                mqtt_port: port
                    .parse()
                    .map_err(|e| format!("MQTT port {port:?}: {e}"))?,
            },
            rest,
        ))
    }
}

/// The value following `flag` in `args`, parsed; `default` when absent.
pub fn option<T: std::str::FromStr>(args: &[String], flag: &str, default: T) -> Result<T, BoxError>
where
    T::Err: std::fmt::Display,
{
    let Some(i) = args.iter().position(|a| a == flag) else {
        return Ok(default);
    };
    let value = args
        .get(i + 1)
        .ok_or_else(|| format!("{flag} needs a value"))?;
    value
        .parse()
        .map_err(|e| format!("{flag} {value:?}: {e}").into())
}

/// An AMQP connection and a channel in confirm mode (on the current tokio runtime).
pub async fn amqp(endpoints: &Endpoints) -> Result<(Connection, Channel), BoxError> {
    let props = ConnectionProperties::default()
        .with_executor(tokio_executor_trait::Tokio::current())
        .with_reactor(tokio_reactor_trait::Tokio::current());
    let conn = Connection::connect(&endpoints.amqp, props).await?;
    let ch = conn.create_channel().await?;
    ch.confirm_select(ConfirmSelectOptions::default()).await?;
    Ok((conn, ch))
}

/// The JSON body of a message.
pub fn body(msg: &Message) -> Result<Vec<u8>, BoxError> {
    Ok(serde_json::to_vec(msg)?)
}

/// Publishes `msg` on `webos.topic` to `to` and waits for the broker's confirm: a nack (the
/// broker's Car2Home validation refused it) is an error.
pub async fn send(
    ch: &Channel,
    to: Device,
    kind: MessageType,
    msg: &Message,
) -> Result<(), BoxError> {
    let key = RoutingKey::new(to, kind).to_string();
    publish(ch, TOPIC_EXCHANGE, &key, &body(msg)?).await
}

/// Publishes raw bytes and waits for the confirm; a nack is an error.
pub async fn publish(ch: &Channel, exchange: &str, key: &str, body: &[u8]) -> Result<(), BoxError> {
    let props = BasicProperties::default().with_content_type("application/json".into());
    let confirm = ch
        .basic_publish(exchange, key, BasicPublishOptions::default(), body, props)
        .await?
        .await?;
    match confirm {
        Confirmation::Nack(_) => {
            Err(format!("the broker refused the message on {exchange} {key} (nack)").into())
        }
        _ => Ok(()),
    }
}

/// Reads a received body as a Car2Home message (the broker validated it on `webos.topic`;
/// a device still checks what it acts on).
pub fn read(routing_key: &str, body: &[u8]) -> Result<Message, BoxError> {
    Ok(warren_car2home::validate(routing_key, body)?.message)
}

/// An MQTT client (MQTT 3.1.1, clean session) and its event loop.
pub fn mqtt(endpoints: &Endpoints, client_id: &str) -> (rumqttc::AsyncClient, rumqttc::EventLoop) {
    let mut o =
        rumqttc::MqttOptions::new(client_id, endpoints.mqtt_host.clone(), endpoints.mqtt_port);
    o.set_keep_alive(Duration::from_secs(30));
    o.set_clean_session(true);
    rumqttc::AsyncClient::new(o, 64)
}

/// The MQTT topic of a routing key: the front bridges `/` and `.` (`webos/server/info`).
pub fn topic(to: Device, kind: MessageType) -> String {
    RoutingKey::new(to, kind).to_string().replace('.', "/")
}
