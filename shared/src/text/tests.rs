//! The text rule on the edges that matter: every control character, lengths in characters,
//! trimming, blank, serde, and any text at all (property).

use proptest::prelude::*;

use super::*;

#[test]
fn names_are_trimmed_and_keep_any_script() {
    let name: PersonName = "  Әлия Қасымқызы  ".parse().expect("name");
    assert_eq!(name, "Әлия Қасымқызы");
    for ok in ["שרה כהן", "Zoë\u{301}", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 😀", "=HYPERLINK(\"x\")"]
    {
        assert_eq!(ok.parse::<PersonName>().expect(ok).as_str(), ok);
    }
}

#[test]
fn every_control_character_is_refused_with_its_position() {
    let controls = [
        '\0', '\r', '\n', '\t', '\x1b', '\x07', '\x7f', '\u{85}', '\u{9f}',
    ];
    for c in controls {
        let err = format!("Ан{c}на").parse::<ClassLabel>().unwrap_err();
        assert_eq!(
            err,
            TextError::Control {
                what: "a class label",
                code: u32::from(c),
                position: 2
            }
        );
    }
    // Free text keeps LF only.
    assert!("суп\nхолодный".parse::<FreeText>().is_ok());
    for c in ['\r', '\0', '\x1b', '\x07', '\t'] {
        assert!(format!("суп{c}").parse::<FreeText>().is_err(), "{c:?}");
    }
}

#[test]
fn length_is_counted_in_characters_as_sent() {
    assert!("я".repeat(200).parse::<PersonName>().is_ok());
    let err = "я".repeat(201).parse::<PersonName>().unwrap_err();
    assert_eq!(
        err.to_string(),
        "a full name has at most 200 characters, this one has 201"
    );
    assert!(format!(" {} ", "a".repeat(199))
        .parse::<PersonName>()
        .is_err());
}

#[test]
fn blank_is_refused_unless_maybe_blank() {
    assert_eq!(
        "  ".parse::<SlotName>().unwrap_err(),
        TextError::Blank {
            what: "a slot name"
        }
    );
    let blank = MaybeBlank::<PersonName>::parse("   ".into()).expect("blank");
    assert_eq!(blank.value(), None);
    assert!(MaybeBlank::<PersonName>::parse("a\u{0}".into()).is_err());
    let some = MaybeBlank::<PersonName>::parse(" Ян ".into()).expect("name");
    assert_eq!(some.value().map(PersonName::as_str), Some("Ян"));
}

#[test]
fn serde_reads_through_the_rule_and_writes_the_text() {
    let name: PersonName = serde_json::from_str(r#"" Ян ""#).expect("name");
    assert_eq!(serde_json::to_string(&name).expect("json"), r#""Ян""#);
    let err = serde_json::from_str::<PersonName>(r#""a\u0007""#).unwrap_err();
    assert!(err.to_string().contains("U+0007"), "{err}");
    let blank: MaybeBlank<ClassLabel> = serde_json::from_str(r#"" ""#).expect("blank");
    assert_eq!(serde_json::to_string(&blank).expect("json"), r#""""#);
}

#[test]
fn pass_nonces_are_sixteen_lower_case_hex_digits() {
    let nonce: PassNonce = "ab010203040506ff".parse().expect("nonce");
    assert_eq!(nonce.as_bytes(), [0xab, 1, 2, 3, 4, 5, 6, 0xff]);
    assert_eq!(nonce.to_string(), "ab010203040506ff");
    for bad in [
        "AB010203040506FF",
        "ab0102030405060",
        "ab010203040506ffa",
        "zz010203040506ff",
        "é1010203040506f",
    ] {
        assert!(bad.parse::<PassNonce>().is_err(), "{bad}");
    }
    let json = serde_json::to_string(&nonce).expect("json");
    assert_eq!(
        serde_json::from_str::<PassNonce>(&json).expect("back"),
        nonce
    );
}

#[test]
fn patterns_say_the_rule() {
    assert_eq!(
        PersonName::RULE.pattern(true),
        r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    );
    assert_eq!(
        FreeText::RULE.pattern(false),
        r"^[^\x00-\x09\x0b-\x1f\x7f-\x9f]*$"
    );
}

proptest! {
    /// Whatever comes in, what is accepted is trimmed, bounded, control-free and parses
    /// again to itself; what is refused has a reason that fits the input.
    #[test]
    fn any_text_is_clean_or_refused(raw in any::<String>(), pad in "[ \u{3000}]{0,2}") {
        let raw = format!("{pad}{raw}{pad}");
        match raw.parse::<Label>() {
            Ok(label) => {
                prop_assert!(label.chars().count() <= Label::MAX_CHARS);
                prop_assert!(!label.chars().any(char::is_control));
                prop_assert_eq!(label.as_str(), raw.trim());
                prop_assert_eq!(label.as_str().parse::<Label>().ok(), Some(label.clone()));
            }
            Err(TextError::Blank { .. }) => prop_assert!(raw.trim().is_empty()),
            Err(TextError::Control { .. }) => prop_assert!(raw.chars().any(char::is_control)),
            Err(TextError::TooLong { found, .. }) => prop_assert!(found > Label::MAX_CHARS),
            Err(e) => prop_assert!(false, "unexpected {e}"),
        }
    }
}
