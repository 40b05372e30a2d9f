//! Request input: `-d JSON`, `-d @FILE`, `-d @-` (stdin); one or more proto3 JSON objects
//! (concatenated or as a JSON array) parsed into dynamic messages of the method's input type.

use std::io::Read;

use anyhow::Context;
use prost_reflect::{DeserializeOptions, DynamicMessage, MessageDescriptor};

/// Reads the `-d` argument: literal text, `@FILE`, or `@-` for stdin. Default `{}`.
pub fn read_data(data: Option<&str>) -> anyhow::Result<String> {
    match data {
        None => Ok("{}".to_owned()),
        Some("@-") => {
            let mut s = String::new();
            std::io::stdin()
                .read_to_string(&mut s)
                .context("cannot read stdin")?;
            Ok(s)
        }
        Some(d) => match d.strip_prefix('@') {
            Some(path) => {
                std::fs::read_to_string(path).with_context(|| format!("cannot read {path}"))
            }
            None => Ok(d.to_owned()),
        },
    }
}

/// Parses every JSON message in `text` as a `desc`. A top-level array is a list of messages.
pub fn parse_messages(desc: &MessageDescriptor, text: &str) -> anyhow::Result<Vec<DynamicMessage>> {
    let mut out = Vec::new();
    for (i, v) in serde_json::Deserializer::from_str(text)
        .into_iter::<serde_json::Value>()
        .enumerate()
    {
        let v = v.with_context(|| format!("request {} is not valid JSON", i + 1))?;
        match v {
            serde_json::Value::Array(items) => {
                for item in items {
                    out.push(parse_one(desc, item, out.len())?);
                }
            }
            v => out.push(parse_one(desc, v, out.len())?),
        }
    }
    if out.is_empty() {
        out.push(DynamicMessage::new(desc.clone()));
    }
    Ok(out)
}

fn parse_one(
    desc: &MessageDescriptor,
    v: serde_json::Value,
    i: usize,
) -> anyhow::Result<DynamicMessage> {
    DynamicMessage::deserialize_with_options(desc.clone(), v, &DeserializeOptions::new())
        .with_context(|| format!("request {} does not match {}", i + 1, desc.full_name()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn desc() -> MessageDescriptor {
        prost_reflect::DescriptorPool::global()
            .get_message_by_name("google.protobuf.Duration")
            .unwrap()
    }

    #[test]
    fn parses_one_many_and_arrays() {
        assert_eq!(parse_messages(&desc(), "").unwrap().len(), 1);
        assert_eq!(parse_messages(&desc(), r#""1s""#).unwrap().len(), 1);
        assert_eq!(parse_messages(&desc(), r#""1s" "2s""#).unwrap().len(), 2);
        assert_eq!(
            parse_messages(&desc(), r#"["1s", "2s", "3s"]"#)
                .unwrap()
                .len(),
            3
        );
        assert!(parse_messages(&desc(), r#"{"nope": 1}"#).is_err());
        assert!(parse_messages(&desc(), "{").is_err());
    }
}
