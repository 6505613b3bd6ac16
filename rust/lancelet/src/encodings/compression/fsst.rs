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

use crate::encodings::compression::block::DataBlock;
use crate::encodings::hashing::{FastMap, fast_map};
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
    BlockDecoder::parse(table)?.decompress_block(block)
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
                let at = 8 + 8 * index;
                let n = usize::from(length);
                decoder.words[index][..n].copy_from_slice(&bytes[at..at + n]);
                decoder.lengths[index] = length;
            }
        }
        Ok(decoder)
    }

    /// Decompresses every value of a variable-width block.
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
        let width = (offset_bits / 8) as usize;
        let read = |i: usize| -> Result<usize> {
            let word = offsets
                .get(i * width..(i + 1) * width)
                .ok_or_else(|| Error::corrupt("FSST offsets are short"))?;
            let mut full = [0u8; 8];
            full[..width].copy_from_slice(word);
            usize::try_from(u64::from_le_bytes(full)).map_err(|_| Error::corrupt("offset"))
        };
        let mut new_offsets = Vec::with_capacity((num_values + 1) * width);
        let push = |offsets: &mut Vec<u8>, value: usize| {
            if width == 4 {
                offsets.extend_from_slice(&(value as u32).to_le_bytes());
            } else {
                offsets.extend_from_slice(&(value as u64).to_le_bytes());
            }
        };
        push(&mut new_offsets, 0);
        // `out` holds the decoded bytes in `out[..len]` and slack beyond, so that every symbol
        // is stored as a whole 8-byte word.
        // (Sized by the codes the offsets span: a selection may point into a larger buffer.)
        let mut start = read(0)?;
        let span = read(num_values)?.saturating_sub(start).min(data.len());
        let mut out = vec![0u8; span * 3 + 64];
        let mut len = 0;
        for i in 1..=num_values {
            let end = read(i)?;
            let codes = data
                .get(start..end)
                .ok_or_else(|| Error::corrupt("FSST offsets point outside their data"))?;
            len = self.decode(codes, &mut out, len)?;
            if width == 4 && len > u32::MAX as usize {
                return Err(Error::not_supported(
                    "more than 4 GiB of strings in one page",
                ));
            }
            push(&mut new_offsets, len);
            start = end;
        }
        out.truncate(len);
        Ok(DataBlock::Variable {
            offsets: Bytes::from(new_offsets),
            offset_bits,
            data: Bytes::from(out),
            num_values,
        })
    }

    /// Decodes `codes` into `out` from `len` on, growing `out` as needed (keeping at least 8
    /// bytes of slack); returns the new length.
    fn decode(&self, codes: &[u8], out: &mut Vec<u8>, mut len: usize) -> Result<usize> {
        // Each code yields at most 8 bytes; an escape and its literal yield 1.
        let most = len + codes.len() * 8 + 8;
        if most > out.len() {
            out.resize(most.max(out.len() * 2), 0);
        }
        if !self.compressed {
            out[len..len + codes.len()].copy_from_slice(codes);
            return Ok(len + codes.len());
        }
        let mut at = 0;
        while let Some(&code) = codes.get(at) {
            if code == ESCAPE {
                let literal = codes
                    .get(at + 1)
                    .ok_or_else(|| Error::corrupt("FSST string ends with an escape"))?;
                out[len] = *literal;
                len += 1;
                at += 2;
            } else {
                let n = usize::from(self.lengths[usize::from(code)]);
                if n == 0 {
                    return Err(Error::corrupt(format!(
                        "FSST code {code} is not in a table of {} symbols",
                        self.num_symbols
                    )));
                }
                out[len..len + 8].copy_from_slice(&self.words[usize::from(code)]);
                len += n;
                at += 1;
            }
        }
        Ok(len)
    }
}

/// A symbol as the encoder compares it: its bytes as a little-endian word, a mask of its
/// length, the length and the code.
#[derive(Clone, Copy, Debug)]
struct Candidate {
    word: u64,
    mask: u64,
    len: u8,
    code: u8,
}

impl Candidate {
    /// `symbol` is 1 to 8 bytes.
    fn new(code: u8, symbol: &[u8]) -> Self {
        let mut bytes = [0u8; 8];
        bytes[..symbol.len()].copy_from_slice(symbol);
        let mask = if symbol.len() >= 8 {
            u64::MAX
        } else {
            (1u64 << (8 * symbol.len())) - 1
        };
        Self {
            word: u64::from_le_bytes(bytes),
            mask,
            len: symbol.len() as u8,
            code,
        }
    }
}

/// The 255 substrings of 1 to 8 bytes that save the most bytes in `sample`
/// (`count · (length - 1)`, a single byte its escape), at most one symbol per 8-byte prefix
/// family being preferred by score only.
fn substring_candidates(sample: &[&[u8]]) -> Vec<Vec<u8>> {
    let mut counts: FastMap<&[u8], u64> = fast_map(4096);
    for string in sample {
        for start in 0..string.len() {
            for len in 1..=8.min(string.len() - start) {
                *counts.entry(&string[start..start + len]).or_default() += 1;
            }
        }
    }
    let mut scored: Vec<(&[u8], u64)> = counts
        .into_iter()
        .map(|(s, c)| (s, c * (s.len() as u64 - 1).max(1)))
        .filter(|(_, gain)| *gain > 1)
        .collect();
    scored.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    scored
        .into_iter()
        .take(255)
        .map(|(s, _)| s.to_vec())
        .collect()
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
    /// Symbols of 2 to 8 bytes, grouped by their first two bytes, longest first in a group.
    long_symbols: Vec<Candidate>,
    /// For each two-byte prefix (first byte in the low bits): where its group starts in
    /// `long_symbols` (high 24 bits) and how many symbols it holds (low 8 bits).
    by_prefix: Vec<u32>,
    /// The code of each single-byte symbol.
    single_byte: [Option<u8>; 256],
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
            let mut gains: FastMap<Vec<u8>, u64> = fast_map(1024);
            for string in &sample {
                let tokens = encoder.tokens(string);
                for (index, token) in tokens.iter().enumerate() {
                    // A symbol of length l saves l - 1 bytes per use over single-byte symbols;
                    // a single-byte symbol saves the escape byte.
                    *gains.entry(token.to_vec()).or_default() += (token.len() as u64 - 1).max(1);
                    if let Some(next) = tokens.get(index + 1) {
                        let joined_len = (token.len() + next.len()).min(8);
                        let mut joined = token.to_vec();
                        joined.extend_from_slice(next);
                        joined.truncate(joined_len);
                        *gains.entry(joined).or_default() += joined_len as u64 - 1;
                    }
                }
            }
            let mut candidates: Vec<(Vec<u8>, u64)> =
                gains.into_iter().filter(|(_, g)| *g > 0).collect();
            candidates.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            candidates.truncate(255);
            encoder = Self::from_symbols(candidates.into_iter().map(|(s, _)| s).collect());
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
        let mut out = Vec::new();
        strings
            .iter()
            .map(|s| {
                out.clear();
                self.compress_into(s, &mut out);
                out.len()
            })
            .sum()
    }

    fn from_symbols(symbols: Vec<Vec<u8>>) -> Self {
        let mut single_byte = [None; 256];
        let mut long_symbols = Vec::new();
        for (code, symbol) in symbols.iter().enumerate().take(255) {
            match symbol.as_slice() {
                [byte] => single_byte[usize::from(*byte)] = Some(code as u8),
                [_, _, ..] if symbol.len() <= 8 => {
                    long_symbols.push(Candidate::new(code as u8, symbol));
                }
                _ => {}
            }
        }
        let prefix = |c: &Candidate| (c.word & 0xffff) as usize;
        long_symbols.sort_by_key(|c| (prefix(c), std::cmp::Reverse(c.len)));
        let mut by_prefix = vec![0u32; 1 << 16];
        for (index, candidate) in long_symbols.iter().enumerate() {
            let entry = &mut by_prefix[prefix(candidate)];
            if *entry == 0 {
                *entry = (index as u32) << 8;
            }
            *entry += 1;
        }
        Self {
            table: SymbolTable {
                compressed: true,
                symbols,
                terminator: 0,
                suffix_lim: 0,
            },
            long_symbols,
            by_prefix,
            single_byte,
        }
    }

    /// The longest symbol matching at the start of `rest`: its code and length.
    #[inline]
    fn longest_match(&self, rest: &[u8]) -> Option<(u8, usize)> {
        let first = *rest.first()?;
        if rest.len() >= 2 {
            let (word, available) = match rest.first_chunk::<8>() {
                Some(bytes) => (u64::from_le_bytes(*bytes), 8),
                None => {
                    let mut bytes = [0u8; 8];
                    bytes[..rest.len()].copy_from_slice(rest);
                    (u64::from_le_bytes(bytes), rest.len())
                }
            };
            let entry = self.by_prefix[(word & 0xffff) as usize];
            let start = (entry >> 8) as usize;
            let group = self
                .long_symbols
                .get(start..start + (entry & 0xff) as usize)
                .unwrap_or_default();
            if let Some(c) = group
                .iter()
                .find(|c| usize::from(c.len) <= available && word & c.mask == c.word)
            {
                return Some((c.code, usize::from(c.len)));
            }
        }
        self.single_byte[usize::from(first)].map(|code| (code, 1))
    }

    /// The greedy parse of a string into symbols and single bytes.
    fn tokens<'s>(&self, string: &'s [u8]) -> Vec<&'s [u8]> {
        let mut tokens = Vec::new();
        let mut at = 0;
        while at < string.len() {
            let len = self.longest_match(&string[at..]).map_or(1, |(_, len)| len);
            tokens.push(&string[at..at + len]);
            at += len;
        }
        tokens
    }

    /// Compresses one string, appending its codes to `out`.
    pub fn compress_into(&self, string: &[u8], out: &mut Vec<u8>) {
        let mut at = 0;
        while at < string.len() {
            match self.longest_match(&string[at..]) {
                Some((code, len)) => {
                    out.push(code);
                    at += len;
                }
                None => {
                    out.push(ESCAPE);
                    out.push(string[at]);
                    at += 1;
                }
            }
        }
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
}
