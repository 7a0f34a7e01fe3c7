//! The command line of `canteen-terminal`: every flag, its environment variable and its
//! help text, in one place (DESIGN §8).
//!
//! Flags win over environment variables. The sync flags (`--server`, `--school`, `--db`,
//! `--enroll`) are accepted and required now so scripts written today keep working; the
//! sync, the local store and the decisions that use them land with the terminal issue.

use std::path::PathBuf;

use clap::{ArgGroup, Parser, ValueEnum};

use crate::scanner::line::DEFAULT_MAX_LINE;
use crate::scanner::LineEnding;

/// How the terminal shows what happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum UiMode {
    /// Full-screen UI for the canteen worker (for now: falls back to `plain`).
    Tui,
    /// One JSON object per line on stdout, for scripts and tests.
    Plain,
}

/// The offline canteen terminal: reads the QR scanner and the ID-card reader.
///
/// In this version the terminal opens both serial devices, decodes passes and cards
/// (robust to noise, split or glued frames and unplugging) and reports every scan and
/// device change. With `--ui plain` it prints one JSON object per line on stdout:
///
///   {"type":"scan","method":"qr","text_len":N,"looks_like_pass":true,"at":"<RFC 3339>"}
///   {"type":"scan","method":"card","card_uid":"0102ABCDEF","at":"<RFC 3339>"}
///   {"type":"device","device":"qr"|"card","state":"connected"|"disconnected","at":"…"}
///
/// The QR text itself is never printed: it is a pass token. Logs go to stderr
/// (level from RUST_LOG, default info).
#[derive(Debug, Clone, Parser)]
#[command(name = "canteen-terminal", version, verbatim_doc_comment)]
#[command(group(ArgGroup::new("ports").required(true).multiple(true).args(["qr_port", "card_port"])))]
pub struct Cli {
    /// Wallet server to sync with (used by the sync that lands with the terminal issue).
    #[arg(long, env = "CANTEEN_SERVER", value_name = "URL")]
    pub server: String,

    /// BIN of the school this terminal serves (used by the sync that lands with the
    /// terminal issue).
    #[arg(long, env = "CANTEEN_SCHOOL", value_name = "BIN")]
    pub school: String,

    /// Local database file (used by the store that lands with the terminal issue).
    #[arg(long, env = "CANTEEN_DB", value_name = "PATH")]
    pub db: PathBuf,

    /// One-time enrollment code from the school console (used by the sync that lands with
    /// the terminal issue; never logged).
    #[arg(
        long,
        env = "CANTEEN_ENROLL_CODE",
        value_name = "CODE",
        hide_env_values = true
    )]
    pub enroll: Option<String>,

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

    /// User interface: tui (full screen) or plain (JSON lines on stdout).
    #[arg(long, env = "CANTEEN_UI", value_enum, default_value_t = UiMode::Tui)]
    pub ui: UiMode,
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
            "terminal issue",
        ] {
            assert!(help.contains(text), "help lacks {text}:\n{help}");
        }
    }
}
