//! The `runyard` command: no arguments opens the window; `run FILE` runs a
//! notebook headless.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use clap::{Parser, Subcommand};
use runyard::app::{AppOptions, RunyardApp};
use runyard::headless::RunOptions;
use runyard::settings::Dirs;

#[derive(Parser)]
#[command(
    name = "runyard",
    version,
    about = "Notebook sessions with supervised runtime processes"
)]
#[command(args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<CliCommand>,
    /// Notebook files to open in the window (.ipynb, .livemd, .py).
    files: Vec<PathBuf>,
}

#[derive(Subcommand)]
// Parsed once per process: boxing `Run`'s many options would buy nothing.
#[allow(clippy::large_enum_variant)]
enum CliCommand {
    /// Evaluate a notebook (.ipynb, .livemd, or a .py script with `# %%`
    /// cells) top to bottom in a fresh Python or Elixir runtime.
    ///
    /// Without --output or --inplace the cells' output is printed as it
    /// arrives. With them the outputs are written into the notebook and
    /// progress goes to stderr. A failing cell stops the run (unless
    /// --allow-errors); the notebook is still written, up to that cell. Ctrl-C
    /// interrupts the running cell and stops the run, saving what it has; a
    /// second Ctrl-C exits at once (the runtime is killed, nothing saved).
    ///
    /// Exit status: 0 success (also when --allow-errors let cells fail),
    /// 1 a cell failed or timed out, 2 bad usage or input (refused before
    /// anything runs), 3 the runtime could not start or died, 130 interrupted.
    Run {
        /// The notebook to run.
        file: PathBuf,
        /// Write the evaluated notebook to this file (its extension chooses the format).
        #[arg(long, short, value_name = "OUT", conflicts_with = "inplace")]
        output: Option<PathBuf>,
        /// Write the evaluated notebook over FILE.
        #[arg(long)]
        inplace: bool,
        /// The Python interpreter (a name in PATH or a path), or an
        /// environment directory (its bin/python). Without it, the notebook's
        /// remembered environment, a .venv beside it, or its kernelspec.
        /// With --ssh or --slurm, the interpreter there (default python3).
        #[arg(long, value_name = "PATH")]
        python: Option<String>,
        /// The elixir executable, for Elixir notebooks (a name in PATH or a path).
        #[arg(long, value_name = "PATH")]
        elixir: Option<String>,
        /// Evaluate in this Jupyter kernel (a kernelspec name, as `jupyter
        /// kernelspec list` shows; looked up in JUPYTER_PATH, the user's
        /// Jupyter data dir, $VIRTUAL_ENV and /usr{/local,}/share/jupyter).
        #[arg(long, value_name = "NAME", conflicts_with_all = ["python", "elixir"])]
        kernel: Option<String>,
        /// Run Python on this SSH host (an alias from ~/.ssh/config, host or
        /// user@host), through the system's ssh. With --slurm: the login node
        /// that runs srun.
        #[arg(long, value_name = "HOST", conflicts_with_all = ["kernel", "elixir"])]
        ssh: Option<String>,
        /// The SSH client config for --ssh (ssh -F FILE) instead of ~/.ssh/config.
        #[arg(long, value_name = "FILE", requires = "ssh")]
        ssh_config: Option<PathBuf>,
        /// Run Python as a Slurm job step: srun with these arguments, one
        /// string split as a shell would ("" for the cluster's defaults), on
        /// this computer or, with --ssh, on that login node.
        #[arg(
            long,
            value_name = "SRUN ARGS",
            allow_hyphen_values = true,
            conflicts_with_all = ["kernel", "elixir"]
        )]
        slurm: Option<String>,
        /// How long the runtime may take to start, in seconds.
        #[arg(long, value_name = "SECONDS", default_value_t = 10.0, value_parser = parse_timeout)]
        timeout_init: f64,
        /// Interrupt a cell that runs longer than this, in seconds (default:
        /// no limit); its runtime is killed if it has not stopped 5 s later.
        /// A timeout stops the run, also with --allow-errors (as nbclient).
        #[arg(long, value_name = "SECONDS", value_parser = parse_cell_timeout)]
        timeout: Option<f64>,
        /// Record a failing cell's error in the notebook and go on; exit 0.
        #[arg(long)]
        allow_errors: bool,
        /// The runtime's working directory (default: the notebook's
        /// directory; with --ssh or --slurm: a directory there, default the
        /// login directory).
        #[arg(long, value_name = "DIR")]
        cwd: Option<PathBuf>,
        /// Write one JSON event per line to stdout (run_started, cell_started,
        /// output, cell_finished, run_finished) instead of the cells' output
        /// and progress; see the README for the fields.
        #[arg(long)]
        json: bool,
        /// A parameter, as papermill's -p: injected as `NAME = VALUE` in a
        /// cell after the one tagged "parameters". VALUE is typed as papermill
        /// types it: True, False, None, an integer, a float, else a string.
        #[arg(short = 'p', long = "parameters", alias = "parameter", num_args = 2, value_names = ["NAME", "VALUE"], allow_hyphen_values = true)]
        parameters: Vec<String>,
        /// A parameter whose VALUE stays a string (papermill's -r).
        #[arg(short = 'r', long = "parameters-raw", alias = "parameters_raw", num_args = 2, value_names = ["NAME", "VALUE"], allow_hyphen_values = true)]
        parameters_raw: Vec<String>,
        /// Parameters from a YAML or JSON file holding a mapping (papermill's -f).
        #[arg(
            short = 'f',
            long = "parameters-file",
            alias = "parameters_file",
            value_name = "FILE"
        )]
        parameters_file: Vec<PathBuf>,
        /// Parameters as a YAML mapping, e.g. -y '{alpha: 0.1}' (papermill's -y).
        #[arg(
            short = 'y',
            long = "parameters-yaml",
            alias = "parameters_yaml",
            value_name = "YAML"
        )]
        parameters_yaml: Vec<String>,
    },
    /// Convert a notebook between .ipynb, .livemd and percent scripts (.py)
    /// without running it, as `jupytext --to` does.
    ///
    /// OUT is FILE with the new extension unless -o names it (its extension
    /// then chooses the format; `-o -` writes to standard output). An existing
    /// OUT is not replaced without --force. What the target format cannot hold
    /// (outputs in a script, attachments, metadata…) is listed on stderr.
    Convert {
        /// The notebook to convert (.ipynb, .livemd, .py).
        file: PathBuf,
        /// The format to write: ipynb, livemd or py (also: notebook, percent, py:percent).
        #[arg(long, value_name = "FORMAT", value_parser = parse_format)]
        to: Option<runyard::notebook::Format>,
        /// Where to write it (`-` for standard output).
        #[arg(long, short, value_name = "OUT")]
        output: Option<PathBuf>,
        /// Replace OUT if it exists.
        #[arg(long)]
        force: bool,
    },
    /// List the Python environments and Jupyter kernels found here, as
    /// `jupyter kernelspec list` does (broken kernelspecs marked).
    Kernels {
        /// Print JSON, for programs.
        #[arg(long)]
        json: bool,
        /// Also look for .venv beside this notebook (and above it, up to its project's root).
        #[arg(long, value_name = "NOTEBOOK")]
        notebook: Option<PathBuf>,
    },
}

fn parse_timeout(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(secs) if secs > 0.0 && secs <= 600.0 => Ok(secs),
        _ => Err(format!("{text:?} is not a number of seconds between 0 and 600")),
    }
}

/// `--timeout`: any positive number of seconds, up to a week.
fn parse_cell_timeout(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(secs) if secs > 0.0 && secs <= 7.0 * 86_400.0 => Ok(secs),
        _ => Err(format!("{text:?} is not a number of seconds above 0 (up to a week)")),
    }
}

/// `-p NAME VALUE …` as clap gives them (flat, in twos) as pairs.
fn pairs(flat: Vec<String>) -> Vec<(String, String)> {
    flat.chunks_exact(2).map(|p| (p[0].clone(), p[1].clone())).collect()
}

fn parse_format(name: &str) -> Result<runyard::notebook::Format, String> {
    runyard::notebook::convert::format_by_name(name)
        .ok_or_else(|| format!("{name:?} is not a format Runyard writes (use ipynb, livemd or py)"))
}

fn convert(file: &Path, to: Option<runyard::notebook::Format>, output: Option<&Path>, force: bool) -> ExitCode {
    use runyard::notebook::convert::{self, Destination};
    init_logging(None);
    let result = convert::plan(file, to, output).and_then(|(format, destination)| {
        convert::convert_file(file, format, &destination, force).map(|c| (c, destination))
    });
    match result {
        Ok((converted, destination)) => {
            for line in converted.report.lines() {
                eprintln!("runyard: {line}");
            }
            if destination == Destination::Stdout {
                use std::io::Write;
                let mut stdout = std::io::stdout().lock();
                if let Err(err) = stdout
                    .write_all(converted.text.as_bytes())
                    .and_then(|()| stdout.flush())
                {
                    // An output that cannot be written is bad usage (2), as for a file.
                    eprintln!("runyard: cannot write to standard output: {err}");
                    return ExitCode::from(2);
                }
            }
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("runyard: {err}");
            ExitCode::from(err.exit_code() as u8)
        }
    }
}

fn main() -> ExitCode {
    // The supervisor mode comes first: it parses nothing else and starts no logging.
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if args.get(1).is_some_and(|a| a == runyard::runtime::supervisor::MODE_ARG) {
        runyard::runtime::supervisor::main(&args[2..]);
    }
    match std::env::current_exe() {
        Ok(exe) => runyard::runtime::supervisor::set_program(exe),
        Err(err) => eprintln!("runyard: cannot find its own executable to supervise runtimes with: {err}"),
    }
    let cli = Cli::parse();
    match cli.command {
        Some(CliCommand::Run {
            file,
            output,
            inplace,
            python,
            elixir,
            kernel,
            ssh,
            ssh_config,
            slurm,
            timeout_init,
            timeout,
            allow_errors,
            cwd,
            json,
            parameters,
            parameters_raw,
            parameters_file,
            parameters_yaml,
        }) => {
            use std::io::IsTerminal;
            init_logging(None);
            let place =
                match runyard::headless::place_from_flags(ssh.as_deref(), ssh_config.as_deref(), slurm.as_deref()) {
                    Ok(place) => place,
                    Err(err) => {
                        eprintln!("runyard: {err}");
                        return ExitCode::from(err.exit_code() as u8);
                    }
                };
            let parameters = match runyard::headless::parameters::Parameters::collect(
                &parameters_file,
                &parameters_yaml,
                &pairs(parameters),
                &pairs(parameters_raw),
            ) {
                Ok(parameters) => parameters,
                Err(err) => {
                    eprintln!("runyard: {err}");
                    return ExitCode::from(2);
                }
            };
            let options = RunOptions {
                python,
                elixir,
                kernel,
                place,
                init_timeout: std::time::Duration::from_secs_f64(timeout_init),
                output,
                inplace,
                progress_bar: std::io::stderr().is_terminal(),
                timeout: timeout.map(std::time::Duration::from_secs_f64),
                allow_errors,
                cwd,
                json,
                interrupt: match runyard::headless::on_sigint() {
                    Ok(flag) => Some(flag),
                    Err(err) => {
                        // Ctrl-C then ends the process at once, as it did before.
                        eprintln!("runyard: warning: Ctrl-C cannot be caught: {err}");
                        None
                    }
                },
                parameters,
            };
            // Unlocked handles: the manager thread logs to stderr meanwhile.
            match runyard::headless::run(&file, &options, &mut std::io::stdout(), &mut std::io::stderr()) {
                Ok(_) => ExitCode::SUCCESS,
                Err(err) => {
                    eprintln!("runyard: {err}");
                    ExitCode::from(err.exit_code() as u8)
                }
            }
        }
        Some(CliCommand::Convert {
            file,
            to,
            output,
            force,
        }) => convert(&file, to, output.as_deref(), force),
        Some(CliCommand::Kernels { json, notebook }) => {
            init_logging(None);
            let inputs = runyard::kernels::Inputs::from_env(notebook.as_deref());
            let found = runyard::kernels::discover(&inputs);
            if json {
                println!("{:#}", found.to_json());
            } else {
                print!("{}", found.to_table());
            }
            ExitCode::SUCCESS
        }
        None => {
            // A mistyped subcommand or path must not open an empty window.
            if let Some(missing) = cli.files.iter().find(|f| !f.is_file()) {
                eprintln!("runyard: cannot open {}: no such file", missing.display());
                return ExitCode::from(2);
            }
            run_window(cli.files)
        }
    }
}

/// Embedded so the window has its icon without an installed icon theme
/// (`cargo run`, window managers that read `_NET_WM_ICON`).
const WINDOW_ICON_PNG: &[u8] = include_bytes!("../assets/icons/hicolor/256x256/apps/runyard.png");

fn run_window(files: Vec<PathBuf>) -> ExitCode {
    let dirs = Dirs::platform();
    // Before the log: it goes into the data folder, which must be private first.
    let prepared = dirs.prepare();
    init_logging(Some(&dirs.log_file()));
    if let Err(err) = prepared {
        tracing::warn!(%err, "Runyard's folders could not be made private (0700)");
    }
    tracing::info!("Runyard {} starting", env!("CARGO_PKG_VERSION"));
    let (settings, _) = runyard::settings::load(&dirs.settings_file());
    let size = settings.window_size.unwrap_or([1100.0, 760.0]);
    let mut viewport = egui::ViewportBuilder::default()
        .with_title("Runyard")
        .with_app_id("runyard")
        .with_inner_size(size)
        .with_min_inner_size([640.0, 400.0]);
    match eframe::icon_data::from_png_bytes(WINDOW_ICON_PNG) {
        Ok(icon) => viewport = viewport.with_icon(icon),
        Err(err) => tracing::warn!("the window icon could not be decoded: {err}"),
    }
    let options = eframe::NativeOptions {
        viewport,
        ..Default::default()
    };
    let egui = runyard::app::quiet_pointer::SharedContext::default();
    let created = egui.clone();
    let failure = Arc::new(Mutex::new(None::<String>));
    let failed = failure.clone();
    let result = run_event_loop(options, egui, move |cc| {
        let _ = created.set(cc.egui_ctx.clone());
        let app = RunyardApp::new(
            cc,
            AppOptions {
                open: files,
                ..AppOptions::new(dirs)
            },
        );
        if let Err(err) = &app {
            *failed.lock().unwrap_or_else(|e| e.into_inner()) = Some(err.to_string());
        }
        Ok(Box::new(app?))
    });
    // eframe keeps its own errors inside its event handler: an app that was
    // never created means the window never opened.
    let failure = failure.lock().unwrap_or_else(|e| e.into_inner()).take();
    match (result, failure) {
        (Ok(true), None) => ExitCode::SUCCESS,
        (Ok(false), None) => {
            eprintln!("runyard: the window could not be opened (see the log above)");
            ExitCode::FAILURE
        }
        (Err(err), _) | (_, Some(err)) => {
            eprintln!("runyard: the window could not be opened: {err}");
            ExitCode::FAILURE
        }
    }
}

/// eframe's window on an event loop of our own, so that pointer moves pass
/// through [`QuietPointer`]. Returns whether the app was created.
fn run_event_loop(
    options: eframe::NativeOptions,
    egui: runyard::app::quiet_pointer::SharedContext,
    create: impl FnOnce(
        &eframe::CreationContext<'_>,
    ) -> Result<Box<dyn eframe::App>, Box<dyn std::error::Error + Send + Sync>>
    + 'static,
) -> Result<bool, String> {
    use runyard::app::quiet_pointer::QuietPointer;
    let event_loop = winit::event_loop::EventLoop::<eframe::UserEvent>::with_user_event()
        .build()
        .map_err(|err| err.to_string())?;
    let app = eframe::create_native("Runyard", options, Box::new(create), &event_loop);
    let mut handler = QuietPointer::new(app, egui.clone());
    event_loop.run_app(&mut handler).map_err(|err| err.to_string())?;
    Ok(egui.get().is_some())
}

/// Logs to stderr (errors only unless `RUNYARD_LOG` says otherwise) and, for
/// the window, everything from info up to the log file that "View logs" shows.
fn init_logging(file: Option<&Path>) {
    use std::io::IsTerminal;
    use tracing_subscriber::prelude::*;
    use tracing_subscriber::{EnvFilter, fmt};

    let stderr_filter = EnvFilter::try_from_env("RUNYARD_LOG").unwrap_or_else(|_| EnvFilter::new("error"));
    let stderr = fmt::layer()
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .with_filter(stderr_filter);
    let file_layer = file.and_then(|path| match open_log(path) {
        Ok(file) => Some(
            fmt::layer()
                .with_ansi(false)
                .with_writer(std::sync::Mutex::new(file))
                .with_filter(EnvFilter::new("info")),
        ),
        Err(err) => {
            eprintln!("runyard: cannot write the log file {}: {err}", path.display());
            None
        }
    });
    tracing_subscriber::registry().with(stderr).with(file_layer).init();
}

/// Opens the log for appending; a log past 10 MiB is moved aside first.
fn open_log(path: &Path) -> std::io::Result<std::fs::File> {
    if std::fs::metadata(path).is_ok_and(|m| m.len() > 10 * 1024 * 1024) {
        std::fs::rename(path, path.with_extension("log.1"))?;
    }
    runyard::fsutil::open_private_append(path)
}

#[cfg(test)]
mod tests {
    #[test]
    fn window_icon_decodes() {
        let icon = eframe::icon_data::from_png_bytes(super::WINDOW_ICON_PNG).unwrap();
        assert_eq!((icon.width, icon.height), (256, 256));
    }
}
