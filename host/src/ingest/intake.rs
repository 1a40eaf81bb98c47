//! From accepted events to the event log: the server's ingest [`Sink`].
//!
//! Invariants, and why:
//! - A request is answered only once its events (validated and completed by ingest) are
//!   appended to the event log and on disk: `200` means the event is stored, as Segment's
//!   tracking API promises. `503` means nothing of the request was stored.
//! - Nothing is routed here. Each destination's feeder (`deliver/feed.rs`) reads the log after
//!   the answer and routes every event once through that destination's subscriptions, so
//!   routing time and fan-out no longer limit what ingest accepts, and a slow destination never
//!   holds ingest back.

use crate::ingest::message::Accepted;
use crate::ingest::{Refusal, Sink};
use crate::queue::log::LogEvent;
use crate::queue::{self, EventLog, QueueError};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

pub struct Intake {
    /// Where accepted events are appended.
    pub log: Arc<dyn EventLog>,
    /// Where accepted events are kept as samples for the admin API.
    pub recent: Arc<crate::recent::Recent>,
}

impl Intake {
    /// The log's record of one event.
    fn entry(source: &str, event: Accepted) -> LogEvent {
        LogEvent {
            source: source.to_string(),
            message_id: event.message_id,
            timestamp: event
                .client_time
                .map(|t| (t.unix_timestamp_nanos() / 1_000_000) as queue::Millis),
            body: event.text,
        }
    }
}

impl Sink for Intake {
    fn take(
        &self,
        source: Arc<str>,
        events: Vec<Accepted>,
    ) -> Pin<Box<dyn Future<Output = Result<(), Refusal>> + Send + '_>> {
        Box::pin(async move {
            // The samples are copied before the events move into the log (only the newest
            // few: at most `recent::KEPT` texts).
            let samples = crate::recent::newest_texts(&events, |e| &e.text);
            let entries: Vec<LogEvent> = events
                .into_iter()
                .map(|e| Intake::entry(&source, e))
                .collect();
            match self.log.append(entries, queue::now()).await {
                Ok(_) => {
                    self.recent.keep(&source, samples);
                    Ok(())
                }
                Err(QueueError::Busy) => Err(Refusal::Busy),
                Err(QueueError::Unavailable(reason)) => Err(Refusal::Unavailable(reason)),
            }
        })
    }
}
