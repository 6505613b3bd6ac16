//! Dictionary pages: values stored as indices into a dictionary of distinct items, looked up
//! after the rows of a read are selected.

use std::sync::Arc;

use arrow_array::{Array, ArrayRef, UInt32Array};
use arrow_schema::DataType;

use crate::error::{Error, Result};

/// Looks up dictionary items by index (for a dictionary-typed field, builds the dictionary
/// array instead).
pub fn dictionary_values(
    leaf_type: &DataType,
    dictionary: &ArrayRef,
    indices: &UInt32Array,
) -> Result<ArrayRef> {
    let items = dictionary.len();
    if let Some(bad) = indices.values().iter().find(|&&i| i as usize >= items) {
        return Err(Error::corrupt(format!(
            "dictionary index {bad} is out of range for {items} items"
        )));
    }
    match leaf_type {
        DataType::Dictionary(key, _) => {
            let keys = arrow_cast_keys(indices, key)?;
            let data = keys
                .to_data()
                .into_builder()
                .data_type(leaf_type.clone())
                .child_data(vec![dictionary.to_data()])
                .build()?;
            Ok(arrow_array::make_array(data))
        }
        _ => Ok(arrow_select::take::take(
            dictionary.as_ref(),
            indices,
            None,
        )?),
    }
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

    fn check(items: &[&str], indices: &[u32]) {
        let dictionary: ArrayRef = Arc::new(StringArray::from(items.to_vec()));
        let indices = UInt32Array::from(indices.to_vec());
        let expected = arrow_select::take::take(dictionary.as_ref(), &indices, None).unwrap();
        let actual = dictionary_values(&DataType::Utf8, &dictionary, &indices).unwrap();
        assert_eq!(actual.as_ref(), expected.as_ref());
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

    #[test]
    fn an_index_beyond_the_dictionary_is_corrupt() {
        let dictionary: ArrayRef = Arc::new(StringArray::from(vec!["a"]));
        let indices = UInt32Array::from(vec![0, 1]);
        let error = dictionary_values(&DataType::Utf8, &dictionary, &indices).unwrap_err();
        assert!(matches!(error, Error::Corrupt { .. }), "{error:?}");
    }
}
