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
}

/// Runs `lancelet inspect`.
pub async fn run(args: InspectArgs) -> CliResult<()> {
    let reader = tables::open_lance(&args.file).await?;
    let metadata = reader.metadata();
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
        let mut encodings: Vec<String> = column.pages.iter().map(|p| describe(&p.encoding)).collect();
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
                    describe(&page.encoding)
                );
            }
        }
    }
    println!("global buffers:");
    for (index, buffer) in metadata.global_buffers.iter().enumerate() {
        let role = if index == 0 { " (schema)" } else { "" };
        println!("  {index}: {} bytes at {}{role}", buffer.size, buffer.position);
    }
    Ok(())
}
