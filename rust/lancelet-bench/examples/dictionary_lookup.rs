//! Time of dictionary lookups alone (one thread, best of the repetitions): TPC-H-like text,
//! date and decimal dictionaries looked up by a million random indices, beside Arrow's `take`
//! of the same values (which panics on an index beyond the dictionary, where a reader must
//! return an error).
//!
//!     cargo build --release -p lancelet-bench --example dictionary_lookup
//!     target/release/examples/dictionary_lookup 30
//!
//! Argument: the repetitions (default 30).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Instant;

use arrow_array::{Array, ArrayRef, Date32Array, Decimal128Array, StringArray, UInt32Array};
use lancelet::encodings::structural::dictionary::dictionary_values;

fn main() {
    let reps: usize = std::env::args().nth(1).map_or(30, |r| r.parse().unwrap());
    let rows = 1_000_000u32;
    // A fixed-seed pseudo-random index per row.
    let index = |row: u32, items: u32| row.wrapping_mul(2_654_435_761) % items;
    let cases: Vec<(&str, ArrayRef)> = vec![
        (
            "shipmode (7 items of 3-7 bytes)",
            Arc::new(StringArray::from(vec![
                "REG AIR", "AIR", "RAIL", "SHIP", "TRUCK", "MAIL", "FOB",
            ])),
        ),
        (
            "shipinstruct (4 items of 4-17 bytes)",
            Arc::new(StringArray::from(vec![
                "DELIVER IN PERSON",
                "COLLECT COD",
                "NONE",
                "TAKE BACK RETURN",
            ])),
        ),
        (
            "returnflag (3 items of 1 byte)",
            Arc::new(StringArray::from(vec!["A", "N", "R"])),
        ),
        (
            "dates (2526 items)",
            Arc::new(Date32Array::from((8000..10526).collect::<Vec<i32>>())),
        ),
        (
            "quantities (50 decimals)",
            Arc::new(
                Decimal128Array::from_iter_values((1..=50).map(|q| q * 100))
                    .with_precision_and_scale(15, 2)
                    .unwrap(),
            ),
        ),
    ];
    for (name, dictionary) in cases {
        let items = dictionary.len() as u32;
        let indices = UInt32Array::from((0..rows).map(|r| index(r, items)).collect::<Vec<_>>());
        let leaf_type = dictionary.data_type().clone();
        let mut best = f64::MAX;
        for _ in 0..reps {
            let started = Instant::now();
            let values = dictionary_values(&leaf_type, &dictionary, &indices).unwrap();
            best = best.min(started.elapsed().as_secs_f64());
            assert_eq!(values.len(), rows as usize);
        }
        let mut take_best = f64::MAX;
        for _ in 0..reps {
            let started = Instant::now();
            let values = arrow_select::take::take(dictionary.as_ref(), &indices, None).unwrap();
            take_best = take_best.min(started.elapsed().as_secs_f64());
            assert_eq!(values.len(), rows as usize);
        }
        println!(
            "{name}: best {:.3} ms per million rows (arrow take {:.3})",
            best * 1e3,
            take_best * 1e3
        );
    }
}
