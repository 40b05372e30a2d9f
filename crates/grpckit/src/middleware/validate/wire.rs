//! Reads the fields of a flat message straight from its wire bytes, for the validator's hot
//! path: most request messages (`GetUserRequest{id}`, `LoginRequest{email, password}`, ...)
//! hold only singular scalars, strings and enums, and decoding them into a `DynamicMessage`
//! (a map of boxed fields, dropped right after) cost several times more than the checks.
//!
//! A message is flat when every field is singular, not a message, not in a oneof (proto3
//! `optional` is fine), and at
//! most [`MAX_CHECKED`] of them have rules. Every field the descriptor knows is read (so a
//! wrong wire type or invalid UTF-8 is reported as malformed, as a full decode would);
//! unknown fields are skipped; for repeated occurrences the last one wins.

use bytes::Buf;
use prost::encoding::{DecodeContext, WireType, decode_key, decode_varint, skip_field};
use prost_reflect::{Kind, MessageDescriptor, Value};

/// Fields with rules a flat message may have (their values are kept on the stack).
pub(super) const MAX_CHECKED: usize = 8;

/// The message bytes do not decode.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Malformed;

impl From<prost::DecodeError> for Malformed {
    fn from(_: prost::DecodeError) -> Self {
        Malformed
    }
}

/// One field of a flat message.
#[derive(Debug)]
struct Slot {
    number: u32,
    kind: Kind,
    /// Index of the field's rules, when it has some.
    checked: Option<usize>,
}

/// Where the checked fields of a flat message are on the wire.
#[derive(Debug)]
pub(super) struct Layout {
    slots: Vec<Slot>,
}

impl Layout {
    /// `None` unless `m` is flat; `checked` lists the field numbers that have rules, in the
    /// order their values are returned.
    pub(super) fn of(m: &MessageDescriptor, checked: &[u32]) -> Option<Self> {
        if checked.len() > MAX_CHECKED {
            return None;
        }
        let mut slots = Vec::new();
        for f in m.fields() {
            if f.is_list()
                || f.is_map()
                || f.containing_oneof().is_some_and(|o| !o.is_synthetic())
                || matches!(f.kind(), Kind::Message(_))
                || f.is_group()
            {
                return None;
            }
            slots.push(Slot {
                number: f.number(),
                kind: f.kind(),
                checked: checked.iter().position(|n| *n == f.number()),
            });
        }
        Some(Self { slots })
    }

    /// Puts the last value of each checked field on the wire into `values` (which the
    /// caller provides, all `None`: a field that is absent stays `None`).
    pub(super) fn read(
        &self,
        mut buf: &[u8],
        values: &mut [Option<Value>; MAX_CHECKED],
    ) -> Result<(), Malformed> {
        while buf.has_remaining() {
            let (number, wire) = decode_key(&mut buf)?;
            match self.slots.iter().find(|s| s.number == number) {
                Some(slot) => {
                    let v = value(&slot.kind, wire, &mut buf)?;
                    if let Some(i) = slot.checked {
                        values[i] = Some(v);
                    }
                }
                None => skip_field(wire, number, &mut buf, DecodeContext::default())?,
            }
        }
        Ok(())
    }
}

fn value(kind: &Kind, wire: WireType, buf: &mut &[u8]) -> Result<Value, Malformed> {
    use WireType::{SixtyFourBit as W64, ThirtyTwoBit as W32};
    let w64 = |buf: &mut &[u8]| buf.try_get_u64_le().map_err(|_| Malformed);
    let w32 = |buf: &mut &[u8]| buf.try_get_u32_le().map_err(|_| Malformed);
    Ok(match (kind, wire) {
        (Kind::Double, W64) => Value::F64(f64::from_bits(w64(buf)?)),
        (Kind::Fixed64, W64) => Value::U64(w64(buf)?),
        (Kind::Sfixed64, W64) => Value::I64(w64(buf)? as i64),
        (Kind::Float, W32) => Value::F32(f32::from_bits(w32(buf)?)),
        (Kind::Fixed32, W32) => Value::U32(w32(buf)?),
        (Kind::Sfixed32, W32) => Value::I32(w32(buf)? as i32),
        (Kind::Int32, WireType::Varint) => Value::I32(decode_varint(buf)? as i32),
        (Kind::Int64, WireType::Varint) => Value::I64(decode_varint(buf)? as i64),
        (Kind::Uint32, WireType::Varint) => Value::U32(decode_varint(buf)? as u32),
        (Kind::Uint64, WireType::Varint) => Value::U64(decode_varint(buf)?),
        (Kind::Sint32, WireType::Varint) => {
            let n = decode_varint(buf)? as u32;
            Value::I32(((n >> 1) as i32) ^ -((n & 1) as i32))
        }
        (Kind::Sint64, WireType::Varint) => {
            let n = decode_varint(buf)?;
            Value::I64(((n >> 1) as i64) ^ -((n & 1) as i64))
        }
        (Kind::Bool, WireType::Varint) => Value::Bool(decode_varint(buf)? != 0),
        (Kind::Enum(_), WireType::Varint) => Value::EnumNumber(decode_varint(buf)? as i32),
        (Kind::String, WireType::LengthDelimited) => {
            let bytes = delimited(buf)?;
            Value::String(
                std::str::from_utf8(bytes)
                    .map_err(|_| Malformed)?
                    .to_owned(),
            )
        }
        (Kind::Bytes, WireType::LengthDelimited) => {
            Value::Bytes(bytes::Bytes::copy_from_slice(delimited(buf)?))
        }
        _ => return Err(Malformed),
    })
}

fn delimited<'a>(buf: &mut &'a [u8]) -> Result<&'a [u8], Malformed> {
    let len = usize::try_from(decode_varint(buf)?).map_err(|_| Malformed)?;
    if len > buf.len() {
        return Err(Malformed);
    }
    let (head, rest) = buf.split_at(len);
    *buf = rest;
    Ok(head)
}

#[cfg(test)]
mod tests {
    use prost::Message;
    use prost_reflect::{DescriptorPool, DynamicMessage, ReflectMessage};
    use prost_types::{
        DescriptorProto, FieldDescriptorProto, FileDescriptorProto, FileDescriptorSet,
        field_descriptor_proto::{Label, Type},
    };

    use super::*;

    fn field(name: &str, number: i32, ty: Type, label: Label) -> FieldDescriptorProto {
        FieldDescriptorProto {
            name: Some(name.into()),
            number: Some(number),
            r#type: Some(ty as i32),
            label: Some(label as i32),
            json_name: Some(name.into()),
            ..Default::default()
        }
    }

    fn pool(extra: Option<FieldDescriptorProto>) -> DescriptorPool {
        let mut fields = vec![
            field("name", 1, Type::String, Label::Optional),
            field("count", 2, Type::Sint32, Label::Optional),
            field("ratio", 3, Type::Double, Label::Optional),
            field("on", 4, Type::Bool, Label::Optional),
            field("raw", 5, Type::Bytes, Label::Optional),
            field("big", 6, Type::Fixed64, Label::Optional),
        ];
        fields.extend(extra);
        let file = FileDescriptorProto {
            name: Some("t.proto".into()),
            package: Some("t".into()),
            syntax: Some("proto3".into()),
            message_type: vec![DescriptorProto {
                name: Some("M".into()),
                field: fields,
                ..Default::default()
            }],
            ..Default::default()
        };
        DescriptorPool::from_file_descriptor_set(FileDescriptorSet { file: vec![file] }).unwrap()
    }

    #[test]
    fn reads_what_a_full_decode_reads() {
        let pool = pool(None);
        let m = pool.get_message_by_name("t.M").unwrap();
        let layout = Layout::of(&m, &[1, 2, 3, 4, 5, 6]).unwrap();
        let mut msg = DynamicMessage::new(m.clone());
        msg.set_field_by_name("name", Value::String("héllo".into()));
        msg.set_field_by_name("count", Value::I32(-7));
        msg.set_field_by_name("ratio", Value::F64(0.25));
        msg.set_field_by_name("on", Value::Bool(true));
        msg.set_field_by_name("raw", Value::Bytes(vec![1, 2, 3].into()));
        msg.set_field_by_name("big", Value::U64(u64::MAX));
        let mut bytes = msg.encode_to_vec();
        // An unknown field and a repeated occurrence of `count` (the last one wins).
        bytes.extend_from_slice(&[0x48, 0x01]); // field 9, varint 1
        bytes.extend_from_slice(&[0x10, 0x04]); // field 2 again, sint32 2
        let mut values = Default::default();
        layout.read(&bytes, &mut values).unwrap();
        let decoded = DynamicMessage::decode(m.clone(), bytes.as_slice()).unwrap();
        for (i, f) in decoded.descriptor().fields().enumerate() {
            assert_eq!(
                values[i].as_ref(),
                Some(&*decoded.get_field(&f)),
                "{}",
                f.name()
            );
        }
        assert_eq!(values[1], Some(Value::I32(2)));
    }

    #[test]
    fn absent_fields_and_malformed_bytes() {
        let pool = pool(None);
        let m = pool.get_message_by_name("t.M").unwrap();
        let layout = Layout::of(&m, &[1]).unwrap();
        let read = |b: &[u8]| {
            let mut values = Default::default();
            layout.read(b, &mut values).map(|()| values)
        };
        assert_eq!(read(&[]).unwrap()[0], None);
        for bad in [
            &[0x0a, 0x05, b'a'][..], // length past the end
            &[0x0a, 0x01, 0xff],     // invalid UTF-8
            &[0x08, 0x01],           // field 1 (string) sent as a varint
            &[0x19, 0x00, 0x00],     // a double cut short
            &[0x10],                 // a key without its value
            &[0x4a, 0x09, 0x00],     // unknown field, length past the end
        ] {
            assert_eq!(read(bad), Err(Malformed), "{bad:?}");
            assert!(DynamicMessage::decode(m.clone(), bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn only_flat_messages_have_a_layout() {
        let flat = pool(None);
        let m = flat.get_message_by_name("t.M").unwrap();
        assert!(Layout::of(&m, &[1]).is_some());
        assert!(Layout::of(&m, &[1, 2, 3, 4, 5, 6, 7, 8, 9]).is_none());
        let listed = pool(Some(field("tags", 7, Type::String, Label::Repeated)));
        let m = listed.get_message_by_name("t.M").unwrap();
        assert!(Layout::of(&m, &[1]).is_none());
    }
}
