//! The contract between the geo-router and the components about which database a read may
//! use: the router decides (read-your-writes), components obey the header it sets.

use std::fmt;
use std::str::FromStr;

use http::HeaderMap;

/// Request header the router sets for components: which database to read from. Components
/// are private, so only the router can set it; the router strips it from client requests.
pub const READ_FROM_HEADER: &str = "x-read-from";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadFrom {
    /// The client has just written: only the primary is sure to show it.
    Primary,
    /// Any copy will do: the region's replica, or its edge cache.
    Replica,
}

impl ReadFrom {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Primary => "primary",
            Self::Replica => "replica",
        }
    }

    /// What the router asked for; without the header (no router in front) any copy will do.
    pub fn of_request(headers: &HeaderMap) -> ReadFrom {
        match headers.get(READ_FROM_HEADER).map(|value| value.as_bytes()) {
            Some(b"primary") => Self::Primary,
            _ => Self::Replica,
        }
    }
}

/// A PostgreSQL WAL position (`pg_lsn`, written `16/B374D848`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Lsn(u64);

impl FromStr for Lsn {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (high, low) = text
            .trim()
            .split_once('/')
            .ok_or_else(|| format!("not a WAL position: {text}"))?;
        let parse = |part: &str| {
            (part.len() <= 8)
                .then(|| u32::from_str_radix(part, 16).ok())
                .flatten()
                .ok_or_else(|| format!("not a WAL position: {text}"))
        };
        Ok(Self(
            (u64::from(parse(high)?) << 32) | u64::from(parse(low)?),
        ))
    }
}

impl Lsn {
    /// Bytes of WAL between `earlier` and `self` (zero if `earlier` is not earlier): the
    /// replica lag `/health` reports.
    pub fn bytes_after(self, earlier: Lsn) -> u64 {
        self.0.saturating_sub(earlier.0)
    }
}

impl fmt::Display for Lsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:X}/{:X}", self.0 >> 32, self.0 & 0xffff_ffff)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lsn(text: &str) -> Lsn {
        text.parse().expect("valid lsn")
    }

    #[test]
    fn parses_and_prints_wal_positions() {
        assert_eq!(lsn("16/B374D848").to_string(), "16/B374D848");
        assert_eq!(lsn("0/0"), Lsn(0));
        assert!(lsn("1/0") > lsn("0/FFFFFFFF"));
        assert_eq!(lsn("1/0").bytes_after(lsn("0/FFFFFFF0")), 16);
        assert_eq!(lsn("0/0").bytes_after(lsn("0/10")), 0);
        assert!("16".parse::<Lsn>().is_err());
        assert!("G/1".parse::<Lsn>().is_err());
        assert!("1/123456789".parse::<Lsn>().is_err());
    }

    #[test]
    fn components_read_the_primary_only_when_the_router_says_so() {
        let mut headers = HeaderMap::new();
        assert_eq!(ReadFrom::of_request(&headers), ReadFrom::Replica);
        headers.insert(READ_FROM_HEADER, http::HeaderValue::from_static("primary"));
        assert_eq!(ReadFrom::of_request(&headers), ReadFrom::Primary);
        headers.insert(READ_FROM_HEADER, http::HeaderValue::from_static("replica"));
        assert_eq!(ReadFrom::of_request(&headers), ReadFrom::Replica);
    }
}
