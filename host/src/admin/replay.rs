//! `POST /admin/replay`: history from the event log run again through a destination's
//! subscriptions as they are now (`deliver/replay.rs` does it; `switchyard replay` asks here).
//!
//! The body names the destination, optionally one subscription, and the window of receipt
//! times (`from`, and `until`, default now) in the CLI's time forms; `dry_run` counts instead
//! of sending. Unknown keys are refused rather than ignored: a misspelt `subscription` must not
//! turn "replay this one" into "replay them all".

use super::Admin;
use super::error::AdminError;
use crate::deliver::replay::{self, Replay, ReplayError};
use crate::queue::{Filter, now};
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use std::sync::Arc;

/// The request body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReplayBody {
    destination: String,
    subscription: Option<String>,
    from: String,
    until: Option<String>,
    #[serde(default)]
    dry_run: bool,
}

/// Reads and checks the body; errors name the key.
fn request(body: &[u8]) -> Result<Replay, String> {
    let b: ReplayBody = serde_json::from_slice(body).map_err(|e| {
        format!(
            "the body must be JSON such as {{\"destination\": \"braze\", \"from\": \"7d\", \
             \"dry_run\": true}}: {e}"
        )
    })?;
    let now = now();
    let from = Filter::time(&b.from, now).map_err(|e| format!("from: {e}"))?;
    let until = match &b.until {
        Some(t) => Filter::time(t, now).map_err(|e| format!("until: {e}"))?,
        None => now + 1,
    };
    Ok(Replay {
        destination: b.destination,
        subscription: b.subscription,
        from,
        until,
        dry_run: b.dry_run,
    })
}

/// `POST /admin/replay`.
pub(super) async fn replay(State(admin): State<Arc<Admin>>, body: axum::body::Bytes) -> Response {
    let ask = match request(&body) {
        Ok(a) => a,
        Err(e) => return AdminError::BadRequest(e).into_response(),
    };
    let Some(log) = admin.reloader.log.clone() else {
        return AdminError::Unavailable("this server keeps no event log to replay".into())
            .into_response();
    };
    let snapshot = admin.live.current();
    match replay::replay(&snapshot.routes, log.as_ref(), &ask, now()).await {
        Ok(done) => {
            tracing::info!(
                destination = %done.destination,
                dry_run = done.dry_run,
                events = done.events,
                deliveries = done.deliveries.values().sum::<u64>(),
                "Replayed from the event log (admin API)."
            );
            axum::Json(done).into_response()
        }
        Err(ReplayError::NotFound(e)) => AdminError::NotFound(e).into_response(),
        Err(ReplayError::BadRequest(e)) => AdminError::BadRequest(e).into_response(),
        Err(e @ ReplayError::Log(_)) => AdminError::Unavailable(e.to_string()).into_response(),
    }
}
