//! The browser UI's static assets, served by one Spin component.
//!
//! Assets are embedded at compile time (see `build.rs`); [`site::respond`] decides what a
//! request gets and is plain Rust, unit-tested natively.

pub mod site;

#[cfg(target_arch = "wasm32")]
#[spin_sdk::http_service]
async fn handle(request: spin_sdk::http::Request) -> impl spin_sdk::http::IntoResponse {
    site::respond(request.method(), request.uri().path(), request.headers())
}
