//! The embedded queue: one SQLite file (`queue.db` in the data folder), WAL journal.
//!
//! Two kinds of commit. A commit that stores new events waits for fsync (`synchronous = FULL`):
//! ingest answers 200 only once the events are on disk. A commit of the workers' bookkeeping
//! alone (leases, results, retry times, dead letters, cursor moves) does not wait (`NORMAL`):
//! it survives a crash or kill of the process, as every commit is in the WAL file before it
//! returns, and the next fsync (the next ingest commit, or a checkpoint) takes it to disk with
//! all before it. What a power cut can take is the last moments of bookkeeping, never an event:
//! a result or cursor move lost so means the delivery is made again (at least once), a lease
//! lost is due again anyway.
//! Waiting for the disk for every result took a fsync per worker round and stood between every
//! lease and its delivery.
//!
//! All writes go through one writer thread. It takes every request waiting for it, applies them
//! in one transaction and commits once: concurrent ingest requests share one fsync (group
//! commit). If any request of a group fails, the group is rolled back and each request is
//! applied again in a transaction of its own, so one failure (an enqueue on a full disk) does not
//! fail the others (a settle that frees space). This costs nothing while all goes well, where
//! per-request savepoints cost a tenth of the writer's time in profiles.
//! Leases are rows flagged `leased`; opening
//! the file clears the flags, so whatever a crashed process had leased is due again (delivered at
//! least once).
//!
//! The functions over a plain [`Connection`] are the queue's logic; the writer thread, the CLI
//! (`switchyard dlq`, `switchyard deliveries`) and the model test all use them.

use super::log::{self, Appended, Backfill, Lag, LogEntry, LogEvent, LogRetention, Seq, Start};
use super::{
    Acked, Attempt, DeadLetter, Enqueued, EventLog, Filter, Held, Leased, Leases, Millis, NewEvent,
    Queue, QueueError, QueueFuture, Records, Routed, Settled, Verdict,
};
use rusqlite::config::DbConfig;
use rusqlite::{Connection, params, params_from_iter};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tokio::sync::{Notify, mpsc, oneshot};

/// The schema version this build writes (`PRAGMA user_version`).
/// 3 adds the event log (`log.rs`); a version-2 file gains its tables at open and keeps its
/// queued deliveries. 4 marks replayed deliveries and their attempts (`replayed` columns, added
/// to an older file at open).
const SCHEMA_VERSION: i64 = 5;

/// Requests waiting for the writer, at most; beyond it callers are told the queue is busy.
const WAITING: usize = 4096;

/// Requests applied in one transaction, at most.
const GROUP: usize = 1024;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS deliveries (
    id INTEGER PRIMARY KEY,
    destination TEXT NOT NULL,
    subscription TEXT NOT NULL,
    action TEXT NOT NULL,
    source TEXT NOT NULL,
    message_id TEXT NOT NULL,
    order_key TEXT,
    payload TEXT NOT NULL,
    accepted_at INTEGER NOT NULL,
    due_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    leased INTEGER NOT NULL DEFAULT 0,
    replayed INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (destination, leased, due_at, id);
CREATE INDEX IF NOT EXISTS deliveries_order ON deliveries (destination, order_key, id)
    WHERE order_key IS NOT NULL;
CREATE TABLE IF NOT EXISTS dead_letters (
    id INTEGER PRIMARY KEY,
    destination TEXT NOT NULL,
    subscription TEXT NOT NULL,
    action TEXT NOT NULL,
    source TEXT NOT NULL,
    message_id TEXT NOT NULL,
    order_key TEXT,
    payload TEXT NOT NULL,
    is_event INTEGER NOT NULL DEFAULT 0,
    reason TEXT NOT NULL,
    error TEXT,
    attempts INTEGER NOT NULL,
    accepted_at INTEGER NOT NULL,
    dead_at INTEGER NOT NULL,
    request TEXT
);
CREATE INDEX IF NOT EXISTS dead_letters_at ON dead_letters (dead_at);
CREATE TABLE IF NOT EXISTS seen (
    ts INTEGER NOT NULL,
    source TEXT NOT NULL,
    message_id TEXT NOT NULL,
    at INTEGER NOT NULL,
    PRIMARY KEY (ts, source, message_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS seen_at ON seen (at);
CREATE TABLE IF NOT EXISTS attempts (
    id INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    source TEXT NOT NULL,
    destination TEXT NOT NULL,
    subscription TEXT NOT NULL,
    action TEXT NOT NULL,
    message_id TEXT NOT NULL,
    outcome TEXT NOT NULL,
    status INTEGER,
    latency_ms INTEGER NOT NULL,
    error TEXT,
    request TEXT,
    replayed INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS attempts_at ON attempts (at);
-- Where recent events went (the console's events page) reads the log from the oldest recent
-- event's receipt on (by `at`). An index of the log by message id cost a random 16 KiB page
-- write per attempt (message ids are random), which made the delivery log most of the bytes
-- written per event.
DROP INDEX IF EXISTS attempts_message;
CREATE INDEX IF NOT EXISTS dead_letters_message ON dead_letters (message_id);
";

/// How long things are kept.
#[derive(Debug, Clone, PartialEq)]
pub struct Retention {
    /// A messageId seen from a source within this many milliseconds is accepted once.
    pub dedup_window: Millis,
    /// Delivery log entries older than this are removed.
    pub log_max_age: Millis,
    /// The delivery log keeps at most this many entries.
    pub log_max_rows: i64,
    /// The queue file grows to at most this many bytes; new events are refused (ingest
    /// answers 503) from seven eighths of it on, until deliveries free space. `None`: as large
    /// as the disk allows.
    pub max_bytes: Option<u64>,
    /// How long and how much the event log keeps.
    pub log: LogRetention,
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            dedup_window: 24 * 3600 * 1000,
            log_max_age: 7 * 24 * 3600 * 1000,
            log_max_rows: 1_000_000,
            max_bytes: None,
            log: LogRetention::default(),
        }
    }
}

/// The queue file inside a data folder.
pub fn path_in(data_dir: &Path) -> PathBuf {
    data_dir.join("queue.db")
}

/// Opens (creating if needed) the queue file for the process that owns it, and clears leases
/// left by a previous one: their attempts may or may not have happened, so they are made again.
pub fn open(path: &Path) -> Result<Connection, QueueError> {
    let conn = attach(path)?;
    conn.execute("UPDATE deliveries SET leased = 0 WHERE leased = 1", [])
        .map_err(|e| {
            QueueError::Unavailable(format!("queue file {}: {}", path.display(), explain(&e)))
        })?;
    Ok(conn)
}

/// A connection that only reads the queue file (the event log's readers), opened by the
/// process that owns it, after [`open`] made the schema.
fn reader(path: &Path) -> Result<Connection, QueueError> {
    let failed = |e: rusqlite::Error| {
        QueueError::Unavailable(format!("queue file {}: {}", path.display(), explain(&e)))
    };
    let conn = Connection::open_with_flags(
        path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(failed)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .map_err(failed)?;
    conn.pragma_update(None, "cache_size", -16384)
        .map_err(failed)?;
    conn.set_prepared_statement_cache_capacity(16);
    Ok(conn)
}

/// Opens the queue file from another process (the `dlq` and `deliveries` commands) without
/// touching leases: a server may be running and its attempts in flight are its own.
pub fn attach(path: &Path) -> Result<Connection, QueueError> {
    let failed = |e: rusqlite::Error| {
        QueueError::Unavailable(format!("queue file {}: {}", path.display(), explain(&e)))
    };
    let conn = Connection::open(path).map_err(failed)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .map_err(failed)?;
    // Larger pages for rows of a few KB (takes effect when the file is created).
    conn.pragma_update(None, "page_size", 16384)
        .map_err(failed)?;
    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(failed)?;
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(failed)?;
    // 64 MiB of page cache: index lookups otherwise read pages back from disk.
    conn.pragma_update(None, "cache_size", -65536)
        .map_err(failed)?;
    conn.pragma_update(None, "journal_size_limit", 64i64 << 20)
        .map_err(failed)?;
    // Statements are prepared once and reused (every request goes through a dozen of them);
    // with the planner's stability guarantee, binding new values never forces a re-prepare.
    conn.set_prepared_statement_cache_capacity(64);
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)
        .map_err(failed)?;
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(failed)?;
    if version > SCHEMA_VERSION {
        return Err(QueueError::Unavailable(format!(
            "queue file {}: written by a newer Switchyard (schema {version}; this build knows \
             {SCHEMA_VERSION})",
            path.display()
        )));
    }
    if version == 1 {
        // Version 1 keyed de-duplication by (source, messageId) alone; its keys are dropped.
        conn.execute_batch("DROP TABLE IF EXISTS seen")
            .map_err(failed)?;
    }
    conn.execute_batch(SCHEMA).map_err(failed)?;
    if (1..4).contains(&version) {
        // Tables made by an older version lack the replay marks; their rows were not replayed.
        conn.execute_batch(
            "ALTER TABLE deliveries ADD COLUMN replayed INTEGER NOT NULL DEFAULT 0;
             ALTER TABLE attempts ADD COLUMN replayed INTEGER NOT NULL DEFAULT 0;",
        )
        .map_err(failed)?;
    }
    conn.execute_batch(super::log::SCHEMA).map_err(failed)?;
    if version < 5 {
        // Version 4 kept the log a row an event; its events move into chunks.
        let tx = conn.unchecked_transaction().map_err(failed)?;
        log::migrate_rows(&tx)?;
        tx.commit().map_err(failed)?;
    }
    conn.pragma_update(None, "user_version", SCHEMA_VERSION)
        .map_err(failed)?;
    Ok(conn)
}

const FULL: &str = "the queue is full: the disk is full, or the file reached server.queue_max_mb";

/// An operator-readable cause for a SQLite error.
fn explain(e: &rusqlite::Error) -> String {
    use rusqlite::ErrorCode::*;
    match e.sqlite_error_code() {
        Some(DiskFull) => FULL.into(),
        Some(ReadOnly) | Some(CannotOpen) | Some(PermissionDenied) => {
            format!("cannot write the file ({e})")
        }
        Some(DatabaseCorrupt) | Some(NotADatabase) => {
            format!("the file is corrupt or not a queue file ({e})")
        }
        _ => e.to_string(),
    }
}

fn unavailable(e: rusqlite::Error) -> QueueError {
    QueueError::Unavailable(explain(&e))
}

/// Stores accepted events; returns what was stored and the destinations that got work.
pub fn enqueue(
    conn: &Connection,
    events: &[NewEvent],
    now: Millis,
    retention: &Retention,
    touched: &mut HashSet<String>,
) -> Result<Enqueued, QueueError> {
    let mut insert = conn
        .prepare_cached(
            "INSERT INTO deliveries (destination, subscription, action, source, message_id,
             order_key, payload, accepted_at, due_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)",
        )
        .map_err(unavailable)?;
    let mut done = Enqueued::default();
    for event in events {
        let fresh = log::first_seen(
            conn,
            &event.source,
            &event.message_id,
            event.timestamp,
            now,
            retention.dedup_window,
        )?;
        if !fresh {
            done.duplicates += 1;
            continue;
        }
        for d in &event.deliveries {
            insert
                .execute(params![
                    d.destination,
                    d.subscription,
                    d.action,
                    event.source,
                    event.message_id,
                    d.order_key,
                    d.payload,
                    now
                ])
                .map_err(unavailable)?;
            done.deliveries += 1;
            touched.insert(d.destination.clone());
        }
        for r in &event.refused {
            dead_letter_event(conn, &event.source, &event.message_id, r, now, now)?;
        }
    }
    Ok(done)
}

/// Puts an event whose payload could not be built into dead letters, with the reason.
fn dead_letter_event(
    conn: &Connection,
    source: &str,
    message_id: &str,
    r: &super::Refused,
    accepted_at: Millis,
    now: Millis,
) -> Result<(), QueueError> {
    conn.prepare_cached(
        "INSERT INTO dead_letters (destination, subscription, action, source, message_id,
         payload, is_event, reason, error, attempts, accepted_at, dead_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, 'invalid-payload', ?7, 0, ?8, ?9)",
    )
    .and_then(|mut st| {
        st.execute(params![
            r.destination,
            r.subscription,
            r.action,
            source,
            message_id,
            r.event,
            r.error,
            accepted_at,
            now
        ])
    })
    .map_err(unavailable)?;
    Ok(())
}

/// Leases due deliveries of one destination (see [`Queue::lease`]).
pub fn lease(
    conn: &Connection,
    destination: &str,
    max: usize,
    now: Millis,
) -> Result<Leases, QueueError> {
    // A delivery with an order key waits while an older one with the same key is still queued
    // (leased, or waiting for a retry).
    const ELIGIBLE: &str = "destination = ?1 AND leased = 0 AND (order_key IS NULL OR NOT EXISTS (
        SELECT 1 FROM deliveries e WHERE e.destination = d.destination
        AND e.order_key = d.order_key AND e.id < d.id))";
    let mut select = conn
        .prepare_cached(&format!(
            "SELECT id, subscription, action, source, message_id, payload, attempts, accepted_at,
             replayed FROM deliveries d WHERE {ELIGIBLE} AND due_at <= ?2 ORDER BY due_at, id LIMIT ?3"
        ))
        .map_err(unavailable)?;
    let items = select
        .query_map(params![destination, now, max as i64], |r| {
            Ok(Leased {
                id: r.get(0)?,
                subscription: r.get(1)?,
                action: r.get(2)?,
                source: r.get(3)?,
                message_id: r.get(4)?,
                payload: r.get(5)?,
                attempts: r.get(6)?,
                accepted_at: r.get(7)?,
                replayed: r.get(8)?,
                seq: None,
            })
        })
        .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
        .map_err(unavailable)?;
    let mut mark = conn
        .prepare_cached("UPDATE deliveries SET leased = 1 WHERE id = ?1")
        .map_err(unavailable)?;
    for item in &items {
        mark.execute([item.id]).map_err(unavailable)?;
    }
    let next_due = conn
        .prepare_cached(&format!(
            "SELECT MIN(due_at) FROM deliveries d WHERE {ELIGIBLE}"
        ))
        .and_then(|mut s| s.query_row(params![destination], |r| r.get(0)))
        .map_err(unavailable)?;
    Ok(Leases { items, next_due })
}

/// Settles leases and writes their attempts to the delivery log.
pub fn settle(
    conn: &Connection,
    settled: &[Settled],
    now: Millis,
    touched: &mut HashSet<String>,
) -> Result<(), QueueError> {
    settle_with(conn, settled, now, touched, true)
}

/// [`settle`], with or without the attempts' delivery-log entries.
fn settle_with(
    conn: &Connection,
    settled: &[Settled],
    now: Millis,
    touched: &mut HashSet<String>,
    log: bool,
) -> Result<(), QueueError> {
    for s in settled {
        touched.insert(s.attempt.destination.clone());
        match &s.verdict {
            Verdict::Delivered => {
                conn.prepare_cached("DELETE FROM deliveries WHERE id = ?1")
                    .and_then(|mut st| st.execute([s.id]))
                    .map_err(unavailable)?;
            }
            Verdict::Retry { due_at } => {
                conn.prepare_cached(
                    "UPDATE deliveries SET leased = 0, attempts = attempts + 1, due_at = ?2
                     WHERE id = ?1",
                )
                .and_then(|mut st| st.execute(params![s.id, due_at]))
                .map_err(unavailable)?;
            }
            Verdict::Release => {
                conn.prepare_cached("UPDATE deliveries SET leased = 0 WHERE id = ?1")
                    .and_then(|mut st| st.execute([s.id]))
                    .map_err(unavailable)?;
                continue;
            }
            Verdict::DeadLetter { reason } => {
                conn.prepare_cached(
                    "INSERT INTO dead_letters (destination, subscription, action, source,
                     message_id, order_key, payload, reason, error, attempts, accepted_at,
                     dead_at, request)
                     SELECT destination, subscription, action, source, message_id, order_key,
                     payload, ?2, ?3, attempts + 1, accepted_at, ?4, ?5
                     FROM deliveries WHERE id = ?1",
                )
                .and_then(|mut st| {
                    st.execute(params![
                        s.id,
                        reason,
                        s.attempt.error,
                        now,
                        s.attempt.request
                    ])
                })
                .map_err(unavailable)?;
                conn.prepare_cached("DELETE FROM deliveries WHERE id = ?1")
                    .and_then(|mut st| st.execute([s.id]))
                    .map_err(unavailable)?;
            }
        }
        if log {
            record_attempt(conn, &s.attempt)?;
        }
    }
    Ok(())
}

/// Writes one attempt to the delivery log.
fn record_attempt(conn: &Connection, a: &Attempt) -> Result<(), QueueError> {
    conn.prepare_cached(
        "INSERT INTO attempts (at, source, destination, subscription, action, message_id,
             outcome, status, latency_ms, error, request, replayed)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    )
    .and_then(|mut st| {
        st.execute(params![
            a.at,
            a.source,
            a.destination,
            a.subscription,
            a.action,
            a.message_id,
            a.outcome,
            a.status,
            a.latency_ms as i64,
            a.error,
            a.request,
            a.replayed
        ])
    })
    .map_err(unavailable)?;
    Ok(())
}

/// Removes expired de-duplication keys and delivery log entries, a bounded amount at a time.
pub fn prune(conn: &Connection, now: Millis, retention: &Retention) -> Result<(), QueueError> {
    conn.execute(
        "DELETE FROM seen WHERE (ts, source, message_id) IN
         (SELECT ts, source, message_id FROM seen WHERE at < ?1 LIMIT 10000)",
        [now - retention.dedup_window],
    )
    .map_err(unavailable)?;
    conn.execute(
        "DELETE FROM attempts WHERE id IN (SELECT id FROM attempts WHERE at < ?1 LIMIT 10000)",
        [now - retention.log_max_age],
    )
    .map_err(unavailable)?;
    conn.execute(
        "DELETE FROM attempts WHERE id <= (SELECT MAX(id) FROM attempts) - ?1",
        [retention.log_max_rows],
    )
    .map_err(unavailable)?;
    Ok(())
}

/// The WHERE clause and parameters of a filter over dead letters or the delivery log.
fn filter_sql(filter: &Filter, reason: &str, at: &str) -> (String, Vec<rusqlite::types::Value>) {
    use rusqlite::types::Value as V;
    let mut clauses = vec!["1".to_string()];
    let mut values = Vec::new();
    if let Some(d) = &filter.destination {
        values.push(V::Text(d.clone()));
        clauses.push(format!("destination = ?{}", values.len()));
    }
    if let Some(a) = &filter.action {
        values.push(V::Text(a.clone()));
        clauses.push(format!("action = ?{}", values.len()));
    }
    if let Some(r) = &filter.reason {
        values.push(V::Text(r.clone()));
        clauses.push(format!("{reason} = ?{}", values.len()));
    }
    if let Some(t) = filter.since {
        values.push(V::Integer(t));
        clauses.push(format!("{at} >= ?{}", values.len()));
    }
    if let Some(t) = filter.until {
        values.push(V::Integer(t));
        clauses.push(format!("{at} < ?{}", values.len()));
    }
    if !filter.message_ids.is_empty() {
        let mut places = Vec::new();
        for id in &filter.message_ids {
            values.push(V::Text(id.clone()));
            places.push(format!("?{}", values.len()));
        }
        clauses.push(format!("message_id IN ({})", places.join(", ")));
    }
    if !filter.ids.is_empty() {
        let mut places = Vec::new();
        for id in &filter.ids {
            values.push(V::Integer(*id));
            places.push(format!("?{}", values.len()));
        }
        clauses.push(format!("id IN ({})", places.join(", ")));
    }
    (clauses.join(" AND "), values)
}

/// Dead letters matching the filter, oldest first.
pub fn dead_letters(conn: &Connection, filter: &Filter) -> Result<Vec<DeadLetter>, QueueError> {
    let (clause, values) = filter_sql(filter, "reason", "dead_at");
    let limit = filter.limit.map_or(-1, |l| l as i64);
    let sql = format!(
        "SELECT id, destination, subscription, action, source, message_id, payload, is_event,
         reason, error, attempts, accepted_at, dead_at, request FROM dead_letters
         WHERE {clause} ORDER BY id LIMIT {limit}"
    );
    let mut st = conn.prepare(&sql).map_err(unavailable)?;
    st.query_map(params_from_iter(values), |r| {
        Ok(DeadLetter {
            id: r.get(0)?,
            destination: r.get(1)?,
            subscription: r.get(2)?,
            action: r.get(3)?,
            source: r.get(4)?,
            message_id: r.get(5)?,
            payload: r.get(6)?,
            is_event: r.get(7)?,
            reason: r.get(8)?,
            error: r.get(9)?,
            attempts: r.get(10)?,
            accepted_at: r.get(11)?,
            dead_at: r.get(12)?,
            request: r.get(13)?,
        })
    })
    .and_then(|rows| rows.collect())
    .map_err(unavailable)
}

/// Removes the dead letters matching the filter; returns how many.
pub fn purge(conn: &Connection, filter: &Filter) -> Result<usize, QueueError> {
    let (clause, values) = filter_sql(filter, "reason", "dead_at");
    conn.execute(
        &format!("DELETE FROM dead_letters WHERE {clause}"),
        params_from_iter(values),
    )
    .map_err(unavailable)
}

/// Moves the dead letters matching the filter back into the queue, due now, with a fresh
/// retry window. Dead letters that hold an event (the mapping refused it) are left: they need
/// the event routed again, which `replay` reports as skipped. Returns (replayed, skipped).
pub fn replay(
    conn: &Connection,
    filter: &Filter,
    now: Millis,
) -> Result<(usize, usize), QueueError> {
    let (clause, values) = filter_sql(filter, "reason", "dead_at");
    let skipped: i64 = conn
        .query_row(
            &format!("SELECT COUNT(*) FROM dead_letters WHERE {clause} AND is_event = 1"),
            params_from_iter(values.clone()),
            |r| r.get(0),
        )
        .map_err(unavailable)?;
    let n = values.len();
    let mut with_now = values.clone();
    with_now.push(rusqlite::types::Value::Integer(now));
    let replayed = conn
        .execute(
            &format!(
                "INSERT INTO deliveries (destination, subscription, action, source, message_id,
                 order_key, payload, accepted_at, due_at)
                 SELECT destination, subscription, action, source, message_id, order_key, payload,
                 ?{0}, ?{0} FROM dead_letters WHERE {clause} AND is_event = 0 ORDER BY id",
                n + 1
            ),
            params_from_iter(with_now),
        )
        .map_err(unavailable)?;
    conn.execute(
        &format!("DELETE FROM dead_letters WHERE {clause} AND is_event = 0"),
        params_from_iter(values),
    )
    .map_err(unavailable)?;
    Ok((replayed, skipped as usize))
}

/// Delivery log entries matching the filter, newest last; `reason` filters on the outcome.
pub fn attempts(conn: &Connection, filter: &Filter) -> Result<Vec<Attempt>, QueueError> {
    let (clause, values) = filter_sql(filter, "outcome", "at");
    let limit = filter.limit.map_or(-1, |l| l as i64);
    let sql = format!(
        "SELECT * FROM (SELECT id, at, source, destination, subscription, action, message_id,
         outcome, status, latency_ms, error, request, replayed FROM attempts WHERE {clause}
         ORDER BY id DESC LIMIT {limit}) ORDER BY id"
    );
    let mut st = conn.prepare(&sql).map_err(unavailable)?;
    st.query_map(params_from_iter(values), |r| {
        Ok(Attempt {
            at: r.get(1)?,
            source: r.get(2)?,
            destination: r.get(3)?,
            subscription: r.get(4)?,
            action: r.get(5)?,
            message_id: r.get(6)?,
            outcome: r.get(7)?,
            status: r.get(8)?,
            latency_ms: r.get::<_, i64>(9)? as u64,
            error: r.get(10)?,
            request: r.get(11)?,
            replayed: r.get(12)?,
        })
    })
    .and_then(|rows| rows.collect())
    .map_err(unavailable)
}

/// Deliveries waiting, per destination (leased ones included).
pub fn pending(conn: &Connection) -> Result<Vec<(String, i64)>, QueueError> {
    let mut st = conn
        .prepare("SELECT destination, COUNT(*) FROM deliveries GROUP BY destination ORDER BY 1")
        .map_err(unavailable)?;
    st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .and_then(|rows| rows.collect())
        .map_err(unavailable)
}

/// Per destination: deliveries waiting (leased ones included) and when the oldest was
/// accepted.
pub fn waiting(conn: &Connection) -> Result<Vec<(String, i64, Millis)>, QueueError> {
    let mut st = conn
        .prepare(
            "SELECT destination, COUNT(*), MIN(accepted_at) FROM deliveries \
             GROUP BY destination ORDER BY 1",
        )
        .map_err(unavailable)?;
    st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .and_then(|rows| rows.collect())
        .map_err(unavailable)
}

/// A request for the writer thread.
enum Op {
    Enqueue(
        Vec<NewEvent>,
        Millis,
        oneshot::Sender<Result<Enqueued, QueueError>>,
    ),
    Lease(
        String,
        usize,
        Millis,
        oneshot::Sender<Result<Leases, QueueError>>,
    ),
    Settle(
        Vec<Settled>,
        Millis,
        oneshot::Sender<Result<(), QueueError>>,
    ),
    Append(
        log::Packing,
        Millis,
        oneshot::Sender<Result<Appended, QueueError>>,
    ),
    OpenConsumer(
        String,
        Start,
        Millis,
        oneshot::Sender<Result<Seq, QueueError>>,
    ),
    Advance(
        String,
        Seq,
        Routed,
        Millis,
        oneshot::Sender<Result<(), QueueError>>,
    ),
    Requeue(
        String,
        Routed,
        Option<(String, Backfill)>,
        Millis,
        oneshot::Sender<Result<(), QueueError>>,
    ),
    Backfill(
        String,
        String,
        Millis,
        oneshot::Sender<Result<Backfill, QueueError>>,
    ),
    Ack(
        String,
        Acked,
        Millis,
        oneshot::Sender<Result<(), QueueError>>,
    ),
    Lag(oneshot::Sender<Result<Vec<Lag>, QueueError>>),
    KeepConsumers(Vec<String>, oneshot::Sender<Result<(), QueueError>>),
}

/// The SQLite queue: a handle to the writer thread. Dropping every handle ends the thread once
/// the requests already sent are done.
pub struct SqliteQueue {
    /// The records, read on connections of their own.
    records: RecordsFile,
    /// Connections that read the event log for the feeders, beside the writer (WAL lets them
    /// read while it writes), kept open between reads; as many as read at once.
    readers: Arc<Mutex<Vec<Connection>>>,
    ops: mpsc::Sender<Op>,
    wakeups: Arc<Wakeups>,
    /// The log's last sequence number, for the destinations' feeders to wait on.
    end: tokio::sync::watch::Receiver<Seq>,
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
}

/// One [`Notify`] per destination.
#[derive(Default)]
struct Wakeups(Mutex<HashMap<String, Arc<Notify>>>);

impl Wakeups {
    fn get(&self, destination: &str) -> Arc<Notify> {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.entry(destination.to_string()).or_default().clone()
    }

    fn wake_all(&self) {
        let map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.values().for_each(|n| n.notify_one());
    }

    fn wake(&self, destinations: &HashSet<String>) {
        for d in destinations {
            self.get(d).notify_one();
        }
    }
}

impl SqliteQueue {
    /// Opens the queue file and starts the writer thread.
    pub fn open(path: &Path, retention: Retention) -> Result<SqliteQueue, QueueError> {
        let conn = open(path)?;
        if let Some(max) = retention.max_bytes {
            let page: i64 = conn
                .pragma_query_value(None, "page_size", |r| r.get(0))
                .map_err(unavailable)?;
            let pages = i64::try_from(max).unwrap_or(i64::MAX) / page.max(1);
            conn.pragma_update(None, "max_page_count", pages.max(1))
                .map_err(unavailable)?;
        }
        let (ops, receiver) = mpsc::channel(WAITING);
        let wakeups = Arc::new(Wakeups::default());
        let wake = wakeups.clone();
        let (ended, end) = tokio::sync::watch::channel(log::end(&conn)?);
        let writer = std::thread::Builder::new()
            .name("switchyard-queue".into())
            .spawn(move || write(conn, receiver, &wake, &ended, &retention))
            .map_err(|e| QueueError::Unavailable(format!("cannot start the queue writer: {e}")))?;
        Ok(SqliteQueue {
            records: RecordsFile {
                path: path.to_path_buf(),
            },
            readers: Arc::default(),
            ops,
            wakeups,
            end,
            writer: Mutex::new(Some(writer)),
        })
    }

    /// Runs `f` on one of the log's reader connections, off the async threads.
    fn on_reader<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, QueueError> + Send + 'static,
    ) -> QueueFuture<'_, T> {
        let (readers, path) = (self.readers.clone(), self.records.path.clone());
        Box::pin(async move {
            tokio::task::spawn_blocking(move || {
                let kept = readers.lock().unwrap_or_else(|e| e.into_inner()).pop();
                let conn = match kept {
                    Some(conn) => conn,
                    None => reader(&path)?,
                };
                let out = f(&conn);
                readers.lock().unwrap_or_else(|e| e.into_inner()).push(conn);
                out
            })
            .await
            .map_err(|e| QueueError::Unavailable(format!("queue reader failed: {e}")))?
        })
    }

    fn send<T: Send + 'static>(
        &self,
        op: impl FnOnce(oneshot::Sender<Result<T, QueueError>>) -> Op,
    ) -> QueueFuture<'_, T> {
        let (reply, answer) = oneshot::channel();
        let sent = self.ops.try_send(op(reply));
        Box::pin(async move {
            match sent {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(_)) => return Err(QueueError::Busy),
                Err(mpsc::error::TrySendError::Closed(_)) => {
                    return Err(QueueError::Unavailable("the queue is closed".into()));
                }
            }
            answer.await.unwrap_or_else(|_| {
                Err(QueueError::Unavailable(
                    "the queue writer stopped; see the log".into(),
                ))
            })
        })
    }

    /// Waits for the writer thread to finish what was sent; the caller has dropped every other
    /// handle.
    pub fn close(self) {
        let writer = self.writer.lock().unwrap_or_else(|e| e.into_inner()).take();
        drop(self.ops);
        if let Some(writer) = writer {
            let _ = writer.join();
        }
    }
}

impl Queue for SqliteQueue {
    fn enqueue(&self, events: Vec<NewEvent>, now: Millis) -> QueueFuture<'_, Enqueued> {
        self.send(|reply| Op::Enqueue(events, now, reply))
    }

    fn lease(&self, destination: &str, max: usize, now: Millis) -> QueueFuture<'_, Leases> {
        let destination = destination.to_string();
        self.send(|reply| Op::Lease(destination, max, now, reply))
    }

    fn settle(&self, settled: Vec<Settled>, now: Millis) -> QueueFuture<'_, ()> {
        self.send(|reply| Op::Settle(settled, now, reply))
    }

    fn changed(
        &self,
        destination: &str,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + '_>> {
        let notify = self.wakeups.get(destination);
        Box::pin(async move { notify.notified().await })
    }
}

impl EventLog for SqliteQueue {
    fn append(&self, events: Vec<LogEvent>, now: Millis) -> QueueFuture<'_, Appended> {
        // Packed and compressed here, in the appending task, so the one writer thread only
        // checks the keys and copies the chunk.
        let packing = log::Packing::of(events);
        self.send(|reply| Op::Append(packing, now, reply))
    }

    fn open_consumer(&self, consumer: &str, start: Start, now: Millis) -> QueueFuture<'_, Seq> {
        let consumer = consumer.to_string();
        self.send(|reply| Op::OpenConsumer(consumer, start, now, reply))
    }

    fn read(&self, after: Seq, max: usize) -> QueueFuture<'_, Vec<LogEntry>> {
        self.on_reader(move |conn| log::read_after(conn, after, max))
    }

    fn advance(
        &self,
        consumer: &str,
        through: Seq,
        routed: Routed,
        now: Millis,
    ) -> QueueFuture<'_, ()> {
        let consumer = consumer.to_string();
        self.send(|reply| Op::Advance(consumer, through, routed, now, reply))
    }

    fn lag(&self) -> QueueFuture<'_, Vec<Lag>> {
        self.send(Op::Lag)
    }

    fn ack(&self, consumer: &str, acked: Acked, now: Millis) -> QueueFuture<'_, ()> {
        let consumer = consumer.to_string();
        self.send(|reply| Op::Ack(consumer, acked, now, reply))
    }

    fn read_between(
        &self,
        received: (Millis, Millis),
        seqs: (Seq, Seq),
        max: usize,
    ) -> QueueFuture<'_, Vec<LogEntry>> {
        self.on_reader(move |conn| log::read_between(conn, received, seqs, max))
    }

    fn requeue(
        &self,
        consumer: &str,
        routed: Routed,
        backfilled: Option<(String, Backfill)>,
        now: Millis,
    ) -> QueueFuture<'_, ()> {
        let consumer = consumer.to_string();
        self.send(|reply| Op::Requeue(consumer, routed, backfilled, now, reply))
    }

    fn backfill(
        &self,
        consumer: &str,
        subscription: &str,
        start_from: Millis,
    ) -> QueueFuture<'_, Backfill> {
        let (consumer, subscription) = (consumer.to_string(), subscription.to_string());
        self.send(|reply| Op::Backfill(consumer, subscription, start_from, reply))
    }

    fn keep_consumers(&self, consumers: Vec<String>) -> QueueFuture<'_, ()> {
        self.send(|reply| Op::KeepConsumers(consumers, reply))
    }

    fn end(&self) -> tokio::sync::watch::Receiver<Seq> {
        self.end.clone()
    }
}

/// The records of a queue file (what waits, the delivery log, dead letters), each call read or
/// changed on a connection of its own. This is the one way into the records: the server's admin
/// API reads them through its [`SqliteQueue`], and the `dlq` and `deliveries` commands through a
/// [`RecordsFile`] of their own, beside a running server or not.
pub struct RecordsFile {
    path: PathBuf,
}

impl RecordsFile {
    /// The records of the queue file at `path`, which must exist and be a queue.
    pub fn open(path: &Path) -> Result<RecordsFile, QueueError> {
        attach(path)?;
        Ok(RecordsFile {
            path: path.to_path_buf(),
        })
    }

    /// Runs `f` on a connection of its own, off the async threads. WAL lets it read while the
    /// writer thread writes; its few writes (replay, purge) wait for the writer's lock.
    fn on_own_connection<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, QueueError> + Send + 'static,
    ) -> QueueFuture<'_, T> {
        let path = self.path.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || f(&attach(&path)?))
                .await
                .map_err(|e| QueueError::Unavailable(format!("queue reader failed: {e}")))?
        })
    }
}

/// The queued deliveries and dead letters of these events.
pub fn placed(
    conn: &Connection,
    message_ids: &[String],
) -> Result<Vec<(String, String, String, &'static str)>, QueueError> {
    let mut out = Vec::new();
    // SQLite takes at most 32766 parameters; the console asks about 100 events at a time.
    for chunk in message_ids.chunks(500) {
        let places = vec!["?"; chunk.len()].join(", ");
        for (table, state) in [("deliveries", "queued"), ("dead_letters", "dead-letter")] {
            let mut st = conn
                .prepare(&format!(
                    "SELECT message_id, destination, subscription FROM {table} \
                     WHERE message_id IN ({places})"
                ))
                .map_err(unavailable)?;
            let rows = st
                .query_map(rusqlite::params_from_iter(chunk), |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, state))
                })
                .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
                .map_err(unavailable)?;
            out.extend(rows);
        }
    }
    Ok(out)
}

/// Delivery log entries since `since`, by destination, outcome and hour.
pub fn outcome_counts(
    conn: &Connection,
    since: Millis,
) -> Result<Vec<(String, String, Millis, u64)>, QueueError> {
    let mut st = conn
        .prepare(
            "SELECT destination, outcome, (at / 3600000) * 3600000, COUNT(*) FROM attempts \
             WHERE at >= ?1 GROUP BY 1, 2, 3",
        )
        .map_err(unavailable)?;
    st.query_map([since], |r| {
        let n: i64 = r.get(3)?;
        Ok((r.get(0)?, r.get(1)?, r.get(2)?, n.max(0) as u64))
    })
    .and_then(|rows| rows.collect())
    .map_err(unavailable)
}

impl Records for RecordsFile {
    fn waiting(&self) -> QueueFuture<'_, Vec<(String, i64, Millis)>> {
        self.on_own_connection(waiting)
    }

    fn behind(&self) -> QueueFuture<'_, Vec<Lag>> {
        self.on_own_connection(log::lag)
    }

    fn attempts(&self, filter: Filter) -> QueueFuture<'_, Vec<Attempt>> {
        self.on_own_connection(move |conn| attempts(conn, &filter))
    }

    fn dead_letters(&self, filter: Filter) -> QueueFuture<'_, Vec<DeadLetter>> {
        self.on_own_connection(move |conn| dead_letters(conn, &filter))
    }

    /// A server in another process finds the replayed deliveries when its workers next look
    /// at the queue (within their idle interval).
    fn replay(&self, filter: Filter, now: Millis) -> QueueFuture<'_, (usize, usize)> {
        self.on_own_connection(move |conn| replay(conn, &filter, now))
    }

    fn purge(&self, filter: Filter) -> QueueFuture<'_, usize> {
        self.on_own_connection(move |conn| purge(conn, &filter))
    }

    fn outcome_counts(&self, since: Millis) -> QueueFuture<'_, Vec<(String, String, Millis, u64)>> {
        self.on_own_connection(move |conn| outcome_counts(conn, since))
    }

    fn placed(
        &self,
        message_ids: Vec<String>,
    ) -> QueueFuture<'_, Vec<(String, String, String, &'static str)>> {
        self.on_own_connection(move |conn| placed(conn, &message_ids))
    }
}

impl Records for SqliteQueue {
    fn waiting(&self) -> QueueFuture<'_, Vec<(String, i64, Millis)>> {
        self.records.waiting()
    }

    fn behind(&self) -> QueueFuture<'_, Vec<Lag>> {
        self.records.behind()
    }

    fn attempts(&self, filter: Filter) -> QueueFuture<'_, Vec<Attempt>> {
        self.records.attempts(filter)
    }

    fn dead_letters(&self, filter: Filter) -> QueueFuture<'_, Vec<DeadLetter>> {
        self.records.dead_letters(filter)
    }

    /// Replayed deliveries wake their destinations' workers at once.
    fn replay(&self, filter: Filter, now: Millis) -> QueueFuture<'_, (usize, usize)> {
        let wakeups = self.wakeups.clone();
        let destination = filter.destination.clone();
        let replayed = self.records.replay(filter, now);
        Box::pin(async move {
            let done = replayed.await?;
            match destination {
                Some(d) => wakeups.wake(&HashSet::from([d])),
                None => wakeups.wake_all(),
            }
            Ok(done)
        })
    }

    fn purge(&self, filter: Filter) -> QueueFuture<'_, usize> {
        self.records.purge(filter)
    }

    fn outcome_counts(&self, since: Millis) -> QueueFuture<'_, Vec<(String, String, Millis, u64)>> {
        self.records.outcome_counts(since)
    }

    fn placed(
        &self,
        message_ids: Vec<String>,
    ) -> QueueFuture<'_, Vec<(String, String, String, &'static str)>> {
        self.records.placed(message_ids)
    }
}

/// What one request came to, before its transaction commits.
enum Answer {
    Enqueue(Enqueued),
    Lease(Leases),
    Settle,
    Append(Appended),
    Seq(Seq),
    Lag(Vec<Lag>),
    Backfill(Backfill),
}

/// Refuses new events once the file is within an eighth (at least 4 pages) of its cap: leases,
/// results and their log entries write too, and a queue too full to lease could never
/// deliver, so never free space.
fn make_room(conn: &Connection, max_bytes: u64) -> Result<(), QueueError> {
    let count = |pragma: &str| -> Result<i64, QueueError> {
        conn.pragma_query_value(None, pragma, |r| r.get(0))
            .map_err(unavailable)
    };
    let page = count("page_size")?.max(1);
    let max = i64::try_from(max_bytes).unwrap_or(i64::MAX) / page;
    let used = count("page_count")? - count("freelist_count")?;
    if used > max - (max / 8).max(4) {
        return Err(QueueError::Unavailable(FULL.into()));
    }
    Ok(())
}

/// Applies one request inside the caller's transaction.
fn apply(
    conn: &Connection,
    op: &Op,
    retention: &Retention,
    touched: &mut HashSet<String>,
) -> Result<Answer, QueueError> {
    Ok(match op {
        Op::Enqueue(events, now, _) => {
            if let Some(max) = retention.max_bytes {
                make_room(conn, max)?;
            }
            Answer::Enqueue(enqueue(conn, events, *now, retention, touched)?)
        }
        Op::Lease(destination, max, now, _) => Answer::Lease(lease(conn, destination, *max, *now)?),
        Op::Settle(settled, now, _) => {
            settle(conn, settled, *now, touched)?;
            Answer::Settle
        }
        Op::Append(packing, now, _) => {
            if let Some(max) = retention.max_bytes {
                make_room(conn, max)?;
            }
            Answer::Append(log::append_packed(
                conn,
                packing,
                *now,
                retention.dedup_window,
            )?)
        }
        Op::OpenConsumer(consumer, start, now, _) => {
            Answer::Seq(log::open_consumer(conn, consumer, *start, *now)?)
        }
        Op::Advance(consumer, through, routed, now, _) => {
            store_routed(conn, consumer, routed, *now, touched)?;
            log::advance(conn, consumer, *through)?;
            Answer::Settle
        }
        Op::Requeue(consumer, routed, backfilled, now, _) => {
            store_routed(conn, consumer, routed, *now, touched)?;
            if let Some((subscription, b)) = backfilled {
                log::backfilled(conn, consumer, subscription, b.start_from, b.after)?;
            }
            Answer::Settle
        }
        Op::Ack(consumer, acked, now, _) => {
            ack(conn, consumer, acked, *now, touched, true)?;
            Answer::Settle
        }
        Op::Backfill(consumer, subscription, start_from, _) => {
            Answer::Backfill(log::backfill(conn, consumer, subscription, *start_from)?)
        }
        Op::Lag(_) => Answer::Lag(log::lag(conn)?),
        Op::KeepConsumers(keep, _) => {
            for (consumer, _) in log::consumers(conn)? {
                if !keep.contains(&consumer) {
                    log::remove_consumer(conn, &consumer)?;
                }
            }
            Answer::Settle
        }
    })
}

/// Applies a worker's [`Acked`] (see [`EventLog::ack`]); `log` as for [`settle_with`].
fn ack(
    conn: &Connection,
    consumer: &str,
    acked: &Acked,
    now: Millis,
    touched: &mut HashSet<String>,
    log: bool,
) -> Result<(), QueueError> {
    settle_with(conn, &acked.settled, now, touched, log)?;
    for f in &acked.fresh {
        let d = &f.delivery;
        match &f.verdict {
            Verdict::Delivered => {}
            Verdict::Retry { due_at } => {
                let retry = Held {
                    due_at: *due_at,
                    attempts: d.attempts + 1,
                    ..d.clone()
                };
                hold(conn, consumer, std::slice::from_ref(&retry), now)?;
                touched.insert(consumer.to_string());
            }
            Verdict::Release => {
                hold(conn, consumer, std::slice::from_ref(d), now)?;
                touched.insert(consumer.to_string());
                continue;
            }
            Verdict::DeadLetter { reason } => {
                conn.prepare_cached(
                    "INSERT INTO dead_letters (destination, subscription, action, source,
                     message_id, order_key, payload, reason, error, attempts, accepted_at,
                     dead_at, request)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                )
                .and_then(|mut st| {
                    st.execute(params![
                        consumer,
                        d.delivery.subscription,
                        d.delivery.action,
                        d.source,
                        d.message_id,
                        d.delivery.order_key,
                        d.delivery.payload,
                        reason,
                        f.attempt.error,
                        d.attempts + 1,
                        d.accepted_at,
                        now,
                        f.attempt.request
                    ])
                })
                .map_err(unavailable)?;
            }
        }
        if log {
            record_attempt(conn, &f.attempt)?;
        }
    }
    for (source, message_id, accepted_at, r) in &acked.refused {
        dead_letter_event(conn, source, message_id, r, *accepted_at, now)?;
    }
    if let Some(through) = acked.through {
        log::advance(conn, consumer, through)?;
    }
    Ok(())
}

/// Stores what routing made for a destination: its deliveries, and dead letters for the
/// payloads that could not be built.
fn store_routed(
    conn: &Connection,
    consumer: &str,
    routed: &Routed,
    now: Millis,
    touched: &mut HashSet<String>,
) -> Result<(), QueueError> {
    hold(conn, consumer, &routed.held, now)?;
    for (source, message_id, accepted_at, r) in &routed.refused {
        dead_letter_event(conn, source, message_id, r, *accepted_at, now)?;
    }
    if !routed.held.is_empty() {
        touched.insert(consumer.to_string());
    }
    Ok(())
}

/// Writes the deliveries a destination's worker could not make at once (retries, events held
/// behind an earlier one of the same user) into its waiting deliveries, due at their time.
pub fn hold(
    conn: &Connection,
    destination: &str,
    held: &[Held],
    _now: Millis,
) -> Result<(), QueueError> {
    let mut insert = conn
        .prepare_cached(
            "INSERT INTO deliveries (destination, subscription, action, source, message_id,
             order_key, payload, accepted_at, due_at, attempts, replayed)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        )
        .map_err(unavailable)?;
    for h in held {
        insert
            .execute(params![
                destination,
                h.delivery.subscription,
                h.delivery.action,
                h.source,
                h.message_id,
                h.delivery.order_key,
                h.delivery.payload,
                h.accepted_at,
                h.due_at,
                h.attempts,
                h.replayed
            ])
            .map_err(unavailable)?;
    }
    Ok(())
}

/// Sends a request its answer (or the error).
fn reply(op: Op, answer: Result<Answer, QueueError>) {
    match (op, answer) {
        (Op::Enqueue(_, _, to), Ok(Answer::Enqueue(e))) => drop(to.send(Ok(e))),
        (Op::Lease(_, _, _, to), Ok(Answer::Lease(l))) => drop(to.send(Ok(l))),
        (Op::Settle(_, _, to), Ok(Answer::Settle)) => drop(to.send(Ok(()))),
        (Op::Append(_, _, to), Ok(Answer::Append(a))) => drop(to.send(Ok(a))),
        (Op::OpenConsumer(_, _, _, to), Ok(Answer::Seq(s))) => drop(to.send(Ok(s))),
        (Op::Advance(_, _, _, _, to), Ok(Answer::Settle)) => drop(to.send(Ok(()))),
        (Op::Requeue(_, _, _, _, to), Ok(Answer::Settle)) => drop(to.send(Ok(()))),
        (Op::Backfill(_, _, _, to), Ok(Answer::Backfill(b))) => drop(to.send(Ok(b))),
        (Op::Ack(_, _, _, to), Ok(Answer::Settle)) => drop(to.send(Ok(()))),
        (Op::Lag(to), Ok(Answer::Lag(l))) => drop(to.send(Ok(l))),
        (Op::KeepConsumers(_, to), Ok(Answer::Settle)) => drop(to.send(Ok(()))),
        (op, answer) => {
            let e = answer.err().unwrap_or_else(|| {
                QueueError::Unavailable("internal error: mismatched queue answer".into())
            });
            match op {
                Op::Enqueue(_, _, to) => drop(to.send(Err(e))),
                Op::Lease(_, _, _, to) => drop(to.send(Err(e))),
                Op::Settle(_, _, to) => drop(to.send(Err(e))),
                Op::Append(_, _, to) => drop(to.send(Err(e))),
                Op::OpenConsumer(_, _, _, to) => drop(to.send(Err(e))),
                Op::Advance(_, _, _, _, to) => drop(to.send(Err(e))),
                Op::Requeue(_, _, _, _, to) => drop(to.send(Err(e))),
                Op::Backfill(_, _, _, to) => drop(to.send(Err(e))),
                Op::Ack(_, _, _, to) => drop(to.send(Err(e))),
                Op::Lag(to) => drop(to.send(Err(e))),
                Op::KeepConsumers(_, to) => drop(to.send(Err(e))),
            }
        }
    }
}

/// Whether a group's commit must wait for the disk: only new events need it (see the module
/// documentation).
fn must_sync(ops: &[Op]) -> bool {
    ops.iter()
        .any(|op| matches!(op, Op::Enqueue(..) | Op::Append(..)))
}

/// Sets `synchronous` for the next transaction (it cannot change inside one); `synced` is the
/// connection's current setting, so the pragma runs only when it changes.
fn sync_commits(conn: &Connection, full: bool, synced: &mut bool) -> Result<(), QueueError> {
    if *synced != full {
        conn.pragma_update(None, "synchronous", if full { "FULL" } else { "NORMAL" })
            .map_err(unavailable)?;
        *synced = full;
    }
    Ok(())
}

/// Applies requests in one transaction and commits; the answers, or the first error. `synced`
/// is the connection's `synchronous` setting, as for [`sync_commits`].
fn apply_all(
    conn: &mut Connection,
    ops: &[Op],
    retention: &Retention,
    touched: &mut HashSet<String>,
    synced: &mut bool,
) -> Result<Vec<Answer>, QueueError> {
    sync_commits(conn, must_sync(ops), synced)?;
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(unavailable)?;
    let answers = ops
        .iter()
        .map(|op| apply(&tx, op, retention, touched))
        .collect::<Result<Vec<_>, _>>()?;
    tx.commit().map_err(unavailable)?;
    Ok(answers)
}

/// Tells the feeders the log's new end after committed appends.
fn announce_end(answers: &[Answer], ended: &tokio::sync::watch::Sender<Seq>) {
    let last = answers
        .iter()
        .filter_map(|a| match a {
            Answer::Append(done) if done.appended > 0 => Some(done.last),
            _ => None,
        })
        .max();
    if let Some(last) = last {
        ended.send_if_modified(|end| {
            let newer = last > *end;
            if newer {
                *end = last;
            }
            newer
        });
    }
}

/// Records a settle's or an ack's results without their delivery-log entries, in a
/// transaction of its own (a full file: the deliveries' state matters more than their log
/// entries, and a delivered one frees its row); `None` for other requests. Answers how many
/// results it recorded.
fn record_unlogged(
    conn: &mut Connection,
    op: &Op,
    touched: &mut HashSet<String>,
) -> Option<Result<usize, QueueError>> {
    let tx = match conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate) {
        Ok(tx) => tx,
        Err(e) => return Some(Err(unavailable(e))),
    };
    let results = match op {
        Op::Settle(settled, now, _) => {
            settle_with(&tx, settled, *now, touched, false).map(|()| settled.len())
        }
        Op::Ack(consumer, acked, now, _) => ack(&tx, consumer, acked, *now, touched, false)
            .map(|()| acked.settled.len() + acked.fresh.len()),
        _ => return None,
    };
    Some(results.and_then(|n| tx.commit().map(|()| n).map_err(unavailable)))
}

/// The writer thread: group commits until every handle is gone.
fn write(
    mut conn: Connection,
    mut receiver: mpsc::Receiver<Op>,
    wakeups: &Wakeups,
    ended: &tokio::sync::watch::Sender<Seq>,
    retention: &Retention,
) {
    let mut last_prune = 0;
    // `open` left the connection at `synchronous = FULL`.
    let mut synced = true;
    let mut ops = Vec::with_capacity(GROUP);
    while let Some(op) = receiver.blocking_recv() {
        ops.push(op);
        while ops.len() < GROUP {
            match receiver.try_recv() {
                Ok(op) => ops.push(op),
                Err(_) => break,
            }
        }
        let mut touched = HashSet::new();
        match apply_all(&mut conn, &ops, retention, &mut touched, &mut synced) {
            Ok(answers) => {
                announce_end(&answers, ended);
                wakeups.wake(&touched);
                for (op, answer) in ops.drain(..).zip(answers) {
                    reply(op, Ok(answer));
                }
            }
            Err(e) => {
                // One request's failure must not fail the others (a settle that frees space
                // while enqueues fail on a full disk): each goes again in its own transaction.
                tracing::error!("The queue could not commit a group of requests: {e}");
                for op in ops.drain(..) {
                    let mut touched = HashSet::new();
                    let mut answer = apply_all(
                        &mut conn,
                        std::slice::from_ref(&op),
                        retention,
                        &mut touched,
                        &mut synced,
                    )
                    .map(|mut a| a.remove(0));
                    if let Err(e) = &answer {
                        // A full file: the deliveries' state matters more than their log
                        // entries, and a delivered one frees its row.
                        let recorded = record_unlogged(&mut conn, &op, &mut touched);
                        if let Some(Ok(results)) = recorded {
                            tracing::warn!(
                                results,
                                "Delivery results recorded without their delivery-log entries: {e}"
                            );
                            answer = Ok(Answer::Settle);
                        }
                    }
                    if let Ok(a) = &answer {
                        announce_end(std::slice::from_ref(a), ended);
                        wakeups.wake(&touched);
                    }
                    reply(op, answer);
                }
            }
        }
        let now = super::now();
        if now - last_prune > 60_000 {
            last_prune = now;
            let pruned = conn.transaction().map_err(unavailable).and_then(|tx| {
                prune(&tx, now, retention)?;
                let trimmed = log::trim(&tx, now, &retention.log)?;
                tx.commit().map_err(unavailable)?;
                for (consumer, lost) in trimmed.lost {
                    tracing::error!(destination = %consumer, lost, "The event log reached its size cap: events this destination had not read were removed.");
                }
                Ok(())
            });
            if let Err(e) = pruned {
                tracing::warn!("Could not prune the queue's old records: {e}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queue::Verdict;

    fn synchronous(conn: &Connection) -> i64 {
        conn.pragma_query_value(None, "synchronous", |r| r.get(0))
            .unwrap()
    }

    /// New events wait for the disk; the workers' bookkeeping alone does not, and a group with
    /// both waits.
    #[test]
    fn only_commits_with_new_events_wait_for_the_disk() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = open(&dir.path().join("q.db")).unwrap();
        let (retention, mut synced) = (Retention::default(), true);
        let mut run = |conn: &mut Connection, ops: Vec<Op>| {
            let answers = apply_all(conn, &ops, &retention, &mut HashSet::new(), &mut synced)
                .expect("the group commits");
            let level = synchronous(conn);
            ops.into_iter()
                .zip(answers)
                .for_each(|(op, a)| reply(op, Ok(a)));
            level
        };
        let enqueue = |id: &str| {
            Op::Enqueue(
                vec![crate::queue::tests::event(id, "d", None)],
                0,
                oneshot::channel().0,
            )
        };
        let lease = || Op::Lease("d".into(), 10, 0, oneshot::channel().0);
        let settle = |id: i64| {
            let settled = Settled {
                id,
                verdict: Verdict::Delivered,
                attempt: Attempt::default(),
            };
            Op::Settle(vec![settled], 0, oneshot::channel().0)
        };
        const FULL: i64 = 2;
        const NORMAL: i64 = 1;

        assert_eq!(run(&mut conn, vec![enqueue("1"), enqueue("2")]), FULL);
        assert_eq!(run(&mut conn, vec![lease()]), NORMAL);
        let ids: Vec<i64> = conn
            .prepare("SELECT id FROM deliveries WHERE leased = 1 ORDER BY id")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(ids.len(), 2, "both deliveries were leased");
        assert_eq!(run(&mut conn, vec![settle(ids[0])]), NORMAL);
        assert_eq!(run(&mut conn, vec![settle(ids[1]), enqueue("3")]), FULL);
        let left: i64 = conn
            .query_row("SELECT count(*) FROM deliveries", [], |r| r.get(0))
            .unwrap();
        assert_eq!(left, 1, "two delivered and removed, the third waits");
    }

    #[test]
    fn outcome_counts_group_the_log_by_destination_outcome_and_hour() {
        let dir = tempfile::tempdir().unwrap();
        let conn = open(&dir.path().join("q.db")).unwrap();
        let hour = 3_600_000;
        for (at, destination, outcome) in [
            (10 * hour + 1, "crm", "delivered"),
            (10 * hour + 2, "crm", "delivered"),
            (10 * hour + 3, "crm", "retry"),
            (11 * hour, "crm", "dead-letter"),
            (11 * hour + 5, "chat", "delivered"),
            (9 * hour, "crm", "delivered"),
        ] {
            conn.execute(
                "INSERT INTO attempts (at, source, destination, subscription, action, message_id, \
                 outcome, latency_ms) VALUES (?1, 'app', ?2, 's', 'a', 'm', ?3, 1)",
                params![at, destination, outcome],
            )
            .unwrap();
        }
        let mut rows = outcome_counts(&conn, 10 * hour).unwrap();
        rows.sort();
        assert_eq!(
            rows,
            [
                ("chat".to_string(), "delivered".to_string(), 11 * hour, 1),
                ("crm".to_string(), "dead-letter".to_string(), 11 * hour, 1),
                ("crm".to_string(), "delivered".to_string(), 10 * hour, 2),
                ("crm".to_string(), "retry".to_string(), 10 * hour, 1),
            ]
        );
    }
}
