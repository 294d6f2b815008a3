//! Errors as RFC 9457 `application/problem+json` documents.
//!
//! Clients branch on the stable `type`, never on `title` or `detail` wording, so each
//! variant owns one `type` and the OpenAPI document lists them all.

use http::StatusCode;
use serde::{Deserialize, Serialize};

use crate::response::{HttpResponse, json_with_content_type};

/// Media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// One invalid input field, reported back so a form can show it next to the field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Every error a client can observe.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ApiError {
    /// Malformed ids, query values or JSON bodies.
    #[error("{detail}")]
    BadRequest {
        detail: String,
        errors: Vec<FieldError>,
    },
    #[error("authentication required")]
    Unauthorized,
    /// A sign-in with a wrong email or password; one answer for both, so it reveals neither.
    #[error("the email or password is incorrect")]
    InvalidCredentials,
    #[error("method not allowed; allowed: {allow}")]
    MethodNotAllowed { allow: String },
    /// The payment was refused (declined card, ...).
    #[error("{detail}")]
    PaymentRequired { kind: &'static str, detail: String },
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    /// The request conflicts with current state (duplicate email, ...).
    #[error("{detail}")]
    Conflict { kind: &'static str, detail: String },
    #[error("request body exceeds {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("expected content type {expected}")]
    UnsupportedMediaType { expected: &'static str },
    /// Well-formed but semantically refused (idempotency key reused with another body, ...).
    #[error("{detail}")]
    Unprocessable { kind: &'static str, detail: String },
    #[error("too many requests")]
    TooManyRequests { retry_after_secs: u64 },
    /// A request came back to a region it already passed through (a routing loop).
    #[error("{0}")]
    LoopDetected(String),
    /// A dependency (PostgreSQL, Redis, the payment provider) is unreachable.
    #[error("{detail}")]
    ServiceUnavailable {
        detail: String,
        retry_after_secs: u64,
        /// What failed, for the log line (see [`ApiError::log_cause`]); never sent.
        cause: String,
    },
    /// Something this request needs is out of reach for now, and says what (its own type).
    #[error("{detail}")]
    Unavailable {
        kind: &'static str,
        detail: String,
        retry_after_secs: u64,
    },
    /// A bug or an unexpected failure; the detail is logged, never sent.
    #[error("internal error: {0}")]
    Internal(String),
}

#[derive(Serialize)]
struct Problem<'a> {
    #[serde(rename = "type")]
    kind: String,
    title: &'a str,
    status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<String>,
    #[serde(skip_serializing_if = "<[FieldError]>::is_empty")]
    errors: &'a [FieldError],
}

impl ApiError {
    /// A 400 for one bad field.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        let error = FieldError::new(field, message);
        Self::BadRequest {
            detail: format!("invalid {}: {}", error.field, error.message),
            errors: vec![error],
        }
    }

    /// A 400 for a malformed request as a whole.
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::BadRequest {
            detail: detail.into(),
            errors: Vec::new(),
        }
    }

    pub fn not_found(what: impl Into<String>) -> Self {
        Self::NotFound(what.into())
    }

    pub fn internal(error: impl std::fmt::Display) -> Self {
        Self::Internal(error.to_string())
    }

    /// A 503: `detail` for the client, `cause` for the log.
    pub fn service_unavailable(
        detail: impl Into<String>,
        retry_after_secs: u64,
        cause: impl std::fmt::Display,
    ) -> Self {
        Self::ServiceUnavailable {
            detail: detail.into(),
            retry_after_secs,
            cause: cause.to_string(),
        }
    }

    /// What the log says of this error, if anything: the cause a 500 or a 503 keeps from
    /// the client. The request's handler writes it, with the request id.
    pub fn log_cause(&self) -> Option<(crate::log::Event, &str)> {
        match self {
            Self::Internal(cause) => Some((crate::log::Event::InternalError, cause)),
            Self::ServiceUnavailable { cause, .. } => {
                Some((crate::log::Event::DependencyUnavailable, cause))
            }
            _ => None,
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Self::Unauthorized | Self::InvalidCredentials => StatusCode::UNAUTHORIZED,
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::PaymentRequired { .. } => StatusCode::PAYMENT_REQUIRED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::LoopDetected(_) => StatusCode::LOOP_DETECTED,
            Self::ServiceUnavailable { .. } | Self::Unavailable { .. } => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// One error of each variant whose problem `type` the variant itself fixes. The other
    /// variants (`Conflict`, `PaymentRequired`, `Unprocessable`, `Unavailable`) take theirs
    /// from the `kind` named where they are raised.
    pub fn of_each_fixed_type() -> [ApiError; 12] {
        [
            Self::bad_request(""),
            Self::Unauthorized,
            Self::InvalidCredentials,
            Self::MethodNotAllowed {
                allow: String::new(),
            },
            Self::Forbidden(String::new()),
            Self::NotFound(String::new()),
            Self::PayloadTooLarge { limit: 0 },
            Self::UnsupportedMediaType { expected: "" },
            Self::TooManyRequests {
                retry_after_secs: 0,
            },
            Self::LoopDetected(String::new()),
            Self::service_unavailable("", 0, ""),
            Self::Internal(String::new()),
        ]
    }

    /// The stable problem `type`, a relative URI documented in the OpenAPI document.
    pub fn problem_type(&self) -> String {
        let slug = match self {
            Self::BadRequest { .. } => "invalid-request",
            Self::Unauthorized => "unauthorized",
            Self::InvalidCredentials => "invalid-credentials",
            Self::MethodNotAllowed { .. } => "method-not-allowed",
            Self::Forbidden(_) => "forbidden",
            Self::NotFound(_) => "not-found",
            Self::Conflict { kind, .. }
            | Self::Unprocessable { kind, .. }
            | Self::PaymentRequired { kind, .. }
            | Self::Unavailable { kind, .. } => kind,
            Self::PayloadTooLarge { .. } => "payload-too-large",
            Self::UnsupportedMediaType { .. } => "unsupported-media-type",
            Self::TooManyRequests { .. } => "rate-limited",
            Self::LoopDetected(_) => "routing-loop",
            Self::ServiceUnavailable { .. } => "service-unavailable",
            Self::Internal(_) => "internal",
        };
        format!("/problems/{slug}")
    }

    fn retry_after_secs(&self) -> Option<u64> {
        match self {
            Self::TooManyRequests { retry_after_secs }
            | Self::ServiceUnavailable {
                retry_after_secs, ..
            }
            | Self::Unavailable {
                retry_after_secs, ..
            } => Some(*retry_after_secs),
            _ => None,
        }
    }

    /// Client-safe detail: internal errors are reported without their cause.
    fn public_detail(&self) -> Option<String> {
        match self {
            Self::Internal(_) => None,
            other => Some(other.to_string()),
        }
    }

    /// The one place errors become HTTP responses.
    pub fn into_response(self) -> HttpResponse {
        let status = self.status();
        let errors = match &self {
            Self::BadRequest { errors, .. } => errors.as_slice(),
            _ => &[],
        };
        let problem = Problem {
            kind: self.problem_type(),
            title: status.canonical_reason().unwrap_or("Error"),
            status: status.as_u16(),
            detail: self.public_detail(),
            errors,
        };
        let mut response = json_with_content_type(status, &problem, PROBLEM_JSON);
        let headers = response.headers_mut();
        if let Some(secs) = self.retry_after_secs() {
            headers.insert(http::header::RETRY_AFTER, http::HeaderValue::from(secs));
        }
        if let Self::MethodNotAllowed { allow } = &self
            && let Ok(value) = http::HeaderValue::from_str(allow)
        {
            headers.insert(http::header::ALLOW, value);
        }
        if matches!(self, Self::Unauthorized | Self::InvalidCredentials) {
            headers.insert(
                http::header::WWW_AUTHENTICATE,
                http::HeaderValue::from_static("Cookie realm=\"course-platform\""),
            );
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::response::body_bytes;

    fn body_json(response: HttpResponse) -> serde_json::Value {
        serde_json::from_slice(&body_bytes(response)).expect("problem body is JSON")
    }

    #[test]
    fn bad_field_is_a_400_with_the_field_named() {
        let response = ApiError::invalid("page_size", "must be at most 100").into_response();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert_eq!(response.headers()["content-type"], PROBLEM_JSON);
        let body = body_json(response);
        assert_eq!(body["type"], "/problems/invalid-request");
        assert_eq!(body["status"], 400);
        assert_eq!(body["errors"][0]["field"], "page_size");
    }

    #[test]
    fn internal_errors_do_not_leak_their_cause() {
        let response = ApiError::internal("password=hunter2 at db").into_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let text = String::from_utf8(body_bytes(response).to_vec()).expect("utf-8");
        assert!(!text.contains("hunter2"), "{text}");
    }

    #[test]
    fn unavailable_says_when_to_retry() {
        let error = ApiError::service_unavailable(
            "catalog database unreachable",
            5,
            "connection refused by 10.0.0.7",
        );
        assert_eq!(
            error.log_cause(),
            Some((
                crate::log::Event::DependencyUnavailable,
                "connection refused by 10.0.0.7"
            ))
        );
        let response = error.into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()["retry-after"], "5");
        let text = String::from_utf8(body_bytes(response).to_vec()).expect("utf-8");
        assert!(!text.contains("10.0.0.7"), "{text}");
    }

    #[test]
    fn invalid_credentials_is_a_401_of_its_own_type() {
        let response = ApiError::InvalidCredentials.into_response();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert!(response.headers().contains_key("www-authenticate"));
        assert_eq!(body_json(response)["type"], "/problems/invalid-credentials");
    }

    #[test]
    fn each_fixed_type_is_listed_once() {
        let types: std::collections::BTreeSet<String> = ApiError::of_each_fixed_type()
            .iter()
            .map(ApiError::problem_type)
            .collect();
        assert_eq!(types.len(), ApiError::of_each_fixed_type().len());
    }

    #[test]
    fn conflict_kind_becomes_the_problem_type() {
        let error = ApiError::Conflict {
            kind: "email-taken",
            detail: "an account with this email exists".into(),
        };
        assert_eq!(error.problem_type(), "/problems/email-taken");
        assert_eq!(error.status(), StatusCode::CONFLICT);
    }
}
