//! The geo-router's response headers (`x-served-by`, `x-request-id`, `server-timing`, the
//! security and CORS headers...), and how they join a component's own.
//!
//! A WASI HTTP response's headers cannot change once the response exists, so a router that
//! adds headers to a component's answer must build a new response around its body stream:
//! measured on 2026-12-03, that alone cost more host CPU than the cached catalog page it
//! wrapped. So where nothing the router adds depends on the answer, it hands the headers to
//! the component in one request header, [`RESPONSE_HEADERS`], and the component's one
//! response builder ([`crate::response::finish`]) sets them: the router then passes the
//! answer back untouched. The router still decides what they are; both sides merge them by
//! [`merge`], so an answer gets the same headers whichever side sets them.

use std::time::Instant;

use http::{HeaderMap, HeaderName, HeaderValue, header};

/// The request header carrying the response headers the router asks for (a JSON list of
/// `[name, value]` pairs). Only a router sets it: `x-cp-*` headers from a client are removed.
pub const RESPONSE_HEADERS: &str = "x-cp-response-headers";

/// The region that served; the router's sign that its headers are on an answer.
pub const SERVED_BY: &str = "x-served-by";
pub const SERVER_TIMING: &str = "server-timing";

/// Defaults for every response; a component's own value (a page's CSP, say) wins.
const SECURITY_DEFAULTS: [(HeaderName, &str); 5] = [
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::X_FRAME_OPTIONS, "DENY"),
    (header::REFERRER_POLICY, "strict-origin-when-cross-origin"),
    (
        header::STRICT_TRANSPORT_SECURITY,
        "max-age=31536000; includeSubDomains",
    ),
    (header::CONTENT_SECURITY_POLICY, "frame-ancestors 'none'"),
];

/// Sets the security defaults the response does not set itself.
pub fn add_security_headers(response: &mut HeaderMap) {
    for (name, value) in SECURITY_DEFAULTS {
        response
            .entry(name)
            .or_insert(HeaderValue::from_static(value));
    }
}

/// Adds `value` to the comma-separated header `name` as one field line: a remote region's
/// router and the component set `server-timing` and `vary` too, and each belongs in a single
/// header. Tokens already listed (case-insensitively, for `vary`) are not repeated.
pub fn merge_list_header(headers: &mut HeaderMap, name: HeaderName, value: &str) {
    let mut items: Vec<String> = headers
        .get_all(&name)
        .iter()
        .filter_map(|existing| existing.to_str().ok())
        .chain(std::iter::once(value))
        .flat_map(|list| list.split(','))
        .map(|item| item.trim().to_owned())
        .filter(|item| !item.is_empty())
        .collect();
    let mut seen = Vec::new();
    items.retain(|item| {
        let key = item.to_ascii_lowercase();
        let fresh = !seen.contains(&key);
        seen.push(key);
        fresh
    });
    if let Ok(merged) = HeaderValue::from_str(&items.join(", ")) {
        headers.insert(name, merged);
    }
}

/// Sets one of the router's headers on `response`: lists (`server-timing`, `vary`) are
/// merged, a security default the response set itself is kept, anything else is the
/// router's to say.
pub fn merge(response: &mut HeaderMap, name: &HeaderName, value: &HeaderValue) {
    if *name == header::VARY || name.as_str() == SERVER_TIMING {
        if let Ok(text) = value.to_str() {
            merge_list_header(response, name.clone(), text);
        }
    } else if SECURITY_DEFAULTS.iter().any(|(default, _)| default == name) {
        response.entry(name).or_insert_with(|| value.clone());
    } else {
        response.insert(name, value.clone());
    }
}

/// `headers` as the value of [`RESPONSE_HEADERS`].
pub fn encode(headers: &HeaderMap) -> Option<HeaderValue> {
    let pairs: Vec<(&str, &str)> = headers
        .iter()
        .filter_map(|(name, value)| Some((name.as_str(), value.to_str().ok()?)))
        .collect();
    HeaderValue::from_str(&serde_json::to_string(&pairs).ok()?).ok()
}

/// The router's response headers as a component received them, and when it did (the
/// `component` metric of `server-timing` is the component's time from here to its answer).
#[derive(Debug, Clone)]
pub struct ResponseHeaders {
    headers: Vec<(HeaderName, HeaderValue)>,
    received: Instant,
}

impl ResponseHeaders {
    /// What the request's [`RESPONSE_HEADERS`] asks for; `None` without one (the router
    /// then sets its headers itself) or with one that does not parse.
    pub fn from_request(request: &HeaderMap) -> Option<Self> {
        let text = request.get(RESPONSE_HEADERS)?.to_str().ok()?;
        let pairs: Vec<(String, String)> = serde_json::from_str(text).ok()?;
        let headers = pairs
            .into_iter()
            .map(|(name, value)| {
                Some((
                    HeaderName::try_from(name).ok()?,
                    HeaderValue::try_from(value).ok()?,
                ))
            })
            .collect::<Option<_>>()?;
        Some(Self {
            headers,
            received: Instant::now(),
        })
    }

    /// Sets the router's headers on the component's answer, with the component's time.
    pub fn apply(&self, response: &mut HeaderMap) {
        for (name, value) in &self.headers {
            merge(response, name, value);
        }
        let millis = self.received.elapsed().as_secs_f64() * 1000.0;
        merge_list_header(
            response,
            HeaderName::from_static(SERVER_TIMING),
            &format!("component;dur={millis:.3}"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request_with(headers: &HeaderMap) -> HeaderMap {
        let mut request = HeaderMap::new();
        request.insert(RESPONSE_HEADERS, encode(headers).expect("encodable"));
        request
    }

    #[test]
    fn the_component_sets_what_the_router_asked_for_merging_lists_and_keeping_its_own_policy() {
        let mut asked = HeaderMap::new();
        asked.insert(SERVED_BY, HeaderValue::from_static("eu-west"));
        asked.insert(SERVER_TIMING, HeaderValue::from_static("router;dur=0.2"));
        asked.insert(header::VARY, HeaderValue::from_static("Origin"));
        add_security_headers(&mut asked);
        let handed = ResponseHeaders::from_request(&request_with(&asked)).expect("parses");

        let mut answer = HeaderMap::new();
        answer.insert(SERVER_TIMING, HeaderValue::from_static("db;dur=1.5"));
        answer.insert(header::VARY, HeaderValue::from_static("origin, Cookie"));
        answer.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'self'"),
        );
        handed.apply(&mut answer);

        assert_eq!(answer[SERVED_BY], "eu-west");
        let timing = answer[SERVER_TIMING].to_str().expect("ascii");
        assert!(
            timing.starts_with("db;dur=1.5, router;dur=0.2, component;dur="),
            "{timing}"
        );
        assert_eq!(answer[header::VARY], "origin, Cookie");
        assert_eq!(
            answer[header::CONTENT_SECURITY_POLICY],
            "default-src 'self'"
        );
        assert_eq!(answer[header::X_FRAME_OPTIONS], "DENY");
        assert_eq!(answer.get_all(SERVER_TIMING).iter().count(), 1);
    }

    #[test]
    fn list_headers_merge_into_one_line_without_repeats() {
        let mut response = HeaderMap::new();
        response.append(header::VARY, HeaderValue::from_static("Origin"));
        response.append(header::VARY, HeaderValue::from_static("Cookie, origin"));
        merge_list_header(&mut response, header::VARY, "Origin");
        assert_eq!(response.get_all(header::VARY).iter().count(), 1);
        assert_eq!(response[header::VARY], "Origin, Cookie");
        let timing = HeaderName::from_static(SERVER_TIMING);
        response.insert(&timing, HeaderValue::from_static("router;dur=0.2"));
        merge_list_header(
            &mut response,
            timing.clone(),
            "router;dur=1.0, upstream;dur=3.0",
        );
        assert_eq!(
            response[&timing],
            "router;dur=0.2, router;dur=1.0, upstream;dur=3.0"
        );
    }

    #[test]
    fn without_a_readable_request_header_the_component_sets_nothing() {
        assert!(ResponseHeaders::from_request(&HeaderMap::new()).is_none());
        let mut garbled = HeaderMap::new();
        garbled.insert(RESPONSE_HEADERS, HeaderValue::from_static("[[\"x\""));
        assert!(ResponseHeaders::from_request(&garbled).is_none());
        let mut bad_name = HeaderMap::new();
        bad_name.insert(
            RESPONSE_HEADERS,
            HeaderValue::from_static("[[\"a b\",\"c\"]]"),
        );
        assert!(ResponseHeaders::from_request(&bad_name).is_none());
    }
}
