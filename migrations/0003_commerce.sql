-- Commerce: orders, payments, idempotent checkout, the transactional outbox and enrollments.
--
-- Timestamps are `timestamp` holding UTC (Spin's PostgreSQL interface cannot bind or read
-- `timestamptz`). Status changes are guarded by the CHECK below and by writing every
-- transition as `UPDATE orders ... WHERE status = <from>`.

CREATE TABLE orders (
    id           uuid PRIMARY KEY,
    user_id      uuid NOT NULL REFERENCES users (id),
    status       text NOT NULL
                 CHECK (status IN ('pending_payment', 'paid', 'enrolled', 'payment_failed', 'cancelled')),
    total_cents  bigint NOT NULL CHECK (total_cents >= 0),
    currency     text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    created_at   timestamp NOT NULL DEFAULT (now() AT TIME ZONE 'utc'),
    updated_at   timestamp NOT NULL DEFAULT (now() AT TIME ZONE 'utc')
);

CREATE INDEX orders_user_idx ON orders (user_id, created_at DESC, id DESC);

-- Lines keep the title and price paid, whatever the catalog says later.
CREATE TABLE order_lines (
    order_id    uuid NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    course_id   uuid NOT NULL REFERENCES courses (id),
    position    integer NOT NULL,
    title       text NOT NULL,
    price_cents bigint NOT NULL CHECK (price_cents >= 0),
    currency    text NOT NULL,
    PRIMARY KEY (order_id, course_id)
);

-- One row per (user, Idempotency-Key). The primary key is the lock that serialises
-- concurrent duplicates: the request whose INSERT succeeds (or whose lease expired) runs
-- the checkout, the others wait for `response_body` and replay it.
CREATE TABLE idempotency_keys (
    user_id         uuid NOT NULL REFERENCES users (id),
    key             text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    -- SHA-256 of the canonical request body; never the body itself (it holds a card number).
    fingerprint     text NOT NULL,
    order_id        uuid REFERENCES orders (id),
    -- Set while a request works on this key; NULL once it finished or gave the key up.
    claimed_until   timestamp,
    response_status integer,
    response_body   text,
    created_at      timestamp NOT NULL DEFAULT (now() AT TIME ZONE 'utc'),
    PRIMARY KEY (user_id, key)
);

-- At most one charge per order, whatever the retries.
CREATE TABLE payments (
    order_id           uuid PRIMARY KEY REFERENCES orders (id),
    provider_reference text NOT NULL,
    status             text NOT NULL CHECK (status IN ('succeeded', 'declined')),
    amount_cents       bigint NOT NULL,
    currency           text NOT NULL,
    created_at         timestamp NOT NULL DEFAULT (now() AT TIME ZONE 'utc')
);

-- Transactional outbox: written with the order, published after payment, re-driven by the
-- relay until the worker has recorded the event in processed_events.
CREATE TABLE outbox (
    event_id         uuid PRIMARY KEY,
    event_type       text NOT NULL,
    order_id         uuid NOT NULL UNIQUE REFERENCES orders (id),
    payload          jsonb NOT NULL,
    created_at       timestamp NOT NULL DEFAULT (now() AT TIME ZONE 'utc'),
    published_at     timestamp,
    -- Publications so far (checkout's own counts as the first).
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamp NOT NULL DEFAULT (now() AT TIME ZONE 'utc'),
    last_error       text,
    dead_lettered_at timestamp
);

CREATE INDEX outbox_due_idx ON outbox (next_attempt_at) WHERE dead_lettered_at IS NULL;

-- Events already applied: the worker's deduplication, and what the relay checks.
CREATE TABLE processed_events (
    event_id     uuid PRIMARY KEY,
    order_id     uuid NOT NULL REFERENCES orders (id),
    processed_at timestamp NOT NULL DEFAULT (now() AT TIME ZONE 'utc')
);

CREATE TABLE enrollments (
    user_id     uuid NOT NULL REFERENCES users (id),
    course_id   uuid NOT NULL REFERENCES courses (id),
    order_id    uuid NOT NULL REFERENCES orders (id),
    enrolled_at timestamp NOT NULL DEFAULT (now() AT TIME ZONE 'utc'),
    PRIMARY KEY (user_id, course_id)
);

CREATE INDEX enrollments_order_idx ON enrollments (order_id);

-- Messages that could not be applied (malformed, unknown type or order) and outbox events
-- the relay gave up on; listed to admins by GET /api/admin/dead-letters.
CREATE TABLE dead_letters (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source      text NOT NULL CHECK (source IN ('enrollment-worker', 'outbox')),
    payload     text NOT NULL,
    reason      text NOT NULL,
    received_at timestamp NOT NULL DEFAULT (now() AT TIME ZONE 'utc')
);
