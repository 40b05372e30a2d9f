//! The one method-pattern grammar of every method rule (public methods, roles, rate limits,
//! timeouts, the access log's quiet methods, audit).
//!
//! See [`MethodPattern`] for the grammar; `docs/middleware.md` ("Method patterns") documents
//! the same.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A pattern of `pkg.Service/Method` names, the one grammar of every method rule (public
/// methods, roles, rate limits, timeouts, the access log's quiet methods, audit, client
/// retries):
///
/// | pattern | matches |
/// |---|---|
/// | `*` | every method |
/// | `pkg.Service/Method` | that method |
/// | `pkg.Service/*` | every method of `pkg.Service` |
/// | `pkg.Service/Get*` | its methods whose name starts with `Get` |
/// | `*/Create*` | every method of any service whose name starts with `Create` |
/// | `grpc.reflection.*/*` | every method of every service whose name starts with `grpc.reflection.` |
///
/// A pattern is `*` or `SERVICE/METHOD`. In each of the two parts `*` stands for any run of
/// characters (none included) and may appear anywhere, any number of times; everything else
/// is matched literally and case-sensitively. SERVICE is the full service name
/// (`package.Service`), METHOD the method name as in the `.proto`. A leading `/` (the HTTP/2
/// path form, `/pkg.Service/Method`) is accepted and ignored. The earlier spelling of a
/// service prefix without a method part, `grpc.reflection.*`, is still accepted and means
/// `grpc.reflection.*/*`. Anything else (an empty part, a second `/`, spaces or other
/// characters that cannot appear in a proto name) is rejected when the configuration is
/// loaded, naming the key.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct MethodPattern {
    /// The pattern as written, without a leading `/`.
    text: Box<str>,
    kind: Kind,
}

#[derive(Clone, PartialEq, Eq, Hash)]
enum Kind {
    /// `*`
    Any,
    /// `pkg.Service/Method`: `text` itself.
    Exact,
    /// `pkg.Service/*`: the service name followed by `/`.
    Service(Box<str>),
    /// Anything with `*` elsewhere.
    Glob { service: Glob, method: Glob },
}

/// One part of a pattern split at its `*`s: `Get*Info` is `["Get", "Info"]`.
#[derive(Clone, PartialEq, Eq, Hash)]
struct Glob(Box<[Box<str>]>);

impl Glob {
    fn new(part: &str) -> Self {
        Self(part.split('*').map(Into::into).collect())
    }

    fn matches(&self, s: &str) -> bool {
        let parts = &self.0;
        let (first, last) = match parts.as_ref() {
            [] => return s.is_empty(),
            [only] => return s == &**only,
            [first, .., last] => (first, last),
        };
        let Some(mut rest) = s.strip_prefix(&**first) else {
            return false;
        };
        for middle in &parts[1..parts.len() - 1] {
            match rest.find(&**middle) {
                Some(at) => rest = &rest[at + middle.len()..],
                None => return false,
            }
        }
        rest.len() >= last.len() && rest.ends_with(&**last)
    }
}

/// Why a method pattern was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid method pattern '{pattern}': {reason} (expected *, pkg.Service/Method, \
     pkg.Service/*, pkg.Service/Get* or */Create*)"
)]
pub struct PatternError {
    /// The pattern as written.
    pub pattern: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

fn valid_part(part: &str, dots: bool) -> bool {
    part.chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '*' || (dots && c == '.'))
}

impl MethodPattern {
    /// Parses a pattern (grammar: [`MethodPattern`]).
    pub fn parse(pattern: &str) -> Result<Self, PatternError> {
        let err = |reason| PatternError {
            pattern: pattern.to_owned(),
            reason,
        };
        let text = pattern.strip_prefix('/').unwrap_or(pattern);
        if text == "*" {
            return Ok(Self::any());
        }
        let (service, method) = match text.split_once('/') {
            Some(parts) => parts,
            // The earlier spelling of a service prefix: `grpc.reflection.*`.
            None if text.ends_with('*') => (text, "*"),
            None if text.is_empty() => return Err(err("it is empty")),
            None => return Err(err("a method needs its service: SERVICE/METHOD")),
        };
        if service.is_empty() || method.is_empty() {
            return Err(err("the service or the method part is empty"));
        }
        if method.contains('/') {
            return Err(err("more than one '/'"));
        }
        if !valid_part(service, true) || !valid_part(method, false) {
            return Err(err(
                "only letters, digits, '_', '.' (in the service) and '*' allowed",
            ));
        }
        let kind = if !text.contains('*') {
            Kind::Exact
        } else if method == "*" && !service.contains('*') {
            Kind::Service(format!("{service}/").into())
        } else {
            Kind::Glob {
                service: Glob::new(service),
                method: Glob::new(method),
            }
        };
        Ok(Self {
            text: text.into(),
            kind,
        })
    }

    /// `*`: every method.
    pub fn any() -> Self {
        Self {
            text: "*".into(),
            kind: Kind::Any,
        }
    }

    /// Exactly the method `pkg.Service/Method` (a leading `/` is ignored; `*` is literal).
    pub fn exact(method: &str) -> Self {
        Self {
            text: method.strip_prefix('/').unwrap_or(method).into(),
            kind: Kind::Exact,
        }
    }

    /// Every method of `service` (`pkg.Service`): `pkg.Service/*`.
    pub fn service(service: &str) -> Self {
        Self {
            text: format!("{service}/*").into(),
            kind: Kind::Service(format!("{service}/").into()),
        }
    }

    /// The pattern as written (without a leading `/`).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether `method` (`pkg.Service/Method`, a leading `/` ignored) matches.
    pub fn matches(&self, method: &str) -> bool {
        let method = method.strip_prefix('/').unwrap_or(method);
        match &self.kind {
            Kind::Any => true,
            Kind::Exact => method == &*self.text,
            Kind::Service(prefix) => method
                .strip_prefix(&**prefix)
                .is_some_and(|m| !m.contains('/')),
            Kind::Glob { service, method: m } => method
                .split_once('/')
                .is_some_and(|(s, name)| service.matches(s) && m.matches(name)),
        }
    }

    /// Whether any of `patterns` matches `method`.
    pub fn any_matches(patterns: &[Self], method: &str) -> bool {
        patterns.iter().any(|p| p.matches(method))
    }
}

impl fmt::Debug for MethodPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("MethodPattern").field(&self.text).finish()
    }
}

impl fmt::Display for MethodPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::str::FromStr for MethodPattern {
    type Err = PatternError;

    fn from_str(s: &str) -> Result<Self, PatternError> {
        Self::parse(s)
    }
}

impl TryFrom<String> for MethodPattern {
    type Error = PatternError;

    fn try_from(s: String) -> Result<Self, PatternError> {
        Self::parse(&s)
    }
}

impl From<MethodPattern> for String {
    fn from(p: MethodPattern) -> String {
        p.text.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> MethodPattern {
        MethodPattern::parse(s).unwrap()
    }

    const GET: &str = "user.v1.UserService/GetUser";
    const CREATE: &str = "user.v1.UserService/CreateUser";
    const ORDER: &str = "order.v1.OrderService/CreateOrder";

    #[test]
    fn star_matches_everything() {
        for m in [GET, CREATE, ORDER, "/a.B/C"] {
            assert!(p("*").matches(m), "{m}");
        }
        assert_eq!(p("*"), MethodPattern::any());
    }

    #[test]
    fn exact_matches_one_method_with_or_without_the_slash() {
        assert!(p(GET).matches(GET));
        assert!(p(&format!("/{GET}")).matches(GET));
        assert!(p(GET).matches(&format!("/{GET}")));
        assert!(!p(GET).matches("user.v1.UserService/GetUserX"));
        assert!(!p(GET).matches("user.v1.UserService/Get"));
        assert_eq!(p(GET), MethodPattern::exact(GET));
    }

    #[test]
    fn service_star_matches_its_methods_only() {
        let svc = p("user.v1.UserService/*");
        assert!(svc.matches(GET) && svc.matches(CREATE));
        assert!(!svc.matches(ORDER));
        assert!(!svc.matches("user.v1.UserServiceX/GetUser"));
        assert_eq!(svc, MethodPattern::service("user.v1.UserService"));
    }

    #[test]
    fn star_inside_the_method_part() {
        assert!(p("*/Create*").matches(CREATE) && p("*/Create*").matches(ORDER));
        assert!(!p("*/Create*").matches(GET));
        assert!(p("user.v1.UserService/Get*").matches(GET));
        assert!(!p("user.v1.UserService/Get*").matches("order.v1.OrderService/GetOrder"));
        assert!(p("*/*User").matches(GET) && !p("*/*User").matches(ORDER));
        assert!(p("*/Get*r").matches(GET) && !p("*/Get*x").matches(GET));
        assert!(p("*/C*e*User").matches(CREATE));
        // A star matches the empty run too, but the literal parts may not overlap.
        assert!(p("a.B/Get*").matches("a.B/Get"));
        assert!(!p("a.B/ab*ba").matches("a.B/aba"));
    }

    #[test]
    fn star_inside_the_service_part_and_the_earlier_prefix_spelling() {
        let refl = "grpc.reflection.v1.ServerReflection/ServerReflectionInfo";
        assert!(p("grpc.reflection.*/*").matches(refl));
        assert!(p("grpc.reflection.*").matches(refl));
        assert!(!p("grpc.reflection.*").matches(GET));
        assert!(p("*.v1.*/Get*").matches(GET));
        assert!(!p("*/Get*").matches("noslash"));
    }

    #[test]
    fn invalid_patterns_are_refused_saying_why() {
        for bad in [
            "",
            "/",
            "GetUser",
            "user.v1.UserService/",
            "/GetUser",
            "a.B/C/D",
            "a.B/Get User",
            "a.B/Get-User",
            "a.B/Get.User",
        ] {
            let e = MethodPattern::parse(bad).unwrap_err();
            assert_eq!(e.pattern, bad);
            assert!(e.to_string().contains("pkg.Service/Method"), "{e}");
        }
    }

    #[test]
    fn round_trips_through_serde_and_is_refused_there_too() {
        let v: Vec<MethodPattern> = serde_json::from_str(r#"["*/Create*", "/a.B/C"]"#).unwrap();
        assert!(v[0].matches(ORDER));
        assert_eq!(
            serde_json::to_string(&v).unwrap(),
            r#"["*/Create*","a.B/C"]"#
        );
        let e = serde_json::from_str::<MethodPattern>(r#""a.B/C/D""#).unwrap_err();
        assert!(e.to_string().contains("more than one '/'"), "{e}");
    }
}
