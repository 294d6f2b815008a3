//! The one place JSON responses are built.

use bytes::Bytes;
use http::{HeaderValue, StatusCode, header};
use serde::Serialize;

/// Response body type: fully buffered, which suits JSON APIs and lets `spin-sdk` send it as is.
pub type Body = http_body_util::Full<Bytes>;
pub type HttpResponse = http::Response<Body>;

pub const JSON: &str = "application/json";

/// A JSON response with the given status.
pub fn json<T: Serialize + ?Sized>(status: StatusCode, value: &T) -> HttpResponse {
    json_with_content_type(status, value, JSON)
}

/// `200 OK` with a JSON body.
pub fn ok<T: Serialize + ?Sized>(value: &T) -> HttpResponse {
    json(StatusCode::OK, value)
}

/// `201 Created` with a JSON body and a `Location`.
pub fn created<T: Serialize + ?Sized>(location: &str, value: &T) -> HttpResponse {
    let mut response = json(StatusCode::CREATED, value);
    if let Ok(location) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

/// An empty response (`204 No Content`, `304 Not Modified`, ...).
pub fn empty(status: StatusCode) -> HttpResponse {
    let mut response = http::Response::new(Body::new(Bytes::new()));
    *response.status_mut() = status;
    response
}

/// A response with raw bytes and an explicit content type (HTML, CSS, ...).
pub fn bytes(status: StatusCode, content_type: &str, body: impl Into<Bytes>) -> HttpResponse {
    let mut response = http::Response::new(Body::new(body.into()));
    *response.status_mut() = status;
    if let Ok(value) = HeaderValue::from_str(content_type) {
        response.headers_mut().insert(header::CONTENT_TYPE, value);
    }
    response
}

pub(crate) fn json_with_content_type<T: Serialize + ?Sized>(
    status: StatusCode,
    value: &T,
    content_type: &'static str,
) -> HttpResponse {
    // Serialising our own types only fails on a bug (a map with non-string keys);
    // answer 500 rather than panic inside a component.
    let (status, body) = match serde_json::to_vec(value) {
        Ok(body) => (status, body),
        Err(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            br#"{"type":"/problems/internal","title":"Internal Server Error","status":500}"#
                .to_vec(),
        ),
    };
    let mut response = http::Response::new(Body::new(Bytes::from(body)));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// Reads a buffered body back; for tests and for re-serving cached responses.
pub fn body_bytes(response: HttpResponse) -> Bytes {
    use http_body::Body as _;
    // `Full` yields its single frame synchronously; polling once is enough.
    let mut body = response.into_body();
    let waker = std::task::Waker::noop();
    let mut context = std::task::Context::from_waker(waker);
    match std::pin::Pin::new(&mut body).poll_frame(&mut context) {
        std::task::Poll::Ready(Some(Ok(frame))) => frame.into_data().unwrap_or_default(),
        _ => Bytes::new(),
    }
}

/// Who may keep a copy of a component's answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caching {
    /// About one user or one credential attempt: `Cache-Control: private, no-store`.
    Private,
    /// As each response says (the catalog's public caching).
    AsSet,
}

/// The one tail of every component's handler: an error becomes its problem response, the
/// cause of a 500 or 503 is logged first (it is never sent), private answers are marked, the
/// router's headers are set when it handed them over (see [`crate::gateway`]), and the body's
/// length is declared.
pub fn finish(
    logger: &crate::log::Logger,
    gateway: Option<&crate::gateway::ResponseHeaders>,
    result: Result<HttpResponse, crate::ApiError>,
    caching: Caching,
) -> HttpResponse {
    let mut response = match result {
        Ok(response) => response,
        Err(error) => {
            logger.failure(&error);
            error.into_response()
        }
    };
    if caching == Caching::Private {
        response.headers_mut().insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, no-store"),
        );
    }
    if let Some(gateway) = gateway {
        gateway.apply(response.headers_mut());
    }
    declare_length(&mut response);
    response
}

/// Sets `content-length` from the buffered body. Without it the body goes out chunked, and
/// its terminating chunk in a packet of its own: on a connection without TCP_NODELAY (as
/// Spin serves) the client's delayed ACK then stalls every response by tens of milliseconds.
/// Statuses that never carry a body (1xx, 204, 304) must not declare one.
fn declare_length(response: &mut HttpResponse) {
    use http_body::Body as _;
    let status = response.status();
    if status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED
    {
        return;
    }
    if let Some(length) = response.body().size_hint().exact() {
        response
            .headers_mut()
            .insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_sets_status_type_and_body() {
        let response = created("/api/courses/abc", &serde_json::json!({"id": "abc"}));
        assert_eq!(response.status(), StatusCode::CREATED);
        assert_eq!(response.headers()["content-type"], JSON);
        assert_eq!(response.headers()["location"], "/api/courses/abc");
        assert_eq!(body_bytes(response).as_ref(), br#"{"id":"abc"}"#);
    }

    #[test]
    fn empty_has_no_body() {
        let response = empty(StatusCode::NO_CONTENT);
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        assert!(body_bytes(response).is_empty());
    }

    #[test]
    fn finish_answers_errors_as_problems_and_marks_private_answers() {
        let logger = crate::log::Logger::for_request("test", &http::HeaderMap::new());
        let failed = finish(
            &logger,
            None,
            Err(crate::ApiError::internal("a cause never sent")),
            Caching::Private,
        );
        assert_eq!(failed.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(failed.headers()[header::CACHE_CONTROL], "private, no-store");
        assert!(!String::from_utf8_lossy(&body_bytes(failed)).contains("never sent"));
        let public = finish(&logger, None, Ok(ok(&"x")), Caching::AsSet);
        assert!(!public.headers().contains_key(header::CACHE_CONTROL));
    }

    #[test]
    fn finish_declares_the_body_length_except_where_no_body_is_allowed() {
        let logger = crate::log::Logger::for_request("test", &http::HeaderMap::new());
        let answered = finish(&logger, None, Ok(ok(&"four")), Caching::Private);
        assert_eq!(answered.headers()[header::CONTENT_LENGTH], "6");
        assert_eq!(body_bytes(answered).len(), 6);
        let failed = finish(
            &logger,
            None,
            Err(crate::ApiError::Unauthorized),
            Caching::Private,
        );
        let declared = failed.headers()[header::CONTENT_LENGTH].clone();
        assert_eq!(declared, body_bytes(failed).len().to_string().as_str());
        for status in [StatusCode::NO_CONTENT, StatusCode::NOT_MODIFIED] {
            let bodiless = finish(&logger, None, Ok(empty(status)), Caching::Private);
            assert!(!bodiless.headers().contains_key(header::CONTENT_LENGTH));
        }
    }
}
