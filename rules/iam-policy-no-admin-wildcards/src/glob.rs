//! IAM action patterns: `service:Action` names with the `*` and `?` wildcards, compared the way
//! IAM compares them, ignoring case.
//!
//! Matching one action against one pattern is [`Pattern::matches`]. The rule also has to answer
//! questions about sets of actions: do `iam:Create*` and the forbidden `iam:*User` share an
//! action? Does a statement's `NotAction` list leave some action of the forbidden `iam:*`
//! allowed? Does an `Action` list name every action there is? All three are one search,
//! [`find_action`]: an action name matched by every pattern of one list and by no pattern of
//! another. It walks the product of the patterns' automata over the characters action names are
//! made of, so its answers are exact for real action names, and it returns the action it found
//! as evidence.

use std::collections::{HashSet, VecDeque};

/// One action pattern, as written in a policy or in the `forbiddenActions` parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    text: String,
    symbols: Vec<Symbol>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Symbol {
    /// `*`: any run of characters, including none.
    Any,
    /// `?`: exactly one character.
    One,
    /// One character; ASCII letters are lowercased, as IAM ignores their case.
    Char(char),
}

impl Pattern {
    pub fn new(text: &str) -> Self {
        let mut symbols: Vec<Symbol> = Vec::with_capacity(text.len());
        for c in text.chars() {
            let symbol = match c {
                '*' => Symbol::Any,
                '?' => Symbol::One,
                c => Symbol::Char(c.to_ascii_lowercase()),
            };
            // `**` names what `*` names; one star keeps the automata small.
            if !(symbol == Symbol::Any && symbols.last() == Some(&Symbol::Any)) {
                symbols.push(symbol);
            }
        }
        Self {
            text: text.to_owned(),
            symbols,
        }
    }

    /// The pattern as it was written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether the pattern has no wildcard, so that it names at most one action.
    pub fn is_literal(&self) -> bool {
        self.symbols.iter().all(|s| matches!(s, Symbol::Char(_)))
    }

    /// Whether the pattern names `action`, ignoring ASCII case as IAM does.
    pub fn matches(&self, action: &str) -> bool {
        // Greedy, going back to the last star on a mismatch: linear for the usual patterns and
        // never exponential.
        let text: Vec<char> = action.chars().map(|c| c.to_ascii_lowercase()).collect();
        let symbols = &self.symbols;
        let (mut t, mut p) = (0, 0);
        // The pattern position after the last star seen, and the text position it resumes from.
        let mut resume: Option<(usize, usize)> = None;
        while t < text.len() {
            match symbols.get(p) {
                Some(Symbol::Any) => {
                    resume = Some((p + 1, t));
                    p += 1;
                }
                Some(Symbol::One) => {
                    t += 1;
                    p += 1;
                }
                Some(Symbol::Char(c)) if *c == text[t] => {
                    t += 1;
                    p += 1;
                }
                _ => match resume {
                    Some((after_star, from)) => {
                        // The star swallows one more character.
                        resume = Some((after_star, from + 1));
                        p = after_star;
                        t = from + 1;
                    }
                    None => return false,
                },
            }
        }
        symbols[p..].iter().all(|s| *s == Symbol::Any)
    }

    /// Whether some action is named by both patterns. When undecided (see [`find_action`]),
    /// assumes they do.
    pub fn overlaps(&self, other: &Pattern) -> bool {
        match (self.is_literal(), other.is_literal()) {
            (true, _) => is_action_name(&self.text) && other.matches(&self.text),
            (_, true) => is_action_name(&other.text) && self.matches(&other.text),
            // Any action both name starts with both literal prefixes and ends with both literal
            // suffixes: a cheap exact test that settles most pairs (`s3:Get*` and `iam:*`).
            _ if !agree(self.literal_prefix(), other.literal_prefix(), Side::Start)
                || !agree(self.literal_suffix(), other.literal_suffix(), Side::End) =>
            {
                false
            }
            _ => find_action(&[self, other], &[]) != Search::NoAction,
        }
    }

    /// The characters before the first wildcard.
    fn literal_prefix(&self) -> &[Symbol] {
        let end = self
            .symbols
            .iter()
            .position(|s| !matches!(s, Symbol::Char(_)))
            .unwrap_or(self.symbols.len());
        &self.symbols[..end]
    }

    /// The characters after the last wildcard.
    fn literal_suffix(&self) -> &[Symbol] {
        let start = self
            .symbols
            .iter()
            .rposition(|s| !matches!(s, Symbol::Char(_)))
            .map_or(0, |i| i + 1);
        &self.symbols[start..]
    }
}

#[derive(Clone, Copy)]
enum Side {
    Start,
    End,
}

/// Whether the shorter of two literal runs is a prefix (or suffix) of the longer one.
fn agree(a: &[Symbol], b: &[Symbol], side: Side) -> bool {
    let n = a.len().min(b.len());
    match side {
        Side::Start => a[..n] == b[..n],
        Side::End => a[a.len() - n..] == b[b.len() - n..],
    }
}

/// What [`find_action`] concluded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Search {
    /// This action name is matched by every pattern of the first list and by none of the second.
    Found(String),
    /// No action name is.
    NoAction,
    /// The patterns were too intricate to decide within [`SEARCH_LIMIT`] states. Callers assume
    /// whichever answer reports more.
    Undecided,
}

/// The characters action names are made of, case folded: service prefixes are lowercase
/// letters, digits and hyphens, action names letters and digits; `_` is allowed too, so that
/// the search errs towards finding an action.
pub const NAME_CHARS: &str = "abcdefghijklmnopqrstuvwxyz0123456789-_";

/// How many search states [`find_action`] visits before it gives up. Patterns in real policies
/// need a few dozen.
pub const SEARCH_LIMIT: usize = 20_000;

/// Whether `text` has the shape of an action name: `service:action`, both parts non-empty and
/// made of [`NAME_CHARS`] (any case).
pub fn is_action_name(text: &str) -> bool {
    let valid = |part: &str| {
        !part.is_empty()
            && part
                .chars()
                .all(|c| NAME_CHARS.contains(c.to_ascii_lowercase()))
    };
    text.split_once(':')
        .is_some_and(|(service, action)| valid(service) && valid(action))
}

/// Finds an action name (see [`is_action_name`]) that every pattern in `all_of` matches and no
/// pattern in `none_of` matches: a shortest such name.
pub fn find_action(all_of: &[&Pattern], none_of: &[&Pattern]) -> Search {
    // Characters no pattern spells out are alike to every automaton here: one of them stands
    // for all. The others, and `:`, are tried each.
    let spelt = |c: char| {
        all_of
            .iter()
            .chain(none_of)
            .any(|p| p.symbols.contains(&Symbol::Char(c)))
    };
    let stand_in = NAME_CHARS.chars().find(|c| !spelt(*c));
    let alphabet: Vec<char> = NAME_CHARS
        .chars()
        .filter(|c| spelt(*c) || Some(*c) == stand_in)
        .chain([':'])
        .collect();
    let start = SearchState {
        shape: Shape::Start,
        all_of: all_of.iter().map(|p| Positions::start(p)).collect(),
        none_of: none_of.iter().map(|p| Positions::start(p)).collect(),
    };
    // Breadth first, so the first action found is a shortest one; each state remembers the
    // state and character it was reached from, to spell the action out.
    let mut states: Vec<(SearchState, Option<(usize, char)>)> = vec![(start.clone(), None)];
    let mut seen: HashSet<SearchState> = HashSet::from([start]);
    let mut queue = VecDeque::from([0]);
    while let Some(index) = queue.pop_front() {
        let state = states[index].0.clone();
        if state.accepts(all_of, none_of) {
            return Search::Found(spell(&states, index));
        }
        for &c in &alphabet {
            let Some(next) = state.step(c, all_of, none_of) else {
                continue;
            };
            if seen.contains(&next) {
                continue;
            }
            if states.len() >= SEARCH_LIMIT {
                return Search::Undecided;
            }
            seen.insert(next.clone());
            queue.push_back(states.len());
            states.push((next, Some((index, c))));
        }
    }
    Search::NoAction
}

fn spell(states: &[(SearchState, Option<(usize, char)>)], mut index: usize) -> String {
    let mut chars = Vec::new();
    while let Some((parent, c)) = states[index].1 {
        chars.push(c);
        index = parent;
    }
    chars.iter().rev().collect()
}

/// Where a search is in the `service:action` shape of an action name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Shape {
    Start,
    Service,
    Colon,
    Action,
}

impl Shape {
    fn step(self, c: char) -> Option<Self> {
        match (self, c == ':') {
            (Self::Start | Self::Service, false) => Some(Self::Service),
            (Self::Service, true) => Some(Self::Colon),
            (Self::Colon | Self::Action, false) => Some(Self::Action),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct SearchState {
    shape: Shape,
    all_of: Vec<Positions>,
    none_of: Vec<Positions>,
}

impl SearchState {
    /// The state after one more character; `None` when no completion can be an answer.
    fn step(&self, c: char, all_of: &[&Pattern], none_of: &[&Pattern]) -> Option<Self> {
        let shape = self.shape.step(c)?;
        let mut next_all = Vec::with_capacity(self.all_of.len());
        for (positions, pattern) in self.all_of.iter().zip(all_of) {
            let next = positions.step(pattern, c);
            if next.is_empty() {
                return None;
            }
            next_all.push(next);
        }
        let mut next_none = Vec::with_capacity(self.none_of.len());
        for (positions, pattern) in self.none_of.iter().zip(none_of) {
            let next = positions.step(pattern, c);
            if next.matches_any_rest(pattern) {
                return None;
            }
            next_none.push(next);
        }
        Some(Self {
            shape,
            all_of: next_all,
            none_of: next_none,
        })
    }

    fn accepts(&self, all_of: &[&Pattern], none_of: &[&Pattern]) -> bool {
        self.shape == Shape::Action
            && self.all_of.iter().zip(all_of).all(|(s, p)| s.at_end(p))
            && !self.none_of.iter().zip(none_of).any(|(s, p)| s.at_end(p))
    }
}

/// The positions a pattern's automaton can be in: a set of indices `0..=len` into its symbols.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Positions(Vec<u64>);

impl Positions {
    fn empty(pattern: &Pattern) -> Self {
        Self(vec![0; pattern.symbols.len() / 64 + 1])
    }

    fn start(pattern: &Pattern) -> Self {
        let mut positions = Self::empty(pattern);
        positions.insert(0);
        positions.close(pattern);
        positions
    }

    fn insert(&mut self, i: usize) {
        self.0[i / 64] |= 1 << (i % 64);
    }

    fn contains(&self, i: usize) -> bool {
        self.0[i / 64] & (1 << (i % 64)) != 0
    }

    fn is_empty(&self) -> bool {
        self.0.iter().all(|w| *w == 0)
    }

    /// A star may match nothing: being before it is being after it too.
    fn close(&mut self, pattern: &Pattern) {
        for (i, symbol) in pattern.symbols.iter().enumerate() {
            if *symbol == Symbol::Any && self.contains(i) {
                self.insert(i + 1);
            }
        }
    }

    fn step(&self, pattern: &Pattern, c: char) -> Self {
        let mut next = Self::empty(pattern);
        for (i, symbol) in pattern.symbols.iter().enumerate() {
            if !self.contains(i) {
                continue;
            }
            match symbol {
                Symbol::Any => next.insert(i),
                Symbol::One => next.insert(i + 1),
                Symbol::Char(x) if *x == c => next.insert(i + 1),
                Symbol::Char(_) => {}
            }
        }
        next.close(pattern);
        next
    }

    fn at_end(&self, pattern: &Pattern) -> bool {
        self.contains(pattern.symbols.len())
    }

    /// Whether the pattern matches whatever follows: it is before a final star.
    fn matches_any_rest(&self, pattern: &Pattern) -> bool {
        let n = pattern.symbols.len();
        n > 0 && pattern.symbols[n - 1] == Symbol::Any && self.contains(n - 1)
    }
}

#[cfg(test)]
#[path = "glob_tests.rs"]
mod tests;
