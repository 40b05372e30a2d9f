//! Opaque page tokens for keyset pagination: base64url of a tagged last-seen key.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

use crate::ServiceError;

/// Default page size.
pub const DEFAULT_PAGE_SIZE: u32 = 50;
/// Largest page size; larger requests are capped.
pub const MAX_PAGE_SIZE: u32 = 1000;

/// Page size from the request (`0` = default, negative = error, capped at the maximum).
pub fn page_size(requested: i32) -> Result<u32, ServiceError> {
    match requested {
        0 => Ok(DEFAULT_PAGE_SIZE),
        n if n < 0 => Err(ServiceError::invalid("page_size", "must not be negative")),
        n => Ok((n as u32).min(MAX_PAGE_SIZE)),
    }
}

/// Encodes the last key of a page.
pub fn encode(tag: &str, last_key: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{tag}:{last_key}"))
}

/// Decodes a token made by [`encode`] with the same tag; empty = first page.
pub fn decode(tag: &str, token: &str) -> Result<Option<String>, ServiceError> {
    if token.is_empty() {
        return Ok(None);
    }
    let bad = || ServiceError::invalid("page_token", "not a token returned by this method");
    let raw = URL_SAFE_NO_PAD.decode(token).map_err(|_| bad())?;
    let text = String::from_utf8(raw).map_err(|_| bad())?;
    let key = text
        .strip_prefix(tag)
        .and_then(|r| r.strip_prefix(':'))
        .ok_or_else(bad)?;
    if key.is_empty() {
        return Err(bad());
    }
    Ok(Some(key.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_tamper() {
        let t = encode("u", "abc");
        assert_eq!(decode("u", &t).unwrap().as_deref(), Some("abc"));
        assert!(decode("o", &t).is_err());
        assert!(decode("u", "!!!").is_err());
        assert_eq!(decode("u", "").unwrap(), None);
        assert_eq!(page_size(0).unwrap(), DEFAULT_PAGE_SIZE);
        assert_eq!(page_size(5000).unwrap(), MAX_PAGE_SIZE);
        assert!(page_size(-1).is_err());
    }
}
