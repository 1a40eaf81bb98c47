//! The queue's logic against a real SQLite file: examples, and a model test that runs random
//! sequences of enqueue, lease, settle, clock, duplicate and crash-and-reopen steps and checks
//! every lease against a plain in-memory model.

use super::sqlite::{self, Retention};
use super::*;
use proptest::prelude::*;
use rusqlite::Connection;
use std::collections::{BTreeMap, HashSet};

pub(crate) fn event(id: &str, destination: &str, key: Option<&str>) -> NewEvent {
    NewEvent {
        source: "app".into(),
        message_id: id.into(),
        timestamp: None,
        deliveries: vec![NewDelivery {
            destination: destination.into(),
            subscription: "s".into(),
            action: "a".into(),
            payload: format!("{{\"id\":\"{id}\"}}"),
            order_key: key.map(String::from),
        }],
        refused: Vec::new(),
    }
}

fn attempt(destination: &str, outcome: &str) -> Attempt {
    Attempt {
        destination: destination.into(),
        outcome: outcome.into(),
        ..Attempt::default()
    }
}

fn in_tx<T>(conn: &mut Connection, f: impl FnOnce(&Connection) -> Result<T, QueueError>) -> T {
    let tx = conn.transaction().unwrap();
    let out = f(&tx).unwrap();
    tx.commit().unwrap();
    out
}

fn ids(leases: &Leases) -> Vec<String> {
    leases.items.iter().map(|l| l.message_id.clone()).collect()
}

#[test]
fn a_users_later_events_wait_for_the_earlier_one() {
    let dir = tempfile::tempdir().unwrap();
    let mut conn = sqlite::open(&dir.path().join("q.db")).unwrap();
    let r = Retention::default();
    let events = vec![
        event("1", "d", Some("u1")),
        event("2", "d", Some("u1")),
        event("3", "d", Some("u2")),
        event("4", "d", None),
    ];
    in_tx(&mut conn, |c| {
        sqlite::enqueue(c, &events, 0, &r, &mut HashSet::new())
    });
    let first = in_tx(&mut conn, |c| sqlite::lease(c, "d", 10, 0));
    assert_eq!(ids(&first), ["1", "3", "4"]);
    // 1 fails and is retried later: 2 still waits behind it.
    let retry = Settled {
        id: first.items[0].id,
        verdict: Verdict::Retry { due_at: 100 },
        attempt: attempt("d", "retry"),
    };
    in_tx(&mut conn, |c| {
        sqlite::settle(c, &[retry], 0, &mut HashSet::new())
    });
    assert!(
        in_tx(&mut conn, |c| sqlite::lease(c, "d", 10, 50))
            .items
            .is_empty()
    );
    let again = in_tx(&mut conn, |c| sqlite::lease(c, "d", 10, 100));
    assert_eq!(ids(&again), ["1"]);
    assert_eq!(again.items[0].attempts, 1);
}

#[test]
fn dead_letters_keep_the_reason_and_replay_puts_them_back() {
    let dir = tempfile::tempdir().unwrap();
    let mut conn = sqlite::open(&dir.path().join("q.db")).unwrap();
    let r = Retention::default();
    in_tx(&mut conn, |c| {
        sqlite::enqueue(c, &[event("1", "d", None)], 0, &r, &mut HashSet::new())
    });
    let leased = in_tx(&mut conn, |c| sqlite::lease(c, "d", 1, 0));
    let mut a = attempt("d", "dead-letter");
    a.error = Some("HTTP 400: bad field".into());
    a.request = Some("POST https://api.example/x → 400".into());
    let dead = Settled {
        id: leased.items[0].id,
        verdict: Verdict::DeadLetter {
            reason: "permanent".into(),
        },
        attempt: a,
    };
    in_tx(&mut conn, |c| {
        sqlite::settle(c, &[dead], 7, &mut HashSet::new())
    });
    let letters = sqlite::dead_letters(&conn, &Filter::default()).unwrap();
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].reason, "permanent");
    assert_eq!(letters[0].attempts, 1);
    assert_eq!(letters[0].error.as_deref(), Some("HTTP 400: bad field"));
    assert_eq!(letters[0].dead_at, 7);
    // Chosen by id (the console's "replay selected"), another id matches nothing.
    let not_this = Filter {
        ids: vec![letters[0].id + 1],
        ..Filter::default()
    };
    assert!(sqlite::dead_letters(&conn, &not_this).unwrap().is_empty());
    assert_eq!(sqlite::purge(&conn, &not_this).unwrap(), 0);
    let this = Filter {
        ids: vec![letters[0].id],
        ..Filter::default()
    };
    assert_eq!(sqlite::dead_letters(&conn, &this).unwrap().len(), 1);
    let other = Filter {
        destination: Some("elsewhere".into()),
        ..Filter::default()
    };
    assert_eq!(sqlite::replay(&conn, &other, 9).unwrap(), (0, 0));
    assert_eq!(
        sqlite::replay(&conn, &Filter::default(), 9).unwrap(),
        (1, 0)
    );
    assert!(
        sqlite::dead_letters(&conn, &Filter::default())
            .unwrap()
            .is_empty()
    );
    let back = in_tx(&mut conn, |c| sqlite::lease(c, "d", 1, 9));
    assert_eq!(ids(&back), ["1"]);
    assert_eq!(back.items[0].attempts, 0);
    let log = sqlite::attempts(&conn, &Filter::default()).unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].outcome, "dead-letter");
}

#[test]
fn a_file_that_is_not_a_database_is_refused_with_its_name() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("q.db");
    std::fs::write(&path, vec![b'x'; 8192]).unwrap();
    let e = sqlite::open(&path).unwrap_err().to_string();
    assert!(e.contains("q.db") && e.contains("corrupt"), "{e}");
}

#[derive(Debug, Clone)]
enum Step {
    Enqueue { destination: u8, key: Option<u8> },
    Duplicate(usize),
    Lease { destination: u8, max: usize },
    Settle { pick: usize, how: u8, delay: i64 },
    Advance(i64),
    Crash,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (0..2u8, proptest::option::of(0..3u8))
            .prop_map(|(destination, key)| Step::Enqueue { destination, key }),
        1 => (0..50usize).prop_map(Step::Duplicate),
        3 => (0..2u8, 1..4usize).prop_map(|(destination, max)| Step::Lease { destination, max }),
        3 => (0..10usize, 0..4u8, 0..50i64)
            .prop_map(|(pick, how, delay)| Step::Settle { pick, how, delay }),
        1 => (0..60i64).prop_map(Step::Advance),
        1 => Just(Step::Crash),
    ]
}

/// One queued delivery in the model; the map key is acceptance order.
#[derive(Debug, Clone)]
struct Row {
    destination: String,
    key: Option<String>,
    message_id: String,
    due_at: Millis,
    leased: bool,
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn the_queue_behaves_like_its_model(steps in proptest::collection::vec(step(), 1..60)) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("q.db");
        let retention = Retention { dedup_window: 100, ..Retention::default() };
        let mut conn = sqlite::open(&path).unwrap();
        let mut model: BTreeMap<u64, Row> = BTreeMap::new();
        let mut seen: BTreeMap<String, Millis> = BTreeMap::new();
        let mut sent: Vec<String> = Vec::new();
        let mut dead: Vec<String> = Vec::new();
        // Leases handed out and not yet settled: (queue id, model key). By key, not message id:
        // a duplicate outside the window queues the same message id twice.
        let mut held: Vec<(i64, u64)> = Vec::new();
        let mut now: Millis = 0;
        let mut next = 0u64;
        for step in steps {
            match step {
                Step::Enqueue { destination, key } => {
                    let id = format!("m{next}");
                    let destination = format!("d{destination}");
                    let key = key.map(|k| format!("u{k}"));
                    let e = event(&id, &destination, key.as_deref());
                    let done = in_tx(&mut conn, |c| {
                        sqlite::enqueue(c, &[e], now, &retention, &mut HashSet::new())
                    });
                    prop_assert_eq!(done, Enqueued { deliveries: 1, duplicates: 0 });
                    seen.insert(id.clone(), now);
                    sent.push(id.clone());
                    model.insert(next, Row { destination, key, message_id: id, due_at: now, leased: false });
                    next += 1;
                }
                Step::Duplicate(i) => {
                    let Some(id) = sent.get(i).cloned() else { continue };
                    let e = event(&id, "d0", None);
                    let done = in_tx(&mut conn, |c| {
                        sqlite::enqueue(c, &[e], now, &retention, &mut HashSet::new())
                    });
                    let within = seen.get(&id).is_some_and(|at| *at >= now - retention.dedup_window);
                    if within {
                        prop_assert_eq!(done, Enqueued { deliveries: 0, duplicates: 1 });
                    } else {
                        // Outside the window the id is new again.
                        prop_assert_eq!(done, Enqueued { deliveries: 1, duplicates: 0 });
                        seen.insert(id.clone(), now);
                        model.insert(next, Row { destination: "d0".into(), key: None, message_id: id, due_at: now, leased: false });
                        next += 1;
                    }
                }
                Step::Lease { destination, max } => {
                    let destination = format!("d{destination}");
                    let got = in_tx(&mut conn, |c| sqlite::lease(c, &destination, max, now));
                    let blocked = |model: &BTreeMap<u64, Row>, seq: u64, row: &Row| {
                        row.key.is_some() && model.range(..seq).any(|(_, o)| {
                            o.destination == row.destination && o.key == row.key
                        })
                    };
                    let mut eligible: Vec<(Millis, u64)> = model.iter()
                        .filter(|(seq, r)| r.destination == destination && !r.leased && !blocked(&model, **seq, r))
                        .map(|(seq, r)| (r.due_at, *seq))
                        .collect();
                    eligible.sort();
                    let expected: Vec<u64> = eligible.iter().filter(|(d, _)| *d <= now).take(max).map(|(_, s)| *s).collect();
                    let expected_ids: Vec<String> = expected.iter().map(|s| model[s].message_id.clone()).collect();
                    prop_assert_eq!(ids(&got), expected_ids);
                    for s in &expected {
                        model.get_mut(s).unwrap().leased = true;
                    }
                    // The next due time is over what is still eligible after this lease.
                    let rest: Option<Millis> = model.iter()
                        .filter(|(seq, r)| r.destination == destination && !r.leased && !blocked(&model, **seq, r))
                        .map(|(_, r)| r.due_at)
                        .min();
                    prop_assert_eq!(got.next_due, rest);
                    // The ids matched in order, so the leases pair with the expected keys.
                    held.extend(got.items.iter().map(|l| l.id).zip(expected.iter().copied()));
                }
                Step::Settle { pick, how, delay } => {
                    if held.is_empty() { continue; }
                    let (id, seq) = held.remove(pick % held.len());
                    let message_id = model[&seq].message_id.clone();
                    let verdict = match how {
                        0 => { model.remove(&seq); Verdict::Delivered }
                        1 => {
                            let row = model.get_mut(&seq).unwrap();
                            row.leased = false;
                            row.due_at = now + delay;
                            Verdict::Retry { due_at: now + delay }
                        }
                        2 => { model.remove(&seq); dead.push(message_id.clone()); Verdict::DeadLetter { reason: "permanent".into() } }
                        _ => { model.get_mut(&seq).unwrap().leased = false; Verdict::Release }
                    };
                    let s = Settled { id, verdict, attempt: attempt("d", "x") };
                    in_tx(&mut conn, |c| sqlite::settle(c, &[s], now, &mut HashSet::new()));
                }
                Step::Advance(ms) => now += ms,
                Step::Crash => {
                    drop(conn);
                    conn = sqlite::open(&path).unwrap();
                    held.clear();
                    for row in model.values_mut() {
                        row.leased = false;
                    }
                }
            }
        }
        // Nothing was lost: what is queued plus what was dead-lettered is everything accepted
        // and not delivered.
        let queued: Vec<(String, i64)> = sqlite::pending(&conn).unwrap();
        let total: i64 = queued.iter().map(|(_, n)| n).sum();
        prop_assert_eq!(total as usize, model.len());
        let letters = sqlite::dead_letters(&conn, &Filter::default()).unwrap();
        let letters: Vec<String> = letters.into_iter().map(|l| l.message_id).collect();
        prop_assert_eq!(letters, dead);
    }
}

#[test]
fn old_keys_and_log_entries_are_pruned() {
    let dir = tempfile::tempdir().unwrap();
    let mut conn = sqlite::open(&dir.path().join("q.db")).unwrap();
    let r = Retention {
        dedup_window: 100,
        log_max_age: 1_000,
        log_max_rows: 4,
        ..Retention::default()
    };
    let store = |conn: &mut Connection, ids: &[&str], now| {
        let events: Vec<NewEvent> = ids.iter().map(|id| event(id, "d", None)).collect();
        in_tx(conn, |c| {
            sqlite::enqueue(c, &events, now, &r, &mut HashSet::new())
        })
    };
    store(&mut conn, &["old"], 0);
    store(&mut conn, &["new"], 150);
    // Attempts recorded at these times (as retries of rows that no longer exist).
    let log: Vec<Settled> = [(0, "a"), (100, "b"), (600, "c"), (1_200, "d"), (1_300, "e")]
        .into_iter()
        .map(|(at, id)| {
            let mut a = attempt("d", "retry");
            a.at = at;
            a.message_id = id.into();
            Settled {
                id: -1,
                verdict: Verdict::Retry { due_at: 0 },
                attempt: a,
            }
        })
        .collect();
    in_tx(&mut conn, |c| {
        sqlite::settle(c, &log, 0, &mut HashSet::new())
    });
    let kept = |conn: &Connection| -> Vec<String> {
        sqlite::attempts(conn, &Filter::default())
            .unwrap()
            .into_iter()
            .map(|a| a.message_id)
            .collect()
    };

    sqlite::prune(&conn, 200, &r).unwrap();
    // The key of "old" (seen at 0) expired; "new" (150) is still within the window.
    let again = store(&mut conn, &["old", "new"], 200);
    assert_eq!(
        again,
        Enqueued {
            deliveries: 1,
            duplicates: 1
        }
    );
    // At most 4 log entries: the oldest goes.
    assert_eq!(kept(&conn), ["b", "c", "d", "e"]);
    // Older than 1,000 ms at 1,700: b and c go.
    sqlite::prune(&conn, 1_700, &r).unwrap();
    assert_eq!(kept(&conn), ["d", "e"]);
}

#[test]
fn a_duplicate_is_the_same_message_id_with_the_same_client_timestamp() {
    let dir = tempfile::tempdir().unwrap();
    let mut conn = sqlite::open(&dir.path().join("q.db")).unwrap();
    let r = Retention::default();
    let at = |ts: Option<Millis>| {
        let mut e = event("m-1", "d", None);
        e.timestamp = ts;
        e
    };
    let mut store = |e: NewEvent| {
        in_tx(&mut conn, |c| {
            sqlite::enqueue(c, &[e], 0, &r, &mut HashSet::new())
        })
    };
    let once = Enqueued {
        deliveries: 1,
        duplicates: 0,
    };
    let dup = Enqueued {
        deliveries: 0,
        duplicates: 1,
    };
    assert_eq!(store(at(Some(1_000))), once);
    // A client's retry resends the event as it was.
    assert_eq!(store(at(Some(1_000))), dup);
    // The same messageId on a different event (another client timestamp) is not dropped.
    assert_eq!(store(at(Some(2_000))), once);
    // Without a client timestamp, the messageId alone is the key.
    assert_eq!(store(at(None)), once);
    assert_eq!(store(at(None)), dup);
}

#[test]
fn another_process_attaching_leaves_leases_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("q.db");
    let mut conn = sqlite::open(&path).unwrap();
    let r = Retention::default();
    let events = vec![event("1", "d", None)];
    in_tx(&mut conn, |c| {
        sqlite::enqueue(c, &events, 0, &r, &mut HashSet::new())
    });
    assert_eq!(
        ids(&in_tx(&mut conn, |c| sqlite::lease(c, "d", 10, 0))),
        ["1"]
    );
    // `switchyard dlq list` while the server runs: the attempt in flight stays the server's.
    let cli = sqlite::attach(&path).unwrap();
    assert!(
        sqlite::dead_letters(&cli, &Filter::default())
            .unwrap()
            .is_empty()
    );
    drop(cli);
    assert!(
        in_tx(&mut conn, |c| sqlite::lease(c, "d", 10, 0))
            .items
            .is_empty()
    );
    // The owner's next start makes it again.
    drop(conn);
    let mut conn = sqlite::open(&path).unwrap();
    assert_eq!(
        ids(&in_tx(&mut conn, |c| sqlite::lease(c, "d", 10, 0))),
        ["1"]
    );
}

#[tokio::test]
async fn a_full_file_still_records_delivery_results() {
    let dir = tempfile::tempdir().unwrap();
    let retention = Retention {
        max_bytes: Some(1 << 20),
        ..Retention::default()
    };
    let queue = sqlite::SqliteQueue::open(&dir.path().join("q.db"), retention).unwrap();
    let pad = "x".repeat(3000);
    let mut stored = 0;
    for n in 0.. {
        let mut e = event(&format!("m-{n}"), "d", None);
        e.deliveries[0].payload = format!("{{\"pad\":\"{pad}\"}}");
        match queue.enqueue(vec![e], 0).await {
            Ok(_) => stored += 1,
            Err(e) => {
                assert!(e.to_string().contains("full"), "{e}");
                break;
            }
        }
    }
    assert!(stored > 10, "{stored}");
    let leases = queue.lease("d", stored, 0).await.unwrap();
    assert_eq!(leases.items.len(), stored);
    // Every delivery failed and is to be retried: no row is freed, and the results' log
    // entries are more than the room left (enqueues stop short of the cap to leave some).
    let settled: Vec<Settled> = leases
        .items
        .iter()
        .map(|l| Settled {
            id: l.id,
            verdict: Verdict::Retry { due_at: 10 },
            attempt: Attempt {
                error: Some("e".repeat(5000)),
                ..attempt("d", "retry")
            },
        })
        .collect();
    queue.settle(settled, 0).await.unwrap();
    // They are due again, not stuck in their leases.
    let again = queue.lease("d", stored, 10).await.unwrap();
    assert_eq!(again.items.len(), stored);
    assert!(again.items.iter().all(|l| l.attempts == 1));
    queue.close();
}

/// A queue file written before the event log (schema 2: no log tables, no replay marks) opens
/// as the current schema, its queued delivery kept and delivered, and its attempts recorded.
#[test]
fn a_version_2_file_is_migrated_and_keeps_its_queued_deliveries() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("queue.db");
    {
        let old = Connection::open(&path).unwrap();
        old.execute_batch(
            "CREATE TABLE deliveries (id INTEGER PRIMARY KEY, destination TEXT NOT NULL,
                subscription TEXT NOT NULL, action TEXT NOT NULL, source TEXT NOT NULL,
                message_id TEXT NOT NULL, order_key TEXT, payload TEXT NOT NULL,
                accepted_at INTEGER NOT NULL, due_at INTEGER NOT NULL,
                attempts INTEGER NOT NULL DEFAULT 0, leased INTEGER NOT NULL DEFAULT 0);
             CREATE TABLE attempts (id INTEGER PRIMARY KEY, at INTEGER NOT NULL,
                source TEXT NOT NULL, destination TEXT NOT NULL, subscription TEXT NOT NULL,
                action TEXT NOT NULL, message_id TEXT NOT NULL, outcome TEXT NOT NULL,
                status INTEGER, latency_ms INTEGER NOT NULL, error TEXT, request TEXT);
             INSERT INTO deliveries (destination, subscription, action, source, message_id,
                payload, accepted_at, due_at, leased)
                VALUES ('d', 's', 'a', 'app', 'm-old', '{\"id\":\"m-old\"}', 5, 5, 1);
             INSERT INTO attempts (at, source, destination, subscription, action, message_id,
                outcome, latency_ms) VALUES (4, 'app', 'd', 's', 'a', 'm-older', 'delivered', 1);
             PRAGMA user_version = 2;",
        )
        .unwrap();
    }
    let mut conn = sqlite::open(&path).unwrap();
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(version, 5);
    let leases = in_tx(&mut conn, |c| sqlite::lease(c, "d", 10, 10));
    assert_eq!(ids(&leases), ["m-old"], "the queued delivery was kept");
    assert!(!leases.items[0].replayed);
    let settled = Settled {
        id: leases.items[0].id,
        verdict: Verdict::Delivered,
        attempt: attempt("d", "delivered"),
    };
    in_tx(&mut conn, |c| {
        sqlite::settle(c, &[settled], 11, &mut HashSet::new())
    });
    let log = sqlite::attempts(&conn, &Filter::default()).unwrap();
    assert_eq!(log.len(), 2);
    assert!(log.iter().all(|a| !a.replayed));
    // The event log's tables are there, empty.
    assert_eq!(super::log::end(&conn).unwrap(), 0);
    drop(conn);
    // Opening it again changes nothing.
    sqlite::open(&path).unwrap();
}
