//! Cart, checkout, orders and enrollment endpoints; polling for asynchronous enrollment;
//! publishing raw messages on the app's Redis.

use std::fmt::Display;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use commerce_core::OrderStatus;
use commerce_core::views::{
    CartView, CheckoutResponse, DeadLetterView, EnrollmentView, Items, OrderView, RelayReport,
};
use reqwest::{Method, StatusCode};
use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use uuid::Uuid;

use crate::app::TestApp;
use crate::fixtures;
use crate::http::{Call, Client};

/// Cards of the `payments-test` provider.
pub const SUCCESS_CARD: &str = "4242424242424242";
pub const DECLINED_CARD: &str = "4000000000000002";
pub const PROVIDER_ERROR_CARD: &str = "4000000000000119";
/// Longest wait for asynchronous enrollment before a test fails.
const ENROLLMENT_DEADLINE: Duration = Duration::from_secs(20);

impl Client {
    /// `GET /api/cart`.
    pub fn cart(&self) -> Call<CartView> {
        self.call(Method::GET, "/api/cart", StatusCode::OK)
    }

    /// `PUT /api/cart/items/{course_id}`.
    pub fn add_to_cart(&self, course_id: impl Display) -> Call<CartView> {
        let path = format!("/api/cart/items/{course_id}");
        self.call(Method::PUT, &path, StatusCode::OK)
    }

    /// `DELETE /api/cart/items/{course_id}`.
    pub fn remove_from_cart(&self, course_id: impl Display) -> Call<CartView> {
        let path = format!("/api/cart/items/{course_id}");
        self.call(Method::DELETE, &path, StatusCode::OK)
    }

    /// `DELETE /api/cart`.
    pub fn clear_cart(&self) -> Call<()> {
        self.call(Method::DELETE, "/api/cart", StatusCode::NO_CONTENT)
    }

    /// `POST /api/checkout` with an `Idempotency-Key`.
    pub fn checkout(&self, key: &str, card: &str) -> Call<CheckoutResponse> {
        self.call(Method::POST, "/api/checkout", StatusCode::CREATED)
            .header("idempotency-key", key)
            .json(&json!({ "card_number": card }))
    }

    /// `GET /api/orders/{id}`.
    pub fn order(&self, id: impl Display) -> Call<OrderView> {
        self.call(Method::GET, &format!("/api/orders/{id}"), StatusCode::OK)
    }

    /// `GET /api/orders`.
    pub fn orders(&self) -> Call<Items<OrderView>> {
        self.call(Method::GET, "/api/orders", StatusCode::OK)
    }

    /// `GET /api/me/enrollments`.
    pub fn enrollments(&self) -> Call<Items<EnrollmentView>> {
        self.call(Method::GET, "/api/me/enrollments", StatusCode::OK)
    }

    /// `POST /api/admin/outbox/relay` (admins): one run of the relay, as a cron would.
    pub fn relay(&self) -> Call<RelayReport> {
        self.call(Method::POST, "/api/admin/outbox/relay", StatusCode::OK)
    }

    /// `GET /api/admin/dead-letters` (admins).
    pub fn dead_letters(&self) -> Call<Items<DeadLetterView>> {
        self.call(Method::GET, "/api/admin/dead-letters", StatusCode::OK)
    }

    /// Adds the fixture courses `slugs` to the cart and checks out with a new key.
    pub async fn buy(&self, slugs: &[&str]) -> Result<CheckoutResponse> {
        for slug in slugs {
            self.add_to_cart(fixtures::course(slug).id).await?;
        }
        self.checkout(&Uuid::now_v7().to_string(), SUCCESS_CARD)
            .await
    }

    /// Polls the order until it is `enrolled`, failing after a deadline. `between_polls`
    /// runs before each poll (e.g. an admin relay run, as a cron would).
    pub async fn wait_until_enrolled<F, Fut>(
        &self,
        order_id: Uuid,
        mut between_polls: F,
    ) -> Result<OrderView>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<()>>,
    {
        let deadline = Instant::now() + ENROLLMENT_DEADLINE;
        let mut pause = Duration::from_millis(10);
        loop {
            between_polls().await?;
            let order = self.order(order_id).await?;
            if order.status == OrderStatus::Enrolled {
                return Ok(order);
            }
            if Instant::now() > deadline {
                bail!("order {order_id} not enrolled in time: {order:?}");
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(200));
        }
    }
}

impl TestApp {
    /// Publishes raw bytes on a channel of the app's Redis (RESP over TCP: no client crate).
    pub async fn publish(&self, channel: &str, payload: &[u8]) -> Result<i64> {
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", self.redis.port())).await?;
        let mut command = format!(
            "*3\r\n$7\r\nPUBLISH\r\n${}\r\n{channel}\r\n${}\r\n",
            channel.len(),
            payload.len()
        )
        .into_bytes();
        command.extend_from_slice(payload);
        command.extend_from_slice(b"\r\n");
        stream.write_all(&command).await?;
        let mut line = String::new();
        BufReader::new(stream).read_line(&mut line).await?;
        line.trim()
            .strip_prefix(':')
            .and_then(|n| n.parse().ok())
            .with_context(|| format!("unexpected PUBLISH answer {line:?}"))
    }
}
