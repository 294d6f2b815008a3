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
