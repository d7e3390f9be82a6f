//! The pause between two rounds of a wait: short at first, doubling to a
//! ceiling. What the provider waits for (a restarted kubelet to report in,
//! an evicted pod to stop, a disruption budget to free up) is often done
//! within a fraction of a second, so a fixed long pause adds up to seconds
//! per node; a fixed short one hammers the API server during a long wait.

use std::time::Duration;

/// Pauses from `first`, doubling up to `ceiling`.
#[derive(Debug, Clone)]
pub struct Backoff {
    next: Duration,
    ceiling: Duration,
}

impl Backoff {
    /// Starts at `first`; never more than `ceiling`.
    #[must_use]
    pub fn new(first: Duration, ceiling: Duration) -> Self {
        Self { next: first.min(ceiling), ceiling }
    }

    /// The pause to take now; the one after is twice as long (up to the ceiling).
    pub fn pause(&mut self) -> Duration {
        let pause = self.next;
        self.next = (self.next * 2).min(self.ceiling);
        pause
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_up_to_the_ceiling() {
        let mut backoff = Backoff::new(Duration::from_millis(50), Duration::from_millis(300));
        let pauses: Vec<u128> = (0..5).map(|_| backoff.pause().as_millis()).collect();
        assert_eq!(pauses, [50, 100, 200, 300, 300]);
        let mut flat = Backoff::new(Duration::from_secs(2), Duration::from_secs(1));
        assert_eq!(flat.pause(), Duration::from_secs(1));
    }
}
