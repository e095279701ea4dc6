//! Exchange policies: a check every message published to an exchange must pass before it is
//! routed. A refused message is not routed to the exchange's bindings: it goes to the policy's
//! dead-letter exchange with headers saying why, is counted ([`MetricsSnapshot::invalid`]),
//! and the publisher learns it through [`PublishOutcome::policy_rejected`] (AMQP: a confirm
//! nack; MQTT 5: PUBACK/PUBREC reason 0x99).
//!
//! The one policy so far is Car2Home validation ([`warren_car2home::Validator`]). Policies are
//! set per vhost and exchange name with [`VHost::set_exchange_policy`]; they stay with the name,
//! so an exchange deleted and declared again keeps its policy. Only the exchange a message is
//! published to is checked, not the exchanges it reaches through exchange-to-exchange bindings.
//!
//! [`MetricsSnapshot::invalid`]: crate::MetricsSnapshot::invalid
//! [`PublishOutcome::policy_rejected`]: crate::PublishOutcome::policy_rejected
//! [`VHost::set_exchange_policy`]: crate::VHost::set_exchange_policy

use warren_car2home::{DeadLetterReason, Validator};

use crate::value::{FieldTable, Value};

/// A check applied to every message published to an exchange.
///
/// ```
/// use warren_core::{Car2HomePolicy, ExchangePolicy};
///
/// let policy = ExchangePolicy::Car2Home(Car2HomePolicy::new().dead_letter_exchange("webos.dlx"));
/// assert!(policy.check("webos.server.info", br#"{"Producer":"android","command":"signup","UID":"u1","name":"Kim"}"#).is_ok());
///
/// let refused = policy.check("webos.server.info", br#"{"Producer":"android","command":"signup","name":"Kim"}"#);
/// let reason = refused.unwrap_err();
/// assert_eq!(reason.code, "missing-field");
/// assert_eq!(reason.path.as_deref(), Some("/UID"));
/// assert_eq!(policy.dead_letter_exchange(), Some("webos.dlx"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExchangePolicy {
    /// Car2Home validation of the (routing key, JSON payload) pair.
    Car2Home(Car2HomePolicy),
}

/// The Car2Home validation policy: the settings of the validator, how the exchange routes
/// (by `webos.DEVICE.TYPE` key, or a broadcast whose key is not looked at) and where refused
/// messages go.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Car2HomePolicy {
    /// The validator (payload limit, unknown commands and fields).
    pub validator: Validator,
    /// True for a broadcast exchange (`webos.fanout`): the routing key is not checked and only
    /// broadcastable commands pass ([`Validator::validate_broadcast`]).
    pub broadcast: bool,
    /// The exchange refused messages are published to, in the same vhost, with their routing
    /// key and the `x-car2home-error*` headers added. `None`, or an exchange that does not
    /// exist: they are dropped (still counted and nacked).
    pub dead_letter_exchange: Option<String>,
}

impl Car2HomePolicy {
    /// The default validator, key-routed, no dead-letter exchange.
    pub fn new() -> Car2HomePolicy {
        Car2HomePolicy::default()
    }

    /// Sets the dead-letter exchange.
    pub fn dead_letter_exchange(mut self, name: impl Into<String>) -> Car2HomePolicy {
        self.dead_letter_exchange = Some(name.into());
        self
    }

    /// Sets the validator.
    pub fn validator(mut self, validator: Validator) -> Car2HomePolicy {
        self.validator = validator;
        self
    }

    /// Sets [`Car2HomePolicy::broadcast`].
    pub fn broadcast(mut self, broadcast: bool) -> Car2HomePolicy {
        self.broadcast = broadcast;
        self
    }
}

impl ExchangePolicy {
    /// Checks one message; `Err` says why it is refused.
    pub fn check(&self, routing_key: &str, body: &[u8]) -> Result<(), DeadLetterReason> {
        match self {
            ExchangePolicy::Car2Home(p) => {
                let result = if p.broadcast {
                    p.validator.validate_broadcast(body)
                } else {
                    p.validator.validate(routing_key, body)
                };
                result.map(drop).map_err(|e| e.reason())
            }
        }
    }

    /// Where refused messages go.
    pub fn dead_letter_exchange(&self) -> Option<&str> {
        match self {
            ExchangePolicy::Car2Home(p) => p.dead_letter_exchange.as_deref(),
        }
    }

    /// A short name for listings (`car2home`).
    pub fn name(&self) -> &'static str {
        match self {
            ExchangePolicy::Car2Home(_) => "car2home",
        }
    }
}

/// The headers of a dead-lettered message: the original ones plus the reason's.
pub(crate) fn dead_letter_headers(
    original: Option<&FieldTable>,
    reason: &DeadLetterReason,
) -> FieldTable {
    let mut headers = original.cloned().unwrap_or_default();
    for (name, value) in reason.headers() {
        headers.insert(name, Value::str(&value));
    }
    headers
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcast_policy_ignores_the_key_and_refuses_non_broadcast_commands() {
        let p = ExchangePolicy::Car2Home(Car2HomePolicy::new().broadcast(true));
        let emergency =
            br#"{"Producer":"camera","command":"emergency","kind":"fire","message":"smoke"}"#;
        assert!(p.check("", emergency).is_ok());
        let signup = br#"{"Producer":"android","command":"signup","UID":"u1","name":"Kim"}"#;
        assert_eq!(p.check("", signup).unwrap_err().code, "not-broadcast");
        assert_eq!(p.dead_letter_exchange(), None);
        assert_eq!(p.name(), "car2home");
    }

    #[test]
    fn key_routed_policy_checks_the_key() {
        let p = ExchangePolicy::Car2Home(Car2HomePolicy::new());
        let body = br#"{"Producer":"android","command":"signup","UID":"u1","name":"Kim"}"#;
        assert!(p.check("webos.server.info", body).is_ok());
        assert_eq!(
            p.check("webos.server", body).unwrap_err().code,
            warren_car2home::validate("webos.server", body)
                .unwrap_err()
                .code()
        );
    }

    #[test]
    fn dead_letter_headers_keep_the_original_ones() {
        let mut original = FieldTable::new();
        original.insert("trace", Value::str("abc"));
        let reason = warren_car2home::validate("webos.server.info", b"not json")
            .unwrap_err()
            .reason();
        let h = dead_letter_headers(Some(&original), &reason);
        assert_eq!(h.get("trace").and_then(Value::as_str), Some("abc"));
        assert_eq!(
            h.get("x-car2home-error").and_then(Value::as_str),
            Some("not-json")
        );
        assert!(h.get("x-car2home-error-path").is_none());
        assert_eq!(
            h.get("x-car2home-error-text").and_then(Value::as_str),
            Some(reason.text.as_str())
        );
    }
}
