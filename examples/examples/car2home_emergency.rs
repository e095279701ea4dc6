//! A Car2Home emergency broadcast: one `emergency` message on the fanout exchange
//! `webos.fanout`, which every device queue is bound to, with publisher confirms. Uses
//! `warren-car2home` for the message and lapin for AMQP.
//!
//! ```sh
//! cargo run -p warren-examples --example car2home_emergency -- [--amqp URL] \
//!     [--from camera] [--kind fire] [--message "smoke in the garage"]
//! ```

#[path = "car2home_common/mod.rs"]
pub mod common;

use common::{BoxError, Endpoints};
use warren_car2home::payload::{Emergency, EmergencyKind};
use warren_car2home::topology::FANOUT_EXCHANGE;
use warren_car2home::{Device, Message};

/// Broadcasts an emergency from `from`; returns the message sent.
pub async fn broadcast(
    endpoints: &Endpoints,
    from: Device,
    kind: EmergencyKind,
    text: &str,
) -> Result<Message, BoxError> {
    let (conn, ch) = common::amqp(endpoints).await?;
    let msg = Message::new(
        from,
        Emergency {
            kind,
            message: text.into(),
        },
    );
    // The fanout ignores the routing key.
    common::publish(&ch, FANOUT_EXCHANGE, "", &common::body(&msg)?).await?;
    println!("emergency: {kind:?} from {from} broadcast to every device: {text}");
    conn.close(200, "bye").await?;
    Ok(msg)
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let (endpoints, args) = Endpoints::parse(std::env::args().skip(1))?;
    let from: Device = common::option(&args, "--from", Device::Camera)?;
    let kind: String = common::option(&args, "--kind", "fire".to_owned())?;
    let kind: EmergencyKind = serde_json::from_value(serde_json::Value::String(kind.clone()))
        .map_err(|_| {
            format!("unknown --kind {kind:?} (fire, gas, intrusion, crash, medical, other)")
        })?;
    let text: String = common::option(&args, "--message", "smoke in the garage".to_owned())?;
    broadcast(&endpoints, from, kind, &text).await?;
    Ok(())
}
