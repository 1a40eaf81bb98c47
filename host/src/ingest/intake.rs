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

use crate::ingest::{Refusal, Sink};
use crate::queue::log::LogEvent;
use crate::queue::{self, EventLog, QueueError};
use serde_json::Value;
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
    fn entry(source: &str, event: &Value) -> LogEvent {
        let text = |key: &str| event.get(key).and_then(Value::as_str);
        LogEvent {
            source: source.to_string(),
            message_id: text("messageId").unwrap_or_default().to_string(),
            timestamp: text("originalTimestamp")
                .and_then(crate::ingest::message::parse_time)
                .map(|t| (t.unix_timestamp_nanos() / 1_000_000) as queue::Millis),
            body: event.to_string(),
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
            let entries: Vec<LogEvent> = events.iter().map(|e| Intake::entry(&source, e)).collect();
            match self.log.append(entries, queue::now()).await {
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
