//! Replay and backfill from the event log through the real server: a subscription added with
//! `start_from` backfills exactly the matching events the destination had read, and
//! `switchyard replay` (dry or not) runs history through the subscriptions in force.

use crate::mock::{Mock, Reply};
use crate::serve::reqwest_like::Client;
use crate::serve::{start, stop};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const TOKEN: &str = "admin-token-for-replay-tests-0123";

/// Destination `crm` (webhook to the mock): "Viewed" events, plus "Trip Booked" ones when
/// `bookings` names a start time (the subscription added later).
fn config(dir: &Path, mock: &Mock, bookings: Option<&str>) -> PathBuf {
    config_with(dir, mock, bookings, "batch_wait_ms = 0")
}

/// [`config`] with these `[destinations.delivery]` settings.
fn config_with(dir: &Path, mock: &Mock, bookings: Option<&str>, delivery: &str) -> PathBuf {
    let mut text = format!(
        r#"
[server]
listen = "127.0.0.1:0"
admin_listen = "127.0.0.1:0"
admin_token = "{TOKEN}"
data_dir = "{data}"

[[sources]]
name = "app"
write_key = "key-123"

[[destinations]]
name = "crm"
plugin = "webhook"
allowed_hosts = ["https://hooks.example"]
redirect_outbound = "{mock}"
  [destinations.delivery]
  {delivery}

  [[destinations.subscriptions]]
  name = "Views"
  action = "send"
  trigger = 'event = "Viewed"'
    [destinations.subscriptions.mapping]
    url = "https://hooks.example/views"
    data = {{ "@path" = "$.properties" }}
"#,
        data = dir.join("data").display(),
        mock = mock.url(""),
    );
    if let Some(start_from) = bookings {
        text.push_str(&format!(
            r#"
  [[destinations.subscriptions]]
  name = "Bookings"
  action = "send"
  trigger = 'event = "Trip Booked"'
  start_from = "{start_from}"
    [destinations.subscriptions.mapping]
    url = "https://hooks.example/bookings"
    data = {{ "@path" = "$.properties" }}
"#
        ));
    }
    let path = dir.join("switchyard.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Sends events `first..first+count`: every fourth is a "Trip Booked", the rest "Viewed".
async fn send(client: &Client, first: u64, count: u64) {
    for chunk in (first..first + count).collect::<Vec<_>>().chunks(100) {
        let batch: Vec<Value> = chunk
            .iter()
            .map(|n| {
                let event = if n % 4 == 0 { "Trip Booked" } else { "Viewed" };
                json!({"type": "track", "event": event, "userId": format!("u{}", n % 7),
                    "messageId": format!("m-{n}"), "properties": {"n": n, "event": event}})
            })
            .collect();
        let (status, body) = client
            .post("/v1/batch", Some("key-123"), json!({"batch": batch}))
            .await;
        assert_eq!(status, 200, "{body}");
    }
}

/// The numbers of the events the mock received at `path`, in arrival order.
fn arrived(mock: &Mock, path: &str) -> Vec<u64> {
    mock.received()
        .iter()
        .filter(|r| r.path == path)
        .map(|r| r.json()["n"].as_u64().unwrap())
        .collect()
}

/// Waits until the mock received `n` requests at `path`, then a little longer for any extra.
async fn settle_at(mock: &Mock, path: &str, n: usize) -> Vec<u64> {
    let started = Instant::now();
    while arrived(mock, path).len() < n {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{path}: {} of {n} requests arrived",
            arrived(mock, path).len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    arrived(mock, path)
}

fn sorted(mut v: Vec<u64>) -> Vec<u64> {
    v.sort_unstable();
    v
}

/// Runs `switchyard replay …` against the server; its status, stdout and stderr.
fn replay_command(admin: &str, args: &[&str]) -> (i32, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .arg("replay")
        .args(args)
        .args(["--admin", admin])
        .env("SWITCHYARD_ADMIN_TOKEN", TOKEN)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_subscription_added_later_backfills_exactly_the_matching_events_and_replay_resends() {
    let mock = Mock::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config_path = config(dir.path(), &mock, None);
    let mut server = start(&config_path, &[]).await;
    let client = Client::new(&server.ingest);
    let admin = Client::new(&server.admin);
    let before = time::OffsetDateTime::now_utc() - time::Duration::minutes(1);
    let before = before
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();

    // 1,000 events accepted: 750 "Viewed" reach the one subscription there is.
    send(&client, 0, 1000).await;
    let views = settle_at(&mock, "/views", 750).await;
    assert_eq!(
        sorted(views),
        (0..1000).filter(|n| n % 4 != 0).collect::<Vec<_>>()
    );
    assert!(arrived(&mock, "/bookings").is_empty());

    // The "Bookings" subscription is added with a start time before them all: it backfills
    // the 250 "Trip Booked" events, each once, and nothing else is sent again.
    config(dir.path(), &mock, Some(&before));
    let (status, answer) = admin.post_bearer("/admin/reload", TOKEN).await;
    assert_eq!(status, 200, "{answer}");
    let bookings = settle_at(&mock, "/bookings", 250).await;
    assert_eq!(
        sorted(bookings),
        (0..1000).filter(|n| n % 4 == 0).collect::<Vec<_>>(),
        "exactly the matching events, each once"
    );
    assert_eq!(
        arrived(&mock, "/views").len(),
        750,
        "no view was sent again"
    );

    // Events accepted after the change go through both subscriptions once; the backfill does
    // not run again after a restart.
    send(&client, 1000, 100).await;
    settle_at(&mock, "/bookings", 275).await;
    stop(&mut server.child).await;
    let mut server = start(&config_path, &[]).await;
    let admin = Client::new(&server.admin);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        sorted(arrived(&mock, "/bookings")),
        (0..1100).filter(|n| n % 4 == 0).collect::<Vec<_>>()
    );
    assert_eq!(arrived(&mock, "/views").len(), 825);

    // The delivery log marks the backfilled deliveries.
    let (status, _, log) = admin
        .get("/admin/deliveries?destination=crm&limit=1000", Some(TOKEN))
        .await;
    assert_eq!(status, 200);
    let entries = log["deliveries"].as_array().unwrap();
    let replayed = entries.iter().filter(|a| a["replayed"] == true).count();
    assert_eq!(replayed, 250, "the backfilled deliveries are marked");
    assert!(
        entries
            .iter()
            .filter(|a| a["replayed"] == true)
            .all(|a| a["subscription"] == "Bookings" && a["outcome"] == "delivered")
    );

    // A dry run counts and sends nothing.
    let (code, out, err) = replay_command(
        &server.admin,
        &[
            "--destination",
            "crm",
            "--subscription",
            "Bookings",
            "--from",
            &before,
            "--dry-run",
            "--json",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let counted: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(counted["dry_run"], true);
    assert_eq!(counted["events"], 1100);
    assert_eq!(counted["deliveries"], json!({"Bookings": 275}));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        arrived(&mock, "/bookings").len(),
        275,
        "a dry run sends nothing"
    );

    // A replay of both subscriptions over the first 1,000 events sends them again.
    let (code, out, err) =
        replay_command(&server.admin, &["--destination", "crm", "--from", &before]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("Replayed 1100 events"), "{out}");
    assert!(out.contains("Bookings") && out.contains("275"), "{out}");
    assert!(out.contains("Views") && out.contains("825"), "{out}");
    let again = settle_at(&mock, "/views", 1650).await;
    assert_eq!(
        sorted(again),
        sorted(
            (0..1100)
                .filter(|n| n % 4 != 0)
                .chain((0..1100).filter(|n| n % 4 != 0))
                .collect()
        )
    );
    assert_eq!(settle_at(&mock, "/bookings", 550).await.len(), 550);

    // What cannot be replayed is refused with a reason, by the API and by the command.
    let (code, _, err) = replay_command(
        &server.admin,
        &[
            "--destination",
            "crm",
            "--subscription",
            "Bokings",
            "--from",
            "1h",
        ],
    );
    assert_ne!(code, 0);
    assert!(
        err.contains("no enabled subscription \"Bokings\"") && err.contains("Bookings"),
        "{err}"
    );
    for (body, status, says) in [
        (
            json!({"destination": "nope", "from": "1h"}),
            404,
            "no running destination",
        ),
        (
            json!({"destination": "crm", "from": "yesterday"}),
            400,
            "from:",
        ),
        (
            json!({"destination": "crm", "from": "1h", "subscriptions": "x"}),
            400,
            "unknown field",
        ),
        (
            json!({"destination": "crm", "from": "1h", "until": "2h"}),
            400,
            "must be after",
        ),
    ] {
        let (got, answer) = admin
            .call(
                "POST",
                "/admin/replay",
                TOKEN,
                body.to_string().into_bytes(),
            )
            .await;
        assert_eq!(got, status, "{body}: {answer}");
        assert!(
            answer["error"].as_str().unwrap().contains(says),
            "{body}: {answer}"
        );
    }
    stop(&mut server.child).await;
}

/// Scripts `count` answers: every fifth fails with a 500.
fn script_failures(mock: &Mock, count: usize) -> usize {
    for i in 0..count {
        mock.push(Reply::new(if i % 5 == 2 { 500 } else { 200 }, "{}"));
    }
    count / 5
}

/// Each user's event numbers in the order they were delivered (the successful requests from
/// the `skip`th on), checked to be `0..each` in order, each once.
fn check_order(mock: &Mock, skip: usize, users: u64, each: u64, what: &str) {
    let mut per_user: Vec<Vec<u64>> = vec![Vec::new(); users as usize];
    let mut failed = 0;
    for (i, r) in mock.received().iter().enumerate().skip(skip) {
        // Which requests were scripted to fail is known by their place in arrival order.
        if (i - skip) % 5 == 2 && i < skip + 500 {
            failed += 1;
            continue;
        }
        let e = r.json();
        let n = e["n"].as_u64().unwrap();
        per_user[(n % users) as usize].push(n / users);
    }
    assert!(failed > 0);
    let expected: Vec<u64> = (0..each).collect();
    for (u, ks) in per_user.iter().enumerate() {
        assert_eq!(
            ks, &expected,
            "{what}: user {u}'s events in order, each once"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn each_users_order_holds_across_a_restart_and_a_replay() {
    const USERS: u64 = 50;
    const EACH: u64 = 40;
    let mock = Mock::start().await;
    let failed = script_failures(&mock, 500);
    let dir = tempfile::tempdir().unwrap();
    let ordered = "ordered = true
  batch_wait_ms = 0
  initial_backoff_ms = 5
  max_backoff_ms = 50";
    let config_path = config_with(dir.path(), &mock, None, ordered);
    let mut server = start(&config_path, &[]).await;
    let started_at = time::OffsetDateTime::now_utc() - time::Duration::minutes(1);
    let started_at = started_at
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    // Event n belongs to user n % 50 and is that user's (n / 50)th; all are "Viewed" events.
    let send_round = |client: Client, k: u64| async move {
        let batch: Vec<Value> = (0..USERS)
            .map(|u| {
                let n = k * USERS + u;
                json!({"type": "track", "event": "Viewed", "userId": format!("u{u}"),
                    "messageId": format!("m-{n}"), "properties": {"n": n}})
            })
            .collect();
        let (status, body) = client
            .post("/v1/batch", Some("key-123"), json!({"batch": batch}))
            .await;
        assert_eq!(status, 200, "{body}");
    };
    for k in 0..EACH / 2 {
        send_round(Client::new(&server.ingest), k).await;
    }
    // A restart while the first half is being delivered (and retried).
    stop(&mut server.child).await;
    let mut server = start(&config_path, &[]).await;
    for k in EACH / 2..EACH {
        send_round(Client::new(&server.ingest), k).await;
    }
    let total = (USERS * EACH) as usize;
    settle_at(&mock, "/views", total + failed).await;
    assert_eq!(
        mock.received().len(),
        total + failed,
        "no event delivered twice"
    );
    check_order(&mock, 0, USERS, EACH, "across a restart");

    // A replay of everything, again with failures, keeps each user's order too.
    let failed_again = script_failures(&mock, 500);
    let admin = Client::new(&server.admin);
    let body = json!({"destination": "crm", "from": started_at});
    let (status, answer) = admin
        .call(
            "POST",
            "/admin/replay",
            TOKEN,
            body.to_string().into_bytes(),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["deliveries"]["Views"], total as u64, "{answer}");
    let skip = total + failed;
    settle_at(&mock, "/views", skip + total + failed_again).await;
    assert_eq!(mock.received().len(), skip + total + failed_again);
    check_order(&mock, skip, USERS, EACH, "in a replay");
    stop(&mut server.child).await;
}
