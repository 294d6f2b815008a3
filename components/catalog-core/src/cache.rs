//! Edge-cache entries, freshness, ETags, keys and invalidation messages.
//!
//! Spin's key-value store has no TTL, so each entry carries the time it was stored and the
//! reader decides whether it is fresh, stale but still servable, or expired.

use platform::replication::Lsn;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::query::{CourseQuery, CourseRef};

/// Label of the key-value store holding the catalog cache (declared in `spin.toml`).
pub const STORE: &str = "catalog-cache";
/// Redis channel carrying [`Invalidation`] messages to every region.
pub const INVALIDATION_CHANNEL: &str = "catalog-invalidations";
/// Key holding the current list generation: every list-like key embeds it, so changing it
/// drops all list pages, batches and category counts without enumerating keys.
pub const GENERATION_KEY: &str = "catalog:generation";
/// Key holding the primary's WAL position after the newest catalog write this region has
/// heard of: a cache refill may read the replica only once it has replayed that far, or
/// an invalidated entry could be refilled with the copy it replaced.
pub const REPLICA_FLOOR_KEY: &str = "catalog:replica-floor";
/// Generation used until the first invalidation of a region.
pub const INITIAL_GENERATION: &str = "0";

const ENTRY_MAGIC: &str = "cc1";

/// A cached response body with what is needed to judge and revalidate it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheEntry {
    /// Milliseconds since the Unix epoch when the body was read from the database.
    pub stored_at_ms: u64,
    pub etag: String,
    pub body: Vec<u8>,
}

impl CacheEntry {
    pub fn new(stored_at_ms: u64, body: Vec<u8>) -> CacheEntry {
        CacheEntry {
            stored_at_ms,
            etag: etag(&body),
            body,
        }
    }

    /// `cc1 <stored_at_ms> <etag>\n<body>`: a one-line header, then the body untouched, so
    /// a hit costs no JSON parsing.
    pub fn encode(&self) -> Vec<u8> {
        let mut bytes = format!("{ENTRY_MAGIC} {} {}\n", self.stored_at_ms, self.etag).into_bytes();
        bytes.extend_from_slice(&self.body);
        bytes
    }

    /// `None` for anything not written by [`CacheEntry::encode`] (treated as a miss).
    pub fn decode(bytes: &[u8]) -> Option<CacheEntry> {
        let newline = bytes.iter().position(|&b| b == b'\n')?;
        let header = std::str::from_utf8(&bytes[..newline]).ok()?;
        let mut parts = header.split(' ');
        if parts.next()? != ENTRY_MAGIC {
            return None;
        }
        let stored_at_ms = parts.next()?.parse().ok()?;
        let etag = parts.next()?.to_owned();
        if parts.next().is_some() {
            return None;
        }
        Some(CacheEntry {
            stored_at_ms,
            etag,
            body: bytes[newline + 1..].to_vec(),
        })
    }

    pub fn age_ms(&self, now_ms: u64) -> u64 {
        now_ms.saturating_sub(self.stored_at_ms)
    }
}

/// How an entry may be used at a given moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    /// Serve it as is.
    Fresh,
    /// Refresh it, but serve it when the database is unreachable or another request is refreshing it.
    Stale,
    /// Too old to serve at all.
    Expired,
}

/// The freshness budget and how far past it a copy may still be served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CachePolicy {
    pub fresh_seconds: u64,
    pub max_stale_seconds: u64,
}

impl CachePolicy {
    pub const DEFAULT_FRESH_SECONDS: u64 = 30;
    pub const DEFAULT_MAX_STALE_SECONDS: u64 = 600;

    pub fn freshness(&self, entry: &CacheEntry, now_ms: u64) -> Freshness {
        let age = entry.age_ms(now_ms);
        let fresh_ms = self.fresh_seconds.saturating_mul(1000);
        if age < fresh_ms {
            Freshness::Fresh
        } else if age < fresh_ms.saturating_add(self.max_stale_seconds.saturating_mul(1000)) {
            Freshness::Stale
        } else {
            Freshness::Expired
        }
    }

    /// `Cache-Control` for public catalog responses: shared caches (CDNs) may keep them for
    /// the same budget as ours, and serve them stale while revalidating or on errors.
    pub fn public_cache_control(&self) -> String {
        format!(
            "public, max-age={fresh}, stale-while-revalidate={stale}, stale-if-error={stale}",
            fresh = self.fresh_seconds,
            stale = self.max_stale_seconds
        )
    }
}

impl Default for CachePolicy {
    fn default() -> Self {
        CachePolicy {
            fresh_seconds: Self::DEFAULT_FRESH_SECONDS,
            max_stale_seconds: Self::DEFAULT_MAX_STALE_SECONDS,
        }
    }
}

/// `x-cache` header values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheStatus {
    Hit,
    Miss,
    Stale,
    /// Not cached: the cache is off, or the client must see its own write (primary read).
    Bypass,
}

impl CacheStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CacheStatus::Hit => "hit",
            CacheStatus::Miss => "miss",
            CacheStatus::Stale => "stale",
            CacheStatus::Bypass => "bypass",
        }
    }
}

/// A strong ETag: the first 128 bits of the body's SHA-256, quoted.
pub fn etag(body: &[u8]) -> String {
    let digest = Sha256::digest(body);
    let hex: String = digest[..16]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    format!("\"{hex}\"")
}

/// Whether an `If-None-Match` header value matches `etag` (weak comparison, as RFC 9110
/// requires for `If-None-Match`; `*` matches anything).
pub fn if_none_match(header: &str, etag: &str) -> bool {
    let bare = |tag: &str| tag.trim().trim_start_matches("W/").to_owned();
    let ours = bare(etag);
    header
        .split(',')
        .map(str::trim)
        .any(|candidate| candidate == "*" || bare(candidate) == ours)
}

fn hashed(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    digest[..12]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// Key of a list page in the given generation.
pub fn list_key(generation: &str, query: &CourseQuery) -> String {
    format!("catalog:list:{generation}:{}", hashed(&query.canonical()))
}

/// Key of a batch lookup in the given generation (ids in the order asked: the response keeps it).
pub fn batch_key(generation: &str, ids: &[Uuid]) -> String {
    let joined = ids
        .iter()
        .map(Uuid::to_string)
        .collect::<Vec<_>>()
        .join(",");
    format!("catalog:batch:{generation}:{}", hashed(&joined))
}

pub fn categories_key(generation: &str) -> String {
    format!("catalog:categories:{generation}")
}

/// Key of a course page. Not generation-scoped: a change to one course drops its keys by name.
pub fn detail_key(course: &CourseRef) -> String {
    match course {
        CourseRef::Id(id) => format!("catalog:course:id:{id}"),
        CourseRef::Slug(slug) => format!("catalog:course:slug:{slug}"),
    }
}

/// Redis key of the short lease that lets one request refresh `cache_key` while others wait.
pub fn lease_key(cache_key: &str) -> String {
    format!("catalog:lease:{cache_key}")
}

/// The message published on [`INVALIDATION_CHANNEL`] after an admin write.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Invalidation {
    pub course_id: Uuid,
    /// Every slug the course had before and after the change.
    pub slugs: Vec<String>,
    /// The primary's WAL position right after the write, when it could be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_lsn: Option<String>,
}

impl Invalidation {
    pub fn new(course_id: Uuid, old_slug: &str, new_slug: &str) -> Invalidation {
        let mut slugs = vec![old_slug.to_owned()];
        if new_slug != old_slug {
            slugs.push(new_slug.to_owned());
        }
        Invalidation {
            course_id,
            slugs,
            primary_lsn: None,
        }
    }

    pub fn written_at(mut self, lsn: Option<Lsn>) -> Invalidation {
        self.primary_lsn = lsn.map(|lsn| lsn.to_string());
        self
    }

    /// The new [`REPLICA_FLOOR_KEY`] value, if this write is newer than `current_floor`.
    pub fn raised_floor(&self, current_floor: Option<&[u8]>) -> Option<String> {
        let written: Lsn = self.primary_lsn.as_deref()?.parse().ok()?;
        let current = current_floor
            .and_then(|bytes| std::str::from_utf8(bytes).ok())
            .and_then(|text| text.parse::<Lsn>().ok());
        (current < Some(written)).then(|| written.to_string())
    }

    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    pub fn from_json(bytes: &[u8]) -> Result<Invalidation, serde_json::Error> {
        serde_json::from_slice(bytes)
    }

    /// Course-page keys to delete; list-like keys go by bumping the generation.
    pub fn detail_keys(&self) -> Vec<String> {
        let mut keys = vec![detail_key(&CourseRef::Id(self.course_id))];
        keys.extend(
            self.slugs
                .iter()
                .map(|slug| detail_key(&CourseRef::Slug(slug.clone()))),
        );
        keys
    }
}

/// A new generation value, unique without reading the old one (no read-modify-write race).
pub fn new_generation() -> String {
    Uuid::now_v7().simple().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> CachePolicy {
        CachePolicy {
            fresh_seconds: 30,
            max_stale_seconds: 600,
        }
    }

    #[test]
    fn entries_round_trip_with_their_body_untouched() {
        let entry = CacheEntry::new(1_700_000_000_123, b"{\"items\":[]}\nline two".to_vec());
        assert_eq!(CacheEntry::decode(&entry.encode()), Some(entry));
        assert_eq!(CacheEntry::decode(b"{\"items\":[]}"), None);
        assert_eq!(CacheEntry::decode(b"cc2 1 \"x\"\n{}"), None);
    }

    #[test]
    fn freshness_follows_the_budget_then_the_staleness_limit() {
        let entry = CacheEntry::new(1_000_000, b"{}".to_vec());
        assert_eq!(policy().freshness(&entry, 1_000_000), Freshness::Fresh);
        assert_eq!(
            policy().freshness(&entry, 1_000_000 + 29_999),
            Freshness::Fresh
        );
        assert_eq!(
            policy().freshness(&entry, 1_000_000 + 30_000),
            Freshness::Stale
        );
        assert_eq!(
            policy().freshness(&entry, 1_000_000 + 629_999),
            Freshness::Stale
        );
        assert_eq!(
            policy().freshness(&entry, 1_000_000 + 630_000),
            Freshness::Expired
        );
        // A clock that went backwards makes the entry look new, not negative.
        assert_eq!(policy().freshness(&entry, 0), Freshness::Fresh);
    }

    #[test]
    fn public_cache_control_names_the_budgets() {
        assert_eq!(
            policy().public_cache_control(),
            "public, max-age=30, stale-while-revalidate=600, stale-if-error=600"
        );
    }

    #[test]
    fn etags_change_with_the_body() {
        let tag = etag(b"a");
        assert!(
            tag.starts_with('"') && tag.ends_with('"') && tag.len() == 34,
            "{tag}"
        );
        assert_ne!(tag, etag(b"b"));
        assert_eq!(tag, etag(b"a"));
    }

    #[test]
    fn if_none_match_handles_lists_weak_tags_and_star() {
        let tag = etag(b"a");
        assert!(if_none_match(&tag, &tag));
        assert!(if_none_match(&format!("\"other\", W/{tag}"), &tag));
        assert!(if_none_match("*", &tag));
        assert!(!if_none_match("\"other\"", &tag));
    }

    #[test]
    fn list_keys_depend_on_generation_and_canonical_query() {
        let page = CourseQuery::parse(Some("q=Rust")).expect("valid");
        let same = CourseQuery::parse(Some("q=rust&page=1")).expect("valid");
        assert_eq!(list_key("g1", &page), list_key("g1", &same));
        assert_ne!(list_key("g1", &page), list_key("g2", &page));
        assert_ne!(categories_key("g1"), categories_key("g2"));
    }

    #[test]
    fn invalidation_names_every_key_of_the_course() {
        let id = Uuid::now_v7();
        let message = Invalidation::new(id, "old-name", "new-name");
        let decoded = Invalidation::from_json(&message.to_json()).expect("round trip");
        assert_eq!(
            decoded.detail_keys(),
            [
                format!("catalog:course:id:{id}"),
                "catalog:course:slug:old-name".to_owned(),
                "catalog:course:slug:new-name".to_owned()
            ]
        );
        assert_eq!(Invalidation::new(id, "same", "same").slugs, ["same"]);
    }

    #[test]
    fn invalidations_raise_the_replica_floor_only_forward() {
        let id = Uuid::now_v7();
        let lsn = |text: &str| text.parse::<Lsn>().ok();
        let write = Invalidation::new(id, "a", "a").written_at(lsn("0/200"));
        let decoded = Invalidation::from_json(&write.to_json()).expect("round trip");
        assert_eq!(decoded.raised_floor(None).as_deref(), Some("0/200"));
        assert_eq!(
            decoded.raised_floor(Some(b"0/100")).as_deref(),
            Some("0/200")
        );
        assert_eq!(decoded.raised_floor(Some(b"0/200")), None);
        assert_eq!(decoded.raised_floor(Some(b"1/0")), None);
        assert_eq!(
            decoded.raised_floor(Some(b"garbage")).as_deref(),
            Some("0/200")
        );
        // Messages from before the field existed, or writes whose position was unknown.
        let old = Invalidation::from_json(
            br#"{"course_id":"0193d5a0-0000-7000-8000-000000000000","slugs":[]}"#,
        )
        .expect("old message");
        assert_eq!(old.raised_floor(None), None);
    }

    #[test]
    fn generations_are_unique() {
        assert_ne!(new_generation(), new_generation());
    }
}
