//! Buffering the columns of a format 2.0 file into pages.
//!
//! Each field gets columns in schema pre-order (see [`crate::encodings::v2_0`]): leaves buffer
//! arrays until their share of the cache budget is full, then hand out a task that encodes
//! them into pages; list columns buffer their offsets the same way and pass their items on; a
//! struct column writes one data-less page at the end.

use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, OffsetSizeTrait, RecordBatch};
use arrow_buffer::{NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow_schema::{DataType, Field, Schema};

use crate::encodings::EncodedPage;
use crate::encodings::v2_0::{LeafOptions, encode_leaf_page, encode_list_page, encode_struct_page};
use crate::error::{Error, Result};

/// Work that encodes buffered data into pages, run off the async threads.
pub type PageTask = Box<dyn FnOnce() -> Result<Vec<EncodedPage>> + Send>;

/// Pages of one column to encode.
pub struct ColumnTask {
    /// The column the pages belong to.
    pub column: usize,
    /// Encodes the pages.
    pub task: PageTask,
}

/// All columns of a 2.0 file being written.
pub struct FieldsEncoder {
    fields: Vec<FieldEncoder>,
    num_columns: usize,
}

enum FieldEncoder {
    Leaf(Buffered),
    Struct {
        column: usize,
        rows: u64,
        children: Vec<FieldEncoder>,
    },
    List {
        buffered: Buffered,
        items: Box<FieldEncoder>,
    },
}

/// Arrays waiting to become pages of one column.
struct Buffered {
    column: usize,
    options: LeafOptions,
    arrays: Vec<ArrayRef>,
    bytes: u64,
    budget: u64,
    max_page_bytes: u64,
}

impl FieldsEncoder {
    /// Columns for `schema`, each buffering up to `budget` bytes.
    pub fn new(schema: &Schema, budget: u64, max_page_bytes: u64) -> Result<Self> {
        let mut next_column = 0;
        let fields = schema
            .fields()
            .iter()
            .map(|field| FieldEncoder::new(field, &mut next_column, budget, max_page_bytes))
            .collect::<Result<_>>()?;
        Ok(Self {
            fields,
            num_columns: next_column,
        })
    }

    /// The number of columns the file will have.
    pub fn num_columns(&self) -> usize {
        self.num_columns
    }

    /// Buffers a (validated) batch and returns the page tasks that became ready.
    pub fn append(&mut self, batch: &RecordBatch) -> Result<Vec<ColumnTask>> {
        let mut tasks = Vec::new();
        for (field, column) in self.fields.iter_mut().zip(batch.columns()) {
            field.append(column, &mut tasks)?;
        }
        Ok(tasks)
    }

    /// Returns the tasks for everything still buffered.
    pub fn finish(&mut self) -> Result<Vec<ColumnTask>> {
        let mut tasks = Vec::new();
        for field in &mut self.fields {
            field.finish(&mut tasks);
        }
        Ok(tasks)
    }
}

impl FieldEncoder {
    fn new(
        field: &Field,
        next_column: &mut usize,
        budget: u64,
        max_page_bytes: u64,
    ) -> Result<Self> {
        let column = *next_column;
        *next_column += 1;
        let options = LeafOptions::from_metadata(field.metadata())?;
        let buffered = || Buffered {
            column,
            options,
            arrays: Vec::new(),
            bytes: 0,
            budget,
            max_page_bytes,
        };
        Ok(match field.data_type() {
            DataType::Struct(children) => FieldEncoder::Struct {
                column,
                rows: 0,
                children: children
                    .iter()
                    .map(|child| FieldEncoder::new(child, next_column, budget, max_page_bytes))
                    .collect::<Result<_>>()?,
            },
            DataType::List(item) | DataType::LargeList(item) => FieldEncoder::List {
                buffered: buffered(),
                items: Box::new(FieldEncoder::new(
                    item,
                    next_column,
                    budget,
                    max_page_bytes,
                )?),
            },
            DataType::Map(_, _) => {
                return Err(Error::invalid_argument(
                    "maps cannot be stored in format 2.0",
                ));
            }
            _ => FieldEncoder::Leaf(buffered()),
        })
    }

    fn append(&mut self, array: &ArrayRef, tasks: &mut Vec<ColumnTask>) -> Result<()> {
        match self {
            FieldEncoder::Leaf(buffered) => {
                buffered.push(array.clone(), estimate_bytes(array.as_ref()));
                if buffered.is_full() {
                    tasks.push(buffered.leaf_task());
                }
            }
            FieldEncoder::Struct { rows, children, .. } => {
                *rows += array.len() as u64;
                let structs = array.as_struct();
                for (child, column) in children.iter_mut().zip(structs.columns()) {
                    child.append(column, tasks)?;
                }
            }
            FieldEncoder::List { buffered, items } => {
                let values = match array.data_type() {
                    DataType::List(_) => referenced_items::<i32>(array.as_ref()),
                    _ => referenced_items::<i64>(array.as_ref()),
                };
                buffered.push(array.clone(), 8 * array.len() as u64);
                if buffered.is_full() {
                    tasks.push(buffered.list_task());
                }
                items.append(&values, tasks)?;
            }
        }
        Ok(())
    }

    fn finish(&mut self, tasks: &mut Vec<ColumnTask>) {
        match self {
            FieldEncoder::Leaf(buffered) => {
                if !buffered.arrays.is_empty() {
                    tasks.push(buffered.leaf_task());
                }
            }
            FieldEncoder::Struct {
                column,
                rows,
                children,
            } => {
                let rows = *rows;
                tasks.push(ColumnTask {
                    column: *column,
                    task: Box::new(move || Ok(vec![encode_struct_page(rows)])),
                });
                for child in children {
                    child.finish(tasks);
                }
            }
            FieldEncoder::List { buffered, items } => {
                if !buffered.arrays.is_empty() {
                    tasks.push(buffered.list_task());
                }
                items.finish(tasks);
            }
        }
    }
}

/// The items a list array refers to (from its first to its last offset).
fn referenced_items<O: OffsetSizeTrait>(array: &dyn Array) -> ArrayRef {
    let list = array.as_list::<O>();
    let offsets = list.value_offsets();
    let first = offsets.first().map_or(0, |o| o.as_usize());
    let last = offsets.last().map_or(0, |o| o.as_usize());
    list.values().slice(first, last - first)
}

impl Buffered {
    fn push(&mut self, array: ArrayRef, bytes: u64) {
        if array.is_empty() {
            return;
        }
        self.arrays.push(array);
        self.bytes += bytes;
    }

    fn is_full(&self) -> bool {
        self.bytes >= self.budget
    }

    fn take(&mut self) -> (Vec<ArrayRef>, u64) {
        let bytes = std::mem::take(&mut self.bytes);
        (std::mem::take(&mut self.arrays), bytes)
    }

    /// A task encoding the buffered leaf arrays into pages of at most `max_page_bytes`.
    fn leaf_task(&mut self) -> ColumnTask {
        let (arrays, bytes) = self.take();
        let max_page_bytes = self.max_page_bytes;
        let options = self.options;
        ColumnTask {
            column: self.column,
            task: Box::new(move || {
                let refs: Vec<&dyn Array> = arrays.iter().map(|a| a.as_ref()).collect();
                let array = if refs.len() == 1 {
                    arrays[0].clone()
                } else {
                    arrow_select::concat::concat(&refs)?
                };
                drop(arrays);
                page_slices(array.len(), bytes, max_page_bytes)
                    .map(|(offset, len)| encode_leaf_page(&array.slice(offset, len), options))
                    .collect()
            }),
        }
    }

    /// A task encoding the buffered list arrays into offsets pages.
    fn list_task(&mut self) -> ColumnTask {
        let (arrays, bytes) = self.take();
        let max_page_bytes = self.max_page_bytes;
        ColumnTask {
            column: self.column,
            task: Box::new(move || {
                let (offsets, nulls) = combined_offsets(&arrays);
                let rows = offsets.len() - 1;
                Ok(page_slices(rows, bytes, max_page_bytes)
                    .map(|(offset, len)| {
                        let page_nulls = nulls.as_ref().map(|n| n.slice(offset, len));
                        encode_list_page(&offsets.slice(offset, len), page_nulls.as_ref()).0
                    })
                    .collect())
            }),
        }
    }
}

/// Splits `rows` rows of about `bytes` bytes into page-sized `(offset, len)` slices.
fn page_slices(
    rows: usize,
    bytes: u64,
    max_page_bytes: u64,
) -> impl Iterator<Item = (usize, usize)> {
    let pages = bytes.div_ceil(max_page_bytes.max(1)).max(1) as usize;
    let rows_per_page = rows.div_ceil(pages).max(1);
    (0..rows)
        .step_by(rows_per_page)
        .map(move |offset| (offset, rows_per_page.min(rows - offset)))
}

/// Joins the offsets and validity of several list arrays into 64-bit offsets from 0.
fn combined_offsets(arrays: &[ArrayRef]) -> (OffsetBuffer<i64>, Option<NullBuffer>) {
    let mut offsets: Vec<i64> = vec![0];
    let mut base = 0i64;
    for array in arrays {
        let ends: Vec<i64> = match array.data_type() {
            DataType::List(_) => relative_ends::<i32>(array.as_ref()),
            _ => relative_ends::<i64>(array.as_ref()),
        };
        offsets.extend(ends.iter().map(|end| base + end));
        base += ends.last().copied().unwrap_or(0);
    }
    let any_null = arrays.iter().any(|a| a.null_count() > 0);
    let nulls = any_null.then(|| {
        let validity: Vec<bool> = arrays
            .iter()
            .flat_map(|a| (0..a.len()).map(move |i| a.is_valid(i)))
            .collect();
        NullBuffer::from(validity)
    });
    (OffsetBuffer::new(ScalarBuffer::from(offsets)), nulls)
}

fn relative_ends<O: OffsetSizeTrait>(array: &dyn Array) -> Vec<i64> {
    let offsets = array.as_list::<O>().value_offsets();
    let first = offsets.first().map_or(0, |o| o.as_usize()) as i64;
    offsets
        .iter()
        .skip(1)
        .map(|o| o.as_usize() as i64 - first)
        .collect()
}

/// The bytes an array will take in a page, roughly.
pub(crate) fn estimate_bytes(array: &dyn Array) -> u64 {
    let len = array.len() as u64;
    let validity = if array.null_count() > 0 {
        len.div_ceil(8)
    } else {
        0
    };
    let values = match array.data_type() {
        DataType::Null => 0,
        DataType::Boolean => len.div_ceil(8),
        DataType::Utf8 | DataType::Binary => binary_bytes::<i32>(array) + 8 * len,
        DataType::LargeUtf8 | DataType::LargeBinary => binary_bytes::<i64>(array) + 8 * len,
        DataType::FixedSizeList(_, size) => {
            let list = array.as_fixed_size_list();
            let size = (*size).max(0) as usize;
            estimate_bytes(
                list.values()
                    .slice(list.offset() * size, array.len() * size)
                    .as_ref(),
            )
        }
        DataType::FixedSizeBinary(width) => len * (*width).max(0) as u64,
        DataType::Dictionary(key, _) => {
            let values = array.as_any_dictionary().values();
            len * key.primitive_width().unwrap_or(4) as u64 + estimate_bytes(values.as_ref())
        }
        other => match other.primitive_width() {
            Some(width) => len * width as u64,
            None => array.get_buffer_memory_size() as u64,
        },
    };
    values + validity
}

fn binary_bytes<O: OffsetSizeTrait>(array: &dyn Array) -> u64 {
    let offsets: &[O] = match array.data_type() {
        DataType::Utf8 | DataType::LargeUtf8 => array.as_string::<O>().value_offsets(),
        _ => array.as_binary::<O>().value_offsets(),
    };
    match (offsets.first(), offsets.last()) {
        (Some(first), Some(last)) => (last.as_usize() - first.as_usize()) as u64,
        _ => 0,
    }
}
