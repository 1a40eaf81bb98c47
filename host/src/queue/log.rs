//! The event log (issue 19): every accepted event, appended once with a sequence number, and a
//! durable read position (a *cursor*) per consumer, one consumer per destination.
//!
//! Invariants, and why:
//! - A sequence number is never reused, even once the log is trimmed to nothing (the table is
//!   `AUTOINCREMENT`): a cursor names a place in the log forever.
//! - An event is appended at most once per source and messageId within the de-duplication
//!   window (the `seen` keys the queue already keeps), so a client's retry is not routed twice.
//! - A cursor only moves forward, and never past the end of the log. A consumer made at the end
//!   of the log reads only what comes after; one made from a time reads from the first event
//!   received at or after it.
//! - Trimming by age never removes an event a consumer has not read. Only the size cap does:
//!   then the consumers behind are moved to the new start, and what each lost is counted, so
//!   the loss is reported rather than silent.
//!
//! These functions run over a plain [`Connection`], in the queue file's writer thread and in
//! the model test (`log_tests.rs`). The contract maps onto NATS JetStream as: the log is one
//! stream, a cursor is a durable consumer acked with "ack all" up to its position, trimming is
//! the stream's limits (`max_age`, `max_bytes`) with `discard old`.

use super::{Millis, QueueError};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

/// A sequence number in the log; 0 is "before the first event".
pub type Seq = i64;

pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    source TEXT NOT NULL,
    message_id TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_received ON events (received_at);
CREATE TABLE IF NOT EXISTS cursors (
    consumer TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    made_at INTEGER NOT NULL,
    lost INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS log_size (
    one INTEGER PRIMARY KEY CHECK (one = 1),
    bytes INTEGER NOT NULL
);
INSERT OR IGNORE INTO log_size (one, bytes) VALUES (1, 0);
CREATE TABLE IF NOT EXISTS backfills (
    consumer TEXT NOT NULL,
    subscription TEXT NOT NULL,
    start_from INTEGER NOT NULL,
    after INTEGER NOT NULL,
    through INTEGER NOT NULL,
    PRIMARY KEY (consumer, subscription, start_from)
) WITHOUT ROWID;
";

/// An accepted event, validated and completed, as ingest appends it.
#[derive(Debug, Clone, PartialEq)]
pub struct LogEvent {
    pub source: String,
    pub message_id: String,
    /// The client's own timestamp, part of the de-duplication key (see `NewEvent::timestamp`).
    pub timestamp: Option<Millis>,
    /// The event as JSON text.
    pub body: String,
}

/// What [`append`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Appended {
    pub appended: usize,
    pub duplicates: usize,
    /// The sequence number of the last event appended (0 when none was).
    pub last: Seq,
}

/// One event read from the log.
#[derive(Debug, Clone, PartialEq)]
pub struct LogEntry {
    pub seq: Seq,
    pub source: String,
    pub message_id: String,
    pub received_at: Millis,
    pub body: String,
}

/// Where a new consumer starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// After the last event appended so far (the default for a new destination).
    End,
    /// At the first event received at or after this time.
    At(Millis),
}

/// A subscription's backfill from its `start_from`: the events it replays are those received
/// at or after `start_from` with sequence numbers in `(after, through]`. `through` is where
/// the destination's cursor stood when the backfill began (what comes later the destination
/// routes through the subscription anyway); `after` moves on as chunks are stored, so a
/// restart resumes instead of sending a chunk twice. Done when `after >= through`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backfill {
    pub start_from: Millis,
    pub after: Seq,
    pub through: Seq,
}

impl Backfill {
    pub fn done(&self) -> bool {
        self.after >= self.through
    }
}

/// How far one consumer is behind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Lag {
    pub consumer: String,
    /// Events appended after its cursor.
    pub events: i64,
    /// When the oldest of them was received; `None` when it is up to date.
    pub oldest_at: Option<Millis>,
    /// Events the size cap removed before it read them, since it was made.
    pub lost: i64,
}

/// How long and how much the log keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogRetention {
    /// Events older than this are removed once every consumer has read them.
    pub max_age: Millis,
    /// The log's events (their JSON text) take at most this many bytes; the oldest go first,
    /// read or not. `None`: as many as the disk holds.
    pub max_bytes: Option<i64>,
}

impl Default for LogRetention {
    fn default() -> Self {
        LogRetention {
            max_age: 7 * 24 * 3_600_000,
            max_bytes: None,
        }
    }
}

/// What [`trim`] removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Trimmed {
    pub removed: i64,
    /// Consumers that lost events they had not read (the size cap), with how many.
    pub lost: Vec<(String, i64)>,
}

fn unavailable(e: rusqlite::Error) -> QueueError {
    QueueError::Unavailable(format!("the event log: {e}"))
}

/// The sequence number of the last event ever appended (0 for none), trimmed or not.
pub fn end(conn: &Connection) -> Result<Seq, QueueError> {
    let from_sequence: Option<Seq> = conn
        .query_row(
            "SELECT seq FROM sqlite_sequence WHERE name = 'events'",
            [],
            |r| r.get(0),
        )
        .optional()
        .map_err(unavailable)?;
    Ok(from_sequence.unwrap_or(0))
}

/// Whether this is the first time the event (source, messageId and client timestamp) is seen
/// within the de-duplication window; it is noted as seen now either way. Ingest's one key, for
/// the log and for deliveries queued directly.
pub(super) fn first_seen(
    conn: &Connection,
    source: &str,
    message_id: &str,
    timestamp: Option<Millis>,
    now: Millis,
    dedup_window: Millis,
) -> Result<bool, QueueError> {
    let mut seen = conn
        .prepare_cached(
            "INSERT INTO seen (ts, source, message_id, at) VALUES (?4, ?1, ?2, ?3)
             ON CONFLICT (ts, source, message_id) DO UPDATE SET at = excluded.at WHERE at < ?5",
        )
        .map_err(unavailable)?;
    let changed = seen
        .execute(params![
            source,
            message_id,
            now,
            timestamp.unwrap_or(0),
            now - dedup_window
        ])
        .map_err(unavailable)?;
    Ok(changed > 0)
}

/// Appends the events not seen before (see the module's notes), in order.
pub fn append(
    conn: &Connection,
    events: &[LogEvent],
    now: Millis,
    dedup_window: Millis,
) -> Result<Appended, QueueError> {
    let mut insert = conn
        .prepare_cached(
            "INSERT INTO events (source, message_id, received_at, body) VALUES (?1, ?2, ?3, ?4)",
        )
        .map_err(unavailable)?;
    let mut done = Appended::default();
    let mut bytes = 0i64;
    for e in events {
        if !first_seen(
            conn,
            &e.source,
            &e.message_id,
            e.timestamp,
            now,
            dedup_window,
        )? {
            done.duplicates += 1;
            continue;
        }
        insert
            .execute(params![e.source, e.message_id, now, e.body])
            .map_err(unavailable)?;
        done.appended += 1;
        done.last = conn.last_insert_rowid();
        bytes += e.body.len() as i64;
    }
    if bytes > 0 {
        conn.execute(
            "UPDATE log_size SET bytes = bytes + ?1 WHERE one = 1",
            [bytes],
        )
        .map_err(unavailable)?;
    }
    Ok(done)
}

/// The consumer's cursor, making the consumer (at `start`) if it does not exist.
pub fn open_consumer(
    conn: &Connection,
    consumer: &str,
    start: Start,
    now: Millis,
) -> Result<Seq, QueueError> {
    let found: Option<Seq> = conn
        .query_row(
            "SELECT seq FROM cursors WHERE consumer = ?1",
            [consumer],
            |r| r.get(0),
        )
        .optional()
        .map_err(unavailable)?;
    if let Some(seq) = found {
        return Ok(seq);
    }
    let seq = match start {
        Start::End => end(conn)?,
        Start::At(at) => {
            let first: Option<Seq> = conn
                .query_row(
                    "SELECT MIN(seq) FROM events WHERE received_at >= ?1",
                    [at],
                    |r| r.get(0),
                )
                .map_err(unavailable)?;
            match first {
                Some(first) => first - 1,
                None => end(conn)?,
            }
        }
    };
    conn.execute(
        "INSERT INTO cursors (consumer, seq, made_at) VALUES (?1, ?2, ?3)",
        params![consumer, seq, now],
    )
    .map_err(unavailable)?;
    Ok(seq)
}

/// Forgets a consumer (its destination was removed); its unread events may then be trimmed.
pub fn remove_consumer(conn: &Connection, consumer: &str) -> Result<(), QueueError> {
    conn.execute("DELETE FROM cursors WHERE consumer = ?1", [consumer])
        .map_err(unavailable)?;
    conn.execute("DELETE FROM backfills WHERE consumer = ?1", [consumer])
        .map_err(unavailable)?;
    Ok(())
}

/// The consumers, by name, with their cursors.
pub fn consumers(conn: &Connection) -> Result<Vec<(String, Seq)>, QueueError> {
    let mut stmt = conn
        .prepare_cached("SELECT consumer, seq FROM cursors ORDER BY consumer")
        .map_err(unavailable)?;
    let rows = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .map_err(unavailable)?;
    rows.collect::<Result<_, _>>().map_err(unavailable)
}

fn entries(
    stmt: &mut rusqlite::CachedStatement<'_>,
    args: impl rusqlite::Params,
) -> Result<Vec<LogEntry>, QueueError> {
    let rows = stmt
        .query_map(args, |r| {
            Ok(LogEntry {
                seq: r.get(0)?,
                source: r.get(1)?,
                message_id: r.get(2)?,
                received_at: r.get(3)?,
                body: r.get(4)?,
            })
        })
        .map_err(unavailable)?;
    rows.collect::<Result<_, _>>().map_err(unavailable)
}

/// Up to `max` events after `after`, in order.
pub fn read_after(conn: &Connection, after: Seq, max: usize) -> Result<Vec<LogEntry>, QueueError> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT seq, source, message_id, received_at, body FROM events
             WHERE seq > ?1 ORDER BY seq LIMIT ?2",
        )
        .map_err(unavailable)?;
    entries(&mut stmt, params![after, max as i64])
}

/// Up to `max` events received in `[from, until)` with sequence numbers in `(after, through]`,
/// in order: what a replay reads.
pub fn read_between(
    conn: &Connection,
    (from, until): (Millis, Millis),
    (after, through): (Seq, Seq),
    max: usize,
) -> Result<Vec<LogEntry>, QueueError> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT seq, source, message_id, received_at, body FROM events
             WHERE seq > ?1 AND seq <= ?2 AND received_at >= ?3 AND received_at < ?4
             ORDER BY seq LIMIT ?5",
        )
        .map_err(unavailable)?;
    entries(&mut stmt, params![after, through, from, until, max as i64])
}

/// The backfill of `subscription` of `consumer` from `start_from`, begun now (up to the
/// consumer's cursor) if it was never begun. The consumer must exist.
pub fn backfill(
    conn: &Connection,
    consumer: &str,
    subscription: &str,
    start_from: Millis,
) -> Result<Backfill, QueueError> {
    let found: Option<(Seq, Seq)> = conn
        .query_row(
            "SELECT after, through FROM backfills
             WHERE consumer = ?1 AND subscription = ?2 AND start_from = ?3",
            params![consumer, subscription, start_from],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
        .map_err(unavailable)?;
    if let Some((after, through)) = found {
        return Ok(Backfill {
            start_from,
            after,
            through,
        });
    }
    let cursor: Seq = conn
        .query_row(
            "SELECT seq FROM cursors WHERE consumer = ?1",
            [consumer],
            |r| r.get(0),
        )
        .optional()
        .map_err(unavailable)?
        .ok_or_else(|| {
            QueueError::Unavailable(format!("the event log has no consumer {consumer:?}"))
        })?;
    conn.execute(
        "INSERT INTO backfills (consumer, subscription, start_from, after, through)
         VALUES (?1, ?2, ?3, 0, ?4)",
        params![consumer, subscription, start_from, cursor],
    )
    .map_err(unavailable)?;
    Ok(Backfill {
        start_from,
        after: 0,
        through: cursor,
    })
}

/// Records that `subscription`'s backfill from `start_from` has stored what it read up to
/// `after`.
pub fn backfilled(
    conn: &Connection,
    consumer: &str,
    subscription: &str,
    start_from: Millis,
    after: Seq,
) -> Result<(), QueueError> {
    conn.execute(
        "UPDATE backfills SET after = MAX(after, ?4)
         WHERE consumer = ?1 AND subscription = ?2 AND start_from = ?3",
        params![consumer, subscription, start_from, after],
    )
    .map_err(unavailable)?;
    Ok(())
}

/// Moves the consumer's cursor to `through`, never backwards and never past the end.
pub fn advance(conn: &Connection, consumer: &str, through: Seq) -> Result<(), QueueError> {
    let through = through.min(end(conn)?);
    let changed = conn
        .execute(
            "UPDATE cursors SET seq = ?2 WHERE consumer = ?1 AND seq < ?2",
            params![consumer, through],
        )
        .map_err(unavailable)?;
    if changed == 0 {
        let known: bool = conn
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM cursors WHERE consumer = ?1)",
                [consumer],
                |r| r.get(0),
            )
            .map_err(unavailable)?;
        if !known {
            return Err(QueueError::Unavailable(format!(
                "the event log has no consumer {consumer:?}"
            )));
        }
    }
    Ok(())
}

/// How far every consumer is behind.
pub fn lag(conn: &Connection) -> Result<Vec<Lag>, QueueError> {
    let end = end(conn)?;
    let mut oldest = conn
        .prepare_cached("SELECT received_at FROM events WHERE seq > ?1 ORDER BY seq LIMIT 1")
        .map_err(unavailable)?;
    let mut stmt = conn
        .prepare_cached("SELECT consumer, seq, lost FROM cursors ORDER BY consumer")
        .map_err(unavailable)?;
    let rows: Vec<(String, Seq, i64)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .map_err(unavailable)?
        .collect::<Result<_, _>>()
        .map_err(unavailable)?;
    let mut out = Vec::with_capacity(rows.len());
    for (consumer, seq, lost) in rows {
        let oldest_at: Option<Millis> = oldest
            .query_row([seq], |r| r.get(0))
            .optional()
            .map_err(unavailable)?;
        // Sequence numbers are dense: every event after the cursor is still in the log (the
        // size cap moves cursors past what it removes).
        out.push(Lag {
            consumer,
            events: end - seq,
            oldest_at,
            lost,
        });
    }
    Ok(out)
}

/// The bytes the log's events take, as [`LogRetention::max_bytes`] counts them.
pub fn bytes(conn: &Connection) -> Result<i64, QueueError> {
    conn.query_row("SELECT bytes FROM log_size WHERE one = 1", [], |r| r.get(0))
        .map_err(unavailable)
}

/// Removes what retention lets go (see the module's notes).
pub fn trim(
    conn: &Connection,
    now: Millis,
    retention: &LogRetention,
) -> Result<Trimmed, QueueError> {
    let mut trimmed = Trimmed::default();
    // By age: only what every consumer has read.
    let slowest: Option<Seq> = conn
        .query_row("SELECT MIN(seq) FROM cursors", [], |r| r.get(0))
        .map_err(unavailable)?;
    let read_by_all = slowest.unwrap_or(Seq::MAX);
    let old: (i64, Option<i64>) = conn
        .query_row(
            "SELECT COUNT(*), SUM(length(body)) FROM events WHERE received_at < ?1 AND seq <= ?2",
            params![now - retention.max_age, read_by_all],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .map_err(unavailable)?;
    if old.0 > 0 {
        conn.execute(
            "DELETE FROM events WHERE received_at < ?1 AND seq <= ?2",
            params![now - retention.max_age, read_by_all],
        )
        .map_err(unavailable)?;
        shrink(conn, old.1.unwrap_or(0))?;
        trimmed.removed += old.0;
    }
    // By size: the oldest first, read or not.
    if let Some(cap) = retention.max_bytes {
        let mut over = bytes(conn)? - cap;
        if over > 0 {
            let mut oldest = conn
                .prepare_cached("SELECT seq, length(body) FROM events ORDER BY seq")
                .map_err(unavailable)?;
            let mut through: Seq = 0;
            let mut freed = 0i64;
            let mut count = 0i64;
            let mut rows = oldest.query([]).map_err(unavailable)?;
            while over > 0 {
                let Some(row) = rows.next().map_err(unavailable)? else {
                    break;
                };
                let (seq, len): (Seq, i64) = (
                    row.get(0).map_err(unavailable)?,
                    row.get(1).map_err(unavailable)?,
                );
                through = seq;
                freed += len;
                over -= len;
                count += 1;
            }
            drop(rows);
            if count > 0 {
                let mut behind = conn
                    .prepare_cached(
                        "SELECT consumer, seq FROM cursors WHERE seq < ?1 ORDER BY consumer",
                    )
                    .map_err(unavailable)?;
                let behind: Vec<(String, Seq)> = behind
                    .query_map([through], |r| Ok((r.get(0)?, r.get(1)?)))
                    .map_err(unavailable)?
                    .collect::<Result<_, _>>()
                    .map_err(unavailable)?;
                for (consumer, seq) in behind {
                    let lost: i64 = conn
                        .query_row(
                            "SELECT COUNT(*) FROM events WHERE seq > ?1 AND seq <= ?2",
                            params![seq, through],
                            |r| r.get(0),
                        )
                        .map_err(unavailable)?;
                    conn.execute(
                        "UPDATE cursors SET seq = ?2, lost = lost + ?3 WHERE consumer = ?1",
                        params![consumer, through, lost],
                    )
                    .map_err(unavailable)?;
                    if lost > 0 {
                        trimmed.lost.push((consumer, lost));
                    }
                }
                conn.execute("DELETE FROM events WHERE seq <= ?1", [through])
                    .map_err(unavailable)?;
                shrink(conn, freed)?;
                trimmed.removed += count;
            }
        }
    }
    Ok(trimmed)
}

fn shrink(conn: &Connection, freed: i64) -> Result<(), QueueError> {
    conn.execute(
        "UPDATE log_size SET bytes = MAX(0, bytes - ?1) WHERE one = 1",
        [freed],
    )
    .map_err(unavailable)?;
    Ok(())
}
