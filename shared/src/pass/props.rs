//! Property tests of the pass text, the one thing a QR scanner hands the terminal: whatever
//! text arrives, verification never panics and never accepts what was not minted by a
//! trusted key; any one-character change, insertion or deletion of a real pass is refused;
//! and any claims survive minting and verification unchanged.

use std::sync::OnceLock;

use proptest::prelude::*;
use time::macros::datetime;

use super::*;

/// One signer for all cases (key generation is the slow part) and the key set trusting it.
fn trusted() -> &'static (PassSigner, KeySet) {
    static TRUSTED: OnceLock<(PassSigner, KeySet)> = OnceLock::new();
    TRUSTED.get_or_init(|| {
        let (signer, _) = PassSigner::generate().expect("key generation");
        let mut keys = KeySet::new();
        keys.insert(signer.public_key());
        (signer, keys)
    })
}

const NOON: OffsetDateTime = datetime!(2026-09-01 07:00 UTC);

/// The characters base45 uses, plus a few it does not.
const CHARS: &str = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:abz~\u{0}\u{44f}";

fn any_bin() -> impl Strategy<Value = Bin> {
    any::<[u8; 11]>().prop_filter_map("an issuable BIN", |d| {
        let digits = d.map(|x| x % 10);
        Bin::generate(&digits)
    })
}

fn any_claims() -> impl Strategy<Value = PassClaims> {
    (
        any::<u128>(),
        any_bin(),
        0u32..(u32::MAX - 200_000),
        1u32..=172_800,
        any::<[u8; 8]>(),
    )
        .prop_map(|(id, school, from, len, nonce)| PassClaims {
            voucher_id: VoucherId::from_uuid(Uuid::from_u128(id)),
            school,
            valid_from: OffsetDateTime::from_unix_timestamp(i64::from(from)).expect("u32"),
            valid_until: OffsetDateTime::from_unix_timestamp(i64::from(from) + i64::from(len))
                .expect("u32"),
            nonce,
        })
}

/// A minted pass for the default claims of a case.
fn minted(claims: &PassClaims) -> String {
    trusted().0.mint(claims).expect("mint")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_text_is_refused_without_panicking(text in any::<String>()) {
        prop_assert!(verify(&text, &trusted().1, NOON).is_err());
    }

    #[test]
    fn any_pass_shaped_text_is_refused(body in "[0-9A-Z $%*+./:-]{0,220}") {
        let text = format!("{PREFIX}{body}");
        prop_assert!(verify(&text, &trusted().1, NOON).is_err());
    }

    #[test]
    fn any_well_encoded_blob_of_the_right_length_is_refused(
        blob in proptest::collection::vec(any::<u8>(), PAYLOAD_LEN + SIGNATURE_LEN),
        keep_header in any::<bool>(),
    ) {
        let mut blob = blob;
        if keep_header {
            // A well-formed header naming the trusted key: only the signature can refuse it.
            blob[0] = VERSION;
            blob[1..5].copy_from_slice(&trusted().0.kid().0);
        }
        let text = format!("{PREFIX}{}", base45::encode(&blob));
        let result = verify(&text, &trusted().1, NOON);
        prop_assert!(result.is_err(), "{result:?}");
        if keep_header {
            prop_assert_eq!(result.unwrap_err(), PassError::BadSignature);
        }
    }

    #[test]
    fn claims_round_trip(claims in any_claims()) {
        let text = minted(&claims);
        prop_assert_eq!(text.len(), 163);
        let pass = verify(&text, &trusted().1, claims.valid_from).expect("verifies");
        prop_assert_eq!(pass.claims, claims);
        prop_assert_eq!(pass.kid, trusted().0.kid());
    }

    #[test]
    fn any_one_character_change_is_refused(
        claims in any_claims(),
        at in any::<prop::sample::Index>(),
        pick in any::<prop::sample::Index>(),
        how in 0u8..3,
    ) {
        let text = minted(&claims);
        let mut chars: Vec<char> = text.chars().collect();
        let i = at.index(chars.len());
        let c = CHARS.chars().nth(pick.index(CHARS.chars().count())).expect("a char");
        match how {
            0 => {
                prop_assume!(chars[i] != c);
                chars[i] = c;
            }
            1 => chars.insert(i, c),
            _ => {
                chars.remove(i);
            }
        }
        let changed: String = chars.into_iter().collect();
        prop_assert!(verify(&changed, &trusted().1, claims.valid_from).is_err(), "{changed}");
    }
}
