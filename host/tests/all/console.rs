//! The web console in a real browser: `switchyard serve` with two destinations, events sent
//! through the ingest API (one whose name and properties look like markup), then
//! `tests/browser/console.test.mjs` run by node's test runner, driving Debian's chromium with
//! puppeteer-core. The browser checks sign-in, the overview and its two questions, keyboard use,
//! accessibility (axe-core) and that event data never runs as script. It leaves screenshots of
//! the overview in the target folder (`…/tmp/browser/shots`).

use crate::admin::config_with;
use crate::mock::{Mock, Reply};
use crate::serve::reqwest_like::Client;
use crate::serve::{start, stop};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::Command;

const TOKEN: &str = "console-browser-admin-token";

/// An event name that would run script if any page put it into the HTML unescaped.
const EVIL: &str = "<img src=x onerror=alert(1)></script><script>alert(2)</script>";

/// The browser to drive: `$CHROMIUM`, else Debian's (`.ci/run` installs it).
fn chromium() -> String {
    let path = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        Path::new(&path).exists(),
        "no browser at {path}: install Debian's chromium (apt-get install chromium), as .ci/run does"
    );
    path
}

/// The browser tests and their npm packages (exactly as locked), in the target folder.
fn browser_tests() -> PathBuf {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/browser");
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("browser");
    std::fs::create_dir_all(&dir).unwrap();
    let lock = std::fs::read_to_string(source.join("package-lock.json")).unwrap();
    for file in [
        "package.json",
        "package-lock.json",
        "browser.mjs",
        "console.test.mjs",
        "walkthrough.test.mjs",
        "session.test.mjs",
    ] {
        std::fs::copy(source.join(file), dir.join(file)).unwrap();
    }
    let installed = dir.join("node_modules/.installed-lock");
    if std::fs::read_to_string(&installed).ok().as_deref() != Some(lock.as_str()) {
        let status = Command::new("npm")
            .args(["ci", "--silent", "--no-audit", "--no-fund"])
            .current_dir(&dir)
            .status()
            .expect("npm is installed (.ci/run installs it)");
        assert!(status.success(), "npm ci in {} failed", dir.display());
        std::fs::write(&installed, &lock).unwrap();
    }
    dir
}

#[tokio::test(flavor = "multi_thread")]
async fn the_console_in_a_real_browser() {
    let chromium = chromium();
    let tests = tokio::task::spawn_blocking(browser_tests).await.unwrap();
    let mock = Mock::start().await;
    let dir = tempfile::tempdir().unwrap();
    let destinations = format!(
        r#"
[[destinations]]
name = "hook"
plugin = "webhook"
allowed_hosts = ["https://hooks.example"]
redirect_outbound = "{mock}"
  [[destinations.subscriptions]]
  name = "Bookings"
  action = "send"
  trigger = 'type = "track" and event = "Trip Booked"'
    [destinations.subscriptions.mapping]
    url = "https://hooks.example/in"
    data = {{ email = {{ "@path" = "$.traits.email" }}, trip = {{ "@path" = "$.properties.trip" }} }}
[[destinations]]
name = "chat"
plugin = "slack"
redirect_outbound = "{mock}"
  [[destinations.subscriptions]]
  name = "Pricing views"
  action = "postToChannel"
  trigger = 'type = "page" and name = "Pricing"'
    [destinations.subscriptions.mapping]
    url = "https://hooks.slack.com/services/T1/B2/C3"
    text = {{ "@template" = "{{{{userId}}}} looked at pricing" }}
"#,
        mock = mock.url(""),
    );
    let config = config_with(
        dir.path(),
        "admin_token = \"${ADMIN_TOKEN}\"",
        &destinations,
    );
    let mut server = start(&config, &[("ADMIN_TOKEN", TOKEN)]).await;
    let ingest = Client::new(&server.ingest);
    for event in [
        json!({"userId": "u-1", "event": "Trip Booked", "traits": {"email": "ann@example.com"},
            "properties": {"trip": "LIS-NYC"}}),
        json!({"userId": "javascript:alert(3)", "event": EVIL, "properties": {EVIL: EVIL}}),
    ] {
        let (status, answer) = ingest.post("/v1/track", Some("key-123"), event).await;
        assert_eq!(status, 200, "{answer}");
    }
    let shots = tests.join("shots");
    let run = tokio::process::Command::new("node")
        .args(["--test", "--test-reporter=spec", "console.test.mjs"])
        .current_dir(&tests)
        .env("CONSOLE_URL", &server.admin)
        .env("ADMIN_TOKEN", TOKEN)
        .env("CHROMIUM", &chromium)
        .env("EVIL", EVIL)
        .env("SHOTS", &shots)
        .output()
        .await
        .expect("node is installed (.ci/run installs it)");
    println!("{}", String::from_utf8_lossy(&run.stdout));
    eprintln!("{}", String::from_utf8_lossy(&run.stderr));
    stop(&mut server.child).await;
    assert!(
        run.status.success(),
        "the browser tests failed (output above)"
    );
    assert!(shots.join("overview.png").is_file());
}

/// The Fly Inc. walkthrough (`tests/browser/walkthrough.test.mjs`): `switchyard serve` with one
/// source and no destinations, a local server answering as Braze does, and events sent with
/// Segment's Node library. Everything else happens in the console; afterwards, what reached
/// "Braze" is checked here: one purchase per trip, and the "Viewed Pricing" custom event.
#[tokio::test(flavor = "multi_thread")]
async fn the_fly_inc_walkthrough_in_a_real_browser() {
    let chromium = chromium();
    let tests = tokio::task::spawn_blocking(browser_tests).await.unwrap();
    let braze = Mock::start().await;
    braze.set_fallback(Some(Reply::new(201, r#"{"message":"success"}"#)));
    let dir = tempfile::tempdir().unwrap();
    let config = config_with(dir.path(), "admin_token = \"${ADMIN_TOKEN}\"", "");
    let mut server = start(&config, &[("ADMIN_TOKEN", TOKEN)]).await;
    let shots = tests.join("shots");
    let run = tokio::process::Command::new("node")
        .args(["--test", "--test-reporter=spec", "walkthrough.test.mjs"])
        .current_dir(&tests)
        .env("CONSOLE_URL", &server.admin)
        .env("ADMIN_TOKEN", TOKEN)
        .env("INGEST_URL", &server.ingest)
        .env("WRITE_KEY", "key-123")
        .env("BRAZE_URL", braze.url(""))
        .env("CHROMIUM", &chromium)
        .env("SHOTS", &shots)
        .output()
        .await
        .expect("node is installed (.ci/run installs it)");
    println!("{}", String::from_utf8_lossy(&run.stdout));
    eprintln!("{}", String::from_utf8_lossy(&run.stderr));
    stop(&mut server.child).await;
    assert!(
        run.status.success(),
        "the walkthrough failed (output above)"
    );
    // What Braze received: Bob's booking as two purchases, and his pricing view as an event;
    // then, sent again from the console, Ann's earlier booking and Bob's once more.
    let received = braze.received();
    let bodies: Vec<serde_json::Value> = received
        .iter()
        .filter(|r| r.path == "/users/track")
        .map(|r| r.json())
        .collect();
    let purchases_of = |who: &str| -> Vec<(String, serde_json::Value)> {
        bodies
            .iter()
            .filter_map(|b| b["purchases"].as_array())
            .flatten()
            .filter(|p| p["external_id"] == who)
            .map(|p| {
                (
                    p["product_id"].as_str().unwrap().to_string(),
                    p["quantity"].clone(),
                )
            })
            .collect()
    };
    let trip = |product: &str, quantity: u64| (product.to_string(), serde_json::json!(quantity));
    assert_eq!(
        purchases_of("bob"),
        [
            trip("LIS-JFK", 1),
            trip("JFK-SFO", 2),
            trip("LIS-JFK", 1),
            trip("JFK-SFO", 2)
        ],
        "{bodies:?}"
    );
    assert_eq!(
        purchases_of("ann"),
        [trip("LIS-JFK", 1), trip("JFK-SFO", 2)],
        "{bodies:?}"
    );
    let events: Vec<&serde_json::Value> = bodies
        .iter()
        .filter_map(|b| b["events"].as_array())
        .flatten()
        .filter(|e| e["external_id"] == "bob")
        .collect();
    assert_eq!(events.len(), 1, "{bodies:?}");
    assert_eq!(events[0]["name"], "Viewed Pricing");
    for r in &received {
        assert_eq!(
            r.header("authorization"),
            Some("Bearer fly-inc-braze-key-7731")
        );
    }
    assert!(shots.join("editor.png").is_file());
}

/// Session expiry in the browser (`tests/browser/session.test.mjs`): a server whose console
/// sessions end after 4 idle seconds.
#[tokio::test(flavor = "multi_thread")]
async fn console_sessions_expire_in_a_real_browser() {
    let chromium = chromium();
    let tests = tokio::task::spawn_blocking(browser_tests).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = config_with(
        dir.path(),
        "admin_token = \"${ADMIN_TOKEN}\"\nconsole_idle_s = 4",
        "",
    );
    let mut server = start(&config, &[("ADMIN_TOKEN", TOKEN)]).await;
    let run = tokio::process::Command::new("node")
        .args(["--test", "--test-reporter=spec", "session.test.mjs"])
        .current_dir(&tests)
        .env("CONSOLE_URL", &server.admin)
        .env("ADMIN_TOKEN", TOKEN)
        .env("CHROMIUM", &chromium)
        .env("SHOTS", tests.join("shots"))
        .output()
        .await
        .expect("node is installed (.ci/run installs it)");
    println!("{}", String::from_utf8_lossy(&run.stdout));
    eprintln!("{}", String::from_utf8_lossy(&run.stderr));
    stop(&mut server.child).await;
    assert!(
        run.status.success(),
        "the session tests failed (output above)"
    );
}
