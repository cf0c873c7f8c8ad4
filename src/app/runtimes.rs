//! The runtimes found on this computer (Python environments, Jupyter
//! kernels), kept in memory for the dialogs that offer them and refreshed in
//! the background — when a dialog that lists them opens, and when a notebook
//! opens (that scan also looks beside the notebook).

use std::path::Path;
use std::sync::Arc;

use super::RunyardApp;
use super::files::Done;
use crate::kernels::{Choice, Discovered, Inputs, Pick};
use crate::notebook::Language;
use crate::runtime::{RuntimeConfig, RuntimeKind};
use crate::settings::Settings;

/// The cache: the last scan, and whether one is running.
pub(super) struct Runtimes {
    pub found: Option<Arc<Discovered>>,
    scanning: bool,
    /// What a scan looks at (this process's environment, or a test's).
    pub inputs: Inputs,
}

impl Runtimes {
    pub fn new(inputs: Option<Inputs>) -> Runtimes {
        Runtimes {
            found: None,
            scanning: false,
            inputs: inputs.unwrap_or_else(|| Inputs::from_env(None)),
        }
    }
}

impl RunyardApp {
    /// Scans again in the background unless a scan is running; the dialogs
    /// show the last result meanwhile.
    pub(super) fn refresh_runtimes(&mut self) {
        if self.runtimes.scanning {
            return;
        }
        self.runtimes.scanning = true;
        let inputs = self.runtimes.inputs.clone();
        self.tasks.spawn_detached("discover", move || {
            Done::Discovered(Arc::new(crate::kernels::discover(&inputs)))
        });
    }

    /// A scan finished (the refresh's, or one made for a notebook).
    pub(super) fn discovered(&mut self, found: Arc<Discovered>, for_notebook: bool) {
        if !for_notebook {
            self.runtimes.scanning = false;
        }
        self.runtimes.found = Some(found);
    }

    /// What the last scan found, if one finished.
    pub fn discovered_runtimes(&self) -> Option<&Discovered> {
        self.runtimes.found.as_deref()
    }
}

/// The configuration a pick means, with the settings' defaults; `Err` is
/// why nothing here can run the notebook.
pub(super) fn config_for_pick(
    settings: &Settings,
    pick: &Pick,
    language: &Language,
) -> Result<(RuntimeConfig, Option<Choice>), String> {
    match pick {
        Pick::Python {
            interpreter,
            environment,
            ..
        } => Ok((
            settings
                .python_config()
                .with_executable(interpreter.display().to_string()),
            environment.as_ref().map(Choice::environment),
        )),
        Pick::Kernel(spec) => Ok((settings.with_defaults(RuntimeConfig::jupyter(spec.clone())), None)),
        Pick::Default => Ok((
            match language {
                Language::Elixir => settings.with_defaults(RuntimeConfig::elixir()),
                _ => settings.python_config(),
            },
            None,
        )),
        Pick::Missing { message, .. } => Err(message.clone()),
    }
}

/// What a configuration chosen in a dialog is, for the notebook to remember:
/// a discovered environment's prefix, an interpreter path, or a kernel.
pub(super) fn choice_of(config: &RuntimeConfig, found: Option<&Discovered>) -> Option<Choice> {
    if !config.place.is_local() {
        // This computer's environments and kernels say nothing of a host's;
        // the place itself is remembered (`remote::remembered`).
        return None;
    }
    match &config.kind {
        RuntimeKind::JupyterKernel(kernel) => Some(Choice::kernel(&kernel.spec)),
        RuntimeKind::PythonStandalone(standalone) => {
            let executable = standalone.executable.as_deref()?.trim();
            let path = Path::new(executable);
            if !path.is_absolute() {
                // A name looked up in PATH says nothing about this notebook.
                return None;
            }
            let env = found.and_then(|f| {
                f.environments
                    .iter()
                    .find(|e| e.interpreter == path || e.real_interpreter == path)
            });
            Some(match env {
                Some(env) => Choice::environment(env),
                None => Choice::Python {
                    path: path.to_path_buf(),
                    version: None,
                },
            })
        }
        _ => None,
    }
}
