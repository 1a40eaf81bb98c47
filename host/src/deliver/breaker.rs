//! The circuit breaker: a destination whose invocations fail many times in a row is paused, so
//! a vendor that is down is not hammered and its attempts stop burning retries. Its events keep
//! queueing meanwhile; nothing is dropped.
//!
//! Closed (normal) → after `breaker_failures` failed invocations in a row, paused for
//! `breaker_pause_ms` → then one probe invocation: success closes the breaker, failure pauses
//! again for twice as long (up to `max_backoff_ms`). An invocation fails when nothing in it was
//! delivered and something failed for a reason of the destination's (a 5xx, a timeout, a
//! throttle, refused credentials, a sandbox stop); an event refused for its own content (an
//! invalid payload, a 4xx about it) says nothing about the destination and is not counted.
//!
//! The state is shared with the admin API, which shows it.

use crate::config::Delivery;
use crate::runtime::Failure;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

/// What one invocation says about the destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Succeeded,
    Failed,
    /// Nothing either way (every event refused for its own content).
    Neither,
}

impl Outcome {
    /// Judges an invocation by its results.
    pub fn of(results: &[Result<(), Failure>]) -> Outcome {
        if results.iter().any(Result::is_ok) {
            return Outcome::Succeeded;
        }
        let about_destination = |f: &Failure| match f {
            Failure::InvalidPayload(_) => false,
            Failure::Permanent {
                status: Some(s), ..
            } => *s >= 500,
            Failure::Permanent { status: None, .. } => false,
            _ => true,
        };
        if results
            .iter()
            .any(|r| r.as_ref().is_err_and(about_destination))
        {
            Outcome::Failed
        } else {
            Outcome::Neither
        }
    }
}

/// May the worker start an invocation now?
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admit {
    Go,
    /// Paused until then.
    PausedUntil(Instant),
    /// A probe is out; wait for its answer.
    Probing,
}

/// One destination's breaker.
#[derive(Debug, Default)]
pub struct Breaker {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    failures: u32,
    /// Pauses in a row, for the backoff.
    pauses: u32,
    paused_until: Option<Instant>,
    /// The same moment on the wall clock, for the admin API.
    paused_until_wall: Option<SystemTime>,
    probing: bool,
}

/// What the admin API shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// "closed", "paused" or "probing".
    pub state: &'static str,
    pub failures_in_a_row: u32,
    pub paused_until: Option<SystemTime>,
}

impl Breaker {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether an invocation may start at `now`. After a pause, the first call is admitted as
    /// the probe and the others wait for its outcome.
    pub fn admit(&self, now: Instant) -> Admit {
        let mut s = self.lock();
        match s.paused_until {
            None => Admit::Go,
            Some(until) if now < until => Admit::PausedUntil(until),
            Some(_) if s.probing => Admit::Probing,
            Some(_) => {
                s.probing = true;
                Admit::Go
            }
        }
    }

    /// Records an invocation's outcome; answers the pause it started, if any.
    pub fn record(&self, outcome: Outcome, policy: &Delivery, now: Instant) -> Option<Duration> {
        if policy.breaker_failures == 0 {
            return None;
        }
        let mut s = self.lock();
        match outcome {
            Outcome::Succeeded => {
                *s = State::default();
                None
            }
            Outcome::Neither => {
                if s.probing {
                    // The probe told nothing: let another one go.
                    s.probing = false;
                }
                None
            }
            Outcome::Failed => {
                s.failures = s.failures.saturating_add(1);
                let probe_failed = s.probing;
                if !probe_failed
                    && (s.failures < policy.breaker_failures || s.paused_until.is_some())
                {
                    return None;
                }
                let factor = 1u64 << s.pauses.min(20);
                let pause = Duration::from_millis(
                    policy
                        .breaker_pause_ms
                        .saturating_mul(factor)
                        .min(policy.max_backoff_ms.max(policy.breaker_pause_ms)),
                );
                s.pauses += 1;
                s.probing = false;
                s.paused_until = Some(now + pause);
                s.paused_until_wall = Some(SystemTime::now() + pause);
                Some(pause)
            }
        }
    }

    /// The breaker's state, for the admin API and metrics.
    pub fn status(&self) -> Status {
        let s = self.lock();
        let state = match (s.paused_until, s.probing) {
            (None, _) => "closed",
            (Some(_), true) => "probing",
            (Some(until), false) if Instant::now() < until => "paused",
            (Some(_), false) => "probing",
        };
        Status {
            state,
            failures_in_a_row: s.failures,
            paused_until: s.paused_until_wall.filter(|_| state == "paused"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(failures: u32) -> Delivery {
        Delivery {
            breaker_failures: failures,
            breaker_pause_ms: 1_000,
            max_backoff_ms: 3_000,
            ..Delivery::default()
        }
    }

    #[test]
    fn trips_after_failures_in_a_row_and_probes_with_growing_pauses() {
        let b = Breaker::default();
        let p = policy(3);
        let t0 = Instant::now();
        assert_eq!(b.record(Outcome::Failed, &p, t0), None);
        assert_eq!(b.record(Outcome::Failed, &p, t0), None);
        assert_eq!(b.admit(t0), Admit::Go);
        assert_eq!(
            b.record(Outcome::Failed, &p, t0),
            Some(Duration::from_secs(1))
        );
        assert_eq!(b.status().state, "paused");
        assert_eq!(b.admit(t0), Admit::PausedUntil(t0 + Duration::from_secs(1)));
        // After the pause: one probe, the rest wait.
        let t1 = t0 + Duration::from_secs(1);
        assert_eq!(b.admit(t1), Admit::Go);
        assert_eq!(b.admit(t1), Admit::Probing);
        // The probe fails: twice as long.
        assert_eq!(
            b.record(Outcome::Failed, &p, t1),
            Some(Duration::from_secs(2))
        );
        let t2 = t1 + Duration::from_secs(2);
        assert_eq!(b.admit(t2), Admit::Go);
        // Capped at max_backoff_ms.
        assert_eq!(
            b.record(Outcome::Failed, &p, t2),
            Some(Duration::from_secs(3))
        );
        let t3 = t2 + Duration::from_secs(3);
        assert_eq!(b.admit(t3), Admit::Go);
        assert_eq!(b.record(Outcome::Succeeded, &p, t3), None);
        assert_eq!(b.status().state, "closed");
        assert_eq!(b.admit(t3), Admit::Go);
        assert_eq!(b.status().failures_in_a_row, 0);
    }

    #[test]
    fn a_success_or_a_payload_refusal_does_not_count_towards_a_pause() {
        let b = Breaker::default();
        let p = policy(2);
        let now = Instant::now();
        b.record(Outcome::Failed, &p, now);
        b.record(Outcome::Succeeded, &p, now);
        b.record(Outcome::Failed, &p, now);
        assert_eq!(b.record(Outcome::Neither, &p, now), None);
        assert_eq!(b.status().state, "closed");
        assert!(b.record(Outcome::Failed, &p, now).is_some());
        // Off when breaker_failures is 0.
        let off = Breaker::default();
        for _ in 0..100 {
            assert_eq!(off.record(Outcome::Failed, &policy(0), now), None);
        }
    }

    #[test]
    fn outcomes_are_judged_by_what_failed() {
        let bad_payload = Err(Failure::InvalidPayload("no email".into()));
        let not_found = Err(Failure::Permanent {
            message: "404".into(),
            status: Some(404),
        });
        let down = Err(Failure::Retryable {
            message: "503".into(),
            status: Some(503),
        });
        assert_eq!(
            Outcome::of(&[bad_payload.clone(), not_found]),
            Outcome::Neither
        );
        assert_eq!(Outcome::of(&[bad_payload, down.clone()]), Outcome::Failed);
        assert_eq!(Outcome::of(&[down, Ok(())]), Outcome::Succeeded);
        let auth = Err(Failure::Auth {
            message: "401".into(),
            status: Some(401),
        });
        assert_eq!(Outcome::of(&[auth]), Outcome::Failed);
    }
}
