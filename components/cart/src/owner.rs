//! Whose cart a request addresses, and the `cp_cart` cookie of anonymous carts.
//!
//! A signed-in request uses the user's cart; if it still carries a visitor cookie, the
//! visitor's cart is merged in once (first signed-in access after login) and the cookie
//! cleared. A visitor without a cookie gets a fresh random token, set on the response.

use commerce_core::cart::{ANONYMOUS_CART_COOKIE, CartOwner, INACTIVITY_EXPIRY_SECS};
use commerce_runtime::carts::Carts;
use http::{HeaderMap, HeaderValue, header};
use platform::{ApiError, HttpResponse};
use uuid::Uuid;

pub struct Owner {
    pub cart: CartOwner,
    pub user_id: Option<Uuid>,
    /// `Set-Cookie` to send: a new visitor token, or clearing a merged one.
    set_cookie: Option<String>,
}

impl Owner {
    pub async fn identify(headers: &HeaderMap, carts: &Carts, now: i64) -> Result<Self, ApiError> {
        let visitor = visitor_token(headers);
        let Some(session) = runtime::session::current(headers).await? else {
            return Ok(match visitor {
                Some(token) => Self {
                    cart: CartOwner::Anonymous(token),
                    user_id: None,
                    set_cookie: None,
                },
                None => {
                    let token = Uuid::now_v7();
                    Self {
                        cart: CartOwner::Anonymous(token),
                        user_id: None,
                        set_cookie: Some(cookie(&token.to_string(), INACTIVITY_EXPIRY_SECS)),
                    }
                }
            });
        };
        let user = CartOwner::User(session.user_id);
        let mut set_cookie = None;
        if let Some(token) = visitor {
            let anonymous = CartOwner::Anonymous(token);
            let visitor_cart = carts.stored(anonymous, now).await?;
            if !visitor_cart.is_empty() {
                let mut user_cart = carts.load(user, now).await?;
                user_cart.merge(&visitor_cart, now);
                carts.save(user, &user_cart).await?;
            }
            carts.clear(anonymous).await?;
            set_cookie = Some(cookie("", 0));
        }
        Ok(Self {
            cart: user,
            user_id: Some(session.user_id),
            set_cookie,
        })
    }

    pub fn with_cookie(&self, mut response: HttpResponse) -> HttpResponse {
        if let Some(value) = &self.set_cookie
            && let Ok(value) = HeaderValue::from_str(value)
        {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
        response
    }
}

fn visitor_token(headers: &HeaderMap) -> Option<Uuid> {
    platform::request::cookie(headers, ANONYMOUS_CART_COOKIE)
        .and_then(|value| Uuid::parse_str(&value).ok())
}

fn cookie(value: &str, max_age_secs: i64) -> String {
    cookie::Cookie::build((ANONYMOUS_CART_COOKIE, value))
        .path("/")
        .http_only(true)
        .secure(true)
        .same_site(cookie::SameSite::Lax)
        .max_age(cookie::time::Duration::seconds(max_age_secs))
        .build()
        .to_string()
}
