//! HTTP to the app: a client holding a browser's cookies, calls that read typed answers,
//! the one JSON reader (which always checks the status), problems, headers and cookies.

use std::marker::PhantomData;
use std::pin::Pin;

use anyhow::{Result, bail};
use platform::problem::FieldError;
use reqwest::header::{COOKIE, SET_COOKIE};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde::Deserialize;
use serde::de::DeserializeOwned;

/// Sends requests to one app (or one region's entry) as one browser: its cookies, and the
/// address a trusted proxy says it connects from. The endpoint helpers are its methods.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base_url: String,
    cookies: String,
    forwarded_for: Option<String>,
}

impl Client {
    pub fn new(http: reqwest::Client, base_url: String) -> Client {
        Client {
            http,
            base_url,
            cookies: String::new(),
            forwarded_for: None,
        }
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// The same browser holding `cookies` (a `Cookie` header value) instead.
    pub fn with_cookies(&self, cookies: &str) -> Client {
        Client {
            cookies: cookies.to_owned(),
            ..self.clone()
        }
    }

    /// The same browser, seen by the app's trusted proxy as connecting from `address`.
    pub fn forwarded_for(&self, address: &str) -> Client {
        Client {
            forwarded_for: Some(address.to_owned()),
            ..self.clone()
        }
    }

    /// The `Cookie` header value this browser sends; empty for none.
    pub fn cookies(&self) -> &str {
        &self.cookies
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// A request carrying this browser's cookies and forwarded address.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let mut request = self.http.request(method, self.url(path));
        if !self.cookies.is_empty() {
            request = request.header(COOKIE, &self.cookies);
        }
        if let Some(address) = &self.forwarded_for {
            request = request.header("x-forwarded-for", address);
        }
        request
    }

    /// A GET of any path, answered as it comes.
    pub async fn get(&self, path: &str) -> Result<Response> {
        Ok(self.request(Method::GET, path).send().await?)
    }

    /// A call of an endpoint answering `T` with `success`.
    pub(crate) fn call<T>(&self, method: Method, path: &str, success: StatusCode) -> Call<T> {
        Call {
            request: self.request(method, path),
            success,
            answer: PhantomData,
        }
    }
}

/// One request to an endpoint. Awaiting it expects the endpoint's success status and reads
/// the answer as `T`; `send` gives the response as it comes, for tests of everything else.
#[must_use = "a call does nothing until awaited or sent"]
pub struct Call<T> {
    request: RequestBuilder,
    success: StatusCode,
    answer: PhantomData<fn() -> T>,
}

impl<T> Call<T> {
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.request = self.request.header(name, value);
        self
    }

    pub fn json(mut self, body: &serde_json::Value) -> Self {
        self.request = self.request.json(body);
        self
    }

    pub async fn send(self) -> Result<Response> {
        Ok(self.request.send().await?)
    }

    /// Expects a problem with `status` and returns it.
    pub async fn problem(self, status: StatusCode) -> Result<Problem> {
        json_of(self.send().await?, status).await
    }
}

impl<T: DeserializeOwned + 'static> IntoFuture for Call<T> {
    type Output = Result<T>;
    type IntoFuture = Pin<Box<dyn Future<Output = Result<T>> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move { json_of(self.request.send().await?, self.success).await })
    }
}

/// Fails unless the response has `expected` status, then reads its JSON body as `T`. An
/// empty body (a 204) reads as `null`, which is what `()` is.
pub async fn json_of<T: DeserializeOwned>(response: Response, expected: StatusCode) -> Result<T> {
    let status = response.status();
    let text = response.text().await?;
    if status != expected {
        bail!("expected {expected}, got {status}: {text}");
    }
    let json = if text.is_empty() { "null" } else { &text };
    serde_json::from_str(json).map_err(|error| anyhow::anyhow!("{error} in {text}"))
}

/// An `application/problem+json` body.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: Option<String>,
    #[serde(default)]
    pub errors: Vec<FieldError>,
}

impl Problem {
    /// The fields named by `errors`, in order.
    pub fn fields(&self) -> Vec<&str> {
        self.errors
            .iter()
            .map(|error| error.field.as_str())
            .collect()
    }
}

/// Asserts a problem+json answer with `status` and `kind`; returns it.
pub async fn assert_problem(response: Response, status: StatusCode, kind: &str) -> Result<Problem> {
    assert_eq!(
        header(&response, "content-type"),
        "application/problem+json"
    );
    let problem: Problem = json_of(response, status).await?;
    assert_eq!(problem.kind, kind, "{problem:?}");
    Ok(problem)
}

/// A response header as text; empty when absent or not visible ASCII.
pub fn header(response: &Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// The `name=value` pairs a response's `Set-Cookie` headers set (removals left out).
pub fn cookies_set(response: &Response) -> Vec<String> {
    set_cookie_pairs(response)
        .filter(|pair| {
            pair.split_once('=')
                .is_some_and(|(_, value)| !value.is_empty())
        })
        .collect()
}

/// `name=value` of the `Set-Cookie` for `name`, a removal (`name=`) included.
pub fn set_cookie(response: &Response, name: &str) -> Option<String> {
    set_cookie_pairs(response).find(|pair| pair.starts_with(&format!("{name}=")))
}

fn set_cookie_pairs(response: &Response) -> impl Iterator<Item = String> + '_ {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .filter_map(|text| text.split(';').next())
        .map(|pair| pair.trim().to_owned())
}
