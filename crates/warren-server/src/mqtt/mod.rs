//! The MQTT 3.1 / 3.1.1 / 5.0 front: a sans-IO session state machine over `warren-mqtt`
//! packets and `warren-core` operations, the state its connections share (client ids,
//! retained messages, delayed wills), and the tokio driver that moves its bytes.

pub mod convert;
pub mod driver;
pub mod session;
pub mod shared;

pub use session::MqttSession;
pub use shared::{MqttSettings, MqttShared};
