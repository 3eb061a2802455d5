//! Request rate limits (a token bucket per caller) and the admission of new calls (caps on
//! concurrent calls per application and on the whole server).
//!
//! Both take their decisions from plain data and an explicit `Instant`, so they are tested without
//! clocks or sockets.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Most callers a limiter tracks; past it, callers whose buckets are full again are forgotten.
pub const MAX_BUCKETS: usize = 100_000;

/// A token bucket per caller: `requests_per_window` requests, refilled evenly over the window.
#[derive(Debug)]
pub struct RateLimiter {
    capacity: f64,
    refill_per_sec: f64,
    buckets: Mutex<HashMap<String, Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

impl RateLimiter {
    /// A limiter allowing `requests_per_window` per `window` per caller, bursting up to that many.
    pub fn new(requests_per_window: u32, window: Duration) -> Self {
        let capacity = f64::from(requests_per_window.max(1));
        RateLimiter {
            capacity,
            refill_per_sec: capacity / window.as_secs_f64().max(0.001),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one request from `caller`'s bucket, or says how long until one is available.
    pub fn check(&self, caller: &str, now: Instant) -> Result<(), Duration> {
        self.take(caller, now, true)
    }

    /// Whether `caller` has a request left, without taking it (how long until it has one if not).
    pub fn available(&self, caller: &str, now: Instant) -> Result<(), Duration> {
        self.take(caller, now, false)
    }

    fn take(&self, caller: &str, now: Instant, take: bool) -> Result<(), Duration> {
        // The lock is held for a few arithmetic operations; no await, no I/O inside.
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() >= MAX_BUCKETS && !buckets.contains_key(caller) {
            self.forget_refilled(&mut buckets, now);
        }
        let bucket = buckets.entry(caller.to_owned()).or_insert(Bucket {
            tokens: self.capacity,
            last: now,
        });
        let elapsed = now.saturating_duration_since(bucket.last).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.refill_per_sec).min(self.capacity);
        bucket.last = now;
        if bucket.tokens >= 1.0 {
            if take {
                bucket.tokens -= 1.0;
            }
            Ok(())
        } else {
            Err(Duration::from_secs_f64(
                (1.0 - bucket.tokens) / self.refill_per_sec,
            ))
        }
    }

    /// Drops the buckets that would be full by now (a new bucket starts full anyway), so callers
    /// that come once — a scan of client ids, say — cannot grow the table without bound.
    fn forget_refilled(&self, buckets: &mut HashMap<String, Bucket>, now: Instant) {
        let (capacity, refill) = (self.capacity, self.refill_per_sec);
        buckets.retain(|_, b| {
            let elapsed = now.saturating_duration_since(b.last).as_secs_f64();
            b.tokens + elapsed * refill < capacity
        });
        if buckets.len() >= MAX_BUCKETS {
            // Every bucket is in use: forget the longest idle half rather than grow.
            let mut lasts: Vec<Instant> = buckets.values().map(|b| b.last).collect();
            lasts.sort_unstable();
            let cut = lasts[lasts.len() / 2];
            buckets.retain(|_, b| b.last > cut);
        }
    }

    /// Callers tracked now.
    pub fn tracked(&self) -> usize {
        self.buckets.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// [`RateLimiter::check`] with the wait in whole seconds and what was exceeded, for a 429
    /// with `Retry-After`.
    pub fn check_request(&self, caller: &str, now: Instant) -> Result<(), Throttled> {
        self.check(caller, now)
            .map_err(|wait| self.throttled(caller, wait))
    }

    fn throttled(&self, caller: &str, wait: Duration) -> Throttled {
        Throttled {
            caller: caller.to_owned(),
            limit: self.capacity,
            window_secs: self.capacity / self.refill_per_sec,
            retry_after_secs: wait.as_secs() + u64::from(wait.subsec_nanos() > 0),
        }
    }
}

/// A caller exceeded its request rate.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error(
    "{caller} exceeded {limit} requests per {window_secs:.0} s; retry after {retry_after_secs} s"
)]
pub struct Throttled {
    /// Who was throttled (an app id, or what the limiter counts, e.g. "sign-in as <user>").
    pub caller: String,
    /// Requests allowed per window.
    pub limit: f64,
    /// The window, in seconds.
    pub window_secs: f64,
    /// Whole seconds until the next request is allowed.
    pub retry_after_secs: u64,
}

/// Bounds on what failed sign-ins may cost, since any unauthenticated client can cause them: a
/// token bucket of failures per source address and per client (or user) id, and a cap on
/// key-stretching checks running at once (each takes tens of milliseconds of a blocking thread).
/// A source that used up its failures is refused before any check; a client id that used up its
/// failures is refused only the slow checks, so guessing at one client's id cannot lock that
/// client out when its secret is a fast, unguessable one.
#[derive(Debug)]
pub struct SignInGuard {
    by_source: RateLimiter,
    by_client: RateLimiter,
    stretching: tokio::sync::Semaphore,
}

impl SignInGuard {
    /// A guard allowing `per_source` and `per_client` failed sign-ins a minute, and `stretching`
    /// slow checks at once.
    pub fn new(per_source: u32, per_client: u32, stretching: usize) -> SignInGuard {
        SignInGuard {
            by_source: RateLimiter::new(per_source, Duration::from_secs(60)),
            by_client: RateLimiter::new(per_client, Duration::from_secs(60)),
            stretching: tokio::sync::Semaphore::new(stretching.max(1)),
        }
    }

    /// Whether a sign-in from `source` may be checked at all.
    pub fn admit_source(&self, source: IpAddr, now: Instant) -> Result<(), Throttled> {
        let key = source.to_string();
        self.by_source.available(&key, now).map_err(|wait| {
            self.by_source
                .throttled(&format!("failed sign-ins from {source}"), wait)
        })
    }

    /// Whether a slow check for client (or user) `id` may run.
    pub fn admit_slow_check(&self, id: &str, now: Instant) -> Result<(), Throttled> {
        self.by_client.available(id, now).map_err(|wait| {
            self.by_client
                .throttled(&format!("failed sign-ins as {id}"), wait)
        })
    }

    /// Counts a failed sign-in from `source` as client (or user) `id`.
    pub fn failed(&self, source: IpAddr, id: &str, now: Instant) {
        let _ = self.by_source.check(&source.to_string(), now);
        let _ = self.by_client.check(id, now);
    }

    /// Runs a slow check on the blocking pool, at most the configured number at once.
    pub async fn slow_check(&self, check: impl FnOnce() -> bool + Send + 'static) -> bool {
        // The semaphore is never closed, so acquiring only waits.
        let Ok(_permit) = self.stretching.acquire().await else {
            return false;
        };
        tokio::task::spawn_blocking(check).await.unwrap_or(false)
    }
}

/// Caps on concurrent calls; the call code asks for a [`CallSlot`] when it creates a call (or
/// accepts an incoming one) and drops it when the call ends.
#[derive(Debug, Clone)]
pub struct CallAdmission {
    inner: Arc<AdmissionInner>,
}

#[derive(Debug)]
struct AdmissionInner {
    per_app_limit: u32,
    total_limit: u32,
    counts: Mutex<AdmissionCounts>,
}

#[derive(Debug, Default)]
struct AdmissionCounts {
    total: u32,
    per_app: HashMap<String, u32>,
}

/// Why a call was not admitted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdmissionError {
    /// The application holds its maximum number of calls.
    #[error(
        "application {app_id} already has {limit} concurrent calls, the most allowed (limits.max_concurrent_calls_per_app); end a call first"
    )]
    AppLimit {
        /// The app (client) id whose calls are at the cap.
        app_id: String,
        /// The cap (`limits.max_concurrent_calls_per_app`).
        limit: u32,
    },
    /// The server holds its maximum number of calls.
    #[error(
        "the server already carries {limit} concurrent calls, the most allowed (limits.max_concurrent_calls); try again later"
    )]
    ServerLimit {
        /// The cap (`limits.max_concurrent_calls`).
        limit: u32,
    },
}

/// One admitted call; releases its place when dropped.
#[derive(Debug)]
pub struct CallSlot {
    inner: Arc<AdmissionInner>,
    app_id: String,
}

impl CallAdmission {
    /// Caps of `per_app_limit` calls per application and `total_limit` on the server.
    pub fn new(per_app_limit: u32, total_limit: u32) -> Self {
        CallAdmission {
            inner: Arc::new(AdmissionInner {
                per_app_limit,
                total_limit,
                counts: Mutex::new(AdmissionCounts::default()),
            }),
        }
    }

    /// Admits one more call for `app_id`, or says which cap is reached.
    pub fn try_admit(&self, app_id: &str) -> Result<CallSlot, AdmissionError> {
        let mut counts = self.inner.counts.lock().unwrap_or_else(|p| p.into_inner());
        if counts.total >= self.inner.total_limit {
            return Err(AdmissionError::ServerLimit {
                limit: self.inner.total_limit,
            });
        }
        let app_count = counts.per_app.get(app_id).copied().unwrap_or(0);
        if app_count >= self.inner.per_app_limit {
            return Err(AdmissionError::AppLimit {
                app_id: app_id.to_owned(),
                limit: self.inner.per_app_limit,
            });
        }
        counts.total += 1;
        counts.per_app.insert(app_id.to_owned(), app_count + 1);
        metrics::gauge!(crate::metrics::ACTIVE_CALLS).set(f64::from(counts.total));
        Ok(CallSlot {
            inner: Arc::clone(&self.inner),
            app_id: app_id.to_owned(),
        })
    }

    /// Calls `app_id` holds now.
    pub fn active_for(&self, app_id: &str) -> u32 {
        let counts = self.inner.counts.lock().unwrap_or_else(|p| p.into_inner());
        counts.per_app.get(app_id).copied().unwrap_or(0)
    }

    /// Calls on the server now.
    pub fn active_total(&self) -> u32 {
        self.inner
            .counts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .total
    }
}

impl CallSlot {
    /// The application this call counts against.
    pub fn app_id(&self) -> &str {
        &self.app_id
    }
}

impl Drop for CallSlot {
    fn drop(&mut self) {
        let mut counts = self.inner.counts.lock().unwrap_or_else(|p| p.into_inner());
        counts.total = counts.total.saturating_sub(1);
        if let Some(count) = counts.per_app.get_mut(&self.app_id) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                counts.per_app.remove(&self.app_id);
            }
        }
        metrics::gauge!(crate::metrics::ACTIVE_CALLS).set(f64::from(counts.total));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_allows_a_burst_then_refills_evenly() {
        let limiter = RateLimiter::new(3, Duration::from_secs(3));
        let t0 = Instant::now();
        for _ in 0..3 {
            limiter.check("a", t0).unwrap();
        }
        let wait = limiter.check("a", t0).unwrap_err();
        assert!((wait.as_secs_f64() - 1.0).abs() < 1e-6, "wait {wait:?}");
        // Another caller has its own bucket.
        limiter.check("b", t0).unwrap();
        // After one second one request is available again, not more.
        let t1 = t0 + Duration::from_secs(1);
        limiter.check("a", t1).unwrap();
        assert!(limiter.check("a", t1).is_err());
    }

    #[test]
    fn a_source_out_of_failures_is_refused_and_a_client_only_its_slow_checks() {
        let guard = SignInGuard::new(3, 2, 1);
        let now = Instant::now();
        let attacker: IpAddr = "203.0.113.7".parse().unwrap();
        let neighbour: IpAddr = "203.0.113.8".parse().unwrap();
        for _ in 0..3 {
            assert!(guard.admit_source(attacker, now).is_ok());
            guard.failed(attacker, "client-x", now);
        }
        let refused = guard.admit_source(attacker, now).unwrap_err();
        assert!(
            refused
                .to_string()
                .contains("failed sign-ins from 203.0.113.7"),
            "{refused}"
        );
        assert!(refused.retry_after_secs >= 1);
        assert!(
            guard.admit_source(neighbour, now).is_ok(),
            "other sources go on"
        );
        assert!(guard.admit_slow_check("client-x", now).is_err());
        assert!(guard.admit_slow_check("client-y", now).is_ok());
        let later = now + Duration::from_secs(60);
        assert!(
            guard.admit_source(attacker, later).is_ok(),
            "failures are forgotten in time"
        );
    }

    #[test]
    fn available_looks_without_taking() {
        let limiter = RateLimiter::new(1, Duration::from_secs(60));
        let now = Instant::now();
        assert!(limiter.available("a", now).is_ok());
        assert!(limiter.available("a", now).is_ok());
        limiter.check("a", now).unwrap();
        assert!(limiter.available("a", now).is_err());
    }

    #[test]
    fn one_off_callers_cannot_grow_the_table_without_bound() {
        let limiter = RateLimiter::new(5, Duration::from_secs(60));
        let start = Instant::now();
        for i in 0..MAX_BUCKETS {
            let _ = limiter.check(&format!("client-{i}"), start);
        }
        assert_eq!(limiter.tracked(), MAX_BUCKETS);
        // A full table makes room rather than grow, even when every bucket is in use.
        let _ = limiter.check("one-more", start);
        assert!(limiter.tracked() <= MAX_BUCKETS, "{}", limiter.tracked());
        // A minute after a full table of one-off callers, their buckets are full again, and the
        // next newcomer clears them.
        let limiter = RateLimiter::new(5, Duration::from_secs(60));
        for i in 0..MAX_BUCKETS {
            let _ = limiter.check(&format!("client-{i}"), start);
        }
        let _ = limiter.check("late", start + Duration::from_secs(61));
        assert_eq!(limiter.tracked(), 1);
    }

    #[test]
    fn a_throttled_request_waits_whole_seconds() {
        let limiter = RateLimiter::new(1, Duration::from_secs(15));
        let now = Instant::now();
        limiter.check_request("app", now).unwrap();
        let error = limiter.check_request("app", now).unwrap_err();
        assert_eq!(error.retry_after_secs, 15);
    }

    #[test]
    fn admission_caps_per_app_and_total_and_releases_on_drop() {
        let admission = CallAdmission::new(2, 3);
        let a1 = admission.try_admit("a").unwrap();
        let _a2 = admission.try_admit("a").unwrap();
        assert_eq!(
            admission.try_admit("a").unwrap_err(),
            AdmissionError::AppLimit {
                app_id: "a".into(),
                limit: 2
            }
        );
        let _b1 = admission.try_admit("b").unwrap();
        assert_eq!(
            admission.try_admit("c").unwrap_err(),
            AdmissionError::ServerLimit { limit: 3 }
        );
        drop(a1);
        assert_eq!(admission.active_for("a"), 1);
        assert_eq!(admission.active_total(), 2);
        let _c1 = admission.try_admit("c").unwrap();
        assert!(admission.try_admit("c").is_err());
    }
}
