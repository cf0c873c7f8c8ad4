//! Finding the runtimes people already have: Python environments (system
//! interpreters on `PATH`, virtualenvs, conda, pyenv, uv) and Jupyter
//! kernelspecs, read cheaply from the files that describe them — never by
//! running an interpreter — so that a full scan takes milliseconds and can
//! be repeated whenever a dialog needs it.
//!
//! Everything read here is untrusted: files are read only when they are
//! regular files and only up to a bound, directory listings are capped, and
//! a symlink loop is an unresolvable path, not a hang.

use std::collections::HashSet;
use std::ffi::OsString;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::spec::{KernelSpec, SpecError};

/// Small text files (`pyvenv.cfg`, `environments.txt`) are read up to this.
const MAX_TEXT_BYTES: u64 = 64 * 1024;
/// Directory entries looked at per directory (a `PATH` entry, `kernels/`).
const MAX_DIR_ENTRIES: usize = 5000;
/// Environments listed in `~/.conda/environments.txt` that are looked at.
const MAX_CONDA_ENVS: usize = 500;

/// Where an environment comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EnvKind {
    /// An interpreter found on `PATH`, outside any environment.
    System,
    /// A virtual environment (`pyvenv.cfg`): `$VIRTUAL_ENV`, `.venv` beside a notebook.
    Venv,
    /// A conda environment (`conda-meta/`).
    Conda,
    /// A pyenv version (`$PYENV_ROOT/versions/*`).
    Pyenv,
    /// A Python installed by uv (`~/.local/share/uv/python/*`).
    Uv,
}

impl EnvKind {
    pub fn label(self) -> &'static str {
        match self {
            EnvKind::System => "system",
            EnvKind::Venv => "venv",
            EnvKind::Conda => "conda",
            EnvKind::Pyenv => "pyenv",
            EnvKind::Uv => "uv",
        }
    }
}

/// One Python environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Environment {
    pub kind: EnvKind,
    /// The environment's directory (`sys.prefix`); for a system interpreter
    /// the directory above its `bin`.
    pub prefix: PathBuf,
    /// What to run: the environment's own `bin/python` (a venv's symlink is
    /// what makes it the venv), or the interpreter found on `PATH`.
    pub interpreter: PathBuf,
    /// `interpreter` with every symlink resolved.
    pub real_interpreter: PathBuf,
    /// `3.12.3`, `3.11`, or empty when nothing cheap says.
    pub version: String,
    /// A short name for lists: the venv's directory, the conda env's name, …
    pub name: String,
}

impl Environment {
    /// `3.12 (venv .venv)`-style label for menus.
    pub fn label(&self) -> String {
        let version = if self.version.is_empty() {
            "Python".to_string()
        } else {
            format!("Python {}", self.version)
        };
        format!("{version} · {} · {}", self.kind.label(), self.name)
    }

    /// The major version, if the version is known.
    pub fn major(&self) -> Option<u32> {
        self.version.split('.').next()?.parse().ok()
    }
}

/// A kernelspec found in a Jupyter data directory, readable or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundSpec {
    pub name: String,
    pub dir: PathBuf,
    pub spec: Result<KernelSpec, SpecError>,
    /// The spec reads, but its `argv[0]` is neither an existing path nor a
    /// program on `PATH`: it will not start here.
    pub missing_program: bool,
}

impl FoundSpec {
    pub fn ok(&self) -> Option<&KernelSpec> {
        self.spec.as_ref().ok()
    }
}

/// Everything found, in the order it is offered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Discovered {
    pub environments: Vec<Environment>,
    pub kernels: Vec<FoundSpec>,
    /// The Jupyter data directories searched, in Jupyter's order.
    pub jupyter_path: Vec<PathBuf>,
}

impl Discovered {
    /// The kernelspec of that name (the first found, as in Jupyter).
    pub fn kernel(&self, name: &str) -> Option<&FoundSpec> {
        self.kernels.iter().find(|k| k.name == name)
    }

    /// The environment whose prefix is `prefix` (compared resolved).
    pub fn environment_at(&self, prefix: &Path) -> Option<&Environment> {
        let wanted = std::fs::canonicalize(prefix).unwrap_or_else(|_| prefix.to_path_buf());
        self.environments.iter().find(|e| {
            e.prefix == wanted
                || e.prefix == prefix
                || std::fs::canonicalize(&e.prefix).is_ok_and(|real| real == wanted)
        })
    }

    /// The whole result as `runyard kernels --json` prints it.
    pub fn to_json(&self) -> serde_json::Value {
        let kernels: Vec<serde_json::Value> = self
            .kernels
            .iter()
            .map(|k| match &k.spec {
                Ok(spec) => serde_json::json!({
                    "name": k.name,
                    "path": k.dir,
                    "display_name": spec.display_name,
                    "language": spec.language,
                    "argv": spec.argv,
                    "ok": !k.missing_program,
                    "error": if k.missing_program {
                        serde_json::Value::String(format!("{} not found", spec.argv[0]))
                    } else {
                        serde_json::Value::Null
                    },
                }),
                Err(err) => serde_json::json!({
                    "name": k.name,
                    "path": k.dir,
                    "ok": false,
                    "error": err.to_string(),
                }),
            })
            .collect();
        serde_json::json!({
            "environments": self.environments,
            "kernels": kernels,
            "jupyter_path": self.jupyter_path,
        })
    }

    /// The lists as `jupyter kernelspec list` prints them: one per line.
    pub fn to_table(&self) -> String {
        let mut out = String::from("Python environments:\n");
        if self.environments.is_empty() {
            out.push_str("  (none found)\n");
        }
        let width = self.environments.iter().map(|e| e.name.len()).max().unwrap_or(0);
        for env in &self.environments {
            let version = if env.version.is_empty() { "?" } else { &env.version };
            out.push_str(&format!(
                "  {:<width$}  {:<6}  {:<8}  {}\n",
                env.name,
                env.kind.label(),
                version,
                env.prefix.display()
            ));
        }
        out.push_str("Jupyter kernels:\n");
        if self.kernels.is_empty() {
            out.push_str("  (none found)\n");
        }
        let width = self.kernels.iter().map(|k| k.name.len()).max().unwrap_or(0);
        for k in &self.kernels {
            let (language, detail) = match &k.spec {
                Ok(spec) if k.missing_program => {
                    (spec.language.as_str(), format!("BROKEN: {} not found", spec.argv[0]))
                }
                Ok(spec) => (spec.language.as_str(), spec.display_name.clone()),
                Err(err) => ("?", format!("BROKEN: {err}")),
            };
            out.push_str(&format!(
                "  {:<width$}  {:<8}  {}  {}\n",
                k.name,
                language,
                k.dir.display(),
                detail
            ));
        }
        out
    }
}

/// What a scan looks at: the environment variables and directories that
/// matter, so that a scan is a pure function of them (and testable).
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    pub home: Option<PathBuf>,
    pub path: Option<OsString>,
    pub virtual_env: Option<PathBuf>,
    pub conda_prefix: Option<PathBuf>,
    pub pyenv_root: Option<PathBuf>,
    pub jupyter_path: Option<OsString>,
    pub jupyter_data_dir: Option<PathBuf>,
    pub xdg_data_home: Option<PathBuf>,
    /// Where uv keeps its Pythons when set (`UV_PYTHON_INSTALL_DIR`).
    pub uv_python_dir: Option<PathBuf>,
    /// The notebook whose neighbouring `.venv`s are looked for.
    pub notebook: Option<PathBuf>,
    /// Jupyter's system data directories, searched last
    /// (`/usr/local/share/jupyter`, `/usr/share/jupyter`).
    pub system_data_dirs: Vec<PathBuf>,
}

fn var_path(name: &str) -> Option<PathBuf> {
    std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from)
}

impl Inputs {
    /// This process's environment.
    pub fn from_env(notebook: Option<&Path>) -> Inputs {
        Inputs {
            home: var_path("HOME"),
            path: std::env::var_os("PATH"),
            virtual_env: var_path("VIRTUAL_ENV"),
            conda_prefix: var_path("CONDA_PREFIX"),
            pyenv_root: var_path("PYENV_ROOT"),
            jupyter_path: std::env::var_os("JUPYTER_PATH").filter(|v| !v.is_empty()),
            jupyter_data_dir: var_path("JUPYTER_DATA_DIR"),
            xdg_data_home: var_path("XDG_DATA_HOME"),
            uv_python_dir: var_path("UV_PYTHON_INSTALL_DIR"),
            notebook: notebook.map(Path::to_path_buf),
            system_data_dirs: vec![
                PathBuf::from("/usr/local/share/jupyter"),
                PathBuf::from("/usr/share/jupyter"),
            ],
        }
    }

    /// The same, for another notebook.
    pub fn for_notebook(&self, notebook: Option<&Path>) -> Inputs {
        Inputs {
            notebook: notebook.map(Path::to_path_buf),
            ..self.clone()
        }
    }

    fn data_home(&self) -> Option<PathBuf> {
        self.xdg_data_home
            .clone()
            .or_else(|| self.home.as_ref().map(|h| h.join(".local/share")))
    }
}

/// Scans for environments and kernelspecs; never fails, never panics: what
/// cannot be read is skipped (environments) or listed with its error (kernels).
pub fn discover(inputs: &Inputs) -> Discovered {
    let started = std::time::Instant::now();
    let environments = environments(inputs);
    let jupyter_path = jupyter_path(inputs, &environments);
    let kernels = kernelspecs(&jupyter_path, inputs.path.as_deref());
    tracing::debug!(
        environments = environments.len(),
        kernels = kernels.len(),
        elapsed = ?started.elapsed(),
        "runtimes discovered"
    );
    Discovered {
        environments,
        kernels,
        jupyter_path,
    }
}

// --- Python environments ---

/// The environments in the order offered: beside the notebook (nearest
/// first), `$VIRTUAL_ENV`, `$CONDA_PREFIX`, conda's list, pyenv, uv, then
/// interpreters on `PATH`. The first of two with the same resolved
/// interpreter and prefix is kept (so `PATH`'s entry for an activated venv is
/// the venv).
pub fn environments(inputs: &Inputs) -> Vec<Environment> {
    let mut found = Vec::new();
    if let Some(notebook) = &inputs.notebook {
        for dir in project_venvs(notebook, inputs.home.as_deref()) {
            found.extend(environment_at(&dir, None));
        }
    }
    if let Some(venv) = &inputs.virtual_env {
        found.extend(environment_at(venv, None));
    }
    if let Some(conda) = &inputs.conda_prefix {
        found.extend(environment_at(conda, Some(EnvKind::Conda)));
    }
    if let Some(home) = &inputs.home {
        let list = home.join(".conda/environments.txt");
        if let Some(text) = read_small(&list) {
            for line in text.lines().take(MAX_CONDA_ENVS) {
                let line = line.trim();
                if !line.is_empty() && !line.starts_with('#') {
                    found.extend(environment_at(Path::new(line), Some(EnvKind::Conda)));
                }
            }
        }
    }
    let pyenv = inputs
        .pyenv_root
        .clone()
        .or_else(|| inputs.home.as_ref().map(|h| h.join(".pyenv")));
    if let Some(root) = &pyenv {
        for dir in subdirs(&root.join("versions")) {
            found.extend(environment_at(&dir, Some(EnvKind::Pyenv)));
        }
    }
    let uv = inputs
        .uv_python_dir
        .clone()
        .or_else(|| inputs.data_home().map(|d| d.join("uv/python")));
    if let Some(root) = &uv {
        for dir in subdirs(root) {
            found.extend(environment_at(&dir, Some(EnvKind::Uv)));
        }
    }
    if let Some(path) = &inputs.path {
        for dir in std::env::split_paths(path) {
            found.extend(path_interpreters(&dir, pyenv.as_deref(), uv.as_deref()));
        }
    }
    let mut seen = HashSet::new();
    found.retain(|e| {
        let prefix = std::fs::canonicalize(&e.prefix).unwrap_or_else(|_| e.prefix.clone());
        seen.insert((e.real_interpreter.clone(), prefix))
    });
    found
}

/// `.venv`, `venv` and `env` beside `notebook` and in the directories above
/// it, up to the project's root: the first directory holding `.git` or
/// `pyproject.toml`, or the home directory (included), whichever comes first.
pub fn project_venvs(notebook: &Path, home: Option<&Path>) -> Vec<PathBuf> {
    let start = if notebook.is_dir() {
        notebook.to_path_buf()
    } else {
        notebook.parent().map(Path::to_path_buf).unwrap_or_default()
    };
    let start = std::fs::canonicalize(&start).unwrap_or(start);
    let home = home.map(|h| std::fs::canonicalize(h).unwrap_or_else(|_| h.to_path_buf()));
    let mut out = Vec::new();
    for dir in start.ancestors() {
        for name in [".venv", "venv", "env"] {
            let candidate = dir.join(name);
            if candidate.join("pyvenv.cfg").is_file() {
                out.push(candidate);
            }
        }
        let root = dir.join(".git").exists() || dir.join("pyproject.toml").is_file();
        if root || home.as_deref() == Some(dir) {
            break;
        }
    }
    out
}

/// The interpreter of an environment directory: `bin/python`, else `bin/python3`.
pub fn interpreter_in(prefix: &Path) -> Option<PathBuf> {
    ["bin/python", "bin/python3"]
        .iter()
        .map(|rel| prefix.join(rel))
        .find(|p| p.is_file())
}

/// The environment whose prefix is `dir`, if it has an interpreter. Its kind
/// is `kind` if given, else what its files say (venv, conda), else system.
pub fn environment_at(dir: &Path, kind: Option<EnvKind>) -> Option<Environment> {
    // The folders above resolved, the environment's own name kept: a `.venv`
    // that is a symlink to a shared environment is still the project's `.venv`.
    let prefix = match (dir.parent().map(std::fs::canonicalize), dir.file_name()) {
        (Some(Ok(parent)), Some(name)) => parent.join(name),
        _ => dir.to_path_buf(),
    };
    let interpreter = interpreter_in(&prefix)?;
    let real_interpreter = std::fs::canonicalize(&interpreter).unwrap_or_else(|_| interpreter.clone());
    let cfg = read_small(&dir.join("pyvenv.cfg")).map(|t| pyvenv_cfg(&t));
    let conda = conda_python_version(dir);
    let kind = kind.unwrap_or(if cfg.is_some() {
        EnvKind::Venv
    } else if conda.is_some() {
        EnvKind::Conda
    } else {
        EnvKind::System
    });
    let version = cfg
        .and_then(|c| c.version)
        .or(conda)
        .or_else(|| version_from_name(dir.file_name().and_then(|n| n.to_str()).unwrap_or("")))
        .or_else(|| version_of_interpreter_name(&real_interpreter))
        .or_else(|| lib_python_version(&prefix))
        .unwrap_or_default();
    let name = match kind {
        EnvKind::Venv => {
            let base = dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if base.starts_with('.') || base == "venv" || base == "env" {
                // `.venv` says little: name it by the project it belongs to.
                match dir.parent().and_then(Path::file_name) {
                    Some(project) => format!("{}/{base}", project.to_string_lossy()),
                    None => base,
                }
            } else {
                base
            }
        }
        _ => dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| dir.display().to_string()),
    };
    Some(Environment {
        kind,
        prefix,
        interpreter,
        real_interpreter,
        version,
        name,
    })
}

/// `python3` and `python3.X` in a `PATH` directory, each as the environment
/// it belongs to.
fn path_interpreters(dir: &Path, pyenv: Option<&Path>, uv: Option<&Path>) -> Vec<Environment> {
    // pyenv's shims are scripts that pick one of its versions, which are
    // listed as themselves: the shims would list each version twice, nameless.
    let real_dir = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    if pyenv.is_some_and(|root| real_dir == root.join("shims") || dir == root.join("shims")) {
        return Vec::new();
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .take(MAX_DIR_ENTRIES)
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| is_python3_name(n))
        .collect();
    // `python3` first, then by version, newest first.
    names.sort_by_key(|n| std::cmp::Reverse(minor_of(n).map_or(u32::MAX, |m| m)));
    let mut out = Vec::new();
    for name in names {
        let interpreter = dir.join(&name);
        if !interpreter.is_file() {
            continue;
        }
        let real_interpreter = std::fs::canonicalize(&interpreter).unwrap_or_else(|_| interpreter.clone());
        // The resolved directory: `/bin` on a merged-/usr system is `/usr/bin`.
        let bin = real_dir.as_path();
        let prefix_dir = bin.parent().unwrap_or(bin);
        let prefix = std::fs::canonicalize(prefix_dir).unwrap_or_else(|_| prefix_dir.to_path_buf());
        let cfg = read_small(&prefix.join("pyvenv.cfg")).map(|t| pyvenv_cfg(&t));
        let conda = conda_python_version(&prefix);
        let under = |root: Option<&Path>| root.is_some_and(|r| prefix.starts_with(r));
        let kind = if cfg.is_some() {
            EnvKind::Venv
        } else if conda.is_some() {
            EnvKind::Conda
        } else if under(pyenv) {
            EnvKind::Pyenv
        } else if under(uv) {
            EnvKind::Uv
        } else {
            EnvKind::System
        };
        let version = cfg
            .and_then(|c| c.version)
            .or(conda)
            .or_else(|| version_of_interpreter_name(&interpreter))
            .or_else(|| version_of_interpreter_name(&real_interpreter))
            .or_else(|| lib_python_version(&prefix))
            .unwrap_or_default();
        out.push(Environment {
            kind,
            name: if kind == EnvKind::System {
                interpreter.display().to_string()
            } else {
                prefix
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default()
            },
            prefix,
            interpreter,
            real_interpreter,
            version,
        });
    }
    out
}

fn is_python3_name(name: &str) -> bool {
    name == "python3" || minor_of(name).is_some()
}

/// 12 for `python3.12`.
fn minor_of(name: &str) -> Option<u32> {
    let rest = name.strip_prefix("python3.")?;
    if rest.is_empty() || !rest.bytes().all(|b| b.is_ascii_digit()) || rest.len() > 3 {
        return None;
    }
    rest.parse().ok()
}

/// `3.12` from an interpreter named `python3.12`.
fn version_of_interpreter_name(path: &Path) -> Option<String> {
    let name = path.file_name()?.to_str()?;
    minor_of(name).map(|m| format!("3.{m}"))
}

/// `3.11.4` from a directory named `3.11.4`, `cpython-3.11.4-linux-x86_64-gnu`
/// or `pypy3.10-7.3.12`.
fn version_from_name(name: &str) -> Option<String> {
    name.split(['-', '+'])
        .map(|part| part.trim_start_matches(|c: char| c.is_ascii_alphabetic()))
        .find(|part| looks_like_version(part))
        .map(str::to_string)
}

fn looks_like_version(text: &str) -> bool {
    let parts: Vec<&str> = text.split('.').collect();
    parts.len() >= 2
        && parts.len() <= 4
        && parts[..2]
            .iter()
            .all(|p| !p.is_empty() && p.len() <= 4 && p.bytes().all(|b| b.is_ascii_digit()))
        && (parts[0] == "2" || parts[0] == "3")
}

/// `3.12` from a `lib/python3.12` directory.
fn lib_python_version(prefix: &Path) -> Option<String> {
    let entries = std::fs::read_dir(prefix.join("lib")).ok()?;
    entries
        .take(MAX_DIR_ENTRIES)
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().into_string().ok())
        .filter_map(|n| n.strip_prefix("python").map(str::to_string))
        .filter(|v| looks_like_version(v))
        .max_by_key(|v| v.split('.').nth(1).and_then(|m| m.parse::<u32>().ok()))
}

/// What `pyvenv.cfg` says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PyvenvCfg {
    pub version: Option<String>,
    pub home: Option<PathBuf>,
}

/// Reads `key = value` lines: `version` (virtualenv, venv) or `version_info`
/// (uv: `3.12.3.final.0`, cut to `3.12.3`), and `home`.
pub fn pyvenv_cfg(text: &str) -> PyvenvCfg {
    let mut cfg = PyvenvCfg::default();
    let mut version_info = None;
    for line in text.lines() {
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let value = value.trim();
        match key.trim() {
            "version" if looks_like_version(value) => cfg.version = Some(value.to_string()),
            "version_info" => {
                let parts: Vec<&str> = value.split('.').take(3).collect();
                let cut = parts.join(".");
                if looks_like_version(&cut) {
                    version_info = Some(cut);
                }
            }
            "home" if !value.is_empty() => cfg.home = Some(PathBuf::from(value)),
            _ => {}
        }
    }
    cfg.version = cfg.version.or(version_info);
    cfg
}

/// The Python version a conda environment holds: `conda-meta/python-3.11.5-h955ad1f_0.json`.
fn conda_python_version(prefix: &Path) -> Option<String> {
    let entries = std::fs::read_dir(prefix.join("conda-meta")).ok()?;
    entries
        .take(MAX_DIR_ENTRIES)
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().into_string().ok())
        .find_map(|n| {
            let rest = n.strip_prefix("python-")?.strip_suffix(".json")?;
            let version = rest.split('-').next()?;
            looks_like_version(version).then(|| version.to_string())
        })
}

// --- Kernelspecs ---

/// Jupyter's data directories in its order: `$JUPYTER_PATH`, the user's
/// (`$JUPYTER_DATA_DIR`, else `~/.local/share/jupyter`), each environment's
/// `share/jupyter`, then `/usr/local/share/jupyter` and `/usr/share/jupyter`.
pub fn jupyter_path(inputs: &Inputs, environments: &[Environment]) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(path) = &inputs.jupyter_path {
        dirs.extend(std::env::split_paths(path).filter(|p| !p.as_os_str().is_empty()));
    }
    if let Some(dir) = inputs
        .jupyter_data_dir
        .clone()
        .or_else(|| inputs.data_home().map(|d| d.join("jupyter")))
    {
        dirs.push(dir);
    }
    for env in environments {
        dirs.push(env.prefix.join("share/jupyter"));
    }
    dirs.extend(inputs.system_data_dirs.iter().cloned());
    let mut seen = HashSet::new();
    dirs.retain(|d| seen.insert(d.clone()));
    dirs
}

/// Every `kernels/NAME/kernel.json` under the data directories; the first of
/// a name wins, as in Jupyter.
pub fn kernelspecs(data_dirs: &[PathBuf], path: Option<&std::ffi::OsStr>) -> Vec<FoundSpec> {
    let mut names = HashSet::new();
    let mut out = Vec::new();
    for data in data_dirs {
        let mut dirs = subdirs(&data.join("kernels"));
        dirs.sort();
        for dir in dirs {
            let Some(name) = dir.file_name().map(|n| n.to_string_lossy().into_owned()) else {
                continue;
            };
            let file = dir.join("kernel.json");
            // A directory without kernel.json is not a kernelspec (Jupyter skips it).
            let meta = match std::fs::metadata(&file) {
                Ok(meta) => Ok(meta),
                // A dangling symlink or a loop: there, but broken.
                Err(err) if std::fs::symlink_metadata(&file).is_ok() => Err(err),
                Err(_) => continue,
            };
            if !names.insert(name.clone()) {
                continue;
            }
            let spec = match meta {
                Ok(meta) if meta.is_file() => KernelSpec::read(&dir),
                // A FIFO or a device would block or never end: never opened.
                Ok(_) => Err(SpecError::Unreadable {
                    path: file,
                    message: "not a regular file".into(),
                }),
                Err(err) => Err(SpecError::Unreadable {
                    path: file,
                    message: err.to_string(),
                }),
            };
            let missing_program = match &spec {
                Ok(spec) => !program_exists(&spec.argv[0], path),
                Err(_) => false,
            };
            if let Err(err) = &spec {
                tracing::warn!("kernelspec {name}: {err}");
            }
            out.push(FoundSpec {
                name,
                dir,
                spec,
                missing_program,
            });
        }
    }
    out
}

/// A path that exists, or a bare name found in `path`.
fn program_exists(program: &str, path: Option<&std::ffi::OsStr>) -> bool {
    let p = Path::new(program);
    if p.components().count() > 1 || p.is_absolute() {
        return p.is_file();
    }
    let Some(path) = path else { return false };
    std::env::split_paths(path).any(|dir| dir.join(program).is_file())
}

// --- Bounded reading ---

/// Subdirectories of `dir` (symlinks to directories included), capped.
fn subdirs(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = entries
        .take(MAX_DIR_ENTRIES)
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    out.sort_by_key(|p| natural_key(p));
    out
}

/// Version-aware order of names: `3.9.18` before `3.10.13`.
fn natural_key(path: &Path) -> Vec<(u64, String)> {
    let name = path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
    name.split(|c: char| !c.is_ascii_alphanumeric())
        .map(|part| match part.parse::<u64>() {
            Ok(n) => (n, String::new()),
            Err(_) => (u64::MAX, part.to_string()),
        })
        .collect()
}

/// A regular file's text, up to [`MAX_TEXT_BYTES`] (lossy UTF-8); `None`
/// for anything else (missing, a directory, a FIFO).
fn read_small(path: &Path) -> Option<String> {
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_file() {
        return None;
    }
    let file = std::fs::File::open(path).ok()?;
    let mut bytes = Vec::new();
    file.take(MAX_TEXT_BYTES).read_to_end(&mut bytes).ok()?;
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_pyvenv_cfg_as_venv_virtualenv_and_uv_write_it() {
        let venv = pyvenv_cfg("home = /usr/bin\ninclude-system-site-packages = false\nversion = 3.12.3\n");
        assert_eq!(venv.version.as_deref(), Some("3.12.3"));
        assert_eq!(venv.home.as_deref(), Some(Path::new("/usr/bin")));
        let uv = pyvenv_cfg("home = /x/bin\nimplementation = CPython\nuv = 0.4.0\nversion_info = 3.11.9.final.0\n");
        assert_eq!(uv.version.as_deref(), Some("3.11.9"));
        let junk = pyvenv_cfg("\u{0}\u{1}version = banana\n=\n");
        assert_eq!(junk.version, None);
    }

    #[test]
    fn pyenv_shims_are_not_environments_and_a_symlinked_bin_is_its_target() {
        let dir = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(dir.path()).unwrap();
        let shims = root.join("pyenv/shims");
        std::fs::create_dir_all(&shims).unwrap();
        std::fs::write(shims.join("python3"), "#!/bin/sh\nexec pyenv exec python3 \"$@\"\n").unwrap();
        assert!(path_interpreters(&shims, Some(&root.join("pyenv")), None).is_empty());

        std::fs::create_dir_all(root.join("usr/bin")).unwrap();
        std::fs::write(root.join("usr/bin/python3"), "").unwrap();
        std::os::unix::fs::symlink(root.join("usr/bin"), root.join("bin")).unwrap();
        let found = path_interpreters(&root.join("bin"), None, None);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].prefix, root.join("usr"), "merged /usr: /bin is /usr/bin");
    }

    #[test]
    fn version_folders_sort_as_versions() {
        let mut names = vec![
            PathBuf::from("3.10.13"),
            PathBuf::from("3.9.18"),
            PathBuf::from("2.7.18"),
        ];
        names.sort_by_key(|p| natural_key(p));
        assert_eq!(
            names,
            [
                PathBuf::from("2.7.18"),
                PathBuf::from("3.9.18"),
                PathBuf::from("3.10.13")
            ]
        );
    }

    #[test]
    fn versions_from_names() {
        assert_eq!(version_from_name("3.11.4").as_deref(), Some("3.11.4"));
        assert_eq!(
            version_from_name("cpython-3.12.4-linux-x86_64-gnu").as_deref(),
            Some("3.12.4")
        );
        assert_eq!(version_from_name("pypy3.10-7.3.12").as_deref(), Some("3.10"));
        assert_eq!(version_from_name("miniconda3-latest"), None);
        assert_eq!(minor_of("python3.12"), Some(12));
        assert_eq!(minor_of("python3.12-config"), None);
        assert!(is_python3_name("python3"));
        assert!(!is_python3_name("python3-config"));
    }
}
