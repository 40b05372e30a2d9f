//! Fault injection (`middleware.fault`), as Envoy's HTTP fault filter: the first rule whose
//! method patterns (and header, if it names one) match a call decides, independently for
//! its delay and its abort, by drawing a random number against each one's percentage.
//!
//! The state sits behind a [`FaultSwitch`]: an atomic flag the stack reads first, so that a
//! server with fault injection off pays one relaxed load per call, and an [`ArcSwap`] of the
//! rules that a config reload replaces (the flag included: switching on is live).

use std::{
    ops::RangeInclusive,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use arc_swap::ArcSwap;
use http::{HeaderMap, HeaderName, HeaderValue};
use rand::Rng;
use tonic::{Code, Status};

use crate::config::{FaultConfig, FaultRule, MethodPattern};

/// The live switch and rules of fault injection (see the module docs).
#[derive(Debug)]
pub struct FaultSwitch {
    on: AtomicBool,
    state: ArcSwap<FaultState>,
}

impl FaultSwitch {
    /// The switch for `cfg`, with the rules resolved for the known `methods`.
    pub fn new(cfg: &FaultConfig, methods: &[&str]) -> Self {
        let state = FaultState::new(cfg, methods);
        Self {
            on: AtomicBool::new(state.active()),
            state: ArcSwap::from_pointee(state),
        }
    }

    /// Replaces the rules and the switch (calls that already started are not affected).
    pub fn set(&self, cfg: &FaultConfig, methods: &[&str]) {
        let state = FaultState::new(cfg, methods);
        let on = state.active();
        self.state.store(Arc::new(state));
        self.on.store(on, Ordering::Release);
    }

    /// Whether any fault can be injected (`enabled` and at least one rule).
    #[inline]
    pub fn is_on(&self) -> bool {
        self.on.load(Ordering::Relaxed)
    }

    /// The fault drawn for a call of method `index`/`name` carrying `headers`.
    pub fn decide(&self, index: usize, name: &str, headers: &HeaderMap) -> Injected {
        self.state.load().decide(index, name, headers)
    }
}

/// What is injected into one call.
#[derive(Debug, Default)]
pub struct Injected {
    /// Wait this long before the handler.
    pub delay: Option<Duration>,
    /// Answer this status instead of calling the handler (after the delay, if any).
    pub abort: Option<Status>,
}

/// The rules, resolved per known method.
#[derive(Debug, Default)]
struct FaultState {
    enabled: bool,
    rules: Vec<Rule>,
    /// For each known method (table order), the rules whose patterns match it, in order.
    per_method: Vec<Box<[usize]>>,
}

#[derive(Debug)]
struct Rule {
    methods: Vec<MethodPattern>,
    header: Option<(HeaderName, Option<HeaderValue>)>,
    /// Share of calls (0..=1) and the delay's range.
    delay: Option<(f64, RangeInclusive<Duration>)>,
    /// Share of calls (0..=1), code, message.
    abort: Option<(f64, Code, Arc<str>)>,
}

impl FaultState {
    fn new(cfg: &FaultConfig, methods: &[&str]) -> Self {
        let rules: Vec<Rule> = cfg.rules.iter().filter_map(Rule::new).collect();
        let per_method = methods
            .iter()
            .map(|m| {
                (0..rules.len())
                    .filter(|&i| MethodPattern::any_matches(&rules[i].methods, m))
                    .collect()
            })
            .collect();
        Self {
            enabled: cfg.enabled,
            rules,
            per_method,
        }
    }

    fn active(&self) -> bool {
        self.enabled && !self.rules.is_empty()
    }

    fn decide(&self, index: usize, name: &str, headers: &HeaderMap) -> Injected {
        if !self.enabled {
            return Injected::default();
        }
        let rule = match self.per_method.get(index) {
            Some(candidates) => candidates
                .iter()
                .map(|&i| &self.rules[i])
                .find(|r| r.header_matches(headers)),
            None => self.rules.iter().find(|r| {
                MethodPattern::any_matches(&r.methods, name) && r.header_matches(headers)
            }),
        };
        let Some(rule) = rule else {
            return Injected::default();
        };
        let mut rng = rand::rng();
        let delay = match &rule.delay {
            Some((share, range)) if hit(&mut rng, *share) => Some(pick(&mut rng, range)),
            _ => None,
        };
        let abort = match &rule.abort {
            Some((share, code, msg)) if hit(&mut rng, *share) => Some(Status::new(*code, &**msg)),
            _ => None,
        };
        Injected { delay, abort }
    }
}

/// Whether a call falls in a `share` (0..=1) of the calls.
fn hit(rng: &mut impl Rng, share: f64) -> bool {
    share > 0.0 && rng.random::<f64>() < share
}

/// A duration drawn uniformly from `range`.
fn pick(rng: &mut impl Rng, range: &RangeInclusive<Duration>) -> Duration {
    let (lo, hi) = (range.start().as_nanos(), range.end().as_nanos());
    if lo >= hi {
        return *range.start();
    }
    let nanos = rng.random_range(lo..=hi);
    Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
}

impl Rule {
    /// The runtime rule (`None` for a rule validation would refuse).
    fn new(r: &FaultRule) -> Option<Self> {
        let header = match &r.header {
            Some(h) => {
                let name = HeaderName::from_bytes(h.name.as_bytes()).ok()?;
                let value = match &h.value {
                    Some(v) => Some(HeaderValue::from_str(v).ok()?),
                    None => None,
                };
                Some((name, value))
            }
            None => None,
        };
        let delay = match &r.delay {
            Some(d) => {
                let (lo, hi) = d.range().ok()?;
                Some((d.percent.get() / 100.0, lo..=hi))
            }
            None => None,
        };
        let abort = r.abort.as_ref().map(|a| {
            (
                a.percent.get() / 100.0,
                a.code.get(),
                Arc::<str>::from(a.message.as_str()),
            )
        });
        Some(Self {
            methods: r.methods.clone(),
            header,
            delay,
            abort,
        })
    }

    fn header_matches(&self, headers: &HeaderMap) -> bool {
        match &self.header {
            None => true,
            Some((name, None)) => headers.contains_key(name),
            Some((name, Some(value))) => headers.get_all(name).iter().any(|v| v == value),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse_yaml;

    fn switch(rules: &str) -> FaultSwitch {
        let cfg = parse_yaml(&format!(
            "middleware:\n  fault:\n    enabled: true\n    rules:\n{rules}"
        ))
        .unwrap();
        FaultSwitch::new(&cfg.middleware.fault, &["a.S/One", "a.S/Two"])
    }

    #[test]
    fn off_without_rules_or_enabled() {
        let off = FaultSwitch::new(&FaultConfig::default(), &["a.S/One"]);
        assert!(!off.is_on());
        let on = switch("      - methods: [\"*\"]\n        abort: { percent: 100, code: 14 }\n");
        assert!(on.is_on());
        on.set(&FaultConfig::default(), &["a.S/One"]);
        assert!(!on.is_on());
    }

    #[test]
    fn first_matching_rule_decides_with_its_header() {
        let s = switch(
            "      - methods: [\"a.S/One\"]\n        header: { name: x-fault, value: \"on\" }\n        abort: { percent: 100, code: ABORTED, message: boom }\n      - methods: [\"a.S/*\"]\n        delay: { percent: 100, fixed: 2s }\n",
        );
        let mut h = HeaderMap::new();
        let plain = s.decide(0, "a.S/One", &h);
        assert_eq!(plain.delay, Some(Duration::from_secs(2)));
        assert!(plain.abort.is_none());
        h.insert("x-fault", HeaderValue::from_static("off"));
        assert!(s.decide(0, "a.S/One", &h).abort.is_none());
        h.insert("x-fault", HeaderValue::from_static("on"));
        let hit = s.decide(0, "a.S/One", &h);
        let st = hit.abort.unwrap();
        assert_eq!((st.code(), st.message()), (Code::Aborted, "boom"));
        assert!(hit.delay.is_none(), "only the first matching rule applies");
        // A method outside the table is matched by its name.
        assert!(s.decide(usize::MAX, "a.S/Three", &h).delay.is_some());
        assert!(s.decide(usize::MAX, "b.S/One", &h).delay.is_none());
    }

    #[test]
    fn percentages_and_ranges_hold() {
        let s = switch(
            "      - methods: [\"*\"]\n        delay: { percent: 0, fixed: 1s }\n        abort: { percent: 50, code: 14 }\n      - methods: [\"x.S/*\"]\n        delay: { percent: 100, min: 10ms, max: 20ms }\n",
        );
        let h = HeaderMap::new();
        let aborted = (0..2000)
            .filter(|_| {
                let i = s.decide(0, "a.S/One", &h);
                assert!(i.delay.is_none(), "0% never delays");
                i.abort.is_some()
            })
            .count();
        assert!((850..=1150).contains(&aborted), "{aborted} of 2000");
        let s = switch(
            "      - methods: [\"*\"]\n        delay: { percent: 100, min: 10ms, max: 20ms }\n",
        );
        for _ in 0..200 {
            let d = s.decide(1, "a.S/Two", &h).delay.unwrap();
            assert!((Duration::from_millis(10)..=Duration::from_millis(20)).contains(&d));
        }
    }
}
