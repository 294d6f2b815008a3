//! Instance reuse as Spin 4 does it for WASI 0.3 components: one instance serves many
//! requests, is replaced after its reuse count, and reuse can be turned off.

mod common;

use std::time::Duration;

use common::{fixture_app, get};
use spin_test_host::{InstanceReuse, RunningApp};

/// `(instance id, requests that instance has served)` from the probe fixture.
async fn instance(url: &str) -> (String, u64) {
    let (status, body) = get(url).await;
    assert_eq!(status, 200, "{body}");
    let (id, served) = body.split_once(' ').expect("`<id> <served>`");
    (id.to_string(), served.parse().expect("a count"))
}

/// The fixture app with `reuse`, and the URL of the probe's instance report.
async fn start_with(reuse: InstanceReuse) -> (RunningApp, String) {
    let app = fixture_app()
        .instance_reuse(reuse)
        .start()
        .await
        .expect("app starts");
    let url = app.url("/probe/instance");
    (app, url)
}

/// Long enough that no instance idles out between a test's requests, however slow the machine.
const PATIENT: Duration = Duration::from_secs(600);

#[tokio::test]
async fn requests_in_turn_are_served_by_one_instance() {
    let reuse = InstanceReuse {
        idle_timeout: PATIENT,
        ..InstanceReuse::default()
    };
    let (_app, url) = start_with(reuse).await;
    let (first, _) = instance(&url).await;
    for expected in 2..=5 {
        assert_eq!(instance(&url).await, (first.clone(), expected));
    }
}

#[tokio::test]
async fn an_instance_is_replaced_after_its_reuse_count() {
    let reuse = InstanceReuse {
        max_requests: 3,
        idle_timeout: PATIENT,
        ..InstanceReuse::default()
    };
    let (_app, url) = start_with(reuse).await;
    let (first, _) = instance(&url).await;
    assert_eq!(instance(&url).await, (first.clone(), 2));
    assert_eq!(instance(&url).await, (first.clone(), 3));
    let (second, served) = instance(&url).await;
    assert_ne!(second, first, "a fourth request needs a new instance");
    assert_eq!(served, 1, "the new instance starts with no state");
}

#[tokio::test]
async fn without_reuse_every_request_gets_a_fresh_instance() {
    let (_app, url) = start_with(InstanceReuse::never()).await;
    let mut seen = std::collections::HashSet::new();
    for _ in 0..4 {
        let (id, served) = instance(&url).await;
        assert_eq!(served, 1);
        assert!(seen.insert(id), "instance ids repeat");
    }
}
