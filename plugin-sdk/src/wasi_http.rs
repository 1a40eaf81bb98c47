//! The real transport: `wasi:http/outgoing-handler`, used when the plugin runs as a component.

use crate::http::{Request, Response, Transport};
use wasip2::http::outgoing_handler;
use wasip2::http::types::{Fields, IncomingBody, Method, OutgoingBody, OutgoingRequest, Scheme};
use wasip2::io::streams::StreamError;

/// Sends through the host's `wasi:http` implementation.
pub(crate) struct WasiHttp;

impl Transport for WasiHttp {
    fn send(&mut self, request: &Request) -> Result<Response, String> {
        let (scheme, rest) = request
            .url
            .split_once("://")
            .ok_or_else(|| format!("the URL {:?} has no scheme", request.url))?;
        let split = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, path) = rest.split_at(split);
        let path = if path.is_empty() { "/" } else { path };
        let scheme = match scheme.to_ascii_lowercase().as_str() {
            "https" => Scheme::Https,
            "http" => Scheme::Http,
            other => return Err(format!("unsupported URL scheme {other:?}")),
        };

        let headers = Fields::new();
        for (name, value) in &request.headers {
            headers
                .append(name, value.as_bytes())
                .map_err(|e| format!("header {name:?}: {e:?}"))?;
        }
        let outgoing = OutgoingRequest::new(headers);
        let method = match request.method.to_ascii_uppercase().as_str() {
            "GET" => Method::Get,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            "PATCH" => Method::Patch,
            "DELETE" => Method::Delete,
            "HEAD" => Method::Head,
            "OPTIONS" => Method::Options,
            other => Method::Other(other.to_string()),
        };
        let invalid = |what: &str| format!("invalid {what} in {:?}", request.url);
        outgoing
            .set_method(&method)
            .map_err(|()| invalid("method"))?;
        outgoing
            .set_scheme(Some(&scheme))
            .map_err(|()| invalid("scheme"))?;
        outgoing
            .set_authority(Some(authority))
            .map_err(|()| invalid("host"))?;
        outgoing
            .set_path_with_query(Some(path))
            .map_err(|()| invalid("path"))?;
        let body = outgoing.body().map_err(|()| "request body already taken")?;

        let pending = outgoing_handler::handle(outgoing, None).map_err(|e| format!("{e:?}"))?;
        {
            let stream = body
                .write()
                .map_err(|()| "request body stream already taken")?;
            for chunk in request.body.chunks(4096) {
                stream
                    .blocking_write_and_flush(chunk)
                    .map_err(|e| format!("writing the request body: {e:?}"))?;
            }
        }
        OutgoingBody::finish(body, None).map_err(|e| format!("{e:?}"))?;

        let incoming = loop {
            match pending.get() {
                Some(answer) => break answer,
                None => pending.subscribe().block(),
            }
        };
        let incoming = incoming
            .map_err(|()| "the response was already taken".to_string())?
            .map_err(|e| describe(&e))?;

        let status = incoming.status();
        let headers = incoming
            .headers()
            .entries()
            .into_iter()
            .map(|(k, v)| (k, String::from_utf8_lossy(&v).into_owned()))
            .collect();
        let body_handle = incoming
            .consume()
            .map_err(|()| "response body already taken")?;
        let mut body = Vec::new();
        {
            let stream = body_handle
                .stream()
                .map_err(|()| "response body stream already taken")?;
            loop {
                match stream.blocking_read(64 * 1024) {
                    Ok(chunk) => body.extend_from_slice(&chunk),
                    Err(StreamError::Closed) => break,
                    Err(StreamError::LastOperationFailed(e)) => {
                        return Err(format!(
                            "reading the response body: {}",
                            e.to_debug_string()
                        ));
                    }
                }
            }
        }
        let _ = IncomingBody::finish(body_handle);
        Ok(Response {
            status,
            headers,
            body,
        })
    }
}

fn describe(e: &wasip2::http::types::ErrorCode) -> String {
    use wasip2::http::types::ErrorCode as E;
    match e {
        E::HttpRequestDenied => "the host denied the request".into(),
        E::ConnectionRefused => "connection refused".into(),
        E::ConnectionTimeout => "connection timed out".into(),
        E::DestinationIpProhibited => "the destination address is prohibited".into(),
        E::DnsError(_) => "DNS lookup failed".into(),
        other => format!("{other:?}"),
    }
}
