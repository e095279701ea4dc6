//! Direct exchange routing: the key must equal the binding key.

use std::collections::HashMap;
use std::hash::Hash;

use crate::dest_set::DestSet;
use crate::registry::Registry;
use crate::{Binding, Limits, PatternError, RoutingTable};

/// Exact-key routing (AMQP direct exchanges): one hash lookup per message.
///
/// ```
/// use warren_topic::{DirectTable, RoutingTable};
/// let mut table = DirectTable::new();
/// table.bind("webos.car.info", "car")?;
/// let mut out = Vec::new();
/// table.route("webos.car.info", &mut out);
/// table.route("webos.car.#", &mut out); // no wildcards here
/// assert_eq!(out, ["car"]);
/// # Ok::<(), warren_topic::PatternError>(())
/// ```
#[derive(Debug, Clone)]
pub struct DirectTable<D> {
    registry: Registry<D>,
    index: HashMap<Box<str>, DestSet<D>>,
    limits: Limits,
}

impl<D> Default for DirectTable<D> {
    fn default() -> Self {
        DirectTable {
            registry: Registry::default(),
            index: HashMap::new(),
            limits: Limits::amqp(),
        }
    }
}

impl<D> DirectTable<D> {
    /// An empty table; keys are limited to [`Limits::amqp`]'s `max_len`.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty table; only `limits.max_len` applies to direct keys.
    pub fn with_limits(limits: Limits) -> Self {
        DirectTable {
            limits,
            ..Self::default()
        }
    }
}

impl<D: Clone + Eq + Hash> DirectTable<D> {
    fn drop_from_index(&mut self, key: &str, destination: &D) {
        if let Some(set) = self.index.get_mut(key) {
            set.remove(destination);
            if set.is_empty() {
                self.index.remove(key);
            }
        }
    }
}

impl<D: Clone + Eq + Hash> RoutingTable<D> for DirectTable<D> {
    fn bind(&mut self, pattern: &str, destination: D) -> Result<(), PatternError> {
        if pattern.len() > self.limits.max_len {
            return Err(PatternError::TooLong {
                len: pattern.len(),
                max: self.limits.max_len,
            });
        }
        if self.registry.add(pattern, destination.clone()) {
            self.index
                .entry(pattern.into())
                .or_default()
                .insert(destination);
        }
        Ok(())
    }

    fn unbind(&mut self, pattern: &str, destination: &D) -> bool {
        match self.registry.remove(pattern, destination) {
            None => false,
            Some(false) => true,
            Some(true) => {
                self.drop_from_index(pattern, destination);
                true
            }
        }
    }

    fn remove_destination(&mut self, destination: &D) -> usize {
        let patterns = self.registry.take_destination(destination);
        for key in &patterns {
            self.drop_from_index(key, destination);
        }
        patterns.len()
    }

    fn route(&self, key: &str, out: &mut Vec<D>) {
        if let Some(set) = self.index.get(key) {
            out.extend(set.iter().cloned());
        }
    }

    fn bindings(&self) -> Vec<Binding<D>> {
        self.registry.bindings()
    }

    fn len(&self) -> usize {
        self.registry.len()
    }
}
