//! The simulator's frame encoders (`firmware_sim::frames`) against the decoders the canteen
//! terminal runs (`canteen_terminal::scanner`): whatever the simulator sends, split however the
//! serial line splits it, the terminal reads back exactly — and a bad checksum never.

use canteen_terminal::scanner::{LineDecoder, LineEnding as TerminalEnding, Rdm6300Decoder};
use firmware_sim::frames::{qr_line, rdm6300_frame, LineEnding};
use proptest::prelude::*;
use shared::CardUid;

fn uid(bytes: [u8; 5]) -> CardUid {
    CardUid::from_bytes(bytes)
}

/// Feeds `bytes` in chunks cut at `cuts` (positions taken modulo the length).
fn chunks(bytes: &[u8], cuts: &[usize]) -> Vec<Vec<u8>> {
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
    points.push(0);
    points.push(bytes.len());
    points.sort_unstable();
    points.dedup();
    points
        .windows(2)
        .map(|w| bytes[w[0]..w[1]].to_vec())
        .collect()
}

proptest! {
    #[test]
    fn card_frames_decode_to_the_same_uids(
        cards in proptest::collection::vec(any::<[u8; 5]>(), 1..20),
        cuts in proptest::collection::vec(any::<usize>(), 0..40),
    ) {
        let sent: Vec<CardUid> = cards.into_iter().map(uid).collect();
        let stream: Vec<u8> = sent.iter().flat_map(|u| rdm6300_frame(u, false)).collect();
        let mut decoder = Rdm6300Decoder::new();
        let read: Vec<CardUid> = chunks(&stream, &cuts).iter().flat_map(|c| decoder.push(c)).collect();
        prop_assert_eq!(read, sent);
    }

    #[test]
    fn a_bad_checksum_is_never_read(card in any::<[u8; 5]>(), good in any::<[u8; 5]>()) {
        let mut stream = rdm6300_frame(&uid(card), true);
        stream.extend(rdm6300_frame(&uid(good), false));
        let mut decoder = Rdm6300Decoder::new();
        prop_assert_eq!(decoder.push(&stream), vec![uid(good)]);
    }

    #[test]
    fn qr_lines_decode_to_the_same_texts(
        texts in proptest::collection::vec("SW1:[0-9A-Z $%*+./:-]{1,160}", 1..10),
        ending in prop_oneof![Just(LineEnding::Cr), Just(LineEnding::Lf), Just(LineEnding::Crlf)],
        cuts in proptest::collection::vec(any::<usize>(), 0..40),
    ) {
        let stream: Vec<u8> = texts.iter().flat_map(|t| qr_line(t, ending)).collect();
        let expected = match ending {
            LineEnding::Cr => TerminalEnding::Cr,
            LineEnding::Lf => TerminalEnding::Lf,
            LineEnding::Crlf => TerminalEnding::CrLf,
        };
        let mut decoder = LineDecoder::new(expected, 512);
        let read: Vec<String> = chunks(&stream, &cuts).iter().flat_map(|c| decoder.push(c)).collect();
        prop_assert_eq!(read, texts);
    }
}
