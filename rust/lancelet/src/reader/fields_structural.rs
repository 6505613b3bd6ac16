//! Reading the fields of format 2.1 and 2.2 files.
//!
//! Only leaves have columns (in schema pre-order). Each leaf column stores rep/def levels and
//! values; reading a field reads each of its leaves for the requested rows, joins the levels
//! of the pages involved, and assembles the nested array (see
//! [`crate::encodings::structural::repdef`]).

use std::ops::Range;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, StructArray, new_empty_array};
use arrow_schema::{DataType, Field, FieldRef, Fields};
use futures::FutureExt;
use futures::future::{BoxFuture, try_join_all};
use tokio::sync::Mutex;

use crate::encodings::structural::page::PageReader;
use crate::encodings::structural::repdef::{LeafLevels, assemble};
use crate::error::{Error, Result};
use crate::format::columns::{is_packed, structural_leaves};
use crate::format::{ColumnInfo, FileMetadata, PageEncoding};
use crate::io::RangeRead;

use super::paging::Paging;
use super::projection::Selection;

/// Reads one top-level field of a 2.1/2.2 file.
#[derive(Debug, Clone)]
pub struct StructuralFieldReader {
    field: FieldRef,
    leaves: Vec<Arc<LeafColumn>>,
}

/// One leaf column: its pages and, once loaded, their cached metadata.
#[derive(Debug)]
struct LeafColumn {
    /// The column of a struct without fields: pylance writes it with one layer whatever the
    /// nesting, so it is never read; the struct is rebuilt from its parent instead.
    placeholder: bool,
    pages: Vec<PageReader>,
    paging: Paging,
    bytes_per_row: f64,
    /// Held while page metadata is read, so that concurrent reads of one page load it once.
    metadata_lock: Mutex<()>,
}

/// Assigns leaf columns to the fields of a 2.1+ file and builds their readers.
pub fn build_all(metadata: &FileMetadata) -> Result<Vec<StructuralFieldReader>> {
    let mut next_column = 0usize;
    let mut readers = Vec::with_capacity(metadata.schema.fields().len());
    for field in metadata.schema.fields() {
        let mut leaves = Vec::new();
        collect_leaf_columns(field, metadata, &mut next_column, &mut leaves)?;
        readers.push(StructuralFieldReader {
            field: field.clone(),
            leaves,
        });
    }
    if next_column != metadata.columns.len() {
        return Err(Error::corrupt(format!(
            "schema needs {next_column} columns but the file has {}",
            metadata.columns.len()
        )));
    }
    Ok(readers)
}

/// The leaf fields below `field` that own a column, in pre-order.
fn collect_leaf_columns(
    field: &Field,
    metadata: &FileMetadata,
    next_column: &mut usize,
    out: &mut Vec<Arc<LeafColumn>>,
) -> Result<()> {
    for leaf in structural_leaves(field) {
        if let DataType::FixedSizeList(item, _) = leaf.data_type()
            && matches!(item.data_type(), DataType::Struct(_))
        {
            return Err(Error::not_supported(format!(
                "field '{}': fixed-size lists of structs",
                leaf.name()
            )));
        }
        let index = *next_column;
        *next_column += 1;
        let column = metadata.columns.get(index).ok_or_else(|| {
            Error::corrupt(format!(
                "field '{}' needs column {index} but the file has {} columns",
                leaf.name(),
                metadata.columns.len()
            ))
        })?;
        out.push(Arc::new(LeafColumn::new(
            leaf,
            leaf.data_type(),
            column,
            metadata,
        )?));
    }
    Ok(())
}

impl LeafColumn {
    fn new(
        field: &Field,
        data_type: &DataType,
        column: &ColumnInfo,
        metadata: &FileMetadata,
    ) -> Result<Self> {
        let placeholder = matches!(data_type, DataType::Struct(fields) if fields.is_empty());
        if placeholder {
            let paging = Paging::new(&column.pages)?;
            if paging.total() != metadata.num_rows {
                return Err(Error::corrupt(format!(
                    "column of field '{}' holds {} rows, expected {}",
                    field.name(),
                    paging.total(),
                    metadata.num_rows
                )));
            }
            return Ok(Self {
                placeholder,
                pages: Vec::new(),
                paging,
                bytes_per_row: 0.0,
                metadata_lock: Mutex::new(()),
            });
        }
        let pages = column
            .pages
            .iter()
            .map(|page| match &page.encoding {
                PageEncoding::Structural(layout) => PageReader::new(
                    layout,
                    &page.buffers,
                    page.num_rows,
                    data_type,
                    metadata.version,
                    metadata.file_size,
                ),
                PageEncoding::V2_0(_) => Err(Error::corrupt("a 2.0 page in a 2.1+ file")),
            })
            .collect::<Result<Vec<_>>>()
            .map_err(|e| annotate(e, field))?;
        let paging = Paging::new(&column.pages)?;
        if paging.total() != metadata.num_rows {
            return Err(Error::corrupt(format!(
                "column of field '{}' holds {} rows, expected {}",
                field.name(),
                paging.total(),
                metadata.num_rows
            )));
        }
        let stored = column.size_bytes() as f64
            + if column.stores_blobs() {
                metadata.blob_bytes_per_column()
            } else {
                0.0
            };
        let bytes_per_row = if metadata.num_rows == 0 {
            0.0
        } else {
            stored / metadata.num_rows as f64
        };
        Ok(Self {
            placeholder,
            pages,
            paging,
            bytes_per_row,
            metadata_lock: Mutex::new(()),
        })
    }

    /// Loads what the pages `indices` need before rows can be located (mini-block chunk
    /// tables, repetition indices, dictionaries), once per reader and page: the pages not
    /// loaded yet are read together in one call. A read of a few rows loads only the pages
    /// that hold them.
    async fn load_metadata(&self, io: &dyn RangeRead, indices: &[usize]) -> Result<()> {
        let loaded = |index: &usize| {
            self.pages
                .get(*index)
                .is_none_or(PageReader::metadata_loaded)
        };
        if indices.iter().all(loaded) {
            return Ok(());
        }
        let _loading = self.metadata_lock.lock().await;
        let missing: Vec<&PageReader> = indices
            .iter()
            .filter(|index| !loaded(index))
            .filter_map(|&index| self.pages.get(index))
            .collect();
        let wanted: Vec<Vec<Range<u64>>> =
            missing.iter().map(|page| page.metadata_ranges()).collect();
        let flat: Vec<Range<u64>> = wanted.iter().flatten().cloned().collect();
        let fetched = if flat.is_empty() {
            Vec::new()
        } else {
            io.read_many(&flat).await?
        };
        let mut fetched = fetched.into_iter();
        for (page, ranges) in missing.iter().zip(&wanted) {
            let bytes: Vec<_> = fetched.by_ref().take(ranges.len()).collect();
            page.load_metadata(bytes)?;
        }
        Ok(())
    }

    /// Reads the levels and values of `ranges` (sorted, disjoint rows).
    async fn read(&self, io: &dyn RangeRead, ranges: &[Range<u64>]) -> Result<LeafLevels> {
        LeafLevels::concat(self.read_by_page(io, ranges).await?)
    }

    /// Reads the levels and values of `ranges` (sorted, disjoint rows), one part per page
    /// touched, in row order.
    async fn read_by_page(
        &self,
        io: &dyn RangeRead,
        ranges: &[Range<u64>],
    ) -> Result<Vec<LeafLevels>> {
        let by_page = self.paging.split(ranges);
        let touched: Vec<usize> = by_page.iter().map(|(index, _)| *index).collect();
        self.load_metadata(io, &touched).await?;
        let page = |index: usize| {
            self.pages
                .get(index)
                .ok_or_else(|| Error::internal("page index out of range"))
        };
        let mut first_ranges = Vec::new();
        let mut first_counts = Vec::with_capacity(by_page.len());
        for (index, page_ranges) in &by_page {
            let planned = page(*index)?.plan(page_ranges)?;
            first_counts.push(planned.len());
            first_ranges.extend(planned);
        }
        let first = split_counts(io.read_many(&first_ranges).await?, &first_counts)?;
        let mut second_ranges = Vec::new();
        let mut second_counts = Vec::with_capacity(by_page.len());
        for ((index, page_ranges), first) in by_page.iter().zip(&first) {
            let planned = page(*index)?.plan_second(page_ranges, first)?;
            second_counts.push(planned.len());
            second_ranges.extend(planned);
        }
        let second = if second_ranges.is_empty() {
            vec![Vec::new(); by_page.len()]
        } else {
            split_counts(io.read_many(&second_ranges).await?, &second_counts)?
        };
        // Each page's reads are let go as soon as the page is decoded (unless its values are
        // the read itself, without a copy), not only once every page is.
        let mut parts = Vec::with_capacity(by_page.len());
        for (((index, page_ranges), first), second) in by_page.iter().zip(first).zip(second) {
            parts.push(page(*index)?.decode(page_ranges, &first, &second)?);
        }
        if parts.is_empty() {
            return Err(Error::internal("no rows to read"));
        }
        Ok(parts)
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

impl StructuralFieldReader {
    /// The Arrow data type this reader produces.
    pub fn data_type(&self) -> DataType {
        self.field.data_type().clone()
    }

    /// Estimated stored bytes per top-level row.
    pub fn bytes_per_value(&self) -> f64 {
        self.leaves.iter().map(|l| l.bytes_per_row).sum()
    }

    /// Whether reads of consecutive rows within a page become the values without a copy
    /// (one leaf column whose pages all store fixed-width values back to back).
    pub fn decodes_in_place(&self) -> bool {
        match self.leaves.as_slice() {
            [leaf] => !leaf.pages.is_empty() && leaf.pages.iter().all(PageReader::decodes_in_place),
            _ => false,
        }
    }

    /// Where pages begin (after the first), when the field is one leaf column.
    pub fn page_boundaries(&self) -> Option<&[u64]> {
        match self.leaves.as_slice() {
            [leaf] => Some(leaf.paging.boundaries()),
            _ => None,
        }
    }

    /// Keeps only the children chosen by `selection`, recursively.
    pub fn project(&self, selection: &Selection) -> Result<StructuralFieldReader> {
        let (field, leaves) = project_field(&self.field, &self.leaves, selection)?;
        Ok(StructuralFieldReader {
            field: Arc::new(field),
            leaves,
        })
    }

    /// Reads the rows of `ranges` (sorted, disjoint) into one array.
    pub fn read<'a>(
        &'a self,
        io: &'a dyn RangeRead,
        ranges: &'a [Range<u64>],
    ) -> BoxFuture<'a, Result<ArrayRef>> {
        async move {
            if ranges.iter().all(|r| r.is_empty()) {
                return Ok(new_empty_array(self.field.data_type()));
            }
            let rows: u64 = ranges.iter().map(|r| r.end - r.start).sum();
            let Some(stored) = without_empty_structs(&self.field)? else {
                return empty_structs(self.field.data_type(), rows as usize);
            };
            let stored_leaves = self.leaves.iter().filter(|leaf| !leaf.placeholder);
            let levels = try_join_all(stored_leaves.map(|leaf| leaf.read(io, ranges))).await?;
            let array = assemble(&stored, levels)?;
            with_empty_structs(self.field.data_type(), array)
        }
        .boxed()
    }

    /// Reads the rows of `ranges` (sorted, disjoint) into arrays that hold them in order
    /// when put end to end: one per page touched when the field is one leaf column outside
    /// any list or struct (so that a scan copies only the batches that straddle two pages,
    /// not its whole chunk), otherwise one.
    pub fn read_pieces<'a>(
        &'a self,
        io: &'a dyn RangeRead,
        ranges: &'a [Range<u64>],
    ) -> BoxFuture<'a, Result<Vec<ArrayRef>>> {
        async move {
            let [leaf] = self.leaves.as_slice() else {
                return Ok(vec![self.read(io, ranges).await?]);
            };
            let nested = matches!(
                self.field.data_type(),
                DataType::Struct(_)
                    | DataType::List(_)
                    | DataType::LargeList(_)
                    | DataType::Map(..)
            );
            if nested || leaf.placeholder || ranges.iter().all(|r| r.is_empty()) {
                return Ok(vec![self.read(io, ranges).await?]);
            }
            leaf.read_by_page(io, ranges)
                .await?
                .into_iter()
                .map(|levels| assemble(&self.field, vec![levels]))
                .collect()
        }
        .boxed()
    }
}

/// `field` without its structs of no fields (`None` when nothing else is left), or an error
/// when such a struct sits inside a list (pylance never writes that).
fn without_empty_structs(field: &Field) -> Result<Option<Field>> {
    match field.data_type() {
        DataType::Struct(children) if !is_packed(field) => {
            let mut kept = Vec::with_capacity(children.len());
            for child in children {
                if let Some(child) = without_empty_structs(child)? {
                    kept.push(Arc::new(child));
                }
            }
            Ok((!kept.is_empty()).then(|| {
                field
                    .clone()
                    .with_data_type(DataType::Struct(Fields::from(kept)))
            }))
        }
        DataType::List(item) | DataType::LargeList(item) | DataType::Map(item, _) => {
            match without_empty_structs(item)? {
                Some(pruned) if pruned == **item => Ok(Some(field.clone())),
                _ => Err(Error::not_supported(format!(
                    "field '{}': structs without fields inside lists",
                    field.name()
                ))),
            }
        }
        _ => Ok(Some(field.clone())),
    }
}

/// Puts the structs without fields that [`without_empty_structs`] removed back into `array`
/// (they are valid wherever their parent is).
fn with_empty_structs(data_type: &DataType, array: ArrayRef) -> Result<ArrayRef> {
    let DataType::Struct(fields) = data_type else {
        return Ok(array);
    };
    if array.data_type() == data_type {
        return Ok(array);
    }
    let structs = array
        .as_struct_opt()
        .ok_or_else(|| Error::internal("assembled a non-struct for a struct field"))?;
    let mut stored = structs.columns().iter();
    let mut columns = Vec::with_capacity(fields.len());
    for child in fields {
        let column = match without_empty_structs(child)? {
            None => empty_structs(child.data_type(), array.len())?,
            Some(_) => {
                let column = stored
                    .next()
                    .ok_or_else(|| Error::internal("assembled struct lacks a child"))?;
                with_empty_structs(child.data_type(), column.clone())?
            }
        };
        columns.push(column);
    }
    Ok(Arc::new(StructArray::try_new(
        fields.clone(),
        columns,
        structs.nulls().cloned(),
    )?))
}

/// `len` valid values of a struct type made only of structs without fields.
fn empty_structs(data_type: &DataType, len: usize) -> Result<ArrayRef> {
    let DataType::Struct(fields) = data_type else {
        return Err(Error::internal("not a struct of empty structs"));
    };
    if fields.is_empty() {
        return Ok(Arc::new(StructArray::new_empty_fields(len, None)));
    }
    let columns = fields
        .iter()
        .map(|f| empty_structs(f.data_type(), len))
        .collect::<Result<Vec<_>>>()?;
    Ok(Arc::new(StructArray::try_new(
        fields.clone(),
        columns,
        None,
    )?))
}

/// Projects a field and its leaves (`leaves` are the field's leaves in pre-order).
fn project_field(
    field: &Field,
    leaves: &[Arc<LeafColumn>],
    selection: &Selection,
) -> Result<(Field, Vec<Arc<LeafColumn>>)> {
    let Selection::Children(chosen) = selection else {
        return Ok((field.clone(), leaves.to_vec()));
    };
    match field.data_type() {
        DataType::Struct(children) => {
            // Leaves of child i start after the leaves of children 0..i.
            let mut starts = Vec::with_capacity(children.len() + 1);
            let mut total = 0;
            for child in children {
                starts.push(total);
                total += structural_leaves(child).len();
            }
            let mut kept_fields = Vec::with_capacity(chosen.len());
            let mut kept_leaves = Vec::new();
            for (index, child_selection) in chosen {
                let (Some(child), Some(&start)) = (children.get(*index), starts.get(*index)) else {
                    return Err(Error::internal("projection names a missing child"));
                };
                let count = structural_leaves(child).len();
                let child_leaves = leaves
                    .get(start..start + count)
                    .ok_or_else(|| Error::internal("leaf columns do not match the schema"))?;
                let (field, leaves) = project_field(child, child_leaves, child_selection)?;
                kept_fields.push(Arc::new(field));
                kept_leaves.extend(leaves);
            }
            let data_type = DataType::Struct(Fields::from(kept_fields));
            Ok((field.clone().with_data_type(data_type), kept_leaves))
        }
        DataType::List(item) | DataType::LargeList(item) => {
            let [(0, item_selection)] = chosen.as_slice() else {
                return Err(Error::internal(
                    "list projection names a child other than its item",
                ));
            };
            let (item, leaves) = project_field(item, leaves, item_selection)?;
            let item = Arc::new(item);
            let data_type = match field.data_type() {
                DataType::LargeList(_) => DataType::LargeList(item),
                _ => DataType::List(item),
            };
            Ok((field.clone().with_data_type(data_type), leaves))
        }
        _ => Err(Error::internal("projection of children of a leaf")),
    }
}
