//! Config keys from environment variables, nested by a double underscore:
//! `GRPCKIT_SERVER__PORT=9090` is `server.port: 9090`, `GRPCKIT_MIDDLEWARE__RATE_LIMIT__ENABLED`
//! is `middleware.rate_limit.enabled` (lower case; a single underscore stays part of a key
//! name, `__` separates levels).
//!
//! The layer sits between the file and typed deserialization: [`EnvLayer::read`] picks the
//! variables, each value is parsed as one YAML value (`9090`, `true`, `2s`, `[a, b]`,
//! `{time: 60s}`), [`EnvOverrides::apply`] merges them into the file's YAML value tree, and
//! the caller deserializes the result, so a wrong type or an unknown key is reported by the
//! same typed path as in a file; [`EnvOverrides::attribute`] then names the variable
//! (`GRPCKIT_SERVER__PORT: server.port: invalid type: string "x", expected u16`).
//!
//! A variable whose name has no `__` after the prefix is never a key: such names are an
//! application's flat variables (flag aliases such as `GRPCKIT_LISTEN`, which a command line
//! parser reads) or unrelated ones (`GRPCKIT_GIT_REV`). Names given to
//! [`EnvLayer::excluding`] are skipped even with a `__`.

use std::ffi::OsStr;

use serde_norway::{Mapping, Value};

use super::ConfigError;

/// Which variables are config keys: a prefix (`GRPCKIT_`), the `__` level separator, and
/// names that are never keys.
#[derive(Debug, Clone, Copy)]
pub struct EnvLayer {
    prefix: &'static str,
    excluded: &'static [&'static str],
}

/// One variable that sets a key.
#[derive(Debug, Clone, PartialEq)]
pub struct EnvVar {
    /// The variable, e.g. `GRPCKIT_SERVER__PORT`.
    pub name: String,
    /// The dotted key path it sets, e.g. `server.port`.
    pub key: String,
    /// Its value, parsed as YAML.
    pub value: Value,
}

/// The variables of an environment that set keys, in name order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EnvOverrides {
    vars: Vec<EnvVar>,
}

// === impl EnvLayer ===

impl EnvLayer {
    /// Variables named `PREFIX` + `SECTION__KEY...`, e.g. `GRPCKIT_` + `SERVER__PORT`.
    pub const fn new(prefix: &'static str) -> Self {
        Self {
            prefix,
            excluded: &[],
        }
    }

    /// Never reads these names (whole variable names, prefix included) as keys.
    #[must_use]
    pub const fn excluding(self, names: &'static [&'static str]) -> Self {
        Self {
            excluded: names,
            ..self
        }
    }

    /// The nested variable name of a dotted key path: `server.port` ->
    /// `GRPCKIT_SERVER__PORT`.
    pub fn var_name(&self, key: &str) -> String {
        format!("{}{}", self.prefix, key.replace('.', "__").to_uppercase())
    }

    /// Whether `name` is read as a key: it has the prefix, a `__` after it, and is not
    /// excluded.
    pub fn is_key_var(&self, name: &str) -> bool {
        name.strip_prefix(self.prefix)
            .is_some_and(|rest| rest.contains("__"))
            && !self.excluded.contains(&name)
    }

    /// The variables of `vars` that set keys (e.g. `std::env::vars_os()`), with their values
    /// parsed; every other variable is ignored.
    ///
    /// # Errors
    /// A key variable with an empty level (`GRPCKIT_SERVER__`), a name or value that is not
    /// UTF-8, or a value that is not YAML, as [`ConfigError::Env`] naming the variable.
    pub fn read<I, K, V>(&self, vars: I) -> Result<EnvOverrides, ConfigError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        let mut out = Vec::new();
        for (name, value) in vars {
            let Some(name) = name.as_ref().to_str() else {
                continue;
            };
            if !self.is_key_var(name) {
                continue;
            }
            let fail = |reason: String| ConfigError::Env {
                name: name.to_owned(),
                error: Box::new(ConfigError::Syntax {
                    message: reason,
                    location: None,
                }),
            };
            let rest = &name[self.prefix.len()..];
            let levels: Vec<&str> = rest.split("__").collect();
            if levels.iter().any(|l| l.is_empty()) {
                return Err(fail(
                    "a key level is empty (levels are separated by `__`)".into(),
                ));
            }
            let key = levels.join(".").to_lowercase();
            let Some(text) = value.as_ref().to_str() else {
                return Err(fail("the value is not UTF-8".into()));
            };
            let value = parse_value(text)
                .map_err(|e| fail(format!("not a YAML value: {}", first_line(&e))))?;
            out.push(EnvVar {
                name: name.to_owned(),
                key,
                value,
            });
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(EnvOverrides { vars: out })
    }
}

/// A value as YAML; an empty text is the empty string (`GRPCKIT_AUTH__JWT_SECRET=`), not
/// `null`.
fn parse_value(text: &str) -> Result<Value, serde_norway::Error> {
    if text.trim().is_empty() {
        return Ok(Value::String(text.to_owned()));
    }
    serde_norway::from_str(text)
}

fn first_line(e: &serde_norway::Error) -> String {
    e.to_string().lines().next().unwrap_or_default().to_owned()
}

// === impl EnvOverrides ===

impl EnvOverrides {
    /// The variables, in name order.
    pub fn vars(&self) -> &[EnvVar] {
        &self.vars
    }

    /// Whether no variable sets a key.
    pub fn is_empty(&self) -> bool {
        self.vars.is_empty()
    }

    /// Merges every variable into `doc` (a file's YAML value, `null` when there is none): a
    /// mapping value merges key by key into a mapping already there, anything else replaces
    /// what is there. Variables are applied in name order, so a deeper one
    /// (`GRPCKIT_SERVER__KEEP_ALIVE__TIME`) wins over its parent's mapping
    /// (`GRPCKIT_SERVER__KEEP_ALIVE`).
    ///
    /// # Errors
    /// A variable's key goes through a value that is not a mapping (`server.port.x`),
    /// naming the variable.
    pub fn apply(&self, doc: &mut Value) -> Result<(), ConfigError> {
        for var in &self.vars {
            let mut at = &mut *doc;
            let mut walked = Vec::new();
            for level in var.key.split('.') {
                walked.push(level);
                let map = as_mapping(at).ok_or_else(|| {
                    let parent = walked[..walked.len() - 1].join(".");
                    ConfigError::Env {
                        name: var.name.clone(),
                        error: Box::new(ConfigError::Key {
                            message: format!("{parent}: expected a mapping, not a value"),
                            key: parent,
                            location: None,
                        }),
                    }
                })?;
                at = map
                    .entry(Value::String(level.to_owned()))
                    .or_insert(Value::Null);
            }
            merge(at, var.value.clone());
        }
        Ok(())
    }

    /// The variable that set `key` (a dotted path) or a section above it, the deepest one
    /// when several did, and only when its value reaches `key` (a mapping it set names it).
    pub fn source_of(&self, key: &str) -> Option<&EnvVar> {
        self.vars
            .iter()
            .filter(|v| reaches(v, key))
            .max_by_key(|v| v.key.len())
    }

    /// `error` naming the variable it comes from when its key is one a variable set (or
    /// under one); any other error as it is.
    pub fn attribute(&self, error: ConfigError) -> ConfigError {
        // The variable that set the key or a section above it; else one that set a key
        // below it (`GRPCKIT_SERVER__PORT__X` makes `server.port` a mapping).
        let var = error.key().and_then(|key| {
            let above = self.vars.iter().filter(|v| is_under(key, &v.key));
            above
                .max_by_key(|v| v.key.len())
                .or_else(|| self.vars.iter().find(|v| is_under(&v.key, key)))
        });
        match var {
            Some(v) => ConfigError::Env {
                name: v.name.clone(),
                error: Box::new(error),
            },
            None => error,
        }
    }
}

/// `value` as a mapping (`null` becomes an empty one); `None` for any other value.
fn as_mapping(value: &mut Value) -> Option<&mut Mapping> {
    if value.is_null() {
        *value = Value::Mapping(Mapping::new());
    }
    value.as_mapping_mut()
}

/// Puts `new` over `old`: mappings key by key, anything else replaced.
fn merge(old: &mut Value, new: Value) {
    match (old, new) {
        (Value::Mapping(old), Value::Mapping(new)) => {
            for (k, v) in new {
                match old.get_mut(&k) {
                    Some(o) => merge(o, v),
                    None => {
                        old.insert(k, v);
                    }
                }
            }
        }
        (old, new) => *old = new,
    }
}

/// `key` is `base` or under it (`server.port` under `server`; list indices count:
/// `a.b[0]` is under `a.b`).
fn is_under(key: &str, base: &str) -> bool {
    key.strip_prefix(base)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('.') || rest.starts_with('['))
}

/// Whether `var` set `key`: its key is `key`, or a section above `key` whose value has the
/// rest of the path (or stops at a value that is not a mapping on the way: `key` is then
/// inside a list it set).
fn reaches(var: &EnvVar, key: &str) -> bool {
    if !is_under(key, &var.key) {
        return false;
    }
    let rest = key[var.key.len()..].trim_start_matches('.');
    let mut at = &var.value;
    for level in rest.split('.').filter(|l| !l.is_empty()) {
        match at {
            Value::Mapping(m) => match m.get(level) {
                Some(v) => at = v,
                None => return false,
            },
            _ => return true,
        }
    }
    true
}

#[cfg(test)]
mod tests;
