//! Unit tests of token verification: what a verifier accepts and the attacks it refuses.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
use ring::signature::{Ed25519KeyPair, KeyPair};
use serde_json::{json, Value};
use time::OffsetDateTime;

use super::{DevIdentityProvider, JwtVerifier, RefusalLog, Role, TokenError};

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
    assert_eq!(
        verifier.verify(&format!("{header}.{payload}.")),
        Err(TokenError::Algorithm)
    );
    assert_eq!(
        verifier.verify(&format!("{header}.{payload}")),
        Err(TokenError::Malformed),
        "two segments are no JWS"
    );
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
        assert_eq!(verifier.verify(&token), Err(TokenError::Algorithm));
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
    assert_eq!(other_audience.verify(&token), Err(TokenError::Audience));
    let other_issuer = idp.verifier("https://evil.test", AUD);
    assert_eq!(other_issuer.verify(&token), Err(TokenError::Issuer));
    let (stranger, _) = setup();
    let foreign = stranger
        .issue("041206500121", Role::Parent, None, now)
        .expect("sign");
    assert_eq!(
        verifier.verify(&foreign),
        Err(TokenError::Signature),
        "signed by another key"
    );
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
    assert_eq!(
        verifier.verify(&parts.join(".")),
        Err(TokenError::Signature)
    );
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
        aud: super::Audience::one(AUD),
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

/// An identity provider for hand-made tokens: any header, any claims, signed with Ed25519.
struct Signer {
    key: EncodingKey,
    public: Vec<u8>,
}

impl Signer {
    fn new() -> Signer {
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).expect("key");
        let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).expect("pkcs8");
        Signer {
            key: EncodingKey::from_ed_der(pkcs8.as_ref()),
            public: pair.public_key().as_ref().to_vec(),
        }
    }

    fn verifier(&self) -> JwtVerifier {
        JwtVerifier::with_key(
            DecodingKey::from_ed_der(&self.public),
            Algorithm::EdDSA,
            ISS,
            AUD,
        )
    }

    /// A verifier that knows this key as `k1` in a JWKS.
    fn jwks_verifier(&self) -> JwtVerifier {
        let jwks = json!({"keys": [{
            "kty": "OKP", "crv": "Ed25519", "x": b64url(&self.public), "kid": "k1", "alg": "EdDSA"
        }]});
        JwtVerifier::from_jwks_json(
            jwks.to_string().as_bytes(),
            "test",
            Algorithm::EdDSA,
            ISS,
            AUD,
        )
        .expect("jwks")
    }

    fn sign(&self, header: &Value, claims: &Value) -> String {
        let message = format!(
            "{}.{}",
            b64url(header.to_string().as_bytes()),
            b64url(claims.to_string().as_bytes())
        );
        let signature = jsonwebtoken::crypto::sign(message.as_bytes(), &self.key, Algorithm::EdDSA)
            .expect("sign");
        format!("{message}.{signature}")
    }
}

fn header() -> Value {
    json!({"alg": "EdDSA", "typ": "JWT"})
}

/// A parent's claims valid for an hour.
fn claims() -> Value {
    serde_json::from_str(&claims_json(3600, AUD)).expect("json")
}

fn with(mut value: Value, key: &str, field: Value) -> Value {
    value[key] = field;
    value
}

fn without(mut value: Value, key: &str) -> Value {
    value.as_object_mut().expect("object").remove(key);
    value
}

#[test]
fn aud_may_be_a_list_that_names_us() {
    // Keycloak and other providers send `aud` as an array (RFC 7519 §4.1.3).
    let signer = Signer::new();
    let verifier = signer.verifier();
    for aud in [
        json!(AUD),
        json!([AUD]),
        json!(["account", AUD]),
        json!([AUD, "account", "broker"]),
    ] {
        let token = signer.sign(&header(), &with(claims(), "aud", aud.clone()));
        let verified = verifier.verify(&token);
        assert!(verified.is_ok(), "aud {aud}: {verified:?}");
        assert!(verified.expect("ok").aud.contains(AUD));
        // The full check too, not only the memory of verified tokens.
        let again: super::Claims = verifier.verify_as(&token).expect("verify_as");
        assert!(again.aud.contains(AUD), "aud {aud}");
    }
    // The audiences are kept as the token gave them.
    let token = signer.sign(&header(), &with(claims(), "aud", json!(["account", AUD])));
    let claims_back = verifier.verify(&token).expect("ok");
    assert_eq!(claims_back.aud.as_slice(), ["account", AUD]);
    assert_eq!(
        serde_json::to_value(&claims_back.aud).expect("json"),
        json!(["account", AUD])
    );
    assert_eq!(
        serde_json::to_value(super::Audience::one(AUD)).expect("json"),
        json!(AUD),
        "one audience is written as a string"
    );
}

#[test]
fn aud_that_does_not_name_us_is_refused_whatever_its_form() {
    let signer = Signer::new();
    let verifier = signer.verifier();
    for aud in [
        json!([]),
        json!(["account"]),
        json!(["account", "broker"]),
        json!("another-service"),
        json!(""),
        json!([format!("{AUD} ")]),
        json!([1, 2]),
        json!({"aud": AUD}),
        json!(null),
        json!(7),
    ] {
        let token = signer.sign(&header(), &with(claims(), "aud", aud.clone()));
        assert_eq!(
            verifier.verify(&token),
            Err(TokenError::Audience),
            "aud {aud}"
        );
    }
    let token = signer.sign(&header(), &without(claims(), "aud"));
    assert_eq!(verifier.verify(&token), Err(TokenError::Audience), "no aud");
}

#[test]
fn a_critical_header_is_refused_whatever_it_names() {
    // RFC 7515 §4.1.11: extensions named in `crit` must be understood or the JWS is
    // invalid; we understand none, and an empty `crit` is invalid in itself.
    let signer = Signer::new();
    let verifier = signer.verifier();
    let plain = signer.sign(&header(), &claims());
    assert!(verifier.verify(&plain).is_ok(), "the baseline verifies");
    for (crit, extra) in [
        (json!(["exp"]), json!({"exp": 1})),
        (json!(["b64"]), json!({"b64": true})),
        (
            json!(["http://example.com/ext"]),
            json!({"http://example.com/ext": 1}),
        ),
        (json!(["unknown"]), json!({})),
        (json!([]), json!({})),
        (json!("b64"), json!({})),
        (json!(null), json!({})),
    ] {
        let mut h = header();
        h["crit"] = crit.clone();
        for (k, v) in extra.as_object().expect("object") {
            h[k] = v.clone();
        }
        let token = signer.sign(&h, &claims());
        assert_eq!(
            verifier.verify(&token),
            Err(TokenError::CriticalHeader),
            "crit {crit}"
        );
        let jwks = signer.jwks_verifier();
        h["kid"] = json!("k1");
        let token = signer.sign(&h, &claims());
        assert_eq!(
            jwks.verify(&token),
            Err(TokenError::CriticalHeader),
            "crit {crit} with a known kid"
        );
    }
}

/// One token for each way a token is refused, with the refusal expected.
fn refused_tokens(signer: &Signer) -> Vec<(&'static str, String, TokenError)> {
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let other = Signer::new();
    let good = signer.sign(&header(), &claims());
    let payload_of = |c: &Value| b64url(c.to_string().as_bytes());
    let hs256 = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims(),
        &EncodingKey::from_secret(b"secret"),
    )
    .expect("sign");
    let mut tampered: Vec<String> = good.split('.').map(str::to_string).collect();
    tampered[1] = payload_of(&with(claims(), "role", json!("director")));
    vec![
        ("not a JWT", "garbage".into(), TokenError::Malformed),
        ("three dots of nothing", "..".into(), TokenError::Malformed),
        (
            "header not base64",
            "%%%.e30.sig".into(),
            TokenError::Malformed,
        ),
        (
            "header not JSON",
            format!("{}.{}.sig", b64url(b"{alg"), payload_of(&claims())),
            TokenError::Malformed,
        ),
        (
            "header an array",
            format!("{}.{}.sig", b64url(b"[1]"), payload_of(&claims())),
            TokenError::Malformed,
        ),
        (
            "five segments (JWE)",
            format!("{good}.a.b"),
            TokenError::Malformed,
        ),
        (
            "payload not JSON",
            signer.sign_raw(&header(), b"not json"),
            TokenError::Malformed,
        ),
        (
            "alg none",
            format!(
                "{}.{}.",
                b64url(br#"{"alg":"none"}"#),
                payload_of(&claims())
            ),
            TokenError::Algorithm,
        ),
        ("HS256", hs256, TokenError::Algorithm),
        (
            "no alg",
            signer.sign(&json!({"typ": "JWT"}), &claims()),
            TokenError::Algorithm,
        ),
        (
            "crit",
            signer.sign(&with(header(), "crit", json!(["x"])), &claims()),
            TokenError::CriticalHeader,
        ),
        (
            "signed by another key",
            other.sign(&header(), &claims()),
            TokenError::Signature,
        ),
        (
            "payload tampered",
            tampered.join("."),
            TokenError::Signature,
        ),
        (
            "signature not base64",
            format!("{}.%%%", good.rsplit_once('.').expect("dot").0),
            TokenError::Malformed,
        ),
        (
            "expired",
            signer.sign(&header(), &with(claims(), "exp", json!(now - 3600))),
            TokenError::Expired,
        ),
        (
            "not yet valid",
            signer.sign(&header(), &with(claims(), "nbf", json!(now + 3600))),
            TokenError::NotYetValid,
        ),
        (
            "wrong issuer",
            signer.sign(
                &header(),
                &with(claims(), "iss", json!("https://evil.test")),
            ),
            TokenError::Issuer,
        ),
        (
            "no issuer",
            signer.sign(&header(), &without(claims(), "iss")),
            TokenError::Issuer,
        ),
        (
            "wrong audience",
            signer.sign(&header(), &with(claims(), "aud", json!("another"))),
            TokenError::Audience,
        ),
        (
            "empty audience list",
            signer.sign(&header(), &with(claims(), "aud", json!([]))),
            TokenError::Audience,
        ),
        (
            "no exp",
            signer.sign(&header(), &without(claims(), "exp")),
            TokenError::Claims(super::jwt::CLAIMS_UNUSABLE),
        ),
        (
            "exp not a number",
            signer.sign(&header(), &with(claims(), "exp", json!("tomorrow"))),
            TokenError::Claims(super::jwt::CLAIMS_UNUSABLE),
        ),
        (
            "no sub",
            signer.sign(&header(), &without(claims(), "sub")),
            TokenError::Claims(super::jwt::CLAIMS_UNUSABLE),
        ),
        (
            "no role",
            signer.sign(&header(), &without(claims(), "role")),
            TokenError::Claims(super::jwt::CLAIMS_UNUSABLE),
        ),
        (
            "unknown role",
            signer.sign(&header(), &with(claims(), "role", json!("superuser"))),
            TokenError::Claims(super::jwt::CLAIMS_UNUSABLE),
        ),
        (
            "iss a list",
            signer.sign(&header(), &with(claims(), "iss", json!([ISS]))),
            TokenError::Claims(super::jwt::CLAIMS_UNUSABLE),
        ),
    ]
}

impl Signer {
    fn sign_raw(&self, header: &Value, payload: &[u8]) -> String {
        let message = format!(
            "{}.{}",
            b64url(header.to_string().as_bytes()),
            b64url(payload)
        );
        let signature = jsonwebtoken::crypto::sign(message.as_bytes(), &self.key, Algorithm::EdDSA)
            .expect("sign");
        format!("{message}.{signature}")
    }
}

#[test]
fn a_token_without_kid_uses_the_only_key_of_a_set_and_no_other() {
    // Providers with one key often leave `kid` out (authlib does); OpenID Connect Core
    // §10.1 requires it only when the set holds several keys.
    let signer = Signer::new();
    let token = signer.sign(&header(), &claims());
    assert!(signer.jwks_verifier().verify(&token).is_ok());
    let other = Signer::new();
    let two = json!({"keys": [
        {"kty": "OKP", "crv": "Ed25519", "x": b64url(&signer.public), "kid": "k1"},
        {"kty": "OKP", "crv": "Ed25519", "x": b64url(&other.public), "kid": "k2"},
    ]});
    let verifier = JwtVerifier::from_jwks_json(
        two.to_string().as_bytes(),
        "test",
        Algorithm::EdDSA,
        ISS,
        AUD,
    )
    .expect("jwks");
    assert_eq!(verifier.verify(&token), Err(TokenError::UnknownKey));
    let named = signer.sign(&with(header(), "kid", json!("k1")), &claims());
    assert!(verifier.verify(&named).is_ok());
    // A set whose only key has no `kid` serves tokens without one, and refuses a named key.
    let bare = json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "x": b64url(&signer.public)}]});
    let verifier = JwtVerifier::from_jwks_json(
        bare.to_string().as_bytes(),
        "test",
        Algorithm::EdDSA,
        ISS,
        AUD,
    )
    .expect("jwks");
    assert!(verifier.verify(&token).is_ok());
    assert_eq!(verifier.verify(&named), Err(TokenError::UnknownKey));
    // The wrong key is still the wrong key.
    let forged = other.sign(&header(), &claims());
    assert_eq!(
        signer.jwks_verifier().verify(&forged),
        Err(TokenError::Signature)
    );
}

#[test]
fn each_refusal_has_its_code_and_a_plain_message() {
    let signer = Signer::new();
    let verifier = signer.verifier();
    let mut seen = std::collections::BTreeSet::new();
    for (name, token, expected) in refused_tokens(&signer) {
        let refused = verifier.verify(&token).expect_err(name);
        assert_eq!(refused, expected, "{name}");
        seen.insert(refused.code());
        assert_plain(name, &refused);
    }
    // The JWKS verifier's own refusal: a key it does not know.
    let jwks = signer.jwks_verifier();
    for (name, h) in [
        ("unknown kid", with(header(), "kid", json!("k2"))),
        ("kid not a string", with(header(), "kid", json!(1))),
    ] {
        let refused = jwks.verify(&signer.sign(&h, &claims())).expect_err(name);
        assert_eq!(refused, TokenError::UnknownKey, "{name}");
        seen.insert(refused.code());
        assert_plain(name, &refused);
    }
    assert!(jwks
        .verify(&signer.sign(&with(header(), "kid", json!("k1")), &claims()))
        .is_ok());
    // Every code a JWT can be refused with was met above.
    for e in super::refusals("bearer") {
        if e != TokenError::Missing {
            assert!(seen.contains(e.code()), "{} not exercised", e.code());
        }
    }
}

/// A refusal's message is ours: no parser's words in it.
fn assert_plain(name: &str, refused: &TokenError) {
    let message = refused.to_string();
    let api = crate::web::error::ApiError::from(refused.clone());
    assert_eq!(api.status, axum::http::StatusCode::UNAUTHORIZED, "{name}");
    assert_eq!(api.code, refused.code(), "{name}");
    assert_eq!(api.message, message, "{name}");
    for leak in [
        "serde",
        "Error(",
        "missing field",
        "invalid type",
        "expected",
        "line ",
        "column",
        "Json",
        "Base64",
        "InvalidToken",
        "ErrorKind",
        "jsonwebtoken",
        "unknown variant",
    ] {
        assert!(!message.contains(leak), "{name}: {leak:?} in {message:?}");
    }
    assert!(refused.code().starts_with("token_"), "{name}");
}

#[test]
fn the_codes_are_a_small_closed_set() {
    let codes: Vec<&str> = TokenError::ALL.iter().map(TokenError::code).collect();
    assert_eq!(
        codes,
        [
            "token_missing",
            "token_malformed",
            "token_algorithm",
            "token_critical_header",
            "token_unknown_key",
            "token_signature",
            "token_expired",
            "token_not_yet_valid",
            "token_issuer",
            "token_audience",
            "token_claims",
            "token_unknown",
        ]
    );
    for e in TokenError::ALL {
        assert_plain(e.code(), &e);
    }
    let doc = super::documented_codes("bearer");
    assert!(doc.contains("`token_critical_header`: ") && !doc.contains("token_unknown`"));
    let doc = super::documented_codes("device_token");
    assert!(doc.contains("`token_unknown`: ") && !doc.contains("token_audience"));
}

#[test]
fn the_log_of_a_refusal_names_kid_and_iss_and_nothing_else_of_the_token() {
    let signer = Signer::new();
    let h = with(header(), "kid", json!("idp-2026"));
    let token = signer.sign(&h, &with(claims(), "name", json!("Сейткали Айгуль")));
    assert_eq!(
        RefusalLog::new(Some(&token), &TokenError::CriticalHeader),
        RefusalLog {
            reason: "token_critical_header",
            kid: Some("idp-2026".into()),
            iss: Some(ISS.into()),
        }
    );
    // What cannot be read is left out.
    assert_eq!(
        RefusalLog::new(Some("garbage"), &TokenError::Malformed),
        RefusalLog {
            reason: "token_malformed",
            kid: None,
            iss: None
        }
    );
    assert_eq!(
        RefusalLog::new(None, &TokenError::Missing),
        RefusalLog {
            reason: "token_missing",
            kid: None,
            iss: None
        }
    );
    let no_kid = signer.sign(&header(), &with(claims(), "iss", json!(7)));
    assert_eq!(
        RefusalLog::new(Some(&no_kid), &TokenError::Issuer),
        RefusalLog {
            reason: "token_issuer",
            kid: None,
            iss: None
        }
    );
    // A device token is never read, even if it looks like a JWT.
    assert_eq!(
        RefusalLog::new(Some(&token), &TokenError::UnknownDeviceToken),
        RefusalLog {
            reason: "token_unknown",
            kid: None,
            iss: None
        }
    );
    // Control characters cannot forge log lines; a long value is cut.
    let nasty = signer.sign(
        &with(header(), "kid", json!("k\nINFO forged line")),
        &with(claims(), "iss", json!("x".repeat(1000))),
    );
    let log = RefusalLog::new(Some(&nasty), &TokenError::Issuer);
    assert_eq!(log.kid.as_deref(), Some("k?INFO forged line"));
    assert_eq!(log.iss.map(|i| i.chars().count()), Some(120));
    // Every refusal kind: the fields never carry the subject, a name or the token.
    for (name, token, refused) in refused_tokens(&signer) {
        let log = RefusalLog::new(Some(&token), &refused);
        let shown = format!("{log:?}");
        for secret in ["041206500121", "Сейткали", token.as_str()] {
            assert!(!shown.contains(secret), "{name}: {shown}");
        }
    }
}
