//! Sign-in and the session: a protected cookie, the current user only with a live untampered
//! session, expiry, sign-out, and signing in again replacing the old session.

use std::time::Duration;

use anyhow::{Context, Result};
use platform_tests::{Account, Credentials, PASSWORD, TestApp, assert_problem, header, json_of};
use reqwest::StatusCode;

use crate::{attempt_sign_in, attribute, registered, session_set_cookie};

#[tokio::test]
async fn sign_in_sets_a_protected_session_cookie() -> Result<()> {
    let app = TestApp::start().await?;
    registered(&app, "ann@example.com").await?;
    let response = attempt_sign_in(&app, " ANN@example.com", PASSWORD).await?;
    assert_eq!(header(&response, "cache-control"), "private, no-store");
    let cookie = session_set_cookie(&response).context("cp_session cookie set")?;
    let value = &cookie[0].1;
    assert_eq!(value.len(), 64, "256 bits, hex: {value}");
    assert!(value.chars().all(|c| c.is_ascii_hexdigit()));
    assert!(attribute(&cookie, "httponly").is_some(), "{cookie:?}");
    assert!(attribute(&cookie, "secure").is_some(), "{cookie:?}");
    assert_eq!(attribute(&cookie, "samesite"), Some("Lax"));
    assert_eq!(attribute(&cookie, "path"), Some("/"));
    assert_eq!(attribute(&cookie, "max-age"), Some("604800"));
    let user: Account = json_of(response, StatusCode::OK).await?;
    assert_eq!(user.email, "ann@example.com");
    assert_eq!(user.role, accounts_core::Role::Student);

    Ok(())
}

#[tokio::test]
async fn me_answers_only_with_a_live_untampered_session() -> Result<()> {
    let app = TestApp::start().await?;
    let user = app.register_and_sign_in().await?;
    let cookie = user.cookies();

    let signed_in = user.me().send().await?;
    assert_eq!(header(&signed_in, "cache-control"), "private, no-store");
    let renewed = session_set_cookie(&signed_in).context("me re-sends the cookie")?;
    let max_age: i64 = attribute(&renewed, "max-age").context("max-age")?.parse()?;
    assert!((604_790..=604_800).contains(&max_age), "{max_age}");
    let account: Account = json_of(signed_in, StatusCode::OK).await?;
    assert_eq!(account.role, accounts_core::Role::Student);

    let anonymous = app.me().send().await?;
    assert_eq!(header(&anonymous, "cache-control"), "private, no-store");
    assert_problem(
        anonymous,
        StatusCode::UNAUTHORIZED,
        "/problems/unauthorized",
    )
    .await?;

    let value = cookie.trim_start_matches("cp_session=");
    let flipped = if value.starts_with('0') { "1" } else { "0" };
    let tampered = format!("cp_session={flipped}{}", &value[1..]);
    for forged in [
        tampered.as_str(),
        "cp_session=",
        "cp_session=not-a-session-id",
    ] {
        let response = app.with_cookies(forged).me().send().await?;
        assert_problem(response, StatusCode::UNAUTHORIZED, "/problems/unauthorized").await?;
    }
    Ok(())
}

#[tokio::test]
async fn a_session_ends_when_its_lifetime_has_passed() -> Result<()> {
    let app = TestApp::builder()
        .variable("session_ttl_seconds", "1")
        .start()
        .await?;
    let user = app.register_and_sign_in().await?;
    // Expiry is about time passing, so the test lets it pass: there is nothing to wait on.
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    let response = user.me().send().await?;
    assert_problem(response, StatusCode::UNAUTHORIZED, "/problems/unauthorized").await?;
    Ok(())
}

#[tokio::test]
async fn sign_out_ends_the_session_on_the_server() -> Result<()> {
    let app = TestApp::start().await?;
    let user = app.register_and_sign_in().await?;
    user.me().await?;

    let signed_out = user.sign_out().send().await?;
    assert_eq!(signed_out.status(), StatusCode::NO_CONTENT);
    let cleared = session_set_cookie(&signed_out).context("cookie cleared")?;
    assert_eq!(cleared[0].1, "");
    assert_eq!(attribute(&cleared, "max-age"), Some("0"));

    // A copy of the old cookie (the browser forgot it, an attacker might not) is dead.
    let replayed = user.me().send().await?;
    assert_problem(replayed, StatusCode::UNAUTHORIZED, "/problems/unauthorized").await?;

    app.sign_out().await?;
    Ok(())
}

#[tokio::test]
async fn signing_in_again_replaces_the_previous_session() -> Result<()> {
    let app = TestApp::start().await?;
    let account = registered(&app, "ann@example.com").await?;
    let first = app
        .signed_in(&Credentials {
            id: account.id,
            email: account.email,
        })
        .await?;
    let again = first.sign_in("ann@example.com", PASSWORD).send().await?;
    assert_eq!(again.status(), StatusCode::OK);
    let second = session_set_cookie(&again).context("new cookie")?;
    assert_ne!(format!("cp_session={}", second[0].1), first.cookies());
    assert_eq!(first.me().send().await?.status(), StatusCode::UNAUTHORIZED);
    Ok(())
}
