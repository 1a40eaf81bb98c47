//! In-process delivery: takes accepted events from the bounded buffer, routes them
//! ([`Routes::route`]) and runs each job's action in the sandbox, a bounded number at a time.
//!
//! This is the stage the durable queue replaces (retries, dead letters and batching come with
//! it); until then a failed delivery is logged and not retried. On shutdown the buffer is
//! drained and every started delivery finishes before the process exits.

use crate::ingest::Envelope;
use crate::routes::{Job, Routes};
use std::sync::Arc;
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;

/// Deliveries running at once.
pub const CONCURRENCY: usize = 64;

/// Runs until the buffer's senders are all gone and the buffer is empty, then waits for the
/// deliveries in flight.
pub async fn run(routes: Arc<Routes>, mut buffer: mpsc::Receiver<Envelope>) {
    let slots = Arc::new(Semaphore::new(CONCURRENCY));
    let mut running = JoinSet::new();
    // Taken many at a time: one receive per event would hand the scheduler back after every
    // few events and let ingest outrun delivery.
    let mut taken = Vec::with_capacity(256);
    while buffer.recv_many(&mut taken, 256).await > 0 {
        for envelope in taken.drain(..) {
            let (jobs, refused) = routes.route(&envelope.source, &envelope.event);
            let message_id = envelope
                .event
                .get("messageId")
                .and_then(|v| v.as_str())
                .unwrap_or("");
            for reason in refused {
                tracing::warn!(
                    message_id,
                    "Event not delivered: its payload is invalid: {reason}"
                );
            }
            if jobs.is_empty() {
                tracing::debug!(message_id, source = %envelope.source, "No subscription matched the event.");
            }
            for job in jobs {
                let permit = slots
                    .clone()
                    .acquire_owned()
                    .await
                    .expect("the semaphore is never closed");
                let routes = routes.clone();
                let message_id = message_id.to_string();
                running.spawn(async move {
                    deliver(&routes, &job, &message_id).await;
                    drop(permit);
                });
                // Reap what finished, so the set does not grow with the traffic.
                while running.try_join_next().is_some() {}
            }
        }
    }
    while running.join_next().await.is_some() {}
}

async fn deliver(routes: &Routes, job: &Job, message_id: &str) {
    let route = &routes.destinations[job.route];
    let sub = &route.subscriptions[job.subscription];
    let done = route
        .plugin
        .perform(
            &sub.action.id,
            &job.payload,
            &route.settings,
            &route.options,
        )
        .await;
    for result in &done.results {
        match result {
            Ok(()) => tracing::info!(
                message_id,
                destination = %route.name,
                subscription = %sub.name,
                action = %sub.action.id,
                requests = done.exchanges.len(),
                "Delivered."
            ),
            Err(failure) => tracing::warn!(
                message_id,
                destination = %route.name,
                subscription = %sub.name,
                action = %sub.action.id,
                "Delivery failed: {}",
                route.secrets.mask(&failure.to_string())
            ),
        }
    }
}
