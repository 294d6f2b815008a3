//! The `cp_session` cookie, built and read with the `cookie` crate.

use cookie::{Cookie, SameSite, time::Duration};
use http::HeaderMap;

use crate::SessionId;

pub const NAME: &str = "cp_session";

/// `Set-Cookie` value for a signed-in session: script cannot read it (HttpOnly), it travels
/// only over HTTPS (Secure) and not on cross-site subrequests (SameSite=Lax).
pub fn issue(id: &SessionId, max_age_secs: i64) -> String {
    build(id.to_cookie_value(), max_age_secs)
}

/// `Set-Cookie` value that makes the browser drop the cookie (sign-out).
pub fn clear() -> String {
    build(String::new(), 0)
}

fn build(value: String, max_age_secs: i64) -> String {
    Cookie::build((NAME, value))
        .http_only(true)
        .secure(true)
        .same_site(SameSite::Lax)
        .path("/")
        .max_age(Duration::seconds(max_age_secs))
        .build()
        .to_string()
}

/// The session id from the request's `Cookie` headers, if one is present and well formed.
pub fn session_id(headers: &HeaderMap) -> Option<SessionId> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .filter(|cookie| cookie.name() == NAME)
        .find_map(|cookie| SessionId::parse(cookie.value()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(cookies: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for cookie in cookies {
            headers.append(
                http::header::COOKIE,
                HeaderValue::from_str(cookie).expect("valid header"),
            );
        }
        headers
    }

    #[test]
    fn issued_cookie_has_the_protective_attributes() {
        let id = SessionId::generate().expect("random");
        let cookie = Cookie::parse(issue(&id, 3600)).expect("parses");
        assert_eq!(cookie.name(), NAME);
        assert_eq!(cookie.value(), id.to_cookie_value());
        assert_eq!(cookie.http_only(), Some(true));
        assert_eq!(cookie.secure(), Some(true));
        assert_eq!(cookie.same_site(), Some(SameSite::Lax));
        assert_eq!(cookie.path(), Some("/"));
        assert_eq!(cookie.max_age(), Some(Duration::seconds(3600)));
    }

    #[test]
    fn cleared_cookie_expires_now() {
        let cookie = Cookie::parse(clear()).expect("parses");
        assert_eq!(cookie.value(), "");
        assert_eq!(cookie.max_age(), Some(Duration::ZERO));
        assert_eq!(cookie.path(), Some("/"));
    }

    #[test]
    fn finds_the_session_among_other_cookies() {
        let id = SessionId::generate().expect("random");
        let value = id.to_cookie_value();
        let found = session_id(&headers(&[
            "theme=dark",
            &format!("cp_cart=1; cp_session={value}"),
        ]));
        assert_eq!(found, Some(id));
    }

    #[test]
    fn missing_or_malformed_cookie_is_no_session() {
        assert_eq!(session_id(&headers(&[])), None);
        assert_eq!(session_id(&headers(&["cp_session=abc"])), None);
        assert_eq!(session_id(&headers(&["other=0123"])), None);
    }
}
