//! The error type of the crate.

use snafu::{Location, Snafu};

/// A `Result` whose error is [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong when writing or reading a Lance file.
///
/// Errors about the bytes of a file are split by cause so that callers can tell a file that is
/// not Lance at all ([`Error::BadMagic`]) from one that was cut short ([`Error::Truncated`]),
/// one written by a format version we do not know ([`Error::UnsupportedVersion`]), a legacy v1
/// file ([`Error::LegacyFormat`]) and one whose contents contradict themselves
/// ([`Error::Corrupt`]).
#[derive(Debug, Snafu)]
#[snafu(visibility(pub(crate)))]
#[non_exhaustive]
pub enum Error {
    /// The object store failed.
    #[snafu(display("i/o error: {source}"))]
    Io {
        /// The store's error.
        source: object_store::Error,
        /// Where the error was raised.
        #[snafu(implicit)]
        location: Location,
    },
    /// The file or object does not exist.
    #[snafu(display("not found: {path}"))]
    NotFound {
        /// The path that was looked up.
        path: String,
        /// Where the error was raised.
        #[snafu(implicit)]
        location: Location,
    },
    /// The file's bytes contradict themselves (offsets out of range, bad lengths, ...).
    #[snafu(display("corrupt file: {message}"))]
    Corrupt {
        /// What was expected and what was found.
        message: String,
        /// Where the error was raised.
        #[snafu(implicit)]
        location: Location,
    },
    /// The file is shorter than its own structure requires.
    #[snafu(display("truncated file: {message}"))]
    Truncated {
        /// What was expected and what was found.
        message: String,
        /// Where the error was raised.
        #[snafu(implicit)]
        location: Location,
    },
    /// The file does not end with the Lance magic bytes `LANC`.
    #[snafu(display(
        "not a Lance file: footer magic is {found}, expected 4c 41 4e 43 (\"LANC\"); \
         the file may be truncated or of another format"
    ))]
    BadMagic {
        /// The last four bytes of the file, in hex.
        found: String,
        /// Where the error was raised.
        #[snafu(implicit)]
        location: Location,
    },
    /// The footer names a format version this library does not know.
    #[snafu(display("unsupported Lance file version {major}.{minor}"))]
    UnsupportedVersion {
        /// Major version found in the footer.
        major: u16,
        /// Minor version found in the footer.
        minor: u16,
        /// Where the error was raised.
        #[snafu(implicit)]
        location: Location,
    },
    /// The file uses the legacy v1 format, which this library does not read.
    #[snafu(display(
        "legacy Lance v1 file (footer version {major}.{minor}); only v2 files (2.0, 2.1, 2.2) are supported"
    ))]
    LegacyFormat {
        /// Major version found in the footer.
        major: u16,
        /// Minor version found in the footer.
        minor: u16,
        /// Where the error was raised.
        #[snafu(implicit)]
        location: Location,
    },
    /// A valid feature that this library does not implement (yet).
    #[snafu(display("not supported: {message}"))]
    NotSupported {
        /// What is not supported.
        message: String,
        /// Where the error was raised.
        #[snafu(implicit)]
        location: Location,
    },
    /// The caller passed something that cannot work (bad schema, bad index, use after finish, ...).
    #[snafu(display("invalid argument: {message}"))]
    InvalidArgument {
        /// What was wrong with the argument.
        message: String,
        /// Where the error was raised.
        #[snafu(implicit)]
        location: Location,
    },
    /// A protobuf message in the file could not be decoded.
    #[snafu(display("corrupt file: cannot decode {what}: {source}"))]
    ProtoDecode {
        /// Which message was being decoded.
        what: String,
        /// The decoder's error.
        source: prost::DecodeError,
        /// Where the error was raised.
        #[snafu(implicit)]
        location: Location,
    },
    /// An Arrow operation failed.
    #[snafu(display("arrow error: {source}"))]
    Arrow {
        /// Arrow's error.
        source: arrow_schema::ArrowError,
        /// Where the error was raised.
        #[snafu(implicit)]
        location: Location,
    },
    /// A background task failed unexpectedly.
    #[snafu(display("internal error: {message}"))]
    Internal {
        /// What happened.
        message: String,
        /// Where the error was raised.
        #[snafu(implicit)]
        location: Location,
    },
}

impl Error {
    /// Decoders build Arrow arrays from a file's bytes, so Arrow refusing one (invalid UTF-8,
    /// offsets out of order) means the file is corrupt: turns [`Error::Arrow`] into
    /// [`Error::Corrupt`] and passes other errors through.
    pub(crate) fn arrow_means_corrupt(self) -> Self {
        match self {
            Error::Arrow { source, .. } => Error::corrupt(format!(
                "stored values do not form valid Arrow data: {source}"
            )),
            other => other,
        }
    }

    /// Whether the error is one that a file's bytes can cause: damaged or truncated data, a
    /// foreign or unsupported format version, or a feature this build does not read. I/O
    /// errors, misuse of the API and internal errors are not.
    pub fn is_bad_file(&self) -> bool {
        matches!(
            self,
            Error::Corrupt { .. }
                | Error::Truncated { .. }
                | Error::BadMagic { .. }
                | Error::UnsupportedVersion { .. }
                | Error::LegacyFormat { .. }
                | Error::NotSupported { .. }
                | Error::ProtoDecode { .. }
        )
    }

    /// An [`Error::Corrupt`] with the given message.
    #[track_caller]
    pub fn corrupt(message: impl Into<String>) -> Self {
        CorruptSnafu {
            message: message.into(),
        }
        .build()
    }

    /// An [`Error::InvalidArgument`] with the given message.
    #[track_caller]
    pub fn invalid_argument(message: impl Into<String>) -> Self {
        InvalidArgumentSnafu {
            message: message.into(),
        }
        .build()
    }

    /// An [`Error::NotSupported`] with the given message.
    #[track_caller]
    pub fn not_supported(message: impl Into<String>) -> Self {
        NotSupportedSnafu {
            message: message.into(),
        }
        .build()
    }

    /// An [`Error::Internal`] with the given message.
    #[track_caller]
    pub fn internal(message: impl Into<String>) -> Self {
        InternalSnafu {
            message: message.into(),
        }
        .build()
    }

    /// Converts an object store error, keeping "not found" as [`Error::NotFound`].
    #[track_caller]
    pub fn from_store(source: object_store::Error) -> Self {
        match source {
            object_store::Error::NotFound { path, .. } => NotFoundSnafu { path }.build(),
            source => IoSnafu.into_error(source),
        }
    }
}

impl From<arrow_schema::ArrowError> for Error {
    #[track_caller]
    fn from(source: arrow_schema::ArrowError) -> Self {
        ArrowSnafu.into_error(source)
    }
}

impl From<object_store::Error> for Error {
    #[track_caller]
    fn from(source: object_store::Error) -> Self {
        Self::from_store(source)
    }
}

use snafu::IntoError;
