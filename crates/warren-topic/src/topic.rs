//! AMQP topic and MQTT filter tables.

use std::hash::Hash;

use crate::matching::validate_mqtt;
use crate::registry::Registry;
use crate::trie::{Syntax, Trie};
use crate::{limits_check, Binding, Limits, PatternError, RoutingTable};

/// AMQP topic-exchange routing: `.`-separated words, `*` matches one word, `#` zero or more.
///
/// Semantics are RabbitMQ's, see [`amqp_matches`](crate::amqp_matches).
///
/// ```
/// use warren_topic::{RoutingTable, TopicTable};
/// let mut table = TopicTable::new();
/// table.bind("webos.smarthome.*", "smarthome")?;
/// table.bind("*.car.#", "car")?;
/// let mut out = Vec::new();
/// table.route("webos.car.error", &mut out);
/// assert_eq!(out, ["car"]);
/// # Ok::<(), warren_topic::PatternError>(())
/// ```
#[derive(Debug, Clone)]
pub struct TopicTable<D> {
    registry: Registry<D>,
    trie: Trie<D>,
    limits: Limits,
}

impl<D> Default for TopicTable<D> {
    fn default() -> Self {
        Self::with_limits(Limits::amqp())
    }
}

impl<D> TopicTable<D> {
    /// An empty table with [`Limits::amqp`].
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty table with the given limits.
    pub fn with_limits(limits: Limits) -> Self {
        TopicTable {
            registry: Registry::default(),
            trie: Trie::new(Syntax::AMQP),
            limits,
        }
    }
}

impl<D: Clone + Eq + Hash> RoutingTable<D> for TopicTable<D> {
    fn bind(&mut self, pattern: &str, destination: D) -> Result<(), PatternError> {
        limits_check::check(pattern, &self.limits, '.', "#")?;
        if self.registry.add(pattern, destination.clone()) {
            self.trie.insert(pattern, destination);
        }
        Ok(())
    }

    fn unbind(&mut self, pattern: &str, destination: &D) -> bool {
        match self.registry.remove(pattern, destination) {
            None => false,
            Some(false) => true,
            Some(true) => {
                self.trie.remove(pattern, destination);
                true
            }
        }
    }

    fn remove_destination(&mut self, destination: &D) -> usize {
        let patterns = self.registry.take_destination(destination);
        for pattern in &patterns {
            self.trie.remove(pattern, destination);
        }
        patterns.len()
    }

    fn route(&self, key: &str, out: &mut Vec<D>) {
        self.trie.route(key, out);
    }

    fn bindings(&self) -> Vec<Binding<D>> {
        self.registry.bindings()
    }

    fn len(&self) -> usize {
        self.registry.len()
    }
}

/// MQTT subscription routing: `/`-separated levels, `+` one level, `#` the rest including the
/// parent level; topics starting with `$` are not matched by a leading wildcard.
///
/// Semantics are MQTT 3.1.1 / 5.0 section 4.7, see [`mqtt_matches`](crate::mqtt_matches). Invalid filters are refused
/// with [`PatternError::Invalid`].
///
/// ```
/// use warren_topic::{MqttTable, RoutingTable};
/// let mut table = MqttTable::new();
/// table.bind("webos/car/+", 7u64)?;
/// table.bind("#", 8u64)?;
/// let mut out = Vec::new();
/// table.route("$SYS/broker/load", &mut out);
/// assert!(out.is_empty());
/// table.route("webos/car/info", &mut out);
/// out.sort();
/// assert_eq!(out, [7, 8]);
/// # Ok::<(), warren_topic::PatternError>(())
/// ```
#[derive(Debug, Clone)]
pub struct MqttTable<D> {
    registry: Registry<D>,
    trie: Trie<D>,
    limits: Limits,
}

impl<D> Default for MqttTable<D> {
    fn default() -> Self {
        Self::with_limits(Limits::mqtt())
    }
}

impl<D> MqttTable<D> {
    /// An empty table with [`Limits::mqtt`].
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty table with the given limits.
    pub fn with_limits(limits: Limits) -> Self {
        MqttTable {
            registry: Registry::default(),
            trie: Trie::new(Syntax::MQTT),
            limits,
        }
    }
}

impl<D: Clone + Eq + Hash> RoutingTable<D> for MqttTable<D> {
    fn bind(&mut self, pattern: &str, destination: D) -> Result<(), PatternError> {
        validate_mqtt(pattern)?;
        limits_check::check(pattern, &self.limits, '/', "#")?;
        if self.registry.add(pattern, destination.clone()) {
            self.trie.insert(pattern, destination);
        }
        Ok(())
    }

    fn unbind(&mut self, pattern: &str, destination: &D) -> bool {
        match self.registry.remove(pattern, destination) {
            None => false,
            Some(false) => true,
            Some(true) => {
                self.trie.remove(pattern, destination);
                true
            }
        }
    }

    fn remove_destination(&mut self, destination: &D) -> usize {
        let patterns = self.registry.take_destination(destination);
        for pattern in &patterns {
            self.trie.remove(pattern, destination);
        }
        patterns.len()
    }

    fn route(&self, key: &str, out: &mut Vec<D>) {
        self.trie.route(key, out);
    }

    fn bindings(&self) -> Vec<Binding<D>> {
        self.registry.bindings()
    }

    fn len(&self) -> usize {
        self.registry.len()
    }
}
