//! A student's browser: its cookies, and the entry it uses. It enters through its location's
//! nearest entry and, like a browser behind failing-over DNS, moves to the next entry when a
//! connection fails. Every request is paced, counted against the location's budget and
//! recorded.

use std::collections::BTreeMap;
use std::sync::Arc;

use reqwest::Method;
use serde_json::Value;
use tokio::time::Instant;

use super::mix::Kind;
use super::{LocationRun, Shared};

/// A response with the expected status.
pub struct Answer {
    pub body: String,
}

pub struct Browser {
    http: reqwest::Client,
    location: Arc<LocationRun>,
    shared: Arc<Shared>,
    entry: usize,
    cookies: BTreeMap<String, String>,
}

impl Browser {
    pub fn new(http: reqwest::Client, location: Arc<LocationRun>, shared: Arc<Shared>) -> Browser {
        Browser {
            http,
            location,
            shared,
            entry: 0,
            cookies: BTreeMap::new(),
        }
    }

    /// Sends one request through the current entry and records it. `Some` only for the
    /// expected status.
    pub async fn send(
        &mut self,
        kind: Kind,
        method: Method,
        path: &str,
        body: Option<&Value>,
        idempotency_key: Option<&str>,
        expected: u16,
    ) -> Option<Answer> {
        self.location.pace().await;
        self.location.spend_one();
        let entry = self.location.plan.entries.get(self.entry)?.clone();
        let mut request = self
            .http
            .request(method, format!("{}{path}", entry.url))
            .header("x-forwarded-for", &self.location.plan.client_ip);
        if !self.cookies.is_empty() {
            let cookie: Vec<String> = self
                .cookies
                .iter()
                .map(|(n, v)| format!("{n}={v}"))
                .collect();
            request = request.header("cookie", cookie.join("; "));
        }
        if let Some(key) = idempotency_key {
            request = request.header("idempotency-key", key);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let begun = Instant::now();
        let started = begun.duration_since(self.shared.started);
        let outcome = match request.send().await {
            Ok(response) => {
                self.keep_cookies(&response);
                let status = response.status().as_u16();
                let served_by = response
                    .headers()
                    .get("x-served-by")
                    .and_then(|value| value.to_str().ok())
                    .map(str::to_owned);
                response.text().await.map(|text| (status, served_by, text))
            }
            Err(error) => Err(error),
        };
        let latency = begun.elapsed();
        let location = self.location.index;
        match outcome {
            Ok((status, served_by, text)) => {
                let ok = status == expected;
                self.shared
                    .recorder
                    .sample(location, kind, started, latency, ok, served_by);
                if ok {
                    return Some(Answer { body: text });
                }
                let excerpt: String = text.chars().take(200).collect();
                let name = &self.location.plan.name;
                self.shared.recorder.error(format!(
                    "{name} {} {path}: {status} {excerpt}",
                    kind.label()
                ));
                None
            }
            Err(error) => {
                self.shared
                    .recorder
                    .sample(location, kind, started, latency, false, None);
                let name = &self.location.plan.name;
                let via = &entry.region;
                self.shared
                    .recorder
                    .error(format!("{name} {} {path} via {via}: {error}", kind.label()));
                // The entry did not answer: go to the next one, as failing-over DNS would.
                self.entry = (self.entry + 1) % self.location.plan.entries.len().max(1);
                None
            }
        }
    }

    fn keep_cookies(&mut self, response: &reqwest::Response) {
        for header in response.headers().get_all("set-cookie") {
            let Ok(text) = header.to_str() else { continue };
            let Some((name, value)) = text.split(';').next().and_then(|pair| pair.split_once('='))
            else {
                continue;
            };
            if value.is_empty() || text.to_ascii_lowercase().contains("max-age=0") {
                self.cookies.remove(name.trim());
            } else {
                self.cookies
                    .insert(name.trim().to_owned(), value.trim().to_owned());
            }
        }
    }
}
