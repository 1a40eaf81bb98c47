//! The admin API of a running `switchyard serve`: bearer-token auth on every `/admin` path,
//! answers that match the served OpenAPI description, and secrets that never leave.

use crate::mock::{Mock, Reply};
use crate::serve::reqwest_like::Client;
use crate::serve::{Server, start};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const TOKEN: &str = "admin-token-for-tests-0123456789";
const SECRET: &str = "braze-secret-key-4242";

/// A configuration in `dir`: source `app` (write key `key-123`), then `destinations` (TOML).
pub(crate) fn config_with(dir: &Path, token_line: &str, destinations: &str) -> PathBuf {
    let text = format!(
        r#"
[server]
listen = "127.0.0.1:0"
admin_listen = "127.0.0.1:0"
data_dir = "{data}"
{token_line}

[[sources]]
name = "app"
write_key = "key-123"
{destinations}"#,
        data = dir.join("data").display(),
    );
    let path = dir.join("switchyard.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Destination `chat`: Slack (to the mock), a message for each "Trip Booked".
pub(crate) fn chat(mock: &Mock) -> String {
    format!(
        r#"
[[destinations]]
name = "chat"
plugin = "slack"
redirect_outbound = "{mock}"

  [[destinations.subscriptions]]
  name = "Trips"
  action = "postToChannel"
  trigger = 'type = "track" and event = "Trip Booked"'
    [destinations.subscriptions.mapping]
    url = "https://hooks.slack.com/services/T1/B2/C3"
    text = {{ "@template" = "{{{{userId}}}} booked" }}
"#,
        mock = mock.url(""),
    )
}

fn config(dir: &Path, mock: &Mock, token_line: &str) -> PathBuf {
    let crm = format!(
        r#"
[[destinations]]
name = "crm"
plugin = "braze"
redirect_outbound = "{mock}"
  [destinations.settings]
  api_key = "{SECRET}"
  endpoint = "https://rest.iad-01.braze.com"
"#,
        mock = mock.url(""),
    );
    config_with(dir, token_line, &format!("{crm}{}", chat(mock)))
}

/// A server that logs JSON lines.
async fn server(dir: &Path, mock: &Mock) -> Server {
    let line = "admin_token = \"${ADMIN_TOKEN}\"";
    let env = [("ADMIN_TOKEN", TOKEN), ("SWITCHYARD_LOG_FORMAT", "json")];
    start(&config(dir, mock, line), &env).await
}

/// The GET paths the description lists, with path parameters filled in.
fn documented_gets(spec: &Value) -> Vec<(String, String)> {
    spec["paths"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, item)| item.get("get").is_some())
        .map(|(template, _)| {
            // Subscriptions are read on `chat`, whose one subscription is written in the file.
            let name = if template.contains("{sub}") {
                "chat"
            } else {
                "crm"
            };
            let path = template
                .replace("{id}", "slack")
                .replace("{name}", name)
                .replace("{sub}", "Trips");
            (template.clone(), path)
        })
        .collect()
}

#[tokio::test]
async fn every_admin_call_needs_the_admin_token() {
    let mock = Mock::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut s = server(dir.path(), &mock).await;
    let admin = Client::new(&s.admin);
    let (_, _, spec) = admin.get("/admin/openapi.json", Some(TOKEN)).await;
    let paths = documented_gets(&spec);
    assert!(paths.len() >= 7, "{paths:?}");
    for (template, path) in &paths {
        let open = template == "/healthz" || template == "/readyz";
        let (none, _, body) = admin.get(path, None).await;
        let (wrong, _, _) = admin.get(path, Some("not-the-token-at-all")).await;
        let (right, _, _) = admin.get(path, Some(TOKEN)).await;
        if open {
            assert_eq!((none, wrong, right), (200, 200, 200), "{path}");
        } else {
            assert_eq!((none, wrong, right), (401, 401, 200), "{path}");
            assert!(body["error"].as_str().unwrap().contains("Bearer"), "{body}");
        }
    }
    // An unknown path says nothing without the token, and is a 404 with it.
    assert_eq!(admin.get("/admin/nothing-here", None).await.0, 401);
    assert_eq!(admin.get("/admin/nothing-here", Some(TOKEN)).await.0, 404);
    s.child.kill().await.unwrap();
}

/// Checks `value` against a JSON Schema subset (type, required, properties, items, $ref,
/// allOf), naming the place of the first mismatch.
fn check(spec: &Value, schema: &Value, value: &Value, at: &str) -> Result<(), String> {
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.trim_start_matches("#/components/schemas/");
        return check(spec, &spec["components"]["schemas"][name], value, at);
    }
    for part in schema["allOf"].as_array().into_iter().flatten() {
        check(spec, part, value, at)?;
    }
    let kind = |t: &str| match t {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "null" => value.is_null(),
        _ => false,
    };
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    if !types.is_empty() && !types.iter().any(|t| kind(t)) {
        return Err(format!("{at}: {value} is not {types:?}"));
    }
    for key in schema["required"].as_array().into_iter().flatten() {
        let key = key.as_str().unwrap();
        if value.get(key).is_none() {
            return Err(format!("{at}: missing {key:?} in {value}"));
        }
    }
    if let (Some(props), Some(object)) = (schema["properties"].as_object(), value.as_object()) {
        for (key, sub) in props {
            if let Some(v) = object.get(key) {
                check(spec, sub, v, &format!("{at}.{key}"))?;
            }
        }
    }
    if let (Some(items), Some(list)) = (schema.get("items"), value.as_array()) {
        for (i, v) in list.iter().enumerate() {
            check(spec, items, v, &format!("{at}[{i}]"))?;
        }
    }
    Ok(())
}

#[tokio::test]
async fn the_running_server_matches_its_openapi_description() {
    let mock = Mock::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut s = server(dir.path(), &mock).await;
    let admin = Client::new(&s.admin);
    let (status, content_type, spec) = admin.get("/admin/openapi.json", Some(TOKEN)).await;
    assert_eq!((status, content_type.as_str()), (200, "application/json"));
    assert_eq!(spec["openapi"], "3.1.0");
    for (template, path) in documented_gets(&spec) {
        let (status, _, body) = admin.get(&path, Some(TOKEN)).await;
        let operation = &spec["paths"][&template]["get"];
        let documented = &operation["responses"][status.to_string()];
        assert!(
            documented.is_object(),
            "{path} answered {status}, not documented"
        );
        let schema = &documented["content"]["application/json"]["schema"];
        check(&spec, schema, &body, &path).unwrap();
    }
    // Documented misses answer as documented.
    for (template, path) in [
        ("/admin/plugins/{id}", "/admin/plugins/hubspot"),
        ("/admin/destinations/{name}", "/admin/destinations/nope"),
    ] {
        let (status, _, body) = admin.get(path, Some(TOKEN)).await;
        assert_eq!(status, 404, "{path}");
        let documented = &spec["paths"][template]["get"]["responses"]["404"];
        let schema =
            &spec["components"]["responses"]["NotFound"]["content"]["application/json"]["schema"];
        assert!(documented.is_object());
        check(&spec, schema, &body, path).unwrap();
    }
    s.child.kill().await.unwrap();
}

#[tokio::test]
async fn admin_answers_describe_plugins_destinations_and_the_queue_without_secrets() {
    let mock = Mock::start().await;
    // The vendor is down: deliveries stay queued, for the queue view.
    mock.set_fallback(Some(Reply::new(503, "down")));
    let dir = tempfile::tempdir().unwrap();
    let mut s = server(dir.path(), &mock).await;
    let admin = Client::new(&s.admin);
    let ingest = Client::new(&s.ingest);
    for n in 0..3 {
        let event = json!({"type": "track", "event": "Trip Booked", "userId": format!("u-{n}"),
            "messageId": format!("m-{n}")});
        assert_eq!(
            ingest.post("/v1/track", Some("key-123"), event).await.0,
            200
        );
    }
    // A batch of other types (no subscription takes them), counted per type; the invalid
    // message is refused and not counted.
    let batch = json!({"batch": [
        {"type": "page", "name": "Pricing", "userId": "u-1"},
        {"type": "screen", "name": "Home", "userId": "u-1"},
        {"type": "page", "name": "Home", "userId": "u-2"},
        {"type": "page", "name": "Home"},
    ]});
    let (status, answer) = ingest.post("/v1/batch", Some("key-123"), batch).await;
    assert_eq!(status, 200);
    assert_eq!(answer["rejected"][0]["index"], 3, "{answer}");

    let (_, _, plugins) = admin.get("/admin/plugins", Some(TOKEN)).await;
    let slack = plugins["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == "slack")
        .unwrap();
    assert_eq!(slack["wit_version"], "0.3");
    assert_eq!(slack["actions"], json!(["postToChannel"]));
    assert_eq!(slack["hash"].as_str().unwrap().len(), 64);
    let (_, _, detail) = admin.get("/admin/plugins/braze", Some(TOKEN)).await;
    let secret_setting = detail["manifest"]["settings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["key"] == "api_key")
        .unwrap();
    assert_eq!(secret_setting["secret"], true);

    let (_, _, crm) = admin.get("/admin/destinations/crm", Some(TOKEN)).await;
    assert_eq!(crm["settings"]["api_key"], "***");
    assert_eq!(crm["settings"]["endpoint"], "https://rest.iad-01.braze.com");
    assert_eq!(crm["plugin"]["id"], "braze");
    let (_, _, chat) = admin.get("/admin/destinations/chat", Some(TOKEN)).await;
    assert_eq!(
        chat["subscriptions"],
        json!([{"name": "Trips", "trigger": "type = \"track\" and event = \"Trip Booked\"",
            "action": "postToChannel", "batch_size": null, "enabled": true, "use_defaults": true,
            "start_from": null, "mapping": {"url": "https://hooks.slack.com/services/T1/B2/C3",
                "text": {"@template": "{{userId}} booked"}}}])
    );

    // Each destination has the three events waiting (crm through Braze's track preset).
    let started = Instant::now();
    let queue = loop {
        let (_, _, queue) = admin.get("/admin/queue", Some(TOKEN)).await;
        let depths: Vec<(String, i64)> = queue["destinations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| {
                (
                    d["destination"].as_str().unwrap().to_string(),
                    d["depth"].as_i64().unwrap(),
                )
            })
            .collect();
        let want = [("chat".to_string(), 3), ("crm".to_string(), 3)];
        if depths == want || started.elapsed() > Duration::from_secs(10) {
            assert_eq!(depths, want, "{queue}");
            break queue;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    for d in queue["destinations"].as_array().unwrap() {
        assert!(d["oldest_age_ms"].as_i64().unwrap() >= 0, "{d}");
        assert_eq!(d["configured"], true);
        // Routed: nothing is behind in the event log, and nothing was lost.
        assert_eq!(d["log"]["behind"], 0, "{d}");
        assert_eq!(d["log"]["oldest_age_ms"], Value::Null, "{d}");
        assert_eq!(d["log"]["lost"], 0, "{d}");
    }

    // The secret is in no answer of the API.
    let (_, _, spec) = admin.get("/admin/openapi.json", Some(TOKEN)).await;
    for (_, path) in documented_gets(&spec) {
        let (_, _, body) = admin.get(&path, Some(TOKEN)).await;
        assert!(
            !body.to_string().contains(SECRET),
            "{path} shows the secret"
        );
    }
    // The metrics count what happened, and read the queue when scraped.
    let (status, content_type, metrics) = admin.get_text("/metrics", Some(TOKEN)).await;
    assert_eq!(status, 200);
    assert!(
        content_type.starts_with("application/openmetrics-text"),
        "{content_type}"
    );
    for line in [
        "switchyard_events_received_total{source=\"app\",type=\"track\"} 3",
        "switchyard_events_received_total{source=\"app\",type=\"page\"} 2",
        "switchyard_events_received_total{source=\"app\",type=\"screen\"} 1",
        "switchyard_queue_depth{destination=\"chat\"} 3",
        "switchyard_queue_depth{destination=\"crm\"} 3",
    ] {
        assert!(metrics.contains(line), "{line} not in:\n{metrics}");
    }
    assert!(
        metrics.contains(
            "switchyard_deliveries_total{destination=\"chat\",action=\"postToChannel\",outcome=\"retry\"}"
        ),
        "{metrics}"
    );
    assert!(
        metrics.contains("switchyard_invocation_seconds_count{plugin=\"slack\""),
        "{metrics}"
    );
    assert!(!metrics.contains(SECRET));
    assert_eq!(admin.get_text("/metrics", None).await.0, 401);

    // Logs are JSON lines with their fields; the secret is in none of them.
    let logs = s.logs.lock().unwrap().clone();
    let retry = logs
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|l| l["destination"] == "chat" && l["level"] == "INFO")
        .unwrap_or_else(|| panic!("no JSON line about chat in {logs:?}"));
    assert!(
        retry["message"].as_str().unwrap().contains("retrying"),
        "{retry}"
    );
    assert!(logs.iter().all(|l| !l.contains(SECRET)));

    let (status, _, ready) = admin.get("/readyz", None).await;
    assert_eq!(status, 200, "{ready}");
    assert_eq!(ready["queue"]["writable"], true);
    assert_eq!(ready["log_lost_events"], json!({}), "{ready}");
    s.child.kill().await.unwrap();
}

#[tokio::test]
async fn without_a_configured_token_one_is_made_and_kept_for_the_owner() {
    let mock = Mock::start().await;
    let dir = tempfile::tempdir().unwrap();
    let path = config(dir.path(), &mock, "");
    let mut first = start(&path, &[]).await;
    let file = dir.path().join("data").join("admin-token");
    let token = std::fs::read_to_string(&file).unwrap().trim().to_string();
    assert_eq!(token.len(), 48);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let admin = Client::new(&first.admin);
    assert_eq!(admin.get("/admin/plugins", Some(&token)).await.0, 200);
    first.child.kill().await.unwrap();
    let _ = first.child.wait().await;

    // The same token after a restart.
    let mut second = start(&path, &[]).await;
    let admin = Client::new(&second.admin);
    assert_eq!(admin.get("/admin/plugins", Some(&token)).await.0, 200);
    second.child.kill().await.unwrap();
}

#[tokio::test]
async fn sandbox_refusals_show_in_the_metrics() {
    let mock = Mock::start().await;
    let dir = tempfile::tempdir().unwrap();
    let destinations = format!(
        r#"
[[destinations]]
name = "no-requests"
plugin = "webhook"
allowed_hosts = ["https://hooks.example"]
redirect_outbound = "{mock}"
limits.max_requests = 0
  [[destinations.subscriptions]]
  name = "All"
  action = "send"
  trigger = 'type = "track"'
    [destinations.subscriptions.mapping]
    url = "https://hooks.example/in"

[[destinations]]
name = "stray"
plugin = "webhook"
  [[destinations.subscriptions]]
  name = "All"
  action = "send"
  trigger = 'type = "track"'
    [destinations.subscriptions.mapping]
    url = "https://elsewhere.example/in"
"#,
        mock = mock.url(""),
    );
    let token = format!("admin_token = \"{TOKEN}\"");
    let path = config_with(dir.path(), &token, &destinations);
    let mut s = start(&path, &[]).await;
    let ingest = Client::new(&s.ingest);
    let event = json!({"type": "track", "event": "Trip Booked", "userId": "u-1"});
    assert_eq!(
        ingest.post("/v1/track", Some("key-123"), event).await.0,
        200
    );
    let admin = Client::new(&s.admin);
    let want = [
        "switchyard_limit_breaches_total{plugin=\"webhook\",limit=\"requests\"}",
        "switchyard_denied_hosts_total{destination=\"stray\"}",
    ];
    let started = Instant::now();
    loop {
        let (_, _, metrics) = admin.get_text("/metrics", Some(TOKEN)).await;
        if want.iter().all(|w| metrics.contains(w)) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "{want:?} not in:\n{metrics}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(mock.received().is_empty(), "nothing got out");
    s.child.kill().await.unwrap();
}

#[tokio::test]
async fn testing_a_subscription_shows_the_match_the_payload_and_the_requests_without_sending() {
    let mock = Mock::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut s = server(dir.path(), &mock).await;
    let admin = Client::new(&s.admin);
    let test = |destination: &str, body: Value| {
        let path = format!("/admin/destinations/{destination}/test");
        let body = serde_json::to_vec(&body).unwrap();
        let admin = &admin;
        async move { admin.call("POST", &path, TOKEN, body).await }
    };
    let event = json!({"type": "track", "event": "Trip Booked", "userId": "u-9",
        "timestamp": "2026-11-29T08:00:00Z", "properties": {"fare": 420}});

    // The event is taken as given: without receivedAt, Braze's time field has no value.
    let (_, answer) = test(
        "crm",
        json!({"event": event, "subscription": "Track Calls"}),
    )
    .await;
    assert_eq!(
        answer["results"][0]["error"], "missing the required field 'time'",
        "{answer}"
    );
    let mut event = event;
    event["receivedAt"] = json!("2026-11-29T08:00:01Z");

    // Braze's presets: the track preset matches and would POST to /users/track.
    let (status, answer) = test("crm", json!({"event": event})).await;
    assert_eq!(status, 200, "{answer}");
    let results = answer["results"].as_array().unwrap();
    let track = results
        .iter()
        .find(|r| r["action"] == "trackEvent" && r["matched"] == true)
        .unwrap_or_else(|| panic!("{answer}"));
    assert_eq!(track["payload"]["name"], "Trip Booked", "{track}");
    assert_eq!(track["result"], "ok");
    let request = &track["requests"][0];
    assert_eq!(request["method"], "POST");
    assert_eq!(request["url"], "https://rest.iad-01.braze.com/users/track");
    assert!(!answer.to_string().contains(SECRET), "{answer}");
    assert!(
        results.iter().any(|r| r["matched"] == false),
        "the identify preset does not match a track: {answer}"
    );

    // One named subscription; an event its trigger does not take.
    let (_, answer) = test(
        "chat",
        json!({"subscription": "Trips", "event": {"type": "identify", "userId": "u-9"}}),
    )
    .await;
    assert_eq!(answer["results"][0]["matched"], false);
    assert!(answer["results"][0].get("requests").is_none());

    // Mistakes are named.
    let (status, answer) = test("chat", json!({"subscription": "Nope", "event": event})).await;
    assert_eq!(status, 404);
    assert!(
        answer["error"].as_str().unwrap().contains("it has: Trips"),
        "{answer}"
    );
    let (status, answer) = test("chat", json!({"event": "not an object"})).await;
    assert_eq!(status, 400, "{answer}");
    let (status, _) = test("nowhere", json!({"event": event})).await;
    assert_eq!(status, 404);

    // Nothing was sent.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(mock.received().is_empty(), "{:?}", mock.received());
    s.child.kill().await.unwrap();
}
