//! The binding registry every table shares: which patterns each destination has, and how many
//! times each is bound. It answers counting, `len`, `remove_destination` and `bindings`; the tables
//! add their own index for routing.

use std::collections::HashMap;
use std::hash::Hash;

use crate::dest_set::PatternCounts;
use crate::Binding;

/// Counted (pattern, destination) pairs, indexed by destination.
#[derive(Debug, Clone)]
pub(crate) struct Registry<D> {
    by_dest: HashMap<D, PatternCounts>,
    pairs: usize,
}

impl<D> Default for Registry<D> {
    fn default() -> Self {
        Registry {
            by_dest: HashMap::new(),
            pairs: 0,
        }
    }
}

impl<D: Clone + Eq + Hash> Registry<D> {
    /// Counts one more binding; returns true when the pair is new (the index must add it).
    pub(crate) fn add(&mut self, pattern: &str, destination: D) -> bool {
        match self.by_dest.get_mut(&destination) {
            None => {
                self.by_dest
                    .insert(destination, PatternCounts::new(pattern));
            }
            Some(patterns) => match patterns.get_mut(pattern) {
                Some(count) => {
                    *count = count.saturating_add(1);
                    return false;
                }
                None => patterns.insert_new(pattern),
            },
        }
        self.pairs = self.pairs.saturating_add(1);
        true
    }

    /// Removes one count. `None`: the pair was not bound. `Some(true)`: its last count went (the
    /// index must drop it). `Some(false)`: counts remain.
    pub(crate) fn remove(&mut self, pattern: &str, destination: &D) -> Option<bool> {
        let patterns = self.by_dest.get_mut(destination)?;
        let count = patterns.get_mut(pattern)?;
        if *count > 1 {
            *count -= 1;
            return Some(false);
        }
        if patterns.remove(pattern) {
            self.by_dest.remove(destination);
        }
        self.pairs = self.pairs.saturating_sub(1);
        Some(true)
    }

    /// Forgets `destination`; returns the patterns it had (each once).
    pub(crate) fn take_destination(&mut self, destination: &D) -> Vec<Box<str>> {
        let Some(patterns) = self.by_dest.remove(destination) else {
            return Vec::new();
        };
        self.pairs = self.pairs.saturating_sub(patterns.len());
        patterns.into_patterns()
    }

    /// Every destination with at least one binding.
    pub(crate) fn destinations(&self) -> impl Iterator<Item = &D> {
        self.by_dest.keys()
    }

    /// Destinations with their patterns.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&D, &PatternCounts)> {
        self.by_dest.iter()
    }

    pub(crate) fn bindings(&self) -> Vec<Binding<D>> {
        let mut out = Vec::with_capacity(self.pairs);
        for (destination, patterns) in &self.by_dest {
            for (pattern, count) in patterns.iter() {
                out.push(Binding {
                    pattern: pattern.to_string(),
                    destination: destination.clone(),
                    count,
                });
            }
        }
        out
    }

    pub(crate) fn len(&self) -> usize {
        self.pairs
    }
}
