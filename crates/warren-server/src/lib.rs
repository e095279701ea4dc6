//! The Warren server: listeners, per-connection drivers, configuration and signals around
//! `warren-core`.
//!
//! It holds no broker logic: everything a client can observe about queues and exchanges is
//! decided by the core; the protocol fronts (here the AMQP 0-9-1 one) translate frames into core
//! operations in sans-IO state machines, and tokio tasks only move bytes, timers and events.
//!
//! ```no_run
//! // The `warren` binary in a few lines: the embedded configuration, run until SIGTERM/Ctrl-C.
//! let config = warren_server::config::Config::embedded()?;
//! warren_server::run(config, None)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod alarms;
pub mod amqp;
pub mod config;
pub mod ctl;
pub mod driver;
pub mod logging;
pub mod management;
pub mod mqtt;
pub mod setup;

use amqp::AmqpSettings;
use config::Config;
use mqtt::{MqttSettings, MqttShared};
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tracing::{info, warn};
use warren_core::Broker;

/// Why the server could not start or run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// A listener could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: std::net::SocketAddr,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The runtime or a signal handler could not be set up.
    #[error("runtime: {0}")]
    Runtime(std::io::Error),
    /// The configuration asked for something the core refused.
    #[error("setting up the broker: {0}")]
    Setup(warren_core::CoreError),
    /// A definitions file could not be read or parsed.
    #[error("definitions {path}: {reason}")]
    Definitions {
        /// The file.
        path: String,
        /// What was wrong.
        reason: String,
    },
    /// The data directory could not be opened, recovered or written.
    #[error("storage: {0}")]
    Storage(warren_core::store::StoreError),
}

/// How long connections get to finish closing at shutdown.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Builds the runtime and serves until SIGTERM or Ctrl-C.
pub fn run(config: Config, definitions: Option<&Path>) -> Result<(), ServerError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(ServerError::Runtime)?;
    runtime.block_on(serve(config, definitions))
}

/// The AMQP front's settings from the configuration.
pub fn amqp_settings(config: &Config) -> AmqpSettings {
    AmqpSettings {
        frame_max: config.amqp.frame_max,
        channel_max: config.amqp.channel_max,
        heartbeat: config.amqp.heartbeat,
        max_message_size: config.amqp.max_message_size,
        handshake_timeout: Duration::from_secs(config.amqp.handshake_timeout),
        outbox_limit: 4096,
    }
}

/// The MQTT front's settings from the configuration.
pub fn mqtt_settings(config: &Config) -> MqttSettings {
    let m = &config.mqtt;
    MqttSettings {
        allow_anonymous: m.allow_anonymous,
        default_user: m.default_user.clone(),
        default_pass: m.default_pass.clone(),
        vhost: m.vhost.clone(),
        exchange: m.exchange.clone(),
        subscription_ttl: (m.subscription_ttl != 0)
            .then(|| Duration::from_millis(m.subscription_ttl)),
        prefetch: m.prefetch,
        max_packet_size: m.max_packet_size,
        receive_maximum: m.receive_maximum,
        topic_alias_maximum: m.topic_alias_maximum,
        max_keepalive: m.max_keepalive,
        max_session_expiry: m.max_session_expiry,
        connect_timeout: Duration::from_secs(m.connect_timeout),
        outbox_limit: 4096,
    }
}

/// How often expired MQTT sessions, delayed wills and expired retained messages are handled.
const MQTT_SWEEP_INTERVAL: Duration = Duration::from_millis(250);

/// How often the core's time-based work runs ([`Broker::tick`]: expired messages at queue
/// heads, queues past their `x-expires`). Deliveries and `basic.get` check TTLs themselves;
/// this only bounds how late counts fall in queues nobody consumes from.
const BROKER_TICK_INTERVAL: Duration = Duration::from_millis(100);

/// The wall clock the core reads between ticks (ms since the Unix epoch, RabbitMQ's time base
/// for message expiry and `x-death` timestamps).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl warren_core::Clock for SystemClock {
    fn now_ms(&self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }
}

/// Serves the configured listeners until SIGTERM or Ctrl-C, then closes every connection
/// (320 CONNECTION_FORCED) and returns.
///
/// Prints `LISTENING <protocol> <address>` on stdout for each bound listener, then `READY`:
/// tests and scripts that start the broker on port 0 read the real ports from there.
pub async fn serve(config: Config, definitions: Option<&Path>) -> Result<(), ServerError> {
    // With `storage.data_dir`: the durable store, recovered, attached, closed at the end.
    let built = setup::build(&config, definitions)?;
    let broker = Arc::clone(&built.broker);
    LISTENERS.write().clear();
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let mut tasks = JoinSet::new();
    // Message TTL, dead-lettering on expiry, queue expiry.
    broker.set_clock(Arc::new(SystemClock));
    tasks.spawn(tick_broker(Arc::clone(&broker), shutdown_rx.clone()));
    // Memory and disk alarms: block publishers (connection.blocked) while a limit is exceeded.
    tasks.spawn(alarms::monitor(
        Arc::clone(&broker),
        alarms::AlarmLimits::from_config(&config),
        built.store.clone(),
        shutdown_rx.clone(),
    ));
    let settings = amqp_settings(&config);
    for addr in &config.amqp.listeners {
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| ServerError::Bind {
                addr: *addr,
                source,
            })?;
        let local = listener.local_addr().map_err(ServerError::Runtime)?;
        info!(%local, "AMQP listener");
        announce(&format!("LISTENING amqp {local}"));
        tasks.spawn(accept_amqp(
            listener,
            Arc::clone(&broker),
            settings.clone(),
            config.amqp.max_pending_output,
            config.amqp.nodelay,
            shutdown_rx.clone(),
        ));
    }
    if !config.mqtt.listeners.is_empty() {
        let shared = MqttShared::with_store(
            Arc::clone(&broker),
            mqtt_settings(&config),
            std::time::Instant::now(),
            built.store.clone(),
        );
        for addr in &config.mqtt.listeners {
            let listener = TcpListener::bind(addr)
                .await
                .map_err(|source| ServerError::Bind {
                    addr: *addr,
                    source,
                })?;
            let local = listener.local_addr().map_err(ServerError::Runtime)?;
            info!(%local, "MQTT listener");
            announce(&format!("LISTENING mqtt {local}"));
            tasks.spawn(accept_mqtt(
                listener,
                Arc::clone(&shared),
                config.amqp.max_pending_output,
                config.mqtt.nodelay,
                shutdown_rx.clone(),
            ));
        }
        tasks.spawn(sweep_mqtt(shared, shutdown_rx.clone()));
    }
    // Management API + web UI, Prometheus, and the rate sampler they read.
    let stop = Arc::new(tokio::sync::Notify::new());
    let m = &config.management;
    if m.enabled || m.prometheus_enabled {
        let stats = Arc::new(management::stats::Stats::new(m.sample_history));
        let state = Arc::new(management::Management::new(
            Arc::clone(&broker),
            Arc::clone(&stats),
            Arc::clone(&stop),
            Arc::clone(&LISTENERS),
        ));
        tasks.spawn(management::sample(
            Arc::clone(&broker),
            stats,
            Duration::from_secs(m.sample_interval),
            shutdown_rx.clone(),
        ));
        let http = m
            .listeners
            .iter()
            .filter(|_| m.enabled)
            .map(|a| (a, "management"));
        let prom = m
            .prometheus_listeners
            .iter()
            .filter(|_| m.prometheus_enabled)
            .map(|a| (a, "prometheus"));
        for (addr, kind) in http.chain(prom) {
            let listener = TcpListener::bind(addr)
                .await
                .map_err(|source| ServerError::Bind {
                    addr: *addr,
                    source,
                })?;
            let local = listener.local_addr().map_err(ServerError::Runtime)?;
            info!(%local, "{kind} listener");
            announce(&format!("LISTENING {kind} {local}"));
            if kind == "management" {
                tasks.spawn(management::serve(
                    listener,
                    Arc::clone(&state),
                    shutdown_rx.clone(),
                ));
            } else {
                tasks.spawn(management::serve_prometheus(
                    listener,
                    Arc::clone(&state),
                    shutdown_rx.clone(),
                ));
            }
        }
    }
    announce("READY");
    tokio::select! {
        r = wait_for_signal() => r?,
        _ = stop.notified() => info!("stop requested through the management API"),
    }
    info!("shutting down");
    let _ = shutdown_tx.send(true);
    let drain = async { while tasks.join_next().await.is_some() {} };
    if tokio::time::timeout(SHUTDOWN_GRACE, drain).await.is_err() {
        warn!("connections did not close in time");
    }
    built.close();
    Ok(())
}

/// Every listener announced with a `LISTENING` line, as (protocol, address): what the
/// management API shows in `/api/overview` and checks in its health checks.
static LISTENERS: std::sync::LazyLock<management::Listeners> =
    std::sync::LazyLock::new(Default::default);

fn announce(line: &str) {
    if let Some((protocol, addr)) = line
        .strip_prefix("LISTENING ")
        .and_then(|r| r.split_once(' '))
    {
        if let Ok(addr) = addr.parse() {
            LISTENERS.write().push((protocol.to_owned(), addr));
        }
    }
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// Accepts AMQP connections until shutdown; waits for its connections to finish.
pub async fn accept_amqp(
    listener: TcpListener,
    broker: Arc<Broker>,
    settings: AmqpSettings,
    max_pending_output: usize,
    nodelay: bool,
    shutdown: watch::Receiver<bool>,
) {
    accept(listener, nodelay, shutdown, |stream, peer, shutdown| {
        amqp::driver::drive(
            stream,
            peer,
            Arc::clone(&broker),
            settings.clone(),
            max_pending_output,
            shutdown,
        )
    })
    .await;
}

/// Accepts MQTT connections until shutdown; waits for its connections to finish.
pub async fn accept_mqtt(
    listener: TcpListener,
    shared: Arc<MqttShared>,
    max_pending_output: usize,
    nodelay: bool,
    shutdown: watch::Receiver<bool>,
) {
    accept(listener, nodelay, shutdown, |stream, peer, shutdown| {
        mqtt::driver::drive(
            stream,
            peer,
            Arc::clone(&shared),
            max_pending_output,
            shutdown,
        )
    })
    .await;
}

/// The accept loop every listener runs: one task per connection (made by `connection`), until
/// `shutdown`; then the listener closes and the loop waits for its connections to finish.
async fn accept<F>(
    listener: TcpListener,
    nodelay: bool,
    mut shutdown: watch::Receiver<bool>,
    mut connection: impl FnMut(tokio::net::TcpStream, std::net::SocketAddr, watch::Receiver<bool>) -> F,
) where
    F: std::future::Future<Output = ()> + Send + 'static,
{
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            _ = shutdown.changed() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    if nodelay {
                        let _ = stream.set_nodelay(true);
                    }
                    conns.spawn(connection(stream, peer, shutdown.clone()));
                }
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning.
                    warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    drop(listener);
    while conns.join_next().await.is_some() {}
}

/// Runs [`Broker::tick`] on the [`SystemClock`] every 100 ms until `shutdown` changes: what
/// [`serve`] runs for its broker (with `broker.set_clock(Arc::new(SystemClock))`), and what a
/// broker composed by hand needs for message TTL, dead-lettering on expiry and `x-expires`.
pub async fn tick_broker(broker: Arc<Broker>, mut shutdown: watch::Receiver<bool>) {
    use warren_core::Clock;
    let mut tick = tokio::time::interval(BROKER_TICK_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.changed() => break,
            _ = tick.tick() => broker.tick(SystemClock.now_ms()),
        }
    }
}

/// Runs [`MqttShared::sweep`] periodically until shutdown.
async fn sweep_mqtt(shared: Arc<MqttShared>, mut shutdown: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(MQTT_SWEEP_INTERVAL);
    loop {
        tokio::select! {
            _ = shutdown.changed() => break,
            _ = tick.tick() => shared.sweep(std::time::Instant::now()),
        }
    }
}

async fn wait_for_signal() -> Result<(), ServerError> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate()).map_err(ServerError::Runtime)?;
        tokio::select! {
            _ = term.recv() => {}
            r = tokio::signal::ctrl_c() => r.map_err(ServerError::Runtime)?,
        }
        Ok(())
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await.map_err(ServerError::Runtime)
    }
}
