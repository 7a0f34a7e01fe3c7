//! The command line of `canteen-terminal`: every flag, its environment variable and its
//! help text, in one place (DESIGN §8).
//!
//! Settings come from flags, then environment variables, then the TOML file named by
//! `--config` ([`crate::config`]), then defaults.

use std::path::PathBuf;

use clap::{ArgGroup, Parser, ValueEnum};
use shared::{Bin, Label};

use crate::scanner::line::DEFAULT_MAX_LINE;
use crate::scanner::LineEnding;
use crate::ui::sound::BeepMode;

/// How the terminal shows what happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum UiMode {
    /// Full-screen view for the canteen worker (falls back to plain when stdout is not a
    /// terminal).
    Tui,
    /// One JSON object per line on stdout, for scripts and tests.
    Plain,
}

/// The offline canteen terminal: decides every QR pass and ID card scanned, records meals
/// durably on this machine and syncs them with the wallet server when it can.
///
/// First start: `--enroll CODE` with the one-time code from the school console; the device
/// token and everything else live in the SQLite file given by --db (created owner-only, mode
/// 0600). Later starts need no code. Without a token and without a code the terminal still
/// reads its devices but denies every scan (not_ready).
///
/// The server is reached over https:// (verified against the system's CA certificates plus
/// --ca-file; with --client-cert and --client-key the terminal presents its own certificate)
/// or, on a trusted network only, plain http://. A server certificate from an unknown CA is
/// refused: the sync reports offline with "the server's TLS certificate is not trusted".
///
/// Settings: flags win over environment variables, which win over the TOML file named by
/// --config (keys are the long flag names with underscores, e.g. qr_port = "/dev/ttyUSB0").
///
/// With --ui plain it prints one JSON object per line on stdout (times in RFC 3339 UTC;
/// fields marked ? appear only when they apply):
///
///   {"type":"start","version","school","school_name"?,"terminal_id"?,"enrolled","revoked",
///    "roster","unsent","today","last_roster_at"?,"at"}
///   {"type":"scan","method":"qr","text_len","looks_like_pass","at"}   (before its decision;
///   {"type":"scan","method":"card","card_uid","at"}                     never the QR text)
///   {"type":"decision","decision":"accept"|"deny","reason"?,"reason_ru"?,"reason_kk"?,
///    "method":"qr"|"card","student"?,"class"?,"voucher_id"?,"card_uid"?,"event_id"?,"slot"?,
///    "service_day","today","warning"?,"warning_ru"?,"warning_kk"?,"at"}
///    (+ "alert"?, "manual_reason"?, "unshown_secs"?, "earlier_at"?, "earlier_slot"?,
///    "earlier_terminal"? when it applies; method may be "manual")
///   {"type":"unreadable","device":"qr"|"card","at"}   (noise, a garbled code, a bad frame)
///   {"type":"device","device":"qr"|"card","state":"connected"|"disconnected","at"}
///   {"type":"sync","outcome","pushed","accepted","duplicate","rejected","unsent","roster",
///    "retry_in_ms"?,"at", ...}
///
/// Denial reasons: not_ready, bad_code, forged_code, unknown_key, expired_code, not_yet_valid,
/// other_school, not_on_roster, unknown_card, outside_hours, already_ate, wrong_shift,
/// terminal_error.
/// Warnings: roster_stale, terminal_revoked. Sync outcomes: enrolled, ok (+ roster_changes,
/// full, keys, slots, clock_offset_ms), offline (+ error), server_error (+ status, error),
/// unauthorized, not_enrolled, enroll_failed (+ status, code, error, fatal),
/// school_mismatch (+ expected, got), store_error (+ error).
///
/// An accepted meal is committed to disk before its decision line is printed. Pass texts,
/// the device token and the enrollment code are never printed or logged.
///
/// Exit status: 0 after Ctrl+C in the full-screen view or when stdout closes; 1 on a fatal
/// error (database unusable, enrollment refused, terminal enrolled for another school).
/// Logs go to stderr (level from RUST_LOG, default info), or to --log-file.
#[derive(Debug, Clone, Parser)]
#[command(name = "canteen-terminal", version, verbatim_doc_comment)]
#[command(group(ArgGroup::new("ports").required(true).multiple(true).args(["qr_port", "card_port"])))]
pub struct Cli {
    /// TOML file with settings (keys are the long flag names with underscores).
    #[arg(long, env = "CANTEEN_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Wallet server to sync with (e.g. https://meals.example.kz, or http://10.0.0.5:8080 on
    /// a trusted network).
    #[arg(long, env = "CANTEEN_SERVER", value_name = "URL", value_parser = parse_server)]
    pub server: String,

    /// PEM file of CA certificates trusted for the server's certificate, in addition to the
    /// system's (e.g. the school network's own CA).
    #[arg(long, env = "CANTEEN_CA_FILE", value_name = "FILE")]
    pub ca_file: Option<PathBuf>,

    /// PEM certificate (chain) this terminal presents to a server that asks for one.
    #[arg(
        long,
        env = "CANTEEN_CLIENT_CERT",
        value_name = "FILE",
        requires = "client_key"
    )]
    pub client_cert: Option<PathBuf>,

    /// PEM private key of --client-cert (keep it owner-only).
    #[arg(
        long,
        env = "CANTEEN_CLIENT_KEY",
        value_name = "FILE",
        requires = "client_cert"
    )]
    pub client_key: Option<PathBuf>,

    /// BIN of the school this terminal serves; the terminal refuses to run if its
    /// enrollment says otherwise.
    #[arg(long, env = "CANTEEN_SCHOOL", value_name = "BIN")]
    pub school: Bin,

    /// Local database file (created owner-only; holds the device token, roster and meals).
    #[arg(long, env = "CANTEEN_DB", value_name = "PATH")]
    pub db: PathBuf,

    /// One-time enrollment code from the school console, used on the first start (or to
    /// re-enroll a revoked terminal); ignored once enrolled. Never logged.
    #[arg(
        long,
        env = "CANTEEN_ENROLL_CODE",
        value_name = "CODE",
        hide_env_values = true
    )]
    pub enroll: Option<String>,

    /// Name of this terminal as school staff will see it, sent at enrollment (one line, at
    /// most 100 characters).
    #[arg(long, env = "CANTEEN_TERMINAL_NAME", value_name = "NAME")]
    pub terminal_name: Option<Label>,

    /// Serial device of the QR scanner (at least one of --qr-port and --card-port).
    #[arg(long, env = "CANTEEN_QR_PORT", value_name = "PATH")]
    pub qr_port: Option<String>,

    /// Baud rate of the QR scanner (scanners use 9600 or 115200), 8N1.
    #[arg(long, env = "CANTEEN_QR_BAUD", value_name = "BAUD", default_value_t = 9600,
          value_parser = clap::value_parser!(u32).range(300..=4_000_000))]
    pub qr_baud: u32,

    /// Line ending the QR scanner is configured to send: cr, lf or crlf. Any of them is
    /// accepted anyway (a mismatch is logged once).
    #[arg(
        long,
        env = "CANTEEN_QR_LINE_ENDING",
        value_name = "ENDING",
        default_value = "cr"
    )]
    pub qr_line_ending: LineEnding,

    /// Longest QR text accepted, in bytes; longer lines are dropped and counted.
    #[arg(long, env = "CANTEEN_QR_MAX_LINE", value_name = "BYTES", default_value_t = DEFAULT_MAX_LINE,
          value_parser = parse_max_line)]
    pub qr_max_line: usize,

    /// Serial device of the RDM6300 ID-card reader (at least one of --qr-port and
    /// --card-port).
    #[arg(long, env = "CANTEEN_CARD_PORT", value_name = "PATH")]
    pub card_port: Option<String>,

    /// Baud rate of the card reader (the RDM6300 uses 9600), 8N1.
    #[arg(long, env = "CANTEEN_CARD_BAUD", value_name = "BAUD", default_value_t = 9600,
          value_parser = clap::value_parser!(u32).range(300..=4_000_000))]
    pub card_baud: u32,

    /// A card held on the reader repeats its frame; repeats of the same card less than this
    /// many milliseconds apart count as one read.
    #[arg(
        long,
        env = "CANTEEN_CARD_DEBOUNCE_MS",
        value_name = "MS",
        default_value_t = 1000
    )]
    pub card_debounce_ms: u64,

    /// Sound of a result in the full-screen view: auto (tones on the Linux console, BEL
    /// elsewhere), console, bell or off.
    #[arg(long, env = "CANTEEN_BEEP", value_enum, default_value_t = BeepMode::Auto)]
    pub beep: BeepMode,

    /// User interface: tui (full screen) or plain (JSON lines on stdout).
    #[arg(long, env = "CANTEEN_UI", value_enum, default_value_t = UiMode::Tui)]
    pub ui: UiMode,

    /// Clock difference forgiven at both ends of a pass's validity window, in seconds.
    #[arg(long, env = "CANTEEN_PASS_LEEWAY_SECS", value_name = "SECS", default_value_t = 120,
          value_parser = clap::value_parser!(u32).range(0..=3600))]
    pub pass_leeway_secs: u32,

    /// Decisions carry the warning roster_stale when the last successful roster pull is
    /// older than this many hours.
    #[arg(long, env = "CANTEEN_ROSTER_MAX_AGE_HOURS", value_name = "HOURS", default_value_t = 24,
          value_parser = clap::value_parser!(u32).range(1..=24 * 366))]
    pub roster_max_age_hours: u32,

    /// Time between syncs while the server answers, in milliseconds (a recorded meal also
    /// starts a sync at once).
    #[arg(long, env = "CANTEEN_SYNC_INTERVAL_MS", value_name = "MS", default_value_t = 5000,
          value_parser = clap::value_parser!(u64).range(10..=3_600_000))]
    pub sync_interval_ms: u64,

    /// First wait after a failed sync, in milliseconds; it doubles after each failure.
    #[arg(long, env = "CANTEEN_SYNC_BACKOFF_MIN_MS", value_name = "MS", default_value_t = 1000,
          value_parser = clap::value_parser!(u64).range(10..=3_600_000))]
    pub sync_backoff_min_ms: u64,

    /// Longest wait between failed syncs, in milliseconds (with up to 25% jitter below it).
    #[arg(long, env = "CANTEEN_SYNC_BACKOFF_MAX_MS", value_name = "MS", default_value_t = 60_000,
          value_parser = clap::value_parser!(u64).range(10..=3_600_000))]
    pub sync_backoff_max_ms: u64,

    /// While offline, ask the server's /healthz this often (milliseconds) and sync at once
    /// when it answers, instead of waiting out the backoff.
    #[arg(long, env = "CANTEEN_SYNC_PROBE_MS", value_name = "MS", default_value_t = 2_000,
          value_parser = clap::value_parser!(u64).range(10..=600_000))]
    pub sync_probe_ms: u64,

    /// Give up on one HTTP request to the server after this many seconds.
    #[arg(long, env = "CANTEEN_HTTP_TIMEOUT_SECS", value_name = "SECS", default_value_t = 20,
          value_parser = clap::value_parser!(u64).range(1..=600))]
    pub http_timeout_secs: u64,

    /// Write logs to this file instead of stderr (with --ui tui on a terminal, logs go to
    /// <db>.log unless this is given, so they do not scribble over the screen).
    #[arg(long, env = "CANTEEN_LOG_FILE", value_name = "PATH")]
    pub log_file: Option<PathBuf>,

    /// Testing and demos only: run this terminal's clock SECS seconds ahead of the system
    /// clock (forward only), so a drill can simulate days passing while the server is
    /// unreachable. Hidden from --help; never set it on a real terminal.
    #[arg(long, env = "CANTEEN_DEMO_CLOCK_SHIFT_SECS", value_name = "SECS", hide = true,
          default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=366 * 86_400))]
    pub demo_clock_shift_secs: u32,
}

impl Cli {
    /// The TLS settings of the server connection (clap has checked that the client
    /// certificate and key come together).
    pub fn tls_options(&self) -> shared::http::TlsOptions {
        shared::http::TlsOptions {
            ca_file: self.ca_file.clone(),
            identity: match (&self.client_cert, &self.client_key) {
                (Some(cert), Some(key)) => Some(shared::http::Identity {
                    cert_file: cert.clone(),
                    key_file: key.clone(),
                }),
                _ => None,
            },
        }
    }
}

/// `--server`: an `https://` or `http://` URL.
fn parse_server(text: &str) -> Result<String, String> {
    let rest = text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("http://"))
        .ok_or("must start with https:// or http://")?;
    if rest.trim_end_matches('/').is_empty() || rest.contains(char::is_whitespace) {
        return Err("must be https://host[:port] or http://host[:port]".into());
    }
    Ok(text.trim_end_matches('/').to_owned())
}

/// `--qr-max-line`: a positive number of bytes, at most 64 KiB.
fn parse_max_line(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(n @ 1..=65_536) => Ok(n),
        Ok(_) => Err("must be between 1 and 65536".into()),
        Err(e) => Err(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    const BASE: [&str; 7] = [
        "canteen-terminal",
        "--server",
        "http://127.0.0.1:9",
        "--school",
        "000000000000",
        "--db",
        "t.db",
    ];

    fn parse(extra: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(BASE.iter().chain(extra))
    }

    #[test]
    fn command_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn defaults() {
        let cli = parse(&["--qr-port", "/dev/ttyUSB0"]).expect("valid");
        assert_eq!(cli.qr_baud, 9600);
        assert_eq!(cli.card_baud, 9600);
        assert_eq!(cli.qr_line_ending, LineEnding::Cr);
        assert_eq!(cli.qr_max_line, 512);
        assert_eq!(cli.ui, UiMode::Tui);
        assert_eq!(cli.card_port, None);
        assert_eq!(cli.enroll, None);
        assert_eq!(cli.pass_leeway_secs, 120);
        assert_eq!(cli.roster_max_age_hours, 24);
        assert_eq!(cli.sync_interval_ms, 5000);
        assert_eq!(cli.sync_backoff_min_ms, 1000);
        assert_eq!(cli.sync_backoff_max_ms, 60_000);
        assert_eq!(cli.server, "http://127.0.0.1:9");
        assert_eq!(cli.school.as_string(), "000000000000");
    }

    #[test]
    fn all_flags() {
        let cli = parse(&[
            "--qr-port",
            "/q",
            "--card-port",
            "/c",
            "--qr-baud",
            "115200",
            "--card-baud",
            "9600",
            "--qr-line-ending",
            "crlf",
            "--ui",
            "plain",
            "--enroll",
            "ABC123",
            "--card-debounce-ms",
            "50",
            "--qr-max-line",
            "64",
        ])
        .expect("valid");
        assert_eq!(cli.qr_port.as_deref(), Some("/q"));
        assert_eq!(cli.card_port.as_deref(), Some("/c"));
        assert_eq!(cli.qr_baud, 115_200);
        assert_eq!(cli.qr_line_ending, LineEnding::CrLf);
        assert_eq!(cli.ui, UiMode::Plain);
        assert_eq!(cli.enroll.as_deref(), Some("ABC123"));
        assert_eq!(cli.card_debounce_ms, 50);
        assert_eq!(cli.qr_max_line, 64);
    }

    #[test]
    fn needs_at_least_one_device() {
        let err = parse(&[]).expect_err("no port");
        assert_eq!(err.kind(), clap::error::ErrorKind::MissingRequiredArgument);
    }

    #[test]
    fn rejects_bad_values() {
        assert!(parse(&["--qr-port", "/q", "--qr-line-ending", "nl"]).is_err());
        assert!(parse(&["--qr-port", "/q", "--qr-baud", "0"]).is_err());
        assert!(parse(&["--qr-port", "/q", "--ui", "fancy"]).is_err());
        assert!(parse(&["--qr-port", "/q", "--qr-max-line", "0"]).is_err());
        assert!(parse(&["--qr-port", "/q", "--roster-max-age-hours", "0"]).is_err());
        let with = |server: &str, school: &str| {
            Cli::try_parse_from([
                "canteen-terminal",
                "--server",
                server,
                "--school",
                school,
                "--db",
                "t.db",
                "--qr-port",
                "/q",
            ])
        };
        assert!(with("ftp://server", "000000000000").is_err());
        assert!(with("http://", "000000000000").is_err());
        assert!(with("https://", "000000000000").is_err());
        assert!(with("server:8080", "000000000000").is_err());
        assert!(
            with("http://server", "000000000001").is_err(),
            "bad check digit"
        );
        let cli = with("http://server:8080/", "000000000000").expect("valid");
        assert_eq!(cli.server, "http://server:8080");
        let cli = with("https://server/", "000000000000").expect("valid");
        assert_eq!(cli.server, "https://server");
    }

    #[test]
    fn help_documents_every_flag_and_its_environment_variable() {
        let help = Cli::command().render_long_help().to_string();
        for text in [
            "--server",
            "CANTEEN_SERVER",
            "--school",
            "CANTEEN_SCHOOL",
            "--db",
            "CANTEEN_DB",
            "--enroll",
            "CANTEEN_ENROLL_CODE",
            "--qr-port",
            "CANTEEN_QR_PORT",
            "--card-port",
            "CANTEEN_CARD_PORT",
            "--qr-baud",
            "--card-baud",
            "--qr-line-ending",
            "--ui",
            "CANTEEN_UI",
            "--config",
            "CANTEEN_CONFIG",
            "--terminal-name",
            "--pass-leeway-secs",
            "--roster-max-age-hours",
            "--sync-interval-ms",
            "--sync-backoff-min-ms",
            "--sync-backoff-max-ms",
            "--http-timeout-secs",
            "--log-file",
            "--ca-file",
            "CANTEEN_CA_FILE",
            "--client-cert",
            "--client-key",
            "not trusted",
            "\"type\":\"decision\"",
            "already_ate",
            "roster_stale",
        ] {
            assert!(help.contains(text), "help lacks {text}:\n{help}");
        }
    }

    #[test]
    fn the_drill_clock_shift_is_hidden_forward_only_and_off_by_default() {
        let help = Cli::command().render_long_help().to_string();
        assert!(!help.contains("demo-clock-shift"), "{help}");
        assert_eq!(
            parse(&["--qr-port", "/q"])
                .expect("valid")
                .demo_clock_shift_secs,
            0
        );
        let cli = parse(&["--qr-port", "/q", "--demo-clock-shift-secs", "86400"]).expect("valid");
        assert_eq!(cli.demo_clock_shift_secs, 86_400);
        assert!(parse(&["--qr-port", "/q", "--demo-clock-shift-secs", "-60"]).is_err());
    }
}
