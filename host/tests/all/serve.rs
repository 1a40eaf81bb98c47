//! `switchyard serve` end to end: Segment's official Python and Node libraries send events to
//! the real server, whose Slack and webhook plugins deliver the mapped requests to a local mock server
//! through `redirect_outbound`.

use crate::mock::Mock;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};

/// The Segment library version the test installs from PyPI.
const SEGMENT_PYTHON: &str = "segment-analytics-python==2.4.0";
/// The Segment library version the test installs from npm.
const SEGMENT_NODE: &str = "@segment/analytics-node@3.1.0";

/// A virtualenv with Segment's Python library, made once per target folder.
fn python_with_segment() -> PathBuf {
    let venv = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("segment-python");
    let python = venv.join("bin").join("python");
    let ready = venv.join("installed");
    if std::fs::read_to_string(&ready).ok().as_deref() == Some(SEGMENT_PYTHON) {
        return python;
    }
    let status = std::process::Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .status()
        .expect("python3 is installed (.ci/run installs it)");
    assert!(status.success(), "python3 -m venv failed");
    let status = std::process::Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            SEGMENT_PYTHON,
        ])
        .status()
        .expect("running pip");
    assert!(status.success(), "pip install {SEGMENT_PYTHON} failed");
    std::fs::write(&ready, SEGMENT_PYTHON).unwrap();
    python
}

/// Starts `switchyard serve --config FILE` and returns it with its ingest address.
pub(crate) async fn start_server(config: &Path) -> (tokio::process::Child, String) {
    start_server_with(config, &[]).await
}

/// [`start_server`] with more environment variables for the configuration's `${NAME}`s.
pub(crate) async fn start_server_with(
    config: &Path,
    env: &[(&str, &str)],
) -> (tokio::process::Child, String) {
    let server = start(config, env).await;
    (server.child, server.ingest)
}

/// A running `switchyard serve`, with the addresses it printed.
pub(crate) struct Server {
    pub(crate) child: tokio::process::Child,
    pub(crate) ingest: String,
    pub(crate) admin: String,
    /// The lines the server has logged (stderr) so far.
    pub(crate) logs: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

/// Starts `switchyard serve --config FILE` with these environment variables.
pub(crate) async fn start(config: &Path, env: &[(&str, &str)]) -> Server {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .args(["serve", "--config"])
        .arg(config)
        .env("TEST_WRITE_KEY", "key-123")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("starting switchyard serve");
    // The server's log is read as it comes (a full pipe would stop the server) and shown
    // with the test's output when it fails.
    let mut log = BufReader::new(child.stderr.take().unwrap()).lines();
    let logs = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let kept = logs.clone();
    tokio::spawn(async move {
        while let Ok(Some(line)) = log.next_line().await {
            eprintln!("server: {line}");
            kept.lock().unwrap().push(line);
        }
    });
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let (ingest, admin) = tokio::time::timeout(Duration::from_secs(120), async {
        let mut ingest = None;
        while let Some(line) = lines.next_line().await.unwrap() {
            let address = |rest: &str| rest.split_whitespace().next().unwrap().to_string();
            if let Some(rest) = line.trim().strip_prefix("ingest API") {
                ingest = Some(address(rest));
            }
            if let Some(rest) = line.trim().strip_prefix("admin API") {
                let ingest = ingest.expect("the ingest address is printed first");
                return (ingest, address(rest));
            }
        }
        panic!("switchyard serve ended without printing its addresses");
    })
    .await
    .expect("switchyard serve starts within 2 minutes");
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Server {
        child,
        ingest,
        admin,
        logs,
    }
}

fn config(dir: &Path, mock: &Mock) -> PathBuf {
    let text = format!(
        r#"
[server]
listen = "127.0.0.1:0"
admin_listen = "127.0.0.1:0"
data_dir = "{data}"

[[sources]]
name = "app"
write_key = "${{TEST_WRITE_KEY}}"

[[destinations]]
name = "bookings"
plugin = "slack"
redirect_outbound = "{mock}"

  [[destinations.subscriptions]]
  name = "Trips"
  action = "postToChannel"
  trigger = 'type = "track" and event = "Trip Booked"'
    [destinations.subscriptions.mapping]
    url = "https://hooks.slack.com/services/T1/B2/C3"
    text = {{ "@template" = "{{{{userId}}}} booked a trip to {{{{properties.destination}}}}" }}

[[destinations]]
name = "audit"
plugin = "webhook"
allowed_hosts = ["https://audit.example"]
redirect_outbound = "{mock}/staging"

  [[destinations.subscriptions]]
  name = "People"
  action = "send"
  trigger = 'type = "identify"'
    [destinations.subscriptions.mapping]
    url = "https://audit.example/people?v=1"
    data = {{ "@path" = "$.traits" }}
"#,
        data = dir.join("data").display(),
        mock = mock.url(""),
    );
    let path = dir.join("switchyard.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread")]
async fn segment_python_library_to_slack_and_webhook() {
    let python = tokio::task::spawn_blocking(python_with_segment)
        .await
        .unwrap();
    client_delivers("Python", |address| {
        let script = format!(
            r#"
import sys
import segment.analytics as analytics
errors = []
analytics.write_key = "key-123"
analytics.host = "{address}"
analytics.gzip = True
analytics.sync_mode = True
analytics.on_error = lambda e, batch: errors.append(repr(e))
analytics.track("u-42", "Trip Booked", {{"destination": "Lisbon", "price": 129.5}})
analytics.track("u-42", "Page Scrolled", {{"depth": 3}})
analytics.identify("u-42", {{"email": "ada@example.com", "plan": "pro"}})
analytics.flush()
if errors:
    print(errors)
    sys.exit(1)
"#
        );
        let mut command = tokio::process::Command::new(&python);
        command.args(["-c", &script]);
        command
    })
    .await;
}

/// Starts the mock and the server, runs the client `client(address)` makes, then checks the
/// deliveries and that the server stops cleanly.
async fn client_delivers(name: &str, client: impl FnOnce(&str) -> tokio::process::Command) {
    let mock = Mock::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), &mock);
    let (mut server, address) = start_server(&config).await;
    let out = client(&address).output().await.unwrap();
    assert!(
        out.status.success(),
        "the {name} client failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    delivered_to_slack_and_webhook(&mock).await;
    stop(&mut server).await;
}

/// What the client's three events (a booked trip, an unrelated track, an identify) must
/// produce at the mock: the Slack message and the webhook call, nothing else.
async fn delivered_to_slack_and_webhook(mock: &Mock) {
    let received = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let got = mock.received();
            if got.len() >= 2 {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("both destinations deliver within 30 s");
    let slack = received
        .iter()
        .find(|r| r.path.starts_with("/services/"))
        .expect("slack");
    assert_eq!(slack.method, "POST");
    assert_eq!(slack.path, "/services/T1/B2/C3");
    assert_eq!(
        slack.header("x-switchyard-original-host"),
        Some("hooks.slack.com")
    );
    assert_eq!(slack.json()["text"], "u-42 booked a trip to Lisbon");
    let webhook = received
        .iter()
        .find(|r| r.path.starts_with("/staging"))
        .expect("webhook");
    assert_eq!(webhook.path, "/staging/people?v=1");
    assert_eq!(
        webhook.header("x-switchyard-original-host"),
        Some("audit.example")
    );
    assert_eq!(
        webhook.json(),
        json!({"email": "ada@example.com", "plan": "pro"})
    );

    // The other event matched no trigger: nothing more arrives.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(mock.received().len(), 2);
}

/// `@segment/analytics-node`, installed from npm once per target folder.
fn node_with_segment() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("segment-node");
    let ready = dir.join("installed");
    if std::fs::read_to_string(&ready).ok().as_deref() == Some(SEGMENT_NODE) {
        return dir;
    }
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("package.json"),
        r#"{"name": "switchyard-test", "private": true}"#,
    )
    .unwrap();
    let status = std::process::Command::new("npm")
        .args([
            "install",
            "--silent",
            "--no-audit",
            "--no-fund",
            SEGMENT_NODE,
        ])
        .current_dir(&dir)
        .status()
        .expect("npm is installed (.ci/run installs it)");
    assert!(status.success(), "npm install {SEGMENT_NODE} failed");
    std::fs::write(&ready, SEGMENT_NODE).unwrap();
    dir
}

#[tokio::test(flavor = "multi_thread")]
async fn segment_node_library_to_slack_and_webhook() {
    let dir_with_node = tokio::task::spawn_blocking(node_with_segment)
        .await
        .unwrap();
    client_delivers("Node", |address| {
        let script = format!(
            r#"
import {{ Analytics }} from '@segment/analytics-node'
const analytics = new Analytics({{ writeKey: 'key-123', host: '{address}', flushAt: 3 }})
analytics.on('error', (e) => {{ console.error(e); process.exitCode = 1 }})
analytics.track({{ userId: 'u-42', event: 'Trip Booked', properties: {{ destination: 'Lisbon' }} }})
analytics.track({{ userId: 'u-42', event: 'Page Scrolled', properties: {{ depth: 3 }} }})
analytics.identify({{ userId: 'u-42', traits: {{ email: 'ada@example.com', plan: 'pro' }} }})
await analytics.closeAndFlush()
"#
        );
        let path = dir_with_node.join("send.mjs");
        std::fs::write(&path, script).unwrap();
        let mut command = tokio::process::Command::new("node");
        command.arg(&path).current_dir(&dir_with_node);
        command
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn ingest_checks_requests_as_segment_does() {
    let mock = Mock::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), &mock);
    let (mut server, address) = start_server(&config).await;
    let client = reqwest_like::Client::new(&address);

    let (status, body) = client
        .post(
            "/v1/track",
            Some("nope"),
            json!({"userId": "u", "event": "e"}),
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("unknown write key"))
    );
    let (status, body) = client
        .post("/v1/track", None, json!({"userId": "u", "event": "e"}))
        .await;
    assert_eq!(status, 401, "{body}");
    let (status, body) = client
        .post("/v1/track", Some("key-123"), json!({"event": "e"}))
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("\"userId\" or \"anonymousId\" is required"))
    );
    let (status, body) = client
        .post(
            "/v1/batch",
            None,
            json!({"writeKey": "key-123", "batch": [
                {"type": "identify", "userId": "u", "traits": {"n": 1}},
                {"type": "track", "userId": "u"},
            ]}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        body["rejected"],
        json!([{"index": 1, "error": "track messages need \"event\", a non-empty string"}])
    );
    let (status, body) = client
        .raw("/v1/page", "key-123", b"{not json".to_vec())
        .await;
    assert_eq!(status, 400);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .starts_with("the body is not valid JSON"),
        "{body}"
    );
    let big = json!({"batch": [{"type": "track", "userId": "u", "event": "e",
        "properties": {"x": "y".repeat(600 * 1024)}}]});
    let (status, body) = client.post("/v1/batch", Some("key-123"), big).await;
    assert_eq!(status, 413, "{body}");
    assert_eq!(
        body["error"],
        "the request body is larger than 500 KB, the limit per request"
    );

    // The identify of the batch was delivered, enriched as Segment does.
    let delivered = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            if let Some(r) = mock.received().first() {
                return r.clone();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("delivered");
    assert_eq!(delivered.json(), json!({"n": 1}));
    stop(&mut server).await;
}

/// SIGTERM, then the server drains and exits 0.
pub(crate) async fn stop(server: &mut tokio::process::Child) {
    let pid = server.id().expect("running") as i32;
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = tokio::time::timeout(Duration::from_secs(20), server.wait())
        .await
        .expect("the server stops within 20 s")
        .unwrap();
    assert!(exit.success(), "{exit:?}");
}

/// A small HTTP client over hyper for the ingest checks.
pub(crate) mod reqwest_like {
    use base64::Engine;
    use http_body_util::{BodyExt, Full};
    use serde_json::Value;

    pub(crate) struct Client {
        base: String,
    }

    /// A body as JSON; `null` when it is not JSON.
    fn json(body: &[u8]) -> Value {
        serde_json::from_slice(body).unwrap_or(Value::Null)
    }

    impl Client {
        pub(crate) fn new(base: &str) -> Client {
            Client {
                base: base.to_string(),
            }
        }

        pub(crate) async fn post(
            &self,
            path: &str,
            key: Option<&str>,
            body: Value,
        ) -> (u16, Value) {
            self.send(path, key, serde_json::to_vec(&body).unwrap())
                .await
        }

        pub(crate) async fn raw(&self, path: &str, key: &str, body: Vec<u8>) -> (u16, Value) {
            self.send(path, Some(key), body).await
        }

        /// The status, or `None` when the server could not be reached or went away.
        pub(crate) async fn try_post(&self, path: &str, key: &str, body: Value) -> Option<u16> {
            let body = serde_json::to_vec(&body).unwrap();
            self.try_send(path, Some(key), body).await.map(|(s, _)| s)
        }

        async fn send(&self, path: &str, key: Option<&str>, body: Vec<u8>) -> (u16, Value) {
            self.try_send(path, key, body)
                .await
                .expect("the server answers")
        }

        async fn try_send(
            &self,
            path: &str,
            key: Option<&str>,
            body: Vec<u8>,
        ) -> Option<(u16, Value)> {
            let auth = key.map(|key| {
                let basic = base64::engine::general_purpose::STANDARD.encode(format!("{key}:"));
                format!("Basic {basic}")
            });
            self.request("POST", path, auth.as_deref(), body)
                .await
                .map(|(status, _, body)| (status, json(&body)))
        }

        /// A POST without a body, with a bearer token: the status and the body as JSON.
        pub(crate) async fn post_bearer(&self, path: &str, token: &str) -> (u16, Value) {
            self.call("POST", path, token, Vec::new()).await
        }

        /// Any method with a bearer token and a body: the status and the body as JSON.
        pub(crate) async fn call(
            &self,
            method: &str,
            path: &str,
            token: &str,
            body: Vec<u8>,
        ) -> (u16, Value) {
            let auth = format!("Bearer {token}");
            let (status, _, body) = self
                .request(method, path, Some(&auth), body)
                .await
                .expect("the server answers");
            (status, json(&body))
        }

        /// A GET with an optional bearer token: the status, the `content-type`, and the body
        /// as JSON (`null` when it is not JSON).
        pub(crate) async fn get(&self, path: &str, bearer: Option<&str>) -> (u16, String, Value) {
            let (status, content_type, body) = self.get_text(path, bearer).await;
            (status, content_type, json(body.as_bytes()))
        }

        /// A GET with an optional bearer token: the status, the `content-type` and the body.
        pub(crate) async fn get_text(
            &self,
            path: &str,
            bearer: Option<&str>,
        ) -> (u16, String, String) {
            let auth = bearer.map(|t| format!("Bearer {t}"));
            let (status, content_type, body) = self
                .request("GET", path, auth.as_deref(), Vec::new())
                .await
                .expect("the server answers");
            (
                status,
                content_type,
                String::from_utf8_lossy(&body).into_owned(),
            )
        }

        async fn request(
            &self,
            method: &str,
            path: &str,
            authorization: Option<&str>,
            body: Vec<u8>,
        ) -> Option<(u16, String, Vec<u8>)> {
            let url: hyper::Uri = format!("{}{path}", self.base).parse().unwrap();
            let stream =
                tokio::net::TcpStream::connect((url.host().unwrap(), url.port_u16().unwrap()))
                    .await
                    .ok()?;
            let (mut sender, conn) =
                hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                    .await
                    .ok()?;
            tokio::spawn(conn);
            let mut request = hyper::Request::builder()
                .method(method)
                .uri(path)
                .header("host", url.authority().unwrap().as_str())
                .header("content-type", "application/json");
            if let Some(auth) = authorization {
                request = request.header("authorization", auth);
            }
            let response = sender
                .send_request(request.body(Full::new(bytes::Bytes::from(body))).unwrap())
                .await
                .ok()?;
            let status = response.status().as_u16();
            let content_type = response
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string();
            let bytes = response.into_body().collect().await.ok()?.to_bytes();
            Some((status, content_type, bytes.to_vec()))
        }
    }
}

#[tokio::test]
async fn a_bad_configuration_is_refused_at_startup_with_every_problem() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(
        &path,
        format!(
            r#"[server]
data_dir = "{}"

[[destinations]]
name = "chat"
plugin = "slack"

  [[destinations.subscriptions]]
  name = "A"
  action = "postToChannel"
  trigger = 'type = "track" and'

  [[destinations.subscriptions]]
  name = "B"
  action = "postEverywhere"
  trigger = 'type = "track"'

  [[destinations.subscriptions]]
  name = "C"
  action = "postToChannel"
  trigger = 'type = "track"'
  mapping = {{ text = {{ "@case" = {{ "value" = "x" }} }} }}

[[destinations]]
name = "crm"
plugin = "hubspot"
"#,
            dir.path().join("data").display()
        ),
    )
    .unwrap();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .args(["serve", "--config"])
        .arg(&path)
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let file = path.display();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let expected = format!(
        "error: config file {file} line 4 (destination \"chat\"), subscription \"A\" (line 8): \
         trigger \"type = \\\"track\\\" and\" is not valid at column 19: expected a field such \
         as type, event or properties.name, found the end of the trigger\n\
         config file {file} line 4 (destination \"chat\"), subscription \"B\" (line 13): plugin \
         slack has no action \"postEverywhere\"; its actions are: postToChannel\n\
         config file {file} line 4 (destination \"chat\"), subscription \"C\" (line 18): \
         mapping: /text/@case should have field \"operator\" but it doesn't.\n\
         config file {file} line 24 (destination \"crm\"): unknown plugin \"hubspot\"; the \
         plugins are: amplitude, braze, customerio, facebook-conversions-api, fullstory, google-analytics-4, \
         google-enhanced-conversions, slack, tiktok-conversions, webhook\n"
    );
    assert_eq!(stderr, expected);
}
