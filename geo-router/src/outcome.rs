//! How a request was served: the answer, and what the response headers and the log line
//! report about it.

use geo_router_core::consistency::ReadFrom;
use geo_router_core::gateway::Timing;
use geo_router_core::routing::{Reason, RouteClass};
use platform::ApiError;
use spin_sdk::wasip3::http::types::Response;

/// An answer the router made itself, or one it passes on with its body untouched.
pub enum Reply {
    Router(platform::HttpResponse),
    /// The router sets its headers on it (a new response around the same body).
    Passed(Response),
    /// The component already set the router's headers (see `platform::gateway`): handed
    /// back as it is.
    Complete(Response),
}

/// Everything the log line and response headers report about how a request was served.
pub struct Outcome {
    pub reply: Reply,
    pub class: RouteClass,
    pub reason: Reason,
    pub served_by: Option<String>,
    pub read_from: Option<ReadFrom>,
    pub attempts: u32,
    pub timings: Vec<Timing>,
    pub error: Option<String>,
    pub set_cookies: Vec<String>,
}

impl Outcome {
    pub fn local(reply: platform::HttpResponse, class: RouteClass) -> Self {
        Self {
            reply: Reply::Router(reply),
            class,
            reason: Reason::Local,
            served_by: None,
            read_from: None,
            attempts: 0,
            timings: Vec::new(),
            error: None,
            set_cookies: Vec::new(),
        }
    }

    pub fn problem(error: ApiError, class: RouteClass) -> Self {
        let message = error.to_string();
        let mut outcome = Self::local(error.into_response(), class);
        outcome.error = Some(message);
        outcome
    }
}
