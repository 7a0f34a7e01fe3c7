//! The simulator's command language: one command per line, on stdin or in a script file.
//!
//! Parsing is separate from doing so every command's syntax is checked without a pty.
//! Blank lines and lines starting with `#` are not commands (they get no answer).

use std::time::Duration;

use shared::CardUid;

/// Most noise bytes one command may send.
pub const MAX_NOISE: usize = 65_536;

/// Which simulated device a command is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Device {
    /// The QR scanner.
    Qr,
    /// The card reader.
    Card,
}

/// Which devices `unplug` / `replug` act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// One device.
    One(Device),
    /// Both devices.
    All,
}

/// One command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `scan TEXT`: the QR scanner reads TEXT (the rest of the line, spaces included).
    Scan(String),
    /// `scan-split TEXT`: the same, sent in two writes 20 ms apart.
    ScanSplit(String),
    /// `card UID [badsum]`: a card is presented (with a wrong checksum if `badsum`).
    Card { uid: CardUid, bad_checksum: bool },
    /// `cards-glued UID UID ...`: several frames in a single write.
    CardsGlued(Vec<CardUid>),
    /// `noise N [qr|card]`: N random bytes on a device (the card reader by default).
    Noise { bytes: usize, device: Device },
    /// `unplug [qr|card|all]`: the device disappears (all by default).
    Unplug(Target),
    /// `replug [qr|card|all]`: the device comes back as a new pty (all by default).
    Replug(Target),
    /// `sleep MS`: wait before the next command.
    Sleep(Duration),
    /// `quit`: remove the links and exit.
    Quit,
}

/// The usage line shown with errors.
pub const USAGE: &str =
    "commands: scan TEXT | scan-split (split) TEXT | card UID [badsum] | badsum UID | \
cards-glued UID... | noise N [qr|card] | unplug [qr|card|all] | replug [qr|card|all] | \
sleep MS | quit";

/// Parses one input line; `Ok(None)` for blank lines and `#` comments.
pub fn parse(line: &str) -> Result<Option<Command>, String> {
    let line = line.trim_end_matches(['\r', '\n']);
    let trimmed = line.trim_start();
    if trimmed.is_empty() || trimmed.starts_with('#') {
        return Ok(None);
    }
    let (word, rest) = trimmed.split_once(' ').unwrap_or((trimmed, ""));
    let args: Vec<&str> = rest.split_whitespace().collect();
    let command = match word {
        "scan" => Command::Scan(text_arg(word, rest)?),
        // `split` and `glue`/`badsum` are the words of the terminal issue; the long forms say
        // what they split or glue.
        "scan-split" | "split" => Command::ScanSplit(text_arg(word, rest)?),
        "card" => parse_card(&args)?,
        "cards-glued" | "glue" => parse_glued(&args)?,
        "badsum" => match args.as_slice() {
            [uid] => parse_card(&[uid, "badsum"])?,
            _ => return Err("usage: badsum UID".into()),
        },
        "noise" => parse_noise(&args)?,
        "unplug" => Command::Unplug(parse_target(word, &args)?),
        "replug" => Command::Replug(parse_target(word, &args)?),
        "sleep" => parse_sleep(&args)?,
        "quit" | "exit" if args.is_empty() => Command::Quit,
        "quit" | "exit" => return Err(format!("{word} takes no arguments")),
        _ => return Err(format!("unknown command {word:?}; {USAGE}")),
    };
    Ok(Some(command))
}

/// The rest of the line after `scan `, exactly as typed.
fn text_arg(word: &str, rest: &str) -> Result<String, String> {
    if rest.is_empty() {
        Err(format!("{word} needs a text: {word} TEXT"))
    } else {
        Ok(rest.to_owned())
    }
}

fn uid_arg(text: &str) -> Result<CardUid, String> {
    text.parse()
        .map_err(|e| format!("bad card UID {text:?}: {e}"))
}

fn parse_card(args: &[&str]) -> Result<Command, String> {
    match args {
        [uid] => Ok(Command::Card {
            uid: uid_arg(uid)?,
            bad_checksum: false,
        }),
        [uid, "badsum"] => Ok(Command::Card {
            uid: uid_arg(uid)?,
            bad_checksum: true,
        }),
        _ => Err("usage: card UID [badsum]".into()),
    }
}

fn parse_glued(args: &[&str]) -> Result<Command, String> {
    if args.is_empty() {
        return Err("usage: cards-glued UID UID ...".into());
    }
    let uids = args.iter().map(|a| uid_arg(a)).collect::<Result<_, _>>()?;
    Ok(Command::CardsGlued(uids))
}

fn parse_device(text: &str) -> Result<Device, String> {
    match text {
        "qr" => Ok(Device::Qr),
        "card" => Ok(Device::Card),
        _ => Err(format!("unknown device {text:?}: expected qr or card")),
    }
}

fn parse_noise(args: &[&str]) -> Result<Command, String> {
    let (count, device) = match args {
        [count] => (*count, Device::Card),
        [count, device] => (*count, parse_device(device)?),
        _ => return Err("usage: noise N [qr|card]".into()),
    };
    match count.parse::<usize>() {
        Ok(bytes) if bytes <= MAX_NOISE => Ok(Command::Noise { bytes, device }),
        Ok(_) => Err(format!("noise is limited to {MAX_NOISE} bytes per command")),
        Err(_) => Err(format!("bad byte count {count:?}: expected a whole number")),
    }
}

fn parse_target(word: &str, args: &[&str]) -> Result<Target, String> {
    match args {
        [] | ["all"] => Ok(Target::All),
        [device] => Ok(Target::One(parse_device(device)?)),
        _ => Err(format!("usage: {word} [qr|card|all]")),
    }
}

fn parse_sleep(args: &[&str]) -> Result<Command, String> {
    match args {
        [ms] => ms
            .parse::<u64>()
            .map(|ms| Command::Sleep(Duration::from_millis(ms)))
            .map_err(|_| format!("bad duration {ms:?}: expected milliseconds")),
        _ => Err("usage: sleep MS".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(line: &str) -> Command {
        parse(line).expect("valid").expect("a command")
    }

    fn uid(text: &str) -> CardUid {
        text.parse().expect("valid uid")
    }

    #[test]
    fn the_issue_words_are_aliases() {
        assert_eq!(parse("split SW1:AB"), parse("scan-split SW1:AB"));
        assert_eq!(
            parse("glue 0102ABCDEF 0A0B0C0D0E"),
            parse("cards-glued 0102ABCDEF 0A0B0C0D0E")
        );
        assert_eq!(parse("badsum 0102ABCDEF"), parse("card 0102ABCDEF badsum"));
        assert!(parse("badsum").is_err());
    }

    #[test]
    fn scan_keeps_the_rest_of_the_line() {
        assert_eq!(
            ok("scan SW1:AB CD  E"),
            Command::Scan("SW1:AB CD  E".into())
        );
        assert_eq!(
            ok("scan-split hello world\r\n"),
            Command::ScanSplit("hello world".into())
        );
        assert!(parse("scan").is_err());
    }

    #[test]
    fn cards() {
        let expected = Command::Card {
            uid: uid("0102ABCDEF"),
            bad_checksum: false,
        };
        assert_eq!(ok("card 0102abcdef"), expected);
        assert_eq!(
            ok("card 0102ABCDEF badsum"),
            Command::Card {
                uid: uid("0102ABCDEF"),
                bad_checksum: true
            }
        );
        assert_eq!(
            ok("cards-glued 0000000001 0000000002"),
            Command::CardsGlued(vec![uid("0000000001"), uid("0000000002")])
        );
        let err = parse("card 0102").expect_err("short uid");
        assert!(err.contains("exactly 10 hex digits"), "{err}");
        assert!(parse("card 0102ABCDEF goodsum").is_err());
        assert!(parse("cards-glued").is_err());
        assert!(parse("cards-glued 0000000001 nope").is_err());
    }

    #[test]
    fn noise() {
        assert_eq!(
            ok("noise 10"),
            Command::Noise {
                bytes: 10,
                device: Device::Card
            }
        );
        assert_eq!(
            ok("noise 0 qr"),
            Command::Noise {
                bytes: 0,
                device: Device::Qr
            }
        );
        assert!(parse("noise").is_err());
        assert!(parse("noise -1").is_err());
        assert!(parse("noise 10 printer").is_err());
        assert!(parse(&format!("noise {}", MAX_NOISE + 1)).is_err());
    }

    #[test]
    fn plugging() {
        assert_eq!(ok("unplug"), Command::Unplug(Target::All));
        assert_eq!(
            ok("unplug card"),
            Command::Unplug(Target::One(Device::Card))
        );
        assert_eq!(ok("replug all"), Command::Replug(Target::All));
        assert_eq!(ok("replug qr"), Command::Replug(Target::One(Device::Qr)));
        assert!(parse("replug qr card").is_err());
    }

    #[test]
    fn sleep_quit_comments_and_unknown() {
        assert_eq!(ok("sleep 250"), Command::Sleep(Duration::from_millis(250)));
        assert!(parse("sleep soon").is_err());
        assert_eq!(ok("quit"), Command::Quit);
        assert!(parse("quit now").is_err());
        assert_eq!(parse(""), Ok(None));
        assert_eq!(parse("   # a comment"), Ok(None));
        let err = parse("dance now").expect_err("unknown");
        assert!(err.starts_with("unknown command \"dance\""), "{err}");
    }
}
