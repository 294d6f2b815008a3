//! `Idempotency-Key` handling: key validation and request fingerprints.
//!
//! A key is bound to the request it first arrived with; the fingerprint is a SHA-256 of
//! the canonical JSON body (object keys sorted, insignificant whitespace removed), so the
//! same request formatted differently still matches while any changed value does not.
//! Only the hash is stored, never the body (it carries a card number).

use platform::ApiError;
use sha2::{Digest, Sha256};

pub const HEADER: &str = "idempotency-key";
pub const MAX_KEY_LEN: usize = 255;

/// A client's `Idempotency-Key`, known to be 1..=255 visible ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The hex SHA-256 of a request's canonical JSON body: what a key is bound to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint(String);

impl Fingerprint {
    /// A fingerprint read back from storage.
    pub fn stored(hex: String) -> Self {
        Self(hex)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Validates the header value: required, 1..=255 visible ASCII characters.
pub fn key_from_header(value: Option<&http::HeaderValue>) -> Result<IdempotencyKey, ApiError> {
    let Some(value) = value else {
        return Err(ApiError::invalid(
            "Idempotency-Key",
            "this header is required; send a unique value (e.g. a UUID) per checkout attempt",
        ));
    };
    let key = value
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|key| !key.is_empty() && key.len() <= MAX_KEY_LEN)
        .filter(|key| key.bytes().all(|byte| byte.is_ascii_graphic()));
    key.map(|key| IdempotencyKey(key.to_owned()))
        .ok_or_else(|| {
            ApiError::invalid(
                "Idempotency-Key",
                format!("must be 1 to {MAX_KEY_LEN} visible ASCII characters"),
            )
        })
}

/// The fingerprint of a JSON body, in canonical form.
pub fn fingerprint(body: &serde_json::Value) -> Fingerprint {
    // serde_json's default map is ordered by key, so re-serialising canonicalises.
    let canonical = body.to_string();
    let digest = Sha256::digest(canonical.as_bytes());
    Fingerprint(digest.iter().map(|byte| format!("{byte:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn missing_key_is_a_400_naming_the_header() {
        let error = key_from_header(None).expect_err("required");
        assert_eq!(error.status(), 400);
        assert!(error.to_string().contains("Idempotency-Key"));
    }

    #[test]
    fn accepts_a_uuid_and_refuses_blank_or_long_keys() {
        let uuid = HeaderValue::from_static("0190f4b2-7c1e-7e3a-9a55-2b1c7d9e8f00");
        assert_eq!(
            key_from_header(Some(&uuid)).expect("valid").as_str(),
            "0190f4b2-7c1e-7e3a-9a55-2b1c7d9e8f00"
        );
        assert!(key_from_header(Some(&HeaderValue::from_static("  "))).is_err());
        let long = HeaderValue::from_str(&"k".repeat(MAX_KEY_LEN + 1)).expect("ascii");
        assert!(key_from_header(Some(&long)).is_err());
    }

    #[test]
    fn fingerprint_ignores_formatting_and_key_order() {
        let a: serde_json::Value =
            serde_json::from_str(r#"{"card_number":"4242","note":"x"}"#).expect("json");
        let b: serde_json::Value =
            serde_json::from_str("{ \"note\": \"x\",\n \"card_number\": \"4242\" }").expect("json");
        assert_eq!(fingerprint(&a), fingerprint(&b));
        assert_eq!(fingerprint(&a).as_str().len(), 64);
    }

    #[test]
    fn fingerprint_changes_with_any_value() {
        let a = serde_json::json!({"card_number": "4242424242424242"});
        let b = serde_json::json!({"card_number": "4000000000000002"});
        assert_ne!(fingerprint(&a), fingerprint(&b));
    }
}
