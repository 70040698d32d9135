//! Per-author rate limits on gossip, so one member flooding the circle cannot crowd out
//! everyone else or make other nodes hold an unbounded backlog.
//!
//! A token bucket per (circle, author), whichever node delivers the message, kept only for
//! current and departed members (so strangers cannot grow the table): `rate` messages a second on average, bursts of up to `burst`. Messages over
//! the limit are dropped from gossip (never stored from it); sync, which this node paces
//! itself, still brings them later.

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use circle_crypto::{CircleId, MemberKey};

/// Token buckets for authors.
pub struct Limiter {
    rate: f64,
    burst: f64,
    buckets: HashMap<(CircleId, MemberKey), (f64, Instant)>,
}

impl Limiter {
    /// `rate` messages a second, bursts of `burst`.
    pub fn new(rate: u32, burst: u32) -> Limiter {
        Limiter {
            rate: f64::from(rate.max(1)),
            burst: f64::from(burst.max(1)),
            buckets: HashMap::new(),
        }
    }

    /// Takes one message by `author` at `now`; false if over the limit.
    pub fn allow(&mut self, circle: CircleId, author: MemberKey, now: Instant) -> bool {
        let (tokens, last) = self
            .buckets
            .entry((circle, author))
            .or_insert((self.burst, now));
        let refill = now.saturating_duration_since(*last).as_secs_f64() * self.rate;
        *tokens = (*tokens + refill).min(self.burst);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Forgets buckets that have been full for a while (their authors are quiet).
    pub fn prune(&mut self, now: Instant) {
        let full_after = Duration::from_secs_f64(self.burst / self.rate);
        self.buckets
            .retain(|_, (_, last)| now.saturating_duration_since(*last) < full_after);
    }

    /// How many authors are tracked.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.buckets.len()
    }
}

/// How many times each key (a source address, a node) may do something within a window: a
/// fixed budget per key, so one source using up its own leaves everyone else theirs.
pub struct Budget<K> {
    per_key: usize,
    window: Duration,
    used: HashMap<K, Vec<Instant>>,
}

impl<K: std::hash::Hash + Eq + Clone> Budget<K> {
    /// `per_key` uses per `window` for each key.
    pub fn new(per_key: usize, window: Duration) -> Self {
        Budget {
            per_key,
            window,
            used: HashMap::new(),
        }
    }

    /// Takes one use for `key` at `now`; false (and nothing taken) if its budget is spent.
    pub fn take(&mut self, key: &K, now: Instant) -> bool {
        let window = self.window;
        let used = self.used.entry(key.clone()).or_default();
        used.retain(|t| now.saturating_duration_since(*t) < window);
        if used.len() >= self.per_key {
            return false;
        }
        used.push(now);
        true
    }

    /// Forgets keys with no use inside the window, so the table stays small.
    pub fn prune(&mut self, now: Instant) {
        let window = self.window;
        self.used.retain(|_, used| {
            used.retain(|t| now.saturating_duration_since(*t) < window);
            !used.is_empty()
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use circle_crypto::MemberSecret;

    #[test]
    fn one_source_spending_its_budget_leaves_the_others_theirs() {
        let mut budget = Budget::new(3, Duration::from_secs(60));
        let t0 = Instant::now();
        let spent = (0..10).filter(|_| budget.take(&"mallory", t0)).count();
        assert_eq!(spent, 3, "only her own budget");
        assert!(budget.take(&"bob", t0), "bob still has his");
        assert!(!budget.take(&"mallory", t0 + Duration::from_secs(59)));
        assert!(
            budget.take(&"mallory", t0 + Duration::from_secs(61)),
            "a new window, a new budget"
        );
        budget.prune(t0 + Duration::from_secs(600));
        assert!(budget.used.is_empty(), "quiet sources are forgotten");
    }

    #[test]
    fn a_burst_passes_then_the_rate_holds_and_others_are_not_affected() {
        let mut limiter = Limiter::new(10, 5);
        let (circle, flooder, other) = (
            CircleId::random(),
            MemberSecret::generate().public(),
            MemberSecret::generate().public(),
        );
        let t0 = Instant::now();
        let passed = (0..100)
            .filter(|_| limiter.allow(circle, flooder, t0))
            .count();
        assert_eq!(passed, 5, "only the burst passes at once");
        assert!(
            limiter.allow(circle, other, t0),
            "another author is not held back"
        );
        // A second later, about `rate` more.
        let t1 = t0 + Duration::from_secs(1);
        let passed = (0..100)
            .filter(|_| limiter.allow(circle, flooder, t1))
            .count();
        assert_eq!(passed, 5, "refill is capped at the burst");
        let t2 = t1 + Duration::from_millis(300);
        let passed = (0..100)
            .filter(|_| limiter.allow(circle, flooder, t2))
            .count();
        assert_eq!(passed, 3);
        limiter.prune(t2 + Duration::from_secs(60));
        assert_eq!(limiter.len(), 0, "quiet authors are forgotten");
    }
}
