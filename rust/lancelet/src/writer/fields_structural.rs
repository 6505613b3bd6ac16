//! Buffering the fields of a 2.1/2.2 file into pages.
//!
//! Each top-level field buffers its arrays until its budget (the per-column budget times its
//! leaf columns) is full. A flush shreds the buffered rows into rep/def levels and values per
//! leaf (see [`crate::encodings::structural::repdef`]), cuts each leaf's levels into pages, and
//! lets the [`strategy`](crate::encodings::strategy) encode every page.
//!
//! Pages never split a row. A page that holds null or empty lists keeps at most
//! `min(65535, 131072 / (bits of rep + bits of def))` level entries, as Lance does, so that a
//! chunk's levels always fit its 16-bit header fields.

use std::sync::Arc;

use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, FieldRef, Schema};

use crate::encodings::compression::block::fixed_bits;
use crate::encodings::strategy::{self, LeafHints};
use crate::encodings::structural::page::{PageContext, row_count, row_starts, slice_entries};
use crate::encodings::structural::repdef::{LeafLevels, shred};
use crate::error::{Error, Result};
use crate::format::FileVersion;
use crate::format::columns::structural_leaves;

use super::estimate::estimate_bytes;
use super::tasks::{ColumnPage, PageTask};

/// All fields of a 2.1/2.2 file being written.
pub struct StructuralEncoder {
    fields: Vec<FieldBuffer>,
    num_columns: usize,
}

struct FieldBuffer {
    field: FieldRef,
    max_page_bytes: u64,
    first_column: usize,
    hints: Arc<Vec<LeafHints>>,
    version: FileVersion,
    arrays: Vec<ArrayRef>,
    bytes: u64,
    budget: u64,
    /// Rows flushed so far (the first row of the next flush).
    rows_flushed: u64,
    rows_buffered: u64,
}

/// The leaf fields below a field, in pre-order (the fields that get columns), checked for
/// what the writer can store.
fn leaf_fields(field: &Field) -> Result<Vec<&Field>> {
    let leaves = structural_leaves(field);
    for leaf in &leaves {
        let unsupported = match leaf.data_type() {
            DataType::Struct(children) if children.is_empty() => Some(
                "empty structs in formats 2.1 and 2.2 (pylance 14 misreads the columns after \
                 them; format 2.0 stores them)"
                    .to_string(),
            ),
            DataType::Struct(children) => children
                .iter()
                .find(|c| !matches!(fixed_bits(c.data_type()), Some(bits) if bits.is_multiple_of(8)))
                .map(|c| format!("packed struct child '{}' of type {} in formats 2.1 and 2.2 (only whole-byte fixed-width children)", c.name(), c.data_type())),
            DataType::FixedSizeList(item, _) if matches!(item.data_type(), DataType::Struct(_)) =>
            {
                Some(format!("fixed-size lists of {}", item.data_type()))
            }
            _ => None,
        };
        if let Some(what) = unsupported {
            return Err(Error::not_supported(format!(
                "field '{}': {what}",
                leaf.name()
            )));
        }
    }
    Ok(leaves)
}

impl StructuralEncoder {
    /// Encoders for `schema`, buffering up to `budget_per_column` bytes per leaf column and
    /// writing pages of at most about `max_page_bytes`.
    pub fn new(
        schema: &Schema,
        budget_per_column: u64,
        max_page_bytes: u64,
        version: FileVersion,
    ) -> Result<Self> {
        let mut next_column = 0;
        let mut fields = Vec::with_capacity(schema.fields().len());
        for field in schema.fields() {
            let leaves = leaf_fields(field)?;
            let hints = leaves
                .iter()
                .map(|leaf| LeafHints::new(leaf, field))
                .collect::<Result<Vec<_>>>()?;
            fields.push(FieldBuffer {
                field: field.clone(),
                max_page_bytes,
                first_column: next_column,
                hints: Arc::new(hints),
                version,
                arrays: Vec::new(),
                bytes: 0,
                budget: budget_per_column.saturating_mul(leaves.len() as u64),
                rows_flushed: 0,
                rows_buffered: 0,
            });
            next_column += leaves.len();
        }
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
            field.arrays.push(column.clone());
            field.bytes += estimate_bytes(column.as_ref());
            field.rows_buffered += column.len() as u64;
            if field.bytes >= field.budget {
                tasks.extend(field.flush());
            }
        }
        Ok(tasks)
    }

    /// Returns the tasks for everything still buffered.
    pub fn finish(&mut self) -> Result<Vec<PageTask>> {
        Ok(self
            .fields
            .iter_mut()
            .filter(|f| !f.arrays.is_empty())
            .flat_map(FieldBuffer::flush)
            .collect())
    }
}

impl FieldBuffer {
    /// Tasks that encode the buffered rows: one per slice of rows that becomes a page (or a
    /// few pages), so that the pages of one large column are encoded in parallel.
    fn flush(&mut self) -> Vec<PageTask> {
        let arrays = Arc::new(std::mem::take(&mut self.arrays));
        let first_row = self.rows_flushed;
        let rows = self.rows_buffered as usize;
        self.rows_flushed += self.rows_buffered;
        self.rows_buffered = 0;
        let bytes = std::mem::take(&mut self.bytes);
        let rows_per_slice = rows_per_page(rows, bytes, self.max_page_bytes);
        (0..rows)
            .step_by(rows_per_slice)
            .map(|slice_start| {
                let len = rows_per_slice.min(rows - slice_start);
                let arrays = arrays.clone();
                let placement = Placement {
                    first_row: first_row + slice_start as u64,
                    first_column: self.first_column,
                    version: self.version,
                    max_page_bytes: self.max_page_bytes,
                };
                let hints = self.hints.clone();
                let field = self.field.clone();
                let slice_bytes = (u128::from(bytes) * len as u128 / rows.max(1) as u128) as u64;
                PageTask::new(slice_bytes, move || {
                    let slice = rows_of(&arrays, slice_start, len)?;
                    drop(arrays);
                    let mut pages = Vec::new();
                    encode_rows(&field, &slice, placement, &hints, &mut pages)?;
                    Ok(pages)
                })
            })
            .collect()
    }
}

/// Rows `start..start + len` of the arrays taken as one (slices without copying when they lie
/// in one array, joined otherwise).
fn rows_of(arrays: &[ArrayRef], start: usize, len: usize) -> Result<ArrayRef> {
    let mut pieces = Vec::new();
    let mut skip = start;
    let mut wanted = len;
    for array in arrays {
        if wanted == 0 {
            break;
        }
        if skip >= array.len() {
            skip -= array.len();
            continue;
        }
        let take = wanted.min(array.len() - skip);
        pieces.push(array.slice(skip, take));
        skip = 0;
        wanted -= take;
    }
    match pieces.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(Error::internal("no buffered rows to encode")),
        _ => {
            let refs: Vec<&dyn Array> = pieces.iter().map(|a| a.as_ref()).collect();
            Ok(arrow_select::concat::concat(&refs)?)
        }
    }
}

/// Rows per page when `rows` buffered rows of about `bytes` bytes are cut into pages of at most
/// about `max_page_bytes`: all of them when they fit, otherwise the largest power of two that
/// fits (the last page takes the rest). Page boundaries then fall on multiples of every
/// smaller power of two, so a scan in batches of such a size finds each batch of a wide
/// column (vectors) inside one page and hands it out without a copy.
fn rows_per_page(rows: usize, bytes: u64, max_page_bytes: u64) -> usize {
    if bytes <= max_page_bytes || rows < 2 {
        return rows.max(1);
    }
    let fitting = (rows as u128 * u128::from(max_page_bytes) / u128::from(bytes)).max(1);
    let fitting = usize::try_from(fitting).unwrap_or(usize::MAX);
    1 << fitting.ilog2()
}

/// Where encoded rows go and how large their pages may be.
#[derive(Clone, Copy)]
struct Placement {
    first_row: u64,
    first_column: usize,
    version: FileVersion,
    max_page_bytes: u64,
}

/// Shreds rows of a field and encodes the pages of each of its leaves.
fn encode_rows(
    field: &Field,
    array: &ArrayRef,
    placement: Placement,
    hints: &[LeafHints],
    pages: &mut Vec<ColumnPage>,
) -> Result<()> {
    let leaves = shred(field, array).map_err(|e| annotate(e, field))?;
    for (index, leaf) in leaves.into_iter().enumerate() {
        let leaf_hints = hints
            .get(index)
            .ok_or_else(|| Error::internal("leaf without hints"))?;
        for (page_first_row, levels) in split_pages(leaf, placement.version)? {
            let column = placement.first_column + index;
            let first_row = placement.first_row + page_first_row;
            encode_leaf_page(levels, first_row, column, &placement, leaf_hints, pages)
                .map_err(|e| annotate(e, field))?;
        }
    }
    Ok(())
}

/// Encodes one page of a leaf column; a page larger than `max_page_bytes` is split in two
/// by rows and encoded again (a single row stays one page whatever its size).
fn encode_leaf_page(
    levels: LeafLevels,
    first_row: u64,
    column: usize,
    placement: &Placement,
    hints: &LeafHints,
    pages: &mut Vec<ColumnPage>,
) -> Result<()> {
    let rep_of_row = max_rep(&levels);
    let num_rows = row_count(levels.rep.as_deref(), rep_of_row, levels.num_entries) as u64;
    let ctx = PageContext::from_layers(
        levels.layers.clone(),
        levels.values.data_type(),
        num_rows,
        placement.version,
    )?;
    let page = strategy::encode_page(
        &ctx,
        levels.rep.as_deref(),
        levels.def.as_deref(),
        levels.num_entries,
        &levels.values,
        hints,
    )?;
    let bytes: u64 = page.buffers.iter().map(|b| b.len() as u64).sum();
    if bytes <= placement.max_page_bytes || num_rows < 2 {
        pages.push(ColumnPage::new(column, page, first_row));
        return Ok(());
    }
    let starts = row_starts(levels.rep.as_deref(), rep_of_row, levels.num_entries);
    let middle = starts.len() / 2;
    let split_entry = starts
        .get(middle)
        .copied()
        .ok_or_else(|| Error::internal("a page without rows to split"))?;
    let first = slice_entries(&levels, 0, split_entry, &ctx)?;
    let second = slice_entries(&levels, split_entry, levels.num_entries, &ctx)?;
    encode_leaf_page(first, first_row, column, placement, hints, pages)?;
    encode_leaf_page(
        second,
        first_row + middle as u64,
        column,
        placement,
        hints,
        pages,
    )
}

fn annotate(error: Error, field: &Field) -> Error {
    match error {
        Error::NotSupported { message, .. } => {
            Error::not_supported(format!("field '{}': {message}", field.name()))
        }
        other => other,
    }
}

fn max_rep(levels: &LeafLevels) -> u16 {
    levels.layers.iter().filter(|l| l.is_list()).count() as u16
}

/// Cuts a leaf's levels into pages: `(first row of the page, its levels)`.
fn split_pages(levels: LeafLevels, version: FileVersion) -> Result<Vec<(u64, LeafLevels)>> {
    let ctx =
        PageContext::from_layers(levels.layers.clone(), levels.values.data_type(), 0, version)?;
    let Some(def) = levels.def.as_deref().filter(|_| ctx.has_rep()) else {
        return Ok(vec![(0, levels)]);
    };
    let bits = |value: u16| 16 - value.leading_zeros() as usize;
    let level_bits = (bits(ctx.codes.max_rep) + bits(ctx.codes.max_def)).max(1);
    let limit = (131_072 / level_bits).min(usize::from(u16::MAX));
    let starts = row_starts(levels.rep.as_deref(), ctx.codes.max_rep, levels.num_entries);
    let invisible = |from: usize, to: usize| def[from..to].iter().any(|&d| d > ctx.max_visible_def);
    let mut pages = Vec::new();
    let mut page_start_row = 0usize;
    let mut row = 0usize;
    while row < starts.len() {
        let page_first_entry = starts[page_start_row];
        let row_end = starts.get(row + 1).copied().unwrap_or(levels.num_entries);
        let would_hold = row_end - page_first_entry;
        if row > page_start_row && would_hold > limit && invisible(page_first_entry, row_end) {
            pages.push((page_start_row, page_first_entry, starts[row]));
            page_start_row = row;
        }
        row += 1;
    }
    if starts.is_empty() {
        return Ok(vec![(0, levels)]);
    }
    pages.push((page_start_row, starts[page_start_row], levels.num_entries));
    if pages.len() == 1 {
        return Ok(vec![(0, levels)]);
    }
    pages
        .into_iter()
        .map(|(first_row, start, end)| {
            Ok((first_row as u64, slice_entries(&levels, start, end, &ctx)?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_cut_across_buffered_arrays() {
        use arrow_array::Int32Array;
        let arrays: Vec<ArrayRef> = vec![
            Arc::new(Int32Array::from(vec![0, 1, 2])),
            Arc::new(Int32Array::from(vec![3, 4])),
            Arc::new(Int32Array::from(vec![5, 6, 7, 8])),
        ];
        let values = |start, len| {
            let rows = rows_of(&arrays, start, len).unwrap();
            let rows = rows.as_any().downcast_ref::<Int32Array>().unwrap();
            rows.values().to_vec()
        };
        assert_eq!(values(2, 5), [2, 3, 4, 5, 6]);
        assert_eq!(values(3, 2), [3, 4]);
        assert_eq!(values(0, 9), (0..9).collect::<Vec<_>>());
        assert_eq!(values(8, 1), [8]);
    }

    #[test]
    fn pages_of_a_large_flush_hold_a_power_of_two_rows() {
        // Everything fits: one page.
        assert_eq!(rows_per_page(100, 1_000, 1_000), 100);
        // 100 000 vectors of 3 KiB in 32 MiB pages: 10 922 fit, pages of 8192 rows.
        assert_eq!(rows_per_page(100_000, 307_200_000, 32 << 20), 8192);
        // Exactly two pages' worth.
        assert_eq!(rows_per_page(4096, 2 << 20, 1 << 20), 2048);
        // Rows larger than a page: one row per page.
        assert_eq!(rows_per_page(10, 10_000, 100), 1);
        assert_eq!(rows_per_page(0, 10, 1), 1);
    }
}
