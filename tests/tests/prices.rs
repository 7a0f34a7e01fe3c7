//! Meal prices: the customer's integration sets a school's price, the табель multiplies by it;
//! nobody else may set it, and a price that cannot be right is refused.

mod common;

use common::Server;
use serde_json::json;

const SCHOOL: &str = "050140001238";

#[tokio::test]
async fn a_schools_price_is_set_by_the_integration_and_used_by_the_tabel() {
    let data = tests::private_tempdir();
    let server = Server::demo(data.path());
    let integration = server.integration_token().await;
    let staff = server.staff_token("social_pedagogue", SCHOOL).await;
    let parent = server.parent_token("880512412342").await;
    let put = |token: Option<String>, bin: &'static str, price: serde_json::Value| {
        let server = &server;
        async move {
            server
                .request(
                    reqwest::Method::PUT,
                    &format!("/v1/integration/schools/{bin}/meal-price"),
                    token.as_deref(),
                    Some(&price),
                )
                .await
        }
    };
    let month = {
        let today = common::story_now()
            .to_offset(time::macros::offset!(+5))
            .date();
        format!("{:04}-{:02}", today.year(), u8::from(today.month()))
    };
    assert_eq!(
        tabel_price(&server, &staff, &month).await,
        80_000,
        "the default"
    );

    let set = put(
        Some(integration.clone()),
        SCHOOL,
        json!({"price_tiyn": 95_050}),
    )
    .await;
    let body = set.ok_json();
    assert_eq!(
        (body["bin"].as_str(), body["price_tiyn"].as_i64()),
        (Some(SCHOOL), Some(95_050))
    );
    assert_eq!(tabel_price(&server, &staff, &month).await, 95_050);

    // Refused, and nothing changes.
    put(Some(integration.clone()), SCHOOL, json!({"price_tiyn": -1}))
        .await
        .assert_error(422, "invalid_price");
    put(
        Some(integration.clone()),
        SCHOOL,
        json!({"price_tiyn": 100_000_000}),
    )
    .await
    .assert_error(422, "invalid_price");
    put(Some(integration.clone()), SCHOOL, json!({"price": 1}))
        .await
        .assert_error(422, "invalid_body");
    put(
        Some(integration.clone()),
        "990340001230",
        json!({"price_tiyn": 1}),
    )
    .await
    .assert_error(404, "not_found");
    put(Some(staff.clone()), SCHOOL, json!({"price_tiyn": 1}))
        .await
        .assert_error(403, "forbidden");
    put(Some(parent), SCHOOL, json!({"price_tiyn": 1}))
        .await
        .assert_error(403, "forbidden");
    put(None, SCHOOL, json!({"price_tiyn": 1}))
        .await
        .assert_error(401, "token_missing");
    assert_eq!(tabel_price(&server, &staff, &month).await, 95_050);
}

async fn tabel_price(server: &Server, staff: &str, month: &str) -> i64 {
    let t = server
        .get(
            &format!("/v1/schools/{SCHOOL}/tabel?month={month}"),
            Some(staff),
        )
        .await;
    t.ok_json()["totals"]["meal_price_tiyn"]
        .as_i64()
        .expect("price")
}
