//! The Car2Home car touch panel over AMQP: signs the driver up, looks up the home's appliances
//! through the server, and switches the home's air conditioner off directly. Consumes its
//! queue `car` (which also gets the server's face-recognition results). Uses `warren-car2home`
//! and lapin; the processing server (`car2home_server`) must be running.
//!
//! ```sh
//! cargo run -p warren-examples --example car2home_car -- [--amqp URL] [--uid UID]
//! ```

#[path = "car2home_common/mod.rs"]
pub mod common;

use common::{BoxError, Endpoints};
use futures_lite::StreamExt;
use lapin::options::{BasicAckOptions, BasicConsumeOptions};
use lapin::types::FieldTable;
use warren_car2home::payload::{ApplianceControl, LookupReply, LookupRequest, Power, Signup};
use warren_car2home::{Command, Device, Message, MessageType};

/// What the panel got back.
#[derive(Debug, Clone, PartialEq)]
pub struct PanelSession {
    /// The UID the server confirmed.
    pub signed_up: String,
    /// The reply to the `appliances` look-up.
    pub appliances: LookupReply,
}

/// Signs `uid` up, looks up its appliances, and switches the aircon off.
pub async fn session(endpoints: &Endpoints, uid: &str) -> Result<PanelSession, BoxError> {
    let (_conn, ch) = common::amqp(endpoints).await?;
    let mut inbox = ch
        .basic_consume(
            "car",
            "car2home-car",
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await?;
    let me = Device::Car;
    let info = MessageType::Info;
    common::send(
        &ch,
        Device::Server,
        info,
        &Message::new(
            me,
            Signup {
                uid: uid.into(),
                name: "Driver".into(),
            },
        ),
    )
    .await?;
    let lookup = LookupRequest {
        uid: uid.into(),
        query: "appliances".into(),
        request_id: Some("panel-1".into()),
    };
    common::send(&ch, Device::Server, info, &Message::new(me, lookup)).await?;
    let off = ApplianceControl {
        appliance: "aircon".into(),
        action: Power::Off,
        level: None,
    };
    common::send(&ch, Device::Smarthome, info, &Message::new(me, off)).await?;
    println!("car: signup, lookup and aircon off sent");
    let wait = async {
        let (mut signed_up, mut appliances) = (None, None);
        while signed_up.is_none() || appliances.is_none() {
            let Some(delivery) = inbox.next().await else {
                return Err::<PanelSession, BoxError>("the car queue's consumer ended".into());
            };
            let delivery = delivery?;
            delivery.ack(BasicAckOptions::default()).await?;
            let msg = common::read(delivery.routing_key.as_str(), &delivery.data)?;
            match msg.command {
                Command::SignupOk(ok) if ok.uid == uid => signed_up = Some(ok.uid),
                Command::LookupResult(r) if r.request_id.as_deref() == Some("panel-1") => {
                    println!("car: appliances: {}", r.data);
                    appliances = Some(r);
                }
                other => println!("car: {} from {}", other.name(), msg.producer),
            }
        }
        Ok(PanelSession {
            signed_up: signed_up.unwrap_or_default(),
            appliances: appliances.ok_or("no look-up reply")?,
        })
    };
    tokio::time::timeout(common::REPLY_TIMEOUT, wait)
        .await
        .map_err(|_| "no reply from the server (is car2home_server running?)")?
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let (endpoints, args) = Endpoints::parse(std::env::args().skip(1))?;
    let uid: String = common::option(&args, "--uid", "car-driver-1".to_owned())?;
    let s = session(&endpoints, &uid).await?;
    println!(
        "car: signed up {}, {} appliances known",
        s.signed_up,
        s.appliances.data.as_object().map_or(0, |o| o.len())
    );
    Ok(())
}
