//! Property tests of the two decoders: whatever the chunking, the values sent come out
//! exactly once and in order; noise never panics, never invents a value and never costs the
//! frame that follows it.

use proptest::prelude::*;
use shared::CardUid;

use super::line::{LineDecoder, LineEnding};
use super::rdm6300::{encode_frame, Rdm6300Decoder, STX};

/// Cuts `bytes` at the given points (taken modulo the length) into chunks.
fn split_at_points(bytes: &[u8], mut points: Vec<usize>) -> Vec<&[u8]> {
    if bytes.is_empty() {
        return vec![bytes];
    }
    points.iter_mut().for_each(|p| *p %= bytes.len());
    points.sort_unstable();
    points.dedup();
    let mut chunks = Vec::new();
    let mut start = 0;
    for p in points {
        chunks.push(&bytes[start..p]);
        start = p;
    }
    chunks.push(&bytes[start..]);
    chunks
}

fn any_uid() -> impl Strategy<Value = CardUid> {
    any::<[u8; 5]>().prop_map(CardUid::from_bytes)
}

fn any_ending() -> impl Strategy<Value = LineEnding> {
    prop_oneof![
        Just(LineEnding::Cr),
        Just(LineEnding::Lf),
        Just(LineEnding::CrLf)
    ]
}

/// A non-empty line of printable ASCII, like a pass.
fn any_line() -> impl Strategy<Value = String> {
    "[ -~]{1,80}"
}

fn decode_lines(decoder: &mut LineDecoder, chunks: &[&[u8]]) -> Vec<String> {
    chunks.iter().flat_map(|c| decoder.push(c)).collect()
}

fn decode_cards(decoder: &mut Rdm6300Decoder, chunks: &[&[u8]]) -> Vec<CardUid> {
    chunks.iter().flat_map(|c| decoder.push(c)).collect()
}

proptest! {
    #[test]
    fn lines_survive_any_chunking(
        lines in prop::collection::vec((any_line(), any_ending()), 0..12),
        expected in any_ending(),
        points in prop::collection::vec(any::<usize>(), 0..20),
    ) {
        let mut bytes = Vec::new();
        for (line, ending) in &lines {
            bytes.extend_from_slice(line.as_bytes());
            bytes.extend_from_slice(ending.as_bytes());
        }
        let mut decoder = LineDecoder::new(expected, 512);
        let got = decode_lines(&mut decoder, &split_at_points(&bytes, points));
        let sent: Vec<String> = lines.into_iter().map(|(line, _)| line).collect();
        prop_assert_eq!(decoder.counters().lines_ok, sent.len() as u64);
        prop_assert_eq!(got, sent);
    }

    #[test]
    fn line_noise_never_invents_a_line(
        lines in prop::collection::vec(any_line(), 0..8),
        noise in prop::collection::vec(
            (prop::collection::vec(any::<u8>(), 0..40), 0x80u8..=0xFF), 0..8),
        points in prop::collection::vec(any::<usize>(), 0..20),
    ) {
        // Noise here is a garbage line: random bytes without terminators, at least one of
        // them not printable ASCII, then a terminator. The real lines must all survive.
        let mut bytes = Vec::new();
        for (i, line) in lines.iter().enumerate() {
            if let Some((junk, bad)) = noise.get(i) {
                bytes.extend(junk.iter().copied().filter(|b| *b != b'\r' && *b != b'\n'));
                bytes.push(*bad);
                bytes.push(b'\n');
            }
            bytes.extend_from_slice(line.as_bytes());
            bytes.push(b'\r');
        }
        let mut decoder = LineDecoder::default();
        let got = decode_lines(&mut decoder, &split_at_points(&bytes, points));
        prop_assert_eq!(got, lines);
    }

    #[test]
    fn random_bytes_never_panic_the_line_decoder(
        bytes in prop::collection::vec(any::<u8>(), 0..2000),
        max_len in 1usize..64,
    ) {
        let mut decoder = LineDecoder::new(LineEnding::Cr, max_len);
        for line in decoder.push(&bytes) {
            prop_assert!(!line.is_empty() && line.len() <= max_len);
            prop_assert!(line.bytes().all(|b| (0x20..=0x7E).contains(&b)));
        }
    }

    #[test]
    fn frames_survive_any_chunking(
        uids in prop::collection::vec(any_uid(), 0..12),
        points in prop::collection::vec(any::<usize>(), 0..30),
    ) {
        let bytes: Vec<u8> = uids.iter().flat_map(encode_frame).collect();
        let mut decoder = Rdm6300Decoder::new();
        let got = decode_cards(&mut decoder, &split_at_points(&bytes, points));
        prop_assert_eq!(decoder.counters().frames_ok, uids.len() as u64);
        prop_assert_eq!(got, uids);
    }

    #[test]
    fn noise_between_frames_never_invents_a_card(
        frames in prop::collection::vec(
            (any_uid(), prop::collection::vec(any::<u8>().prop_filter("no STX", |b| *b != STX), 0..40)),
            0..10),
        points in prop::collection::vec(any::<usize>(), 0..30),
    ) {
        let mut bytes = Vec::new();
        for (uid, noise) in &frames {
            bytes.extend_from_slice(noise);
            bytes.extend(encode_frame(uid));
        }
        let mut decoder = Rdm6300Decoder::new();
        let got = decode_cards(&mut decoder, &split_at_points(&bytes, points));
        let sent: Vec<CardUid> = frames.into_iter().map(|(uid, _)| uid).collect();
        prop_assert_eq!(got, sent);
    }

    #[test]
    fn any_noise_before_a_frame_never_costs_the_frame(
        frames in prop::collection::vec(
            (prop::collection::vec(any::<u8>(), 0..60), any_uid()), 0..10),
        points in prop::collection::vec(any::<usize>(), 0..30),
    ) {
        // Noise may hold anything — stray STX and ETX, cut frames, even whole frames. A frame
        // starts with STX, which ends whatever the noise left open, so the output is exactly
        // what each noise decodes to on its own, then the frame after it.
        let mut bytes = Vec::new();
        let mut expected = Vec::new();
        for (noise, uid) in &frames {
            bytes.extend_from_slice(noise);
            bytes.extend(encode_frame(uid));
            expected.extend(Rdm6300Decoder::new().push(noise));
            expected.push(*uid);
        }
        let mut decoder = Rdm6300Decoder::new();
        let got = decode_cards(&mut decoder, &split_at_points(&bytes, points));
        prop_assert_eq!(got, expected);
    }

    #[test]
    fn damaged_frames_are_dropped_and_the_rest_survive(
        frames in prop::collection::vec((any_uid(), any::<bool>(), 1u8..=255), 0..10),
        points in prop::collection::vec(any::<usize>(), 0..30),
    ) {
        // Every frame flagged `true` gets its checksum XORed with a non-zero mask.
        let mut bytes = Vec::new();
        let mut sent = Vec::new();
        for (uid, damage, mask) in &frames {
            let mut frame = encode_frame(uid);
            if *damage {
                let bad = uid.rdm6300_checksum() ^ mask;
                frame[11..13].copy_from_slice(format!("{bad:02X}").as_bytes());
            } else {
                sent.push(*uid);
            }
            bytes.extend(frame);
        }
        let mut decoder = Rdm6300Decoder::new();
        let got = decode_cards(&mut decoder, &split_at_points(&bytes, points));
        let damaged = frames.iter().filter(|(_, damage, _)| *damage).count() as u64;
        prop_assert_eq!(decoder.counters().dropped_bad_checksum, damaged);
        prop_assert_eq!(got, sent);
    }

    #[test]
    fn random_bytes_never_panic_the_frame_decoder(
        bytes in prop::collection::vec(any::<u8>(), 0..4000),
        points in prop::collection::vec(any::<usize>(), 0..30),
    ) {
        let mut decoder = Rdm6300Decoder::new();
        let got = decode_cards(&mut decoder, &split_at_points(&bytes, points));
        let c = decoder.counters();
        prop_assert_eq!(c.frames_ok, got.len() as u64);
        // Every byte is accounted for: skipped, or part of a frame (good or dropped).
        prop_assert!(c.skipped_bytes <= bytes.len() as u64);
    }
}
