//! Registration: a normalised email, once per email (whatever its case, however
//! concurrent), every bad field named, and only reasonable JSON.

use anyhow::Result;
use platform_tests::{Account, PASSWORD, TestApp, assert_problem, header, json_of};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::{registered, session_set_cookie};

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
