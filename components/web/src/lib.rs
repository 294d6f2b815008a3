//! The browser UI's static assets, served by one Spin component.
//!
//! Assets are embedded at compile time (see `build.rs`); [`site::respond`] decides what a
//! request gets and is plain Rust, unit-tested natively.

pub mod site;

#[cfg(target_arch = "wasm32")]
#[spin_sdk::http_service]
async fn handle(request: spin_sdk::http::Request) -> impl spin_sdk::http::IntoResponse {
    let headers = request.headers();
    let mut answer = site::respond(request.method(), request.uri().path(), headers);
    // The router's headers, when it handed them over (see `platform::gateway`): a page or
    // asset then passes back through the router untouched. Not `response::finish`, which
    // would declare a HEAD answer's empty body as its length.
    if let Some(gateway) = platform::gateway::ResponseHeaders::from_request(headers) {
        gateway.apply(answer.headers_mut());
    }
    answer
}
