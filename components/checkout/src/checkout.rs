//! `POST /api/checkout`: idempotent, exactly one order and one charge per key.
//!
//! The `(user, Idempotency-Key)` row is the lock. The request whose INSERT wins (or that
//! finds an expired or released claim) runs the checkout; concurrent duplicates wait for
//! the stored answer and replay it. Writes are single statements (CTEs), so no
//! transaction is ever left open on a pooled connection:
//! 1. order + lines + outbox event + key -> order link, in one statement;
//! 2. the provider charge (idempotent per order id), outside any transaction;
//! 3. payment row + `paid` (or `payment_failed`) + event timestamp + stored answer, in one
//!    statement; then the event is delivered, and the relay re-drives it if that fails.

use std::time::{Duration, Instant};

use commerce_core::cart::{CartOwner, StoredCart};
use commerce_core::event::OrderPaid;
use commerce_core::idempotency::{self, Fingerprint, IdempotencyKey};
use commerce_core::payment::{ChargeOutcome, ChargeRequest, normalise_card_number};
use commerce_core::views::{CheckoutRequest, CheckoutResponse, OrderView, problems};
use commerce_core::{Money, OrderStatus};
use commerce_runtime::carts::Carts;
use commerce_runtime::{catalog, rows};
use http::{HeaderValue, StatusCode, header};
use platform::timing::Steps;
use platform::{ApiError, HttpResponse, response};
use spin_sdk::pg::Connection;
use uuid::Uuid;

use crate::config::Config;
use crate::orders::{self, collect};
use crate::{events, provider, relay};

/// How long a claim protects a running checkout from being taken over.
const CLAIM_SECS: i64 = 30;
/// How long a duplicate waits for the first request's answer before answering 409.
const WAIT_FOR_ANSWER: Duration = Duration::from_secs(25);

const CLAIM: &str = "
INSERT INTO idempotency_keys (user_id, key, fingerprint, claimed_until)
VALUES ($1::text::uuid, $2::text, $3::text, (now() AT TIME ZONE 'utc') + $4::bigint * interval '1 second')
ON CONFLICT (user_id, key) DO UPDATE SET claimed_until = EXCLUDED.claimed_until
WHERE idempotency_keys.response_status IS NULL
  AND idempotency_keys.fingerprint = EXCLUDED.fingerprint
  AND (idempotency_keys.claimed_until IS NULL
       OR idempotency_keys.claimed_until < (now() AT TIME ZONE 'utc'))
RETURNING order_id::text AS order_id";

const EXISTING: &str = "
SELECT fingerprint, response_status, response_body FROM idempotency_keys
WHERE user_id = $1::text::uuid AND key = $2::text";

const PLACE_ORDER: &str = "
WITH claimed AS (
    UPDATE idempotency_keys SET order_id = $1::text::uuid
    WHERE user_id = $2::text::uuid AND key = $3::text AND order_id IS NULL
    RETURNING user_id
), new_order AS (
    INSERT INTO orders (id, user_id, status, total_cents, currency)
    SELECT $1::text::uuid, user_id, 'pending_payment', $4::bigint, $5::text FROM claimed
    RETURNING id
), lines AS (
    INSERT INTO order_lines (order_id, course_id, position, title, price_cents, currency)
    SELECT o.id, l.course_id, l.position, l.title, l.price_cents, l.currency
    FROM new_order o CROSS JOIN jsonb_to_recordset($6::text::jsonb)
        AS l(course_id uuid, position integer, title text, price_cents bigint, currency text)
    RETURNING course_id
), event AS (
    INSERT INTO outbox (event_id, event_type, order_id, payload)
    SELECT $7::text::uuid, 'order.paid', id, $8::text::jsonb FROM new_order
    RETURNING event_id
)
SELECT (SELECT count(*) FROM new_order) AS orders, (SELECT count(*) FROM lines) AS lines";

const MARK_PAID: &str = "
WITH charge AS (
    INSERT INTO payments (order_id, provider_reference, status, amount_cents, currency)
    VALUES ($1::text::uuid, $2::text, 'succeeded', $3::bigint, $4::text)
    ON CONFLICT (order_id) DO NOTHING
), paid AS (
    UPDATE orders SET status = 'paid', updated_at = (now() AT TIME ZONE 'utc')
    WHERE id = $1::text::uuid AND status = 'pending_payment'
    RETURNING id
), event AS (
    UPDATE outbox SET payload = jsonb_set(payload, '{occurred_at}', to_jsonb($5::text))
    WHERE order_id IN (SELECT id FROM paid)
    RETURNING payload::text AS payload
), answer AS (
    UPDATE idempotency_keys SET response_status = 201, response_body = $6::text, claimed_until = NULL
    WHERE user_id = $7::text::uuid AND key = $8::text
)
SELECT payload FROM event";

const MARK_DECLINED: &str = "
WITH charge AS (
    INSERT INTO payments (order_id, provider_reference, status, amount_cents, currency)
    VALUES ($1::text::uuid, $2::text, 'declined', $3::bigint, $4::text)
    ON CONFLICT (order_id) DO NOTHING
), failed AS (
    UPDATE orders SET status = 'payment_failed', updated_at = (now() AT TIME ZONE 'utc')
    WHERE id = $1::text::uuid AND status = 'pending_payment'
    RETURNING id
), dropped AS (
    DELETE FROM outbox WHERE order_id IN (SELECT id FROM failed)
), answer AS (
    UPDATE idempotency_keys SET response_status = 402, response_body = $5::text, claimed_until = NULL
    WHERE user_id = $6::text::uuid AND key = $7::text
)
SELECT count(*) AS failed FROM failed";

pub async fn checkout(parts: &http::request::Parts, body: &[u8]) -> Result<HttpResponse, ApiError> {
    let steps = Steps::start();
    let session = runtime::session::require_user(&parts.headers).await?;
    steps.mark("session");
    let key = idempotency::key_from_header(parts.headers.get(idempotency::HEADER))?;
    let json: serde_json::Value =
        platform::request::json_body(&parts.headers, body, platform::request::MAX_JSON_BODY)?;
    let request: CheckoutRequest = serde_json::from_value(json.clone()).map_err(|error| {
        ApiError::bad_request(format!("request body is not a checkout request: {error}"))
    })?;
    let card_number = normalise_card_number(request.card_number.expose())
        .map(platform::Secret::new)
        .ok_or_else(problems::invalid_card)?;
    let attempt = Attempt {
        user_id: session.user_id,
        key,
        fingerprint: idempotency::fingerprint(&json),
        carts: Carts::open(&parts.headers).await?,
        steps,
    };
    let db = runtime::db::connect().await?;
    let config = Config::load().await?;
    attempt.steps.mark("setup");
    // Before this checkout's own event exists, so a fresh event is never re-driven at once.
    relay::opportunistic(&db, &config).await;
    attempt.steps.mark("relay-lease");
    let mut response = match attempt.claim(&db).await? {
        Claim::Answered(answer) => answer.respond(true),
        Claim::Owned { order_id } => attempt
            .run(&db, &config, order_id, card_number)
            .await?
            .respond(false),
    };
    // A paid order emptied the cart: so must the browser's copy, or another region
    // would restore the courses just bought.
    if response.status().is_success()
        && let Some(copy) = attempt.carts.copy_cookie(
            CartOwner::User(session.user_id),
            &StoredCart::default(),
            runtime::session::unix_now()?,
        )
        && let Ok(value) = HeaderValue::from_str(&copy)
    {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    attempt.steps.mark("answer");
    attempt.steps.attach(&mut response);
    Ok(response)
}

/// A finished checkout's answer, stored with the key and replayed byte for byte.
struct Answer {
    status: u16,
    body: String,
}

impl Answer {
    fn respond(self, replayed: bool) -> HttpResponse {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let content_type = if status.is_success() {
            response::JSON
        } else {
            platform::problem::PROBLEM_JSON
        };
        let location = serde_json::from_str::<CheckoutResponse>(&self.body)
            .ok()
            .map(|answer| answer.poll);
        let mut response = response::bytes(status, content_type, self.body);
        let headers = response.headers_mut();
        if let Some(location) = location.and_then(|value| HeaderValue::from_str(&value).ok()) {
            headers.insert(header::LOCATION, location);
        }
        if replayed {
            headers.insert("idempotent-replayed", HeaderValue::from_static("true"));
        }
        response
    }
}

enum Claim {
    /// This request runs the checkout, resuming `order_id` if an earlier attempt placed it.
    Owned {
        order_id: Option<Uuid>,
    },
    Answered(Answer),
}

struct Attempt {
    user_id: Uuid,
    key: IdempotencyKey,
    fingerprint: Fingerprint,
    carts: Carts,
    steps: Steps,
}

impl Attempt {
    async fn claim(&self, db: &Connection) -> Result<Claim, ApiError> {
        let deadline = Instant::now() + WAIT_FOR_ANSWER;
        let mut pause = Duration::from_millis(20);
        loop {
            let claimed = collect(
                db,
                CLAIM,
                &[
                    rows::id(self.user_id),
                    rows::text(self.key.as_str()),
                    rows::text(self.fingerprint.as_str()),
                    CLAIM_SECS.into(),
                ],
            )
            .await?;
            if let Some(row) = claimed.first() {
                let order_id = row
                    .get::<String>("order_id")
                    .map(|id| Uuid::parse_str(&id).map_err(ApiError::internal))
                    .transpose()?;
                self.steps.mark("claim");
                return Ok(Claim::Owned { order_id });
            }
            let existing = collect(
                db,
                EXISTING,
                &[rows::id(self.user_id), rows::text(self.key.as_str())],
            )
            .await?;
            if let Some(row) = existing.first() {
                let fingerprint = Fingerprint::stored(runtime::db::column(row, "fingerprint")?);
                if fingerprint != self.fingerprint {
                    return Err(problems::idempotency_key_reused());
                }
                if let (Some(status), Some(body)) = (
                    row.get::<i32>("response_status"),
                    row.get::<String>("response_body"),
                ) {
                    let status = u16::try_from(status).map_err(ApiError::internal)?;
                    self.steps.mark("claim");
                    return Ok(Claim::Answered(Answer { status, body }));
                }
            }
            if Instant::now() >= deadline {
                return Err(problems::checkout_in_progress());
            }
            spin_sdk::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(250));
        }
    }

    async fn run(
        &self,
        db: &Connection,
        config: &Config,
        order_id: Option<Uuid>,
        card_number: platform::Secret,
    ) -> Result<Answer, ApiError> {
        let order_id = match order_id {
            Some(order_id) => order_id,
            None => match self.place_order(db).await {
                Ok(order_id) => order_id,
                Err(error) => {
                    // Nothing was written: free the key so the fixed request can reuse it.
                    self.release(db, Release::Forget).await;
                    return Err(error);
                }
            },
        };
        let result = self.settle(db, config, order_id, card_number).await;
        if result.is_err() {
            // The order stays pending; a retry with the same key resumes it.
            self.release(db, Release::KeepOrder).await;
        }
        result
    }

    /// Re-prices the user's cart from the catalog and writes order, lines, outbox event
    /// and the key's link to the order in one statement.
    async fn place_order(&self, db: &Connection) -> Result<Uuid, ApiError> {
        let now = runtime::session::unix_now()?;
        let cart = self.carts.load(CartOwner::User(self.user_id), now).await?;
        self.steps.mark("cart-read");
        if cart.is_empty() {
            return Err(problems::cart_empty());
        }
        let courses = catalog::courses(db, &cart.course_ids).await?;
        if let Some(owned) = catalog::owned(db, self.user_id, &cart.course_ids)
            .await?
            .first()
        {
            return Err(problems::course_already_owned(*owned));
        }
        self.steps.mark("pricing");
        let mut lines = Vec::with_capacity(cart.course_ids.len());
        for (position, course_id) in cart.course_ids.iter().enumerate() {
            let course = courses
                .iter()
                .find(|course| course.id == *course_id && course.published)
                .ok_or_else(|| problems::course_unavailable(*course_id))?;
            lines.push((position, course));
        }
        let total = Money::sum(lines.iter().map(|(_, course)| &course.price))
            .map_err(|_| problems::mixed_currencies())?;
        let lines_json: Vec<serde_json::Value> = lines
            .iter()
            .map(|(position, course)| {
                serde_json::json!({
                    "course_id": course.id,
                    "position": position,
                    "title": course.title,
                    "price_cents": course.price.amount_cents,
                    "currency": course.price.currency,
                })
            })
            .collect();
        let order_id = Uuid::now_v7();
        let event = OrderPaid::new(
            Uuid::now_v7(),
            order_id,
            self.user_id,
            cart.course_ids.clone(),
            chrono::Utc::now(),
        );
        let written = collect(
            db,
            PLACE_ORDER,
            &[
                rows::id(order_id),
                rows::id(self.user_id),
                rows::text(self.key.as_str()),
                total.amount_cents.into(),
                rows::text(&total.currency),
                rows::text(serde_json::Value::from(lines_json).to_string()),
                rows::id(event.event_id),
                rows::text(event.to_json()),
            ],
        )
        .await?;
        self.steps.mark("order");
        let orders: i64 = written
            .first()
            .map_or(Ok(0), |row| runtime::db::column(row, "orders"))?;
        if orders != 1 {
            // Another request took the key over meanwhile; it owns the checkout now.
            return Err(problems::checkout_in_progress());
        }
        Ok(order_id)
    }

    /// Charges a pending order and records the outcome; a settled order (a resumed
    /// attempt that had got that far) is answered as it stands.
    async fn settle(
        &self,
        db: &Connection,
        config: &Config,
        order_id: Uuid,
        card_number: platform::Secret,
    ) -> Result<Answer, ApiError> {
        let order = orders::get(db, self.user_id, order_id).await?;
        self.steps.mark("order-read");
        match order.status {
            OrderStatus::PendingPayment => {}
            OrderStatus::Paid | OrderStatus::Enrolled => return success(order),
            OrderStatus::PaymentFailed | OrderStatus::Cancelled => return declined(order.id),
        }
        let charge = ChargeRequest::for_order(order_id, &order.total, card_number)?;
        let outcome = provider::charge(&charge).await.map_err(|error| {
            eprintln!("order {order_id}: {error}");
            ApiError::from(error)
        })?;
        self.steps.mark("charge");
        match outcome {
            ChargeOutcome::Succeeded { reference } => self.paid(db, config, order, reference).await,
            ChargeOutcome::Declined { reference, .. } => self.declined(db, order, reference).await,
        }
    }

    async fn paid(
        &self,
        db: &Connection,
        config: &Config,
        mut order: OrderView,
        reference: String,
    ) -> Result<Answer, ApiError> {
        order.status = OrderStatus::Paid;
        let answer = success(order.clone())?;
        let occurred_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let written = collect(
            db,
            MARK_PAID,
            &[
                rows::id(order.id),
                rows::text(reference),
                order.total.amount_cents.into(),
                rows::text(&order.total.currency),
                rows::text(occurred_at),
                rows::text(&answer.body),
                rows::id(self.user_id),
                rows::text(self.key.as_str()),
            ],
        )
        .await?;
        self.steps.mark("payment");
        if let Some(row) = written.first() {
            let payload: String = runtime::db::column(row, "payload")?;
            let event = OrderPaid::parse(payload.as_bytes()).map_err(ApiError::internal)?;
            let redis = match config.enrollment_mode {
                commerce_core::relay::EnrollmentMode::Redis => {
                    events::connect(&config.redis_url).await
                }
                commerce_core::relay::EnrollmentMode::Direct => None,
            };
            let delivery =
                events::deliver(db, config.enrollment_mode, redis.as_ref(), &event).await;
            self.steps.mark("publish");
            if let Err(error) = &delivery {
                eprintln!("order {}: event left for the relay: {error}", order.id);
            }
            events::record_attempt(db, &event, &delivery, config.relay.delay_after(1)).await?;
            self.steps.mark("outbox");
        }
        self.carts.clear(CartOwner::User(self.user_id)).await?;
        self.steps.mark("cart-clear");
        Ok(answer)
    }

    async fn declined(
        &self,
        db: &Connection,
        order: OrderView,
        reference: String,
    ) -> Result<Answer, ApiError> {
        let answer = declined(order.id)?;
        collect(
            db,
            MARK_DECLINED,
            &[
                rows::id(order.id),
                rows::text(reference),
                order.total.amount_cents.into(),
                rows::text(&order.total.currency),
                rows::text(&answer.body),
                rows::id(self.user_id),
                rows::text(self.key.as_str()),
            ],
        )
        .await?;
        Ok(answer)
    }

    async fn release(&self, db: &Connection, release: Release) {
        let sql = match release {
            Release::Forget => {
                "DELETE FROM idempotency_keys
                 WHERE user_id = $1::text::uuid AND key = $2::text
                   AND order_id IS NULL AND response_status IS NULL"
            }
            Release::KeepOrder => {
                "UPDATE idempotency_keys SET claimed_until = NULL
                 WHERE user_id = $1::text::uuid AND key = $2::text AND response_status IS NULL"
            }
        };
        if let Err(error) = db
            .execute(
                sql,
                &[rows::id(self.user_id), rows::text(self.key.as_str())],
            )
            .await
        {
            eprintln!("could not release idempotency key: {error}");
        }
    }
}

enum Release {
    /// No order was placed: delete the key.
    Forget,
    /// An order exists: keep the link, drop the claim.
    KeepOrder,
}

fn success(order: OrderView) -> Result<Answer, ApiError> {
    let body = serde_json::to_string(&CheckoutResponse::new(order)).map_err(ApiError::internal)?;
    Ok(Answer { status: 201, body })
}

fn declined(order_id: Uuid) -> Result<Answer, ApiError> {
    let error = problems::payment_declined(order_id);
    let status = error.status().as_u16();
    let body = platform::response::body_bytes(error.into_response());
    let body = String::from_utf8(body.to_vec()).map_err(ApiError::internal)?;
    Ok(Answer { status, body })
}
