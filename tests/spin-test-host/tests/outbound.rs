//! Outbound `wasi:http`: allowed hosts reached for real, others refused with
//! `HttpRequestDenied`, and service chaining to a private component in-process.

mod common;

use common::{fixture_app, get};

#[tokio::test]
async fn allowed_host_is_reached_over_real_http() {
    // A second app plays the upstream server; the probe may call 127.0.0.1:{{ upstream_port }}.
    let upstream = fixture_app().start().await.expect("upstream starts");
    let port = upstream.addr().port().to_string();
    let app = fixture_app()
        .variable("upstream_port", port)
        .start()
        .await
        .expect("app starts");
    let (status, body) =
        get(&app.url(&format!("/probe/fetch?url={}", upstream.url("/hello")))).await;
    assert_eq!((status, body.as_str()), (200, "Hello, world!"));
}

#[tokio::test]
async fn host_not_in_allowed_outbound_hosts_is_refused() {
    let upstream = fixture_app().start().await.expect("upstream starts");
    // upstream_port keeps its default (9), so the upstream's real port is not allowed.
    let app = fixture_app().start().await.expect("app starts");
    let (status, body) =
        get(&app.url(&format!("/probe/fetch?url={}", upstream.url("/hello")))).await;
    assert_eq!(status, 502);
    assert!(body.contains("HttpRequestDenied"), "{body}");
    // Same port, other spelling of the host: still not the allowed entry.
    let by_name = format!("http://localhost:{}/hello", upstream.addr().port());
    let (status, body) = get(&app.url(&format!("/probe/fetch?url={by_name}"))).await;
    assert_eq!(status, 502);
    assert!(body.contains("HttpRequestDenied"), "{body}");
}

#[tokio::test]
async fn chained_request_reaches_a_private_component_in_process() {
    let app = fixture_app().start().await.expect("app starts");
    let (status, body) =
        get(&app.url("/probe/fetch?url=http://private-echo.spin.internal/some/path")).await;
    assert_eq!(status, 200);
    assert_eq!(body, "private-echo saw /some/path (path-info /some/path)");
}

#[tokio::test]
async fn chaining_to_a_component_not_allowed_is_refused() {
    let app = fixture_app().start().await.expect("app starts");
    let (status, body) = get(&app.url("/probe/fetch?url=http://hello.spin.internal/hello")).await;
    assert_eq!(status, 502);
    assert!(body.contains("HttpRequestDenied"), "{body}");
}
