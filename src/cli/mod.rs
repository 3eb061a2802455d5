//! The `switchboard` command line: one subcommand per job.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod dtmf;

use dtmf::DtmfCommand;

/// Switchboard: a self-hosted calling-bot platform speaking the Graph communications API.
#[derive(Debug, Parser)]
#[command(name = "switchboard", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// DTMF tools: generate tone files, detect digits in WAV files, run the conformance procedure.
    #[command(subcommand)]
    Dtmf(DtmfCommand),
}

impl Cli {
    /// Runs the chosen subcommand and returns the process exit code.
    pub fn run(self) -> ExitCode {
        match self.command {
            Command::Dtmf(command) => command.run(),
        }
    }
}
