//! The least-privilege matrix: every audience's extractor against every role's token.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::routing::get;
use axum::Router;
use shared::time::SystemClock;
use time::OffsetDateTime;
use tower::ServiceExt;

use super::{DevIdentityProvider, Integration, Parent, Role, SchoolStaff};
use crate::domain::voucher::SchoolYearRule;
use crate::metrics::Metrics;
use crate::store::SqliteStore;
use crate::web::error::ApiError;
use crate::web::AppState;

const SCHOOL: &str = "050140001238";
const OTHER_SCHOOL: &str = "070240004567";
const PARENT: &str = "880512412342";

async fn app() -> (Router, DevIdentityProvider, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open_file(&dir.path().join("w.db"))
        .await
        .expect("store");
    let (idp, verifier) = DevIdentityProvider::generate("iss", "aud").expect("key");
    let state = AppState {
        store: Arc::new(store),
        clock: Arc::new(SystemClock),
        verifier: Arc::new(verifier),
        metrics: Arc::new(Metrics::new()),
        school_year: SchoolYearRule::default(),
        programme_dates: crate::domain::programme_dates::ProgrammeDates::pilot_2026(),
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
        enrollment_code_ttl: time::Duration::hours(1),
        meal_price_tiyn: 80_000,
        demo: None,
        ports: Default::default(),
        console: Default::default(),
    };
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
