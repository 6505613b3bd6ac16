//! Checking batches and schemas before anything is written.

use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_buffer::NullBuffer;
use arrow_schema::{DataType, Field, Schema};

use crate::error::{Error, Result};
use crate::format::FileVersion;
use crate::format::columns::is_packed;
use crate::format::schema::to_lance_fields;

/// Checks that a schema can be written in `version`.
pub fn check_schema(schema: &Schema, version: FileVersion) -> Result<()> {
    if schema.fields().is_empty() {
        return Err(Error::invalid_argument(
            "a Lance file needs at least one field",
        ));
    }
    // Every type must have a Lance logical type.
    to_lance_fields(schema)?;
    for field in schema.fields() {
        check_field_type(field, version)?;
    }
    Ok(())
}

fn check_field_type(field: &Field, version: FileVersion) -> Result<()> {
    check_nested_type(field, field.name(), version)
}

/// Checks `field`, named `path` in messages (dotted from the top-level field).
fn check_nested_type(field: &Field, path: &str, version: FileVersion) -> Result<()> {
    if matches!(field.data_type(), DataType::Null) && !field.is_nullable() {
        return Err(Error::invalid_argument(format!(
            "field '{path}' has the null type but is not nullable; Lance readers reject such fields"
        )));
    }
    let child = |child: &Field| format!("{path}.{}", child.name());
    match field.data_type() {
        DataType::Map(entries, _) => {
            if version < FileVersion::V2_2 {
                return Err(Error::invalid_argument(format!(
                    "field '{path}': maps cannot be stored in format {version}; use format 2.2 or later"
                )));
            }
            check_nested_type(entries, &child(entries), version)
        }
        DataType::FixedSizeList(item, _) => match item.data_type() {
            DataType::Struct(_) => Err(Error::not_supported(format!(
                "field '{path}': fixed-size lists of structs (pylance 14 writes them with page \
                 lengths that disagree with the other columns, so no version stores them reliably)"
            ))),
            _ => check_nested_type(item, &child(item), version),
        },
        DataType::Struct(children) if is_packed(field) => {
            match children.iter().find(|c| !packable(c.data_type())) {
                Some(c) => Err(Error::not_supported(format!(
                    "field '{path}': packed struct child '{}' of type {} (only whole-byte \
                     fixed-width children)",
                    c.name(),
                    c.data_type()
                ))),
                None => Ok(()),
            }
        }
        DataType::Struct(children) => children
            .iter()
            .try_for_each(|c| check_nested_type(c, &child(c), version)),
        DataType::List(item) | DataType::LargeList(item) => {
            check_nested_type(item, &child(item), version)
        }
        DataType::Dictionary(_, value) => match value.as_ref() {
            DataType::Struct(_)
            | DataType::List(_)
            | DataType::LargeList(_)
            | DataType::Map(_, _)
            | DataType::FixedSizeList(_, _)
            | DataType::Dictionary(_, _) => Err(Error::not_supported(format!(
                "field '{path}': dictionaries of {value} values"
            ))),
            _ => Ok(()),
        },
        _ => Ok(()),
    }
}

/// Whether a packed struct child of this type can be stored: fixed width in whole bytes, or
/// a fixed-size list of such.
fn packable(data_type: &DataType) -> bool {
    match data_type {
        DataType::FixedSizeList(item, _) => packable(item.data_type()),
        DataType::FixedSizeBinary(_) => true,
        DataType::Boolean => false,
        other => other.primitive_width().is_some(),
    }
}

/// Checks that a batch matches the file's schema and respects non-nullable fields.
pub fn check_batch(schema: &Schema, batch: &RecordBatch, version: FileVersion) -> Result<()> {
    let given = batch.schema();
    if given.fields().len() != schema.fields().len() {
        return Err(Error::invalid_argument(format!(
            "batch has {} columns but the file's schema has {}",
            given.fields().len(),
            schema.fields().len()
        )));
    }
    for ((expected, actual), column) in schema
        .fields()
        .iter()
        .zip(given.fields())
        .zip(batch.columns())
    {
        if expected.name() != actual.name()
            || !types_match(expected.data_type(), column.data_type())
        {
            return Err(Error::invalid_argument(format!(
                "batch column '{}: {}' does not match the schema's '{}: {}'",
                actual.name(),
                column.data_type(),
                expected.name(),
                expected.data_type()
            )));
        }
        check_nulls(expected, column, None, version)?;
    }
    if u32::try_from(batch.num_rows()).is_err() {
        return Err(Error::invalid_argument(
            "a batch may hold at most 2^32 - 1 rows",
        ));
    }
    Ok(())
}

/// Types match when they are equal up to child field names, nullability and metadata, which
/// Arrow producers do not agree on.
fn types_match(expected: &DataType, actual: &DataType) -> bool {
    expected.equals_datatype(actual)
}

/// Checks `array` against `field`, looking only at slots where the parent is valid
/// (`parent_valid`: the parent's validity aligned with `array`).
fn check_nulls(
    field: &Field,
    array: &ArrayRef,
    parent_valid: Option<&NullBuffer>,
    version: FileVersion,
) -> Result<()> {
    let nulls_where_parent_valid = match (array.logical_nulls(), parent_valid) {
        (None, _) => 0,
        (Some(nulls), None) => nulls.null_count(),
        (Some(nulls), Some(parent)) => nulls
            .iter()
            .zip(parent.iter())
            .filter(|(valid, parent_valid)| !valid && *parent_valid)
            .count(),
    };
    if !field.is_nullable()
        && nulls_where_parent_valid > 0
        && !matches!(array.data_type(), DataType::Null)
    {
        return Err(Error::invalid_argument(format!(
            "non-nullable field '{}' has {nulls_where_parent_valid} null values",
            field.name()
        )));
    }
    match (field.data_type(), array.data_type()) {
        (DataType::Struct(fields), DataType::Struct(_)) => {
            let structs = array.as_struct();
            if version == FileVersion::V2_0 && nulls_where_parent_valid > 0 {
                return Err(Error::invalid_argument(format!(
                    "field '{}' has null structs, which format 2.0 cannot store; use format 2.1 or later",
                    field.name()
                )));
            }
            let valid = NullBuffer::union(structs.nulls(), parent_valid);
            for (child_field, child) in fields.iter().zip(structs.columns()) {
                if is_packed(field) && has_nulls_where(child, valid.as_ref()) {
                    return Err(Error::invalid_argument(format!(
                        "field '{}': packed struct child '{}' has nulls; packed children cannot be null",
                        field.name(),
                        child_field.name()
                    )));
                }
                check_nulls(child_field, child, valid.as_ref(), version)?;
            }
            Ok(())
        }
        (DataType::List(item), DataType::List(_)) => {
            check_items(item, array.as_list::<i32>(), version)
        }
        (DataType::LargeList(item), DataType::LargeList(_)) => {
            check_items(item, array.as_list::<i64>(), version)
        }
        _ => Ok(()),
    }
}

/// Whether `array` has a null (or, for fixed-size lists, a null item) where `valid` is set.
fn has_nulls_where(array: &ArrayRef, valid: Option<&NullBuffer>) -> bool {
    let valid_at = |i: usize| valid.is_none_or(|v| v.is_valid(i));
    if (0..array.len()).any(|i| array.is_null(i) && valid_at(i)) {
        return true;
    }
    if let Some(list) = array.as_fixed_size_list_opt() {
        let size = list.value_length().max(0) as usize;
        let items = list.values();
        return (0..array.len())
            .filter(|&i| valid_at(i))
            .any(|i| (0..size).any(|j| items.is_null((list.offset() + i) * size + j)));
    }
    false
}

/// Checks the items a list refers to (from its first to its last offset).
fn check_items<O: arrow_array::OffsetSizeTrait>(
    item: &Field,
    list: &arrow_array::GenericListArray<O>,
    version: FileVersion,
) -> Result<()> {
    let offsets = list.value_offsets();
    let (Some(first), Some(last)) = (offsets.first(), offsets.last()) else {
        return Ok(());
    };
    let items = list
        .values()
        .slice(first.as_usize(), last.as_usize() - first.as_usize());
    check_nulls(item, &items, None, version)
}
