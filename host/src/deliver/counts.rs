//! Deliveries of the last 24 hours, per destination: how many were delivered, how many failed
//! and wait for a retry, how many went to dead letters. The console's overview shows them.
//!
//! They are counted in memory, in one slot per hour, as attempts are settled, so showing them
//! never scans the delivery log. At startup the slots are filled once from the log's last 24
//! hours (`Records::outcome_counts`), so a restart does not zero them.

use crate::queue::Millis;
use std::collections::HashMap;
use std::sync::Mutex;

const HOUR: Millis = 3_600_000;

/// What one destination's attempts came to.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub delivered: u64,
    /// Attempts that failed and were given another try.
    pub retrying: u64,
    pub dead_lettered: u64,
}

/// Per destination, 24 hourly slots, each tagged with the hour it counts.
#[derive(Debug, Default)]
pub struct DeliveryCounts {
    by_destination: Mutex<HashMap<String, [(Millis, Counts); 24]>>,
}

impl DeliveryCounts {
    /// Counts `n` attempts of `destination` that came to `outcome` (`delivered`, `retry` or
    /// `dead-letter`, as the delivery log writes them) at `at`.
    pub fn add(&self, destination: &str, outcome: &str, at: Millis, n: u64) {
        let hour = at.div_euclid(HOUR);
        let mut all = self
            .by_destination
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let slots = all
            .entry(destination.to_string())
            .or_insert_with(|| [(Millis::MIN, Counts::default()); 24]);
        let slot = &mut slots[hour.rem_euclid(24) as usize];
        // A slot holds its newest hour: one a day older is outside the window (the log's rows
        // at startup come in no particular order).
        if slot.0 > hour {
            return;
        }
        if slot.0 < hour {
            *slot = (hour, Counts::default());
        }
        match outcome {
            "delivered" => slot.1.delivered += n,
            "retry" => slot.1.retrying += n,
            "dead-letter" => slot.1.dead_lettered += n,
            _ => {}
        }
    }

    /// `destination`'s counts over the 24 hours before `now`.
    pub fn last_day(&self, destination: &str, now: Millis) -> Counts {
        let newest = now.div_euclid(HOUR);
        let all = self
            .by_destination
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let mut sum = Counts::default();
        for (hour, c) in all.get(destination).into_iter().flatten() {
            if *hour > newest - 24 && *hour <= newest {
                sum.delivered += c.delivered;
                sum.retrying += c.retrying;
                sum.dead_lettered += c.dead_lettered;
            }
        }
        sum
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_cover_the_last_24_hours_only() {
        let counts = DeliveryCounts::default();
        let now = 1_000 * HOUR + 5;
        counts.add("crm", "delivered", now, 3);
        counts.add("crm", "retry", now - 2 * HOUR, 1);
        counts.add("crm", "dead-letter", now - 23 * HOUR, 2);
        // A day ago: outside the window, and it shares its slot with the newest hour, which
        // it must not displace.
        counts.add("crm", "delivered", now - 24 * HOUR, 100);
        counts.add("other", "delivered", now, 7);
        assert_eq!(
            counts.last_day("crm", now),
            Counts {
                delivered: 3,
                retrying: 1,
                dead_lettered: 2
            }
        );
        // Two hours on, the oldest hour has left the window.
        assert_eq!(
            counts.last_day("crm", now + 2 * HOUR),
            Counts {
                delivered: 3,
                retrying: 1,
                dead_lettered: 0
            }
        );
        assert_eq!(counts.last_day("nobody", now), Counts::default());
    }

    #[test]
    fn a_slot_reused_for_a_new_hour_starts_from_zero() {
        let counts = DeliveryCounts::default();
        counts.add("crm", "delivered", 0, 5);
        counts.add("crm", "delivered", 24 * HOUR, 1);
        assert_eq!(counts.last_day("crm", 24 * HOUR).delivered, 1);
    }
}
