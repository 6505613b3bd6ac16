//! `lancelet inspect`.

use clap::Args;
use lancelet::format::columns::column_paths;
use lancelet::format::describe::describe;

use crate::CliResult;
use crate::tables;

/// Arguments of `lancelet inspect`.
#[derive(Args, Debug)]
pub struct InspectArgs {
    /// The Lance file: a path or URL (file://, memory://, s3://).
    pub file: String,
    /// Also list every page of every column.
    #[arg(long)]
    pub pages: bool,
    /// Print everything (pages included) as one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// The file's metadata as JSON.
fn to_json(file: &str, metadata: &lancelet::format::FileMetadata) -> serde_json::Value {
    use serde_json::json;
    let names = column_paths(&metadata.schema, metadata.version);
    let columns: Vec<_> = metadata
        .columns
        .iter()
        .enumerate()
        .map(|(index, column)| {
            let pages: Vec<_> = column
                .pages
                .iter()
                .map(|page| {
                    json!({
                        "num_values": page.num_rows,
                        "priority": page.priority,
                        "buffers": page.buffers.iter().map(|b| [b.position, b.size]).collect::<Vec<_>>(),
                        "encoding": describe(page),
                    })
                })
                .collect();
            json!({
                "index": index,
                "path": names.get(index),
                "num_values": column.num_values(),
                "size_bytes": column.size_bytes(),
                "pages": pages,
            })
        })
        .collect();
    let fields: Vec<_> = metadata
        .schema
        .fields()
        .iter()
        .map(|f| json!({"name": f.name(), "type": f.data_type().to_string(), "nullable": f.is_nullable()}))
        .collect();
    json!({
        "file": file,
        "version": metadata.version.to_string(),
        "footer_version": [metadata.footer.major_version, metadata.footer.minor_version],
        "num_rows": metadata.num_rows,
        "file_size": metadata.file_size,
        "metadata_bytes": metadata.metadata_bytes(),
        "schema": fields,
        "schema_metadata": metadata.schema.metadata(),
        "columns": columns,
        "global_buffers": metadata.global_buffers.iter().map(|b| [b.position, b.size]).collect::<Vec<_>>(),
    })
}

/// Runs `lancelet inspect`.
pub async fn run(args: InspectArgs) -> CliResult<()> {
    let reader = tables::open_lance(&args.file).await?;
    let metadata = reader.metadata();
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&to_json(&args.file, metadata))?
        );
        return Ok(());
    }
    let footer = &metadata.footer;
    println!("file:      {}", args.file);
    println!(
        "version:   {} (footer {}.{})",
        metadata.version, footer.major_version, footer.minor_version
    );
    println!("rows:      {}", metadata.num_rows);
    let data_bytes: u64 = metadata.columns.iter().map(|c| c.size_bytes()).sum();
    println!(
        "size:      {} bytes ({} in pages, {} of metadata)",
        metadata.file_size,
        data_bytes,
        metadata.metadata_bytes()
    );
    println!("schema:");
    for field in metadata.schema.fields() {
        let nullable = if field.is_nullable() { "" } else { " not null" };
        println!("  {}: {}{nullable}", field.name(), field.data_type());
    }
    if !metadata.schema.metadata().is_empty() {
        let mut keys: Vec<_> = metadata.schema.metadata().iter().collect();
        keys.sort();
        println!("schema metadata:");
        for (key, value) in keys {
            println!("  {key}: {value}");
        }
    }
    println!("columns:");
    let names = column_paths(&metadata.schema, metadata.version);
    for (index, column) in metadata.columns.iter().enumerate() {
        let name = names.get(index).map(String::as_str).unwrap_or("?");
        let mut encodings: Vec<String> = column.pages.iter().map(describe).collect();
        encodings.dedup();
        println!(
            "  {index:>3} {name}: {} pages, {} values, {} bytes, {}",
            column.pages.len(),
            column.num_values(),
            column.size_bytes(),
            encodings.join(" | ")
        );
        if args.pages {
            for (page_index, page) in column.pages.iter().enumerate() {
                let buffers: Vec<String> = page
                    .buffers
                    .iter()
                    .map(|b| format!("{}+{}", b.position, b.size))
                    .collect();
                println!(
                    "        page {page_index}: {} values, buffers [{}], {}",
                    page.num_rows,
                    buffers.join(", "),
                    describe(page)
                );
            }
        }
    }
    println!("global buffers:");
    for (index, buffer) in metadata.global_buffers.iter().enumerate() {
        let role = if index == 0 { " (schema)" } else { "" };
        println!(
            "  {index}: {} bytes at {}{role}",
            buffer.size, buffer.position
        );
    }
    Ok(())
}

/// Arguments of `lancelet global-buffer`.
#[derive(Args, Debug)]
pub struct GlobalBufferArgs {
    /// The Lance file: a path or URL.
    pub file: String,
    /// The buffer's index (1 is the first user buffer; 0 holds the schema).
    pub index: usize,
    /// Write the bytes to this file instead of stdout.
    #[arg(long, short)]
    pub output: Option<std::path::PathBuf>,
}

/// Runs `lancelet global-buffer`.
pub async fn global_buffer(args: GlobalBufferArgs) -> CliResult<()> {
    use std::io::Write;
    let reader = tables::open_lance(&args.file).await?;
    let bytes = reader.read_global_buffer(args.index).await?;
    match args.output {
        Some(path) => std::fs::write(path, &bytes)?,
        None => std::io::stdout().write_all(&bytes)?,
    }
    Ok(())
}
