//! Deliveries and dead letters: the delivery log (every attempt: its request summary, the
//! status answered and the error with its excerpt of the answer) and the dead letters, filtered
//! by destination, action, outcome or reason, and time. Dead letters can be replayed (those
//! selected, or every one the filter matches) and purged, which asks for a confirmation first.
//!
//! Invariants:
//! - Filters mean what the admin API's and the CLI's mean (`queue::Filter`; times as RFC 3339
//!   or an age such as `24h`), and a bad one is shown, naming it, instead of being ignored:
//!   "purge these" must never become "purge everything".
//! - Purge changes nothing until a second, confirmed request that names the same filter; a
//!   purge with no filter and nothing selected is refused.
//! - What the log holds was redacted when it was written; nothing here adds a secret.

use super::session::SignedIn;
use super::{Console, check_csrf, page};
use crate::queue::{Attempt, DeadLetter, Filter, now, shown_time};
use askama::Template;
use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use std::sync::Arc;

/// How many entries of each list a page shows.
const SHOWN: usize = 200;

/// The filters, as the form holds them.
#[derive(Deserialize, Default, Clone)]
pub(super) struct Filters {
    #[serde(default)]
    destination: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    reason: String,
    since: Option<String>,
    #[serde(default)]
    until: String,
    done: Option<String>,
}

impl Filters {
    fn since(&self) -> &str {
        self.since.as_deref().unwrap_or("24h")
    }

    /// The queue filter, for the log (`outcome`) or for dead letters (`reason`); a bad time is
    /// an error naming the filter.
    fn filter(&self, for_letters: bool, ids: Vec<i64>) -> Result<Filter, String> {
        let now = now();
        let given = |t: &str| (!t.trim().is_empty()).then(|| t.trim().to_string());
        let time = |text: &str, name: &str| {
            given(text)
                .map(|t| Filter::time(&t, now).map_err(|e| format!("{name}: {e}")))
                .transpose()
        };
        Ok(Filter {
            destination: given(&self.destination),
            action: given(&self.action),
            reason: given(if for_letters {
                &self.reason
            } else {
                &self.outcome
            }),
            since: time(self.since(), "since")?,
            until: time(&self.until, "until")?,
            limit: None,
            message_ids: Vec::new(),
            ids,
        })
    }

    /// The filters as hidden fields, to carry into replay, purge and its confirmation.
    fn pairs(&self) -> Vec<(&'static str, String)> {
        vec![
            ("destination", self.destination.clone()),
            ("action", self.action.clone()),
            ("reason", self.reason.clone()),
            ("since", self.since().to_string()),
            ("until", self.until.clone()),
        ]
    }

    fn is_empty(&self) -> bool {
        [&self.destination, &self.action, &self.reason, &self.until]
            .iter()
            .all(|t| t.trim().is_empty())
            && self.since().trim().is_empty()
    }
}

/// One attempt of the log, as shown.
struct AttemptRow {
    at: String,
    destination: String,
    subscription: String,
    action: String,
    message_id: String,
    outcome: String,
    status: String,
    latency_ms: u64,
    request: String,
    error: String,
    /// Made by a replay or a backfill from the event log.
    replayed: bool,
}

impl From<Attempt> for AttemptRow {
    fn from(a: Attempt) -> AttemptRow {
        AttemptRow {
            at: shown_time(a.at),
            destination: a.destination,
            subscription: a.subscription,
            action: a.action,
            message_id: a.message_id,
            outcome: a.outcome,
            status: a.status.map(|s| s.to_string()).unwrap_or_default(),
            latency_ms: a.latency_ms,
            request: a.request.unwrap_or_default(),
            error: a.error.unwrap_or_default(),
            replayed: a.replayed,
        }
    }
}

/// One dead letter, as shown.
struct LetterRow {
    id: i64,
    dead_at: String,
    destination: String,
    subscription: String,
    action: String,
    message_id: String,
    reason: String,
    error: String,
    attempts: u32,
    request: String,
    payload: String,
    is_event: bool,
}

impl From<DeadLetter> for LetterRow {
    fn from(d: DeadLetter) -> LetterRow {
        let payload = match serde_json::from_str::<serde_json::Value>(&d.payload) {
            Ok(v) => serde_json::to_string_pretty(&v).unwrap_or(d.payload),
            Err(_) => d.payload,
        };
        LetterRow {
            id: d.id,
            dead_at: shown_time(d.dead_at),
            destination: d.destination,
            subscription: d.subscription,
            action: d.action,
            message_id: d.message_id,
            reason: d.reason,
            error: d.error.unwrap_or_default(),
            attempts: d.attempts,
            request: d.request.unwrap_or_default(),
            payload,
            is_event: d.is_event,
        }
    }
}

#[derive(Template)]
#[template(path = "console/deliveries.html")]
struct DeliveriesPage {
    csrf: String,
    page: &'static str,
    f: Filters,
    hidden: Vec<(&'static str, String)>,
    destinations: Vec<String>,
    attempts: Vec<AttemptRow>,
    /// Whether more attempts match than are shown.
    more_attempts: bool,
    letters: Vec<LetterRow>,
    more_letters: bool,
    notice: Option<String>,
    problems: Vec<String>,
}

fn destinations(console: &Console) -> Vec<String> {
    let snapshot = console.live.current();
    let mut names: Vec<String> = snapshot
        .config
        .destinations
        .iter()
        .map(|d| d.name.clone())
        .collect();
    names.sort();
    names
}

async fn deliveries_page(
    console: &Console,
    session: &SignedIn,
    f: Filters,
    mut problems: Vec<String>,
    status: StatusCode,
) -> Response {
    let mut attempts = Vec::new();
    let mut letters = Vec::new();
    match f.filter(false, Vec::new()) {
        Ok(mut filter) => {
            filter.limit = Some(SHOWN + 1);
            match console.records.attempts(filter).await {
                // The log is newest last; the page shows the newest first.
                Ok(list) => attempts = list.into_iter().rev().map(AttemptRow::from).collect(),
                Err(e) => problems.push(format!("cannot read the delivery log: {e}")),
            }
        }
        Err(p) => problems.push(p),
    }
    match f.filter(true, Vec::new()) {
        Ok(mut filter) => {
            filter.limit = Some(SHOWN + 1);
            match console.records.dead_letters(filter).await {
                Ok(list) => letters = list.into_iter().map(LetterRow::from).collect(),
                Err(e) => problems.push(format!("cannot read the dead letters: {e}")),
            }
        }
        Err(p) => {
            if !problems.contains(&p) {
                problems.push(p);
            }
        }
    }
    let more_attempts = attempts.len() > SHOWN;
    attempts.truncate(SHOWN);
    let more_letters = letters.len() > SHOWN;
    letters.truncate(SHOWN);
    page(
        &DeliveriesPage {
            csrf: session.csrf.clone(),
            page: "deliveries",
            hidden: f.pairs(),
            notice: f.done.clone(),
            f,
            destinations: destinations(console),
            attempts,
            more_attempts,
            letters,
            more_letters,
            problems,
        },
        status,
    )
}

pub(super) async fn show(
    State(console): State<Arc<Console>>,
    session: SignedIn,
    Query(f): Query<Filters>,
) -> Response {
    deliveries_page(&console, &session, f, Vec::new(), StatusCode::OK).await
}

/// What replay and purge are given: the filters, the letters selected, and for purge whether
/// it is confirmed.
struct Chosen {
    csrf: String,
    f: Filters,
    ids: Vec<i64>,
    /// "selected" or "matching".
    which: String,
    confirmed: bool,
}

fn chosen(form: &[(String, String)]) -> Result<Chosen, String> {
    let one = |key: &str| form.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
    let mut ids = Vec::new();
    for (_, v) in form.iter().filter(|(k, _)| k == "id") {
        ids.push(
            v.parse::<i64>()
                .map_err(|_| format!("id: {v:?} is not a dead letter's id"))?,
        );
    }
    Ok(Chosen {
        csrf: one("csrf").unwrap_or_default(),
        f: Filters {
            destination: one("destination").unwrap_or_default(),
            action: one("action").unwrap_or_default(),
            outcome: String::new(),
            reason: one("reason").unwrap_or_default(),
            since: Some(one("since").unwrap_or_default()),
            until: one("until").unwrap_or_default(),
            done: None,
        },
        ids,
        which: one("which").unwrap_or_default(),
        confirmed: one("confirmed").as_deref() == Some("yes"),
    })
}

/// The dead letters `c` applies to, or why it applies to none.
fn letters_filter(c: &Chosen) -> Result<Filter, String> {
    match c.which.as_str() {
        "selected" if c.ids.is_empty() => {
            Err("nothing is selected: tick the dead letters first".into())
        }
        "selected" => c.f.filter(true, c.ids.clone()),
        "matching" => c.f.filter(true, Vec::new()),
        other => Err(format!(
            "which: {other:?} is neither \"selected\" nor \"matching\""
        )),
    }
}

/// Reads a replay or purge form: checks its CSRF token and builds its filter. A refusal is the
/// page again with the problem (or the CSRF refusal).
async fn read_chosen(
    console: &Console,
    session: &SignedIn,
    form: &[(String, String)],
    purging: bool,
) -> Result<(Chosen, Filter), Response> {
    let c = match chosen(form) {
        Ok(c) => c,
        Err(p) => return Err(refused(console, session, Filters::default(), p).await),
    };
    if let Err(no) = check_csrf(session, &c.csrf) {
        return Err(no.into_response());
    }
    if purging && c.which == "matching" && c.f.is_empty() {
        let p = "purge deletes dead letters for good: give a filter (destination, action, \
                 reason, since or until), or select the letters"
            .to_string();
        return Err(refused(console, session, c.f, p).await);
    }
    match letters_filter(&c) {
        Ok(filter) => Ok((c, filter)),
        Err(p) => Err(refused(console, session, c.f, p).await),
    }
}

async fn refused(console: &Console, session: &SignedIn, f: Filters, problem: String) -> Response {
    deliveries_page(
        console,
        session,
        f,
        vec![problem],
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await
}

fn back_to(f: &Filters, done: &str) -> Response {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in f.pairs() {
        query.append_pair(k, &v);
    }
    query.append_pair("done", done);
    Redirect::to(&format!("/deliveries?{}", query.finish())).into_response()
}

pub(super) async fn replay(
    State(console): State<Arc<Console>>,
    session: SignedIn,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let (c, filter) = match read_chosen(&console, &session, &form, false).await {
        Ok(read) => read,
        Err(answer) => return answer,
    };
    match console.records.replay(filter, now()).await {
        Ok((replayed, skipped)) => {
            tracing::info!(replayed, skipped, "Dead letters replayed (console).");
            let mut done = format!("{replayed} dead letter(s) are back in the queue, due now.");
            if skipped > 0 {
                done.push_str(&format!(
                    " {skipped} hold the event itself, as their mapping refused it: fix the \
                     subscription, then send those events again."
                ));
            }
            back_to(&c.f, &done)
        }
        Err(e) => {
            deliveries_page(
                &console,
                &session,
                c.f,
                vec![format!("cannot replay: {e}")],
                StatusCode::SERVICE_UNAVAILABLE,
            )
            .await
        }
    }
}

#[derive(Template)]
#[template(path = "console/confirm_purge.html")]
struct ConfirmPurge {
    csrf: String,
    page: &'static str,
    hidden: Vec<(&'static str, String)>,
    ids: Vec<i64>,
    which: String,
    count: usize,
}

pub(super) async fn purge(
    State(console): State<Arc<Console>>,
    session: SignedIn,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let (c, filter) = match read_chosen(&console, &session, &form, true).await {
        Ok(read) => read,
        Err(answer) => return answer,
    };
    if !c.confirmed {
        let count = match console.records.dead_letters(filter).await {
            Ok(list) => list.len(),
            Err(e) => {
                return deliveries_page(
                    &console,
                    &session,
                    c.f,
                    vec![format!("cannot read the dead letters: {e}")],
                    StatusCode::SERVICE_UNAVAILABLE,
                )
                .await;
            }
        };
        return page(
            &ConfirmPurge {
                csrf: session.csrf.clone(),
                page: "deliveries",
                hidden: c.f.pairs(),
                ids: c.ids,
                which: c.which,
                count,
            },
            StatusCode::OK,
        );
    }
    match console.records.purge(filter).await {
        Ok(purged) => {
            tracing::info!(purged, "Dead letters purged (console).");
            back_to(
                &c.f,
                &format!("{purged} dead letter(s) are deleted for good."),
            )
        }
        Err(e) => {
            deliveries_page(
                &console,
                &session,
                c.f,
                vec![format!("cannot purge: {e}")],
                StatusCode::SERVICE_UNAVAILABLE,
            )
            .await
        }
    }
}
