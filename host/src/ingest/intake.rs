//! From accepted events to stored deliveries: the server's ingest [`Sink`].
//!
//! Each event is routed when it is accepted (triggers evaluated, payloads mapped and checked),
//! and the request is answered only once its deliveries are in the durable queue. Mapping here,
//! rather than at delivery, makes every queued delivery self-contained: a destination's worker
//! needs nothing but its own rows, and a dead letter holds exactly what was (to be) sent.
//! A payload that cannot be built goes straight to dead letters with the event and the reason,
//! so a mapping mistake is visible (`switchyard dlq list`) rather than only logged.

use crate::ingest::{Refusal, Sink};
use crate::live::Live;
use crate::queue::{self, NewDelivery, NewEvent, Queue, QueueError, Refused};
use crate::routes::Routes;
use serde_json::Value;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

pub struct Intake {
    /// The routes in force; each request is routed by one snapshot, even during a reload.
    pub live: Arc<Live>,
    pub queue: Arc<dyn Queue>,
    /// Where accepted events are kept as samples for the admin API.
    pub recent: Arc<crate::recent::Recent>,
}

impl Intake {
    /// What one event becomes.
    fn event(routes: &Routes, source: &str, event: &Value) -> NewEvent {
        let (jobs, unmapped) = routes.route(source, event);
        let text = |key: &str| event.get(key).and_then(Value::as_str);
        let deliveries = jobs
            .into_iter()
            .map(|job| {
                let route = &routes.destinations[job.route];
                let sub = &route.subscriptions[job.subscription];
                NewDelivery {
                    destination: route.name.clone(),
                    subscription: sub.name.clone(),
                    action: sub.action.id.clone(),
                    payload: job.payload,
                    order_key: route
                        .delivery
                        .ordered
                        .then(|| text("userId").or(text("anonymousId")).map(String::from))
                        .flatten(),
                }
            })
            .collect();
        let refused = unmapped
            .into_iter()
            .map(|u| {
                let route = &routes.destinations[u.route];
                let sub = &route.subscriptions[u.subscription];
                tracing::warn!(
                    destination = %route.name,
                    subscription = %sub.name,
                    "Event goes to dead letters: its payload is invalid: {}",
                    u.error
                );
                let mut shown = event.clone();
                route.secrets.mask_json(&mut shown);
                Refused {
                    destination: route.name.clone(),
                    subscription: sub.name.clone(),
                    action: sub.action.id.clone(),
                    event: shown.to_string(),
                    error: u.error,
                }
            })
            .collect();
        NewEvent {
            source: source.to_string(),
            message_id: text("messageId").unwrap_or_default().to_string(),
            timestamp: text("originalTimestamp")
                .and_then(crate::ingest::message::parse_time)
                .map(|t| (t.unix_timestamp_nanos() / 1_000_000) as queue::Millis),
            deliveries,
            refused,
        }
    }
}

impl Sink for Intake {
    fn take(
        &self,
        source: Arc<str>,
        events: Vec<Value>,
    ) -> Pin<Box<dyn Future<Output = Result<(), Refusal>> + Send + '_>> {
        Box::pin(async move {
            let snapshot = self.live.current();
            let stored: Vec<NewEvent> = events
                .iter()
                .map(|e| Intake::event(&snapshot.routes, &source, e))
                .collect();
            match self.queue.enqueue(stored, queue::now()).await {
                Ok(_) => {
                    self.recent.keep(&source, events);
                    Ok(())
                }
                Err(QueueError::Busy) => Err(Refusal::Busy),
                Err(QueueError::Unavailable(reason)) => Err(Refusal::Unavailable(reason)),
            }
        })
    }
}
