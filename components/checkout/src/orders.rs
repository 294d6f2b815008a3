//! Reading orders, enrollments and dead letters back for the API.

use commerce_core::views::{DeadLetterView, EnrollmentView, OrderLineView, OrderView};
use commerce_core::{Money, OrderStatus};
use commerce_runtime::{rfc3339, rows};
use platform::ApiError;
use spin_sdk::pg::{Connection, ParameterValue, Row};
use uuid::Uuid;

/// Most recent orders listed by `GET /api/orders`.
const LIST_LIMIT: i64 = 100;

const ORDERS: &str = concat!(
    "SELECT o.id::text AS id, o.status, o.total_cents, o.currency, ",
    rfc3339!("o.created_at"),
    " AS created_at, l.course_id::text AS course_id, l.title, l.price_cents, l.currency AS line_currency
     FROM orders o LEFT JOIN order_lines l ON l.order_id = o.id
     WHERE o.id IN (
         SELECT id FROM orders
         WHERE user_id = $1::text::uuid AND ($2::text IS NULL OR id = $2::text::uuid)
         ORDER BY created_at DESC, id DESC LIMIT $3::bigint
     )
     ORDER BY o.created_at DESC, o.id DESC, l.position"
);

/// The user's orders, newest first; `only` narrows to one order (still the user's own).
pub async fn list(
    db: &Connection,
    user_id: Uuid,
    only: Option<Uuid>,
) -> Result<Vec<OrderView>, ApiError> {
    let found = collect(
        db,
        ORDERS,
        &[
            rows::id(user_id),
            only.map(|id| id.to_string()).into(),
            LIST_LIMIT.into(),
        ],
    )
    .await?;
    let mut orders: Vec<OrderView> = Vec::new();
    for row in &found {
        let id = rows::uuid(row, "id")?;
        if orders.last().is_none_or(|order| order.id != id) {
            let status: String = runtime::db::column(row, "status")?;
            orders.push(OrderView {
                id,
                status: OrderStatus::parse(&status)
                    .ok_or_else(|| ApiError::internal(format!("unknown status {status}")))?,
                items: Vec::new(),
                total: Money::new(
                    runtime::db::column(row, "total_cents")?,
                    runtime::db::column::<String>(row, "currency")?,
                ),
                created_at: runtime::db::column(row, "created_at")?,
            });
        }
        if let Some(course_id) = row.get::<String>("course_id")
            && let Some(order) = orders.last_mut()
        {
            order.items.push(OrderLineView {
                course_id: Uuid::parse_str(&course_id).map_err(ApiError::internal)?,
                title: runtime::db::column(row, "title")?,
                price: Money::new(
                    runtime::db::column(row, "price_cents")?,
                    runtime::db::column::<String>(row, "line_currency")?,
                ),
            });
        }
    }
    Ok(orders)
}

/// One of the user's orders; someone else's is indistinguishable from a missing one.
pub async fn get(db: &Connection, user_id: Uuid, order_id: Uuid) -> Result<OrderView, ApiError> {
    list(db, user_id, Some(order_id))
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::not_found(format!("no order {order_id}")))
}

pub async fn enrollments(db: &Connection, user_id: Uuid) -> Result<Vec<EnrollmentView>, ApiError> {
    let found = collect(
        db,
        concat!(
            "SELECT e.course_id::text AS course_id, c.slug, c.title, ",
            rfc3339!("e.enrolled_at"),
            " AS enrolled_at, e.order_id::text AS order_id
             FROM enrollments e JOIN courses c ON c.id = e.course_id
             WHERE e.user_id = $1::text::uuid
             ORDER BY e.enrolled_at DESC, e.course_id"
        ),
        &[rows::id(user_id)],
    )
    .await?;
    found
        .iter()
        .map(|row| {
            Ok(EnrollmentView {
                course_id: rows::uuid(row, "course_id")?,
                slug: runtime::db::column(row, "slug")?,
                title: runtime::db::column(row, "title")?,
                enrolled_at: runtime::db::column(row, "enrolled_at")?,
                order_id: rows::uuid(row, "order_id")?,
            })
        })
        .collect()
}

/// Most recent dead letters first (an admin view, capped).
pub async fn dead_letters(db: &Connection) -> Result<Vec<DeadLetterView>, ApiError> {
    let found = collect(
        db,
        concat!(
            "SELECT id, source, payload, reason, ",
            rfc3339!("received_at"),
            " AS received_at FROM dead_letters ORDER BY id DESC LIMIT 200"
        ),
        &[],
    )
    .await?;
    found
        .iter()
        .map(|row| {
            Ok(DeadLetterView {
                id: runtime::db::column(row, "id")?,
                source: runtime::db::column(row, "source")?,
                payload: runtime::db::column(row, "payload")?,
                reason: runtime::db::column(row, "reason")?,
                received_at: runtime::db::column(row, "received_at")?,
            })
        })
        .collect()
}

pub async fn collect(
    db: &Connection,
    sql: &str,
    params: &[ParameterValue],
) -> Result<Vec<Row>, ApiError> {
    db.query(sql, params)
        .await
        .map_err(runtime::db::query_error)?
        .collect()
        .await
        .map_err(runtime::db::query_error)
}
