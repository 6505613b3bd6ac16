//! Arrow schemas and Lance `Field` lists.
//!
//! Lance stores a schema as a flat list of fields in depth-first pre-order. Each field has an
//! id (its pre-order position), the id of its parent (-1 at the top), a name, a nullability
//! flag, Arrow metadata, and a `logical_type` string that names its Arrow type:
//!
//! ```text
//! st: struct<x: int32, y: list<utf8>>      id  parent  logical_type
//!   st                                      0   -1      struct
//!   x                                       1    0      int32
//!   y                                       2    0      list
//!   item                                    3    2      string
//! ```
//!
//! A list has one child field; a struct one per Arrow field; a map one (`entries`, a struct of
//! `key` and `value`). A fixed-size list of a primitive has no child: its item type is part of
//! the string (`fixed_size_list:float:128`).

use std::collections::HashMap;
use std::sync::Arc;

use arrow_schema::{DataType, Field, Fields, Schema, TimeUnit};

use crate::error::{Error, Result};
use crate::format::pb::file as pb;

/// Metadata key of Arrow extension type names.
const EXTENSION_NAME_KEY: &str = "ARROW:extension:name";
/// Extension name Lance uses for bfloat16 values (stored as 2-byte fixed-size binary).
const BFLOAT16_EXTENSION: &str = "lance.bfloat16";

/// The id of a field in a Lance schema together with the ids of its children.
///
/// Ids are what projections by field id refer to. They are the pre-order positions of the
/// fields in files written by Lance and Lancelet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldIds {
    /// The field's id.
    pub id: i32,
    /// The ids of the children, in Arrow child order. Empty for leaves and for fixed-size lists
    /// of primitives (whose item has no field of its own).
    pub children: Vec<FieldIds>,
}

/// Converts an Arrow schema to Lance fields with pre-order ids starting at 0.
pub fn to_lance_fields(schema: &Schema) -> Result<Vec<pb::Field>> {
    let mut fields = Vec::new();
    for field in schema.fields() {
        push_field(field, -1, &mut fields)?;
    }
    Ok(fields)
}

/// Converts schema metadata to the form Lance stores (values as bytes).
pub fn to_lance_metadata(metadata: &HashMap<String, String>) -> HashMap<String, Vec<u8>> {
    metadata
        .iter()
        .map(|(k, v)| (k.clone(), v.as_bytes().to_vec()))
        .collect()
}

fn push_field(field: &Field, parent_id: i32, out: &mut Vec<pb::Field>) -> Result<()> {
    let id = i32::try_from(out.len())
        .map_err(|_| Error::invalid_argument("schema has more than 2^31 fields"))?;
    let logical_type = logical_type(field.data_type())?;
    out.push(pb::Field {
        r#type: 0,
        name: field.name().clone(),
        id,
        parent_id,
        logical_type,
        nullable: field.is_nullable(),
        encoding: legacy_encoding(field.data_type()) as i32,
        metadata: to_lance_metadata(field.metadata()),
        ..Default::default()
    });
    for child in lance_children(field.data_type()) {
        push_field(child, id, out)?;
    }
    Ok(())
}

/// The Arrow children that get a Lance field of their own.
pub(crate) fn lance_children(data_type: &DataType) -> Vec<&Field> {
    match data_type {
        DataType::Struct(children) => children.iter().map(|f| f.as_ref()).collect(),
        DataType::List(child) | DataType::LargeList(child) | DataType::Map(child, _) => {
            vec![child.as_ref()]
        }
        DataType::FixedSizeList(child, _) if matches!(child.data_type(), DataType::Struct(_)) => {
            vec![child.as_ref()]
        }
        _ => Vec::new(),
    }
}

fn legacy_encoding(data_type: &DataType) -> pb::Encoding {
    match data_type {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Binary | DataType::LargeBinary => {
            pb::Encoding::VarBinary
        }
        DataType::Dictionary(_, _) => pb::Encoding::Dictionary,
        DataType::Struct(_) | DataType::Null => pb::Encoding::None,
        _ => pb::Encoding::Plain,
    }
}

fn time_unit_name(unit: &TimeUnit) -> &'static str {
    match unit {
        TimeUnit::Second => "s",
        TimeUnit::Millisecond => "ms",
        TimeUnit::Microsecond => "us",
        TimeUnit::Nanosecond => "ns",
    }
}

fn parse_time_unit(name: &str) -> Option<TimeUnit> {
    match name {
        "s" => Some(TimeUnit::Second),
        "ms" => Some(TimeUnit::Millisecond),
        "us" => Some(TimeUnit::Microsecond),
        "ns" => Some(TimeUnit::Nanosecond),
        _ => None,
    }
}

/// The Lance `logical_type` string of an Arrow type.
pub fn logical_type(data_type: &DataType) -> Result<String> {
    use DataType::*;
    let name = match data_type {
        Null => "null".into(),
        Boolean => "bool".into(),
        Int8 => "int8".into(),
        UInt8 => "uint8".into(),
        Int16 => "int16".into(),
        UInt16 => "uint16".into(),
        Int32 => "int32".into(),
        UInt32 => "uint32".into(),
        Int64 => "int64".into(),
        UInt64 => "uint64".into(),
        Float16 => "halffloat".into(),
        Float32 => "float".into(),
        Float64 => "double".into(),
        Decimal128(p, s) => format!("decimal:128:{p}:{s}"),
        Decimal256(p, s) => format!("decimal:256:{p}:{s}"),
        Utf8 => "string".into(),
        LargeUtf8 => "large_string".into(),
        Binary => "binary".into(),
        LargeBinary => "large_binary".into(),
        FixedSizeBinary(n) => format!("fixed_size_binary:{n}"),
        Date32 => "date32:day".into(),
        Date64 => "date64:ms".into(),
        Time32(unit @ (TimeUnit::Second | TimeUnit::Millisecond)) => {
            format!("time32:{}", time_unit_name(unit))
        }
        Time64(unit @ (TimeUnit::Microsecond | TimeUnit::Nanosecond)) => {
            format!("time64:{}", time_unit_name(unit))
        }
        Timestamp(unit, tz) => format!(
            "timestamp:{}:{}",
            time_unit_name(unit),
            tz.as_deref().unwrap_or("-")
        ),
        Duration(unit) => format!("duration:{}", time_unit_name(unit)),
        Struct(_) => "struct".into(),
        List(child) if matches!(child.data_type(), Struct(_)) => "list.struct".into(),
        List(_) => "list".into(),
        LargeList(child) if matches!(child.data_type(), Struct(_)) => "large_list.struct".into(),
        LargeList(_) => "large_list".into(),
        FixedSizeList(child, n) => {
            let item = if is_bfloat16(child) {
                BFLOAT16_EXTENSION.to_string()
            } else {
                match child.data_type() {
                    Struct(_) => "struct".to_string(),
                    List(_) | LargeList(_) | Map(_, _) | Dictionary(_, _) => {
                        return Err(Error::not_supported(format!(
                            "fixed-size lists of {} are not supported by the Lance format",
                            child.data_type()
                        )));
                    }
                    other => logical_type(other)?,
                }
            };
            format!("fixed_size_list:{item}:{n}")
        }
        Dictionary(key, value) => {
            if !key.is_dictionary_key_type() {
                return Err(Error::invalid_argument(format!(
                    "dictionary key type {key} is not an integer type"
                )));
            }
            format!("dict:{}:{}:false", logical_type(value)?, logical_type(key)?)
        }
        Map(_, _) => "map".into(),
        other => {
            return Err(Error::not_supported(format!(
                "Arrow type {other} cannot be stored in a Lance file"
            )));
        }
    };
    Ok(name)
}

fn is_bfloat16(field: &Field) -> bool {
    field.metadata().get(EXTENSION_NAME_KEY).map(String::as_str) == Some(BFLOAT16_EXTENSION)
}

/// Converts Lance fields (in any order in which parents precede children) and schema metadata
/// back to an Arrow schema, together with the field ids of each top-level field.
pub fn from_lance_fields(
    fields: &[pb::Field],
    metadata: &HashMap<String, Vec<u8>>,
) -> Result<(Schema, Vec<FieldIds>)> {
    // Build the tree: position of each field by id, children in order of appearance.
    let mut index_of_id = HashMap::with_capacity(fields.len());
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); fields.len()];
    let mut roots = Vec::new();
    for (index, field) in fields.iter().enumerate() {
        if index_of_id.insert(field.id, index).is_some() {
            return Err(Error::corrupt(format!(
                "schema has two fields with id {}",
                field.id
            )));
        }
        if field.parent_id < 0 {
            roots.push(index);
        } else {
            let parent = *index_of_id.get(&field.parent_id).ok_or_else(|| {
                Error::corrupt(format!(
                    "field '{}' (id {}) names parent id {} that does not precede it",
                    field.name, field.id, field.parent_id
                ))
            })?;
            children[parent].push(index);
        }
    }
    let mut arrow_fields = Vec::with_capacity(roots.len());
    let mut ids = Vec::with_capacity(roots.len());
    for root in roots {
        let (field, field_ids) = build_field(fields, &children, root, 0)?;
        arrow_fields.push(field);
        ids.push(field_ids);
    }
    let metadata = metadata
        .iter()
        .map(|(k, v)| (k.clone(), String::from_utf8_lossy(v).into_owned()))
        .collect();
    Ok((Schema::new_with_metadata(arrow_fields, metadata), ids))
}

/// Nesting deeper than this is rejected rather than recursed into.
const MAX_NESTING_DEPTH: usize = 64;

fn build_field(
    fields: &[pb::Field],
    children: &[Vec<usize>],
    index: usize,
    depth: usize,
) -> Result<(Field, FieldIds)> {
    if depth > MAX_NESTING_DEPTH {
        return Err(Error::corrupt(format!(
            "schema nests deeper than {MAX_NESTING_DEPTH} levels"
        )));
    }
    let lance = &fields[index];
    let mut child_fields = Vec::new();
    let mut child_ids = Vec::new();
    for &child in &children[index] {
        let (field, ids) = build_field(fields, children, child, depth + 1)?;
        child_fields.push(field);
        child_ids.push(ids);
    }
    let data_type = parse_logical_type(&lance.logical_type, child_fields)
        .map_err(|e| annotate(e, &lance.name))?;
    let metadata: HashMap<String, String> = lance
        .metadata
        .iter()
        .map(|(k, v)| (k.clone(), String::from_utf8_lossy(v).into_owned()))
        .collect();
    let field = Field::new(lance.name.clone(), data_type, lance.nullable).with_metadata(metadata);
    Ok((
        field,
        FieldIds {
            id: lance.id,
            children: child_ids,
        },
    ))
}

fn annotate(error: Error, name: &str) -> Error {
    match error {
        Error::Corrupt { message, .. } => Error::corrupt(format!("field '{name}': {message}")),
        Error::NotSupported { message, .. } => {
            Error::not_supported(format!("field '{name}': {message}"))
        }
        other => other,
    }
}

fn one_child(mut children: Vec<Field>, logical: &str) -> Result<Field> {
    if children.len() != 1 {
        return Err(Error::corrupt(format!(
            "logical type '{logical}' needs exactly one child field, found {}",
            children.len()
        )));
    }
    children
        .pop()
        .ok_or_else(|| Error::corrupt("missing child field"))
}

fn no_children(children: &[Field], logical: &str) -> Result<()> {
    if children.is_empty() {
        Ok(())
    } else {
        Err(Error::corrupt(format!(
            "logical type '{logical}' cannot have child fields, found {}",
            children.len()
        )))
    }
}

/// Parses a Lance `logical_type` string into an Arrow type, given the already converted child
/// fields.
pub fn parse_logical_type(logical: &str, children: Vec<Field>) -> Result<DataType> {
    use DataType::*;
    let bad = || Error::corrupt(format!("unrecognised logical type '{logical}'"));
    let simple = match logical {
        "null" => Some(Null),
        "bool" => Some(Boolean),
        "int8" => Some(Int8),
        "uint8" => Some(UInt8),
        "int16" => Some(Int16),
        "uint16" => Some(UInt16),
        "int32" => Some(Int32),
        "uint32" => Some(UInt32),
        "int64" => Some(Int64),
        "uint64" => Some(UInt64),
        "halffloat" => Some(Float16),
        "float" => Some(Float32),
        "double" => Some(Float64),
        "string" => Some(Utf8),
        "large_string" => Some(LargeUtf8),
        "binary" => Some(Binary),
        "large_binary" | "json" => Some(LargeBinary),
        "date32:day" => Some(Date32),
        "date64:ms" => Some(Date64),
        _ => None,
    };
    if let Some(data_type) = simple {
        no_children(&children, logical)?;
        return Ok(data_type);
    }
    match logical {
        "struct" => return Ok(Struct(Fields::from(children))),
        "list" | "list.struct" => return Ok(List(Arc::new(one_child(children, logical)?))),
        "large_list" | "large_list.struct" => {
            return Ok(LargeList(Arc::new(one_child(children, logical)?)));
        }
        "map" => return Ok(Map(Arc::new(one_child(children, logical)?), false)),
        _ => {}
    }
    let (head, rest) = logical.split_once(':').ok_or_else(bad)?;
    match head {
        "decimal" => {
            no_children(&children, logical)?;
            let mut parts = rest.split(':');
            let (Some(bits), Some(p), Some(s), None) =
                (parts.next(), parts.next(), parts.next(), parts.next())
            else {
                return Err(bad());
            };
            let precision: u8 = p.parse().map_err(|_| bad())?;
            let scale: i8 = s.parse().map_err(|_| bad())?;
            match bits {
                "128" => Ok(Decimal128(precision, scale)),
                "256" => Ok(Decimal256(precision, scale)),
                _ => Err(bad()),
            }
        }
        "fixed_size_binary" => {
            no_children(&children, logical)?;
            Ok(FixedSizeBinary(rest.parse().map_err(|_| bad())?))
        }
        "time32" | "time64" | "duration" => {
            no_children(&children, logical)?;
            let unit = parse_time_unit(rest).ok_or_else(bad)?;
            match (head, &unit) {
                ("time32", TimeUnit::Second | TimeUnit::Millisecond) => Ok(Time32(unit)),
                ("time64", TimeUnit::Microsecond | TimeUnit::Nanosecond) => Ok(Time64(unit)),
                ("duration", _) => Ok(Duration(unit)),
                _ => Err(bad()),
            }
        }
        "timestamp" => {
            no_children(&children, logical)?;
            let (unit, tz) = rest.split_once(':').ok_or_else(bad)?;
            let unit = parse_time_unit(unit).ok_or_else(bad)?;
            let tz = (tz != "-").then(|| Arc::from(tz));
            Ok(Timestamp(unit, tz))
        }
        "fixed_size_list" => {
            let (item, size) = rest.rsplit_once(':').ok_or_else(bad)?;
            let size: i32 = size.parse().map_err(|_| bad())?;
            if size < 0 {
                return Err(bad());
            }
            let item_field = match item {
                "struct" => one_child(children, logical)?,
                BFLOAT16_EXTENSION => {
                    no_children(&children, logical)?;
                    Field::new("item", FixedSizeBinary(2), true).with_metadata(HashMap::from([(
                        EXTENSION_NAME_KEY.to_string(),
                        BFLOAT16_EXTENSION.to_string(),
                    )]))
                }
                _ => {
                    no_children(&children, logical)?;
                    Field::new("item", parse_logical_type(item, Vec::new())?, true)
                }
            };
            Ok(FixedSizeList(Arc::new(item_field), size))
        }
        "dict" => {
            no_children(&children, logical)?;
            let (rest, _ordered) = rest.rsplit_once(':').ok_or_else(bad)?;
            let (value, key) = rest.rsplit_once(':').ok_or_else(bad)?;
            let key = parse_logical_type(key, Vec::new())?;
            if !key.is_dictionary_key_type() {
                return Err(bad());
            }
            let value = parse_logical_type(value, Vec::new())?;
            Ok(Dictionary(Box::new(key), Box::new(value)))
        }
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(schema: &Schema) -> Schema {
        let fields = to_lance_fields(schema).unwrap();
        from_lance_fields(&fields, &to_lance_metadata(schema.metadata()))
            .unwrap()
            .0
    }

    #[test]
    fn logical_type_strings_match_lance() {
        let cases: Vec<(DataType, &str)> = vec![
            (DataType::Float16, "halffloat"),
            (DataType::Decimal128(10, 2), "decimal:128:10:2"),
            (
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                "timestamp:us:UTC",
            ),
            (
                DataType::Timestamp(TimeUnit::Nanosecond, None),
                "timestamp:ns:-",
            ),
            (DataType::Time32(TimeUnit::Millisecond), "time32:ms"),
            (
                DataType::FixedSizeList(Arc::new(Field::new("item", DataType::Float32, true)), 128),
                "fixed_size_list:float:128",
            ),
            (
                DataType::Dictionary(Box::new(DataType::Int16), Box::new(DataType::LargeUtf8)),
                "dict:large_string:int16:false",
            ),
            (
                DataType::List(Arc::new(Field::new(
                    "item",
                    DataType::Struct(Fields::empty()),
                    true,
                ))),
                "list.struct",
            ),
        ];
        for (data_type, expected) in cases {
            assert_eq!(logical_type(&data_type).unwrap(), expected);
        }
    }

    #[test]
    fn ids_are_pre_order_with_parent_minus_one() {
        let schema = Schema::new(vec![
            Field::new(
                "st",
                DataType::Struct(Fields::from(vec![
                    Field::new("x", DataType::Int32, true),
                    Field::new_list("y", Field::new("item", DataType::Utf8, true), true),
                ])),
                true,
            ),
            Field::new("z", DataType::Boolean, false),
        ]);
        let fields = to_lance_fields(&schema).unwrap();
        let summary: Vec<_> = fields
            .iter()
            .map(|f| (f.name.as_str(), f.id, f.parent_id, f.logical_type.as_str()))
            .collect();
        assert_eq!(
            summary,
            vec![
                ("st", 0, -1, "struct"),
                ("x", 1, 0, "int32"),
                ("y", 2, 0, "list"),
                ("item", 3, 2, "string"),
                ("z", 4, -1, "bool"),
            ]
        );
        let (_, ids) = from_lance_fields(&fields, &HashMap::new()).unwrap();
        assert_eq!(
            ids[1],
            FieldIds {
                id: 4,
                children: vec![]
            }
        );
        assert_eq!(ids[0].children[1].children[0].id, 3);
    }

    #[test]
    fn schemas_round_trip_with_metadata() {
        let item = Field::new("item", DataType::Float32, true);
        let schema = Schema::new_with_metadata(
            vec![
                Field::new(
                    "a",
                    DataType::Timestamp(TimeUnit::Second, Some("+05:30".into())),
                    true,
                )
                .with_metadata(HashMap::from([("k".into(), "v".into())])),
                Field::new("b", DataType::FixedSizeList(Arc::new(item), 4), false),
                Field::new(
                    "c",
                    DataType::Dictionary(Box::new(DataType::Int8), Box::new(DataType::Utf8)),
                    true,
                ),
                Field::new_large_list(
                    "d",
                    Field::new("item", DataType::Decimal256(40, -3), true),
                    true,
                ),
                Field::new_map(
                    "m",
                    "entries",
                    Field::new("key", DataType::Utf8, false),
                    Field::new("value", DataType::Int32, true),
                    false,
                    true,
                ),
            ],
            HashMap::from([("schema-key".into(), "schema-value".into())]),
        );
        assert_eq!(round_trip(&schema), schema);
    }

    #[test]
    fn bad_trees_are_corrupt_not_panics() {
        let orphan = pb::Field {
            name: "x".into(),
            id: 1,
            parent_id: 7,
            logical_type: "int32".into(),
            ..Default::default()
        };
        assert!(matches!(
            from_lance_fields(&[orphan], &HashMap::new()),
            Err(Error::Corrupt { .. })
        ));
        let list_without_child = pb::Field {
            name: "l".into(),
            id: 0,
            parent_id: -1,
            logical_type: "list".into(),
            ..Default::default()
        };
        assert!(matches!(
            from_lance_fields(&[list_without_child], &HashMap::new()),
            Err(Error::Corrupt { .. })
        ));
        for bad in [
            "decimal:128:x:2",
            "timestamp:ps:-",
            "fixed_size_list:float",
            "dict:string:float:false",
            "wat",
        ] {
            assert!(parse_logical_type(bad, Vec::new()).is_err(), "{bad}");
        }
    }
}
