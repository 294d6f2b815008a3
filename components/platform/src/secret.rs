//! Values that must never reach a log line: passwords, card numbers.
//!
//! `Debug` and `Display` print a placeholder, so a `{:?}` of a request struct, an error
//! that carries one, or a panic message cannot leak the value; reading it takes an explicit
//! [`Secret::expose`]. Serde sees through it: requests still parse.

use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value itself; every call site is a place the secret is used on purpose.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("Secret(<redacted>)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("<redacted>")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize, Serialize)]
    struct SignIn {
        email: String,
        password: Secret,
    }

    #[test]
    fn a_secret_parses_and_serialises_but_never_prints() {
        let parsed: SignIn =
            serde_json::from_str(r#"{"email":"a@example.com","password":"hunter22"}"#)
                .expect("parses");
        assert_eq!(parsed.password.expose(), "hunter22");
        let printed = format!("{parsed:?} {}", parsed.password);
        assert!(!printed.contains("hunter22"), "{printed}");
        assert!(printed.contains("a@example.com"));
        let sent = serde_json::to_string(&parsed).expect("serialises");
        assert!(sent.contains("hunter22"), "the provider still gets it");
    }
}
