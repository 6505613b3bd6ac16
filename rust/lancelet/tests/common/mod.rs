//! Shared helpers of the integration tests: deterministic sample arrays of every type, and
//! writing/reading through an in-memory store.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use arrow_array::types::*;
use arrow_array::*;
use arrow_buffer::{NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow_schema::{DataType, Field, Fields, Schema, SchemaRef, TimeUnit};
use lancelet::io::CountingStore;
use lancelet::{FileReader, FileWriter, WriterOptions};
use object_store::memory::InMemory;
use object_store::path::Path;

/// SplitMix64: deterministic pseudo-random numbers for test data.
pub struct Random(pub u64);

impl Random {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    /// True with probability 1/n.
    pub fn one_in(&mut self, n: u64) -> bool {
        self.below(n) == 0
    }
}

fn validity(random: &mut Random, len: usize, null_one_in: u64) -> Option<NullBuffer> {
    if null_one_in == 0 {
        return None;
    }
    Some(NullBuffer::from(
        (0..len)
            .map(|_| !random.one_in(null_one_in))
            .collect::<Vec<_>>(),
    ))
}

fn primitive<T: ArrowPrimitiveType>(random: &mut Random, len: usize, nulls: u64) -> ArrayRef
where
    T::Native: From<u8>,
{
    let values: Vec<T::Native> = (0..len)
        .map(|_| T::Native::from(random.next() as u8))
        .collect();
    Arc::new(PrimitiveArray::<T>::new(
        ScalarBuffer::from(values),
        validity(random, len, nulls),
    ))
}

fn wide<T: ArrowPrimitiveType>(
    random: &mut Random,
    len: usize,
    nulls: u64,
    f: impl Fn(u64) -> T::Native,
) -> ArrayRef {
    let values: Vec<T::Native> = (0..len).map(|_| f(random.next())).collect();
    Arc::new(PrimitiveArray::<T>::new(
        ScalarBuffer::from(values),
        validity(random, len, nulls),
    ))
}

fn strings(random: &mut Random, len: usize, nulls: u64) -> Vec<Option<String>> {
    (0..len)
        .map(|i| {
            if nulls > 0 && random.one_in(nulls) {
                None
            } else {
                match random.below(6) {
                    0 => Some(String::new()),
                    1 => Some("héllo wörld ✓".to_string()),
                    n => Some(format!("value-{i}-{}", "z".repeat(n as usize * 3))),
                }
            }
        })
        .collect()
}

/// An array of `data_type` with `len` values, about one null in `nulls` (0: no nulls).
/// Structs are never null (format 2.0 cannot store null structs).
pub fn array_of(data_type: &DataType, len: usize, nulls: u64, random: &mut Random) -> ArrayRef {
    generate(data_type, len, nulls, random, false)
}

/// Like [`array_of`], with null structs too (formats 2.1 and later).
pub fn array_with_null_structs(
    data_type: &DataType,
    len: usize,
    nulls: u64,
    random: &mut Random,
) -> ArrayRef {
    generate(data_type, len, nulls, random, true)
}

fn generate(
    data_type: &DataType,
    len: usize,
    nulls: u64,
    random: &mut Random,
    struct_nulls: bool,
) -> ArrayRef {
    use DataType::*;
    match data_type {
        Null => Arc::new(NullArray::new(len)),
        Boolean => {
            let values: Vec<Option<bool>> = (0..len)
                .map(|_| (nulls == 0 || !random.one_in(nulls)).then(|| random.one_in(2)))
                .collect();
            Arc::new(BooleanArray::from(values))
        }
        Int8 => wide::<Int8Type>(random, len, nulls, |v| v as i8),
        Int16 => wide::<Int16Type>(random, len, nulls, |v| v as i16),
        Int32 => wide::<Int32Type>(random, len, nulls, |v| v as i32),
        Int64 => wide::<Int64Type>(random, len, nulls, |v| v as i64),
        UInt8 => primitive::<UInt8Type>(random, len, nulls),
        UInt16 => wide::<UInt16Type>(random, len, nulls, |v| v as u16),
        UInt32 => wide::<UInt32Type>(random, len, nulls, |v| v as u32),
        UInt64 => wide::<UInt64Type>(random, len, nulls, |v| v),
        Float16 => wide::<Float16Type>(random, len, nulls, |v| half::f16::from_bits(v as u16)),
        Float32 => wide::<Float32Type>(random, len, nulls, |v| f32::from_bits(v as u32)),
        Float64 => wide::<Float64Type>(random, len, nulls, f64::from_bits),
        Date32 => wide::<Date32Type>(random, len, nulls, |v| (v % 100_000) as i32),
        Date64 => wide::<Date64Type>(random, len, nulls, |v| (v % 1_000_000_000) as i64),
        Time32(TimeUnit::Second) => {
            wide::<Time32SecondType>(random, len, nulls, |v| (v % 86_400) as i32)
        }
        Time32(_) => wide::<Time32MillisecondType>(random, len, nulls, |v| (v % 86_400_000) as i32),
        Time64(TimeUnit::Microsecond) => {
            wide::<Time64MicrosecondType>(random, len, nulls, |v| (v % 86_400_000_000) as i64)
        }
        Time64(_) => {
            wide::<Time64NanosecondType>(random, len, nulls, |v| (v % 86_400_000_000_000) as i64)
        }
        Timestamp(unit, tz) => {
            let data = wide::<Int64Type>(random, len, nulls, |v| v as i64 >> 8).to_data();
            make_array(
                data.into_builder()
                    .data_type(Timestamp(*unit, tz.clone()))
                    .build()
                    .unwrap(),
            )
        }
        Duration(unit) => {
            let data = wide::<Int64Type>(random, len, nulls, |v| v as i64).to_data();
            make_array(
                data.into_builder()
                    .data_type(Duration(*unit))
                    .build()
                    .unwrap(),
            )
        }
        Decimal128(p, s) => {
            let array =
                wide::<Decimal128Type>(random, len, nulls, |v| (v as i64 % 1_000_000_000) as i128);
            Arc::new(
                array
                    .as_primitive::<Decimal128Type>()
                    .clone()
                    .with_precision_and_scale(*p, *s)
                    .unwrap(),
            )
        }
        Decimal256(p, s) => {
            let array = wide::<Decimal256Type>(random, len, nulls, |v| {
                arrow_buffer::i256::from_i128((v as i64) as i128 * 1000)
            });
            Arc::new(
                array
                    .as_primitive::<Decimal256Type>()
                    .clone()
                    .with_precision_and_scale(*p, *s)
                    .unwrap(),
            )
        }
        Utf8 => Arc::new(StringArray::from(strings(random, len, nulls))),
        LargeUtf8 => Arc::new(LargeStringArray::from(strings(random, len, nulls))),
        Binary => {
            let values = strings(random, len, nulls);
            Arc::new(BinaryArray::from_iter(
                values.iter().map(|v| v.as_deref().map(str::as_bytes)),
            ))
        }
        LargeBinary => {
            let values = strings(random, len, nulls);
            Arc::new(LargeBinaryArray::from_iter(
                values.iter().map(|v| v.as_deref().map(str::as_bytes)),
            ))
        }
        FixedSizeBinary(width) => {
            let values: Vec<Option<Vec<u8>>> = (0..len)
                .map(|_| {
                    (nulls == 0 || !random.one_in(nulls))
                        .then(|| (0..*width).map(|_| random.next() as u8).collect())
                })
                .collect();
            Arc::new(
                FixedSizeBinaryArray::try_from_sparse_iter_with_size(values.into_iter(), *width)
                    .unwrap(),
            )
        }
        FixedSizeList(item, size) => {
            let items = generate(
                item.data_type(),
                len * *size as usize,
                if item.is_nullable() { 7 } else { 0 },
                random,
                struct_nulls,
            );
            Arc::new(
                FixedSizeListArray::try_new(
                    item.clone(),
                    *size,
                    items,
                    validity(random, len, nulls),
                )
                .unwrap(),
            )
        }
        List(item) | LargeList(item) => {
            let mut offsets = vec![0usize];
            let list_nulls = validity(random, len, nulls);
            for i in 0..len {
                let n = if list_nulls.as_ref().is_some_and(|v| v.is_null(i)) {
                    0
                } else {
                    random.below(4) as usize
                };
                offsets.push(offsets[i] + n);
            }
            let items = generate(
                item.data_type(),
                offsets[len],
                if item.is_nullable() { 5 } else { 0 },
                random,
                struct_nulls,
            );
            if matches!(data_type, List(_)) {
                let offsets: Vec<i32> = offsets.iter().map(|&o| o as i32).collect();
                Arc::new(
                    ListArray::try_new(
                        item.clone(),
                        OffsetBuffer::new(offsets.into()),
                        items,
                        list_nulls,
                    )
                    .unwrap(),
                )
            } else {
                let offsets: Vec<i64> = offsets.iter().map(|&o| o as i64).collect();
                Arc::new(
                    LargeListArray::try_new(
                        item.clone(),
                        OffsetBuffer::new(offsets.into()),
                        items,
                        list_nulls,
                    )
                    .unwrap(),
                )
            }
        }
        Struct(fields) => {
            let children = fields
                .iter()
                .map(|f| {
                    generate(
                        f.data_type(),
                        len,
                        if f.is_nullable() { nulls.max(4) } else { 0 },
                        random,
                        struct_nulls,
                    )
                })
                .collect();
            let struct_validity = if struct_nulls {
                validity(random, len, nulls)
            } else {
                None
            };
            Arc::new(StructArray::try_new(fields.clone(), children, struct_validity).unwrap())
        }
        Dictionary(key, value) => {
            let values = generate(value, 5, 0, random, struct_nulls);
            let keys: Vec<Option<u64>> = (0..len)
                .map(|_| (nulls == 0 || !random.one_in(nulls)).then(|| random.below(5)))
                .collect();
            let keys = UInt64Array::from(keys);
            let keys = arrow_cast_keys(&keys, key);
            make_array(
                ArrayDataBuilder::new(data_type.clone())
                    .len(len)
                    .add_buffer(keys.to_data().buffers()[0].clone())
                    .nulls(keys.nulls().cloned())
                    .add_child_data(values.to_data())
                    .build()
                    .unwrap(),
            )
        }
        Map(entries, sorted) => {
            let DataType::Struct(kv) = entries.data_type() else {
                panic!("map entries are not a struct")
            };
            let list_nulls = validity(random, len, nulls);
            let mut offsets = vec![0i32];
            for i in 0..len {
                let n = if list_nulls.as_ref().is_some_and(|v| v.is_null(i)) {
                    0
                } else {
                    random.below(4) as i32
                };
                offsets.push(offsets[i] + n);
            }
            let count = offsets[len] as usize;
            let keys = generate(kv[0].data_type(), count, 0, random, struct_nulls);
            let values = generate(
                kv[1].data_type(),
                count,
                if kv[1].is_nullable() { 4 } else { 0 },
                random,
                struct_nulls,
            );
            let entries_array = StructArray::try_new(kv.clone(), vec![keys, values], None).unwrap();
            Arc::new(
                MapArray::try_new(
                    entries.clone(),
                    OffsetBuffer::new(offsets.into()),
                    entries_array,
                    list_nulls,
                    *sorted,
                )
                .unwrap(),
            )
        }
        other => panic!("no generator for {other}"),
    }
}

use arrow_array::cast::AsArray;
use arrow_data::ArrayDataBuilder;

fn arrow_cast_keys(keys: &UInt64Array, key: &DataType) -> ArrayRef {
    match key {
        DataType::Int8 => Arc::new(keys.unary::<_, Int8Type>(|k| k as i8)),
        DataType::Int16 => Arc::new(keys.unary::<_, Int16Type>(|k| k as i16)),
        DataType::Int32 => Arc::new(keys.unary::<_, Int32Type>(|k| k as i32)),
        DataType::Int64 => Arc::new(keys.unary::<_, Int64Type>(|k| k as i64)),
        DataType::UInt8 => Arc::new(keys.unary::<_, UInt8Type>(|k| k as u8)),
        DataType::UInt16 => Arc::new(keys.unary::<_, UInt16Type>(|k| k as u16)),
        DataType::UInt32 => Arc::new(keys.unary::<_, UInt32Type>(|k| k as u32)),
        _ => Arc::new(keys.clone()),
    }
}

fn item(data_type: DataType) -> Arc<Field> {
    Arc::new(Field::new("item", data_type, true))
}

/// One field of every type format 2.0 stores.
pub fn all_v2_0_fields() -> Vec<Field> {
    use DataType::*;
    let utc = Some("UTC".into());
    vec![
        Field::new("null", Null, true),
        Field::new("bool", Boolean, true),
        Field::new("i8", Int8, true),
        Field::new("i16", Int16, true),
        Field::new("i32", Int32, false),
        Field::new("i64", Int64, true),
        Field::new("u8", UInt8, true),
        Field::new("u16", UInt16, true),
        Field::new("u32", UInt32, true),
        Field::new("u64", UInt64, true),
        Field::new("f16", Float16, true),
        Field::new("f32", Float32, true),
        Field::new("f64", Float64, true),
        Field::new("date32", Date32, true),
        Field::new("date64", Date64, true),
        Field::new("time32s", Time32(TimeUnit::Second), true),
        Field::new("time32ms", Time32(TimeUnit::Millisecond), true),
        Field::new("time64us", Time64(TimeUnit::Microsecond), true),
        Field::new("time64ns", Time64(TimeUnit::Nanosecond), true),
        Field::new("ts_s", Timestamp(TimeUnit::Second, None), true),
        Field::new(
            "ts_ms_utc",
            Timestamp(TimeUnit::Millisecond, utc.clone()),
            true,
        ),
        Field::new(
            "ts_us_ny",
            Timestamp(TimeUnit::Microsecond, Some("America/New_York".into())),
            true,
        ),
        Field::new(
            "ts_ns",
            Timestamp(TimeUnit::Nanosecond, Some("+05:30".into())),
            true,
        ),
        Field::new("dur_s", Duration(TimeUnit::Second), true),
        Field::new("dur_ns", Duration(TimeUnit::Nanosecond), true),
        Field::new("dec128", Decimal128(18, 3), true),
        Field::new("dec256", Decimal256(50, -2), true),
        Field::new("utf8", Utf8, true),
        Field::new("large_utf8", LargeUtf8, true),
        Field::new("binary", Binary, true),
        Field::new("large_binary", LargeBinary, true),
        Field::new("fsb", FixedSizeBinary(5), true),
        Field::new("fsl", FixedSizeList(item(Float32), 4), true),
        Field::new("fsl_bool", FixedSizeList(item(Boolean), 3), true),
        Field::new("list", List(item(Int32)), true),
        Field::new("large_list", LargeList(item(Utf8)), true),
        Field::new("list_list", List(item(List(item(Int16)))), true),
        Field::new(
            "list_fsl",
            List(item(FixedSizeList(item(Float64), 2))),
            true,
        ),
        Field::new(
            "struct",
            Struct(Fields::from(vec![
                Field::new("a", Int32, true),
                Field::new("b", Utf8, false),
                Field::new("fsl", FixedSizeList(item(Int8), 2), true),
                Field::new(
                    "inner",
                    Struct(Fields::from(vec![Field::new("c", Boolean, true)])),
                    false,
                ),
            ])),
            false,
        ),
        Field::new(
            "list_struct",
            List(Arc::new(Field::new(
                "item",
                Struct(Fields::from(vec![Field::new("x", Int64, true)])),
                false,
            ))),
            true,
        ),
        Field::new("dict8", Dictionary(Box::new(Int8), Box::new(Utf8)), true),
        Field::new("dict32", Dictionary(Box::new(Int32), Box::new(Utf8)), true),
        Field::new(
            "dict_u16_int",
            Dictionary(Box::new(UInt16), Box::new(Int64)),
            true,
        ),
    ]
}

/// A batch with one column per field, deterministic for `seed`.
pub fn batch_of(schema: &SchemaRef, len: usize, seed: u64) -> RecordBatch {
    let mut random = Random(seed);
    let columns = schema
        .fields()
        .iter()
        .map(|f| {
            array_of(
                f.data_type(),
                len,
                if f.is_nullable() { 6 } else { 0 },
                &mut random,
            )
        })
        .collect();
    RecordBatch::try_new(schema.clone(), columns).unwrap()
}

/// A schema from fields.
pub fn schema_of(fields: Vec<Field>) -> SchemaRef {
    Arc::new(Schema::new(fields))
}

/// Writes batches to `path` in a fresh in-memory store and returns the store.
pub async fn write(
    schema: &SchemaRef,
    batches: &[RecordBatch],
    options: WriterOptions,
) -> Arc<CountingStore> {
    let store = Arc::new(CountingStore::new(Arc::new(InMemory::new())));
    let mut writer = FileWriter::try_new(
        store.clone(),
        Path::from("test.lance"),
        schema.clone(),
        options,
    )
    .unwrap();
    for batch in batches {
        writer.write_batch(batch).await.unwrap();
    }
    writer.finish().await.unwrap();
    store
}

/// The bytes of the file written by [`write`].
pub async fn written_bytes(store: &Arc<CountingStore>) -> bytes::Bytes {
    use object_store::ObjectStoreExt;
    let object = store.get(&Path::from("test.lance")).await.unwrap();
    object.bytes().await.unwrap()
}

/// Opens the file written by [`write`].
pub async fn open(store: &Arc<CountingStore>) -> FileReader {
    FileReader::open(store.clone(), &Path::from("test.lance"))
        .await
        .unwrap()
}

/// Runs `scan` to the end and joins its batches into one.
pub async fn read_scan(scan: lancelet::Scan) -> RecordBatch {
    let schema = scan.schema().unwrap();
    let batches = scan.into_stream().unwrap().try_collect().await.unwrap();
    concat(&schema, &batches)
}

/// Concatenates batches (or an empty batch of `schema`).
pub fn concat(schema: &SchemaRef, batches: &[RecordBatch]) -> RecordBatch {
    arrow_select::concat::concat_batches(schema, batches).unwrap()
}

/// Asserts that two batches hold the same values, column by column (names and types too).
pub fn assert_same(expected: &RecordBatch, actual: &RecordBatch) {
    assert_eq!(expected.num_rows(), actual.num_rows(), "row count");
    assert_eq!(expected.num_columns(), actual.num_columns(), "column count");
    for (index, field) in expected.schema().fields().iter().enumerate() {
        let actual_field = actual.schema().field(index).clone();
        assert_eq!(field.name(), actual_field.name());
        assert_eq!(
            field.data_type(),
            actual_field.data_type(),
            "type of {}",
            field.name()
        );
        let (e, a) = (expected.column(index), actual.column(index));
        assert!(
            e.to_data() == a.to_data(),
            "column {} differs:\nexpected {e:?}\nactual   {a:?}",
            field.name()
        );
    }
}

/// 24 000 TPC-H-like rows whose columns a 2.2 writer gives the compressed encodings that
/// small samples are too small for: run-length keys under zstd, zstd-compressed decimals,
/// dictionaries of decimals, flags and words, zstd-compressed dictionary indices (line
/// numbers), bit-packed dates, and FSST-coded text under zstd.
pub fn compressed_batch() -> (SchemaRef, RecordBatch) {
    let rows = 24_000usize;
    let mut random = Random(77);
    let words = [
        "carefully",
        "final",
        "deposits",
        "sleep",
        "quickly",
        "ironic",
        "packages",
        "among",
        "the",
        "furiously",
        "express",
        "requests",
        "boost",
        "slyly",
        "regular",
        "accounts",
    ];
    let comments: Vec<String> = (0..rows)
        .map(|_| sentence(&mut random, &words, 2, 6))
        .collect();
    let modes = ["AIR", "MAIL", "RAIL", "SHIP", "TRUCK", "REG AIR", "FOB"];
    let schema = schema_of(vec![
        Field::new("key", DataType::Int64, false),
        Field::new("line", DataType::Int32, false),
        Field::new("price", DataType::Decimal128(15, 2), false),
        Field::new("qty", DataType::Decimal128(15, 2), false),
        Field::new("day", DataType::Date32, false),
        Field::new("flag", DataType::Utf8, false),
        Field::new("mode", DataType::Utf8, false),
        Field::new("comment", DataType::Utf8, false),
    ]);
    let columns: Vec<arrow_array::ArrayRef> = vec![
        Arc::new(Int64Array::from_iter_values(
            (0..rows as i64).map(|i| i / 4),
        )),
        Arc::new(Int32Array::from_iter_values(
            (0..rows as i32).map(|i| 1 + i % 4),
        )),
        Arc::new(
            Decimal128Array::from_iter_values((0..rows).map(|_| random.below(10_000_000) as i128))
                .with_precision_and_scale(15, 2)
                .unwrap(),
        ),
        Arc::new(
            Decimal128Array::from_iter_values(
                (0..rows).map(|_| 100 * (1 + random.below(50)) as i128),
            )
            .with_precision_and_scale(15, 2)
            .unwrap(),
        ),
        Arc::new(Date32Array::from_iter_values(
            (0..rows).map(|_| 8000 + random.below(2500) as i32),
        )),
        Arc::new(StringArray::from_iter_values(
            (0..rows).map(|_| ["A", "N", "R"][random.below(3) as usize]),
        )),
        Arc::new(StringArray::from_iter_values(
            (0..rows).map(|_| modes[random.below(modes.len() as u64) as usize]),
        )),
        Arc::new(StringArray::from_iter_values(&comments)),
    ];
    let batch = RecordBatch::try_new(schema.clone(), columns).unwrap();
    (schema, batch)
}

/// `fewest` to `fewest + spread - 1` of `words`, picked by `random`, joined by spaces.
pub fn sentence(random: &mut Random, words: &[&str], fewest: usize, spread: u64) -> String {
    let count = fewest + random.below(spread) as usize;
    (0..count)
        .map(|_| words[random.below(words.len() as u64) as usize])
        .collect::<Vec<_>>()
        .join(" ")
}
