//! Client secrets: generated with a CSPRNG, stored only as PBKDF2-HMAC-SHA256 hashes, compared in
//! constant time.
//!
//! Stored form: `pbkdf2-sha256$<iterations>$<salt, base64url>$<hash, base64url>`.

use std::num::NonZeroU32;

use aws_lc_rs::pbkdf2;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Iterations for new hashes: slow enough to make guessing a stolen hash costly, fast enough
/// (tens of milliseconds) for a token request.
const ITERATIONS: u32 = 100_000;
const SALT_LEN: usize = 16;
const HASH_LEN: usize = 32;
const SCHEME: &str = "pbkdf2-sha256";

/// A new random client secret: 32 bytes from the system CSPRNG, base64url (43 characters).
pub fn generate_secret() -> String {
    let mut bytes = [0u8; 32];
    // The system random source failing is not recoverable for a server that must mint secrets.
    aws_lc_rs::rand::fill(&mut bytes).expect("system random source failed");
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Hashes a secret for storage with a fresh random salt.
pub fn hash_secret(secret: &str) -> String {
    let mut salt = [0u8; SALT_LEN];
    aws_lc_rs::rand::fill(&mut salt).expect("system random source failed");
    let mut hash = [0u8; HASH_LEN];
    let iterations = NonZeroU32::new(ITERATIONS).unwrap_or(NonZeroU32::MIN);
    pbkdf2::derive(
        pbkdf2::PBKDF2_HMAC_SHA256,
        iterations,
        &salt,
        secret.as_bytes(),
        &mut hash,
    );
    format!(
        "{SCHEME}${ITERATIONS}${}${}",
        URL_SAFE_NO_PAD.encode(salt),
        URL_SAFE_NO_PAD.encode(hash)
    )
}

/// Whether `stored` has the form [`hash_secret`] produces (scheme, iterations, salt, hash).
pub fn is_secret_hash(stored: &str) -> bool {
    parse(stored).is_some()
}

/// Whether `secret` matches a stored hash. A malformed stored hash never matches.
pub fn verify_secret(secret: &str, stored: &str) -> bool {
    let Some((iterations, salt, hash)) = parse(stored) else {
        return false;
    };
    pbkdf2::verify(
        pbkdf2::PBKDF2_HMAC_SHA256,
        iterations,
        &salt,
        secret.as_bytes(),
        &hash,
    )
    .is_ok()
}

/// The iterations, salt and hash of a stored hash, if it is well formed.
fn parse(stored: &str) -> Option<(NonZeroU32, Vec<u8>, Vec<u8>)> {
    let mut parts = stored.split('$');
    let (Some(SCHEME), Some(iterations), Some(salt), Some(hash), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    let iterations = iterations.parse::<u32>().ok().and_then(NonZeroU32::new)?;
    let (Ok(salt), Ok(hash)) = (URL_SAFE_NO_PAD.decode(salt), URL_SAFE_NO_PAD.decode(hash)) else {
        return None;
    };
    if hash.is_empty() || hash.len() > HASH_LEN {
        return None;
    }
    Some((iterations, salt, hash))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_verifies_only_the_same_secret() {
        let secret = generate_secret();
        assert_eq!(secret.len(), 43);
        let stored = hash_secret(&secret);
        assert!(stored.starts_with("pbkdf2-sha256$100000$"), "{stored}");
        assert!(!stored.contains(&secret));
        assert!(verify_secret(&secret, &stored));
        assert!(is_secret_hash(&stored));
        assert!(!verify_secret("wrong", &stored));
        assert_ne!(hash_secret(&secret), stored, "salt must differ per hash");
    }

    #[test]
    fn malformed_stored_hash_never_matches() {
        for stored in [
            "",
            "plain",
            "pbkdf2-sha256$x$a$b",
            "md5$1$a$b",
            "pbkdf2-sha256$1000$$",
        ] {
            assert!(!verify_secret("s", stored), "{stored}");
            assert!(!is_secret_hash(stored), "{stored}");
        }
    }
}
