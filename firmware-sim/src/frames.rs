//! The bytes the simulated devices send: QR lines, RDM6300 frames and noise.
//!
//! Written independently of the terminal's decoders on purpose, so the end-to-end tests
//! compare two implementations of the wire format (DESIGN §6) instead of one with itself.

use clap::ValueEnum;
use shared::CardUid;

/// Start and end of an RDM6300 frame.
pub const STX: u8 = 0x02;
/// End of an RDM6300 frame.
pub const ETX: u8 = 0x03;

/// The line terminator the simulated QR scanner sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum LineEnding {
    /// `\r`, the factory default of most scanners.
    #[default]
    Cr,
    /// `\n`.
    Lf,
    /// `\r\n`.
    Crlf,
}

impl LineEnding {
    /// The bytes of the terminator.
    pub fn as_bytes(self) -> &'static [u8] {
        match self {
            Self::Cr => b"\r",
            Self::Lf => b"\n",
            Self::Crlf => b"\r\n",
        }
    }
}

/// `text` followed by the line ending, as the scanner sends it.
pub fn qr_line(text: &str, ending: LineEnding) -> Vec<u8> {
    let mut bytes = text.as_bytes().to_vec();
    bytes.extend_from_slice(ending.as_bytes());
    bytes
}

/// The RDM6300 frame for `uid`; with `bad_checksum` the checksum is deliberately wrong.
pub fn rdm6300_frame(uid: &CardUid, bad_checksum: bool) -> Vec<u8> {
    let bytes = uid.as_bytes();
    let mut checksum = bytes.iter().fold(0u8, |acc, b| acc ^ b);
    if bad_checksum {
        checksum ^= 0xFF;
    }
    let mut frame = vec![STX];
    for b in bytes.iter().chain(std::iter::once(&checksum)) {
        frame.extend_from_slice(format!("{b:02X}").as_bytes());
    }
    frame.push(ETX);
    frame
}

/// A small deterministic pseudo-random generator (xorshift64*) for noise; not for secrets.
#[derive(Debug, Clone)]
pub struct Noise {
    state: u64,
}

impl Noise {
    /// A generator started from `seed` (any value, zero included).
    pub fn new(seed: u64) -> Self {
        // One splitmix64 step spreads the seed over all bits; xorshift needs a non-zero state.
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        Self {
            state: (z ^ (z >> 31)).max(1),
        }
    }

    /// The next pseudo-random byte.
    pub fn byte(&mut self) -> u8 {
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        self.state.wrapping_mul(0x2545_F491_4F6C_DD1D).to_be_bytes()[0]
    }

    /// `n` random bytes for the card line, never STX: noise can never start a frame, so it
    /// can never turn into a card read, however unlucky the draw.
    pub fn card_noise(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.byte_except(|b| b == STX)).collect()
    }

    /// `n` random bytes for the QR line, then the line ending: never CR or LF inside, and at
    /// least one byte that is not printable ASCII, so the terminal sees exactly one garbage
    /// line and drops it. `n == 0` gives nothing at all.
    pub fn qr_noise(&mut self, n: usize, ending: LineEnding) -> Vec<u8> {
        if n == 0 {
            return Vec::new();
        }
        let mut bytes: Vec<u8> = (0..n)
            .map(|_| self.byte_except(|b| b == b'\r' || b == b'\n'))
            .collect();
        let junk = usize::from(self.byte()) % n;
        bytes[junk] = 0x80 | self.byte();
        bytes.extend_from_slice(ending.as_bytes());
        bytes
    }

    fn byte_except(&mut self, excluded: impl Fn(u8) -> bool) -> u8 {
        loop {
            let b = self.byte();
            if !excluded(b) {
                return b;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uid(text: &str) -> CardUid {
        text.parse().expect("valid uid")
    }

    #[test]
    fn frame_matches_the_datasheet_example() {
        assert_eq!(
            rdm6300_frame(&uid("62E3086CED"), false),
            b"\x0262E3086CED08\x03"
        );
        assert_eq!(
            rdm6300_frame(&uid("62e3086ced"), true),
            b"\x0262E3086CEDF7\x03"
        );
    }

    #[test]
    fn line_endings() {
        assert_eq!(qr_line("SW1:A", LineEnding::Cr), b"SW1:A\r");
        assert_eq!(qr_line("SW1:A", LineEnding::Lf), b"SW1:A\n");
        assert_eq!(qr_line("SW1:A", LineEnding::Crlf), b"SW1:A\r\n");
    }

    #[test]
    fn card_noise_never_holds_stx() {
        let mut noise = Noise::new(7);
        let bytes = noise.card_noise(100_000);
        assert_eq!(bytes.len(), 100_000);
        assert!(!bytes.contains(&STX));
        // Not degenerate: most byte values show up.
        let distinct = (0..=255u8).filter(|b| bytes.contains(b)).count();
        assert_eq!(distinct, 255);
    }

    #[test]
    fn qr_noise_is_one_garbage_line() {
        let mut noise = Noise::new(0);
        for n in 1..200 {
            let bytes = noise.qr_noise(n, LineEnding::Crlf);
            assert_eq!(bytes.len(), n + 2);
            let (body, end) = bytes.split_at(n);
            assert_eq!(end, b"\r\n");
            assert!(!body.contains(&b'\r') && !body.contains(&b'\n'));
            assert!(body.iter().any(|b| !(0x20..=0x7E).contains(b)));
        }
        assert!(noise.qr_noise(0, LineEnding::Cr).is_empty());
    }

    #[test]
    fn noise_is_deterministic_per_seed() {
        assert_eq!(Noise::new(42).card_noise(64), Noise::new(42).card_noise(64));
        assert_ne!(Noise::new(42).card_noise(64), Noise::new(43).card_noise(64));
    }
}
