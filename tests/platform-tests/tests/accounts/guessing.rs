//! How sign-in resists guessing: the same answer and timing for unknown emails and wrong
//! passwords, and throttling of repeated failures per email and per client.

use std::time::{Duration, Instant};

use anyhow::Result;
use platform_tests::{PASSWORD, Problem, TestApp, assert_problem, header, json_of};
use reqwest::StatusCode;

use crate::{attempt_sign_in, registered};

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
