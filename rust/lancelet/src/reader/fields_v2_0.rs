//! Reading the fields of a format 2.0 file.
//!
//! In 2.0 every field owns columns in schema pre-order: a leaf one column; a struct one column
//! (pages without data) followed by its children; a list one column of offsets followed by the
//! columns of its items. A [`FieldReader`] mirrors that tree and reads any set of row ranges of
//! its field into one Arrow array.

use std::ops::Range;
use std::sync::Arc;

use arrow_array::{
    Array, ArrayRef, GenericListArray, OffsetSizeTrait, StructArray, new_empty_array,
};
use arrow_buffer::{NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow_schema::{DataType, Field, FieldRef, Fields};
use futures::FutureExt;
use futures::future::{BoxFuture, try_join_all};

use crate::encodings::v2_0::{ListPageDecoder, ListRows, PageDecoder};
use crate::error::{Error, Result};
use crate::format::columns::is_packed;
use crate::format::pb::v2_0 as pb;
use crate::format::{BufferRange, ColumnInfo, FileMetadata, PageEncoding};
use crate::io::RangeRead;

use super::paging::Paging;

/// Reads one field (and its children) of a 2.0 file.
#[derive(Debug, Clone)]
pub enum FieldReader {
    /// A field stored in one column.
    Leaf(LeafReader),
    /// A struct: its own column carries no data; the children are read and combined.
    Struct {
        /// The struct's Arrow fields (possibly a projection of them).
        fields: Fields,
        /// One reader per field in `fields`.
        children: Vec<FieldReader>,
    },
    /// A list: offsets in its own column, items in the child's columns.
    List(ListReader),
}

/// A field stored in a single column.
#[derive(Debug, Clone)]
pub struct LeafReader {
    data_type: DataType,
    pages: Arc<Vec<PageDecoder>>,
    paging: Paging,
    /// The column's total size divided by its values.
    bytes_per_value: f64,
}

/// A list field: its offsets column and the reader of its items.
#[derive(Debug, Clone)]
pub struct ListReader {
    item_field: FieldRef,
    large: bool,
    pages: Arc<Vec<ListPageDecoder>>,
    paging: Paging,
    /// The first item of each offsets page.
    item_starts: Vec<u64>,
    items: Box<FieldReader>,
}

/// Assigns columns to fields in pre-order and builds their readers.
pub struct Builder<'a> {
    metadata: &'a FileMetadata,
    next_column: usize,
}

impl<'a> Builder<'a> {
    /// Starts at column 0.
    pub fn new(metadata: &'a FileMetadata) -> Self {
        Self {
            metadata,
            next_column: 0,
        }
    }

    /// Builds the readers of all top-level fields and checks that every column is used and
    /// that row counts agree.
    pub fn build_all(mut self) -> Result<Vec<FieldReader>> {
        let schema = self.metadata.schema.clone();
        let readers = schema
            .fields()
            .iter()
            .map(|field| self.build(field, self.metadata.num_rows))
            .collect::<Result<Vec<_>>>()?;
        if self.next_column != self.metadata.columns.len() {
            return Err(Error::corrupt(format!(
                "schema needs {} columns but the file has {}",
                self.next_column,
                self.metadata.columns.len()
            )));
        }
        Ok(readers)
    }

    fn take_column(&mut self, field: &Field) -> Result<&'a ColumnInfo> {
        let index = self.next_column;
        self.next_column += 1;
        self.metadata.columns.get(index).ok_or_else(|| {
            Error::corrupt(format!(
                "field '{}' needs column {index} but the file has {} columns",
                field.name(),
                self.metadata.columns.len()
            ))
        })
    }

    /// Builds the reader of `field`, whose column(s) must hold `num_values` values.
    fn build(&mut self, field: &Field, num_values: u64) -> Result<FieldReader> {
        let check_count = |paging: &Paging| {
            if paging.total() == num_values {
                Ok(())
            } else {
                Err(Error::corrupt(format!(
                    "column of field '{}' holds {} values, expected {num_values}",
                    field.name(),
                    paging.total()
                )))
            }
        };
        match field.data_type() {
            DataType::Struct(fields) if !is_packed(field) => {
                let column = self.take_column(field)?;
                // Struct pages carry no data; Lance may give an empty struct column one
                // zero-row page, so only check the count when there are rows in the pages.
                let paging = Paging::new(&column.pages)?;
                if paging.total() != 0 {
                    check_count(&paging)?;
                }
                let children = fields
                    .iter()
                    .map(|child| self.build(child, num_values))
                    .collect::<Result<Vec<_>>>()?;
                Ok(FieldReader::Struct {
                    fields: fields.clone(),
                    children,
                })
            }
            DataType::List(item_field) | DataType::LargeList(item_field) => {
                let column = self.take_column(field)?;
                let paging = Paging::new(&column.pages)?;
                check_count(&paging)?;
                let pages = page_decoders(column, field, ListPageDecoder::new)?;
                let mut item_starts = Vec::with_capacity(pages.len() + 1);
                let mut total_items = 0u64;
                item_starts.push(0);
                for page in &pages {
                    total_items = total_items
                        .checked_add(page.num_items())
                        .ok_or_else(|| Error::corrupt("list item counts overflow"))?;
                    item_starts.push(total_items);
                }
                let items = self.build(item_field, total_items)?;
                Ok(FieldReader::List(ListReader {
                    item_field: item_field.clone(),
                    large: matches!(field.data_type(), DataType::LargeList(_)),
                    pages: Arc::new(pages),
                    paging,
                    item_starts,
                    items: Box::new(items),
                }))
            }
            DataType::Map(_, _) => Err(Error::corrupt(format!(
                "field '{}': maps cannot be stored in format 2.0",
                field.name()
            ))),
            DataType::FixedSizeList(item, _) if matches!(item.data_type(), DataType::Struct(_)) => {
                Err(Error::corrupt(format!(
                    "field '{}': fixed-size lists of structs cannot be stored in format 2.0",
                    field.name()
                )))
            }
            data_type => {
                let column = self.take_column(field)?;
                let paging = Paging::new(&column.pages)?;
                check_count(&paging)?;
                let pages = if column.blob {
                    let file_size = self.metadata.file_size;
                    page_decoders(column, field, |encoding, buffers, rows| {
                        PageDecoder::blob(encoding, buffers, rows, file_size)
                    })?
                } else {
                    page_decoders(column, field, PageDecoder::new)?
                };
                let stored = column.size_bytes() as f64
                    + if column.blob {
                        self.metadata.blob_bytes_per_column()
                    } else {
                        0.0
                    };
                let bytes_per_value = if paging.total() == 0 {
                    0.0
                } else {
                    stored / paging.total() as f64
                };
                Ok(FieldReader::Leaf(LeafReader {
                    data_type: data_type.clone(),
                    pages: Arc::new(pages),
                    paging,
                    bytes_per_value,
                }))
            }
        }
    }
}

/// Builds a decoder for every page of a column (errors name the field).
fn page_decoders<T>(
    column: &ColumnInfo,
    field: &Field,
    new: impl Fn(&pb::ArrayEncoding, &[BufferRange], u64) -> Result<T>,
) -> Result<Vec<T>> {
    column
        .pages
        .iter()
        .map(|page| match &page.encoding {
            PageEncoding::V2_0(tree) => new(tree, &page.buffers, page.num_rows),
            PageEncoding::Structural(_) => Err(Error::corrupt("structural page in a 2.0 file")),
        })
        .collect::<Result<Vec<_>>>()
        .map_err(|e| annotate(e, field))
}

fn annotate(error: Error, field: &Field) -> Error {
    match error {
        Error::Corrupt { message, .. } => {
            Error::corrupt(format!("field '{}': {message}", field.name()))
        }
        Error::NotSupported { message, .. } => {
            Error::not_supported(format!("field '{}': {message}", field.name()))
        }
        other => other,
    }
}

/// Merges touching ranges and drops empty ones (order is kept).
fn merge_adjacent(ranges: impl IntoIterator<Item = Range<u64>>) -> Vec<Range<u64>> {
    let mut out: Vec<Range<u64>> = Vec::new();
    for range in ranges.into_iter().filter(|r| r.start < r.end) {
        match out.last_mut() {
            Some(last) if last.end == range.start => last.end = range.end,
            _ => out.push(range),
        }
    }
    out
}

impl FieldReader {
    /// The Arrow data type this reader produces.
    pub fn data_type(&self) -> DataType {
        match self {
            FieldReader::Leaf(leaf) => leaf.data_type.clone(),
            FieldReader::Struct { fields, .. } => DataType::Struct(fields.clone()),
            FieldReader::List(list) => {
                if list.large {
                    DataType::LargeList(list.item_field.clone())
                } else {
                    DataType::List(list.item_field.clone())
                }
            }
        }
    }

    /// Estimated stored bytes per value of this field (including children).
    pub fn bytes_per_value(&self) -> f64 {
        match self {
            FieldReader::Leaf(leaf) => leaf.bytes_per_value,
            FieldReader::Struct { children, .. } => {
                children.iter().map(Self::bytes_per_value).sum()
            }
            FieldReader::List(list) => {
                let rows = list.paging.total().max(1) as f64;
                let items = list.item_starts.last().copied().unwrap_or(0) as f64;
                8.0 + list.items.bytes_per_value() * items / rows
            }
        }
    }

    /// Keeps only the struct children chosen by `keep` (a projection), recursively.
    pub fn project(&self, selection: &super::projection::Selection) -> Result<FieldReader> {
        use super::projection::Selection;
        match (self, selection) {
            (_, Selection::All) => Ok(self.clone()),
            (FieldReader::Struct { fields, children }, Selection::Children(chosen)) => {
                let mut kept_fields = Vec::with_capacity(chosen.len());
                let mut kept_children = Vec::with_capacity(chosen.len());
                for (index, child_selection) in chosen {
                    let (Some(field), Some(child)) = (fields.get(*index), children.get(*index))
                    else {
                        return Err(Error::internal("projection names a missing child"));
                    };
                    let child = child.project(child_selection)?;
                    kept_fields.push(Arc::new(
                        field.as_ref().clone().with_data_type(child.data_type()),
                    ));
                    kept_children.push(child);
                }
                Ok(FieldReader::Struct {
                    fields: Fields::from(kept_fields),
                    children: kept_children,
                })
            }
            (FieldReader::List(list), Selection::Children(chosen)) => {
                let [(0, item_selection)] = chosen.as_slice() else {
                    return Err(Error::internal(
                        "list projection names a child other than its item",
                    ));
                };
                let items = list.items.project(item_selection)?;
                let item_field = Arc::new(
                    list.item_field
                        .as_ref()
                        .clone()
                        .with_data_type(items.data_type()),
                );
                Ok(FieldReader::List(ListReader {
                    item_field,
                    items: Box::new(items),
                    ..list.clone()
                }))
            }
            (FieldReader::Leaf(_), Selection::Children(_)) => {
                Err(Error::internal("projection of children of a leaf"))
            }
        }
    }

    /// Reads the values of `ranges` (sorted, disjoint, within the field) into one array.
    pub fn read<'a>(
        &'a self,
        io: &'a dyn RangeRead,
        ranges: &'a [Range<u64>],
    ) -> BoxFuture<'a, Result<ArrayRef>> {
        async move {
            match self {
                FieldReader::Leaf(leaf) => leaf.read(io, ranges).await,
                FieldReader::Struct { fields, children } => {
                    let len: u64 = ranges.iter().map(|r| r.end - r.start).sum();
                    let arrays = try_join_all(children.iter().map(|c| c.read(io, ranges))).await?;
                    if fields.is_empty() {
                        return Ok(
                            Arc::new(StructArray::new_empty_fields(len as usize, None)) as ArrayRef
                        );
                    }
                    Ok(Arc::new(StructArray::try_new(fields.clone(), arrays, None)?) as ArrayRef)
                }
                FieldReader::List(list) => list.read(io, ranges).await,
            }
        }
        .boxed()
    }
}

impl LeafReader {
    async fn read(&self, io: &dyn RangeRead, ranges: &[Range<u64>]) -> Result<ArrayRef> {
        let by_page = self.paging.split(ranges);
        if by_page.is_empty() {
            return Ok(new_empty_array(&self.data_type));
        }
        let page = |index: usize| {
            self.pages
                .get(index)
                .ok_or_else(|| Error::internal("page index out of range"))
        };
        // Round 1 for all pages at once, so nearby reads merge.
        let mut first_ranges = Vec::new();
        let mut first_counts = Vec::with_capacity(by_page.len());
        for (index, page_ranges) in &by_page {
            let planned = page(*index)?.plan(page_ranges)?;
            first_counts.push(planned.len());
            first_ranges.extend(planned);
        }
        let first = io.read_many(&first_ranges).await?;
        let first_per_page = split_counts(first, &first_counts)?;

        // Round 2 (variable-width bytes), again for all pages at once.
        let mut second_ranges = Vec::new();
        let mut second_counts = Vec::with_capacity(by_page.len());
        for ((index, page_ranges), first) in by_page.iter().zip(&first_per_page) {
            let planned = page(*index)?.plan_second(page_ranges, first)?;
            second_counts.push(planned.len());
            second_ranges.extend(planned);
        }
        let second = if second_ranges.is_empty() {
            Vec::new()
        } else {
            io.read_many(&second_ranges).await?
        };
        let second_per_page = split_counts(second, &second_counts)?;

        let mut arrays = Vec::with_capacity(by_page.len());
        for (((index, page_ranges), first), second) in
            by_page.iter().zip(&first_per_page).zip(&second_per_page)
        {
            arrays.push(page(*index)?.decode(&self.data_type, page_ranges, first, second)?);
        }
        concat_arrays(arrays)
    }
}

fn split_counts<T>(items: Vec<T>, counts: &[usize]) -> Result<Vec<Vec<T>>> {
    let mut items = items.into_iter();
    let out: Vec<Vec<T>> = counts
        .iter()
        .map(|&n| items.by_ref().take(n).collect())
        .collect();
    if out.iter().zip(counts).any(|(v, &n)| v.len() != n) {
        return Err(Error::internal("fewer reads returned than planned"));
    }
    Ok(out)
}

/// Concatenates arrays; a single array is returned as is.
pub(crate) fn concat_arrays(arrays: Vec<ArrayRef>) -> Result<ArrayRef> {
    match arrays.len() {
        1 => arrays
            .into_iter()
            .next()
            .ok_or_else(|| Error::internal("no array")),
        _ => {
            let refs: Vec<&dyn Array> = arrays.iter().map(|a| a.as_ref()).collect();
            Ok(arrow_select::concat::concat(&refs)?)
        }
    }
}

impl ListReader {
    async fn read(&self, io: &dyn RangeRead, ranges: &[Range<u64>]) -> Result<ArrayRef> {
        let by_page = self.paging.split(ranges);
        let mut planned = Vec::new();
        let mut counts = Vec::with_capacity(by_page.len());
        for (index, page_ranges) in &by_page {
            let page = self
                .pages
                .get(*index)
                .ok_or_else(|| Error::internal("page index out of range"))?;
            let plan = page.plan(page_ranges)?;
            counts.push(plan.len());
            planned.extend(plan);
        }
        let fetched = split_counts(io.read_many(&planned).await?, &counts)?;

        let mut all_rows = Vec::with_capacity(by_page.len());
        let mut item_ranges = Vec::new();
        for ((index, page_ranges), bytes) in by_page.iter().zip(&fetched) {
            let page = self
                .pages
                .get(*index)
                .ok_or_else(|| Error::internal("page index out of range"))?;
            let rows = page.decode(page_ranges, bytes)?;
            let base = self.item_starts.get(*index).copied().unwrap_or(0);
            item_ranges.extend(
                rows.item_ranges
                    .iter()
                    .map(|r| base + r.start..base + r.end),
            );
            all_rows.push(rows);
        }
        let items = self.items.read(io, &merge_adjacent(item_ranges)).await?;
        if self.large {
            self.build::<i64>(all_rows, items)
        } else {
            self.build::<i32>(all_rows, items)
        }
    }

    fn build<O: OffsetSizeTrait>(&self, pages: Vec<ListRows>, items: ArrayRef) -> Result<ArrayRef> {
        let rows: usize = pages
            .iter()
            .map(|p| p.offsets.len().saturating_sub(1))
            .sum();
        let mut offsets: Vec<O> = Vec::with_capacity(rows + 1);
        offsets.push(O::usize_as(0));
        let mut base = 0u64;
        let any_null = pages.iter().any(|p| p.validity.is_some());
        let mut validity = Vec::with_capacity(if any_null { rows } else { 0 });
        for page in &pages {
            for &offset in page.offsets.iter().skip(1) {
                let value = O::from_usize((base + offset) as usize)
                    .ok_or_else(|| Error::not_supported("list too large for 32-bit offsets"))?;
                offsets.push(value);
            }
            if any_null {
                match &page.validity {
                    Some(bits) => validity.extend(bits.iter()),
                    None => validity.extend(std::iter::repeat_n(true, page.offsets.len() - 1)),
                }
            }
            base += page.offsets.last().copied().unwrap_or(0);
        }
        if base != items.len() as u64 {
            return Err(Error::corrupt(format!(
                "lists refer to {base} items but {} were read",
                items.len()
            )));
        }
        let nulls = any_null.then(|| NullBuffer::from(validity));
        let offsets = OffsetBuffer::new(ScalarBuffer::from(offsets));
        Ok(Arc::new(GenericListArray::<O>::try_new(
            self.item_field.clone(),
            offsets,
            items,
            nulls,
        )?))
    }
}
