//! Password policy and argon2id hashing.
//!
//! The policy follows NIST SP 800-63B: length matters, composition rules do not. Hashing
//! uses OWASP's argon2id baseline (19 MiB, 2 passes, 1 lane), which costs tens of
//! milliseconds natively and stays well under a second in a wasm component.

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::Email;

pub const MIN_LENGTH: usize = 12;
pub const MAX_LENGTH: usize = 128;

/// OWASP Password Storage Cheat Sheet, argon2id option 1.
const MEMORY_KIB: u32 = 19 * 1024;
const PASSES: u32 = 2;
const LANES: u32 = 1;

/// The hash of a random, discarded password, with the same parameters as real hashes.
/// Sign-in verifies against it when the email is unknown, so an unknown email costs the
/// same time as a wrong password and response timing does not reveal who has an account.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$fOs7/Gn//NoXfs2PmPrZgg$zR0CW/W5twBJ4Yc84A8s/x0w4AdHXpwj57dAxAJ0X88";

/// A password that passed the policy; only this type can be hashed.
pub struct Password(String);

/// Why a password was refused; the message is shown next to the form field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("must be at least {MIN_LENGTH} characters")]
    TooShort,
    #[error("must be at most {MAX_LENGTH} characters")]
    TooLong,
    #[error("must not be a single repeated character or only spaces")]
    Trivial,
    #[error("must not be your email address")]
    SameAsEmail,
}

/// Hashing failed: only on a bug in the parameters or when the OS has no randomness.
#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashError(String);

impl Password {
    /// Applies the policy. `email` is the account's address, which a password must not repeat.
    pub fn new(raw: String, email: Option<&Email>) -> Result<Self, PasswordError> {
        let length = raw.chars().count();
        if length < MIN_LENGTH {
            return Err(PasswordError::TooShort);
        }
        if length > MAX_LENGTH {
            return Err(PasswordError::TooLong);
        }
        let mut chars = raw.chars();
        let first = chars.next();
        if raw.trim().is_empty() || chars.all(|c| Some(c) == first) {
            return Err(PasswordError::Trivial);
        }
        if let Some(email) = email {
            let lowered = raw.trim().to_lowercase();
            if lowered == email.as_str() || lowered == email.local_part() {
                return Err(PasswordError::SameAsEmail);
            }
        }
        Ok(Self(raw))
    }

    /// A PHC string (`$argon2id$v=19$m=...`) with a fresh random salt, for `users.password_hash`.
    pub fn hash(&self) -> Result<String, HashError> {
        let hash = hasher()?
            .hash_password(self.0.as_bytes())
            .map_err(|error| HashError(error.to_string()))?;
        Ok(hash.to_string())
    }
}

/// Checks a sign-in attempt. With no stored hash (unknown email) it still does the full
/// work against [`DUMMY_HASH`] and answers `false`, so both failures take the same time.
/// A stored hash that does not parse also answers `false`: the account cannot sign in.
pub fn verify(candidate: &str, stored_hash: Option<&str>) -> bool {
    let Ok(argon2) = hasher() else {
        return false;
    };
    let matches = argon2
        .verify_password(candidate.as_bytes(), stored_hash.unwrap_or(DUMMY_HASH))
        .is_ok();
    matches && stored_hash.is_some()
}

fn hasher() -> Result<Argon2<'static>, HashError> {
    let params = Params::new(MEMORY_KIB, PASSES, LANES, None)
        .map_err(|error| HashError(error.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn email() -> Email {
        Email::parse("ann.lee@example.com").expect("valid email")
    }

    #[test]
    fn long_passphrases_pass_without_composition_rules() {
        assert!(Password::new("correct horse battery staple".into(), Some(&email())).is_ok());
        assert!(Password::new("all lowercase letters".into(), None).is_ok());
    }

    #[test]
    fn length_is_counted_in_characters_not_bytes() {
        assert!(Password::new("ñññññññññññ1".into(), None).is_ok());
        assert_eq!(
            Password::new("ñññññññññ1".into(), None).err(),
            Some(PasswordError::TooShort)
        );
        assert_eq!(
            Password::new("x".repeat(MAX_LENGTH) + "y", None).err(),
            Some(PasswordError::TooLong)
        );
    }

    #[test]
    fn trivial_passwords_are_refused() {
        assert_eq!(
            Password::new(" ".repeat(20), None).err(),
            Some(PasswordError::Trivial)
        );
        assert_eq!(
            Password::new("a".repeat(20), None).err(),
            Some(PasswordError::Trivial)
        );
    }

    #[test]
    fn the_email_is_not_a_password() {
        for raw in [
            "ann.lee@example.com",
            "ANN.LEE@EXAMPLE.COM",
            "  ann.lee@example.com ",
        ] {
            assert_eq!(
                Password::new(raw.into(), Some(&email())).err(),
                Some(PasswordError::SameAsEmail),
                "{raw}"
            );
        }
        let local = Email::parse("longlocalpart@example.com").expect("valid email");
        assert_eq!(
            Password::new("LongLocalPart".into(), Some(&local)).err(),
            Some(PasswordError::SameAsEmail)
        );
    }

    #[test]
    fn hash_verifies_only_the_same_password() {
        let password = Password::new("correct horse battery staple".into(), None).expect("ok");
        let hash = password.hash().expect("hash");
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(verify("correct horse battery staple", Some(&hash)));
        assert!(!verify("correct horse battery stapler", Some(&hash)));
    }

    #[test]
    fn same_password_gets_a_different_salt_each_time() {
        let password = Password::new("correct horse battery staple".into(), None).expect("ok");
        assert_ne!(
            password.hash().expect("hash"),
            password.hash().expect("hash")
        );
    }

    #[test]
    fn unknown_account_and_broken_hash_never_verify() {
        assert!(!verify("anything at all", None));
        assert!(!verify("anything at all", Some("not a phc string")));
    }

    #[test]
    fn dummy_hash_costs_what_a_real_hash_costs() {
        let real = Password::new("correct horse battery staple".into(), None)
            .expect("ok")
            .hash()
            .expect("hash");
        let parameters = |hash: &str| hash.split('$').take(4).collect::<Vec<_>>().join("$");
        assert_eq!(parameters(DUMMY_HASH), parameters(&real));
        assert!(argon2::password_hash::phc::PasswordHash::new(DUMMY_HASH).is_ok());
    }
}
