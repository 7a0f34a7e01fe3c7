//! `wallet-server keys rotate|list` against the real binary: no database, no JWT settings.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

fn wallet_server(args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wallet-server"));
    // Settings of the surrounding environment must not leak into the test.
    for var in [
        "DATA_DIR",
        "PASS_KEYS_FILE",
        "WALLET_CONFIG",
        "WALLET_DEMO",
        "DATABASE_URL",
        "JWT_PUBLIC_KEY_FILE",
        "JWT_JWKS_FILE",
    ] {
        cmd.env_remove(var);
    }
    cmd.args(args).output().expect("run wallet-server")
}

fn ok(args: &[&str]) -> String {
    let out = wallet_server(args);
    assert!(
        out.status.success(),
        "wallet-server {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

/// The key id printed by `keys rotate`.
fn rotated_kid(stdout: &str) -> String {
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("new current pass key: "))
        .unwrap_or_else(|| panic!("no new kid in {stdout:?}"));
    assert_eq!(line.len(), 8, "{line}");
    assert!(line.chars().all(|c| c.is_ascii_hexdigit()), "{line}");
    line.to_string()
}

#[test]
fn keys_rotate_and_list_work_on_the_data_dir() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let data = path_str(&data);
    let file = dir.path().join("data").join("pass-keys.json");

    // No key file yet: list says how to get one and creates nothing.
    let out = wallet_server(&["--data-dir", data, "keys", "list"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("keys rotate"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!file.exists());

    // The first rotation creates the file, owner-only.
    let first = rotated_kid(&ok(&["--data-dir", data, "keys", "rotate"]));
    let mode = std::fs::metadata(&file)
        .expect("key file")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);

    let list = ok(&["keys", "list", "--data-dir", data]);
    let lines: Vec<&str> = list.lines().collect();
    assert_eq!(lines.len(), 1, "{list}");
    assert!(lines[0].starts_with(&first), "{list}");
    assert!(lines[0].ends_with("current"), "{list}");

    // Global flags work after the subcommand too.
    let out = ok(&["keys", "rotate", "--data-dir", data]);
    let second = rotated_kid(&out);
    assert_ne!(first, second);
    assert!(out.contains(&format!("retired: {first}")), "{out}");
    assert!(out.contains("keys kept: 2"), "{out}");

    let list = ok(&["--data-dir", data, "keys", "list"]);
    let lines: Vec<&str> = list.lines().collect();
    assert_eq!(lines.len(), 2, "{list}");
    let old = lines
        .iter()
        .find(|l| l.starts_with(&first))
        .expect("old key");
    assert!(!old.ends_with("current"), "{list}");
    assert!(!old.contains("retired -"), "retired time shown: {list}");
    let new = lines
        .iter()
        .find(|l| l.starts_with(&second))
        .expect("new key");
    assert!(new.ends_with("current"), "{list}");
    assert!(new.contains("retired -"), "{list}");

    // No private key material on the terminal.
    let stored = std::fs::read_to_string(&file).expect("read");
    let value: serde_json::Value = serde_json::from_str(&stored).expect("json");
    let pkcs8 = value["keys"][0]["pkcs8"].as_str().expect("pkcs8");
    assert!(!list.contains(&pkcs8[..32]));
}

#[test]
fn keys_respect_pass_keys_file_and_refuse_an_open_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("secure").join("keys.json");
    let file_arg = path_str(&file);
    ok(&["--pass-keys-file", file_arg, "keys", "rotate"]);
    assert!(file.exists());
    assert!(!dir.path().join("data").exists());

    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let out = wallet_server(&["--pass-keys-file", file_arg, "keys", "list"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("chmod 600"), "{stderr}");
    let out = wallet_server(&["--pass-keys-file", file_arg, "keys", "rotate"]);
    assert!(!out.status.success());
}

#[test]
fn keys_read_the_path_from_the_config_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let keys = dir.path().join("from-toml.json");
    let config = dir.path().join("wallet.toml");
    std::fs::write(&config, format!("pass_keys_file = {:?}\n", path_str(&keys)))
        .expect("write config");
    let kid = rotated_kid(&ok(&["--config", path_str(&config), "keys", "rotate"]));
    let list = ok(&["keys", "list", "--config", path_str(&config)]);
    assert!(list.starts_with(&kid), "{list}");
    assert!(keys.exists());
}
