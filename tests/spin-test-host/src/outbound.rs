//! Outbound network policy (`allowed_outbound_hosts`) and outbound `wasi:http`: real HTTP for
//! allowed hosts, in-process dispatch for `http://<component>.spin.internal`, refusal otherwise.

use std::sync::Arc;

use anyhow::{Context, Result, bail};
use http::Uri;
use http_body_util::BodyExt;
use wasmtime_wasi_http::{Error as HttpError, RequestOptions, WasiBody, WasiHttpHooks};

use crate::app::AppInner;

/// A component's `allowed_outbound_hosts`, templates already rendered.
#[derive(Debug, Clone, Default)]
pub struct AllowedHosts {
    rules: Vec<HostRule>,
}

#[derive(Debug, Clone)]
struct HostRule {
    scheme: Pattern,
    host: HostPattern,
    port: PortPattern,
}

#[derive(Debug, Clone)]
enum Pattern {
    Any,
    Exactly(String),
}

#[derive(Debug, Clone)]
enum HostPattern {
    Any,
    /// `*.example.com`: any subdomain (not the bare domain).
    SubdomainOf(String),
    Exactly(String),
}

#[derive(Debug, Clone)]
enum PortPattern {
    Any,
    /// No port written: the scheme's default port.
    Default,
    Range(u16, u16),
}

impl AllowedHosts {
    pub fn parse<'a>(entries: impl IntoIterator<Item = &'a str>) -> Result<Self> {
        let rules = entries
            .into_iter()
            .map(HostRule::parse)
            .collect::<Result<Vec<_>>>()?;
        Ok(Self { rules })
    }

    /// Whether a connection to `scheme://host:port` is allowed. `port` is `None` when the URL has none.
    pub fn allows(&self, scheme: &str, host: &str, port: Option<u16>) -> bool {
        let scheme = scheme.to_ascii_lowercase();
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_ascii_lowercase();
        self.rules
            .iter()
            .any(|rule| rule.matches(&scheme, &host, port))
    }

    /// Whether `url` (e.g. `postgres://user@db:5432/x`) may be reached.
    pub fn allows_url(&self, url: &str) -> bool {
        let Ok(uri) = url.parse::<Uri>() else {
            return false;
        };
        match (uri.scheme_str(), uri.host()) {
            (Some(scheme), Some(host)) => self.allows(scheme, host, uri.port_u16()),
            _ => false,
        }
    }
}

fn default_port(scheme: &str) -> Option<u16> {
    Some(match scheme {
        "http" => 80,
        "https" => 443,
        "postgres" => 5432,
        "redis" => 6379,
        "mysql" => 3306,
        "mqtt" => 1883,
        _ => return None,
    })
}

impl HostRule {
    fn parse(entry: &str) -> Result<Self> {
        let (scheme, rest) = entry.split_once("://").with_context(|| {
            format!("allowed_outbound_hosts entry `{entry}` needs a scheme (`https://...`)")
        })?;
        let rest = rest.trim_end_matches('/');
        if rest.contains('/') {
            bail!("allowed_outbound_hosts entry `{entry}` must not contain a path");
        }
        let (host, port) = match rest.rsplit_once(':') {
            Some((host, port)) if !host.is_empty() => (host, Some(port)),
            _ => (rest, None),
        };
        let port = match port {
            None => PortPattern::Default,
            Some("*") => PortPattern::Any,
            Some(port) => match port.split_once("..") {
                Some((low, high)) => PortPattern::Range(
                    low.parse()
                        .with_context(|| format!("bad port range in `{entry}`"))?,
                    high.parse::<u16>()
                        .with_context(|| format!("bad port range in `{entry}`"))?
                        .saturating_sub(1),
                ),
                None => {
                    let port = port
                        .parse()
                        .with_context(|| format!("bad port in `{entry}`"))?;
                    PortPattern::Range(port, port)
                }
            },
        };
        let host = host.to_ascii_lowercase();
        let host = if host == "*" {
            HostPattern::Any
        } else if let Some(domain) = host.strip_prefix("*.") {
            HostPattern::SubdomainOf(domain.to_string())
        } else {
            HostPattern::Exactly(host)
        };
        let scheme = match scheme {
            "*" => Pattern::Any,
            scheme => Pattern::Exactly(scheme.to_ascii_lowercase()),
        };
        Ok(Self { scheme, host, port })
    }

    fn matches(&self, scheme: &str, host: &str, port: Option<u16>) -> bool {
        let scheme_ok = match &self.scheme {
            Pattern::Any => true,
            Pattern::Exactly(s) => s == scheme,
        };
        let host_ok = match &self.host {
            HostPattern::Any => true,
            HostPattern::SubdomainOf(domain) => host
                .strip_suffix(domain.as_str())
                .is_some_and(|sub| sub.len() > 1 && sub.ends_with('.')),
            HostPattern::Exactly(h) => h == host,
        };
        let port = port.or_else(|| default_port(scheme));
        let port_ok = match (&self.port, port) {
            (PortPattern::Any, _) => true,
            (PortPattern::Default, Some(port)) => default_port(scheme) == Some(port),
            (PortPattern::Range(low, high), Some(port)) => (*low..=*high).contains(&port),
            (_, None) => false,
        };
        scheme_ok && host_ok && port_ok
    }
}

/// The component named by a `<component>.spin.internal` host, if that is the host.
fn internal_component(uri: &Uri) -> Option<&str> {
    uri.host()?.strip_suffix(".spin.internal")
}

/// `wasi:http` hooks of one instance: enforces its allowed hosts and routes chained requests.
pub struct OutboundHttp {
    pub app: Arc<AppInner>,
    pub allowed: Arc<AllowedHosts>,
}

type SendFuture = Box<
    dyn Future<
            Output = Result<
                (
                    http::Response<WasiBody>,
                    Box<dyn Future<Output = Result<(), HttpError>> + Send>,
                ),
                HttpError,
            >,
        > + Send,
>;

impl WasiHttpHooks for OutboundHttp {
    fn default_scheme(&mut self) -> Option<http::uri::Scheme> {
        Some(http::uri::Scheme::HTTP)
    }

    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        fut: Box<dyn Future<Output = Result<(), HttpError>> + Send>,
    ) -> SendFuture {
        drop(fut);
        let uri = request.uri().clone();
        let allowed = match (uri.scheme_str(), uri.host()) {
            (Some(scheme), Some(host)) => self.allows(scheme, host, uri.port_u16()),
            _ => false,
        };
        if !allowed {
            tracing::info!(
                "outbound request to {} refused: not in allowed_outbound_hosts",
                redact(&uri)
            );
            return Box::new(async { Err(HttpError::HttpRequestDenied) });
        }
        if let Some(component) = internal_component(&uri) {
            let app = Arc::clone(&self.app);
            let component = component.to_string();
            return Box::new(async move {
                // Awaited in place: the chained component runs in its own instance's task
                // (see `reuse`), not in the caller's store.
                let response = app
                    .handle_chained(&component, request)
                    .await
                    .map_err(|error| {
                        tracing::warn!("chained request to `{component}` failed: {error:#}");
                        HttpError::InternalError(Some(error.to_string()))
                    })?;
                let done: Box<dyn Future<Output = Result<(), HttpError>> + Send> =
                    Box::new(async { Ok(()) });
                Ok((response, done))
            });
        }
        Box::new(async move {
            let (response, io) = wasmtime_wasi_http::default_send_request(request, options).await?;
            let io: Box<dyn Future<Output = Result<(), HttpError>> + Send> = Box::new(io);
            Ok((response.map(BodyExt::boxed_unsync), io))
        })
    }
}

impl OutboundHttp {
    fn allows(&self, scheme: &str, host: &str, port: Option<u16>) -> bool {
        if let Some(component) = host.strip_suffix(".spin.internal") {
            // A chained request must name a component of this app, and be allowed explicitly.
            return self.app.has_chain_target(component) && self.allowed.allows(scheme, host, port);
        }
        self.allowed.allows(scheme, host, port)
    }
}

/// The URL without its query, which may carry secrets.
fn redact(uri: &Uri) -> String {
    format!(
        "{}://{}{}",
        uri.scheme_str().unwrap_or("?"),
        uri.authority().map(|a| a.as_str()).unwrap_or("?"),
        uri.path()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts(entries: &[&str]) -> AllowedHosts {
        AllowedHosts::parse(entries.iter().copied()).expect("valid entries")
    }

    #[test]
    fn scheme_host_and_default_port_must_match() {
        let allowed = hosts(&["https://api.example.com"]);
        assert!(allowed.allows("https", "api.example.com", None));
        assert!(allowed.allows("https", "api.example.com", Some(443)));
        assert!(!allowed.allows("https", "api.example.com", Some(8443)));
        assert!(!allowed.allows("http", "api.example.com", None));
        assert!(!allowed.allows("https", "example.com", None));
    }

    #[test]
    fn wildcards_for_scheme_host_and_port() {
        let allowed = hosts(&[
            "*://*.spin.internal:*",
            "postgres://*:*",
            "http://127.0.0.1:8000..8002",
        ]);
        assert!(allowed.allows("http", "store.spin.internal", None));
        assert!(!allowed.allows("http", "spin.internal", None));
        assert!(allowed.allows_url("postgres://postgres@db.local:6543/x"));
        assert!(allowed.allows("http", "127.0.0.1", Some(8001)));
        assert!(!allowed.allows("http", "127.0.0.1", Some(8002)));
        assert!(!allowed.allows_url("redis://127.0.0.1:6379"));
    }

    #[test]
    fn rejects_entries_without_scheme() {
        assert!(AllowedHosts::parse(["example.com"]).is_err());
    }
}
