//! A small blocking HTTP client for plugins.
//!
//! Inside a component it sends through `wasi:http/outgoing-handler` (the host enforces the
//! allow-list and limits). In native unit tests the same code talks to a [`FakeHttp`] that
//! records requests and answers from a script, so plugin logic is tested without a network.

use crate::Error;
use base64::Engine as _;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;
use std::time::Duration;

/// An outgoing request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The HTTP method (`GET`, `POST`, ...).
    pub method: String,
    /// The full URL.
    pub url: String,
    /// Header names and values, in order.
    pub headers: Vec<(String, String)>,
    /// The body bytes.
    pub body: Vec<u8>,
}

impl Request {
    /// The first value of a header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }

    /// The body parsed as JSON (`Value::Null` when it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The HTTP status the vendor answered, when there was one.
    pub status: u16,
    /// Header names and values, in order.
    pub headers: Vec<(String, String)>,
    /// The body bytes.
    pub body: Vec<u8>,
}

impl Response {
    /// A response with a status and a body, for tests.
    pub fn new(status: u16, body: impl Into<Vec<u8>>) -> Response {
        Response {
            status,
            headers: Vec::new(),
            body: body.into(),
        }
    }

    /// Adds a header, for tests.
    pub fn with_header(mut self, name: &str, value: &str) -> Response {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// The first value of a header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body parsed as JSON into `T`; a body that does not parse is a retryable error (the
    /// vendor answered something unexpected, perhaps an error page).
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, Error> {
        serde_json::from_slice(&self.body).map_err(|e| Error::Retryable {
            message: format!("the response body is not the expected JSON: {e}"),
            status: Some(self.status),
        })
    }

    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The `Retry-After` header in seconds, when present.
    pub fn retry_after(&self) -> Option<Duration> {
        self.header("retry-after")?
            .trim()
            .parse::<u64>()
            .ok()
            .map(Duration::from_secs)
    }

    /// `Ok(self)` for a 2xx answer, else the error its status calls for (see
    /// [`Error::from_status`]), with the start of the body in the message.
    pub fn error_for_status(self) -> Result<Response, Error> {
        if self.is_success() {
            return Ok(self);
        }
        let mut body = self.text();
        if body.len() > 300 {
            let mut end = 300;
            while !body.is_char_boundary(end) {
                end -= 1;
            }
            body.truncate(end);
            body.push('…');
        }
        let message = format!("the server answered {}: {body}", self.status);
        Err(Error::from_status(self.status, message, self.retry_after()))
    }
}

fn find_header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Something that sends requests: the real `wasi:http` client or a [`FakeHttp`].
pub trait Transport {
    /// Sends a request and waits for the whole response. `Err` is a failure to get any answer
    /// (connection refused, request denied by the host, timeout).
    fn send(&mut self, request: &Request) -> Result<Response, String>;
}

/// A scripted HTTP server for native unit tests. Clones share the same script and record.
#[derive(Debug, Clone, Default)]
pub struct FakeHttp(Rc<RefCell<Fake>>);

#[derive(Debug, Default)]
struct Fake {
    answers: VecDeque<Result<Response, String>>,
    requests: Vec<Request>,
}

impl FakeHttp {
    /// An empty script: every request gets `200 {}`.
    pub fn new() -> FakeHttp {
        FakeHttp::default()
    }

    /// Queues an answer; requests beyond the script get `200 {}`.
    pub fn respond(&self, response: Response) -> &Self {
        self.0.borrow_mut().answers.push_back(Ok(response));
        self
    }

    /// Queues a failure to connect.
    pub fn fail(&self, message: &str) -> &Self {
        self.0
            .borrow_mut()
            .answers
            .push_back(Err(message.to_string()));
        self
    }

    /// Every request sent so far.
    pub fn requests(&self) -> Vec<Request> {
        self.0.borrow().requests.clone()
    }
}

impl Transport for FakeHttp {
    fn send(&mut self, request: &Request) -> Result<Response, String> {
        let mut fake = self.0.borrow_mut();
        fake.requests.push(request.clone());
        fake.answers
            .pop_front()
            .unwrap_or_else(|| Ok(Response::new(200, "{}")))
    }
}

/// Builds a request; finish with [`RequestBuilder::send`].
#[must_use = "a request is only sent by .send()"]
pub struct RequestBuilder<'a> {
    transport: &'a mut dyn Transport,
    request: Request,
}

impl<'a> RequestBuilder<'a> {
    pub(crate) fn new(transport: &'a mut dyn Transport, method: &str, url: &str) -> Self {
        RequestBuilder {
            transport,
            request: Request {
                method: method.to_string(),
                url: url.to_string(),
                headers: vec![("user-agent".into(), crate::USER_AGENT.into())],
                body: Vec::new(),
            },
        }
    }

    /// Sets a header, replacing any earlier value of the same name.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.request
            .headers
            .retain(|(k, _)| !k.eq_ignore_ascii_case(name));
        self.request
            .headers
            .push((name.to_ascii_lowercase(), value.to_string()));
        self
    }

    /// `Authorization: Bearer <token>`.
    pub fn bearer(self, token: &str) -> Self {
        self.header("authorization", &format!("Bearer {token}"))
    }

    /// `Authorization: Basic base64(user:password)`.
    pub fn basic(self, user: &str, password: &str) -> Self {
        let encoded =
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        self.header("authorization", &format!("Basic {encoded}"))
    }

    /// A JSON body, with `content-type: application/json`.
    pub fn json<T: Serialize + ?Sized>(mut self, body: &T) -> Self {
        self.request.body = serde_json::to_vec(body).unwrap_or_default();
        self.header("content-type", "application/json")
    }

    /// A form body (`application/x-www-form-urlencoded`).
    pub fn form(mut self, fields: &[(&str, &str)]) -> Self {
        let encoded: Vec<String> = fields
            .iter()
            .map(|(k, v)| format!("{}={}", form_encode(k), form_encode(v)))
            .collect();
        self.request.body = encoded.join("&").into_bytes();
        self.header("content-type", "application/x-www-form-urlencoded")
    }

    /// A raw body.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.request.body = body.into();
        self
    }

    /// Sends the request. Any answer, 2xx or not, is `Ok`; use
    /// [`Response::error_for_status`] to turn a failure status into an [`Error`]. Not getting an
    /// answer at all is a retryable error.
    pub fn send(self) -> Result<Response, Error> {
        let RequestBuilder { transport, request } = self;
        transport.send(&request).map_err(|e| {
            Error::retryable(format!("{} {} failed: {e}", request.method, request.url))
        })
    }
}

/// Percent-encoding for form bodies: unreserved characters stay, space becomes `+`.
fn form_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_auth_and_bodies() {
        let mut fake = FakeHttp::new();
        RequestBuilder::new(&mut fake, "POST", "https://x.test/a")
            .basic("user", "pass")
            .form(&[("a b", "c&d"), ("e", "ü")])
            .send()
            .unwrap();
        let sent = &fake.requests()[0];
        assert_eq!(sent.header("Authorization"), Some("Basic dXNlcjpwYXNz"));
        assert_eq!(sent.text(), "a+b=c%26d&e=%C3%BC");
        assert_eq!(
            sent.header("content-type"),
            Some("application/x-www-form-urlencoded")
        );
    }

    #[test]
    fn error_for_status_uses_retry_after() {
        let r = Response::new(429, "slow").with_header("Retry-After", "7");
        assert_eq!(
            r.error_for_status().unwrap_err(),
            Error::RateLimited {
                message: "the server answered 429: slow".into(),
                retry_after: Some(Duration::from_secs(7))
            }
        );
    }

    #[test]
    fn a_failure_to_connect_is_retryable() {
        let mut fake = FakeHttp::new();
        fake.fail("connection refused");
        let err = RequestBuilder::new(&mut fake, "GET", "https://x.test")
            .send()
            .unwrap_err();
        assert!(matches!(err, Error::Retryable { .. }), "{err:?}");
    }
}
