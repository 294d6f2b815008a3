//! Claiming a checkout's idempotency key, and placing its order in the same statement.

use std::time::{Duration, Instant};

use commerce_core::event::OrderPaid;
use commerce_core::idempotency::Fingerprint;
use commerce_core::views::{OrderView, problems};
use commerce_runtime::rows;
use platform::ApiError;
use spin_sdk::pg::Connection;
use uuid::Uuid;

use crate::answer::Answer;
use crate::checkout::Attempt;
use crate::orders::collect;
use crate::pricing::PricedCart;
use crate::statements::{CLAIM, CLAIM_AND_PLACE, EXISTING};

/// How long a claim protects a running checkout from being taken over.
const CLAIM_SECS: i64 = 30;
/// How long a duplicate waits for the first request's answer before answering 409.
const WAIT_FOR_ANSWER: Duration = Duration::from_secs(25);

pub(crate) enum Claim {
    /// This request holds the key and runs the checkout.
    Owned(Owned),
    Answered(Answer),
}

/// What the key held by this request stands for.
pub(crate) enum Owned {
    /// The order this request placed with the claim.
    Placed(OrderView),
    /// An order an earlier attempt with this key placed: resumed.
    Earlier(Uuid),
    /// Nothing: the cart could not be ordered.
    Nothing,
}

impl Attempt {
    /// Claims the key, placing the order from `priced` in the same statement if the key has
    /// none; or waits (bounded) for the answer of the request that holds the key.
    pub(crate) async fn claim(
        &self,
        db: &Connection,
        priced: Option<&PricedCart>,
    ) -> Result<Claim, ApiError> {
        let deadline = Instant::now() + WAIT_FOR_ANSWER;
        let mut pause = Duration::from_millis(20);
        loop {
            let owned = match priced {
                Some(priced) => self.claim_and_place(db, priced).await?,
                None => self.claim_only(db).await?,
            };
            self.steps.mark("claim-order");
            if let Some(owned) = owned {
                return Ok(Claim::Owned(owned));
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

    async fn claim_and_place(
        &self,
        db: &Connection,
        priced: &PricedCart,
    ) -> Result<Option<Owned>, ApiError> {
        let order_id = Uuid::now_v7();
        let event = OrderPaid::new(
            Uuid::now_v7(),
            order_id,
            self.user_id,
            priced.course_ids.clone(),
            chrono::Utc::now(),
        );
        let written = collect(
            db,
            CLAIM_AND_PLACE,
            &[
                rows::id(order_id),
                rows::id(self.user_id),
                rows::text(self.key.as_str()),
                rows::text(self.fingerprint.as_str()),
                CLAIM_SECS.into(),
                priced.total.amount_cents.into(),
                rows::text(&priced.total.currency),
                rows::text(priced.lines_json()),
                rows::id(event.event_id),
                rows::text(event.to_json()),
            ],
        )
        .await?;
        let Some(row) = written.first() else {
            return Ok(None);
        };
        let linked = rows::uuid(row, "order_id")?;
        Ok(Some(match row.get::<String>("created_at") {
            Some(created_at) if linked == order_id => {
                Owned::Placed(priced.order(order_id, created_at))
            }
            _ => Owned::Earlier(linked),
        }))
    }

    async fn claim_only(&self, db: &Connection) -> Result<Option<Owned>, ApiError> {
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
        let Some(row) = claimed.first() else {
            return Ok(None);
        };
        Ok(Some(match row.get::<String>("order_id") {
            Some(id) => Owned::Earlier(Uuid::parse_str(&id).map_err(ApiError::internal)?),
            None => Owned::Nothing,
        }))
    }
}
