#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::Parser;
use switchboard::cli::Cli;

fn main() -> ExitCode {
    Cli::parse().run()
}
