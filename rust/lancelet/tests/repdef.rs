//! Shredding nested arrays into rep/def levels and assembling them back gives the same arrays.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use arrow_array::Array;
use arrow_schema::{DataType, Field, Fields};
use common::{Random, array_with_null_structs};
use lancelet::encodings::structural::repdef::{assemble, shred};

fn item(data_type: DataType, nullable: bool) -> Arc<Field> {
    Arc::new(Field::new("item", data_type, nullable))
}

fn nested_types() -> Vec<DataType> {
    use DataType::*;
    let point = Fields::from(vec![
        Field::new("x", Int32, true),
        Field::new("y", Utf8, false),
    ]);
    vec![
        Int32,
        Utf8,
        List(item(Int64, true)),
        List(item(Int64, false)),
        LargeList(item(Utf8, true)),
        List(item(List(item(Int16, true)), true)),
        List(item(List(item(List(item(Int8, true)), true)), false)),
        Struct(point.clone()),
        Struct(Fields::from(vec![
            Field::new("inner", Struct(point.clone()), true),
            Field::new("z", Float64, true),
        ])),
        List(item(Struct(point.clone()), true)),
        Struct(Fields::from(vec![
            Field::new("l", List(item(Int32, true)), true),
            Field::new("s", Utf8, true),
        ])),
        List(item(
            Struct(Fields::from(vec![Field::new(
                "l",
                List(item(Int32, true)),
                true,
            )])),
            true,
        )),
        FixedSizeList(item(Float32, true), 3),
        List(item(FixedSizeList(item(Int32, true), 2), true)),
        Struct(Fields::from(vec![Field::new(
            "f",
            FixedSizeList(item(Float32, true), 2),
            true,
        )])),
        DataType::Map(
            Arc::new(Field::new(
                "entries",
                Struct(Fields::from(vec![
                    Field::new("key", Utf8, false),
                    Field::new("value", Int32, true),
                ])),
                false,
            )),
            false,
        ),
    ]
}

#[test]
fn shred_then_assemble_is_the_identity() {
    for (type_index, data_type) in nested_types().into_iter().enumerate() {
        for (seed, nulls, len) in [
            (1u64, 0u64, 50usize),
            (2, 3, 200),
            (3, 2, 1),
            (4, 1, 30),
            (5, 4, 0),
        ] {
            let mut random = Random(seed * 100 + type_index as u64);
            let array = array_with_null_structs(&data_type, len, nulls, &mut random);
            let field = Field::new("f", data_type.clone(), true);
            let leaves = shred(&field, &array).unwrap();
            for leaf in &leaves {
                if let Some(rep) = &leaf.rep {
                    assert_eq!(rep.len(), leaf.num_entries);
                }
                if let Some(def) = &leaf.def {
                    assert_eq!(def.len(), leaf.num_entries);
                }
            }
            let back = assemble(&field, leaves).unwrap();
            assert_eq!(back.len(), array.len(), "{data_type}");
            assert!(
                back.to_data() == array.to_data(),
                "{data_type} (seed {seed}, nulls 1/{nulls}):\n{array:?}\n{back:?}"
            );
        }
    }
}
