//! `google.api.http` path templates (`/v1/users/{id}`, `/v1/{name=orders/*}:pay`) read into
//! their parts: literal segments, variables (a field path, with the segments it matches) and
//! the `:verb` suffix. The OpenAPI document names its path parameters from them, and the
//! command-line REST client fills them in.

use std::fmt::Write as _;

/// One part of a path template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Part {
    /// A literal segment (`v1`, `users`).
    Literal(String),
    /// A segment matching anything but `/` (`*`) that binds no field.
    Any,
    /// Any number of segments (`**`) that binds no field.
    AnyPath,
    /// `{field.path}` or `{field.path=segments}`: the field's value fills these segments.
    Variable {
        /// The request field, dotted for nested messages (`user.id`).
        field: String,
        /// The segments it matches: `*` for a bare `{field}`; `orders/*`, `**` otherwise.
        segments: Vec<String>,
    },
}

/// A path template read into its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Template {
    /// The segments, in order.
    pub(crate) parts: Vec<Part>,
    /// The `:verb` suffix, without the colon.
    pub(crate) verb: Option<String>,
}

/// Why a template does not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("path template {template:?}: {why}")]
pub(crate) struct TemplateError {
    template: String,
    why: &'static str,
}

impl Template {
    /// Reads a template (`"/" segments [":" verb]`), or says why it does not read.
    pub(crate) fn parse(template: &str) -> Result<Self, TemplateError> {
        let err = |why| TemplateError {
            template: template.to_owned(),
            why,
        };
        let rest = template
            .strip_prefix('/')
            .ok_or_else(|| err("does not start with `/`"))?;
        // The verb is after the last `:` that is outside braces.
        let mut depth = 0usize;
        let mut verb_at = None;
        for (i, c) in rest.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => depth = depth.checked_sub(1).ok_or_else(|| err("unbalanced `}`"))?,
                ':' if depth == 0 => verb_at = Some(i),
                _ => {}
            }
        }
        if depth != 0 {
            return Err(err("unbalanced `{`"));
        }
        let (path, verb) = match verb_at {
            Some(i) => (&rest[..i], Some(rest[i + 1..].to_owned())),
            None => (rest, None),
        };
        if verb
            .as_deref()
            .is_some_and(|v| v.is_empty() || v.contains('/'))
        {
            return Err(err("empty or invalid `:verb`"));
        }
        let mut parts = Vec::new();
        let mut chars = path;
        while !chars.is_empty() {
            if let Some(inner) = chars.strip_prefix('{') {
                let end = inner.find('}').ok_or_else(|| err("unbalanced `{`"))?;
                let (field, segments) = match inner[..end].split_once('=') {
                    Some((f, s)) => (f, s.split('/').map(str::to_owned).collect()),
                    None => (&inner[..end], vec!["*".to_owned()]),
                };
                if field.is_empty() || segments.iter().any(String::is_empty) {
                    return Err(err("empty variable"));
                }
                parts.push(Part::Variable {
                    field: field.to_owned(),
                    segments,
                });
                chars = &inner[end + 1..];
            } else {
                let end = chars.find('/').unwrap_or(chars.len());
                let seg = &chars[..end];
                if seg.contains(['{', '}']) {
                    return Err(err("a variable must be a whole segment"));
                }
                parts.push(match seg {
                    "" => return Err(err("empty segment")),
                    "*" => Part::Any,
                    "**" => Part::AnyPath,
                    s => Part::Literal(s.to_owned()),
                });
                chars = &chars[end..];
            }
            chars = match chars.strip_prefix('/') {
                Some("") => return Err(err("trailing `/`")),
                Some(more) => more,
                None if chars.is_empty() => chars,
                None => return Err(err("a variable must be a whole segment")),
            };
        }
        Ok(Self { parts, verb })
    }

    /// The fields bound by the path, in order (`["id"]`, `["name"]`, `["user.id"]`).
    pub(crate) fn fields(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Variable { field, .. } => Some(field.as_str()),
            _ => None,
        })
    }

    /// The template as an OpenAPI path: each variable as `{field.path}` (whatever segments it
    /// matches), wildcards that bind no field kept as `*`/`**`, the verb kept as `:verb`.
    pub(crate) fn openapi_path(&self) -> String {
        let mut out = String::new();
        for p in &self.parts {
            out.push('/');
            match p {
                Part::Literal(s) => out.push_str(s),
                Part::Any => out.push('*'),
                Part::AnyPath => out.push_str("**"),
                Part::Variable { field, .. } => {
                    let _ = write!(out, "{{{field}}}");
                }
            }
        }
        if let Some(v) = &self.verb {
            let _ = write!(out, ":{v}");
        }
        out
    }
}

/// Whether a variable's segments are one plain segment (`{id}`, `{id=*}`).
pub(crate) fn single_segment(segments: &[String]) -> bool {
    segments.len() == 1 && segments[0] == "*"
}

/// A regular expression (anchored) for the values a variable's segments match:
/// `orders/*` -> `^orders/[^/]+$`, `**` -> `^.+$`.
pub(crate) fn segments_pattern(segments: &[String]) -> String {
    let body: Vec<String> = segments
        .iter()
        .map(|s| match s.as_str() {
            "*" => "[^/]+".to_owned(),
            "**" => ".+".to_owned(),
            lit => regex::escape(lit),
        })
        .collect();
    format!("^{}$", body.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn var(field: &str, segments: &[&str]) -> Part {
        Part::Variable {
            field: field.into(),
            segments: segments.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    #[test]
    fn templates_read_into_parts() {
        let t = Template::parse("/v1/users/{id}").unwrap();
        assert_eq!(
            t.parts,
            [
                Part::Literal("v1".into()),
                Part::Literal("users".into()),
                var("id", &["*"])
            ]
        );
        assert_eq!(t.verb, None);
        assert_eq!(t.openapi_path(), "/v1/users/{id}");

        let t = Template::parse("/v1/orders/{id}:pay").unwrap();
        assert_eq!(t.verb.as_deref(), Some("pay"));
        assert_eq!(t.openapi_path(), "/v1/orders/{id}:pay");

        let t = Template::parse("/v1/{name=orders/*}:cancel").unwrap();
        assert_eq!(t.parts[1], var("name", &["orders", "*"]));
        assert_eq!(t.openapi_path(), "/v1/{name}:cancel");
        assert_eq!(t.fields().collect::<Vec<_>>(), ["name"]);

        let t = Template::parse("/v1/users:batchCreate").unwrap();
        assert_eq!(t.parts.len(), 2);
        assert_eq!(t.verb.as_deref(), Some("batchCreate"));

        let t = Template::parse("/v1/{user.id}/x/*/**").unwrap();
        assert_eq!(t.fields().collect::<Vec<_>>(), ["user.id"]);
        assert_eq!(t.parts[4], Part::AnyPath);
        assert_eq!(t.parts[3], Part::Any);
    }

    #[test]
    fn bad_templates_are_refused() {
        for bad in [
            "v1/users",
            "/v1/{id",
            "/v1/id}",
            "/v1//x",
            "/v1/",
            "/v1/a{id}",
            "/v1/{id}x",
            "/v1/{}",
            "/v1/x:",
            "/v1/{name=}",
        ] {
            assert!(Template::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn segment_patterns() {
        assert_eq!(
            segments_pattern(&["orders".into(), "*".into()]),
            "^orders/[^/]+$"
        );
        assert_eq!(segments_pattern(&["**".into()]), "^.+$");
        assert!(single_segment(&["*".into()]));
        assert!(!single_segment(&["a".into(), "*".into()]));
    }
}
