//! One simulated student: signs up, signs in, then follows the mix until its location's
//! request budget or the run's time is spent, through its own [`Browser`].

use std::collections::HashSet;
use std::sync::Arc;

use reqwest::Method;
use serde_json::{Value, json};
use tokio::time::Instant;
use uuid::Uuid;

use super::browser::Browser;
use super::mix::{Action, Kind, next_action};
use super::{LocationRun, Shared};
use crate::rng::Rng;

/// The test card that pays.
const SUCCESS_CARD: &str = "4242424242424242";
const PASSWORD: &str = "wan simulation password";
/// Courses a student keeps in its cart at most before checking out.
const CART_LIMIT: usize = 3;
/// A failed checkout is retried with the same Idempotency-Key, as the browser UI does.
const CHECKOUT_ATTEMPTS_WHEN_TOLERATING: usize = 5;

pub struct Student {
    browser: Browser,
    location: Arc<LocationRun>,
    shared: Arc<Shared>,
    email: String,
    rng: Rng,
    cart: Vec<String>,
    bought: HashSet<String>,
}

impl Student {
    pub fn new(
        http: reqwest::Client,
        location: Arc<LocationRun>,
        shared: Arc<Shared>,
        seed: u64,
    ) -> Student {
        Student {
            browser: Browser::new(http, location.clone(), shared.clone()),
            location,
            shared,
            email: format!("wan-{}@example.com", Uuid::now_v7().simple()),
            rng: Rng::seeded(seed),
            cart: Vec::new(),
            bought: HashSet::new(),
        }
    }

    pub async fn run(mut self) {
        let registration =
            json!({"email": self.email, "password": PASSWORD, "name": "WAN student"});
        if self
            .browser
            .send(
                Kind::SignUp,
                Method::POST,
                "/api/accounts",
                Some(&registration),
                None,
                201,
            )
            .await
            .is_none()
        {
            return;
        }
        self.sign_in().await;
        while self.may_continue() {
            match next_action(&mut self.rng, self.shared.checkout_weight) {
                Action::Browse => {
                    let path = format!("/api/courses?page={}&page_size=20", 1 + self.rng.below(5));
                    self.browser
                        .send(Kind::Browse, Method::GET, &path, None, None, 200)
                        .await;
                }
                Action::Search => {
                    let word = self
                        .rng
                        .pick(&self.shared.catalog.words)
                        .cloned()
                        .unwrap_or_default();
                    let path = format!("/api/courses?q={word}");
                    self.browser
                        .send(Kind::Search, Method::GET, &path, None, None, 200)
                        .await;
                }
                Action::CoursePage => {
                    let slug = self
                        .rng
                        .pick(&self.shared.catalog.slugs)
                        .cloned()
                        .unwrap_or_default();
                    let path = format!("/api/courses/{slug}");
                    self.browser
                        .send(Kind::CoursePage, Method::GET, &path, None, None, 200)
                        .await;
                }
                Action::MyCourses => {
                    self.browser
                        .send(
                            Kind::MyCourses,
                            Method::GET,
                            "/api/me/enrollments",
                            None,
                            None,
                            200,
                        )
                        .await;
                }
                Action::Cart => {
                    if self.cart.len() < CART_LIMIT {
                        self.add_to_cart().await;
                    }
                    self.browser
                        .send(Kind::CartView, Method::GET, "/api/cart", None, None, 200)
                        .await;
                }
                Action::SignIn => self.sign_in().await,
                Action::Checkout => self.checkout().await,
            }
        }
    }

    fn may_continue(&self) -> bool {
        Instant::now() < self.shared.deadline && self.location.budget_left()
    }

    async fn sign_in(&mut self) {
        let credentials = json!({"email": self.email, "password": PASSWORD});
        self.browser
            .send(
                Kind::SignIn,
                Method::POST,
                "/api/session",
                Some(&credentials),
                None,
                200,
            )
            .await;
    }

    async fn add_to_cart(&mut self) -> bool {
        let Some(course) = self.course_not_owned() else {
            return false;
        };
        let path = format!("/api/cart/items/{course}");
        let added = self
            .browser
            .send(Kind::CartAdd, Method::PUT, &path, None, None, 200)
            .await
            .is_some();
        if added {
            self.cart.push(course);
        }
        added
    }

    fn course_not_owned(&mut self) -> Option<String> {
        (0..8)
            .filter_map(|_| self.rng.pick(&self.shared.catalog.ids).cloned())
            .find(|id| !self.bought.contains(id) && !self.cart.contains(id))
    }

    async fn checkout(&mut self) {
        if self.cart.is_empty() && !self.add_to_cart().await {
            return;
        }
        let key = Uuid::now_v7().to_string();
        let payment = json!({"card_number": SUCCESS_CARD});
        let attempts = if self.shared.tolerate_errors {
            CHECKOUT_ATTEMPTS_WHEN_TOLERATING
        } else {
            1
        };
        for _ in 0..attempts {
            let answer = self
                .browser
                .send(
                    Kind::Checkout,
                    Method::POST,
                    "/api/checkout",
                    Some(&payment),
                    Some(&key),
                    201,
                )
                .await;
            if let Some(answer) = answer {
                let order = serde_json::from_str::<Value>(&answer.body)
                    .ok()
                    .and_then(|body| body["order"]["id"].as_str().map(str::to_owned));
                let Some(order) = order else {
                    self.shared.recorder.error(format!(
                        "checkout: 201 without an order id: {}",
                        answer.body
                    ));
                    return;
                };
                self.shared.recorder.order_confirmed(&order);
                self.bought.extend(self.cart.drain(..));
                // Read-your-writes: the order just written must read back at once.
                self.browser
                    .send(
                        Kind::OrderRead,
                        Method::GET,
                        &format!("/api/orders/{order}"),
                        None,
                        None,
                        200,
                    )
                    .await;
                return;
            }
            if Instant::now() >= self.shared.deadline {
                break;
            }
        }
        self.shared.recorder.checkout_abandoned(&key);
        // Whether it was paid is unknown here: the audit tells; start a fresh cart.
        self.cart.clear();
    }
}
