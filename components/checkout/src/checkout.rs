//! `POST /api/checkout`: idempotent, exactly one order and one charge per key.
//!
//! The `(user, Idempotency-Key)` row is the lock. The request whose INSERT wins (or that
//! finds an expired or released claim) runs the checkout; concurrent duplicates wait for
//! the stored answer and replay it. Writes are single statements (CTEs), so no
//! transaction is ever left open on a pooled connection:
//! 1. the cart is re-priced (one read), then the key is claimed and order, lines and outbox
//!    event are written, in one statement;
//! 2. the provider charge (idempotent per order id), outside any transaction;
//! 3. payment row + `paid` (or `payment_failed`) + outbox bookkeeping + stored answer, in
//!    one statement; then the event is delivered, and the relay re-drives it if that fails.
//!
//! The steps' durations go to the client in `server-timing` (see `platform::timing`).

use commerce_core::OrderStatus;
use commerce_core::cart::{CartOwner, StoredCart};
use commerce_core::event::OrderPaid;
use commerce_core::idempotency::{self, Fingerprint, IdempotencyKey};
use commerce_core::payment::{ChargeOutcome, ChargeRequest, normalise_card_number};
use commerce_core::relay::EnrollmentMode;
use commerce_core::views::{CheckoutRequest, OrderView, problems};
use commerce_runtime::carts::Carts;
use commerce_runtime::rows;
use http::{HeaderValue, header};
use platform::log::{Event, Fields, Logger};
use platform::timing::Steps;
use platform::{ApiError, HttpResponse};
use spin_sdk::pg::Connection;
use spin_sdk::redis;
use uuid::Uuid;

use crate::answer::{Answer, declined, success};
use crate::claim::{Claim, Owned};
use crate::config::Config;
use crate::orders::{self, collect};
use crate::pricing::{self, PricedCart};
use crate::statements::{FORGET, KEEP_ORDER, MARK_DECLINED, MARK_PAID};
use crate::{events, provider, relay};

pub async fn checkout(
    logger: &Logger,
    parts: &http::request::Parts,
    body: &[u8],
) -> Result<HttpResponse, ApiError> {
    let steps = Steps::start();
    // The session, the stores and the variables are independent reads: made at once.
    let (session, carts, db, config) = futures::join!(
        runtime::session::require_user(&parts.headers),
        Carts::open(&parts.headers),
        runtime::db::connect(),
        Config::load(),
    );
    let session = session?;
    steps.mark("setup");
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
        carts: carts?,
        steps,
        logger: logger.clone(),
    };
    let (db, config) = (db?, config?);
    // The publication goes to the shared Redis, the relay's lease to the region's own;
    // where they are one Redis (a single region), one connection serves both. Opened and
    // leased while the cart is priced.
    let redis_and_lease = async {
        if config.regional_redis_url == config.redis_url {
            let redis = events::connect(logger, &config.redis_url).await;
            let leased = relay::lease(logger, &config, redis.as_ref()).await;
            return (redis, leased);
        }
        let regional_lease = async {
            let regional = events::connect(logger, &config.regional_redis_url).await;
            relay::lease(logger, &config, regional.as_ref()).await
        };
        futures::join!(events::connect(logger, &config.redis_url), regional_lease)
    };
    let ((redis, leased), priced) = futures::join!(redis_and_lease, attempt.priced_cart(&db));
    if leased {
        // Before this checkout's order is paid, so its fresh event is never re-driven at once.
        relay::opportunistic(logger, &db, &config, redis.as_ref()).await;
    }
    attempt.steps.mark("relay");
    let mut response = match attempt.claim(&db, priced.as_ref().ok()).await? {
        Claim::Answered(answer) => answer.respond(true),
        Claim::Owned(owned) => {
            let context = Context {
                db: &db,
                config: &config,
                redis: redis.as_ref(),
            };
            attempt
                .run(&context, owned, priced, card_number)
                .await?
                .respond(false)
        }
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

/// What settling an order needs besides the attempt itself.
struct Context<'a> {
    db: &'a Connection,
    config: &'a Config,
    redis: Option<&'a redis::Connection>,
}

/// One checkout request, from its session and key to its answer.
pub(crate) struct Attempt {
    pub(crate) user_id: Uuid,
    pub(crate) key: IdempotencyKey,
    pub(crate) fingerprint: Fingerprint,
    pub(crate) carts: Carts,
    pub(crate) steps: Steps,
    pub(crate) logger: Logger,
}

impl Attempt {
    /// The user's cart at current prices, or why it cannot be ordered. Read before the key
    /// is claimed, so that the claim and the order are one statement; a problem here only
    /// matters if this request gets the key (a replay answers as stored).
    async fn priced_cart(&self, db: &Connection) -> Result<PricedCart, ApiError> {
        let now = runtime::session::unix_now()?;
        let cart = self.carts.load(CartOwner::User(self.user_id), now).await;
        self.steps.mark("cart-read");
        let priced = pricing::price(db, self.user_id, &cart?).await;
        self.steps.mark("pricing");
        priced
    }

    async fn run(
        &self,
        context: &Context<'_>,
        owned: Owned,
        priced: Result<PricedCart, ApiError>,
        card_number: platform::Secret,
    ) -> Result<Answer, ApiError> {
        let db = context.db;
        let result = match owned {
            Owned::Placed(order) => self.charge(context, order, card_number).await,
            Owned::Earlier(order_id) => self.resume(context, order_id, card_number).await,
            Owned::Nothing => {
                // Nothing was written: free the key so the fixed request can reuse it.
                self.release(db, FORGET).await;
                return Err(priced.err().unwrap_or_else(|| {
                    ApiError::internal("claimed a key without an order for a priced cart")
                }));
            }
        };
        if result.is_err() {
            // The order stays pending; a retry with the same key resumes it.
            self.release(db, KEEP_ORDER).await;
        }
        result
    }

    /// An order an earlier attempt placed: charged if still pending, else answered as it
    /// stands.
    async fn resume(
        &self,
        context: &Context<'_>,
        order_id: Uuid,
        card_number: platform::Secret,
    ) -> Result<Answer, ApiError> {
        let order = orders::get(context.db, self.user_id, order_id).await?;
        self.steps.mark("order-read");
        match order.status {
            OrderStatus::PendingPayment => self.charge(context, order, card_number).await,
            OrderStatus::Paid | OrderStatus::Enrolled => success(order),
            OrderStatus::PaymentFailed | OrderStatus::Cancelled => declined(order.id),
        }
    }

    /// Charges a pending order and records the outcome.
    async fn charge(
        &self,
        context: &Context<'_>,
        order: OrderView,
        card_number: platform::Secret,
    ) -> Result<Answer, ApiError> {
        let charge = ChargeRequest::for_order(order.id, &order.total, card_number)?;
        let outcome = provider::charge(&charge).await.map_err(|error| {
            let fields = Fields::new().text("order_id", order.id).error(&error);
            self.logger.log(Event::PaymentFailed, fields);
            ApiError::from(error)
        })?;
        self.steps.mark("charge");
        match outcome {
            ChargeOutcome::Succeeded { reference } => self.paid(context, order, reference).await,
            ChargeOutcome::Declined { reference, .. } => {
                self.declined(context.db, order, reference).await
            }
        }
    }

    async fn paid(
        &self,
        context: &Context<'_>,
        mut order: OrderView,
        reference: String,
    ) -> Result<Answer, ApiError> {
        let (db, config) = (context.db, context.config);
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
                config.relay.delay_after(1).into(),
            ],
        )
        .await?;
        self.steps.mark("payment");
        if let Some(row) = written.first() {
            let payload: String = runtime::db::column(row, "payload")?;
            let event = OrderPaid::parse(payload.as_bytes()).map_err(ApiError::internal)?;
            let redis = match config.enrollment_mode {
                EnrollmentMode::Redis => context.redis,
                EnrollmentMode::Direct => None,
            };
            let delivery = events::deliver(db, config.enrollment_mode, redis, &event).await;
            self.steps.mark("publish");
            if let Err(error) = &delivery {
                let fields = Fields::new().text("event_id", event.event_id).error(error);
                self.logger.log(Event::DeliveryDeferred, fields);
                events::record_failure(db, &event, error).await?;
            }
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

    /// Gives the key up with [`FORGET`] or [`KEEP_ORDER`]; a failure is only logged (the
    /// claim then expires).
    async fn release(&self, db: &Connection, statement: &str) {
        if let Err(error) = db
            .execute(
                statement,
                &[rows::id(self.user_id), rows::text(self.key.as_str())],
            )
            .await
        {
            let cause = format_args!("idempotency key not released: {error}");
            self.logger.error(Event::Degraded, cause);
        }
    }
}
