//! Small sets that do not allocate for their most common sizes (zero and one element).
//!
//! Most trie nodes and exact keys have exactly one destination, and most destinations (one queue
//! per device) have exactly one pattern; a `HashSet`/`HashMap` for each would cost a heap block
//! of ~100 bytes per binding.

use std::borrow::Borrow;
use std::collections::{HashMap, HashSet};
use std::hash::Hash;

/// A set of destinations.
#[derive(Debug, Clone, Default)]
pub(crate) enum DestSet<D> {
    #[default]
    Empty,
    One(D),
    /// Boxed so the common variants keep the enum small.
    #[allow(clippy::box_collection)] // the box keeps DestSet at two words; the map is rare
    Many(Box<HashSet<D>>),
}

impl<D: Eq + Hash> DestSet<D> {
    pub(crate) fn insert(&mut self, destination: D) {
        match std::mem::take(self) {
            DestSet::Empty => *self = DestSet::One(destination),
            DestSet::One(existing) if existing == destination => *self = DestSet::One(existing),
            DestSet::One(existing) => {
                *self = DestSet::Many(Box::new(HashSet::from([existing, destination])));
            }
            DestSet::Many(mut set) => {
                set.insert(destination);
                *self = DestSet::Many(set);
            }
        }
    }

    pub(crate) fn remove(&mut self, destination: &D) {
        match std::mem::take(self) {
            DestSet::Empty => {}
            DestSet::One(existing) if existing == *destination => {}
            DestSet::One(existing) => *self = DestSet::One(existing),
            DestSet::Many(mut set) => {
                set.remove(destination);
                *self = if set.len() <= 1 {
                    set.into_iter().next().map_or(DestSet::Empty, DestSet::One)
                } else {
                    DestSet::Many(set)
                };
            }
        }
    }
}

impl<D> DestSet<D> {
    pub(crate) fn is_empty(&self) -> bool {
        match self {
            DestSet::Empty => true,
            DestSet::One(_) => false,
            DestSet::Many(set) => set.is_empty(),
        }
    }

    pub(crate) fn len(&self) -> usize {
        match self {
            DestSet::Empty => 0,
            DestSet::One(_) => 1,
            DestSet::Many(set) => set.len(),
        }
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &D> {
        let (one, many) = match self {
            DestSet::Empty => (None, None),
            DestSet::One(d) => (Some(d), None),
            DestSet::Many(set) => (None, Some(set.iter())),
        };
        one.into_iter().chain(many.into_iter().flatten())
    }
}

/// A destination's patterns with their bind counts.
#[derive(Debug, Clone)]
pub(crate) enum PatternCounts {
    One(Box<str>, usize),
    Many(HashMap<Box<str>, usize>),
}

impl PatternCounts {
    pub(crate) fn new(pattern: &str) -> Self {
        PatternCounts::One(pattern.into(), 1)
    }

    pub(crate) fn get_mut(&mut self, pattern: &str) -> Option<&mut usize> {
        match self {
            PatternCounts::One(p, count) => (p.as_ref() == pattern).then_some(count),
            PatternCounts::Many(map) => map.get_mut(pattern),
        }
    }

    /// Adds a pattern that is not present yet, with count 1.
    pub(crate) fn insert_new(&mut self, pattern: &str) {
        match self {
            PatternCounts::One(p, count) => {
                let first = (std::mem::take(p), *count);
                *self = PatternCounts::Many(HashMap::from([first, (pattern.into(), 1)]));
            }
            PatternCounts::Many(map) => {
                map.insert(pattern.into(), 1);
            }
        }
    }

    /// Removes a pattern; returns true when none is left.
    pub(crate) fn remove(&mut self, pattern: &str) -> bool {
        match self {
            PatternCounts::One(p, _) => p.as_ref() == pattern,
            PatternCounts::Many(map) => {
                map.remove(pattern);
                map.is_empty()
            }
        }
    }

    pub(crate) fn len(&self) -> usize {
        match self {
            PatternCounts::One(..) => 1,
            PatternCounts::Many(map) => map.len(),
        }
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, usize)> {
        let (one, many) = match self {
            PatternCounts::One(p, count) => (Some((p.borrow(), *count)), None),
            PatternCounts::Many(map) => (None, Some(map.iter().map(|(p, c)| (p.borrow(), *c)))),
        };
        one.into_iter().chain(many.into_iter().flatten())
    }

    pub(crate) fn into_patterns(self) -> Vec<Box<str>> {
        match self {
            PatternCounts::One(p, _) => vec![p],
            PatternCounts::Many(map) => map.into_keys().collect(),
        }
    }
}
