//! The console at scale: 100 destinations × 10 subscriptions and a delivery log of 1,000,000
//! entries (the log's default cap), served by the real `switchyard serve` binary and timed from
//! a client over loopback (so each figure includes the HTTP round trip):
//! - the overview (`GET /`), and the overview asked where an event goes;
//! - the editor's live preview (`POST …/subscriptions/preview`: trigger, mapping, field checks
//!   and a dry run of the webhook plugin in a fresh sandboxed instance);
//! - the events and deliveries pages, which read the log by message id and by time.
//!
//! The 24-hour counts on the overview come from memory, filled once from the log at startup; the
//! overview never reads the log. Targets (issue 17): overview ≤ 50 ms, preview ≤ 100 ms.
//!
//! `cargo bench -p switchyard --bench console` (the log is written once per run, ~10 s). No
//! request leaves the machine: the destinations send to 127.0.0.1:9, and no event the server
//! receives matches a subscription.

use criterion::{Criterion, criterion_group, criterion_main};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use switchyard::queue::sqlite;

const TOKEN: &str = "console-bench-admin-token";
const DESTINATIONS: usize = 100;
const SUBSCRIPTIONS: usize = 10;
const LOG_ENTRIES: i64 = 1_000_000;

fn config(dir: &std::path::Path) -> String {
    let mut text = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\nadmin_listen = \"127.0.0.1:0\"\n\
         data_dir = {:?}\nadmin_token = {TOKEN:?}\n\n[[sources]]\nname = \"app\"\n\
         write_key = \"bench-key\"\n",
        dir.join("data").display().to_string()
    );
    for d in 0..DESTINATIONS {
        text.push_str(&format!(
            "\n[[destinations]]\nname = \"d-{d}\"\nplugin = \"webhook\"\n\
             allowed_hosts = [\"https://hooks.example\"]\n\
             redirect_outbound = \"http://127.0.0.1:9\"\n"
        ));
        for s in 0..SUBSCRIPTIONS {
            let event = if s == 0 {
                "Trip Booked".to_string()
            } else {
                format!("Event {s}")
            };
            text.push_str(&format!(
                "  [[destinations.subscriptions]]\n  name = \"s-{s}\"\n  action = \"send\"\n  \
                 trigger = 'type = \"track\" and event = \"{event}\" and properties.total > {d}'\n    \
                 [destinations.subscriptions.mapping]\n    url = \"https://hooks.example/{d}/{s}\"\n    \
                 data = {{ email = {{ \"@path\" = \"$.traits.email\" }}, total = {{ \"@path\" = \
                 \"$.properties.total\" }}, trips = {{ \"@path\" = \"$.properties.trips\" }} }}\n"
            ));
        }
    }
    text
}

/// The delivery log, as delivery writes it: spread over the last 24 hours, every destination
/// and subscription, mostly delivered.
fn fill_log(data: &std::path::Path) {
    std::fs::create_dir_all(data).unwrap();
    let mut conn = sqlite::open(&sqlite::path_in(data)).unwrap();
    let now = switchyard::queue::now();
    let tx = conn.transaction().unwrap();
    {
        let mut insert = tx
            .prepare(
                "INSERT INTO attempts (at, source, destination, subscription, action, \
                 message_id, outcome, status, latency_ms, error, request) \
                 VALUES (?1, 'app', ?2, ?3, 'send', ?4, ?5, ?6, 42, ?7, ?8)",
            )
            .unwrap();
        for i in 0..LOG_ENTRIES {
            let d = i % DESTINATIONS as i64;
            let (outcome, status, error) = match i % 50 {
                0 => ("retry", 503, Some("HTTP 503: try later")),
                1 => ("dead-letter", 400, Some("HTTP 400: bad field")),
                _ => ("delivered", 200, None),
            };
            insert
                .execute(rusqlite::params![
                    now - 86_400_000 + i * 86_400_000 / LOG_ENTRIES,
                    format!("d-{d}"),
                    format!("s-{}", (i / DESTINATIONS as i64) % SUBSCRIPTIONS as i64),
                    format!("m-{i}"),
                    outcome,
                    status,
                    error,
                    format!("POST https://hooks.example/{d} → {status}"),
                ])
                .unwrap();
        }
    }
    tx.commit().unwrap();
}

struct Server {
    child: Child,
    ingest: String,
    admin: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(config: &std::path::Path) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .args(["serve", "--config"])
        .arg(config)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting switchyard serve");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut ingest = None;
    let address = |rest: &str| rest.split_whitespace().next().unwrap().to_string();
    let admin = loop {
        let line = lines
            .next()
            .expect("switchyard serve printed its addresses")
            .unwrap();
        if let Some(rest) = line.trim().strip_prefix("ingest API") {
            ingest = Some(address(rest));
        }
        if let Some(rest) = line.trim().strip_prefix("admin API") {
            break address(rest);
        }
    };
    std::thread::spawn(move || for _ in lines {});
    Server {
        child,
        ingest: ingest.expect("the ingest address is printed first"),
        admin,
    }
}

/// One keep-alive HTTP/1.1 connection.
struct Connection {
    stream: BufReader<TcpStream>,
    host: String,
}

impl Connection {
    fn open(base: &str) -> Connection {
        let host = base
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        let stream = TcpStream::connect(&host).unwrap();
        stream.set_nodelay(true).unwrap();
        Connection {
            stream: BufReader::new(stream),
            host,
        }
    }

    /// Sends a request; answers (status, headers, body).
    fn send(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> (u16, Vec<(String, String)>, Vec<u8>) {
        let mut request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Length: {}\r\n",
            self.host,
            body.len()
        );
        for (k, v) in headers {
            request.push_str(&format!("{k}: {v}\r\n"));
        }
        request.push_str("\r\n");
        let stream = self.stream.get_mut();
        stream.write_all(request.as_bytes()).unwrap();
        stream.write_all(body).unwrap();
        let mut line = String::new();
        self.stream.read_line(&mut line).unwrap();
        let status: u16 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
        let mut answer_headers = Vec::new();
        let mut length = 0;
        loop {
            line.clear();
            self.stream.read_line(&mut line).unwrap();
            let trimmed = line.trim_end();
            if trimmed.is_empty() {
                break;
            }
            let (k, v) = trimmed.split_once(':').unwrap();
            if k.eq_ignore_ascii_case("content-length") {
                length = v.trim().parse().unwrap();
            }
            answer_headers.push((k.to_ascii_lowercase(), v.trim().to_string()));
        }
        let mut body = vec![0; length];
        self.stream.read_exact(&mut body).unwrap();
        (status, answer_headers, body)
    }
}

fn form(pairs: &[(&str, &str)]) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

fn console(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let started = std::time::Instant::now();
    fill_log(&dir.path().join("data"));
    eprintln!("wrote {LOG_ENTRIES} log entries in {:?}", started.elapsed());
    let path = dir.path().join("switchyard.toml");
    std::fs::write(&path, config(dir.path())).unwrap();
    let server = start(&path);

    // Recent events that match no subscription (nothing is delivered).
    let mut ingest = Connection::open(&server.ingest);
    let auth = format!("Basic {}", base64_key());
    for i in 0..100 {
        let event = format!(
            r#"{{"userId":"u-{i}","event":"Page Scrolled","traits":{{"email":"u{i}@example.com"}},"properties":{{"total":{i},"trips":[{{"route":"LIS-JFK"}}]}}}}"#
        );
        let (status, _, _) = ingest.send(
            "POST",
            "/v1/track",
            &[
                ("Authorization", &auth),
                ("Content-Type", "application/json"),
            ],
            event.as_bytes(),
        );
        assert_eq!(status, 200);
    }

    let mut admin = Connection::open(&server.admin);
    let (status, headers, _) = admin.send(
        "POST",
        "/sign-in",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        format!("token={TOKEN}").as_bytes(),
    );
    assert_eq!(status, 303);
    let cookie = headers
        .iter()
        .find(|(k, _)| k == "set-cookie")
        .map(|(_, v)| v.split(';').next().unwrap().to_string())
        .unwrap();
    let get = |admin: &mut Connection, path: &str| {
        let (status, _, body) = admin.send("GET", path, &[("Cookie", &cookie)], b"");
        assert_eq!(status, 200, "{path}: {}", String::from_utf8_lossy(&body));
        body
    };
    let overview = get(&mut admin, "/");
    let text = String::from_utf8_lossy(&overview);
    assert!(
        text.contains("d-99"),
        "every destination is on the overview"
    );
    let csrf = {
        let at = text.find("name=\"csrf\" value=\"").unwrap() + 19;
        text[at..at + text[at..].find('"').unwrap()].to_string()
    };
    // The preview of d-50's first subscription on a pasted Trip Booked event.
    let pasted = r#"{"type":"track","userId":"ann","event":"Trip Booked","traits":{"email":"ann@example.com"},"properties":{"total":900,"trips":[{"route":"LIS-JFK","fare":600},{"route":"JFK-SFO","fare":300}]}}"#;
    let preview_body = form(&[
        ("csrf", &csrf),
        ("original", "s-0"),
        ("shown_action", "send"),
        ("action", "send"),
        ("name", "s-0"),
        ("trigger_mode", "builder"),
        ("trigger.kind", "track"),
        ("trigger.name", "Trip Booked"),
        ("trigger.any", "all"),
        ("condition.0.field", "properties.total"),
        ("condition.0.operator", "gt"),
        ("condition.0.value", "50"),
        ("mapping_mode", "rows"),
        ("field.url.kind", "literal"),
        ("field.url.value", "https://hooks.example/50/0"),
        ("field.method.kind", "literal"),
        ("field.method.value", "POST"),
        ("field.data.kind", "object"),
        ("field.data.part.0.key", "email"),
        ("field.data.part.0.kind", "path"),
        ("field.data.part.0.value", "traits.email"),
        ("field.data.part.1.key", "total"),
        ("field.data.part.1.kind", "path"),
        ("field.data.part.1.value", "properties.total"),
        ("event", "paste"),
        ("pasted", pasted),
        ("intent", "preview"),
    ]);
    let preview = |admin: &mut Connection| {
        let (status, _, body) = admin.send(
            "POST",
            "/destinations/d-50/subscriptions/preview",
            &[
                ("Cookie", &cookie),
                ("Content-Type", "application/x-www-form-urlencoded"),
            ],
            preview_body.as_bytes(),
        );
        assert_eq!(status, 200);
        body
    };
    let shown = String::from_utf8_lossy(&preview(&mut admin)).into_owned();
    assert!(
        shown.contains("https://hooks.example/50/0"),
        "the preview made the request: {shown}"
    );
    assert!(shown.contains("The trigger takes this event."), "{shown}");

    let mut group = c.benchmark_group("console");
    group
        .sample_size(30)
        .measurement_time(Duration::from_secs(8));
    group.bench_function("overview_100x10", |b| b.iter(|| get(&mut admin, "/")));
    group.bench_function("overview_where_does_trip_booked_go", |b| {
        b.iter(|| get(&mut admin, "/?event=Trip+Booked&field=traits.email"))
    });
    group.bench_function("live_preview_with_dry_run", |b| {
        b.iter(|| preview(&mut admin))
    });
    group.bench_function("events_page_1m_log", |b| {
        b.iter(|| get(&mut admin, "/events"))
    });
    group.bench_function("deliveries_page_1m_log", |b| {
        b.iter(|| get(&mut admin, "/deliveries?destination=d-7"))
    });
    group.finish();
    drop(server);
}

/// `bench-key:` as HTTP Basic credentials, as Segment's libraries send the write key.
fn base64_key() -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode("bench-key:")
}

criterion_group!(benches, console);
criterion_main!(benches);
