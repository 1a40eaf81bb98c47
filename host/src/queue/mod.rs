//! The durable store: the event log ingest appends to before it answers 200 (`log.rs`,
//! [`EventLog`]), and the deliveries the workers lease, settle, retry and dead-letter
//! ([`Queue`]).
//!
//! An event is stored once, in the log. Each destination's feeder (`deliver/feed.rs`) reads the
//! log from its own cursor and turns events into *deliveries*: one event's payload for one
//! subscription of the destination. Most are delivered straight from there and acked
//! ([`EventLog::ack`]); only those that must wait (retries, deliveries handed back at a stop,
//! replays, and every delivery of a destination that keeps each user's order) are stored as
//! rows the destination's worker leases ([`Queue`]). Keeping them per destination keeps every
//! later step local to it: a slow or failing destination falls behind on its own cursor without
//! holding up ingest or another.
//!
//! [`Queue`] and [`EventLog`] are the contracts a backend meets; [`sqlite`] is the embedded default (one file in
//! the data folder, WAL, one writer thread that commits concurrent requests together). A
//! networked backend (NATS JetStream) is meant to implement the same trait: every operation
//! names its destination, takes the clock as an argument, and leases are owned by the process
//! that took them, so nothing here assumes SQLite.

pub mod log;
#[cfg(test)]
mod log_tests;
mod packed;
pub mod sqlite;
#[cfg(test)]
mod tests;

use serde::Serialize;
use std::future::Future;
use std::pin::Pin;

/// Milliseconds since the Unix epoch: the queue's clock, passed in so tests can drive it.
pub type Millis = i64;

/// The current time on the queue's clock.
pub fn now() -> Millis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as Millis)
}

/// A time on the queue's clock as people read it: RFC 3339 in UTC (the form [`Filter::time`]
/// reads), or the number itself if it is out of range.
pub fn shown_time(at: Millis) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(at) * 1_000_000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| at.to_string())
}

/// A boxed future, so that [`Queue`] can be used as a trait object.
pub type QueueFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, QueueError>> + Send + 'a>>;

/// Why the queue could not do what was asked. The message names the cause (disk full, file not
/// writable, database corrupt) and is meant for operators.
#[derive(Debug, Clone, thiserror::Error)]
pub enum QueueError {
    /// Too many requests are waiting for the store; the caller may retry shortly.
    #[error("the queue is busy")]
    Busy,
    /// The store cannot take writes now.
    #[error("{0}")]
    Unavailable(String),
}

/// An accepted event: its source, its messageId (for de-duplication) and what it is to become.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub source: String,
    pub message_id: String,
    /// The client's own timestamp (`originalTimestamp`), part of the de-duplication key: a
    /// client resends an event with the same one, and keys ordered by it are inserted near each
    /// other instead of all over the index.
    pub timestamp: Option<Millis>,
    pub deliveries: Vec<NewDelivery>,
    /// Subscriptions that matched but could not build a payload; they go to dead letters.
    pub refused: Vec<Refused>,
}

/// One payload for one subscription of one destination.
#[derive(Debug, Clone, PartialEq)]
pub struct NewDelivery {
    pub destination: String,
    pub subscription: String,
    pub action: String,
    pub payload: String,
    /// Deliveries with the same key (userId, else anonymousId) on one destination are handed
    /// out one at a time, in acceptance order; `None` for destinations that do not ask for order.
    pub order_key: Option<String>,
}

/// A subscription the event matched but whose mapping or validation refused it.
#[derive(Debug, Clone, PartialEq)]
pub struct Refused {
    pub destination: String,
    pub subscription: String,
    pub action: String,
    /// The event, so that a replay after fixing the mapping has something to map.
    pub event: String,
    pub error: String,
}

/// What [`Queue::enqueue`] stored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Enqueued {
    pub deliveries: usize,
    /// Events skipped because their messageId was seen from the same source within the window.
    pub duplicates: usize,
}

/// A delivery handed to a worker.
#[derive(Debug, Clone, PartialEq)]
pub struct Leased {
    pub id: i64,
    pub subscription: String,
    pub action: String,
    pub source: String,
    pub message_id: String,
    pub payload: String,
    /// Attempts made before this one.
    pub attempts: u32,
    pub accepted_at: Millis,
    /// Made by a replay or a backfill rather than when the destination first read the event.
    pub replayed: bool,
    /// Routed straight from the event log (this is the event's sequence number) rather than
    /// leased from the deliveries: nothing of it is stored until its result is acked
    /// ([`EventLog::ack`]), and `id` means nothing.
    pub seq: Option<log::Seq>,
}

/// The answer to [`Queue::lease`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Leases {
    pub items: Vec<Leased>,
    /// When the next not-leased delivery of the destination falls due, if there is one.
    pub next_due: Option<Millis>,
}

/// How one leased delivery ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Delivered: the delivery is removed.
    Delivered,
    /// Try again at `due_at`.
    Retry { due_at: Millis },
    /// Give up: the delivery moves to dead letters with this reason (a short stable name).
    DeadLetter { reason: String },
    /// Not attempted (shutdown): hand it back as it was.
    Release,
}

/// A settled lease, with the record of the attempt for the delivery log.
#[derive(Debug, Clone, PartialEq)]
pub struct Settled {
    pub id: i64,
    pub verdict: Verdict,
    pub attempt: Attempt,
}

/// One delivery attempt, as the delivery log keeps it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Attempt {
    pub at: Millis,
    pub source: String,
    pub destination: String,
    pub subscription: String,
    pub action: String,
    pub message_id: String,
    /// `delivered`, `retry`, `dead-letter` (or `refused` for a payload that could not be built).
    pub outcome: String,
    pub status: Option<u16>,
    pub latency_ms: u64,
    pub error: Option<String>,
    /// A redacted summary of the last request: method, URL and the answer's status.
    pub request: Option<String>,
    /// The delivery was made by a replay or a backfill (`switchyard replay`, `start_from`).
    pub replayed: bool,
}

/// A delivery that was given up on.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeadLetter {
    pub id: i64,
    pub destination: String,
    pub subscription: String,
    pub action: String,
    pub source: String,
    pub message_id: String,
    /// The payload, or for a refused event the event itself.
    pub payload: String,
    /// Whether `payload` is the event (the mapping refused it) rather than a built payload.
    pub is_event: bool,
    pub reason: String,
    pub error: Option<String>,
    pub attempts: u32,
    pub accepted_at: Millis,
    pub dead_at: Millis,
    pub request: Option<String>,
}

/// Which dead letters or log entries an operation applies to; empty fields match everything.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    pub destination: Option<String>,
    pub action: Option<String>,
    /// For dead letters the reason; for the delivery log the outcome.
    pub reason: Option<String>,
    pub since: Option<Millis>,
    pub until: Option<Millis>,
    pub limit: Option<usize>,
    /// Only these events (by messageId); empty for every event.
    pub message_ids: Vec<String>,
    /// Only these entries (dead letters or log entries, by id); empty for every entry.
    pub ids: Vec<i64>,
}

impl Filter {
    /// A filter time: RFC 3339 (`2026-11-28T10:00:00Z`), or an age before `now` such as `90s`,
    /// `30m`, `2h`, `7d`.
    pub fn time(text: &str, now: Millis) -> Result<Millis, String> {
        let rfc3339 = &time::format_description::well_known::Rfc3339;
        if let Ok(t) = time::OffsetDateTime::parse(text, rfc3339) {
            return Ok((t.unix_timestamp_nanos() / 1_000_000) as Millis);
        }
        let split = text
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len());
        let (number, unit) = text.split_at(split);
        let unit_ms = match unit {
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            _ => 0,
        };
        match number.parse::<i64>() {
            Ok(n) if unit_ms > 0 => Ok(now - n.saturating_mul(unit_ms)),
            _ => Err(format!(
                "{text:?}: expected an RFC 3339 time (2026-11-28T10:00:00Z) or an age such as \
                 30m, 2h or 7d"
            )),
        }
    }
}

/// The contract of a queue backend. Every call is safe to make from many tasks at once.
pub trait Queue: Send + Sync + 'static {
    /// Stores the events' deliveries durably; it answers only once they would survive a crash.
    fn enqueue(&self, events: Vec<NewEvent>, now: Millis) -> QueueFuture<'_, Enqueued>;

    /// Leases up to `max` deliveries of `destination` that are due at `now`, oldest due first,
    /// and at most one per order key at a time. Leases end with [`Queue::settle`], or when the
    /// process ends (the deliveries are then due again).
    fn lease(&self, destination: &str, max: usize, now: Millis) -> QueueFuture<'_, Leases>;

    /// Settles leased deliveries and records their attempts.
    fn settle(&self, settled: Vec<Settled>, now: Millis) -> QueueFuture<'_, ()>;

    /// Waits until `destination` may have new work (an enqueue, a settle or a replay).
    fn changed(&self, destination: &str) -> Pin<Box<dyn Future<Output = ()> + Send + '_>>;
}

/// A delivery a destination's worker could not make when it read the event: it waits in the
/// destination's deliveries (a retry, or held behind an earlier event of the same user).
#[derive(Debug, Clone, PartialEq)]
pub struct Held {
    pub delivery: NewDelivery,
    pub source: String,
    pub message_id: String,
    /// When the event was received.
    pub accepted_at: Millis,
    pub due_at: Millis,
    /// Attempts already made.
    pub attempts: u32,
    /// Made by a replay or a backfill: the delivery log marks its attempts.
    pub replayed: bool,
}

/// How a delivery made straight from the event log ended (see [`Leased::seq`]).
#[derive(Debug, Clone, PartialEq)]
pub struct FreshResult {
    /// The delivery; `attempts` counts those made before this one.
    pub delivery: Held,
    pub verdict: Verdict,
    pub attempt: Attempt,
}

/// What a destination's worker records in one step ([`EventLog::ack`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Acked {
    /// Results of deliveries leased from the deliveries, as [`Queue::settle`] takes them.
    pub settled: Vec<Settled>,
    /// Results of deliveries made straight from the log: a delivered one leaves only its
    /// attempt in the delivery log; a retry, or one handed back at a stop, is written to the
    /// deliveries (due at its time); a dead one to dead letters.
    pub fresh: Vec<FreshResult>,
    /// Subscriptions that could not build a payload, as [`Routed::refused`].
    pub refused: Vec<(String, String, Millis, Refused)>,
    /// The destination's cursor moves to this (never backwards): every delivery of the
    /// events up to it has its result in this step or an earlier one.
    pub through: Option<log::Seq>,
}

/// What a destination's feeder made of the events it read: the deliveries to make, and the
/// subscriptions that could not build a payload, each with the event's source, messageId and
/// receipt time.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Routed {
    pub held: Vec<Held>,
    pub refused: Vec<(String, String, Millis, Refused)>,
}

/// The event log's contract (`log.rs`): ingest appends every accepted event once; each
/// destination reads it from its own durable cursor, routes what it reads, and moves the cursor
/// on together with the deliveries that must wait (retries, events held for a user's order),
/// which then go through [`Queue::lease`] and [`Queue::settle`].
///
/// It maps onto NATS JetStream as: `append` publishes to one stream (with `Nats-Msg-Id` for
/// de-duplication) and returns once the stream acknowledged; a consumer is a durable pull
/// consumer with "ack all"; `read` fetches; `advance` publishes the held deliveries to the
/// destination's delivery subject, then acks through `through`; `lag` is the consumer's
/// pending count and the oldest pending message's time. A replay (`read_between`, `requeue`)
/// is an ordered ephemeral consumer started by time, whose results are published to the
/// destination's delivery subject like `advance`'s; a backfill's progress is a key-value entry.
pub trait EventLog: Send + Sync + 'static {
    /// Appends accepted events durably (answering only once they would survive a crash),
    /// skipping those seen from the same source within the de-duplication window.
    fn append(&self, events: Vec<log::LogEvent>, now: Millis) -> QueueFuture<'_, log::Appended>;

    /// The consumer's cursor, making it at `start` if it does not exist.
    fn open_consumer(
        &self,
        consumer: &str,
        start: log::Start,
        now: Millis,
    ) -> QueueFuture<'_, log::Seq>;

    /// Up to `max` events after `after`, in order.
    fn read(&self, after: log::Seq, max: usize) -> QueueFuture<'_, Vec<log::LogEntry>>;

    /// Moves the consumer's cursor to `through` and stores what routing made of the events up
    /// to it, in one step: an event is either still ahead of the cursor or its deliveries (and
    /// dead letters) are stored.
    fn advance(
        &self,
        consumer: &str,
        through: log::Seq,
        routed: Routed,
        now: Millis,
    ) -> QueueFuture<'_, ()>;

    /// Records a worker's results and moves the consumer's cursor, in one step (see [`Acked`]).
    /// On JetStream: retries are published to the destination's delivery subject with their
    /// due time, dead letters to the dead-letter stream, then the log's messages are acked
    /// through `through`.
    fn ack(&self, consumer: &str, acked: Acked, now: Millis) -> QueueFuture<'_, ()>;

    /// How far each consumer is behind.
    fn lag(&self) -> QueueFuture<'_, Vec<log::Lag>>;

    /// Up to `max` events received in `[from, until)` whose sequence numbers are in
    /// `(after, through]`, in order: what a replay reads.
    fn read_between(
        &self,
        received: (Millis, Millis),
        seqs: (log::Seq, log::Seq),
        max: usize,
    ) -> QueueFuture<'_, Vec<log::LogEntry>>;

    /// Stores what a replay routed for `consumer`'s destination, without moving its cursor;
    /// with `backfilled`, also records how far that subscription's backfill got, in the same
    /// step (see [`log::Backfill`]).
    fn requeue(
        &self,
        consumer: &str,
        routed: Routed,
        backfilled: Option<(String, log::Backfill)>,
        now: Millis,
    ) -> QueueFuture<'_, ()>;

    /// The backfill of `subscription` from `start_from`, begun (up to the consumer's cursor) if
    /// it never was.
    fn backfill(
        &self,
        consumer: &str,
        subscription: &str,
        start_from: Millis,
    ) -> QueueFuture<'_, log::Backfill>;

    /// Forgets every consumer not named (destinations removed or switched off), so the log can
    /// be trimmed past what they never read.
    fn keep_consumers(&self, consumers: Vec<String>) -> QueueFuture<'_, ()>;

    /// The sequence number of the last event appended, changing with every append.
    fn end(&self) -> tokio::sync::watch::Receiver<log::Seq>;
}

/// What operators read and manage in a queue backend (the admin API): the delivery log, dead
/// letters and what waits. Apart from [`Queue`] because delivery needs none of it.
pub trait Records: Send + Sync + 'static {
    /// Per destination: deliveries waiting (leased ones included) and when the oldest was
    /// accepted.
    fn waiting(&self) -> QueueFuture<'_, Vec<(String, i64, Millis)>>;

    /// Per destination: how far it is behind in the event log.
    fn behind(&self) -> QueueFuture<'_, Vec<log::Lag>>;

    /// Delivery log entries matching the filter, newest last; `reason` filters the outcome.
    fn attempts(&self, filter: Filter) -> QueueFuture<'_, Vec<Attempt>>;

    /// Dead letters matching the filter, oldest first.
    fn dead_letters(&self, filter: Filter) -> QueueFuture<'_, Vec<DeadLetter>>;

    /// Puts the matching dead letters back in the queue, due now, with a fresh retry window.
    /// Those that hold an event (its mapping refused it) are skipped. Returns (replayed,
    /// skipped).
    fn replay(&self, filter: Filter, now: Millis) -> QueueFuture<'_, (usize, usize)>;

    /// Deletes the matching dead letters; returns how many.
    fn purge(&self, filter: Filter) -> QueueFuture<'_, usize>;

    /// Where these events went and are still: rows of (message id, destination, subscription,
    /// `queued` or `dead-letter`) for their deliveries waiting in the queue and their dead
    /// letters. (What was delivered is in the delivery log.)
    fn placed(
        &self,
        message_ids: Vec<String>,
    ) -> QueueFuture<'_, Vec<(String, String, String, &'static str)>>;

    /// Delivery log entries since `since`, counted by destination, outcome and hour: rows of
    /// (destination, outcome, the hour's start, count). Read once at startup, to fill the
    /// 24-hour counts.
    fn outcome_counts(&self, since: Millis) -> QueueFuture<'_, Vec<(String, String, Millis, u64)>>;
}
