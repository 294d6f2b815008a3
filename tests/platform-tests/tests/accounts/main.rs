//! Accounts user stories on the real app: registration, sign-in, the session cookie, the
//! current user, sign-out, and how sign-in resists guessing (same answer and timing for
//! unknown emails and wrong passwords, throttling of repeated failures).

use anyhow::Result;
use platform_tests::{Account, Client, PASSWORD};
use serde_json::json;

mod guessing;
mod registration;
mod sessions;

/// The `Set-Cookie` header for `cp_session`, split into its attributes (lowercased names).
pub(crate) fn session_set_cookie(response: &reqwest::Response) -> Option<Vec<(String, String)>> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find(|value| value.starts_with("cp_session="))
        .map(|value| {
            value
                .split(';')
                .map(|part| {
                    let (name, value) = part.trim().split_once('=').unwrap_or((part.trim(), ""));
                    (name.to_ascii_lowercase(), value.to_owned())
                })
                .collect()
        })
}

/// The value of the attribute `name` of a cookie split by [`session_set_cookie`].
pub(crate) fn attribute<'a>(cookie: &'a [(String, String)], name: &str) -> Option<&'a str> {
    cookie
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

/// `POST /api/session` whatever it answers (a failed sign-in is what some tests want).
pub(crate) async fn attempt_sign_in(
    app: &Client,
    email: &str,
    password: &str,
) -> Result<reqwest::Response> {
    app.sign_in(email, password).send().await
}

/// Registers `email` with the harness password through the API.
pub(crate) async fn registered(app: &Client, email: &str) -> Result<Account> {
    app.register(&json!({ "email": email, "password": PASSWORD, "name": "Ann Lee" }))
        .await
}
