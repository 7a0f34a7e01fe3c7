//! The least-privilege matrix: every audience's extractor against every role's token.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};
use shared::time::SystemClock;
use time::OffsetDateTime;
use tower::ServiceExt;

use super::{DevIdentityProvider, Integration, Parent, Role, SchoolStaff, TerminalCaller};
use crate::domain::voucher::SchoolYearRule;
use crate::metrics::Metrics;
use crate::store::SqliteStore;
use crate::web::error::ApiError;
use crate::web::{AppParts, AppState};

const SCHOOL: &str = "050140001238";
const OTHER_SCHOOL: &str = "070240004567";
const PARENT: &str = "880512412342";

async fn app() -> (Router, DevIdentityProvider, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open_file(&dir.path().join("w.db"))
        .await
        .expect("store");
    let (idp, verifier) = DevIdentityProvider::generate("iss", "aud").expect("key");
    let store: Arc<dyn crate::store::Store> = Arc::new(store);
    let programme_dates = crate::domain::programme_dates::ProgrammeDates::pilot_2026();
    let state = AppState::from(AppParts {
        meal_pushes: crate::services::meals::meal_pushes(store.clone(), programme_dates),
        store,
        clock: Arc::new(SystemClock),
        verifier: Arc::new(verifier),
        metrics: Arc::new(Metrics::new()),
        school_year: SchoolYearRule::default(),
        programme_dates,
        gas: crate::domain::gas::rules(crate::domain::gas::pilot_dates()),
        max_body_bytes: 1024,
        max_list_bytes: 1024,
        keys: crate::services::passes::keys::SharedKeyRing::load_or_create(
            &dir.path().join("pass-keys.json"),
            OffsetDateTime::now_utc(),
        )
        .expect("keys"),
        mint_limiter: Arc::new(crate::services::passes::mint::MintLimiter::new(
            10,
            time::Duration::minutes(10),
        )),
        mint_notes: Default::default(),
        enrollment_code_ttl: time::Duration::hours(1),
        meal_price_tiyn: 80_000,
        demo: None,
        ports: Default::default(),
        console: Default::default(),
    });
    let router = Router::new()
        .route("/parent", get(|p: Parent| async move { p.iin.to_string() }))
        .route(
            "/school/{bin}",
            get(
                |s: SchoolStaff, axum::extract::Path(bin): axum::extract::Path<String>| async move {
                    s.own_school(&bin).map(|b| b.to_string())
                },
            ),
        )
        .route(
            "/director/{bin}",
            get(
                |s: SchoolStaff, axum::extract::Path(bin): axum::extract::Path<String>| async move {
                    s.own_school(&bin)?;
                    s.require_director()?;
                    Ok::<_, ApiError>("ok")
                },
            ),
        )
        .route("/integration", get(|i: Integration| async move { i.sub }))
        .route(
            "/terminal",
            get(|t: TerminalCaller| async move { t.terminal.id.to_string() }),
        )
        .with_state(state);
    (router, idp, dir)
}

async fn status(router: &Router, path: &str, token: Option<&str>) -> StatusCode {
    let mut req = Request::get(path);
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let resp = router
        .clone()
        .oneshot(req.body(Body::empty()).expect("request"))
        .await
        .expect("response");
    resp.status()
}

#[tokio::test]
async fn each_audience_admits_only_its_roles() {
    let (router, idp, _dir) = app().await;
    let now = OffsetDateTime::now_utc();
    let token =
        |sub: &str, role, school: Option<&str>| idp.issue(sub, role, school, now).expect("sign");
    let parent = token(PARENT, Role::Parent, None);
    let pedagogue = token("p1", Role::SocialPedagogue, Some(SCHOOL));
    let director = token("d1", Role::Director, Some(SCHOOL));
    let integration = token("pep", Role::Integration, None);
    let bad_parent = token("12345", Role::Parent, None);
    let staff_without_school = token("p2", Role::SocialPedagogue, None);

    use StatusCode as S;
    let own = format!("/school/{SCHOOL}");
    let other = format!("/school/{OTHER_SCHOOL}");
    let dir_own = format!("/director/{SCHOOL}");
    let cases: Vec<(&str, Option<&str>, StatusCode)> = vec![
        ("/parent", Some(&parent), S::OK),
        ("/parent", Some(&pedagogue), S::FORBIDDEN),
        ("/parent", Some(&integration), S::FORBIDDEN),
        ("/parent", Some(&bad_parent), S::UNAUTHORIZED),
        ("/parent", None, S::UNAUTHORIZED),
        ("/parent", Some("not.a.token"), S::UNAUTHORIZED),
        (&own, Some(&pedagogue), S::OK),
        (&own, Some(&director), S::OK),
        (&own, Some(&parent), S::FORBIDDEN),
        (&own, Some(&integration), S::FORBIDDEN),
        (&own, Some(&staff_without_school), S::UNAUTHORIZED),
        (&other, Some(&pedagogue), S::NOT_FOUND),
        ("/school/not-a-bin", Some(&pedagogue), S::NOT_FOUND),
        (&dir_own, Some(&director), S::OK),
        (&dir_own, Some(&pedagogue), S::FORBIDDEN),
        ("/integration", Some(&integration), S::OK),
        ("/integration", Some(&parent), S::FORBIDDEN),
        ("/integration", Some(&director), S::FORBIDDEN),
    ];
    for (path, token, expected) in cases {
        let who = token.map(|t| &t[t.len() - 6..]).unwrap_or("none");
        assert_eq!(
            status(&router, path, token).await,
            expected,
            "{path} with token …{who}"
        );
    }
}

#[tokio::test]
async fn the_scheme_must_be_bearer() {
    let (router, idp, _dir) = app().await;
    let parent = idp
        .issue(PARENT, Role::Parent, None, OffsetDateTime::now_utc())
        .expect("sign");
    for header in [
        format!("Basic {parent}"),
        parent.clone(),
        "Bearer ".into(),
        format!("bearer {parent}"),
    ] {
        let req = Request::get("/parent")
            .header("authorization", &header)
            .body(Body::empty())
            .expect("req");
        let code = router.clone().oneshot(req).await.expect("resp").status();
        let expected = if header.starts_with("bearer ") && header.len() > 7 {
            StatusCode::OK
        } else {
            StatusCode::UNAUTHORIZED
        };
        assert_eq!(code, expected, "{}", &header[..header.len().min(12)]);
    }
}

/// Everything logged while the guard lives, as text (one line per event).
#[derive(Clone, Default)]
struct Captured(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    /// Logs to this buffer on this thread (a `#[tokio::test]` runs on one) at info, as the
    /// server logs by default.
    fn install(&self) -> tracing::subscriber::DefaultGuard {
        let writer = self.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::INFO)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::set_default(subscriber)
    }

    fn take(&self) -> String {
        let mut bytes = self.0.lock().expect("log buffer");
        String::from_utf8(std::mem::take(&mut *bytes)).expect("utf-8 log")
    }
}

async fn answer(router: &Router, path: &str, authorization: Option<&str>) -> (StatusCode, Value) {
    let mut req = Request::get(path);
    if let Some(a) = authorization {
        req = req.header("authorization", a);
    }
    let resp = router
        .clone()
        .oneshot(req.body(Body::empty()).expect("request"))
        .await
        .expect("response");
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 16)
        .await
        .expect("body");
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// Claims for the test app's verifier (issuer `iss`, audience `aud`).
fn raw_claims(sub: &str, role: &str, school: Option<&str>) -> Value {
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let mut c = json!({"sub": sub, "role": role, "iss": "iss", "aud": "aud", "exp": now + 600});
    if let Some(school) = school {
        c["school"] = json!(school);
    }
    c
}

#[tokio::test]
async fn an_audience_list_naming_us_is_accepted_by_every_extractor() {
    // Keycloak and others send `aud` as an array, e.g. ["account", "<client>"].
    let (router, idp, _dir) = app().await;
    let header = json!({"alg": "EdDSA", "typ": "JWT", "kid": "kc-1"});
    let listed = |mut claims: Value| {
        claims["aud"] = json!(["account", "aud"]);
        idp.sign_raw(&header, &claims)
    };
    let own = format!("/school/{SCHOOL}");
    for (path, token) in [
        ("/parent", listed(raw_claims(PARENT, "parent", None))),
        (&own, listed(raw_claims("d1", "director", Some(SCHOOL)))),
        (
            "/integration",
            listed(raw_claims("pep", "integration", None)),
        ),
    ] {
        assert_eq!(
            status(&router, path, Some(&token)).await,
            StatusCode::OK,
            "{path}"
        );
    }
}

#[tokio::test]
async fn each_refusal_answers_its_code_and_logs_one_line() {
    let (router, idp, _dir) = app().await;
    let log = Captured::default();
    let _guard = log.install();
    let header = json!({"alg": "EdDSA", "typ": "JWT", "kid": "kc-1"});
    let sign = |claims: &Value| format!("Bearer {}", idp.sign_raw(&header, claims));
    let parent = raw_claims(PARENT, "parent", None);
    let mut crit_header = header.clone();
    crit_header["crit"] = json!(["exp"]);
    let crit = format!("Bearer {}", idp.sign_raw(&crit_header, &parent));
    let mut expired = parent.clone();
    expired["exp"] = json!(1_000_000_000);
    let mut wrong_aud = parent.clone();
    wrong_aud["aud"] = json!(["account"]);
    let mut no_sub = parent.clone();
    no_sub.as_object_mut().expect("object").remove("sub");
    let staff_without_school = raw_claims("p2", "social_pedagogue", None);
    let not_an_iin = raw_claims("Гульнара", "parent", None);
    let own = format!("/school/{SCHOOL}");

    let cases: Vec<(&str, &str, Option<String>, &str, bool)> = vec![
        ("no header", "/parent", None, "token_missing", false),
        (
            "basic",
            "/parent",
            Some("Basic dXNlcjpwYXNz".into()),
            "token_malformed",
            false,
        ),
        (
            "garbage",
            "/parent",
            Some("Bearer garbage".into()),
            "token_malformed",
            false,
        ),
        ("crit", "/parent", Some(crit), "token_critical_header", true),
        (
            "expired",
            "/parent",
            Some(sign(&expired)),
            "token_expired",
            true,
        ),
        (
            "aud list without us",
            "/parent",
            Some(sign(&wrong_aud)),
            "token_audience",
            true,
        ),
        (
            "no sub",
            "/parent",
            Some(sign(&no_sub)),
            "token_claims",
            true,
        ),
        (
            "sub not an IIN",
            "/parent",
            Some(sign(&not_an_iin)),
            "token_claims",
            true,
        ),
        (
            "staff without school",
            &own,
            Some(sign(&staff_without_school)),
            "token_claims",
            true,
        ),
        (
            "integration: no token",
            "/integration",
            None,
            "token_missing",
            false,
        ),
        (
            "terminal: no token",
            "/terminal",
            None,
            "token_missing",
            false,
        ),
        (
            "terminal: unknown device token",
            "/terminal",
            Some("Bearer not-a-device-token".into()),
            "token_unknown",
            false,
        ),
    ];
    log.take();
    for (name, path, authorization, code, readable) in cases {
        let (status, body) = answer(&router, path, authorization.as_deref()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{name}: {body}");
        assert_eq!(body["error"]["code"], code, "{name}: {body}");
        let message = body["error"]["message"].as_str().expect("message");
        for leak in [
            "serde",
            "Error(",
            "missing field",
            "invalid type",
            "line ",
            "unknown variant",
        ] {
            assert!(!message.contains(leak), "{name}: {message}");
        }
        let logged = log.take();
        let lines: Vec<&str> = logged
            .lines()
            .filter(|l| l.contains("bearer token refused"))
            .collect();
        assert_eq!(lines.len(), 1, "{name}: one line per refusal: {logged}");
        let line = lines[0];
        assert!(line.contains(" INFO "), "{name}: at info: {line}");
        assert!(
            line.contains(&format!("reason=\"{code}\"")),
            "{name}: {line}"
        );
        if readable {
            assert!(line.contains("kid=\"kc-1\""), "{name}: {line}");
            assert!(line.contains("iss=\"iss\""), "{name}: {line}");
        } else {
            assert!(
                !line.contains("kid=") && !line.contains("iss="),
                "{name}: {line}"
            );
        }
        for secret in [
            PARENT,
            "Гульнара",
            "p2",
            "not-a-device-token",
            "dXNlcjpwYXNz",
        ] {
            assert!(!line.contains(secret), "{name}: {secret} logged: {line}");
        }
        if let Some(token) = authorization.as_deref().and_then(|a| a.split_once(' ')) {
            assert!(
                !line.contains(token.1),
                "{name}: the token is logged: {line}"
            );
        }
    }

    // What is not a refusal of the token is not logged as one: a valid token, a wrong role.
    let director = sign(&raw_claims("d1", "director", Some(SCHOOL)));
    assert_eq!(
        answer(&router, &own, Some(&director)).await.0,
        StatusCode::OK
    );
    assert_eq!(
        answer(&router, "/parent", Some(&director)).await.0,
        StatusCode::FORBIDDEN
    );
    assert!(!log.take().contains("bearer token refused"));
}
