//! The ingest API, compatible with Segment's HTTP tracking API so that Segment's client
//! libraries work unchanged: `POST /v1/{track,identify,page,screen,group,alias,batch,import}`.
//!
//! A request is authenticated by a source's write key (HTTP Basic user name, or `writeKey` in
//! the body), read with a size limit (gzip bodies are decompressed with the same limit), and
//! every message is checked ([`message`]). Accepted messages are handed to a [`Sink`] (in the
//! server: appended to the event log, `intake.rs`) all together or not at all, and the request
//! is answered `200` only once the sink has them safe. When the sink is busy or cannot store,
//! the answer is `503` with `Retry-After`, which Segment's clients retry, so nothing answered
//! `200` is ever dropped.
//!
//! In a batch, messages that fail their checks are left out and listed in the answer
//! (`{"success": true, "rejected": [{"index": 3, "error": …}]}`); the rest are accepted, since
//! a client cannot do better with a batch than resend it whole. A request where nothing is
//! acceptable is a `400`.

pub mod intake;
pub mod message;

use axum::Router;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine;
use message::Received;
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};
use std::future::Future;
use std::io::Read;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

/// Largest request body, before and after decompression, as Segment allows for a batch.
pub const MAX_BODY_BYTES: usize = 500 * 1024;

/// Where accepted events go.
pub trait Sink: Send + Sync + 'static {
    /// Takes a request's accepted events (all or none); answers once they are safe.
    fn take(
        &self,
        source: Arc<str>,
        events: Vec<Value>,
    ) -> Pin<Box<dyn Future<Output = Result<(), Refusal>> + Send + '_>>;
}

/// Why a sink did not take events.
#[derive(Debug, Clone)]
pub enum Refusal {
    /// Too much is waiting; the client should retry shortly.
    Busy,
    /// The events cannot be stored now (the reason is logged, not sent to the client).
    Unavailable(String),
}

/// What the ingest endpoints share.
pub struct Ingest {
    /// Write key → source name.
    keys: std::collections::HashMap<String, Arc<str>>,
    sink: Arc<dyn Sink>,
}

impl Ingest {
    pub fn new(sources: &[crate::config::Source], sink: Arc<dyn Sink>) -> Ingest {
        let keys = sources
            .iter()
            .map(|s| (s.write_key.clone(), Arc::from(s.name.as_str())))
            .collect();
        Ingest { keys, sink }
    }
}

/// The ingest routes.
pub fn router(ingest: Arc<Ingest>) -> Router {
    Router::new()
        .route("/v1/{kind}", post(receive))
        .fallback(|| async {
            refuse(
                StatusCode::NOT_FOUND,
                "no such endpoint; events go to POST /v1/track, /v1/identify, /v1/page, \
                 /v1/screen, /v1/group, /v1/alias or /v1/batch",
            )
        })
        .with_state(ingest)
}

fn refuse(status: StatusCode, message: impl Into<String>) -> Response {
    crate::metrics::ingest_refused(match status {
        StatusCode::BAD_REQUEST => "bad-request",
        StatusCode::UNAUTHORIZED => "unauthorized",
        StatusCode::NOT_FOUND => "not-found",
        StatusCode::PAYLOAD_TOO_LARGE => "too-large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported-media-type",
        StatusCode::SERVICE_UNAVAILABLE => "unavailable",
        _ => "other",
    });
    let body = json!({"success": false, "error": message.into()});
    (status, axum::Json(body)).into_response()
}

async fn receive(
    State(ingest): State<Arc<Ingest>>,
    Path(kind): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    let batch = matches!(kind.as_str(), "batch" | "import");
    if !batch && !message::TYPES.contains(&kind.as_str()) {
        return refuse(
            StatusCode::NOT_FOUND,
            format!(
                "no such endpoint /v1/{kind}; the types are {}, batch and import",
                message::TYPES.join(", ")
            ),
        );
    }
    let body = match read_body(&headers, body).await {
        Ok(b) => b,
        Err(response) => return response,
    };
    let (mut request, items) = match parse(&body, batch) {
        Ok(parsed) => parsed,
        Err(e) => return refuse(StatusCode::BAD_REQUEST, e),
    };
    let source = match write_key(&headers, &request).map(|k| ingest.keys.get(&k)) {
        Some(Some(source)) => source.clone(),
        Some(None) => return refuse(StatusCode::UNAUTHORIZED, "unknown write key"),
        None => {
            return refuse(
                StatusCode::UNAUTHORIZED,
                "no write key: send it as the HTTP Basic user name, or as \"writeKey\" in the body",
            );
        }
    };
    let received = Received {
        at: time::OffsetDateTime::now_utc(),
        sent_at: request
            .get("sentAt")
            .and_then(Value::as_str)
            .and_then(message::parse_time),
        ip: peer.ip(),
    };

    let mut accepted = Vec::new();
    let mut rejected = Vec::new();
    if batch {
        let shared_context = request.get("context").and_then(Value::as_object).cloned();
        let shared_integrations = request
            .get("integrations")
            .and_then(Value::as_object)
            .cloned();
        for (i, item) in items.into_iter().enumerate() {
            let size = item.get().len();
            let Ok(Value::Object(mut m)) = serde_json::from_str::<Value>(item.get()) else {
                rejected.push(json!({"index": i, "error": "a message must be a JSON object"}));
                continue;
            };
            inherit(&mut m, "context", shared_context.as_ref());
            inherit(&mut m, "integrations", shared_integrations.as_ref());
            match message::accept(m, None, size, &received) {
                Ok(m) => accepted.push(Value::Object(m)),
                Err(e) => rejected.push(json!({"index": i, "error": e})),
            }
        }
    } else {
        let size = body.len();
        match message::accept(std::mem::take(&mut request), Some(&kind), size, &received) {
            Ok(m) => accepted.push(Value::Object(m)),
            Err(e) => return refuse(StatusCode::BAD_REQUEST, e),
        }
    }
    for _ in &rejected {
        crate::metrics::ingest_refused("invalid-message");
    }
    if accepted.is_empty() {
        crate::metrics::ingest_refused("bad-request");
        let body = json!({"success": false, "error": "no message in the batch is valid", "rejected": rejected});
        return (StatusCode::BAD_REQUEST, axum::Json(body)).into_response();
    }
    if !rejected.is_empty() {
        tracing::warn!(source = %source, rejected = rejected.len(), "Some messages of a batch were refused.");
    }

    // Counted per type (every accepted message has one of `TYPES`), so the metric is touched
    // once per type and request rather than once per event.
    let mut kinds = [0u64; message::TYPES.len()];
    for m in &accepted {
        let kind = m["type"].as_str().unwrap_or_default();
        if let Some(i) = message::TYPES.iter().position(|t| *t == kind) {
            kinds[i] += 1;
        }
    }
    // All or nothing: a client resends the whole request when told to retry.
    match ingest.sink.take(source.clone(), accepted).await {
        Ok(()) => {
            for (kind, n) in message::TYPES.iter().zip(kinds) {
                if n > 0 {
                    crate::metrics::events_received(&source, kind, n);
                }
            }
        }
        Err(Refusal::Busy) => return busy("the server is busy; retry shortly"),
        Err(Refusal::Unavailable(reason)) => {
            tracing::error!(source = %source, "Events refused: they cannot be stored: {reason}");
            return busy("the server cannot store events right now; retry later");
        }
    }
    let mut answer = json!({"success": true});
    if !rejected.is_empty() {
        answer["rejected"] = Value::Array(rejected);
    }
    axum::Json(answer).into_response()
}

/// `503` with `Retry-After`: Segment's clients send the request again.
fn busy(message: &str) -> Response {
    let mut response = refuse(StatusCode::SERVICE_UNAVAILABLE, message);
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
    response
}

/// The request object, and a batch's messages as received, borrowed from the body.
type Parsed<'a> = (Map<String, Value>, Vec<&'a RawValue>);

/// The request object and, for a batch, its messages as received (their text gives their
/// size without writing them out again). The body is read once: the messages are found in the
/// same pass that reads the other keys, and are borrowed rather than copied.
fn parse(body: &[u8], batch: bool) -> Result<Parsed<'_>, String> {
    let not_json = |e: serde_json::Error| format!("the body is not valid JSON: {e}");
    if !batch {
        return match serde_json::from_slice(body).map_err(not_json)? {
            Value::Object(m) => Ok((m, Vec::new())),
            _ => Err("the body must be a JSON object".into()),
        };
    }
    let BatchBody { rest, batch } = match serde_json::from_slice(body) {
        Ok(b) => b,
        Err(e) if e.is_data() => {
            let text = e.to_string();
            return Err(if text.contains(BATCH_NOT_ARRAY) {
                "\"batch\" must be an array of messages".into()
            } else {
                "the body must be a JSON object".into()
            });
        }
        Err(e) => return Err(not_json(e)),
    };
    match batch {
        Some(items) if items.is_empty() => Err("\"batch\" is empty".into()),
        Some(items) => Ok((rest, items)),
        None => Err("\"batch\" is missing: a batch is {\"batch\": [messages]}".into()),
    }
}

/// What a type error says when `batch` is not an array (a syntax error stays one).
const BATCH_NOT_ARRAY: &str = "an array of messages";

/// The messages of a batch, borrowed from the body.
struct Messages<'a>(Vec<&'a RawValue>);

impl<'de> serde::Deserialize<'de> for Messages<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Messages<'de>;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str(BATCH_NOT_ARRAY)
            }

            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Self::Value, A::Error> {
                let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
                while let Some(item) = seq.next_element::<&'de RawValue>()? {
                    items.push(item);
                }
                Ok(Messages(items))
            }
        }
        d.deserialize_seq(Visit)
    }
}

/// A batch request: its messages, borrowed, and every other key parsed.
struct BatchBody<'a> {
    rest: Map<String, Value>,
    batch: Option<Vec<&'a RawValue>>,
}

impl<'de> serde::Deserialize<'de> for BatchBody<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = BatchBody<'de>;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Self::Value, A::Error> {
                let mut body = BatchBody {
                    rest: Map::new(),
                    batch: None,
                };
                while let Some(key) = map.next_key::<String>()? {
                    if key == "batch" {
                        body.batch = Some(map.next_value::<Messages<'de>>()?.0);
                    } else {
                        let value = map.next_value::<Value>()?;
                        body.rest.insert(key, value);
                    }
                }
                Ok(body)
            }
        }
        d.deserialize_map(Visit)
    }
}

/// A batch's `context` and `integrations` apply to each message; the message's own keys win.
fn inherit(message: &mut Map<String, Value>, key: &str, shared: Option<&Map<String, Value>>) {
    let Some(shared) = shared else { return };
    match message.get_mut(key) {
        Some(Value::Object(own)) => {
            for (k, v) in shared {
                own.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
        Some(_) => {}
        None => {
            message.insert(key.into(), Value::Object(shared.clone()));
        }
    }
}

/// The write key: the HTTP Basic user name, else `writeKey` in the body.
fn write_key(headers: &HeaderMap, body: &Map<String, Value>) -> Option<String> {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Basic ")
                .or_else(|| v.strip_prefix("basic "))
        })
        .and_then(|b| {
            base64::engine::general_purpose::STANDARD
                .decode(b.trim())
                .ok()
        })
        .and_then(|b| String::from_utf8(b).ok())
        .map(|userpass| userpass.split(':').next().unwrap_or("").to_string())
        .filter(|user| !user.is_empty());
    basic.or_else(|| {
        body.get("writeKey")
            .and_then(Value::as_str)
            .map(str::to_string)
    })
}

/// Reads the body with the size limit, decompressing gzip with the same limit.
async fn read_body(headers: &HeaderMap, body: axum::body::Body) -> Result<Vec<u8>, Response> {
    let too_large = || {
        refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "the request body is larger than {} KB, the limit per request",
                MAX_BODY_BYTES / 1024
            ),
        )
    };
    let raw = axum::body::to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|_| too_large())?;
    let encoding = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("identity")
        .trim()
        .to_ascii_lowercase();
    match encoding.as_str() {
        "identity" | "" => Ok(raw.to_vec()),
        "gzip" | "x-gzip" => {
            let mut out = Vec::new();
            let mut decoder =
                flate2::read::GzDecoder::new(&raw[..]).take(MAX_BODY_BYTES as u64 + 1);
            decoder.read_to_end(&mut out).map_err(|e| {
                refuse(
                    StatusCode::BAD_REQUEST,
                    format!("the body is not valid gzip: {e}"),
                )
            })?;
            if out.len() > MAX_BODY_BYTES {
                return Err(too_large());
            }
            Ok(out)
        }
        other => Err(refuse(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("Content-Encoding {other:?} is not supported; send identity or gzip"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn a_batch_is_read_in_one_pass_with_its_messages_borrowed() {
        let body = br#"{"writeKey": "k", "batch": [{"type": "track"}, {"a": "b\"c"}], "context": {"x": 1}}"#;
        let (rest, items) = parse(body, true).unwrap();
        assert_eq!(rest["writeKey"], "k");
        assert_eq!(rest["context"]["x"], 1);
        let texts: Vec<&str> = items.iter().map(|r| r.get()).collect();
        assert_eq!(texts, [r#"{"type": "track"}"#, r#"{"a": "b\"c"}"#]);
    }

    #[test]
    fn a_bad_batch_is_refused_with_what_is_wrong() {
        for (body, said) in [
            (
                &br#"{"batch": {"type": "track"}}"#[..],
                "\"batch\" must be an array of messages",
            ),
            (
                br#"{"batch": "x"}"#,
                "\"batch\" must be an array of messages",
            ),
            (br#"{"batch": []}"#, "\"batch\" is empty"),
            (br#"{"writeKey": "k"}"#, "\"batch\" is missing"),
            (br#"[1, 2]"#, "the body must be a JSON object"),
            (
                br#"{"batch": [{"type": "track"}, {"#,
                "the body is not valid JSON",
            ),
            (br#"{"batch": [{"type": }]}"#, "the body is not valid JSON"),
        ] {
            let e = parse(body, true).unwrap_err();
            assert!(
                e.starts_with(said),
                "{}: {e}",
                String::from_utf8_lossy(body)
            );
        }
    }
}
