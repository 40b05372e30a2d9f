//! `middleware.fault:` fault injection, as Envoy's HTTP fault filter: per method pattern, a
//! delay and/or an abort with a chosen status for a share of the calls, optionally only for
//! calls carrying a header. Off by default; switched on and off by a config reload.

use std::{fmt, time::Duration};

use serde::{Deserialize, Serialize};
use tonic::Code;

use super::{InvalidValue, MethodPattern};
use crate::error::code_name;

/// `middleware.fault:`
///
/// # Examples
/// ```
/// let cfg = grpckit::config::parse_yaml(
///     "middleware:\n  fault:\n    enabled: true\n    rules:\n      - methods: [\"/user.v1.UserService/*\"]\n        abort: { percent: 50, code: UNAVAILABLE }\n",
/// )
/// .unwrap();
/// assert_eq!(cfg.middleware.fault.rules[0].abort.as_ref().unwrap().percent.get(), 50.0);
/// ```
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct FaultConfig {
    /// Inject the faults of `rules` (hot-reloadable, this switch included). Default `false`.
    pub enabled: bool,
    /// Rules; the first whose methods (and header) match a call applies. Default none.
    pub rules: Vec<FaultRule>,
}

/// One fault rule: which calls, and what happens to them.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FaultRule {
    /// Method patterns ([`MethodPattern`]) the rule applies to.
    pub methods: Vec<MethodPattern>,
    /// Only calls carrying this header (default: every call of the methods).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<FaultHeader>,
    /// Delay before the handler runs (it counts against the call's deadline).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay: Option<FaultDelay>,
    /// Answer with a status without calling the handler.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abort: Option<FaultAbort>,
}

/// The header a [`FaultRule`] requires.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FaultHeader {
    /// Header name (case-insensitive), e.g. `x-fault`.
    pub name: String,
    /// Required value (exact); without it the header's presence is enough.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// `delay:` either `fixed`, or uniformly between `min` and `max`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FaultDelay {
    /// Share of the matching calls delayed, `0` to `100`.
    pub percent: Percent,
    /// The delay (not with `min`/`max`).
    #[serde(
        default,
        with = "humantime_serde",
        skip_serializing_if = "Option::is_none"
    )]
    pub fixed: Option<Duration>,
    /// Shortest delay (with `max`).
    #[serde(
        default,
        with = "humantime_serde",
        skip_serializing_if = "Option::is_none"
    )]
    pub min: Option<Duration>,
    /// Longest delay (with `min`).
    #[serde(
        default,
        with = "humantime_serde",
        skip_serializing_if = "Option::is_none"
    )]
    pub max: Option<Duration>,
}

/// `abort:` the status answered instead of calling the handler.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FaultAbort {
    /// Share of the matching calls aborted, `0` to `100`.
    pub percent: Percent,
    /// The status code, by name (`UNAVAILABLE`) or number (`14`); not `OK`.
    pub code: FaultCode,
    /// The status message. Default `fault injected`.
    #[serde(default = "default_message")]
    pub message: String,
}

fn default_message() -> String {
    "fault injected".into()
}

/// A share of calls in percent, from `0` (none) to `100` (all).
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize, Deserialize)]
#[serde(try_from = "f64", into = "f64")]
pub struct Percent(f64);

impl Percent {
    /// The share, when `0 <= percent <= 100`.
    pub fn new(percent: f64) -> Result<Self, String> {
        if (0.0..=100.0).contains(&percent) {
            Ok(Self(percent))
        } else {
            Err(format!(
                "expected a percentage from 0 to 100, got {percent}"
            ))
        }
    }

    /// The percentage as a number.
    pub fn get(self) -> f64 {
        self.0
    }
}

impl TryFrom<f64> for Percent {
    type Error = String;

    fn try_from(p: f64) -> Result<Self, String> {
        Self::new(p)
    }
}

impl From<Percent> for f64 {
    fn from(p: Percent) -> f64 {
        p.0
    }
}

/// A gRPC status code other than `OK`, written as its name (`UNAVAILABLE`) or number (`14`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "CodeText", into = "String")]
pub struct FaultCode(Code);

impl FaultCode {
    /// The code.
    pub fn get(self) -> Code {
        self.0
    }
}

/// How a code is written in the file.
#[derive(Deserialize)]
#[serde(untagged)]
enum CodeText {
    Number(i64),
    Name(String),
}

impl TryFrom<CodeText> for FaultCode {
    type Error = String;

    fn try_from(t: CodeText) -> Result<Self, String> {
        let code = match &t {
            CodeText::Number(n) => i32::try_from(*n)
                .ok()
                .filter(|n| (1..=16).contains(n))
                .map(Code::from_i32),
            CodeText::Name(s) => (1..=16)
                .map(Code::from_i32)
                .find(|c| code_name(*c).eq_ignore_ascii_case(s.trim())),
        };
        code.map(Self).ok_or_else(|| {
            let got = match t {
                CodeText::Number(n) => n.to_string(),
                CodeText::Name(s) => format!("'{s}'"),
            };
            format!(
                "expected a gRPC status code other than OK, by name (UNAVAILABLE) or number (1 to 16), got {got}"
            )
        })
    }
}

impl From<FaultCode> for String {
    fn from(c: FaultCode) -> String {
        code_name(c.0).to_owned()
    }
}

impl fmt::Display for FaultCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(code_name(self.0))
    }
}

impl FaultConfig {
    /// Checks what serde cannot: each rule names methods and does something, a delay is
    /// `fixed` or `min`..`max`, a header name is valid.
    pub fn validate(&self) -> Result<(), InvalidValue> {
        for (i, r) in self.rules.iter().enumerate() {
            let key = format!("middleware.fault.rules[{i}]");
            if r.methods.is_empty() {
                return Err(InvalidValue::new(
                    format!("{key}.methods"),
                    "lists no method pattern",
                ));
            }
            if r.delay.is_none() && r.abort.is_none() {
                return Err(InvalidValue::new(
                    key,
                    "injects nothing: give it a `delay`, an `abort` or both",
                ));
            }
            if let Some(h) = &r.header {
                if http::HeaderName::from_bytes(h.name.as_bytes()).is_err() {
                    return Err(InvalidValue::new(
                        format!("{key}.header.name"),
                        format!("'{}' is not a valid header name", h.name),
                    ));
                }
                if let Some(v) = &h.value
                    && http::HeaderValue::from_str(v).is_err()
                {
                    return Err(InvalidValue::new(
                        format!("{key}.header.value"),
                        "is not a valid header value",
                    ));
                }
            }
            if let Some(d) = &r.delay {
                d.range()
                    .map_err(|reason| InvalidValue::new(format!("{key}.delay"), reason))?;
            }
        }
        Ok(())
    }
}

impl FaultDelay {
    /// The delay's bounds `(min, max)` (equal for `fixed`).
    ///
    /// # Errors
    /// Neither or both of `fixed` and `min`/`max`, only one of `min`/`max`, or `min > max`.
    pub fn range(&self) -> Result<(Duration, Duration), String> {
        match (self.fixed, self.min, self.max) {
            (Some(f), None, None) => Ok((f, f)),
            (None, Some(lo), Some(hi)) if lo <= hi => Ok((lo, hi)),
            (None, Some(lo), Some(hi)) => Err(format!(
                "min ({}) is longer than max ({})",
                humantime::format_duration(lo),
                humantime::format_duration(hi)
            )),
            _ => Err("give either `fixed`, or both `min` and `max`".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::parse_yaml;

    fn fault(rules: &str) -> String {
        format!("middleware:\n  fault:\n    enabled: true\n    rules:\n{rules}")
    }

    #[test]
    fn rules_parse_with_codes_by_name_or_number() {
        let cfg = parse_yaml(&fault(
            "      - methods: [\"/user.v1.UserService/*\"]\n        header: { name: x-fault }\n        delay: { percent: 50, min: 50ms, max: 150ms }\n        abort: { percent: 12.5, code: 14 }\n      - methods: [\"*\"]\n        delay: { percent: 100, fixed: 1s }\n        abort: { percent: 1, code: permission_denied, message: no }\n",
        ))
        .unwrap();
        let f = &cfg.middleware.fault;
        assert!(f.enabled);
        let r = &f.rules[0];
        assert_eq!(r.header.as_ref().unwrap().value, None);
        assert_eq!(
            r.delay.as_ref().unwrap().range().unwrap(),
            (
                std::time::Duration::from_millis(50),
                std::time::Duration::from_millis(150)
            )
        );
        let a = r.abort.as_ref().unwrap();
        assert_eq!(a.code.get(), tonic::Code::Unavailable);
        assert_eq!(a.message, "fault injected");
        let a = f.rules[1].abort.as_ref().unwrap();
        assert_eq!(a.code.get(), tonic::Code::PermissionDenied);
        assert_eq!(a.message, "no");
        // Round trip: the code is written by name.
        let json = serde_json::to_string(&cfg.middleware.fault).unwrap();
        assert!(json.contains("\"UNAVAILABLE\""), "{json}");
    }

    #[test]
    fn bad_rules_are_named() {
        for (rules, key) in [
            (
                "      - methods: [\"*\"]\n        abort: { percent: 101, code: UNAVAILABLE }\n",
                "middleware.fault.rules[0].abort.percent",
            ),
            (
                "      - methods: [\"*\"]\n        abort: { percent: 5, code: OK }\n",
                "middleware.fault.rules[0].abort.code",
            ),
            (
                "      - methods: [\"*\"]\n        abort: { percent: 5, code: 17 }\n",
                "middleware.fault.rules[0].abort.code",
            ),
            (
                "      - methods: [\"*\"]\n        abort: { percent: 5, code: NOPE }\n",
                "middleware.fault.rules[0].abort.code",
            ),
            (
                "      - methods: [\"*\"]\n        delay: { percent: 5, fixed: 1s, min: 1s, max: 2s }\n",
                "middleware.fault.rules[0].delay",
            ),
            (
                "      - methods: [\"*\"]\n        delay: { percent: 5, min: 2s, max: 1s }\n",
                "middleware.fault.rules[0].delay",
            ),
            (
                "      - methods: [\"*\"]\n        delay: { percent: 5, min: 2s }\n",
                "middleware.fault.rules[0].delay",
            ),
            ("      - methods: [\"*\"]\n", "middleware.fault.rules[0]"),
            (
                "      - methods: []\n        delay: { percent: 5, fixed: 1s }\n",
                "middleware.fault.rules[0].methods",
            ),
            (
                "      - methods: [\"*\"]\n        header: { name: \"bad name\" }\n        delay: { percent: 5, fixed: 1s }\n",
                "middleware.fault.rules[0].header.name",
            ),
        ] {
            let yaml = fault(rules);
            let err = parse_yaml(&yaml).unwrap_err().to_string();
            assert!(err.contains(key), "{yaml}: {err}");
        }
    }
}
