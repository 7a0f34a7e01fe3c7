//! Unit tests of token verification: what a verifier accepts and the attacks it refuses.

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use time::OffsetDateTime;

use super::{DevIdentityProvider, JwtVerifier, Role, TokenError};

const ISS: &str = "https://idp.test";
const AUD: &str = "social-wallet";

fn b64url(bytes: &[u8]) -> String {
    // Small local encoder: the tests must not trust the library they test.
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n =
            chunk.iter().fold(0u32, |acc, &b| acc << 8 | u32::from(b)) << (8 * (3 - chunk.len()));
        for i in 0..=chunk.len() {
            out.push(char::from(A[(n >> (18 - 6 * i) & 63) as usize]));
        }
    }
    out
}

fn claims_json(exp_offset: i64, aud: &str) -> String {
    let now = OffsetDateTime::now_utc().unix_timestamp();
    format!(
        r#"{{"sub":"041206500121","role":"parent","iss":"{ISS}","aud":"{aud}","exp":{},"iat":{now}}}"#,
        now + exp_offset
    )
}

fn setup() -> (DevIdentityProvider, JwtVerifier) {
    DevIdentityProvider::generate(ISS, AUD).expect("key")
}

#[test]
fn a_token_from_the_provider_verifies_with_its_claims() {
    let (idp, verifier) = setup();
    let token = idp
        .issue(
            "pedagogue-1",
            Role::SocialPedagogue,
            Some("050140001238"),
            OffsetDateTime::now_utc(),
        )
        .expect("sign");
    let claims = verifier.verify(&token).expect("valid");
    assert_eq!(claims.sub, "pedagogue-1");
    assert_eq!(claims.role, Role::SocialPedagogue);
    assert_eq!(claims.school.as_deref(), Some("050140001238"));
}

#[test]
fn alg_none_is_refused() {
    let (_, verifier) = setup();
    let header = b64url(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = b64url(claims_json(3600, AUD).as_bytes());
    for token in [
        format!("{header}.{payload}."),
        format!("{header}.{payload}"),
    ] {
        assert!(
            matches!(verifier.verify(&token), Err(TokenError::Invalid(_))),
            "{token}"
        );
    }
}

#[test]
fn hmac_tokens_are_refused_whatever_the_secret() {
    let (_, verifier) = setup();
    let claims: serde_json::Value = serde_json::from_str(&claims_json(3600, AUD)).expect("json");
    for secret in [&b""[..], b"secret", b"-----BEGIN PUBLIC KEY-----"] {
        let token = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(secret),
        )
        .expect("sign");
        assert!(matches!(
            verifier.verify(&token),
            Err(TokenError::Invalid(_))
        ));
    }
}

#[test]
fn expiry_audience_issuer_and_key_are_checked() {
    let (idp, verifier) = setup();
    let now = OffsetDateTime::now_utc();
    let expired = idp
        .issue(
            "041206500121",
            Role::Parent,
            None,
            now - time::Duration::days(1),
        )
        .expect("sign");
    assert_eq!(verifier.verify(&expired).unwrap_err(), TokenError::Expired);

    let token = idp
        .issue("041206500121", Role::Parent, None, now)
        .expect("sign");
    assert!(verifier.verify(&token).is_ok());
    let other_audience = idp.verifier(ISS, "another-service");
    assert!(matches!(
        other_audience.verify(&token),
        Err(TokenError::Invalid(_))
    ));
    let other_issuer = idp.verifier("https://evil.test", AUD);
    assert!(matches!(
        other_issuer.verify(&token),
        Err(TokenError::Invalid(_))
    ));
    let (stranger, _) = setup();
    let foreign = stranger
        .issue("041206500121", Role::Parent, None, now)
        .expect("sign");
    assert!(verifier.verify(&foreign).is_err(), "signed by another key");
}

#[test]
fn a_tampered_payload_is_refused() {
    let (idp, verifier) = setup();
    let token = idp
        .issue(
            "041206500121",
            Role::Parent,
            None,
            OffsetDateTime::now_utc(),
        )
        .expect("sign");
    let mut parts: Vec<String> = token.split('.').map(str::to_string).collect();
    parts[1] = b64url(
        claims_json(3600, AUD)
            .replace("parent", "director")
            .as_bytes(),
    );
    assert!(verifier.verify(&parts.join(".")).is_err());
}

#[test]
fn staff_are_named_from_the_identity_providers_claims() {
    use super::{Claims, SchoolStaff};
    let (idp, verifier) = setup();
    let now = OffsetDateTime::now_utc();
    let school = Some("050140001238");
    let named = idp
        .issue_named("d-1", Role::Director, school, Some("Сейткали Айгуль"), now)
        .expect("sign");
    let staff = SchoolStaff::from_claims(verifier.verify(&named).expect("valid")).expect("staff");
    assert_eq!(staff.name.as_deref(), Some("Сейткали Айгуль"));
    let plain = idp.issue("d-1", Role::Director, school, now).expect("sign");
    let staff = SchoolStaff::from_claims(verifier.verify(&plain).expect("valid")).expect("staff");
    assert_eq!(
        staff.name, None,
        "no name claim: no name, the subject stays"
    );
    assert_eq!(staff.sub, "d-1");

    // `name` wins; else family and given name, in a register's order; blanks and control
    // characters do not make a name.
    let claims = |name: Option<&str>, given: Option<&str>, family: Option<&str>| Claims {
        sub: "s".into(),
        role: Role::Director,
        school: None,
        iss: ISS.into(),
        aud: AUD.into(),
        exp: 0,
        iat: 0,
        name: name.map(str::to_string),
        given_name: given.map(str::to_string),
        family_name: family.map(str::to_string),
    };
    let c = claims(Some(" Әлиева\u{7}  Дана "), Some("X"), Some("Y"));
    assert_eq!(c.display_name().as_deref(), Some("Әлиева Дана"));
    let c = claims(Some("  "), Some("Айгуль"), Some("Сейткали"));
    assert_eq!(c.display_name().as_deref(), Some("Сейткали Айгуль"));
    assert_eq!(
        claims(None, None, Some("Сейткали"))
            .display_name()
            .as_deref(),
        Some("Сейткали")
    );
    assert_eq!(claims(None, Some("\n"), None).display_name(), None);
    let long = "Я".repeat(500);
    assert_eq!(
        claims(Some(&long), None, None)
            .display_name()
            .map(|n| n.chars().count()),
        Some(200)
    );
}
