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
pub mod shallow;

use axum::Router;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine;
use message::{Accepted, Received, Shared};
use serde_json::value::RawValue;
use serde_json::{Value, json};
use shallow::Shallow;
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
        events: Vec<Accepted>,
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
    let Ok(body) = std::str::from_utf8(&body) else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "the body is not valid JSON: it is not UTF-8 text",
        );
    };
    let (request, items) = match parse(body, batch) {
        Ok(parsed) => parsed,
        Err(e) => return refuse(StatusCode::BAD_REQUEST, e),
    };
    let source = match write_key(&headers, &request).map(|k| ingest.keys.get(&*k)) {
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
            .string("sentAt")
            .as_deref()
            .and_then(message::parse_time),
        ip: peer.ip(),
    };

    let mut accepted = Vec::with_capacity(items.len().max(1));
    let mut rejected = Vec::new();
    if batch {
        let shared_object = |key: &str| request.get(key).and_then(|text| Shallow::parse(text).ok());
        let shared = Shared {
            context: shared_object("context"),
            integrations: shared_object("integrations"),
        };
        for (i, item) in items.into_iter().enumerate() {
            let shallow::Item::Object(m) = item else {
                rejected.push(json!({"index": i, "error": "a message must be a JSON object"}));
                continue;
            };
            let size = m.text_len();
            match message::accept(m, None, size, &shared, &received) {
                Ok(m) => accepted.push(m),
                Err(e) => rejected.push(json!({"index": i, "error": e})),
            }
        }
    } else {
        let size = body.len();
        match message::accept(request, Some(&kind), size, &Shared::default(), &received) {
            Ok(m) => accepted.push(m),
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
        if let Some(i) = message::TYPES.iter().position(|t| *t == m.kind) {
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

/// The request object and, for a batch, its messages, borrowed from the body.
type Parsed<'a> = (Shallow<'a>, Vec<shallow::Item<'a>>);

/// The request object (one level deep) and, for a batch, its messages as received. The body
/// is read once: the messages are found in the same pass that reads the other keys, and are
/// borrowed rather than copied.
fn parse(body: &str, batch: bool) -> Result<Parsed<'_>, String> {
    let not_json = |e: serde_json::Error| format!("the body is not valid JSON: {e}");
    if !batch {
        return match Shallow::parse(body) {
            Ok(request) => Ok((request, Vec::new())),
            Err(shallow::NotObject::Syntax(e)) => Err(not_json(e)),
            Err(shallow::NotObject::Other) => Err("the body must be a JSON object".into()),
        };
    }
    let BatchBody { rest, batch } = match serde_json::from_str(body) {
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
struct Messages<'a>(Vec<shallow::Item<'a>>);

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
                while let Some(item) = seq.next_element::<shallow::Item<'de>>()? {
                    items.push(item);
                }
                Ok(Messages(items))
            }
        }
        d.deserialize_seq(Visit)
    }
}

/// A batch request: its messages, borrowed, and every other key one level deep.
struct BatchBody<'a> {
    rest: Shallow<'a>,
    batch: Option<Vec<shallow::Item<'a>>>,
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
                    rest: Shallow::default(),
                    batch: None,
                };
                while let Some(shallow::Key(key)) = map.next_key::<shallow::Key<'de>>()? {
                    if key == "batch" {
                        body.batch = Some(map.next_value::<Messages<'de>>()?.0);
                    } else {
                        let value = map.next_value::<&'de RawValue>()?;
                        body.rest.set(key, value.get());
                    }
                }
                Ok(body)
            }
        }
        d.deserialize_map(Visit)
    }
}

/// The write key: the HTTP Basic user name, else `writeKey` in the body.
fn write_key<'a>(headers: &HeaderMap, body: &'a Shallow<'_>) -> Option<std::borrow::Cow<'a, str>> {
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
    match basic {
        Some(user) => Some(std::borrow::Cow::Owned(user)),
        None => body.string("writeKey"),
    }
}

/// Reads the body with the size limit, decompressing gzip with the same limit.
async fn read_body(
    headers: &HeaderMap,
    body: axum::body::Body,
) -> Result<axum::body::Bytes, Response> {
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
        "identity" | "" => Ok(raw),
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
            Ok(out.into())
        }
        other => Err(refuse(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("Content-Encoding {other:?} is not supported; send identity or gzip"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::{parse, shallow};

    #[test]
    fn a_batch_is_read_in_one_pass_with_its_messages_borrowed() {
        let body = r#"{"writeKey": "k", "batch": [{"type": "track"}, {"a": "b\"c"}], "context": {"x": 1}}"#;
        let (rest, items) = parse(body, true).unwrap();
        assert_eq!(rest.string("writeKey").as_deref(), Some("k"));
        assert_eq!(rest.get("context"), Some(r#"{"x": 1}"#));
        let texts: Vec<String> = items
            .iter()
            .map(|item| match item {
                shallow::Item::Object(m) => m.to_text(),
                shallow::Item::Other => "other".into(),
            })
            .collect();
        assert_eq!(texts, [r#"{"type":"track"}"#, r#"{"a":"b\"c"}"#]);
    }

    #[test]
    fn a_bad_batch_is_refused_with_what_is_wrong() {
        for (body, said) in [
            (
                r#"{"batch": {"type": "track"}}"#,
                "\"batch\" must be an array of messages",
            ),
            (
                r#"{"batch": "x"}"#,
                "\"batch\" must be an array of messages",
            ),
            (r#"{"batch": []}"#, "\"batch\" is empty"),
            (r#"{"writeKey": "k"}"#, "\"batch\" is missing"),
            (r#"[1, 2]"#, "the body must be a JSON object"),
            (
                r#"{"batch": [{"type": "track"}, {"#,
                "the body is not valid JSON",
            ),
            (r#"{"batch": [{"type": }]}"#, "the body is not valid JSON"),
        ] {
            let e = parse(body, true).unwrap_err();
            assert!(e.starts_with(said), "{body}: {e}");
        }
    }
}
