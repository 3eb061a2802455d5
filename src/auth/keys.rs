//! The server's RS256 signing key: generated on first start, kept in the data directory, and
//! published as a JWKS so bots can verify notification tokens.

use std::path::{Path, PathBuf};

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::KeyPair as _;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{DecodingKey, EncodingKey};
use serde_json::json;

/// File name of the private key (PKCS#8 PEM) inside `<data_dir>/keys/`.
pub const SIGNING_KEY_FILE: &str = "signing-key.pem";

/// The signing key pair with its key id and public JWK.
pub struct SigningKeys {
    /// `kid`: the RFC 7638 thumbprint of the public key.
    pub kid: String,
    encoding: EncodingKey,
    decoding: DecodingKey,
    jwk: serde_json::Value,
}

impl std::fmt::Debug for SigningKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKeys")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// Why the signing key could not be loaded or created.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Reading or writing the key file failed.
    #[error("signing key file {path}: {source}")]
    Io {
        /// The signing key's path (`<data_dir>/keys/signing-key.pem`).
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The key file exists but is not an RSA PKCS#8 PEM key of at least 2048 bits.
    #[error(
        "signing key file {path} is not usable ({reason}); allowed: an RSA private key of 2048 bits or more in PKCS#8 PEM (\"BEGIN PRIVATE KEY\"); delete it to generate a new one"
    )]
    Invalid {
        /// The signing key's path (`<data_dir>/keys/signing-key.pem`).
        path: PathBuf,
        /// What was wrong.
        reason: String,
    },
}

impl SigningKeys {
    /// Loads `<keys_dir>/signing-key.pem`, or generates an RSA 2048 key there (mode 0600).
    pub fn load_or_create(keys_dir: &Path) -> Result<SigningKeys, KeyError> {
        let path = keys_dir.join(SIGNING_KEY_FILE);
        let io = |source| KeyError::Io {
            path: path.clone(),
            source,
        };
        if !path.exists() {
            std::fs::create_dir_all(keys_dir).map_err(io)?;
            let pem = generate_pem().map_err(|reason| KeyError::Invalid {
                path: path.clone(),
                reason,
            })?;
            write_private(&path, pem.as_bytes()).map_err(io)?;
            tracing::info!(path = %path.display(), "generated a new RSA 2048 signing key");
        }
        let pem = std::fs::read(&path).map_err(io)?;
        SigningKeys::from_pkcs8_pem(&pem).map_err(|reason| KeyError::Invalid { path, reason })
    }

    /// Builds the keys from a PKCS#8 PEM RSA private key.
    pub fn from_pkcs8_pem(pem_bytes: &[u8]) -> Result<SigningKeys, String> {
        let parsed = pem::parse(pem_bytes).map_err(|e| format!("not PEM: {e}"))?;
        if parsed.tag() != "PRIVATE KEY" {
            return Err(format!(
                "PEM block is {:?}, expected \"PRIVATE KEY\"",
                parsed.tag()
            ));
        }
        let pair =
            KeyPair::from_pkcs8(parsed.contents()).map_err(|e| format!("not an RSA key: {e}"))?;
        if pair.public_modulus_len() < 256 {
            return Err(format!("key is {} bits", pair.public_modulus_len() * 8));
        }
        let public = pair.public_key();
        let n = public.modulus().big_endian_without_leading_zero().to_vec();
        let e = public.exponent().big_endian_without_leading_zero().to_vec();
        let n64 = URL_SAFE_NO_PAD.encode(&n);
        let e64 = URL_SAFE_NO_PAD.encode(&e);
        // RFC 7638: SHA-256 over the required members in lexicographic order, no whitespace.
        let canonical = format!(r#"{{"e":"{e64}","kty":"RSA","n":"{n64}"}}"#);
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, canonical.as_bytes());
        let kid = URL_SAFE_NO_PAD.encode(digest.as_ref());
        let encoding = EncodingKey::from_rsa_pem(pem_bytes)
            .map_err(|e| format!("rejected by the signer: {e}"))?;
        let decoding = DecodingKey::from_rsa_raw_components(&n, &e);
        let jwk =
            json!({"kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid, "n": n64, "e": e64});
        Ok(SigningKeys {
            kid,
            encoding,
            decoding,
            jwk,
        })
    }

    /// The private key, for signing.
    pub fn encoding_key(&self) -> &EncodingKey {
        &self.encoding
    }

    /// The public key, for verifying the server's own tokens.
    pub fn decoding_key(&self) -> &DecodingKey {
        &self.decoding
    }

    /// The JWKS document: `{"keys":[{kty,use,alg,kid,n,e}]}`.
    pub fn jwks(&self) -> serde_json::Value {
        json!({ "keys": [self.jwk.clone()] })
    }
}

fn generate_pem() -> Result<String, String> {
    let pair =
        KeyPair::generate(KeySize::Rsa2048).map_err(|_| "key generation failed".to_owned())?;
    let der = pair
        .as_der()
        .map_err(|_| "key serialization failed".to_owned())?;
    Ok(pem::encode(&pem::Pem::new(
        "PRIVATE KEY",
        der.as_ref().to_vec(),
    )))
}

fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_key_persists_and_keeps_its_kid() {
        let dir = tempfile::tempdir().unwrap();
        let first = SigningKeys::load_or_create(dir.path()).unwrap();
        let second = SigningKeys::load_or_create(dir.path()).unwrap();
        assert_eq!(first.kid, second.kid);
        let jwks = first.jwks();
        assert_eq!(jwks["keys"][0]["kid"], first.kid.as_str());
        assert_eq!(jwks["keys"][0]["alg"], "RS256");
        assert_eq!(jwks["keys"][0]["e"], "AQAB");
    }

    #[test]
    fn garbage_key_file_is_a_precise_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(SIGNING_KEY_FILE), "not a key").unwrap();
        let error = SigningKeys::load_or_create(dir.path())
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("not usable") && error.contains("PKCS#8"),
            "{error}"
        );
    }
}
