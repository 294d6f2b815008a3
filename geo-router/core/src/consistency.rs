//! Read-your-writes: after a catalog write, a cookie holding the primary's WAL position and
//! the region that served the write, compared with the replica's replay position on the
//! client's catalog reads.
//!
//! Only the catalog serves copies (its edge cache and the region's replica); accounts,
//! carts, orders and enrollments always read the primary. So only catalog writes set a
//! token and only catalog reads look at one: signing in or buying a course does not turn
//! the edge cache off for the student who did it.

use http::{HeaderMap, Method};
pub use platform::replication::{Lsn, READ_FROM_HEADER, ReadFrom};

use crate::routing::{has_prefix, is_safe};

/// Cookie carrying `<lsn>@<region>` as of the client's last catalog write.
pub const TOKEN_COOKIE: &str = "cp_lsn";
/// A replica is normally seconds behind; after this the token is dropped by the browser.
const TOKEN_MAX_AGE_SECS: i64 = 600;

/// Catalog paths: reads may be served from copies, writes change what copies show.
const CATALOG_PREFIXES: [&str; 2] = ["/api/courses", "/api/categories"];

fn is_catalog(path: &str) -> bool {
    CATALOG_PREFIXES
        .iter()
        .any(|prefix| has_prefix(path, prefix))
}

/// Whether a successful request changes what catalog copies show: it earns a token.
pub fn sets_token(method: &Method, path: &str) -> bool {
    !is_safe(method) && is_catalog(path)
}

/// Whether a read could be served from a copy older than the client's own write.
pub fn covers(method: &Method, path: &str) -> bool {
    is_safe(method) && is_catalog(path)
}

/// The client's last catalog write: where the primary's WAL was, and which region's
/// router served it (that region dropped its cached copies before answering).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub lsn: Lsn,
    pub region: String,
}

/// What a covered read needs before it knows where to go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// Any copy shows the client's writes.
    AnyCopy,
    /// Ask the replica how far it has replayed, then `choose_read`.
    ReplicaPosition(Lsn),
    /// Only the primary is sure to.
    Primary,
}

/// With no replica, a region's copies come from its edge cache, which the writing
/// region emptied before answering; another region's cache hears of it only when the
/// invalidation message arrives, so there only the primary is sure.
pub fn check(token: Option<&Token>, local: &str, has_replica: bool) -> Check {
    match token {
        None => Check::AnyCopy,
        Some(token) if has_replica => Check::ReplicaPosition(token.lsn),
        Some(token) if token.region == local => Check::AnyCopy,
        Some(_) => Check::Primary,
    }
}

/// Where a read goes once the replica's replay position is known (or not: no answer
/// sends the read to the primary, which is always consistent).
pub fn choose_read(token: Lsn, replayed: Option<Lsn>) -> ReadFrom {
    match replayed {
        Some(replayed) if replayed >= token => ReadFrom::Replica,
        _ => ReadFrom::Primary,
    }
}

/// The token from the request's cookies, if present and well-formed.
pub fn token(headers: &HeaderMap) -> Option<Token> {
    let value = crate::gateway::cookie(headers, TOKEN_COOKIE)?;
    let (lsn, region) = value.split_once('@')?;
    Some(Token {
        lsn: lsn.parse().ok()?,
        region: region.to_owned(),
    })
}

/// `Set-Cookie` value remembering the primary's position after a write served in `region`.
pub fn token_cookie(lsn: Lsn, region: &str) -> String {
    cookie::Cookie::build((TOKEN_COOKIE, format!("{lsn}@{region}")))
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

    fn written_in(region: &str) -> Token {
        Token {
            lsn: lsn("0/200"),
            region: region.into(),
        }
    }

    #[test]
    fn only_catalog_writes_set_a_token_and_only_catalog_reads_heed_it() {
        assert!(sets_token(&Method::PATCH, "/api/courses/x"));
        assert!(sets_token(&Method::POST, "/api/courses/x/publish"));
        for (method, path) in [
            (Method::POST, "/api/session"),
            (Method::POST, "/api/accounts"),
            (Method::POST, "/api/checkout"),
            (Method::PUT, "/api/cart/items/x"),
            (Method::GET, "/api/courses"),
        ] {
            assert!(!sets_token(&method, path), "{method} {path}");
        }
        assert!(covers(&Method::GET, "/api/courses"));
        assert!(covers(&Method::GET, "/api/categories"));
        assert!(!covers(&Method::GET, "/api/me"));
        assert!(!covers(&Method::GET, "/api/coursesx"));
    }

    #[test]
    fn a_region_without_a_replica_needs_no_token_for_its_own_writes() {
        let token = written_in("us-east");
        assert_eq!(check(None, "us-east", false), Check::AnyCopy);
        assert_eq!(check(Some(&token), "us-east", false), Check::AnyCopy);
        assert_eq!(check(Some(&token), "eu-west", false), Check::Primary);
        assert_eq!(
            check(Some(&token), "us-east", true),
            Check::ReplicaPosition(lsn("0/200"))
        );
    }

    #[test]
    fn reads_go_to_the_replica_only_once_it_has_replayed_the_write() {
        assert_eq!(
            choose_read(lsn("0/200"), Some(lsn("0/100"))),
            ReadFrom::Primary
        );
        assert_eq!(
            choose_read(lsn("0/200"), Some(lsn("0/200"))),
            ReadFrom::Replica
        );
        assert_eq!(choose_read(lsn("0/200"), None), ReadFrom::Primary);
    }

    #[test]
    fn token_round_trips_through_the_cookie_header() {
        let set_cookie = token_cookie(lsn("3/A0"), "eu-west");
        assert!(
            set_cookie.starts_with("cp_lsn=3/A0@eu-west;"),
            "{set_cookie}"
        );
        assert!(set_cookie.contains("HttpOnly"));
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::COOKIE,
            http::HeaderValue::from_static("cp_session=abc; cp_lsn=3/A0@eu-west"),
        );
        assert_eq!(
            token(&headers),
            Some(Token {
                lsn: lsn("3/A0"),
                region: "eu-west".into()
            })
        );
        headers.insert(
            http::header::COOKIE,
            http::HeaderValue::from_static("cp_lsn=3/A0"),
        );
        assert_eq!(
            token(&headers),
            None,
            "a token without its region is ignored"
        );
        assert!(clear_token_cookie().contains("Max-Age=0"));
    }
}
