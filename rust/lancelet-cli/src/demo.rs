//! `lancelet demo`: writes built-in sample data, reads it back in several ways and checks every
//! value against the source.

use std::sync::Arc;
use std::time::Instant;

use arrow_array::builder::{
    BooleanBuilder, Decimal128Builder, FixedSizeListBuilder, Float32Builder, Float64Builder,
    Int64Builder, ListBuilder, StringBuilder, StringDictionaryBuilder, StructBuilder,
    TimestampMicrosecondBuilder,
};
use arrow_array::types::Int8Type;
use arrow_array::{Array, ArrayRef, RecordBatch, UInt64Array};
use arrow_schema::{DataType, Field, Fields, Schema, SchemaRef, TimeUnit};
use bytes::Bytes;
use clap::Args;
use lancelet::io::CountingStore;
use lancelet::{FileReader, FileWriter, Projection, WriterOptions};

use crate::CliResult;
use crate::tables::resolve;

/// Arguments of `lancelet demo`.
#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Where to write demo.lance: a directory or URL prefix (memory://demo, s3://bucket/dir).
    /// Defaults to a new directory under the system's temporary directory.
    pub dir: Option<String>,
    /// Rows of sample data.
    #[arg(long, default_value_t = 100_000)]
    pub rows: usize,
}

/// A small deterministic pseudo-random generator (SplitMix64), so the demo needs no seed.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

const CATEGORIES: [&str; 6] = ["books", "games", "garden", "music", "sports", "tools"];
const KINDS: [&str; 3] = ["new", "used", "refurbished"];
const TAGS: [&str; 5] = ["red", "green", "blue", "sale", "gift"];
const EMBEDDING_DIM: i32 = 8;

fn location_fields() -> Fields {
    Fields::from(vec![
        Field::new("lat", DataType::Float32, false),
        Field::new("lon", DataType::Float32, false),
    ])
}

/// The sample schema: integers, floats with nulls, strings, a dictionary, booleans, timestamps,
/// decimals, a list, a struct and a fixed-size list (an embedding).
pub fn sample_schema() -> SchemaRef {
    let embedding_item = Field::new("item", DataType::Float32, true);
    Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("score", DataType::Float64, true),
        Field::new("name", DataType::Utf8, true),
        Field::new("category", DataType::Utf8, false),
        Field::new(
            "condition",
            DataType::Dictionary(Box::new(DataType::Int8), Box::new(DataType::Utf8)),
            true,
        ),
        Field::new("active", DataType::Boolean, true),
        Field::new(
            "created",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            false,
        ),
        Field::new("price", DataType::Decimal128(12, 2), true),
        Field::new_list("tags", Field::new("item", DataType::Utf8, true), true),
        Field::new("location", DataType::Struct(location_fields()), false),
        Field::new(
            "embedding",
            DataType::FixedSizeList(Arc::new(embedding_item), EMBEDDING_DIM),
            true,
        ),
    ]))
}

/// `rows` rows of sample data starting at row `first`.
pub fn sample_batch(first: usize, rows: usize) -> CliResult<RecordBatch> {
    let mut random = Random(first as u64 ^ 0x5EED);
    let mut id = Int64Builder::new();
    let mut score = Float64Builder::new();
    let mut name = StringBuilder::new();
    let mut category = StringBuilder::new();
    let mut condition = StringDictionaryBuilder::<Int8Type>::new();
    let mut active = BooleanBuilder::new();
    let mut created = TimestampMicrosecondBuilder::new().with_timezone("UTC");
    let mut price = Decimal128Builder::new().with_precision_and_scale(12, 2)?;
    let mut tags = ListBuilder::new(StringBuilder::new());
    let mut location = StructBuilder::from_fields(location_fields(), rows);
    let mut embedding = FixedSizeListBuilder::new(Float32Builder::new(), EMBEDDING_DIM);
    for row in first..first + rows {
        id.append_value(row as i64);
        if random.below(20) == 0 {
            score.append_null();
        } else {
            score.append_value(random.unit() * 100.0);
        }
        match random.below(10) {
            0 => name.append_null(),
            1 => name.append_value(""),
            n => name.append_value(format!("item-{row}-{}", "x".repeat(n as usize))),
        }
        category.append_value(CATEGORIES[random.below(CATEGORIES.len() as u64) as usize]);
        match random.below(8) {
            0 => condition.append_null(),
            n => {
                condition.append(KINDS[(n % 3) as usize])?;
            }
        }
        active.append_option((random.below(10) != 0).then(|| random.below(2) == 0));
        created.append_value(1_700_000_000_000_000 + row as i64 * 1_000_003);
        if random.below(15) == 0 {
            price.append_null();
        } else {
            price.append_value(random.below(1_000_000) as i128 - 5_000);
        }
        match random.below(6) {
            0 => tags.append_null(),
            n => {
                for _ in 0..(n % 4) {
                    tags.values()
                        .append_value(TAGS[random.below(TAGS.len() as u64) as usize]);
                }
                tags.append(true);
            }
        }
        let lat = location
            .field_builder::<Float32Builder>(0)
            .ok_or("location builder")?;
        lat.append_value((random.unit() * 180.0 - 90.0) as f32);
        let lon = location
            .field_builder::<Float32Builder>(1)
            .ok_or("location builder")?;
        lon.append_value((random.unit() * 360.0 - 180.0) as f32);
        location.append(true);
        if random.below(25) == 0 {
            for _ in 0..EMBEDDING_DIM {
                embedding.values().append_null();
            }
            embedding.append(false);
        } else {
            for _ in 0..EMBEDDING_DIM {
                embedding.values().append_value(random.unit() as f32);
            }
            embedding.append(true);
        }
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(id.finish()),
        Arc::new(score.finish()),
        Arc::new(name.finish()),
        Arc::new(category.finish()),
        Arc::new(condition.finish()),
        Arc::new(active.finish()),
        Arc::new(created.finish()),
        Arc::new(price.finish()),
        Arc::new(tags.finish()),
        Arc::new(location.finish()),
        Arc::new(embedding.finish()),
    ];
    Ok(RecordBatch::try_new(sample_schema(), columns)?)
}

fn check(what: &str, expected: &RecordBatch, actual: &[RecordBatch]) -> CliResult<()> {
    let actual = arrow_select::concat::concat_batches(&expected.schema(), actual)?;
    if actual.num_rows() != expected.num_rows() {
        return Err(format!(
            "{what}: read {} rows, expected {}",
            actual.num_rows(),
            expected.num_rows()
        )
        .into());
    }
    for (index, (a, e)) in actual.columns().iter().zip(expected.columns()).enumerate() {
        if a.to_data() != e.to_data() {
            let name = expected.schema().field(index).name().clone();
            return Err(format!("{what}: column '{name}' differs from the source").into());
        }
    }
    println!(
        "  ok   {what}: {} rows match the source",
        expected.num_rows()
    );
    Ok(())
}

/// Runs `lancelet demo`.
pub async fn run(args: DemoArgs) -> CliResult<()> {
    let dir = match args.dir {
        Some(dir) => dir.trim_end_matches('/').to_string(),
        None => {
            let dir = std::env::temp_dir().join(format!("lancelet-demo-{}", std::process::id()));
            std::fs::create_dir_all(&dir)?;
            dir.display().to_string()
        }
    };
    let uri = format!("{dir}/demo.lance");
    let (store, path) = resolve(&uri)?;
    let store = Arc::new(CountingStore::new(store));

    println!("Lancelet demo: {} rows of sample data -> {uri}", args.rows);
    let batch_rows = 8192;
    let mut batches = Vec::new();
    for first in (0..args.rows).step_by(batch_rows) {
        batches.push(sample_batch(first, batch_rows.min(args.rows - first))?);
    }
    let source = arrow_select::concat::concat_batches(&sample_schema(), &batches)?;

    let started = Instant::now();
    let mut writer = FileWriter::try_new(
        store.clone(),
        path.clone(),
        sample_schema(),
        WriterOptions::default(),
    )?;
    for batch in &batches {
        writer.write_batch(batch).await?;
    }
    writer.add_schema_metadata("lancelet.demo", "sample data");
    let buffer_index = writer
        .add_global_buffer(Bytes::from_static(b"demo global buffer"))
        .await?;
    let summary = writer.finish().await?;
    println!(
        "  wrote {} rows in {} batches: {} bytes ({:.1} bytes/row) in {:.2?}",
        summary.num_rows,
        batches.len(),
        summary.file_size,
        summary.file_size as f64 / summary.num_rows.max(1) as f64,
        started.elapsed()
    );

    store.reset();
    let reader = FileReader::open(store.clone(), &path).await?;
    let opened = store.stats();
    println!(
        "  opened format {} with {} read(s) of {} bytes: {} columns, {} rows",
        reader.version(),
        opened.read_requests,
        opened.read_bytes,
        reader.metadata().columns.len(),
        reader.num_rows()
    );

    let started = Instant::now();
    let all = reader.scan().into_stream()?.try_collect().await?;
    let elapsed = started.elapsed();
    check("full scan", &source, &all)?;
    println!("       ({:.2?})", elapsed);

    let projected = reader
        .scan()
        .with_projection(Projection::names(["id", "location.lat", "tags"]))
        .with_row_range(1000.min(args.rows) as u64..3000.min(args.rows) as u64)
        .into_stream()?;
    let projected_schema = projected.schema();
    let projected = projected.try_collect().await?;
    let expected = {
        let slice = source.slice(
            1000.min(args.rows),
            3000.min(args.rows) - 1000.min(args.rows),
        );
        let location = slice
            .column(9)
            .as_any()
            .downcast_ref::<arrow_array::StructArray>()
            .ok_or("location column")?;
        let lat_only = arrow_array::StructArray::try_new(
            Fields::from(vec![location_fields()[0].clone()]),
            vec![location.column(0).clone()],
            None,
        )?;
        RecordBatch::try_new(
            projected_schema,
            vec![
                slice.column(0).clone(),
                Arc::new(lat_only),
                slice.column(8).clone(),
            ],
        )?
    };
    check(
        "projection id, location.lat, tags of rows 1000..3000",
        &expected,
        &projected,
    )?;

    let mut random = Random(42);
    let indices: Vec<u64> = (0..100)
        .map(|_| random.below(args.rows.max(1) as u64))
        .filter(|_| args.rows > 0)
        .collect();
    store.reset();
    let taken = reader
        .take(indices.clone())
        .into_stream()?
        .try_collect()
        .await?;
    let take_stats = store.stats();
    let expected =
        arrow_select::take::take_record_batch(&source, &UInt64Array::from(indices.clone()))?;
    check("take of 100 random rows", &expected, &taken)?;
    println!(
        "       ({} read requests, {} bytes)",
        take_stats.read_requests, take_stats.read_bytes
    );

    let global = reader.read_global_buffer(buffer_index as usize).await?;
    if global.as_ref() != b"demo global buffer" {
        return Err("global buffer differs".into());
    }
    println!("  ok   global buffer {buffer_index} and schema metadata read back");
    println!("all checks passed; inspect the file with: lancelet inspect {uri}");
    Ok(())
}
