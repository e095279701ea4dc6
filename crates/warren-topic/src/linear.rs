//! A linear-scan table: the baseline the tries are benchmarked against.

use std::hash::Hash;

use crate::registry::Registry;
use crate::{amqp_matches, limits_check, Binding, Limits, PatternError, RoutingTable};

/// AMQP topic routing by testing every binding with [`amqp_matches`]: O(bindings) per message.
///
/// It exists as the benchmark baseline and as a second, obviously-correct implementation; use
/// [`TopicTable`](crate::TopicTable) for real routing.
///
/// ```
/// use warren_topic::{LinearTable, RoutingTable};
/// let mut table = LinearTable::new();
/// table.bind("webos.smarthome.*", 1u32)?;
/// let mut out = Vec::new();
/// table.route("webos.smarthome.error", &mut out);
/// assert_eq!(out, [1]);
/// # Ok::<(), warren_topic::PatternError>(())
/// ```
#[derive(Debug, Clone)]
pub struct LinearTable<D> {
    registry: Registry<D>,
    limits: Limits,
}

impl<D> Default for LinearTable<D> {
    fn default() -> Self {
        LinearTable {
            registry: Registry::default(),
            limits: Limits::amqp(),
        }
    }
}

impl<D> LinearTable<D> {
    /// An empty table with [`Limits::amqp`].
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty table with the given limits.
    pub fn with_limits(limits: Limits) -> Self {
        LinearTable {
            registry: Registry::default(),
            limits,
        }
    }
}

impl<D: Clone + Eq + Hash> RoutingTable<D> for LinearTable<D> {
    fn bind(&mut self, pattern: &str, destination: D) -> Result<(), PatternError> {
        limits_check::check(pattern, &self.limits, '.', "#")?;
        self.registry.add(pattern, destination);
        Ok(())
    }

    fn unbind(&mut self, pattern: &str, destination: &D) -> bool {
        self.registry.remove(pattern, destination).is_some()
    }

    fn remove_destination(&mut self, destination: &D) -> usize {
        self.registry.take_destination(destination).len()
    }

    fn route(&self, key: &str, out: &mut Vec<D>) {
        for (destination, patterns) in self.registry.iter() {
            if patterns.iter().any(|(p, _)| amqp_matches(key, p)) {
                out.push(destination.clone());
            }
        }
    }

    fn bindings(&self) -> Vec<Binding<D>> {
        self.registry.bindings()
    }

    fn len(&self) -> usize {
        self.registry.len()
    }
}
