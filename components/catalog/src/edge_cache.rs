//! Cache-aside on the `catalog-cache` key-value store, with stampede protection.
//!
//! Entries carry their own freshness (the store has no TTL). On a miss, one request takes a
//! short lease (`SET NX PX`) in the region's own Redis (the cache is the region's, so is the
//! lease) and refreshes the entry; the others serve the stale copy if there is one, or poll
//! the store briefly for the leaseholder's value before falling back to the database
//! themselves. Cache failures never fail a request: they only cost a trip to the database.

use std::future::Future;
use std::time::Duration;

use catalog_core::cache::{self, CacheEntry, CachePolicy, CacheStatus, Freshness, Invalidation};
use platform::ApiError;
use platform::log::{Event, Fields, Logger};
use platform::replication::{Lsn, ReadFrom};
use spin_sdk::key_value::Store;
use spin_sdk::redis::{Connection as Redis, RedisParameter, RedisResult};

/// Long enough for one database round trip, short enough that a crashed leaseholder
/// delays others only briefly.
const LEASE_MILLIS: &str = "3000";
/// Bounded wait for another request's refresh: at most 20 x 25 ms.
const WAIT_ATTEMPTS: u32 = 20;
const WAIT_STEP: Duration = Duration::from_millis(25);

/// A response body and where it came from.
pub struct Cached {
    pub entry: CacheEntry,
    pub status: CacheStatus,
}

pub struct EdgeCache {
    /// `None`: every read goes to the database (cache off).
    store: Option<Store>,
    pub policy: CachePolicy,
    /// Which database a refill may use, as the router decided.
    pub read_from: ReadFrom,
    /// The request's: what the cache survives is logged, not answered.
    pub logger: Logger,
}

pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or_default()
}

impl EdgeCache {
    /// Opens the store and reads the freshness budget from the Spin variables.
    pub async fn open(logger: &Logger, read_from: ReadFrom) -> EdgeCache {
        let logger = logger.clone();
        let defaults = CachePolicy::default();
        let policy = CachePolicy {
            fresh_seconds: runtime::vars::parsed_or(
                "catalog_fresh_seconds",
                defaults.fresh_seconds,
            )
            .await,
            max_stale_seconds: runtime::vars::parsed_or(
                "catalog_max_stale_seconds",
                defaults.max_stale_seconds,
            )
            .await,
        };
        if !runtime::vars::parsed_or("catalog_cache_enabled", true).await {
            return EdgeCache {
                store: None,
                policy,
                read_from,
                logger,
            };
        }
        let store = match Store::open(cache::STORE).await {
            Ok(store) => Some(store),
            Err(error) => {
                logger.error(Event::CacheBypassed, format_args!("store: {error:?}"));
                None
            }
        };
        EdgeCache {
            store,
            policy,
            read_from,
            logger,
        }
    }

    /// The primary's position after the newest catalog write this region has heard of.
    pub async fn replica_floor(&self) -> Option<Lsn> {
        let bytes = self
            .store
            .as_ref()?
            .get(cache::REPLICA_FLOOR_KEY)
            .await
            .ok()??;
        String::from_utf8(bytes).ok()?.parse().ok()
    }

    /// The current list generation of this region.
    pub async fn generation(&self) -> String {
        let Some(store) = &self.store else {
            return cache::INITIAL_GENERATION.to_owned();
        };
        match store.get(cache::GENERATION_KEY).await {
            Ok(Some(bytes)) => {
                String::from_utf8(bytes).unwrap_or_else(|_| cache::INITIAL_GENERATION.to_owned())
            }
            _ => cache::INITIAL_GENERATION.to_owned(),
        }
    }

    async fn read(&self, key: &str) -> Option<CacheEntry> {
        let bytes = self.store.as_ref()?.get(key).await.ok()??;
        CacheEntry::decode(&bytes)
    }

    async fn write(&self, key: &str, entry: &CacheEntry) {
        if let Some(store) = &self.store
            && let Err(error) = store.set(key, entry.encode()).await
        {
            self.logger
                .error(Event::CacheBypassed, format_args!("write: {error:?}"));
        }
    }

    fn fresh(&self, entry: Option<CacheEntry>) -> Option<CacheEntry> {
        entry.filter(|entry| self.policy.freshness(entry, now_ms()) == Freshness::Fresh)
    }

    /// The cached body for `key`, or `load`'s result stored under it.
    ///
    /// A `load` failing with 503 (database unreachable) yields the stale copy when one is
    /// within the maximum staleness; any other error (404, ...) passes through uncached.
    pub async fn get_or_load<F, Fut>(&self, key: &str, load: F) -> Result<Cached, ApiError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Vec<u8>, ApiError>>,
    {
        if self.store.is_none() {
            // Nothing shared to fill: coordinating refreshes would only add waiting.
            let entry = CacheEntry::new(now_ms(), load().await?);
            return Ok(Cached {
                entry,
                status: CacheStatus::Bypass,
            });
        }
        if self.read_from == ReadFrom::Primary {
            return self.read_primary(key, load).await;
        }
        let mut stale = match self.read(key).await {
            Some(entry) => match self.policy.freshness(&entry, now_ms()) {
                Freshness::Fresh => {
                    return Ok(Cached {
                        entry,
                        status: CacheStatus::Hit,
                    });
                }
                Freshness::Stale => Some(entry),
                Freshness::Expired => None,
            },
            None => None,
        };
        let lease = Lease::acquire(&self.logger, key).await;
        match &lease {
            Lease::Busy => {
                if let Some(entry) = stale.take() {
                    return Ok(Cached {
                        entry,
                        status: CacheStatus::Stale,
                    });
                }
                let waiting_since = now_ms();
                for _ in 0..WAIT_ATTEMPTS {
                    spin_sdk::time::sleep(WAIT_STEP).await;
                    // The leaseholder's value is the newest there is, even with a zero budget.
                    let written = self.read(key).await.filter(|entry| {
                        entry.stored_at_ms >= waiting_since
                            || self.policy.freshness(entry, now_ms()) == Freshness::Fresh
                    });
                    if let Some(entry) = written {
                        return Ok(Cached {
                            entry,
                            status: CacheStatus::Hit,
                        });
                    }
                }
            }
            Lease::Held(_) => {
                // The previous leaseholder stores before releasing: look again before loading.
                if let Some(entry) = self.fresh(self.read(key).await) {
                    lease.release(&self.logger).await;
                    return Ok(Cached {
                        entry,
                        status: CacheStatus::Hit,
                    });
                }
            }
            Lease::Unavailable => {}
        }
        let outcome = match load().await {
            Ok(body) => {
                let entry = CacheEntry::new(now_ms(), body);
                self.write(key, &entry).await;
                Ok(Cached {
                    entry,
                    status: CacheStatus::Miss,
                })
            }
            Err(error) => self.stale_or(error, stale),
        };
        lease.release(&self.logger).await;
        outcome
    }

    /// A client who must see its own write skips this region's copy, which may predate
    /// the write until its invalidation arrives. When the primary is out of reach the copy
    /// is served all the same, as to anyone else (`stale`): an older page beats none.
    async fn read_primary<F, Fut>(&self, key: &str, load: F) -> Result<Cached, ApiError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Vec<u8>, ApiError>>,
    {
        match load().await {
            Ok(body) => Ok(Cached {
                entry: CacheEntry::new(now_ms(), body),
                status: CacheStatus::Bypass,
            }),
            Err(error) => {
                // Only an outage reaches for the copy: no store read on other errors.
                let copy = match error {
                    ApiError::ServiceUnavailable { .. } => self.read(key).await.filter(|entry| {
                        self.policy.freshness(entry, now_ms()) != Freshness::Expired
                    }),
                    _ => None,
                };
                self.stale_or(error, copy)
            }
        }
    }
}

impl EdgeCache {
    /// The one rule for a failed load: the database out of reach (503) serves `copy` when
    /// there is one, within the maximum staleness, and logs the outage the client does
    /// not see; any other error (404, ...) passes through.
    fn stale_or(&self, error: ApiError, copy: Option<CacheEntry>) -> Result<Cached, ApiError> {
        match (error, copy) {
            (ApiError::ServiceUnavailable { cause, .. }, Some(entry)) => {
                let age_ms = now_ms().saturating_sub(entry.stored_at_ms);
                self.logger.log(
                    Event::ServedStale,
                    Fields::new().count("age_ms", age_ms).error(cause),
                );
                Ok(Cached {
                    entry,
                    status: CacheStatus::Stale,
                })
            }
            (error, _) => Err(error),
        }
    }
}

/// Drops what an admin write changed in this region at once; the cache-invalidator does
/// the same in every region when the published message arrives.
pub async fn invalidate_this_region(logger: &Logger, invalidation: &Invalidation) {
    if let Err(failures) = runtime::catalog_cache::apply_invalidation(invalidation).await {
        logger.error(
            Event::InvalidationFailed,
            format_args!("not applied here: {}", failures.join("; ")),
        );
    }
}

/// The right to refresh one key.
enum Lease {
    Held(Box<(Redis, String)>),
    /// Another request is refreshing the key.
    Busy,
    /// Redis is out of reach: refresh without coordination rather than fail.
    Unavailable,
}

impl Lease {
    async fn acquire(logger: &Logger, cache_key: &str) -> Lease {
        let Ok(url) = runtime::vars::regional_redis_url().await else {
            return Lease::Unavailable;
        };
        let Ok(redis) = Redis::open(url).await else {
            return Lease::Unavailable;
        };
        let key = cache::lease_key(cache_key);
        let arguments = [key.as_str(), "1", "NX", "PX", LEASE_MILLIS]
            .map(|argument| RedisParameter::Binary(argument.as_bytes().to_vec()));
        match redis.execute("SET", arguments).await {
            Ok(results)
                if results.iter().any(
                    |result| matches!(result, RedisResult::Status(status) if status == "OK"),
                ) =>
            {
                Lease::Held(Box::new((redis, key)))
            }
            Ok(_) => Lease::Busy,
            Err(error) => {
                logger.error(Event::CacheBypassed, format_args!("lease: {error:?}"));
                Lease::Unavailable
            }
        }
    }

    async fn release(&self, logger: &Logger) {
        if let Lease::Held(held) = self {
            let (redis, key) = held.as_ref();
            if let Err(error) = redis.del([key.as_str()]).await {
                logger.error(
                    Event::CacheBypassed,
                    format_args!("lease release: {error:?}"),
                );
            }
        }
    }
}
