//! The dynamic QR pass: a small signed token a parent mints in the wallet and the canteen
//! terminal verifies offline with nothing but the server's public keys.
//!
//! Text form: `SW1:` + base45(payload ‖ signature). Base45 (RFC 9285) uses exactly the QR
//! alphanumeric alphabet, so the whole text encodes in QR alphanumeric mode and stays well
//! inside QR version 10 at error correction M. The payload carries no name and no IIN.
//!
//! Payload, version 1, big-endian, 42 bytes:
//!
//! | bytes | field |
//! |---|---|
//! | 1 | version (= 1) |
//! | 4 | key id (`kid`) |
//! | 16 | voucher id (UUID) |
//! | 5 | school BIN as a 40-bit number |
//! | 4 | valid from, unix seconds |
//! | 4 | valid until (exclusive), unix seconds |
//! | 8 | nonce |
//!
//! The Ed25519 signature (64 bytes, `ring`) covers `SW1:` ‖ payload, so a signature can never
//! be replayed under another prefix or format version.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{Ed25519KeyPair, KeyPair, UnparsedPublicKey, ED25519};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::id::Bin;
use crate::voucher::VoucherId;

/// Text prefix of every pass of format version 1.
pub const PREFIX: &str = "SW1:";
/// Format version inside the payload.
pub const VERSION: u8 = 1;
/// Length of the signed payload.
pub const PAYLOAD_LEN: usize = 42;
/// Length of an Ed25519 signature.
pub const SIGNATURE_LEN: usize = 64;

/// Short identifier of a signing key: the first 4 bytes of SHA-256 of its public key,
/// written as 8 lower-case hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId([u8; 4]);

impl KeyId {
    pub fn of_public_key(public_key: &[u8]) -> KeyId {
        let digest = ring::digest::digest(&ring::digest::SHA256, public_key);
        let mut id = [0u8; 4];
        id.copy_from_slice(&digest.as_ref()[..4]);
        KeyId(id)
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex(&self.0))
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({self})")
    }
}

impl FromStr for KeyId {
    type Err = KeyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bytes = unhex(s).ok_or(KeyError::BadKeyId)?;
        let id: [u8; 4] = bytes.try_into().map_err(|_| KeyError::BadKeyId)?;
        Ok(KeyId(id))
    }
}

/// What a pass says, apart from who signed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PassClaims {
    pub voucher_id: VoucherId,
    pub school: Bin,
    pub valid_from: OffsetDateTime,
    /// Exclusive: the pass is no longer valid at this instant.
    pub valid_until: OffsetDateTime,
    /// Makes every pass unique, so a terminal can tell two passes of one voucher apart.
    pub nonce: [u8; 8],
}

/// A pass whose signature and validity window have been checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedPass {
    pub kid: KeyId,
    pub claims: PassClaims,
}

/// Why a pass text was refused. Each failure has its own variant so a terminal can show
/// the worker (and count) exactly what went wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PassError {
    #[error("not a Social Wallet pass (text does not start with {PREFIX})")]
    BadPrefix,
    #[error("pass text is not valid base45")]
    BadEncoding,
    #[error("pass has {0} bytes, expected {expected}", expected = PAYLOAD_LEN + SIGNATURE_LEN)]
    BadLength(usize),
    #[error("pass format version {0} is not supported")]
    UnsupportedVersion(u8),
    #[error("pass is signed by unknown key {0}")]
    UnknownKey(KeyId),
    #[error("pass signature is not valid")]
    BadSignature,
    #[error("pass is not valid yet (from {0})")]
    NotYetValid(OffsetDateTime),
    #[error("pass expired at {0}")]
    Expired(OffsetDateTime),
}

/// Problems with keys or with minting.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("signing key is not a valid Ed25519 PKCS#8 document")]
    BadPrivateKey,
    #[error("public key must be 32 bytes written as 64 hex digits")]
    BadPublicKey,
    #[error("key id must be 8 hex digits")]
    BadKeyId,
    #[error("could not generate a key or nonce: no system randomness")]
    NoRandomness,
    #[error("validity window must be non-empty and between 1970 and 2106")]
    BadWindow,
}

/// An Ed25519 public key with its key id, as terminals receive it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
// Not `PublicKey` in the document: named after its own field `public_key`, which trips
// client generators (wallet-server/tests/openapi_contract.rs).
#[cfg_attr(feature = "openapi", schema(as = PassPublicKey))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicKey {
    pub kid: String,
    /// 32 bytes, hex.
    pub public_key: String,
}

/// The set of public keys a verifier trusts, by key id.
#[derive(Debug, Clone, Default)]
pub struct KeySet {
    keys: HashMap<KeyId, [u8; 32]>,
}

impl KeySet {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a key; its id is derived from the key, never trusted from the sender.
    pub fn insert(&mut self, public_key: [u8; 32]) -> KeyId {
        let kid = KeyId::of_public_key(&public_key);
        self.keys.insert(kid, public_key);
        kid
    }

    /// Adds a key received over the wire, checking that its stated id matches the key.
    pub fn insert_published(&mut self, key: &PublicKey) -> Result<KeyId, KeyError> {
        let bytes: [u8; 32] = unhex(&key.public_key)
            .and_then(|b| b.try_into().ok())
            .ok_or(KeyError::BadPublicKey)?;
        let stated: KeyId = key.kid.parse()?;
        if stated != KeyId::of_public_key(&bytes) {
            return Err(KeyError::BadKeyId);
        }
        Ok(self.insert(bytes))
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The keys in their published form, ordered by key id.
    pub fn published(&self) -> Vec<PublicKey> {
        let mut keys: Vec<_> = self
            .keys
            .iter()
            .map(|(kid, key)| PublicKey {
                kid: kid.to_string(),
                public_key: hex(key),
            })
            .collect();
        keys.sort_by(|a, b| a.kid.cmp(&b.kid));
        keys
    }
}

/// A private signing key of the server.
pub struct PassSigner {
    kid: KeyId,
    key_pair: Ed25519KeyPair,
    rng: SystemRandom,
}

impl fmt::Debug for PassSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PassSigner({})", self.kid)
    }
}

impl PassSigner {
    /// Generates a new key; returns the signer and its PKCS#8 document for storage.
    pub fn generate() -> Result<(PassSigner, Vec<u8>), KeyError> {
        let rng = SystemRandom::new();
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).map_err(|_| KeyError::NoRandomness)?;
        let signer = PassSigner::from_pkcs8(pkcs8.as_ref())?;
        Ok((signer, pkcs8.as_ref().to_vec()))
    }

    pub fn from_pkcs8(pkcs8: &[u8]) -> Result<PassSigner, KeyError> {
        let key_pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(pkcs8)
            .map_err(|_| KeyError::BadPrivateKey)?;
        let kid = KeyId::of_public_key(key_pair.public_key().as_ref());
        Ok(PassSigner {
            kid,
            key_pair,
            rng: SystemRandom::new(),
        })
    }

    pub fn kid(&self) -> KeyId {
        self.kid
    }

    pub fn public_key(&self) -> [u8; 32] {
        let mut key = [0u8; 32];
        key.copy_from_slice(self.key_pair.public_key().as_ref());
        key
    }

    /// A fresh random nonce for [`PassClaims::nonce`].
    pub fn nonce(&self) -> Result<[u8; 8], KeyError> {
        let mut nonce = [0u8; 8];
        self.rng
            .fill(&mut nonce)
            .map_err(|_| KeyError::NoRandomness)?;
        Ok(nonce)
    }

    /// Signs the claims and returns the pass text (`SW1:…`).
    pub fn mint(&self, claims: &PassClaims) -> Result<String, KeyError> {
        let payload = encode_payload(self.kid, claims)?;
        let signature = self.key_pair.sign(&signed_message(&payload));
        let mut blob = Vec::with_capacity(PAYLOAD_LEN + SIGNATURE_LEN);
        blob.extend_from_slice(&payload);
        blob.extend_from_slice(signature.as_ref());
        Ok(format!("{PREFIX}{}", base45::encode(blob)))
    }
}

fn unix_u32(t: OffsetDateTime) -> Option<u32> {
    u32::try_from(t.unix_timestamp()).ok()
}

fn encode_payload(kid: KeyId, c: &PassClaims) -> Result<[u8; PAYLOAD_LEN], KeyError> {
    let from = unix_u32(c.valid_from).ok_or(KeyError::BadWindow)?;
    let until = unix_u32(c.valid_until).ok_or(KeyError::BadWindow)?;
    if until <= from {
        return Err(KeyError::BadWindow);
    }
    let mut p = [0u8; PAYLOAD_LEN];
    p[0] = VERSION;
    p[1..5].copy_from_slice(&kid.0);
    p[5..21].copy_from_slice(c.voucher_id.as_uuid().as_bytes());
    p[21..26].copy_from_slice(&c.school.to_u64().to_be_bytes()[3..]);
    p[26..30].copy_from_slice(&from.to_be_bytes());
    p[30..34].copy_from_slice(&until.to_be_bytes());
    p[34..42].copy_from_slice(&c.nonce);
    Ok(p)
}

fn signed_message(payload: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(PREFIX.len() + payload.len());
    m.extend_from_slice(PREFIX.as_bytes());
    m.extend_from_slice(payload);
    m
}

/// Reads the fields of a payload whose signature has already been checked.
fn decode_payload(p: &[u8]) -> Result<PassClaims, PassError> {
    let field = |range: std::ops::Range<usize>| p.get(range).ok_or(PassError::BadLength(p.len()));
    let mut voucher = [0u8; 16];
    voucher.copy_from_slice(field(5..21)?);
    let mut bin = [0u8; 8];
    bin[3..].copy_from_slice(field(21..26)?);
    // A signed pass carries a BIN we minted; a bad one means a broken signer, not a forger.
    let school = Bin::from_u64(u64::from_be_bytes(bin)).map_err(|_| PassError::BadEncoding)?;
    let secs = |r| -> Result<OffsetDateTime, PassError> {
        let mut b = [0u8; 4];
        b.copy_from_slice(field(r)?);
        OffsetDateTime::from_unix_timestamp(i64::from(u32::from_be_bytes(b)))
            .map_err(|_| PassError::BadEncoding)
    };
    let mut nonce = [0u8; 8];
    nonce.copy_from_slice(field(34..42)?);
    Ok(PassClaims {
        voucher_id: VoucherId::from_uuid(Uuid::from_bytes(voucher)),
        school,
        valid_from: secs(26..30)?,
        valid_until: secs(30..34)?,
        nonce,
    })
}

/// Verifies a pass text strictly against `now`.
pub fn verify(text: &str, keys: &KeySet, now: OffsetDateTime) -> Result<VerifiedPass, PassError> {
    verify_with_leeway(text, keys, now, Duration::ZERO)
}

/// Verifies a pass text, forgiving clock differences of up to `leeway` at both ends of the
/// validity window (a terminal's clock is never perfectly right).
pub fn verify_with_leeway(
    text: &str,
    keys: &KeySet,
    now: OffsetDateTime,
    leeway: Duration,
) -> Result<VerifiedPass, PassError> {
    let encoded = text.strip_prefix(PREFIX).ok_or(PassError::BadPrefix)?;
    let blob = base45::decode(encoded).map_err(|_| PassError::BadEncoding)?;
    if blob.len() != PAYLOAD_LEN + SIGNATURE_LEN {
        return Err(PassError::BadLength(blob.len()));
    }
    let (payload, signature) = blob.split_at(PAYLOAD_LEN);
    if payload[0] != VERSION {
        return Err(PassError::UnsupportedVersion(payload[0]));
    }
    let mut kid = [0u8; 4];
    kid.copy_from_slice(&payload[1..5]);
    let kid = KeyId(kid);
    let public_key = keys.keys.get(&kid).ok_or(PassError::UnknownKey(kid))?;
    UnparsedPublicKey::new(&ED25519, public_key)
        .verify(&signed_message(payload), signature)
        .map_err(|_| PassError::BadSignature)?;
    let claims = decode_payload(payload)?;
    if now + leeway < claims.valid_from {
        return Err(PassError::NotYetValid(claims.valid_from));
    }
    if now - leeway >= claims.valid_until {
        return Err(PassError::Expired(claims.valid_until));
    }
    Ok(VerifiedPass { kid, claims })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || !s.is_ascii() {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect()
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod props;
