//! `--ssh HOST`, `--ssh-config FILE` and `--slurm "SRUN ARGS"`: where
//! `runyard run` starts its runtime. `--ssh` alone is Python on that host;
//! `--slurm` alone a job step started by `srun` here, with those arguments;
//! both, `srun` on the login node HOST.

use std::path::Path;

use super::RunError;
use crate::remote::{Place, SlurmJob, SshTarget};

/// The place the flags name, checked as a runtime configuration would be;
/// `None` when none is given (the notebook's remembered place applies then).
pub fn place_from_flags(
    ssh: Option<&str>,
    ssh_config: Option<&Path>,
    slurm: Option<&str>,
) -> Result<Option<Place>, RunError> {
    if ssh.is_none() && ssh_config.is_some() {
        return Err(RunError::PlaceFlags(
            "--ssh-config names the config of an SSH host: give the host with --ssh".into(),
        ));
    }
    let target = ssh.map(|host| SshTarget {
        config_file: ssh_config.map(Path::to_path_buf),
        ..SshTarget::new(host)
    });
    let place = match (target, slurm) {
        (None, None) => return Ok(None),
        (Some(target), None) => Place::Ssh(target),
        (login, Some(args)) => Place::Slurm(SlurmJob {
            login,
            extra_args: shlex::split(args).ok_or_else(|| {
                RunError::PlaceFlags(format!(
                    "--slurm {args:?}: a quote is not closed (the srun arguments are split as a shell would)"
                ))
            })?,
            ..SlurmJob::default()
        }),
    };
    place.validate().map_err(RunError::Place)?;
    Ok(Some(place))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_become_places() {
        assert_eq!(place_from_flags(None, None, None).unwrap(), None);
        assert_eq!(
            place_from_flags(Some("gpu-box"), None, None).unwrap(),
            Some(Place::Ssh(SshTarget::new("gpu-box")))
        );
        let config = tempfile::NamedTempFile::new().unwrap();
        match place_from_flags(
            Some("me@login1"),
            Some(config.path()),
            Some("-p gpu --comment 'two words'"),
        ) {
            Ok(Some(Place::Slurm(job))) => {
                let login = job.login.expect("srun on the login node");
                assert_eq!(login.host, "me@login1");
                assert_eq!(login.config_file.as_deref(), Some(config.path()));
                assert_eq!(job.extra_args, ["-p", "gpu", "--comment", "two words"]);
                assert_eq!(job.partition, "", "the arguments go to srun as given");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            place_from_flags(None, None, Some("")).unwrap(),
            Some(Place::Slurm(SlurmJob::default())),
            "srun here with the cluster's defaults"
        );
    }

    #[test]
    fn flags_that_cannot_work_are_refused_with_status_2() {
        for (ssh, config, slurm, says) in [
            (None, Some("/etc/ssh/ssh_config"), None, "give the host with --ssh"),
            (None, None, Some("--comment 'open"), "a quote is not closed"),
            (Some("-oProxyCommand=sh"), None, None, "is not an SSH host"),
            (
                Some("h"),
                Some("/no/such/config"),
                None,
                "/no/such/config does not exist",
            ),
        ] {
            let error = place_from_flags(ssh, config.map(Path::new), slurm).unwrap_err();
            assert_eq!(error.exit_code(), 2, "{error}");
            assert!(error.to_string().contains(says), "{error}");
        }
    }

    fn metadata(json: serde_json::Value) -> crate::notebook::Object {
        json.as_object().unwrap().clone()
    }

    #[test]
    fn a_place_runs_python_there_and_a_remembered_one_applies_without_flags() {
        use crate::notebook::Language;
        let nb = Path::new("/p/nb.ipynb");
        let mut err = Vec::new();
        let options = super::super::RunOptions {
            place: Some(Place::Ssh(SshTarget::new("gpu-box"))),
            python: Some("/opt/conda/bin/python3".into()),
            ..Default::default()
        };
        let config = options
            .config(nb, &Default::default(), &Language::Python, &mut err)
            .unwrap();
        assert_eq!(config.place, Place::Ssh(SshTarget::new("gpu-box")));
        assert_eq!(
            config.executable(),
            "/opt/conda/bin/python3",
            "the host's, not looked for here"
        );
        let refused = options
            .config(nb, &Default::default(), &Language::Elixir, &mut err)
            .unwrap_err();
        assert_eq!(refused.exit_code(), 2);

        // No flag: where the notebook remembers, said on stderr.
        let remembered = metadata(serde_json::json!({"runyard": {
            "place": {"on": "slurm", "partition": "gpu"}, "remote_python": "python3.12"
        }}));
        let config = super::super::RunOptions::default()
            .config(nb, &remembered, &Language::Python, &mut err)
            .unwrap();
        assert!(matches!(&config.place, Place::Slurm(job) if job.partition == "gpu"));
        assert_eq!(config.executable(), "python3.12");
        let said = String::from_utf8(std::mem::take(&mut err)).unwrap();
        assert!(said.contains("runs on Slurm, as the notebook remembers"), "{said}");
        // --python chooses this computer.
        let here = super::super::RunOptions {
            python: Some("python3".into()),
            ..Default::default()
        };
        assert_eq!(
            here.config(nb, &remembered, &Language::Python, &mut err).unwrap().place,
            Place::Local
        );
        // A malformed one is a warning, and it runs here.
        let malformed = metadata(serde_json::json!({"runyard": {"place": {"on": "moon"}}}));
        let config = here_or_picked(&malformed, &mut err);
        assert_eq!(config.place, Place::Local);
        let said = String::from_utf8(err).unwrap();
        assert!(
            said.starts_with("runyard: warning: the notebook's remembered runtime place"),
            "{said}"
        );
        assert!(said.trim_end().ends_with("it runs on this computer"), "{said}");
    }

    fn here_or_picked(metadata: &crate::notebook::Object, err: &mut Vec<u8>) -> crate::runtime::RuntimeConfig {
        super::super::RunOptions::default()
            .config(
                Path::new("/nonexistent-dir/nb.ipynb"),
                metadata,
                &crate::notebook::Language::Python,
                err,
            )
            .unwrap()
    }
}
