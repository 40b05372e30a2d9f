//! `grpckit config print`: the effective config as YAML, loaded as `grpckit server` loads it
//! ([`crate::layers`]), secrets hidden as `GET /config` hides them, and each value followed
//! by where it came from: `default`, `file FILE:LINE`, `env GRPCKIT_SECTION__KEY`,
//! `flag --x` or `env GRPCKIT_X (flag alias)`.

mod lines;

use std::ffi::OsStr;

use grpckit::config::{
    has_key,
    reload::{REDACTED, redact},
    yaml_value,
};
use grpckit_services::{config::MOVED_KEYS, live::SECRET_KEYS};
use serde_norway::Value;

use crate::{
    args::ServerArgs,
    layers::{self, Layers},
};

/// The file's opening lines.
const HEADER: &str = "\
# The effective configuration (`grpckit config print`): defaults < file < environment
# (GRPCKIT_SECTION__KEY) < flags and their GRPCKIT_* variables. Secrets show as <redacted>.
";

/// The effective config of `args` and `vars` (the environment), commented with sources.
/// `from_env` lists the ids of the flags clap read from their variables (not the command
/// line).
///
/// # Errors
/// The config does not load (as `grpckit server` would refuse it).
pub fn render<I, K, V>(args: &ServerArgs, vars: I, from_env: &[&str]) -> anyhow::Result<String>
where
    I: IntoIterator<Item = (K, V)>,
    K: AsRef<OsStr>,
    V: AsRef<OsStr>,
{
    let layers = layers::load(args, vars)?;
    let sources = Sources::new(&layers, args, from_env)?;
    let value = redacted(&layers.config)?;
    let mut leaves = Vec::new();
    leaf_paths(&value, "", &mut leaves);
    let plain = serde_norway::to_string(&value)?;
    let mut out = String::from(HEADER);
    for (line, path) in plain.lines().zip(lines::line_paths(&plain)) {
        out.push_str(line);
        if let Some(path) = path.filter(|p| leaves.contains(p)) {
            out.push_str("  # ");
            out.push_str(&sources.of(&path));
        }
        out.push('\n');
    }
    out.push_str(POLICY_HEADER);
    let policy = serde_norway::to_string(&layers.config.effective_policy())?;
    for line in policy.lines() {
        out.push_str("#   ");
        out.push_str(line);
        out.push('\n');
    }
    Ok(out)
}

/// Before the effective method policy, printed as comments: it is not a config key.
const POLICY_HEADER: &str = "\
# The effective method policy: the `grpckit.v1.policy` options the .proto files declare with
# the `middleware.policy` overrides applied (`GET /config` shows it as `effective_policy`).
# effective_policy:
";

/// The config as YAML (in field order) with what `GET /config` hides hidden: the same
/// [`redact`] over its JSON, carried back to the YAML value.
fn redacted<T: serde::Serialize>(cfg: &T) -> anyhow::Result<Value> {
    let mut json = serde_json::to_value(cfg)?;
    redact(&mut json, SECRET_KEYS);
    let mut yaml = serde_norway::to_value(cfg)?;
    overlay(&mut yaml, &json);
    Ok(yaml)
}

/// Copies the hidden strings of `json` into `yaml` at the same places.
fn overlay(yaml: &mut Value, json: &serde_json::Value) {
    match (yaml, json) {
        (Value::Mapping(m), serde_json::Value::Object(o)) => {
            for (k, v) in m.iter_mut() {
                if let Some(j) = k.as_str().and_then(|k| o.get(k)) {
                    overlay(v, j);
                }
            }
        }
        (Value::Sequence(s), serde_json::Value::Array(a)) => {
            for (y, j) in s.iter_mut().zip(a) {
                overlay(y, j);
            }
        }
        (y, serde_json::Value::String(s)) if s.contains(REDACTED) => {
            *y = Value::String(s.clone());
        }
        _ => {}
    }
}

/// The dotted paths of the leaves of a YAML value: every value that is not a non-empty
/// mapping (a list is one leaf).
fn leaf_paths(v: &Value, prefix: &str, out: &mut Vec<String>) {
    match v {
        Value::Mapping(m) if !m.is_empty() => {
            for (k, v) in m {
                let Some(k) = k.as_str() else { continue };
                let path = if prefix.is_empty() {
                    k.to_owned()
                } else {
                    format!("{prefix}.{k}")
                };
                leaf_paths(v, &path, out);
            }
        }
        _ => out.push(prefix.to_owned()),
    }
}

/// Where each key's value came from.
struct Sources<'a> {
    layers: &'a Layers,
    args: &'a ServerArgs,
    from_env: &'a [&'a str],
    /// The file as a value, earlier key spellings moved to their place.
    file_doc: Value,
    /// Key path -> line in the file.
    file_lines: Vec<(String, usize)>,
}

impl<'a> Sources<'a> {
    fn new(
        layers: &'a Layers,
        args: &'a ServerArgs,
        from_env: &'a [&'a str],
    ) -> anyhow::Result<Self> {
        let (mut file_doc, mut file_lines) = (Value::Null, Vec::new());
        if let Some((_, text)) = &layers.file {
            file_doc = yaml_value(text)?;
            file_lines = lines::key_lines(text);
            for moved in MOVED_KEYS {
                moved.apply(&mut file_doc)?;
                let old = file_lines
                    .iter()
                    .find(|(k, _)| k == moved.old)
                    .map(|(_, l)| *l);
                if let Some(line) = old {
                    file_lines.push((moved.new.to_owned(), line));
                }
            }
        }
        Ok(Self {
            layers,
            args,
            from_env,
            file_doc,
            file_lines,
        })
    }

    /// `flag --listen`, `env GRPCKIT_LISTEN (flag alias)`, `env GRPCKIT_SERVER__PORT`,
    /// `file grpckit.yaml:3` or `default`.
    fn of(&self, key: &str) -> String {
        if let Some(flag) = layers::flag_of(self.args, key) {
            return if self.from_env.contains(&flag.id) {
                format!("env {} (flag alias)", flag.env)
            } else {
                format!("flag {}", flag.long)
            };
        }
        if let Some(var) = self.layers.env.source_of(key) {
            return format!("env {}", var.name);
        }
        if let Some((path, _)) = &self.layers.file
            && in_file(&self.file_doc, key)
        {
            return match self.line_of(key) {
                Some(line) => format!("file {}:{line}", path.display()),
                None => format!("file {}", path.display()),
            };
        }
        "default".to_owned()
    }

    /// The line of `key` in the file, or of the nearest section above it that has one (a
    /// key inside a flow mapping, `{ time: 60s }`, is on its section's line).
    fn line_of(&self, key: &str) -> Option<usize> {
        let mut at = key;
        loop {
            if let Some((_, line)) = self.file_lines.iter().find(|(k, _)| k == at) {
                return Some(*line);
            }
            at = at.rsplit_once('.')?.0;
        }
    }
}

/// Whether the file gives `key`: it has the key, or a value that is not a mapping on the
/// way to it.
fn in_file(doc: &Value, key: &str) -> bool {
    if has_key(doc, key) {
        return true;
    }
    let mut at = doc;
    for level in key.split('.') {
        match at {
            Value::Mapping(m) => match m.get(level) {
                Some(v) => at = v,
                None => return false,
            },
            Value::Null => return false,
            _ => return true,
        }
    }
    true
}

#[cfg(test)]
mod tests;
