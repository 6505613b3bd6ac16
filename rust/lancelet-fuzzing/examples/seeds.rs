//! Writes seed inputs for the fuzz targets into `fuzz/corpus/<target>/`, from the
//! pylance-made fixtures and from small files written here:
//!
//!     cargo run -p lancelet-fuzzing --example seeds

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::types::Int32Type;
use arrow_array::{ArrayRef, Int32Array, ListArray, RecordBatch, StringArray};
use arrow_schema::{Field, Schema};
use bytes::Bytes;
use lancelet::format::metadata::decode_in_memory;
use lancelet::format::{FileVersion, PageEncoding};
use lancelet::{FileWriter, WriterOptions};
use object_store::ObjectStoreExt;
use object_store::memory::InMemory;
use object_store::path::Path as StorePath;
use prost::Message;

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

/// Every page of `file` whose column type the page fuzzer knows, in `decode_page`'s input
/// format (see `lancelet_fuzzing::decode_page`).
fn page_inputs(file: &[u8]) -> Vec<Vec<u8>> {
    let metadata =
        decode_in_memory(&Bytes::copy_from_slice(file)).unwrap_or_else(|e| panic!("{e}"));
    let types = lancelet_fuzzing::leaf_types();
    let mut leaves = Vec::new();
    collect_leaves(
        &metadata
            .schema
            .fields()
            .iter()
            .map(|f| f.as_ref().clone())
            .collect::<Vec<_>>(),
        metadata.version,
        &mut leaves,
    );
    let mut inputs = Vec::new();
    for (column, leaf) in metadata.columns.iter().zip(leaves) {
        let Some(index) = types.iter().position(|t| t == &leaf) else {
            continue;
        };
        let selector = lancelet_fuzzing::page_selector(metadata.version, index);
        for page in &column.pages {
            let encoding = match &page.encoding {
                PageEncoding::V2_0(tree) => tree.encode_to_vec(),
                PageEncoding::Structural(layout) => layout.encode_to_vec(),
            };
            if encoding.len() > usize::from(u16::MAX) || page.num_rows > u64::from(u16::MAX) {
                continue;
            }
            let mut input = vec![selector];
            input.extend_from_slice(&(page.num_rows as u16).to_le_bytes());
            input.extend_from_slice(&(encoding.len() as u16).to_le_bytes());
            input.extend_from_slice(&encoding);
            for buffer in page.buffers.iter().take(4) {
                let bytes =
                    &file[buffer.position as usize..(buffer.position + buffer.size) as usize];
                let bytes = &bytes[..bytes.len().min(usize::from(u16::MAX))];
                input.extend_from_slice(&(bytes.len() as u16).to_le_bytes());
                input.extend_from_slice(bytes);
            }
            inputs.push(input);
        }
    }
    inputs
}

/// The data type stored in each column, in column order.
fn collect_leaves(fields: &[Field], version: FileVersion, out: &mut Vec<arrow_schema::DataType>) {
    use arrow_schema::DataType as T;
    for field in fields {
        let packed = field
            .metadata()
            .get("lance-encoding:packed")
            .is_some_and(|v| v == "true");
        match field.data_type() {
            T::Struct(children) if !packed && !children.is_empty() => {
                if !version.is_structural() {
                    out.push(field.data_type().clone());
                }
                collect_leaves(
                    &children
                        .iter()
                        .map(|f| f.as_ref().clone())
                        .collect::<Vec<_>>(),
                    version,
                    out,
                );
            }
            T::List(item) | T::LargeList(item) | T::Map(item, _) => {
                if !version.is_structural() {
                    out.push(field.data_type().clone());
                }
                collect_leaves(std::slice::from_ref(item.as_ref()), version, out);
            }
            other => out.push(other.clone()),
        }
    }
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
        for (index, input) in page_inputs(&small)
            .into_iter()
            .chain(page_inputs(&fixture))
            .enumerate()
        {
            save("decode_page", &format!("page_{tag}_{index:03}"), &input);
        }
    }
}
