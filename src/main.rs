//! The `avisa` executable: parses the command line and hands over to `avisa::cli`.
#![forbid(unsafe_code)]

use clap::Parser;

fn main() -> std::process::ExitCode {
    avisa::cli::run(avisa::cli::Cli::parse())
}
