//! FSST string compression with Lance's symbol-table serialization.
//!
//! A page has one symbol table of 2312 bytes:
//!
//! ```text
//! bytes 0..8       u64 LE: 0x46535354 << 32 | encoder_switch << 24 | suffix_lim << 16
//!                          | terminator << 8 | n     (n <= 255 symbols)
//! bytes 8..8+8n    the symbols, one u64 each, first character in the low byte
//! bytes 8+8n..+n   the symbols' lengths (1..=8)
//! the rest         zero
//! ```
//!
//! A compressed string is a sequence of codes: code c < n stands for symbol c, and code 255 is
//! an escape followed by one literal byte. Every string is compressed on its own. When
//! `encoder_switch` is 0 the strings are stored as they are.

use bytes::Bytes;

use crate::encodings::compression::block::{DataBlock, VariableValues, offset_words};
use crate::encodings::compression::fastlanes::Word;
use crate::encodings::numbering::{FirstSeen, KeyNumbering};
use crate::error::{Error, Result};

/// The size of a serialized symbol table.
pub const TABLE_BYTES: usize = 2312;
const MAGIC: u64 = 0x4653_5354;
/// The escape code.
pub const ESCAPE: u8 = 255;

/// A parsed symbol table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SymbolTable {
    /// Whether strings are compressed (false: stored as they are).
    pub compressed: bool,
    /// Each symbol's bytes (1 to 8).
    pub symbols: Vec<Vec<u8>>,
    /// The least frequent byte of the sample (used by encoders only).
    pub terminator: u8,
    /// The number of leading 2-byte symbols that prefix longer ones (used by encoders only).
    pub suffix_lim: u8,
}

impl SymbolTable {
    /// Parses a serialized table.
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        if bytes.len() < 8 {
            return Err(Error::corrupt(
                "FSST symbol table is shorter than its header",
            ));
        }
        let mut header = [0u8; 8];
        header.copy_from_slice(&bytes[..8]);
        let header = u64::from_le_bytes(header);
        if header >> 32 != MAGIC {
            return Err(Error::corrupt(format!(
                "FSST symbol table has magic {:08x}, expected {MAGIC:08x}",
                header >> 32
            )));
        }
        let n = (header & 0xff) as usize;
        let terminator = ((header >> 8) & 0xff) as u8;
        let suffix_lim = ((header >> 16) & 0xff) as u8;
        let compressed = (header >> 24) & 0xff != 0;
        let lengths_at = 8 + 8 * n;
        let lengths = bytes
            .get(lengths_at..lengths_at + n)
            .ok_or_else(|| Error::corrupt("FSST symbol table is too short for its symbols"))?;
        let mut symbols = Vec::with_capacity(n);
        for (index, &length) in lengths.iter().enumerate() {
            if !(1..=8).contains(&length) {
                return Err(Error::corrupt(format!(
                    "FSST symbol {index} has length {length}"
                )));
            }
            let at = 8 + 8 * index;
            symbols.push(bytes[at..at + usize::from(length)].to_vec());
        }
        Ok(Self {
            compressed,
            symbols,
            terminator,
            suffix_lim,
        })
    }

    /// Serializes the table (2312 bytes).
    pub fn serialize(&self) -> Vec<u8> {
        let mut out = vec![0u8; TABLE_BYTES];
        let n = self.symbols.len() as u64;
        let header = (MAGIC << 32)
            | (u64::from(self.compressed) << 24)
            | (u64::from(self.suffix_lim) << 16)
            | (u64::from(self.terminator) << 8)
            | n;
        out[..8].copy_from_slice(&header.to_le_bytes());
        for (index, symbol) in self.symbols.iter().enumerate() {
            let at = 8 + 8 * index;
            out[at..at + symbol.len()].copy_from_slice(symbol);
            out[8 + 8 * self.symbols.len() + index] = symbol.len() as u8;
        }
        out
    }

    /// Decompresses one string, appending to `out`.
    pub fn decompress_into(&self, codes: &[u8], out: &mut Vec<u8>) -> Result<()> {
        if !self.compressed {
            out.extend_from_slice(codes);
            return Ok(());
        }
        let mut at = 0;
        while let Some(&code) = codes.get(at) {
            if code == ESCAPE {
                let literal = codes
                    .get(at + 1)
                    .ok_or_else(|| Error::corrupt("FSST string ends with an escape"))?;
                out.push(*literal);
                at += 2;
            } else {
                let symbol = self.symbols.get(usize::from(code)).ok_or_else(|| {
                    Error::corrupt(format!(
                        "FSST code {code} is not in a table of {} symbols",
                        self.symbols.len()
                    ))
                })?;
                out.extend_from_slice(symbol);
                at += 1;
            }
        }
        Ok(())
    }

    /// Decompresses every value of a variable-width block.
    pub fn decompress_block(&self, block: DataBlock) -> Result<DataBlock> {
        BlockDecoder::new(self).decompress_block(block)
    }
}

/// Decompresses every value of a variable-width block with the serialized `table` (as
/// stored in the encoding), without building a [`SymbolTable`].
pub fn decompress_with_table(table: &[u8], block: DataBlock) -> Result<DataBlock> {
    with_decoder(table, |decoder| decoder.decompress_block(block))
}

/// Decompresses every value of a variable-width block of codes with the serialized `table`
/// (as stored in the encoding) onto the end of `joined`: the strings are written straight into
/// the joined bytes, never into a block of their own. On an error `joined` is as it was.
pub fn decompress_onto<W: Word>(
    table: &[u8],
    block: &DataBlock,
    joined: &mut VariableValues<W>,
) -> Result<()> {
    with_decoder(table, |decoder| decoder.decompress_onto(block, joined))
}

/// Runs `f` with the decoding form of the serialized `table`, parsed once per thread for as
/// long as the same table keeps coming: the chunks of a page share one table, and a small
/// chunk (a few hundred strings) costs about as much to decode as its table to parse.
fn with_decoder<T>(table: &[u8], f: impl FnOnce(&BlockDecoder) -> Result<T>) -> Result<T> {
    LAST_DECODER.with(|cell| {
        let Ok(mut slot) = cell.try_borrow_mut() else {
            return f(&BlockDecoder::parse(table)?);
        };
        let decoder = match slot.take() {
            Some((bytes, decoder)) if bytes.as_slice() == table => (bytes, decoder),
            _ => (table.to_vec(), Box::new(BlockDecoder::parse(table)?)),
        };
        let result = f(&decoder.1);
        *slot = Some(decoder);
        result
    })
}

/// Offset `index` of little-endian `W` words, as a `usize` (`usize::MAX` when it does not
/// fit, or is missing: either fails the range checks that follow).
fn offset_word<W: Word>(words: &[u8], index: usize) -> usize {
    let width = W::BITS / 8;
    words
        .get(index * width..(index + 1) * width)
        .and_then(|word| usize::try_from(W::from_le(word).to_u64()).ok())
        .unwrap_or(usize::MAX)
}

/// A symbol table laid out for fast decoding: every code's symbol as an 8-byte word and its
/// length (0 for codes the table does not have).
struct BlockDecoder {
    compressed: bool,
    words: [[u8; 8]; 256],
    lengths: [u8; 256],
    num_symbols: usize,
}

impl BlockDecoder {
    fn new(table: &SymbolTable) -> Self {
        let mut words = [[0u8; 8]; 256];
        let mut lengths = [0u8; 256];
        for (code, symbol) in table.symbols.iter().enumerate().take(usize::from(ESCAPE)) {
            let n = symbol.len().min(8);
            words[code][..n].copy_from_slice(&symbol[..n]);
            lengths[code] = n as u8;
        }
        Self {
            compressed: table.compressed,
            words,
            lengths,
            num_symbols: table.symbols.len(),
        }
    }

    /// Reads a serialized table straight into decoding form (no allocation), with the
    /// checks of [`SymbolTable::parse`].
    fn parse(bytes: &[u8]) -> Result<Self> {
        let header = bytes
            .get(..8)
            .ok_or_else(|| Error::corrupt("FSST symbol table is shorter than its header"))?;
        let mut word = [0u8; 8];
        word.copy_from_slice(header);
        let header = u64::from_le_bytes(word);
        if header >> 32 != MAGIC {
            return Err(Error::corrupt(format!(
                "FSST symbol table has magic {:08x}, expected {MAGIC:08x}",
                header >> 32
            )));
        }
        let n = (header & 0xff) as usize;
        let lengths_at = 8 + 8 * n;
        let lengths = bytes
            .get(lengths_at..lengths_at + n)
            .ok_or_else(|| Error::corrupt("FSST symbol table is too short for its symbols"))?;
        let mut decoder = Self {
            compressed: (header >> 24) & 0xff != 0,
            words: [[0u8; 8]; 256],
            lengths: [0u8; 256],
            num_symbols: n,
        };
        for (index, &length) in lengths.iter().enumerate() {
            if !(1..=8).contains(&length) {
                return Err(Error::corrupt(format!(
                    "FSST symbol {index} has length {length}"
                )));
            }
            if index < usize::from(ESCAPE) {
                // Each symbol has an 8-byte slot: copied whole (a copy of its own length is a
                // call to `memcpy` per symbol), the bytes past its length cleared.
                let at = 8 + 8 * index;
                let mut slot = [0u8; 8];
                slot.copy_from_slice(&bytes[at..at + 8]);
                let kept = u64::MAX >> (64 - 8 * u32::from(length));
                decoder.words[index] = (u64::from_le_bytes(slot) & kept).to_le_bytes();
                decoder.lengths[index] = length;
            }
        }
        Ok(decoder)
    }

    /// Decompresses every value of a variable-width block. A string's codes never reach into
    /// the next string, so the codes of all the strings are decoded in one pass, noting where
    /// each code's output starts; the strings' offsets are then looked up there.
    fn decompress_block(&self, block: DataBlock) -> Result<DataBlock> {
        let DataBlock::Variable {
            offsets,
            offset_bits,
            data,
            num_values,
        } = block
        else {
            return Err(Error::corrupt("FSST values are not variable-width"));
        };
        let count = num_values
            .checked_add(1)
            .ok_or_else(|| Error::corrupt("FSST block has too many values"))?;
        let (offsets, out) = match offset_bits {
            32 => self.decode_offsets(&offsets, count, data.as_ref(), |w: [u8; 4]| {
                u32::from_le_bytes(w) as usize
            })?,
            64 => self.decode_offsets(&offsets, count, data.as_ref(), |w: [u8; 8]| {
                usize::try_from(u64::from_le_bytes(w)).unwrap_or(usize::MAX)
            })?,
            _ => {
                return Err(Error::corrupt(format!(
                    "FSST offsets of {offset_bits} bits"
                )));
            }
        };
        Ok(DataBlock::Variable {
            offsets,
            offset_bits,
            data: Bytes::from(out),
            num_values,
        })
    }

    /// Decodes the codes between the first and the last of `count` offsets (`W`-byte words,
    /// read by `read`) and returns the decoded strings' offsets (as the same words) and bytes.
    /// The offsets must ascend; a selection's offsets may point into a larger buffer, so only
    /// their span is decoded.
    fn decode_offsets<const W: usize>(
        &self,
        offsets: &[u8],
        count: usize,
        data: &[u8],
        read: impl Fn([u8; W]) -> usize,
    ) -> Result<(Bytes, Vec<u8>)> {
        let words = offsets
            .get(..count.saturating_mul(W))
            .ok_or_else(|| Error::corrupt("FSST offsets are short"))?
            .as_chunks::<W>()
            .0;
        let first = words.first().map_or(0, |&w| read(w));
        let last = words.last().map_or(0, |&w| read(w));
        let codes = data
            .get(first..last)
            .ok_or_else(|| Error::corrupt("FSST offsets point outside their data"))?;
        CODE_STARTS.with(|scratch| match scratch.try_borrow_mut() {
            Ok(mut starts) => self.decode_mapped(words, first, codes, &mut starts, &read),
            Err(_) => self.decode_mapped(words, first, codes, &mut Vec::new(), &read),
        })
    }

    /// [`Self::decode_offsets`] once the codes are known: decodes them, noting each code's
    /// start in `starts` (a scratch buffer), and looks the offsets up there.
    fn decode_mapped<const W: usize>(
        &self,
        words: &[[u8; W]],
        first: usize,
        codes: &[u8],
        starts: &mut Vec<u32>,
        read: impl Fn([u8; W]) -> usize,
    ) -> Result<(Bytes, Vec<u8>)> {
        let mut out = Vec::new();
        self.decode_all(codes, starts, &mut out)?;
        let starts = starts.get(..=codes.len()).unwrap_or_default();
        let mut mapping = OffsetMapping::new(starts, first);
        let mut decoded = Vec::with_capacity(words.len() * W);
        for &word in words {
            let start = mapping.start_of(read(word));
            let mut bytes = [0u8; W];
            let le = u64::from(start).to_le_bytes();
            let n = W.min(8);
            bytes[..n].copy_from_slice(&le[..n]);
            decoded.extend_from_slice(&bytes);
        }
        mapping.check()?;
        Ok((Bytes::from(decoded), out))
    }

    /// [`decompress_onto`] with this table.
    fn decompress_onto<W: Word>(
        &self,
        block: &DataBlock,
        joined: &mut VariableValues<W>,
    ) -> Result<()> {
        let (words, data, _) = offset_words::<W>(block)?;
        let width = W::BITS / 8;
        let first = offset_word::<W>(words, 0);
        let last = offset_word::<W>(words, words.len() / width - 1);
        let codes = data
            .get(first..last)
            .ok_or_else(|| Error::corrupt("FSST offsets point outside their data"))?;
        let (joined_offsets, joined_data) = joined.parts_mut();
        CODE_STARTS.with(|scratch| match scratch.try_borrow_mut() {
            Ok(mut starts) => self.decode_onto(
                words,
                first,
                codes,
                &mut starts,
                joined_offsets,
                joined_data,
            ),
            Err(_) => self.decode_onto(
                words,
                first,
                codes,
                &mut Vec::new(),
                joined_offsets,
                joined_data,
            ),
        })
    }

    /// [`decompress_onto`] once the codes are known: decodes them onto `data` and appends
    /// each string's end (after the first offset, which is the joined bytes' end already) to
    /// `offsets`.
    fn decode_onto<W: Word>(
        &self,
        words: &[u8],
        first: usize,
        codes: &[u8],
        starts: &mut Vec<u32>,
        offsets: &mut Vec<W>,
        data: &mut Vec<u8>,
    ) -> Result<()> {
        let base = data.len();
        self.decode_all(codes, starts, data)?;
        if data.len() as u64 > W::from_u64(u64::MAX).to_u64() {
            data.truncate(base);
            return Err(Error::not_supported(
                "more than 4 GiB of values in one read",
            ));
        }
        let starts = starts.get(..=codes.len()).unwrap_or_default();
        // Every offset must ascend and find a code's start. The new offsets go into slots
        // made first (pushed, the vector's length went to
        // memory per value).
        let kept = offsets.len();
        let words = words.chunks_exact(W::BITS / 8).skip(1);
        offsets.resize(kept + words.len(), W::default());
        let mut mapping = OffsetMapping::new(starts, first);
        for (slot, word) in offsets.iter_mut().skip(kept).zip(words) {
            let at = usize::try_from(W::from_le(word).to_u64()).unwrap_or(usize::MAX);
            *slot = W::from_u64(base as u64 + u64::from(mapping.start_of(at)));
        }
        if let Err(error) = mapping.check() {
            offsets.truncate(kept);
            data.truncate(base);
            return Err(error);
        }
        Ok(())
    }

    /// Decodes eight codes without escapes (`word`, the first in its low byte) into
    /// `window`, the output from `*len` on, noting each code's start (`base` is `*len`) and
    /// advancing `*len`. Returns whether a code is not in the table.
    #[inline(always)]
    fn decode_eight<const CHECK: bool>(
        &self,
        word: u64,
        base: u32,
        starts: &mut [u32; 8],
        window: &mut [u8; 72],
        len: &mut usize,
    ) -> bool {
        // Symbols are 1 to 8 bytes long (unknown codes 0 here, and reported when `CHECK`,
        // which a table of all 255 symbols does not need): eight of them
        // end within the window's first 64 bytes, so no write leaves it. The position is
        // masked to 0..64 (which it is anyway) so that the compiler drops the bounds check;
        // each code's length is added as it is, one add per code on the dependency chain.
        let mut written = 0usize;
        let mut unknown = false;
        for (k, start) in starts.iter_mut().enumerate() {
            let code = usize::from((word >> (8 * k)) as u8);
            *start = base + written as u32;
            let length = self.lengths[code];
            if CHECK {
                unknown |= length == 0;
            }
            let at = written & 63;
            window[at..at + 8].copy_from_slice(&self.words[code]);
            written += usize::from(length);
        }
        *len += written;
        unknown
    }

    /// Decodes a run of codes, appending the decoded bytes to `out`, and sets `starts[i]` for
    /// each code `i` (and the end, `codes.len()`) to the number of bytes decoded before it
    /// ([`INSIDE_ESCAPE`] for the literal that follows an escape). `starts` is a scratch
    /// buffer: it is only grown, never cleared, as every entry up to the end is written.
    /// On an error `out` is as it was.
    fn decode_all(&self, codes: &[u8], starts: &mut Vec<u32>, out: &mut Vec<u8>) -> Result<()> {
        // Each code yields at most 8 bytes: positions fit in 32 bits below this.
        if codes.len() > (INSIDE_ESCAPE as usize - 8) / 8 {
            return Err(Error::not_supported("an FSST block of more than 512 MiB"));
        }
        if starts.len() <= codes.len() {
            starts.resize(codes.len() + 1, 0);
        }
        let starts = &mut starts[..=codes.len()];
        if !self.compressed {
            for (start, position) in starts.iter_mut().zip(0u32..) {
                *start = position;
            }
            out.extend_from_slice(codes);
            return Ok(());
        }
        // A table of all 255 symbols has no unknown codes to look for.
        if self.num_symbols >= usize::from(ESCAPE) {
            self.decode_codes::<false>(codes, starts, out)
        } else {
            self.decode_codes::<true>(codes, starts, out)
        }
    }

    /// [`Self::decode_all`] of compressed codes (`starts` has room for them), looking for
    /// unknown codes when `CHECK`.
    fn decode_codes<const CHECK: bool>(
        &self,
        codes: &[u8],
        starts: &mut [u32],
        out: &mut Vec<u8>,
    ) -> Result<()> {
        // `out[base..len]` holds the decoded bytes; every symbol is written as a whole 8-byte
        // word into the slack beyond, which is kept at least 72 bytes (eight codes and one
        // word) and zeroed a little at a time, just ahead of the writes.
        let base = out.len();
        out.reserve(codes.len() * 3 + 72);
        let mut len = base;
        // Unknown codes have length 0; they are reported once all are decoded.
        let mut unknown = false;
        let mut at = 0;
        while at < codes.len() {
            if out.len() < len + 72 {
                out.resize(len + 72 + SLACK_STEP, 0);
            }
            // Eight codes at a time while they hold no escape.
            if let (Some(eight), Some(group_starts), Some(window)) = (
                codes.get(at..).and_then(<[u8]>::first_chunk::<8>),
                starts.get_mut(at..).and_then(<[u32]>::first_chunk_mut::<8>),
                out.get_mut(len..).and_then(<[u8]>::first_chunk_mut::<72>),
            ) {
                let word = u64::from_le_bytes(*eight);
                if !has_escape(word) {
                    let start = (len - base) as u32;
                    unknown |=
                        self.decode_eight::<CHECK>(word, start, group_starts, window, &mut len);
                    at += 8;
                    continue;
                }
            }
            let code = codes[at];
            starts[at] = (len - base) as u32;
            if code == ESCAPE {
                let Some(&literal) = codes.get(at + 1) else {
                    out.truncate(base);
                    return Err(Error::corrupt("FSST codes end with an escape"));
                };
                starts[at + 1] = INSIDE_ESCAPE;
                out[len] = literal;
                len += 1;
                at += 2;
            } else {
                out[len..len + 8].copy_from_slice(&self.words[usize::from(code)]);
                let length = usize::from(self.lengths[usize::from(code)]);
                len += length;
                unknown |= length == 0;
                at += 1;
            }
        }
        starts[codes.len()] = (len - base) as u32;
        if unknown {
            out.truncate(base);
            return Err(Error::corrupt(format!(
                "FSST codes refer to symbols beyond the table's {}",
                self.num_symbols
            )));
        }
        out.truncate(len);
        Ok(())
    }
}

/// Maps string offsets (positions in a block's codes, from `first`) to where their codes'
/// output starts ([`BlockDecoder::decode_all`]'s `starts`), noting offsets that descend or
/// fall inside an escape (or beyond the codes) without a branch per offset.
struct OffsetMapping<'a> {
    starts: &'a [u32],
    first: usize,
    previous: usize,
    descends: bool,
    inside_escape: bool,
}

impl<'a> OffsetMapping<'a> {
    fn new(starts: &'a [u32], first: usize) -> Self {
        Self {
            starts,
            first,
            previous: first,
            descends: false,
            inside_escape: false,
        }
    }

    /// The output start of the code at `at` ([`INSIDE_ESCAPE`] when there is none).
    #[inline(always)]
    fn start_of(&mut self, at: usize) -> u32 {
        self.descends |= at < self.previous;
        self.previous = at;
        let start = self
            .starts
            .get(at.wrapping_sub(self.first))
            .copied()
            .unwrap_or(INSIDE_ESCAPE);
        self.inside_escape |= start == INSIDE_ESCAPE;
        start
    }

    /// An error when an offset descended or found no code start.
    fn check(&self) -> Result<()> {
        if self.descends {
            return Err(Error::corrupt("FSST offsets descend"));
        }
        if self.inside_escape {
            return Err(Error::corrupt(
                "an FSST string starts or ends inside an escape",
            ));
        }
        Ok(())
    }
}

thread_local! {
    /// Each thread's scratch buffer of code starts for [`BlockDecoder::decode_all`], reused so
    /// that it is neither allocated nor zero-filled per block.
    static CODE_STARTS: std::cell::RefCell<Vec<u32>> = const { std::cell::RefCell::new(Vec::new()) };

    /// Each thread's last parsed symbol table, with the bytes it was parsed from
    /// (see [`with_decoder`]).
    static LAST_DECODER: std::cell::RefCell<Option<(Vec<u8>, Box<BlockDecoder>)>> =
        const { std::cell::RefCell::new(None) };
}

/// Bytes of output slack [`BlockDecoder::decode_all`] zeroes at a time beyond the 72 it needs.
const SLACK_STEP: usize = 1024;

/// Marks the literal byte after an escape in [`BlockDecoder::decode_all`]'s code starts: no
/// string may start or end there.
const INSIDE_ESCAPE: u32 = u32::MAX;

/// Whether any byte of `word` is the escape code 255.
#[inline]
fn has_escape(word: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    // A byte of `!word` is zero exactly where `word` has 255.
    let inverted = !word;
    inverted.wrapping_sub(ONES) & !inverted & HIGHS != 0
}

/// A long symbol as the encoder compares it: its bytes as a little-endian word shifted left
/// so that only they remain, that shift, its length and its code.
#[derive(Clone, Copy, Debug)]
struct Candidate {
    shifted: u64,
    shift: u8,
    len: u8,
    code: u8,
}

impl Candidate {
    /// A hash slot without a symbol: its length is never available.
    const NONE: Candidate = Candidate {
        shifted: 0,
        shift: 0,
        len: u8::MAX,
        code: 0,
    };

    /// `symbol` is 1 to 8 bytes.
    fn new(code: u8, symbol: &[u8]) -> Self {
        let shift = 64 - 8 * symbol.len().min(8) as u32;
        Self {
            shifted: symbol_word(symbol) << shift,
            shift: shift as u8,
            len: symbol.len() as u8,
            code,
        }
    }

    /// Whether the symbol starts `word`, of which `available` bytes are text.
    #[inline]
    fn matches(&self, word: u64, available: usize) -> bool {
        // Both tests are made (`&`, not `&&`), so that no branch depends on the text.
        (usize::from(self.len) <= available) & (word << self.shift == self.shifted)
    }
}

/// The first 8 bytes of `symbol` as a little-endian word, zero-padded.
fn symbol_word(symbol: &[u8]) -> u64 {
    let mut bytes = [0u8; 8];
    let n = symbol.len().min(8);
    bytes[..n].copy_from_slice(&symbol[..n]);
    u64::from_le_bytes(bytes)
}

/// A symbol of 1 to 8 bytes as a map key: its bytes as a little-endian word (zero-padded) and
/// its length. (Hashing these is much cheaper than hashing slices, and needs no allocation.)
type SymbolKey = (u64, u8);

/// The key of the first `len` bytes of `word` (1 to 8).
fn key_of_word(word: u64, len: usize) -> SymbolKey {
    let mask = if len >= 8 {
        u64::MAX
    } else {
        (1u64 << (8 * len)) - 1
    };
    (word & mask, len.min(8) as u8)
}

/// A key's bytes.
fn key_bytes(key: SymbolKey) -> Vec<u8> {
    key.0.to_le_bytes()[..usize::from(key.1).min(8)].to_vec()
}

/// Sums of amounts per symbol. Symbols are numbered through a [`FirstSeen`] table (a
/// multiply, a load and a compare per addition) and their sums kept in a vector.
struct SymbolSums {
    numbers: FirstSeen<u128>,
    keys: Vec<SymbolKey>,
    sums: Vec<u64>,
}

impl SymbolSums {
    fn with_capacity(capacity: usize) -> Self {
        Self {
            numbers: FirstSeen::with_capacity(capacity),
            keys: Vec::with_capacity(capacity),
            sums: Vec::with_capacity(capacity),
        }
    }

    fn add(&mut self, key: SymbolKey, amount: u64) {
        let (number, new) = self
            .numbers
            .number(u128::from(key.0) | u128::from(key.1) << 64);
        if new {
            self.keys.push(key);
            self.sums.push(0);
        }
        if let Some(sum) = self.sums.get_mut(number as usize) {
            *sum += amount;
        }
    }

    /// Each symbol with its sum (in first-seen order).
    fn into_sums(self) -> impl Iterator<Item = (SymbolKey, u64)> {
        self.keys.into_iter().zip(self.sums)
    }
}

/// Orders scored candidates by gain, largest first, then by their bytes. (The bytes compare
/// as their big-endian word, zero-padded, then by length: the same order as the slices.)
fn by_gain_then_bytes(a: &(SymbolKey, u64), b: &(SymbolKey, u64)) -> std::cmp::Ordering {
    b.1.cmp(&a.1)
        .then_with(|| (a.0.0.swap_bytes(), a.0.1).cmp(&(b.0.0.swap_bytes(), b.0.1)))
}

/// The symbols `pick_symbols` takes from `scored`, ranked by [`by_gain_then_bytes`]. Only the
/// best few thousand are sorted (after a selection), unless the symbols taken from those run
/// short of a full table.
fn pick_ranked(mut scored: Vec<(SymbolKey, u64)>) -> Vec<Vec<u8>> {
    const RANKED: usize = 4096;
    if scored.len() > RANKED {
        scored.select_nth_unstable_by(RANKED - 1, by_gain_then_bytes);
        let (best, _) = scored.split_at_mut(RANKED);
        best.sort_by(by_gain_then_bytes);
        let symbols = pick_symbols(best.iter().map(|(key, _)| key_bytes(*key)));
        if symbols.len() == 255 {
            return symbols;
        }
    }
    scored.sort_by(by_gain_then_bytes);
    pick_symbols(scored.into_iter().map(|(key, _)| key_bytes(key)))
}

/// The 255 substrings of 1 to 8 bytes that save the most bytes in `sample`
/// (`count · (length - 1)`, a single byte its escape), at most one symbol per 8-byte prefix
/// family being preferred by score only.
fn substring_candidates(sample: &[&[u8]]) -> Vec<Vec<u8>> {
    let mut counts = SymbolSums::with_capacity(4096);
    for string in sample {
        for start in 0..string.len() {
            let word = word_at(string, start);
            for len in 1..=8.min(string.len() - start) {
                counts.add(key_of_word(word, len), 1);
            }
        }
    }
    let scored: Vec<(SymbolKey, u64)> = counts
        .into_sums()
        .map(|(key, count)| (key, count * (u64::from(key.1) - 1).max(1)))
        .filter(|(_, gain)| *gain > 1)
        .collect();
    pick_ranked(scored)
}

/// The first 255 of `ranked` that the encoder can use: a symbol of three or more bytes is
/// skipped when one ranked before it has the same three-byte prefix hash (the encoder looks
/// up one long symbol per hash).
fn pick_symbols(ranked: impl Iterator<Item = Vec<u8>>) -> Vec<Vec<u8>> {
    let mut taken = vec![false; HASH_BUCKETS];
    let mut symbols = Vec::with_capacity(255);
    for symbol in ranked {
        if symbols.len() == 255 {
            break;
        }
        if symbol.len() >= 3 {
            let bucket = hash3(symbol_word(&symbol));
            if std::mem::replace(&mut taken[bucket], true) {
                continue;
            }
        }
        symbols.push(symbol);
    }
    symbols
}

/// Builds symbol tables and compresses strings with them.
///
/// The table is learned from a sample of the strings in a few rounds: parse the sample greedily
/// (longest symbol first, escaping bytes without a symbol), count how often each token and
/// each pair of adjacent tokens occurs, and keep the 255 candidates that save the most bytes
/// (`count · (length - 1)`; a single byte saves its escape byte). The table that compresses
/// the sample best is kept. Any table with symbols of 1 to 8 bytes decodes correctly.
#[derive(Debug)]
pub struct Encoder {
    table: SymbolTable,
    /// For each hash of three bytes, the one symbol of 3 to 8 bytes with that hash (an entry
    /// that never matches when there is none).
    long_symbols: Box<[Candidate; HASH_BUCKETS]>,
    /// For each two-byte prefix (first byte in the low bits): the best symbol of at most two
    /// bytes that starts the text, as `code | length << 8` (length 0: no symbol, escape).
    /// (Arrays of fixed length, so that lookups by hash or prefix need no bounds checks.)
    short: Box<[u16; 1 << 16]>,
    /// The same for a single byte (a text's last byte), from the one-byte symbols only.
    single_byte: [u16; 256],
}

/// Buckets of the three-byte prefix hash.
const HASH_BITS: u32 = 10;
const HASH_BUCKETS: usize = 1 << HASH_BITS;

/// The 8 bytes of `data` from `at` as a little-endian word, zero past its end.
#[inline]
fn word_at(data: &[u8], at: usize) -> u64 {
    match data.get(at..at + 8) {
        Some(bytes) => {
            let mut word = [0u8; 8];
            word.copy_from_slice(bytes);
            u64::from_le_bytes(word)
        }
        None => {
            let mut word = [0u8; 8];
            let rest = data.get(at..).unwrap_or_default();
            word[..rest.len()].copy_from_slice(rest);
            u64::from_le_bytes(word)
        }
    }
}

/// Bytes of the scratch buffer `compress_strings` compresses into.
const SCRATCH_BYTES: usize = 64 * 1024;

/// The bucket of a word's first three bytes.
#[inline]
fn hash3(word: u64) -> usize {
    ((word as u32 & 0x00ff_ffff).wrapping_mul(0x9E37_79B1) >> (32 - HASH_BITS)) as usize
}

const SAMPLE_BYTES: usize = 16 * 1024;
const ROUNDS: usize = 5;

impl Encoder {
    /// Learns a table from `strings` (a sample of them is used).
    pub fn train<'a>(strings: impl ExactSizeIterator<Item = &'a [u8]> + Clone) -> Self {
        let total: usize = strings.clone().map(<[u8]>::len).sum();
        // A pseudo-random sample (a fixed seed keeps files reproducible); evenly spaced
        // strings would repeat patterns in the data and overfit the table to them.
        let keep_one_in = (total / SAMPLE_BYTES).max(1) as u64;
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut taken = 0usize;
        let mut sample: Vec<&[u8]> = Vec::new();
        for string in strings {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            if (state >> 33).is_multiple_of(keep_one_in) {
                sample.push(string);
                taken += string.len();
                if taken >= SAMPLE_BYTES * 2 {
                    break;
                }
            }
        }
        // Start from the substrings that save the most bytes, then refine by parsing.
        let mut encoder = Self::from_symbols(substring_candidates(&sample));
        let mut best = Some((
            encoder.compressed_size(&sample),
            Self::from_symbols(encoder.table.symbols.clone()),
        ));
        for _ in 0..ROUNDS {
            let mut gains = SymbolSums::with_capacity(1024);
            for string in &sample {
                let tokens = encoder.tokens(string);
                for (index, token) in tokens.iter().enumerate() {
                    // A symbol of length l saves l - 1 bytes per use over single-byte symbols;
                    // a single-byte symbol saves the escape byte.
                    let word = symbol_word(token);
                    gains.add(
                        key_of_word(word, token.len()),
                        (token.len() as u64 - 1).max(1),
                    );
                    if let Some(next) = tokens.get(index + 1) {
                        // The token and the next one, cut to 8 bytes.
                        let joined_len = (token.len() + next.len()).min(8);
                        let joined = if token.len() >= 8 {
                            word
                        } else {
                            word | symbol_word(next) << (8 * token.len())
                        };
                        gains.add(key_of_word(joined, joined_len), joined_len as u64 - 1);
                    }
                }
            }
            let candidates: Vec<(SymbolKey, u64)> =
                gains.into_sums().filter(|(_, g)| *g > 0).collect();
            encoder = Self::from_symbols(pick_ranked(candidates));
            // Keep the table that compresses the sample best.
            let size = encoder.compressed_size(&sample);
            if best.as_ref().is_none_or(|(best_size, _)| size < *best_size) {
                best = Some((size, Self::from_symbols(encoder.table.symbols.clone())));
            }
        }
        best.map_or(encoder, |(_, table)| table)
    }

    /// The bytes the strings take once compressed.
    fn compressed_size(&self, strings: &[&[u8]]) -> usize {
        let mut codes = Vec::new();
        strings
            .iter()
            .map(|s| {
                codes.resize(2 * s.len(), 0);
                self.compress_range(s, 0, s.len(), &mut codes, 0)
            })
            .sum()
    }

    fn from_symbols(symbols: Vec<Vec<u8>>) -> Self {
        let mut single_byte = [0u16; 256];
        let mut pairs = Vec::new();
        let mut long_symbols = Box::new([Candidate::NONE; HASH_BUCKETS]);
        for (code, symbol) in symbols.iter().enumerate().take(255) {
            let code = code as u8;
            match symbol.as_slice() {
                [byte] => single_byte[usize::from(*byte)] = u16::from(code) | 1 << 8,
                [a, b] => pairs.push((usize::from(*a) | usize::from(*b) << 8, code)),
                [_, _, _, ..] if symbol.len() <= 8 => {
                    let candidate = Candidate::new(code, symbol);
                    let slot = &mut long_symbols[hash3(symbol_word(symbol))];
                    // Symbols picked for another encoder may share a hash; the first is used.
                    if slot.len == Candidate::NONE.len {
                        *slot = candidate;
                    }
                }
                _ => {}
            }
        }
        // Without a two-byte symbol, a prefix falls back to its first byte's symbol.
        let mut short = Box::new([0u16; 1 << 16]);
        for (prefix, entry) in short.iter_mut().enumerate() {
            *entry = single_byte[prefix & 0xff];
        }
        for (prefix, code) in pairs {
            short[prefix] = u16::from(code) | 2 << 8;
        }
        Self {
            table: SymbolTable {
                compressed: true,
                symbols,
                terminator: 0,
                suffix_lim: 0,
            },
            long_symbols,
            short,
            single_byte,
        }
    }

    /// The longest symbol that starts `word` (the next `available` bytes of the text, 1 to 8,
    /// in the low bytes): its code and length, or length 0 when the first byte must be
    /// escaped.
    #[inline]
    fn longest_match(&self, word: u64, available: usize) -> (u8, usize) {
        let short = if available >= 2 {
            self.short[(word & 0xffff) as usize]
        } else {
            self.single_byte[(word & 0xff) as usize]
        };
        let long = &self.long_symbols[hash3(word)];
        // Whether the long symbol matches is as good as random: chosen by selects, not by a
        // branch that would be mispredicted about as often as not.
        let hit = long.matches(word, available);
        let long_pair = u16::from(long.code) | u16::from(long.len) << 8;
        let pair = std::hint::select_unpredictable(hit, long_pair, short);
        ((pair & 0xff) as u8, usize::from(pair >> 8))
    }

    /// The greedy parse of a string into symbols and single bytes.
    fn tokens<'s>(&self, string: &'s [u8]) -> Vec<&'s [u8]> {
        let mut tokens = Vec::new();
        let mut at = 0;
        while at < string.len() {
            let available = (string.len() - at).min(8);
            let len = self.longest_match(word_at(string, at), available).1.max(1);
            tokens.push(&string[at..at + len]);
            at += len;
        }
        tokens
    }

    /// Compresses the strings `data[offsets[i]..offsets[i + 1]]`: returns their codes, back to
    /// back, and `n + 1` offsets into them.
    ///
    /// Offsets that are not ascending or point outside `data` are an internal error (they come
    /// from the writer's own buffers).
    pub fn compress_strings(&self, data: &[u8], offsets: &[u64]) -> Result<(Vec<u8>, Vec<u64>)> {
        let first = offsets.first().copied().unwrap_or(0) as usize;
        let last = offsets.last().copied().unwrap_or(0) as usize;
        if last > data.len() || first > last {
            return Err(Error::internal("string offsets outside their data"));
        }
        // Strings are compressed into a small zeroed scratch buffer with room for two codes
        // per byte (an escape and the byte), which is appended to the codes whenever the next
        // string might not fit: zero-filling twice the page's text up front cost more than
        // this copy of the codes (about a third of the text).
        let mut codes = Vec::with_capacity((last - first) / 2 + 64);
        let mut scratch = vec![0u8; SCRATCH_BYTES];
        let mut written = 0usize;
        let mut new_offsets = Vec::with_capacity(offsets.len());
        new_offsets.push(0u64);
        let string = |index: usize| -> Result<Option<(usize, usize)>> {
            let (Some(&start), Some(&end)) = (offsets.get(index), offsets.get(index + 1)) else {
                return Ok(None);
            };
            let (start, end) = (start as usize, end as usize);
            if start > end || end > last {
                return Err(Error::internal("string offsets are not ascending"));
            }
            Ok(Some((start, end)))
        };
        // Strings are compressed two at a time, their parses interleaved: each symbol found
        // depends on the one before (a chain of loads), so one string alone leaves the core
        // idle. The second string's codes go after the room the first could need and are
        // moved down once both are done.
        let mut index = 0;
        while let Some(a) = string(index)? {
            let b = string(index + 1)?;
            let room_a = 2 * (a.1 - a.0) + 8;
            let room = room_a + b.map_or(0, |b| 2 * (b.1 - b.0) + 8);
            if written + room > scratch.len() {
                codes.extend_from_slice(&scratch[..written]);
                written = 0;
                if room > scratch.len() {
                    scratch.resize(room, 0);
                }
            }
            let Some(b) = b else {
                written = self.compress_range(data, a.0, a.1, &mut scratch, written);
                new_offsets.push((codes.len() + written) as u64);
                break;
            };
            let b_at = written + room_a;
            let (a_end, b_end) = self.compress_pair(data, a, b, &mut scratch, written, b_at);
            scratch.copy_within(b_at..b_end, a_end);
            new_offsets.push((codes.len() + a_end) as u64);
            written = a_end + (b_end - b_at);
            new_offsets.push((codes.len() + written) as u64);
            index += 2;
        }
        codes.extend_from_slice(&scratch[..written]);
        Ok((codes, new_offsets))
    }

    /// Compresses strings `a` and `b` (byte ranges of `data`) into `codes` from `at_a` and
    /// from `at_b` on (each with room for two codes per byte), a symbol of each in turn;
    /// returns where each one's codes end.
    fn compress_pair(
        &self,
        data: &[u8],
        (mut a, a_end): (usize, usize),
        (mut b, b_end): (usize, usize),
        codes: &mut [u8],
        mut at_a: usize,
        mut at_b: usize,
    ) -> (usize, usize) {
        while a < a_end && b < b_end {
            (a, at_a) = self.compress_symbol(data, a, a_end, codes, at_a);
            (b, at_b) = self.compress_symbol(data, b, b_end, codes, at_b);
        }
        let at_a = self.compress_range(data, a, a_end, codes, at_a);
        let at_b = self.compress_range(data, b, b_end, codes, at_b);
        (at_a, at_b)
    }

    /// Writes the code of the longest symbol at `data[at..end]` (or an escape and the byte)
    /// into `codes` at `written`; returns the positions after them.
    #[inline(always)]
    fn compress_symbol(
        &self,
        data: &[u8],
        at: usize,
        end: usize,
        codes: &mut [u8],
        written: usize,
    ) -> (usize, usize) {
        let word = word_at(data, at);
        let (code, len) = self.longest_match(word, (end - at).min(8));
        // An escape writes 255 and the byte; a symbol writes its code (the second byte is
        // overwritten by the next code).
        let escaped = len == 0;
        if let Some(out) = codes.get_mut(written..written + 2) {
            out[0] = if escaped { ESCAPE } else { code };
            out[1] = word as u8;
        }
        (at + len.max(1), written + 1 + usize::from(escaped))
    }

    /// Compresses `data[start..end]` into `codes` from `written` on (which has room for two
    /// codes per byte); returns the new length.
    #[inline]
    fn compress_range(
        &self,
        data: &[u8],
        start: usize,
        end: usize,
        codes: &mut [u8],
        mut written: usize,
    ) -> usize {
        let mut at = start;
        while at < end {
            (at, written) = self.compress_symbol(data, at, end, codes, written);
        }
        written
    }

    /// Compresses one string, appending its codes to `out`.
    pub fn compress_into(&self, string: &[u8], out: &mut Vec<u8>) {
        let mut codes = vec![0u8; 2 * string.len()];
        let written = self.compress_range(string, 0, string.len(), &mut codes, 0);
        out.extend_from_slice(&codes[..written]);
    }

    /// The table to store with the page.
    pub fn table(&self) -> &SymbolTable {
        &self.table
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_symbols_and_escapes() {
        let table = SymbolTable {
            compressed: true,
            symbols: vec![
                b"user-".to_vec(),
                b"0@exampl".to_vec(),
                b"e.".to_vec(),
                b"com".to_vec(),
            ],
            terminator: 0,
            suffix_lim: 0,
        };
        let bytes = table.serialize();
        assert_eq!(bytes.len(), TABLE_BYTES);
        assert_eq!(&bytes[..8], &[4, 0, 0, 1, 0x54, 0x53, 0x53, 0x46]);
        // Lengths follow the 4 symbols directly.
        assert_eq!(&bytes[40..44], &[5, 8, 2, 3]);
        let parsed = SymbolTable::parse(&bytes).unwrap();
        assert_eq!(parsed, table);
        let mut out = Vec::new();
        parsed
            .decompress_into(&[0, 1, 2, 3, ESCAPE, b'!'], &mut out)
            .unwrap();
        assert_eq!(out, b"user-0@example.com!");
        assert!(parsed.decompress_into(&[9], &mut out).is_err());
        assert!(parsed.decompress_into(&[ESCAPE], &mut out).is_err());
    }

    #[test]
    fn blocks_decode_and_bad_blocks_are_corrupt() {
        let table = SymbolTable {
            compressed: true,
            symbols: vec![b"ab".to_vec(), b"cdefghij".to_vec(), b"k".to_vec()],
            terminator: 0,
            suffix_lim: 0,
        }
        .serialize();
        let block = |codes: &[u8], offsets: &[u32]| DataBlock::Variable {
            offsets: Bytes::from(
                offsets
                    .iter()
                    .flat_map(|o| o.to_le_bytes())
                    .collect::<Vec<_>>(),
            ),
            offset_bits: 32,
            data: Bytes::copy_from_slice(codes),
            num_values: offsets.len() - 1,
        };
        let decode =
            |codes: &[u8], offsets: &[u32]| decompress_with_table(&table, block(codes, offsets));
        // Ten codes (eight at once, then one at a time), an escape, three strings.
        let codes = [0, 1, 2, 0, 0, 1, 2, 2, 0, 1, ESCAPE, b'!', 2];
        let DataBlock::Variable { offsets, data, .. } = decode(&codes, &[0, 3, 9, 13]).unwrap()
        else {
            panic!("not variable");
        };
        assert_eq!(data.as_ref(), b"abcdefghijkababcdefghijkkabcdefghij!k");
        let starts: Vec<u32> = offsets
            .chunks_exact(4)
            .map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]))
            .collect();
        assert_eq!(starts, [0, 11, 27, 37]);
        for (codes, offsets, what) in [
            (&codes[..], &[0u32, 9, 3, 13][..], "descend"),
            (&codes[..], &[0, 11, 13][..], "inside an escape"),
            (&codes[..], &[0, 14][..], "outside"),
            (
                &[0, 1, 2, 0, 7, 1, 2, 2, 0][..],
                &[0, 9][..],
                "beyond the table",
            ),
            (&[0, 1, 7][..], &[0, 3][..], "beyond the table"),
            (&[0, ESCAPE][..], &[0, 2][..], "end with an escape"),
        ] {
            let error = decode(codes, offsets).unwrap_err();
            assert!(matches!(error, Error::Corrupt { .. }), "{error:?}");
            assert!(error.to_string().contains(what), "{what}: {error}");
        }
    }

    #[test]
    fn each_table_decodes_its_own_codes_when_tables_alternate() {
        // The decoding form of the last table is kept per thread: a different table, even
        // one that differs in a single byte, must be parsed anew, and a bad one rejected.
        let table_of = |symbols: &[&[u8]]| {
            SymbolTable {
                compressed: true,
                symbols: symbols.iter().map(|s| s.to_vec()).collect(),
                terminator: 0,
                suffix_lim: 0,
            }
            .serialize()
        };
        let first = table_of(&[b"ab", b"cd"]);
        let second = table_of(&[b"ab", b"ce"]);
        let block = DataBlock::Variable {
            offsets: Bytes::from(
                [0u32, 2, 3]
                    .iter()
                    .flat_map(|o| o.to_le_bytes())
                    .collect::<Vec<_>>(),
            ),
            offset_bits: 32,
            data: Bytes::from_static(&[0, 1, 1]),
            num_values: 2,
        };
        let decoded = |table: &[u8]| match decompress_with_table(table, block.clone()) {
            Ok(DataBlock::Variable { data, .. }) => Ok(data.to_vec()),
            Ok(other) => panic!("not variable: {other:?}"),
            Err(error) => Err(error),
        };
        for _ in 0..2 {
            assert_eq!(decoded(&first).unwrap(), b"abcdcd");
            assert_eq!(decoded(&second).unwrap(), b"abcece");
        }
        let mut bad = first.clone();
        bad[0..8].copy_from_slice(&[0; 8]);
        assert!(decoded(&bad).is_err());
        assert_eq!(decoded(&first).unwrap(), b"abcdcd");
        let mut joined = VariableValues::<u32>::with_capacity(0, 0);
        decompress_onto(&second, &block, &mut joined).unwrap();
        decompress_onto(&first, &block, &mut joined).unwrap();
        let DataBlock::Variable { data, .. } = joined.finish() else {
            panic!("not variable");
        };
        assert_eq!(data.as_ref(), b"abceceabcdcd");
    }

    #[test]
    fn ranking_the_best_few_picks_what_ranking_all_picks() {
        // 20 000 candidates with many equal gains, so the byte order breaks most ties.
        let mut state = 7u64;
        let scored: Vec<(SymbolKey, u64)> = (0..20_000u64)
            .map(|i| {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1);
                let len = 1 + (state >> 61) as usize;
                (key_of_word(state >> 3, len), i % 50)
            })
            .collect();
        let mut all = scored.clone();
        all.sort_by(by_gain_then_bytes);
        let expected = pick_symbols(all.into_iter().map(|(key, _)| key_bytes(key)));
        assert_eq!(expected.len(), 255);
        assert_eq!(pick_ranked(scored), expected);
        // The byte order is the slices' order.
        let key = |bytes: &[u8]| (symbol_word(bytes), bytes.len() as u8);
        let order = |a: &[u8], b: &[u8]| by_gain_then_bytes(&(key(a), 1), &(key(b), 1));
        assert_eq!(order(b"ab", b"ab\0"), std::cmp::Ordering::Less);
        assert_eq!(order(b"b", b"ab"), std::cmp::Ordering::Greater);
        assert_eq!(order(b"abc", b"abd"), std::cmp::Ordering::Less);
    }

    #[test]
    fn trained_tables_compress_and_decode() {
        let strings: Vec<String> = (0..5000).map(|i| format!("user-{i}@example.com")).collect();
        let encoder = Encoder::train(strings.iter().map(|s| s.as_bytes()));
        let table = SymbolTable::parse(&encoder.table().serialize()).unwrap();
        let mut compressed = 0;
        for string in &strings {
            let mut codes = Vec::new();
            encoder.compress_into(string.as_bytes(), &mut codes);
            compressed += codes.len();
            let mut back = Vec::new();
            table.decompress_into(&codes, &mut back).unwrap();
            assert_eq!(back, string.as_bytes());
        }
        let raw: usize = strings.iter().map(String::len).sum();
        assert!(compressed * 2 < raw, "{compressed} of {raw}");
        // Bytes without a symbol are escaped.
        let mut codes = Vec::new();
        encoder.compress_into(&[0xff, 0x00], &mut codes);
        let mut back = Vec::new();
        table.decompress_into(&codes, &mut back).unwrap();
        assert_eq!(back, vec![0xff, 0x00]);
    }

    #[test]
    fn switched_off_tables_copy_bytes() {
        let mut bytes = vec![0u8; TABLE_BYTES];
        bytes[4..8].copy_from_slice(&[0x54, 0x53, 0x53, 0x46]);
        let table = SymbolTable::parse(&bytes).unwrap();
        assert!(!table.compressed);
        let mut out = Vec::new();
        table.decompress_into(&[255, 1, 2], &mut out).unwrap();
        assert_eq!(out, vec![255, 1, 2]);
    }

    /// Strings of words and stray bytes (which need escapes), 0 to ~60 bytes long.
    #[test]
    fn strings_compressed_in_pairs_are_coded_as_one_at_a_time() {
        // Odd and even counts, empty strings, escapes, and strings longer than the scratch
        // buffer (which is then flushed and grown between and within pairs).
        let mut strings = sample_strings(2001);
        strings.insert(10, Vec::new());
        strings.insert(500, b"quickly final ".repeat(SCRATCH_BYTES / 10));
        strings.insert(501, vec![0xff; 70_000]);
        let encoder = Encoder::train(strings.iter().map(Vec::as_slice));
        for count in [0, 1, 2, 3, 498, 499, 500, 501, 502, strings.len()] {
            let (data, offsets) = joined(&strings[..count]);
            let (codes, code_offsets) = encoder.compress_strings(&data, &offsets).unwrap();
            assert_eq!(code_offsets.len(), count + 1);
            for (string, pair) in strings[..count].iter().zip(code_offsets.windows(2)) {
                let mut alone = Vec::new();
                encoder.compress_into(string, &mut alone);
                assert_eq!(&codes[pair[0] as usize..pair[1] as usize], &alone[..]);
            }
            assert_eq!(code_offsets.last().copied(), Some(codes.len() as u64));
        }
    }

    /// The strings' bytes one after another, and their offsets.
    fn joined(strings: &[Vec<u8>]) -> (Vec<u8>, Vec<u64>) {
        let mut data = Vec::new();
        let mut offsets = vec![0u64];
        for string in strings {
            data.extend_from_slice(string);
            offsets.push(data.len() as u64);
        }
        (data, offsets)
    }

    fn sample_strings(count: usize) -> Vec<Vec<u8>> {
        let words: [&[u8]; 6] = [
            b"quickly ",
            b"final ",
            b"deposits",
            b" the ",
            b"ironic",
            b"x",
        ];
        let mut state = 7u64;
        let mut next = move || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            (state >> 33) as usize
        };
        (0..count)
            .map(|_| {
                let mut string = Vec::new();
                for _ in 0..next() % 8 {
                    if next() % 5 == 0 {
                        string.push((next() % 256) as u8);
                    } else {
                        string.extend_from_slice(words[next() % words.len()]);
                    }
                }
                string
            })
            .collect()
    }

    #[test]
    fn page_compression_and_block_decoding_round_trip() {
        let strings = sample_strings(3000);
        let (data, offsets) = joined(&strings);
        let encoder = Encoder::train(strings.iter().map(Vec::as_slice));
        let (codes, code_offsets) = encoder.compress_strings(&data, &offsets).unwrap();
        assert!(
            codes.len() < data.len(),
            "{} of {}",
            codes.len(),
            data.len()
        );
        assert!(codes.contains(&ESCAPE));
        // Each string compresses as it does alone.
        for (i, string) in strings.iter().enumerate() {
            let mut alone = Vec::new();
            encoder.compress_into(string, &mut alone);
            let range = code_offsets[i] as usize..code_offsets[i + 1] as usize;
            assert_eq!(&codes[range], alone.as_slice());
        }
        let table = encoder.table().serialize();
        for offset_bits in [32u32, 64] {
            let offset_bytes: Vec<u8> = code_offsets
                .iter()
                .flat_map(|&o| {
                    if offset_bits == 32 {
                        (o as u32).to_le_bytes().to_vec()
                    } else {
                        o.to_le_bytes().to_vec()
                    }
                })
                .collect();
            let block = DataBlock::Variable {
                offsets: Bytes::from(offset_bytes),
                offset_bits,
                data: Bytes::from(codes.clone()),
                num_values: strings.len(),
            };
            let DataBlock::Variable {
                offsets: out_offsets,
                data: out,
                ..
            } = decompress_with_table(&table, block).unwrap()
            else {
                panic!("not variable-width")
            };
            assert_eq!(out.as_ref(), data.as_slice());
            let width = (offset_bits / 8) as usize;
            let decoded: Vec<u64> = out_offsets
                .chunks_exact(width)
                .map(|w| w.iter().rev().fold(0u64, |acc, &b| acc << 8 | u64::from(b)))
                .collect();
            assert_eq!(decoded, offsets);
        }
        // A selection of some of the strings (offsets into the same codes), decoded after the
        // whole block on this thread, with the scratch of code starts left from it.
        let picked = 7..45;
        let offset_bytes: Vec<u8> = code_offsets[picked.start..=picked.end]
            .iter()
            .flat_map(|&o| (o as u32).to_le_bytes())
            .collect();
        let block = DataBlock::Variable {
            offsets: Bytes::from(offset_bytes),
            offset_bits: 32,
            data: Bytes::from(codes.clone()),
            num_values: picked.len(),
        };
        let DataBlock::Variable {
            offsets: out_offsets,
            data: out,
            ..
        } = decompress_with_table(&table, block).unwrap()
        else {
            panic!("not variable-width")
        };
        let range = offsets[picked.start] as usize..offsets[picked.end] as usize;
        assert_eq!(out.as_ref(), &data[range]);
        let decoded: Vec<u64> = out_offsets
            .chunks_exact(4)
            .map(|w| u64::from(u32::from_le_bytes([w[0], w[1], w[2], w[3]])))
            .collect();
        let expected: Vec<u64> = offsets[picked.start..=picked.end]
            .iter()
            .map(|&o| o - offsets[picked.start])
            .collect();
        assert_eq!(decoded, expected);
        // A code beyond the table and a trailing escape are corrupt.
        let bad = |codes: Vec<u8>| DataBlock::Variable {
            offsets: Bytes::from([0u32, codes.len() as u32].map(u32::to_le_bytes).concat()),
            offset_bits: 32,
            data: Bytes::from(codes),
            num_values: 1,
        };
        let small = SymbolTable {
            compressed: true,
            symbols: vec![b"ab".to_vec(), b"cde".to_vec(), b"f".to_vec()],
            terminator: 0,
            suffix_lim: 0,
        }
        .serialize();
        let decoded = decompress_with_table(&small, bad(vec![0, 1, ESCAPE, b'!', 2, 0, 0, 0, 0]));
        let DataBlock::Variable { data: out, .. } = decoded.unwrap() else {
            panic!("not variable-width")
        };
        assert_eq!(out.as_ref(), b"abcde!fabababab");
        for codes in [
            vec![0, 3, 0, 0, 0, 0, 0, 0, 0],
            vec![0, ESCAPE],
            vec![254],
            vec![0, 9],
        ] {
            assert!(
                decompress_with_table(&small, bad(codes.clone())).is_err(),
                "{codes:?}"
            );
        }
        assert!(decompress_with_table(&table, bad(vec![0, ESCAPE])).is_err());
        // Two strings split between an escape and its literal are corrupt too.
        let split = DataBlock::Variable {
            offsets: Bytes::from([0u32, 2, 3].map(u32::to_le_bytes).concat()),
            offset_bits: 32,
            data: Bytes::from(vec![0, ESCAPE, b'!']),
            num_values: 2,
        };
        assert!(matches!(
            decompress_with_table(&small, split),
            Err(Error::Corrupt { .. })
        ));
        // Descending offsets are corrupt.
        let descending = DataBlock::Variable {
            offsets: Bytes::from([0u32, 2, 1].map(u32::to_le_bytes).concat()),
            offset_bits: 32,
            data: Bytes::from(vec![0, 1, 2]),
            num_values: 2,
        };
        assert!(decompress_with_table(&small, descending).is_err());
    }
}
