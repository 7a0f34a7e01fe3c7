//! The development identity provider of `--demo`: signs tokens for any subject and role with
//! a key generated at first start, so the API can be tried without a real IdP. It does not
//! exist outside `--demo`; the route that uses it is not even mounted.
//!
//! The key is kept in the data directory ([`KEY_FILE`]), so several demo servers sharing one
//! data directory and one database (behind a balancer) accept each other's tokens, as
//! production servers sharing one IdP's public key do.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
use ring::rand::SystemRandom;
use ring::signature::{Ed25519KeyPair, KeyPair};
use time::OffsetDateTime;

use super::{Audience, Claims, JwtVerifier, Role};

/// Signs demo tokens; pairs with the verifier it returns.
pub struct DevIdentityProvider {
    key: EncodingKey,
    public_key: Vec<u8>,
    issuer: String,
    audience: String,
    ttl: time::Duration,
}

impl std::fmt::Debug for DevIdentityProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevIdentityProvider")
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

/// The key could not be generated.
#[derive(Debug, thiserror::Error)]
#[error("cannot generate the demo signing key: no system randomness")]
pub struct NoRandomness;

/// The demo key's file in the data directory: its PKCS#8 bytes, owner-only.
pub const KEY_FILE: &str = "demo-idp.pk8";

/// The kept key could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum KeptKeyError {
    #[error(transparent)]
    NoRandomness(#[from] NoRandomness),
    #[error("demo signing key {path}: {source}")]
    Io {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("demo signing key {path} is not an Ed25519 PKCS#8 key")]
    Corrupt { path: std::path::PathBuf },
}

impl DevIdentityProvider {
    /// Generates a fresh Ed25519 key; returns the provider and a verifier that trusts it.
    pub fn generate(issuer: &str, audience: &str) -> Result<(Self, JwtVerifier), NoRandomness> {
        let rng = SystemRandom::new();
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).map_err(|_| NoRandomness)?;
        Self::from_pkcs8(pkcs8.as_ref(), issuer, audience).ok_or(NoRandomness)
    }

    /// The provider of an Ed25519 PKCS#8 key; `None` when the bytes are not one.
    fn from_pkcs8(pkcs8: &[u8], issuer: &str, audience: &str) -> Option<(Self, JwtVerifier)> {
        let pair = Ed25519KeyPair::from_pkcs8(pkcs8).ok()?;
        let provider = DevIdentityProvider {
            key: EncodingKey::from_ed_der(pkcs8),
            public_key: pair.public_key().as_ref().to_vec(),
            issuer: issuer.to_string(),
            audience: audience.to_string(),
            ttl: time::Duration::hours(12),
        };
        let verifier = provider.verifier(issuer, audience);
        Some((provider, verifier))
    }

    /// The key kept in `dir` ([`KEY_FILE`]), generated and kept there first if absent. A
    /// new key is written aside and linked into place, so servers starting together on one
    /// directory all end up with the one key that won, never a half-written file.
    pub fn kept_in(
        dir: &std::path::Path,
        issuer: &str,
        audience: &str,
    ) -> Result<(Self, JwtVerifier), KeptKeyError> {
        let path = dir.join(KEY_FILE);
        let io = |source| KeptKeyError::Io {
            path: path.clone(),
            source,
        };
        if !path.exists() {
            let pkcs8 =
                Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).map_err(|_| NoRandomness)?;
            let aside = dir.join(format!("{KEY_FILE}.{}", std::process::id()));
            shared::private_file::prepare(&aside).map_err(io)?;
            std::fs::write(&aside, pkcs8.as_ref()).map_err(io)?;
            let linked = std::fs::hard_link(&aside, &path);
            let _ = std::fs::remove_file(&aside);
            match linked {
                Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => return Err(io(e)),
                _ => {}
            }
        }
        shared::private_file::tighten(&path).map_err(io)?;
        let pkcs8 = std::fs::read(&path).map_err(io)?;
        Self::from_pkcs8(&pkcs8, issuer, audience).ok_or(KeptKeyError::Corrupt { path })
    }

    /// A verifier trusting this provider's key for the given issuer and audience.
    pub fn verifier(&self, issuer: &str, audience: &str) -> JwtVerifier {
        JwtVerifier::with_key(
            DecodingKey::from_ed_der(&self.public_key),
            Algorithm::EdDSA,
            issuer,
            audience,
        )
    }

    /// The key id of the provider's one key, as its JWKS and id tokens name it.
    pub fn kid(&self) -> String {
        let digest = ring::digest::digest(&ring::digest::SHA256, &self.public_key);
        let hex: String = digest.as_ref()[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        format!("demo-{hex}")
    }

    /// The public key as a JWKS document (what an OpenID provider serves at `jwks_uri`).
    pub fn jwks(&self) -> serde_json::Value {
        use base64::Engine;
        let x = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&self.public_key);
        serde_json::json!({"keys": [{
            "kty": "OKP", "crv": "Ed25519", "x": x, "kid": self.kid(), "alg": "EdDSA", "use": "sig"
        }]})
    }

    /// A signed OpenID id token: `claims` (sub, role, school, nonce…) plus `iss`, `aud`,
    /// `iat` and `exp` (10 minutes), with the key id in the header.
    pub fn issue_id_token(
        &self,
        mut claims: serde_json::Map<String, serde_json::Value>,
        issuer: &str,
        audience: &str,
        now: OffsetDateTime,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        claims.insert("iss".into(), issuer.into());
        claims.insert("aud".into(), audience.into());
        claims.insert("iat".into(), now.unix_timestamp().into());
        claims.insert(
            "exp".into(),
            (now + time::Duration::minutes(10)).unix_timestamp().into(),
        );
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid());
        jsonwebtoken::encode(&header, &claims, &self.key)
    }

    /// A token with any JOSE header and claims, signed with this provider's key (tests make
    /// the tokens real providers send: `aud` lists, `crit` headers…).
    #[cfg(test)]
    pub fn sign_raw(&self, header: &serde_json::Value, claims: &serde_json::Value) -> String {
        use base64::Engine;
        let b64 = |v: &serde_json::Value| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
        };
        let message = format!("{}.{}", b64(header), b64(claims));
        let signature = jsonwebtoken::crypto::sign(message.as_bytes(), &self.key, Algorithm::EdDSA)
            .expect("Ed25519 signing does not fail");
        format!("{message}.{signature}")
    }

    /// A signed token for `sub` with `role` (and `school` for staff), valid for 12 hours
    /// from `now`.
    pub fn issue(
        &self,
        sub: &str,
        role: Role,
        school: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        self.issue_named(sub, role, school, None, now)
    }

    /// [`issue`](Self::issue) with the person's `name` claim, as a real identity provider
    /// gives it.
    pub fn issue_named(
        &self,
        sub: &str,
        role: Role,
        school: Option<&str>,
        name: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        let claims = Claims {
            name: name.map(str::to_string),
            given_name: None,
            family_name: None,
            sub: sub.to_string(),
            role,
            school: school.map(str::to_string),
            iss: self.issuer.clone(),
            aud: Audience::one(self.audience.as_str()),
            iat: now.unix_timestamp(),
            exp: (now + self.ttl).unix_timestamp(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::EdDSA), &claims, &self.key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ISS: &str = "https://idp.test";
    const AUD: &str = "wallet";
    #[test]
    fn demo_servers_sharing_a_data_directory_share_the_signing_key() {
        let dir = tempfile::tempdir().expect("dir");
        let (first, _) = DevIdentityProvider::kept_in(dir.path(), ISS, AUD).expect("kept");
        let (_, second) = DevIdentityProvider::kept_in(dir.path(), ISS, AUD).expect("loaded");
        let token = first
            .issue("p", Role::Parent, None, OffsetDateTime::now_utc())
            .expect("sign");
        assert!(second.verify(&token).is_ok(), "one key for both");
        let (_, stranger) = DevIdentityProvider::generate(ISS, AUD).expect("key");
        assert!(
            stranger.verify(&token).is_err(),
            "a generated key is another"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let meta = std::fs::metadata(dir.path().join(KEY_FILE)).expect("file");
            assert_eq!(meta.permissions().mode() & 0o777, 0o600, "owner-only");
        }
        std::fs::write(dir.path().join(KEY_FILE), b"junk").expect("spoil");
        assert!(
            DevIdentityProvider::kept_in(dir.path(), ISS, AUD).is_err(),
            "never replaced"
        );
    }
}
