//! Redis triggers: each published message reaches the component's `handle-message` export.

mod common;

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use spin_test_host::{App, TestRedis};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// A tiny HTTP server that forwards every request body it receives to a channel.
async fn callback_server() -> (u16, mpsc::UnboundedReceiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let (sender, receiver) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let sender = sender.clone();
            tokio::spawn(async move {
                let service = service_fn(move |request: http::Request<hyper::body::Incoming>| {
                    let sender = sender.clone();
                    async move {
                        let body = request
                            .into_body()
                            .collect()
                            .await
                            .map(|b| b.to_bytes())
                            .unwrap_or_default();
                        // The test may have finished; then nobody needs the message.
                        let _ = sender.send(String::from_utf8_lossy(&body).into_owned());
                        Ok::<_, Infallible>(http::Response::new(Full::new(Bytes::from_static(
                            b"ok",
                        ))))
                    }
                });
                // A failed callback connection shows up as a missing message in the test.
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (port, receiver)
}

async fn publish(redis: &TestRedis, channel: &str, message: &str) {
    let client = redis::Client::open(redis.url()).expect("redis url");
    let mut connection = client
        .get_multiplexed_async_connection()
        .await
        .expect("connect");
    let receivers: i64 = redis::cmd("PUBLISH")
        .arg(channel)
        .arg(message)
        .query_async(&mut connection)
        .await
        .expect("PUBLISH");
    assert_eq!(receivers, 1, "the app is subscribed once start() returns");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn published_messages_reach_the_component() {
    let redis = TestRedis::spawn().await.expect("redis-server starts");
    let (port, mut delivered) = callback_server().await;
    let _app = App::builder("tests/fixtures/trigger-app.toml")
        .variable("redis_url", redis.url())
        .variable("callback_port", port.to_string())
        .start()
        .await
        .expect("app starts");
    publish(&redis, "fixture-events", "first").await;
    publish(&redis, "fixture-events", "second").await;
    let timeout = std::time::Duration::from_secs(30);
    let mut received = Vec::new();
    for _ in 0..2 {
        let message = tokio::time::timeout(timeout, delivered.recv())
            .await
            .expect("delivered in time");
        received.push(message.expect("callback server alive"));
    }
    received.sort();
    assert_eq!(received, vec!["first".to_string(), "second".to_string()]);
}

#[tokio::test]
async fn start_up_fails_when_the_trigger_cannot_subscribe() {
    let redis = TestRedis::spawn().await.expect("redis-server starts");
    let url = redis.url();
    redis.stop().await.expect("redis stops");
    let error = App::builder("tests/fixtures/trigger-app.toml")
        .variable("redis_url", url)
        .variable("callback_port", "9")
        .start()
        .await
        .err()
        .expect("start-up fails");
    assert!(format!("{error:#}").contains("fixture-events"), "{error:#}");
}
