//! The Car2Home car webcam over AMQP: streams face frames to the server, reports its
//! illuminance sensor, and obeys the server's `light` commands on its queue `camera`, answering
//! each with a `light_state`. Uses `warren-car2home` and lapin; the processing server
//! (`car2home_server`) must be running for commands to come.
//!
//! ```sh
//! cargo run -p warren-examples --example car2home_camera -- [--amqp URL] [--frames 3] [--lux 20]
//! ```

#[path = "car2home_common/mod.rs"]
pub mod common;

use common::{BoxError, Endpoints};
use futures_lite::StreamExt;
use lapin::options::{BasicAckOptions, BasicConsumeOptions};
use lapin::types::FieldTable;
use warren_car2home::payload::{
    FaceFrame, LightControl, LightMode, LightState, SensorKind, SensorReport,
};
use warren_car2home::{Command, Device, Message, MessageType};

/// A tiny base64 JPEG header standing in for a camera frame.
const FRAME: &str = "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAA==";

/// The state of the lights after a command, given the illuminance sensor's reading.
pub fn apply(cmd: &LightControl, lux: f64) -> LightState {
    let lit = match cmd.mode {
        LightMode::On => true,
        LightMode::Off => false,
        LightMode::Auto => lux < 50.0,
    };
    LightState {
        mode: cmd.mode,
        lit,
        illuminance: Some(lux),
    }
}

/// Sends `frames` face frames and one illuminance reading of `lux`, then obeys light commands
/// until one came (or the reply timeout passes). Returns the lights' state after the command.
pub async fn run(endpoints: &Endpoints, frames: u64, lux: f64) -> Result<LightState, BoxError> {
    let (_conn, ch) = common::amqp(endpoints).await?;
    let mut inbox = ch
        .basic_consume(
            "camera",
            "car2home-camera",
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await?;
    let (me, info) = (Device::Camera, MessageType::Info);
    for seq in 0..frames {
        common::send(
            &ch,
            Device::Server,
            info,
            &Message::new(
                me,
                FaceFrame {
                    image: FRAME.into(),
                    seq,
                },
            ),
        )
        .await?;
    }
    let reading = SensorReport {
        sensor: SensorKind::Illuminance,
        value: lux,
        unit: None,
    };
    common::send(&ch, Device::Server, info, &Message::new(me, reading)).await?;
    println!("camera: {frames} frames and {lux} lx sent");
    let wait = async {
        while let Some(delivery) = inbox.next().await {
            let delivery = delivery?;
            delivery.ack(BasicAckOptions::default()).await?;
            let msg = common::read(delivery.routing_key.as_str(), &delivery.data)?;
            match msg.command {
                Command::Light(cmd) => {
                    let state = apply(&cmd, lux);
                    println!("camera: light {:?} -> lit={}", cmd.mode, state.lit);
                    common::send(&ch, Device::Server, info, &Message::new(me, state.clone()))
                        .await?;
                    return Ok(state);
                }
                other => println!("camera: {} from {}", other.name(), msg.producer),
            }
        }
        Err::<LightState, BoxError>("the camera queue's consumer ended".into())
    };
    tokio::time::timeout(common::REPLY_TIMEOUT, wait)
        .await
        .map_err(|_| "no light command (is car2home_server running, and is it dark enough?)")?
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let (endpoints, args) = Endpoints::parse(std::env::args().skip(1))?;
    let frames: u64 = common::option(&args, "--frames", 3)?;
    let lux: f64 = common::option(&args, "--lux", 20.0)?;
    run(&endpoints, frames, lux).await?;
    Ok(())
}
