//! Lance file format versions and how they appear in the footer.

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, LegacyFormatSnafu, Result, UnsupportedVersionSnafu};

/// A version of the Lance v2 file format.
///
/// Format 2.0 is written as footer version `0.3`, as Lance does, and read from either `0.3` or
/// `2.0`. Formats 2.1 and 2.2 are written as `2.1` and `2.2`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum FileVersion {
    /// Format 2.0: one column per struct and list, ArrayEncoding pages.
    V2_0,
    /// Format 2.1: leaf columns only, structural (mini-block / full-zip) pages.
    V2_1,
    /// Format 2.2: 2.1 plus large mini-block chunks, constant pages and maps.
    V2_2,
}

impl FileVersion {
    /// The newest stable version, the one pylance 14 writes by default.
    pub const STABLE: FileVersion = FileVersion::V2_2;

    /// The (major, minor) pair written into the footer.
    pub fn footer_numbers(self) -> (u16, u16) {
        match self {
            FileVersion::V2_0 => (0, 3),
            FileVersion::V2_1 => (2, 1),
            FileVersion::V2_2 => (2, 2),
        }
    }

    /// Maps the (major, minor) pair of a footer to a version.
    ///
    /// Legacy v1 files give [`Error::LegacyFormat`]; anything else unknown gives
    /// [`Error::UnsupportedVersion`].
    pub fn from_footer_numbers(major: u16, minor: u16) -> Result<Self> {
        match (major, minor) {
            (0, 3) | (2, 0) => Ok(FileVersion::V2_0),
            (2, 1) => Ok(FileVersion::V2_1),
            (2, 2) => Ok(FileVersion::V2_2),
            (0, 0..=2) => Err(LegacyFormatSnafu { major, minor }.build()),
            _ => Err(UnsupportedVersionSnafu { major, minor }.build()),
        }
    }

    /// Whether the version stores only leaf columns with rep/def levels (2.1 and later).
    pub fn is_structural(self) -> bool {
        self >= FileVersion::V2_1
    }
}

impl fmt::Display for FileVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            FileVersion::V2_0 => "2.0",
            FileVersion::V2_1 => "2.1",
            FileVersion::V2_2 => "2.2",
        };
        f.write_str(name)
    }
}

impl FromStr for FileVersion {
    type Err = Error;

    /// Parses the version names pylance accepts: `2.0` (or its alias `0.3`), `2.1`, `2.2` and
    /// `stable` (2.2), case-insensitively.
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "2.0" | "0.3" => Ok(FileVersion::V2_0),
            "2.1" => Ok(FileVersion::V2_1),
            "2.2" => Ok(FileVersion::V2_2),
            "stable" => Ok(FileVersion::STABLE),
            other => Err(Error::invalid_argument(format!(
                "unknown Lance file version '{other}': expected 2.0, 2.1, 2.2 or stable"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn footer_numbers_round_trip() {
        for version in [FileVersion::V2_0, FileVersion::V2_1, FileVersion::V2_2] {
            let (major, minor) = version.footer_numbers();
            assert_eq!(
                FileVersion::from_footer_numbers(major, minor).unwrap(),
                version
            );
        }
        assert_eq!(
            FileVersion::from_footer_numbers(2, 0).unwrap(),
            FileVersion::V2_0
        );
    }

    #[test]
    fn legacy_and_unknown_versions_are_distinct_errors() {
        assert!(matches!(
            FileVersion::from_footer_numbers(0, 2),
            Err(Error::LegacyFormat {
                major: 0,
                minor: 2,
                ..
            })
        ));
        assert!(matches!(
            FileVersion::from_footer_numbers(2, 3),
            Err(Error::UnsupportedVersion {
                major: 2,
                minor: 3,
                ..
            })
        ));
        assert!(matches!(
            FileVersion::from_footer_numbers(7, 0),
            Err(Error::UnsupportedVersion { .. })
        ));
    }

    #[test]
    fn parses_pylance_names() {
        assert_eq!("2.0".parse::<FileVersion>().unwrap(), FileVersion::V2_0);
        assert_eq!("0.3".parse::<FileVersion>().unwrap(), FileVersion::V2_0);
        assert_eq!("2.1".parse::<FileVersion>().unwrap(), FileVersion::V2_1);
        assert_eq!("STABLE".parse::<FileVersion>().unwrap(), FileVersion::V2_2);
        assert!(matches!(
            "2".parse::<FileVersion>(),
            Err(Error::InvalidArgument { .. })
        ));
    }
}
