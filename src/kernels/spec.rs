//! Jupyter kernelspecs: a directory holding `kernel.json` (argv with
//! `{connection_file}`, display name, language, environment, interrupt mode)
//! and the kernel's resources. A broken file is an error naming the file and
//! what is wrong, never a panic: kernelspecs come from anywhere on disk.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// `kernel.json` files larger than this are refused unread (real ones are < 1 KiB).
const MAX_SPEC_BYTES: u64 = 1024 * 1024;

/// How a kernel is interrupted (`interrupt_mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InterruptMode {
    /// SIGINT to the kernel's process group.
    #[default]
    Signal,
    /// An `interrupt_request` on the control channel.
    Message,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KernelSpec {
    /// The directory's name, which notebooks refer to (`metadata.kernelspec.name`).
    pub name: String,
    /// The directory holding `kernel.json` (Jupyter's resource dir).
    pub dir: PathBuf,
    pub argv: Vec<String>,
    pub display_name: String,
    /// Lower case, e.g. `python`, `r`, `julia`.
    pub language: String,
    /// Variables set for the kernel; `${VAR}` in values is expanded from the
    /// environment when it starts, as jupyter_client does.
    pub env: BTreeMap<String, String>,
    pub interrupt_mode: InterruptMode,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    #[error("cannot read {path}: {message}")]
    Unreadable { path: PathBuf, message: String },
    #[error("{path} is larger than {MAX_SPEC_BYTES} bytes: not a kernelspec")]
    TooLarge { path: PathBuf },
    #[error("{path} is not valid JSON: {message}")]
    NotJson { path: PathBuf, message: String },
    #[error("{path}: {field} {problem}")]
    Invalid {
        path: PathBuf,
        field: &'static str,
        problem: String,
    },
}

/// What `kernel.json` may hold; every field is checked after reading.
#[derive(Deserialize)]
struct Raw {
    argv: Option<serde_json::Value>,
    display_name: Option<serde_json::Value>,
    language: Option<serde_json::Value>,
    env: Option<serde_json::Value>,
    interrupt_mode: Option<serde_json::Value>,
}

impl KernelSpec {
    /// Reads `dir/kernel.json`; the kernel's name is the directory's name.
    pub fn read(dir: &Path) -> Result<KernelSpec, SpecError> {
        let path = dir.join("kernel.json");
        let unreadable = |e: std::io::Error| SpecError::Unreadable {
            path: path.clone(),
            message: e.to_string(),
        };
        let meta = std::fs::metadata(&path).map_err(unreadable)?;
        if meta.len() > MAX_SPEC_BYTES {
            return Err(SpecError::TooLarge { path });
        }
        let text = std::fs::read(&path).map_err(unreadable)?;
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        Self::parse(&name, dir, &path, &text)
    }

    /// Parses the text of a `kernel.json` found at `path` in `dir`.
    pub fn parse(name: &str, dir: &Path, path: &Path, text: &[u8]) -> Result<KernelSpec, SpecError> {
        let raw: Raw = serde_json::from_slice(text).map_err(|e| SpecError::NotJson {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        let invalid = |field: &'static str, problem: &str| SpecError::Invalid {
            path: path.to_path_buf(),
            field,
            problem: problem.to_string(),
        };
        let argv: Vec<String> = match raw.argv {
            Some(serde_json::Value::Array(items)) => items
                .into_iter()
                .map(|v| match v {
                    serde_json::Value::String(s) => Ok(s),
                    _ => Err(invalid("argv", "must be a list of strings")),
                })
                .collect::<Result<_, _>>()?,
            Some(_) => return Err(invalid("argv", "must be a list of strings")),
            None => return Err(invalid("argv", "is missing")),
        };
        if argv.is_empty() || argv[0].is_empty() {
            return Err(invalid("argv", "is empty: no program to start"));
        }
        let string = |field: &'static str, value: Option<serde_json::Value>| match value {
            None | Some(serde_json::Value::Null) => Ok(String::new()),
            Some(serde_json::Value::String(s)) => Ok(s),
            Some(_) => Err(invalid(field, "must be a string")),
        };
        let display_name = string("display_name", raw.display_name)?;
        let language = string("language", raw.language)?.to_lowercase();
        let env = match raw.env {
            None | Some(serde_json::Value::Null) => BTreeMap::new(),
            Some(serde_json::Value::Object(map)) => map
                .into_iter()
                .map(|(k, v)| match v {
                    serde_json::Value::String(s) => Ok((k, s)),
                    _ => Err(invalid("env", "must map names to strings")),
                })
                .collect::<Result<_, _>>()?,
            Some(_) => return Err(invalid("env", "must be an object")),
        };
        let interrupt_mode = match string("interrupt_mode", raw.interrupt_mode)?.as_str() {
            "" | "signal" => InterruptMode::Signal,
            "message" => InterruptMode::Message,
            other => {
                return Err(invalid(
                    "interrupt_mode",
                    &format!("is {other:?}; expected \"signal\" or \"message\""),
                ));
            }
        };
        Ok(KernelSpec {
            name: name.to_string(),
            dir: dir.to_path_buf(),
            display_name: if display_name.is_empty() {
                name.to_string()
            } else {
                display_name
            },
            argv,
            language,
            env,
            interrupt_mode,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<KernelSpec, SpecError> {
        KernelSpec::parse(
            "ir",
            Path::new("/k/ir"),
            Path::new("/k/ir/kernel.json"),
            text.as_bytes(),
        )
    }

    #[test]
    fn reads_a_real_kernelspec() {
        let spec = parse(
            r#"{"argv": ["R", "--slave", "-e", "IRkernel::main()", "--args", "{connection_file}"],
                "display_name": "R", "language": "R", "env": {"A": "1"}, "interrupt_mode": "message"}"#,
        )
        .unwrap();
        assert_eq!(spec.name, "ir");
        assert_eq!(spec.language, "r");
        assert_eq!(spec.argv.last().unwrap(), "{connection_file}");
        assert_eq!(spec.env["A"], "1");
        assert_eq!(spec.interrupt_mode, InterruptMode::Message);
    }

    #[test]
    fn broken_files_say_what_and_where() {
        for (text, want) in [
            ("{", "not valid JSON"),
            ("{}", "argv is missing"),
            (r#"{"argv": []}"#, "argv is empty"),
            (r#"{"argv": ["python", 3]}"#, "argv must be a list of strings"),
            (r#"{"argv": ["x"], "env": {"A": 1}}"#, "env must map names to strings"),
            (
                r#"{"argv": ["x"], "interrupt_mode": "tap"}"#,
                "interrupt_mode is \"tap\"",
            ),
            (
                r#"{"argv": ["x"], "language": ["python"]}"#,
                "language must be a string",
            ),
        ] {
            let error = parse(text).unwrap_err().to_string();
            assert!(error.contains(want), "{text}: {error}");
            assert!(error.contains("/k/ir/kernel.json"), "{error}");
        }
    }

    #[test]
    fn a_missing_display_name_is_the_kernels_name() {
        assert_eq!(parse(r#"{"argv": ["x"]}"#).unwrap().display_name, "ir");
    }
}
