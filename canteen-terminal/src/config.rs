//! The optional TOML configuration file (`--config FILE` / `CANTEEN_CONFIG`, DESIGN §8).
//!
//! Precedence is flags, then environment variables, then the file, then defaults. Every
//! setting already has an environment variable, so the file is applied by setting, before the
//! command line is parsed, each variable the file names and the environment does not: clap
//! then does the rest, with the same validation and the same `--help`. Keys are the long flag
//! names with underscores (or dashes); unknown keys are an error, not a silent no-op.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::CommandFactory;

use crate::cli::Cli;

/// The configuration file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the configuration file {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the configuration file {path} is not valid TOML: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("the configuration file {path} has an unknown setting {key:?}")]
    UnknownKey { path: PathBuf, key: String },
    #[error("the setting {key:?} in {path} must be a string, number or boolean")]
    BadValue { path: PathBuf, key: String },
}

/// The configuration file named on the command line (`--config FILE`, `--config=FILE`) or
/// in `CANTEEN_CONFIG`.
pub fn config_path(args: &[OsString], env: Option<OsString>) -> Option<PathBuf> {
    let mut iter = args.iter().skip(1);
    while let Some(arg) = iter.next() {
        let text = arg.to_string_lossy();
        if text == "--config" {
            return iter.next().map(PathBuf::from);
        }
        if let Some(value) = text.strip_prefix("--config=") {
            return Some(PathBuf::from(value));
        }
    }
    env.map(PathBuf::from)
}

/// The `(environment variable, value)` pairs a configuration file stands for.
pub fn file_settings(path: &Path, text: &str) -> Result<Vec<(String, String)>, ConfigError> {
    let table: toml::Table = toml::from_str(text).map_err(|e| ConfigError::Parse {
        path: path.to_owned(),
        message: e.to_string(),
    })?;
    let command = Cli::command();
    let mut settings = Vec::new();
    for (key, value) in table {
        let id = key.replace('-', "_");
        let env = command
            .get_arguments()
            .find(|arg| arg.get_id().as_str() == id && id != "config")
            .and_then(|arg| arg.get_env())
            .and_then(|env| env.to_str())
            .ok_or_else(|| ConfigError::UnknownKey {
                path: path.to_owned(),
                key: key.clone(),
            })?;
        let value = match value {
            toml::Value::String(s) => s,
            toml::Value::Integer(n) => n.to_string(),
            toml::Value::Float(x) => x.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            _ => {
                return Err(ConfigError::BadValue {
                    path: path.to_owned(),
                    key,
                })
            }
        };
        settings.push((env.to_owned(), value));
    }
    Ok(settings)
}

/// Reads the configuration file, if any, into the environment (variables already set
/// win). Call before any thread starts, then parse the command line.
pub fn apply_config_file() -> Result<(), ConfigError> {
    let args: Vec<OsString> = std::env::args_os().collect();
    let Some(path) = config_path(&args, std::env::var_os("CANTEEN_CONFIG")) else {
        return Ok(());
    };
    let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
        path: path.clone(),
        source,
    })?;
    for (env, value) in file_settings(&path, &text)? {
        if std::env::var_os(&env).is_none() {
            std::env::set_var(env, value);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(args: &[&str]) -> Vec<OsString> {
        args.iter().map(OsString::from).collect()
    }

    #[test]
    fn finds_the_file_on_the_command_line_or_in_the_environment() {
        let env = Some(OsString::from("/etc/env.toml"));
        assert_eq!(
            config_path(&os(&["t", "--config", "/a.toml"]), env.clone()),
            Some(PathBuf::from("/a.toml"))
        );
        assert_eq!(
            config_path(&os(&["t", "--config=/b.toml"]), None),
            Some(PathBuf::from("/b.toml"))
        );
        assert_eq!(
            config_path(&os(&["t"]), env),
            Some(PathBuf::from("/etc/env.toml"))
        );
        assert_eq!(config_path(&os(&["t", "--ui", "plain"]), None), None);
    }

    #[test]
    fn maps_keys_to_the_environment_variables_of_their_flags() {
        let text = r#"
            server = "http://10.0.0.5:8080"
            qr-port = "/dev/ttyUSB0"
            qr_baud = 115200
            roster_max_age_hours = 48
        "#;
        let mut settings = file_settings(Path::new("t.toml"), text).expect("valid");
        settings.sort();
        assert_eq!(
            settings,
            [
                ("CANTEEN_QR_BAUD".into(), "115200".into()),
                ("CANTEEN_QR_PORT".into(), "/dev/ttyUSB0".into()),
                ("CANTEEN_ROSTER_MAX_AGE_HOURS".into(), "48".into()),
                ("CANTEEN_SERVER".into(), "http://10.0.0.5:8080".into()),
            ]
        );
    }

    #[test]
    fn refuses_unknown_keys_bad_values_and_bad_toml() {
        let path = Path::new("t.toml");
        assert!(matches!(
            file_settings(path, "colour = \"red\""),
            Err(ConfigError::UnknownKey { .. })
        ));
        assert!(matches!(
            file_settings(path, "config = \"other.toml\""),
            Err(ConfigError::UnknownKey { .. })
        ));
        assert!(matches!(
            file_settings(path, "server = [1, 2]"),
            Err(ConfigError::BadValue { .. })
        ));
        assert!(matches!(
            file_settings(path, "server = "),
            Err(ConfigError::Parse { .. })
        ));
    }
}
