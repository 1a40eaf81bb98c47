//! The admin API: JSON over HTTP on `admin_listen`, for operators and (later) the web console.
//!
//! Every `/admin/...` call, and `/metrics`, needs `Authorization: Bearer <token>` (Prometheus
//! scrapes with `authorization: {credentials: ...}`); without the right token the answer is 401
//! whatever the path, so an unknown path tells nothing either. The token comes
//! from `[server] admin_token` (usually `${SWITCHYARD_ADMIN_TOKEN}`), or is made once and kept
//! in the data folder (`admin-token`, readable by its owner only), like the default write key.
//! `/healthz` and `/readyz` answer without a token: they say nothing about data, and probes
//! (Kubernetes, load balancers) rarely carry credentials.
//!
//! Secrets never leave: settings marked secret in a plugin's manifest are shown as `***`.
//! The API is described by `openapi.json` (served at `/admin/openapi.json`); a test checks the
//! running server against it.

mod destinations;
mod error;
mod records;
mod replay;
mod tester;
#[cfg(test)]
mod tests;
mod views;

use crate::deliver::state::DestinationStates;
use crate::live::{Live, Reloader};
use crate::problems::Problems;
use crate::queue::{Queue, Records};
use axum::Router;
use axum::extract::{Path, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use error::AdminError;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::sync::Arc;

/// The OpenAPI description of this API.
pub(crate) const OPENAPI: &str = include_str!("openapi.json");

/// What the admin API reads.
pub(crate) struct Admin {
    pub token: String,
    /// The plugins and routes in force; each answer reads one snapshot.
    pub live: Arc<Live>,
    pub reloader: Arc<Reloader>,
    /// Each destination's breaker (and key-value store), as delivery keeps them.
    pub states: Arc<DestinationStates>,
    pub queue: Arc<dyn Queue>,
    /// The delivery log, dead letters and what waits.
    pub records: Arc<dyn Records>,
    /// The last events accepted, to test subscriptions on.
    pub recent: Arc<crate::recent::Recent>,
}

/// Where the admin token came from, for the startup summary.
pub(crate) enum TokenSource {
    Config,
    File(PathBuf),
}

/// The admin token: the configured one, or the one kept in `data_dir/admin-token` (made on
/// first use).
pub(crate) fn token(
    configured: Option<&str>,
    data_dir: &std::path::Path,
) -> anyhow::Result<(String, TokenSource)> {
    if let Some(t) = configured {
        return Ok((t.to_string(), TokenSource::Config));
    }
    let path = data_dir.join("admin-token");
    if let Ok(text) = std::fs::read_to_string(&path)
        && !text.trim().is_empty()
    {
        return Ok((text.trim().to_string(), TokenSource::File(path)));
    }
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("cannot make an admin token: {e}"))?;
    let token = hex::encode(bytes);
    std::fs::create_dir_all(data_dir)?;
    crate::files::write_whole_private(&path, format!("{token}\n").as_bytes())
        .map_err(|e| anyhow::anyhow!("cannot save the admin token in {}: {e}", path.display()))?;
    Ok((token, TokenSource::File(path)))
}

/// The admin router.
pub(crate) fn router(admin: Arc<Admin>) -> Router {
    let guarded = Router::new()
        .route(
            "/admin/plugins",
            get(plugins)
                .post(upload)
                .layer(axum::extract::DefaultBodyLimit::max(
                    crate::runtime::MAX_COMPONENT_BYTES + 1,
                )),
        )
        .route("/admin/plugins/{id}", get(plugin).delete(remove))
        .route("/admin/plugins/{id}/versions", get(versions))
        .route("/admin/plugins/{id}/rollback", post(rollback))
        .route(
            "/admin/destinations",
            get(destinations::list).post(destinations::create),
        )
        .route(
            "/admin/destinations/{name}",
            get(destinations::get_one)
                .put(destinations::update)
                .delete(destinations::delete),
        )
        .route(
            "/admin/destinations/{name}/enable",
            post(destinations::enable),
        )
        .route(
            "/admin/destinations/{name}/disable",
            post(destinations::disable),
        )
        .route(
            "/admin/destinations/{name}/subscriptions",
            get(destinations::subscriptions).post(destinations::add_subscription),
        )
        .route(
            "/admin/destinations/{name}/subscriptions/{sub}",
            get(destinations::subscription)
                .put(destinations::update_subscription)
                .delete(destinations::delete_subscription),
        )
        .route(
            "/admin/destinations/{name}/subscriptions/{sub}/enable",
            post(destinations::enable_subscription),
        )
        .route(
            "/admin/destinations/{name}/subscriptions/{sub}/disable",
            post(destinations::disable_subscription),
        )
        .route("/admin/destinations/{name}/test", post(test_subscription))
        .route("/admin/queue", get(queue))
        .route("/admin/events/recent", get(recent_events))
        .route("/admin/deliveries", get(records::deliveries))
        .route("/admin/dead-letters", get(records::dead_letters))
        .route("/admin/dead-letters/replay", post(records::replay))
        .route("/admin/dead-letters/purge", post(records::purge))
        .route("/admin/replay", post(replay::replay))
        .route("/admin/openapi.json", get(openapi))
        .route("/metrics", get(metrics))
        .route("/admin/reload", post(reload))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(admin.clone(), authorise));
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .merge(guarded)
        .with_state(admin)
}

async fn authorise(State(admin): State<Arc<Admin>>, request: Request, next: Next) -> Response {
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match given {
        Some(t) if crate::redact::same_secret(t.trim().as_bytes(), admin.token.as_bytes()) => {
            next.run(request).await
        }
        Some(_) => {
            AdminError::Unauthorised("the bearer token is not the admin token").into_response()
        }
        None => AdminError::Unauthorised(
            "the admin API needs an Authorization: Bearer <admin token> header",
        )
        .into_response(),
    }
}

async fn not_found(request: Request) -> Response {
    AdminError::NotFound(format!(
        "no such admin path: {} {} (see /admin/openapi.json)",
        request.method(),
        request.uri().path()
    ))
    .into_response()
}

async fn healthz() -> Response {
    axum::Json(json!({"status": "alive"})).into_response()
}

/// Ready when the queue takes writes (an empty enqueue goes through the writer and commits)
/// and every configured destination has its plugin loaded.
async fn readyz(State(admin): State<Arc<Admin>>) -> Response {
    let queue = match admin.queue.enqueue(Vec::new(), crate::queue::now()).await {
        Ok(_) => json!({"writable": true}),
        Err(e) => json!({"writable": false, "error": e.to_string()}),
    };
    let ready = queue["writable"] == true;
    let snapshot = admin.live.current();
    // Events the log's size cap removed before a destination routed them: still ready (ingest
    // works), but the loss is shown.
    let lost: serde_json::Map<String, Value> = admin
        .records
        .behind()
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|l| l.lost > 0)
        .map(|l| (l.consumer, json!(l.lost)))
        .collect();
    let body = json!({
        "status": if ready { "ready" } else { "not ready" },
        "queue": queue,
        "log_lost_events": lost,
        "plugins": snapshot.plugins.len(),
        "destinations": snapshot.routes.destinations.len(),
    });
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, axum::Json(body)).into_response()
}

async fn plugins(State(admin): State<Arc<Admin>>) -> Response {
    let snapshot = admin.live.current();
    let mut list: Vec<views::PluginView> = snapshot
        .plugins
        .values()
        .map(|p| views::PluginView::of(p))
        .collect();
    list.sort_by(|a, b| a.id.cmp(b.id));
    let refused = admin.reloader.refusals();
    axum::Json(json!({"plugins": list, "refused_reloads": refused})).into_response()
}

async fn plugin(State(admin): State<Arc<Admin>>, Path(id): Path<String>) -> Response {
    match admin.live.current().plugins.get(&id) {
        // As a JSON value, whose keys are sorted, as in every other answer.
        Some(p) => {
            axum::Json(serde_json::to_value(views::PluginDetailView::of(p)).unwrap_or_default())
                .into_response()
        }
        None => AdminError::NotFound(format!("no plugin {id:?} is loaded")).into_response(),
    }
}

/// Per destination: deliveries waiting and when the oldest was accepted.
async fn waiting(admin: &Admin) -> Result<Vec<(String, i64, crate::queue::Millis)>, String> {
    admin
        .records
        .waiting()
        .await
        .map_err(|e| format!("cannot read the queue: {e}"))
}

async fn queue(State(admin): State<Arc<Admin>>) -> Response {
    let behind = admin.records.behind().await.unwrap_or_default();
    match waiting(&admin).await {
        Ok(rows) => {
            let now = crate::queue::now();
            let snapshot = admin.live.current();
            let by_destination: Vec<Value> = snapshot
                .routes
                .destinations
                .iter()
                .map(|r| r.name.as_str())
                .chain(rows.iter().map(|(d, _, _)| d.as_str()))
                .collect::<std::collections::BTreeSet<&str>>()
                .into_iter()
                .map(|d| {
                    let row = rows.iter().find(|(name, _, _)| name == d);
                    let lag = behind.iter().find(|l| l.consumer == d);
                    json!({
                        "destination": d,
                        "configured": snapshot.routes.destinations.iter().any(|r| r.name == d),
                        "depth": row.map_or(0, |r| r.1),
                        "oldest_age_ms": row.map(|r| (now - r.2).max(0)),
                        "log": {
                            "behind": lag.map_or(0, |l| l.events),
                            "oldest_age_ms": lag.and_then(|l| l.oldest_at).map(|at| (now - at).max(0)),
                            "lost": lag.map_or(0, |l| l.lost),
                        },
                    })
                })
                .collect();
            axum::Json(json!({"destinations": by_destination})).into_response()
        }
        Err(e) => AdminError::Unavailable(e).into_response(),
    }
}

/// Prometheus text: the counters, and the queue read now.
async fn metrics(State(admin): State<Arc<Admin>>) -> Response {
    let rows = waiting(&admin).await;
    let now = crate::queue::now();
    let paused: Vec<(String, bool)> = admin
        .live
        .current()
        .routes
        .destinations
        .iter()
        .map(|r| {
            (
                r.name.clone(),
                admin.states.of(r).breaker.status().state != "closed",
            )
        })
        .collect();
    let behind: Vec<crate::metrics::Behind> = admin
        .records
        .behind()
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|l| {
            let age = l.oldest_at.map_or(0, |at| (now - at).max(0) as u64);
            (
                l.consumer,
                l.events,
                std::time::Duration::from_millis(age),
                l.lost,
            )
        })
        .collect();
    let queue: Vec<(String, i64, std::time::Duration)> = match rows {
        Ok(rows) => rows
            .into_iter()
            .map(|(d, n, oldest)| {
                let age = std::time::Duration::from_millis((now - oldest).max(0) as u64);
                (d, n, age)
            })
            .collect(),
        Err(_) => Vec::new(),
    };
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        crate::metrics::render(&queue, &behind, &paused),
    )
        .into_response()
}

/// Tests a destination's subscriptions on an event: `{"event": {...}, "subscription": NAME}`
/// (every subscription without a name), or `{"recent": true, ...}` for the newest accepted
/// event from the destination's sources that a tested trigger matches (else the newest), or
/// `{"recent": MESSAGE_ID}` for that recent event.
async fn test_subscription(
    State(admin): State<Arc<Admin>>,
    Path(name): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let usage = "the body must be JSON {\"event\": {...}}, {\"recent\": true} or \
                 {\"recent\": MESSAGE_ID}, with \"subscription\": NAME to test only that one";
    let request: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return AdminError::BadRequest(format!("{usage}: {e}")).into_response(),
    };
    let snapshot = admin.live.current();
    let Some(route) = snapshot.routes.destinations.iter().find(|r| r.name == name) else {
        return AdminError::NotFound(format!(
            "no destination {name:?} runs (unknown or disabled)"
        ))
        .into_response();
    };
    let subscription = request.get("subscription").and_then(Value::as_str);
    let event = match (request.get("event"), request.get("recent")) {
        (Some(event), None) if event.is_object() => event.clone(),
        (None, Some(Value::Bool(true))) => {
            let samples = admin
                .recent
                .newest(|s| route.sources.iter().any(|x| **x == *s.source));
            let tested = |e: &Value| {
                route
                    .subscriptions
                    .iter()
                    .filter(|s| subscription.is_none_or(|n| s.name == n))
                    .any(|s| s.trigger.matches(e))
            };
            match samples
                .iter()
                .find(|s| tested(&s.event))
                .or(samples.first())
            {
                Some(sample) => sample.event.clone(),
                None => {
                    return AdminError::NotFound(format!(
                        "no event from {} was accepted since the server started; send \
                             one, or give \"event\"",
                        route.sources.join(", ")
                    ))
                    .into_response();
                }
            }
        }
        (None, Some(Value::String(id))) => {
            let found = admin.recent.newest(|s| {
                route.sources.iter().any(|x| **x == *s.source) && s.event["messageId"] == **id
            });
            match found.into_iter().next() {
                Some(sample) => sample.event,
                None => {
                    return AdminError::NotFound(format!(
                        "no recent event from {} has messageId {id:?} (the last {} \
                             accepted are kept)",
                        route.sources.join(", "),
                        crate::recent::KEPT
                    ))
                    .into_response();
                }
            }
        }
        _ => return AdminError::BadRequest(usage.into()).into_response(),
    };
    match tester::run(route, subscription, &event).await {
        Ok(mut answer) => {
            answer["event"] = event;
            axum::Json(answer).into_response()
        }
        Err(e) => AdminError::NotFound(e).into_response(),
    }
}

/// `GET /admin/events/recent?source=NAME&limit=N`: the newest accepted events (up to 100 are
/// kept in memory), newest first.
async fn recent_events(
    State(admin): State<Arc<Admin>>,
    query: axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Response {
    if let Some(key) = query
        .keys()
        .find(|k| !matches!(k.as_str(), "source" | "limit"))
    {
        return AdminError::BadRequest(format!(
            "query: unknown parameter {key:?}; the parameters are source and limit"
        ))
        .into_response();
    }
    let limit = match query.get("limit").map(|l| l.parse::<usize>()) {
        None => crate::recent::KEPT,
        Some(Ok(n)) if n > 0 => n,
        Some(_) => {
            return AdminError::BadRequest("query: limit must be a positive number".into())
                .into_response();
        }
    };
    let source = query.get("source");
    let events: Vec<Value> = admin
        .recent
        .newest(|s| source.is_none_or(|want| **want == *s.source))
        .into_iter()
        .take(limit)
        .map(|s| json!({"source": &*s.source, "event": s.event}))
        .collect();
    axum::Json(json!({"events": events})).into_response()
}

/// The answer to an install, removal or rollback.
fn applied(outcome: Result<crate::live::Reloaded, Problems>, what: Value) -> Response {
    match outcome {
        Ok(done) => {
            let mut body = what;
            body["plugins"] = json!(done.plugins);
            axum::Json(body).into_response()
        }
        Err(problems) => AdminError::Refused {
            error: "refused; the plugins in force keep serving",
            problems,
        }
        .into_response(),
    }
}

/// Uploads a plugin (the component's bytes): checked as a hot load is, installed in the
/// plugins folder, then swapped in; refused whole otherwise.
async fn upload(State(admin): State<Arc<Admin>>, body: axum::body::Bytes) -> Response {
    let plugin = match admin.reloader.runtime.load(&body, "uploaded plugin").await {
        Ok(p) => p,
        Err(e) => {
            return AdminError::Unprocessable(e.to_string()).into_response();
        }
    };
    let m = plugin.manifest();
    let what = json!({"id": m.id, "version": m.version, "hash": plugin.hash()});
    let outcome = admin.reloader.install(&m.id, &body).await;
    tracing::info!(plugin = %m.id, hash = %plugin.hash(), ok = outcome.is_ok(), "Plugin upload.");
    applied(outcome, what)
}

async fn remove(State(admin): State<Arc<Admin>>, Path(id): Path<String>) -> Response {
    if !admin.live.current().plugins.contains_key(&id) {
        return AdminError::NotFound(format!("no plugin {id:?} is loaded")).into_response();
    }
    let outcome = admin.reloader.remove(&id).await;
    applied(outcome, json!({"removed": id}))
}

async fn versions(State(admin): State<Arc<Admin>>, Path(id): Path<String>) -> Response {
    let current = admin
        .live
        .current()
        .plugins
        .get(&id)
        .map(|p| p.hash().to_string());
    let kept = admin.reloader.archive.list(&id);
    if current.is_none() && kept.is_empty() {
        return AdminError::NotFound(format!("no plugin {id:?} is loaded or kept")).into_response();
    }
    axum::Json(json!({"id": id, "current": current, "versions": kept})).into_response()
}

/// Switches plugin `id` to a kept version: `{"to": HASH}`, or by default the newest kept
/// version other than the one in force.
async fn rollback(
    State(admin): State<Arc<Admin>>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let wanted: Option<String> = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v["to"].as_str().map(str::to_owned));
    let current = admin
        .live
        .current()
        .plugins
        .get(&id)
        .map(|p| p.hash().to_string());
    let to = match wanted {
        Some(hash) => hash,
        None => match admin
            .reloader
            .archive
            .list(&id)
            .into_iter()
            .rev()
            .find(|v| Some(&v.hash) != current.as_ref())
        {
            Some(v) => v.hash,
            None => {
                return AdminError::NotFound(format!(
                    "no other kept version of {id:?} to go back to"
                ))
                .into_response();
            }
        },
    };
    let bytes = match admin.reloader.archive.bytes(&id, &to) {
        Ok(b) => b,
        Err(e) => {
            return AdminError::NotFound(format!("version {to} of {id:?} is not kept: {e}"))
                .into_response();
        }
    };
    let outcome = admin.reloader.install(&id, &bytes).await;
    tracing::info!(plugin = %id, hash = %to, ok = outcome.is_ok(), "Plugin rollback.");
    applied(outcome, json!({"id": id, "hash": to}))
}

/// Reads the configuration file (and the plugins folder) again and applies it whole, or
/// refuses it whole with every problem.
async fn reload(State(admin): State<Arc<Admin>>) -> Response {
    match admin.reloader.reload("admin API").await {
        Ok(done) => {
            tracing::info!(destinations = ?done.destinations, "Configuration reloaded (admin API).");
            axum::Json(json!({"reloaded": true, "destinations": done.destinations,
                "plugins": done.plugins}))
            .into_response()
        }
        Err(problems) => {
            tracing::error!(
                "Configuration refused (admin API), the running one stays:\n{problems}"
            );
            AdminError::Refused {
                error: "the configuration was refused; nothing changed",
                problems,
            }
            .into_response()
        }
    }
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}
