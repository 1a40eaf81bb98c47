//! Replay and backfill: history from the event log run through a destination's subscriptions
//! as they are now (`switchyard replay`, `POST /admin/replay`, a subscription's `start_from`).
//!
//! A replay reads the events received in `[from, until)` that the destination has already
//! read (sequence numbers up to its cursor when the replay begins), routes them with the routes
//! in force ([`super::feed::route`], the same pure step the feeder runs), and stores the
//! deliveries as the feeder would, marked `replayed`, without moving the cursor
//! ([`EventLog::requeue`]). The worker then delivers them like any other: batching, retries,
//! per-user order and dead letters apply unchanged.
//!
//! Invariants, and why:
//! - A replay never reads past the destination's cursor: what lies beyond it the feeder routes
//!   anyway (through the current subscriptions), so a replay adds no second delivery of it.
//! - A dry run stores nothing; it counts what a replay would make, by subscription.
//! - A subscription's backfill (its `start_from`) runs once per start time: its progress is
//!   stored with each chunk's deliveries in one step, so a restart resumes it, and a
//!   finished one is never run again (changing `start_from` asks for another).
//! - Replayed events are sent again even if they were delivered before: that is the point of
//!   a replay. Vendors that de-duplicate by messageId see the same one.

use super::Stop;
use super::feed::{pause, route};
use crate::queue::log::{Backfill, Seq, Start};
use crate::queue::{EventLog, Millis, QueueError};
use crate::routes::Routes;
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// Events read and routed per step.
const CHUNK: usize = 512;

/// What to replay.
#[derive(Debug, Clone, PartialEq)]
pub struct Replay {
    pub destination: String,
    /// One subscription, by name; `None`: all of the destination's.
    pub subscription: Option<String>,
    /// Events received at or after this time…
    pub from: Millis,
    /// …and before this one.
    pub until: Millis,
    /// Count what would be sent; send nothing.
    pub dry_run: bool,
}

/// What a replay did (or, dry, would do).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Replayed {
    pub destination: String,
    pub dry_run: bool,
    /// Events of the window read from the log.
    pub events: u64,
    /// Deliveries made (or that would be), by subscription; subscriptions that matched nothing
    /// are listed with 0.
    pub deliveries: BTreeMap<String, u64>,
    /// Matching events whose mapping could not build a payload: they go to dead letters.
    pub refused: u64,
}

/// Why a replay was not made.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// The destination or subscription does not exist (or is switched off).
    #[error("{0}")]
    NotFound(String),
    /// The request cannot be met as asked.
    #[error("{0}")]
    BadRequest(String),
    #[error("the event log: {0}")]
    Log(#[from] QueueError),
}

/// Runs a replay through `routes` (the ones in force).
pub async fn replay(
    routes: &Routes,
    log: &dyn EventLog,
    ask: &Replay,
    now: Millis,
) -> Result<Replayed, ReplayError> {
    if ask.until <= ask.from {
        return Err(ReplayError::BadRequest(format!(
            "until ({}) must be after from ({})",
            crate::queue::shown_time(ask.until),
            crate::queue::shown_time(ask.from)
        )));
    }
    let Some(r) = routes
        .destinations
        .iter()
        .position(|d| d.name == ask.destination)
    else {
        let names: Vec<&str> = routes
            .destinations
            .iter()
            .map(|d| d.name.as_str())
            .collect();
        return Err(ReplayError::NotFound(format!(
            "there is no running destination {:?}; the running ones are: {}",
            ask.destination,
            names.join(", ")
        )));
    };
    let route_of = &routes.destinations[r];
    let only = match &ask.subscription {
        None => None,
        Some(name) => Some(
            route_of
                .subscriptions
                .iter()
                .position(|s| &s.name == name)
                .ok_or_else(|| {
                    let names: Vec<&str> = route_of
                        .subscriptions
                        .iter()
                        .map(|s| s.name.as_str())
                        .collect();
                    ReplayError::NotFound(format!(
                        "destination {:?} has no enabled subscription {name:?}; its \
                         subscriptions are: {}",
                        ask.destination,
                        names.join(", ")
                    ))
                })?,
        ),
    };
    let mut done = Replayed {
        destination: ask.destination.clone(),
        dry_run: ask.dry_run,
        ..Replayed::default()
    };
    for (i, s) in route_of.subscriptions.iter().enumerate() {
        if only.is_none_or(|o| o == i) {
            done.deliveries.insert(s.name.clone(), 0);
        }
    }
    let through = log.open_consumer(&ask.destination, Start::End, now).await?;
    let mut after: Seq = 0;
    loop {
        let entries = log
            .read_between((ask.from, ask.until), (after, through), CHUNK)
            .await?;
        let Some(last) = entries.last().map(|e| e.seq) else {
            break;
        };
        let (routed, _) = route(routes, r, &entries, only, true);
        done.events += entries.len() as u64;
        done.refused += routed.refused.len() as u64;
        for h in &routed.held {
            *done
                .deliveries
                .entry(h.delivery.subscription.clone())
                .or_default() += 1;
        }
        if !ask.dry_run {
            log.requeue(&ask.destination, routed, None, now).await?;
        }
        after = last;
    }
    Ok(done)
}

/// How long a backfill waits after the log failed before it tries again.
const AFTER_FAILURE: Duration = Duration::from_secs(1);

/// Runs the backfills of destination `r`'s subscriptions that have a `start_from` and have
/// not finished, before the feeder reads on. Answers false if the round stopped first (the
/// next round resumes them).
pub(super) async fn backfill(
    routes: &Routes,
    r: usize,
    log: &dyn EventLog,
    stop: &mut Stop,
) -> bool {
    let route_of = &routes.destinations[r];
    for (i, sub) in route_of.subscriptions.iter().enumerate() {
        let Some(start_from) = sub.start_from else {
            continue;
        };
        loop {
            if stop.now() {
                return false;
            }
            match backfill_one(routes, r, i, start_from, log, stop).await {
                Ok(()) => break,
                Err(e) => {
                    tracing::warn!(destination = %route_of.name, subscription = %sub.name, "Cannot backfill from the event log: {e}");
                    if pause(stop, AFTER_FAILURE).await {
                        return false;
                    }
                }
            }
        }
    }
    !stop.now()
}

/// One subscription's backfill, chunk by chunk, each stored with the progress it makes.
async fn backfill_one(
    routes: &Routes,
    r: usize,
    i: usize,
    start_from: Millis,
    log: &dyn EventLog,
    stop: &Stop,
) -> Result<(), QueueError> {
    let name = &routes.destinations[r].name;
    let sub = &routes.destinations[r].subscriptions[i].name;
    let mut state: Backfill = log.backfill(name, sub, start_from).await?;
    let mut sent = 0usize;
    while !state.done() {
        if stop.now() {
            return Ok(());
        }
        let entries = log
            .read_between(
                (start_from, Millis::MAX),
                (state.after, state.through),
                CHUNK,
            )
            .await?;
        let routed = match entries.last() {
            Some(last) => {
                state.after = last.seq;
                route(routes, r, &entries, Some(i), true).0
            }
            None => {
                state.after = state.through;
                Default::default()
            }
        };
        sent += routed.held.len();
        log.requeue(
            name,
            routed,
            Some((sub.clone(), state)),
            crate::queue::now(),
        )
        .await?;
    }
    if sent > 0 {
        tracing::info!(destination = %name, subscription = %sub, deliveries = sent, "Backfilled from {}.", crate::queue::shown_time(start_from));
    }
    Ok(())
}
