//! Durable delivery through the real server: `switchyard serve` with the SQLite queue, the
//! bundled webhook plugin, and a real mock HTTP destination scripted per request.

use crate::mock::{Mock, Reply};
use crate::serve::reqwest_like::Client;
use crate::serve::{start_server, stop};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A config with one webhook destination per `(name, target, extra TOML)`.
fn config(dir: &Path, destinations: &[(&str, String, &str)]) -> PathBuf {
    let mut text = format!(
        r#"
[server]
listen = "127.0.0.1:0"
admin_listen = "127.0.0.1:0"
data_dir = "{}"

[[sources]]
name = "app"
write_key = "key-123"
"#,
        dir.join("data").display()
    );
    for (name, target, extra) in destinations {
        text.push_str(&format!(
            r#"
[[destinations]]
name = "{name}"
plugin = "webhook"
allowed_hosts = ["https://hooks.example"]
redirect_outbound = "{target}"
{extra}
  [[destinations.subscriptions]]
  name = "Tracks"
  action = "send"
  trigger = 'type = "track"'
    [destinations.subscriptions.mapping]
    url = "https://hooks.example/in"
    data = {{ "@path" = "$.properties" }}
"#
        ));
    }
    let path = dir.join("switchyard.toml");
    std::fs::write(&path, text).unwrap();
    path
}

const FAST_RETRIES: &str = "
  [destinations.delivery]
  batch_wait_ms = 0
  initial_backoff_ms = 20
  max_backoff_ms = 100
";

async fn track(client: &Client, id: &str, n: u64) {
    let event = json!({"type": "track", "event": "Tick", "userId": "u1",
        "messageId": id, "properties": {"n": n}});
    let (status, body) = client.post("/v1/track", Some("key-123"), event).await;
    assert_eq!(status, 200, "{body}");
}

/// Polls `look` until it has at least `n` items; fails after `within`, naming `what`.
async fn at_least<T>(n: usize, within: Duration, what: &str, look: impl Fn() -> Vec<T>) -> Vec<T> {
    let started = Instant::now();
    loop {
        let got = look();
        if got.len() >= n {
            return got;
        }
        assert!(
            started.elapsed() < within,
            "the mock got {} {what}, not {n}, within {within:?}",
            got.len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until the mock has `n` requests.
async fn received(mock: &Mock, n: usize, within: Duration) -> Vec<crate::mock::Received> {
    at_least(n, within, "requests", || mock.received()).await
}

/// The events in the mock's requests: the webhook sends a batch as a JSON array.
fn events(mock: &Mock) -> Vec<Value> {
    mock.received()
        .iter()
        .flat_map(|r| match r.json() {
            Value::Array(items) => items,
            one => vec![one],
        })
        .collect()
}

/// Waits until the mock has received `n` events.
async fn received_events(mock: &Mock, n: usize, within: Duration) -> Vec<Value> {
    at_least(n, within, "events", || events(mock)).await
}

/// Runs a `switchyard` command to completion and returns its stdout.
fn switchyard(args: &[&str], config: &Path) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .args(args)
        .arg("--config")
        .arg(config)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "switchyard {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn json_lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn server_errors_are_retried_until_delivered_once() {
    let mock = Mock::start().await;
    mock.push(Reply::new(500, "oops"));
    mock.push(Reply::new(503, "down"));
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), &[("hook", mock.url(""), FAST_RETRIES)]);
    let (mut server, address) = start_server(&config).await;
    track(&Client::new(&address), "m-1", 1).await;
    let got = received_events(&mock, 3, Duration::from_secs(20)).await;
    assert_eq!(got, [json!({"n": 1}), json!({"n": 1}), json!({"n": 1})]);
    // Delivered once: nothing more arrives.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(mock.received().len(), 3);
    let log = json_lines(&switchyard(&["deliveries", "--json"], &config));
    let outcomes: Vec<(&str, Option<u64>)> = log
        .iter()
        .map(|a| (a["outcome"].as_str().unwrap(), a["status"].as_u64()))
        .collect();
    assert_eq!(
        outcomes,
        [
            ("retry", Some(500)),
            ("retry", Some(503)),
            ("delivered", Some(200))
        ]
    );
    assert!(log.iter().all(|a| a["message_id"] == "m-1"));
    stop(&mut server).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn retry_after_is_honoured() {
    let mock = Mock::start().await;
    mock.push(Reply::new(429, "slow down").header("retry-after", "2"));
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), &[("hook", mock.url(""), FAST_RETRIES)]);
    let (mut server, address) = start_server(&config).await;
    track(&Client::new(&address), "m-1", 1).await;
    let first = received(&mock, 1, Duration::from_secs(20)).await;
    assert_eq!(first.len(), 1);
    let sent = Instant::now();
    received(&mock, 2, Duration::from_secs(20)).await;
    // Backoff alone would retry within 100 ms; Retry-After asked for 2 s.
    assert!(
        sent.elapsed() >= Duration::from_millis(1_800),
        "retried after {:?}",
        sent.elapsed()
    );
    stop(&mut server).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn unreachable_and_hanging_destinations_end_in_dead_letters_and_replay() {
    // A port nobody listens on: connection refused, retried until the one-second window ends.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let refused = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    // A destination that answers after 5 s, with a 300 ms wall-clock limit: three attempts.
    let mock = Mock::start().await;
    for _ in 0..3 {
        let mut slow = Reply::new(200, "{}");
        slow.delay = Duration::from_secs(5);
        mock.push(slow);
    }
    let dir = tempfile::tempdir().unwrap();
    let window = "
  [destinations.delivery]
  batch_wait_ms = 0
  initial_backoff_ms = 20
  max_backoff_ms = 100
  retry_window_s = 1
";
    let hanging = "
  [destinations.limits]
  wall_clock_ms = 300
  [destinations.delivery]
  batch_wait_ms = 0
  initial_backoff_ms = 20
  max_backoff_ms = 100
";
    let config = config(
        dir.path(),
        &[("gone", refused, window), ("slow", mock.url(""), hanging)],
    );
    let (mut server, address) = start_server(&config).await;
    track(&Client::new(&address), "m-1", 7).await;

    let started = Instant::now();
    let letters = loop {
        let letters = json_lines(&switchyard(&["dlq", "list", "--json"], &config));
        if letters.len() == 2 {
            break letters;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "{letters:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let by = |d: &str| {
        letters
            .iter()
            .find(|l| l["destination"] == d)
            .unwrap()
            .clone()
    };
    let gone = by("gone");
    assert_eq!(gone["reason"], "retry-window");
    assert!(gone["error"].as_str().unwrap().contains("failed"), "{gone}");
    assert!(gone["attempts"].as_u64().unwrap() >= 2, "{gone}");
    let payload: Value = serde_json::from_str(gone["payload"].as_str().unwrap()).unwrap();
    assert_eq!(
        payload,
        json!({"url": "https://hooks.example/in", "method": "POST", "data": {"n": 7},
            "enable_batching": false, "batch_size": 0})
    );
    assert!(
        gone["request"]
            .as_str()
            .unwrap()
            .contains("Connection refused"),
        "{gone}"
    );
    let slow = by("slow");
    assert_eq!(slow["reason"], "limit-exceeded");
    assert_eq!(slow["attempts"], 3);
    assert!(
        slow["error"].as_str().unwrap().contains("wall-clock limit"),
        "{slow}"
    );
    assert_eq!(mock.received().len(), 3);

    // The slow destination answers promptly now: replaying its dead letter delivers the event.
    let out = switchyard(&["dlq", "replay", "--destination", "slow"], &config);
    assert!(out.contains("Replayed 1"), "{out}");
    let got = received_events(&mock, 4, Duration::from_secs(20)).await;
    assert_eq!(got[3], json!({"n": 7}));
    let left = json_lines(&switchyard(&["dlq", "list", "--json"], &config));
    assert_eq!(left.len(), 1);
    assert_eq!(left[0]["destination"], "gone");
    let out = switchyard(&["dlq", "purge", "--reason", "retry-window"], &config);
    assert!(out.contains("Purged 1"), "{out}");
    stop(&mut server).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn accepted_events_survive_a_restart_and_duplicates_are_accepted_once() {
    let mock = Mock::start().await;
    // Failing for now: the events wait in the queue.
    for _ in 0..1000 {
        mock.push(Reply::new(503, "maintenance").header("retry-after", "2"));
    }
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), &[("hook", mock.url(""), FAST_RETRIES)]);
    let (mut server, address) = start_server(&config).await;
    let client = Client::new(&address);
    for n in 0..5 {
        track(&client, &format!("m-{n}"), n).await;
    }
    // The same messageId again: accepted (200) and stored once.
    track(&client, "m-0", 0).await;
    received_events(&mock, 5, Duration::from_secs(20)).await;
    stop(&mut server).await;

    // The destination is back; a new server delivers what the old one accepted.
    let mock_up = Mock::start().await;
    let config = config_with_target(&config, &mock, &mock_up);
    let (mut server, _) = start_server(&config).await;
    let got = received_events(&mock_up, 5, Duration::from_secs(30)).await;
    let mut ns: Vec<u64> = got.iter().map(|e| e["n"].as_u64().unwrap()).collect();
    ns.sort_unstable();
    assert_eq!(ns, [0, 1, 2, 3, 4]);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(events(&mock_up).len(), 5);
    stop(&mut server).await;
}

/// The same config file, pointing at another mock.
fn config_with_target(config: &Path, old: &Mock, new: &Mock) -> PathBuf {
    let text = std::fs::read_to_string(config).unwrap();
    std::fs::write(config, text.replace(&old.url(""), &new.url(""))).unwrap();
    config.to_path_buf()
}

#[tokio::test(flavor = "multi_thread")]
async fn batched_subscriptions_send_arrays_and_retry_per_batch() {
    let mock = Mock::start().await;
    mock.push(Reply::new(500, "oops"));
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), &[("hook", mock.url(""), FAST_RETRIES)]);
    let text = std::fs::read_to_string(&config).unwrap().replace(
        r#"data = { "@path" = "$.properties" }"#,
        r#"data = { "@path" = "$.properties" }
    enable_batching = true
    batch_size = 3"#,
    );
    let text = text.replace("batch_wait_ms = 0", "batch_wait_ms = 500");
    std::fs::write(&config, text).unwrap();
    let (mut server, address) = start_server(&config).await;
    let client = Client::new(&address);
    // One request of 5 events: batches of at most 3, sent once the first batch filled up or
    // waited 500 ms.
    let batch: Vec<Value> = (0..5)
        .map(|n| {
            json!({"type": "track", "event": "Tick", "userId": "u1",
            "messageId": format!("m-{n}"), "properties": {"n": n}})
        })
        .collect();
    let (status, body) = client
        .post("/v1/batch", Some("key-123"), json!({"batch": batch}))
        .await;
    assert_eq!(status, 200, "{body}");
    // The first request fails (500) and its events are retried: 5 delivered + the failed ones.
    let started = Instant::now();
    loop {
        let got = mock.received();
        let delivered: usize = got
            .iter()
            .skip(1)
            .map(|r| r.json().as_array().expect("a batch is an array").len())
            .sum();
        if delivered >= 5 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{:?}",
            mock.received().len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let got = mock.received();
    assert!(got.iter().all(|r| r.json().as_array().unwrap().len() <= 3));
    let mut ns: Vec<u64> = got[1..]
        .iter()
        .flat_map(|r| r.json().as_array().unwrap().clone())
        .map(|e| e["n"].as_u64().unwrap())
        .collect();
    ns.sort_unstable();
    assert_eq!(ns, [0, 1, 2, 3, 4], "every event once after the retry");
    stop(&mut server).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn each_users_events_arrive_in_order_despite_failures() {
    const USERS: u64 = 50;
    const EACH: u64 = 40;
    let mock = Mock::start().await;
    // Every fifth of the first 500 requests fails.
    let script: Vec<u16> = (0..500)
        .map(|i| if i % 5 == 2 { 500 } else { 200 })
        .collect();
    for status in &script {
        mock.push(Reply::new(*status, "{}"));
    }
    let dir = tempfile::tempdir().unwrap();
    let ordered = "
  [destinations.delivery]
  ordered = true
  batch_wait_ms = 0
  initial_backoff_ms = 5
  max_backoff_ms = 50
";
    let config = config(dir.path(), &[("hook", mock.url(""), ordered)]);
    let (mut server, address) = start_server(&config).await;
    let client = Client::new(&address);
    for k in 0..EACH {
        let batch: Vec<Value> = (0..USERS)
            .map(|u| {
                json!({"type": "track", "event": "Tick", "userId": format!("u{u}"),
                "messageId": format!("u{u}-{k}"), "properties": {"user": u, "k": k}})
            })
            .collect();
        let (status, body) = client
            .post("/v1/batch", Some("key-123"), json!({"batch": batch}))
            .await;
        assert_eq!(status, 200, "{body}");
    }
    let failed = script.iter().filter(|s| **s != 200).count();
    let total = (USERS * EACH) as usize + failed;
    received(&mock, total, Duration::from_secs(120)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let got = mock.received();
    assert_eq!(got.len(), total, "no event is delivered twice");
    let mut per_user: Vec<Vec<u64>> = vec![Vec::new(); USERS as usize];
    for (i, r) in got.iter().enumerate() {
        if script.get(i).is_some_and(|s| *s != 200) {
            continue;
        }
        let e = r.json();
        per_user[e["user"].as_u64().unwrap() as usize].push(e["k"].as_u64().unwrap());
    }
    let expected: Vec<u64> = (0..EACH).collect();
    for (u, ks) in per_user.iter().enumerate() {
        assert_eq!(ks, &expected, "user u{u}'s events in order, each once");
    }
    stop(&mut server).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hanging_destination_does_not_hold_up_another() {
    const EVENTS: u64 = 200;
    let hanging = Mock::start().await;
    for _ in 0..EVENTS {
        let mut slow = Reply::new(200, "{}");
        slow.delay = Duration::from_secs(30);
        hanging.push(slow);
    }
    let fast = Mock::start().await;
    let dir = tempfile::tempdir().unwrap();
    let slow_settings = "
  [destinations.limits]
  wall_clock_ms = 20000
  [destinations.delivery]
  batch_wait_ms = 0
";
    let config = config(
        dir.path(),
        &[
            ("hanging", hanging.url(""), slow_settings),
            ("fast", fast.url(""), FAST_RETRIES),
        ],
    );
    let (mut server, address) = start_server(&config).await;
    let client = Client::new(&address);
    let started = Instant::now();
    for chunk in 0..EVENTS / 50 {
        let batch: Vec<Value> = (0..50)
            .map(|i| {
                let n = chunk * 50 + i;
                json!({"type": "track", "event": "Tick", "userId": "u1",
                    "messageId": format!("m-{n}"), "properties": {"n": n}})
            })
            .collect();
        let (status, body) = client
            .post("/v1/batch", Some("key-123"), json!({"batch": batch}))
            .await;
        assert_eq!(status, 200, "{body}");
    }
    // Every event reaches the fast destination while the hanging one's attempts (each held
    // 20 s) still occupy all of its slots.
    received_events(&fast, EVENTS as usize, Duration::from_secs(15)).await;
    assert!(started.elapsed() < Duration::from_secs(15));
    let stuck = hanging.received().len();
    assert_eq!(
        stuck, 16,
        "the hanging destination holds its 16 slots and no more"
    );
    drop(server.start_kill());
    let _ = server.wait().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn every_event_answered_200_arrives_after_kill_9() {
    // 20,000 events streamed in; the server is killed halfway.
    const BATCHES: usize = 200;
    const PER: usize = 100;
    let mock = Mock::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), &[("hook", mock.url(""), FAST_RETRIES)]);
    let (mut server, address) = start_server(&config).await;
    // Stream batches from 4 connections; kill -9 the server halfway through.
    let acked = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut senders = Vec::new();
    for _ in 0..4 {
        let (acked, next, address) = (acked.clone(), next.clone(), address.clone());
        senders.push(tokio::spawn(async move {
            let client = Client::new(&address);
            loop {
                let b = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                if b >= BATCHES {
                    return;
                }
                let ids: Vec<String> = (0..PER).map(|i| format!("m-{b}-{i}")).collect();
                let batch: Vec<Value> = ids
                    .iter()
                    .map(|id| {
                        json!({"type": "track", "event": "Tick", "userId": "u1",
                        "messageId": id, "properties": {"id": id}})
                    })
                    .collect();
                match client
                    .try_post("/v1/batch", "key-123", json!({"batch": batch}))
                    .await
                {
                    Some(200) => acked.lock().unwrap().extend(ids),
                    Some(_) => {}
                    // The server is gone.
                    None => return,
                }
            }
        }));
    }
    while acked.lock().unwrap().len() < BATCHES * PER / 2 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let pid = server.id().unwrap().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-9", &pid])
            .status()
            .unwrap()
            .success()
    );
    let _ = server.wait().await;
    for s in senders {
        s.await.unwrap();
    }
    let acked: std::collections::HashSet<String> = acked.lock().unwrap().iter().cloned().collect();
    assert!(acked.len() >= BATCHES * PER / 2);

    let before_restart = events(&mock).len();
    let (mut server, _) = start_server(&config).await;
    let started = Instant::now();
    loop {
        let arrived: std::collections::HashSet<String> = events(&mock)
            .iter()
            .map(|e| e["id"].as_str().unwrap().to_string())
            .collect();
        let missing = acked.difference(&arrived).count();
        if missing == 0 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(180),
            "{missing} of {} events answered 200 never arrived",
            acked.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    // Duplicates come only from attempts in flight at the kill: the 16 running, and results
    // made but not yet recorded (a settle gathers at most 512). Everything routed, every
    // result recorded, and every event the log held but nobody had read is not sent again.
    let all = events(&mock);
    let mut seen = std::collections::HashSet::new();
    let duplicates = all
        .iter()
        .filter(|e| !seen.insert(e["id"].as_str().unwrap().to_string()))
        .count();
    eprintln!(
        "kill -9: {} events answered 200, {before_restart} arrived before the kill, {duplicates} \
         delivered twice",
        acked.len()
    );
    assert!(
        duplicates <= 16 + 512,
        "{duplicates} events were delivered twice ({before_restart} had arrived before the kill)"
    );
    stop(&mut server).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_queue_answers_503_loses_nothing_and_recovers() {
    let mock = Mock::start().await;
    // The destination is down for a while: everything accepted stays queued.
    mock.set_fallback(Some(Reply::new(503, "down").header("retry-after", "1")));
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), &[("hook", mock.url(""), FAST_RETRIES)]);
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("[server]\n", "[server]\nqueue_max_mb = 1\n");
    std::fs::write(&config, text).unwrap();
    let (mut server, address) = start_server(&config).await;
    let client = Client::new(&address);
    // Padding that does not compress (the log stores events compressed): 4,000 hex digits of
    // a pseudo-random sequence, different for every event.
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut padding = move || {
        (0..250)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                format!("{state:016x}")
            })
            .collect::<String>()
    };
    let mut accepted = Vec::new();
    let mut refused = None;
    for b in 0..100 {
        let batch: Vec<Value> = (0..10)
            .map(|i| json!({"type": "track", "event": "Tick", "userId": "u1",
                "messageId": format!("m-{b}-{i}"), "properties": {"id": format!("m-{b}-{i}"), "pad": padding()}}))
            .collect();
        let (status, body) = client
            .post("/v1/batch", Some("key-123"), json!({"batch": batch}))
            .await;
        if status == 200 {
            accepted.extend((0..10).map(|i| format!("m-{b}-{i}")));
        } else {
            refused = Some((status, body));
            break;
        }
    }
    let (status, body) = refused.expect("a 1 MiB queue fills up");
    assert_eq!(status, 503);
    assert!(
        body["error"].as_str().unwrap().contains("cannot store"),
        "{body}"
    );
    assert!(!accepted.is_empty());
    mock.set_fallback(None);
    // Once the destination is back, everything accepted arrives and the queue takes events again.
    let started = Instant::now();
    loop {
        let arrived: std::collections::HashSet<String> = events(&mock)
            .iter()
            .filter_map(|e| e["id"].as_str().map(String::from))
            .collect();
        if accepted.iter().all(|id| arrived.contains(id)) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "not all accepted events arrived"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    track(&client, "after", 1).await;
    stop(&mut server).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rate_limit_spaces_invocations() {
    let mock = Mock::start().await;
    let dir = tempfile::tempdir().unwrap();
    let limited = "
  [destinations.delivery]
  batch_wait_ms = 0
  rate_limit = 10
";
    let config = config(dir.path(), &[("hook", mock.url(""), limited)]);
    let (mut server, address) = start_server(&config).await;
    let batch: Vec<Value> = (0..21)
        .map(|n| {
            json!({"type": "track", "event": "Tick", "userId": "u1",
            "messageId": format!("m-{n}"), "properties": {"n": n}})
        })
        .collect();
    let (status, body) = Client::new(&address)
        .post("/v1/batch", Some("key-123"), json!({"batch": batch}))
        .await;
    assert_eq!(status, 200, "{body}");
    let started = Instant::now();
    received_events(&mock, 21, Duration::from_secs(30)).await;
    // 21 invocations at 10 per second: the last starts 2 s after the first at the earliest.
    assert!(
        started.elapsed() >= Duration::from_millis(1_900),
        "21 events delivered in {:?}",
        started.elapsed()
    );
    stop(&mut server).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_lets_attempts_in_flight_finish() {
    let mock = Mock::start().await;
    let mut slow = Reply::new(200, "{}");
    slow.delay = Duration::from_secs(2);
    mock.push(slow);
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), &[("hook", mock.url(""), FAST_RETRIES)]);
    let (mut server, address) = start_server(&config).await;
    track(&Client::new(&address), "m-1", 1).await;
    received(&mock, 1, Duration::from_secs(20)).await;
    // The attempt is in flight (the mock answers in 2 s): stopping waits for it.
    let stopping = Instant::now();
    stop(&mut server).await;
    assert!(
        stopping.elapsed() >= Duration::from_millis(1_500),
        "{:?}",
        stopping.elapsed()
    );
    let log = json_lines(&switchyard(&["deliveries", "--json"], &config));
    assert_eq!(log.len(), 1);
    assert_eq!(log[0]["outcome"], "delivered");
    // Nothing is left to deliver at the next start.
    let (mut server, _) = start_server(&config).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(mock.received().len(), 1);
    stop(&mut server).await;
}

/// The circuit breaker: after three failed invocations in a row the destination pauses (the
/// vendor sees nothing more, the admin API shows it paused, events keep queueing), then one
/// probe goes out; when the vendor is back, the probe closes the breaker and the rest arrive.
#[tokio::test]
async fn a_destination_that_keeps_failing_is_paused_then_resumes() {
    let mock = Mock::start().await;
    mock.set_fallback(Some(Reply::new(503, "down")));
    let dir = tempfile::tempdir().unwrap();
    let extra = "
  [destinations.delivery]
  concurrency = 1
  batch_wait_ms = 0
  initial_backoff_ms = 20
  max_backoff_ms = 100
  breaker_failures = 3
  breaker_pause_ms = 4000
";
    let path = config(dir.path(), &[("flaky", mock.url(""), extra)]);
    let mut server = crate::serve::start(&path, &[]).await;
    let client = Client::new(&server.ingest);
    for n in 0..5 {
        track(&client, &format!("m-{n}"), n).await;
    }
    received(&mock, 3, Duration::from_secs(10)).await;
    // Paused: nothing more reaches the vendor for a while, and the admin API says so.
    let token = std::fs::read_to_string(dir.path().join("data").join("admin-token")).unwrap();
    let admin = Client::new(&server.admin);
    // (The third failure is recorded just after the vendor answers it.)
    let started = Instant::now();
    let flaky = loop {
        let (_, _, flaky) = admin
            .get("/admin/destinations/flaky", Some(token.trim()))
            .await;
        if flaky["breaker"]["state"] == "paused" || started.elapsed() > Duration::from_secs(3) {
            break flaky;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(flaky["breaker"]["state"], "paused", "{flaky}");
    assert!(flaky["breaker"]["paused_until_ms"].as_i64().is_some());
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(
        mock.received().len(),
        3,
        "a paused destination gets no calls"
    );
    let (_, _, metrics) = admin.get_text("/metrics", Some(token.trim())).await;
    assert!(metrics.contains("switchyard_destination_paused{destination=\"flaky\"} 1"));

    // The vendor recovers; after the pause one probe goes, succeeds, and everything follows.
    mock.set_fallback(None);
    let got = received_events(&mock, 3 + 5, Duration::from_secs(15)).await;
    let mut delivered: Vec<i64> = got.iter().filter_map(|e| e["n"].as_i64()).collect();
    delivered.sort_unstable();
    delivered.dedup();
    assert_eq!(delivered, [0, 1, 2, 3, 4]);
    let (_, _, flaky) = admin
        .get("/admin/destinations/flaky", Some(token.trim()))
        .await;
    assert_eq!(flaky["breaker"]["state"], "closed", "{flaky}");
    server.child.kill().await.unwrap();
}

/// How long the lag test streams events with one destination down: 20 s in CI;
/// `SWITCHYARD_LAG_TEST_S=600` is the ten-minute run (README, Tests).
fn lag_test_seconds() -> u64 {
    std::env::var("SWITCHYARD_LAG_TEST_S")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_destination_down_for_a_while_falls_behind_alone_and_loses_nothing() {
    const PER_TICK: u64 = 40;
    const TICK: Duration = Duration::from_millis(100);
    let seconds = lag_test_seconds();
    let down = Mock::start().await;
    down.set_fallback(Some(Reply::new(503, "{}")));
    let (b, c) = (Mock::start().await, Mock::start().await);
    let dir = tempfile::tempdir().unwrap();
    let config = config(
        dir.path(),
        &[
            ("down", down.url(""), FAST_RETRIES),
            ("b", b.url(""), FAST_RETRIES),
            ("c", c.url(""), FAST_RETRIES),
        ],
    );
    let mut server = crate::serve::start(&config, &[]).await;
    let token = std::fs::read_to_string(dir.path().join("data/admin-token")).unwrap();
    let admin = Client::new(&server.admin);
    let client = Client::new(&server.ingest);
    // Events stream in at 400 a second while `down` answers every request with a 503.
    let started = Instant::now();
    let mut sent = 0u64;
    let mut worst_share = 1.0f64;
    while started.elapsed() < Duration::from_secs(seconds) {
        let tick = Instant::now();
        let batch: Vec<Value> = (sent..sent + PER_TICK)
            .map(|n| {
                json!({"type": "track", "event": "Tick", "userId": format!("u{}", n % 10),
                    "messageId": format!("m-{n}"), "properties": {"id": format!("m-{n}")}})
            })
            .collect();
        let (status, body) = client
            .post("/v1/batch", Some("key-123"), json!({"batch": batch}))
            .await;
        assert_eq!(status, 200, "{body}");
        sent += PER_TICK;
        // From the third second on, each healthy destination has received at least 90 % of
        // what was sent more than a second ago: it keeps pace while the other is down.
        let elapsed = started.elapsed().as_secs_f64();
        if elapsed > 3.0 {
            let due = (sent as f64 - 400.0).max(1.0);
            for mock in [&b, &c] {
                worst_share = worst_share.min(events(mock).len() as f64 / due);
            }
        }
        tokio::time::sleep(TICK.saturating_sub(tick.elapsed())).await;
    }
    eprintln!(
        "lag: {sent} events in {seconds} s; the healthy destinations kept at least {:.1} % of \
         them",
        worst_share * 100.0
    );
    assert!(
        worst_share >= 0.9,
        "a healthy destination fell to {:.0} % of the events sent",
        worst_share * 100.0
    );
    // The lag is the down destination's alone, and shown.
    let (status, _, queue) = admin.get("/admin/queue", Some(token.trim())).await;
    assert_eq!(status, 200);
    let depth = |name: &str| {
        queue["destinations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["destination"] == name)
            .map(|d| d["depth"].as_i64().unwrap() + d["log"]["behind"].as_i64().unwrap())
            .unwrap()
    };
    assert!(depth("down") > (sent / 2) as i64, "{queue}");
    assert!(depth("b") < 400 && depth("c") < 400, "{queue}");
    // It comes back: every event arrives, none is lost or dead-lettered.
    down.set_fallback(None);
    let wanted: std::collections::HashSet<String> = (0..sent).map(|n| format!("m-{n}")).collect();
    let recovered = Instant::now();
    loop {
        let arrived: std::collections::HashSet<String> = down
            .received()
            .iter()
            .filter(|r| r.answered == 200)
            .map(|r| r.json()["id"].as_str().unwrap().to_string())
            .collect();
        let missing = wanted.difference(&arrived).count();
        if missing == 0 {
            break;
        }
        assert!(
            recovered.elapsed() < Duration::from_secs(120),
            "{missing} of {sent} events never reached the destination that was down"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (_, _, letters) = admin.get("/admin/dead-letters", Some(token.trim())).await;
    assert_eq!(letters["dead_letters"], json!([]), "{letters}");
    for mock in [&b, &c] {
        assert_eq!(events(mock).len() as u64, sent, "each event once");
    }
    stop(&mut server.child).await;
}
