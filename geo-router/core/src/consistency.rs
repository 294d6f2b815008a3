//! Read-your-writes: a cookie holding the primary's WAL position after a write, compared
//! with the replica's replay position on reads.

use http::HeaderMap;
pub use platform::replication::{Lsn, READ_FROM_HEADER, ReadFrom};

/// Cookie carrying the primary's WAL position as of the client's last write.
pub const TOKEN_COOKIE: &str = "cp_lsn";
/// A replica is normally seconds behind; after this the token is dropped by the browser.
const TOKEN_MAX_AGE_SECS: i64 = 600;

/// Where a read goes. Without a token the replica is fine; with one, the replica must
/// have replayed at least up to it. An unknown replay position (no replica configured,
/// replica unreachable) sends the read to the primary, which is always consistent.
pub fn choose_read(token: Option<Lsn>, replayed: Option<Lsn>) -> ReadFrom {
    match (token, replayed) {
        (None, _) => ReadFrom::Replica,
        (Some(token), Some(replayed)) if replayed >= token => ReadFrom::Replica,
        (Some(_), _) => ReadFrom::Primary,
    }
}

/// The token from the request's cookies, if present and well-formed.
pub fn token(headers: &HeaderMap) -> Option<Lsn> {
    crate::gateway::cookie(headers, TOKEN_COOKIE).and_then(|value| value.parse().ok())
}

/// `Set-Cookie` value remembering the primary's position after a write.
pub fn token_cookie(lsn: Lsn) -> String {
    cookie::Cookie::build((TOKEN_COOKIE, lsn.to_string()))
        .path("/")
        .http_only(true)
        .same_site(cookie::SameSite::Lax)
        .max_age(cookie::time::Duration::seconds(TOKEN_MAX_AGE_SECS))
        .build()
        .to_string()
}

/// `Set-Cookie` value dropping the token once the replica has caught up, sparing later
/// reads the replay-position query.
pub fn clear_token_cookie() -> String {
    let mut cookie = cookie::Cookie::build((TOKEN_COOKIE, "")).path("/").build();
    cookie.make_removal();
    cookie.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lsn(text: &str) -> Lsn {
        text.parse().expect("valid lsn")
    }

    #[test]
    fn reads_go_to_the_replica_only_once_it_has_replayed_the_write() {
        assert_eq!(choose_read(None, None), ReadFrom::Replica);
        assert_eq!(
            choose_read(Some(lsn("0/200")), Some(lsn("0/100"))),
            ReadFrom::Primary
        );
        assert_eq!(
            choose_read(Some(lsn("0/200")), Some(lsn("0/200"))),
            ReadFrom::Replica
        );
        assert_eq!(choose_read(Some(lsn("0/200")), None), ReadFrom::Primary);
    }

    #[test]
    fn token_round_trips_through_the_cookie_header() {
        let set_cookie = token_cookie(lsn("3/A0"));
        assert!(set_cookie.starts_with("cp_lsn=3/A0;"), "{set_cookie}");
        assert!(set_cookie.contains("HttpOnly"));
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::COOKIE,
            http::HeaderValue::from_static("cp_session=abc; cp_lsn=3/A0"),
        );
        assert_eq!(token(&headers), Some(lsn("3/A0")));
        assert!(clear_token_cookie().contains("Max-Age=0"));
    }
}
