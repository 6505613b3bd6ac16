//! Replays the fuzz corpus (`fuzz/corpus/<target>/`, seeds and every input a fuzzing run kept,
//! crashes included once fixed) and the pylance-made fixtures through the fuzz targets.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs every input of a target's corpus; returns (inputs, inputs that decoded).
fn replay(target: &str, run: fn(&[u8]) -> bool) -> (usize, usize) {
    let dir = root().join("fuzz/corpus").join(target);
    let (mut count, mut decoded) = (0, 0);
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        let outcome = std::panic::catch_unwind(|| run(&data));
        let ok = outcome.unwrap_or_else(|_| panic!("{target}: {} fails", path.display()));
        count += 1;
        decoded += usize::from(ok);
    }
    (count, decoded)
}

fn fixtures() -> Vec<Vec<u8>> {
    ["2_0", "2_1", "2_2"]
        .iter()
        .map(|v| {
            std::fs::read(root().join(format!("rust/lancelet/tests/data/pylance_{v}.lance")))
                .unwrap()
        })
        .collect()
}

#[test]
fn read_file_corpus() {
    let (count, decoded) = replay("read_file", lancelet_fuzzing::read_file);
    assert!(count >= 3 && decoded >= 3, "{decoded} of {count} read");
    for fixture in fixtures() {
        assert!(lancelet_fuzzing::read_file(&fixture));
    }
}

#[test]
fn decode_metadata_corpus() {
    let (count, decoded) = replay("decode_metadata", lancelet_fuzzing::decode_metadata);
    assert!(count >= 3 && decoded >= 3, "{decoded} of {count} decoded");
    for fixture in fixtures() {
        assert!(lancelet_fuzzing::decode_metadata(&fixture));
    }
}

#[test]
fn decode_page_corpus() {
    // The seeds are real pages (those of the fixtures and of small files); they decode.
    let (count, decoded) = replay("decode_page", lancelet_fuzzing::decode_page);
    assert!(count >= 30 && decoded >= 30, "{decoded} of {count} decoded");
}

/// Regression for two crashes `decode_page` found: dictionary pages whose stored strings were
/// not valid UTF-8, or whose offsets ran past the values, gave Arrow's error instead of
/// `Corrupt`. Every byte of real dictionary pages (2.1 plain, 2.2 LZ4-compressed) is set to
/// a few values in turn; `decode_page` panics on any error that is not a bad-bytes kind.
#[test]
fn damaged_dictionary_pages_give_typed_errors() {
    use std::sync::Arc;

    use arrow_array::{ArrayRef, RecordBatch, StringArray};
    use lancelet::{FileVersion, FileWriter, WriterOptions};
    use object_store::ObjectStoreExt;
    use object_store::memory::InMemory;
    use object_store::path::Path as StorePath;

    let words = ["red", "green", "blüe", "", "a longer colour name"];
    let names: ArrayRef = Arc::new(StringArray::from_iter(
        (0..400).map(|i| (i % 13 != 0).then(|| words[i % words.len()])),
    ));
    let batch = RecordBatch::try_from_iter([("name", names)]).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut damaged = 0;
    for version in [FileVersion::V2_1, FileVersion::V2_2] {
        let file = runtime.block_on(async {
            let store = Arc::new(InMemory::new());
            let path = StorePath::from("d.lance");
            let options = WriterOptions::default().with_version(version);
            let mut writer =
                FileWriter::try_new(store.clone(), path.clone(), batch.schema(), options).unwrap();
            writer.write_batch(&batch).await.unwrap();
            writer.finish().await.unwrap();
            store.get(&path).await.unwrap().bytes().await.unwrap()
        });
        let pages = lancelet_fuzzing::page_inputs(&file);
        assert!(!pages.is_empty());
        for page in pages {
            assert!(
                lancelet_fuzzing::decode_page(&page),
                "{version}: the valid page"
            );
            for at in 3..page.len() {
                for value in [0x00, 0x01, 0x7F, 0x80, 0xC3, 0xFF] {
                    let mut bad = page.clone();
                    bad[at] = value;
                    lancelet_fuzzing::decode_page(&bad);
                    damaged += 1;
                }
            }
        }
    }
    assert!(damaged > 1000, "{damaged} damaged pages");
}
