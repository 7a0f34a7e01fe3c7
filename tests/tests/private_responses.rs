//! Personal data is never kept by a browser or a proxy, nor sniffed as another type: every
//! GET route of the OpenAPI document, called as its audience would call it, and the
//! console's pages and downloads answer `Cache-Control: no-store` and
//! `X-Content-Type-Options: nosniff`. Walking the document means a new route is checked
//! without anyone remembering to add it here.

mod common;
mod console_support;

use serde_json::{json, Value};

use common::wallet::{self as w, Term};
use common::{Resp, Server, DEMO_PARENT_IIN, DEMO_SCHOOL_BIN};
use console_support::Console;

/// The tokens of each audience, and values for the parameters routes take.
struct Callers {
    parent: String,
    director: String,
    integration: String,
    /// The gas provider's system.
    provider: String,
    terminal: String,
    voucher: String,
    month: String,
    today: String,
}

impl Callers {
    async fn new(server: &Server) -> Callers {
        let term = Term::enter(server).await;
        let parent = server.parent_token(DEMO_PARENT_IIN).await;
        let wallet = w::wallet(server, &parent).await;
        let voucher = wallet["vouchers"][0]["id"]
            .as_str()
            .expect("a demo voucher")
            .to_string();
        let director = server.staff_token("director", DEMO_SCHOOL_BIN).await;
        let code = server
            .post_json(
                &format!("/v1/schools/{DEMO_SCHOOL_BIN}/terminals"),
                Some(&director),
                &json!({}),
            )
            .await
            .json()["code"]
            .as_str()
            .expect("code")
            .to_string();
        let enrolled = server
            .post_json("/v1/terminals/enroll", None, &json!({"code": code}))
            .await
            .ok_json();
        Callers {
            parent,
            integration: server.integration_token().await,
            provider: server
                .dev_token(&json!({"sub": "qazaqgaz", "role": "provider"}))
                .await,
            terminal: enrolled["token"].as_str().expect("token").to_string(),
            director,
            voucher,
            month: term.period(),
            today: term.today().to_string(),
        }
    }

    /// The token of the audience a route's tag names (`None`: a public route).
    fn token(&self, tag: &str) -> Option<&str> {
        match tag {
            "wallet" => Some(&self.parent),
            "school" => Some(&self.director),
            "integration" => Some(&self.integration),
            "terminal" => Some(&self.terminal),
            "provider" => Some(&self.provider),
            "ops" => None,
            other => panic!("a route tagged {other:?}: say here who calls it"),
        }
    }

    /// A value for a required parameter, by name.
    fn value(&self, name: &str) -> String {
        match name {
            "bin" => DEMO_SCHOOL_BIN.into(),
            "id" => self.voucher.clone(),
            "month" => self.month.clone(),
            "date" | "day" => self.today.clone(),
            other => panic!("a required parameter {other:?}: give it a value here"),
        }
    }
}

fn assert_private(what: &str, status: u16, header: impl Fn(&str) -> Option<String>) {
    assert_eq!(
        header("cache-control").as_deref(),
        Some("no-store"),
        "{what} ({status}) may be cached"
    );
    assert_eq!(
        header("x-content-type-options").as_deref(),
        Some("nosniff"),
        "{what} ({status}) may be sniffed"
    );
}

fn checked(resp: &Resp) {
    assert!(
        (200..300).contains(&resp.status),
        "{} answered {}: {}",
        resp.what,
        resp.status,
        resp.text
    );
    assert_private(&resp.what, resp.status, |h| {
        resp.header(h).map(str::to_string)
    });
}

/// The URL of a GET operation with its path and required query parameters filled in.
fn url_of(path: &str, op: &Value, callers: &Callers) -> String {
    let mut url = path.to_string();
    let mut query = Vec::new();
    for p in op["parameters"].as_array().into_iter().flatten() {
        let name = p["name"].as_str().expect("parameter name");
        match p["in"].as_str() {
            Some("path") => url = url.replace(&format!("{{{name}}}"), &callers.value(name)),
            Some("query") if p["required"] == true => {
                query.push(format!("{name}={}", callers.value(name)))
            }
            _ => {}
        }
    }
    if query.is_empty() {
        url
    } else {
        format!("{url}?{}", query.join("&"))
    }
}

#[tokio::test]
async fn no_answer_with_personal_data_is_cached_or_sniffed() {
    let dir = tests::private_tempdir();
    let server = Server::demo(dir.path());
    let callers = Callers::new(&server).await;
    let doc = server.get("/openapi.json", None).await.ok_json();
    let mut routes = 0;
    for (path, item) in doc["paths"].as_object().expect("paths") {
        let Some(op) = item.get("get") else { continue };
        let tag = op["tags"][0].as_str().unwrap_or("ops");
        let url = url_of(path, op, &callers);
        checked(&server.get(&url, callers.token(tag)).await);
        routes += 1;
    }
    assert!(routes >= 17, "only {routes} GET routes in the document");
    // The табель's downloads, one per format.
    for format in ["csv", "xlsx", "pdf"] {
        let url = format!(
            "/v1/schools/{DEMO_SCHOOL_BIN}/tabel?month={}&format={format}",
            callers.month
        );
        checked(&server.get(&url, Some(&callers.director)).await);
    }
    // Errors echo input and are private too.
    let refused = server.get("/v1/wallet/vouchers", None).await;
    assert_eq!(refused.status, 401);
    assert_private("a refusal", refused.status, |h| {
        refused.header(h).map(str::to_string)
    });

    // The console: a page, the students export and the табель download.
    let console = Console::sign_in(&server, "director", DEMO_SCHOOL_BIN).await;
    let base = format!("/console/schools/{DEMO_SCHOOL_BIN}");
    for path in [
        format!("{base}/students"),
        format!("{base}/students.csv"),
        format!("{base}/signals"),
        format!("{base}/tabel/download?month={}&format=csv", callers.month),
    ] {
        let page = console.get(&path).await;
        assert_eq!(page.status, 200, "{path}: {}", page.body);
        assert_private(&path, page.status, |h| {
            page.headers
                .get(h)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        });
    }
    // The stylesheet keeps its own policy: it holds nothing personal.
    let css = console.get("/console/assets/console.css").await;
    assert_eq!(
        css.headers
            .get("cache-control")
            .and_then(|v| v.to_str().ok()),
        Some("max-age=3600")
    );
}
