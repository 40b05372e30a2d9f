//! `google.api.http` path templates: parsed once, matched per request without allocating
//! (the caller lends the buffer of segment bounds).
//!
//! ```text
//! Template = "/" Segments [ ":" Verb ] ;
//! Segments = Segment { "/" Segment } ;
//! Segment  = "*" | "**" | LITERAL | Variable ;
//! Variable = "{" FieldPath [ "=" Segments ] "}" ;
//! ```
//!
//! `{id}` is `{id=*}`; `**` matches zero or more segments and only ends a template.

/// One segment of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    /// A literal segment, compared byte for byte.
    Literal(Box<str>),
    /// `*`: exactly one non-empty segment.
    One,
    /// `**`: the rest of the path (zero or more segments).
    Rest,
}

/// A variable of a template: the field it sets and the segments it spans.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Variable {
    /// The field path, e.g. `["name"]` or `["order", "id"]`.
    pub(crate) field_path: Vec<Box<str>>,
    /// First segment of the variable.
    start: usize,
    /// One past its last segment.
    end: usize,
}

/// A parsed path template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Template {
    segments: Vec<Segment>,
    verb: Option<Box<str>>,
    /// The variables, in template order.
    pub(crate) variables: Vec<Variable>,
}

/// Where a segment of the request path starts and ends (byte offsets past the leading `/`).
pub(crate) type Bounds = Vec<(usize, usize)>;

impl Template {
    /// Parses a template; the error says what is wrong with it.
    pub(crate) fn parse(template: &str) -> Result<Self, String> {
        let body = template
            .strip_prefix('/')
            .ok_or_else(|| format!("template {template:?} does not start with '/'"))?;
        // The verb follows the last ':' outside the variables and after the last '/'.
        let after = body.rfind('}').max(body.rfind('/')).map_or(0, |i| i + 1);
        let (path, verb) = match body[after..].find(':') {
            Some(i) => {
                let verb = &body[after + i + 1..];
                if verb.is_empty() {
                    return Err(format!("template {template:?} has an empty verb"));
                }
                (&body[..after + i], Some(verb.into()))
            }
            None => (body, None),
        };
        let mut segments = Vec::new();
        let mut variables = Vec::new();
        let mut rest = path;
        loop {
            if let Some(inner) = rest.strip_prefix('{') {
                let close = inner
                    .find('}')
                    .ok_or_else(|| format!("template {template:?}: '{{' without '}}'"))?;
                let (field, pattern) = match inner[..close].split_once('=') {
                    Some((f, p)) => (f, p),
                    None => (&inner[..close], "*"),
                };
                let field_path: Vec<Box<str>> = field.split('.').map(Into::into).collect();
                if field_path.iter().any(|f| !is_ident(f)) {
                    return Err(format!("template {template:?}: bad field path {field:?}"));
                }
                let start = segments.len();
                for seg in pattern.split('/') {
                    if seg.contains(['{', '}']) {
                        return Err(format!("template {template:?}: nested variable"));
                    }
                    segments.push(segment(seg, template)?);
                }
                variables.push(Variable {
                    field_path,
                    start,
                    end: segments.len(),
                });
                rest = &inner[close + 1..];
            } else {
                let end = rest.find('/').unwrap_or(rest.len());
                segments.push(segment(&rest[..end], template)?);
                rest = &rest[end..];
            }
            if rest.is_empty() {
                break;
            }
            rest = rest
                .strip_prefix('/')
                .ok_or_else(|| format!("template {template:?}: '/' expected after '}}'"))?;
        }
        if let Some(i) = segments.iter().position(|s| *s == Segment::Rest)
            && i + 1 != segments.len()
        {
            return Err(format!("template {template:?}: '**' must end the path"));
        }
        Ok(Self {
            segments,
            verb,
            variables,
        })
    }

    /// Matches a request path (starting with `/`); on a match `bounds` holds where each
    /// template segment matched (offsets into `path` past its leading `/`).
    pub(crate) fn matches(&self, path: &str, bounds: &mut Bounds) -> bool {
        bounds.clear();
        let Some(mut body) = path.strip_prefix('/') else {
            return false;
        };
        if let Some(verb) = &self.verb {
            match body.strip_suffix(&**verb).and_then(|b| b.strip_suffix(':')) {
                Some(b) => body = b,
                None => return false,
            }
        }
        let len = body.len();
        // Past the end once the last segment is used.
        let mut pos = 0;
        for seg in &self.segments {
            if *seg == Segment::Rest {
                let start = pos.min(len);
                bounds.push((start, len));
                return true;
            }
            if pos > len {
                return false;
            }
            let end = body[pos..].find('/').map_or(len, |i| pos + i);
            let text = &body[pos..end];
            let ok = match seg {
                Segment::Literal(l) => **l == *text,
                _ => !text.is_empty(),
            };
            if !ok {
                return false;
            }
            bounds.push((pos, end));
            pos = end + 1;
        }
        pos > len
    }

    /// The raw (still percent-encoded) text of variable `var` after a match of `path`.
    pub(crate) fn value<'p>(&self, var: &Variable, path: &'p str, bounds: &Bounds) -> &'p str {
        let body = &path[1..];
        let (start, _) = bounds[var.start];
        let (_, end) = bounds[var.end - 1];
        &body[start..end]
    }

    /// How specific the template is, to try the most specific match first: a verb, then
    /// more literal segments, then more segments, and `**` last.
    pub(crate) fn specificity(&self) -> (bool, bool, usize, usize) {
        let rest = self.segments.last() == Some(&Segment::Rest);
        let literals = self
            .segments
            .iter()
            .filter(|s| matches!(s, Segment::Literal(_)))
            .count();
        (self.verb.is_some(), !rest, literals, self.segments.len())
    }
}

fn segment(text: &str, template: &str) -> Result<Segment, String> {
    match text {
        "" => Err(format!("template {template:?}: empty segment")),
        "*" => Ok(Segment::One),
        "**" => Ok(Segment::Rest),
        lit if lit.contains(['*', '{', '}', ':']) => Err(format!(
            "template {template:?}: bad literal segment {lit:?}"
        )),
        lit => Ok(Segment::Literal(lit.into())),
    }
}

fn is_ident(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(t: &str, path: &str) -> Option<Vec<(String, String)>> {
        let t = Template::parse(t).unwrap();
        let mut b = Bounds::new();
        t.matches(path, &mut b).then(|| {
            t.variables
                .iter()
                .map(|v| (v.field_path.join("."), t.value(v, path, &b).to_owned()))
                .collect()
        })
    }

    fn pairs(v: &[(&str, &str)]) -> Option<Vec<(String, String)>> {
        Some(
            v.iter()
                .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
                .collect(),
        )
    }

    #[test]
    fn simple_variables_and_literals() {
        assert_eq!(
            vars("/v1/users/{id}", "/v1/users/42"),
            pairs(&[("id", "42")])
        );
        assert_eq!(vars("/v1/users/{id}", "/v1/users"), None);
        assert_eq!(vars("/v1/users/{id}", "/v1/users/"), None);
        assert_eq!(vars("/v1/users/{id}", "/v1/users/42/x"), None);
        assert_eq!(vars("/v1/users", "/v1/users"), pairs(&[]));
        assert_eq!(vars("/v1/users", "/v1/userss"), None);
        assert_eq!(
            vars("/v1/users/{user_id}/activity", "/v1/users/u1/activity"),
            pairs(&[("user_id", "u1")])
        );
    }

    #[test]
    fn verbs_are_split_off_the_last_segment() {
        assert_eq!(
            vars("/v1/orders/{id}:pay", "/v1/orders/o-1:pay"),
            pairs(&[("id", "o-1")])
        );
        assert_eq!(vars("/v1/orders/{id}:pay", "/v1/orders/o-1:cancel"), None);
        assert_eq!(vars("/v1/orders/{id}:pay", "/v1/orders/o-1"), None);
        assert_eq!(vars("/v1/orders/{id}:pay", "/v1/orders/:pay"), None);
        assert_eq!(
            vars("/v1/users:batchCreate", "/v1/users:batchCreate"),
            pairs(&[])
        );
        assert_eq!(vars("/v1/users", "/v1/users:batchCreate"), None);
        // Without a verb in the template a ':' is part of the variable.
        assert_eq!(
            vars("/v1/orders/{id}", "/v1/orders/o-1:pay"),
            pairs(&[("id", "o-1:pay")])
        );
    }

    #[test]
    fn multi_segment_variables_and_nested_fields() {
        assert_eq!(
            vars("/v1/{name=orders/*}", "/v1/orders/7"),
            pairs(&[("name", "orders/7")])
        );
        assert_eq!(vars("/v1/{name=orders/*}", "/v1/users/7"), None);
        assert_eq!(
            vars("/v1/{name=orders/*}:pay", "/v1/orders/7:pay"),
            pairs(&[("name", "orders/7")])
        );
        assert_eq!(
            vars("/v1/{path=files/**}", "/v1/files/a/b/c"),
            pairs(&[("path", "files/a/b/c")])
        );
        assert_eq!(
            vars("/v1/{path=files/**}", "/v1/files"),
            pairs(&[("path", "files")])
        );
        assert_eq!(vars("/v1/{x=**}", "/v1/a/b"), pairs(&[("x", "a/b")]));
        assert_eq!(
            vars(
                "/v1/shelves/{shelf.id}/books/{book.id}",
                "/v1/shelves/s/books/b"
            ),
            pairs(&[("shelf.id", "s"), ("book.id", "b")])
        );
        assert_eq!(vars("/v1/*/items", "/v1/any/items"), pairs(&[]));
    }

    #[test]
    fn bad_templates_are_refused() {
        for t in [
            "v1/users",
            "/v1/{id",
            "/v1/{}",
            "/v1/{a-b}",
            "/v1/**/x",
            "/v1//x",
            "/v1/x:",
            "/v1/{a={b}}",
        ] {
            assert!(Template::parse(t).is_err(), "{t}");
        }
    }

    #[test]
    fn specificity_prefers_verbs_and_literals() {
        let a = Template::parse("/v1/orders/{id}:pay").unwrap();
        let b = Template::parse("/v1/orders/{id}").unwrap();
        let c = Template::parse("/v1/orders/{id=**}").unwrap();
        let d = Template::parse("/v1/orders/special").unwrap();
        assert!(a.specificity() > b.specificity());
        assert!(b.specificity() > c.specificity());
        assert!(d.specificity() > b.specificity());
    }
}
