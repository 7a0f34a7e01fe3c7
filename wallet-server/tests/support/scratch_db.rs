//! Scratch PostgreSQL databases for the store's tests and benches: each run creates its own
//! database on the server `TEST_DATABASE_URL` points at and drops it afterwards. Included with
//! `#[path]` by the store story, the meal-rule property test and the benches, so the URL rule
//! lives once.

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
