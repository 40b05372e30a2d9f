//! Per-request templated data. Placeholders, replaced on every request:
//!
//! | placeholder | value |
//! |---|---|
//! | `{{.RequestNumber}}` | global request sequence number (0, 1, 2, ...; warm-up included) |
//! | `{{.WorkerID}}` | worker index, 0..concurrency |
//! | `{{.UUID}}` | a random UUID v4 |
//! | `{{.RandomInt}}` | a random integer in 0..1_000_000 |
//! | `{{.RandomString}}` | 12 random alphanumeric characters |
//! | `{{.TimestampUnix}}` | seconds since the Unix epoch |
//! | `{{.TimestampUnixNano}}` | nanoseconds since the Unix epoch |
//!
//! The template is split once; rendering appends to a reused buffer.

use std::fmt::Write;

use rand::{Rng, distr::Alphanumeric};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Var {
    RequestNumber,
    WorkerId,
    Uuid,
    RandomInt,
    RandomString,
    TimestampUnix,
    TimestampUnixNano,
}

#[derive(Debug, Clone)]
enum Part {
    Lit(String),
    Var(Var),
}

/// A parsed template.
#[derive(Debug, Clone)]
pub struct Template {
    parts: Vec<Part>,
}

impl Template {
    /// Parses `text`; `None` when it has no placeholders (send the same bytes every time).
    pub fn parse(text: &str) -> anyhow::Result<Option<Self>> {
        let mut parts = Vec::new();
        let mut rest = text;
        let mut any = false;
        while let Some(start) = rest.find("{{") {
            let Some(len) = rest[start..].find("}}") else {
                break;
            };
            let name = rest[start + 2..start + len].trim();
            let var = match name {
                ".RequestNumber" => Var::RequestNumber,
                ".WorkerID" => Var::WorkerId,
                ".UUID" => Var::Uuid,
                ".RandomInt" => Var::RandomInt,
                ".RandomString" => Var::RandomString,
                ".TimestampUnix" => Var::TimestampUnix,
                ".TimestampUnixNano" => Var::TimestampUnixNano,
                other => anyhow::bail!("unknown template placeholder {{{{{other}}}}}"),
            };
            parts.push(Part::Lit(rest[..start].to_owned()));
            parts.push(Part::Var(var));
            any = true;
            rest = &rest[start + len + 2..];
        }
        parts.push(Part::Lit(rest.to_owned()));
        Ok(any.then_some(Self { parts }))
    }

    /// Renders into `out` (cleared first).
    pub fn render(&self, out: &mut String, request: u64, worker: usize) {
        out.clear();
        let mut rng = rand::rng();
        for p in &self.parts {
            let _ = match p {
                Part::Lit(s) => {
                    out.push_str(s);
                    Ok(())
                }
                Part::Var(Var::RequestNumber) => write!(out, "{request}"),
                Part::Var(Var::WorkerId) => write!(out, "{worker}"),
                Part::Var(Var::Uuid) => write!(out, "{}", uuid::Uuid::new_v4()),
                Part::Var(Var::RandomInt) => write!(out, "{}", rng.random_range(0..1_000_000u32)),
                Part::Var(Var::RandomString) => {
                    out.extend(
                        (&mut rng)
                            .sample_iter(Alphanumeric)
                            .take(12)
                            .map(char::from),
                    );
                    Ok(())
                }
                Part::Var(v @ (Var::TimestampUnix | Var::TimestampUnixNano)) => {
                    let now = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .unwrap_or_default();
                    if *v == Var::TimestampUnix {
                        write!(out, "{}", now.as_secs())
                    } else {
                        write!(out, "{}", now.as_nanos())
                    }
                }
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_placeholders() {
        assert!(Template::parse(r#"{"a": 1}"#).unwrap().is_none());
        assert!(Template::parse("{{.Nope}}").is_err());
        let t = Template::parse(r#"{"id": "u-{{.RequestNumber}}-{{ .WorkerID }}", "n": {{.RandomInt}}, "s": "{{.UUID}}"}"#).unwrap().unwrap();
        let mut out = String::new();
        t.render(&mut out, 42, 3);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["id"], "u-42-3");
        assert!(v["n"].as_u64().unwrap() < 1_000_000);
        assert_eq!(v["s"].as_str().unwrap().len(), 36);
    }
}
