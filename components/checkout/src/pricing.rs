//! A cart re-priced from the catalog: the lines and total an order is placed with.

use commerce_core::cart::StoredCart;
use commerce_core::views::OrderView;
use commerce_core::views::{OrderLineView, problems};
use commerce_core::{Money, OrderStatus};
use commerce_runtime::catalog;
use platform::ApiError;
use spin_sdk::pg::Connection;
use uuid::Uuid;

/// What the order will hold, in cart order.
pub struct PricedCart {
    pub course_ids: Vec<Uuid>,
    pub lines: Vec<OrderLineView>,
    pub total: Money,
}

impl PricedCart {
    /// The lines as the order statement's `jsonb_to_recordset` reads them.
    pub fn lines_json(&self) -> String {
        let lines: Vec<serde_json::Value> = self
            .lines
            .iter()
            .enumerate()
            .map(|(position, line)| {
                serde_json::json!({
                    "course_id": line.course_id,
                    "position": position,
                    "title": line.title,
                    "price_cents": line.price.amount_cents,
                    "currency": line.price.currency,
                })
            })
            .collect();
        serde_json::Value::from(lines).to_string()
    }

    /// The order as placed from this cart, as `GET /api/orders/{id}` shows it.
    pub fn order(&self, id: Uuid, created_at: String) -> OrderView {
        OrderView {
            id,
            status: OrderStatus::PendingPayment,
            items: self.lines.clone(),
            total: self.total.clone(),
            created_at,
        }
    }
}

/// Prices `cart` at the catalog's current prices (one query): a problem when it is empty,
/// holds a course the user owns, one no longer for sale, or mixes currencies.
pub async fn price(
    db: &Connection,
    user_id: Uuid,
    cart: &StoredCart,
) -> Result<PricedCart, ApiError> {
    if cart.is_empty() {
        return Err(problems::cart_empty());
    }
    let courses = catalog::courses_for(db, Some(user_id), &cart.course_ids).await?;
    let in_cart = |course_id: &Uuid| courses.iter().find(|(course, _)| course.id == *course_id);
    if let Some(owned) = cart
        .course_ids
        .iter()
        .find(|course_id| in_cart(course_id).is_some_and(|(_, owned)| *owned))
    {
        return Err(problems::course_already_owned(*owned));
    }
    let mut lines = Vec::with_capacity(cart.course_ids.len());
    for course_id in &cart.course_ids {
        let (course, _) = in_cart(course_id)
            .filter(|(course, _)| course.published)
            .ok_or_else(|| problems::course_unavailable(*course_id))?;
        lines.push(OrderLineView {
            course_id: course.id,
            title: course.title.clone(),
            price: course.price.clone(),
        });
    }
    let total = Money::sum(lines.iter().map(|line| &line.price))
        .map_err(|_| problems::mixed_currencies())?;
    Ok(PricedCart {
        course_ids: cart.course_ids.clone(),
        lines,
        total,
    })
}
