//! Outbound HTTP for plugins: the `wasi:http` hooks that enforce the network policy, count and
//! record requests, and either send them or (dry run) answer them from a script.
//!
//! Checks, in order, for every request: the per-invocation request budget, the allow-list
//! (scheme, host, port), then, when really sending, the addresses the host resolves to (loopback,
//! private and link-local are refused unless the operator allows them). We connect to exactly the
//! address we checked, so DNS rebinding between check and connect cannot slip through. Response
//! bodies are cut off at the size limit. Connections are kept alive and reused ([`pool`]), keyed
//! by scheme, host, port and the private-address permission, so reuse never skips a check.
//! Every breach is recorded in the invocation's [`Breach`]
//! and the guest sees `HTTP-request-denied` (or a body error), so the host can report the real
//! reason whatever the plugin does with the error.

use super::allow::{AllowList, default_port, restricted_class};
use super::failure::{Failure, Limit};
use super::limits::Breach;
use super::pool::{self, Pool};
use bytes::Bytes;
use http_body::{Body, Frame};
use http_body_util::{BodyExt, Full};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, VecDeque};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use wasmtime_wasi_http::{Error as HttpError, RequestOptions, WasiBody, WasiHttpHooks};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Where outbound requests go.
#[derive(Debug, Clone, Default)]
pub enum Mode {
    /// Send them to the network.
    #[default]
    Send,
    /// Capture them and answer each from the script (dry run).
    DryRun(Responder),
    /// Send every request to this base URL instead (staging, tests), keeping its path and
    /// query, with the original host in `x-switchyard-original-host` and the plugin version
    /// that made it in `x-switchyard-plugin` (`id@version#hash`). The operator chose the
    /// address, so it may be private.
    Redirect(url::Url),
}

/// Network policy for one destination.
#[derive(Debug, Clone, Default)]
pub struct NetPolicy {
    pub allowed: AllowList,
    /// Allow loopback, private and link-local addresses (tests, staging, internal webhooks).
    pub allow_private: bool,
    pub mode: Mode,
}

/// A scripted answer for a dry run.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CannedResponse {
    #[serde(default = "ok_status")]
    pub status: u16,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// A string is sent as it is; any other JSON value is sent as JSON.
    #[serde(default = "empty_object")]
    pub body: Value,
}

fn ok_status() -> u16 {
    200
}

fn empty_object() -> Value {
    Value::Object(Default::default())
}

impl Default for CannedResponse {
    fn default() -> Self {
        CannedResponse {
            status: 200,
            headers: BTreeMap::new(),
            body: empty_object(),
        }
    }
}

/// Answers dry-run requests in order from a script, then with `200 {}` once it runs out.
#[derive(Debug, Clone, Default)]
pub struct Responder(Arc<Mutex<VecDeque<CannedResponse>>>);

impl Responder {
    pub fn new(script: Vec<CannedResponse>) -> Responder {
        Responder(Arc::new(Mutex::new(script.into())))
    }

    fn next(&self) -> CannedResponse {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop_front()
            .unwrap_or_default()
    }
}

/// One request a plugin made, as shown to operators and plugin authors.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Exchange {
    pub method: String,
    pub url: String,
    pub headers: BTreeMap<String, String>,
    /// JSON when the body parses as JSON, else text; `null` when empty.
    pub body: Value,
    /// The status answered, or `None` when the request failed or was refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The `wasi:http` hooks of one invocation.
pub(crate) struct Outbound {
    policy: Arc<NetPolicy>,
    breach: Breach,
    sent: u32,
    max_requests: u32,
    max_response_bytes: u64,
    pub(crate) exchanges: Arc<Mutex<Vec<Exchange>>>,
    /// Which plugin version makes the requests (`id@version#hash`), shown on redirected ones.
    pub(crate) plugin: Arc<str>,
    /// The runtime's kept-alive connections.
    pool: Pool,
}

impl Outbound {
    pub(crate) fn new(
        policy: Arc<NetPolicy>,
        breach: Breach,
        max_requests: u32,
        max_response_bytes: u64,
        pool: Pool,
    ) -> Outbound {
        Outbound {
            pool,
            policy,
            breach,
            sent: 0,
            max_requests,
            max_response_bytes,
            exchanges: Arc::default(),
            plugin: Arc::from(""),
        }
    }

    /// A new request budget and record, for benchmarks that reuse one instance for many calls.
    #[cfg(feature = "bench")]
    pub(crate) fn start_over(&mut self) {
        self.sent = 0;
        self.exchanges
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    fn deny(&self, failure: Failure) -> SendFuture {
        self.breach.record(failure);
        Box::new(async { Err(HttpError::HttpRequestDenied) })
    }
}

type SendFuture = Box<
    dyn Future<
            Output = Result<
                (
                    http::Response<WasiBody>,
                    Box<dyn Future<Output = Result<(), HttpError>> + Send>,
                ),
                HttpError,
            >,
        > + Send,
>;

impl WasiHttpHooks for Outbound {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        _options: Option<RequestOptions>,
        _fut: Box<dyn Future<Output = Result<(), HttpError>> + Send>,
    ) -> SendFuture {
        self.sent += 1;
        if self.sent > self.max_requests {
            return self.deny(Failure::LimitExceeded(Limit::Requests(self.max_requests)));
        }
        let uri = request.uri();
        let scheme = uri.scheme_str().unwrap_or("https").to_ascii_lowercase();
        let Some(host) = uri.host().map(str::to_ascii_lowercase) else {
            return Box::new(async { Err(HttpError::HttpRequestUriInvalid) });
        };
        let port = uri
            .port_u16()
            .or_else(|| default_port(&scheme))
            .unwrap_or(0);
        if !self.policy.allowed.allows(&scheme, &host, port) {
            let shown = match uri.port_u16() {
                Some(p) => format!("{host}:{p}"),
                None => host,
            };
            return self.deny(Failure::HostDenied { host: shown });
        }
        let target = Target { host, port };
        let policy = self.policy.clone();
        let breach = self.breach.clone();
        let exchanges = self.exchanges.clone();
        let limit = self.max_response_bytes;
        let plugin = self.plugin.clone();
        let pool = self.pool.clone();
        Box::new(async move {
            let (parts, body) = request.into_parts();
            let body = body.collect().await?.to_bytes();
            let index = record(&exchanges, &parts, &body);
            let answer = match &policy.mode {
                Mode::DryRun(responder) => {
                    match literal_restricted(&target.host, policy.allow_private) {
                        Some(failure) => {
                            breach.record(failure);
                            Err(HttpError::DestinationIpProhibited)
                        }
                        None => Ok(canned(responder.next())),
                    }
                }
                Mode::Send => {
                    send(
                        http::Request::from_parts(parts, Full::new(body)),
                        &target,
                        policy.allow_private,
                        &breach,
                        &pool,
                    )
                    .await
                }
                Mode::Redirect(base) => match redirect(parts, base) {
                    Ok((mut parts, target)) => {
                        if let Ok(value) = http::HeaderValue::from_str(&plugin) {
                            parts.headers.insert("x-switchyard-plugin", value);
                        }
                        let request = http::Request::from_parts(parts, Full::new(body));
                        send(request, &target, true, &breach, &pool).await
                    }
                    Err(e) => Err(e),
                },
            };
            let mut exchanges = exchanges.lock().unwrap_or_else(|e| e.into_inner());
            match answer {
                Ok(response) => {
                    exchanges[index].status = Some(response.status().as_u16());
                    let response = response.map(|body| {
                        LimitedBody {
                            inner: body,
                            seen: 0,
                            limit,
                            breach,
                        }
                        .boxed_unsync()
                    });
                    let io: Box<dyn Future<Output = Result<(), HttpError>> + Send> =
                        Box::new(async { Ok(()) });
                    Ok((response, io))
                }
                Err(e) => {
                    exchanges[index].error = Some(e.to_string());
                    Err(e)
                }
            }
        })
    }
}

struct Target {
    host: String,
    port: u16,
}

fn record(exchanges: &Mutex<Vec<Exchange>>, parts: &http::request::Parts, body: &Bytes) -> usize {
    let mut headers = BTreeMap::new();
    for (name, value) in &parts.headers {
        if name == http::header::HOST {
            continue;
        }
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        headers
            .entry(name.as_str().to_string())
            .and_modify(|v: &mut String| {
                v.push_str(", ");
                v.push_str(&value);
            })
            .or_insert(value);
    }
    let body = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()))
    };
    let mut exchanges = exchanges.lock().unwrap_or_else(|e| e.into_inner());
    exchanges.push(Exchange {
        method: parts.method.to_string(),
        url: parts.uri.to_string(),
        headers,
        body,
        status: None,
        error: None,
    });
    exchanges.len() - 1
}

/// In a dry run nothing is resolved, but a literal restricted address or `localhost` is still
/// refused, so a dry run shows the same denial a real send would.
fn literal_restricted(host: &str, allow_private: bool) -> Option<Failure> {
    if allow_private {
        return None;
    }
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let (address, class) = if bare == "localhost" || bare.ends_with(".localhost") {
        ("127.0.0.1".to_string(), "loopback")
    } else {
        let ip: std::net::IpAddr = bare.parse().ok()?;
        (ip.to_string(), restricted_class(ip)?)
    };
    Some(Failure::AddressDenied {
        host: host.to_string(),
        address,
        class,
    })
}

fn canned(answer: CannedResponse) -> http::Response<WasiBody> {
    let is_text = answer.body.is_string();
    let body = match answer.body {
        Value::String(text) => Bytes::from(text),
        other => Bytes::from(other.to_string()),
    };
    let mut builder = http::Response::builder().status(answer.status);
    let has_content_type = answer
        .headers
        .keys()
        .any(|k| k.eq_ignore_ascii_case("content-type"));
    for (name, value) in &answer.headers {
        builder = builder.header(name, value);
    }
    if !has_content_type {
        let kind = if is_text {
            "text/plain"
        } else {
            "application/json"
        };
        builder = builder.header(http::header::CONTENT_TYPE, kind);
    }
    builder
        .body(
            Full::new(body)
                .map_err(|never| match never {})
                .boxed_unsync(),
        )
        .unwrap_or_else(|_| {
            http::Response::builder()
                .status(500)
                .body(
                    Full::new(Bytes::new())
                        .map_err(|n| match n {})
                        .boxed_unsync(),
                )
                .expect("a bare 500 response is valid")
        })
}

/// Resolves, checks every address, connects to a checked one, and sends.
/// The request sent to `base` instead: same method, headers and body; base path + the
/// original path and query; the original host in `x-switchyard-original-host`.
fn redirect(
    mut parts: http::request::Parts,
    base: &url::Url,
) -> Result<(http::request::Parts, Target), HttpError> {
    let original = parts
        .uri
        .authority()
        .map(|a| a.as_str().to_string())
        .unwrap_or_default();
    let prefix = base.path().trim_end_matches('/');
    let rest = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let host = base.host_str().ok_or(HttpError::HttpRequestUriInvalid)?;
    let port = base.port_or_known_default().unwrap_or(80);
    let authority = match base.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_string(),
    };
    parts.uri = http::Uri::builder()
        .scheme(base.scheme())
        .authority(authority.as_str())
        .path_and_query(format!("{prefix}{rest}"))
        .build()
        .map_err(|_| HttpError::HttpRequestUriInvalid)?;
    if let Ok(value) = http::HeaderValue::from_str(&original) {
        parts.headers.insert("x-switchyard-original-host", value);
    }
    parts.headers.insert(
        http::header::HOST,
        http::HeaderValue::from_str(&authority).map_err(|_| HttpError::HttpRequestUriInvalid)?,
    );
    let target = Target {
        host: host.to_ascii_lowercase(),
        port,
    };
    Ok((parts, target))
}

async fn send(
    request: http::Request<Full<Bytes>>,
    target: &Target,
    allow_private: bool,
    breach: &Breach,
    pool: &Pool,
) -> Result<http::Response<WasiBody>, HttpError> {
    let https = request.uri().scheme() == Some(&http::uri::Scheme::HTTPS);
    let (mut parts, body) = request.into_parts();
    // Connections carry only the path and query; the Host header names the host.
    parts.uri = http::Uri::builder()
        .path_and_query(parts.uri.path_and_query().map_or("/", |p| p.as_str()))
        .build()
        .map_err(|_| HttpError::HttpRequestUriInvalid)?;
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let key = pool::Key {
        https,
        host: target.host.clone(),
        port: target.port,
        allow_private,
    };
    let copy = |parts: &http::request::Parts| {
        let mut request = http::Request::new(Full::new(body.clone()));
        *request.method_mut() = parts.method.clone();
        *request.uri_mut() = parts.uri.clone();
        *request.headers_mut() = parts.headers.clone();
        request
    };
    // A kept-alive connection first; if the server closed it meanwhile, a new one.
    if let Some(mut sender) = pool.take(&key) {
        match sender.send_request(copy(&parts)).await {
            Ok(response) => {
                pool.keep(key, sender);
                return Ok(response.map(|b| b.map_err(HttpError::from).boxed_unsync()));
            }
            Err(e) if e.is_canceled() || e.is_closed() || e.is_incomplete_message() => {}
            Err(e) => return Err(e.into()),
        }
    }
    let mut sender = connect(target, https, allow_private, breach).await?;
    let response = sender.send_request(copy(&parts)).await?;
    pool.keep(key, sender);
    Ok(response.map(|b| b.map_err(HttpError::from).boxed_unsync()))
}

/// Resolves, checks every address, connects to a checked one (TLS for https) and shakes hands.
async fn connect(
    target: &Target,
    https: bool,
    allow_private: bool,
    breach: &Breach,
) -> Result<pool::Sender, HttpError> {
    let bare = target.host.trim_start_matches('[').trim_end_matches(']');
    let addresses: Vec<_> = tokio::net::lookup_host((bare, target.port))
        .await
        .map_err(|e| HttpError::DnsError {
            rcode: Some(e.to_string()),
            info_code: None,
        })?
        .collect();
    if !allow_private {
        for address in &addresses {
            if let Some(class) = restricted_class(address.ip()) {
                breach.record(Failure::AddressDenied {
                    host: target.host.clone(),
                    address: address.ip().to_string(),
                    class,
                });
                return Err(HttpError::DestinationIpProhibited);
            }
        }
    }
    let mut last = HttpError::DestinationNotFound;
    let mut stream = None;
    for address in &addresses {
        match tokio::time::timeout(CONNECT_TIMEOUT, tokio::net::TcpStream::connect(address)).await {
            Ok(Ok(s)) => {
                stream = Some(s);
                break;
            }
            Ok(Err(e)) => last = HttpError::Connect(e),
            Err(_) => last = HttpError::ConnectionTimeout,
        }
    }
    let stream = stream.ok_or(last)?;
    let _ = stream.set_nodelay(true);
    if https {
        let server_name = rustls::pki_types::ServerName::try_from(bare.to_string())?;
        let tls = tls_connector()
            .connect(server_name, stream)
            .await
            .map_err(HttpError::Tls)?;
        handshake(hyper_util::rt::TokioIo::new(tls)).await
    } else {
        handshake(hyper_util::rt::TokioIo::new(stream)).await
    }
}

async fn handshake<I>(io: I) -> Result<pool::Sender, HttpError>
where
    I: hyper::rt::Read + hyper::rt::Write + Send + Unpin + 'static,
{
    let (sender, connection) =
        tokio::time::timeout(CONNECT_TIMEOUT, hyper::client::conn::http1::handshake(io))
            .await
            .map_err(|_| HttpError::ConnectionTimeout)??;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!(error = %e, "Outbound connection ended with an error.");
        }
    });
    Ok(sender)
}

fn tls_connector() -> tokio_rustls::TlsConnector {
    static CONFIG: std::sync::OnceLock<Arc<rustls::ClientConfig>> = std::sync::OnceLock::new();
    let config = CONFIG.get_or_init(|| {
        let roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.into(),
        };
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("ring supports the default protocol versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        Arc::new(config)
    });
    tokio_rustls::TlsConnector::from(config.clone())
}

/// A response body that fails once it grows past the limit, recording the breach.
struct LimitedBody {
    inner: WasiBody,
    seen: u64,
    limit: u64,
    breach: Breach,
}

impl Body for LimitedBody {
    type Data = Bytes;
    type Error = HttpError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, HttpError>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.seen += data.len() as u64;
                    if this.seen > this.limit {
                        this.breach
                            .record(Failure::LimitExceeded(Limit::ResponseBody(this.limit)));
                        return Poll::Ready(Some(Err(HttpError::HttpResponseBodySize(Some(
                            this.limit,
                        )))));
                    }
                }
                Poll::Ready(Some(Ok(frame)))
            }
            other => other,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dry_run_refuses_literal_loopback_unless_allowed() {
        assert!(matches!(
            literal_restricted("127.0.0.1", false),
            Some(Failure::AddressDenied {
                class: "loopback",
                ..
            })
        ));
        assert!(literal_restricted("localhost", false).is_some());
        assert!(literal_restricted("127.0.0.1", true).is_none());
        assert!(literal_restricted("hooks.slack.com", false).is_none());
    }

    /// A server that answers every request `200 {}` on a kept-alive connection and counts
    /// the connections it accepts.
    async fn counting_server() -> (u16, Arc<std::sync::atomic::AtomicUsize>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let accepted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let count = accepted.clone();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                tokio::spawn(async move {
                    let mut seen = Vec::new();
                    let mut buf = [0u8; 4096];
                    while let Ok(n) = stream.read(&mut buf).await {
                        if n == 0 {
                            return;
                        }
                        seen.extend_from_slice(&buf[..n]);
                        while let Some(end) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
                            seen.drain(..end + 4);
                            let answer = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}";
                            if stream.write_all(answer).await.is_err() {
                                return;
                            }
                        }
                    }
                });
            }
        });
        (port, accepted)
    }

    #[tokio::test]
    async fn connections_are_kept_alive_and_reused() {
        let (port, accepted) = counting_server().await;
        let target = Target {
            host: "127.0.0.1".into(),
            port,
        };
        let key = pool::Key {
            https: false,
            host: "127.0.0.1".into(),
            port,
            allow_private: true,
        };
        let pool = Pool::default();
        for round in 1..=3 {
            let request = http::Request::get(format!("http://127.0.0.1:{port}/x"))
                .header("host", format!("127.0.0.1:{port}"))
                .body(Full::new(Bytes::new()))
                .unwrap();
            let response = send(request, &target, true, &Breach::default(), &pool)
                .await
                .unwrap();
            assert_eq!(response.status(), 200);
            let body = response.into_body().collect().await.unwrap().to_bytes();
            assert_eq!(&body[..], b"{}");
            // Read to the end, the connection goes back to the pool.
            let started = std::time::Instant::now();
            while pool.idle_count(&key) == 0 {
                assert!(started.elapsed() < Duration::from_secs(5), "round {round}");
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
        assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 1);
        // Without permission for private addresses, the pooled loopback connection is not
        // used: the address check refuses the request.
        let request = http::Request::get(format!("http://127.0.0.1:{port}/x"))
            .body(Full::new(Bytes::new()))
            .unwrap();
        let breach = Breach::default();
        assert!(send(request, &target, false, &breach, &pool).await.is_err());
        assert!(matches!(breach.take(), Some(Failure::AddressDenied { .. })));
    }

    #[test]
    fn responder_plays_the_script_then_answers_200() {
        let r = Responder::new(vec![CannedResponse {
            status: 500,
            ..Default::default()
        }]);
        assert_eq!(r.next().status, 500);
        assert_eq!(r.next().status, 200);
    }
}
