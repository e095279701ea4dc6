//! Users, RabbitMQ-compatible password hashes and the SASL mechanisms the core checks.

use std::fmt;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use sha2::{Digest, Sha256, Sha512};

use crate::error::CoreError;

/// The SASL mechanism a client logged in with. The front parses the response bytes (PLAIN's
/// `\0user\0pass`, AMQPLAIN's `LOGIN`/`PASSWORD` table); the core only sees user and password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mechanism {
    /// `PLAIN`.
    Plain,
    /// `AMQPLAIN`.
    Amqplain,
}

impl fmt::Display for Mechanism {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Mechanism::Plain => "PLAIN",
            Mechanism::Amqplain => "AMQPLAIN",
        })
    }
}

/// RabbitMQ's password hashing algorithms (the `hashing_algorithm` of definitions.json).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HashingAlgorithm {
    /// `rabbit_password_hashing_sha256` (RabbitMQ's default).
    #[default]
    Sha256,
    /// `rabbit_password_hashing_sha512`.
    Sha512,
}

impl HashingAlgorithm {
    /// The name used in definitions.json.
    pub fn name(self) -> &'static str {
        match self {
            HashingAlgorithm::Sha256 => "rabbit_password_hashing_sha256",
            HashingAlgorithm::Sha512 => "rabbit_password_hashing_sha512",
        }
    }

    /// Parses a definitions.json name.
    pub fn from_name(name: &str) -> Option<HashingAlgorithm> {
        match name {
            "rabbit_password_hashing_sha256" => Some(HashingAlgorithm::Sha256),
            "rabbit_password_hashing_sha512" => Some(HashingAlgorithm::Sha512),
            _ => None,
        }
    }

    fn digest(self, salt: &[u8], password: &str) -> Vec<u8> {
        match self {
            HashingAlgorithm::Sha256 => {
                let mut h = Sha256::new();
                h.update(salt);
                h.update(password.as_bytes());
                h.finalize().to_vec()
            }
            HashingAlgorithm::Sha512 => {
                let mut h = Sha512::new();
                h.update(salt);
                h.update(password.as_bytes());
                h.finalize().to_vec()
            }
        }
    }
}

const SALT_LEN: usize = 4;

/// A salted password hash as RabbitMQ stores it: `salt(4) ++ H(salt ++ utf8 password)`, shown
/// base64-encoded in definitions.json.
///
/// ```
/// use warren_core::{HashingAlgorithm, PasswordHash};
///
/// let h = PasswordHash::with_salt("MQ321", [1, 2, 3, 4], HashingAlgorithm::Sha256);
/// assert!(h.verify("MQ321"));
/// assert!(!h.verify("mq321"));
/// let again = PasswordHash::from_base64(&h.to_base64(), HashingAlgorithm::Sha256).unwrap();
/// assert_eq!(again, h);
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash {
    algorithm: HashingAlgorithm,
    bytes: Vec<u8>,
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Hashes stay out of logs.
        f.debug_struct("PasswordHash")
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

impl PasswordHash {
    /// Hashes `password` with a fresh random salt.
    pub fn new(password: &str, algorithm: HashingAlgorithm) -> PasswordHash {
        PasswordHash::with_salt(password, rand::random(), algorithm)
    }

    /// Hashes `password` with the given salt (deterministic, for tests and fixtures).
    pub fn with_salt(password: &str, salt: [u8; 4], algorithm: HashingAlgorithm) -> PasswordHash {
        let mut bytes = salt.to_vec();
        bytes.extend(algorithm.digest(&salt, password));
        PasswordHash { algorithm, bytes }
    }

    /// Reads the base64 form found in definitions.json.
    pub fn from_base64(text: &str, algorithm: HashingAlgorithm) -> Result<PasswordHash, CoreError> {
        let bytes = STANDARD
            .decode(text)
            .map_err(|e| CoreError::Definitions(format!("password_hash is not base64: {e}")))?;
        let want = SALT_LEN + algorithm.digest(&[], "").len();
        if bytes.len() != want {
            return Err(CoreError::Definitions(format!(
                "password_hash has {} bytes, {} expects {want}",
                bytes.len(),
                algorithm.name()
            )));
        }
        Ok(PasswordHash { algorithm, bytes })
    }

    /// The base64 form for definitions.json.
    pub fn to_base64(&self) -> String {
        STANDARD.encode(&self.bytes)
    }

    /// The algorithm.
    pub fn algorithm(&self) -> HashingAlgorithm {
        self.algorithm
    }

    /// True when `password` hashes to this hash (compared in constant time).
    pub fn verify(&self, password: &str) -> bool {
        let (salt, digest) = self.bytes.split_at(SALT_LEN.min(self.bytes.len()));
        let candidate = self.algorithm.digest(salt, password);
        candidate.len() == digest.len()
            && candidate
                .iter()
                .zip(digest)
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    }
}

/// A broker user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// The user name.
    pub name: String,
    /// The password hash; `None` means password login is impossible.
    pub password: Option<PasswordHash>,
    /// Tags (`administrator`, `management`, …), for the management API.
    pub tags: Vec<String>,
}

impl User {
    /// A user with a freshly salted SHA-256 hash of `password`.
    pub fn new(name: impl Into<String>, password: &str, tags: Vec<String>) -> User {
        User {
            name: name.into(),
            password: Some(PasswordHash::new(password, HashingAlgorithm::Sha256)),
            tags,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rabbitmq_documented_example_hashes_alike() {
        // RabbitMQ's documented example of the algorithm: salt 908D C60A, password "test12".
        let salt = [0x90, 0x8d, 0xc6, 0x0a];
        let h = PasswordHash::with_salt("test12", salt, HashingAlgorithm::Sha256);
        assert_eq!(
            h.to_base64(),
            "kI3GCqW5JLMJa4iX1lo7X4D6XbYqlLgxIs30+P6tENUV2POR"
        );
        assert!(h.verify("test12"));
        assert!(!h.verify("test13"));
    }

    #[test]
    fn hashes_exported_by_rabbitmq_verify() {
        // From a RabbitMQ 3.10 definitions export (tests/fixtures).
        let rabbit = PasswordHash::from_base64(
            "anrgJqzy2ENE975hqF/saHlqOBOiawYE+WWO+UOjtvoSaubw",
            HashingAlgorithm::Sha256,
        )
        .unwrap();
        assert!(rabbit.verify("MQ321"));
        assert!(!rabbit.verify("guest"));
        let guest = PasswordHash::from_base64(
            "2fAXqQjgaX8wpm34JMc/yvn8SrpXeVvLRwDUEJcnfRJu6okx",
            HashingAlgorithm::Sha256,
        )
        .unwrap();
        assert!(guest.verify("guest"));
    }

    #[test]
    fn bad_base64_and_length_are_refused() {
        assert!(PasswordHash::from_base64("***", HashingAlgorithm::Sha256).is_err());
        assert!(PasswordHash::from_base64("AAAA", HashingAlgorithm::Sha256).is_err());
    }

    #[test]
    fn sha512_roundtrips() {
        let h = PasswordHash::new("pw", HashingAlgorithm::Sha512);
        let back = PasswordHash::from_base64(&h.to_base64(), HashingAlgorithm::Sha512).unwrap();
        assert!(back.verify("pw"));
    }
}
