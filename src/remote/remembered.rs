//! Where a notebook's runtime runs, remembered in the notebook beside the
//! environment or kernel chosen for it (`kernels::pick`): under Runyard's
//! metadata key, `place` is the [`Place`] as its JSON (`{"on": "ssh",
//! "host": "gpu-box", …}`) and `remote_python` the interpreter there when
//! it is not the default `python3`. Every format keeps the key (`.ipynb`
//! metadata, the `.livemd` notebook comment, a percent script's header), so
//! reopening the notebook offers the same host or Slurm options.
//!
//! A notebook is a file from anywhere: a place that does not parse, or
//! names what cannot work (a host ssh would read as an option), is refused
//! with a warning and the notebook runs on this computer.

use serde_json::Value;

use super::Place;
use crate::kernels::pick::RUNYARD_KEY;
use crate::notebook::Object;

const PLACE: &str = "place";
const REMOTE_PYTHON: &str = "remote_python";

/// A remote runtime a notebook remembers.
#[derive(Debug, Clone, PartialEq)]
pub struct RemotePlace {
    pub place: Place,
    /// The interpreter on the host; `None`: `python3` from its `PATH`.
    pub python: Option<String>,
}

impl RemotePlace {
    /// `python` (a Python configuration with the settings' timeouts) started
    /// at this place, on the remembered interpreter.
    pub fn config(&self, mut python: crate::runtime::RuntimeConfig) -> crate::runtime::RuntimeConfig {
        python.standalone_mut().executable = self.python.clone();
        python.on(self.place.clone())
    }
}

/// Why a remembered place is not used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlaceError {
    #[error(
        "the notebook's remembered runtime place (metadata runyard.place) is not one Runyard can read ({0}); it runs on this computer"
    )]
    Malformed(String),
    #[error("the notebook's remembered runtime place cannot be used ({0}); it runs on this computer")]
    Invalid(#[from] crate::runtime::ConfigError),
}

/// What `metadata` remembers: `Ok(None)` for this computer (no key, or
/// `{"on": "local"}`). Checks the place as a configuration would, which
/// looks at the disk for a named SSH config file: not on the UI thread.
pub fn remembered_place(metadata: &Object) -> Result<Option<RemotePlace>, PlaceError> {
    let Some(runyard) = metadata.get(RUNYARD_KEY).and_then(Value::as_object) else {
        return Ok(None);
    };
    let Some(value) = runyard.get(PLACE) else {
        return Ok(None);
    };
    let place: Place = serde_json::from_value(value.clone()).map_err(|e| PlaceError::Malformed(e.to_string()))?;
    if place.is_local() {
        return Ok(None);
    }
    place.validate()?;
    let python = match runyard.get(REMOTE_PYTHON) {
        None | Some(Value::Null) => None,
        Some(Value::String(python)) if !python.trim().is_empty() => Some(python.trim().to_string()),
        Some(other) => {
            return Err(PlaceError::Malformed(format!(
                "remote_python is {other}, not an interpreter's name or path"
            )));
        }
    };
    Ok(Some(RemotePlace { place, python }))
}

/// Writes where the notebook runs into `metadata`: a remote place and its
/// interpreter, or for this computer nothing (an old place is removed).
/// Runyard's other keys are kept.
pub fn remember_place(metadata: &mut Object, place: &Place, python: Option<&str>) {
    let mut runyard = match metadata.get(RUNYARD_KEY) {
        Some(Value::Object(map)) => map.clone(),
        _ if place.is_local() => return,
        _ => Object::new(),
    };
    runyard.remove(PLACE);
    runyard.remove(REMOTE_PYTHON);
    if !place.is_local() {
        // A Place always serialises (strings, numbers, paths that are UTF-8 or lossy).
        if let Ok(value) = serde_json::to_value(place) {
            runyard.insert(PLACE.into(), value);
        }
        if let Some(python) = python.map(str::trim).filter(|p| !p.is_empty()) {
            runyard.insert(REMOTE_PYTHON.into(), python.into());
        }
    }
    if runyard.is_empty() {
        metadata.remove(RUNYARD_KEY);
    } else {
        metadata.insert(RUNYARD_KEY.into(), Value::Object(runyard));
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::json;

    use super::*;
    use crate::notebook::Format;
    use crate::remote::{SlurmJob, SshTarget};

    fn slurm() -> Place {
        Place::Slurm(SlurmJob {
            login: Some(SshTarget::new("login1")),
            partition: "gpu".into(),
            time_limit: "1:00:00".into(),
            cpus: Some(4),
            gpus: "gpu:1".into(),
            extra_args: vec!["--qos=high".into(), "--comment=two words".into()],
            pending_timeout: Some(Duration::from_secs(600)),
            ..Default::default()
        })
    }

    #[test]
    fn every_format_keeps_the_place_and_the_remote_interpreter() {
        for (format, text, path) in [
            (
                Format::Ipynb,
                r#"{"cells": [], "metadata": {"runyard": {"python": "envs/work"}}, "nbformat": 4, "nbformat_minor": 5}"#,
                "/p/nb.ipynb",
            ),
            (Format::Livemd, "# Title\n\n```python\nprint(1)\n```\n", "/p/nb.livemd"),
            (Format::Percent, "# %%\nprint(1)\n", "/p/nb.py"),
        ] {
            for (place, python) in [
                (Place::Ssh(SshTarget::new("gpu-box")), Some("/opt/conda/bin/python3")),
                (slurm(), None),
            ] {
                let mut nb = crate::notebook::parse(format, text).unwrap();
                remember_place(&mut nb.metadata, &place, python);
                let written = crate::notebook::to_string(format, &nb);
                let read = crate::notebook::parse(format, &written).unwrap();
                assert_eq!(
                    remembered_place(&read.metadata),
                    Ok(Some(RemotePlace {
                        place: place.clone(),
                        python: python.map(Into::into)
                    })),
                    "{format:?} {path}: {written}"
                );
                // Runyard's other keys stay.
                if format == Format::Ipynb {
                    assert_eq!(read.metadata["runyard"]["python"], "envs/work");
                }
                // Back on this computer: the place goes, the rest stays.
                let mut nb = read;
                remember_place(&mut nb.metadata, &Place::Local, Some("ignored"));
                assert_eq!(remembered_place(&nb.metadata), Ok(None));
                let runyard = nb.metadata.get("runyard");
                assert!(runyard.is_none_or(|r| r.get("place").is_none() && r.get("remote_python").is_none()));
            }
        }
    }

    #[test]
    fn a_malformed_or_dangerous_place_is_refused_with_a_reason() {
        let metadata = |runyard: Value| json!({ "runyard": runyard }).as_object().unwrap().clone();
        for (bad, says) in [
            (json!({"place": "gpu-box"}), "not one Runyard can read"),
            (json!({"place": {"on": "moon"}}), "unknown variant"),
            (json!({"place": {"on": "ssh", "host": 42}}), "invalid type"),
            (
                json!({"place": {"on": "slurm", "cpus": -1}}),
                "not one Runyard can read",
            ),
            (
                json!({"place": {"on": "ssh", "host": "-oProxyCommand=sh"}}),
                "is not an SSH host",
            ),
            (
                json!({"place": {"on": "ssh", "host": "h", "config_file": "/no/such/ssh_config"}}),
                "/no/such/ssh_config does not exist",
            ),
            (
                json!({"place": {"on": "ssh", "host": "h"}, "remote_python": ["python3"]}),
                "remote_python",
            ),
        ] {
            let error = remembered_place(&metadata(bad.clone())).unwrap_err().to_string();
            assert!(error.contains(says), "{bad}: {error}");
            assert!(error.ends_with("it runs on this computer"), "{error}");
        }
        assert_eq!(remembered_place(&metadata(json!({"place": {"on": "local"}}))), Ok(None));
        assert_eq!(remembered_place(&metadata(json!("not an object"))), Ok(None));
        assert_eq!(remembered_place(&Object::new()), Ok(None));
    }
}
