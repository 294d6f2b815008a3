//! The accounts component's endpoints, shared by its dispatch and the OpenAPI coverage test.

use http::Method;
use platform::Route;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Register,
    SignIn,
    SignOut,
    Me,
}

pub const ROUTES: &[Route<Endpoint>] = &[
    Route::new(Method::POST, "/api/accounts", Endpoint::Register),
    Route::new(Method::POST, "/api/session", Endpoint::SignIn),
    Route::new(Method::DELETE, "/api/session", Endpoint::SignOut),
    Route::new(Method::GET, "/api/me", Endpoint::Me),
];
