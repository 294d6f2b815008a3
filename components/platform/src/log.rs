//! The one log line format of the components: a JSON object per event on stderr, with the
//! request id the geo-router gave the request, so a person can follow one request from the
//! router's line through every component it reached. Never cookies, secrets or addresses.

use http::HeaderMap;
use serde::Serialize;

/// The request id the router sets on every request it forwards (`x-request-id`).
pub const REQUEST_ID_HEADER: &str = "x-request-id";

#[derive(Serialize)]
struct Line<'a> {
    component: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_id: Option<&'a str>,
    event: &'a str,
    error: &'a str,
}

/// Who is logging: a component, for one request.
pub struct Logger {
    component: &'static str,
    request_id: Option<String>,
}

impl Logger {
    pub fn for_request(component: &'static str, headers: &HeaderMap) -> Self {
        Self {
            component,
            request_id: headers
                .get(REQUEST_ID_HEADER)
                .and_then(|value| value.to_str().ok())
                .map(str::to_owned),
        }
    }

    /// The line for `event`, e.g. `internal-error`.
    pub fn line(&self, event: &str, error: &str) -> String {
        let line = Line {
            component: self.component,
            request_id: self.request_id.as_deref(),
            event,
            error,
        };
        serde_json::to_string(&line).unwrap_or_default()
    }

    pub fn error(&self, event: &str, error: &str) {
        eprintln!("{}", self.line(event, error));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_is_json_with_the_routers_request_id() {
        let mut headers = HeaderMap::new();
        headers.insert(REQUEST_ID_HEADER, "trace-42".parse().expect("header"));
        let line =
            Logger::for_request("cart", &headers).line("internal-error", "a \"quoted\" cause");
        let parsed: serde_json::Value = serde_json::from_str(&line).expect("json");
        assert_eq!(parsed["component"], "cart");
        assert_eq!(parsed["request_id"], "trace-42");
        assert_eq!(parsed["error"], "a \"quoted\" cause");
        let anonymous = Logger::for_request("cart", &HeaderMap::new()).line("e", "x");
        assert!(!anonymous.contains("request_id"), "{anonymous}");
    }
}
