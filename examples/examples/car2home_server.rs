//! The Car2Home processing server: consumes its queue `server` (bound to `webos.server.*`) over
//! AMQP and answers the devices. Uses `warren-car2home` for the messages and lapin for AMQP.
//!
//! ```sh
//! cargo run --release                                   # the broker, in another terminal
//! cargo run -p warren-examples --example car2home_server [-- --amqp URL] [--max N]
//! ```
//!
//! What it does with each message (`answer`):
//! - `signup` → `signup_ok` to the device that signed up (`webos.android.info` / `webos.car.info`);
//! - `sensor` → a temperature above 28 °C switches the `aircon` on (`appliance` to the smart home);
//!   an illuminance below 50 lx turns the camera's lights on (`light` to the camera);
//! - `face_frame` → a `face` result to the car (a stand-in for OpenCV);
//! - `lookup` → `lookup_result` with the user's data (a stand-in for Firebase);
//! - `appliance` from the car or the app → forwarded to the smart home;
//! - an unknown command → a `report` on the sender's `warning` key;
//! - states (`appliance_state`, `light_state`) and reports are printed.
//!
//! Stops after `--max N` messages (default: never).

#[path = "car2home_common/mod.rs"]
pub mod common;

use common::{BoxError, Endpoints};
use futures_lite::StreamExt;
use lapin::options::{BasicAckOptions, BasicConsumeOptions};
use lapin::types::FieldTable;
use serde_json::json;
use warren_car2home::payload::{
    ApplianceControl, FaceEvent, LightControl, LightMode, LookupReply, Power, Report, SensorKind,
    SignupOk,
};
use warren_car2home::{Command, Device, Message, MessageType};

/// Temperature (°C) above which the server switches the air conditioner on.
pub const HOT: f64 = 28.0;
/// Illuminance (lx) below which the server turns the camera's lights on.
pub const DARK: f64 = 50.0;

/// The replies to one message: (recipient, type, message).
pub fn answer(msg: &Message) -> Vec<(Device, MessageType, Message)> {
    let me = Device::Server;
    let info = MessageType::Info;
    let to = msg.producer;
    match &msg.command {
        Command::Signup(s) => vec![(to, info, Message::new(me, SignupOk { uid: s.uid.clone() }))],
        Command::Sensor(r) if r.sensor == SensorKind::Temperature && r.value > HOT => {
            let on = ApplianceControl {
                appliance: "aircon".into(),
                action: Power::On,
                level: Some(70),
            };
            vec![(Device::Smarthome, info, Message::new(me, on))]
        }
        Command::Sensor(r) if r.sensor == SensorKind::Illuminance && r.value < DARK => {
            let on = LightControl {
                mode: LightMode::On,
                level: Some(80),
            };
            vec![(Device::Camera, info, Message::new(me, on))]
        }
        Command::FaceFrame(_) => {
            let face = FaceEvent {
                recognized: true,
                uid: Some("eAMHGLmiBGO76PIQ54O9CpsqTb23".into()),
                name: Some("Hong-Gil-Dong".into()),
                confidence: Some(0.93),
            };
            vec![(Device::Car, info, Message::new(me, face))]
        }
        Command::Lookup(l) => {
            let data = match l.query.as_str() {
                "appliances" => json!({"aircon": "off", "boiler": "on"}),
                "profile" => json!({"name": "Hong-Gil-Dong"}),
                _ => serde_json::Value::Null,
            };
            let reply = LookupReply {
                uid: l.uid.clone(),
                query: l.query.clone(),
                request_id: l.request_id.clone(),
                data,
            };
            vec![(to, info, Message::new(me, reply))]
        }
        Command::Appliance(a) if to != Device::Smarthome => {
            vec![(Device::Smarthome, info, Message::new(me, a.clone()))]
        }
        Command::Unknown(u) => {
            let report = Report {
                about: u.command.clone(),
                code: "unknown_command".into(),
                message: format!("the server does not handle `{}`", u.command),
                uid: None,
            };
            vec![(to, MessageType::Warning, Message::new(me, report))]
        }
        _ => Vec::new(),
    }
}

/// Consumes `server` and answers until `max` messages were handled (`None`: forever).
/// Returns how many were handled.
pub async fn run(endpoints: &Endpoints, max: Option<u64>) -> Result<u64, BoxError> {
    let (_conn, ch) = common::amqp(endpoints).await?;
    let mut consumer = ch
        .basic_consume(
            "server",
            "car2home-server",
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await?;
    println!("server: consuming `server` on {}", endpoints.amqp);
    let mut handled = 0;
    while max.is_none_or(|m| handled < m) {
        let Some(delivery) = consumer.next().await else {
            break;
        };
        let delivery = delivery?;
        let key = delivery.routing_key.as_str().to_owned();
        match common::read(&key, &delivery.data) {
            Ok(msg) => {
                println!("server: {key} {} from {}", msg.command.name(), msg.producer);
                for (to, kind, reply) in answer(&msg) {
                    common::send(&ch, to, kind, &reply).await?;
                    println!("server:   -> {to} {kind}: {}", reply.command.name());
                }
            }
            // Only without the broker's validation (it dead-letters invalid messages).
            Err(e) => println!("server: {key}: ignored an invalid message: {e}"),
        }
        delivery.ack(BasicAckOptions::default()).await?;
        handled += 1;
    }
    Ok(handled)
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let (endpoints, args) = Endpoints::parse(std::env::args().skip(1))?;
    let max: u64 = common::option(&args, "--max", 0)?;
    run(&endpoints, (max > 0).then_some(max)).await?;
    Ok(())
}
