//! Tests for IIN/BIN parsing, including property tests of the check digit.

use super::*;
use proptest::prelude::*;

#[test]
fn parses_valid_iins_and_reads_birth_date_and_sex() {
    let girl: Iin = "041206500121".parse().expect("valid IIN");
    assert_eq!(girl.birth_date(), time::macros::date!(2004 - 12 - 06));
    assert_eq!(girl.sex(), Sex::Male);
    let man: Iin = "860303451234".parse().expect("valid IIN");
    assert_eq!(man.birth_date(), time::macros::date!(1986 - 03 - 03));
    assert_eq!(man.sex(), Sex::Female);
    let boy: Iin = "150901600423".parse().expect("valid IIN");
    assert_eq!(boy.sex(), Sex::Female);
    assert_eq!(boy.birth_date().year(), 2015);
}

#[test]
fn second_weight_set_is_used_when_the_first_gives_ten() {
    // First weight set sums to 10 mod 11 for 04120650709; the second gives 1.
    let iin: Iin = "041206507091".parse().expect("valid via second weights");
    assert_eq!(iin.expose(), "041206507091");
    assert_eq!(
        "041206507090".parse::<Iin>().unwrap_err(),
        IdError::CheckDigit
    );
}

#[test]
fn a_number_whose_both_sums_are_ten_is_never_valid() {
    let first11 = [1, 4, 4, 0, 4, 6, 2, 3, 4, 9, 7];
    assert_eq!(check_digit(&first11), None);
    for last in 0..10 {
        let s = format!("14404623497{last}");
        assert_eq!(s.parse::<Bin>().unwrap_err(), IdError::CheckDigit, "{s}");
    }
}

#[test]
fn errors_say_what_is_wrong() {
    assert_eq!(
        "04120650012".parse::<Iin>().unwrap_err(),
        IdError::Length(11)
    );
    assert_eq!(
        "0412065001211".parse::<Iin>().unwrap_err(),
        IdError::Length(13)
    );
    assert_eq!(
        "04120650012a".parse::<Iin>().unwrap_err(),
        IdError::NonDigit(12)
    );
    assert_eq!(
        "04120٦500121".parse::<Iin>().unwrap_err(),
        IdError::NonDigit(6)
    );
    assert_eq!(
        "041306500121".parse::<Iin>().unwrap_err(),
        IdError::BirthDate
    );
    assert_eq!(
        "040230500121".parse::<Iin>().unwrap_err(),
        IdError::BirthDate
    );
    assert_eq!(
        "041206700121".parse::<Iin>().unwrap_err(),
        IdError::CenturySex(7)
    );
    assert_eq!(
        "041206500122".parse::<Iin>().unwrap_err(),
        IdError::CheckDigit
    );
    assert_eq!("".parse::<Bin>().unwrap_err(), IdError::Length(0));
    // The messages are for people: they name the problem.
    assert!(IdError::CheckDigit.to_string().contains("check digit"));
    assert!(IdError::Length(3).to_string().contains("12 digits"));
}

#[test]
fn iin_is_masked_in_display_and_debug() {
    let iin: Iin = "041206500121".parse().expect("valid");
    assert_eq!(iin.to_string(), "0412******21");
    assert_eq!(format!("{iin:?}"), "Iin(0412******21)");
    assert!(!format!("{iin} {iin:?}").contains("041206500121"));
}

#[test]
fn serde_uses_full_strings_and_rejects_invalid() {
    let iin: Iin = "041206500121".parse().expect("valid");
    assert_eq!(
        serde_json::to_string(&iin).expect("ser"),
        "\"041206500121\""
    );
    let back: Iin = serde_json::from_str("\"041206500121\"").expect("de");
    assert_eq!(back, iin);
    let err = serde_json::from_str::<Iin>("\"041206500122\"").unwrap_err();
    assert!(err.to_string().contains("check digit"), "{err}");
    let bin: Bin = serde_json::from_str("\"041206500121\"").expect("BIN");
    assert_eq!(
        serde_json::to_string(&bin).expect("ser"),
        "\"041206500121\""
    );
}

#[test]
fn bin_u64_round_trip() {
    let bin: Bin = "990340001230".parse().expect("valid BIN");
    assert_eq!(Bin::from_u64(bin.to_u64()).expect("round trip"), bin);
    assert!(Bin::from_u64(1_000_000_000_000).is_err());
}

/// Reference implementation straight from the written rule, independent of the code.
fn reference_valid(d: &[u8; 12]) -> bool {
    let sum = |w: &[u32]| -> u32 {
        d[..11]
            .iter()
            .zip(w)
            .map(|(&x, &w)| u32::from(x) * w)
            .sum::<u32>()
            % 11
    };
    let mut r = sum(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    if r == 10 {
        r = sum(&[3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2]);
    }
    r != 10 && r == u32::from(d[11])
}

fn first_sum(d: &[u8; 12]) -> u32 {
    d[..11]
        .iter()
        .zip(1u32..)
        .map(|(&x, w)| u32::from(x) * w)
        .sum::<u32>()
        % 11
}

fn any_date() -> impl Strategy<Value = time::Date> {
    (1900i32..2099, 1u8..=12, 1u8..=28).prop_map(|(y, m, d)| {
        let month = time::Month::try_from(m).expect("1..=12");
        time::Date::from_calendar_date(y, month, d).expect("day <= 28 exists")
    })
}

fn any_iin() -> impl Strategy<Value = Iin> {
    (any_date(), any::<bool>(), 0u16..10_000).prop_filter_map("not issuable", |(d, f, s)| {
        Iin::generate(d, if f { Sex::Female } else { Sex::Male }, s)
    })
}

proptest! {
    #[test]
    fn every_generated_iin_round_trips(iin in any_iin()) {
        let text = iin.expose();
        let parsed: Iin = text.parse().expect("generated IIN parses");
        prop_assert_eq!(parsed, iin);
        prop_assert_eq!(parsed.expose(), text);
        let json = serde_json::to_string(&iin).expect("ser");
        prop_assert_eq!(serde_json::from_str::<Iin>(&json).expect("de"), iin);
    }

    #[test]
    fn every_generated_bin_round_trips(first11 in proptest::array::uniform11(0u8..10)) {
        if let Some(bin) = Bin::generate(&first11) {
            prop_assert_eq!(bin.as_string().parse::<Bin>().expect("parses"), bin);
            prop_assert_eq!(Bin::from_u64(bin.to_u64()).expect("u64"), bin);
        }
    }

    /// A single changed digit is rejected, except in the blind spots of the official
    /// algorithm itself: digit 11 carries weight 11 ≡ 0 in the first weight set, and when the
    /// first sum of the original or of the changed number is 10, the second weight set judges
    /// one of them and may agree by chance. The codes must agree
    /// with the written rule everywhere, and the first weight set must catch every change it
    /// is in charge of.
    #[test]
    fn single_digit_changes_are_rejected_outside_the_algorithms_blind_spots(
        first11 in proptest::array::uniform11(0u8..10),
        pos in 0usize..12,
        delta in 1u8..10,
    ) {
        let Some(bin) = Bin::generate(&first11) else { return Ok(()) };
        let mut changed = bin.0;
        changed[pos] = (changed[pos] + delta) % 10;
        let text = to_string(&changed);
        let accepted = text.parse::<Bin>().is_ok();
        prop_assert_eq!(accepted, reference_valid(&changed));
        let blind_spot = pos == 10 || first_sum(&bin.0) == 10 || first_sum(&changed) == 10;
        if !blind_spot {
            prop_assert!(!accepted, "{} accepted after changing digit {}", text, pos + 1);
        }
        if pos == 11 {
            prop_assert!(!accepted, "a changed check digit must always be rejected");
        }
    }

    #[test]
    fn arbitrary_strings_never_panic(s in "\\PC{0,20}") {
        let _ = s.parse::<Iin>();
        let _ = s.parse::<Bin>();
    }
}
