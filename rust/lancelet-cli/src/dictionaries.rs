//! Making the dictionaries of a stream of batches compatible with the Arrow IPC file format,
//! which allows one dictionary per field that may only grow (delta batches).
//!
//! Lance stores a dictionary per page, so batches read from different pages carry different
//! dictionaries. [`DictionaryUnifier`] rewrites each dictionary column to index one growing
//! dictionary: values seen before keep their index, new values are appended.

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    ArrowDictionaryKeyType, Int8Type, Int16Type, Int32Type, Int64Type, UInt8Type, UInt16Type,
    UInt32Type, UInt64Type,
};
use arrow_array::{Array, ArrayRef, DictionaryArray, PrimitiveArray, RecordBatch};
use arrow_buffer::ArrowNativeType;
use arrow_row::{OwnedRow, RowConverter, SortField};
use arrow_schema::DataType;

use crate::CliResult;

/// The growing dictionary of one column.
struct Growing {
    converter: RowConverter,
    index_of: HashMap<OwnedRow, usize>,
    pieces: Vec<ArrayRef>,
    values: ArrayRef,
}

/// Rewrites the dictionary columns of successive batches onto growing dictionaries.
pub struct DictionaryUnifier {
    columns: HashMap<usize, Growing>,
}

impl DictionaryUnifier {
    /// A unifier with no dictionaries seen yet.
    pub fn new() -> Self {
        Self {
            columns: HashMap::new(),
        }
    }

    /// Returns `batch` with every top-level dictionary column rewritten.
    pub fn unify(&mut self, batch: &RecordBatch) -> CliResult<RecordBatch> {
        let mut columns = batch.columns().to_vec();
        for (index, column) in columns.iter_mut().enumerate() {
            let DataType::Dictionary(key, value) = column.data_type() else {
                continue;
            };
            let growing = match self.columns.entry(index) {
                std::collections::hash_map::Entry::Occupied(entry) => entry.into_mut(),
                std::collections::hash_map::Entry::Vacant(entry) => entry.insert(Growing {
                    converter: RowConverter::new(vec![SortField::new(value.as_ref().clone())])?,
                    index_of: HashMap::new(),
                    pieces: Vec::new(),
                    values: arrow_array::new_empty_array(value),
                }),
            };
            *column = match key.as_ref() {
                DataType::Int8 => growing.rewrite::<Int8Type>(column)?,
                DataType::Int16 => growing.rewrite::<Int16Type>(column)?,
                DataType::Int32 => growing.rewrite::<Int32Type>(column)?,
                DataType::Int64 => growing.rewrite::<Int64Type>(column)?,
                DataType::UInt8 => growing.rewrite::<UInt8Type>(column)?,
                DataType::UInt16 => growing.rewrite::<UInt16Type>(column)?,
                DataType::UInt32 => growing.rewrite::<UInt32Type>(column)?,
                DataType::UInt64 => growing.rewrite::<UInt64Type>(column)?,
                other => return Err(format!("dictionary key type {other}").into()),
            };
        }
        Ok(RecordBatch::try_new(batch.schema(), columns)?)
    }
}

impl Growing {
    fn rewrite<K: ArrowDictionaryKeyType>(&mut self, column: &ArrayRef) -> CliResult<ArrayRef> {
        let dictionary: &DictionaryArray<K> = column.as_dictionary();
        let values = dictionary.values();
        let rows = self
            .converter
            .convert_columns(std::slice::from_ref(values))?;
        let mut mapping = Vec::with_capacity(values.len());
        let mut new_values = Vec::new();
        for (position, row) in rows.iter().enumerate() {
            let next = self.values.len() + new_values.len();
            let index = *self.index_of.entry(row.owned()).or_insert_with(|| {
                new_values.push(position as u64);
                next
            });
            mapping.push(index);
        }
        if !new_values.is_empty() {
            let indices = arrow_array::UInt64Array::from(new_values);
            self.pieces
                .push(arrow_select::take::take(values.as_ref(), &indices, None)?);
            let refs: Vec<&dyn Array> = self.pieces.iter().map(|p| p.as_ref()).collect();
            self.values = arrow_select::concat::concat(&refs)?;
        }
        let keys: PrimitiveArray<K> = dictionary
            .keys()
            .iter()
            .map(|key| {
                key.map(|k| {
                    let index = mapping.get(k.as_usize()).copied().unwrap_or(0);
                    K::Native::from_usize(index).ok_or_else(|| {
                        format!(
                            "the dictionaries of all batches together have more values than \
                             the key type {} can index",
                            K::DATA_TYPE
                        )
                    })
                })
                .transpose()
            })
            .collect::<Result<_, String>>()?;
        Ok(Arc::new(DictionaryArray::<K>::try_new(
            keys,
            self.values.clone(),
        )?))
    }
}
