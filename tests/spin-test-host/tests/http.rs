//! Serving HTTP like Spin: route precedence, private routes, Spin's headers, concurrency.

mod common;

use common::{fixture_app, get};

#[tokio::test]
async fn exact_route_beats_wildcard_and_longest_prefix_wins() {
    let app = fixture_app().start().await.expect("app starts");
    // /probe/exact is an exact route of `hello`, inside the /probe/... wildcard of `probe`.
    assert_eq!(
        get(&app.url("/probe/exact")).await,
        (200, "Hello, world!".into())
    );
    assert_eq!(get(&app.url("/probe/nothing-here")).await.0, 404);
    let (status, body) = get(&app.url("/probe/headers")).await;
    assert_eq!(status, 200);
    assert!(body.contains("spin-matched-route: /probe/..."), "{body}");
    // /wild/probe/... is longer than /wild/..., so it wins for paths below it.
    assert_eq!(
        get(&app.url("/wild/anything")).await,
        (200, "Hello, world!".into())
    );
    let (_, body) = get(&app.url("/wild/probe/headers")).await;
    assert!(
        body.contains("spin-matched-route: /wild/probe/..."),
        "{body}"
    );
}

#[tokio::test]
async fn unmatched_paths_and_private_components_answer_404() {
    let app = fixture_app().start().await.expect("app starts");
    assert_eq!(get(&app.url("/nowhere")).await.0, 404);
    assert_eq!(get(&app.url("/private-echo")).await.0, 404);
    assert_eq!(
        get(&app.url("/hello/more")).await.0,
        404,
        "exact routes do not match below"
    );
}

#[tokio::test]
async fn components_receive_spin_headers() {
    let app = fixture_app().start().await.expect("app starts");
    let (status, body) = get(&app.url("/probe/headers?x=1")).await;
    assert_eq!(status, 200);
    let port = app.addr().port();
    for expected in [
        format!("spin-full-url: http://127.0.0.1:{port}/probe/headers?x=1"),
        "spin-path-info: /headers".to_string(),
        "spin-matched-route: /probe/...".to_string(),
        "spin-raw-component-route: /probe/...".to_string(),
        "spin-component-route: /probe".to_string(),
        "spin-base-path: /".to_string(),
        "spin-client-addr: 127.0.0.1:".to_string(),
    ] {
        assert!(body.contains(&expected), "missing `{expected}` in:\n{body}");
    }
}

#[tokio::test]
async fn request_bodies_reach_the_component() {
    let app = fixture_app().start().await.expect("app starts");
    let body = "x".repeat(200_000);
    let response = reqwest::Client::new()
        .post(app.url("/probe/echo"))
        .body(body.clone())
        .send()
        .await
        .expect("request");
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.text().await.expect("body"), body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_many_parallel_requests() {
    let app = fixture_app().start().await.expect("app starts");
    let client = reqwest::Client::new();
    let requests = (0..200).map(|i| {
        let client = client.clone();
        let url = if i % 2 == 0 {
            app.url("/hello")
        } else {
            app.url(&format!("/probe/variable/greeting?{i}"))
        };
        async move {
            let response = client.get(url).send().await.expect("request");
            (
                response.status().as_u16(),
                response.text().await.expect("body"),
            )
        }
    });
    let results = futures::future::join_all(requests).await;
    for (i, result) in results.into_iter().enumerate() {
        let expected = if i % 2 == 0 {
            "Hello, world!"
        } else {
            "hello, world"
        };
        assert_eq!(result, (200, expected.to_string()), "request {i}");
    }
}

#[tokio::test]
async fn stop_closes_the_listener() {
    let app = fixture_app().start().await.expect("app starts");
    let url = app.url("/hello");
    assert_eq!(get(&url).await.0, 200);
    app.stop().await;
    assert!(
        reqwest::get(&url).await.is_err(),
        "nothing listens after stop"
    );
}

/// Sends one raw HTTP/1.1 request and returns the response head (lower-cased) and the rest.
async fn raw_get(app: &spin_test_host::RunningApp, path: &str) -> (String, Vec<u8>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(app.addr())
        .await
        .expect("connects");
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("sent");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.expect("read");
    let end = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a response head");
    let head = String::from_utf8_lossy(&response[..end]).to_lowercase();
    (head, response[end + 4..].to_vec())
}

#[tokio::test]
async fn the_guest_body_is_streamed_as_spin_streams_it() {
    // Spin hands the guest's body stream to hyper: without a content-length from the
    // component, HTTP/1.1 sends it chunked (a buffering host would send a content-length).
    let app = fixture_app().start().await.expect("app starts");
    let (head, body) = raw_get(&app, "/probe/variable/greeting").await;
    assert!(head.contains("transfer-encoding: chunked"), "{head}");
    assert!(!head.contains("content-length"), "{head}");
    assert_eq!(body, b"C\r\nhello, world\r\n0\r\n\r\n");
    // A component that sets content-length gets exactly that.
    let (head, body) = raw_get(&app, "/probe/kv-sized/default/nothing").await;
    assert!(head.contains("content-length: 11"), "{head}");
    assert_eq!(body, b"no such key");
}

#[tokio::test]
async fn http2_with_prior_knowledge_is_served_as_by_spin() {
    // Spin serves with hyper-util's auto builder: a client may speak HTTP/2 (h2c) directly.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = fixture_app().start().await.expect("app starts");
    let mut stream = tokio::net::TcpStream::connect(app.addr())
        .await
        .expect("connects");
    let mut hello = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    hello.extend_from_slice(&[0, 0, 0, 4, 0, 0, 0, 0, 0]); // an empty SETTINGS frame
    stream.write_all(&hello).await.expect("sent");
    let mut frame_header = [0u8; 9];
    stream
        .read_exact(&mut frame_header)
        .await
        .expect("the server answers with a frame");
    assert_eq!(frame_header[3], 4, "a SETTINGS frame: {frame_header:?}");
}

#[tokio::test]
async fn no_route_and_failures_answer_with_empty_bodies_like_spin() {
    let app = fixture_app().start().await.expect("app starts");
    let (head, body) = raw_get(&app, "/nowhere").await;
    assert!(head.starts_with("http/1.1 404"), "{head}");
    assert!(body.is_empty(), "{body:?}");
}

#[tokio::test]
async fn spin_answers_its_well_known_paths_itself() {
    // The fixture's /probe/... and /wild/... routes are wildcards, but /.well-known/spin/ is
    // Spin's: health answers OK, anything else there is 404, and no component sees them.
    let app = fixture_app().start().await.expect("app starts");
    assert_eq!(
        get(&app.url("/.well-known/spin/health")).await,
        (200, "OK".into())
    );
    assert_eq!(get(&app.url("/.well-known/spin/other")).await.0, 404);
}
