//! Which column holds which field.
//!
//! Format 2.0 gives every struct and list a column of its own, before its children's columns;
//! formats 2.1 and 2.2 give columns only to leaves. Fixed-size lists of primitives and
//! dictionaries are one column in every version. In 2.1+ a *packed* struct (field metadata
//! `lance-encoding:packed` = `true`, or the older key `packed`) is a leaf too: its fixed-width
//! children are stored row by row in the struct's one column.

use arrow_schema::{DataType, Field, Schema};

use crate::format::FileVersion;
use crate::format::schema::lance_children;

/// Whether a struct field is stored packed (one column, its children row by row).
pub fn is_packed(field: &Field) -> bool {
    matches!(field.data_type(), DataType::Struct(_))
        && ["lance-encoding:packed", "packed"].iter().any(|key| {
            field.metadata().get(*key).is_some_and(|v| {
                matches!(v.trim().to_ascii_lowercase().as_str(), "true" | "1" | "yes")
            })
        })
}

/// The children a 2.1+ leaf walk steps into, or `None` when the field is itself a leaf (a
/// field with a column).
pub fn structural_children(field: &Field) -> Option<Vec<&Field>> {
    match field.data_type() {
        DataType::Struct(children) if !children.is_empty() && !is_packed(field) => {
            Some(children.iter().map(|f| f.as_ref()).collect())
        }
        DataType::List(item) | DataType::LargeList(item) | DataType::Map(item, _) => {
            Some(vec![item.as_ref()])
        }
        _ => None,
    }
}

/// The fields below `field` that have a column in 2.1+, in pre-order.
pub fn structural_leaves(field: &Field) -> Vec<&Field> {
    match structural_children(field) {
        None => vec![field],
        Some(children) => children.into_iter().flat_map(structural_leaves).collect(),
    }
}

/// The dotted path of the field behind each column, in column order.
pub fn column_paths(schema: &Schema, version: FileVersion) -> Vec<String> {
    let mut out = Vec::new();
    for field in schema.fields() {
        push(field, field.name().clone(), version, &mut out);
    }
    out
}

fn push(field: &Field, path: String, version: FileVersion, out: &mut Vec<String>) {
    if version.is_structural() {
        match structural_children(field) {
            None => out.push(path),
            Some(children) => {
                for child in children {
                    push(child, format!("{path}.{}", child.name()), version, out);
                }
            }
        }
        return;
    }
    if is_packed(field) {
        out.push(path);
        return;
    }
    let children = lance_children(field.data_type());
    let own_column = children.is_empty()
        || (!version.is_structural()
            && matches!(
                field.data_type(),
                DataType::Struct(_) | DataType::List(_) | DataType::LargeList(_)
            ));
    let is_empty_struct = matches!(field.data_type(), DataType::Struct(c) if c.is_empty());
    if own_column || is_empty_struct {
        out.push(path.clone());
    }
    for child in children {
        push(child, format!("{path}.{}", child.name()), version, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_schema::Fields;

    #[test]
    fn counts_match_lance() {
        let schema = Schema::new(vec![
            Field::new_list("l", Field::new("item", DataType::Int32, true), true),
            Field::new(
                "st",
                DataType::Struct(Fields::from(vec![
                    Field::new("x", DataType::Int32, true),
                    Field::new("y", DataType::Utf8, true),
                ])),
                true,
            ),
        ]);
        assert_eq!(
            column_paths(&schema, FileVersion::V2_0),
            vec!["l", "l.item", "st", "st.x", "st.y"]
        );
        assert_eq!(
            column_paths(&schema, FileVersion::V2_1),
            vec!["l.item", "st.x", "st.y"]
        );
    }
}
