//! Client secrets and passwords: generated with a CSPRNG, stored only as hashes, compared in
//! constant time.
//!
//! Two stored forms, chosen by what is hashed:
//!
//! - `sha256$<salt>$<hash>` (salted HMAC-SHA256) for **high-entropy secrets**, such as the 256-bit
//!   client secrets Switchboard generates. Guessing one is hopeless however fast the hash is, so a
//!   slow hash would only hand an unauthenticated client a way to burn the server's CPU (each
//!   wrong guess would cost tens of milliseconds of key stretching). Checking costs microseconds.
//! - `pbkdf2-sha256$<iterations>$<salt>$<hash>` for **passwords** and any secret that does not
//!   look random enough: key stretching makes guessing a stolen hash costly. Hashes of this form
//!   made by earlier versions for client secrets are still accepted; because each check is slow,
//!   the token endpoint bounds how many it runs per source and per client.
//!
//! Salts and hashes are base64url without padding.

use std::num::NonZeroU32;

use aws_lc_rs::{hmac, pbkdf2};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Iterations for new password hashes: slow enough to make guessing a stolen hash costly, fast
/// enough (tens of milliseconds) for a sign-in.
const ITERATIONS: u32 = 100_000;
const SALT_LEN: usize = 16;
const HASH_LEN: usize = 32;
const STRETCHED: &str = "pbkdf2-sha256";
const FAST: &str = "sha256";
/// Estimated bits a secret needs to be stored with the fast hash: beyond brute force.
const HIGH_ENTROPY_BITS: f64 = 128.0;

/// A new random client secret: 32 bytes from the system CSPRNG, base64url (43 characters).
pub fn generate_secret() -> String {
    let mut bytes = [0u8; 32];
    // The system random source failing is not recoverable for a server that must mint secrets.
    aws_lc_rs::rand::fill(&mut bytes).expect("system random source failed");
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Hashes a client secret for storage: the fast form when it looks random enough to be beyond
/// guessing (at least 32 characters of at least three kinds, about 128 bits or more — as every
/// secret [`generate_secret`] makes), the stretched form otherwise (passphrases included).
pub fn hash_secret(secret: &str) -> String {
    if secret.chars().count() >= 32
        && kinds_of_characters(secret) >= 3
        && estimated_bits(secret) >= HIGH_ENTROPY_BITS
    {
        hash_fast(secret)
    } else {
        hash_password(secret)
    }
}

/// Hashes a password for storage with key stretching (PBKDF2-HMAC-SHA256) and a fresh salt.
pub fn hash_password(password: &str) -> String {
    let salt = new_salt();
    let mut hash = [0u8; HASH_LEN];
    let iterations = NonZeroU32::new(ITERATIONS).unwrap_or(NonZeroU32::MIN);
    pbkdf2::derive(
        pbkdf2::PBKDF2_HMAC_SHA256,
        iterations,
        &salt,
        password.as_bytes(),
        &mut hash,
    );
    format!(
        "{STRETCHED}${ITERATIONS}${}${}",
        URL_SAFE_NO_PAD.encode(salt),
        URL_SAFE_NO_PAD.encode(hash)
    )
}

fn hash_fast(secret: &str) -> String {
    let salt = new_salt();
    let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, &salt), secret.as_bytes());
    format!(
        "{FAST}${}${}",
        URL_SAFE_NO_PAD.encode(salt),
        URL_SAFE_NO_PAD.encode(tag.as_ref())
    )
}

fn new_salt() -> [u8; SALT_LEN] {
    let mut salt = [0u8; SALT_LEN];
    aws_lc_rs::rand::fill(&mut salt).expect("system random source failed");
    salt
}

/// The kinds of characters (lower case, upper case, digits, others) in `secret`, with the size of
/// each kind's alphabet.
fn kinds(secret: &str) -> impl Iterator<Item = f64> + '_ {
    let has = move |test: fn(&char) -> bool| secret.chars().any(|c| test(&c));
    [
        (has(char::is_ascii_lowercase), 26.0),
        (has(char::is_ascii_uppercase), 26.0),
        (has(char::is_ascii_digit), 10.0),
        (has(|c| !c.is_ascii_alphanumeric()), 33.0),
    ]
    .into_iter()
    .filter(|(present, _)| *present)
    .map(|(_, size)| size)
}

fn kinds_of_characters(secret: &str) -> usize {
    kinds(secret).count()
}

/// Bits of a secret, estimated from its length and the kinds of characters in it: what a guesser
/// must cover if the secret is random.
fn estimated_bits(secret: &str) -> f64 {
    let alphabet: f64 = kinds(secret).sum();
    secret.chars().count() as f64 * alphabet.max(1.0).log2()
}

/// How costly checking a stored hash is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckCost {
    /// Microseconds: checked at once.
    Cheap,
    /// Tens of milliseconds of key stretching: run on the blocking pool, and bounded per client.
    Stretched,
}

/// How costly checking `stored` is; a malformed hash is cheap (it never matches).
pub fn check_cost(stored: &str) -> CheckCost {
    if stored.starts_with(STRETCHED) {
        CheckCost::Stretched
    } else {
        CheckCost::Cheap
    }
}

/// Whether `stored` has a form this module produces.
pub fn is_secret_hash(stored: &str) -> bool {
    parse(stored).is_some()
}

/// Whether `secret` matches a stored hash of either form. A malformed stored hash never matches.
pub fn verify_secret(secret: &str, stored: &str) -> bool {
    match parse(stored) {
        Some(Stored::Fast { salt, hash }) => hmac::verify(
            &hmac::Key::new(hmac::HMAC_SHA256, &salt),
            secret.as_bytes(),
            &hash,
        )
        .is_ok(),
        Some(Stored::Stretched {
            iterations,
            salt,
            hash,
        }) => pbkdf2::verify(
            pbkdf2::PBKDF2_HMAC_SHA256,
            iterations,
            &salt,
            secret.as_bytes(),
            &hash,
        )
        .is_ok(),
        None => false,
    }
}

/// A stored hash, parsed.
enum Stored {
    Fast {
        salt: Vec<u8>,
        hash: Vec<u8>,
    },
    Stretched {
        iterations: NonZeroU32,
        salt: Vec<u8>,
        hash: Vec<u8>,
    },
}

fn parse(stored: &str) -> Option<Stored> {
    let parts: Vec<&str> = stored.split('$').collect();
    let decode = |text: &str| URL_SAFE_NO_PAD.decode(text).ok();
    let hash_ok = |hash: &Vec<u8>| !hash.is_empty() && hash.len() <= HASH_LEN;
    match parts.as_slice() {
        [FAST, salt, hash] => {
            let (salt, hash) = (decode(salt)?, decode(hash)?);
            (hash.len() == HASH_LEN).then_some(Stored::Fast { salt, hash })
        }
        [STRETCHED, iterations, salt, hash] => {
            let iterations = iterations.parse::<u32>().ok().and_then(NonZeroU32::new)?;
            let (salt, hash) = (decode(salt)?, decode(hash)?);
            hash_ok(&hash).then_some(Stored::Stretched {
                iterations,
                salt,
                hash,
            })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_secret_is_stored_with_the_fast_hash_and_verifies_only_itself() {
        let secret = generate_secret();
        assert_eq!(secret.len(), 43);
        let stored = hash_secret(&secret);
        assert!(stored.starts_with("sha256$"), "{stored}");
        assert_eq!(check_cost(&stored), CheckCost::Cheap);
        assert!(!stored.contains(&secret));
        assert!(verify_secret(&secret, &stored));
        assert!(is_secret_hash(&stored));
        assert!(!verify_secret("wrong", &stored));
        assert_ne!(hash_secret(&secret), stored, "salt must differ per hash");
    }

    #[test]
    fn a_guessable_secret_or_a_password_is_stretched() {
        for weak in ["hunter22", "correct horse battery staple"] {
            let stored = hash_secret(weak);
            assert!(
                stored.starts_with("pbkdf2-sha256$100000$"),
                "{weak}: {stored}"
            );
            assert_eq!(check_cost(&stored), CheckCost::Stretched);
            assert!(verify_secret(weak, &stored));
        }
        let password = hash_password(&generate_secret());
        assert!(
            password.starts_with("pbkdf2-sha256$"),
            "passwords are always stretched"
        );
    }

    #[test]
    fn a_stretched_hash_of_an_earlier_version_still_verifies() {
        let secret = generate_secret();
        let legacy = hash_password(&secret);
        assert!(verify_secret(&secret, &legacy));
        assert!(!verify_secret("wrong", &legacy));
    }

    #[test]
    fn malformed_stored_hash_never_matches() {
        for stored in [
            "",
            "plain",
            "pbkdf2-sha256$x$a$b",
            "md5$1$a$b",
            "pbkdf2-sha256$1000$$",
            "sha256$$",
            "sha256$AAAA$AAAA",
        ] {
            assert!(!verify_secret("s", stored), "{stored}");
            assert!(!is_secret_hash(stored), "{stored}");
        }
    }
}
