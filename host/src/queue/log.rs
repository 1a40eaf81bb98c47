//! The event log (issue 19): every accepted event, appended once with a sequence number, and a
//! durable read position (a *cursor*) per consumer, one consumer per destination.
//!
//! Invariants, and why:
//! - A sequence number is never reused, even once the log is trimmed to nothing (the last one
//!   given is kept in `log_end`): a cursor names a place in the log forever.
//! - An event is appended at most once per source and messageId within the de-duplication
//!   window (the `seen` keys the queue already keeps), so a client's retry is not routed twice.
//! - A cursor only moves forward, and never past the end of the log. A consumer made at the end
//!   of the log reads only what comes after; one made from a time reads from the first event
//!   received at or after it.
//! - Trimming by age never removes an event a consumer has not read. Only the size cap does:
//!   then the consumers behind are moved to the new start, and what each lost is counted, so
//!   the loss is reported rather than silent.
//!
//! - The events of one append are stored together as one *chunk* (`packed.rs`: packed and
//!   compressed), with consecutive sequence numbers and one time of receipt. A chunk is
//!   written once and removed whole: trimming removes whole chunks, so the size cap may take
//!   a few events more than the bytes over it.
//!
//! These functions run over a plain [`Connection`], in the queue file's writer thread and in
//! the model test (`log_tests.rs`). The contract maps onto NATS JetStream as: the log is one
//! stream, a cursor is a durable consumer acked with "ack all" up to its position, trimming is
//! the stream's limits (`max_age`, `max_bytes`) with `discard old`.

use super::packed::{self, PackedEvent};
use super::{Millis, QueueError};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

/// A sequence number in the log; 0 is "before the first event".
pub type Seq = i64;

pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS chunks (
    first INTEGER PRIMARY KEY,
    last INTEGER NOT NULL,
    received_at INTEGER NOT NULL,
    bytes INTEGER NOT NULL,
    body BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_last ON chunks (last);
CREATE INDEX IF NOT EXISTS chunks_received ON chunks (received_at);
CREATE TABLE IF NOT EXISTS log_end (
    one INTEGER PRIMARY KEY CHECK (one = 1),
    seq INTEGER NOT NULL
);
INSERT OR IGNORE INTO log_end (one, seq) VALUES (1, 0);
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
    conn.prepare_cached("SELECT seq FROM log_end WHERE one = 1")
        .and_then(|mut stmt| stmt.query_row([], |r| r.get(0)))
        .map_err(unavailable)
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

/// The events of one append, packed for the log by the appending task ([`Packing::of`]), so
/// that the writer only checks their keys and stores the chunk.
#[derive(Debug, Clone)]
pub struct Packing {
    /// Each event's de-duplication key (source, messageId, client timestamp) and the length
    /// of its JSON text.
    pub keys: Vec<(String, String, Option<Millis>, usize)>,
    /// The events packed ([`packed::pack`]).
    pub chunk: Vec<u8>,
}

impl Packing {
    pub fn of(events: Vec<LogEvent>) -> Packing {
        let chunk = packed::pack(
            events
                .iter()
                .map(|e| (&*e.source, &*e.message_id, &*e.body)),
        );
        let keys = events
            .into_iter()
            .map(|e| (e.source, e.message_id, e.timestamp, e.body.len()))
            .collect();
        Packing { keys, chunk }
    }
}

/// Appends the events not seen before (see the module's notes), in order.
pub fn append(
    conn: &Connection,
    events: &[LogEvent],
    now: Millis,
    dedup_window: Millis,
) -> Result<Appended, QueueError> {
    append_packed(conn, &Packing::of(events.to_vec()), now, dedup_window)
}

/// [`append`] of events already packed: one chunk of those not seen before.
pub fn append_packed(
    conn: &Connection,
    packing: &Packing,
    now: Millis,
    dedup_window: Millis,
) -> Result<Appended, QueueError> {
    let mut done = Appended::default();
    let mut fresh = Vec::with_capacity(packing.keys.len());
    let mut bytes = 0i64;
    for (source, message_id, timestamp, len) in &packing.keys {
        let first = first_seen(conn, source, message_id, *timestamp, now, dedup_window)?;
        if first {
            done.appended += 1;
            bytes += *len as i64;
        } else {
            done.duplicates += 1;
        }
        fresh.push(first);
    }
    if done.appended == 0 {
        return Ok(done);
    }
    let repacked;
    let chunk = if done.duplicates == 0 {
        &packing.chunk
    } else {
        // A client's retry within the window: the chunk is packed again without the events
        // already in the log (rare, so done here rather than in every request).
        let events = packed::unpack(&packing.chunk).map_err(|e| QueueError::Unavailable(e.0))?;
        let kept: Vec<&PackedEvent> = events
            .iter()
            .zip(&fresh)
            .filter(|(_, fresh)| **fresh)
            .map(|(e, _)| e)
            .collect();
        repacked = packed::pack(kept.iter().map(|e| (&*e.source, &*e.message_id, &*e.body)));
        &repacked
    };
    let first = end(conn)? + 1;
    done.last = first + done.appended as Seq - 1;
    conn.prepare_cached(
        "INSERT INTO chunks (first, last, received_at, bytes, body) VALUES (?1, ?2, ?3, ?4, ?5)",
    )
    .and_then(|mut insert| insert.execute(params![first, done.last, now, bytes, chunk]))
    .map_err(unavailable)?;
    conn.prepare_cached("UPDATE log_end SET seq = ?1 WHERE one = 1")
        .and_then(|mut stmt| stmt.execute([done.last]))
        .map_err(unavailable)?;
    conn.prepare_cached("UPDATE log_size SET bytes = bytes + ?1 WHERE one = 1")
        .and_then(|mut stmt| stmt.execute([bytes]))
        .map_err(unavailable)?;
    Ok(done)
}

/// Moves the events of a log written before chunks (schema 4: a row an event) into chunks,
/// keeping their sequence numbers and times, then drops the old table. Nothing happens when
/// there is no such table.
pub(super) fn migrate_rows(conn: &Connection) -> Result<(), QueueError> {
    let old: bool = conn
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'events')",
            [],
            |r| r.get(0),
        )
        .map_err(unavailable)?;
    if !old {
        return Ok(());
    }
    let last_ever: Option<Seq> = conn
        .query_row(
            "SELECT seq FROM sqlite_sequence WHERE name = 'events'",
            [],
            |r| r.get(0),
        )
        .optional()
        .map_err(unavailable)?;
    let mut stmt = conn
        .prepare("SELECT seq, source, message_id, received_at, body FROM events ORDER BY seq")
        .map_err(unavailable)?;
    let mut rows = stmt.query([]).map_err(unavailable)?;
    // A chunk: consecutive numbers received at one time, at most this many.
    const MOST: usize = 1_000;
    let mut group: Vec<(Seq, Millis, LogEvent)> = Vec::new();
    let store = |group: &mut Vec<(Seq, Millis, LogEvent)>| -> Result<(), QueueError> {
        let Some((first, at, _)) = group.first() else {
            return Ok(());
        };
        let last = group.last().map_or(*first, |(seq, _, _)| *seq);
        let bytes: i64 = group.iter().map(|(_, _, e)| e.body.len() as i64).sum();
        let chunk = packed::pack(
            group
                .iter()
                .map(|(_, _, e)| (&*e.source, &*e.message_id, &*e.body)),
        );
        conn.execute(
            "INSERT INTO chunks (first, last, received_at, bytes, body) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![first, last, at, bytes, chunk],
        )
        .map_err(unavailable)?;
        group.clear();
        Ok(())
    };
    while let Some(row) = rows.next().map_err(unavailable)? {
        let seq: Seq = row.get(0).map_err(unavailable)?;
        let at: Millis = row.get(3).map_err(unavailable)?;
        let event = LogEvent {
            source: row.get(1).map_err(unavailable)?,
            message_id: row.get(2).map_err(unavailable)?,
            timestamp: None,
            body: row.get(4).map_err(unavailable)?,
        };
        let joins = group
            .last()
            .is_some_and(|(s, a, _)| *s + 1 == seq && *a == at && group.len() < MOST);
        if !joins {
            store(&mut group)?;
        }
        group.push((seq, at, event));
    }
    store(&mut group)?;
    drop(rows);
    drop(stmt);
    conn.execute(
        "UPDATE log_end SET seq = ?1 WHERE one = 1",
        [last_ever.unwrap_or(0)],
    )
    .map_err(unavailable)?;
    conn.execute_batch("DROP TABLE events")
        .map_err(unavailable)?;
    Ok(())
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
                    "SELECT MIN(first) FROM chunks WHERE received_at >= ?1",
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

/// The events of the chunks `stmt` selects (first, received_at, body, ordered by sequence)
/// whose numbers `wanted` takes, up to `max`.
fn entries(
    stmt: &mut rusqlite::CachedStatement<'_>,
    args: impl rusqlite::Params,
    wanted: impl Fn(Seq) -> bool,
    max: usize,
) -> Result<Vec<LogEntry>, QueueError> {
    let mut out = Vec::new();
    let mut rows = stmt.query(args).map_err(unavailable)?;
    while out.len() < max {
        let Some(row) = rows.next().map_err(unavailable)? else {
            break;
        };
        let first: Seq = row.get(0).map_err(unavailable)?;
        let received_at: Millis = row.get(1).map_err(unavailable)?;
        let chunk = row.get_ref(2).map_err(unavailable)?;
        let chunk = chunk
            .as_blob()
            .map_err(|e| QueueError::Unavailable(format!("the event log: {e}")))?;
        let events = packed::unpack(chunk).map_err(|e| QueueError::Unavailable(e.0))?;
        for (i, e) in events.into_iter().enumerate() {
            let seq = first + i as Seq;
            if out.len() == max {
                break;
            }
            if wanted(seq) {
                out.push(LogEntry {
                    seq,
                    source: e.source,
                    message_id: e.message_id,
                    received_at,
                    body: e.body,
                });
            }
        }
    }
    Ok(out)
}

/// Up to `max` events after `after`, in order.
pub fn read_after(conn: &Connection, after: Seq, max: usize) -> Result<Vec<LogEntry>, QueueError> {
    let mut stmt = conn
        .prepare_cached("SELECT first, received_at, body FROM chunks WHERE last > ?1 ORDER BY last")
        .map_err(unavailable)?;
    entries(&mut stmt, [after], |seq| seq > after, max)
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
            "SELECT first, received_at, body FROM chunks
             WHERE last > ?1 AND first <= ?2 AND received_at >= ?3 AND received_at < ?4
             ORDER BY last",
        )
        .map_err(unavailable)?;
    entries(
        &mut stmt,
        params![after, through, from, until],
        |seq| seq > after && seq <= through,
        max,
    )
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
        .prepare_cached("SELECT received_at FROM chunks WHERE last > ?1 ORDER BY last LIMIT 1")
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
            "SELECT COALESCE(SUM(last - first + 1), 0), SUM(bytes) FROM chunks
             WHERE received_at < ?1 AND last <= ?2",
            params![now - retention.max_age, read_by_all],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .map_err(unavailable)?;
    if old.0 > 0 {
        conn.execute(
            "DELETE FROM chunks WHERE received_at < ?1 AND last <= ?2",
            params![now - retention.max_age, read_by_all],
        )
        .map_err(unavailable)?;
        shrink(conn, old.1.unwrap_or(0))?;
        trimmed.removed += old.0;
    }
    // By size: the oldest chunks first, read or not.
    if let Some(cap) = retention.max_bytes {
        let mut over = bytes(conn)? - cap;
        if over > 0 {
            let mut oldest = conn
                .prepare_cached("SELECT last, last - first + 1, bytes FROM chunks ORDER BY last")
                .map_err(unavailable)?;
            let mut through: Seq = 0;
            let mut freed = 0i64;
            let mut count = 0i64;
            let mut rows = oldest.query([]).map_err(unavailable)?;
            while over > 0 {
                let Some(row) = rows.next().map_err(unavailable)? else {
                    break;
                };
                let (last, events, len): (Seq, i64, i64) = (
                    row.get(0).map_err(unavailable)?,
                    row.get(1).map_err(unavailable)?,
                    row.get(2).map_err(unavailable)?,
                );
                through = last;
                freed += len;
                over -= len;
                count += events;
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
                    // The events after its cursor up to `through` that are still there.
                    let lost: i64 = conn
                        .query_row(
                            "SELECT COALESCE(SUM(MIN(last, ?2) - MAX(first, ?1 + 1) + 1), 0)
                             FROM chunks WHERE last > ?1 AND first <= ?2",
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
                conn.execute("DELETE FROM chunks WHERE last <= ?1", [through])
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
