//! `lancelet`: convert between Lance, Arrow IPC and Parquet files, inspect Lance files, and
//! run a self-checking demo.

mod convert;
mod demo;
mod dictionaries;
mod inspect;
mod tables;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// The error type of the tool: any error, shown with its message.
pub type CliResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

#[derive(Parser, Debug)]
#[command(
    name = "lancelet",
    version,
    about = "Read, write and inspect Lance v2 files"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Convert between Lance (.lance), Arrow IPC (.arrow, .ipc, .feather) and Parquet
    /// (.parquet, input only), optionally selecting columns and rows of a Lance input.
    Convert(convert::ConvertArgs),
    /// Show a Lance file's version, schema, columns, pages, encodings and global buffers.
    Inspect(inspect::InspectArgs),
    /// Generate sample data, write it as Lance, read it back, check it and report.
    Demo(demo::DemoArgs),
    /// Write the bytes of one global buffer of a Lance file to stdout or a file.
    GlobalBuffer(inspect::GlobalBufferArgs),
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Convert(args) => convert::run(args).await,
        Command::Inspect(args) => inspect::run(args).await,
        Command::Demo(args) => demo::run(args).await,
        Command::GlobalBuffer(args) => inspect::global_buffer(args).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
