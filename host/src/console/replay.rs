//! "Send past events again" on a destination's page: the console's form of a replay
//! (`deliver/replay.rs`, the same code as `POST /admin/replay` and `switchyard replay`).
//!
//! "Count what would be sent" runs it dry and shows the counts on the page with the form kept
//! as filled in, so that "Send them again" sends exactly what was counted; a replay that sent
//! redirects to the page with what it queued. A bad time or an unknown subscription is named
//! beside the form, and nothing is sent.

use super::editor::{ReplayFields, destination_page_with};
use super::session::SignedIn;
use super::{Console, check_csrf, done_at, path_segment};
use crate::deliver::replay::{self, Replay, ReplayError, Replayed};
use crate::queue::{Filter, now, shown_time};
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use std::sync::Arc;

#[derive(Deserialize)]
pub(super) struct ReplayForm {
    #[serde(default)]
    csrf: String,
    #[serde(flatten)]
    fields: ReplayFields,
    /// `yes` sends; anything else counts.
    #[serde(default)]
    send: String,
}

/// `POST /destinations/{name}/replay`.
pub(super) async fn replay(
    State(console): State<Arc<Console>>,
    session: SignedIn,
    Path(name): Path<String>,
    Form(form): Form<ReplayForm>,
) -> Response {
    if let Err(refused) = check_csrf(&session, &form.csrf) {
        return refused.into_response();
    }
    let fields = form.fields;
    let refuse = |problems: Vec<String>, status: StatusCode, fields: ReplayFields| {
        destination_page_with(&console, &session, &name, (None, problems, status), fields)
    };
    let at = now();
    let from = Filter::time(fields.from.trim(), at).map_err(|e| format!("Received since: {e}"));
    let until = match fields.until.trim() {
        "" => Ok(at + 1),
        t => Filter::time(t, at).map_err(|e| format!("Until: {e}")),
    };
    let (from, until) = match (from, until) {
        (Ok(f), Ok(u)) => (f, u),
        (f, u) => {
            let problems = [f.err(), u.err()].into_iter().flatten().collect();
            return refuse(problems, StatusCode::UNPROCESSABLE_ENTITY, fields);
        }
    };
    let Some(log) = console.reloader.log.clone() else {
        return refuse(
            vec!["This server keeps no event log to send events from.".into()],
            StatusCode::SERVICE_UNAVAILABLE,
            fields,
        );
    };
    let ask = Replay {
        destination: name.clone(),
        subscription: (!fields.subscription.is_empty()).then(|| fields.subscription.clone()),
        from,
        until,
        dry_run: form.send != "yes",
    };
    let snapshot = console.live.current();
    match replay::replay(&snapshot.routes, log.as_ref(), &ask, at).await {
        Ok(done) if ask.dry_run => destination_page_with(
            &console,
            &session,
            &name,
            (Some(summary(&done, &ask)), Vec::new(), StatusCode::OK),
            fields,
        ),
        Ok(done) => {
            tracing::info!(destination = %name, events = done.events, "Replayed from the event log (console).");
            done_at(
                &format!("/destinations/{}", path_segment(&name)),
                &summary(&done, &ask),
            )
        }
        Err(ReplayError::NotFound(e) | ReplayError::BadRequest(e)) => {
            refuse(vec![e], StatusCode::UNPROCESSABLE_ENTITY, fields)
        }
        Err(e @ ReplayError::Log(_)) => {
            refuse(vec![e.to_string()], StatusCode::SERVICE_UNAVAILABLE, fields)
        }
    }
}

/// What a replay counted or queued, in a sentence.
fn summary(done: &Replayed, ask: &Replay) -> String {
    let total: u64 = done.deliveries.values().sum();
    let each: Vec<String> = done
        .deliveries
        .iter()
        .map(|(name, n)| format!("{name} {n}"))
        .collect();
    let window = format!(
        "{} event(s) received from {} to {}",
        done.events,
        shown_time(ask.from),
        shown_time(ask.until)
    );
    let refused = if done.refused > 0 {
        format!(
            " {} matching event(s) could not be mapped{}.",
            done.refused,
            if done.dry_run {
                " and would go to dead letters"
            } else {
                " and are in dead letters"
            }
        )
    } else {
        String::new()
    };
    if done.dry_run {
        format!(
            "Counted, nothing sent: {window} would make {total} deliveries ({}).{refused}",
            each.join(", ")
        )
    } else {
        format!(
            "Sent again: {window} made {total} deliveries ({}); they show as replayed under \
             Deliveries.{refused}",
            each.join(", ")
        )
    }
}
