//! The `switchyard` binary, run for real: bundled plugins, real mock HTTP servers, bad input.

use crate::mock::{Mock, Reply};
use serde_json::{Value, json};
use std::path::PathBuf;

pub(crate) struct Run {
    pub(crate) code: i32,
    pub(crate) out: Value,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

pub(crate) async fn switchyard(args: &[&str]) -> Run {
    let cache = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("compile-cache");
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .args(args)
        .env("SWITCHYARD_CACHE_DIR", cache)
        .output()
        .await
        .expect("running switchyard");
    let stdout = String::from_utf8_lossy(&output.stdout);
    Run {
        code: output.status.code().unwrap_or(-1),
        out: serde_json::from_str(&stdout).unwrap_or(Value::Null),
        stdout: stdout.into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// A temporary folder with the given files.
pub(crate) fn files(list: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in list {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    dir
}

pub(crate) fn path(dir: &tempfile::TempDir, name: &str) -> String {
    dir.path().join(name).display().to_string()
}

const TRACK: &str = r#"{"type": "track", "event": "Trip Booked", "userId": "u-42",
  "messageId": "m-1", "properties": {"destination": "Lisbon", "price": 129.5},
  "context": {"ip": "203.0.113.9"}}"#;

#[tokio::test]
async fn slack_dry_run_shows_the_mapped_payload_and_the_exact_request() {
    let dir = files(&[
        ("event.json", TRACK),
        (
            "mapping.json",
            r#"{"url": "https://hooks.slack.com/services/T1/B2/C3",
                "text": {"@template": "{{userId}} booked a trip to {{properties.destination}}"},
                "channel": "bookings"}"#,
        ),
    ]);
    let run = switchyard(&[
        "run",
        "slack",
        "--action",
        "postToChannel",
        "--event",
        &path(&dir, "event.json"),
        "--mapping",
        &path(&dir, "mapping.json"),
        "--dry-run",
    ])
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let expected_body = json!({
        "channel": "bookings",
        "text": "u-42 booked a trip to Lisbon",
        "username": "Segment",
        "icon_url": "https://logo.clearbit.com/segment.com",
    });
    assert_eq!(
        run.out["payload"],
        json!({"url": "https://hooks.slack.com/services/T1/B2/C3",
               "text": "u-42 booked a trip to Lisbon", "channel": "bookings",
               "username": "Segment", "icon_url": "https://logo.clearbit.com/segment.com"})
    );
    let requests = run.out["requests"].as_array().unwrap();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0]["method"], "POST");
    assert_eq!(
        requests[0]["url"],
        "https://hooks.slack.com/services/T1/B2/C3"
    );
    assert_eq!(requests[0]["headers"]["content-type"], "application/json");
    assert_eq!(requests[0]["body"], expected_body);
    assert_eq!(run.out["result"], "ok");
}

#[tokio::test]
async fn slack_refuses_a_non_slack_url_and_a_missing_text_before_sending() {
    let dir = files(&[
        ("event.json", TRACK),
        (
            "bad-url.json",
            r#"{"url": "https://evil.example/hook", "text": "hi"}"#,
        ),
        (
            "no-text.json",
            r#"{"url": "https://hooks.slack.com/services/x", "text": {"@path": "$.nope"}}"#,
        ),
    ]);
    let run = switchyard(&[
        "run",
        "slack",
        "--action",
        "postToChannel",
        "--dry-run",
        "--event",
        &path(&dir, "event.json"),
        "--mapping",
        &path(&dir, "bad-url.json"),
    ])
    .await;
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(run.out["result"]["error"]["kind"], "invalid-payload");
    assert!(
        run.out["result"]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Invalid Slack URL")
    );
    assert_eq!(run.out["requests"], json!([]));

    let run = switchyard(&[
        "run",
        "slack",
        "--action",
        "postToChannel",
        "--dry-run",
        "--event",
        &path(&dir, "event.json"),
        "--mapping",
        &path(&dir, "no-text.json"),
    ])
    .await;
    assert_eq!(run.code, 1);
    assert_eq!(
        run.out["result"]["error"]["message"],
        "invalid payload: missing the required field 'text'"
    );
    assert_eq!(run.out["requests"], json!([]));
}

#[tokio::test]
async fn dry_run_answers_from_the_respond_file() {
    let dir = files(&[
        ("event.json", TRACK),
        (
            "mapping.json",
            r#"{"url": "https://hooks.slack.com/services/x", "text": "hi"}"#,
        ),
        ("respond.json", r#"[{"status": 503, "body": "try later"}]"#),
    ]);
    let run = switchyard(&[
        "run",
        "slack",
        "--action",
        "postToChannel",
        "--dry-run",
        "--event",
        &path(&dir, "event.json"),
        "--mapping",
        &path(&dir, "mapping.json"),
        "--respond",
        &path(&dir, "respond.json"),
    ])
    .await;
    assert_eq!(run.code, 1);
    assert_eq!(run.out["result"]["error"]["kind"], "retryable");
    assert_eq!(run.out["result"]["error"]["status"], 503);
    assert_eq!(run.out["requests"][0]["status"], 503);
}

#[tokio::test(flavor = "multi_thread")]
async fn webhook_sends_the_whole_event_to_a_real_server() {
    let mock = Mock::start().await;
    let dir = files(&[
        ("event.json", TRACK),
        (
            "mapping.json",
            &json!({"url": mock.url("/hooks/in?src=sy"), "method": "PUT",
                    "headers": {"X-Team": "growth", "Authorization": "Bearer s3cr3t-token"}})
            .to_string(),
        ),
    ]);
    let run = switchyard(&[
        "run",
        "webhook",
        "--action",
        "send",
        "--event",
        &path(&dir, "event.json"),
        "--mapping",
        &path(&dir, "mapping.json"),
        "--allow-host",
        &mock.pattern(),
        "--allow-private",
    ])
    .await;
    assert_eq!(run.code, 0, "{}\n{}", run.stderr, run.out);
    let received = mock.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].method, "PUT");
    assert_eq!(received[0].path, "/hooks/in?src=sy");
    assert_eq!(received[0].header("x-team"), Some("growth"));
    assert_eq!(
        received[0].header("authorization"),
        Some("Bearer s3cr3t-token")
    );
    let event: Value = serde_json::from_str(TRACK).unwrap();
    assert_eq!(received[0].json(), event);
    // What is printed masks the credential header.
    assert_eq!(
        run.out["requests"][0]["headers"]["authorization"],
        "Bearer ***"
    );
    assert_eq!(run.out["requests"][0]["status"], 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn webhook_to_loopback_is_refused_without_allow_private() {
    let mock = Mock::start().await;
    let dir = files(&[
        ("event.json", TRACK),
        ("mapping.json", &json!({"url": mock.url("/x")}).to_string()),
    ]);
    let run = switchyard(&[
        "run",
        "webhook",
        "--action",
        "send",
        "--event",
        &path(&dir, "event.json"),
        "--mapping",
        &path(&dir, "mapping.json"),
        "--allow-host",
        &mock.pattern(),
    ])
    .await;
    assert_eq!(run.code, 1);
    assert_eq!(run.out["result"]["error"]["kind"], "address-denied");
    assert!(mock.received().is_empty());

    let run = switchyard(&[
        "run",
        "webhook",
        "--action",
        "send",
        "--event",
        &path(&dir, "event.json"),
        "--mapping",
        &path(&dir, "mapping.json"),
    ])
    .await;
    assert_eq!(run.code, 1);
    assert_eq!(run.out["result"]["error"]["kind"], "host-denied");
    assert_eq!(
        run.out["result"]["error"]["message"],
        format!(
            "host {} is not in the allow-list",
            mock.pattern().trim_start_matches("http://")
        )
    );
    assert!(mock.received().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn webhook_batch_sends_one_array_and_answers_per_event() {
    let mock = Mock::start().await;
    mock.push(Reply::new(200, "{}"));
    let events = json!([
        {"type": "track", "event": "A", "userId": "1", "properties": {"hook": mock.url("/batch")}},
        {"type": "track", "event": "B", "userId": "2", "properties": {}},
        {"type": "track", "event": "C", "userId": "3", "properties": {"hook": mock.url("/batch")}},
    ]);
    let dir = files(&[
        ("events.json", &events.to_string()),
        (
            "mapping.json",
            r#"{"url": {"@path": "$.properties.hook"}, "data": {"event": {"@path": "$.event"}}}"#,
        ),
    ]);
    let run = switchyard(&[
        "run",
        "webhook",
        "--action",
        "send",
        "--batch",
        &path(&dir, "events.json"),
        "--mapping",
        &path(&dir, "mapping.json"),
        "--allow-host",
        &mock.pattern(),
        "--allow-private",
    ])
    .await;
    assert_eq!(run.code, 1, "{}", run.stderr);
    let results = run.out["results"].as_array().unwrap();
    assert_eq!(results[0], "ok");
    assert_eq!(
        results[1]["error"]["message"],
        "invalid payload: missing the required field 'url'"
    );
    assert_eq!(results[2], "ok");
    let received = mock.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].json(), json!([{"event": "A"}, {"event": "C"}]));
}

#[tokio::test]
async fn plugin_list_and_inspect_show_the_bundled_plugins() {
    let run = switchyard(&["plugin", "list", "--json"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let ids: Vec<&str> = run
        .out
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "amplitude",
            "braze",
            "customerio",
            "facebook-conversions-api",
            "fullstory",
            "google-analytics-4",
            "google-enhanced-conversions",
            "slack",
            "tiktok-conversions",
            "webhook"
        ]
    );

    let run = switchyard(&["plugin", "inspect", "slack"]).await;
    assert_eq!(run.code, 0);
    let action = &run.out["actions"][0];
    assert_eq!(action["id"], "postToChannel");
    let keys: Vec<&str> = action["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["url", "text", "channel", "username", "icon_url"]);
    assert_eq!(action["fields"][3]["default"], "Segment");
    assert_eq!(run.out["allowed_hosts"], json!(["https://*.slack.com"]));
    assert_eq!(run.out["sha256"].as_str().unwrap().len(), 64);
}

#[tokio::test]
async fn bad_input_names_the_file_and_what_is_wrong() {
    let dir = files(&[
        ("broken.json", "{\n  \"type\": \"track\",\n  \"event\": \n}"),
        ("event.json", TRACK),
        ("mapping.json", r#"{"text": {"@tempalte": "x"}}"#),
        ("module.wat", "(module (func (export \"f\")))"),
        ("empty.wat", "(component)"),
        ("garbage.wasm", "this is not wasm"),
        (
            "future.wat",
            r#"(component
                 (core module $m (func (export "f")))
                 (core instance $i (instantiate $m))
                 (func $f (canon lift (core func $i "f")))
                 (instance $inst (export "describe" (func $f)))
                 (export "switchyard:destination/plugin@0.9.0" (instance $inst)))"#,
        ),
    ]);
    let cases: Vec<(Vec<String>, String)> = vec![
        (
            vec!["--event".into(), path(&dir, "broken.json")],
            format!(
                "event file {} is not valid at line 4 column 1",
                path(&dir, "broken.json")
            ),
        ),
        (
            vec![
                "--event".into(),
                path(&dir, "event.json"),
                "--mapping".into(),
                path(&dir, "mapping.json"),
            ],
            "/text has an invalid directive: @tempalte.".into(),
        ),
        (
            vec![
                "--event".into(),
                path(&dir, "event.json"),
                "--settings".into(),
                path(&dir, "missing.json"),
            ],
            format!("cannot read settings file {}", path(&dir, "missing.json")),
        ),
    ];
    for (extra, expected) in cases {
        let mut args = vec!["run", "slack", "--action", "postToChannel", "--dry-run"];
        args.extend(extra.iter().map(String::as_str));
        let run = switchyard(&args).await;
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(
            run.stderr.contains(&expected),
            "expected {expected:?} in {:?}",
            run.stderr
        );
    }

    let plugins = [
        (
            "module.wat",
            "is a core WebAssembly module, not a component; build the plugin for the wasm32-wasip2 target",
        ),
        (
            "empty.wat",
            "does not export switchyard:destination/plugin (0.1.x, 0.2.x or 0.3.x)",
        ),
        ("garbage.wasm", "not a WebAssembly file"),
        (
            "future.wat",
            "targets WIT package switchyard:destination@0.9.0, but this host supports \
             switchyard:destination 0.1.x, 0.2.x and 0.3.x (newest 0.3.0)",
        ),
    ];
    for (file, expected) in plugins {
        let run = switchyard(&["plugin", "inspect", &path(&dir, file)]).await;
        assert_eq!(run.code, 2, "{file}: {}", run.stderr);
        let expected = format!("{}: {expected}", path(&dir, file));
        assert!(
            run.stderr.contains(&expected),
            "expected {expected:?} in {:?}",
            run.stderr
        );
    }

    let run = switchyard(&[
        "run",
        "nope",
        "--action",
        "x",
        "--event",
        &path(&dir, "event.json"),
    ])
    .await;
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("unknown plugin \"nope\""),
        "{}",
        run.stderr
    );
    let run = switchyard(&[
        "run",
        "slack",
        "--action",
        "postToChanel",
        "--event",
        &path(&dir, "event.json"),
    ])
    .await;
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains(
            "plugin slack has no action \"postToChanel\"; its actions are: postToChannel"
        ),
        "{}",
        run.stderr
    );
    let run = switchyard(&["run", "slack", "--action", "postToChannel"]).await;
    assert_eq!(run.code, 2, "either --event or --batch is required");
}
