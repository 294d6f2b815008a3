//! The gateway headers every response carries, whoever made it, and the log line.

use http::{HeaderMap, HeaderName, HeaderValue, header};
use spin_sdk::http::IntoResponse;
use spin_sdk::wasip3::http::types::{ErrorCode, Response};

use crate::config::Config;
use crate::outcome::{Outcome, Reply};
use crate::{Incoming, millis, next};
use geo_router_core::consistency::{READ_FROM_HEADER, ReadFrom};
use geo_router_core::gateway::{self, Cors, LogLine, REQUEST_ID, SERVED_BY, SERVER_TIMING, Timing};
use geo_router_core::routing;
use platform::log::{Event, Fields};

/// Adds the gateway headers to the reply, writes the log line, and returns the response.
pub fn finish(
    config: &Config,
    incoming: &Incoming,
    outcome: Outcome,
) -> Result<Response, ErrorCode> {
    let Outcome {
        reply,
        class,
        reason,
        served_by,
        read_from,
        attempts,
        timings,
        error,
        set_cookies,
    } = outcome;
    let total = incoming.started.elapsed();
    let line = |status: u16, served_by: &str| {
        LogLine {
            region: config.local(),
            method: incoming.head.method.as_str(),
            path: incoming.head.path(),
            status,
            served_by,
            route: class.as_str(),
            reason: reason.as_str(),
            read_from: read_from.map(ReadFrom::as_str),
            country: incoming.location.country.as_deref(),
            location_source: incoming.location.source.as_str(),
            attempts,
            duration_ms: millis(total),
            error: error.as_deref(),
        }
        .fields()
    };
    let gateway = Gateway {
        config,
        incoming,
        served_by,
        read_from,
        timings,
        set_cookies,
        total,
    };
    let (response, line) = match reply {
        Reply::Complete(response) => {
            let status = response.get_status_code();
            (Ok(response), line(status, config.local()))
        }
        Reply::Router(mut response) => {
            let served_by = gateway.apply(response.headers_mut());
            let line = line(response.status().as_u16(), &served_by);
            (response.into_response(), line)
        }
        Reply::Passed(response) => {
            let status = response.get_status_code();
            let headers = next::header_map(response.get_headers());
            match headers {
                Ok(mut headers) => {
                    let served_by = gateway.apply(&mut headers);
                    let line = line(status, &served_by);
                    (next::respond_with_headers(response, &headers), line)
                }
                Err(error) => {
                    let cause = format!("response headers: {error:?}");
                    (Err(error), Fields::new().error(cause))
                }
            }
        }
    };
    incoming.logger.log(Event::Request, line);
    response
}

/// The gateway headers of the answer this region's component is about to make, as far as
/// they are known before it answers: what [`finish`] would set on it, but for the time the
/// component takes (it reports that itself).
pub fn handed_over(
    config: &Config,
    incoming: &Incoming,
    read_from: ReadFrom,
    timings: &[Timing],
) -> HeaderMap {
    let mut headers = HeaderMap::new();
    let gateway = Gateway {
        config,
        incoming,
        served_by: Some(config.local().to_owned()),
        read_from: Some(read_from),
        timings: timings.to_vec(),
        set_cookies: Vec::new(),
        total: incoming.started.elapsed(),
    };
    gateway.apply(&mut headers);
    headers
}

/// What the gateway headers say about how the request was served.
struct Gateway<'a> {
    config: &'a Config,
    incoming: &'a Incoming,
    served_by: Option<String>,
    read_from: Option<ReadFrom>,
    timings: Vec<Timing>,
    set_cookies: Vec<String>,
    total: std::time::Duration,
}

impl Gateway<'_> {
    /// Sets the gateway headers; returns the region that served, for the log line.
    fn apply(self, headers: &mut HeaderMap) -> String {
        let Self {
            config,
            incoming,
            served_by,
            read_from,
            mut timings,
            set_cookies,
            total,
        } = self;
        let local = config.local();
        let waited: f64 = timings.iter().map(|timing| timing.millis).sum();
        timings.insert(
            0,
            Timing {
                name: "router",
                millis: (millis(total) - waited).max(0.0),
                description: Some(local.to_owned()),
            },
        );
        // Connection-level headers of an upstream answer are not ours to pass on.
        let hop_by_hop: Vec<HeaderName> = headers
            .keys()
            .filter(|name| routing::is_hop_by_hop(name))
            .cloned()
            .collect();
        for name in hop_by_hop {
            headers.remove(name);
        }
        // A remote region's router already named itself; keep what it said.
        let served_by = headers
            .get(SERVED_BY)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned)
            .or(served_by)
            .unwrap_or_else(|| local.to_owned());
        insert(headers, SERVED_BY, &served_by);
        // Which database served a read: lets clients and tests see read-your-writes at work.
        if let Some(read_from) = read_from {
            insert(headers, READ_FROM_HEADER, read_from.as_str());
        }
        insert(headers, REQUEST_ID, &incoming.request_id);
        gateway::merge_list_header(
            headers,
            HeaderName::from_static(SERVER_TIMING),
            &gateway::server_timing(&timings),
        );
        for cookie in &set_cookies {
            if let Ok(value) = HeaderValue::from_str(cookie) {
                headers.append(header::SET_COOKIE, value);
            }
        }
        gateway::add_security_headers(headers);
        let head = &incoming.head;
        let preflight = Cors::is_preflight(&head.method, &head.headers);
        config
            .settings
            .cors
            .apply(&head.headers, preflight, headers);
        served_by
    }
}

fn insert(headers: &mut HeaderMap, name: &'static str, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        headers.insert(name, value);
    }
}
