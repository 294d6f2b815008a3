//! The accounts component: registration, sign-in, sign-out and the current user.
//!
//! Routing and I/O only: the rules (email, password, sessions, cookie, throttling) live in
//! `accounts-core`; the session lookup other components use lives in `runtime::session`.

mod sign_in;
mod users;

use accounts_core::{Endpoint, ROUTES, RegistrationRequest, SignInRequest, session_cookie};
use http::{HeaderMap, StatusCode};
use platform::gateway::ResponseHeaders;
use platform::log::Logger;
use platform::request::{MAX_JSON_BODY, read_json};
use platform::response::Caching;
use platform::{ApiError, HttpResponse, response};
use spin_sdk::http::Request;

#[spin_sdk::http_service]
async fn handle(request: Request) -> HttpResponse {
    let logger = Logger::for_request("accounts", request.headers());
    let gateway = ResponseHeaders::from_request(request.headers());
    // Every answer here is about one user (or a credential attempt): never cache it.
    response::finish(
        &logger,
        gateway.as_ref(),
        route(request).await,
        Caching::Private,
    )
}

async fn route(request: Request) -> Result<HttpResponse, ApiError> {
    let (endpoint, _) = platform::routing::resolve(ROUTES, request.method(), request.uri().path())?;
    let (parts, body) = request.into_parts();
    let headers = parts.headers;
    match endpoint {
        Endpoint::Register => {
            let input: RegistrationRequest = read_json(&headers, body, MAX_JSON_BODY).await?;
            register(input).await
        }
        Endpoint::SignIn => {
            let input: SignInRequest = read_json(&headers, body, MAX_JSON_BODY).await?;
            sign_in::sign_in(&headers, input).await
        }
        Endpoint::SignOut => sign_in::sign_out(&headers).await,
        Endpoint::Me => me(&headers).await,
    }
}

/// `POST /api/accounts`: 201 with the new student, 409 when the email is taken.
async fn register(input: RegistrationRequest) -> Result<HttpResponse, ApiError> {
    let registration = input.validate()?;
    let password_hash = registration.password.hash().map_err(ApiError::internal)?;
    let db = runtime::db::connect().await?;
    match users::insert_student(&db, &registration, &password_hash).await? {
        Some(user) => Ok(response::json(StatusCode::CREATED, &user)),
        None => Err(ApiError::Conflict {
            kind: "email-taken",
            detail: "an account with this email already exists".into(),
        }),
    }
}

/// `GET /api/me`: the signed-in user, read fresh from the database. Re-sends the cookie so
/// its `Max-Age` follows the session's sliding expiry.
async fn me(headers: &HeaderMap) -> Result<HttpResponse, ApiError> {
    let session = runtime::session::require_user(headers).await?;
    let db = runtime::db::connect().await?;
    let Some(user) = users::find_by_id(&db, session.user_id).await? else {
        // The account is gone: its session must not outlive it.
        sign_in::end_session(headers).await?;
        return Err(ApiError::Unauthorized);
    };
    let mut response = response::ok(&user);
    if let Some(id) = session_cookie::session_id(headers) {
        let now = runtime::session::unix_now()?;
        sign_in::set_cookie(
            &mut response,
            &session_cookie::issue(&id, session.remaining_secs(now)),
        );
    }
    Ok(response)
}
