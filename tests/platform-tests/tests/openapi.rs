//! The API document covers every route, and the app serves it.

use std::collections::BTreeSet;

use anyhow::Result;
use platform_tests::json_of;
use reqwest::StatusCode;
use serde_json::Value;

fn document() -> Result<Value> {
    let path = spin_test_host_root().join("openapi.json");
    Ok(serde_json::from_str(&std::fs::read_to_string(path)?)?)
}

fn spin_test_host_root() -> std::path::PathBuf {
    platform_tests::spin_test_host::workspace_root()
}

/// `(METHOD, path)` pairs of every component's route table. Add yours here.
fn routes() -> Vec<(String, String)> {
    let mut routes = Vec::new();
    routes.extend(
        catalog_core::ROUTES
            .iter()
            .map(|route| (route.method.to_string(), route.path.to_owned())),
    );
    routes.extend(
        accounts_core::ROUTES
            .iter()
            .map(|route| (route.method.to_string(), route.path.to_owned())),
    );
    routes.extend(
        commerce_core::routes::CART_ROUTES
            .iter()
            .map(|route| (route.method.to_string(), route.path.to_owned())),
    );
    routes.extend(
        commerce_core::routes::CHECKOUT_ROUTES
            .iter()
            .map(|route| (route.method.to_string(), route.path.to_owned())),
    );
    routes
}

#[test]
fn every_route_is_documented() -> Result<()> {
    let document = document()?;
    let mut missing = BTreeSet::new();
    for (method, path) in routes() {
        let operation = &document["paths"][&path][method.to_lowercase()];
        if !operation.is_object() {
            missing.insert(format!("{method} {path}"));
        }
    }
    assert!(missing.is_empty(), "openapi.json lacks: {missing:?}");
    Ok(())
}

/// Every problem `type` a client can see: the variants that fix their own, and the kinds
/// the components raise the others with.
fn problem_types() -> Vec<String> {
    use commerce_core::views::problems;
    let any_id = uuid::Uuid::nil();
    let commerce = [
        problems::cart_full(),
        problems::course_unavailable(any_id),
        problems::course_already_owned(any_id),
        problems::cart_unavailable("us-east"),
        problems::cart_empty(),
        problems::mixed_currencies(),
        problems::idempotency_key_reused(),
        problems::payment_declined(any_id),
        problems::checkout_in_progress(),
        problems::payment_provider_unavailable(""),
        problems::invalid_card(),
    ];
    let mut types: Vec<String> = platform::ApiError::of_each_fixed_type()
        .into_iter()
        .chain(commerce)
        .map(|error| error.problem_type())
        .collect();
    // Raised inside the accounts and catalog components, whose crates do not build natively.
    types.extend([
        "/problems/email-taken".into(),
        "/problems/slug-taken".into(),
    ]);
    types
}

#[test]
fn every_problem_type_is_listed() -> Result<()> {
    let document = document()?;
    let listed: BTreeSet<&str> = document["components"]["schemas"]["Problem"]["properties"]["type"]
        ["enum"]
        .as_array()
        .map(|types| types.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    for problem in problem_types() {
        assert!(
            listed.contains(problem.as_str()),
            "{problem} missing from {listed:?}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn the_app_serves_the_document() -> Result<()> {
    let app = platform_tests::TestApp::start().await?;
    let served: Value = json_of(app.get("/api/openapi.json").await?, StatusCode::OK).await?;
    assert_eq!(served, document()?);
    assert_eq!(served["openapi"], "3.1.0");
    Ok(())
}
