//! Turning a URI into an object store and a path within it.
//!
//! | URI | store |
//! |---|---|
//! | `data/x.lance`, `/abs/x.lance`, `file:///abs/x.lance` | local file system (relative paths are resolved against the current directory) |
//! | `memory://x.lance` | one in-memory store shared by the whole process |
//! | `s3://bucket/key` (feature `aws`) | Amazon S3 or compatible; configured from `AWS_*` environment variables, then `options` |
//! | `gs://bucket/key` (feature `gcp`) | Google Cloud Storage; from `GOOGLE_*` variables, then `options` |
//! | `az://container/key`, `abfs[s]://...` (feature `azure`) | Azure Blob Storage; from `AZURE_*` variables, then `options` |
//! | `http[s]://host/path` (feature `http`) | a WebDAV-style HTTP store |
//!
//! Option keys are the object_store configuration keys (for S3: `aws_endpoint`,
//! `aws_region`, `aws_access_key_id`, `aws_secret_access_key`, `aws_allow_http`, ...); an
//! unknown key is an error rather than silently ignored.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use object_store::ObjectStore;
use object_store::memory::InMemory;
use object_store::path::Path;

use crate::error::{Error, Result};

/// The process-wide store behind `memory://` URIs.
pub fn memory_store() -> Arc<InMemory> {
    static MEMORY: OnceLock<Arc<InMemory>> = OnceLock::new();
    MEMORY.get_or_init(|| Arc::new(InMemory::new())).clone()
}

/// Resolves `uri` to a store and a path; see the module docs.
pub fn store_from_uri(
    uri: &str,
    options: &HashMap<String, String>,
) -> Result<(Arc<dyn ObjectStore>, Path)> {
    let Some((scheme, rest)) = uri.split_once("://") else {
        return local(uri, options);
    };
    let bad_path = |e: object_store::path::Error| {
        Error::invalid_argument(format!("invalid path in '{uri}': {e}"))
    };
    match scheme.to_ascii_lowercase().as_str() {
        "file" => local(rest, options),
        "memory" => {
            reject_options(uri, options)?;
            Ok((memory_store(), Path::parse(rest).map_err(bad_path)?))
        }
        #[cfg(feature = "aws")]
        "s3" | "s3a" => {
            use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
            let mut builder = AmazonS3Builder::from_env().with_url(uri);
            for (key, value) in options {
                let key: AmazonS3ConfigKey = key.to_ascii_lowercase().parse().map_err(|_| {
                    Error::invalid_argument(format!("unknown S3 storage option '{key}'"))
                })?;
                builder = builder.with_config(key, value);
            }
            let store = builder.build().map_err(Error::from_store)?;
            Ok((Arc::new(store), object_path(rest, uri)?))
        }
        #[cfg(feature = "gcp")]
        "gs" => {
            use object_store::gcp::{GoogleCloudStorageBuilder, GoogleConfigKey};
            let mut builder = GoogleCloudStorageBuilder::from_env().with_url(uri);
            for (key, value) in options {
                let key: GoogleConfigKey = key.to_ascii_lowercase().parse().map_err(|_| {
                    Error::invalid_argument(format!("unknown GCS storage option '{key}'"))
                })?;
                builder = builder.with_config(key, value);
            }
            let store = builder.build().map_err(Error::from_store)?;
            Ok((Arc::new(store), object_path(rest, uri)?))
        }
        #[cfg(feature = "azure")]
        "az" | "abfs" | "abfss" | "azure" => {
            use object_store::azure::{AzureConfigKey, MicrosoftAzureBuilder};
            let mut builder = MicrosoftAzureBuilder::from_env().with_url(uri);
            for (key, value) in options {
                let key: AzureConfigKey = key.to_ascii_lowercase().parse().map_err(|_| {
                    Error::invalid_argument(format!("unknown Azure storage option '{key}'"))
                })?;
                builder = builder.with_config(key, value);
            }
            let store = builder.build().map_err(Error::from_store)?;
            Ok((Arc::new(store), object_path(rest, uri)?))
        }
        #[cfg(feature = "http")]
        "http" | "https" => {
            let url = url_of(uri)?;
            let (store, path) =
                object_store::parse_url_opts(&url, options.iter()).map_err(Error::from_store)?;
            Ok((Arc::from(store), path))
        }
        other => Err(Error::invalid_argument(format!(
            "unsupported URI scheme '{other}://' in '{uri}' (this build supports paths, file://, \
             memory://{})",
            enabled_remote_schemes()
        ))),
    }
}

fn enabled_remote_schemes() -> String {
    [
        (cfg!(feature = "aws"), ", s3://"),
        (cfg!(feature = "gcp"), ", gs://"),
        (cfg!(feature = "azure"), ", az://"),
        (cfg!(feature = "http"), ", http(s)://"),
    ]
    .iter()
    .filter(|(enabled, _)| *enabled)
    .map(|(_, scheme)| *scheme)
    .collect()
}

#[cfg(feature = "http")]
fn url_of(uri: &str) -> Result<url::Url> {
    url::Url::parse(uri).map_err(|e| Error::invalid_argument(format!("invalid URI '{uri}': {e}")))
}

/// The key part of `bucket/key` for bucket-style stores.
#[cfg(any(feature = "aws", feature = "gcp", feature = "azure"))]
fn object_path(rest: &str, uri: &str) -> Result<Path> {
    let key = rest.split_once('/').map_or("", |(_, key)| key);
    Path::parse(key).map_err(|e| Error::invalid_argument(format!("invalid path in '{uri}': {e}")))
}

fn reject_options(uri: &str, options: &HashMap<String, String>) -> Result<()> {
    match options.keys().next() {
        Some(key) => Err(Error::invalid_argument(format!(
            "storage option '{key}' does not apply to '{uri}'"
        ))),
        None => Ok(()),
    }
}

fn local(path: &str, options: &HashMap<String, String>) -> Result<(Arc<dyn ObjectStore>, Path)> {
    #[cfg(feature = "fs")]
    {
        reject_options(path, options)?;
        let absolute = absolute_path(path)?;
        let path = Path::from_absolute_path(&absolute).map_err(|e| {
            Error::invalid_argument(format!("invalid file path '{}': {e}", absolute.display()))
        })?;
        let store = object_store::local::LocalFileSystem::new();
        Ok((Arc::new(store), path))
    }
    #[cfg(not(feature = "fs"))]
    {
        let _ = options;
        Err(Error::not_supported(format!(
            "local path '{path}': this build has no file system support (feature `fs`)"
        )))
    }
}

/// The absolute file system path of a local `uri` (a path or `file://`), `None` for other
/// schemes. Storage options do not apply to local files: any is an error.
#[cfg(feature = "fs")]
pub fn local_file_path(
    uri: &str,
    options: &HashMap<String, String>,
) -> Result<Option<std::path::PathBuf>> {
    let path = match uri.split_once("://") {
        None => uri,
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("file") => rest,
        Some(_) => return Ok(None),
    };
    reject_options(uri, options)?;
    absolute_path(path).map(Some)
}

/// `path` resolved against the current directory.
#[cfg(feature = "fs")]
fn absolute_path(path: &str) -> Result<std::path::PathBuf> {
    let path_buf = std::path::PathBuf::from(path);
    if path_buf.is_absolute() {
        return Ok(path_buf);
    }
    Ok(std::env::current_dir()
        .map_err(|e| Error::internal(format!("cannot read the current directory: {e}")))?
        .join(path_buf))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "fs")]
    #[test]
    fn local_file_paths_are_only_for_local_uris() {
        let none = HashMap::new();
        let path = |uri| local_file_path(uri, &none).unwrap();
        assert_eq!(path("/tmp/a.lance"), Some("/tmp/a.lance".into()));
        assert_eq!(path("FILE:///tmp/b.lance"), Some("/tmp/b.lance".into()));
        let relative = path("c.lance").unwrap();
        assert!(relative.is_absolute() && relative.ends_with("c.lance"));
        assert_eq!(path("memory://x.lance"), None);
        assert_eq!(path("s3://bucket/x.lance"), None);
        let options = HashMap::from([("aws_region".to_string(), "x".to_string())]);
        assert!(matches!(
            local_file_path("/tmp/a.lance", &options),
            Err(Error::InvalidArgument { .. })
        ));
    }

    #[test]
    fn resolves_local_and_memory_uris() {
        let none = HashMap::new();
        let (store, path) = store_from_uri("/tmp/a/b.lance", &none).unwrap();
        assert!(store.to_string().starts_with("LocalFileSystem"));
        assert_eq!(path.as_ref(), "tmp/a/b.lance");
        let (_, path) = store_from_uri("file:///tmp/c.lance", &none).unwrap();
        assert_eq!(path.as_ref(), "tmp/c.lance");
        let (store, path) = store_from_uri("memory://x/y.lance", &none).unwrap();
        assert!(store.to_string().starts_with("InMemory"));
        assert_eq!(path.as_ref(), "x/y.lance");
        assert!(matches!(
            store_from_uri("ftp://x", &none),
            Err(Error::InvalidArgument { .. })
        ));
        let options = HashMap::from([("aws_region".to_string(), "x".to_string())]);
        assert!(matches!(
            store_from_uri("memory://x", &options),
            Err(Error::InvalidArgument { .. })
        ));
    }
}
