//! Per-method switches of the built-in parts (`middleware.switches`): which parts are off
//! for a call, as a bit set resolved once per known method.
//!
//! Like fault injection, the state sits behind an atomic flag the stack reads first (a
//! server without switch rules pays one relaxed load per call) and an [`ArcSwap`] a config
//! reload replaces.

use std::sync::{
    Arc,
    atomic::{AtomicBool, Ordering},
};

use arc_swap::ArcSwap;

use crate::config::{MethodPattern, SWITCHABLE_PARTS, SwitchRule};

/// A set of built-in parts, one bit per name of [`SWITCHABLE_PARTS`] (in its order).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Parts(u16);

impl Parts {
    /// No part.
    pub const NONE: Self = Self(0);
    /// Panic recovery.
    pub const RECOVER: Self = Self(1 << 0);
    /// Request ids and the access log.
    pub const LOG: Self = Self(1 << 1);
    /// The IP filter.
    pub const IP_FILTER: Self = Self(1 << 2);
    /// Authentication and authorization.
    pub const AUTH: Self = Self(1 << 3);
    /// Rate limits and load shedding.
    pub const RATE_LIMIT: Self = Self(1 << 4);
    /// Deadlines.
    pub const TIMEOUT: Self = Self(1 << 5);
    /// Request validation.
    pub const VALIDATE: Self = Self(1 << 6);
    /// The audit trail.
    pub const AUDIT: Self = Self(1 << 7);
    /// Fault injection.
    pub const FAULT: Self = Self(1 << 8);

    /// The part named `name` (one of [`SWITCHABLE_PARTS`]).
    pub fn named(name: &str) -> Option<Self> {
        SWITCHABLE_PARTS
            .iter()
            .position(|p| *p == name)
            .map(|i| Self(1 << i))
    }

    /// Whether `part` is in the set.
    #[inline]
    pub fn contains(self, part: Self) -> bool {
        self.0 & part.0 != 0
    }

    /// Whether the set is empty.
    #[inline]
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    fn of(names: &[String]) -> Self {
        Self(
            names
                .iter()
                .filter_map(|n| Self::named(n))
                .fold(0, |a, p| a | p.0),
        )
    }
}

/// The live switch rules (see the module docs).
#[derive(Debug)]
pub struct SwitchBoard {
    on: AtomicBool,
    state: ArcSwap<SwitchState>,
}

#[derive(Debug, Default)]
struct SwitchState {
    /// Patterns, parts off, parts back on.
    rules: Vec<(Vec<MethodPattern>, Parts, Parts)>,
    /// The parts off for each known method (table order).
    per_method: Vec<Parts>,
}

impl SwitchBoard {
    /// The board for `rules`, resolved for the known `methods`.
    pub fn new(rules: &[SwitchRule], methods: &[&str]) -> Self {
        let state = SwitchState::new(rules, methods);
        Self {
            on: AtomicBool::new(!state.rules.is_empty()),
            state: ArcSwap::from_pointee(state),
        }
    }

    /// Replaces the rules (calls that already started are not affected).
    pub fn set(&self, rules: &[SwitchRule], methods: &[&str]) {
        let state = SwitchState::new(rules, methods);
        let on = !state.rules.is_empty();
        self.state.store(Arc::new(state));
        self.on.store(on, Ordering::Release);
    }

    /// Whether any rule exists.
    #[inline]
    pub fn is_on(&self) -> bool {
        self.on.load(Ordering::Relaxed)
    }

    /// The parts switched off for method `index`/`name`.
    pub fn off(&self, index: usize, name: &str) -> Parts {
        let state = self.state.load();
        match state.per_method.get(index) {
            Some(p) => *p,
            None => state.resolve(name),
        }
    }
}

impl SwitchState {
    fn new(rules: &[SwitchRule], methods: &[&str]) -> Self {
        let mut state = Self {
            rules: rules
                .iter()
                .map(|r| {
                    (
                        r.methods.clone(),
                        Parts::of(&r.disable),
                        Parts::of(&r.enable),
                    )
                })
                .collect(),
            per_method: Vec::new(),
        };
        state.per_method = methods.iter().map(|m| state.resolve(m)).collect();
        state
    }

    fn resolve(&self, name: &str) -> Parts {
        let off = self
            .rules
            .iter()
            .filter(|(p, _, _)| MethodPattern::any_matches(p, name))
            .fold(0, |off, (_, dis, en)| (off | dis.0) & !en.0);
        Parts(off)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse_yaml;

    #[test]
    fn later_rules_switch_parts_back_on() {
        let cfg = parse_yaml(
            "middleware:\n  switches:\n    - methods: [\"a.S/*\"]\n      disable: [auth, audit]\n    - methods: [\"a.S/Two\"]\n      enable: [auth]\n",
        )
        .unwrap();
        let b = SwitchBoard::new(&cfg.middleware.switches, &["a.S/One", "a.S/Two", "b.S/One"]);
        assert!(b.is_on());
        let one = b.off(0, "a.S/One");
        assert!(one.contains(Parts::AUTH) && one.contains(Parts::AUDIT));
        assert!(!one.contains(Parts::LOG));
        let two = b.off(1, "a.S/Two");
        assert!(!two.contains(Parts::AUTH) && two.contains(Parts::AUDIT));
        assert!(b.off(2, "b.S/One").is_empty());
        assert!(b.off(usize::MAX, "a.S/Three").contains(Parts::AUTH));
        b.set(&[], &["a.S/One"]);
        assert!(!b.is_on());
        assert!(b.off(0, "a.S/One").is_empty());
    }
}
