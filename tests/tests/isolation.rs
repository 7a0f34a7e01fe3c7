//! End to end: who may touch what (DESIGN §7.1, "Who may call what"), against the real
//! `wallet-server --demo`.
//!
//! One data-driven table lists every wallet, school, integration and public route; each row
//! is tried by every kind of caller:
//!
//! - a parent on another parent's child's voucher gets a `404` byte-identical to the `404`
//!   of a random nonexistent voucher id (and of a malformed one): never a hint it exists;
//! - school staff on another school's BIN get a `404` byte-identical to that of a BIN no
//!   school has (and of a malformed one);
//! - a role on another audience's route gets `403`; no token or a garbage token, `401`;
//! - after all the refused calls nothing changed (both parents' wallets, both schools'
//!   voucher lists, the outbox), and then the rightful owner's same call succeeds, so the
//!   refusals are not just a broken route.
//!
//! Adding a route means adding a row to [`routes`].

mod common;

use reqwest::Method;
use serde_json::{json, Value};
use shared::VoucherId;

use common::wallet::{self as w, demo};
use common::{Resp, Server, DEMO_SCHOOL_BIN, OTHER_SCHOOL_BIN};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Audience {
    /// Anyone, signed in or not.
    Public,
    /// Parents (role `parent`), on vouchers of children they represent.
    Wallet,
    /// School staff (`social_pedagogue`, `director`) of the school in the path.
    School,
    /// Integrations (role `integration`).
    Integration,
}

/// The request body a route takes.
#[derive(Debug, Clone, Copy)]
enum Body {
    None,
    /// A rating with a complaint: would add to the outbox if accepted.
    Feedback,
    /// Binds a card to a student of the target school: would show in its voucher list.
    Card,
    /// An eligibility list of the target school with no students: would revoke every
    /// voucher of the school if accepted.
    List,
}

/// One route. `{id}` in the path is a voucher id, `{bin}` a school's BIN.
#[derive(Debug, Clone)]
struct Route {
    method: Method,
    path: &'static str,
    audience: Audience,
    /// `Accept` header, for the pass formats.
    accept: Option<&'static str>,
    body: Body,
    /// What the rightful owner gets for the same call (the control, run last).
    owner_status: u16,
}

impl Route {
    fn new(method: Method, path: &'static str, audience: Audience, owner_status: u16) -> Route {
        Route {
            method,
            path,
            audience,
            accept: None,
            body: Body::None,
            owner_status,
        }
    }

    fn accept(mut self, accept: &'static str) -> Route {
        self.accept = Some(accept);
        self
    }

    fn body(mut self, body: Body) -> Route {
        self.body = body;
        self
    }

    fn name(&self) -> String {
        match self.accept {
            Some(accept) => format!("{} {} [{accept}]", self.method, self.path),
            None => format!("{} {}", self.method, self.path),
        }
    }
}

/// Every route under test. The order matters only for the owner's controls at the end
/// (activate before minting).
fn routes() -> Vec<Route> {
    use Audience::*;
    use Method as M;
    vec![
        Route::new(M::GET, "/v1/wallet/vouchers", Wallet, 200),
        Route::new(M::POST, "/v1/wallet/vouchers/{id}/activate", Wallet, 200),
        Route::new(M::POST, "/v1/wallet/vouchers/{id}/passes", Wallet, 200),
        Route::new(M::POST, "/v1/wallet/vouchers/{id}/passes", Wallet, 200)
            .accept("application/json"),
        Route::new(M::POST, "/v1/wallet/vouchers/{id}/passes", Wallet, 200).accept("image/png"),
        Route::new(M::POST, "/v1/wallet/vouchers/{id}/passes", Wallet, 200).accept("image/svg+xml"),
        Route::new(M::POST, "/v1/wallet/vouchers/{id}/passes", Wallet, 200).accept("image/*"),
        Route::new(M::POST, "/v1/wallet/vouchers/{id}/passes", Wallet, 406).accept("text/html"),
        Route::new(M::GET, "/v1/wallet/vouchers/{id}/history", Wallet, 200),
        Route::new(M::POST, "/v1/wallet/vouchers/{id}/feedback", Wallet, 201).body(Body::Feedback),
        Route::new(M::GET, "/v1/schools/{bin}/vouchers", School, 200),
        Route::new(M::POST, "/v1/schools/{bin}/cards", School, 200).body(Body::Card),
        Route::new(M::POST, "/v1/schools/{bin}/terminals", School, 201),
        Route::new(M::GET, "/v1/schools/{bin}/terminals", School, 200),
        Route::new(M::GET, "/v1/schools/{bin}/meal-slots", School, 200),
        Route::new(M::GET, "/v1/schools/{bin}/tabel?month=2026-09", School, 200),
        Route::new(
            M::GET,
            "/v1/schools/{bin}/tabel?month=2026-09&format=pdf",
            School,
            200,
        ),
        Route::new(
            M::POST,
            "/v1/integration/eligibility-lists",
            Integration,
            200,
        )
        .body(Body::List),
        Route::new(M::GET, "/v1/integration/outbox", Integration, 200),
        Route::new(M::GET, "/v1/integration/outbox?limit=5", Integration, 200),
        Route::new(
            M::GET,
            "/v1/integration/reports/daily?date=2026-09-01",
            Integration,
            200,
        ),
        Route::new(M::GET, "/v1/integration/consents", Integration, 200),
        Route::new(M::GET, "/v1/integration/jobs", Integration, 200),
        Route::new(M::GET, "/v1/pass-keys", Public, 200),
    ]
}

/// Who calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caller {
    Anonymous,
    GarbageToken,
    /// Parent A: the demo mother of Айгерим and Нурлан.
    Parent,
    /// Staff of school X (the demo school).
    Pedagogue,
    Director,
    Integration,
}

const CALLERS: &[Caller] = &[
    Caller::Anonymous,
    Caller::GarbageToken,
    Caller::Parent,
    Caller::Pedagogue,
    Caller::Director,
    Caller::Integration,
];

/// What the test knows of the world.
struct World {
    /// Parent A: the demo mother of Айгерим.
    parent_a: String,
    /// Parent B (Ким Ольга), whose child Дана's voucher A tries to reach.
    parent_b: String,
    voucher_b: String,
    /// Омарова, whose son Тимур is at school Y.
    parent_y: String,
    staff_x: String,
    director_x: String,
    staff_y: String,
    integration: String,
}

impl World {
    async fn new(server: &Server) -> World {
        let parent_b = server.parent_token(&demo::kim_mother().expose()).await;
        let voucher_b = w::voucher_ids(&w::wallet(server, &parent_b).await)
            .pop()
            .expect("Дана has a voucher");
        World {
            parent_a: server.parent_token(&demo::mother().expose()).await,
            parent_b,
            voucher_b,
            parent_y: server.parent_token(&demo::omarova().expose()).await,
            staff_x: server
                .staff_token("social_pedagogue", DEMO_SCHOOL_BIN)
                .await,
            director_x: server.staff_token("director", DEMO_SCHOOL_BIN).await,
            staff_y: server
                .staff_token("social_pedagogue", OTHER_SCHOOL_BIN)
                .await,
            integration: server.integration_token().await,
        }
    }

    fn token(&self, caller: Caller) -> Option<&str> {
        match caller {
            Caller::Anonymous => None,
            Caller::GarbageToken => Some("garbage.token.here"),
            Caller::Parent => Some(&self.parent_a),
            Caller::Pedagogue => Some(&self.staff_x),
            Caller::Director => Some(&self.director_x),
            Caller::Integration => Some(&self.integration),
        }
    }
}

/// The body of a route aimed at school `bin` and its `student` (for cards and lists).
fn body_for(route: &Route, bin: &str, student: &str) -> Option<Value> {
    match route.body {
        Body::None => None,
        Body::Feedback => Some(json!({"rating": 1, "complaint": "Суп был холодный"})),
        Body::Card => Some(json!({"student_iin": student, "card_uid": "0A1B2C3D4E"})),
        Body::List => Some(w::list(bin, "Чужая школа", &current_period(), vec![])),
    }
}

/// This month (Astana): a list for it always has a school year.
fn current_period() -> String {
    let today = common::story_now().to_offset(w::ASTANA).date();
    format!("{:04}-{:02}", today.year(), u8::from(today.month()))
}

/// Calls `route` with the voucher `id`, the school `bin` and (in bodies) the `student`.
async fn call(
    server: &Server,
    route: &Route,
    token: Option<&str>,
    id: &str,
    bin: &str,
    student: &str,
) -> Resp {
    let path = route.path.replace("{id}", id).replace("{bin}", bin);
    let mut req = server.builder(route.method.clone(), &path);
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    if let Some(accept) = route.accept {
        req = req.header("accept", accept);
    }
    if let Some(body) = body_for(route, bin, student) {
        req = req.json(&body);
    }
    server
        .send(
            req,
            &format!("{} {path} [{:?}]", route.method, route.accept),
        )
        .await
}

/// The same answer, byte for byte: status, content type, body.
fn assert_same(a: &Resp, b: &Resp, context: &str) {
    assert_eq!(
        (a.status, &a.content_type, &a.bytes),
        (b.status, &b.content_type, &b.bytes),
        "{context}: `{}` and `{}` answer differently:\n{}\n{}",
        a.what,
        b.what,
        a.text,
        b.text
    );
}

/// Everything the refused calls could have changed.
async fn state(server: &Server, world: &World) -> Value {
    json!({
        "wallet_a": w::wallet(server, &world.parent_a).await,
        "wallet_b": w::wallet(server, &world.parent_b).await,
        "wallet_y": w::wallet(server, &world.parent_y).await,
        "school_x": w::school_view(server, DEMO_SCHOOL_BIN).await,
        "school_y": w::school_view(server, OTHER_SCHOOL_BIN).await,
        "outbox": w::outbox(server).await,
    })
}

/// Malformed voucher ids and BINs: they must answer exactly like well-formed unknown ones.
const MALFORMED: &[&str] = &[
    "not-a-uuid",
    "123",
    "..%2F..%2Fhealthz",
    "%20",
    "00000000-0000-0000-0000-00000000000g",
];

#[tokio::test]
async fn every_route_refuses_every_caller_it_does_not_belong_to_and_nothing_changes() {
    let data = tests::private_tempdir();
    let server = Server::demo(data.path());
    // The owners' controls mint passes: the vouchers must be valid today.
    let _term = w::Term::enter(&server).await;
    let world = World::new(&server).await;
    let timur = demo::timur().expose();
    let before = state(&server, &world).await;
    assert_eq!(
        w::find_voucher(&before["wallet_b"], &world.voucher_b)["state"],
        "formed",
        "Дана's voucher"
    );

    // A's list holds her own child's voucher only: none of B's, none of school Y's.
    let wallet_a = &before["wallet_a"];
    let ids_a = w::voucher_ids(wallet_a);
    assert_eq!(ids_a.len(), 1, "{wallet_a:#}");
    assert_eq!(
        wallet_a["vouchers"][0]["student"]["full_name"],
        "Сапарова Айгерим Ерлановна"
    );
    let foreign_ids: Vec<String> = w::voucher_ids(&before["wallet_b"])
        .into_iter()
        .chain(w::voucher_ids(&before["wallet_y"]))
        .chain(w::voucher_ids(&before["school_y"]))
        .collect();
    assert!(foreign_ids.contains(&world.voucher_b));
    for foreign in &foreign_ids {
        assert!(
            !wallet_a.to_string().contains(foreign.as_str()),
            "A's list mentions {foreign}: {wallet_a:#}"
        );
    }
    assert!(!wallet_a.to_string().contains(OTHER_SCHOOL_BIN));

    let unknown_bin = w::bin([0, 1, 0, 1, 4, 0, 0, 0, 9, 9, 0]).to_string();
    let random_id = VoucherId::new().to_string();
    for route in routes() {
        for &caller in CALLERS {
            let token = world.token(caller);
            let context = format!("{} as {caller:?}", route.name());
            if caller == Caller::Integration && matches!(route.body, Body::List) {
                // The integration may send lists: that is the owner's control below.
                continue;
            }
            // Aimed at the victims: B's voucher, school Y and its student Тимур.
            let foreign = call(
                &server,
                &route,
                token,
                &world.voucher_b,
                OTHER_SCHOOL_BIN,
                &timur,
            )
            .await;
            match (caller, route.audience) {
                (_, Audience::Public) => {
                    assert_eq!(foreign.status, 200, "{context}: {}", foreign.text)
                }
                (Caller::Anonymous, _) => foreign.assert_error(401, "token_missing"),
                (Caller::GarbageToken, _) => foreign.assert_error(401, "token_malformed"),
                (Caller::Parent, Audience::Wallet) if route.path.contains("{id}") => {
                    // Not hers, nonexistent and malformed: one and the same answer. (A format
                    // we do not make is refused whoever's the voucher: 406 for both kinds of
                    // well-formed id; a malformed one may be refused earlier, for what it is.)
                    let malformed: &[&str] = if route.owner_status == 406 {
                        foreign.assert_error(406, "not_acceptable");
                        &[]
                    } else {
                        foreign.assert_error(404, "not_found");
                        MALFORMED
                    };
                    for other in
                        std::iter::once(random_id.as_str()).chain(malformed.iter().copied())
                    {
                        let unknown =
                            call(&server, &route, token, other, OTHER_SCHOOL_BIN, &timur).await;
                        assert_same(&foreign, &unknown, &context);
                    }
                }
                (Caller::Parent, Audience::Wallet) => {
                    // The list: her own vouchers, nothing of B's.
                    let list = foreign.ok_json();
                    assert_eq!(w::voucher_ids(&list), ids_a, "{context}");
                }
                (Caller::Pedagogue | Caller::Director, Audience::School) => {
                    // Another school, a school that does not exist, a malformed BIN: the same.
                    foreign.assert_error(404, "not_found");
                    for other in
                        std::iter::once(unknown_bin.as_str()).chain(MALFORMED.iter().copied())
                    {
                        let unknown =
                            call(&server, &route, token, &world.voucher_b, other, &timur).await;
                        assert_same(&foreign, &unknown, &context);
                    }
                }
                (Caller::Integration, Audience::Integration) => {
                    assert_eq!(foreign.status, 200, "{context}: {}", foreign.text);
                }
                _ => foreign.assert_error(403, "forbidden"),
            }
        }
    }

    let after = state(&server, &world).await;
    assert_eq!(after, before, "refused calls changed the state");

    // Controls: the rightful owners' same calls succeed, so the refusals above were not a
    // broken route. A list goes to a school of its own, so the control revokes nothing.
    let fresh_bin = w::bin([0, 1, 0, 1, 4, 0, 0, 0, 7, 7, 0]).to_string();
    for route in routes() {
        let (token, id, bin) = match route.audience {
            Audience::Public => (None, "", ""),
            Audience::Wallet => (Some(world.parent_b.as_str()), world.voucher_b.as_str(), ""),
            Audience::School => (Some(world.staff_y.as_str()), "", OTHER_SCHOOL_BIN),
            Audience::Integration => (Some(world.integration.as_str()), "", fresh_bin.as_str()),
        };
        let resp = call(&server, &route, token, id, bin, &timur).await;
        assert_eq!(
            resp.status,
            route.owner_status,
            "owner's {}: {}",
            route.name(),
            resp.text
        );
    }
    // The owners' calls did what they say: B's voucher is activated and her complaint
    // queued, Тимур has the card; A's wallet is as it was.
    let wallet_b = w::wallet(&server, &world.parent_b).await;
    assert_eq!(
        w::find_voucher(&wallet_b, &world.voucher_b)["state"],
        "activated"
    );
    let school_y = w::school_view(&server, OTHER_SCHOOL_BIN).await;
    assert_eq!(school_y["vouchers"][0]["student"]["card_uid"], "0A1B2C3D4E");
    let outbox = w::outbox(&server).await;
    assert!(outbox.to_string().contains(&world.voucher_b), "{outbox:#}");
    assert_eq!(
        w::wallet(&server, &world.parent_a).await,
        before["wallet_a"]
    );
}

/// A path segment that is not UTF-8 once percent-decoded (`%FF`) is just another malformed
/// voucher id or BIN: the same JSON answer as any other malformed one (`not-a-uuid`).
/// (Regression: axum's own path rejection once answered `400 text/plain`.)
#[tokio::test]
async fn a_non_utf8_id_or_bin_answers_like_any_other_malformed_one() {
    let data = tests::private_tempdir();
    let server = Server::demo(data.path());
    let world = World::new(&server).await;
    let mut wrong = Vec::new();
    for route in routes() {
        let caller = match route.audience {
            Audience::Wallet if route.path.contains("{id}") => Caller::Parent,
            Audience::School => Caller::Pedagogue,
            _ => continue,
        };
        let unknown = "not-a-uuid-nor-a-bin";
        let token = world.token(caller);
        let expected = call(&server, &route, token, unknown, unknown, "").await;
        let got = call(&server, &route, token, "%FF", "%FF", "").await;
        if (got.status, &got.content_type, &got.bytes)
            != (expected.status, &expected.content_type, &expected.bytes)
        {
            wrong.push(format!(
                "{}: {} {:?} {:?} (other malformed ids: {} {})",
                route.name(),
                got.status,
                got.content_type,
                got.text,
                expected.status,
                expected.text
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "non-UTF-8 path segments:\n{}",
        wrong.join("\n")
    );
}

/// The list is the source of truth for who represents a child: a representative dropped
/// from a later list for the same school and period no longer reaches the child's voucher.
/// (Regression: the intake once only ever added links, so a parent removed from the list —
/// e.g. after losing custody — kept seeing the voucher and minting passes for the child.)
#[tokio::test]
async fn a_representative_dropped_from_the_list_loses_access() {
    let data = tests::private_tempdir();
    let server = Server::demo(data.path());
    let term = w::Term::enter(&server).await;
    let bin = w::bin([0, 2, 0, 2, 4, 0, 0, 0, 3, 1, 0]).to_string();
    let kid = w::iin(2019, time::Month::May, 5, shared::Sex::Male, 2001).expose();
    let mum = w::iin(1991, time::Month::June, 6, shared::Sex::Female, 2001).expose();
    let dad = w::iin(1989, time::Month::July, 7, shared::Sex::Male, 2001).expose();
    let row = |reps: Vec<Value>| w::student(&kid, "Асанов Ерасыл", 1, "1А", "primary", reps);
    let both = vec![
        w::rep(&mum, "Асанова Мадина", "mother", None),
        w::rep(&dad, "Асанов Бекзат", "father", None),
    ];
    let first = w::list(&bin, "Школа №7", &term.period(), vec![row(both)]);
    let answer = w::send_list(&server, &first).await.ok_json();
    let voucher = answer["accepted"][0]["voucher_id"]
        .as_str()
        .unwrap_or_else(|| panic!("no voucher: {answer}"))
        .to_string();
    let dad_token = server.parent_token(&dad).await;
    let mum_token = server.parent_token(&mum).await;
    assert_eq!(
        w::voucher_ids(&w::wallet(&server, &dad_token).await),
        [voucher.as_str()]
    );

    // The next list for the same school and period names only the mother.
    let second = w::list(
        &bin,
        "Школа №7",
        &term.period(),
        vec![row(vec![w::rep(&mum, "Асанова Мадина", "mother", None)])],
    );
    let answer = w::send_list(&server, &second).await.ok_json();
    assert_eq!(answer["revoked"], 0, "{answer}");
    assert_eq!(answer["accepted"][0]["voucher_id"], voucher.as_str());
    assert_eq!(
        w::voucher_ids(&w::wallet(&server, &mum_token).await),
        [voucher.as_str()]
    );

    let dads_wallet = w::wallet(&server, &dad_token).await;
    let dads_activation = w::activate(&server, &dad_token, &voucher).await;
    let dads_history = server
        .get(
            &format!("/v1/wallet/vouchers/{voucher}/history"),
            Some(&dad_token),
        )
        .await;
    assert_eq!(
        dads_wallet,
        json!({"vouchers": []}),
        "a representative dropped from the list still sees the child's voucher"
    );
    dads_activation.assert_error(404, "not_found");
    dads_history.assert_error(404, "not_found");
}
