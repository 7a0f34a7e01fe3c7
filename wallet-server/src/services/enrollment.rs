//! One-time enrollment codes for canteen terminals: made by school staff, typed into a new
//! terminal (`canteen-terminal --enroll CODE`), used once, expiring.
//!
//! Only a hash of the code is stored, so a copy of the database cannot enroll a terminal.

use ring::rand::{SecureRandom, SystemRandom};

/// Unambiguous characters (no 0/O, 1/I/L): codes are read off a screen and typed by hand.
const ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";

/// Random characters in a code: 31^12 ≈ 2^59 possibilities.
const CODE_CHARS: usize = 12;

/// No system randomness: the code cannot be made.
#[derive(Debug, thiserror::Error)]
#[error("cannot generate an enrollment code: no system randomness")]
pub struct NoRandomness;

/// A fresh code, written `XXXX-XXXX-XXXX`.
pub fn new_code() -> Result<String, NoRandomness> {
    let rng = SystemRandom::new();
    let mut code = String::with_capacity(CODE_CHARS + 2);
    let mut produced = 0;
    while produced < CODE_CHARS {
        let mut byte = [0u8; 1];
        rng.fill(&mut byte).map_err(|_| NoRandomness)?;
        // Rejection sampling keeps every character equally likely.
        let limit = 256 - 256 % ALPHABET.len();
        if usize::from(byte[0]) >= limit {
            continue;
        }
        if produced > 0 && produced % 4 == 0 {
            code.push('-');
        }
        code.push(char::from(ALPHABET[usize::from(byte[0]) % ALPHABET.len()]));
        produced += 1;
    }
    Ok(code)
}

/// A fresh device token for an enrolled terminal: 32 random bytes, hex, prefixed so a leaked
/// one is recognisable in a secret scanner.
pub fn new_device_token() -> Result<String, NoRandomness> {
    let mut bytes = [0u8; 32];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| NoRandomness)?;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!("swt_{hex}"))
}

/// The stored form of a device token: SHA-256, hex.
pub fn hash_token(token: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, token.as_bytes());
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// The stored form of a code: SHA-256 of its normalised text (upper case, no dashes or
/// spaces), hex.
pub fn hash_code(code: &str) -> String {
    let normalised: String = code
        .chars()
        .filter(|c| !matches!(c, '-' | ' '))
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let digest = ring::digest::digest(&ring::digest::SHA256, normalised.as_bytes());
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_readable_unique_and_hash_the_same_however_typed() {
        let a = new_code().expect("code");
        let b = new_code().expect("code");
        assert_ne!(a, b);
        assert_eq!(a.len(), 14);
        assert_eq!(a.matches('-').count(), 2);
        assert!(
            a.chars().all(|c| c == '-' || ALPHABET.contains(&(c as u8))),
            "{a}"
        );
        let typed = a.to_lowercase().replace('-', " ");
        assert_eq!(hash_code(&typed), hash_code(&a));
        assert_ne!(hash_code(&a), hash_code(&b));
        assert_eq!(hash_code(&a).len(), 64);
    }

    #[test]
    fn device_tokens_are_long_random_and_hashed() {
        let a = new_device_token().expect("token");
        let b = new_device_token().expect("token");
        assert_ne!(a, b);
        assert!(a.starts_with("swt_") && a.len() == 68, "{a}");
        assert_eq!(hash_token(&a), hash_token(&a));
        assert_ne!(hash_token(&a), hash_token(&b));
        assert!(!hash_token(&a).contains(&a[4..]));
    }
}
