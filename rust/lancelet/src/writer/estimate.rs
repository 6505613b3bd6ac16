//! Estimating how many bytes buffered arrays will take in pages (for flushing on a budget).

use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, OffsetSizeTrait};
use arrow_schema::DataType;

/// The bytes an array will take in a page, roughly.
pub fn estimate_bytes(array: &dyn Array) -> u64 {
    let len = array.len() as u64;
    let validity = if array.null_count() > 0 {
        len.div_ceil(8)
    } else {
        0
    };
    let values = match array.data_type() {
        DataType::Null => 0,
        DataType::Boolean => len.div_ceil(8),
        DataType::Utf8 | DataType::Binary => binary_bytes::<i32>(array) + 8 * len,
        DataType::LargeUtf8 | DataType::LargeBinary => binary_bytes::<i64>(array) + 8 * len,
        DataType::FixedSizeList(_, size) => {
            let list = array.as_fixed_size_list();
            let size = (*size).max(0) as usize;
            estimate_bytes(
                list.values()
                    .slice(list.offset() * size, array.len() * size)
                    .as_ref(),
            )
        }
        DataType::FixedSizeBinary(width) => len * (*width).max(0) as u64,
        DataType::Dictionary(key, _) => {
            let values = array.as_any_dictionary().values();
            len * key.primitive_width().unwrap_or(4) as u64 + estimate_bytes(values.as_ref())
        }
        DataType::Struct(_) => {
            let structs = array.as_struct();
            structs
                .columns()
                .iter()
                .map(|c| estimate_bytes(c.as_ref()))
                .sum()
        }
        DataType::List(_) => 8 * len + list_items_bytes::<i32>(array),
        DataType::LargeList(_) => 8 * len + list_items_bytes::<i64>(array),
        DataType::Map(_, _) => {
            let map = array.as_map();
            let offsets = map.value_offsets();
            let (first, last) = (
                offsets.first().copied().unwrap_or(0),
                offsets.last().copied().unwrap_or(0),
            );
            let entries: ArrayRef = std::sync::Arc::new(map.entries().clone());
            8 * len
                + estimate_bytes(
                    entries
                        .slice(first as usize, (last - first) as usize)
                        .as_ref(),
                )
        }
        other => match other.primitive_width() {
            Some(width) => len * width as u64,
            None => array.get_buffer_memory_size() as u64,
        },
    };
    values + validity
}

fn binary_bytes<O: OffsetSizeTrait>(array: &dyn Array) -> u64 {
    let offsets: &[O] = match array.data_type() {
        DataType::Utf8 | DataType::LargeUtf8 => array.as_string::<O>().value_offsets(),
        _ => array.as_binary::<O>().value_offsets(),
    };
    match (offsets.first(), offsets.last()) {
        (Some(first), Some(last)) => (last.as_usize() - first.as_usize()) as u64,
        _ => 0,
    }
}

fn list_items_bytes<O: OffsetSizeTrait>(array: &dyn Array) -> u64 {
    let list = array.as_list::<O>();
    let offsets = list.value_offsets();
    let first = offsets.first().map_or(0, |o| o.as_usize());
    let last = offsets.last().map_or(0, |o| o.as_usize());
    estimate_bytes(list.values().slice(first, last - first).as_ref())
}
