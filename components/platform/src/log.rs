//! The one log line format of every component and of the geo-router: a JSON object per
//! line on stderr, so a person can follow one request from the router's line through every
//! component it reached by its `request_id`.
//!
//! A line is `{"component", "request_id" | "event_id", "event", ...fields}`:
//! - `request_id`: the router's `x-request-id` (also answered to the client); absent when
//!   the code has no request at hand;
//! - `event_id`: the correlation of work no HTTP request started (an `order.paid` event);
//! - `event`: one of [`Event`], kebab-case;
//! - fields: text (through `Display`, so a [`crate::Secret`] prints redacted), counts and
//!   durations; `error` holds the cause of a failure.
//!
//! Never cookies, secrets, card numbers or client addresses: a [`Logger`] reads nothing of
//! a request but its id, and fields are only what a call site names.

use std::fmt::Display;
use std::io::Write;

use http::HeaderMap;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::ApiError;

/// The request id the router sets on every request it forwards (`x-request-id`).
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// What happened: the stable, small set of events a line may report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Event {
    /// The geo-router's one line per request: method, path, status, route, duration...
    Request,
    /// A 500: its cause, which the client never sees.
    InternalError,
    /// A dependency (PostgreSQL, key-value store, Redis, payment provider) out of reach:
    /// the cause of a 503, or of work left for later (an event the relay will deliver).
    DependencyUnavailable,
    /// The catalog's edge cache failed (store, lease, write): the request read through.
    CacheBypassed,
    /// The database was out of reach: a cached copy within the maximum staleness was served.
    ServedStale,
    /// The replica (or its position) was out of reach: the read went to the primary.
    ReplicaSkipped,
    /// A catalog write's cache invalidation was not applied here or not published.
    InvalidationFailed,
    /// A stored value no longer decodes (its format changed): it counts as absent.
    EntryUnreadable,
    /// The payment provider failed for an order (`order_id`); the checkout can be retried.
    PaymentFailed,
    /// An `order.paid` event was not delivered now; the outbox relay delivers it later.
    DeliveryDeferred,
    /// The outbox relay ran and did something (counts), or found its lease out of reach.
    RelayRan,
    /// Something the request could do without failed (an idempotency key release, the
    /// router's health table, rate-limit count, consistency token or IP table); it went on.
    Degraded,
    /// A message was written to `dead_letters` (`reason`).
    DeadLettered,
}

/// Named values of one line, beyond the correlation and the event.
#[derive(Debug, Default, Clone)]
pub struct Fields(Map<String, Value>);

impl Fields {
    pub fn new() -> Self {
        Self::default()
    }

    /// A text field, written through `Display`: a `Secret` stays redacted.
    pub fn text(mut self, name: &str, value: impl Display) -> Self {
        self.0
            .insert(name.to_owned(), Value::String(value.to_string()));
        self
    }

    /// A text field when there is a value.
    pub fn optional_text(self, name: &str, value: Option<impl Display>) -> Self {
        match value {
            Some(value) => self.text(name, value),
            None => self,
        }
    }

    pub fn count(mut self, name: &str, value: u64) -> Self {
        self.0.insert(name.to_owned(), Value::from(value));
        self
    }

    /// A duration or other measure (`null` if not finite).
    pub fn measure(mut self, name: &str, value: f64) -> Self {
        self.0.insert(name.to_owned(), Value::from(value));
        self
    }

    /// The cause of a failure.
    pub fn error(self, cause: impl Display) -> Self {
        self.text("error", cause)
    }
}

#[derive(Serialize)]
struct Line<'a> {
    component: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    event_id: Option<&'a str>,
    event: Event,
    #[serde(flatten)]
    fields: &'a Map<String, Value>,
}

/// Who is logging: a component, and what its lines are about (a request, an event, or
/// nothing in particular). Cheap to clone and to pass down to the code that may log.
#[derive(Debug, Clone)]
pub struct Logger {
    component: &'static str,
    request_id: Option<String>,
    event_id: Option<String>,
}

impl Logger {
    /// For one request: its id is the router's `x-request-id`.
    pub fn for_request(component: &'static str, headers: &HeaderMap) -> Self {
        let request_id = headers
            .get(REQUEST_ID_HEADER)
            .and_then(|value| value.to_str().ok());
        Self::with_request_id(component, request_id)
    }

    /// For one request whose id is already known (the router, which assigns it).
    pub fn with_request_id(component: &'static str, request_id: Option<&str>) -> Self {
        Self {
            component,
            request_id: request_id.map(str::to_owned),
            event_id: None,
        }
    }

    /// For work an event started rather than a request (a Redis message).
    pub fn for_event(component: &'static str, event_id: impl Display) -> Self {
        Self {
            component,
            request_id: None,
            event_id: Some(event_id.to_string()),
        }
    }

    /// For code with nothing to correlate its lines with.
    pub fn uncorrelated(component: &'static str) -> Self {
        Self {
            component,
            request_id: None,
            event_id: None,
        }
    }

    /// The JSON line for `event`, without its newline.
    pub fn line(&self, event: Event, fields: &Fields) -> String {
        let line = Line {
            component: self.component,
            request_id: self.request_id.as_deref(),
            event_id: self.event_id.as_deref(),
            event,
            fields: &fields.0,
        };
        // Serializing strings and numbers into a map cannot fail; keep the event if it did.
        serde_json::to_string(&line).unwrap_or_else(|_| {
            format!(
                r#"{{"component":"{}","event":"unloggable"}}"#,
                self.component
            )
        })
    }

    /// Writes the line to stderr in one write, so concurrent lines never interleave.
    pub fn log(&self, event: Event, fields: Fields) {
        let mut line = self.line(event, &fields);
        line.push('\n');
        // Nowhere left to report a failure to write the log.
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    }

    /// A line whose only field is the failure's cause.
    pub fn error(&self, event: Event, cause: impl Display) {
        self.log(event, Fields::new().error(cause));
    }

    /// The cause of a 500 or a 503 (see [`ApiError::log_cause`]); other errors are the
    /// client's own and are only answered.
    pub fn failure(&self, error: &ApiError) {
        if let Some((event, cause)) = error.log_cause() {
            self.error(event, cause);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Secret;

    fn parse(line: &str) -> Value {
        serde_json::from_str(line).expect("a line is one JSON object")
    }

    fn request_headers() -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(REQUEST_ID_HEADER, "trace-42".parse().expect("header"));
        headers.insert(
            "cookie",
            "cp_session=s3cr3t-session".parse().expect("header"),
        );
        headers.insert("x-forwarded-for", "203.0.113.9".parse().expect("header"));
        headers
    }

    #[test]
    fn a_line_is_one_json_object_with_component_request_id_event_and_fields() {
        let line = Logger::for_request("cart", &request_headers()).line(
            Event::DependencyUnavailable,
            &Fields::new()
                .error("store down")
                .count("attempts", 2)
                .measure("duration_ms", 1.5),
        );
        assert!(!line.contains('\n'), "{line}");
        let parsed = parse(&line);
        assert_eq!(parsed["component"], "cart");
        assert_eq!(parsed["request_id"], "trace-42");
        assert_eq!(parsed["event"], "dependency-unavailable");
        assert_eq!(parsed["error"], "store down");
        assert_eq!(parsed["attempts"], 2);
        assert_eq!(parsed["duration_ms"], 1.5);
        assert!(parsed.get("event_id").is_none(), "{line}");
    }

    #[test]
    fn quotes_newlines_and_control_characters_stay_inside_one_line() {
        let cause = "a \"quoted\"\ncause\twith \u{1} and }{\"injected\":1}";
        let line = Logger::for_request("catalog", &request_headers())
            .line(Event::InternalError, &Fields::new().error(cause));
        assert!(!line.contains('\n'), "{line}");
        let parsed = parse(&line);
        assert_eq!(parsed["error"], cause);
        assert!(parsed.get("injected").is_none());
    }

    #[test]
    fn without_a_request_the_line_has_no_request_id() {
        let line = Logger::for_request("cart", &HeaderMap::new())
            .line(Event::EntryUnreadable, &Fields::new());
        assert_eq!(line, r#"{"component":"cart","event":"entry-unreadable"}"#);
        let uncorrelated =
            Logger::uncorrelated("runtime").line(Event::ReplicaSkipped, &Fields::new());
        assert_eq!(
            uncorrelated,
            r#"{"component":"runtime","event":"replica-skipped"}"#
        );
    }

    #[test]
    fn an_event_driven_line_carries_the_event_id() {
        let line = Logger::for_event("enrollment-worker", "0193-event").line(
            Event::DeadLettered,
            &Fields::new().text("reason", "no order"),
        );
        let parsed = parse(&line);
        assert_eq!(parsed["event_id"], "0193-event");
        assert_eq!(parsed["event"], "dead-lettered");
        assert!(parsed.get("request_id").is_none());
    }

    #[test]
    fn secrets_cookies_and_addresses_never_reach_a_line() {
        let card = Secret::new("4000000000000119");
        let line = Logger::for_request("checkout", &request_headers()).line(
            Event::PaymentFailed,
            &Fields::new()
                .text("card", &card)
                .error(format!("charge of {card:?} failed")),
        );
        for leaked in [
            "4000000000000119",
            "s3cr3t-session",
            "cp_session",
            "203.0.113.9",
        ] {
            assert!(!line.contains(leaked), "{leaked} in {line}");
        }
        assert_eq!(parse(&line)["card"], "<redacted>");
    }

    #[test]
    fn events_are_kebab_case() {
        let line = Logger::uncorrelated("x").line(Event::DependencyUnavailable, &Fields::new());
        assert_eq!(parse(&line)["event"], "dependency-unavailable");
    }
}
