//! Tests of the pass format: round trip, tamper resistance, keys, time, QR fit.

use super::*;
use time::macros::datetime;

fn school() -> Bin {
    "990340001230".parse().expect("valid BIN")
}

fn claims() -> PassClaims {
    PassClaims {
        voucher_id: VoucherId::from_uuid(Uuid::from_u128(
            0x0190_0000_0000_7000_8000_0000_0000_0001,
        )),
        school: school(),
        valid_from: datetime!(2026-09-01 02:00 UTC),
        valid_until: datetime!(2026-09-01 19:00 UTC),
        nonce: [1, 2, 3, 4, 5, 6, 7, 8],
    }
}

fn signer_and_keys() -> (PassSigner, KeySet) {
    let (signer, _) = PassSigner::generate().expect("key generation");
    let mut keys = KeySet::new();
    keys.insert(signer.public_key());
    (signer, keys)
}

const NOON: OffsetDateTime = datetime!(2026-09-01 07:00 UTC);

#[test]
fn round_trip() {
    let (signer, keys) = signer_and_keys();
    let text = signer.mint(&claims()).expect("mint");
    assert!(text.starts_with("SW1:"));
    let pass = verify(&text, &keys, NOON).expect("verifies");
    assert_eq!(pass.claims, claims());
    assert_eq!(pass.kid, signer.kid());
}

#[test]
fn signer_survives_pkcs8_round_trip() {
    let (signer, pkcs8) = PassSigner::generate().expect("key generation");
    let again = PassSigner::from_pkcs8(&pkcs8).expect("reload");
    assert_eq!(again.kid(), signer.kid());
    assert_eq!(again.public_key(), signer.public_key());
    assert_eq!(
        PassSigner::from_pkcs8(b"not a key").unwrap_err(),
        KeyError::BadPrivateKey
    );
}

fn blob_of(text: &str) -> Vec<u8> {
    base45::decode(text.strip_prefix(PREFIX).expect("prefix")).expect("base45")
}

fn text_of(blob: &[u8]) -> String {
    format!("{PREFIX}{}", base45::encode(blob))
}

#[test]
fn every_single_byte_change_is_rejected() {
    let (signer, keys) = signer_and_keys();
    let blob = blob_of(&signer.mint(&claims()).expect("mint"));
    assert_eq!(blob.len(), PAYLOAD_LEN + SIGNATURE_LEN);
    for i in 0..blob.len() {
        for flip in [0x01u8, 0x80, 0xff] {
            let mut tampered = blob.clone();
            tampered[i] ^= flip;
            let result = verify(&text_of(&tampered), &keys, NOON);
            assert!(result.is_err(), "byte {i} ^ {flip:#x} was accepted");
            let expected_kind = match i {
                0 => matches!(result, Err(PassError::UnsupportedVersion(_))),
                1..=4 => matches!(result, Err(PassError::UnknownKey(_))),
                _ => matches!(result, Err(PassError::BadSignature)),
            };
            assert!(expected_kind, "byte {i}: unexpected {result:?}");
        }
    }
}

#[test]
fn pass_signed_by_an_unknown_key_is_rejected() {
    let (_, keys) = signer_and_keys();
    let (stranger, _) = signer_and_keys();
    let text = stranger.mint(&claims()).expect("mint");
    assert_eq!(
        verify(&text, &keys, NOON).unwrap_err(),
        PassError::UnknownKey(stranger.kid())
    );
}

#[test]
fn a_forged_pass_reusing_a_known_kid_fails_the_signature() {
    let (signer, keys) = signer_and_keys();
    let (forger, _) = signer_and_keys();
    // The forger writes the real kid into a payload and signs it with their own key.
    let payload = encode_payload(signer.kid(), &claims()).expect("payload");
    let sig = forger.key_pair.sign(&signed_message(&payload));
    let mut blob = payload.to_vec();
    blob.extend_from_slice(sig.as_ref());
    assert_eq!(
        verify(&text_of(&blob), &keys, NOON).unwrap_err(),
        PassError::BadSignature
    );
}

#[test]
fn malformed_texts_get_their_own_errors() {
    let (signer, keys) = signer_and_keys();
    let good = signer.mint(&claims()).expect("mint");
    assert_eq!(verify("", &keys, NOON).unwrap_err(), PassError::BadPrefix);
    assert_eq!(
        verify(&good.replacen("SW1:", "SW2:", 1), &keys, NOON).unwrap_err(),
        PassError::BadPrefix
    );
    assert_eq!(
        verify(&good.to_lowercase(), &keys, NOON).unwrap_err(),
        PassError::BadPrefix
    );
    assert_eq!(
        verify("SW1:~~~", &keys, NOON).unwrap_err(),
        PassError::BadEncoding
    );
    assert_eq!(
        verify("SW1:ZZZ", &keys, NOON).unwrap_err(),
        PassError::BadEncoding
    );
    let short = &good[..good.len() - 3];
    assert_eq!(
        verify(short, &keys, NOON).unwrap_err(),
        PassError::BadLength(PAYLOAD_LEN + SIGNATURE_LEN - 2)
    );
    let mut long = blob_of(&good);
    long.push(0);
    assert_eq!(
        verify(&text_of(&long), &keys, NOON).unwrap_err(),
        PassError::BadLength(107)
    );
}

#[test]
fn validity_window_is_enforced_with_optional_leeway() {
    let (signer, keys) = signer_and_keys();
    let c = claims();
    let text = signer.mint(&c).expect("mint");
    let just_before = c.valid_from - Duration::seconds(1);
    assert_eq!(
        verify(&text, &keys, just_before).unwrap_err(),
        PassError::NotYetValid(c.valid_from)
    );
    assert!(verify(&text, &keys, c.valid_from).is_ok());
    assert!(verify(&text, &keys, c.valid_until - Duration::seconds(1)).is_ok());
    assert_eq!(
        verify(&text, &keys, c.valid_until).unwrap_err(),
        PassError::Expired(c.valid_until)
    );
    let two_min = Duration::minutes(2);
    assert!(verify_with_leeway(&text, &keys, just_before, two_min).is_ok());
    assert!(
        verify_with_leeway(&text, &keys, c.valid_until + Duration::seconds(90), two_min).is_ok()
    );
    assert!(
        verify_with_leeway(&text, &keys, c.valid_until + Duration::minutes(3), two_min).is_err()
    );
}

#[test]
fn minting_refuses_empty_or_unrepresentable_windows() {
    let (signer, _) = signer_and_keys();
    let mut c = claims();
    c.valid_until = c.valid_from;
    assert_eq!(signer.mint(&c).unwrap_err(), KeyError::BadWindow);
    let mut c = claims();
    c.valid_until = datetime!(2107-01-01 00:00 UTC);
    assert_eq!(signer.mint(&c).unwrap_err(), KeyError::BadWindow);
}

#[test]
fn nonces_differ() {
    let (signer, _) = signer_and_keys();
    assert_ne!(
        signer.nonce().expect("nonce"),
        signer.nonce().expect("nonce")
    );
}

#[test]
fn published_keys_round_trip_and_kid_must_match_the_key() {
    let (signer, keys) = signer_and_keys();
    let published = keys.published();
    assert_eq!(published.len(), 1);
    assert_eq!(published[0].kid, signer.kid().to_string());
    let mut received = KeySet::new();
    received.insert_published(&published[0]).expect("valid key");
    let text = signer.mint(&claims()).expect("mint");
    assert!(verify(&text, &received, NOON).is_ok());

    let mut lying = published[0].clone();
    lying.kid = "00000000".into();
    assert_eq!(
        KeySet::new().insert_published(&lying).unwrap_err(),
        KeyError::BadKeyId
    );
    let mut broken = published[0].clone();
    broken.public_key.pop();
    assert_eq!(
        KeySet::new().insert_published(&broken).unwrap_err(),
        KeyError::BadPublicKey
    );
}

/// Every pass has the same size; the largest values still fit QR version 10 at level M.
#[test]
fn pass_text_fits_qr_version_10_at_level_m_in_alphanumeric_mode() {
    let (signer, _) = signer_and_keys();
    let largest = PassClaims {
        voucher_id: VoucherId::from_uuid(Uuid::max()),
        school: Bin::generate(&[9; 11]).expect("a BIN of nines exists"),
        valid_from: datetime!(2106-02-07 06:28:00 UTC),
        valid_until: datetime!(2106-02-07 06:28:15 UTC),
        nonce: [0xff; 8],
    };
    let text = signer.mint(&largest).expect("mint");
    assert_eq!(
        text.len(),
        PREFIX.len() + (PAYLOAD_LEN + SIGNATURE_LEN) / 2 * 3
    );
    const QR_ALPHANUMERIC: &str = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";
    assert!(text.chars().all(|c| QR_ALPHANUMERIC.contains(c)), "{text}");
    let code = qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::M)
        .expect("encodes as a QR code");
    match code.version() {
        qrcode::Version::Normal(v) => assert!(v <= 10, "needs version {v}"),
        other => panic!("unexpected {other:?}"),
    }
}
