//! Accounts user stories on the real app: registration, sign-in, the session cookie, the
//! current user, sign-out, and how sign-in resists guessing (same answer and timing for
//! unknown emails and wrong passwords, throttling of repeated failures).

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use platform_tests::{
    Account, Client, Credentials, PASSWORD, Problem, TestApp, assert_problem, header, json_of,
};
use reqwest::{Method, StatusCode};
use serde_json::json;

/// The `Set-Cookie` header for `cp_session`, split into its attributes (lowercased names).
fn session_set_cookie(response: &reqwest::Response) -> Option<Vec<(String, String)>> {
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

fn attribute<'a>(cookie: &'a [(String, String)], name: &str) -> Option<&'a str> {
    cookie
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

async fn attempt_sign_in(app: &Client, email: &str, password: &str) -> Result<reqwest::Response> {
    app.sign_in(email, password).send().await
}

async fn registered(app: &Client, email: &str) -> Result<Account> {
    app.register(&json!({ "email": email, "password": PASSWORD, "name": "Ann Lee" }))
        .await
}

#[tokio::test]
async fn registration_creates_a_student_with_a_normalized_email() -> Result<()> {
    let app = TestApp::start().await?;
    let response = app
        .register(&json!({ "email": "  Ann.Lee@Example.COM ", "password": PASSWORD, "name": " Ann Lee " }))
        .send()
        .await?;
    assert_eq!(header(&response, "cache-control"), "private, no-store");
    assert!(
        session_set_cookie(&response).is_none(),
        "registering does not sign in"
    );
    let user: Account = json_of(response, StatusCode::CREATED).await?;
    assert_eq!(user.email, "ann.lee@example.com");
    assert_eq!(user.name, "Ann Lee");
    assert_eq!(user.role, accounts_core::Role::Student);
    assert_eq!(user.id.get_version_num(), 7);
    Ok(())
}

#[tokio::test]
async fn an_email_can_register_only_once_whatever_its_case() -> Result<()> {
    let app = TestApp::start().await?;
    registered(&app, "ann@example.com").await?;
    for variant in ["ann@example.com", " ANN@Example.com\t"] {
        let response = app
            .register(&json!({ "email": variant, "password": "another long passphrase", "name": "Impostor" }))
            .send()
            .await?;
        assert_problem(response, StatusCode::CONFLICT, "/problems/email-taken").await?;
    }
    Ok(())
}

#[tokio::test]
async fn concurrent_registrations_of_one_email_create_one_account() -> Result<()> {
    let app = TestApp::start().await?;
    let body = json!({ "email": "race@example.com", "password": PASSWORD, "name": "Racer" });
    let attempts = (0..4).map(|_| app.register(&body).send());
    let statuses: Vec<StatusCode> = futures::future::try_join_all(attempts)
        .await?
        .iter()
        .map(reqwest::Response::status)
        .collect();
    let created = statuses
        .iter()
        .filter(|status| **status == StatusCode::CREATED)
        .count();
    let conflicts = statuses
        .iter()
        .filter(|status| **status == StatusCode::CONFLICT)
        .count();
    assert_eq!((created, conflicts), (1, 3), "{statuses:?}");
    let count: i64 = app
        .db
        .client
        .query_one(
            "SELECT count(*) FROM users WHERE email = 'race@example.com'",
            &[],
        )
        .await?
        .get(0);
    assert_eq!(count, 1);
    Ok(())
}

#[tokio::test]
async fn invalid_registrations_name_every_bad_field() -> Result<()> {
    let app = TestApp::start().await?;
    let response = app
        .register(&json!({ "email": "not-an-email", "password": "short" }))
        .send()
        .await?;
    let body = assert_problem(
        response,
        StatusCode::BAD_REQUEST,
        "/problems/invalid-request",
    )
    .await?;
    assert_eq!(body.fields(), ["email", "password", "name"]);

    let too_long = "x".repeat(129);
    let weak = [
        "aaaaaaaaaaaaaaaa", // one repeated character
        "            ",     // only spaces
        "Bea@Example.com",  // the email itself
        too_long.as_str(),
    ];
    for password in weak {
        let response = app
            .register(&json!({ "email": "bea@example.com", "password": password, "name": "Bea" }))
            .send()
            .await?;
        let body = assert_problem(
            response,
            StatusCode::BAD_REQUEST,
            "/problems/invalid-request",
        )
        .await?;
        assert_eq!(body.errors[0].field, "password", "{password:?}: {body:?}");
    }
    Ok(())
}

#[tokio::test]
async fn account_endpoints_take_only_reasonable_json() -> Result<()> {
    let app = TestApp::start().await?;
    for path in ["/api/accounts", "/api/session"] {
        let form = app
            .request(Method::POST, path)
            .header("content-type", "application/x-www-form-urlencoded")
            .body("email=ann%40example.com&password=x")
            .send()
            .await?;
        assert_problem(
            form,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "/problems/unsupported-media-type",
        )
        .await?;

        let huge = json!({ "email": "ann@example.com", "password": PASSWORD, "name": "x".repeat(100_000) });
        let too_large = app.request(Method::POST, path).json(&huge).send().await?;
        assert_problem(
            too_large,
            StatusCode::PAYLOAD_TOO_LARGE,
            "/problems/payload-too-large",
        )
        .await?;

        let malformed = app
            .request(Method::POST, path)
            .header("content-type", "application/json")
            .body("{\"email\":")
            .send()
            .await?;
        assert_problem(
            malformed,
            StatusCode::BAD_REQUEST,
            "/problems/invalid-request",
        )
        .await?;
    }
    let wrong_method = app.get("/api/session").await?;
    assert_eq!(wrong_method.status(), StatusCode::METHOD_NOT_ALLOWED);
    Ok(())
}

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

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

#[tokio::test]
async fn unknown_email_and_wrong_password_are_indistinguishable() -> Result<()> {
    let app = TestApp::builder()
        .variable("login_max_failures_per_email", "100")
        .start()
        .await?;
    registered(&app, "ann@example.com").await?;

    let wrong_password = attempt_sign_in(&app, "ann@example.com", "not the right password").await?;
    let wrong_status = wrong_password.status();
    let wrong_body: Problem = json_of(wrong_password, wrong_status).await?;
    let unknown_email =
        attempt_sign_in(&app, "nobody@example.com", "not the right password").await?;
    assert_eq!(
        json_of::<Problem>(unknown_email, wrong_status).await?,
        wrong_body
    );
    assert_eq!(wrong_status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong_body.kind, "/problems/invalid-credentials");

    // Timing: interleave the two kinds so drift in machine load hits both alike.
    let (mut wrong_times, mut unknown_times) = (Vec::new(), Vec::new());
    for _ in 0..5 {
        for (email, times) in [
            ("ann@example.com", &mut wrong_times),
            ("nobody@example.com", &mut unknown_times),
        ] {
            let started = Instant::now();
            let response = attempt_sign_in(&app, email, "not the right password").await?;
            times.push(started.elapsed());
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        }
    }
    let (wrong, unknown) = (median(wrong_times), median(unknown_times));
    let ratio = wrong.as_secs_f64() / unknown.as_secs_f64();
    assert!(
        (1.0 / 3.0..3.0).contains(&ratio),
        "wrong password {wrong:?} vs unknown email {unknown:?}"
    );
    Ok(())
}

#[tokio::test]
async fn repeated_failures_for_an_email_are_throttled() -> Result<()> {
    let app = TestApp::builder()
        .variable("login_max_failures_per_email", "3")
        .start()
        .await?;
    registered(&app, "ann@example.com").await?;
    registered(&app, "bob@example.com").await?;
    let wrong = "not the right password";

    // A success forgives earlier failures.
    for _ in 0..2 {
        assert_eq!(
            attempt_sign_in(&app, "ann@example.com", wrong)
                .await?
                .status(),
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        attempt_sign_in(&app, "ann@example.com", PASSWORD)
            .await?
            .status(),
        StatusCode::OK
    );

    for _ in 0..3 {
        assert_eq!(
            attempt_sign_in(&app, "ann@example.com", wrong)
                .await?
                .status(),
            StatusCode::UNAUTHORIZED
        );
    }
    // Now even the right password waits, and so does any spelling of the email.
    for email in ["ann@example.com", " Ann@Example.com"] {
        let throttled = attempt_sign_in(&app, email, PASSWORD).await?;
        let retry_after: u64 = header(&throttled, "retry-after").parse()?;
        assert!((1..=900).contains(&retry_after), "{retry_after}");
        assert_problem(
            throttled,
            StatusCode::TOO_MANY_REQUESTS,
            "/problems/rate-limited",
        )
        .await?;
    }
    // Other accounts are unaffected.
    assert_eq!(
        attempt_sign_in(&app, "bob@example.com", PASSWORD)
            .await?
            .status(),
        StatusCode::OK
    );
    Ok(())
}

#[tokio::test]
async fn a_client_spraying_many_emails_is_throttled() -> Result<()> {
    let app = TestApp::builder()
        .variables(&[
            ("login_max_failures_per_email", "100"),
            ("login_max_failures_per_client", "4"),
        ])
        .start()
        .await?;
    for n in 0..4 {
        let response =
            attempt_sign_in(&app, &format!("user{n}@example.com"), "guess number one").await?;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let throttled = attempt_sign_in(&app, "user9@example.com", "guess number one").await?;
    assert!(!header(&throttled, "retry-after").is_empty());
    assert_problem(
        throttled,
        StatusCode::TOO_MANY_REQUESTS,
        "/problems/rate-limited",
    )
    .await?;
    Ok(())
}
