//! The `switchboard` command line: one subcommand per job.

use std::path::PathBuf;
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
    /// Run the server: the Graph-compatible API, token endpoint, notifications and metrics.
    Serve {
        /// TOML configuration file; without it the embedded defaults apply (and a demo tenant is
        /// seeded). `SWITCHBOARD_…` environment variables override both.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// DTMF tools: generate tone files, detect digits in WAV files, run the conformance procedure.
    #[command(subcommand)]
    Dtmf(DtmfCommand),
    /// Read a softphone password from the first line of standard input and print the
    /// `password_hash` for a `[[users]]` entry.
    HashPassword,
}

impl Cli {
    /// Runs the chosen subcommand and returns the process exit code.
    pub fn run(self) -> ExitCode {
        match self.command {
            Command::Serve { config } => serve(config),
            Command::Dtmf(command) => command.run(),
            Command::HashPassword => hash_password(),
        }
    }
}

/// Shortest password accepted: shorter ones are guessed quickly whatever the hash.
const MIN_PASSWORD_CHARS: usize = 8;

fn hash_password() -> ExitCode {
    let mut line = String::new();
    if let Err(error) = std::io::stdin().read_line(&mut line) {
        eprintln!("switchboard: cannot read the password from standard input: {error}");
        return ExitCode::from(2);
    }
    let password = line.trim_end_matches(['\r', '\n']);
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        eprintln!(
            "switchboard: the password has {chars} characters; allowed: {MIN_PASSWORD_CHARS} or more"
        );
        return ExitCode::from(2);
    }
    println!("{}", crate::auth::secret::hash_password(password));
    ExitCode::SUCCESS
}

fn serve(config_file: Option<PathBuf>) -> ExitCode {
    let mut config = match crate::config::Config::load(config_file.as_deref()) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("switchboard: {error}");
            return ExitCode::from(2);
        }
    };
    match &config_file {
        Some(path) => println!(
            "Configuration: {}",
            std::fs::canonicalize(path)
                .unwrap_or_else(|_| path.clone())
                .display()
        ),
        None => println!(
            "Configuration: none given, built-in defaults (start with --config FILE to read one; \
             examples/demo.toml shows the built-in bots' flow language)"
        ),
    }
    let flows = match crate::bots::setup::prepare(&mut config, config_file.as_deref()) {
        Ok(flows) => flows,
        Err(errors) => {
            for error in &errors.0 {
                eprintln!("switchboard: invalid bot flow: {error}");
            }
            return ExitCode::from(2);
        }
    };
    crate::logging::init(&config.log);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("switchboard: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(crate::server::serve(config, flows)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(%error, "switchboard stopped");
            eprintln!("switchboard: {error}");
            ExitCode::FAILURE
        }
    }
}
