//! FastLanes bit-packing of 1024 values, in the transposed order Lance uses.
//!
//! Values are unsigned words of T bits (8, 16, 32 or 64; signed integers and floats are packed
//! as their raw bits). A block of 1024 values packed to W bits (0 ≤ W ≤ T) becomes
//! `1024·W/T` words of T bits (`128·W` bytes), little-endian.
//!
//! The block is split into `LANES = 1024 / T` lanes. Lane `l` is a stream of `T·W` bits made
//! of T rows of W bits; row `r` of lane `l` holds input value
//!
//! ```text
//! i(r, l) = FL_ORDER[r / 8] · 16 + (r % 8) · 128 + l,    FL_ORDER = [0, 4, 2, 6, 1, 5, 3, 7]
//! ```
//!
//! at stream bits `[r·W, r·W + W)`. Stream bit `p` of lane `l` is bit `p % T` of output word
//! `(p / T) · LANES + l`: words are ordered word-major (word 0 of every lane, then word 1, ...).
//! A value that crosses a word boundary continues at bit 0 of the lane's next word. Even
//! `W = T` follows this rule, so it is a transposition rather than a copy.
//!
//! Example (T = 8, W = 4): byte 0 holds value 0 in its low nibble and value 128 in its high
//! nibble; byte 1 holds values 1 and 129; byte 128 holds values 256 and 384.

/// Values per block.
pub const BLOCK: usize = 1024;

const FL_ORDER: [usize; 8] = [0, 4, 2, 6, 1, 5, 3, 7];

/// An unsigned word type that blocks are made of.
pub trait Word:
    arrow_buffer::ArrowNativeType
    + Copy
    + Default
    + Send
    + Sync
    + 'static
    + std::ops::Shl<usize, Output = Self>
    + std::ops::Shr<usize, Output = Self>
    + std::ops::BitOr<Output = Self>
    + std::ops::BitAnd<Output = Self>
{
    /// Bits per word.
    const BITS: usize;
    /// The word as a u64.
    fn to_u64(self) -> u64;
    /// The low `BITS` bits of a u64.
    fn from_u64(value: u64) -> Self;
    /// Reads a little-endian word from `bytes` (exactly `BITS / 8` long).
    fn from_le(bytes: &[u8]) -> Self;
    /// Appends the word's little-endian bytes.
    fn write_le(self, out: &mut Vec<u8>);
}

macro_rules! word {
    ($t:ty) => {
        impl Word for $t {
            const BITS: usize = <$t>::BITS as usize;
            fn to_u64(self) -> u64 {
                self as u64
            }
            fn from_u64(value: u64) -> Self {
                value as $t
            }
            fn from_le(bytes: &[u8]) -> Self {
                let mut word = [0u8; std::mem::size_of::<$t>()];
                word.copy_from_slice(bytes);
                <$t>::from_le_bytes(word)
            }
            fn write_le(self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
        }
    };
}

word!(u8);
word!(u16);
word!(u32);
word!(u64);

fn mask(width: usize) -> u64 {
    if width >= 64 {
        u64::MAX
    } else {
        (1u64 << width) - 1
    }
}

/// The number of T-bit words a block packed to `width` bits takes.
pub fn packed_words<T: Word>(width: usize) -> usize {
    BLOCK * width / T::BITS
}

/// The first input index of row `r`: the row's lanes hold that index and the `LANES - 1`
/// indices after it.
fn row_start(row: usize) -> usize {
    FL_ORDER[row / 8] * 16 + (row % 8) * 128
}

/// Packs 1024 values to `width` bits (the caller guarantees `width <= T::BITS` and that every
/// value fits), appending `packed_words(width)` words to `out`.
///
/// Row by row, the inner loop runs over the lanes: a row's values are contiguous in the input
/// and its words contiguous in the output, so the compiler turns it into vector shifts.
pub fn pack<T: Word>(input: &[T; BLOCK], width: usize, out: &mut Vec<T>) {
    let bits = T::BITS;
    let lanes = BLOCK / bits;
    let start = out.len();
    out.resize(start + packed_words::<T>(width), T::default());
    if width == 0 || width > bits {
        return;
    }
    let packed = &mut out[start..];
    let m = T::from_u64(mask(width));
    for row in 0..bits {
        let position = row * width;
        let (word, bit) = (position / bits, position % bits);
        let values = &input[row_start(row)..row_start(row) + lanes];
        let (low, high) = packed[word * lanes..].split_at_mut(lanes);
        for (slot, &value) in low.iter_mut().zip(values) {
            *slot = *slot | ((value & m) << bit);
        }
        if bit + width > bits {
            for (slot, &value) in high[..lanes].iter_mut().zip(values) {
                *slot = *slot | ((value & m) >> (bits - bit));
            }
        }
    }
}

/// Unpacks a block of `packed_words(width)` words, given as their little-endian bytes and read
/// where they are, into 1024 values (zeros when the block is short or `width` exceeds the
/// word).
pub fn unpack_le<T: Word>(packed: &[u8], width: usize, out: &mut [T; BLOCK]) {
    let bits = T::BITS;
    let word_bytes = bits / 8;
    let lanes = BLOCK / bits;
    let row_bytes = lanes * word_bytes;
    if width == 0 || width > bits || packed.len() < packed_words::<T>(width) * word_bytes {
        out.fill(T::default());
        return;
    }
    let m = T::from_u64(mask(width));
    for row in 0..bits {
        let position = row * width;
        let (word, bit) = (position / bits, position % bits);
        let values = &mut out[row_start(row)..row_start(row) + lanes];
        let low = &packed[word * row_bytes..(word + 1) * row_bytes];
        if bit + width > bits {
            let high = &packed[(word + 1) * row_bytes..(word + 2) * row_bytes];
            let pairs = low
                .chunks_exact(word_bytes)
                .zip(high.chunks_exact(word_bytes));
            for (value, (low, high)) in values.iter_mut().zip(pairs) {
                *value = ((T::from_le(low) >> bit) | (T::from_le(high) << (bits - bit))) & m;
            }
        } else {
            for (value, low) in values.iter_mut().zip(low.chunks_exact(word_bytes)) {
                *value = (T::from_le(low) >> bit) & m;
            }
        }
    }
}

/// Value `index` (below 1024) of a block packed to `width` bits, read straight from the
/// block's little-endian bytes (`packed_words(width)` words); 0 where the bytes are short.
/// Row `r` and lane `l` follow from the index: `r % 8 = (index % 1024) / 128`, and the 16-value
/// group `FL_ORDER[r / 8]` (FL_ORDER is its own inverse) holds `index % 128` at lane `l`.
pub fn unpack_one<T: Word>(packed: &[u8], width: usize, index: usize) -> T {
    let bits = T::BITS;
    let lanes = BLOCK / bits;
    if width == 0 {
        return T::default();
    }
    let base = index % 128;
    let group = base / lanes * lanes / 16;
    let row = FL_ORDER[group] * 8 + (index % BLOCK) / 128;
    let lane = base % lanes;
    let word_at = |word: usize| {
        let at = (word * lanes + lane) * (bits / 8);
        packed
            .get(at..at + bits / 8)
            .map_or(0, |bytes| T::from_le(bytes).to_u64())
    };
    let position = row * width;
    let (word, bit) = (position / bits, position % bits);
    let mut value = word_at(word) >> bit;
    if bit + width > bits {
        value |= word_at(word + 1) << (bits - bit);
    }
    T::from_u64(value & mask(width))
}

/// The words as little-endian bytes; on little-endian machines they already are, so the
/// vector is handed over without a copy.
pub fn into_le_bytes<T: Word>(words: Vec<T>) -> bytes::Bytes {
    if cfg!(target_endian = "little") {
        crate::encodings::buffers::to_bytes(arrow_buffer::Buffer::from_vec(words))
    } else {
        let mut out = Vec::with_capacity(words.len() * T::BITS / 8);
        for word in words {
            word.write_le(&mut out);
        }
        bytes::Bytes::from(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip<T: Word + PartialEq + std::fmt::Debug>() {
        for width in 0..=T::BITS {
            let m = mask(width);
            let mut input = [T::default(); BLOCK];
            for (i, value) in input.iter_mut().enumerate() {
                *value = T::from_u64((i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) & m);
            }
            let mut packed = Vec::new();
            pack(&input, width, &mut packed);
            assert_eq!(packed.len(), packed_words::<T>(width));
            let mut bytes = Vec::new();
            packed.iter().for_each(|word| word.write_le(&mut bytes));
            let mut output = [T::default(); BLOCK];
            unpack_le(&bytes, width, &mut output);
            assert_eq!(input, output, "T={} W={width}", T::BITS);
            // One byte short is no block.
            if let Some((_, short)) = bytes.split_last() {
                unpack_le(short, width, &mut output);
                assert_eq!(output, [T::default(); BLOCK]);
            }
        }
    }

    fn one_at_a_time<T: Word + PartialEq + std::fmt::Debug>() {
        for width in 0..=T::BITS {
            let m = mask(width);
            let input: [T; BLOCK] =
                std::array::from_fn(|i| T::from_u64((i as u64).wrapping_mul(0x2545_F491) & m));
            let mut packed = Vec::new();
            pack(&input, width, &mut packed);
            let bytes: Vec<u8> = packed
                .iter()
                .flat_map(|w| {
                    let mut out = Vec::new();
                    w.write_le(&mut out);
                    out
                })
                .collect();
            for (index, expected) in input.iter().enumerate() {
                let got: T = unpack_one(&bytes, width, index);
                assert_eq!(got, *expected, "T={} W={width} i={index}", T::BITS);
            }
        }
    }

    #[test]
    fn unpacks_single_values_at_every_width() {
        one_at_a_time::<u8>();
        one_at_a_time::<u16>();
        one_at_a_time::<u32>();
        one_at_a_time::<u64>();
    }

    #[test]
    fn round_trips_every_width() {
        round_trip::<u8>();
        round_trip::<u16>();
        round_trip::<u32>();
        round_trip::<u64>();
    }

    #[test]
    fn matches_pylance_bytes() {
        // u8, W = 4, values i % 9 (from a pylance 2.1 inline-bitpacked chunk).
        let input: [u8; BLOCK] = std::array::from_fn(|i| (i % 9) as u8);
        let mut packed = Vec::new();
        pack(&input, 4, &mut packed);
        assert_eq!(&packed[..4], &[0x20, 0x31, 0x42, 0x53]);
        assert_eq!(packed[128], 0x64);
        // u32, W = 7, values i % 100: word 0 is 0xca8e0e00 and word 32 is 0x40c11140.
        let input: [u32; BLOCK] = std::array::from_fn(|i| (i % 100) as u32);
        let mut packed = Vec::new();
        pack(&input, 7, &mut packed);
        assert_eq!(packed[0], 0xca8e_0e00);
        assert_eq!(packed[32], 0x40c1_1140);
    }

    #[test]
    fn full_width_is_a_transposition() {
        let input: [u16; BLOCK] = std::array::from_fn(|i| i as u16);
        let mut packed = Vec::new();
        pack(&input, 16, &mut packed);
        assert_ne!(packed.as_slice(), input.as_slice());
        // Row 8 of lane 0 is input 64 (FL_ORDER[1] * 16 = 64) and lands in word 8 * 64.
        assert_eq!(packed[8 * 64], 64);
    }
}
