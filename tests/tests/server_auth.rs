//! End to end: the real `wallet-server` in production mode (no `--demo`) trusting an
//! identity provider's Ed25519 key from a PEM or JWKS file, driven over HTTP.
//!
//! Covers DESIGN §7 (tokens: issuer, audience, expiry and algorithm are checked; `alg: none`
//! and algorithm confusion are refused) and §8 (the dev routes do not exist without
//! `--demo`; the server will not start without a key to verify tokens with).

mod common;

use std::path::PathBuf;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::Method;
use ring::rand::SystemRandom;
use ring::signature::{Ed25519KeyPair, KeyPair};
use serde_json::{json, Value};
use tempfile::TempDir;
use time::OffsetDateTime;

use common::{base64_std, base64_url, run_expecting_exit, Server};

const ISSUER: &str = "https://idp.egov.kz";
const AUDIENCE: &str = "social-wallet";
/// A valid IIN (the demo parent's), not that any data exists for it here.
const PARENT_IIN: &str = "880512412342";
const SCHOOL_BIN: &str = "050140001238";
const WALLET: &str = "/v1/wallet/vouchers";

/// An identity provider: an Ed25519 key pair that signs access tokens.
struct Idp {
    pkcs8: Vec<u8>,
    public: Vec<u8>,
}

impl Idp {
    fn generate() -> Idp {
        let rng = SystemRandom::new();
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).expect("generate Ed25519 key");
        let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).expect("parse PKCS#8");
        Idp {
            pkcs8: pkcs8.as_ref().to_vec(),
            public: pair.public_key().as_ref().to_vec(),
        }
    }

    /// The public key as a PEM SubjectPublicKeyInfo.
    fn pem(&self) -> String {
        let mut der = vec![
            0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
        ];
        der.extend_from_slice(&self.public);
        let b64 = base64_std(&der);
        let mut pem = String::from("-----BEGIN PUBLIC KEY-----\n");
        for line in b64.as_bytes().chunks(64) {
            pem.push_str(std::str::from_utf8(line).expect("ascii"));
            pem.push('\n');
        }
        pem.push_str("-----END PUBLIC KEY-----\n");
        pem
    }

    /// The public key as a JWK.
    fn jwk(&self, kid: &str) -> Value {
        json!({
            "kty": "OKP",
            "crv": "Ed25519",
            "x": base64_url(&self.public),
            "kid": kid,
            "alg": "EdDSA",
            "use": "sig",
        })
    }

    fn sign(&self, claims: &Value, kid: Option<&str>) -> String {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = kid.map(str::to_string);
        jsonwebtoken::encode(&header, claims, &EncodingKey::from_ed_der(&self.pkcs8))
            .expect("sign token")
    }

    /// A token with any JOSE header (`crit`…), validly signed with this key.
    fn sign_with_header(&self, header: &Value, claims: &Value) -> String {
        let message = format!(
            "{}.{}",
            base64_url(header.to_string().as_bytes()),
            base64_url(claims.to_string().as_bytes())
        );
        let signature = jsonwebtoken::crypto::sign(
            message.as_bytes(),
            &EncodingKey::from_ed_der(&self.pkcs8),
            Algorithm::EdDSA,
        )
        .expect("sign token");
        format!("{message}.{signature}")
    }
}

/// A valid IIN other than [`PARENT_IIN`].
fn other_iin() -> String {
    let born = time::macros::date!(1990 - 01 - 01);
    (1234u16..1300)
        .find_map(|serial| shared::Iin::generate(born, shared::Sex::Female, serial))
        .expect("an issuable serial")
        .expose()
}

fn now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

/// Claims valid for ten minutes from now.
fn claims(sub: &str, role: &str, school: Option<&str>) -> Value {
    let now = now();
    let mut c = json!({
        "sub": sub,
        "role": role,
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + 600,
    });
    if let Some(school) = school {
        c["school"] = json!(school);
    }
    c
}

fn parent_claims() -> Value {
    claims(PARENT_IIN, "parent", None)
}

fn with(mut claims: Value, key: &str, value: Value) -> Value {
    claims[key] = value;
    claims
}

fn without(mut claims: Value, key: &str) -> Value {
    claims.as_object_mut().expect("claims object").remove(key);
    claims
}

/// A JWT with any header, e.g. `alg: none`, and the given signature segment.
fn raw_token(header: &Value, claims: &Value, signature: &str) -> String {
    format!(
        "{}.{}.{signature}",
        base64_url(header.to_string().as_bytes()),
        base64_url(claims.to_string().as_bytes())
    )
}

/// A token whose payload is replaced after signing.
fn tamper(token: &str, claims: &Value) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "JWT has three parts");
    format!(
        "{}.{}.{}",
        parts[0],
        base64_url(claims.to_string().as_bytes()),
        parts[2]
    )
}

/// Writes `name` with `contents` into `dir`.
fn write(dir: &TempDir, name: &str, contents: &str) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, contents).expect("write key file");
    path
}

fn s(path: &std::path::Path) -> &str {
    path.to_str().expect("utf-8 path")
}

/// A production server trusting `idp` through a PEM file.
fn pem_server(idp: &Idp, data: &TempDir, keys: &TempDir, extra: &[&str]) -> Server {
    let pem = write(keys, "idp.pem", &idp.pem());
    let mut args = vec!["--jwt-public-key-file", s(&pem)];
    args.extend_from_slice(extra);
    Server::start(data.path(), &args, &[])
}

fn dirs() -> (TempDir, TempDir) {
    (tests::private_tempdir(), tests::private_tempdir())
}

#[tokio::test]
async fn valid_tokens_work_and_dev_routes_do_not_exist_without_demo() {
    let idp = Idp::generate();
    let (data, keys) = dirs();
    let server = pem_server(&idp, &data, &keys, &[]);
    assert!(
        server.stdout[0].starts_with("wallet-server listening on http://127.0.0.1:"),
        "{:?}",
        server.stdout
    );
    assert!(
        !server.stdout.join("\n").contains("/dev/token"),
        "no demo banner without --demo: {:?}",
        server.stdout
    );

    server.get("/healthz", None).await.ok_json();
    let ready = server.get("/readyz", None).await.ok_json();
    assert_eq!(ready["database"], "sqlite");

    // A valid parent token: no demo data here, so an empty list.
    let token = idp.sign(&parent_claims(), None);
    let list = server.get(WALLET, Some(&token)).await.ok_json();
    assert_eq!(list, json!({"vouchers": []}));

    // Valid staff tokens pass authentication; the school is simply not known here.
    for role in ["social_pedagogue", "director"] {
        let staff = idp.sign(&claims("staff-1", role, Some(SCHOOL_BIN)), None);
        server
            .get(&format!("/v1/schools/{SCHOOL_BIN}/vouchers"), Some(&staff))
            .await
            .assert_error(404, "not_found");
        // …and the role check still applies.
        server
            .get(WALLET, Some(&staff))
            .await
            .assert_error(403, "forbidden");
    }

    // The demo-only routes are not there at all.
    server
        .post_json(
            "/dev/token",
            None,
            &json!({"sub": PARENT_IIN, "role": "parent"}),
        )
        .await
        .assert_error(404, "not_found");
    server
        .post_json("/dev/clock", None, &json!({"now": "2099-01-01T00:00:00Z"}))
        .await
        .assert_error(404, "not_found");
    server
        .request(Method::GET, "/dev/token", None, None)
        .await
        .assert_error(404, "not_found");
    let doc = server.get("/openapi.json", None).await.ok_json();
    let paths = doc["paths"].as_object().expect("paths");
    assert!(paths.contains_key(WALLET), "{:?}", paths.keys());
    assert!(
        !paths.keys().any(|p| p.starts_with("/dev/")),
        "dev routes documented without --demo: {:?}",
        paths.keys()
    );
}

#[tokio::test]
async fn forged_expired_and_misdirected_tokens_are_refused() {
    let idp = Idp::generate();
    let other = Idp::generate();
    let (data, keys) = dirs();
    let server = pem_server(&idp, &data, &keys, &[]);
    let pem = idp.pem();
    let school_path = format!("/v1/schools/{SCHOOL_BIN}/vouchers");

    // The baseline is accepted, so each refusal below is about its one defect.
    let good = idp.sign(&parent_claims(), None);
    server.get(WALLET, Some(&good)).await.ok_json();

    let hs256 = |secret: &[u8]| {
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &parent_claims(),
            &EncodingKey::from_secret(secret),
        )
        .expect("sign HS256")
    };
    let good_signature = good.rsplit('.').next().expect("signature").to_string();
    let now = now();
    let cases: Vec<(&str, String, &str, &str)> = vec![
        (
            "alg none",
            raw_token(&json!({"alg": "none", "typ": "JWT"}), &parent_claims(), ""),
            WALLET,
            "token_algorithm",
        ),
        (
            "alg None",
            raw_token(&json!({"alg": "None", "typ": "JWT"}), &parent_claims(), ""),
            WALLET,
            "token_algorithm",
        ),
        (
            "alg EdDSA, no signature",
            raw_token(&json!({"alg": "EdDSA", "typ": "JWT"}), &parent_claims(), ""),
            WALLET,
            "token_signature",
        ),
        (
            "HS256 keyed with the PEM text",
            hs256(pem.as_bytes()),
            WALLET,
            "token_algorithm",
        ),
        (
            "HS256 keyed with the raw public key",
            hs256(&idp.public),
            WALLET,
            "token_algorithm",
        ),
        (
            "RS256 header over an EdDSA signature",
            raw_token(
                &json!({"alg": "RS256", "typ": "JWT"}),
                &parent_claims(),
                &good_signature,
            ),
            WALLET,
            "token_algorithm",
        ),
        (
            "expired an hour ago",
            idp.sign(
                &with(
                    with(parent_claims(), "exp", json!(now - 3600)),
                    "iat",
                    json!(now - 7200),
                ),
                None,
            ),
            WALLET,
            "token_expired",
        ),
        (
            "not valid before an hour from now",
            idp.sign(&with(parent_claims(), "nbf", json!(now + 3600)), None),
            WALLET,
            "token_not_yet_valid",
        ),
        (
            "no exp",
            idp.sign(&without(parent_claims(), "exp"), None),
            WALLET,
            "token_claims",
        ),
        (
            "wrong audience",
            idp.sign(
                &with(parent_claims(), "aud", json!("another-service")),
                None,
            ),
            WALLET,
            "token_audience",
        ),
        (
            "no audience",
            idp.sign(&without(parent_claims(), "aud"), None),
            WALLET,
            "token_audience",
        ),
        (
            "wrong issuer",
            idp.sign(
                &with(parent_claims(), "iss", json!("https://evil.example")),
                None,
            ),
            WALLET,
            "token_issuer",
        ),
        (
            "no issuer",
            idp.sign(&without(parent_claims(), "iss"), None),
            WALLET,
            "token_issuer",
        ),
        (
            "signed by another key",
            other.sign(&parent_claims(), None),
            WALLET,
            "token_signature",
        ),
        (
            "payload tampered: another parent",
            tamper(&good, &with(parent_claims(), "sub", json!(other_iin()))),
            WALLET,
            "token_signature",
        ),
        (
            "payload tampered: parent made director",
            tamper(&good, &claims(PARENT_IIN, "director", Some(SCHOOL_BIN))),
            &school_path,
            "token_signature",
        ),
        (
            "parent whose sub is not an IIN",
            idp.sign(&claims("123456789012", "parent", None), None),
            WALLET,
            "token_claims",
        ),
        (
            "parent whose sub is a name",
            idp.sign(&claims("Гульнара", "parent", None), None),
            WALLET,
            "token_claims",
        ),
        (
            "staff without a school",
            idp.sign(&claims("staff-1", "social_pedagogue", None), None),
            &school_path,
            "token_claims",
        ),
        (
            "director with a school that is not a BIN",
            idp.sign(&claims("staff-1", "director", Some("123")), None),
            &school_path,
            "token_claims",
        ),
        (
            "unknown role",
            idp.sign(&claims(PARENT_IIN, "superuser", None), None),
            WALLET,
            "token_claims",
        ),
    ];
    for (name, token, path, code) in &cases {
        let resp = server.get(path, Some(token)).await;
        assert_eq!(
            resp.status, 401,
            "{name}: expected 401, got {} {}",
            resp.status, resp.text
        );
        resp.assert_error(401, code);
        assert_no_internals(name, &resp);
    }

    // The genuine token still works after all that.
    server.get(WALLET, Some(&good)).await.ok_json();
}

#[tokio::test]
async fn issuer_and_audience_come_from_the_configuration() {
    let idp = Idp::generate();
    let (data, keys) = dirs();
    let server = pem_server(
        &idp,
        &data,
        &keys,
        &[
            "--jwt-issuer",
            "https://idp.test",
            "--jwt-audience",
            "wallet-test",
            "--jwt-algorithm",
            "EdDSA",
        ],
    );
    let custom = with(
        with(parent_claims(), "iss", json!("https://idp.test")),
        "aud",
        json!("wallet-test"),
    );
    server
        .get(WALLET, Some(&idp.sign(&custom, None)))
        .await
        .ok_json();
    server
        .get(WALLET, Some(&idp.sign(&parent_claims(), None)))
        .await
        .assert_error(401, "token_issuer");
    let configured_issuer = with(parent_claims(), "iss", json!("https://idp.test"));
    server
        .get(WALLET, Some(&idp.sign(&configured_issuer, None)))
        .await
        .assert_error(401, "token_audience");
}

#[tokio::test]
async fn jwks_keys_are_chosen_by_kid() {
    let idp = Idp::generate();
    let second = Idp::generate();
    let (data, keys) = dirs();
    let jwks = json!({"keys": [idp.jwk("k1"), second.jwk("k3")]});
    let path = write(&keys, "jwks.json", &jwks.to_string());
    let server = Server::start(data.path(), &["--jwt-jwks-file", s(&path)], &[]);

    let claims = parent_claims();
    server
        .get(WALLET, Some(&idp.sign(&claims, Some("k1"))))
        .await
        .ok_json();
    server
        .get(WALLET, Some(&second.sign(&claims, Some("k3"))))
        .await
        .ok_json();
    for (name, token, code) in [
        (
            "unknown kid k2",
            idp.sign(&claims, Some("k2")),
            "token_unknown_key",
        ),
        ("no kid", idp.sign(&claims, None), "token_unknown_key"),
        (
            "kid of another key",
            second.sign(&claims, Some("k1")),
            "token_signature",
        ),
        (
            "signed by a key not in the set",
            Idp::generate().sign(&claims, Some("k1")),
            "token_signature",
        ),
        (
            "alg none with a known kid",
            raw_token(
                &json!({"alg": "none", "typ": "JWT", "kid": "k1"}),
                &claims,
                "",
            ),
            "token_algorithm",
        ),
        (
            "crit with a known kid",
            idp.sign_with_header(
                &json!({"alg": "EdDSA", "typ": "JWT", "kid": "k1", "crit": ["exp"], "exp": 1}),
                &claims,
            ),
            "token_critical_header",
        ),
    ] {
        let resp = server.get(WALLET, Some(&token)).await;
        assert_eq!(resp.status, 401, "{name}: {}", resp.text);
        resp.assert_error(401, code);
        assert_no_internals(name, &resp);
    }
}

/// A 401 says what was refused in its own words: no parser's message, no library's name.
fn assert_no_internals(name: &str, resp: &common::Resp) {
    for leak in [
        "serde",
        "Error(",
        "missing field",
        "invalid type",
        "unknown variant",
        "expected",
        "line ",
        "column",
        "Json",
        "Base64",
        "InvalidToken",
        "jsonwebtoken",
    ] {
        assert!(
            !resp.text.contains(leak),
            "{name}: {leak:?} in the answer {}",
            resp.text
        );
    }
}

#[tokio::test]
async fn tokens_as_real_identity_providers_send_them() {
    // Keycloak and others send `aud` as a list (RFC 7519 §4.1.3); a JWS header may carry
    // `crit` (RFC 7515 §4.1.11), which must be refused unless understood (we understand none).
    let idp = Idp::generate();
    let (data, keys) = dirs();
    let jwks = json!({"keys": [idp.jwk("kc-2026")]});
    let path = write(&keys, "jwks.json", &jwks.to_string());
    let server = Server::start(data.path(), &["--jwt-jwks-file", s(&path)], &[]);
    let header = json!({"alg": "EdDSA", "typ": "JWT", "kid": "kc-2026"});

    for aud in [
        json!(["account", AUDIENCE]),
        json!([AUDIENCE]),
        json!([AUDIENCE, "broker", "account"]),
    ] {
        let token = idp.sign_with_header(&header, &with(parent_claims(), "aud", aud.clone()));
        let resp = server.get(WALLET, Some(&token)).await;
        assert_eq!(resp.status, 200, "aud {aud}: {}", resp.text);
        // Staff too: the same claims, another extractor.
        let staff = with(
            claims("staff-1", "director", Some(SCHOOL_BIN)),
            "aud",
            aud.clone(),
        );
        server
            .get(
                &format!("/v1/schools/{SCHOOL_BIN}/vouchers"),
                Some(&idp.sign_with_header(&header, &staff)),
            )
            .await
            .assert_error(404, "not_found");
    }
    for aud in [json!([]), json!(["account"]), json!(["account", "broker"])] {
        let token = idp.sign_with_header(&header, &with(parent_claims(), "aud", aud.clone()));
        let resp = server.get(WALLET, Some(&token)).await;
        resp.assert_error(401, "token_audience");
        assert_no_internals(&format!("aud {aud}"), &resp);
    }

    let plain = idp.sign_with_header(&header, &parent_claims());
    server.get(WALLET, Some(&plain)).await.ok_json();
    let mut crit_tokens = Vec::new();
    for (crit, extension) in [
        (json!(["exp"]), json!({"exp": 1})),
        (json!(["b64"]), json!({"b64": false})),
        (json!(["urn:example:ext"]), json!({"urn:example:ext": true})),
        (json!([]), json!({})),
    ] {
        let mut h = header.clone();
        h["crit"] = crit.clone();
        for (k, v) in extension.as_object().expect("object") {
            h[k] = v.clone();
        }
        let token = idp.sign_with_header(&h, &parent_claims());
        let resp = server.get(WALLET, Some(&token)).await;
        resp.assert_error(401, "token_critical_header");
        assert_no_internals(&format!("crit {crit}"), &resp);
        crit_tokens.push(token);
    }

    // Each refusal is in the log at info, once, with the token's kid and iss; never the
    // token, nor the subject it names.
    let log = server.stderr();
    let refusals: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("bearer token refused"))
        .collect();
    assert_eq!(refusals.len(), 7, "one line per refusal:\n{log}");
    let critical: Vec<&&str> = refusals
        .iter()
        .filter(|l| l.contains("reason=\"token_critical_header\""))
        .collect();
    assert_eq!(critical.len(), 4, "{log}");
    for line in &refusals {
        assert!(line.contains("INFO"), "at info: {line}");
        assert!(line.contains("kid=\"kc-2026\""), "{line}");
        assert!(line.contains(&format!("iss=\"{ISSUER}\"")), "{line}");
        assert!(!line.contains(PARENT_IIN), "the subject is logged: {line}");
    }
    for token in &crit_tokens {
        for segment in token.split('.') {
            assert!(!log.contains(segment), "the token is logged:\n{log}");
        }
    }
}

#[test]
fn refuses_to_start_without_a_key_to_verify_tokens() {
    let (status, output) = run_expecting_exit(&[]);
    assert!(!status.success(), "exit {status}: {output}");
    assert!(
        output.contains("JWT_PUBLIC_KEY_FILE"),
        "the message should say what to set: {output}"
    );
}

#[test]
fn refuses_to_start_with_a_symmetric_or_unusable_key_configuration() {
    let idp = Idp::generate();
    let keys = tests::private_tempdir();
    let pem = write(&keys, "idp.pem", &idp.pem());
    let jwks = write(
        &keys,
        "jwks.json",
        &json!({"keys": [idp.jwk("k1")]}).to_string(),
    );
    let missing = keys.path().join("missing.pem");
    let garbage = write(&keys, "garbage.pem", "not a key\n");
    let cases: Vec<(&str, Vec<&str>, &str)> = vec![
        (
            "HS256",
            vec!["--jwt-public-key-file", s(&pem), "--jwt-algorithm", "HS256"],
            "HS256",
        ),
        (
            "none",
            vec!["--jwt-public-key-file", s(&pem), "--jwt-algorithm", "none"],
            "none",
        ),
        (
            "both a PEM and a JWKS",
            vec![
                "--jwt-public-key-file",
                s(&pem),
                "--jwt-jwks-file",
                s(&jwks),
            ],
            "JWT_JWKS_FILE",
        ),
        (
            "missing key file",
            vec!["--jwt-public-key-file", s(&missing)],
            "missing.pem",
        ),
        (
            "key file that is not a key",
            vec!["--jwt-public-key-file", s(&garbage)],
            "garbage.pem",
        ),
    ];
    for (name, args, mentioned) in cases {
        let (status, output) = run_expecting_exit(&args);
        assert!(!status.success(), "{name}: exit {status}: {output}");
        assert!(
            output.contains(mentioned),
            "{name}: the message should mention {mentioned:?}: {output}"
        );
    }
}
