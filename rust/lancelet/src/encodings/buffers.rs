//! Helpers shared by the decoders: consuming fetched byte ranges in plan order, and turning
//! bytes into Arrow buffers and back.

use arrow_buffer::{BooleanBuffer, BooleanBufferBuilder, Buffer, MutableBuffer, NullBuffer};
use arrow_data::ArrayData;
use bytes::Bytes;

use crate::error::{Error, Result};

/// Wraps an Arrow buffer so it can be handed out as `Bytes` without copying.
struct ArrowBytes(Buffer);

impl AsRef<[u8]> for ArrowBytes {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// Zero-copy `Bytes` view of an Arrow buffer.
pub(crate) fn to_bytes(buffer: Buffer) -> Bytes {
    Bytes::from_owner(ArrowBytes(buffer))
}

/// The bytes of planned ranges, consumed in the order the ranges were planned.
#[derive(Debug)]
pub struct Fetched<'a> {
    bytes: &'a [Bytes],
    next: usize,
}

impl<'a> Fetched<'a> {
    /// Wraps the bytes of each planned range, in plan order.
    pub fn new(bytes: &'a [Bytes]) -> Self {
        Self { bytes, next: 0 }
    }

    /// The bytes of the next planned range.
    pub fn take(&mut self) -> Result<Bytes> {
        let bytes = self
            .bytes
            .get(self.next)
            .cloned()
            .ok_or_else(|| Error::internal("decoder consumed more ranges than it planned"))?;
        self.next += 1;
        Ok(bytes)
    }

    /// The bytes of the next `n` planned ranges.
    pub fn take_n(&mut self, n: usize) -> Result<Vec<Bytes>> {
        (0..n).map(|_| self.take()).collect()
    }
}

/// Concatenates byte pieces into one Arrow buffer; a single piece is used without copying.
pub fn concat_bytes(pieces: Vec<Bytes>) -> Buffer {
    if let [one] = pieces.as_slice() {
        return Buffer::from(one.clone());
    }
    let total = pieces.iter().map(Bytes::len).sum();
    let mut out = MutableBuffer::with_capacity(total);
    for piece in &pieces {
        out.extend_from_slice(piece);
    }
    out.into()
}

/// Builds a bitmap from pieces, each given as bytes holding `len` bits from bit `offset`.
pub fn concat_bits(pieces: Vec<(Bytes, usize, usize)>) -> Result<BooleanBuffer> {
    for (bytes, offset, len) in &pieces {
        if (offset + len).div_ceil(8) > bytes.len() {
            return Err(Error::corrupt(format!(
                "bitmap of {} bytes cannot hold bits {offset}..{}",
                bytes.len(),
                offset + len
            )));
        }
    }
    if let [(bytes, offset, len)] = pieces.as_slice() {
        return Ok(BooleanBuffer::new(
            Buffer::from(bytes.clone()),
            *offset,
            *len,
        ));
    }
    let total = pieces.iter().map(|p| p.2).sum();
    let mut builder = BooleanBufferBuilder::new(total);
    for (bytes, offset, len) in &pieces {
        builder.append_packed_range(*offset..offset + len, bytes);
    }
    Ok(builder.finish())
}

/// Adds a validity bitmap to array data (combined with the nulls it already has).
///
/// Array data may start at a bit offset (sliced booleans do); its null bitmap must then cover
/// the same offset, so the new bitmap is shifted to match.
pub fn attach_nulls(data: ArrayData, nulls: Option<NullBuffer>) -> Result<ArrayData> {
    let Some(nulls) = nulls else {
        return Ok(data);
    };
    let combined = NullBuffer::union(Some(&nulls), data.nulls()).unwrap_or(nulls);
    let offset = data.offset();
    let aligned = if offset == 0 {
        combined
    } else {
        let mut bits = BooleanBufferBuilder::new(offset + combined.len());
        bits.append_n(offset, true);
        bits.append_buffer(combined.inner());
        NullBuffer::new(bits.finish().slice(offset, combined.len()))
    };
    Ok(data.into_builder().nulls(Some(aligned)).build()?)
}

/// Converts a row count from the file into `usize`, failing cleanly on 32-bit overflow.
pub fn to_usize(value: u64, what: &str) -> Result<usize> {
    usize::try_from(value).map_err(|_| Error::corrupt(format!("{what} {value} is too large")))
}
