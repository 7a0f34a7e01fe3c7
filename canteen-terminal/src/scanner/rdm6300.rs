//! Frame decoder for the RDM6300 125 kHz card reader.
//!
//! The reader sends one frame per card read: `0x02` (STX), 10 ASCII hex digits of the card
//! id, 2 ASCII hex digits of checksum (XOR of the 5 id bytes), `0x03` (ETX). Serial lines
//! pick up noise, and reads split and glue frames arbitrarily, so [`Rdm6300Decoder`] is a
//! small state machine fed with arbitrary chunks: bytes outside a frame are skipped, a frame
//! that is malformed in any way is dropped, and every drop is counted. An STX inside a frame
//! means the previous frame was cut short: it is dropped and a new frame starts at that STX,
//! so one lost byte never costs the following good frame.
//!
//! The module also emits every frame it decodes, even though a real reader repeats the same
//! frame for as long as a card is held; folding those repeats is [`Debounce`]'s job.

use std::time::{Duration, Instant};

use shared::CardUid;

/// Start of a frame.
pub const STX: u8 = 0x02;
/// End of a frame.
pub const ETX: u8 = 0x03;
/// Bytes between STX and ETX: 10 id digits and 2 checksum digits.
const BODY_LEN: usize = 12;

/// What the decoder has seen so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FrameCounters {
    /// Frames decoded and handed out.
    pub frames_ok: u64,
    /// Bytes seen outside any frame and skipped.
    pub skipped_bytes: u64,
    /// Frames dropped because the checksum did not match.
    pub dropped_bad_checksum: u64,
    /// Frames dropped because a digit was not ASCII hex.
    pub dropped_bad_digit: u64,
    /// Frames dropped because they were too short or too long.
    pub dropped_bad_length: u64,
}

impl FrameCounters {
    /// Frames dropped for any reason (skipped bytes outside frames not included).
    pub fn dropped(&self) -> u64 {
        self.dropped_bad_checksum + self.dropped_bad_digit + self.dropped_bad_length
    }
}

/// Turns a byte stream from an RDM6300 reader into card ids. See the module docs.
#[derive(Debug, Clone, Default)]
pub struct Rdm6300Decoder {
    /// The frame body read so far, `None` while outside a frame.
    body: Option<Vec<u8>>,
    counters: FrameCounters,
}

/// Why a complete STX…ETX frame was not a card id.
enum BadFrame {
    Length,
    Digit,
    Checksum,
}

impl Rdm6300Decoder {
    /// A decoder waiting for the first STX.
    pub fn new() -> Self {
        Self::default()
    }

    /// Counters since the decoder was made.
    pub fn counters(&self) -> FrameCounters {
        self.counters
    }

    /// Feeds a chunk of bytes; returns the card ids of the frames it completed, in order.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<CardUid> {
        let mut cards = Vec::new();
        for &byte in chunk {
            cards.extend(self.step(byte));
        }
        cards
    }

    /// Forgets a partly read frame (the device went away); returns whether there was one.
    pub fn reset(&mut self) -> bool {
        self.body.take().is_some()
    }

    fn step(&mut self, byte: u8) -> Option<CardUid> {
        let Some(mut body) = self.body.take() else {
            if byte == STX {
                self.body = Some(Vec::with_capacity(BODY_LEN));
            } else {
                self.counters.skipped_bytes += 1;
            }
            return None;
        };
        match byte {
            STX => {
                // The frame in progress was cut short; the new one starts here.
                self.counters.dropped_bad_length += 1;
                body.clear();
                self.body = Some(body);
                None
            }
            ETX => self.finish(&body),
            _ if body.len() < BODY_LEN => {
                body.push(byte);
                self.body = Some(body);
                None
            }
            _ => {
                // No ETX where it belongs: drop the frame and resynchronize on the next STX.
                self.counters.dropped_bad_length += 1;
                None
            }
        }
    }

    fn finish(&mut self, body: &[u8]) -> Option<CardUid> {
        match parse_body(body) {
            Ok(uid) => {
                self.counters.frames_ok += 1;
                Some(uid)
            }
            Err(BadFrame::Length) => {
                self.counters.dropped_bad_length += 1;
                None
            }
            Err(BadFrame::Digit) => {
                self.counters.dropped_bad_digit += 1;
                None
            }
            Err(BadFrame::Checksum) => {
                self.counters.dropped_bad_checksum += 1;
                None
            }
        }
    }
}

/// Value of one ASCII hex digit, either case.
fn hex_digit(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        _ => None,
    }
}

/// The 12 bytes between STX and ETX → the card id, if the frame is good.
fn parse_body(body: &[u8]) -> Result<CardUid, BadFrame> {
    if body.len() != BODY_LEN {
        return Err(BadFrame::Length);
    }
    let mut bytes = [0u8; BODY_LEN / 2];
    for (i, pair) in body.chunks_exact(2).enumerate() {
        let (Some(hi), Some(lo)) = (hex_digit(pair[0]), hex_digit(pair[1])) else {
            return Err(BadFrame::Digit);
        };
        bytes[i] = hi << 4 | lo;
    }
    let [a, b, c, d, e, checksum] = bytes;
    let uid = CardUid::from_bytes([a, b, c, d, e]);
    if uid.rdm6300_checksum() == checksum {
        Ok(uid)
    } else {
        Err(BadFrame::Checksum)
    }
}

/// The frame an RDM6300 reader sends for `uid`.
pub fn encode_frame(uid: &CardUid) -> Vec<u8> {
    let mut frame = Vec::with_capacity(BODY_LEN + 2);
    frame.push(STX);
    frame.extend_from_slice(format!("{uid}{:02X}", uid.rdm6300_checksum()).as_bytes());
    frame.push(ETX);
    frame
}

/// Folds the repeats of a held card into one read.
///
/// An RDM6300 sends the frame again and again while a card stays on the reader. A card read
/// is let through unless it is the same card as the previous read and that read was less
/// than `window` ago; every read, let through or not, restarts the window, so a card held
/// for a minute is one read, and taking it away and presenting it again after `window` is a
/// second read. Time is passed in, so this is pure and needs no sleeping to test.
#[derive(Debug, Clone)]
pub struct Debounce {
    window: Duration,
    last: Option<(CardUid, Instant)>,
}

impl Debounce {
    /// A debounce that folds repeats less than `window` apart.
    pub fn new(window: Duration) -> Self {
        Self { window, last: None }
    }

    /// Whether the read of `uid` at `now` is a new read (true) or a repeat (false).
    pub fn admit(&mut self, uid: CardUid, now: Instant) -> bool {
        let repeat = matches!(self.last, Some((last, at))
            if last == uid && now.saturating_duration_since(at) < self.window);
        self.last = Some((uid, now));
        !repeat
    }

    /// Forgets the last read, so the next one is always let through.
    pub fn reset(&mut self) {
        self.last = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uid(text: &str) -> CardUid {
        text.parse().expect("valid test uid")
    }

    #[test]
    fn decodes_the_datasheet_example() {
        let mut d = Rdm6300Decoder::new();
        let cards = d.push(b"\x0262E3086CED08\x03");
        assert_eq!(cards, [uid("62E3086CED")]);
        assert_eq!(d.counters().frames_ok, 1);
    }

    #[test]
    fn encode_matches_the_datasheet_example() {
        assert_eq!(encode_frame(&uid("62E3086CED")), b"\x0262E3086CED08\x03");
    }

    #[test]
    fn accepts_lower_case_digits() {
        let mut d = Rdm6300Decoder::new();
        assert_eq!(d.push(b"\x0262e3086ced08\x03"), [uid("62E3086CED")]);
    }

    #[test]
    fn frame_split_byte_by_byte() {
        let mut d = Rdm6300Decoder::new();
        let frame = encode_frame(&uid("0102ABCDEF"));
        let mut cards = Vec::new();
        for byte in &frame {
            cards.extend(d.push(std::slice::from_ref(byte)));
        }
        assert_eq!(cards, [uid("0102ABCDEF")]);
    }

    #[test]
    fn glued_frames_all_come_out_in_order() {
        let mut d = Rdm6300Decoder::new();
        let mut bytes = encode_frame(&uid("0000000001"));
        bytes.extend(encode_frame(&uid("0000000002")));
        bytes.extend(encode_frame(&uid("0000000001")));
        let cards = d.push(&bytes);
        assert_eq!(
            cards,
            [uid("0000000001"), uid("0000000002"), uid("0000000001")]
        );
    }

    #[test]
    fn bad_checksum_is_dropped_and_counted() {
        let mut d = Rdm6300Decoder::new();
        assert!(d.push(b"\x0262E3086CED09\x03").is_empty());
        assert_eq!(d.counters().dropped_bad_checksum, 1);
        assert_eq!(d.push(&encode_frame(&uid("62E3086CED"))).len(), 1);
    }

    #[test]
    fn non_hex_digit_is_dropped_and_counted() {
        let mut d = Rdm6300Decoder::new();
        assert!(d.push(b"\x0262E3086CEG08\x03").is_empty());
        assert!(d.push(b"\x02 2E3086CED08\x03").is_empty());
        assert_eq!(d.counters().dropped_bad_digit, 2);
    }

    #[test]
    fn short_and_long_frames_are_dropped_and_counted() {
        let mut d = Rdm6300Decoder::new();
        assert!(d.push(b"\x0262E3086CED\x03").is_empty());
        assert!(d.push(b"\x0262E3086CED0800\x03").is_empty());
        assert!(d.push(b"\x02\x03").is_empty());
        let c = d.counters();
        assert_eq!(c.dropped_bad_length, 3);
        // After the over-long frame was abandoned, its tail ("0\x03") is noise outside a frame.
        assert_eq!(c.skipped_bytes, 2);
        assert_eq!(d.push(&encode_frame(&uid("62E3086CED"))).len(), 1);
    }

    #[test]
    fn stx_inside_a_frame_restarts_the_frame() {
        let mut d = Rdm6300Decoder::new();
        let mut bytes = b"\x0262E30".to_vec();
        bytes.extend(encode_frame(&uid("0102ABCDEF")));
        assert_eq!(d.push(&bytes), [uid("0102ABCDEF")]);
        assert_eq!(d.counters().dropped_bad_length, 1);
    }

    #[test]
    fn noise_between_frames_is_skipped_and_counted() {
        let mut d = Rdm6300Decoder::new();
        let mut bytes = b"hello\x03\xFF".to_vec();
        bytes.extend(encode_frame(&uid("0102ABCDEF")));
        bytes.extend(b"\x00\x00");
        assert_eq!(d.push(&bytes), [uid("0102ABCDEF")]);
        assert_eq!(d.counters().skipped_bytes, 9);
    }

    #[test]
    fn reset_forgets_the_partial_frame() {
        let mut d = Rdm6300Decoder::new();
        assert!(d.push(b"\x020102AB").is_empty());
        assert!(d.reset());
        assert!(!d.reset());
        assert!(d.push(b"CDEF8A\x03").is_empty());
        assert_eq!(d.counters().frames_ok, 0);
    }

    #[test]
    fn debounce_folds_a_held_card() {
        let start = Instant::now();
        let at = |ms| start + Duration::from_millis(ms);
        let mut debounce = Debounce::new(Duration::from_millis(500));
        let card = uid("0102ABCDEF");
        assert!(debounce.admit(card, at(0)));
        // The reader repeats every ~100 ms while the card is held: all folded, even past 500 ms.
        for ms in (100..=2000).step_by(100) {
            assert!(!debounce.admit(card, at(ms)), "repeat at {ms} ms");
        }
        // Card taken away, presented again after the window: a new read.
        assert!(debounce.admit(card, at(2500)));
    }

    #[test]
    fn debounce_lets_another_card_through_at_once() {
        let start = Instant::now();
        let mut debounce = Debounce::new(Duration::from_millis(500));
        let (a, b) = (uid("0000000001"), uid("0000000002"));
        assert!(debounce.admit(a, start));
        assert!(debounce.admit(b, start + Duration::from_millis(1)));
        assert!(debounce.admit(a, start + Duration::from_millis(2)));
    }

    #[test]
    fn debounce_reset_and_clock_going_backwards() {
        let start = Instant::now() + Duration::from_secs(10);
        let mut debounce = Debounce::new(Duration::from_millis(500));
        let card = uid("0102ABCDEF");
        assert!(debounce.admit(card, start));
        assert!(!debounce.admit(card, start - Duration::from_secs(1)));
        debounce.reset();
        assert!(debounce.admit(card, start));
    }
}
