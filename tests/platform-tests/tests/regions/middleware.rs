//! The router is HTTP middleware composed in front of every public component: every route
//! gets its decisions and gateway headers, and what it alone may tell a component cannot
//! come from a client.

use anyhow::Result;
use platform_tests::{PASSWORD, TestApp, header, set_cookie};
use reqwest::Method;
use uuid::Uuid;

/// Paths of every public component, an API path nothing claims, and a page path.
const PATHS: [(&str, &str); 10] = [
    ("catalog", "/api/courses"),
    ("catalog", "/api/categories"),
    ("catalog", "/api/openapi.json"),
    ("accounts", "/api/me"),
    ("cart", "/api/cart"),
    ("checkout", "/api/orders"),
    ("checkout", "/api/me/enrollments"),
    ("web", "/"),
    ("web, unknown page", "/no/such/page"),
    ("web, unknown API path", "/api/no-such-thing"),
];

#[tokio::test]
async fn every_public_route_and_unknown_paths_pass_through_the_router() -> Result<()> {
    let app = TestApp::start().await?;
    for (component, path) in PATHS {
        let response = app.get(path).await?;
        let status = response.status();
        assert!(!status.is_server_error(), "{component} {path}: {status}");
        assert_eq!(
            header(&response, "x-served-by"),
            "local",
            "{component} {path}"
        );
        let id = Uuid::parse_str(&header(&response, "x-request-id"))?;
        assert_eq!(id.get_version_num(), 7, "{component} {path}");
        let timing = header(&response, "server-timing");
        assert!(
            timing.contains("router;dur="),
            "{component} {path}: {timing}"
        );
        assert!(
            timing.contains("component;dur="),
            "{component} {path}: {timing}"
        );
        assert_eq!(header(&response, "x-content-type-options"), "nosniff");
        assert!(
            header(&response, "vary").contains("Origin"),
            "{component} {path}"
        );
    }
    // A cart whose home cookie names no region this router knows is homed here by a new
    // cookie, which only the router can add: it sets its headers on that answer itself,
    // and they are the same as the ones it hands over (the loop above, /api/cart included).
    let rehomed = app
        .with_cookies("cp_cart_region=elsewhere")
        .get("/api/cart")
        .await?;
    assert_eq!(rehomed.status(), 200);
    assert_eq!(
        set_cookie(&rehomed, "cp_cart_region").as_deref(),
        Some("cp_cart_region=local")
    );
    assert_eq!(header(&rehomed, "x-served-by"), "local");
    let timing = header(&rehomed, "server-timing");
    assert!(
        timing.contains("router;dur=") && timing.contains("component;dur="),
        "{timing}"
    );
    assert_eq!(header(&rehomed, "x-content-type-options"), "nosniff");
    assert!(header(&rehomed, "vary").contains("Origin"));
    assert_eq!(rehomed.headers().get_all("server-timing").iter().count(), 1);
    // /health and /alive are answered by the router itself, whatever it wraps.
    for path in ["/alive", "/health"] {
        let response = app.get(path).await?;
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(header(&response, "x-served-by"), "local", "{path}");
        let timing = header(&response, "server-timing");
        assert!(!timing.contains("component;dur="), "{path}: {timing}");
    }
    Ok(())
}

#[tokio::test]
async fn a_client_cannot_pose_as_the_router_to_a_component() -> Result<()> {
    let app = TestApp::builder()
        .variables(&[
            ("login_max_failures_per_client", "3"),
            ("login_max_failures_per_email", "100"),
        ])
        .start()
        .await?;

    // A cart served away from its home region is refused without the browser's copy; a
    // client claiming so itself is served its own region's cart.
    let student = app.student().await?;
    let cart = student
        .cart()
        .header("x-cp-cart-home", "elsewhere")
        .send()
        .await?;
    assert_eq!(cart.status(), 200, "{}", cart.text().await?);

    // Sign-in throttling counts the client the router saw, whatever address it claims.
    let email = app
        .db
        .create_user(accounts_core::Role::Student)
        .await?
        .email;
    let password = PASSWORD;
    let sign_in = |claimed: &'static str, password: &'static str| {
        app.sign_in(&email, password)
            .header("x-cp-client-ip", claimed)
            .send()
    };
    for claimed in ["198.51.100.1", "198.51.100.2", "198.51.100.3"] {
        assert_eq!(sign_in(claimed, "guess").await?.status(), 401, "{claimed}");
    }
    let blocked = sign_in("198.51.100.4", password).await?;
    assert_eq!(
        blocked.status(),
        429,
        "a fresh claimed address buys no fresh attempts"
    );

    // Reads the client asks to send to the primary still use the edge cache.
    app.get("/api/courses").await?;
    let cached = app
        .request(Method::GET, "/api/courses")
        .header("x-read-from", "primary")
        .send()
        .await?;
    assert_eq!(cached.status(), 200);
    assert_eq!(header(&cached, "x-read-from"), "replica");
    assert_eq!(header(&cached, "x-cache"), "hit");

    // The response headers the router hands a component are the router's alone: a
    // client's list (a cookie, another region's name) is dropped, both where the component
    // sets the router's headers (the catalog) and where the router does (a cart it rehomes).
    let forged = r#"[["set-cookie","cp_session=forged"],["x-served-by","mars"]]"#;
    for path in ["/api/courses", "/api/cart"] {
        let answer = app
            .request(Method::GET, path)
            .header("cookie", "cp_cart_region=elsewhere")
            .header("x-cp-response-headers", forged)
            .send()
            .await?;
        assert_eq!(answer.status(), 200, "{path}");
        assert_eq!(header(&answer, "x-served-by"), "local", "{path}");
        let cookies: Vec<_> = answer.headers().get_all("set-cookie").iter().collect();
        assert!(
            cookies
                .iter()
                .all(|cookie| !cookie.as_bytes().ends_with(b"forged")),
            "{path}: {cookies:?}"
        );
    }
    Ok(())
}
