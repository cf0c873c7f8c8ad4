//! Which runtime a notebook opens with, and how a notebook remembers the
//! one chosen for it. One function, [`pick_runtime`], used by the window and
//! by `runyard run` alike, so both pick the same way:
//!
//! 1. the environment the notebook remembers (`runyard.python`), if it
//!    still exists;
//! 2. a `.venv` (`venv`, `env`) beside it or in a directory above it, up to
//!    the project's root;
//! 3. its kernelspec, by name: a Python one runs the built-in Python agent on
//!    the kernelspec's own interpreter when its `argv[0]` is a python,
//!    anything else the Jupyter kernel runtime. A kernelspec that is not
//!    installed here is said so — never replaced by another language (a
//!    missing Python kernelspec is replaced by a found Python of the same
//!    major version, never by Python 3 for Python 2).
//!
//! What a notebook remembers, per format (all kept by the readers verbatim):
//! `.ipynb` `metadata.kernelspec` {name, display_name, language} and
//! `metadata.language_info` {name, version} as Jupyter writes them, and
//! `metadata.runyard` {python}; `.livemd` the notebook metadata comment's
//! `runyard` key {python, kernel}; percent scripts a `# runyard: {…}` first
//! line.

use std::path::{Component, Path, PathBuf};

use serde_json::{Value, json};

use super::discovery::{Discovered, EnvKind, Environment};
use super::spec::KernelSpec;
use crate::notebook::{Format, Language, Notebook, Object};

/// The metadata key Runyard keeps its own choices under.
pub const RUNYARD_KEY: &str = "runyard";

/// Why a Python interpreter was picked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// The environment the notebook remembers.
    Remembered,
    /// A `.venv` beside the notebook or above it in its project.
    Beside,
    /// The interpreter its Python kernelspec starts.
    Kernelspec,
    /// Its kernelspec is not installed; a Python of the same major version was found.
    SameVersion,
}

/// What a notebook opens with.
#[derive(Debug, Clone, PartialEq)]
pub enum Pick {
    /// The built-in Python agent on this interpreter.
    Python {
        interpreter: PathBuf,
        environment: Option<Environment>,
        reason: Reason,
    },
    /// A Jupyter kernel runtime from this kernelspec.
    Kernel(KernelSpec),
    /// Nothing in particular: the language's default runtime (the settings').
    Default,
    /// Nothing here can run it: say so and start nothing.
    Missing {
        /// The kernelspec's name, when the notebook names one.
        kernel: Option<String>,
        /// One sentence for the banner.
        message: String,
    },
}

/// The kernel a notebook names (its kernelspec, or Runyard's `kernel` key).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KernelRef {
    pub name: String,
    pub display_name: String,
    pub language: String,
}

/// What a notebook's metadata says about its runtime.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Remembered {
    /// `runyard.python`: an environment directory or an interpreter,
    /// relative to the notebook's directory unless absolute.
    pub python: Option<String>,
    pub kernel: Option<KernelRef>,
    /// `language_info.version`.
    pub language_version: Option<String>,
}

fn str_at<'a>(value: Option<&'a Value>, key: &str) -> Option<&'a str> {
    value?.get(key)?.as_str().map(str::trim).filter(|s| !s.is_empty())
}

fn kernel_ref(value: Option<&Value>) -> Option<KernelRef> {
    let name = str_at(value, "name")?;
    // A name is a directory name: nothing that walks the file system.
    if name.contains(['/', '\\', '\0']) || name == "." || name == ".." || name.len() > 255 {
        return None;
    }
    Some(KernelRef {
        name: name.to_string(),
        display_name: str_at(value, "display_name").unwrap_or(name).to_string(),
        language: str_at(value, "language").unwrap_or("").to_lowercase(),
    })
}

/// Reads what a notebook remembers from its metadata (any format).
pub fn remembered(metadata: &Object) -> Remembered {
    let runyard = metadata.get(RUNYARD_KEY);
    Remembered {
        python: str_at(runyard, "python").map(str::to_string),
        kernel: kernel_ref(metadata.get("kernelspec")).or_else(|| kernel_ref(runyard.and_then(|r| r.get("kernel")))),
        language_version: str_at(metadata.get("language_info"), "version").map(str::to_string),
    }
}

/// The directory a notebook's relative paths are relative to.
fn notebook_dir(notebook: &Path) -> PathBuf {
    let dir = notebook.parent().unwrap_or(Path::new(""));
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf())
}

/// The remembered Python, resolved: `(interpreter, environment prefix)`, if
/// it exists. A directory is an environment (`bin/python`); a file an interpreter.
pub fn resolve_python(notebook: Option<&Path>, python: &str) -> Option<(PathBuf, Option<PathBuf>)> {
    let given = Path::new(python);
    let path = match notebook {
        Some(nb) if given.is_relative() => notebook_dir(nb).join(given),
        _ => given.to_path_buf(),
    };
    if path.is_dir() {
        let interpreter = super::discovery::interpreter_in(&path)?;
        Some((interpreter, Some(path)))
    } else if path.is_file() {
        Some((path, None))
    } else {
        None
    }
}

/// The major Python version a notebook asks for: `python2` → 2, else the
/// kernel name's or `language_info.version`'s first digit, else 3.
fn wanted_major(kernel: Option<&KernelRef>, version: Option<&str>) -> u32 {
    let from_name = kernel.and_then(|k| {
        let digits: String = k
            .name
            .trim_start_matches(|c: char| !c.is_ascii_digit())
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        digits.chars().next()?.to_digit(10)
    });
    from_name
        .or_else(|| version?.split('.').next()?.parse().ok())
        .filter(|m| *m == 2 || *m == 3)
        .unwrap_or(3)
}

/// The interpreter a Python kernelspec names. A bare `python` in a
/// kernelspec installed inside an environment (ipykernel writes one into
/// `share/jupyter/kernels`) means that environment's, as Jupyter runs it.
fn kernel_python(spec: &KernelSpec, discovered: &Discovered) -> PathBuf {
    let program = &spec.argv[0];
    if program.contains('/') {
        return PathBuf::from(program);
    }
    let dir = std::fs::canonicalize(&spec.dir).unwrap_or_else(|_| spec.dir.clone());
    discovered
        .environments
        .iter()
        .find(|e| {
            let prefix = std::fs::canonicalize(&e.prefix).unwrap_or_else(|_| e.prefix.clone());
            dir.starts_with(prefix.join("share/jupyter"))
        })
        .map(|e| e.interpreter.clone())
        .unwrap_or_else(|| PathBuf::from(program))
}

/// True for `python`, `python3`, `/x/bin/python3.12`, `pythonw`.
fn is_python_program(program: &str) -> bool {
    Path::new(program)
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with("python"))
}

/// Picks the runtime for a notebook (see the module's docs for the order).
/// `notebook` is its path, if it has one; `discovered` a scan made for it.
/// Looks at the disk only to check that a remembered environment still exists.
pub fn pick_runtime(notebook: Option<&Path>, metadata: &Object, language: &Language, discovered: &Discovered) -> Pick {
    let remembered = remembered(metadata);
    let kernel_language = remembered
        .kernel
        .as_ref()
        .map(|k| Language::from_name(&k.language))
        .filter(|l| !l.name().is_empty());
    let python = matches!(kernel_language.as_ref().unwrap_or(language), Language::Python);
    if python {
        if let Some(wanted) = &remembered.python {
            match resolve_python(notebook, wanted) {
                Some((interpreter, prefix)) => {
                    let environment = prefix.as_deref().and_then(|p| discovered.environment_at(p)).cloned();
                    return Pick::Python {
                        interpreter,
                        environment,
                        reason: Reason::Remembered,
                    };
                }
                None => tracing::info!("the notebook's remembered Python {wanted} is not there any more"),
            }
        }
        if let Some(env) = beside(notebook, discovered) {
            return Pick::Python {
                interpreter: env.interpreter.clone(),
                environment: Some(env.clone()),
                reason: Reason::Beside,
            };
        }
    }
    if let Some(kernel) = &remembered.kernel {
        match discovered.kernel(&kernel.name) {
            Some(found) => match found.ok() {
                Some(spec) if !found.missing_program => {
                    if Language::from_name(&spec.language) == Language::Python && is_python_program(&spec.argv[0]) {
                        return Pick::Python {
                            interpreter: kernel_python(spec, discovered),
                            environment: None,
                            reason: Reason::Kernelspec,
                        };
                    }
                    return Pick::Kernel(spec.clone());
                }
                Some(spec) => {
                    return Pick::Missing {
                        kernel: Some(kernel.name.clone()),
                        message: format!(
                            "kernel '{}' is not installed here: its kernelspec is, but its program {} is not",
                            kernel.name, spec.argv[0]
                        ),
                    };
                }
                None => {
                    let error = found.spec.as_ref().err().map(ToString::to_string).unwrap_or_default();
                    return Pick::Missing {
                        kernel: Some(kernel.name.clone()),
                        message: format!("kernel '{}' is broken here: {error}", kernel.name),
                    };
                }
            },
            None if python => {
                let major = wanted_major(Some(kernel), remembered.language_version.as_deref());
                if major == 3 {
                    // `python3` and friends not installed as kernels: the
                    // built-in agent on the default Python 3 is the same thing.
                    return Pick::Default;
                }
                return match same_major(major, discovered) {
                    Some(env) => Pick::Python {
                        interpreter: env.interpreter.clone(),
                        environment: Some(env.clone()),
                        reason: Reason::SameVersion,
                    },
                    None => Pick::Missing {
                        kernel: Some(kernel.name.clone()),
                        message: format!(
                            "kernel '{}' is not installed here, and no Python {major} was found",
                            kernel.name
                        ),
                    },
                };
            }
            // The built-in Elixir runtime is Elixir: the same language.
            None if kernel_language == Some(Language::Elixir) => return Pick::Default,
            None => {
                return Pick::Missing {
                    kernel: Some(kernel.name.clone()),
                    message: format!("kernel '{}' is not installed here", kernel.name),
                };
            }
        }
    }
    match language {
        Language::Python | Language::Elixir => Pick::Default,
        Language::Other(name) => Pick::Missing {
            kernel: None,
            message: format!("this notebook's language is {name}, and no kernel for it is installed here"),
        },
    }
}

/// The nearest `.venv` beside the notebook or above it in its project.
fn beside<'a>(notebook: Option<&Path>, discovered: &'a Discovered) -> Option<&'a Environment> {
    let dir = notebook_dir(notebook?);
    discovered
        .environments
        .iter()
        .filter(|e| e.kind == EnvKind::Venv)
        .filter(|e| {
            matches!(
                e.prefix.file_name().and_then(|n| n.to_str()),
                Some(".venv" | "venv" | "env")
            )
        })
        .filter_map(|e| {
            let parent = e.prefix.parent()?;
            dir.starts_with(parent)
                .then(|| (dir.components().count() - parent.components().count(), e))
        })
        .min_by_key(|(depth, _)| *depth)
        .map(|(_, e)| e)
}

/// The first Python of that major version (Python 3's first is the one
/// found first: a venv, conda, then `PATH`).
fn same_major(major: u32, discovered: &Discovered) -> Option<&Environment> {
    discovered.environments.iter().find(|e| e.major() == Some(major))
}

/// A runtime chosen for a notebook, to remember in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Choice {
    /// An environment directory (or an interpreter) for the built-in Python agent.
    Python { path: PathBuf, version: Option<String> },
    /// A Jupyter kernel.
    Kernel(KernelRef),
}

impl Choice {
    pub fn kernel(spec: &KernelSpec) -> Choice {
        Choice::Kernel(KernelRef {
            name: spec.name.clone(),
            display_name: spec.display_name.clone(),
            language: spec.language.clone(),
        })
    }

    pub fn environment(env: &Environment) -> Choice {
        Choice::Python {
            path: env.prefix.clone(),
            version: (!env.version.is_empty()).then(|| env.version.clone()),
        }
    }
}

/// `path` relative to `dir` when it is inside `dir`'s tree or a sibling of an
/// ancestor (`../.venv`), as `/`-separated text; else absolute.
pub fn relative_to(path: &Path, dir: &Path) -> String {
    let common = dir.ancestors().find(|a| path.starts_with(a) && a.parent().is_some());
    match common {
        Some(common) => {
            let up = dir.components().count() - common.components().count();
            let rest = path.strip_prefix(common).unwrap_or(path);
            let mut parts: Vec<String> = std::iter::repeat_n("..".to_string(), up).collect();
            parts.extend(rest.components().filter_map(|c| match c {
                Component::Normal(n) => Some(n.to_string_lossy().into_owned()),
                _ => None,
            }));
            // Only nearby paths are relative: a project's own tree.
            if up <= 3 && !parts.is_empty() {
                parts.join("/")
            } else {
                path.display().to_string()
            }
        }
        None => path.display().to_string(),
    }
}

/// Writes `choice` into `notebook`'s metadata for saving as `format` at
/// `path`: the keys named in the module's docs, every other key kept.
pub fn remember(notebook: &mut Notebook, format: Format, path: &Path, choice: &Choice) {
    let metadata = &mut notebook.metadata;
    let mut runyard = match metadata.get(RUNYARD_KEY) {
        Some(Value::Object(map)) => map.clone(),
        _ => Object::new(),
    };
    match choice {
        Choice::Python { path: python, version } => {
            runyard.insert("python".into(), relative_to(python, &notebook_dir(path)).into());
            runyard.remove("kernel");
            notebook.language = Language::Python;
            if format == Format::Ipynb {
                let keep = metadata
                    .get("kernelspec")
                    .and_then(|k| kernel_ref(Some(k)))
                    .is_some_and(|k| Language::from_name(&k.language) == Language::Python);
                if !keep {
                    metadata.insert(
                        "kernelspec".into(),
                        json!({"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}),
                    );
                }
                set_language_info(metadata, "python", version.as_deref());
            }
        }
        Choice::Kernel(kernel) => {
            runyard.remove("python");
            notebook.language = Language::from_name(&kernel.language);
            if format == Format::Ipynb {
                runyard.remove("kernel");
                metadata.insert(
                    "kernelspec".into(),
                    json!({"display_name": kernel.display_name, "language": kernel.language, "name": kernel.name}),
                );
                set_language_info(metadata, &kernel.language, None);
            } else {
                runyard.insert(
                    "kernel".into(),
                    json!({"display_name": kernel.display_name, "language": kernel.language, "name": kernel.name}),
                );
            }
        }
    }
    if runyard.is_empty() {
        metadata.remove(RUNYARD_KEY);
    } else {
        metadata.insert(RUNYARD_KEY.into(), Value::Object(runyard));
    }
}

/// `language_info`: its `name` (and `version` when known) set, other keys
/// (`codemirror_mode`, `file_extension`, …) kept while the language stays.
fn set_language_info(metadata: &mut Object, language: &str, version: Option<&str>) {
    let mut info = match metadata.get("language_info") {
        Some(Value::Object(info)) if info.get("name").and_then(Value::as_str) == Some(language) => info.clone(),
        _ => Object::new(),
    };
    info.insert("name".into(), language.into());
    if let Some(version) = version {
        info.insert("version".into(), version.into());
    }
    metadata.insert("language_info".into(), Value::Object(info));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::discovery::FoundSpec;

    fn env(kind: EnvKind, prefix: &str, version: &str) -> Environment {
        Environment {
            kind,
            prefix: prefix.into(),
            interpreter: Path::new(prefix).join("bin/python"),
            real_interpreter: "/usr/bin/python3".into(),
            version: version.into(),
            name: prefix.into(),
        }
    }

    fn spec(name: &str, language: &str, program: &str) -> FoundSpec {
        FoundSpec {
            name: name.into(),
            dir: format!("/k/{name}").into(),
            spec: Ok(KernelSpec {
                name: name.into(),
                dir: format!("/k/{name}").into(),
                argv: vec![program.into(), "{connection_file}".into()],
                display_name: name.to_uppercase(),
                language: language.into(),
                env: Default::default(),
                interrupt_mode: Default::default(),
            }),
            missing_program: false,
        }
    }

    fn metadata(json: Value) -> Object {
        json.as_object().unwrap().clone()
    }

    #[test]
    fn a_venv_beside_the_notebook_wins_over_its_kernelspec() {
        let d = Discovered {
            environments: vec![
                env(EnvKind::System, "/usr", "3.12"),
                env(EnvKind::Venv, "/p/.venv", "3.11.2"),
                env(EnvKind::Venv, "/p/sub/.venv", "3.10.1"),
            ],
            kernels: vec![spec("python3", "python", "/usr/bin/python3")],
            ..Default::default()
        };
        let md = metadata(json!({"kernelspec": {"name": "python3", "language": "python"}}));
        match pick_runtime(Some(Path::new("/p/sub/deeper/nb.ipynb")), &md, &Language::Python, &d) {
            Pick::Python {
                interpreter, reason, ..
            } => {
                assert_eq!(reason, Reason::Beside);
                assert_eq!(interpreter, Path::new("/p/sub/.venv/bin/python"), "the nearest");
            }
            other => panic!("{other:?}"),
        }
        // Elsewhere: the kernelspec's own interpreter, for the built-in agent.
        match pick_runtime(Some(Path::new("/q/nb.ipynb")), &md, &Language::Python, &d) {
            Pick::Python {
                interpreter, reason, ..
            } => {
                assert_eq!(reason, Reason::Kernelspec);
                assert_eq!(interpreter, Path::new("/usr/bin/python3"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_remembered_environment_comes_first_and_is_skipped_once_gone() {
        let dir = tempfile::tempdir().unwrap();
        let venv = dir.path().join("envs/work");
        std::fs::create_dir_all(venv.join("bin")).unwrap();
        std::fs::write(venv.join("bin/python"), "").unwrap();
        let nb = dir.path().join("nb.ipynb");
        let d = Discovered {
            environments: vec![env(
                EnvKind::Venv,
                &dir.path().join(".venv").display().to_string(),
                "3.12",
            )],
            ..Default::default()
        };
        let md = metadata(json!({"runyard": {"python": "envs/work"}}));
        match pick_runtime(Some(&nb), &md, &Language::Python, &d) {
            Pick::Python {
                interpreter, reason, ..
            } => {
                assert_eq!(reason, Reason::Remembered);
                assert!(interpreter.ends_with("envs/work/bin/python"), "{interpreter:?}");
            }
            other => panic!("{other:?}"),
        }
        std::fs::remove_dir_all(&venv).unwrap();
        assert!(matches!(
            pick_runtime(Some(&nb), &md, &Language::Python, &d),
            Pick::Python {
                reason: Reason::Beside,
                ..
            }
        ));
    }

    #[test]
    fn a_kernel_not_installed_is_said_so_never_replaced_by_another_language() {
        let d = Discovered {
            environments: vec![env(EnvKind::System, "/usr", "3.12")],
            kernels: vec![spec("python3", "python", "python3")],
            ..Default::default()
        };
        let md = metadata(json!({"kernelspec": {"name": "ir", "display_name": "R", "language": "R"}}));
        let pick = pick_runtime(Some(Path::new("/p/nb.ipynb")), &md, &Language::Other("r".into()), &d);
        assert_eq!(
            pick,
            Pick::Missing {
                kernel: Some("ir".into()),
                message: "kernel 'ir' is not installed here".into()
            }
        );
        // An installed non-Python kernel is the kernel runtime.
        let d2 = Discovered {
            kernels: vec![spec("ir", "r", "/usr/bin/R")],
            ..d.clone()
        };
        assert!(matches!(
            pick_runtime(None, &md, &Language::Other("r".into()), &d2),
            Pick::Kernel(spec) if spec.name == "ir"
        ));
        // A broken one is said so.
        let mut broken = spec("ir", "r", "/nowhere/R");
        broken.missing_program = true;
        let d3 = Discovered {
            kernels: vec![broken],
            ..d.clone()
        };
        match pick_runtime(None, &md, &Language::Other("r".into()), &d3) {
            Pick::Missing { message, .. } => assert!(message.contains("/nowhere/R"), "{message}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn python2_is_never_run_by_python3() {
        let mut d = Discovered {
            environments: vec![env(EnvKind::System, "/usr", "3.12")],
            ..Default::default()
        };
        let md = metadata(json!({
            "kernelspec": {"name": "python2", "display_name": "Python 2", "language": "python"},
            "language_info": {"name": "python", "version": "2.7.18"}
        }));
        match pick_runtime(None, &md, &Language::Python, &d) {
            Pick::Missing { kernel, message } => {
                assert_eq!(kernel.as_deref(), Some("python2"));
                assert!(message.contains("no Python 2"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        d.environments.push(env(EnvKind::Pyenv, "/pyenv/2.7.18", "2.7.18"));
        assert!(matches!(
            pick_runtime(None, &md, &Language::Python, &d),
            Pick::Python { reason: Reason::SameVersion, interpreter, .. } if interpreter.starts_with("/pyenv/2.7.18")
        ));
        // A python3 kernelspec not installed: the default Python 3 is the same thing.
        let md3 = metadata(json!({"kernelspec": {"name": "python3", "language": "python"}}));
        assert_eq!(pick_runtime(None, &md3, &Language::Python, &d), Pick::Default);
    }

    #[test]
    fn without_a_kernelspec_the_languages_default() {
        let d = Discovered::default();
        assert_eq!(pick_runtime(None, &Object::new(), &Language::Python, &d), Pick::Default);
        assert_eq!(pick_runtime(None, &Object::new(), &Language::Elixir, &d), Pick::Default);
        assert!(matches!(
            pick_runtime(None, &Object::new(), &Language::Other("julia".into()), &d),
            Pick::Missing { kernel: None, .. }
        ));
    }

    #[test]
    fn paths_are_remembered_relative_inside_the_project() {
        let dir = Path::new("/home/u/proj/notebooks");
        assert_eq!(relative_to(Path::new("/home/u/proj/notebooks/.venv"), dir), ".venv");
        assert_eq!(relative_to(Path::new("/home/u/proj/.venv"), dir), "../.venv");
        assert_eq!(relative_to(Path::new("/opt/conda/envs/x"), dir), "/opt/conda/envs/x");
    }

    fn round_trip(format: Format, text: &str, path: &str, choice: &Choice) -> (String, Notebook) {
        let mut nb = crate::notebook::parse(format, text).unwrap();
        remember(&mut nb, format, Path::new(path), choice);
        let written = crate::notebook::to_string(format, &nb);
        let read = crate::notebook::parse(format, &written).unwrap();
        (written, read)
    }

    #[test]
    fn ipynb_remembers_as_jupyter_writes_it_and_keeps_other_keys() {
        let text = r#"{"cells": [], "metadata": {"custom": {"x": 1},
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python", "version": "3.8.0", "file_extension": ".py"}},
            "nbformat": 4, "nbformat_minor": 5}"#;
        let kernel = Choice::Kernel(KernelRef {
            name: "ir".into(),
            display_name: "R".into(),
            language: "R".into(),
        });
        let (written, read) = round_trip(Format::Ipynb, text, "/p/nb.ipynb", &kernel);
        assert!(
            written.contains(
                "  \"kernelspec\": {\n   \"display_name\": \"R\",\n   \"language\": \"R\",\n   \"name\": \"ir\"\n  }"
            ),
            "{written}"
        );
        assert_eq!(
            read.metadata["language_info"],
            json!({"name": "R"}),
            "another language: fresh"
        );
        assert_eq!(read.metadata["custom"], json!({"x": 1}));
        assert!(!read.metadata.contains_key(RUNYARD_KEY));
        assert_eq!(read.language, Language::Other("r".into()));
        assert_eq!(remembered(&read.metadata).kernel.unwrap().name, "ir");

        let env = Choice::Python {
            path: "/p/.venv".into(),
            version: Some("3.12.3".into()),
        };
        let (_, read) = round_trip(Format::Ipynb, text, "/p/nb.ipynb", &env);
        assert_eq!(read.metadata["runyard"], json!({"python": ".venv"}));
        assert_eq!(
            read.metadata["kernelspec"]["name"], "python3",
            "a Python kernelspec is kept"
        );
        assert_eq!(
            read.metadata["language_info"],
            json!({"name": "python", "version": "3.12.3", "file_extension": ".py"})
        );
    }

    #[test]
    fn livemd_and_percent_keep_a_runyard_key() {
        let env = Choice::Python {
            path: "/home/u/proj/.venv".into(),
            version: None,
        };
        let livemd = "# Title\n\n```python\nprint(1)\n```\n";
        let (written, read) = round_trip(Format::Livemd, livemd, "/home/u/proj/nb/a.livemd", &env);
        assert!(written.starts_with("<!-- livebook:{"), "{written}");
        assert_eq!(remembered(&read.metadata).python.as_deref(), Some("../.venv"));
        // Unchanged, it is written back as it was.
        assert_eq!(crate::notebook::to_string(Format::Livemd, &read), written);

        let percent = "# %%\nprint(1)\n";
        let (written, read) = round_trip(Format::Percent, percent, "/home/u/proj/a.py", &env);
        assert_eq!(written, "# runyard: {\"python\":\".venv\"}\n# %%\nprint(1)\n");
        assert_eq!(remembered(&read.metadata).python.as_deref(), Some(".venv"));
        assert_eq!(read.cells().next().unwrap().line, Some(3), "lines count the header");
        assert_eq!(crate::notebook::to_string(Format::Percent, &read), written);
        // A kernel in a flat format: Runyard's key too.
        let kernel = Choice::Kernel(KernelRef {
            name: "julia-1.9".into(),
            display_name: "Julia".into(),
            language: "julia".into(),
        });
        let (_, read) = round_trip(Format::Percent, percent, "/x/a.py", &kernel);
        assert_eq!(remembered(&read.metadata).kernel.unwrap().name, "julia-1.9");
        assert!(remembered(&read.metadata).python.is_none());
        // Not a header of ours: an ordinary comment, left in the cell.
        let nb = crate::notebook::parse(Format::Percent, "# runyard: hello\nx = 1\n").unwrap();
        assert!(nb.metadata.is_empty());
        assert!(nb.cells().next().unwrap().source.starts_with("# runyard: hello\nx = 1"));
    }

    #[test]
    fn kernel_names_that_walk_the_file_system_are_ignored() {
        let md = metadata(json!({"kernelspec": {"name": "../../etc", "language": "python"}}));
        assert_eq!(remembered(&md).kernel, None);
    }
}
