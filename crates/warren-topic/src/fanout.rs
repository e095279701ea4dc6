//! Fanout exchange routing: every bound destination, whatever the key.

use std::hash::Hash;

use crate::registry::Registry;
use crate::{Binding, PatternError, RoutingTable};

/// Fanout routing (AMQP fanout exchanges): every destination with a binding gets every message.
///
/// Binding keys are kept (they are listed by [`RoutingTable::bindings`] and must match on unbind)
/// but ignored for routing; a destination bound under several keys receives a message once.
///
/// ```
/// use warren_topic::{FanoutTable, RoutingTable};
/// let mut table = FanoutTable::new();
/// table.bind("", "car")?;
/// table.bind("any", "car")?;
/// table.bind("", "home")?;
/// let mut out = Vec::new();
/// table.route("ignored", &mut out);
/// out.sort();
/// assert_eq!(out, ["car", "home"]);
/// # Ok::<(), warren_topic::PatternError>(())
/// ```
#[derive(Debug, Clone)]
pub struct FanoutTable<D> {
    registry: Registry<D>,
}

impl<D> Default for FanoutTable<D> {
    fn default() -> Self {
        FanoutTable {
            registry: Registry::default(),
        }
    }
}

impl<D> FanoutTable<D> {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }
}

impl<D: Clone + Eq + Hash> RoutingTable<D> for FanoutTable<D> {
    fn bind(&mut self, pattern: &str, destination: D) -> Result<(), PatternError> {
        self.registry.add(pattern, destination);
        Ok(())
    }

    fn unbind(&mut self, pattern: &str, destination: &D) -> bool {
        self.registry.remove(pattern, destination).is_some()
    }

    fn remove_destination(&mut self, destination: &D) -> usize {
        self.registry.take_destination(destination).len()
    }

    fn route(&self, _key: &str, out: &mut Vec<D>) {
        out.extend(self.registry.destinations().cloned());
    }

    fn bindings(&self) -> Vec<Binding<D>> {
        self.registry.bindings()
    }

    fn len(&self) -> usize {
        self.registry.len()
    }
}
