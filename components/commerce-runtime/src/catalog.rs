//! Current prices and ownership, read from the catalog and enrollment tables: the cart
//! shows them, checkout re-prices with them.

use crate::rows;
use commerce_core::Money;
use platform::ApiError;
use spin_sdk::pg::{Connection, Row};
use uuid::Uuid;

pub struct Course {
    pub id: Uuid,
    pub slug: String,
    pub title: String,
    pub price: Money,
    pub published: bool,
}

/// The listed courses that exist (unknown ids are simply absent), each with whether the
/// user (if signed in) is already enrolled in it, in one query.
pub async fn courses_for(
    db: &Connection,
    user_id: Option<Uuid>,
    ids: &[Uuid],
) -> Result<Vec<(Course, bool)>, ApiError> {
    let found = db
        .query(
            "SELECT c.id::text AS id, c.slug, c.title, c.price_cents::bigint AS price_cents,
                    c.currency, c.published,
                    EXISTS (SELECT 1 FROM enrollments e
                            WHERE e.user_id = $2::text::uuid AND e.course_id = c.id) AS owned
             FROM courses c WHERE c.id = ANY(string_to_array($1, ',')::uuid[])",
            &[rows::id_list(ids), user_id.map(|id| id.to_string()).into()],
        )
        .await
        .map_err(runtime::db::query_error)?
        .collect()
        .await
        .map_err(runtime::db::query_error)?;
    found
        .iter()
        .map(|row| Ok((course(row)?, runtime::db::column(row, "owned")?)))
        .collect()
}

fn course(row: &Row) -> Result<Course, ApiError> {
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
}
