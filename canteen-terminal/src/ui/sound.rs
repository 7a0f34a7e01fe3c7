//! The counter's beeps: one sound for accept and a different one for deny (issue 19,
//! point 6). On the Linux console (`TERM=linux`, the box's tty1) the bell's pitch and length
//! are set with the console's own escape sequences (`ESC[10;Hz]`, `ESC[11;ms]`, see
//! console_codes(4)) before the BEL and put back afterwards; elsewhere a BEL alone (one for
//! accept, two for deny). `--beep off` keeps the counter quiet.

use clap::ValueEnum;

use super::view::Beep;

/// How the terminal beeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BeepMode {
    /// `console` on the Linux console, `bell` anywhere else.
    Auto,
    /// Tones through the Linux console's bell escape sequences.
    Console,
    /// The plain BEL character.
    Bell,
    /// No sound.
    Off,
}

/// Pitch (Hz) and length (ms) of the accept tone: short and high.
pub const ACCEPT_TONE: (u32, u32) = (1200, 120);
/// Pitch and length of the deny tone: long and low.
pub const DENY_TONE: (u32, u32) = (300, 450);

impl BeepMode {
    /// `Auto` decided by the terminal type (`TERM`).
    pub fn resolve(self, term: Option<&str>) -> BeepMode {
        match self {
            BeepMode::Auto if term == Some("linux") => BeepMode::Console,
            BeepMode::Auto => BeepMode::Bell,
            other => other,
        }
    }

    /// The bytes that make `beep` sound.
    pub fn bytes(self, beep: Beep) -> String {
        match (self, beep) {
            (BeepMode::Off, _) => String::new(),
            (BeepMode::Bell | BeepMode::Auto, Beep::Accept) => "\x07".into(),
            (BeepMode::Bell | BeepMode::Auto, Beep::Deny) => "\x07\x07".into(),
            (BeepMode::Console, beep) => {
                let (hz, ms) = match beep {
                    Beep::Accept => ACCEPT_TONE,
                    Beep::Deny => DENY_TONE,
                };
                // Set the tone, ring, then restore the console's default tone.
                format!("\x1b[10;{hz}]\x1b[11;{ms}]\x07\x1b[10]\x1b[11]")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_and_deny_sound_different_and_off_is_silent() {
        let console = BeepMode::Auto.resolve(Some("linux"));
        assert_eq!(console, BeepMode::Console);
        assert_eq!(
            console.bytes(Beep::Accept),
            "\x1b[10;1200]\x1b[11;120]\x07\x1b[10]\x1b[11]"
        );
        assert_ne!(console.bytes(Beep::Accept), console.bytes(Beep::Deny));
        let bell = BeepMode::Auto.resolve(Some("xterm-256color"));
        assert_eq!(bell.bytes(Beep::Accept), "\x07");
        assert_eq!(bell.bytes(Beep::Deny), "\x07\x07");
        assert!(BeepMode::Off.bytes(Beep::Deny).is_empty());
    }
}
