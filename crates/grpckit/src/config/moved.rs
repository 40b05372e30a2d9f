//! Keys that moved: a document is read as a YAML value, each earlier spelling is moved to
//! its current place, then the value is deserialized into the typed config. Used by
//! applications whose config embeds the framework's sections (`grpckit-services`).

use serde_norway::{Mapping, Value};

use super::ConfigError;

/// A key that moved from `old` to `new` (dotted paths, e.g. `server.services` ->
/// `services.serve`); the old spelling keeps working.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MovedKey {
    /// The earlier spelling.
    pub old: &'static str,
    /// The current spelling.
    pub new: &'static str,
}

impl MovedKey {
    /// Moves the value at `old` in `doc` to `new`; `Ok(true)` when `old` was there. Both
    /// present is a [`ConfigError::Conflict`].
    pub fn apply(&self, doc: &mut Value) -> Result<bool, ConfigError> {
        if !has_key(doc, self.old) {
            return Ok(false);
        }
        if has_key(doc, self.new) {
            return Err(ConfigError::Conflict {
                old: self.old.to_owned(),
                new: self.new.to_owned(),
            });
        }
        let Some(value) = take(doc, self.old) else {
            return Ok(false);
        };
        let (parents, last) = match self.new.rsplit_once('.') {
            Some((parents, last)) => (Some(parents), last),
            None => (None, self.new),
        };
        let mut at = doc;
        for (depth, part) in parents.into_iter().flat_map(|p| p.split('.')).enumerate() {
            let map = as_mapping(at, self.new, depth)?;
            at = map
                .entry(Value::String(part.to_owned()))
                .or_insert_with(|| Value::Mapping(Mapping::new()));
        }
        let depth = self.new.matches('.').count();
        as_mapping(at, self.new, depth)?.insert(Value::String(last.to_owned()), value);
        Ok(true)
    }
}

/// `value` as a mapping (a missing section, `null`, becomes an empty one).
fn as_mapping<'a>(
    value: &'a mut Value,
    path: &str,
    depth: usize,
) -> Result<&'a mut Mapping, ConfigError> {
    if value.is_null() {
        *value = Value::Mapping(Mapping::new());
    }
    match value {
        Value::Mapping(m) => Ok(m),
        _ => {
            let key: Vec<&str> = path.split('.').take(depth).collect();
            Err(ConfigError::Key {
                key: key.join("."),
                message: format!("{}: expected a mapping", key.join(".")),
                location: None,
            })
        }
    }
}

/// Whether the dotted `path` is present in `doc`.
pub fn has_key(doc: &Value, path: &str) -> bool {
    let mut at = doc;
    for part in path.split('.') {
        match at.get(part) {
            Some(v) => at = v,
            None => return false,
        }
    }
    true
}

/// Removes and returns the value at the dotted `path`.
fn take(doc: &mut Value, path: &str) -> Option<Value> {
    let (parents, last) = match path.rsplit_once('.') {
        Some((p, l)) => (Some(p), l),
        None => (None, path),
    };
    let mut at = doc;
    for part in parents.into_iter().flat_map(|p| p.split('.')) {
        at = at.get_mut(part)?;
    }
    at.as_mapping_mut()?.remove(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml(s: &str) -> Value {
        serde_norway::from_str(s).unwrap()
    }

    const SERVICES: MovedKey = MovedKey {
        old: "server.services",
        new: "services.serve",
    };

    #[test]
    fn moves_a_key_creating_its_new_section() {
        let mut doc = yaml("server:\n  port: 1\n  services: [user]\n");
        assert!(SERVICES.apply(&mut doc).unwrap());
        assert_eq!(
            doc,
            yaml("server:\n  port: 1\nservices:\n  serve: [user]\n")
        );
        // Into an existing section, next to its other keys.
        let mut doc = yaml("server:\n  services: [order]\nservices:\n  user_service: x\n");
        assert!(SERVICES.apply(&mut doc).unwrap());
        assert_eq!(
            doc,
            yaml("server: {}\nservices:\n  user_service: x\n  serve: [order]\n")
        );
    }

    #[test]
    fn absent_keys_change_nothing_and_both_spellings_conflict() {
        let mut doc = yaml("server:\n  port: 1\n");
        assert!(!SERVICES.apply(&mut doc).unwrap());
        assert_eq!(doc, yaml("server:\n  port: 1\n"));
        let mut both = yaml("server:\n  services: [user]\nservices:\n  serve: [order]\n");
        let e = SERVICES.apply(&mut both).unwrap_err();
        assert!(matches!(e, ConfigError::Conflict { .. }), "{e}");
        assert!(e.to_string().contains("keep only services.serve"), "{e}");
        let mut scalar = yaml("server:\n  services: [user]\nservices: 3\n");
        assert_eq!(
            SERVICES.apply(&mut scalar).unwrap_err().key(),
            Some("services")
        );
    }
}
