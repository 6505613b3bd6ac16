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
