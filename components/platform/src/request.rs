//! Parsing request bodies and query strings into typed values, or a precise [`ApiError`].

use http::HeaderMap;
use serde::de::DeserializeOwned;

use crate::ApiError;

/// The client's IP address as the geo-router resolved it, set on every request it hands to
/// a component. Trustworthy only because the router is composed in front of every public
/// component and removes any client copy of `x-cp-*` headers before calling it.
pub const CLIENT_IP_HEADER: &str = "x-cp-client-ip";
/// Set by the router on a cart request it serves away from the cart's home region (that
/// region did not answer): the region named keeps the cart.
pub const CART_HOME_HEADER: &str = "x-cp-cart-home";

/// Default cap on JSON bodies: our largest legitimate body (a course edit) is a few KiB.
pub const MAX_JSON_BODY: usize = 64 * 1024;

/// The one body reader: at most `limit` bytes, counted while reading, so a body larger
/// than it says (or than it does not say) is refused with 413 before it is buffered whole.
pub async fn read_body<B>(
    headers: &HeaderMap,
    body: B,
    limit: usize,
) -> Result<bytes::Bytes, ApiError>
where
    B: http_body::Body,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    use http_body_util::BodyExt;
    check_length(headers, limit)?;
    let collected = http_body_util::Limited::new(body, limit)
        .collect()
        .await
        .map_err(|error| {
            if error.is::<http_body_util::LengthLimitError>() {
                ApiError::PayloadTooLarge { limit }
            } else {
                ApiError::bad_request(format!("could not read the request body: {error}"))
            }
        })?;
    Ok(collected.to_bytes())
}

/// Reads a JSON body of at most `limit` bytes: 415 for another content type (before
/// reading), 413 when larger (declared or streamed), 400 when it does not parse.
pub async fn read_json<T, B>(headers: &HeaderMap, body: B, limit: usize) -> Result<T, ApiError>
where
    T: DeserializeOwned,
    B: http_body::Body,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    require_json(headers)?;
    let bytes = read_body(headers, body, limit).await?;
    json_body(headers, &bytes, limit)
}

/// Checks `Content-Type` is JSON (parameters such as `charset` allowed).
pub fn require_json(headers: &HeaderMap) -> Result<(), ApiError> {
    let is_json = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"));
    if is_json {
        Ok(())
    } else {
        Err(ApiError::UnsupportedMediaType {
            expected: "application/json",
        })
    }
}

/// Rejects a body over `limit` bytes; call before buffering when `Content-Length` is known.
pub fn check_length(headers: &HeaderMap, limit: usize) -> Result<(), ApiError> {
    let declared = headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<usize>().ok());
    match declared {
        Some(length) if length > limit => Err(ApiError::PayloadTooLarge { limit }),
        _ => Ok(()),
    }
}

/// Parses a JSON body already read into memory (content type checked, size capped).
pub fn json_body<T: DeserializeOwned>(
    headers: &HeaderMap,
    body: &[u8],
    limit: usize,
) -> Result<T, ApiError> {
    require_json(headers)?;
    if body.len() > limit {
        return Err(ApiError::PayloadTooLarge { limit });
    }
    serde_json::from_slice(body).map_err(|error| {
        ApiError::bad_request(format!(
            "request body is not valid JSON for this endpoint: {error}"
        ))
    })
}

/// A cookie's value from the request's `Cookie` headers (the first cookie of that name).
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(cookie::Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|cookie| cookie.name() == name)
        .map(|cookie| cookie.value().to_owned())
}

/// Parses a query string into a typed struct; unknown or malformed values are a 400.
pub fn query<T: DeserializeOwned>(query: Option<&str>) -> Result<T, ApiError> {
    serde_urlencoded::from_str(query.unwrap_or(""))
        .map_err(|error| ApiError::bad_request(format!("invalid query string: {error}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn json_headers() -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        headers
    }

    #[derive(serde::Deserialize, Debug)]
    struct Login {
        email: String,
    }

    #[test]
    fn parses_json_with_charset() {
        let login: Login = json_body(&json_headers(), br#"{"email":"a@b.c"}"#, 100).expect("ok");
        assert_eq!(login.email, "a@b.c");
    }

    #[test]
    fn wrong_content_type_is_415() {
        let error = json_body::<Login>(&HeaderMap::new(), b"{}", 100).expect_err("415");
        assert_eq!(error.status(), 415);
    }

    #[test]
    fn oversized_body_is_413() {
        let error = json_body::<Login>(&json_headers(), &[b' '; 101], 100).expect_err("413");
        assert_eq!(error.status(), 413);
    }

    #[test]
    fn malformed_json_is_400() {
        let error = json_body::<Login>(&json_headers(), b"{", 100).expect_err("400");
        assert_eq!(error.status(), 400);
    }

    #[derive(serde::Deserialize, Debug)]
    struct Search {
        q: Option<String>,
        category: Option<String>,
    }

    #[test]
    fn query_decodes_percent_and_plus() {
        let search: Search = query(Some("q=rust+async%21&category=dev")).expect("ok");
        assert_eq!(search.q.as_deref(), Some("rust async!"));
        assert_eq!(search.category.as_deref(), Some("dev"));
    }

    #[derive(serde::Deserialize, Debug)]
    struct Page {
        #[allow(dead_code)]
        page: u32,
    }

    #[test]
    fn non_numeric_value_for_a_number_is_400() {
        let error = query::<Page>(Some("page=two")).expect_err("400");
        assert_eq!(error.status(), 400);
    }

    #[test]
    fn the_body_reader_counts_while_reading_and_refuses_what_no_length_announced() {
        use http_body_util::{Full, StreamBody};
        let chunks = (0..4).map(|_| {
            Ok::<_, std::convert::Infallible>(http_body::Frame::data(bytes::Bytes::from(vec![
                b'x';
                100
            ])))
        });
        let unannounced = StreamBody::new(futures::stream::iter(chunks));
        let read = futures::executor::block_on(read_body(&HeaderMap::new(), unannounced, 250));
        assert!(
            matches!(read, Err(ApiError::PayloadTooLarge { limit: 250 })),
            "{read:?}"
        );
        let small = Full::new(bytes::Bytes::from_static(b"{}"));
        let read = futures::executor::block_on(read_body(&HeaderMap::new(), small, 250));
        assert_eq!(read.ok().as_deref(), Some(&b"{}"[..]));
    }
}
