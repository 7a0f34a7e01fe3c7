//! Scratch PostgreSQL databases for the store's tests and benches: each run creates its own
//! database on the server `TEST_DATABASE_URL` points at and drops it afterwards. Included with
//! `#[path]` by the store story, the meal-rule property test, the SQL statement test and the
//! benches, so the URL rule lives once.

/// The PostgreSQL server the tests use (`TEST_DATABASE_URL`), or `None`: `what` is then
/// skipped, unless `REQUIRE_POSTGRES` is set, which makes a missing URL a failure.
#[allow(dead_code)] // not every includer runs on PostgreSQL
pub fn admin_url(what: &str) -> Option<String> {
    let url = std::env::var("TEST_DATABASE_URL").ok();
    if url.is_none() {
        assert!(
            std::env::var("REQUIRE_POSTGRES").is_err(),
            "REQUIRE_POSTGRES is set but TEST_DATABASE_URL is not"
        );
        eprintln!("TEST_DATABASE_URL not set: skipping {what}");
    }
    url
}

/// Replaces the database name in a `postgres://…/name?params` URL.
pub fn database_url(admin_url: &str, name: &str) -> String {
    let (base, params) = match admin_url.split_once('?') {
        Some((b, p)) => (b, format!("?{p}")),
        None => (admin_url, String::new()),
    };
    let authority_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let root = match base[authority_end..].find('/') {
        Some(i) => &base[..authority_end + i],
        None => base,
    };
    format!("{root}/{name}{params}")
}

/// Creates a database `<prefix>_<uuid>` on the server at `admin_url`; returns its name and
/// URL. Drop it with [`drop_database`].
#[allow(dead_code)] // not every includer makes its own database yet
pub async fn create_database(admin_url: &str, prefix: &str) -> (String, String) {
    use sqlx::Connection as _;
    let name = format!("{prefix}_{}", uuid::Uuid::now_v7().simple());
    let mut admin = sqlx::PgConnection::connect(admin_url)
        .await
        .expect("connect admin");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .expect("create database");
    let url = database_url(admin_url, &name);
    (name, url)
}

/// Drops a database made by [`create_database`], ending the connections still open to it.
#[allow(dead_code)]
pub async fn drop_database(admin_url: &str, name: &str) -> Result<(), sqlx::Error> {
    use sqlx::Connection as _;
    let mut admin = sqlx::PgConnection::connect(admin_url).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE {name} WITH (FORCE)"
    )))
    .execute(&mut admin)
    .await?;
    Ok(())
}
