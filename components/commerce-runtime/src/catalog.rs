//! Current prices and ownership, read from the catalog and enrollment tables (one query
//! each): the cart shows them, checkout re-prices with them.

use crate::rows;
use commerce_core::Money;
use platform::ApiError;
use spin_sdk::pg::Connection;
use uuid::Uuid;

pub struct Course {
    pub id: Uuid,
    pub slug: String,
    pub title: String,
    pub price: Money,
    pub published: bool,
}

/// The listed courses that exist (unknown ids are simply absent).
pub async fn courses(db: &Connection, ids: &[Uuid]) -> Result<Vec<Course>, ApiError> {
    let found = db
        .query(
            "SELECT id::text AS id, slug, title, price_cents::bigint AS price_cents, currency, published
             FROM courses WHERE id = ANY(string_to_array($1, ',')::uuid[])",
            &[rows::id_list(ids)],
        )
        .await
        .map_err(runtime::db::query_error)?
        .collect()
        .await
        .map_err(runtime::db::query_error)?;
    found
        .iter()
        .map(|row| {
            Ok(Course {
                id: rows::uuid(row, "id")?,
                slug: runtime::db::column(row, "slug")?,
                title: runtime::db::column(row, "title")?,
                price: Money::new(
                    runtime::db::column(row, "price_cents")?,
                    runtime::db::column::<String>(row, "currency")?,
                ),
                published: runtime::db::column(row, "published")?,
            })
        })
        .collect()
}

/// Which of the listed courses the user is already enrolled in.
pub async fn owned(db: &Connection, user_id: Uuid, ids: &[Uuid]) -> Result<Vec<Uuid>, ApiError> {
    let found = db
        .query(
            "SELECT course_id::text AS course_id FROM enrollments
             WHERE user_id = $1::text::uuid AND course_id = ANY(string_to_array($2, ',')::uuid[])",
            &[rows::id(user_id), rows::id_list(ids)],
        )
        .await
        .map_err(runtime::db::query_error)?
        .collect()
        .await
        .map_err(runtime::db::query_error)?;
    found
        .iter()
        .map(|row| rows::uuid(row, "course_id"))
        .collect()
}
