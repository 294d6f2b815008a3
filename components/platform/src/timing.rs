//! Where a request's time goes, step by step, told to the client in `server-timing`.
//!
//! A handler marks the end of each step it cares about; [`Steps::attach`] adds them to the
//! response (the geo-router appends its own metrics to the same header). Step names are
//! fixed, coarse and say nothing about the user or the data: `session`, `cart-read`, ...

use std::cell::RefCell;
use std::time::{Duration, Instant};

use http::{HeaderValue, header::HeaderName};

use crate::HttpResponse;

/// The response header the steps go in.
pub const SERVER_TIMING: &str = "server-timing";

/// Named steps of one request, in the order they ended.
#[derive(Debug)]
pub struct Steps {
    ended: RefCell<(Instant, Vec<(&'static str, Duration)>)>,
}

impl Steps {
    /// Starts the clock for the first step.
    pub fn start() -> Self {
        Self {
            ended: RefCell::new((Instant::now(), Vec::new())),
        }
    }

    /// Ends the step `name`: the time since the previous step ended (or since the start).
    /// A name marked again accumulates, so a step done in several pieces is one metric.
    pub fn mark(&self, name: &'static str) {
        let mut ended = self.ended.borrow_mut();
        let now = Instant::now();
        let took = now.duration_since(ended.0);
        ended.0 = now;
        match ended.1.iter_mut().find(|(step, _)| *step == name) {
            Some((_, total)) => *total += took,
            None => ended.1.push((name, took)),
        }
    }

    /// `cart-read;dur=0.412, order;dur=1.050`: milliseconds with microsecond precision.
    pub fn header_value(&self) -> String {
        self.ended
            .borrow()
            .1
            .iter()
            .map(|(name, took)| format!("{name};dur={:.3}", took.as_secs_f64() * 1000.0))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Adds the steps to the response's `server-timing`.
    pub fn attach(&self, response: &mut HttpResponse) {
        let value = self.header_value();
        if value.is_empty() {
            return;
        }
        if let Ok(value) = HeaderValue::from_str(&value) {
            response
                .headers_mut()
                .append(HeaderName::from_static(SERVER_TIMING), value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn durations(value: &str) -> Vec<(String, f64)> {
        value
            .split(", ")
            .map(|metric| {
                let (name, duration) = metric.split_once(";dur=").unwrap_or_default();
                (name.to_owned(), duration.parse().unwrap_or(-1.0))
            })
            .collect()
    }

    #[test]
    fn steps_are_listed_in_order_with_their_durations() {
        let steps = Steps::start();
        steps.mark("session");
        std::thread::sleep(Duration::from_millis(2));
        steps.mark("cart-read");
        let listed = durations(&steps.header_value());
        let names: Vec<&str> = listed.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(names, ["session", "cart-read"]);
        assert!(listed[1].1 >= 2.0, "{listed:?}");
    }

    #[test]
    fn a_step_marked_twice_is_one_metric() {
        let steps = Steps::start();
        steps.mark("db");
        steps.mark("provider");
        std::thread::sleep(Duration::from_millis(1));
        steps.mark("db");
        let listed = durations(&steps.header_value());
        assert_eq!(listed.len(), 2);
        assert!(listed[0].1 >= 1.0, "{listed:?}");
    }

    #[test]
    fn attach_adds_a_server_timing_header_only_with_steps() {
        let mut response = crate::response::ok(&"x");
        Steps::start().attach(&mut response);
        assert!(!response.headers().contains_key(SERVER_TIMING));
        let steps = Steps::start();
        steps.mark("session");
        steps.attach(&mut response);
        let value = response.headers()[SERVER_TIMING]
            .to_str()
            .unwrap_or_default();
        assert!(value.starts_with("session;dur="), "{value}");
    }
}
