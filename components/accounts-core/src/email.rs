//! Email addresses as account identifiers.
//!
//! Stored normalized (trimmed, lowercased) so `Ann@Example.com ` and `ann@example.com`
//! are one account; the unique index on `users.email` then enforces that.

use std::fmt;

/// Longest address SMTP can carry (RFC 5321 path limit minus the brackets).
const MAX_LENGTH: usize = 254;
const MAX_LOCAL_LENGTH: usize = 64;
const MAX_LABEL_LENGTH: usize = 63;

/// A syntactically valid, normalized email address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

/// Why an address was refused; the message is shown next to the form field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    #[error("is required")]
    Empty,
    #[error("must be at most {MAX_LENGTH} characters")]
    TooLong,
    #[error("must be an email address like name@example.com")]
    Malformed,
}

/// The normal form used for storage, lookups and throttling keys: trimmed and lowercased.
pub fn normalize(raw: &str) -> String {
    raw.trim().to_lowercase()
}

impl Email {
    pub fn parse(raw: &str) -> Result<Self, EmailError> {
        let email = normalize(raw);
        if email.is_empty() {
            return Err(EmailError::Empty);
        }
        if email.chars().count() > MAX_LENGTH {
            return Err(EmailError::TooLong);
        }
        let (local, domain) = email.split_once('@').ok_or(EmailError::Malformed)?;
        if valid_local_part(local) && valid_domain(domain) {
            Ok(Self(email))
        } else {
            Err(EmailError::Malformed)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part before `@`, which a password must not simply repeat.
    pub fn local_part(&self) -> &str {
        self.0.split_once('@').map_or(&self.0, |(local, _)| local)
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Dot-atom local parts only: quoted local parts are legal but in practice only typos.
fn valid_local_part(local: &str) -> bool {
    let forbidden = |c: char| c.is_whitespace() || c.is_control() || "@<>()[]\\,;:\"".contains(c);
    !local.is_empty()
        && local.chars().count() <= MAX_LOCAL_LENGTH
        && !local.chars().any(forbidden)
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
}

/// A host name with at least two labels: `localhost` or IP literals are not sign-up addresses.
fn valid_domain(domain: &str) -> bool {
    let labels: Vec<&str> = domain.split('.').collect();
    let valid_label = |label: &&str| {
        !label.is_empty()
            && label.chars().count() <= MAX_LABEL_LENGTH
            && label.chars().all(|c| c.is_alphanumeric() || c == '-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    labels.len() >= 2
        && labels.iter().all(valid_label)
        && labels
            .last()
            .is_some_and(|tld| tld.chars().count() >= 2 && !tld.chars().all(|c| c.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_case_and_surrounding_space() {
        let email = Email::parse("  Ann.Lee+courses@Example.COM \n").expect("valid");
        assert_eq!(email.as_str(), "ann.lee+courses@example.com");
        assert_eq!(email.local_part(), "ann.lee+courses");
    }

    #[test]
    fn accepts_internationalized_domains() {
        assert!(Email::parse("jo@bücher.de").is_ok());
        assert!(Email::parse("jo@xn--bcher-kva.de").is_ok());
    }

    #[test]
    fn rejects_malformed_addresses() {
        for raw in [
            "plainaddress",
            "@example.com",
            "ann@",
            "ann@localhost",
            "ann@@example.com",
            "ann@exa mple.com",
            "an n@example.com",
            "ann@example..com",
            "ann@-example.com",
            "ann@example.c",
            "ann@127.0.0.1",
            ".ann@example.com",
            "ann.@example.com",
            "a..nn@example.com",
            "<ann>@example.com",
        ] {
            assert_eq!(Email::parse(raw), Err(EmailError::Malformed), "{raw}");
        }
    }

    #[test]
    fn empty_and_overlong_have_their_own_messages() {
        assert_eq!(Email::parse("   "), Err(EmailError::Empty));
        let long = format!("{}@{}.com", "a".repeat(64), "b".repeat(200));
        assert_eq!(Email::parse(&long), Err(EmailError::TooLong));
    }
}
