//! Catalog user stories on the real app: browsing, search, detail, batch, categories,
//! every error, the edge cache (hit / miss / stale / 503), HTTP caching and admin writes,
//! including invalidation seen by a second app instance sharing Redis.

use catalog_core::course::CourseSummary;

mod admin;
mod browse;
mod cache;
mod logs;

/// The slugs of a page's items, in order.
pub(crate) fn slugs(items: &[CourseSummary]) -> Vec<&str> {
    items.iter().map(|item| item.slug.as_str()).collect()
}
