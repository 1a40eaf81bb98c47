//! The delivery log and dead letters over the admin API: what `switchyard deliveries` and
//! `switchyard dlq` do, for operators without a shell on the server and for the web console.
//!
//! Filters are query parameters (for reads) or a JSON body (for replay and purge) with the
//! CLI's names and time forms: `destination`, `action`, `outcome` or `reason`, `since` and
//! `until` (RFC 3339 or an age such as `30m`), `limit`. An unknown filter is refused rather
//! than ignored: a typo must not turn "purge these" into "purge everything".

use super::Admin;
use super::error::AdminError;
use crate::queue::{Filter, now};
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;

/// The most entries one answer holds.
const MAX_LIMIT: usize = 1000;

/// Filters of the delivery log.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct LogQuery {
    destination: Option<String>,
    action: Option<String>,
    outcome: Option<String>,
    since: Option<String>,
    until: Option<String>,
    limit: Option<usize>,
}

/// Filters of dead letters; `all` is for purge only.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct LetterQuery {
    destination: Option<String>,
    action: Option<String>,
    reason: Option<String>,
    since: Option<String>,
    until: Option<String>,
    limit: Option<usize>,
    #[serde(default)]
    all: bool,
}

/// Builds a queue filter; errors name the parameter.
fn filter(
    destination: &Option<String>,
    action: &Option<String>,
    reason: &Option<String>,
    (since, until): (&Option<String>, &Option<String>),
    limit: Option<usize>,
) -> Result<Filter, String> {
    let now = now();
    let time = |text: &Option<String>, name: &str| {
        text.as_deref()
            .map(|t| Filter::time(t, now).map_err(|e| format!("{name}: {e}")))
            .transpose()
    };
    if let Some(l) = limit
        && !(1..=MAX_LIMIT).contains(&l)
    {
        return Err(format!("limit: {l} is not between 1 and {MAX_LIMIT}"));
    }
    Ok(Filter {
        destination: destination.clone(),
        action: action.clone(),
        reason: reason.clone(),
        since: time(since, "since")?,
        until: time(until, "until")?,
        limit,
        message_ids: Vec::new(),
        ids: Vec::new(),
    })
}

fn bad_query(e: impl std::fmt::Display) -> Response {
    AdminError::BadRequest(format!("query: {e}")).into_response()
}

fn unavailable(e: impl std::fmt::Display) -> Response {
    AdminError::Unavailable(format!("cannot read the queue: {e}")).into_response()
}

/// `GET /admin/deliveries`: the most recent attempts (50 unless `limit`), oldest first.
pub(super) async fn deliveries(
    State(admin): State<Arc<Admin>>,
    query: Result<Query<LogQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Query(q) = match query {
        Ok(q) => q,
        Err(e) => return bad_query(e.body_text()),
    };
    let filter = match filter(
        &q.destination,
        &q.action,
        &q.outcome,
        (&q.since, &q.until),
        Some(q.limit.unwrap_or(50)),
    ) {
        Ok(f) => f,
        Err(e) => return bad_query(e),
    };
    match admin.records.attempts(filter).await {
        Ok(list) => axum::Json(json!({"deliveries": list})).into_response(),
        Err(e) => unavailable(e),
    }
}

/// `GET /admin/dead-letters`: oldest first, 100 unless `limit`.
pub(super) async fn dead_letters(
    State(admin): State<Arc<Admin>>,
    query: Result<Query<LetterQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Query(q) = match query {
        Ok(q) => q,
        Err(e) => return bad_query(e.body_text()),
    };
    if q.all {
        return bad_query("all is for purge only");
    }
    let filter = match letters(&q, Some(q.limit.unwrap_or(100))) {
        Ok(f) => f,
        Err(e) => return bad_query(e),
    };
    match admin.records.dead_letters(filter).await {
        Ok(list) => axum::Json(json!({"dead_letters": list})).into_response(),
        Err(e) => unavailable(e),
    }
}

fn letters(q: &LetterQuery, limit: Option<usize>) -> Result<Filter, String> {
    filter(
        &q.destination,
        &q.action,
        &q.reason,
        (&q.since, &q.until),
        limit,
    )
}

/// The JSON body of replay and purge (empty: no filter), or why it is refused.
fn body_filter(body: &[u8]) -> Result<LetterQuery, String> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(LetterQuery::default());
    }
    let q: LetterQuery = serde_json::from_slice(body).map_err(|e| {
        format!(
            "the body must be a JSON filter such as {{\"destination\": \"crm\", \"reason\": \
             \"auth\"}}: {e}"
        )
    })?;
    if q.limit.is_some() {
        return Err(
            "limit: replay and purge apply to every dead letter that matches; narrow \
                    the filter instead"
                .into(),
        );
    }
    Ok(q)
}

/// `POST /admin/dead-letters/replay`: the matching dead letters go back in the queue, due now.
pub(super) async fn replay(State(admin): State<Arc<Admin>>, body: axum::body::Bytes) -> Response {
    let q = match body_filter(&body) {
        Ok(q) => q,
        Err(e) => return AdminError::BadRequest(e).into_response(),
    };
    if q.all {
        return AdminError::BadRequest("all is for purge only".into()).into_response();
    }
    let filter = match letters(&q, None) {
        Ok(f) => f,
        Err(e) => return AdminError::BadRequest(e).into_response(),
    };
    match admin.records.replay(filter, now()).await {
        Ok((replayed, skipped)) => {
            tracing::info!(replayed, skipped, "Dead letters replayed (admin API).");
            axum::Json(json!({
                "replayed": replayed,
                "skipped": skipped,
                "skipped_why": (skipped > 0).then_some(
                    "these hold the event itself, as their mapping refused it: fix the \
                     subscription, then send the events again"),
            }))
            .into_response()
        }
        Err(e) => unavailable(e),
    }
}

/// `POST /admin/dead-letters/purge`: deletes the matching dead letters for good; with no
/// filter, only when the body says `"all": true`.
pub(super) async fn purge(State(admin): State<Arc<Admin>>, body: axum::body::Bytes) -> Response {
    let q = match body_filter(&body) {
        Ok(q) => q,
        Err(e) => return AdminError::BadRequest(e).into_response(),
    };
    let unfiltered = q.destination.is_none()
        && q.action.is_none()
        && q.reason.is_none()
        && q.since.is_none()
        && q.until.is_none();
    if unfiltered && !q.all {
        return AdminError::BadRequest(
            "purge deletes dead letters for good: give a filter (destination, action, reason, \
             since, until) or \"all\": true"
                .into(),
        )
        .into_response();
    }
    let filter = match letters(&q, None) {
        Ok(f) => f,
        Err(e) => return AdminError::BadRequest(e).into_response(),
    };
    match admin.records.purge(filter).await {
        Ok(purged) => {
            tracing::info!(purged, "Dead letters purged (admin API).");
            axum::Json(json!({"purged": purged})).into_response()
        }
        Err(e) => unavailable(e),
    }
}
