//! The wildcard trie shared by the AMQP topic and MQTT tables.
//!
//! Shape (NATS sublist, EMQX, RabbitMQ's topic trie): a node holds its literal children in a hash
//! map, at most one single-word wildcard child (`*` / `+`), at most one multi-word wildcard child
//! (`#`) and the destinations whose pattern ends there. Patterns without any wildcard never enter
//! the trie: they sit in one hash map keyed by the whole pattern, so an exact key costs one hash
//! lookup. Nodes are pruned when their last binding goes.
//!
//! Matching walks (node, remaining key) states. Without `#` each node is reached at most once, so
//! no bookkeeping is needed; after a `#` (which can absorb any number of words) the same state can
//! be reached along several paths, so those states are memoised in a visited set. That bounds the
//! work by (trie nodes) x (key words) whatever the patterns are: `#.#.#.#…` cannot blow up.
//! Hash maps use std's randomly seeded `RandomState`, so client-chosen keys cannot flood a bucket.

use std::collections::{HashMap, HashSet};
use std::hash::Hash;

use crate::dest_set::DestSet;
use crate::matching::{next_word, Rest};

/// The surface syntax of a trie's patterns and keys.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Syntax {
    /// Word / level separator.
    pub(crate) sep: char,
    /// Single-word wildcard.
    pub(crate) single: &'static str,
    /// Multi-word wildcard.
    pub(crate) multi: &'static str,
    /// MQTT: a key starting with `$` is not matched by a wildcard in the first level.
    pub(crate) dollar_rule: bool,
    /// AMQP: the empty string has no words (MQTT: one empty level).
    pub(crate) empty_has_no_words: bool,
}

impl Syntax {
    pub(crate) const AMQP: Syntax = Syntax {
        sep: '.',
        single: "*",
        multi: "#",
        dollar_rule: false,
        empty_has_no_words: true,
    };

    pub(crate) const MQTT: Syntax = Syntax {
        sep: '/',
        single: "+",
        multi: "#",
        dollar_rule: true,
        empty_has_no_words: false,
    };

    fn words(self, s: &str) -> Rest<'_> {
        if s.is_empty() && self.empty_has_no_words {
            None
        } else {
            Some(s)
        }
    }

    fn has_wildcard(self, pattern: &str) -> bool {
        !pattern.is_empty()
            && pattern
                .split(self.sep)
                .any(|w| w == self.single || w == self.multi)
    }
}

#[derive(Debug, Clone)]
struct Node<D> {
    /// Boxed and optional: most nodes are leaves, and an empty map would still cost 48 bytes.
    #[allow(clippy::box_collection)] // one word instead of six in every leaf node
    literals: Option<Box<HashMap<Box<str>, Node<D>>>>,
    single: Option<Box<Node<D>>>,
    multi: Option<Box<Node<D>>>,
    destinations: DestSet<D>,
}

impl<D> Default for Node<D> {
    fn default() -> Self {
        Node {
            literals: None,
            single: None,
            multi: None,
            destinations: DestSet::Empty,
        }
    }
}

impl<D> Node<D> {
    fn has_children(&self) -> bool {
        self.literals.is_some() || self.single.is_some() || self.multi.is_some()
    }

    fn is_empty(&self) -> bool {
        self.destinations.is_empty() && !self.has_children()
    }
}

/// Distinct (pattern, destination) pairs indexed for matching. Counting lives in the registry:
/// this index only learns of a pair's first bind and last unbind.
#[derive(Debug, Clone)]
pub(crate) struct Trie<D> {
    syntax: Syntax,
    exact: HashMap<Box<str>, DestSet<D>>,
    root: Node<D>,
}

impl<D> Trie<D> {
    pub(crate) fn new(syntax: Syntax) -> Self {
        Trie {
            syntax,
            exact: HashMap::new(),
            root: Node::default(),
        }
    }
}

impl<D: Clone + Eq + Hash> Trie<D> {
    /// Indexes the pair (the caller knows it is new).
    pub(crate) fn insert(&mut self, pattern: &str, destination: D) {
        let syntax = self.syntax;
        if !syntax.has_wildcard(pattern) {
            self.exact
                .entry(pattern.into())
                .or_default()
                .insert(destination);
            return;
        }
        let mut node = &mut self.root;
        let mut rest = syntax.words(pattern);
        while let Some((word, tail)) = next_word(rest, syntax.sep) {
            node = if word == syntax.multi {
                node.multi.get_or_insert_with(Box::default)
            } else if word == syntax.single {
                node.single.get_or_insert_with(Box::default)
            } else {
                node.literals
                    .get_or_insert_with(Box::default)
                    .entry(word.into())
                    .or_default()
            };
            rest = tail;
        }
        node.destinations.insert(destination);
    }

    /// Drops the pair from the index, pruning nodes left empty.
    pub(crate) fn remove(&mut self, pattern: &str, destination: &D) {
        let syntax = self.syntax;
        if !syntax.has_wildcard(pattern) {
            if let Some(set) = self.exact.get_mut(pattern) {
                set.remove(destination);
                if set.is_empty() {
                    self.exact.remove(pattern);
                }
            }
            return;
        }
        remove_rec(&mut self.root, syntax.words(pattern), destination, syntax);
    }

    /// Appends each destination matching `key` once.
    pub(crate) fn route(&self, key: &str, out: &mut Vec<D>) {
        let mut ctx = Walk {
            key_len: key.len(),
            syntax: self.syntax,
            sets: [None; INLINE_SETS],
            inline: 0,
            spill: Vec::new(),
            visited: HashSet::new(),
        };
        if let Some(set) = self.exact.get(key) {
            ctx.contribute(set, false);
        }
        if self.root.has_children() || !self.root.destinations.is_empty() {
            let allow_wild = !(self.syntax.dollar_rule && key.starts_with('$'));
            ctx.walk(&self.root, self.syntax.words(key), false, allow_wild);
        }
        ctx.finish(out);
    }
}

/// Removes `destination` from the node `rest` leads to; prunes emptied children on the way back.
fn remove_rec<D: Eq + Hash>(node: &mut Node<D>, rest: Rest<'_>, destination: &D, syntax: Syntax) {
    let Some((word, tail)) = next_word(rest, syntax.sep) else {
        node.destinations.remove(destination);
        return;
    };
    if word == syntax.multi {
        if let Some(child) = node.multi.as_deref_mut() {
            remove_rec(child, tail, destination, syntax);
            if child.is_empty() {
                node.multi = None;
            }
        }
    } else if word == syntax.single {
        if let Some(child) = node.single.as_deref_mut() {
            remove_rec(child, tail, destination, syntax);
            if child.is_empty() {
                node.single = None;
            }
        }
    } else if let Some(literals) = node.literals.as_deref_mut() {
        if let Some(child) = literals.get_mut(word) {
            remove_rec(child, tail, destination, syntax);
            if child.is_empty() {
                literals.remove(word);
                if literals.is_empty() {
                    node.literals = None;
                }
            }
        }
    }
}

/// Matched destination sets a route keeps without allocating.
const INLINE_SETS: usize = 8;

/// Candidates up to which deduplication scans the output instead of building a hash set.
const LINEAR_DEDUP: usize = 32;

/// One routing pass: the destination sets that matched, and the memo of states seen after a `#`.
struct Walk<'t, D> {
    key_len: usize,
    syntax: Syntax,
    /// The first matched sets, without allocating; `spill` takes the rest.
    sets: [Option<&'t DestSet<D>>; INLINE_SETS],
    inline: usize,
    spill: Vec<&'t DestSet<D>>,
    /// (node address, key position) already walked; position `usize::MAX` marks a node whose
    /// destinations were already collected. Only used after a `#`, where paths can converge.
    visited: HashSet<(usize, usize)>,
}

impl<'t, D: Clone + Eq + Hash> Walk<'t, D> {
    fn position(&self, rest: Rest<'_>) -> usize {
        match rest {
            Some(s) => self.key_len.saturating_sub(s.len()),
            None => self.key_len.saturating_add(1),
        }
    }

    fn contribute(&mut self, set: &'t DestSet<D>, maybe_seen: bool) {
        if set.is_empty() {
            return;
        }
        if maybe_seen
            && !self
                .visited
                .insert((set as *const DestSet<D> as usize, usize::MAX))
        {
            return;
        }
        if let Some(slot) = self.sets.get_mut(self.inline) {
            *slot = Some(set);
            self.inline += 1;
        } else {
            self.spill.push(set);
        }
    }

    /// Matches the words `rest` from `node`. `after_multi`: a `#` was crossed, so this state may
    /// be reached again along another path. `allow_wild`: wildcards may match here (false only at
    /// the root for MQTT `$` topics).
    fn walk(&mut self, node: &'t Node<D>, rest: Rest<'_>, after_multi: bool, allow_wild: bool) {
        if after_multi {
            let state = (node as *const Node<D> as usize, self.position(rest));
            if !self.visited.insert(state) {
                return;
            }
        }
        let Some((word, tail)) = next_word(rest, self.syntax.sep) else {
            self.contribute(&node.destinations, after_multi);
            if allow_wild {
                if let Some(multi) = node.multi.as_deref() {
                    // `#` matching zero words.
                    self.walk(multi, None, true, true);
                }
            }
            return;
        };
        if let Some(child) = node.literals.as_deref().and_then(|l| l.get(word)) {
            self.walk(child, tail, after_multi, true);
        }
        if !allow_wild {
            return;
        }
        if let Some(single) = node.single.as_deref() {
            self.walk(single, tail, after_multi, true);
        }
        if let Some(multi) = node.multi.as_deref() {
            if multi.has_children() {
                // `#` absorbs zero, one, … all of the remaining words.
                let mut pos = rest;
                loop {
                    self.walk(multi, pos, true, true);
                    match next_word(pos, self.syntax.sep) {
                        Some((_, next)) => pos = next,
                        None => break,
                    }
                }
            } else {
                // A trailing `#` matches whatever is left.
                self.contribute(&multi.destinations, after_multi);
            }
        }
    }

    /// Appends the matched sets' destinations, each once.
    fn finish(self, out: &mut Vec<D>) {
        let inline = self.sets.get(..self.inline).unwrap_or_default();
        let sets = inline
            .iter()
            .flatten()
            .copied()
            .chain(self.spill.iter().copied());
        let total: usize = sets.clone().map(DestSet::len).sum();
        let mut sets = sets;
        let Some(first) = sets.next() else {
            return;
        };
        let start = out.len();
        // One set holds each destination once: no deduplication needed within it.
        out.extend(first.iter().cloned());
        if total <= LINEAR_DEDUP {
            // The common small case: scan what this call appended, no allocation.
            for set in sets {
                for destination in set.iter() {
                    let added = out.get(start..).unwrap_or_default();
                    if !added.contains(destination) {
                        out.push(destination.clone());
                    }
                }
            }
            return;
        }
        let mut seen: HashSet<&D> = first.iter().collect();
        for set in sets {
            for destination in set.iter() {
                if seen.insert(destination) {
                    out.push(destination.clone());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    impl<D> Trie<D> {
        fn is_pruned(&self) -> bool {
            self.exact.is_empty() && self.root.is_empty()
        }

        fn node_count(&self) -> usize {
            fn count<D>(node: &Node<D>) -> usize {
                1 + node
                    .literals
                    .iter()
                    .flat_map(|l| l.values())
                    .map(count)
                    .sum::<usize>()
                    + node.single.as_deref().map_or(0, count)
                    + node.multi.as_deref().map_or(0, count)
            }
            count(&self.root)
        }
    }

    #[test]
    fn exact_patterns_stay_out_of_the_trie() {
        let mut trie = Trie::new(Syntax::AMQP);
        trie.insert("webos.car.info", 1);
        trie.insert("", 2);
        assert_eq!(trie.node_count(), 1);
        trie.insert("webos.*.info", 3);
        assert_eq!(trie.node_count(), 4);
        let mut out = Vec::new();
        trie.route("webos.car.info", &mut out);
        out.sort_unstable();
        assert_eq!(out, [1, 3]);
    }

    proptest! {
        #[test]
        fn removing_every_pair_prunes_every_node(
            patterns in prop::collection::vec(
                prop::collection::vec(prop::sample::select(&["a", "b", "", "*", "#"][..]), 0..5)
                    .prop_map(|w| w.join(".")),
                1..20,
            ),
            order in any::<prop::sample::Index>(),
        ) {
            let mut trie = Trie::new(Syntax::AMQP);
            let mut pairs = std::collections::HashSet::new();
            for (i, p) in patterns.iter().enumerate() {
                let pair = (p.clone(), i % 3);
                if pairs.insert(pair.clone()) {
                    trie.insert(&pair.0, pair.1);
                }
            }
            let mut pairs: Vec<_> = pairs.into_iter().collect();
            pairs.sort();
            let start = order.index(pairs.len());
            pairs.rotate_left(start);
            for (p, d) in &pairs {
                prop_assert!(!trie.is_pruned());
                trie.remove(p, d);
            }
            prop_assert!(trie.is_pruned());
            prop_assert_eq!(trie.node_count(), 1);
        }
    }
}
