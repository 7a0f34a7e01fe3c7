//! The server's layers, checked: each top-level module of `src/` may name only the modules
//! below it (DESIGN §2, ARCHITECTURE.md "Layers"). An arrow pointing up — the store naming a
//! service type, a service taking the web's state — fails here with the file and the path.
//!
//! It reads the source: every `crate::<module>` path a file mentions is an arrow from the
//! file's layer to that module's layer. `use super::…` stays inside a layer by construction.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Each layer and the layers it may name, bottom to top.
const LAYERS: &[(&str, &[&str])] = &[
    ("domain", &[]),
    ("metrics", &["domain"]),
    ("store", &["domain"]),
    ("ports", &["domain", "store", "metrics"]),
    ("services", &["domain", "store", "ports"]),
    ("jobs", &["domain", "store", "ports", "services"]),
    ("demo", &["domain", "store", "ports", "services"]),
    ("config", &["domain", "ports", "services"]),
    (
        "web/api",
        &[
            "domain", "store", "ports", "services", "jobs", "metrics", "config", "web",
        ],
    ),
    (
        "web/console",
        &[
            "domain", "store", "ports", "services", "demo", "config", "web", "web/api",
        ],
    ),
    (
        "web",
        &[
            "domain",
            "store",
            "ports",
            "services",
            "metrics",
            "config",
            "web/api",
            "web/console",
        ],
    ),
    ("app", &["*"]),
    ("main", &["*"]),
    ("lib", &["*"]),
];

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The layer of a file (`src/web/api/…` → `web/api`) or of a path (`crate::web::auth` → `web`).
fn layer_of(segments: &[&str]) -> String {
    let top = segments[0].trim_end_matches(".rs");
    match (top, segments.get(1).map(|s| s.trim_end_matches(".rs"))) {
        ("web", Some(sub @ ("api" | "console"))) => format!("web/{sub}"),
        _ => top.to_string(),
    }
}

fn allowed(from: &str, to: &str) -> bool {
    let rules: BTreeMap<&str, &[&str]> = LAYERS.iter().copied().collect();
    let Some(may) = rules.get(from) else {
        panic!("layer {from:?} is not in LAYERS: say where it sits");
    };
    from == to || may.contains(&"*") || may.contains(&to)
}

/// Every `crate::a::b` path in `text`, as its first two segments.
fn crate_paths(text: &str) -> Vec<(String, Option<String>)> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("crate::") {
        let before = rest[..at].chars().last();
        rest = &rest[at + "crate::".len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue; // `wallet_server::…`-like identifiers ending in "crate"
        }
        let ident = |s: &str| -> String {
            s.chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect()
        };
        let first = ident(rest);
        let second = rest[first.len()..]
            .strip_prefix("::")
            .map(ident)
            .filter(|s| !s.is_empty());
        if !first.is_empty() {
            found.push((first, second));
        }
    }
    found
}

#[test]
fn every_arrow_points_down() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    assert!(files.len() > 100, "found only {} source files", files.len());
    let mut wrong = Vec::new();
    let mut arrows = 0;
    for file in &files {
        let rel = file.strip_prefix(&src).expect("under src");
        let segments: Vec<&str> = rel.iter().map(|s| s.to_str().expect("utf-8")).collect();
        let from = layer_of(&segments);
        let text = std::fs::read_to_string(file).expect("read");
        for (first, second) in crate_paths(&text) {
            let path: Vec<&str> = std::iter::once(first.as_str())
                .chain(second.as_deref())
                .collect();
            let to = layer_of(&path);
            arrows += 1;
            if !allowed(&from, &to) {
                wrong.push(format!(
                    "{}: {from} → {to} (crate::{})",
                    rel.display(),
                    path.join("::")
                ));
            }
        }
    }
    assert!(
        arrows > 400,
        "found only {arrows} crate paths: is the scan broken?"
    );
    assert!(
        wrong.is_empty(),
        "arrows pointing up or sideways:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_scan_sees_an_upward_arrow() {
    let paths = crate_paths("use crate::web::AppState;\nfn f() { crate::services::x(); }");
    let from_store: Vec<bool> = paths
        .iter()
        .map(|(a, b)| {
            let p: Vec<&str> = std::iter::once(a.as_str()).chain(b.as_deref()).collect();
            allowed("store", &layer_of(&p))
        })
        .collect();
    assert_eq!(from_store, [false, false]);
    assert!(allowed("services", "store") && !allowed("domain", "store"));
}
