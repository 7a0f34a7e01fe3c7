//! Line decoder for the QR scanner.
//!
//! A QR scanner in serial mode sends the decoded text followed by a line terminator (CR by
//! default; LF or CRLF when configured so). The bytes arrive in whatever chunks the serial
//! driver hands over: a line may be split across reads and several lines may arrive glued in
//! one read. [`LineDecoder`] takes arbitrary chunks and hands back complete lines.
//!
//! It is lenient about the terminator — CR, LF and CRLF all end a line and empty lines are
//! ignored — so a scanner configured differently from the terminal still works; the decoder
//! remembers which terminator it actually saw so the reader can warn about the mismatch.
//! A pass is printable ASCII, so a line with any other byte is line noise and is dropped, and
//! a line longer than the limit is dropped too (everything up to the next terminator).
//! Both are counted, never fatal.

use std::fmt;
use std::str::FromStr;

/// Default maximum accepted line length in bytes (terminator not included).
pub const DEFAULT_MAX_LINE: usize = 512;

const CR: u8 = b'\r';
const LF: u8 = b'\n';

/// The line terminator a QR scanner is configured to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LineEnding {
    /// Carriage return, `\r` (the factory default of most scanners).
    #[default]
    Cr,
    /// Line feed, `\n`.
    Lf,
    /// Carriage return then line feed, `\r\n`.
    CrLf,
}

impl LineEnding {
    /// The bytes of this terminator.
    pub fn as_bytes(self) -> &'static [u8] {
        match self {
            Self::Cr => b"\r",
            Self::Lf => b"\n",
            Self::CrLf => b"\r\n",
        }
    }
}

impl fmt::Display for LineEnding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Cr => "cr",
            Self::Lf => "lf",
            Self::CrLf => "crlf",
        })
    }
}

/// A line ending name other than `cr`, `lf` or `crlf`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown line ending {0:?}: expected cr, lf or crlf")]
pub struct UnknownLineEnding(String);

impl FromStr for LineEnding {
    type Err = UnknownLineEnding;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "cr" => Ok(Self::Cr),
            "lf" => Ok(Self::Lf),
            "crlf" => Ok(Self::CrLf),
            _ => Err(UnknownLineEnding(s.to_owned())),
        }
    }
}

/// What the decoder has seen so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LineCounters {
    /// Lines handed out.
    pub lines_ok: u64,
    /// Lines dropped because they were longer than the limit.
    pub dropped_overlong: u64,
    /// Lines dropped because they held a byte that is not printable ASCII.
    pub dropped_garbage: u64,
}

impl LineCounters {
    /// Lines dropped for any reason.
    pub fn dropped(&self) -> u64 {
        self.dropped_overlong + self.dropped_garbage
    }
}

/// What is wrong with the line being read, if anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LineState {
    /// Collecting printable bytes.
    Collecting,
    /// Too long: discarding until the next terminator.
    Overlong,
    /// A junk byte was seen: discarding until the next terminator.
    Garbage,
}

/// Turns a byte stream from a QR scanner into complete lines. See the module docs.
#[derive(Debug, Clone)]
pub struct LineDecoder {
    expected: LineEnding,
    max_len: usize,
    buf: Vec<u8>,
    state: LineState,
    after_cr: bool,
    observed: Option<LineEnding>,
    counters: LineCounters,
}

impl Default for LineDecoder {
    fn default() -> Self {
        Self::new(LineEnding::default(), DEFAULT_MAX_LINE)
    }
}

impl LineDecoder {
    /// A decoder for a scanner configured to send `expected`, accepting lines of at most
    /// `max_len` bytes (at least 1).
    pub fn new(expected: LineEnding, max_len: usize) -> Self {
        Self {
            expected,
            max_len: max_len.max(1),
            buf: Vec::new(),
            state: LineState::Collecting,
            after_cr: false,
            observed: None,
            counters: LineCounters::default(),
        }
    }

    /// The terminator the scanner is configured to send.
    pub fn expected(&self) -> LineEnding {
        self.expected
    }

    /// The terminator last seen on the wire, once known.
    pub fn observed(&self) -> Option<LineEnding> {
        self.observed
    }

    /// Counters since the decoder was made.
    pub fn counters(&self) -> LineCounters {
        self.counters
    }

    /// Feeds a chunk of bytes; returns the lines it completed, in order.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<String> {
        let mut lines = Vec::new();
        for &byte in chunk {
            let after_cr = std::mem::replace(&mut self.after_cr, false);
            match byte {
                CR => {
                    self.after_cr = true;
                    self.observed = Some(LineEnding::Cr);
                    lines.extend(self.end_line());
                }
                LF if after_cr => self.observed = Some(LineEnding::CrLf),
                LF => {
                    self.observed = Some(LineEnding::Lf);
                    lines.extend(self.end_line());
                }
                _ => self.take(byte),
            }
        }
        lines
    }

    /// Forgets a partly read line (the device went away); returns whether there was one.
    pub fn reset(&mut self) -> bool {
        let partial = !self.buf.is_empty() || self.state != LineState::Collecting;
        self.buf.clear();
        self.state = LineState::Collecting;
        self.after_cr = false;
        partial
    }

    /// Adds one byte that is not a terminator to the current line.
    fn take(&mut self, byte: u8) {
        if self.state != LineState::Collecting {
            return;
        }
        if !(0x20..=0x7E).contains(&byte) {
            self.state = LineState::Garbage;
            self.buf.clear();
        } else if self.buf.len() >= self.max_len {
            self.state = LineState::Overlong;
            self.buf.clear();
        } else {
            self.buf.push(byte);
        }
    }

    /// A terminator arrived: the current line is complete, dropped, or empty.
    fn end_line(&mut self) -> Option<String> {
        let state = std::mem::replace(&mut self.state, LineState::Collecting);
        let bytes = std::mem::take(&mut self.buf);
        match state {
            LineState::Overlong => self.counters.dropped_overlong += 1,
            LineState::Garbage => self.counters.dropped_garbage += 1,
            LineState::Collecting if bytes.is_empty() => {}
            LineState::Collecting => {
                // Only printable ASCII got into the buffer, so this cannot fail.
                if let Ok(line) = String::from_utf8(bytes) {
                    self.counters.lines_ok += 1;
                    return Some(line);
                }
                self.counters.dropped_garbage += 1;
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(decoder: &mut LineDecoder, chunks: &[&[u8]]) -> Vec<String> {
        chunks.iter().flat_map(|c| decoder.push(c)).collect()
    }

    #[test]
    fn every_terminator_ends_a_line() {
        let mut d = LineDecoder::default();
        let lines = d.push(b"one\rtwo\nthree\r\nfour\r");
        assert_eq!(lines, ["one", "two", "three", "four"]);
        assert_eq!(d.counters().lines_ok, 4);
    }

    #[test]
    fn empty_lines_are_ignored_and_not_counted() {
        let mut d = LineDecoder::default();
        assert_eq!(d.push(b"\r\n\n\r\r\nA\n\n"), ["A"]);
        assert_eq!(
            d.counters(),
            LineCounters {
                lines_ok: 1,
                ..LineCounters::default()
            }
        );
    }

    #[test]
    fn crlf_split_between_reads_gives_one_line() {
        let mut d = LineDecoder::new(LineEnding::CrLf, 16);
        assert_eq!(d.push(b"SW1:AB\r"), ["SW1:AB"]);
        assert_eq!(d.push(b"\nSW1:CD\r"), ["SW1:CD"]);
        assert_eq!(d.push(b"\n"), Vec::<String>::new());
        assert_eq!(d.observed(), Some(LineEnding::CrLf));
        assert_eq!(d.counters().lines_ok, 2);
    }

    #[test]
    fn observed_terminator_is_reported() {
        let mut d = LineDecoder::new(LineEnding::Cr, 16);
        assert_eq!(d.observed(), None);
        d.push(b"x\n");
        assert_eq!(d.observed(), Some(LineEnding::Lf));
        d.push(b"x\ry");
        assert_eq!(d.observed(), Some(LineEnding::Cr));
    }

    #[test]
    fn split_reads_are_joined() {
        let mut d = LineDecoder::default();
        let lines = decode_all(&mut d, &[b"SW", b"1:", b"ABC", b"\rSW1:", b"D\r"]);
        assert_eq!(lines, ["SW1:ABC", "SW1:D"]);
    }

    #[test]
    fn line_at_the_limit_passes_one_over_is_dropped() {
        let mut d = LineDecoder::new(LineEnding::Cr, 4);
        assert_eq!(d.push(b"abcd\r"), ["abcd"]);
        assert!(d.push(b"abcde\r").is_empty());
        assert_eq!(d.push(b"ok\r"), ["ok"]);
        let c = d.counters();
        assert_eq!(
            (c.lines_ok, c.dropped_overlong, c.dropped_garbage),
            (2, 1, 0)
        );
    }

    #[test]
    fn overlong_line_is_discarded_up_to_the_terminator_across_reads() {
        let mut d = LineDecoder::new(LineEnding::Cr, 8);
        assert!(d.push(&[b'x'; 100]).is_empty());
        assert!(d.push(&[b'y'; 100]).is_empty());
        assert_eq!(d.push(b"zz\rnext\r"), ["next"]);
        assert_eq!(d.counters().dropped_overlong, 1);
    }

    #[test]
    fn default_limit_is_512() {
        let mut d = LineDecoder::default();
        let mut line = vec![b'a'; DEFAULT_MAX_LINE];
        line.push(b'\r');
        assert_eq!(d.push(&line).len(), 1);
        line.insert(0, b'a');
        assert!(d.push(&line).is_empty());
        assert_eq!(d.counters().dropped_overlong, 1);
    }

    #[test]
    fn junk_bytes_drop_the_whole_line() {
        let mut d = LineDecoder::default();
        assert!(d.push(b"SW1:\x00ABC\r").is_empty());
        assert!(d.push(b"\xFF\xFE\r").is_empty());
        assert!(d.push(b"tab\there\r").is_empty());
        assert!("é".bytes().all(|b| b >= 0x80));
        assert!(d.push("café\r".as_bytes()).is_empty());
        assert_eq!(d.push(b"SW1:OK\r"), ["SW1:OK"]);
        let c = d.counters();
        assert_eq!(
            (c.lines_ok, c.dropped_overlong, c.dropped_garbage),
            (1, 0, 4)
        );
    }

    #[test]
    fn reset_forgets_the_partial_line() {
        let mut d = LineDecoder::default();
        assert!(d.push(b"half").is_empty());
        assert!(d.reset());
        assert!(!d.reset());
        assert_eq!(d.push(b"whole\r"), ["whole"]);
    }

    #[test]
    fn line_ending_parses_and_prints() {
        for (text, ending, bytes) in [
            ("cr", LineEnding::Cr, &b"\r"[..]),
            ("LF", LineEnding::Lf, &b"\n"[..]),
            ("CrLf", LineEnding::CrLf, &b"\r\n"[..]),
        ] {
            let parsed: LineEnding = text.parse().expect("known ending");
            assert_eq!(parsed, ending);
            assert_eq!(parsed.as_bytes(), bytes);
            assert_eq!(parsed.to_string(), text.to_ascii_lowercase());
        }
        let err = "nl".parse::<LineEnding>().expect_err("unknown");
        assert_eq!(
            err.to_string(),
            "unknown line ending \"nl\": expected cr, lf or crlf"
        );
    }
}
