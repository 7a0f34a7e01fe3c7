//! A memory of access tokens already verified, so a parent's app that sends the same
//! token for every pass pays for the signature check once, not on every request.
//!
//! A token is remembered by the SHA-256 of its bytes together with its claims, and only
//! until its own expiry (checked on every hit, with the verifier's leeway). Nothing about a
//! token can change after it was verified — its signature, issuer and audience are fixed in
//! its bytes — so answering from memory is exactly as strict as verifying again. The memory
//! is bounded; when full it is emptied (the next requests simply verify again).

use std::collections::HashMap;
use std::sync::Mutex;

use super::jwt::Claims;

/// At most this many tokens are remembered (~300 bytes each).
pub const CAPACITY: usize = 200_000;

type Digest = [u8; 32];

#[derive(Default)]
pub struct VerifiedTokens {
    seen: Mutex<HashMap<Digest, Claims>>,
}

fn digest(token: &str) -> Digest {
    let d = ring::digest::digest(&ring::digest::SHA256, token.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

impl VerifiedTokens {
    /// The claims of `token` if it was verified before and has not expired at `now_unix`
    /// (seconds) given `leeway` seconds.
    pub fn get(&self, token: &str, now_unix: u64, leeway: u64) -> Option<Claims> {
        let key = digest(token);
        let mut seen = self.seen.lock().ok()?;
        let claims = seen.get(&key)?;
        let exp = u64::try_from(claims.exp).unwrap_or(0);
        if exp.saturating_add(leeway) <= now_unix {
            seen.remove(&key);
            return None;
        }
        Some(claims.clone())
    }

    /// Remembers a token that has just passed full verification.
    pub fn insert(&self, token: &str, claims: &Claims) {
        let Ok(mut seen) = self.seen.lock() else {
            return;
        };
        if seen.len() >= CAPACITY {
            seen.clear();
        }
        seen.insert(digest(token), claims.clone());
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.seen.lock().map_or(0, |s| s.len())
    }

    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Role;

    fn claims(exp: i64) -> Claims {
        Claims {
            sub: "x".into(),
            role: Role::Integration,
            school: None,
            iss: "i".into(),
            aud: crate::web::auth::Audience::one("a"),
            exp,
            iat: 0,
            name: None,
            given_name: None,
            family_name: None,
        }
    }

    #[test]
    fn remembers_until_expiry_and_only_the_exact_token() {
        let cache = VerifiedTokens::default();
        cache.insert("token-a", &claims(1_000));
        assert_eq!(cache.get("token-a", 900, 30), Some(claims(1_000)));
        assert_eq!(cache.get("token-a", 1_029, 30), Some(claims(1_000)));
        assert_eq!(
            cache.get("token-b", 900, 30),
            None,
            "another token is not known"
        );
        assert_eq!(
            cache.get("token-a ", 900, 30),
            None,
            "one byte more is another token"
        );
        assert_eq!(cache.get("token-a", 1_030, 30), None, "expired with leeway");
        assert!(cache.is_empty(), "an expired token is forgotten");
    }

    #[test]
    fn a_full_memory_starts_over() {
        let cache = VerifiedTokens::default();
        for i in 0..CAPACITY {
            cache.insert(&format!("t{i}"), &claims(10));
        }
        assert_eq!(cache.len(), CAPACITY);
        cache.insert("one more", &claims(10));
        assert_eq!(cache.len(), 1);
        assert!(cache.get("one more", 0, 0).is_some());
    }
}
