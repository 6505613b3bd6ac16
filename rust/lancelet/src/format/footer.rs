//! The fixed 40-byte footer at the end of every Lance v2 file.
//!
//! ```text
//! offset  width  field
//!      0  u64    column_meta_start          absolute offset of column 0's metadata
//!      8  u64    column_meta_offsets_start  absolute offset of the column metadata offset table
//!     16  u64    global_buff_offsets_start  absolute offset of the global buffer offset table
//!     24  u32    num_global_buffers         entries in the global buffer table (at least 1)
//!     28  u32    num_columns                entries in the column metadata table
//!     32  u16    major_version
//!     34  u16    minor_version
//!     36  [u8;4] magic                      "LANC"
//! ```
//! All integers are little-endian.

use crate::error::{BadMagicSnafu, Error, Result};
use crate::format::{FileVersion, MAGIC};

/// The decoded footer of a Lance v2 file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Footer {
    /// Absolute offset of the first column metadata message.
    pub column_meta_start: u64,
    /// Absolute offset of the column metadata offset (CMO) table.
    pub column_meta_offsets_start: u64,
    /// Absolute offset of the global buffer offset (GBO) table.
    pub global_buff_offsets_start: u64,
    /// Number of entries in the GBO table.
    pub num_global_buffers: u32,
    /// Number of entries in the CMO table.
    pub num_columns: u32,
    /// Major version as stored.
    pub major_version: u16,
    /// Minor version as stored.
    pub minor_version: u16,
}

/// Size of one entry of the CMO and GBO tables: `u64 position, u64 size`.
pub const OFFSET_TABLE_ENTRY_BYTES: u64 = 16;

impl Footer {
    /// The size of the footer in bytes.
    pub const SIZE: usize = 40;

    /// The footer's bytes.
    pub fn encode(&self) -> [u8; Self::SIZE] {
        let mut out = [0u8; Self::SIZE];
        out[0..8].copy_from_slice(&self.column_meta_start.to_le_bytes());
        out[8..16].copy_from_slice(&self.column_meta_offsets_start.to_le_bytes());
        out[16..24].copy_from_slice(&self.global_buff_offsets_start.to_le_bytes());
        out[24..28].copy_from_slice(&self.num_global_buffers.to_le_bytes());
        out[28..32].copy_from_slice(&self.num_columns.to_le_bytes());
        out[32..34].copy_from_slice(&self.major_version.to_le_bytes());
        out[34..36].copy_from_slice(&self.minor_version.to_le_bytes());
        out[36..40].copy_from_slice(&MAGIC);
        out
    }

    /// Decodes the footer from the last 40 bytes of a file, checking the magic.
    ///
    /// The version numbers are kept as stored; [`Footer::version`] interprets them.
    pub fn decode(bytes: &[u8; Self::SIZE]) -> Result<Self> {
        let (fields, magic) = bytes.split_at(36);
        if magic != MAGIC {
            return Err(BadMagicSnafu { found: hex(magic) }.build());
        }
        let u64_at = |at: usize| {
            let mut word = [0u8; 8];
            word.copy_from_slice(&fields[at..at + 8]);
            u64::from_le_bytes(word)
        };
        let u32_at = |at: usize| {
            let mut word = [0u8; 4];
            word.copy_from_slice(&fields[at..at + 4]);
            u32::from_le_bytes(word)
        };
        let u16_at = |at: usize| u16::from_le_bytes([fields[at], fields[at + 1]]);
        Ok(Footer {
            column_meta_start: u64_at(0),
            column_meta_offsets_start: u64_at(8),
            global_buff_offsets_start: u64_at(16),
            num_global_buffers: u32_at(24),
            num_columns: u32_at(28),
            major_version: u16_at(32),
            minor_version: u16_at(34),
        })
    }

    /// The file format version named by the footer.
    pub fn version(&self) -> Result<FileVersion> {
        FileVersion::from_footer_numbers(self.major_version, self.minor_version)
    }

    /// Checks that the regions the footer describes fit, in order, in a file of `file_size`
    /// bytes: column metadata, CMO table, GBO table, footer.
    pub fn validate(&self, file_size: u64) -> Result<()> {
        let footer_start = file_size
            .checked_sub(Self::SIZE as u64)
            .ok_or_else(|| Error::corrupt("file is smaller than the footer"))?;
        let cmo_end = table_end(
            self.column_meta_offsets_start,
            self.num_columns,
            "column metadata offset table",
        )?;
        let gbo_end = table_end(
            self.global_buff_offsets_start,
            self.num_global_buffers,
            "global buffer offset table",
        )?;
        if self.num_global_buffers == 0 {
            return Err(Error::corrupt(
                "footer lists no global buffers; global buffer 0 must hold the schema",
            ));
        }
        if self.column_meta_start > self.column_meta_offsets_start {
            return Err(Error::corrupt(format!(
                "column metadata starts at {} after its offset table at {}",
                self.column_meta_start, self.column_meta_offsets_start
            )));
        }
        if cmo_end > self.global_buff_offsets_start {
            return Err(Error::corrupt(format!(
                "column metadata offset table ends at {cmo_end}, after the global buffer \
                 offset table starts at {}",
                self.global_buff_offsets_start
            )));
        }
        if gbo_end > footer_start {
            return Err(Error::corrupt(format!(
                "global buffer offset table ends at {gbo_end}, after the footer starts at \
                 {footer_start}"
            )));
        }
        Ok(())
    }
}

fn table_end(start: u64, entries: u32, what: &str) -> Result<u64> {
    u64::from(entries)
        .checked_mul(OFFSET_TABLE_ENTRY_BYTES)
        .and_then(|len| start.checked_add(len))
        .ok_or_else(|| {
            Error::corrupt(format!(
                "{what} at {start} with {entries} entries overflows"
            ))
        })
}

/// Formats bytes as lowercase hex separated by spaces, for error messages.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example() -> Footer {
        // The worked example of a 736-byte pylance file with 2 columns and 1 user buffer.
        Footer {
            column_meta_start: 389,
            column_meta_offsets_start: 632,
            global_buff_offsets_start: 664,
            num_global_buffers: 2,
            num_columns: 2,
            major_version: 0,
            minor_version: 3,
        }
    }

    #[test]
    fn round_trips_and_validates() {
        let bytes = example().encode();
        assert_eq!(&bytes[36..], b"LANC");
        let decoded = Footer::decode(&bytes).unwrap();
        assert_eq!(decoded, example());
        assert_eq!(decoded.version().unwrap(), FileVersion::V2_0);
        decoded.validate(736).unwrap();
        assert!(matches!(decoded.validate(735), Err(Error::Corrupt { .. })));
    }

    #[test]
    fn wrong_magic_names_the_bytes_found() {
        let mut bytes = example().encode();
        bytes[36..].copy_from_slice(b"PAR1");
        let err = Footer::decode(&bytes).unwrap_err();
        assert!(matches!(err, Error::BadMagic { .. }));
        assert!(err.to_string().contains("50 41 52 31"), "{err}");
    }

    #[test]
    fn huge_offsets_do_not_overflow() {
        let mut footer = example();
        footer.global_buff_offsets_start = u64::MAX - 3;
        assert!(matches!(footer.validate(736), Err(Error::Corrupt { .. })));
        footer = example();
        footer.num_columns = u32::MAX;
        assert!(matches!(footer.validate(736), Err(Error::Corrupt { .. })));
    }
}
