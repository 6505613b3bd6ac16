//! Dictionary pages: values stored as indices into a dictionary of distinct items, looked up
//! after the rows of a read are selected.

use std::sync::Arc;

use arrow_array::types::{ByteArrayType, GenericBinaryType, GenericStringType};
use arrow_array::{Array, ArrayRef, GenericByteArray, OffsetSizeTrait, UInt32Array};
use arrow_buffer::{ArrowNativeType, Buffer, OffsetBuffer, ScalarBuffer};
use arrow_schema::DataType;

use crate::error::{Error, Result};

/// Looks up dictionary items by index (for a dictionary-typed field, builds the dictionary
/// array instead). An index beyond the items is a `Corrupt` error: the lookups of text and of
/// numbers through a table check each index as they go (a separate pass over the indices
/// first made lookups 5-15% slower: `examples/dictionary_lookup`); the others are checked
/// before.
pub fn dictionary_values(
    leaf_type: &DataType,
    dictionary: &ArrayRef,
    indices: &UInt32Array,
) -> Result<ArrayRef> {
    let checked = || match out_of_range(indices.values(), dictionary.len()) {
        Some(bad) => Err(beyond(bad, dictionary.len())),
        None => Ok(()),
    };
    // Arrow's take, for what the lookups below do not cover (it panics on a bad index).
    let take = || -> Result<ArrayRef> {
        checked()?;
        Ok(arrow_select::take::take(
            dictionary.as_ref(),
            indices,
            None,
        )?)
    };
    match leaf_type {
        DataType::Dictionary(key, _) => {
            checked()?;
            let keys = arrow_cast_keys(indices, key)?;
            let data = keys
                .to_data()
                .into_builder()
                .data_type(leaf_type.clone())
                .child_data(vec![dictionary.to_data()])
                .build()?;
            Ok(arrow_array::make_array(data))
        }
        DataType::Utf8 if plain(dictionary, indices) => {
            gather::<GenericStringType<i32>>(dictionary, indices.values())
        }
        DataType::LargeUtf8 if plain(dictionary, indices) => {
            gather::<GenericStringType<i64>>(dictionary, indices.values())
        }
        DataType::Binary if plain(dictionary, indices) => {
            gather::<GenericBinaryType<i32>>(dictionary, indices.values())
        }
        DataType::LargeBinary if plain(dictionary, indices) => {
            gather::<GenericBinaryType<i64>>(dictionary, indices.values())
        }
        _ if plain(dictionary, indices) => match gather_fixed(leaf_type, dictionary, indices)? {
            Some(array) => Ok(array),
            None => take(),
        },
        _ => take(),
    }
}

/// The error for index `bad` of a dictionary of `items`.
fn beyond(bad: u32, items: usize) -> Error {
    Error::corrupt(format!(
        "dictionary index {bad} is out of range for {items} items"
    ))
}

/// The error for the first index of `indices` beyond `items`, found again once a lookup has
/// seen that there is one.
fn first_beyond(indices: &[u32], items: usize) -> Error {
    match out_of_range(indices, items) {
        Some(bad) => beyond(bad, items),
        None => Error::internal("a dictionary lookup saw an index out of range that is not"),
    }
}

/// The first index that is not below `items`, if any. The indices are first scanned with a
/// compare and an or per index, which the compiler vectorizes with baseline x86-64
/// instructions; a vectorized `max` of unsigned words needs SSE4.1 and was emulated with
/// several instructions per word (2.5% of a lineitem read).
fn out_of_range(indices: &[u32], items: usize) -> Option<u32> {
    // No index reaches a count beyond the largest u32.
    let limit = u32::try_from(items).ok()?;
    let any = indices
        .iter()
        .fold(false, |bad, &index| bad | (index >= limit));
    if any {
        indices.iter().copied().find(|&index| index >= limit)
    } else {
        None
    }
}

/// Looks up primitive items (numbers, dates, decimals; at most 4096 of them) through a table
/// of a power-of-two size indexed by a mask, so that a value is one load and one store with
/// no bounds check (each index is compared with the item count on the way, an error if it
/// is beyond). `None` for other types and larger dictionaries, which Arrow's `take` looks up.
fn gather_fixed(
    leaf_type: &DataType,
    dictionary: &ArrayRef,
    indices: &UInt32Array,
) -> Result<Option<ArrayRef>> {
    let items = dictionary.to_data();
    let (Some(width), [buffer]) = (leaf_type.primitive_width(), items.buffers()) else {
        return Ok(None);
    };
    if items.data_type() != leaf_type || items.len() > 4096 {
        return Ok(None);
    }
    let Some(bytes) = buffer
        .as_slice()
        .get(items.offset() * width..(items.offset() + items.len()) * width)
    else {
        return Ok(None);
    };
    let indices = indices.values();
    let values = match width {
        1 => Buffer::from_vec(gather_table::<1, u8>(bytes, indices, u8::from_ne_bytes)?),
        2 => Buffer::from_vec(gather_table::<2, u16>(bytes, indices, u16::from_ne_bytes)?),
        4 => Buffer::from_vec(gather_table::<4, u32>(bytes, indices, u32::from_ne_bytes)?),
        8 => Buffer::from_vec(gather_table::<8, u64>(bytes, indices, u64::from_ne_bytes)?),
        16 => Buffer::from_vec(gather_table::<16, u128>(
            bytes,
            indices,
            u128::from_ne_bytes,
        )?),
        _ => return Ok(None),
    };
    let data = arrow_data::ArrayData::try_new(
        leaf_type.clone(),
        indices.len(),
        None,
        0,
        vec![values],
        vec![],
    )?;
    Ok(Some(arrow_array::make_array(data)))
}

/// The `W`-byte items of `bytes` (at most 4096) at `indices`, as native words `T` (read by
/// `word`, in the bytes' own order). Items of 256 or fewer go in a table of 256, others in
/// one of 4096. An index beyond the items is an error.
fn gather_table<const W: usize, T: Copy + Default>(
    bytes: &[u8],
    indices: &[u32],
    word: impl Fn([u8; W]) -> T,
) -> Result<Vec<T>> {
    let items = bytes.as_chunks::<W>().0;
    let values = if items.len() <= 256 {
        gather_masked::<256, T>(items.iter().map(|&item| word(item)), items.len(), indices)
    } else {
        gather_masked::<4096, T>(items.iter().map(|&item| word(item)), items.len(), indices)
    };
    values.ok_or_else(|| first_beyond(indices, items.len()))
}

/// `items` (`count` of them, at most `N`, a power of two) at `indices`, each index masked to
/// the table and compared with the count as it is looked up; `None` when one is beyond.
fn gather_masked<const N: usize, T: Copy + Default>(
    items: impl Iterator<Item = T>,
    count: usize,
    indices: &[u32],
) -> Option<Vec<T>> {
    let mut table = [T::default(); N];
    for (slot, item) in table.iter_mut().zip(items) {
        *slot = item;
    }
    // At most N items: the count fits.
    let limit = u32::try_from(count).ok()?;
    let mut beyond = false;
    let values = indices
        .iter()
        .map(|&index| {
            beyond |= index >= limit;
            table[index as usize % N]
        })
        .collect();
    (!beyond).then_some(values)
}

/// Whether neither the indices nor the items have nulls (the case [`gather`] handles).
fn plain(dictionary: &ArrayRef, indices: &UInt32Array) -> bool {
    dictionary.null_count() == 0 && indices.null_count() == 0
}

/// Looks up the byte items at `indices`; an index beyond the items is a `Corrupt` error.
/// When the items are short (at most 32 bytes) and there are more indices than items, each
/// value is copied as one fixed-size word (see [`gather_words`]).
fn gather<T: ByteArrayType>(dictionary: &ArrayRef, indices: &[u32]) -> Result<ArrayRef>
where
    T::Offset: OffsetSizeTrait,
{
    let items = dictionary
        .as_any()
        .downcast_ref::<GenericByteArray<T>>()
        .ok_or_else(|| Error::internal("dictionary items do not match the field's type"))?;
    if indices.len() < items.len() {
        // A few rows of a large dictionary: look each one up where it is.
        let item = |index: u32| -> Result<&[u8]> {
            let index = index as usize;
            if index >= items.len() {
                return Err(Error::corrupt("dictionary index is out of range"));
            }
            Ok(items.value(index).as_ref())
        };
        let mut offsets = Vec::with_capacity(indices.len() + 1);
        let mut data = Vec::new();
        offsets.push(T::Offset::usize_as(0));
        for &index in indices {
            data.extend_from_slice(item(index)?);
            offsets.push(offset_of::<T>(data.len())?);
        }
        return byte_array::<T>(OffsetBuffer::new(ScalarBuffer::from(offsets)), data);
    }
    let items: Vec<&[u8]> = (0..items.len())
        .map(|index| items.value(index).as_ref())
        .collect();
    if let Some(array) = gather_same_length::<T>(&items, indices)? {
        return Ok(array);
    }
    let lengths: Vec<usize> = items.iter().map(|item| item.len()).collect();
    let longest = lengths.iter().copied().max().unwrap_or(0);
    // Offsets are summed as `usize` and narrowed without a check per value: the sum only
    // grows, so the last one fitting the offset type means they all do. (An index beyond
    // the items counts 0 here; the copies below report it.) They are written into
    // slots made first, so that the loop keeps the running total and the vector in
    // registers: summed in a closure given to `extend`, the total went through memory (a
    // store and a load per value), and pushed, the vector's length did.
    let mut offsets = vec![T::Offset::usize_as(0); indices.len() + 1];
    let mut total = 0usize;
    for (slot, &index) in offsets.iter_mut().skip(1).zip(indices) {
        total += lengths.get(index as usize).copied().unwrap_or(0);
        *slot = T::Offset::usize_as(total);
    }
    offset_of::<T>(total)?;
    let offsets = OffsetBuffer::new(ScalarBuffer::from(offsets));
    let data = if longest > 32 {
        let mut data = Vec::with_capacity(total);
        for &index in indices {
            let item = items
                .get(index as usize)
                .ok_or_else(|| Error::corrupt("dictionary index is out of range"))?;
            data.extend_from_slice(item);
        }
        data
    } else if longest <= 8 {
        gather_words::<8>(&items, indices, total)?
    } else if longest <= 16 {
        gather_words::<16>(&items, indices, total)?
    } else {
        gather_words::<32>(&items, indices, total)?
    };
    byte_array::<T>(offsets, data)
}

/// [`gather`] when every item has the same length (flags, codes): the offsets are multiples of
/// that length and each value is a copy of that many bytes. `None` when the lengths differ.
fn gather_same_length<T: ByteArrayType>(
    items: &[&[u8]],
    indices: &[u32],
) -> Result<Option<ArrayRef>>
where
    T::Offset: OffsetSizeTrait,
{
    let Some(length) = items.first().map(|item| item.len()) else {
        return Ok(None);
    };
    if length == 0 || items.iter().any(|item| item.len() != length) {
        return Ok(None);
    }
    let total = indices
        .len()
        .checked_mul(length)
        .ok_or_else(|| Error::not_supported("dictionary values too large for their offsets"))?;
    offset_of::<T>(total)?;
    // Multiples of the length (which fit the offset type, as their total does).
    let offsets = OffsetBuffer::<T::Offset>::from_repeated_length(length, indices.len());
    let mut data = vec![0u8; total];
    if length == 1 && items.len() <= 256 {
        // One byte per value, looked up in a table of all 256 possible indices' bytes, each
        // index compared with the item count as it goes.
        let mut bytes = [0u8; 256];
        for (slot, item) in bytes.iter_mut().zip(items) {
            *slot = item.first().copied().unwrap_or(0);
        }
        let limit = items.len() as u32;
        let mut beyond = false;
        for (out, &index) in data.iter_mut().zip(indices) {
            beyond |= index >= limit;
            *out = bytes[(index & 0xff) as usize];
        }
        if beyond {
            return Err(first_beyond(indices, items.len()));
        }
        return byte_array::<T>(offsets, data).map(Some);
    }
    for (out, &index) in data.chunks_exact_mut(length).zip(indices) {
        let item = items
            .get(index as usize)
            .ok_or_else(|| Error::corrupt("dictionary index is out of range"))?;
        out.copy_from_slice(item);
    }
    byte_array::<T>(offsets, data).map(Some)
}

/// `at` as an offset of `T` (`NotSupported` when it does not fit).
fn offset_of<T: ByteArrayType>(at: usize) -> Result<T::Offset> {
    T::Offset::from_usize(at)
        .ok_or_else(|| Error::not_supported("dictionary values too large for the field's offsets"))
}

/// A byte array of the looked-up values.
fn byte_array<T: ByteArrayType>(offsets: OffsetBuffer<T::Offset>, data: Vec<u8>) -> Result<ArrayRef>
where
    T::Offset: OffsetSizeTrait,
{
    Ok(Arc::new(GenericByteArray::<T>::try_new(
        offsets,
        Buffer::from_vec(data),
        None,
    )?))
}

/// The items at `indices` joined (`total` bytes), every item (at most `N` bytes) first padded
/// to an `N`-byte word: each value is one fixed-size copy of its word, the next value
/// overwriting the padding, where a copy of the value's own length would be a call to
/// `memcpy` per value.
fn gather_words<const N: usize>(items: &[&[u8]], indices: &[u32], total: usize) -> Result<Vec<u8>> {
    let mut words = Vec::with_capacity(items.len());
    for item in items {
        let mut word = [0u8; N];
        word.get_mut(..item.len())
            .ok_or_else(|| Error::internal("a dictionary item is longer than its word"))?
            .copy_from_slice(item);
        words.push((word, item.len()));
    }
    // Written at a cursor into bytes made first, so that the loop keeps its position in a
    // register (extending a vector stored its length to memory per value); the whole word
    // goes in, the next value overwriting the padding.
    let mut data = vec![0u8; total + N];
    let mut at = 0usize;
    for &index in indices {
        let (word, length) = words
            .get(index as usize)
            .ok_or_else(|| Error::corrupt("dictionary index is out of range"))?;
        let slot = data
            .get_mut(at..at + N)
            .ok_or_else(|| Error::internal("dictionary values do not add up to their size"))?;
        slot.copy_from_slice(word);
        at += length;
    }
    if at != total {
        return Err(Error::internal(
            "dictionary values do not add up to their size",
        ));
    }
    data.truncate(total);
    Ok(data)
}

fn arrow_cast_keys(keys: &UInt32Array, key: &DataType) -> Result<ArrayRef> {
    use arrow_array::types::*;
    let fits = |max: u64| keys.values().iter().all(|&k| u64::from(k) <= max);
    let array: ArrayRef = match key {
        DataType::Int8 if fits(i8::MAX as u64) => Arc::new(keys.unary::<_, Int8Type>(|k| k as i8)),
        DataType::Int16 if fits(i16::MAX as u64) => {
            Arc::new(keys.unary::<_, Int16Type>(|k| k as i16))
        }
        DataType::Int32 if fits(i32::MAX as u64) => {
            Arc::new(keys.unary::<_, Int32Type>(|k| k as i32))
        }
        DataType::Int64 => Arc::new(keys.unary::<_, Int64Type>(i64::from)),
        DataType::UInt8 if fits(u8::MAX as u64) => {
            Arc::new(keys.unary::<_, UInt8Type>(|k| k as u8))
        }
        DataType::UInt16 if fits(u16::MAX as u64) => {
            Arc::new(keys.unary::<_, UInt16Type>(|k| k as u16))
        }
        DataType::UInt32 => Arc::new(keys.clone()),
        DataType::UInt64 => Arc::new(keys.unary::<_, UInt64Type>(u64::from)),
        other => {
            return Err(Error::corrupt(format!(
                "dictionary indices do not fit the key type {other}"
            )));
        }
    };
    Ok(array)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::StringArray;
    use arrow_array::cast::AsArray;

    #[test]
    fn items_of_every_word_size_are_gathered() {
        check(&["eight b.", "", "x"], &[0, 1, 2, 0, 0]);
        check(&["thirty-two bytes of dictionary..", "y"], &[0, 1, 0, 1]);
        check(&["thirty-three bytes of dictionary.", "y"], &[0, 1, 0, 1]);
    }

    /// Checks the lookup against arrow's `take` for every byte type.
    fn check(items: &[&str], indices: &[u32]) {
        let indices = UInt32Array::from(indices.to_vec());
        let dictionaries: [ArrayRef; 4] = [
            Arc::new(StringArray::from(items.to_vec())),
            Arc::new(arrow_array::LargeStringArray::from(items.to_vec())),
            Arc::new(arrow_array::BinaryArray::from_iter_values(items)),
            Arc::new(arrow_array::LargeBinaryArray::from_iter_values(items)),
        ];
        for dictionary in dictionaries {
            let data_type = dictionary.data_type().clone();
            let expected = arrow_select::take::take(dictionary.as_ref(), &indices, None).unwrap();
            let actual = dictionary_values(&data_type, &dictionary, &indices).unwrap();
            assert_eq!(actual.as_ref(), expected.as_ref(), "{data_type}");
        }
    }

    #[test]
    fn items_of_one_length_are_gathered() {
        check(&["A", "N", "R"], &[0, 2, 1, 1, 0, 2, 2]);
        check(&["AIR", "SEA", "RAI"], &[2, 2, 0, 1, 0, 1]);
        check(&["é", "ü"], &[1, 0, 0, 1]);
    }

    #[test]
    fn fewer_indices_than_items_are_gathered() {
        check(&["a", "bb", "ccc", "", "eeee", "f"], &[4, 1]);
    }

    #[test]
    fn sixteen_byte_items_fill_their_words() {
        check(&["sixteen bytes..!", "", "z"], &[0, 0, 1, 2, 0, 1, 1]);
    }

    #[test]
    fn short_items_are_gathered() {
        check(
            &["A", "", "REG AIR", "fifteen bytes.."],
            &[2, 0, 1, 3, 3, 0, 2],
        );
    }

    #[test]
    fn long_items_are_gathered() {
        check(&["DELIVER IN PERSON", "x", ""], &[0, 1, 2, 0, 0]);
    }

    #[test]
    fn a_sliced_dictionary_is_gathered() {
        let dictionary: ArrayRef =
            Arc::new(StringArray::from(vec!["skip", "AIR", "MAIL"]).slice(1, 2));
        let indices = UInt32Array::from(vec![1, 0, 1]);
        let actual = dictionary_values(&DataType::Utf8, &dictionary, &indices).unwrap();
        assert_eq!(
            actual
                .as_string::<i32>()
                .iter()
                .flatten()
                .collect::<Vec<_>>(),
            ["MAIL", "AIR", "MAIL"]
        );
    }

    /// Checks the lookup of primitive items against arrow's `take` (a dictionary of `count`
    /// items, sliced by one so that its values start at an offset).
    fn check_fixed(count: usize) {
        use arrow_array::{Date32Array, Decimal128Array, Float64Array, Int8Array, Int16Array};
        let indices = UInt32Array::from_iter_values(
            (0..3 * count as u32).map(|i| i.wrapping_mul(2_654_435_761) % count as u32),
        );
        let slice = |array: ArrayRef| array.slice(1, count);
        let dictionaries: [ArrayRef; 5] = [
            slice(Arc::new(Int8Array::from_iter_values(
                (0..=count).map(|i| i as i8),
            ))),
            slice(Arc::new(Int16Array::from_iter_values(
                (0..=count).map(|i| (i as i16).wrapping_mul(3)),
            ))),
            slice(Arc::new(Date32Array::from_iter_values(
                (0..=count).map(|i| 8000 + i as i32),
            ))),
            slice(Arc::new(Float64Array::from_iter_values(
                (0..=count).map(|i| i as f64 / 4.0),
            ))),
            slice(Arc::new(
                Decimal128Array::from_iter_values((0..=count).map(|i| i as i128 * -10_001))
                    .with_precision_and_scale(15, 2)
                    .unwrap(),
            )),
        ];
        for dictionary in dictionaries {
            let data_type = dictionary.data_type().clone();
            let expected = arrow_select::take::take(dictionary.as_ref(), &indices, None).unwrap();
            let actual = dictionary_values(&data_type, &dictionary, &indices).unwrap();
            assert_eq!(actual.as_ref(), expected.as_ref(), "{data_type} x {count}");
        }
    }

    #[test]
    fn primitive_items_are_gathered_through_tables() {
        // A table of 256, one of 4096, and (past 4096 items) Arrow's take.
        for count in [1, 7, 256, 257, 2526, 4096, 4097] {
            check_fixed(count);
        }
    }

    #[test]
    fn an_index_beyond_the_dictionary_is_corrupt() {
        let dictionary: ArrayRef = Arc::new(StringArray::from(vec!["a"]));
        let indices = UInt32Array::from(vec![0, 1]);
        let error = dictionary_values(&DataType::Utf8, &dictionary, &indices).unwrap_err();
        assert!(matches!(error, Error::Corrupt { .. }), "{error:?}");
        // Items looked up through a masked table of 256: index 7 of 7 items would read an
        // empty slot; the first bad index is named.
        let dates: ArrayRef = Arc::new(arrow_array::Date32Array::from((0..7).collect::<Vec<_>>()));
        let mut many: Vec<u32> = (0..10_000).map(|i| i % 7).collect();
        many[6_001] = 7;
        many[9_000] = u32::MAX;
        let indices = UInt32Array::from(many);
        let error = dictionary_values(&DataType::Date32, &dates, &indices).unwrap_err();
        assert!(
            matches!(&error, Error::Corrupt { message, .. } if message.contains("index 7 ")),
            "{error:?}"
        );
    }

    #[test]
    fn an_index_beyond_the_dictionary_is_corrupt_on_every_lookup() {
        // One index past the end, among many good ones, for every way of looking items up:
        // text of one byte, of one length, of short and of long items, fewer indices than
        // items, numbers through tables of 256 and 4096 and through Arrow's take, and a
        // dictionary-typed field.
        use arrow_array::{Decimal128Array, Int64Array};
        let text = |items: Vec<String>| -> ArrayRef { Arc::new(StringArray::from(items)) };
        let numbered = |n: usize, f: &dyn Fn(usize) -> String| (0..n).map(f).collect::<Vec<_>>();
        let decimals = |n: usize| -> ArrayRef {
            Arc::new(
                Decimal128Array::from_iter_values((0..n).map(|i| i as i128 * 7))
                    .with_precision_and_scale(15, 2)
                    .unwrap(),
            )
        };
        let cases: Vec<(DataType, ArrayRef, usize)> = vec![
            (
                DataType::Utf8,
                text(numbered(3, &|i| ["A", "N", "R"][i].to_string())),
                10_000,
            ),
            (
                DataType::Utf8,
                text(numbered(4, &|i| format!("mode{i}"))),
                10_000,
            ),
            (
                DataType::Utf8,
                text(numbered(5, &|i| "x".repeat(i + 1))),
                10_000,
            ),
            (
                DataType::Utf8,
                text(numbered(5, &|i| "y".repeat(40 + i))),
                10_000,
            ),
            (
                DataType::Utf8,
                text(numbered(5000, &|i| format!("v{i}"))),
                100,
            ),
            (DataType::Decimal128(15, 2), decimals(50), 10_000),
            (DataType::Decimal128(15, 2), decimals(3000), 10_000),
            (DataType::Decimal128(15, 2), decimals(5000), 10_000),
            (
                DataType::Int64,
                Arc::new(Int64Array::from_iter_values(0..9)),
                10_000,
            ),
            (
                DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)),
                text(numbered(3, &|i| format!("d{i}"))),
                10_000,
            ),
        ];
        for (data_type, dictionary, count) in cases {
            let items = dictionary.len() as u32;
            let mut many: Vec<u32> = (0..count as u32).map(|i| i % items).collect();
            many[count / 2] = items;
            let indices = UInt32Array::from(many);
            let error = dictionary_values(&data_type, &dictionary, &indices).unwrap_err();
            assert!(
                matches!(&error, Error::Corrupt { .. }),
                "{data_type} of {items}: {error:?}"
            );
            // And without it, the same lookup succeeds.
            let good = UInt32Array::from_iter_values((0..count as u32).map(|i| i % items));
            dictionary_values(&data_type, &dictionary, &good).unwrap();
        }
    }
}
