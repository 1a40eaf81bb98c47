//! Commands that ask a running server, through its admin API: `switchyard plugin versions`,
//! `switchyard plugin rollback` and `switchyard replay` (which needs the subscriptions in
//! force, so the server runs it).
//!
//! The server and its token come from the same configuration file the server runs (its
//! `admin_listen`, and `admin_token` or the token kept in its data folder), so an operator on
//! the machine types no secret; `--admin` and `SWITCHYARD_ADMIN_TOKEN` point elsewhere.

use super::InputError;
use crate::config::Config;
use crate::queue::shown_time;
use clap::Args;
use http_body_util::{BodyExt as _, Full};
use serde_json::Value;
use std::path::PathBuf;

/// Which server to ask.
#[derive(Debug, Args)]
pub struct Server {
    /// The server's configuration file (default: the built-in one, as `switchyard serve`).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The admin API's address (default: the configuration's server.admin_listen), such as
    /// http://127.0.0.1:8089.
    #[arg(long, value_name = "URL")]
    admin: Option<String>,
}

/// A connection's worth of what is needed to call the admin API.
struct Remote {
    authority: String,
    token: String,
}

impl Server {
    fn remote(&self) -> anyhow::Result<Remote> {
        // Without a file, the built-in defaults (read without making a write key).
        let (listen, configured, data_dir) = match &self.config {
            Some(path) => {
                let c = Config::load(path).map_err(|e| InputError(e.0))?;
                (c.admin_listen.to_string(), c.admin_token, c.data_dir)
            }
            None => (
                crate::config::DEFAULT_ADMIN_LISTEN.to_string(),
                None,
                PathBuf::from(crate::config::DEFAULT_DATA_DIR),
            ),
        };
        let authority = match &self.admin {
            Some(url) => url
                .strip_prefix("http://")
                .ok_or_else(|| {
                    InputError(format!(
                        "--admin {url:?}: expected http://HOST:PORT (the admin API serves plain \
                         HTTP; put TLS in front of it with a proxy)"
                    ))
                })?
                .trim_end_matches('/')
                .to_string(),
            None => listen,
        };
        let token = match std::env::var("SWITCHYARD_ADMIN_TOKEN") {
            Ok(t) if !t.trim().is_empty() => t.trim().to_string(),
            _ => match configured {
                Some(t) => t,
                None => {
                    let path = data_dir.join("admin-token");
                    std::fs::read_to_string(&path)
                        .map(|t| t.trim().to_string())
                        .map_err(|e| {
                            InputError(format!(
                                "no admin token: {} cannot be read ({e}); set \
                                 SWITCHYARD_ADMIN_TOKEN or give the server's --config",
                                path.display()
                            ))
                        })?
                }
            },
        };
        Ok(Remote { authority, token })
    }
}

impl Remote {
    /// Calls the admin API: the status and the answer as JSON.
    async fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<(u16, Value)> {
        let unreachable = |e: &dyn std::fmt::Display| {
            InputError(format!(
                "cannot reach the admin API at http://{}: {e} (is switchyard serve running? \
                 --admin gives another address)",
                self.authority
            ))
        };
        let stream = tokio::net::TcpStream::connect(&self.authority)
            .await
            .map_err(|e| unreachable(&e))?;
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .map_err(|e| unreachable(&e))?;
        tokio::spawn(conn);
        let bytes = body.map_or(Vec::new(), |b| b.to_string().into_bytes());
        let request = http::Request::builder()
            .method(method)
            .uri(path)
            .header(http::header::HOST, &self.authority)
            .header(http::header::CONTENT_TYPE, "application/json")
            .header(
                http::header::AUTHORIZATION,
                format!("Bearer {}", self.token),
            )
            .body(Full::new(bytes::Bytes::from(bytes)))?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| unreachable(&e))?;
        let status = response.status().as_u16();
        let body = response.into_body().collect().await?.to_bytes();
        let value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        Ok((status, value))
    }
}

/// The error of an answer that is not 200, with its problems.
fn failed(status: u16, answer: &Value) -> anyhow::Error {
    let mut text = answer["error"]
        .as_str()
        .map_or_else(|| format!("the server answered {status}"), str::to_owned);
    for problem in answer["problems"].as_array().into_iter().flatten() {
        text.push_str(&format!("\n  {}", problem.as_str().unwrap_or_default()));
    }
    anyhow::anyhow!(text)
}

/// `switchyard plugin versions ID`: the kept versions, the one in force marked.
pub(super) async fn versions(id: &str, server: &Server) -> anyhow::Result<()> {
    let remote = server.remote()?;
    let (status, answer) = remote
        .call(
            "GET",
            &format!("/admin/plugins/{}/versions", path_segment(id)),
            None,
        )
        .await?;
    if status != 200 {
        return Err(failed(status, &answer));
    }
    let current = answer["current"].as_str();
    println!("  {:<64}  {:<10} KEPT", "HASH", "VERSION");
    for v in answer["versions"].as_array().into_iter().flatten() {
        let hash = v["hash"].as_str().unwrap_or_default();
        println!(
            "{} {:<64}  {:<10} {}",
            if Some(hash) == current { "*" } else { " " },
            hash,
            v["version"].as_str().unwrap_or_default(),
            shown_time(v["kept_at_ms"].as_i64().unwrap_or_default())
        );
    }
    if let Some(hash) = current
        && !answer["versions"].to_string().contains(hash)
    {
        println!("* {hash}  (in force: bundled with the server)");
    }
    Ok(())
}

/// `switchyard plugin rollback ID [--to HASH]`.
pub(super) async fn rollback(id: &str, to: Option<&str>, server: &Server) -> anyhow::Result<()> {
    let remote = server.remote()?;
    let body = to.map(|hash| serde_json::json!({"to": hash}));
    let (status, answer) = remote
        .call(
            "POST",
            &format!("/admin/plugins/{}/rollback", path_segment(id)),
            body,
        )
        .await?;
    if status != 200 {
        return Err(failed(status, &answer));
    }
    println!(
        "Plugin {id} is now at {}; queued events go to it.",
        answer["hash"].as_str().unwrap_or_default()
    );
    Ok(())
}

/// `switchyard replay`
#[derive(Debug, clap::Args)]
pub struct ReplayArgs {
    /// The destination whose history to run again.
    #[arg(long)]
    destination: String,
    /// Only this subscription (default: all of the destination's).
    #[arg(long)]
    subscription: Option<String>,
    /// Events received at or after this time: RFC 3339 (2026-11-28T10:00:00Z) or an age (30m,
    /// 2h, 7d).
    #[arg(long, value_name = "TIME")]
    from: String,
    /// Events received before this time (same forms; default: now).
    #[arg(long, value_name = "TIME")]
    until: Option<String>,
    /// Count what would be sent; send nothing.
    #[arg(long)]
    dry_run: bool,
    /// Print the server's answer as JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    server: Server,
}

/// `switchyard replay`: asks the server to replay, and prints what it made, by subscription.
pub(super) async fn replay(args: &ReplayArgs) -> anyhow::Result<()> {
    let remote = args.server.remote()?;
    let mut body = serde_json::json!({
        "destination": args.destination,
        "from": args.from,
        "dry_run": args.dry_run,
    });
    if let Some(s) = &args.subscription {
        body["subscription"] = s.as_str().into();
    }
    if let Some(t) = &args.until {
        body["until"] = t.as_str().into();
    }
    let (status, answer) = remote.call("POST", "/admin/replay", Some(body)).await?;
    if status != 200 {
        return Err(failed(status, &answer));
    }
    if args.json {
        println!("{answer}");
        return Ok(());
    }
    let events = answer["events"].as_u64().unwrap_or_default();
    let verb = if args.dry_run { "would make" } else { "made" };
    println!(
        "{} {events} events of destination {}: they {verb} these deliveries{}",
        if args.dry_run {
            "Dry run over"
        } else {
            "Replayed"
        },
        args.destination,
        if args.dry_run {
            " (nothing was sent)"
        } else {
            ""
        }
    );
    println!("  {:<40} DELIVERIES", "SUBSCRIPTION");
    for (name, count) in answer["deliveries"].as_object().into_iter().flatten() {
        println!("  {name:<40} {}", count.as_u64().unwrap_or_default());
    }
    let refused = answer["refused"].as_u64().unwrap_or_default();
    if refused > 0 {
        println!(
            "{refused} matching events could not be mapped; {}",
            if args.dry_run {
                "they would go to dead letters"
            } else {
                "they are in dead letters (switchyard dlq list)"
            }
        );
    }
    Ok(())
}

/// `text` made safe for one path segment.
fn path_segment(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
