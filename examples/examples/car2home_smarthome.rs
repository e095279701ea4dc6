//! The Car2Home smart-home board, Arduino style, over MQTT: every interval it publishes its
//! sensor readings to the server at QoS 0 (`webos/server/info`, which the broker's MQTT front
//! turns into routing key `webos.server.info` on `webos.topic`), and it obeys the `appliance`
//! commands it gets on `webos/smarthome/+`, answering each with an `appliance_state`. Uses
//! `warren-car2home` and rumqttc.
//!
//! ```sh
//! cargo run -p warren-examples --example car2home_smarthome -- [--mqtt HOST:PORT] [--rounds N] [--interval-ms 1000]
//! ```
//!
//! The simulated room warms up by 3 °C per round from 24 °C, so the server switches the air
//! conditioner on in the third round.

#[path = "car2home_common/mod.rs"]
pub mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::{BoxError, Endpoints};
use rumqttc::{Event, Packet, QoS};
use warren_car2home::payload::{ApplianceControl, ApplianceState, SensorKind, SensorReport};
use warren_car2home::{Command, Device, Message, MessageType};

/// The board's appliances and their state.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Board {
    /// Appliance name → its state.
    pub appliances: BTreeMap<String, ApplianceState>,
}

impl Board {
    /// Obeys a command and returns the new state to report.
    pub fn obey(&mut self, cmd: &ApplianceControl) -> ApplianceState {
        let state = ApplianceState {
            appliance: cmd.appliance.clone(),
            state: cmd.action,
            level: cmd.level,
        };
        self.appliances.insert(cmd.appliance.clone(), state.clone());
        state
    }

    /// The readings of round `round` (0-based).
    pub fn readings(round: u64) -> Vec<SensorReport> {
        let r = |sensor, value| SensorReport {
            sensor,
            value,
            unit: None,
        };
        vec![
            r(SensorKind::Temperature, 24.0 + 3.0 * round as f64),
            r(SensorKind::Humidity, 40.0),
            r(SensorKind::Gas, 3.0),
        ]
    }
}

/// Publishes `rounds` rounds of readings (`None`: forever) `interval` apart, obeying commands;
/// after the last round it keeps obeying until `commands` commands were obeyed in all or
/// `linger` passed. Returns the board.
pub async fn run(
    endpoints: &Endpoints,
    rounds: Option<u64>,
    interval: Duration,
    commands: usize,
    linger: Duration,
) -> Result<Board, BoxError> {
    let (client, mut events) = common::mqtt(endpoints, "car2home-smarthome-board");
    client
        .subscribe(
            common::topic(Device::Smarthome, MessageType::Info).replace("/info", "/+"),
            QoS::AtMostOnce,
        )
        .await?;
    let to_server = common::topic(Device::Server, MessageType::Info);
    let mut board = Board::default();
    let mut obeyed = 0;
    let mut round = 0;
    let mut tick = tokio::time::interval(interval);
    let mut subscribed = false;
    let mut deadline: Option<tokio::time::Instant> = None;
    loop {
        if let Some(d) = deadline {
            if obeyed >= commands || tokio::time::Instant::now() >= d {
                break;
            }
        }
        tokio::select! {
            _ = tick.tick(), if subscribed && deadline.is_none() => {
                for reading in Board::readings(round) {
                    let body = common::body(&Message::new(Device::Smarthome, reading))?;
                    client.publish(to_server.clone(), QoS::AtMostOnce, false, body).await?;
                }
                println!("smarthome: round {round} readings sent");
                round += 1;
                if rounds.is_some_and(|n| round >= n) {
                    deadline = Some(tokio::time::Instant::now() + linger);
                }
            }
            _ = tokio::time::sleep(Duration::from_millis(100)), if deadline.is_some() => {}
            event = events.poll() => match event? {
                Event::Incoming(Packet::SubAck(_)) => subscribed = true,
                Event::Incoming(Packet::Publish(p)) => {
                    let key = p.topic.replace('/', ".");
                    let msg = match common::read(&key, &p.payload) {
                        Ok(m) => m,
                        Err(e) => { println!("smarthome: ignored {key}: {e}"); continue; }
                    };
                    if let Command::Appliance(cmd) = &msg.command {
                        let state = board.obey(cmd);
                        println!("smarthome: {} {:?} (from {})", cmd.appliance, cmd.action, msg.producer);
                        let body = common::body(&Message::new(Device::Smarthome, state))?;
                        client.publish(to_server.clone(), QoS::AtMostOnce, false, body).await?;
                        obeyed += 1;
                    }
                }
                _ => {}
            },
        }
    }
    client.disconnect().await?;
    // Let the DISCONNECT (and the last QoS 0 publishes) go out.
    let _ = tokio::time::timeout(Duration::from_millis(500), async {
        while events.poll().await.is_ok() {}
    })
    .await;
    Ok(board)
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let (endpoints, args) = Endpoints::parse(std::env::args().skip(1))?;
    let rounds: u64 = common::option(&args, "--rounds", 0)?;
    let interval: u64 = common::option(&args, "--interval-ms", 1000)?;
    let board = run(
        &endpoints,
        (rounds > 0).then_some(rounds),
        Duration::from_millis(interval),
        usize::MAX,
        Duration::from_secs(2),
    )
    .await?;
    println!("smarthome: {:?}", board.appliances);
    Ok(())
}
