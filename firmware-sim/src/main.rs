//! `firmware-sim`: the binary. Plugs in both simulated devices, announces
//! `ready qr=<path> card=<path>` on stdout, then carries out commands from stdin (or from a
//! script file) and answers each with `ok` or `error: <why>`.

use std::io::{BufReader, Write};
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;
use clap::Parser;
use firmware_sim::frames::LineEnding;
use firmware_sim::sim::Sim;

/// Simulated QR scanner and RDM6300 card reader on pseudo-terminals.
///
/// Creates two pty pairs and exposes their device ends at --qr-link and --card-link
/// (symlinks; stale ones are replaced, and they are removed on exit). Prints
/// "ready qr=<path> card=<path>", then reads one command per line and answers "ok" or
/// "error: <why>":
///
///   scan TEXT                 the QR scanner sends TEXT and the line ending
///   scan-split TEXT           the same in two writes, 20 ms apart (alias: split)
///   card UID [badsum]         the card reader sends a frame (badsum: wrong checksum;
///                             alias: badsum UID)
///   cards-glued UID UID ...   several frames in a single write (alias: glue)
///   noise N [qr|card]         N random bytes (default card). On card: never 0x02, so noise
///                             can never start a frame. On qr: no CR/LF, at least one
///                             non-printable byte, then the line ending: one garbage line.
///   unplug [qr|card|all]      the device disappears (link removed, pty closed)
///   replug [qr|card|all]      the device comes back as a fresh pty at the same link
///   sleep MS                  wait
///   quit                      remove the links and exit (so does end of input)
///
/// Blank lines and lines starting with '#' are ignored. If killed by a signal the links
/// stay behind; the next run replaces them.
#[derive(Debug, Parser)]
#[command(name = "firmware-sim", version, verbatim_doc_comment)]
struct Cli {
    /// Where the QR scanner's device appears (a symlink to a pty).
    #[arg(long, env = "FIRMWARE_SIM_QR_LINK", value_name = "PATH")]
    qr_link: PathBuf,

    /// Where the card reader's device appears (a symlink to a pty).
    #[arg(long, env = "FIRMWARE_SIM_CARD_LINK", value_name = "PATH")]
    card_link: PathBuf,

    /// Line ending the simulated QR scanner sends.
    #[arg(long, env = "FIRMWARE_SIM_QR_LINE_ENDING", value_enum, default_value_t = LineEnding::Cr)]
    qr_line_ending: LineEnding,

    /// Read commands from this file instead of stdin; exit at its end.
    #[arg(long, value_name = "FILE")]
    script: Option<PathBuf>,

    /// Seed for the noise generator (default: from the clock).
    #[arg(long, value_name = "N")]
    seed: Option<u64>,
}

fn run(cli: Cli) -> anyhow::Result<()> {
    if cli.qr_link == cli.card_link {
        anyhow::bail!("--qr-link and --card-link must be different paths");
    }
    let seed = cli.seed.unwrap_or_else(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64)
    });
    let script = match &cli.script {
        Some(path) => Some(
            std::fs::File::open(path)
                .with_context(|| format!("opening the script {}", path.display()))?,
        ),
        None => None,
    };
    let mut sim = Sim::start(&cli.qr_link, &cli.card_link, cli.qr_line_ending, seed)?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    writeln!(out, "{}", sim.ready_line()).and_then(|()| out.flush())?;
    match script {
        Some(file) => sim.run(BufReader::new(file), out),
        None => sim.run(std::io::stdin().lock(), out),
    }
}

fn main() -> std::process::ExitCode {
    match run(Cli::parse()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("firmware-sim: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn command_line_is_well_formed() {
        Cli::command().debug_assert();
        let cli = Cli::try_parse_from([
            "firmware-sim",
            "--qr-link",
            "/tmp/qr",
            "--card-link",
            "/tmp/card",
            "--qr-line-ending",
            "crlf",
        ])
        .expect("valid");
        assert_eq!(cli.qr_line_ending, LineEnding::Crlf);
        assert!(Cli::try_parse_from(["firmware-sim", "--qr-link", "/tmp/qr"]).is_err());
    }
}
