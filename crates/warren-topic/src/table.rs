//! The routing interface every table implements.

use crate::PatternError;

/// A binding as listed by [`RoutingTable::bindings`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Binding<D> {
    /// The binding pattern (or key, for direct and fanout tables) as it was bound.
    pub pattern: String,
    /// Where matching messages go.
    pub destination: D,
    /// How many times this (pattern, destination) pair is bound; as many unbinds remove it.
    pub count: usize,
}

/// The routing API every table shares, so the broker core uses one interface for topic, MQTT,
/// direct and fanout exchanges.
///
/// `D` is the destination: a queue id, a session id… Bindings are counted: binding the same
/// pattern to the same destination twice needs two unbinds.
///
/// ```
/// use warren_topic::{RoutingTable, TopicTable};
///
/// let mut table = TopicTable::new();
/// table.bind("webos.#", "all")?;
/// table.bind("webos.car.*", "car")?;
/// table.bind("webos.car.*", "car")?; // counted: needs two unbinds
///
/// let mut out = Vec::new();
/// table.route("webos.car.info", &mut out);
/// out.sort();
/// assert_eq!(out, ["all", "car"]);
///
/// assert!(table.unbind("webos.car.*", &"car"));
/// assert_eq!(table.len(), 2);
/// assert!(table.unbind("webos.car.*", &"car"));
/// assert_eq!(table.len(), 1);
/// # Ok::<(), warren_topic::PatternError>(())
/// ```
pub trait RoutingTable<D> {
    /// Adds one binding (counted: binding twice needs two unbinds).
    fn bind(&mut self, pattern: &str, destination: D) -> Result<(), PatternError>;

    /// Removes one count of a binding; returns true if it existed. Prunes index nodes left empty.
    fn unbind(&mut self, pattern: &str, destination: &D) -> bool;

    /// Removes every binding of `destination` (a deleted queue); returns how many distinct
    /// patterns it had.
    fn remove_destination(&mut self, destination: &D) -> usize;

    /// Appends every destination matching `key` to `out`, each destination once per call (even if
    /// several of its patterns match). Does not clear `out` and does not look at what it already
    /// holds: deduplication is only among what this call appends. The order is unspecified.
    fn route(&self, key: &str, out: &mut Vec<D>);

    /// Snapshot of all bindings (for management listing and definitions export), in no
    /// particular order.
    fn bindings(&self) -> Vec<Binding<D>>;

    /// Number of distinct (pattern, destination) pairs.
    fn len(&self) -> usize;

    /// True when there is no binding.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
