//! Gateway duties shared by every response: request ids, CORS, security headers,
//! `server-timing`, and the one JSON log line per request.

use http::{HeaderMap, HeaderValue, Method, header};
use platform::log::Fields;

pub const REQUEST_ID: &str = "x-request-id";
pub use platform::gateway::{SERVED_BY, SERVER_TIMING};

/// Keeps a client's request id when it is short and made of safe characters (it is logged
/// and echoed, so nothing that could forge log lines or headers), else makes a UUIDv7.
pub fn request_id(headers: &HeaderMap) -> String {
    headers
        .get(REQUEST_ID)
        .and_then(|value| value.to_str().ok())
        .filter(|id| {
            (1..=128).contains(&id.len())
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
        })
        .map_or_else(|| uuid::Uuid::now_v7().to_string(), str::to_owned)
}

/// A cookie's value from the request's `Cookie` headers.
pub use platform::request::cookie;

/// Cross-origin policy: only listed origins, with credentials (the session is a cookie).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cors {
    allowed_origins: Vec<String>,
}

const CORS_METHODS: &str = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS";
const CORS_HEADERS: &str = "content-type, idempotency-key, if-none-match, x-request-id";
const CORS_MAX_AGE_SECS: &str = "600";

impl Cors {
    /// Parses a comma-separated origin list (`https://shop.example, http://localhost:3000`).
    pub fn parse(list: &str) -> Self {
        Self {
            allowed_origins: list
                .split(',')
                .map(|origin| origin.trim().trim_end_matches('/').to_owned())
                .filter(|origin| !origin.is_empty())
                .collect(),
        }
    }

    fn allowed<'h>(&self, request: &'h HeaderMap) -> Option<&'h HeaderValue> {
        let origin = request.get(header::ORIGIN)?;
        let text = origin.to_str().ok()?;
        self.allowed_origins
            .iter()
            .any(|allowed| allowed == text)
            .then_some(origin)
    }

    /// Whether this is a preflight the router answers itself.
    pub fn is_preflight(method: &Method, request: &HeaderMap) -> bool {
        method == Method::OPTIONS
            && request.contains_key(header::ORIGIN)
            && request.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
    }

    /// Adds CORS headers for an allowed origin; others get none, so browsers refuse.
    pub fn apply(&self, request: &HeaderMap, preflight: bool, response: &mut HeaderMap) {
        merge_list_header(response, header::VARY, "Origin");
        let Some(origin) = self.allowed(request) else {
            return;
        };
        response.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
        response.insert(
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
        if preflight {
            response.insert(
                header::ACCESS_CONTROL_ALLOW_METHODS,
                HeaderValue::from_static(CORS_METHODS),
            );
            response.insert(
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                HeaderValue::from_static(CORS_HEADERS),
            );
            response.insert(
                header::ACCESS_CONTROL_MAX_AGE,
                HeaderValue::from_static(CORS_MAX_AGE_SECS),
            );
        } else {
            response.insert(
                header::ACCESS_CONTROL_EXPOSE_HEADERS,
                HeaderValue::from_static("x-request-id, x-served-by, server-timing, retry-after"),
            );
        }
    }
}

/// The security defaults, list merging and the hand-over of the router's response headers,
/// shared with the components' response builder (see `platform::gateway`).
pub use platform::gateway::{RESPONSE_HEADERS, add_security_headers, encode, merge_list_header};

/// One `server-timing` metric.
#[derive(Debug, Clone, PartialEq)]
pub struct Timing {
    pub name: &'static str,
    pub millis: f64,
    pub description: Option<String>,
}

/// Formats metrics as a `server-timing` value: `router;dur=0.4, upstream;dur=3.1;desc="eu-west"`.
pub fn server_timing(metrics: &[Timing]) -> String {
    metrics
        .iter()
        .map(|metric| {
            let mut text = format!("{};dur={:.1}", metric.name, metric.millis);
            if let Some(description) = &metric.description {
                let safe: String = description
                    .chars()
                    .filter(|c| c.is_ascii_graphic() && *c != '"' && *c != '\\')
                    .collect();
                text.push_str(&format!(";desc=\"{safe}\""));
            }
            text
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The fields of the router's one `request` line per request (`platform::log`, with the
/// request id). No cookies, no credentials, no client address, no query string: the
/// country is enough to explain a routing decision.
#[derive(Debug)]
pub struct LogLine<'a> {
    pub region: &'a str,
    pub method: &'a str,
    pub path: &'a str,
    pub status: u16,
    pub served_by: &'a str,
    pub route: &'a str,
    pub reason: &'a str,
    pub read_from: Option<&'a str>,
    pub country: Option<&'a str>,
    pub location_source: &'a str,
    pub attempts: u32,
    pub duration_ms: f64,
    pub error: Option<&'a str>,
}

impl LogLine<'_> {
    pub fn fields(&self) -> Fields {
        Fields::new()
            .text("region", self.region)
            .text("method", self.method)
            .text("path", self.path)
            .count("status", self.status.into())
            .text("served_by", self.served_by)
            .text("route", self.route)
            .text("reason", self.reason)
            .optional_text("read_from", self.read_from)
            .optional_text("country", self.country)
            .text("location_source", self.location_source)
            .count("attempts", self.attempts.into())
            .measure("duration_ms", self.duration_ms)
            .optional_text("error", self.error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(name: &'static str, value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(name, HeaderValue::from_str(value).expect("value"));
        headers
    }

    #[test]
    fn keeps_a_safe_request_id_and_replaces_others_with_uuid_v7() {
        assert_eq!(request_id(&with(REQUEST_ID, "abc-123")), "abc-123");
        let generated = request_id(&with(REQUEST_ID, "evil\"} {\"x"));
        let parsed = uuid::Uuid::parse_str(&generated).expect("uuid");
        assert_eq!(parsed.get_version_num(), 7);
        assert_ne!(request_id(&HeaderMap::new()), request_id(&HeaderMap::new()));
        let too_long = "a".repeat(129);
        assert_ne!(request_id(&with(REQUEST_ID, &too_long)), too_long);
    }

    #[test]
    fn cors_answers_only_listed_origins() {
        let cors = Cors::parse("https://shop.example, http://localhost:3000/");
        let mut request = with("origin", "http://localhost:3000");
        request.insert(
            header::ACCESS_CONTROL_REQUEST_METHOD,
            HeaderValue::from_static("POST"),
        );
        assert!(Cors::is_preflight(&Method::OPTIONS, &request));
        let mut response = HeaderMap::new();
        cors.apply(&request, true, &mut response);
        assert_eq!(
            response["access-control-allow-origin"],
            "http://localhost:3000"
        );
        assert_eq!(response["access-control-allow-credentials"], "true");
        assert!(response.contains_key("access-control-allow-methods"));

        let mut refused = HeaderMap::new();
        cors.apply(&with("origin", "https://evil.example"), false, &mut refused);
        assert!(!refused.contains_key("access-control-allow-origin"));
        assert_eq!(refused["vary"], "Origin");
    }

    #[test]
    fn the_request_line_keeps_the_routers_fields_in_the_one_format() {
        let line = LogLine {
            region: "eu-west",
            method: "GET",
            path: "/api/courses",
            status: 200,
            served_by: "eu-west",
            route: "read",
            reason: "nearest",
            read_from: None,
            country: Some("FR"),
            location_source: "edge-header",
            attempts: 1,
            duration_ms: 2.5,
            error: None,
        };
        let logger = platform::log::Logger::with_request_id("geo-router", Some("r-1"));
        let json: serde_json::Value =
            serde_json::from_str(&logger.line(platform::log::Event::Request, &line.fields()))
                .expect("json");
        assert_eq!(json["request_id"], "r-1");
        assert_eq!(json["event"], "request");
        assert_eq!(json["status"], 200);
        assert_eq!(json["country"], "FR");
        assert_eq!(json["duration_ms"], 2.5);
        assert!(json.get("read_from").is_none() && json.get("error").is_none());
    }

    #[test]
    fn security_headers_do_not_override_the_components() {
        let mut response = with("content-security-policy", "default-src 'self'");
        add_security_headers(&mut response);
        assert_eq!(response["content-security-policy"], "default-src 'self'");
        assert_eq!(response["x-content-type-options"], "nosniff");
    }

    #[test]
    fn server_timing_lists_metrics_with_safe_descriptions() {
        let value = server_timing(&[
            Timing {
                name: "router",
                millis: 0.44,
                description: None,
            },
            Timing {
                name: "upstream",
                millis: 3.06,
                description: Some("eu-\"west".into()),
            },
        ]);
        assert_eq!(value, "router;dur=0.4, upstream;dur=3.1;desc=\"eu-west\"");
        assert!(HeaderValue::from_str(&value).is_ok());
    }

    #[test]
    fn reads_cookies_among_others() {
        let headers = with("cookie", "a=1; cp_region=eu-west");
        assert_eq!(cookie(&headers, "cp_region").as_deref(), Some("eu-west"));
        assert_eq!(cookie(&headers, "missing"), None);
    }
}
