//! The checkout's writes, each one statement (one transaction, nothing left open on a
//! pooled connection), and the read of a key's stored answer.

use commerce_runtime::rfc3339;

/// Claims `(user, key)`: a new key, or one whose earlier claim expired or was given up with
/// the same body. Returns the order already linked to the key, if any; no row when another
/// request holds the key or has answered it.
pub const CLAIM: &str = "
INSERT INTO idempotency_keys (user_id, key, fingerprint, claimed_until)
VALUES ($1::text::uuid, $2::text, $3::text, (now() AT TIME ZONE 'utc') + $4::bigint * interval '1 second')
ON CONFLICT (user_id, key) DO UPDATE SET claimed_until = EXCLUDED.claimed_until
WHERE idempotency_keys.response_status IS NULL
  AND idempotency_keys.fingerprint = EXCLUDED.fingerprint
  AND (idempotency_keys.claimed_until IS NULL
       OR idempotency_keys.claimed_until < (now() AT TIME ZONE 'utc'))
RETURNING order_id::text AS order_id";

/// [`CLAIM`] and, when the key has no order yet, the order placed in the same statement: the
/// key linked to the new order `$1`, the order (`pending_payment`), its lines (title and
/// price snapshot) and its `order.paid` outbox event. No row when the key is not claimed;
/// else the key's order, with `created_at` only when it is the one placed here (a key that
/// already had an order resumes that one and writes nothing else). The key's link to the
/// order is checked at the end of the statement, when the order exists.
pub const CLAIM_AND_PLACE: &str = concat!(
    "
WITH claimed AS (
    INSERT INTO idempotency_keys (user_id, key, fingerprint, claimed_until, order_id)
    VALUES ($2::text::uuid, $3::text, $4::text,
            (now() AT TIME ZONE 'utc') + $5::bigint * interval '1 second', $1::text::uuid)
    ON CONFLICT (user_id, key) DO UPDATE SET claimed_until = EXCLUDED.claimed_until,
        order_id = coalesce(idempotency_keys.order_id, EXCLUDED.order_id)
    WHERE idempotency_keys.response_status IS NULL
      AND idempotency_keys.fingerprint = EXCLUDED.fingerprint
      AND (idempotency_keys.claimed_until IS NULL
           OR idempotency_keys.claimed_until < (now() AT TIME ZONE 'utc'))
    RETURNING order_id
), new_order AS (
    INSERT INTO orders (id, user_id, status, total_cents, currency)
    SELECT $1::text::uuid, $2::text::uuid, 'pending_payment', $6::bigint, $7::text
    FROM claimed WHERE order_id = $1::text::uuid
    RETURNING id, created_at
), lines AS (
    INSERT INTO order_lines (order_id, course_id, position, title, price_cents, currency)
    SELECT o.id, l.course_id, l.position, l.title, l.price_cents, l.currency
    FROM new_order o CROSS JOIN jsonb_to_recordset($8::text::jsonb)
        AS l(course_id uuid, position integer, title text, price_cents bigint, currency text)
), event AS (
    INSERT INTO outbox (event_id, event_type, order_id, payload)
    SELECT $9::text::uuid, 'order.paid', id, $10::text::jsonb FROM new_order
)
SELECT c.order_id::text AS order_id, ",
    rfc3339!("o.created_at"),
    " AS created_at
FROM claimed c LEFT JOIN new_order o ON true"
);

/// The stored fingerprint and answer of `(user, key)`.
pub const EXISTING: &str = "
SELECT fingerprint, response_status, response_body FROM idempotency_keys
WHERE user_id = $1::text::uuid AND key = $2::text";

/// Records the succeeded charge (one payment row per order), moves the order
/// `pending_payment -> paid`, stores the answer, and stamps the outbox event for the
/// delivery that follows at once: its payment time, the first publication counted and
/// stamped, the next look by the relay `$9` seconds away. A failed delivery is recorded
/// afterwards ([`crate::events::record_failure`]). Returns the event's payload.
pub const MARK_PAID: &str = "
WITH charge AS (
    INSERT INTO payments (order_id, provider_reference, status, amount_cents, currency)
    VALUES ($1::text::uuid, $2::text, 'succeeded', $3::bigint, $4::text)
    ON CONFLICT (order_id) DO NOTHING
), paid AS (
    UPDATE orders SET status = 'paid', updated_at = (now() AT TIME ZONE 'utc')
    WHERE id = $1::text::uuid AND status = 'pending_payment'
    RETURNING id
), event AS (
    UPDATE outbox SET payload = jsonb_set(payload, '{occurred_at}', to_jsonb($5::text)),
        attempts = attempts + 1,
        published_at = (now() AT TIME ZONE 'utc'),
        last_error = NULL,
        next_attempt_at = (now() AT TIME ZONE 'utc') + $9::bigint * interval '1 second'
    WHERE order_id IN (SELECT id FROM paid)
    RETURNING payload::text AS payload
), answer AS (
    UPDATE idempotency_keys SET response_status = 201, response_body = $6::text, claimed_until = NULL
    WHERE user_id = $7::text::uuid AND key = $8::text
)
SELECT payload FROM event";

/// Records the declined charge, moves the order `pending_payment -> payment_failed`, drops
/// its event and stores the answer.
pub const MARK_DECLINED: &str = "
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

/// No order was placed: the key is deleted, so the corrected request can reuse it.
pub const FORGET: &str = "
DELETE FROM idempotency_keys
WHERE user_id = $1::text::uuid AND key = $2::text
  AND order_id IS NULL AND response_status IS NULL";

/// An order exists: the key keeps its link to it and drops the claim.
pub const KEEP_ORDER: &str = "
UPDATE idempotency_keys SET claimed_until = NULL
WHERE user_id = $1::text::uuid AND key = $2::text AND response_status IS NULL";
