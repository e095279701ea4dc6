//! A minimal broker composed by hand: the core (`warren-core`), a topology declared in code, and
//! the AMQP 0-9-1 and MQTT listeners of `warren-server` — no configuration file, no management.
//!
//! ```sh
//! cargo run -p warren-examples --example broker                 # AMQP :5672, MQTT :1883
//! cargo run -p warren-examples --example broker -- 127.0.0.1:0 127.0.0.1:0   # any free ports
//! ```
//!
//! pika, aio-pika, lapin, paho-mqtt and mosquitto clients connect as `guest`/`guest` (from
//! loopback). An MQTT publish to `home/kitchen/light` and an AMQP publish to exchange `home` with
//! key `home.kitchen.light` both land in queue `lights`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::TcpListener;
use tokio::sync::watch;
use warren_core::{
    Broker, BrokerConfig, CoreError, Destination, ExchangeKind, ExchangeOptions, FieldTable,
    QueueOptions,
};
use warren_server::amqp::AmqpSettings;
use warren_server::mqtt::{MqttSettings, MqttShared};

/// The application's topology: a topic exchange `home` and a queue of light commands.
pub fn topology(broker: &Broker) -> Result<(), CoreError> {
    let home = ExchangeOptions::new(ExchangeKind::Topic).durable(true);
    broker.declare_exchange("/", "home", home)?;
    broker.declare_queue("/", "lights", QueueOptions::default().durable(true))?;
    let lights = Destination::Queue("lights".into());
    broker.bind("/", "home", &lights, "home.*.light", &FieldTable::new())
}

/// Binds the listeners, prints `LISTENING <protocol> <address>` for each, and returns the bound
/// (AMQP, MQTT) addresses and a future that serves until `shutdown` turns true.
pub async fn start(
    broker: Arc<Broker>,
    amqp: SocketAddr,
    mqtt: SocketAddr,
    shutdown: watch::Receiver<bool>,
) -> std::io::Result<(
    SocketAddr,
    SocketAddr,
    impl std::future::Future<Output = ()>,
)> {
    let amqp = TcpListener::bind(amqp).await?;
    let mqtt = TcpListener::bind(mqtt).await?;
    let bound = (amqp.local_addr()?, mqtt.local_addr()?);
    println!("LISTENING amqp {}", bound.0);
    println!("LISTENING mqtt {}", bound.1);
    // MQTT publishes go to `home` (topic `a/b/c` is routing key `a.b.c`).
    let mqtt_settings = MqttSettings {
        exchange: "home".into(),
        ..MqttSettings::default()
    };
    let shared = MqttShared::new(Arc::clone(&broker), mqtt_settings, Instant::now());
    let max_pending_output = 1 << 20; // bytes queued for a slow client before it is paused
                                      // Message TTLs and queue expiry: the core reads this clock and is ticked periodically.
    broker.set_clock(Arc::new(warren_server::SystemClock));
    let ticking = warren_server::tick_broker(Arc::clone(&broker), shutdown.clone());
    let amqp = warren_server::accept_amqp(
        amqp,
        broker,
        AmqpSettings::default(),
        max_pending_output,
        true,
        shutdown.clone(),
    );
    let mqtt = warren_server::accept_mqtt(
        mqtt,
        Arc::clone(&shared),
        max_pending_output,
        true,
        shutdown.clone(),
    );
    // Expired MQTT sessions and delayed wills are handled by a periodic sweep.
    let sweep = async move {
        let mut shutdown = shutdown;
        let mut tick = tokio::time::interval(Duration::from_millis(250));
        loop {
            tokio::select! {
                _ = shutdown.changed() => break,
                _ = tick.tick() => shared.sweep(Instant::now()),
            }
        }
    };
    Ok((bound.0, bound.1, async move {
        tokio::join!(amqp, mqtt, sweep, ticking);
    }))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let amqp = args.next().unwrap_or_else(|| "127.0.0.1:5672".into());
    let mqtt = args.next().unwrap_or_else(|| "127.0.0.1:1883".into());
    // vhost `/`, user guest/guest with full permissions, the `amq.*` exchanges.
    let broker = Arc::new(Broker::with_defaults(BrokerConfig::default()));
    topology(&broker)?;
    let (stop, shutdown) = watch::channel(false);
    let (_, _, serving) = start(broker, amqp.parse()?, mqtt.parse()?, shutdown).await?;
    let serving = tokio::spawn(serving);
    tokio::signal::ctrl_c().await?;
    stop.send(true)?;
    serving.await?;
    Ok(())
}
