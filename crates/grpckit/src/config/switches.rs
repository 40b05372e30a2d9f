//! `middleware.switches:` the built-in parts switched off (or back on) per method pattern,
//! e.g. no audit and no rate limit for one service.

use serde::{Deserialize, Serialize};

use super::{InvalidValue, MethodPattern};

/// The built-in parts of the stack a switch can name, in the stack's order.
pub const SWITCHABLE_PARTS: [&str; 9] = [
    "recover",
    "log",
    "ip_filter",
    "auth",
    "rate_limit",
    "timeout",
    "validate",
    "audit",
    "fault",
];

/// One switch rule of `middleware.switches`. Every rule whose methods match a call applies,
/// in order: a later rule's `enable` turns back on what an earlier one's `disable` turned
/// off. A part can only be switched off where it is on; `enable` does not switch on a part
/// that is off for the whole server.
///
/// # Examples
/// ```
/// let cfg = grpckit::config::parse_yaml(
///     "middleware:\n  switches:\n    - methods: [\"/order.v1.OrderService/*\"]\n      disable: [audit, rate_limit]\n",
/// )
/// .unwrap();
/// assert_eq!(cfg.middleware.switches[0].disable, ["audit", "rate_limit"]);
/// ```
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SwitchRule {
    /// Method patterns ([`MethodPattern`]) the rule applies to.
    pub methods: Vec<MethodPattern>,
    /// Parts switched off for these methods ([`SWITCHABLE_PARTS`]).
    #[serde(default)]
    pub disable: Vec<String>,
    /// Parts switched back on for these methods (after an earlier rule's `disable`).
    #[serde(default)]
    pub enable: Vec<String>,
}

/// Checks `middleware.switches`: every rule names methods and known parts.
pub(crate) fn validate(rules: &[SwitchRule]) -> Result<(), InvalidValue> {
    for (i, r) in rules.iter().enumerate() {
        let key = format!("middleware.switches[{i}]");
        if r.methods.is_empty() {
            return Err(InvalidValue::new(
                format!("{key}.methods"),
                "lists no method pattern",
            ));
        }
        if r.disable.is_empty() && r.enable.is_empty() {
            return Err(InvalidValue::new(
                key,
                "switches nothing: give it `disable`, `enable` or both",
            ));
        }
        for (list, names) in [("disable", &r.disable), ("enable", &r.enable)] {
            for (j, name) in names.iter().enumerate() {
                if !SWITCHABLE_PARTS.contains(&name.as_str()) {
                    return Err(InvalidValue::new(
                        format!("{key}.{list}[{j}]"),
                        format!(
                            "unknown part '{name}' (one of: {})",
                            SWITCHABLE_PARTS.join(", ")
                        ),
                    ));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::config::parse_yaml;

    #[test]
    fn unknown_parts_are_named() {
        for (rules, key) in [
            (
                "    - methods: [\"*\"]\n      disable: [auth, audits]\n",
                "middleware.switches[0].disable[1]",
            ),
            (
                "    - methods: [\"*\"]\n      enable: [nope]\n",
                "middleware.switches[0].enable[0]",
            ),
            ("    - methods: [\"*\"]\n", "middleware.switches[0]"),
            (
                "    - methods: [\"*\"]\n      disable: [auth]\n  enabled: false\n",
                "middleware.switches",
            ),
            (
                "    - methods: []\n      disable: [auth]\n",
                "middleware.switches[0].methods",
            ),
        ] {
            let yaml = format!("middleware:\n  switches:\n{rules}");
            let err = parse_yaml(&yaml).unwrap_err().to_string();
            assert!(err.contains(key), "{yaml}: {err}");
        }
        let ok = parse_yaml(
            "middleware:\n  switches:\n    - methods: [\"a.S/*\"]\n      disable: [auth, audit]\n      enable: [fault]\n",
        )
        .unwrap();
        assert_eq!(ok.middleware.switches.len(), 1);
    }
}
