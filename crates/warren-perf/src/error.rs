//! Why a run could not go on.

/// An error of the load tool: a connection failed, the broker closed something, or a reply
/// was not what the protocol says.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PerfError {
    /// A socket operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What the tool was doing.
        context: &'static str,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The broker's AMQP bytes did not decode, or ours did not encode.
    #[error("AMQP codec: {0}")]
    Amqp(#[from] warren_amqp::Error),
    /// The broker's MQTT bytes did not decode.
    #[error("MQTT decode: {0}")]
    MqttDecode(#[from] warren_mqtt::DecodeError),
    /// An MQTT packet did not encode.
    #[error("MQTT encode: {0}")]
    MqttEncode(#[from] warren_mqtt::EncodeError),
    /// The broker closed the connection (TCP end of stream).
    #[error("the broker closed the connection while {while_doing}")]
    Closed {
        /// What the tool was doing.
        while_doing: &'static str,
    },
    /// The broker sent `connection.close` or `channel.close`.
    #[error("the broker closed the {what}: {code} {text} (class {class_id}, method {method_id})")]
    BrokerClose {
        /// `connection` or `channel`.
        what: &'static str,
        /// Reply code.
        code: u16,
        /// Reply text.
        text: String,
        /// Class of the method that failed.
        class_id: u16,
        /// Method that failed.
        method_id: u16,
    },
    /// The broker answered with something else than what the protocol expects here.
    #[error("expected {expected}, got {got}")]
    Unexpected {
        /// What the tool waited for.
        expected: &'static str,
        /// What arrived (its name).
        got: String,
    },
    /// The broker refused an MQTT CONNECT or SUBSCRIBE.
    #[error("MQTT {packet} refused with reason code {code:#04x}")]
    MqttRefused {
        /// CONNACK or SUBACK.
        packet: &'static str,
        /// The code.
        code: u8,
    },
    /// A reply did not come in time.
    #[error("timed out waiting for {0}")]
    Timeout(&'static str),
    /// The scenario's parameters do not make sense together.
    #[error("bad scenario: {0}")]
    Scenario(&'static str),
}

impl PerfError {
    /// An [`PerfError::Io`] for `context`.
    pub fn io(context: &'static str) -> impl FnOnce(std::io::Error) -> PerfError {
        move |source| PerfError::Io { context, source }
    }
}
