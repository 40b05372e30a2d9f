//! Key paths that differ between two configs, and secrets hidden from a config's JSON.

use serde_json::Value;

/// The dotted key paths (`server.port`, `middleware.rate_limit.rules`) whose values differ
/// between `old` and `new`. Objects are compared key by key; anything else (lists included)
/// is compared whole at its path.
pub fn changed_keys(old: &Value, new: &Value) -> Vec<String> {
    let mut out = Vec::new();
    walk(old, new, &mut String::new(), &mut out);
    out
}

fn walk(old: &Value, new: &Value, path: &mut String, out: &mut Vec<String>) {
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => {
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(k);
                walk(
                    a.get(k).unwrap_or(&Value::Null),
                    b.get(k).unwrap_or(&Value::Null),
                    path,
                    out,
                );
                path.truncate(len);
            }
        }
        (a, b) if a != b => out.push(path.clone()),
        _ => {}
    }
}

/// The value at a dotted key path, if any.
pub(crate) fn get<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(v, |v, k| v.get(k))
}

/// Sets the value at a dotted key path whose parents exist.
pub(crate) fn set(v: &mut Value, path: &str, value: Value) {
    let mut cur = v;
    let mut parts = path.split('.').peekable();
    while let Some(k) = parts.next() {
        let Some(obj) = cur.as_object_mut() else {
            return;
        };
        if parts.peek().is_none() {
            obj.insert(k.to_owned(), value);
            return;
        }
        match obj.get_mut(k) {
            Some(next) => cur = next,
            None => return,
        }
    }
}

/// What a hidden value shows.
pub const REDACTED: &str = "<redacted>";

/// Hides secrets in a config's JSON: the non-empty string (or list of strings) under every
/// key named in `secret_keys` (anywhere in the tree, e.g. `secret`, `password`), and the
/// password of every URL (`postgres://user:<redacted>@host/db`).
pub fn redact(v: &mut Value, secret_keys: &[&str]) {
    match v {
        Value::Object(map) => {
            for (k, child) in map.iter_mut() {
                if secret_keys.contains(&k.as_str()) {
                    hide(child);
                } else {
                    redact(child, secret_keys);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|i| redact(i, secret_keys)),
        Value::String(s) => {
            if let Some(r) = redact_url(s) {
                *s = r;
            }
        }
        _ => {}
    }
}

fn hide(v: &mut Value) {
    match v {
        Value::String(s) if !s.is_empty() => *s = REDACTED.to_owned(),
        Value::Array(items) => items.iter_mut().for_each(hide),
        Value::Null | Value::String(_) => {}
        other => *other = Value::String(REDACTED.to_owned()),
    }
}

/// `scheme://user:pw@host...` with the password hidden; `None` when there is none.
fn redact_url(s: &str) -> Option<String> {
    let start = s.find("://")? + 3;
    let rest = &s[start..];
    let at = rest.find('@')?;
    let userinfo = &rest[..at];
    if userinfo.contains('/') {
        return None;
    }
    let colon = userinfo.find(':')?;
    Some(format!(
        "{}{}:{REDACTED}{}",
        &s[..start],
        &userinfo[..colon],
        &rest[at..]
    ))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn lists_the_changed_leaf_keys() {
        let old =
            json!({"server": {"port": 1, "address": "a"}, "log": {"level": "info"}, "r": [1]});
        let new = json!({"server": {"port": 2, "address": "a"}, "log": {"level": "info"}, "r": [1, 2], "x": 1});
        assert_eq!(changed_keys(&old, &new), ["r", "server.port", "x"]);
        assert!(changed_keys(&old, &old).is_empty());
    }

    #[test]
    fn hides_secrets_and_url_passwords() {
        let mut v = json!({
            "auth": {"jwt_secret": "s3cret", "issuer": "me"},
            "keys": [{"kid": "k", "secret": "abc"}, {"kid": "e", "secret": null}],
            "database": {"url": "postgres://u:pw@h:5432/db"},
            "other": "sqlite://x.db",
        });
        redact(&mut v, &["jwt_secret", "secret"]);
        assert_eq!(v["auth"]["jwt_secret"], REDACTED);
        assert_eq!(v["auth"]["issuer"], "me");
        assert_eq!(v["keys"][0]["secret"], REDACTED);
        assert_eq!(v["keys"][1]["secret"], Value::Null);
        assert_eq!(v["database"]["url"], "postgres://u:<redacted>@h:5432/db");
        assert_eq!(v["other"], "sqlite://x.db");
        assert!(!v.to_string().contains("pw@"));
    }

    #[test]
    fn sets_and_gets_by_path() {
        let mut v = json!({"a": {"b": 1}});
        set(&mut v, "a.b", json!(2));
        assert_eq!(get(&v, "a.b"), Some(&json!(2)));
        set(&mut v, "z.y", json!(3));
        assert_eq!(get(&v, "z.y"), None);
    }
}
