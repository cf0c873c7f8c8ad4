//! The `runyard` command: no arguments opens the window; `run FILE` runs a
//! notebook headless.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use runyard::RuntimeConfig;

#[derive(Parser)]
#[command(
    name = "runyard",
    version,
    about = "Notebook sessions with supervised runtime processes"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<CliCommand>,
}

#[derive(Subcommand)]
enum CliCommand {
    /// Evaluate a percent-format script (cells split by `# %%`) cell by cell
    /// in a fresh Python runtime, printing output as it arrives.
    Run {
        /// The script to run.
        file: PathBuf,
        /// The Python interpreter (a name in PATH or a path).
        #[arg(long, value_name = "PATH")]
        python: Option<String>,
        /// How long the runtime may take to start, in seconds.
        #[arg(long, value_name = "SECONDS", default_value_t = 10.0, value_parser = parse_timeout)]
        timeout_init: f64,
    },
}

fn parse_timeout(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(secs) if secs > 0.0 && secs <= 600.0 => Ok(secs),
        _ => Err(format!("{text:?} is not a number of seconds between 0 and 600")),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    match cli.command {
        Some(CliCommand::Run {
            file,
            python,
            timeout_init,
        }) => {
            let mut config =
                RuntimeConfig::python().with_init_timeout(std::time::Duration::from_secs_f64(timeout_init));
            config.standalone_mut().executable = python;
            // Unlocked handles: the manager thread logs to stderr meanwhile.
            match runyard::headless::run_script(&file, config, &mut std::io::stdout(), &mut std::io::stderr()) {
                Ok(_) => ExitCode::SUCCESS,
                Err(err) => {
                    eprintln!("runyard: {err}");
                    ExitCode::from(err.exit_code() as u8)
                }
            }
        }
        None => {
            eprintln!("runyard: the window is not built yet; use `runyard run FILE`");
            ExitCode::from(2)
        }
    }
}

fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("RUNYARD_LOG").unwrap_or_else(|_| EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}
