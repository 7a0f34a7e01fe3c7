//! Resolution end to end: command lines parsed by clap, TOML files, precedence, defaults and
//! every refusal of a configuration that cannot run.

use std::path::PathBuf;

use clap::Parser;

use super::*;

fn cli(args: &[&str]) -> Cli {
    let mut all = vec!["wallet-server"];
    all.extend_from_slice(args);
    Cli::try_parse_from(all).expect("valid command line")
}

#[test]
fn defaults_apply_in_demo() {
    let c = Config::resolve(cli(&["--demo"])).expect("resolves");
    assert!(c.demo);
    assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
    assert_eq!(c.data_dir, PathBuf::from("data"));
    assert_eq!(c.jwt_keys, JwtKeySource::DemoGenerated);
    assert_eq!(c.max_body_bytes, 1 << 20);
}

#[test]
fn without_demo_a_verifying_key_is_required() {
    let err = Config::resolve(cli(&[])).unwrap_err();
    assert!(matches!(err, ConfigError::NoJwtKey), "{err}");
    let err = Config::resolve(cli(&[
        "--jwt-public-key-file",
        "a.pem",
        "--jwt-jwks-file",
        "b.json",
    ]))
    .unwrap_err();
    assert!(matches!(err, ConfigError::TwoJwtKeys), "{err}");
}

#[test]
fn symmetric_algorithms_are_refused() {
    let err = Config::resolve(cli(&[
        "--jwt-public-key-file",
        "k.pem",
        "--jwt-algorithm",
        "HS256",
    ]))
    .unwrap_err();
    assert!(matches!(err, ConfigError::Algorithm(_)), "{err}");
}

#[test]
fn the_console_provider_may_sign_with_its_own_algorithm() {
    let c = Config::resolve(cli(&[
        "--demo",
        "--console-oidc-issuer",
        "http://idp.example",
        "--console-oidc-algorithm",
        "RS256",
    ]))
    .expect("resolves");
    assert_eq!(c.jwt_algorithm, jsonwebtoken::Algorithm::EdDSA);
    assert_eq!(c.console.algorithm, Some(jsonwebtoken::Algorithm::RS256));
    let same = Config::resolve(cli(&["--demo"])).expect("resolves");
    assert_eq!(same.console.algorithm, Some(same.jwt_algorithm));
    let err = Config::resolve(cli(&["--demo", "--console-oidc-algorithm", "HS256"])).unwrap_err();
    assert!(matches!(err, ConfigError::Algorithm(_)), "{err}");
}

#[test]
fn flags_beat_the_file_and_the_file_beats_defaults() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("wallet.toml");
    std::fs::write(
        &path,
        "listen = \"127.0.0.1:9999\"\ndata_dir = \"/srv/wallet\"\njwt_public_key_file = \"k.pem\"\n\
         jwt_algorithm = \"RS256\"\nmax_body_bytes = 2048\n",
    )
    .expect("write");
    let file = path.to_str().expect("utf-8 path");
    let c = Config::resolve(cli(&["--config", file, "--listen", "0.0.0.0:7000"])).expect("ok");
    assert_eq!(c.listen.to_string(), "0.0.0.0:7000", "flag wins");
    assert_eq!(
        c.data_dir,
        PathBuf::from("/srv/wallet"),
        "file beats default"
    );
    assert_eq!(c.jwt_algorithm, jsonwebtoken::Algorithm::RS256);
    assert_eq!(c.max_body_bytes, 2048);
    assert_eq!(c.jwt_keys, JwtKeySource::PemFile("k.pem".into()));
}

#[test]
fn unknown_keys_in_the_file_are_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("wallet.toml");
    std::fs::write(&path, "lisen = \"127.0.0.1:1\"\n").expect("write");
    let err =
        Config::resolve(cli(&["--demo", "--config", path.to_str().expect("utf-8")])).unwrap_err();
    assert!(err.to_string().contains("lisen"), "{err}");
}

#[test]
fn pass_keys_file_defaults_into_the_data_dir() {
    let c = Config::resolve(cli(&["--demo"])).expect("resolves");
    assert_eq!(c.pass_keys_file, PathBuf::from("data/pass-keys.json"));
    let c = Config::resolve(cli(&["--demo", "--data-dir", "/srv/w"])).expect("resolves");
    assert_eq!(c.pass_keys_file, PathBuf::from("/srv/w/pass-keys.json"));
    let c = Config::resolve(cli(&[
        "--demo",
        "--data-dir",
        "/srv/w",
        "--pass-keys-file",
        "/etc/wallet/keys.json",
    ]))
    .expect("resolves");
    assert_eq!(c.pass_keys_file, PathBuf::from("/etc/wallet/keys.json"));
    assert_eq!(c.data_dir, PathBuf::from("/srv/w"));
}

#[test]
fn pass_keys_file_from_the_toml_file_and_flag_wins() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("wallet.toml");
    std::fs::write(
        &path,
        "demo = true\ndata_dir = \"/srv/wallet\"\npass_keys_file = \"/secure/pk.json\"\n",
    )
    .expect("write");
    let file = path.to_str().expect("utf-8 path");
    let c = Config::resolve(cli(&["--config", file])).expect("ok");
    assert_eq!(c.pass_keys_file, PathBuf::from("/secure/pk.json"));
    let c =
        Config::resolve(cli(&["--config", file, "--pass-keys-file", "/flag.json"])).expect("ok");
    assert_eq!(c.pass_keys_file, PathBuf::from("/flag.json"), "flag wins");
}

#[test]
fn keys_commands_need_no_jwt_settings() {
    // Global flags may come before or after the subcommand.
    let c = cli(&["keys", "rotate", "--data-dir", "/srv/w"]);
    assert!(matches!(
        c.command,
        Some(Command::Keys {
            action: KeysAction::Rotate { retain_days: 30 }
        })
    ));
    assert_eq!(
        Config::resolve_pass_keys_file(&c).expect("resolves"),
        PathBuf::from("/srv/w/pass-keys.json")
    );
    let c = cli(&["--pass-keys-file", "/k.json", "keys", "list"]);
    assert!(matches!(
        c.command,
        Some(Command::Keys {
            action: KeysAction::List
        })
    ));
    assert_eq!(
        Config::resolve_pass_keys_file(&c).expect("resolves"),
        PathBuf::from("/k.json")
    );
    let c = cli(&["keys", "rotate", "--retain-days", "7"]);
    assert!(matches!(
        c.command,
        Some(Command::Keys {
            action: KeysAction::Rotate { retain_days: 7 }
        })
    ));
    let mut args = vec!["wallet-server", "keys", "rotate", "--retain-days", "0"];
    assert!(Cli::try_parse_from(&args).is_err(), "retention of 0 days");
    args.truncate(2);
    assert!(Cli::try_parse_from(&args).is_err(), "keys needs an action");
}

#[test]
fn the_demo_clock_start_needs_demo_and_an_rfc3339_instant() {
    let c = Config::resolve(cli(&[
        "--demo",
        "--demo-clock",
        "2030-09-01T09:00:00+05:00",
    ]))
    .expect("resolves");
    assert_eq!(
        c.demo_clock,
        Some(time::macros::datetime!(2030-09-01 04:00 UTC))
    );
    let err = Config::resolve(cli(&["--demo", "--demo-clock", "tomorrow"])).unwrap_err();
    assert!(matches!(err, ConfigError::DemoClock(_)), "{err}");
    let err = Config::resolve(cli(&[
        "--jwt-public-key-file",
        "a.pem",
        "--demo-clock",
        "2030-09-01T09:00:00Z",
    ]))
    .unwrap_err();
    assert!(matches!(err, ConfigError::DemoClock(_)), "{err}");
    assert_eq!(
        Config::resolve(cli(&["--demo"]))
            .expect("resolves")
            .demo_clock,
        None
    );
}

#[test]
fn the_tls_listener_takes_a_certificate_and_its_key_together() {
    let c = Config::resolve(cli(&["--demo"])).expect("resolves");
    assert_eq!((c.tls, c.console.https_listener), (None, false));
    let c = Config::resolve(cli(&[
        "--demo",
        "--tls-cert",
        "c.pem",
        "--tls-key",
        "k.pem",
        "--ca-file",
        "ca.pem",
    ]))
    .expect("resolves");
    assert_eq!(
        c.tls,
        Some(super::TlsFiles {
            cert: "c.pem".into(),
            key: "k.pem".into()
        })
    );
    assert!(c.console.https_listener);
    assert_eq!(c.ca_file.as_deref(), Some(std::path::Path::new("ca.pem")));
    for half in [["--tls-cert", "c.pem"], ["--tls-key", "k.pem"]] {
        let err = Config::resolve(cli(&["--demo", half[0], half[1]])).unwrap_err();
        assert!(matches!(err, ConfigError::TlsPair), "{err}");
    }
}

#[test]
fn consent_adapters_take_http_urls_and_the_stall_knob_needs_demo() {
    let c = Config::resolve(cli(&["--demo"])).expect("resolves");
    assert_eq!(
        (c.sms_gateway_url, c.bmg_url, c.demo_stall),
        (None, None, None)
    );
    assert_eq!(c.wallet_link, "https://egovmobile.page.link/socwallet");
    let c = Config::resolve(cli(&[
        "--demo",
        "--sms-gateway-url",
        "http://127.0.0.1:9000/sms",
        "--bmg-url",
        "http://bmg.local/phones",
        "--wallet-link",
        "https://example.kz/w",
        "--demo-stall",
        "outbox:after_send",
    ]))
    .expect("resolves");
    assert_eq!(
        c.sms_gateway_url.as_deref(),
        Some("http://127.0.0.1:9000/sms")
    );
    assert_eq!(c.bmg_url.as_deref(), Some("http://bmg.local/phones"));
    assert_eq!(c.wallet_link, "https://example.kz/w");
    assert_eq!(
        c.demo_stall,
        Some(crate::ports::StallPoint::OutboxAfterSend)
    );
    let c = Config::resolve(cli(&["--demo", "--sms-gateway-url", "https://gw"])).expect("https");
    assert_eq!(c.sms_gateway_url.as_deref(), Some("https://gw"));
    let err = Config::resolve(cli(&["--demo", "--sms-gateway-url", "ftp://gw"])).unwrap_err();
    assert!(matches!(err, ConfigError::Url { .. }), "{err}");
    let c = Config::resolve(cli(&[
        "--demo",
        "--nobd-url",
        "http://nobd.local/reports",
        "--eotinish-url",
        "http://eotinish.local/appeals",
    ]))
    .expect("resolves");
    assert_eq!(
        (c.nobd_url.as_deref(), c.eotinish_url.as_deref()),
        (
            Some("http://nobd.local/reports"),
            Some("http://eotinish.local/appeals")
        )
    );
    for flag in ["--nobd-url", "--eotinish-url"] {
        let err = Config::resolve(cli(&["--demo", flag, "gopher://x"])).unwrap_err();
        assert!(matches!(err, ConfigError::Url { .. }), "{flag}: {err}");
    }
    let err = Config::resolve(cli(&[
        "--jwt-public-key-file",
        "k.pem",
        "--demo-stall",
        "outbox:after_send",
    ]))
    .unwrap_err();
    assert!(matches!(err, ConfigError::Stall(_)), "{err}");
    let err = Config::resolve(cli(&["--demo", "--demo-stall", "job:nope:before"])).unwrap_err();
    assert!(matches!(err, ConfigError::Stall(_)), "{err}");
}

#[test]
fn programme_dates_default_to_the_pilot_and_follow_the_demo_clock_in_demo() {
    use crate::domain::programme_dates::ProgrammeDates;
    use time::macros::{date, datetime};
    let key = ["--jwt-public-key-file", "k.pem"];
    let c = Config::resolve(cli(&key)).expect("resolves");
    assert_eq!(
        c.programme_dates,
        ProgrammeDatesSetting::Fixed(ProgrammeDates::pilot_2026())
    );
    let demo = Config::resolve(cli(&["--demo"])).expect("resolves");
    assert_eq!(demo.programme_dates, ProgrammeDatesSetting::AroundDemoClock);
    let start = datetime!(2031-03-10 10:00 +5);
    assert_eq!(
        demo.programme_dates.dates(start),
        ProgrammeDates::around(date!(2031 - 03 - 10))
    );
    // Dates given win in demo too; an end defaults to 12 months after the start.
    let given =
        Config::resolve(cli(&["--demo", "--programme-start", "2026-09-01"])).expect("resolves");
    let dates = given.programme_dates.dates(start);
    assert_eq!(
        (dates.first_day(), dates.last_day()),
        (date!(2026 - 09 - 01), date!(2027 - 08 - 31))
    );
    let both = Config::resolve(cli(&[
        key[0],
        key[1],
        "--programme-start",
        "2026-09-01",
        "--programme-end",
        "2027-05-31",
    ]))
    .expect("resolves");
    assert_eq!(
        both.programme_dates.dates(start).last_day(),
        date!(2027 - 05 - 31)
    );
}

#[test]
fn programme_dates_must_be_dates_in_order() {
    let err = Config::resolve(cli(&["--demo", "--programme-start", "21.02.2026"])).unwrap_err();
    assert!(matches!(err, ConfigError::ProgrammeDate { .. }), "{err}");
    let err = Config::resolve(cli(&[
        "--demo",
        "--programme-start",
        "2026-09-01",
        "--programme-end",
        "2026-08-31",
    ]))
    .unwrap_err();
    assert!(matches!(err, ConfigError::ProgrammeEnd(_)), "{err}");
}
