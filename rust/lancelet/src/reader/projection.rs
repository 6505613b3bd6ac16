//! Choosing which fields to read.
//!
//! A projection names top-level fields or nested children, by name (`"st"`, `"st.x"`,
//! `"l.item.y"`) or by Lance field id. Naming a field includes all of its children; naming a
//! child of a struct keeps the struct with only the named children. Fields and children come out
//! in the order they are first named, as in pylance.

use arrow_schema::{DataType, Field, Schema};

use crate::error::{Error, Result};
use crate::format::columns::is_packed;
use crate::format::schema::FieldIds;

/// Which fields a scan reads.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Projection {
    /// Every field of the file.
    #[default]
    All,
    /// Fields named by path: a top-level name, or names joined by `.` for nested children.
    Names(Vec<String>),
    /// Fields named by Lance field id.
    FieldIds(Vec<i32>),
}

impl Projection {
    /// A projection of the named columns.
    pub fn names<S: Into<String>>(names: impl IntoIterator<Item = S>) -> Self {
        Projection::Names(names.into_iter().map(Into::into).collect())
    }
}

/// A labelled path of child indices below some field (the label names it in errors).
type LabelledPath = (String, Vec<usize>);

/// What is selected within one field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Selection {
    /// The whole field.
    All,
    /// Only these children (index into the Arrow children, with their selections), in the
    /// order they were named.
    Children(Vec<(usize, Selection)>),
}

/// The Arrow children that a path may step into (a packed struct is read whole).
fn selectable_children(field: &Field) -> Option<Vec<&Field>> {
    if is_packed(field) {
        return None;
    }
    match field.data_type() {
        DataType::Struct(children) => Some(children.iter().map(|f| f.as_ref()).collect()),
        DataType::List(child) | DataType::LargeList(child) => Some(vec![child.as_ref()]),
        _ => None,
    }
}

/// Resolves a projection to `(top-level index, selection)` pairs in output order.
pub fn resolve(
    schema: &Schema,
    ids: &[FieldIds],
    projection: &Projection,
) -> Result<Vec<(usize, Selection)>> {
    let paths: Vec<LabelledPath> = match projection {
        Projection::All => {
            return Ok((0..schema.fields().len())
                .map(|i| (i, Selection::All))
                .collect());
        }
        Projection::Names(names) => names
            .iter()
            .map(|name| Ok((format!("'{name}'"), path_of_name(schema, name)?)))
            .collect::<Result<_>>()?,
        Projection::FieldIds(field_ids) => field_ids
            .iter()
            .map(|&id| Ok((format!("field id {id}"), path_of_id(ids, id)?)))
            .collect::<Result<_>>()?,
    };
    if paths.is_empty() {
        return Err(Error::invalid_argument(
            "a projection must name at least one column",
        ));
    }
    let mut out: Vec<(usize, Vec<LabelledPath>)> = Vec::new();
    for (label, path) in paths {
        let Some((&top, rest)) = path.split_first() else {
            return Err(Error::internal("empty projection path"));
        };
        if let Some((_, seen)) = out.iter_mut().find(|(t, _)| *t == top) {
            seen.push((label, rest.to_vec()));
        } else {
            out.push((top, vec![(label, rest.to_vec())]));
        }
    }
    out.into_iter()
        .map(|(top, paths)| Ok((top, merge(paths)?)))
        .collect()
}

/// Merges the paths below one field into a selection, rejecting overlaps.
fn merge(paths: Vec<LabelledPath>) -> Result<Selection> {
    if let Some((label, _)) = paths.iter().find(|(_, rest)| rest.is_empty()) {
        if paths.len() > 1 {
            return Err(Error::invalid_argument(format!(
                "projection names {label} more than once (directly or through a parent)"
            )));
        }
        return Ok(Selection::All);
    }
    let mut children: Vec<(usize, Vec<LabelledPath>)> = Vec::new();
    for (label, path) in paths {
        let Some((&child, rest)) = path.split_first() else {
            continue;
        };
        match children.iter_mut().find(|(c, _)| *c == child) {
            Some((_, group)) => group.push((label, rest.to_vec())),
            None => children.push((child, vec![(label, rest.to_vec())])),
        }
    }
    Ok(Selection::Children(
        children
            .into_iter()
            .map(|(child, group)| Ok((child, merge(group)?)))
            .collect::<Result<_>>()?,
    ))
}

/// Finds a field by name: a top-level name first, then a dotted path through struct and list
/// children.
fn path_of_name(schema: &Schema, name: &str) -> Result<Vec<usize>> {
    if let Some((index, _)) = schema.fields().find(name) {
        return Ok(vec![index]);
    }
    let unknown = || {
        let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        Error::invalid_argument(format!(
            "no column '{name}' in the file; its columns are {}",
            names.join(", ")
        ))
    };
    let mut parts = name.split('.');
    let first = parts.next().ok_or_else(unknown)?;
    let (top, mut field) = schema
        .fields()
        .iter()
        .enumerate()
        .find(|(_, f)| f.name() == first)
        .map(|(i, f)| (i, f.as_ref()))
        .ok_or_else(unknown)?;
    let mut path = vec![top];
    for part in parts {
        let children = selectable_children(field).ok_or_else(unknown)?;
        let (index, child) = children
            .into_iter()
            .enumerate()
            .find(|(_, c)| c.name() == part)
            .ok_or_else(unknown)?;
        path.push(index);
        field = child;
    }
    Ok(path)
}

/// Finds a field by Lance field id.
fn path_of_id(ids: &[FieldIds], id: i32) -> Result<Vec<usize>> {
    fn search(ids: &[FieldIds], id: i32, path: &mut Vec<usize>) -> bool {
        for (index, node) in ids.iter().enumerate() {
            path.push(index);
            if node.id == id || search(&node.children, id, path) {
                return true;
            }
            path.pop();
        }
        false
    }
    let mut path = Vec::new();
    if search(ids, id, &mut path) {
        Ok(path)
    } else {
        Err(Error::invalid_argument(format!(
            "no field with id {id} in the file"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::schema::{from_lance_fields, to_lance_fields};
    use arrow_schema::Fields;
    use std::collections::HashMap;

    fn schema() -> (Schema, Vec<FieldIds>) {
        let schema = Schema::new(vec![
            Field::new("a", DataType::Int32, true),
            Field::new(
                "st",
                DataType::Struct(Fields::from(vec![
                    Field::new("x", DataType::Int32, true),
                    Field::new("y", DataType::Utf8, true),
                ])),
                false,
            ),
            Field::new_list(
                "l",
                Field::new(
                    "item",
                    DataType::Struct(Fields::from(vec![Field::new("z", DataType::Int8, true)])),
                    true,
                ),
                true,
            ),
        ]);
        let fields = to_lance_fields(&schema).unwrap();
        from_lance_fields(&fields, &HashMap::new()).unwrap()
    }

    #[test]
    fn names_and_ids_select_the_same_fields() {
        let (schema, ids) = schema();
        // Fields and children come out in the order first named: st (y, then x), then a.
        let by_name = resolve(&schema, &ids, &Projection::names(["st.y", "a", "st.x"])).unwrap();
        assert_eq!(
            by_name,
            vec![
                (
                    1,
                    Selection::Children(vec![(1, Selection::All), (0, Selection::All)])
                ),
                (0, Selection::All)
            ]
        );
        // ids: a=0, st=1, x=2, y=3, l=4, item=5, z=6
        let by_id = resolve(&schema, &ids, &Projection::FieldIds(vec![6])).unwrap();
        let by_path = resolve(&schema, &ids, &Projection::names(["l.item.z"])).unwrap();
        assert_eq!(by_id, by_path);
    }

    #[test]
    fn misuse_is_invalid_argument() {
        let (schema, ids) = schema();
        for projection in [
            Projection::Names(vec![]),
            Projection::names(["nope"]),
            Projection::names(["a", "a"]),
            Projection::names(["st", "st.x"]),
            Projection::names(["a.b"]),
            Projection::FieldIds(vec![99]),
        ] {
            assert!(
                matches!(
                    resolve(&schema, &ids, &projection),
                    Err(Error::InvalidArgument { .. })
                ),
                "{projection:?}"
            );
        }
    }
}
