//! Events: the events accepted most recently (newest first), each with where it went: every
//! delivery it made (events are routed when accepted), delivered, retrying, dead-lettered, or
//! waiting for its first attempt. Segment's event debugger and delivery overview in one page;
//! it reads the recent events kept in memory, and for their message ids the delivery log, the
//! queue and the dead letters.

use crate::queue::{Attempt, Filter, Records};
use crate::recent::Recent;
use serde_json::Value;
use std::collections::HashMap;

pub(super) struct EventRow {
    /// The event's messageId.
    pub(super) id: String,
    pub(super) source: String,
    pub(super) kind: String,
    /// The event's name (track) or page/screen name, if it has one.
    pub(super) name: String,
    pub(super) who: String,
    pub(super) received: String,
    pub(super) json: String,
    pub(super) routes: Vec<RouteRow>,
}

pub(super) struct RouteRow {
    pub(super) destination: String,
    pub(super) subscription: String,
    /// delivered, retrying, dead-lettered or waiting.
    pub(super) outcome: &'static str,
    /// The HTTP status and error of the latest attempt, if any.
    pub(super) detail: String,
}

fn text<'a>(event: &'a Value, key: &str) -> &'a str {
    event.get(key).and_then(Value::as_str).unwrap_or_default()
}

/// The recent events and where each went.
pub(super) async fn build(recent: &Recent, records: &dyn Records) -> Result<Vec<EventRow>, String> {
    let samples = recent.newest(|_| true);
    let ids: Vec<String> = samples
        .iter()
        .map(|s| text(&s.event, "messageId").to_string())
        .filter(|id| !id.is_empty())
        .collect();
    // Where each went: the latest attempt per (message, destination, subscription) (the log
    // is newest last), what still waits in the queue, and dead letters.
    let mut latest: HashMap<(String, String, String), Attempt> = HashMap::new();
    let mut placed: HashMap<(String, String, String), &'static str> = HashMap::new();
    // No attempt of an event comes before it was received: the delivery log is read from the
    // oldest receipt on (by time, which its index serves), then by message id.
    let since = samples
        .iter()
        .filter_map(|s| s.event.get("receivedAt").and_then(Value::as_str))
        .filter_map(crate::ingest::message::parse_time)
        .map(|t| (t.unix_timestamp_nanos() / 1_000_000) as crate::queue::Millis)
        .min()
        .map(|oldest| oldest - 1_000);
    if !ids.is_empty() {
        let attempts = records
            .attempts(Filter {
                message_ids: ids.clone(),
                since,
                ..Filter::default()
            })
            .await
            .map_err(|e| format!("cannot read the delivery log: {e}"))?;
        for a in attempts {
            latest.insert(
                (
                    a.message_id.clone(),
                    a.destination.clone(),
                    a.subscription.clone(),
                ),
                a,
            );
        }
        for (id, destination, subscription, state) in records
            .placed(ids)
            .await
            .map_err(|e| format!("cannot read the queue: {e}"))?
        {
            placed.insert((id, destination, subscription), state);
        }
    }
    let mut rows = Vec::with_capacity(samples.len());
    for sample in samples {
        let event = &sample.event;
        let id = text(event, "messageId").to_string();
        let mut keys: Vec<&(String, String, String)> = latest
            .keys()
            .chain(placed.keys())
            .filter(|(m, _, _)| *m == id)
            .collect();
        keys.sort();
        keys.dedup();
        let routes = keys
            .into_iter()
            .map(|key| {
                let attempt = latest.get(key);
                let outcome = match (
                    placed.get(key).copied(),
                    attempt.map(|a| a.outcome.as_str()),
                ) {
                    (Some("dead-letter"), _) => "dead-lettered",
                    (Some(_), Some(_)) => "retrying",
                    (Some(_), None) => "waiting",
                    (None, Some("delivered")) => "delivered",
                    (None, Some("dead-letter")) => "dead-lettered",
                    // A retry whose row has since gone (delivered by a newer attempt not yet
                    // logged, or purged): the log's word stands.
                    (None, _) => "retrying",
                };
                let detail = attempt
                    .map(|a| {
                        let status = a.status.map(|s| format!("HTTP {s}")).unwrap_or_default();
                        let error = a.error.clone().unwrap_or_default();
                        [status, error]
                            .into_iter()
                            .filter(|p| !p.is_empty())
                            .collect::<Vec<_>>()
                            .join(": ")
                    })
                    .unwrap_or_default();
                RouteRow {
                    destination: key.1.clone(),
                    subscription: key.2.clone(),
                    outcome,
                    detail,
                }
            })
            .collect();
        let name = match text(event, "event") {
            "" => text(event, "name"),
            n => n,
        };
        let who = match text(event, "userId") {
            "" => format!("anonymous {}", text(event, "anonymousId")),
            user => format!("user {user}"),
        };
        rows.push(EventRow {
            id: text(event, "messageId").to_string(),
            source: sample.source.to_string(),
            kind: text(event, "type").to_string(),
            name: name.to_string(),
            who,
            received: text(event, "receivedAt").to_string(),
            json: serde_json::to_string_pretty(event).unwrap_or_default(),
            routes,
        });
    }
    Ok(rows)
}
