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

use crate::encodings::v2_0::{LeafOptions, encode_leaf_page, encode_list_page, encode_struct_page};
use crate::error::{Error, Result};
use crate::format::columns::is_packed;

use super::estimate::estimate_bytes;

use super::tasks::{ColumnPage, PageTask};

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
    pub fn append(&mut self, batch: &RecordBatch) -> Result<Vec<PageTask>> {
        let mut tasks = Vec::new();
        for (field, column) in self.fields.iter_mut().zip(batch.columns()) {
            field.append(column, &mut tasks)?;
        }
        Ok(tasks)
    }

    /// Returns the tasks for everything still buffered.
    pub fn finish(&mut self) -> Result<Vec<PageTask>> {
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
            DataType::Struct(children) if !is_packed(field) => FieldEncoder::Struct {
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

    fn append(&mut self, array: &ArrayRef, tasks: &mut Vec<PageTask>) -> Result<()> {
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

    fn finish(&mut self, tasks: &mut Vec<PageTask>) {
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
                let column = *column;
                tasks.push(PageTask::new(0, move || {
                    Ok(vec![ColumnPage::new(column, encode_struct_page(rows), 0)])
                }));
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
    fn leaf_task(&mut self) -> PageTask {
        let (arrays, bytes) = self.take();
        let max_page_bytes = self.max_page_bytes;
        let options = self.options;
        let column = self.column;
        {
            PageTask::new(bytes, move || {
                let refs: Vec<&dyn Array> = arrays.iter().map(|a| a.as_ref()).collect();
                let array = if refs.len() == 1 {
                    arrays[0].clone()
                } else {
                    arrow_select::concat::concat(&refs)?
                };
                drop(arrays);
                page_slices(array.len(), bytes, max_page_bytes)
                    .map(|(offset, len)| {
                        let page = encode_leaf_page(&array.slice(offset, len), options)?;
                        Ok(ColumnPage::new(column, page, 0))
                    })
                    .collect()
            })
        }
    }

    /// A task encoding the buffered list arrays into offsets pages.
    fn list_task(&mut self) -> PageTask {
        let (arrays, bytes) = self.take();
        let max_page_bytes = self.max_page_bytes;
        let column = self.column;
        {
            PageTask::new(bytes, move || {
                let (offsets, nulls) = combined_offsets(&arrays);
                let rows = offsets.len() - 1;
                Ok(page_slices(rows, bytes, max_page_bytes)
                    .map(|(offset, len)| {
                        let page_nulls = nulls.as_ref().map(|n| n.slice(offset, len));
                        let page =
                            encode_list_page(&offsets.slice(offset, len), page_nulls.as_ref()).0;
                        ColumnPage::new(column, page, 0)
                    })
                    .collect())
            })
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
