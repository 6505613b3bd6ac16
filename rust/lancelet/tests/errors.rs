//! Bad files give distinct typed errors; misuse of the API gives `InvalidArgument`; failed or
//! abandoned writes leave nothing behind.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use arrow_array::cast::AsArray;
use arrow_array::{ArrayRef, Int32Array, RecordBatch, StringArray, StructArray};
use arrow_buffer::NullBuffer;
use arrow_schema::{DataType, Field, Fields, Schema};
use async_trait::async_trait;
use bytes::Bytes;
use common::*;
use futures::stream::BoxStream;
use lancelet::io::{BytesReader, UploadOptions};
use lancelet::{Error, FileReader, FileVersion, FileWriter, Projection, WriterOptions};
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMultipartOptions, PutOptions, PutPayload, PutResult, UploadPart,
};

async fn valid_file() -> Bytes {
    let schema = schema_of(vec![
        Field::new("a", DataType::Int32, true),
        Field::new("s", DataType::Utf8, true),
    ]);
    // Format 2.0, so that relabelling its footer as 2.0 (instead of 0.3) stays readable.
    let store = write(
        &schema,
        &[batch_of(&schema, 100, 1)],
        WriterOptions::default().with_version(FileVersion::V2_0),
    )
    .await;
    written_bytes(&store).await
}

async fn open_bytes(bytes: Vec<u8>) -> lancelet::Result<FileReader> {
    FileReader::open_reader(Arc::new(BytesReader::new(Bytes::from(bytes)))).await
}

fn with_footer_version(file: &Bytes, major: u16, minor: u16) -> Vec<u8> {
    let mut bytes = file.to_vec();
    let at = bytes.len() - 8;
    bytes[at..at + 2].copy_from_slice(&major.to_le_bytes());
    bytes[at + 2..at + 4].copy_from_slice(&minor.to_le_bytes());
    bytes
}

#[tokio::test]
async fn bad_files_give_distinct_typed_errors() {
    let file = valid_file().await;
    assert!(open_bytes(file.to_vec()).await.is_ok());

    // Shorter than a footer.
    let error = open_bytes(file[..30].to_vec()).await.unwrap_err();
    assert!(matches!(error, Error::Truncated { .. }), "{error}");
    assert!(matches!(
        open_bytes(Vec::new()).await.unwrap_err(),
        Error::Truncated { .. }
    ));

    // Cut anywhere else: the footer is gone, so the magic is wrong.
    let error = open_bytes(file[..file.len() - 100].to_vec())
        .await
        .unwrap_err();
    assert!(matches!(error, Error::BadMagic { .. }), "{error}");

    let mut wrong_magic = file.to_vec();
    let len = wrong_magic.len();
    wrong_magic[len - 4..].copy_from_slice(b"PAR1");
    let error = open_bytes(wrong_magic).await.unwrap_err();
    assert!(matches!(error, Error::BadMagic { .. }), "{error}");
    assert!(
        error.to_string().contains("50 41 52 31"),
        "names the bytes found: {error}"
    );

    let error = open_bytes(with_footer_version(&file, 3, 7))
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            Error::UnsupportedVersion {
                major: 3,
                minor: 7,
                ..
            }
        ),
        "{error}"
    );
    assert!(error.to_string().contains("3.7"));

    let error = open_bytes(with_footer_version(&file, 0, 2))
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            Error::LegacyFormat {
                major: 0,
                minor: 2,
                ..
            }
        ),
        "{error}"
    );

    // Format 2.0 may also be marked 2.0 instead of 0.3.
    let reader = open_bytes(with_footer_version(&file, 2, 0)).await.unwrap();
    assert_eq!(reader.version(), FileVersion::V2_0);
}

#[tokio::test]
async fn offsets_outside_the_file_are_corrupt() {
    let file = valid_file().await;
    let len = file.len();
    // Column metadata offset table entry 0: position far past the end.
    let cmo_start = u64::from_le_bytes(file[len - 32..len - 24].try_into().unwrap()) as usize;
    let mut bytes = file.to_vec();
    bytes[cmo_start..cmo_start + 8].copy_from_slice(&(1u64 << 40).to_le_bytes());
    let error = open_bytes(bytes).await.unwrap_err();
    assert!(matches!(error, Error::Corrupt { .. }), "{error}");

    // A huge number of columns.
    let mut bytes = file.to_vec();
    bytes[len - 12..len - 8].copy_from_slice(&u32::MAX.to_le_bytes());
    let error = open_bytes(bytes).await.unwrap_err();
    assert!(matches!(error, Error::Corrupt { .. }), "{error}");
}

/// Text whose stored bytes are not UTF-8 is corrupt, whether scanned or taken; a take checks
/// the values it returns, so another row of the same chunk still reads.
#[tokio::test]
async fn text_that_is_not_utf8_is_corrupt() {
    let field = Field::new("s", DataType::Utf8, false)
        .with_metadata([("lance-encoding:compression".to_string(), "none".to_string())].into());
    let schema = schema_of(vec![field]);
    let text: ArrayRef = Arc::new(StringArray::from_iter_values(
        (0..3000).map(|i| format!("row {i:05} caf\u{e9}")),
    ));
    let batch = RecordBatch::try_new(schema.clone(), vec![text]).unwrap();
    let store = write(&schema, &[batch], WriterOptions::default()).await;
    let file = written_bytes(&store).await;
    let needle = "row 01234 caf\u{e9}".as_bytes();
    let at = file
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("plain text is stored as is");
    let mut bytes = file.to_vec();
    bytes[at + needle.len() - 2] = 0xFF; // the first of the two bytes of \u{e9}
    let reader = open_bytes(bytes).await.unwrap();

    let scanned: lancelet::Result<Vec<RecordBatch>> =
        reader.scan().into_stream().unwrap().try_collect().await;
    let error = scanned.unwrap_err();
    assert!(matches!(error, Error::Corrupt { .. }), "{error}");
    let taken: lancelet::Result<Vec<RecordBatch>> = reader
        .take(vec![1234])
        .into_stream()
        .unwrap()
        .try_collect()
        .await;
    let error = taken.unwrap_err();
    assert!(matches!(error, Error::Corrupt { .. }), "{error}");

    let taken: Vec<RecordBatch> = reader
        .take(vec![1233, 1235])
        .into_stream()
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    let values = taken[0].column(0).as_string::<i32>();
    assert_eq!(values.value(0), "row 01233 caf\u{e9}");
    assert_eq!(values.value(1), "row 01235 caf\u{e9}");
}

#[tokio::test]
async fn reading_misuse_is_invalid_argument() {
    let schema = schema_of(vec![Field::new("a", DataType::Int32, true)]);
    let store = write(
        &schema,
        &[batch_of(&schema, 10, 1)],
        WriterOptions::default(),
    )
    .await;
    let reader = open(&store).await;
    let invalid = |result: lancelet::Result<lancelet::reader::BatchStream>| {
        assert!(
            matches!(result, Err(Error::InvalidArgument { .. })),
            "{result:?}"
        );
    };
    invalid(reader.take(vec![10]).into_stream());
    invalid(reader.read_range(5..11).into_stream());
    invalid(reader.scan().with_columns(["nope"]).into_stream());
    invalid(
        reader
            .scan()
            .with_projection(Projection::Names(vec![]))
            .into_stream(),
    );
    invalid(reader.scan().with_columns(["a", "a"]).into_stream());
    invalid(reader.scan().with_batch_size(0).into_stream());
    assert!(matches!(
        reader.read_global_buffer(7).await,
        Err(Error::InvalidArgument { .. })
    ));
    // The reader is still fine afterwards.
    let batches = reader
        .take(vec![9, 0])
        .into_stream()
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(batches[0].num_rows(), 2);
}

#[tokio::test]
async fn writing_misuse_is_invalid_argument_and_the_writer_stays_usable() {
    let schema = Arc::new(Schema::new(vec![Field::new("a", DataType::Int32, false)]));
    let store = Arc::new(InMemory::new());
    let path = Path::from("w.lance");
    let mut writer = FileWriter::try_new(
        store.clone(),
        path.clone(),
        schema.clone(),
        WriterOptions::default(),
    )
    .unwrap();

    let other = Arc::new(Schema::new(vec![Field::new("b", DataType::Int64, true)]));
    let wrong = RecordBatch::try_new(
        other,
        vec![Arc::new(arrow_array::Int64Array::from(vec![1]))],
    )
    .unwrap();
    assert!(matches!(
        writer.write_batch(&wrong).await,
        Err(Error::InvalidArgument { .. })
    ));

    let nullable = Arc::new(Schema::new(vec![Field::new("a", DataType::Int32, true)]));
    let with_nulls = RecordBatch::try_new(
        nullable,
        vec![Arc::new(Int32Array::from(vec![Some(1), None]))],
    )
    .unwrap();
    let error = writer.write_batch(&with_nulls).await.unwrap_err();
    assert!(matches!(error, Error::InvalidArgument { .. }), "{error}");
    assert!(error.to_string().contains("non-nullable"), "{error}");

    let good = RecordBatch::try_new(
        schema.clone(),
        vec![Arc::new(Int32Array::from(vec![1, 2, 3]))],
    )
    .unwrap();
    writer.write_batch(&good).await.unwrap();
    assert_eq!(writer.finish().await.unwrap().num_rows, 3);
    assert!(matches!(
        writer.write_batch(&good).await,
        Err(Error::InvalidArgument { .. })
    ));
    assert!(matches!(
        writer.finish().await,
        Err(Error::InvalidArgument { .. })
    ));
    assert!(matches!(
        writer.add_global_buffer(Bytes::new()).await,
        Err(Error::InvalidArgument { .. })
    ));
    let reader = FileReader::open(store.clone(), &path).await.unwrap();
    assert_eq!(reader.num_rows(), 3);

    // No schema and no batch: nothing to write.
    let mut empty = FileWriter::new_without_schema(
        store.clone(),
        Path::from("e.lance"),
        WriterOptions::default(),
    )
    .unwrap();
    assert!(matches!(
        empty.finish().await,
        Err(Error::InvalidArgument { .. })
    ));
}

#[tokio::test]
async fn types_a_version_cannot_hold_are_rejected() {
    let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let with = |version| WriterOptions::default().with_version(version);
    let fields = Fields::from(vec![Field::new("x", DataType::Int32, true)]);
    let schema = Arc::new(Schema::new(vec![Field::new(
        "st",
        DataType::Struct(fields.clone()),
        true,
    )]));
    let structs = StructArray::try_new(
        fields,
        vec![Arc::new(Int32Array::from(vec![1, 2])) as ArrayRef],
        Some(NullBuffer::from(vec![true, false])),
    )
    .unwrap();
    let batch = RecordBatch::try_new(schema.clone(), vec![Arc::new(structs)]).unwrap();
    // Null structs: not in 2.0 (the error names a version that can), fine in 2.1.
    let mut writer = FileWriter::try_new(
        store.clone(),
        Path::from("s.lance"),
        schema.clone(),
        with(FileVersion::V2_0),
    )
    .unwrap();
    let error = writer.write_batch(&batch).await.unwrap_err();
    assert!(
        error.to_string().contains("2.1"),
        "suggests a version that can: {error}"
    );
    let mut writer = FileWriter::try_new(
        store.clone(),
        Path::from("s21.lance"),
        schema,
        with(FileVersion::V2_1),
    )
    .unwrap();
    writer.write_batch(&batch).await.unwrap();
    writer.finish().await.unwrap();

    // Maps: only 2.2.
    let map = Arc::new(Schema::new(vec![Field::new_map(
        "m",
        "entries",
        Field::new("key", DataType::Utf8, false),
        Field::new("value", DataType::Int32, true),
        false,
        true,
    )]));
    for version in [FileVersion::V2_0, FileVersion::V2_1] {
        let error = FileWriter::try_new(
            store.clone(),
            Path::from("m.lance"),
            map.clone(),
            with(version),
        )
        .unwrap_err();
        assert!(matches!(error, Error::InvalidArgument { .. }), "{error}");
        assert!(error.to_string().contains("2.2"), "{error}");
    }
    assert!(
        FileWriter::try_new(
            store.clone(),
            Path::from("m.lance"),
            map,
            with(FileVersion::V2_2)
        )
        .is_ok()
    );

    let null_not_nullable = Arc::new(Schema::new(vec![Field::new("n", DataType::Null, false)]));
    assert!(
        FileWriter::try_new(
            store.clone(),
            Path::from("n.lance"),
            null_not_nullable,
            WriterOptions::default()
        )
        .is_err()
    );

    // The default is the stable version, 2.2.
    assert_eq!(WriterOptions::default().version(), FileVersion::V2_2);
}

/// Wraps a store and fails multipart part number `fail_part` (0-based), and if set, every
/// single put and the completion of every multipart upload.
#[derive(Debug)]
struct FailingStore {
    inner: Arc<dyn ObjectStore>,
    fail_part: usize,
    fail_puts: bool,
    fail_complete: bool,
}

impl std::fmt::Display for FailingStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FailingStore({})", self.inner)
    }
}

fn injected() -> object_store::Error {
    object_store::Error::Generic {
        store: "FailingStore",
        source: "injected failure".into(),
    }
}

#[async_trait]
impl ObjectStore for FailingStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        if self.fail_puts {
            return Err(injected());
        }
        self.inner.put_opts(location, payload, opts).await
    }
    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        let inner = self.inner.put_multipart_opts(location, opts).await?;
        Ok(Box::new(FailingUpload {
            inner,
            parts: AtomicUsize::new(0),
            fail_part: self.fail_part,
            fail_complete: self.fail_complete,
        }))
    }
    async fn get_opts(
        &self,
        location: &Path,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        self.inner.get_opts(location, options).await
    }
    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<Path>>,
    ) -> BoxStream<'static, object_store::Result<Path>> {
        self.inner.delete_stream(locations)
    }
    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.inner.list(prefix)
    }
    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }
    async fn copy_opts(
        &self,
        from: &Path,
        to: &Path,
        options: CopyOptions,
    ) -> object_store::Result<()> {
        self.inner.copy_opts(from, to, options).await
    }
}

#[derive(Debug)]
struct FailingUpload {
    inner: Box<dyn MultipartUpload>,
    parts: AtomicUsize,
    fail_part: usize,
    fail_complete: bool,
}

#[async_trait]
impl MultipartUpload for FailingUpload {
    fn put_part(&mut self, data: PutPayload) -> UploadPart {
        if self.parts.fetch_add(1, Ordering::SeqCst) == self.fail_part {
            return Box::pin(async { Err(injected()) });
        }
        self.inner.put_part(data)
    }
    async fn complete(&mut self) -> object_store::Result<PutResult> {
        if self.fail_complete {
            return Err(injected());
        }
        self.inner.complete().await
    }
    async fn abort(&mut self) -> object_store::Result<()> {
        self.inner.abort().await
    }
}

fn files_in(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

/// 12 MiB of int32 rows in batches of 1 MiB.
fn big_batches() -> (Arc<Schema>, Vec<RecordBatch>) {
    let schema = Arc::new(Schema::new(vec![Field::new("a", DataType::Int32, false)]));
    let batches = (0..12)
        .map(|i| {
            RecordBatch::try_new(
                schema.clone(),
                vec![Arc::new(Int32Array::from_iter_values(
                    i * 262_144..(i + 1) * 262_144,
                ))],
            )
            .unwrap()
        })
        .collect();
    (schema, batches)
}

/// Format 2.0 keeps the 12 MiB of integers uncompressed, so the upload needs three parts.
fn small_parts() -> WriterOptions {
    WriterOptions::default()
        .with_version(FileVersion::V2_0)
        .with_data_cache_bytes(1 << 20)
        .unwrap()
        .with_upload(UploadOptions::default().with_part_bytes(5 << 20).unwrap())
}

#[tokio::test]
async fn a_failed_upload_leaves_no_file_and_no_staging_files() {
    for fail_part in [0, 1, 2] {
        let dir = tempfile::tempdir().unwrap();
        let local: Arc<dyn ObjectStore> =
            Arc::new(LocalFileSystem::new_with_prefix(dir.path()).unwrap());
        let store = Arc::new(FailingStore {
            inner: local,
            fail_part,
            fail_puts: false,
            fail_complete: false,
        });
        let (schema, batches) = big_batches();
        let mut writer =
            FileWriter::try_new(store, Path::from("f.lance"), schema, small_parts()).unwrap();
        let mut error = None;
        for batch in &batches {
            if let Err(e) = writer.write_batch(batch).await {
                error = Some(e);
                break;
            }
        }
        let error = match error {
            Some(e) => e,
            None => writer.finish().await.unwrap_err(),
        };
        assert!(
            matches!(error, Error::Io { .. }),
            "part {fail_part}: {error}"
        );
        assert!(error.to_string().contains("injected"), "{error}");
        assert!(
            files_in(dir.path()).is_empty(),
            "part {fail_part}: left {:?}",
            files_in(dir.path())
        );
        // The writer refuses further use.
        assert!(matches!(
            writer.write_batch(&batches[0]).await,
            Err(Error::InvalidArgument { .. })
        ));
    }
}

#[tokio::test]
async fn a_failed_single_put_leaves_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let local: Arc<dyn ObjectStore> =
        Arc::new(LocalFileSystem::new_with_prefix(dir.path()).unwrap());
    let store = Arc::new(FailingStore {
        inner: local,
        fail_part: usize::MAX,
        fail_puts: true,
        fail_complete: false,
    });
    let schema = schema_of(vec![Field::new("a", DataType::Int32, true)]);
    let mut writer = FileWriter::try_new(
        store,
        Path::from("f.lance"),
        schema.clone(),
        WriterOptions::default(),
    )
    .unwrap();
    writer.write_batch(&batch_of(&schema, 10, 1)).await.unwrap();
    assert!(matches!(writer.finish().await, Err(Error::Io { .. })));
    assert!(files_in(dir.path()).is_empty());
}

#[tokio::test]
async fn a_failed_upload_completion_leaves_no_file_and_no_staging_files() {
    let dir = tempfile::tempdir().unwrap();
    let local: Arc<dyn ObjectStore> =
        Arc::new(LocalFileSystem::new_with_prefix(dir.path()).unwrap());
    let store = Arc::new(FailingStore {
        inner: local,
        fail_part: usize::MAX,
        fail_puts: false,
        fail_complete: true,
    });
    let (schema, batches) = big_batches();
    let mut writer =
        FileWriter::try_new(store, Path::from("f.lance"), schema, small_parts()).unwrap();
    for batch in &batches {
        writer.write_batch(batch).await.unwrap();
    }
    let error = writer.finish().await.unwrap_err();
    assert!(
        matches!(error, Error::Io { .. }) && error.to_string().contains("injected"),
        "{error}"
    );
    assert!(
        files_in(dir.path()).is_empty(),
        "left {:?}",
        files_in(dir.path())
    );
}

#[tokio::test]
async fn a_writer_dropped_unfinished_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn ObjectStore> =
        Arc::new(LocalFileSystem::new_with_prefix(dir.path()).unwrap());
    let (schema, batches) = big_batches();
    {
        let mut writer =
            FileWriter::try_new(store.clone(), Path::from("d.lance"), schema, small_parts())
                .unwrap();
        // Batches until a part has been uploaded (how many pages may still be encoding when
        // `write_batch` returns depends on the cores): a staging file exists until the writer
        // goes away.
        for batch in batches.iter().cycle().take(200) {
            writer.write_batch(batch).await.unwrap();
            if !files_in(dir.path()).is_empty() {
                break;
            }
        }
        assert!(!files_in(dir.path()).is_empty());
    }
    // The abort runs in the background; give it a moment.
    for _ in 0..100 {
        if files_in(dir.path()).is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(
        files_in(dir.path()).is_empty(),
        "left {:?}",
        files_in(dir.path())
    );
}

#[tokio::test]
async fn abort_removes_uploaded_parts() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn ObjectStore> =
        Arc::new(LocalFileSystem::new_with_prefix(dir.path()).unwrap());
    let (schema, batches) = big_batches();
    let mut writer =
        FileWriter::try_new(store, Path::from("a.lance"), schema, small_parts()).unwrap();
    for batch in &batches {
        writer.write_batch(batch).await.unwrap();
    }
    writer.abort().await;
    assert!(files_in(dir.path()).is_empty());
    assert!(matches!(
        writer.finish().await,
        Err(Error::InvalidArgument { .. })
    ));
}
