//! Tests of the pass key ring: persistence, permissions, rotation, pruning, reload.

use std::os::unix::fs::PermissionsExt;

use shared::pass::{verify, PassClaims, PassError};
use shared::{Bin, VoucherId};
use time::macros::datetime;

use super::*;
use std::fs;

const T0: OffsetDateTime = datetime!(2026-09-01 03:00 UTC);

fn key_path(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("data").join("pass-keys.json")
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).expect("metadata").permissions().mode() & 0o777
}

fn chmod(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).expect("chmod");
}

/// A pass valid for an hour from `at`.
fn mint(signer: &PassSigner, at: OffsetDateTime) -> String {
    let claims = PassClaims {
        voucher_id: VoucherId::new(),
        school: "990340001230".parse::<Bin>().expect("valid BIN"),
        valid_from: at,
        valid_until: at + Duration::hours(1),
        nonce: signer.nonce().expect("nonce"),
    };
    signer.mint(&claims).expect("mint")
}

fn pkcs8_strings(path: &Path) -> Vec<String> {
    let file: serde_json::Value =
        serde_json::from_slice(&fs::read(path).expect("read")).expect("json");
    file["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .map(|k| k["pkcs8"].as_str().expect("pkcs8").to_string())
        .collect()
}

#[test]
fn creates_an_owner_only_file_with_one_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = key_path(&dir);
    let ring = PassKeyRing::load_or_create(&path, T0).expect("created");
    assert_eq!(mode(&path), 0o600, "key file is owner-only");
    assert_eq!(
        mode(path.parent().expect("dir")),
        0o700,
        "new directory too"
    );
    let keys = ring.keys();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].kid, ring.current().kid());
    assert_eq!(keys[0].created_at, T0);
    assert_eq!(keys[0].retired_at, None);
    assert!(keys[0].current);
    assert_eq!(ring.key_set().len(), 1);
    assert_eq!(ring.published().len(), 1);
    assert_eq!(ring.published()[0].kid, ring.current().kid().to_string());
    // No temporary file is left behind.
    let names: Vec<_> = fs::read_dir(path.parent().expect("dir"))
        .expect("read dir")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert!(
        !names.iter().any(|n| n.to_string_lossy().ends_with(".tmp")),
        "{names:?}"
    );
}

#[test]
fn loading_again_gives_the_same_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = key_path(&dir);
    let first = PassKeyRing::load_or_create(&path, T0).expect("created");
    let again = PassKeyRing::load_or_create(&path, T0 + Duration::days(3)).expect("loaded");
    assert_eq!(again.current().kid(), first.current().kid());
    assert_eq!(again.current().public_key(), first.current().public_key());
    assert_eq!(PassKeyRing::load(&path).expect("load").keys(), first.keys());
}

#[test]
fn a_pass_of_the_current_key_verifies_with_the_key_set() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ring = PassKeyRing::load_or_create(&key_path(&dir), T0).expect("created");
    let pass = mint(ring.current(), T0);
    let verified = verify(&pass, &ring.key_set(), T0).expect("verifies");
    assert_eq!(verified.kid, ring.current().kid());
    // And with the published form, as a terminal receives it.
    let mut terminal = KeySet::new();
    for key in ring.published() {
        terminal
            .insert_published(&key)
            .expect("valid published key");
    }
    verify(&pass, &terminal, T0).expect("verifies on a terminal");
}

#[test]
fn rotation_adds_a_current_key_and_old_passes_still_verify() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = key_path(&dir);
    let before = PassKeyRing::load_or_create(&path, T0).expect("created");
    let old_pass = mint(before.current(), T0);
    let t1 = T0 + Duration::hours(2);

    let kid = PassKeyRing::rotate(&path, t1).expect("rotated");
    assert_ne!(kid, before.current().kid());
    assert_eq!(mode(&path), 0o600, "still owner-only after rewriting");

    let after = PassKeyRing::load(&path).expect("loaded");
    assert_eq!(after.current().kid(), kid);
    assert_eq!(after.key_set().len(), 2);
    let verified = verify(&old_pass, &after.key_set(), T0).expect("old pass still verifies");
    assert_eq!(verified.kid, before.current().kid());
    verify(&mint(after.current(), t1), &after.key_set(), t1).expect("new pass verifies");

    let list = PassKeyRing::list(&path).expect("list");
    assert_eq!(list.len(), 2);
    assert_eq!(list[0].kid, before.current().kid());
    assert_eq!(list[0].retired_at, Some(t1));
    assert!(!list[0].current);
    assert_eq!(list[1].kid, kid);
    assert_eq!(list[1].created_at, t1);
    assert_eq!(list[1].retired_at, None);
    assert!(list[1].current);
}

#[test]
fn rotation_prunes_keys_retired_longer_than_the_retention() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = key_path(&dir);
    let k0 = PassKeyRing::load_or_create(&path, T0).expect("created");
    let pass0 = mint(k0.current(), T0);
    let t1 = T0 + Duration::days(1);
    let r1 = PassKeyRing::rotate_with_retention(&path, t1, DEFAULT_RETENTION).expect("rotate");
    assert_eq!(r1.previous, Some(k0.current().kid()));
    assert!(r1.pruned.is_empty());
    assert_eq!(r1.kept, 2);
    let k1 = PassKeyRing::load(&path).expect("load");
    let pass1 = mint(k1.current(), t1);

    // Exactly at the retention, k0 is still kept.
    let t2 = t1 + DEFAULT_RETENTION;
    let r2 = PassKeyRing::rotate_with_retention(&path, t2, DEFAULT_RETENTION).expect("rotate");
    assert!(r2.pruned.is_empty());
    assert_eq!(r2.kept, 3);

    // A second later it has been retired longer than the retention: pruned. k1, retired at
    // t2, stays.
    let t3 = t2 + Duration::seconds(1);
    let r3 = PassKeyRing::rotate_with_retention(&path, t3, DEFAULT_RETENTION).expect("rotate");
    assert_eq!(r3.pruned, vec![k0.current().kid()]);
    assert_eq!(r3.kept, 3);
    let ring = PassKeyRing::load(&path).expect("load");
    assert_eq!(ring.current().kid(), r3.kid);
    assert_eq!(
        verify(&pass0, &ring.key_set(), T0).unwrap_err(),
        PassError::UnknownKey(k0.current().kid()),
        "a pass of a pruned key no longer verifies"
    );
    verify(&pass1, &ring.key_set(), t1).expect("a pass of a retained key verifies");
}

#[test]
fn the_key_just_retired_is_kept_whatever_the_retention() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = key_path(&dir);
    let k0 = PassKeyRing::load_or_create(&path, T0).expect("created");
    let r = PassKeyRing::rotate_with_retention(&path, T0 + Duration::minutes(5), Duration::ZERO)
        .expect("rotate");
    assert_eq!(r.kept, 2);
    let ring = PassKeyRing::load(&path).expect("load");
    verify(&mint(k0.current(), T0), &ring.key_set(), T0).expect("verifies");
}

#[test]
fn rotate_creates_a_missing_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = key_path(&dir);
    let r = PassKeyRing::rotate_with_retention(&path, T0, DEFAULT_RETENTION).expect("rotate");
    assert_eq!(r.previous, None);
    assert_eq!(r.kept, 1);
    assert_eq!(mode(&path), 0o600);
    assert_eq!(
        PassKeyRing::load(&path).expect("load").current().kid(),
        r.kid
    );
}

#[test]
fn a_file_others_can_access_is_refused_with_the_fix() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = key_path(&dir);
    PassKeyRing::load_or_create(&path, T0).expect("created");
    let content = fs::read(&path).expect("read");
    for bad in [0o644, 0o640, 0o604, 0o620] {
        chmod(&path, bad);
        let err = PassKeyRing::load_or_create(&path, T0).unwrap_err();
        assert!(
            matches!(err, KeyRingError::Permissions { mode, .. } if mode == bad),
            "{err}"
        );
        let message = err.to_string();
        assert!(
            message.contains(&format!("chmod 600 {}", path.display())),
            "{message}"
        );
        let err = PassKeyRing::rotate(&path, T0).unwrap_err();
        assert!(matches!(err, KeyRingError::Permissions { .. }), "{err}");
        assert!(PassKeyRing::list(&path).is_err());
    }
    assert_eq!(fs::read(&path).expect("read"), content, "left untouched");
    chmod(&path, 0o400);
    PassKeyRing::load(&path).expect("owner read-only is fine");
}

#[test]
fn a_corrupt_file_is_an_error_and_left_untouched() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = key_path(&dir);
    let ring = PassKeyRing::load_or_create(&path, T0).expect("created");
    let good = fs::read_to_string(&path).expect("read");
    let pkcs8 = pkcs8_strings(&path).remove(0);
    let other_kid = if ring.current().kid().to_string() == "00000000" {
        "00000001"
    } else {
        "00000000"
    };
    let cases: Vec<(&str, String)> = vec![
        ("garbage", "not json at all".into()),
        ("truncated", good[..good.len() / 2].into()),
        ("empty", String::new()),
        ("no keys", r#"{"version":1,"keys":[]}"#.into()),
        ("unknown field", good.replacen("\"kid\"", "\"kidd\"", 1)),
        (
            "wrong kid",
            good.replacen(&ring.current().kid().to_string(), other_kid, 1),
        ),
        ("bad hex", good.replacen(&pkcs8, &format!("{pkcs8}x"), 1)),
        ("not a key", good.replacen(&pkcs8, "00ff", 1)),
        (
            "key material where a number belongs",
            format!(r#"{{"version":"{pkcs8}","keys":[]}}"#),
        ),
        (
            "key material where a date belongs",
            good.replacen("2026-09-01T03:00:00Z", &pkcs8, 1),
        ),
    ];
    for (case, content) in cases {
        fs::write(&path, &content).expect("write");
        chmod(&path, 0o600);
        let err = PassKeyRing::load_or_create(&path, T0).unwrap_err();
        assert!(
            matches!(err, KeyRingError::Corrupt { .. }),
            "{case}: {err:?}"
        );
        let message = err.to_string();
        assert!(message.contains("corrupt"), "{case}: {message}");
        assert!(
            !message.contains(&pkcs8[20..60]),
            "{case}: key material in {message}"
        );
        let err = PassKeyRing::rotate(&path, T0).unwrap_err();
        assert!(
            matches!(err, KeyRingError::Corrupt { .. }),
            "{case}: {err:?}"
        );
        assert_eq!(
            fs::read_to_string(&path).expect("read"),
            content,
            "{case}: never replaced"
        );
    }
}

#[test]
fn a_newer_format_version_is_reported_as_such() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = key_path(&dir);
    PassKeyRing::load_or_create(&path, T0).expect("created");
    fs::write(&path, r#"{"version":2,"keys":[],"future":true}"#).expect("write");
    let err = PassKeyRing::load(&path).unwrap_err();
    assert!(
        matches!(err, KeyRingError::UnsupportedVersion { version: 2, .. }),
        "{err}"
    );
}

#[test]
fn a_file_with_every_key_retired_has_no_current_key_until_rotated() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = key_path(&dir);
    let ring = PassKeyRing::load_or_create(&path, T0).expect("created");
    let good = fs::read_to_string(&path).expect("read");
    let retired = good.replacen(
        "\"created_at\": \"2026-09-01T03:00:00Z\",",
        "\"created_at\": \"2026-09-01T03:00:00Z\", \"retired_at\": \"2026-09-02T03:00:00Z\",",
        1,
    );
    assert_ne!(retired, good);
    fs::write(&path, &retired).expect("write");
    let err = PassKeyRing::load_or_create(&path, T0).unwrap_err();
    assert!(matches!(err, KeyRingError::NoCurrentKey { .. }), "{err}");
    assert!(err.to_string().contains("keys rotate"), "{err}");
    let r = PassKeyRing::rotate_with_retention(&path, T0 + Duration::days(2), DEFAULT_RETENTION)
        .expect("rotate");
    assert_eq!(r.previous, None);
    assert_eq!(r.kept, 2);
    let ring2 = PassKeyRing::load(&path).expect("load");
    assert_eq!(ring2.key_set().len(), 2);
    verify(&mint(ring.current(), T0), &ring2.key_set(), T0).expect("old key kept");
}

#[test]
fn a_missing_file_is_reported_by_load_and_list() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = key_path(&dir);
    assert!(matches!(
        PassKeyRing::load(&path).unwrap_err(),
        KeyRingError::Missing { .. }
    ));
    let err = PassKeyRing::list(&path).unwrap_err();
    assert!(err.to_string().contains("keys rotate"), "{err}");
    assert!(!path.exists(), "load and list create nothing");
}

#[test]
fn debug_and_errors_show_no_key_material() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = key_path(&dir);
    let ring = PassKeyRing::load_or_create(&path, T0).expect("created");
    let pkcs8 = pkcs8_strings(&path).remove(0);
    let ring_debug = format!("{ring:?}");
    let debug = format!("{ring_debug} {:?}", SharedKeyRing::new(ring, &path));
    assert!(debug.contains("current"), "{debug}");
    assert!(!debug.contains(&pkcs8[..16]), "{debug}");
    assert!(!debug.contains(&pkcs8[pkcs8.len() - 16..]), "{debug}");
}

#[test]
fn reload_picks_up_a_rotation_done_by_another_process() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = key_path(&dir);
    let mut server = PassKeyRing::load_or_create(&path, T0).expect("created");
    let first = server.current().kid();
    assert!(
        !server.reload_if_changed(&path).expect("reload"),
        "unchanged"
    );

    // `wallet-server keys rotate` while the server runs.
    let kid = PassKeyRing::rotate(&path, T0 + Duration::hours(1)).expect("rotate");
    assert!(server.reload_if_changed(&path).expect("reload"), "changed");
    assert_eq!(server.current().kid(), kid);
    assert_eq!(server.key_set().len(), 2);
    assert!(server.keys().iter().any(|k| k.kid == first && !k.current));
    assert!(
        !server.reload_if_changed(&path).expect("reload"),
        "unchanged"
    );

    // A reload that fails keeps the keys loaded.
    chmod(&path, 0o644);
    assert!(server.reload_if_changed(&path).is_err());
    assert_eq!(server.current().kid(), kid);
    assert_eq!(server.key_set().len(), 2);
}

#[test]
fn shared_ring_reloads_in_place() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = key_path(&dir);
    let shared = SharedKeyRing::load_or_create(&path, T0).expect("created");
    let clone = shared.clone();
    assert!(!shared.reload_if_changed().expect("reload"));
    let kid = PassKeyRing::rotate(&path, T0 + Duration::hours(1)).expect("rotate");
    assert!(shared.reload_if_changed().expect("reload"));
    assert_eq!(
        clone.read().current().kid(),
        kid,
        "every clone sees the reload"
    );
    fs::write(&path, "corrupt").expect("write");
    assert!(shared.reload_if_changed().is_err());
    assert_eq!(clone.read().current().kid(), kid, "keys kept on failure");
}

#[tokio::test]
async fn the_reloader_task_picks_up_a_rotation() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = key_path(&dir);
    let shared = SharedKeyRing::load_or_create(&path, T0).expect("created");
    let reloader = shared.spawn_reloader(std::time::Duration::from_millis(20));
    let kid = PassKeyRing::rotate(&path, T0 + Duration::hours(1)).expect("rotate");
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while shared.read().current().kid() != kid {
        assert!(
            tokio::time::Instant::now() < deadline,
            "reloader never picked up the rotation"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    reloader.abort();
}

#[test]
fn concurrent_rotations_lose_no_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = key_path(&dir);
    PassKeyRing::load_or_create(&path, T0).expect("created");
    let path = path.as_path();
    let kids: Vec<KeyId> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|i| s.spawn(move || PassKeyRing::rotate(path, T0 + Duration::minutes(i))))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread").expect("rotate"))
            .collect()
    });
    let ring = PassKeyRing::load(path).expect("load");
    assert_eq!(ring.keys().len(), 5, "the first key and four rotations");
    for kid in kids {
        assert!(ring.keys().iter().any(|k| k.kid == kid), "{kid} kept");
    }
    assert_eq!(ring.keys().iter().filter(|k| k.current).count(), 1);
}

#[test]
fn hex_round_trip() {
    let bytes: Vec<u8> = (0..=255).collect();
    assert_eq!(hex_decode(&hex_encode(&bytes)), Some(bytes));
    assert_eq!(hex_decode("0A0b"), Some(vec![10, 11]));
    assert_eq!(hex_decode("abc"), None);
    assert_eq!(hex_decode("zz"), None);
    assert_eq!(hex_decode("+1"), None);
}
