//! The generated datasets: TPC-H lineitem, its comments, and random embeddings.

use std::sync::Arc;

use arrow_array::builder::StringBuilder;
use arrow_array::{
    Array, ArrayRef, Date32Array, Decimal128Array, FixedSizeListArray, Float32Array, Int32Array,
    Int64Array, RecordBatch,
};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use tpchgen::distribution::Distributions;
use tpchgen::generators::{LineItem, LineItemGenerator};
use tpchgen::text::TextPool;

use crate::Result;

/// Rows per batch of the lineitem and comments datasets.
pub const LINEITEM_BATCH_ROWS: usize = 64 * 1024;
/// Rows per batch of the embeddings dataset (about 12 MiB per batch, like a lineitem batch).
pub const EMBEDDING_BATCH_ROWS: usize = 4 * 1024;
/// Width of an embedding vector.
pub const EMBEDDING_DIM: i32 = 768;
/// Seed of the embedding values.
const EMBEDDING_SEED: u64 = 0x5EED_CAFE_F00D_0768;

/// Which dataset.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, clap::ValueEnum)]
pub enum DatasetKind {
    /// TPC-H lineitem, 16 columns.
    Lineitem,
    /// `l_orderkey` and `l_comment` of lineitem: text-heavy.
    Comments,
    /// An Int64 id and a 768-wide float32 vector.
    Embeddings,
}

impl DatasetKind {
    /// Every dataset, in report order.
    pub const ALL: [DatasetKind; 3] = [
        DatasetKind::Lineitem,
        DatasetKind::Comments,
        DatasetKind::Embeddings,
    ];

    /// The name used in reports and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            DatasetKind::Lineitem => "lineitem",
            DatasetKind::Comments => "comments",
            DatasetKind::Embeddings => "embeddings",
        }
    }
}

/// A dataset held in memory as Arrow record batches.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// Which dataset this is.
    pub kind: DatasetKind,
    /// The schema of every batch.
    pub schema: SchemaRef,
    /// The data.
    pub batches: Vec<RecordBatch>,
    /// Rows in all batches.
    pub num_rows: u64,
    /// Exact Arrow in-memory bytes of each column (buffers' used lengths, all batches).
    pub column_bytes: Vec<u64>,
    /// The columns of the projected scan.
    pub projection: Vec<usize>,
    /// First row of each batch.
    batch_starts: Vec<u64>,
}

impl Dataset {
    /// Wraps batches of one schema.
    pub fn new(kind: DatasetKind, schema: SchemaRef, batches: Vec<RecordBatch>) -> Result<Self> {
        let mut column_bytes = vec![0u64; schema.fields().len()];
        let mut batch_starts = Vec::with_capacity(batches.len());
        let mut num_rows = 0u64;
        for batch in &batches {
            batch_starts.push(num_rows);
            num_rows += batch.num_rows() as u64;
            for (total, column) in column_bytes.iter_mut().zip(batch.columns()) {
                *total += column.to_data().get_slice_memory_size()? as u64;
            }
        }
        let projection = match kind {
            DatasetKind::Lineitem => vec![
                schema.index_of("l_shipdate")?,
                schema.index_of("l_extendedprice")?,
            ],
            DatasetKind::Comments | DatasetKind::Embeddings => vec![0],
        };
        Ok(Self {
            kind,
            schema,
            batches,
            num_rows,
            column_bytes,
            projection,
            batch_starts,
        })
    }

    /// Number of columns.
    pub fn num_columns(&self) -> usize {
        self.schema.fields().len()
    }

    /// Arrow in-memory bytes of all columns.
    pub fn arrow_bytes(&self) -> u64 {
        self.column_bytes.iter().sum()
    }

    /// Arrow in-memory bytes of the projected columns.
    pub fn projected_bytes(&self) -> u64 {
        self.projection.iter().map(|&i| self.column_bytes[i]).sum()
    }

    /// Names of the projected columns.
    pub fn projected_names(&self) -> Vec<String> {
        self.projection
            .iter()
            .map(|&i| self.schema.field(i).name().clone())
            .collect()
    }

    /// The id (column 0, Int64) of row `row`.
    pub fn id_at(&self, row: u64) -> Option<i64> {
        let batch_index = self.batch_starts.partition_point(|&start| start <= row);
        let batch = self.batches.get(batch_index.checked_sub(1)?)?;
        let offset = (row - self.batch_starts[batch_index - 1]) as usize;
        let ids = batch.column(0).as_any().downcast_ref::<Int64Array>()?;
        (offset < ids.len()).then(|| ids.value(offset))
    }
}

/// The schema of the lineitem dataset.
pub fn lineitem_schema() -> SchemaRef {
    let decimal = DataType::Decimal128(15, 2);
    Arc::new(Schema::new(vec![
        Field::new("l_orderkey", DataType::Int64, false),
        Field::new("l_partkey", DataType::Int64, false),
        Field::new("l_suppkey", DataType::Int64, false),
        Field::new("l_linenumber", DataType::Int32, false),
        Field::new("l_quantity", decimal.clone(), false),
        Field::new("l_extendedprice", decimal.clone(), false),
        Field::new("l_discount", decimal.clone(), false),
        Field::new("l_tax", decimal, false),
        Field::new("l_returnflag", DataType::Utf8, false),
        Field::new("l_linestatus", DataType::Utf8, false),
        Field::new("l_shipdate", DataType::Date32, false),
        Field::new("l_commitdate", DataType::Date32, false),
        Field::new("l_receiptdate", DataType::Date32, false),
        Field::new("l_shipinstruct", DataType::Utf8, false),
        Field::new("l_shipmode", DataType::Utf8, false),
        Field::new("l_comment", DataType::Utf8, false),
    ]))
}

/// Column buffers of one lineitem batch being built.
struct LineitemColumns {
    /// `l_orderkey`.
    orderkey: Vec<i64>,
    /// `l_partkey`.
    partkey: Vec<i64>,
    /// `l_suppkey`.
    suppkey: Vec<i64>,
    /// `l_linenumber`.
    linenumber: Vec<i32>,
    /// `l_quantity`, `l_extendedprice`, `l_discount`, `l_tax` in hundredths.
    decimals: [Vec<i128>; 4],
    /// `l_shipdate`, `l_commitdate`, `l_receiptdate` as days since 1970-01-01.
    dates: [Vec<i32>; 3],
    /// `l_returnflag`, `l_linestatus`.
    flags: [StringBuilder; 2],
    /// `l_shipinstruct`, `l_shipmode`, `l_comment`.
    texts: [StringBuilder; 3],
}

impl LineitemColumns {
    /// Empty buffers for `rows` rows.
    fn with_capacity(rows: usize) -> Self {
        let strings =
            |bytes_per_row: usize| StringBuilder::with_capacity(rows, rows * bytes_per_row);
        Self {
            orderkey: Vec::with_capacity(rows),
            partkey: Vec::with_capacity(rows),
            suppkey: Vec::with_capacity(rows),
            linenumber: Vec::with_capacity(rows),
            decimals: std::array::from_fn(|_| Vec::with_capacity(rows)),
            dates: std::array::from_fn(|_| Vec::with_capacity(rows)),
            flags: std::array::from_fn(|_| strings(1)),
            texts: [strings(17), strings(7), strings(27)],
        }
    }

    /// Rows appended so far.
    fn len(&self) -> usize {
        self.orderkey.len()
    }

    /// Appends one row.
    fn push(&mut self, item: &LineItem<'_>) {
        self.orderkey.push(item.l_orderkey);
        self.partkey.push(item.l_partkey);
        self.suppkey.push(item.l_suppkey);
        self.linenumber.push(item.l_linenumber);
        // l_quantity is a whole number in tpchgen; the column is decimal(15, 2).
        self.decimals[0].push(i128::from(item.l_quantity) * 100);
        self.decimals[1].push(i128::from(item.l_extendedprice.into_inner()));
        self.decimals[2].push(i128::from(item.l_discount.into_inner()));
        self.decimals[3].push(i128::from(item.l_tax.into_inner()));
        self.dates[0].push(item.l_shipdate.to_unix_epoch());
        self.dates[1].push(item.l_commitdate.to_unix_epoch());
        self.dates[2].push(item.l_receiptdate.to_unix_epoch());
        self.flags[0].append_value(item.l_returnflag);
        self.flags[1].append_value(item.l_linestatus);
        self.texts[0].append_value(item.l_shipinstruct);
        self.texts[1].append_value(item.l_shipmode);
        self.texts[2].append_value(item.l_comment);
    }

    /// The batch of the rows appended.
    fn finish(self, schema: &SchemaRef) -> Result<RecordBatch> {
        let [quantity, price, discount, tax] = self.decimals;
        let decimal = |values: Vec<i128>| -> Result<ArrayRef> {
            Ok(Arc::new(
                Decimal128Array::from(values).with_precision_and_scale(15, 2)?,
            ))
        };
        let [ship, commit, receipt] = self.dates;
        let [mut returnflag, mut linestatus] = self.flags;
        let [mut shipinstruct, mut shipmode, mut comment] = self.texts;
        let columns: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from(self.orderkey)),
            Arc::new(Int64Array::from(self.partkey)),
            Arc::new(Int64Array::from(self.suppkey)),
            Arc::new(Int32Array::from(self.linenumber)),
            decimal(quantity)?,
            decimal(price)?,
            decimal(discount)?,
            decimal(tax)?,
            Arc::new(returnflag.finish()),
            Arc::new(linestatus.finish()),
            Arc::new(Date32Array::from(ship)),
            Arc::new(Date32Array::from(commit)),
            Arc::new(Date32Array::from(receipt)),
            Arc::new(shipinstruct.finish()),
            Arc::new(shipmode.finish()),
            Arc::new(comment.finish()),
        ];
        Ok(RecordBatch::try_new(schema.clone(), columns)?)
    }
}

/// TPC-H lineitem at scale factor `sf` (6,001,215 rows at 1.0), in batches of
/// [`LINEITEM_BATCH_ROWS`].
///
/// `text_pool_bytes` replaces TPC-H's 300 MiB pool of comment text by a smaller one (faster to
/// build in debug builds; the comments then differ from the standard ones, all else is the
/// same). `None` for the standard data.
pub fn lineitem(sf: f64, text_pool_bytes: Option<i32>) -> Result<Dataset> {
    let schema = lineitem_schema();
    let small_pool;
    let generator = match text_pool_bytes {
        None => LineItemGenerator::new(sf, 1, 1),
        Some(bytes) => {
            let distributions = Distributions::static_default();
            small_pool = TextPool::new(bytes, distributions);
            LineItemGenerator::new_with_distributions_and_text_pool(
                sf,
                1,
                1,
                distributions,
                &small_pool,
            )
        }
    };
    let mut rows = generator.iter();
    let mut batches = Vec::new();
    loop {
        let mut columns = LineitemColumns::with_capacity(LINEITEM_BATCH_ROWS);
        for item in rows.by_ref().take(LINEITEM_BATCH_ROWS) {
            columns.push(&item);
        }
        if columns.len() == 0 {
            break;
        }
        batches.push(columns.finish(&schema)?);
    }
    Dataset::new(DatasetKind::Lineitem, schema, batches)
}

/// The `l_comment` strings of TPC-H lineitem at scale factor `sf`, joined, and their
/// `count + 1` offsets (for kernels that work on raw text, such as FSST).
pub fn lineitem_comments(sf: f64) -> (Vec<u8>, Vec<u64>) {
    let mut text = Vec::new();
    let mut offsets = vec![0u64];
    for item in LineItemGenerator::new(sf, 1, 1).iter() {
        text.extend_from_slice(item.l_comment.as_bytes());
        offsets.push(text.len() as u64);
    }
    (text, offsets)
}

/// Writes `data` to `path` as an Arrow IPC file (uncompressed, one record batch per batch),
/// for tools that read such files (`python/benchmarks/compare.py --ipc`).
pub fn write_ipc_file(data: &Dataset, path: &std::path::Path) -> Result<()> {
    let file = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut writer = arrow_ipc::writer::FileWriter::try_new(file, &data.schema)?;
    for batch in &data.batches {
        writer.write(batch)?;
    }
    writer.finish()?;
    Ok(())
}

/// The comments dataset: `l_orderkey` and `l_comment` of `lineitem` (sharing its arrays).
pub fn comments(lineitem: &Dataset) -> Result<Dataset> {
    let id = lineitem.schema.index_of("l_orderkey")?;
    let comment = lineitem.schema.index_of("l_comment")?;
    let schema = Arc::new(lineitem.schema.project(&[id, comment])?);
    let batches = lineitem
        .batches
        .iter()
        .map(|batch| batch.project(&[id, comment]))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Dataset::new(DatasetKind::Comments, schema, batches)
}

/// The schema of the embeddings dataset.
pub fn embeddings_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new(
            "vector",
            DataType::FixedSizeList(
                Arc::new(Field::new("item", DataType::Float32, true)),
                EMBEDDING_DIM,
            ),
            false,
        ),
    ]))
}

/// `rows` embeddings: ids 0, 1, ... and vectors of values uniform in [-1, 1) from a fixed
/// seed, in batches of [`EMBEDDING_BATCH_ROWS`].
pub fn embeddings(rows: usize) -> Result<Dataset> {
    let schema = embeddings_schema();
    let item = Arc::new(Field::new("item", DataType::Float32, true));
    let mut rng = SplitMix64::new(EMBEDDING_SEED);
    let mut batches = Vec::new();
    let mut start = 0usize;
    while start < rows {
        let len = EMBEDDING_BATCH_ROWS.min(rows - start);
        let ids = Int64Array::from_iter_values((start..start + len).map(|i| i as i64));
        let values: Vec<f32> = (0..len * EMBEDDING_DIM as usize)
            .map(|_| rng.next_unit_f32() * 2.0 - 1.0)
            .collect();
        let vectors = FixedSizeListArray::try_new(
            item.clone(),
            EMBEDDING_DIM,
            Arc::new(Float32Array::from(values)),
            None,
        )?;
        batches.push(RecordBatch::try_new(
            schema.clone(),
            vec![Arc::new(ids), Arc::new(vectors)],
        )?);
        start += len;
    }
    Dataset::new(DatasetKind::Embeddings, schema, batches)
}

/// The SplitMix64 generator (Steele, Lea and Flood): small, fast, and good enough for test
/// data and sampling.
#[derive(Debug, Clone)]
pub struct SplitMix64 {
    /// The generator's state.
    state: u64,
}

impl SplitMix64 {
    /// A generator starting from `seed`.
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number uniform in `0..n` (`n` > 0), by multiply-shift.
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// A float uniform in [0, 1), with 24 random bits (exactly representable).
    pub fn next_unit_f32(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 * (1.0 / (1u32 << 24) as f32)
    }
}

/// `count` random row indices below `num_rows` from `seed`, in random order: distinct when
/// there are at least twice as many rows as indices, else drawn with replacement.
pub fn sample_indices(num_rows: u64, count: usize, seed: u64) -> Vec<u64> {
    let mut rng = SplitMix64::new(seed);
    if num_rows == 0 {
        return Vec::new();
    }
    if (count as u64).saturating_mul(2) > num_rows {
        return (0..count).map(|_| rng.below(num_rows)).collect();
    }
    let mut seen = std::collections::HashSet::with_capacity(count);
    let mut out = Vec::with_capacity(count);
    while out.len() < count {
        let row = rng.below(num_rows);
        if seen.insert(row) {
            out.push(row);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lineitem_has_the_tpch_row_count_and_ids() -> Result<()> {
        let data = lineitem(0.001, Some(1 << 20))?;
        assert_eq!(data.num_columns(), 16);
        assert_eq!(data.num_rows, 6005);
        assert_eq!(data.id_at(0), Some(1));
        assert!(data.id_at(data.num_rows).is_none());
        let comments = comments(&data)?;
        assert_eq!(comments.num_rows, data.num_rows);
        assert_eq!(comments.id_at(6004), data.id_at(6004));
        Ok(())
    }

    #[test]
    fn embeddings_are_in_range() -> Result<()> {
        let data = embeddings(EMBEDDING_BATCH_ROWS + 3)?;
        assert_eq!(data.batches.len(), 2);
        assert_eq!(data.id_at(EMBEDDING_BATCH_ROWS as u64 + 2), Some(4098));
        let vectors = data.batches[1]
            .column(1)
            .as_any()
            .downcast_ref::<FixedSizeListArray>()
            .map(|list| list.values().clone());
        let values = vectors
            .as_ref()
            .and_then(|v| v.as_any().downcast_ref::<Float32Array>())
            .map(|v| v.values().to_vec())
            .unwrap_or_default();
        assert_eq!(values.len(), 3 * 768);
        assert!(values.iter().all(|v| (-1.0..1.0).contains(v)));
        Ok(())
    }

    #[test]
    fn samples_are_distinct_when_rows_allow() {
        let rows = sample_indices(1000, 100, 7);
        let mut sorted = rows.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), 100);
        assert!(rows.iter().all(|&r| r < 1000));
        assert_eq!(sample_indices(10, 100, 7).len(), 100);
        assert_eq!(rows, sample_indices(1000, 100, 7));
    }
}
