//! Routing after the answer: one feeder per destination reads the event log from the
//! destination's cursor, routes each event through that destination's subscriptions alone
//! ([`Routes::route_to`]: triggers and mappings, no I/O), and hands on what it made
//! (deliveries, and dead letters for payloads that could not be built) in one of two ways
//! ([`Store`]):
//! - straight to the destination's worker (`mod.rs`), in memory: the worker delivers them at
//!   once and acks them in the log with their results ([`EventLog::ack`]), so only what must
//!   wait (a retry, a delivery handed back at a stop) and dead letters are written again. The
//!   destination's durable cursor moves only past events whose every delivery has its result
//!   recorded; the feeder reads on ahead of it, at most a few chunks (the channel's bound and
//!   the worker's hand), so a destination that is slow or down falls behind on its cursor;
//! - for a destination with `ordered = true`, into its deliveries together with the cursor's
//!   move, in one step ([`EventLog::advance`]); the worker leases them one user at a time.
//!
//! Invariants, and why:
//! - An event is routed once per destination: it is either still ahead of the durable cursor,
//!   or what it made is stored (or delivered and recorded). A crash in between reads it again:
//!   at least once, never lost; what is sent twice is bounded by what was in flight.
//! - Events are routed in log order, so a user's deliveries keep their order.
//! - A feeder routes with the routes of its round, and stops (before storing anything) once
//!   they are replaced, so a changed mapping applies to every event not yet routed.
//! - A destination made while the server runs starts at the end of the log: it gets the events
//!   accepted from then on (`server/mod.rs` makes the consumers of the configured destinations
//!   before ingest opens, so none is skipped at start).

use super::Stop;
use crate::queue::log::{LogEntry, Seq};
use crate::queue::{self, EventLog, Held, Leased, Millis, NewDelivery, Refused, Routed};
use crate::routes::Routes;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

/// Events routed and stored in one step, at most.
const CHUNK: usize = 512;

/// How long a feeder waits after the store failed before it tries again.
const AFTER_FAILURE: Duration = Duration::from_secs(1);

/// Where a feeder puts what it routed.
pub(super) enum Store {
    /// Into the destination's deliveries, with the cursor's move.
    Table,
    /// To the destination's worker.
    Worker(tokio::sync::mpsc::Sender<Fed>),
}

/// A chunk of routed events handed to the worker: the deliveries (each with its event's
/// sequence number in [`Leased::seq`]), the payloads that could not be built, and the last
/// sequence number routed (the events between made nothing).
pub(super) struct Fed {
    pub items: Vec<Leased>,
    pub refused: Vec<(String, String, Millis, Refused)>,
    pub through: Seq,
}

/// Feeds destination `r` until its round stops.
pub(super) async fn feed(
    routes: Arc<Routes>,
    r: usize,
    log: Arc<dyn EventLog>,
    mut stop: Stop,
    store: Store,
) {
    let name = routes.destinations[r].name.clone();
    let mut end = log.end();
    let mut cursor = loop {
        match log
            .open_consumer(&name, routes.destinations[r].start(), queue::now())
            .await
        {
            Ok(seq) => break seq,
            Err(e) => {
                tracing::warn!(destination = %name, "Cannot read the event log: {e}");
                if pause(&mut stop, AFTER_FAILURE).await {
                    return;
                }
            }
        }
    };
    if !super::replay::backfill(&routes, r, log.as_ref(), &mut stop).await {
        return;
    }
    loop {
        if stop.now() {
            return;
        }
        // Marked before reading: an append after the read wakes the wait below.
        end.borrow_and_update();
        let entries = match log.read(cursor, CHUNK).await {
            Ok(entries) => entries,
            Err(e) => {
                tracing::warn!(destination = %name, "Cannot read the event log: {e}");
                if pause(&mut stop, AFTER_FAILURE).await {
                    return;
                }
                continue;
            }
        };
        let Some(through) = entries.last().map(|e| e.seq) else {
            tokio::select! {
                _ = end.changed() => {}
                () = stop.changed() => {}
                () = tokio::time::sleep(super::IDLE) => {}
            }
            continue;
        };
        let (routed, seqs) = route(&routes, r, &entries, None, false);
        if stop.now() {
            // Replaced while routing: the new round routes these with the new routes.
            return;
        }
        if let Store::Worker(worker) = &store {
            let fed = Fed {
                items: routed
                    .held
                    .into_iter()
                    .zip(seqs)
                    .map(|(h, seq)| Leased {
                        id: 0,
                        subscription: h.delivery.subscription,
                        action: h.delivery.action,
                        source: h.source,
                        message_id: h.message_id,
                        payload: h.delivery.payload,
                        attempts: 0,
                        accepted_at: h.accepted_at,
                        replayed: false,
                        seq: Some(seq),
                    })
                    .collect(),
                refused: routed.refused,
                through,
            };
            // Waits while the worker's hands are full: the destination falls behind here.
            tokio::select! {
                sent = worker.send(fed) => if sent.is_err() { return },
                () = stop.changed() => return,
            }
            cursor = through;
            continue;
        }
        match log.advance(&name, through, routed, queue::now()).await {
            Ok(()) => cursor = through,
            Err(e) => {
                tracing::warn!(destination = %name, "Cannot store routed events: {e}");
                if pause(&mut stop, AFTER_FAILURE).await {
                    return;
                }
            }
        }
    }
}

/// Waits `time`, or less if the round stops; answers whether it stopped.
pub(super) async fn pause(stop: &mut Stop, time: Duration) -> bool {
    tokio::select! {
        () = stop.changed() => {}
        () = tokio::time::sleep(time) => {}
    }
    stop.now()
}

/// What the entries make for destination `r`: through every subscription, or `only` the one
/// at that index; `replayed` marks the deliveries as a replay's. Beside it, each delivery's
/// event's sequence number.
pub(super) fn route(
    routes: &Routes,
    r: usize,
    entries: &[LogEntry],
    only: Option<usize>,
    replayed: bool,
) -> (Routed, Vec<Seq>) {
    let route = &routes.destinations[r];
    let mut routed = Routed::default();
    let mut seqs = Vec::new();
    let (mut jobs, mut unmapped) = (Vec::new(), Vec::new());
    for entry in entries {
        let event: Value = match serde_json::from_str(&entry.body) {
            Ok(v) => v,
            Err(e) => {
                // Ingest stored it from parsed JSON: this is a damaged row, reported once.
                tracing::error!(destination = %route.name, seq = entry.seq, "An event in the log is not JSON, so it is skipped: {e}");
                continue;
            }
        };
        jobs.clear();
        unmapped.clear();
        routes.route_to(r, &entry.source, &event, &mut jobs, &mut unmapped);
        if let Some(only) = only {
            jobs.retain(|j| j.subscription == only);
            unmapped.retain(|u| u.subscription == only);
        }
        let text = |key: &str| event.get(key).and_then(Value::as_str);
        let order_key = route
            .delivery
            .ordered
            .then(|| text("userId").or(text("anonymousId")).map(String::from))
            .flatten();
        for job in jobs.drain(..) {
            let sub = &route.subscriptions[job.subscription];
            seqs.push(entry.seq);
            routed.held.push(Held {
                delivery: NewDelivery {
                    destination: route.name.clone(),
                    subscription: sub.name.clone(),
                    action: sub.action.id.clone(),
                    payload: job.payload,
                    order_key: order_key.clone(),
                },
                source: entry.source.clone(),
                message_id: entry.message_id.clone(),
                accepted_at: entry.received_at,
                due_at: entry.received_at,
                attempts: 0,
                replayed,
            });
        }
        for u in unmapped.drain(..) {
            let sub = &route.subscriptions[u.subscription];
            tracing::warn!(
                destination = %route.name,
                subscription = %sub.name,
                "Event goes to dead letters: its payload is invalid: {}",
                u.error
            );
            let mut shown = event.clone();
            route.secrets.mask_json(&mut shown);
            routed.refused.push((
                entry.source.clone(),
                entry.message_id.clone(),
                entry.received_at,
                Refused {
                    destination: route.name.clone(),
                    subscription: sub.name.clone(),
                    action: sub.action.id.clone(),
                    event: shown.to_string(),
                    error: u.error,
                },
            ));
        }
    }
    (routed, seqs)
}
