//! Sign-in with login throttling, and sign-out.
//!
//! Both kinds of failure (unknown email, wrong password) take the same path: one database
//! lookup, one full argon2id verification (against a dummy hash when there is no account),
//! two throttle counter updates, and the same 401 body.

use accounts_core::throttle::{self, FailureWindow, ThrottlePolicy};
use accounts_core::{Session, SessionId, SignInRequest, email, password, session_cookie};
use http::{HeaderMap, HeaderValue, header};
use platform::{ApiError, HttpResponse, response};
use runtime::{kv, session, vars};

const DEFAULT_SESSION_TTL_SECS: i64 = 7 * 24 * 60 * 60;

/// `POST /api/session`.
pub async fn sign_in(headers: &HeaderMap, input: SignInRequest) -> Result<HttpResponse, ApiError> {
    let now = session::unix_now()?;
    let normalized_email = email::normalize(&input.email);
    let counters = Counters::load(headers, &normalized_email).await?;
    counters.refuse_if_throttled(now)?;

    let db = runtime::db::connect().await?;
    let credentials = crate::users::find_credentials(&db, &normalized_email).await?;
    // Verify before looking at whether the account exists: the dummy-hash work for an
    // unknown email is what keeps both failures equally slow.
    let stored_hash = credentials
        .as_ref()
        .map(|found| found.password_hash.as_str());
    let verified = password::verify(input.password.expose(), stored_hash);
    let Some(found) = credentials.filter(|_| verified) else {
        counters.record_failure(now).await?;
        return Err(ApiError::InvalidCredentials);
    };
    counters.clear_email().await?;

    // Signing in while holding a session replaces it rather than leaving it alive.
    end_session(headers).await?;
    let user = found.user;
    let idle_timeout = vars::parsed_or("session_ttl_seconds", DEFAULT_SESSION_TTL_SECS).await;
    let record = Session::start(user.id, user.role, user.email.clone(), now, idle_timeout);
    let id = SessionId::generate().map_err(ApiError::internal)?;
    let store = kv::open(session::STORE).await?;
    kv::set_json(&store, &id.storage_key(), &record).await?;

    let mut response = response::ok(&user);
    set_cookie(
        &mut response,
        &session_cookie::issue(&id, record.remaining_secs(now)),
    );
    Ok(response)
}

/// `DELETE /api/session`: 204 whether or not a session was live; the record is deleted
/// server-side, so a copy of the cookie no longer works either.
pub async fn sign_out(headers: &HeaderMap) -> Result<HttpResponse, ApiError> {
    end_session(headers).await?;
    let mut response = response::empty(http::StatusCode::NO_CONTENT);
    set_cookie(&mut response, &session_cookie::clear());
    Ok(response)
}

/// Deletes the session named by the request's cookie, if any.
pub async fn end_session(headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(id) = session_cookie::session_id(headers) else {
        return Ok(());
    };
    let store = kv::open(session::STORE).await?;
    kv::delete(&store, &id.storage_key()).await
}

pub fn set_cookie(response: &mut HttpResponse, cookie: &str) {
    if let Ok(value) = HeaderValue::from_str(cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

/// One failure counter: its key, policy and current window.
struct Counter {
    key: String,
    policy: ThrottlePolicy,
    window: Option<FailureWindow>,
}

/// The failure counters that apply to this attempt: per email, and per client address when
/// one is known (the geo-router's `x-cp-client-ip`, else Spin's `spin-client-addr`).
struct Counters {
    store: spin_sdk::key_value::Store,
    email: Counter,
    client: Option<Counter>,
}

impl Counters {
    async fn load(headers: &HeaderMap, normalized_email: &str) -> Result<Self, ApiError> {
        let window_secs = vars::parsed_or("login_failure_window_seconds", 15 * 60).await;
        let email_policy = ThrottlePolicy {
            max_failures: vars::parsed_or("login_max_failures_per_email", 5).await,
            window_secs,
        };
        let client_policy = ThrottlePolicy {
            max_failures: vars::parsed_or("login_max_failures_per_client", 50).await,
            window_secs,
        };
        // Counters share the sessions store (keys `login-failures:*`): one store to configure.
        let store = kv::open(session::STORE).await?;
        let email_key = throttle::email_key(normalized_email);
        let email = Counter {
            window: kv::get_json(&store, &email_key).await?,
            key: email_key,
            policy: email_policy,
        };
        // Behind the geo-router the peer is the router; it names the client in its own header.
        let client_key = [platform::request::CLIENT_IP_HEADER, "spin-client-addr"]
            .into_iter()
            .find_map(|name| headers.get(name))
            .and_then(|value| value.to_str().ok())
            .and_then(throttle::client_key);
        let client = match client_key {
            Some(key) => Some(Counter {
                window: kv::get_json(&store, &key).await?,
                key,
                policy: client_policy,
            }),
            None => None,
        };
        Ok(Self {
            store,
            email,
            client,
        })
    }

    fn counters(&self) -> impl Iterator<Item = &Counter> {
        std::iter::once(&self.email).chain(self.client.as_ref())
    }

    /// 429 with the longest wait among exhausted counters.
    fn refuse_if_throttled(&self, now: i64) -> Result<(), ApiError> {
        let wait = self
            .counters()
            .filter_map(|counter| counter.policy.retry_after(counter.window.as_ref(), now))
            .max();
        match wait {
            Some(retry_after_secs) => Err(ApiError::TooManyRequests { retry_after_secs }),
            None => Ok(()),
        }
    }

    async fn record_failure(&self, now: i64) -> Result<(), ApiError> {
        for counter in self.counters() {
            let window = counter.policy.record_failure(counter.window, now);
            kv::set_json(&self.store, &counter.key, &window).await?;
        }
        Ok(())
    }

    /// A successful sign-in forgives the account's failures. The client's count stays, or
    /// one valid account would let a client reset its budget between guesses at others.
    async fn clear_email(&self) -> Result<(), ApiError> {
        if self.email.window.is_some() {
            kv::delete(&self.store, &self.email.key).await?;
        }
        Ok(())
    }
}
