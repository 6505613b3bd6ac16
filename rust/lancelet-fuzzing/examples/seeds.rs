//! Writes seed inputs for the fuzz targets into `fuzz/corpus/<target>/`, from the
//! pylance-made fixtures and from small files written here:
//!
//!     cargo run -p lancelet-fuzzing --example seeds

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::types::Int32Type;
use arrow_array::{ArrayRef, Int32Array, ListArray, RecordBatch, StringArray};
use arrow_schema::{Field, Schema};
use lancelet::format::FileVersion;
use lancelet::{FileWriter, WriterOptions};
use object_store::ObjectStoreExt;
use object_store::memory::InMemory;
use object_store::path::Path as StorePath;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

async fn small_file(version: FileVersion) -> Vec<u8> {
    let ids: ArrayRef = Arc::new(Int32Array::from(vec![Some(1), None, Some(3), Some(4)]));
    let names: ArrayRef = Arc::new(StringArray::from(vec![
        Some("a"),
        Some(""),
        None,
        Some("dd"),
    ]));
    let lists: ArrayRef = Arc::new(ListArray::from_iter_primitive::<Int32Type, _, _>(vec![
        Some(vec![Some(1), None]),
        None,
        Some(vec![]),
        Some(vec![Some(7)]),
    ]));
    let batch = RecordBatch::try_from_iter([("id", ids), ("name", names), ("list", lists)])
        .unwrap_or_else(|e| panic!("{e}"));
    let store = Arc::new(InMemory::new());
    let path = StorePath::from("seed.lance");
    let schema = Arc::new(Schema::new(
        batch
            .schema()
            .fields()
            .iter()
            .map(|f| Field::clone(f))
            .collect::<Vec<_>>(),
    ));
    let mut writer = FileWriter::try_new(
        store.clone(),
        path.clone(),
        schema,
        WriterOptions::default().with_version(version),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    writer
        .write_batch(&batch)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    writer.finish().await.unwrap_or_else(|e| panic!("{e}"));
    store
        .get(&path)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .bytes()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .to_vec()
}

fn save(target: &str, name: &str, bytes: &[u8]) {
    let dir = root().join("fuzz/corpus").join(target);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.join(name), bytes).unwrap_or_else(|e| panic!("{e}"));
}

#[tokio::main]
async fn main() {
    for version in [FileVersion::V2_0, FileVersion::V2_1, FileVersion::V2_2] {
        let tag = version.to_string().replace('.', "_");
        let small = small_file(version).await;
        save("read_file", &format!("small_{tag}"), &small);
        save("decode_metadata", &format!("small_{tag}"), &small);
        let fixture =
            std::fs::read(root().join(format!("rust/lancelet/tests/data/pylance_{tag}.lance")))
                .unwrap_or_else(|e| panic!("{e}"));
        for (index, input) in lancelet_fuzzing::page_inputs(&small)
            .into_iter()
            .chain(lancelet_fuzzing::page_inputs(&fixture))
            .enumerate()
        {
            save("decode_page", &format!("page_{tag}_{index:03}"), &input);
        }
    }
}
