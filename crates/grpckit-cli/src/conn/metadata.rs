//! `-H 'key: value'` parsing into gRPC metadata (`-bin` keys take base64 values).

use anyhow::{Context, bail};
use tonic::metadata::{AsciiMetadataKey, BinaryMetadataKey, MetadataMap, MetadataValue};

/// Parses `key: value` lines; keys ending in `-bin` take base64 values.
pub fn parse_metadata(headers: &[String]) -> anyhow::Result<MetadataMap> {
    let mut md = MetadataMap::new();
    for h in headers {
        let Some((k, v)) = h.split_once(':') else {
            bail!("header {h:?} is not `key: value`")
        };
        let (k, v) = (k.trim().to_ascii_lowercase(), v.trim());
        if k.ends_with("-bin") {
            let key = BinaryMetadataKey::from_bytes(k.as_bytes())
                .with_context(|| format!("invalid header name {k:?}"))?;
            md.append_bin(key, MetadataValue::from_bytes(v.as_bytes()));
        } else {
            let key = AsciiMetadataKey::from_bytes(k.as_bytes())
                .with_context(|| format!("invalid header name {k:?}"))?;
            let val = v
                .parse()
                .with_context(|| format!("invalid value for header {k:?}"))?;
            md.append(key, val);
        }
    }
    Ok(md)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_headers() {
        let md = parse_metadata(&[
            "Authorization: Bearer x".into(),
            "x-a:1".into(),
            "x-a: 2".into(),
        ])
        .unwrap();
        assert_eq!(md.get("authorization").unwrap(), "Bearer x");
        assert_eq!(md.get_all("x-a").iter().count(), 2);
        assert!(parse_metadata(&["nocolon".into()]).is_err());
        assert!(parse_metadata(&["bad key: v".into()]).is_err());
    }
}
