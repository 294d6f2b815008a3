//! Checkout, orders, enrollments and the outbox relay (see `checkout` for the money path).

mod answer;
mod checkout;
mod claim;
mod config;
mod events;
mod orders;
mod pricing;
mod provider;
mod relay;
mod statements;

use commerce_core::routes::{CHECKOUT_ROUTES, CheckoutEndpoint};
use commerce_core::views::Items;
use platform::gateway::ResponseHeaders;
use platform::log::Logger;
use platform::response::Caching;

use platform::{ApiError, HttpResponse, PathParams, response, routing};
use spin_sdk::http::Request;
use uuid::Uuid;

#[spin_sdk::http_service]
async fn handle(request: Request) -> HttpResponse {
    let logger = Logger::for_request("checkout", request.headers());
    let gateway = ResponseHeaders::from_request(request.headers());
    let result = serve(&logger, request).await;
    response::finish(&logger, gateway.as_ref(), result, Caching::Private)
}

async fn serve(logger: &Logger, request: Request) -> Result<HttpResponse, ApiError> {
    let (parts, body) = request.into_parts();
    let (endpoint, params) = routing::resolve(CHECKOUT_ROUTES, &parts.method, parts.uri.path())?;
    match endpoint {
        CheckoutEndpoint::Checkout => {
            let limit = platform::request::MAX_JSON_BODY;
            let body = platform::request::read_body(&parts.headers, body, limit).await?;
            checkout::checkout(logger, &parts, &body).await
        }
        CheckoutEndpoint::ListOrders => {
            let session = runtime::session::require_user(&parts.headers).await?;
            let db = runtime::db::connect().await?;
            let items = orders::list(&db, session.user_id, None).await?;
            Ok(response::ok(&Items { items }))
        }
        CheckoutEndpoint::GetOrder => {
            let session = runtime::session::require_user(&parts.headers).await?;
            let order_id = order_id(&params)?;
            let db = runtime::db::connect().await?;
            Ok(response::ok(
                &orders::get(&db, session.user_id, order_id).await?,
            ))
        }
        CheckoutEndpoint::ListEnrollments => {
            let session = runtime::session::require_user(&parts.headers).await?;
            let db = runtime::db::connect().await?;
            let items = orders::enrollments(&db, session.user_id).await?;
            Ok(response::ok(&Items { items }))
        }
        CheckoutEndpoint::RelayOutbox => {
            runtime::session::require_admin(&parts.headers).await?;
            let db = runtime::db::connect().await?;
            let config = config::Config::load().await?;
            Ok(response::ok(&relay::run(logger, &db, &config, None).await?))
        }
        CheckoutEndpoint::ListDeadLetters => {
            runtime::session::require_admin(&parts.headers).await?;
            let db = runtime::db::connect().await?;
            let items = orders::dead_letters(&db).await?;
            Ok(response::ok(&Items { items }))
        }
    }
}

/// An order id in the path; a malformed one is as absent as someone else's order.
fn order_id(params: &PathParams) -> Result<Uuid, ApiError> {
    let raw = params.require("id")?;
    Uuid::parse_str(raw).map_err(|_| ApiError::not_found(format!("no order {raw}")))
}
