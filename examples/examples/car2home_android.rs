//! The Car2Home Android app signing a user up over AMQP: publishes `signup` to the server
//! (`webos.server.info`, with publisher confirms) and waits on its queue `android` for the
//! server's `signup_ok`. Uses `warren-car2home` for the messages and lapin for AMQP; the
//! processing server (`car2home_server`) must be running.
//!
//! ```sh
//! cargo run -p warren-examples --example car2home_android -- [--amqp URL] [--uid UID] [--name NAME]
//! ```

#[path = "car2home_common/mod.rs"]
pub mod common;

use common::{BoxError, Endpoints};
use futures_lite::StreamExt;
use lapin::options::{BasicAckOptions, BasicConsumeOptions};
use lapin::types::FieldTable;
use warren_car2home::payload::{Signup, SignupOk};
use warren_car2home::{Command, Device, Message, MessageType};

/// Signs `uid` up as `name` and returns the server's `signup_ok`.
pub async fn sign_up(endpoints: &Endpoints, uid: &str, name: &str) -> Result<SignupOk, BoxError> {
    let (_conn, ch) = common::amqp(endpoints).await?;
    // Consume first, so the reply cannot be missed.
    let mut replies = ch
        .basic_consume(
            "android",
            "car2home-android",
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await?;
    let signup = Message::new(
        Device::Android,
        Signup {
            uid: uid.into(),
            name: name.into(),
        },
    );
    common::send(&ch, Device::Server, MessageType::Info, &signup).await?;
    println!("android: signed up {uid} ({name}), waiting for the server");
    let wait = async {
        while let Some(delivery) = replies.next().await {
            let delivery = delivery?;
            delivery.ack(BasicAckOptions::default()).await?;
            let msg = common::read(delivery.routing_key.as_str(), &delivery.data)?;
            match msg.command {
                Command::SignupOk(ok) if ok.uid == uid => return Ok(ok),
                other => println!("android: {} from {}", other.name(), msg.producer),
            }
        }
        Err::<SignupOk, BoxError>("the android queue's consumer ended".into())
    };
    let ok = tokio::time::timeout(common::REPLY_TIMEOUT, wait)
        .await
        .map_err(|_| "no signup_ok from the server (is car2home_server running?)")??;
    println!("android: signup_ok for {}", ok.uid);
    Ok(ok)
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let (endpoints, args) = Endpoints::parse(std::env::args().skip(1))?;
    let uid: String = common::option(&args, "--uid", "eAMHGLmiBGO76PIQ54O9CpsqTb23".to_owned())?;
    let name: String = common::option(&args, "--name", "Hong-Gil-Dong".to_owned())?;
    sign_up(&endpoints, &uid, &name).await?;
    Ok(())
}
