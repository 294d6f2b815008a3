//! Route tables of the commerce components: one source for dispatch and the OpenAPI check.

use http::Method;
use platform::Route;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CartEndpoint {
    Get,
    Clear,
    PutItem,
    DeleteItem,
}

pub const CART_ROUTES: &[Route<CartEndpoint>] = &[
    Route::new(Method::GET, "/api/cart", CartEndpoint::Get),
    Route::new(Method::DELETE, "/api/cart", CartEndpoint::Clear),
    Route::new(
        Method::PUT,
        "/api/cart/items/{course_id}",
        CartEndpoint::PutItem,
    ),
    Route::new(
        Method::DELETE,
        "/api/cart/items/{course_id}",
        CartEndpoint::DeleteItem,
    ),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckoutEndpoint {
    Checkout,
    ListOrders,
    GetOrder,
    ListEnrollments,
    RelayOutbox,
    ListDeadLetters,
}

pub const CHECKOUT_ROUTES: &[Route<CheckoutEndpoint>] = &[
    Route::new(Method::POST, "/api/checkout", CheckoutEndpoint::Checkout),
    Route::new(Method::GET, "/api/orders", CheckoutEndpoint::ListOrders),
    Route::new(Method::GET, "/api/orders/{id}", CheckoutEndpoint::GetOrder),
    Route::new(
        Method::GET,
        "/api/me/enrollments",
        CheckoutEndpoint::ListEnrollments,
    ),
    Route::new(
        Method::POST,
        "/api/admin/outbox/relay",
        CheckoutEndpoint::RelayOutbox,
    ),
    Route::new(
        Method::GET,
        "/api/admin/dead-letters",
        CheckoutEndpoint::ListDeadLetters,
    ),
];

#[cfg(test)]
mod tests {
    use super::*;
    use platform::routing::resolve;

    #[test]
    fn cart_item_routes_capture_the_course_id() {
        let (endpoint, params) =
            resolve(CART_ROUTES, &Method::PUT, "/api/cart/items/abc").expect("route");
        assert_eq!(endpoint, CartEndpoint::PutItem);
        assert_eq!(params.get("course_id"), Some("abc"));
    }

    #[test]
    fn checkout_routes_resolve() {
        let (endpoint, params) =
            resolve(CHECKOUT_ROUTES, &Method::GET, "/api/orders/o1").expect("route");
        assert_eq!(endpoint, CheckoutEndpoint::GetOrder);
        assert_eq!(params.get("id"), Some("o1"));
        let error = resolve(CHECKOUT_ROUTES, &Method::GET, "/api/checkout").expect_err("405");
        assert_eq!(error.status(), 405);
    }
}
