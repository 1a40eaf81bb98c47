//! The event log against a real SQLite file and an in-memory model: random appends (with
//! duplicates), consumers made at the end or from a time, reads, cursor moves, removals,
//! trimming by age and by size, and restarts (the file closed and opened again).

use super::Millis;
use super::log::{self, Appended, LogEntry, LogEvent, LogRetention, Seq, Start};
use super::sqlite;
use proptest::prelude::*;
use rusqlite::Connection;
use std::collections::BTreeMap;

#[derive(Debug, Clone)]
enum Step {
    /// Events with message ids from a small pool (so some repeat), bodies of varied sizes.
    Append(Vec<(u8, u8)>),
    Open {
        consumer: u8,
        from: Option<i64>,
    },
    Read {
        consumer: u8,
        max: usize,
    },
    /// Moves the cursor by this many events (possibly past the end).
    Advance {
        consumer: u8,
        by: i64,
    },
    Remove(u8),
    Trim {
        max_age: i64,
        max_bytes: Option<i64>,
    },
    Clock(i64),
    Restart,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => proptest::collection::vec((0..12u8, 1..40u8), 1..5).prop_map(Step::Append),
        2 => (0..3u8, proptest::option::of(0..200i64))
            .prop_map(|(consumer, from)| Step::Open { consumer, from }),
        3 => (0..3u8, 1..6usize).prop_map(|(consumer, max)| Step::Read { consumer, max }),
        3 => (0..3u8, 0..6i64).prop_map(|(consumer, by)| Step::Advance { consumer, by }),
        1 => (0..3u8).prop_map(Step::Remove),
        1 => (0..100i64, proptest::option::of(0..300i64))
            .prop_map(|(max_age, max_bytes)| Step::Trim { max_age, max_bytes }),
        2 => (0..40i64).prop_map(Step::Clock),
        1 => Just(Step::Restart),
    ]
}

/// What the log should hold.
#[derive(Default)]
struct Model {
    events: BTreeMap<Seq, (String, Millis, String)>,
    /// The chunks (the events of one append): first → last sequence number.
    chunks: BTreeMap<Seq, Seq>,
    end: Seq,
    cursors: BTreeMap<String, (Seq, i64)>,
    /// De-duplication keys: message id → when last accepted.
    seen: BTreeMap<String, Millis>,
    bytes: i64,
}

fn in_tx<T>(conn: &mut Connection, f: impl FnOnce(&Connection) -> T) -> T {
    let tx = conn.transaction().unwrap();
    let out = f(&tx);
    tx.commit().unwrap();
    out
}

const WINDOW: Millis = 50;

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn the_log_behaves_like_its_model(steps in proptest::collection::vec(step(), 1..80)) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("q.db");
        let mut conn = sqlite::open(&path).unwrap();
        let mut m = Model::default();
        let mut now: Millis = 0;
        for step in steps {
            match step {
                Step::Append(batch) => {
                    let events: Vec<LogEvent> = batch.iter().map(|(id, size)| LogEvent {
                        source: "app".into(),
                        message_id: format!("m{id}"),
                        timestamp: None,
                        body: "x".repeat(usize::from(*size)),
                    }).collect();
                    let done = in_tx(&mut conn, |c| log::append(c, &events, now, WINDOW)).unwrap();
                    let mut want = Appended::default();
                    let first = m.end + 1;
                    for e in &events {
                        let fresh = m.seen.get(&e.message_id).is_none_or(|at| *at < now - WINDOW);
                        if fresh {
                            m.seen.insert(e.message_id.clone(), now);
                            m.end += 1;
                            m.events.insert(m.end, (e.message_id.clone(), now, e.body.clone()));
                            m.bytes += e.body.len() as i64;
                            want.appended += 1;
                            want.last = m.end;
                        } else {
                            want.duplicates += 1;
                        }
                    }
                    if want.appended > 0 {
                        m.chunks.insert(first, m.end);
                    }
                    prop_assert_eq!(done, want);
                }
                Step::Open { consumer, from } => {
                    let name = format!("d{consumer}");
                    let start = from.map_or(Start::End, Start::At);
                    let got = in_tx(&mut conn, |c| log::open_consumer(c, &name, start, now)).unwrap();
                    let want = match m.cursors.get(&name) {
                        Some((seq, _)) => *seq,
                        None => {
                            let seq = match start {
                                Start::End => m.end,
                                Start::At(at) => m.events.iter()
                                    .find(|(_, (_, received, _))| *received >= at)
                                    .map_or(m.end, |(seq, _)| seq - 1),
                            };
                            m.cursors.insert(name.clone(), (seq, 0));
                            seq
                        }
                    };
                    prop_assert_eq!(got, want);
                }
                Step::Read { consumer, max } => {
                    let name = format!("d{consumer}");
                    let Some((cursor, _)) = m.cursors.get(&name).copied() else { continue };
                    let got: Vec<Seq> = log::read_after(&conn, cursor, max).unwrap()
                        .into_iter().map(|e: LogEntry| e.seq).collect();
                    let want: Vec<Seq> = m.events.range(cursor + 1..).take(max).map(|(s, _)| *s).collect();
                    prop_assert_eq!(got, want);
                }
                Step::Advance { consumer, by } => {
                    let name = format!("d{consumer}");
                    let result = in_tx(&mut conn, |c| {
                        let at = m.cursors.get(&name).map_or(0, |(s, _)| *s);
                        log::advance(c, &name, at + by)
                    });
                    match m.cursors.get_mut(&name) {
                        Some((seq, _)) => {
                            prop_assert!(result.is_ok());
                            *seq = (*seq + by).min(m.end).max(*seq);
                        }
                        None => prop_assert!(result.is_err(), "an unknown consumer is refused"),
                    }
                }
                Step::Remove(consumer) => {
                    let name = format!("d{consumer}");
                    in_tx(&mut conn, |c| log::remove_consumer(c, &name)).unwrap();
                    m.cursors.remove(&name);
                }
                Step::Trim { max_age, max_bytes } => {
                    let retention = LogRetention { max_age, max_bytes };
                    let got = in_tx(&mut conn, |c| log::trim(c, now, &retention)).unwrap();
                    // By age: whole chunks that every consumer has read.
                    let read_by_all = m.cursors.values().map(|(s, _)| *s).min().unwrap_or(Seq::MAX);
                    let old: Vec<(Seq, Seq)> = m.chunks.iter()
                        .filter(|(first, last)| m.events[first].1 < now - max_age && **last <= read_by_all)
                        .map(|(f, l)| (*f, *l)).collect();
                    let mut removed = 0i64;
                    for (first, last) in old {
                        m.chunks.remove(&first);
                        for s in first..=last {
                            let (_, _, body) = m.events.remove(&s).unwrap();
                            m.bytes -= body.len() as i64;
                            removed += 1;
                        }
                    }
                    // By size: the oldest chunks first, read or not; consumers behind lose them.
                    let mut lost = Vec::new();
                    if let Some(cap) = max_bytes {
                        let mut through = None;
                        while m.bytes > cap {
                            let (first, last) = m.chunks.pop_first().unwrap();
                            for s in first..=last {
                                let (_, _, body) = m.events.remove(&s).unwrap();
                                m.bytes -= body.len() as i64;
                                removed += 1;
                            }
                            through = Some(last);
                        }
                        if let Some(through) = through {
                            for (name, (seq, gone)) in m.cursors.iter_mut() {
                                if *seq < through {
                                    let n = through - *seq;
                                    // Only events still there count: those the age pass had
                                    // removed were read by every consumer.
                                    *gone += n;
                                    lost.push((name.clone(), n));
                                    *seq = through;
                                }
                            }
                        }
                    }
                    prop_assert_eq!(got.removed, removed);
                    prop_assert_eq!(got.lost, lost);
                    prop_assert_eq!(log::bytes(&conn).unwrap(), m.bytes);
                }
                Step::Clock(ms) => now += ms,
                Step::Restart => {
                    drop(conn);
                    conn = sqlite::open(&path).unwrap();
                }
            }
            // After every step: each consumer's lag, and the log's end.
            let lag = log::lag(&conn).unwrap();
            let want: Vec<(String, i64, Option<Millis>, i64)> = m.cursors.iter().map(|(name, (seq, lost))| {
                let oldest = m.events.range(seq + 1..).next().map(|(_, (_, at, _))| *at);
                (name.clone(), m.end - seq, oldest, *lost)
            }).collect();
            let got: Vec<(String, i64, Option<Millis>, i64)> = lag.into_iter()
                .map(|l| (l.consumer, l.events, l.oldest_at, l.lost)).collect();
            prop_assert_eq!(got, want);
            prop_assert_eq!(log::end(&conn).unwrap(), m.end);
        }
    }
}

#[test]
fn a_log_of_one_row_an_event_is_moved_into_chunks_at_open() {
    // A file written by schema 4: the log a row an event, its numbers from AUTOINCREMENT,
    // the first two already trimmed.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("q.db");
    drop(sqlite::open(&path).unwrap());
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(
            "CREATE TABLE events (seq INTEGER PRIMARY KEY AUTOINCREMENT, source TEXT NOT NULL,
                message_id TEXT NOT NULL, received_at INTEGER NOT NULL, body TEXT NOT NULL);
             INSERT INTO events VALUES (1, 'app', 'm-1', 5, '{\"n\":1}');
             INSERT INTO events VALUES (2, 'app', 'm-2', 5, '{\"n\":2}');
             INSERT INTO events VALUES (7, 'app', 'm-7', 10, '{\"n\":7}');
             INSERT INTO events VALUES (8, 'web', 'm-8', 10, '{\"n\":8}');
             INSERT INTO events VALUES (9, 'app', 'm-9', 20, '{\"n\":9}');
             INSERT INTO events VALUES (11, 'app', 'm-11', 30, '{\"n\":11}');
             DELETE FROM events WHERE seq <= 2;
             UPDATE sqlite_sequence SET seq = 12 WHERE name = 'events';
             PRAGMA user_version = 4;",
        )
        .unwrap();
    }
    let mut conn = sqlite::open(&path).unwrap();
    let gone: bool = conn
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE name = 'events')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(!gone, "the old table is dropped once moved");
    let read = log::read_after(&conn, 0, 100).unwrap();
    let got: Vec<(Seq, &str, &str, Millis, &str)> = read
        .iter()
        .map(|e| (e.seq, &*e.source, &*e.message_id, e.received_at, &*e.body))
        .collect();
    assert_eq!(
        got,
        [
            (7, "app", "m-7", 10, r#"{"n":7}"#),
            (8, "web", "m-8", 10, r#"{"n":8}"#),
            (9, "app", "m-9", 20, r#"{"n":9}"#),
            (11, "app", "m-11", 30, r#"{"n":11}"#),
        ]
    );
    // The last number ever given stays given, and the sizes count as before.
    assert_eq!(log::end(&conn).unwrap(), 12);
    assert_eq!(log::bytes(&conn).unwrap(), 0, "log_size is kept as it was");
    let next = in_tx(&mut conn, |c| {
        log::append(
            c,
            &[LogEvent {
                source: "app".into(),
                message_id: "m-13".into(),
                timestamp: None,
                body: "{}".into(),
            }],
            40,
            10,
        )
    })
    .unwrap();
    assert_eq!(next.last, 13);
    let at = in_tx(&mut conn, |c| log::open_consumer(c, "d", Start::At(15), 40)).unwrap();
    assert_eq!(
        at, 8,
        "from a time: just before the first event received then"
    );
}

#[test]
fn a_sequence_number_is_never_reused_after_the_log_is_trimmed_empty() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("q.db");
    let mut conn = sqlite::open(&path).unwrap();
    let event = |id: &str| LogEvent {
        source: "app".into(),
        message_id: id.into(),
        timestamp: None,
        body: "{}".into(),
    };
    let first = in_tx(&mut conn, |c| {
        log::append(c, &[event("a"), event("b")], 0, 10)
    })
    .unwrap();
    assert_eq!(first.last, 2);
    let retention = LogRetention {
        max_age: 0,
        max_bytes: None,
    };
    let trimmed = in_tx(&mut conn, |c| log::trim(c, 100, &retention)).unwrap();
    assert_eq!(trimmed.removed, 2);
    drop(conn);
    let mut conn = sqlite::open(&path).unwrap();
    let next = in_tx(&mut conn, |c| log::append(c, &[event("c")], 100, 10)).unwrap();
    assert_eq!(next.last, 3);
    // A consumer made from a time before everything starts at the first event still there.
    let at = in_tx(&mut conn, |c| log::open_consumer(c, "d", Start::At(0), 100)).unwrap();
    assert_eq!(at, 2);
    let read = log::read_after(&conn, at, 10).unwrap();
    assert_eq!(read.len(), 1);
    assert_eq!(read[0].message_id, "c");
    let between = log::read_between(&conn, (0, 101), (0, Seq::MAX), 10).unwrap();
    assert_eq!(between.len(), 1);
    // A replay reads no further than `through`, and only what was received in the window.
    assert!(
        log::read_between(&conn, (0, 101), (0, 2), 10)
            .unwrap()
            .is_empty()
    );
    assert!(
        log::read_between(&conn, (0, 100), (0, 3), 10)
            .unwrap()
            .is_empty()
    );
    // A backfill is made once, up to the consumer's cursor then, and resumes where it stopped.
    let made = in_tx(&mut conn, |c| log::backfill(c, "d", "s", 0)).unwrap();
    assert_eq!((made.after, made.through, made.done()), (0, 2, false));
    in_tx(&mut conn, |c| log::advance(c, "d", 3)).unwrap();
    in_tx(&mut conn, |c| log::backfilled(c, "d", "s", 0, 2)).unwrap();
    let again = in_tx(&mut conn, |c| log::backfill(c, "d", "s", 0)).unwrap();
    assert_eq!((again.after, again.through, again.done()), (2, 2, true));
    // Another start is another backfill, up to where the cursor is now.
    let later = in_tx(&mut conn, |c| log::backfill(c, "d", "s", 50)).unwrap();
    assert_eq!((later.after, later.through), (0, 3));
    assert!(in_tx(&mut conn, |c| log::backfill(c, "gone", "s", 0)).is_err());
    in_tx(&mut conn, |c| log::remove_consumer(c, "d")).unwrap();
    let count: i64 = conn
        .query_row("SELECT COUNT(*) FROM backfills", [], |r| r.get(0))
        .unwrap();
    assert_eq!(count, 0, "a removed consumer's backfills go with it");
}

/// The contract through the queue's writer thread: appends wake the destinations, a cursor moves
/// on together with the deliveries that must wait, which are then leased when due.
#[tokio::test]
async fn the_sqlite_queue_serves_the_event_log_contract() {
    use super::{EventLog, Held, NewDelivery, Queue, Routed};
    let dir = tempfile::tempdir().unwrap();
    let queue = sqlite::SqliteQueue::open(&dir.path().join("q.db"), Default::default()).unwrap();
    let event = |id: &str| LogEvent {
        source: "app".into(),
        message_id: id.into(),
        timestamp: None,
        body: format!(r#"{{"messageId":"{id}"}}"#),
    };
    assert_eq!(
        queue.open_consumer("braze", Start::End, 1).await.unwrap(),
        0
    );
    let mut end = queue.end();
    let appended = queue
        .append(vec![event("a"), event("b"), event("a")], 10)
        .await
        .unwrap();
    assert_eq!(
        appended,
        Appended {
            appended: 2,
            duplicates: 1,
            last: 2
        }
    );
    tokio::time::timeout(std::time::Duration::from_secs(5), end.changed())
        .await
        .expect("an append moves the end")
        .unwrap();
    assert_eq!(*end.borrow(), 2);
    let read = queue.read(0, 10).await.unwrap();
    assert_eq!(
        read.iter()
            .map(|e| e.message_id.as_str())
            .collect::<Vec<_>>(),
        ["a", "b"]
    );
    // "a" was delivered; "b" failed and waits for its retry at 500.
    let held = Held {
        delivery: NewDelivery {
            destination: "braze".into(),
            subscription: "Track".into(),
            action: "trackEvent".into(),
            payload: "{}".into(),
            order_key: Some("u-1".into()),
        },
        source: "app".into(),
        message_id: "b".into(),
        accepted_at: 10,
        due_at: 500,
        attempts: 1,
        replayed: false,
    };
    let routed = Routed {
        held: vec![held],
        refused: Vec::new(),
    };
    queue.advance("braze", 2, routed, 20).await.unwrap();
    let lag = queue.lag().await.unwrap();
    assert_eq!((lag[0].events, lag[0].oldest_at), (0, None));
    assert!(
        queue
            .lease("braze", 10, 100)
            .await
            .unwrap()
            .items
            .is_empty()
    );
    let due = queue.lease("braze", 10, 500).await.unwrap();
    assert_eq!(due.items.len(), 1);
    assert_eq!(
        (due.items[0].message_id.as_str(), due.items[0].attempts),
        ("b", 1)
    );
    // A consumer made later from a time reads from there; an unknown one cannot move.
    assert_eq!(
        queue.open_consumer("late", Start::At(0), 30).await.unwrap(),
        0
    );
    assert_eq!(queue.lag().await.unwrap()[1].events, 2);
    assert!(
        queue
            .advance("nobody", 1, Routed::default(), 40)
            .await
            .is_err()
    );
    // Consumers of destinations that are gone are forgotten.
    queue.keep_consumers(vec!["braze".into()]).await.unwrap();
    assert_eq!(queue.lag().await.unwrap().len(), 1);
    queue.close();
}

/// Results of deliveries made straight from the log: a delivered one leaves only its attempt,
/// a retry and a handed-back one wait in the deliveries, a dead one is a dead letter, and the
/// cursor moves in the same step; a leased delivery's result goes in the same ack.
#[tokio::test]
async fn an_ack_records_results_from_the_log_and_moves_the_cursor() {
    use super::{
        Acked, Attempt, EventLog, Filter, FreshResult, Held, NewDelivery, Queue, Records, Verdict,
    };
    let dir = tempfile::tempdir().unwrap();
    let queue = sqlite::SqliteQueue::open(&dir.path().join("q.db"), Default::default()).unwrap();
    queue.open_consumer("hook", Start::End, 1).await.unwrap();
    let events: Vec<LogEvent> = ["a", "b", "c", "d"]
        .iter()
        .map(|id| LogEvent {
            source: "app".into(),
            message_id: id.to_string(),
            timestamp: None,
            body: format!(r#"{{"messageId":"{id}"}}"#),
        })
        .collect();
    queue.append(events, 10).await.unwrap();
    let fresh = |id: &str, verdict: Verdict| FreshResult {
        delivery: Held {
            delivery: NewDelivery {
                destination: "hook".into(),
                subscription: "s".into(),
                action: "send".into(),
                payload: format!(r#"{{"id":"{id}"}}"#),
                order_key: None,
            },
            source: "app".into(),
            message_id: id.into(),
            accepted_at: 10,
            due_at: 10,
            attempts: 0,
            replayed: false,
        },
        verdict,
        attempt: Attempt {
            destination: "hook".into(),
            message_id: id.into(),
            outcome: "x".into(),
            ..Attempt::default()
        },
    };
    let acked = Acked {
        settled: Vec::new(),
        fresh: vec![
            fresh("a", Verdict::Delivered),
            fresh("b", Verdict::Retry { due_at: 700 }),
            fresh(
                "c",
                Verdict::DeadLetter {
                    reason: "permanent".into(),
                },
            ),
            fresh("d", Verdict::Release),
        ],
        refused: Vec::new(),
        through: Some(4),
    };
    queue.ack("hook", acked, 20).await.unwrap();
    assert_eq!(queue.lag().await.unwrap()[0].events, 0, "the cursor moved");
    // The handed-back one is due now, the retry at 700 with one attempt made.
    let now = queue.lease("hook", 10, 30).await.unwrap();
    assert_eq!(
        now.items
            .iter()
            .map(|i| (i.message_id.as_str(), i.attempts, i.seq))
            .collect::<Vec<_>>(),
        [("d", 0, None)]
    );
    let later = queue.lease("hook", 10, 700).await.unwrap();
    assert_eq!(
        later
            .items
            .iter()
            .map(|i| (i.message_id.as_str(), i.attempts, i.payload.as_str()))
            .collect::<Vec<_>>(),
        [("b", 1, r#"{"id":"b"}"#)]
    );
    let letters = queue.dead_letters(Filter::default()).await.unwrap();
    assert_eq!(letters.len(), 1);
    assert_eq!(
        (
            letters[0].message_id.as_str(),
            letters[0].reason.as_str(),
            letters[0].attempts,
            letters[0].payload.as_str()
        ),
        ("c", "permanent", 1, r#"{"id":"c"}"#)
    );
    // Three attempts were made (a, b, c); the handed-back one made none.
    let log = queue.attempts(Filter::default()).await.unwrap();
    assert_eq!(
        log.iter()
            .map(|a| a.message_id.as_str())
            .collect::<Vec<_>>(),
        ["a", "b", "c"]
    );
    // A leased delivery's result and a cursor that stays put go in one ack too.
    let leased = now.items[0].id;
    let acked = Acked {
        settled: vec![super::Settled {
            id: leased,
            verdict: Verdict::Delivered,
            attempt: Attempt {
                message_id: "d".into(),
                ..Attempt::default()
            },
        }],
        ..Acked::default()
    };
    queue.ack("hook", acked, 40).await.unwrap();
    assert_eq!(
        queue.waiting().await.unwrap()[0].1,
        1,
        "only the retry waits"
    );
    assert!(
        queue
            .ack(
                "nobody",
                Acked {
                    through: Some(1),
                    ..Acked::default()
                },
                50
            )
            .await
            .is_err()
    );
    queue.close();
}
