//! The subscription editor, with no code: a trigger builder (or the trigger as text, with parse
//! errors at their column), one mapping row per action field (or the mapping as directive
//! JSON), a live preview on a recent or pasted event, and save.
//!
//! The page works as plain forms: every button posts the whole editor to one address, which
//! answers with the editor again (`intent` says what to do: preview, add a condition, add a key,
//! change the action, save). `assets/console.js` adds a live preview while typing by posting the
//! same form to `…/preview`, which answers with the preview alone.
//!
//! Invariants:
//! - Saving goes through `live/changes.rs`, as the admin API does: the whole configuration that
//!   would result is checked, and a refusal is shown beside the field it names.
//! - The editor saves the whole mapping with `use_defaults = false`: what the rows show is
//!   exactly what runs (`rows.rs`).
//! - Pasted events are completed as ingest completes them (`ingest/message.rs`), so the preview
//!   of a bare event sees the `messageId`, `timestamp` and `receivedAt` delivery would see.

mod preview;
mod rows;

use super::session::SignedIn;
use super::{Console, CsrfForm, check_csrf, done_at, field, page, path_segment};
use crate::config::stored::SubscriptionSpec;
use crate::config::{Destination, Subscription};
use crate::ingest::message::{Received, Shared, accept};
use crate::ingest::shallow::{NotObject, Shallow};
use crate::live::{ChangeError, Snapshot};
use crate::model::{Action, Manifest};
use crate::trigger::{Built, Condition, OPERATORS, Trigger};
use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use preview::Preview;
use rows::{KINDS, PART_KINDS, Part, Row};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

/// The event types the builder offers: (code, label).
const TYPES: [(&str, &str); 7] = [
    ("", "Any type"),
    ("track", "Track"),
    ("identify", "Identify"),
    ("page", "Page"),
    ("screen", "Screen"),
    ("group", "Group"),
    ("alias", "Alias"),
];

/// A recent event to preview on: (messageId, label).
struct RecentChoice {
    id: String,
    label: String,
}

/// Everything the editor shows.
struct Editor {
    destination: String,
    plugin_name: String,
    /// The subscription's name before this edit; empty for a new one.
    original: String,
    name: String,
    actions: Vec<(String, String)>,
    action: Action,
    /// "builder" or "text".
    trigger_mode: String,
    built: Built,
    trigger_text: String,
    trigger_words: Option<String>,
    /// What the trigger did differently in Segment.
    segment_differences: Vec<String>,
    /// The parse error: its column, the message, and a line pointing at the column.
    trigger_error: Option<(usize, String)>,
    builder_problem: Option<String>,
    /// "rows" or "json".
    mapping_mode: String,
    rows: Vec<Row>,
    mapping_json: String,
    mapping_problem: Option<String>,
    event_names: Vec<String>,
    event_paths: Vec<String>,
    item_paths: Vec<String>,
    recent: Vec<RecentChoice>,
    /// The recent event chosen (its messageId), or "paste".
    chosen: String,
    pasted: String,
    preview: Option<Preview>,
    /// Problems of a refused save that name no field.
    problems: Vec<String>,
    /// Set when the destination is written in the configuration file.
    read_only: Option<String>,
    enabled: bool,
}

#[derive(Template)]
#[template(path = "console/editor.html")]
struct EditorPage {
    csrf: String,
    page: &'static str,
    e: Editor,
    types: &'static [(&'static str, &'static str)],
    operators: &'static [(&'static str, &'static str, bool)],
    kinds: &'static [(&'static str, &'static str)],
    part_kinds: &'static [(&'static str, &'static str)],
}

#[derive(Template)]
#[template(path = "console/preview.html")]
struct PreviewFragment {
    e: Editor,
}

fn editor_page(session: &SignedIn, e: Editor, status: StatusCode) -> Response {
    page(
        &EditorPage {
            csrf: session.csrf.clone(),
            page: "destinations",
            e,
            types: &TYPES,
            operators: &OPERATORS,
            kinds: &KINDS,
            part_kinds: &PART_KINDS,
        },
        status,
    )
}

/// A destination, plugin or subscription the address names that is not there.
struct NotFound(String);

impl IntoResponse for NotFound {
    fn into_response(self) -> Response {
        (StatusCode::NOT_FOUND, self.0).into_response()
    }
}

fn not_found(message: String) -> NotFound {
    NotFound(message)
}

/// The configured destination `name` and its plugin's manifest.
fn destination<'a>(
    snapshot: &'a Snapshot,
    name: &str,
) -> Result<(&'a Destination, &'a Manifest), NotFound> {
    let d = snapshot
        .config
        .destinations
        .iter()
        .find(|d| d.name == name)
        .ok_or_else(|| not_found(format!("no destination {name:?} is configured")))?;
    let manifest = snapshot
        .plugins
        .get(&d.plugin)
        .map(|p| p.manifest())
        .ok_or_else(|| {
            not_found(format!(
                "destination {name:?} uses plugin {:?}, which is not loaded",
                d.plugin
            ))
        })?;
    Ok((d, manifest))
}

/// The subscriptions a destination runs with: its own, or its plugin's presets.
fn subscriptions_of(d: &Destination, manifest: &Manifest) -> Vec<Subscription> {
    d.subscriptions.clone().unwrap_or_else(|| {
        manifest
            .presets
            .iter()
            .map(|p| Subscription {
                name: p.name.clone(),
                line: 0,
                action: p.action.clone(),
                trigger: p.trigger.clone(),
                trigger_line: 0,
                mapping: p.mapping.as_ref().and_then(Value::as_object).cloned(),
                mapping_line: 0,
                use_defaults: true,
                hook_outputs: Vec::new(),
                enabled: true,
                start_from: None,
            })
            .collect()
    })
}

/// Walks an event: every path (`properties.trips`), and inside lists of objects every path of
/// an item (`route`), for the pickers.
fn walk(value: &Value, at: &str, paths: &mut BTreeSet<String>, items: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                let path = if at.is_empty() {
                    key.clone()
                } else {
                    format!("{at}.{key}")
                };
                paths.insert(path.clone());
                walk(v, &path, paths, items);
            }
        }
        Value::Array(list) => {
            for item in list.iter().take(20) {
                let mut inner = BTreeSet::new();
                walk(item, "", &mut inner, &mut BTreeSet::new());
                for p in inner {
                    paths.insert(format!("{at}[].{p}"));
                    items.insert(p);
                }
            }
        }
        _ => {}
    }
}

impl Editor {
    /// The editor for `d`, showing a subscription (`sub`) or a new one for `action`.
    fn open(
        console: &Console,
        snapshot: &Snapshot,
        d: &Destination,
        manifest: &Manifest,
        sub: Option<&Subscription>,
        action: Option<&str>,
    ) -> Editor {
        let action_id = sub
            .map(|s| s.action.as_str())
            .or(action)
            .unwrap_or_default();
        let action = manifest
            .actions
            .iter()
            .find(|a| a.id == action_id)
            .or(manifest.actions.first())
            .cloned()
            .expect("a manifest has an action");
        let trigger_text = match sub {
            Some(s) => s.trigger.clone(),
            None => action
                .default_trigger
                .clone()
                .unwrap_or_else(|| "type = \"track\"".into()),
        };
        let effective = match sub {
            Some(s) => rows::effective(&action, s.mapping.as_ref(), s.use_defaults),
            None => rows::effective(&action, None, true),
        };
        let mut e = Editor::blank(console, snapshot, d, manifest, action);
        e.original = sub.map(|s| s.name.clone()).unwrap_or_default();
        e.name = sub.map_or_else(|| e.action.title.clone(), |s| s.name.clone());
        e.enabled = sub.is_none_or(|s| s.enabled);
        e.rows = rows::rows(&e.action, &effective);
        e.set_trigger_text(trigger_text);
        // Start on the newest recent event the trigger takes, else the newest.
        let trigger = Trigger::parse(&e.trigger_text).ok();
        let samples = console
            .recent
            .newest(|s| d.sources.iter().any(|x| **x == *s.source));
        let first = samples
            .iter()
            .find(|s| trigger.as_ref().is_some_and(|t| t.matches(&s.event)))
            .or(samples.first());
        e.chosen = first
            .and_then(|s| s.event["messageId"].as_str())
            .unwrap_or("paste")
            .to_string();
        e
    }

    fn blank(
        console: &Console,
        snapshot: &Snapshot,
        d: &Destination,
        manifest: &Manifest,
        action: Action,
    ) -> Editor {
        let samples = console
            .recent
            .newest(|s| d.sources.iter().any(|x| **x == *s.source));
        let mut names = BTreeSet::new();
        let mut paths = BTreeSet::new();
        let mut items = BTreeSet::new();
        for s in &samples {
            for key in ["event", "name"] {
                if let Some(n) = s.event.get(key).and_then(Value::as_str) {
                    names.insert(n.to_string());
                }
            }
            walk(&s.event, "", &mut paths, &mut items);
        }
        let recent = samples
            .iter()
            .filter_map(|s| {
                let id = s.event.get("messageId")?.as_str()?.to_string();
                let text = |k: &str| s.event.get(k).and_then(Value::as_str).unwrap_or("");
                let what = match text("type") {
                    "track" => text("event").to_string(),
                    kind if !text("name").is_empty() => format!("{kind} {}", text("name")),
                    kind => kind.to_string(),
                };
                let who = if text("userId").is_empty() {
                    text("anonymousId")
                } else {
                    text("userId")
                };
                Some(RecentChoice {
                    label: format!("{what} · {who} · {}", text("receivedAt")),
                    id,
                })
            })
            .collect();
        Editor {
            destination: d.name.clone(),
            plugin_name: manifest.name.clone(),
            original: String::new(),
            name: String::new(),
            actions: manifest
                .actions
                .iter()
                .map(|a| (a.id.clone(), a.title.clone()))
                .collect(),
            action,
            trigger_mode: "builder".into(),
            built: Built::default(),
            trigger_text: String::new(),
            trigger_words: None,
            segment_differences: Vec::new(),
            trigger_error: None,
            builder_problem: None,
            mapping_mode: "rows".into(),
            rows: Vec::new(),
            mapping_json: String::new(),
            mapping_problem: None,
            event_names: names.into_iter().collect(),
            event_paths: paths.into_iter().collect(),
            item_paths: items.into_iter().collect(),
            recent,
            chosen: "paste".into(),
            pasted: String::new(),
            preview: None,
            problems: Vec::new(),
            read_only: (!d.stored).then(|| {
                format!(
                    "destination {:?} is written in the {} (line {}): this editor previews \
                     its subscriptions; change them there",
                    d.name, snapshot.config.origin, d.line
                )
            }),
            enabled: true,
        }
    }

    /// Shows `text` as the trigger: in the builder when it can, else as text.
    fn set_trigger_text(&mut self, text: String) {
        match Trigger::parse(&text) {
            Ok(t) => {
                match t.built() {
                    Some(b) => {
                        self.built = b;
                        self.trigger_mode = "builder".into();
                    }
                    None => self.trigger_mode = "text".into(),
                }
                self.trigger_words = Some(t.in_words());
                self.segment_differences = t.segment_differences();
            }
            Err(e) => {
                self.trigger_mode = "text".into();
                self.trigger_error = Some((e.column, e.message));
            }
        }
        self.trigger_text = text;
    }

    /// The parsed trigger, after the builder or the text was read.
    fn trigger(&self) -> Option<Trigger> {
        if self.builder_blocks() || self.trigger_error.is_some() {
            return None;
        }
        Trigger::parse(&self.trigger_text).ok()
    }

    /// The line under the trigger text that points at the error's column.
    fn pointer(&self) -> String {
        match &self.trigger_error {
            Some((column, _)) => format!("{}^", " ".repeat(column.saturating_sub(1))),
            None => String::new(),
        }
    }

    /// A builder problem counts only while the builder writes the trigger.
    fn builder_blocks(&self) -> bool {
        self.trigger_mode == "builder" && self.builder_problem.is_some()
    }

    fn has_problems(&self) -> bool {
        self.builder_blocks()
            || self.trigger_error.is_some()
            || self.mapping_problem.is_some()
            || self.rows.iter().any(|r| !r.problems.is_empty())
            || self.name.trim().is_empty()
    }
}

/// Reads what the form says into the editor.
fn read_form(e: &mut Editor, form: &[(String, String)]) {
    let one = |key: &str| field(form, key).to_string();
    e.original = one("original");
    e.name = one("name").trim().to_string();
    e.enabled = one("enabled") != "false";
    e.chosen = one("event");
    if e.chosen.is_empty() {
        e.chosen = "paste".into();
    }
    e.pasted = one("pasted");

    // The trigger: the builder's fields, or the text.
    e.trigger_mode = if one("trigger_mode") == "text" {
        "text".into()
    } else {
        "builder".into()
    };
    let mut conditions: Vec<(usize, Condition)> = Vec::new();
    for (k, v) in form {
        let Some((n, what)) = k
            .strip_prefix("condition.")
            .and_then(|r| r.split_once('.'))
            .and_then(|(n, w)| Some((n.parse::<usize>().ok()?, w)))
        else {
            continue;
        };
        let at = match conditions.iter().position(|(i, _)| *i == n) {
            Some(at) => at,
            None => {
                conditions.push((n, Condition::default()));
                conditions.len() - 1
            }
        };
        let c = &mut conditions[at].1;
        match what {
            "field" => c.field.clone_from(v),
            "operator" => c.operator.clone_from(v),
            "value" => c.value.clone_from(v),
            _ => {}
        }
    }
    conditions.sort_by_key(|(n, _)| *n);
    e.built = Built {
        kind: one("trigger.kind"),
        name: one("trigger.name"),
        any: one("trigger.any") == "any",
        conditions: conditions
            .into_iter()
            .map(|(_, c)| c)
            .filter(|c| !c.field.trim().is_empty())
            .collect(),
    };
    if e.trigger_mode == "builder" {
        match e.built.text() {
            Ok(text) => e.trigger_text = text,
            Err(p) => e.builder_problem = Some(p),
        }
    } else {
        e.trigger_text = one("trigger_text");
    }
    if e.builder_problem.is_none() {
        match Trigger::parse(&e.trigger_text) {
            Ok(t) => {
                e.trigger_words = Some(t.in_words());
                e.segment_differences = t.segment_differences();
            }
            Err(err) => e.trigger_error = Some((err.column, err.message)),
        }
    }

    // The mapping: the rows, or the JSON; rows of another action start from its defaults.
    let action_changed = one("shown_action") != e.action.id;
    e.mapping_mode = if one("mapping_mode") == "json" {
        "json".into()
    } else {
        "rows".into()
    };
    if action_changed {
        e.mapping_mode = "rows".into();
        e.rows = rows::rows(&e.action, &rows::effective(&e.action, None, true));
    } else if e.mapping_mode == "json" {
        let text = one("mapping_json");
        match serde_json::from_str::<Value>(&text) {
            Ok(Value::Object(map)) => {
                let unknown: Vec<&String> =
                    map.keys().filter(|k| e.action.field(k).is_none()).collect();
                if unknown.is_empty() {
                    e.rows = rows::rows(&e.action, &map);
                } else {
                    let keys: Vec<&str> = e.action.fields.iter().map(|f| f.key.as_str()).collect();
                    e.mapping_problem = Some(format!(
                        "{} is not a field of {}; its fields are: {}",
                        unknown
                            .iter()
                            .map(|k| format!("{k:?}"))
                            .collect::<Vec<_>>()
                            .join(", "),
                        e.action.title,
                        keys.join(", ")
                    ));
                }
            }
            Ok(_) => e.mapping_problem = Some("the mapping must be a JSON object".into()),
            Err(err) => e.mapping_problem = Some(format!("not valid JSON: {err}")),
        }
        if e.mapping_problem.is_some() {
            e.rows = rows::from_form(&e.action, form);
            e.mapping_json = text;
        }
    } else {
        e.rows = rows::from_form(&e.action, form);
    }
}

/// The mapping the editor's rows write (problems put on their rows), and its JSON shown.
fn write_mapping(e: &mut Editor) -> Map<String, Value> {
    let mapping = rows::mapping(&e.action, &mut e.rows);
    if e.mapping_problem.is_none() {
        e.mapping_json = serde_json::to_string_pretty(&mapping).unwrap_or_default();
    }
    mapping
}

/// The event to preview on: the chosen recent one, or the pasted one completed as ingest does.
fn chosen_event(
    console: &Console,
    e: &Editor,
    sources: &[String],
) -> Result<Option<Value>, String> {
    if e.chosen != "paste" {
        let found = console.recent.newest(|s| {
            sources.iter().any(|x| **x == *s.source) && s.event["messageId"] == *e.chosen
        });
        return match found.into_iter().next() {
            Some(s) => Ok(Some(s.event)),
            None => Err(format!(
                "the recent event {:?} is no longer kept; pick another or paste one",
                e.chosen
            )),
        };
    }
    if e.pasted.trim().is_empty() {
        return Ok(None);
    }
    let message = match Shallow::parse(&e.pasted) {
        Ok(message) => message,
        Err(NotObject::Other) => return Err("the pasted event must be a JSON object".into()),
        Err(NotObject::Syntax(err)) => {
            return Err(format!("the pasted event is not valid JSON: {err}"));
        }
    };
    let received = Received {
        at: time::OffsetDateTime::now_utc(),
        sent_at: None,
        ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
    };
    let accepted = accept(message, None, e.pasted.len(), &Shared::default(), &received)
        .map_err(|err| format!("the pasted event would be refused at ingest: {err}"))?;
    serde_json::from_str(&accepted.text)
        .map(Some)
        .map_err(|err| format!("the completed event is not valid JSON: {err}"))
}

/// Runs the preview, when there is an event.
async fn run_preview(console: &Console, snapshot: &Snapshot, d: &Destination, e: &mut Editor) {
    let mapping = write_mapping(e);
    let event = match chosen_event(console, e, &d.sources) {
        Ok(Some(event)) => event,
        Ok(None) => return,
        Err(problem) => {
            e.preview = Some(Preview {
                note: Some(problem),
                ..Preview::default()
            });
            return;
        }
    };
    let route = snapshot
        .routes
        .destinations
        .iter()
        .find(|r| r.name == d.name);
    let trigger = e.trigger();
    e.preview = Some(
        preview::preview(
            route,
            &e.action,
            trigger.as_ref(),
            &mut e.rows,
            &mapping,
            &event,
        )
        .await,
    );
}

#[derive(Deserialize)]
pub(super) struct NewQuery {
    action: Option<String>,
}

pub(super) async fn new_form(
    State(console): State<Arc<Console>>,
    session: SignedIn,
    Path(name): Path<String>,
    Query(query): Query<NewQuery>,
) -> Response {
    let snapshot = console.live.current();
    let (d, manifest) = match destination(&snapshot, &name) {
        Ok(found) => found,
        Err(r) => return r.into_response(),
    };
    let mut e = Editor::open(
        &console,
        &snapshot,
        d,
        manifest,
        None,
        query.action.as_deref(),
    );
    run_preview(&console, &snapshot, d, &mut e).await;
    editor_page(&session, e, StatusCode::OK)
}

pub(super) async fn edit_form(
    State(console): State<Arc<Console>>,
    session: SignedIn,
    Path((name, sub)): Path<(String, String)>,
) -> Response {
    let snapshot = console.live.current();
    let (d, manifest) = match destination(&snapshot, &name) {
        Ok(found) => found,
        Err(r) => return r.into_response(),
    };
    let subs = subscriptions_of(d, manifest);
    let Some(found) = subs.iter().find(|s| s.name == sub) else {
        return not_found(format!("destination {name:?} has no subscription {sub:?}"))
            .into_response();
    };
    let mut e = Editor::open(&console, &snapshot, d, manifest, Some(found), None);
    run_preview(&console, &snapshot, d, &mut e).await;
    editor_page(&session, e, StatusCode::OK)
}

/// The editor as the form describes it, with the preview run.
async fn submitted(
    console: &Console,
    snapshot: &Snapshot,
    name: &str,
    form: &[(String, String)],
) -> Result<Editor, NotFound> {
    let (d, manifest) = destination(snapshot, name)?;
    let action_id = field(form, "action");
    let action = manifest
        .actions
        .iter()
        .find(|a| a.id == action_id)
        .or(manifest.actions.first())
        .cloned()
        .expect("a manifest has an action");
    let mut e = Editor::blank(console, snapshot, d, manifest, action);
    read_form(&mut e, form);
    // A field just switched to keys or items starts with one key to fill in.
    for row in &mut e.rows {
        if matches!(row.kind.as_str(), "object" | "items") && row.parts.is_empty() {
            row.parts.push(Part {
                kind: "path".into(),
                ..Part::default()
            });
        }
    }
    let intent = field(form, "intent");
    match intent {
        "add-condition" => {
            e.trigger_mode = "builder".into();
            e.builder_problem = None;
            e.built.conditions.push(Condition {
                operator: "is".into(),
                ..Condition::default()
            });
        }
        "trigger-text" => e.trigger_mode = "text".into(),
        "mapping-json" => e.mapping_mode = "json".into(),
        "mapping-rows" if e.mapping_problem.is_none() => e.mapping_mode = "rows".into(),
        "trigger-builder" => {
            let text = e.trigger_text.clone();
            e.trigger_error = None;
            e.set_trigger_text(text);
            if e.trigger_mode == "text" && e.trigger_error.is_none() {
                e.builder_problem = Some(
                    "the builder cannot show this trigger (it has groups or negations); keep \
                     editing it as text"
                        .into(),
                );
            }
        }
        other => {
            if let Some(key) = other.strip_prefix("add-part:")
                && let Some(row) = e.rows.iter_mut().find(|r| r.key == key)
            {
                row.parts.push(Part {
                    kind: "path".into(),
                    ..Part::default()
                });
            }
        }
    }
    run_preview(console, snapshot, d, &mut e).await;
    Ok(e)
}

/// Every editor button: preview, add a condition or a key, change the action, save.
pub(super) async fn submit(
    State(console): State<Arc<Console>>,
    session: SignedIn,
    Path(name): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    if let Err(refused) = check_csrf(&session, field(&form, "csrf")) {
        return refused.into_response();
    }
    let snapshot = console.live.current();
    let mut e = match submitted(&console, &snapshot, &name, &form).await {
        Ok(e) => e,
        Err(r) => return r.into_response(),
    };
    let saving = form.iter().any(|(k, v)| k == "intent" && v == "save");
    if !saving {
        return editor_page(&session, e, StatusCode::OK);
    }
    if e.name.is_empty() {
        e.problems.push("give the subscription a name".into());
    }
    if e.has_problems() {
        return editor_page(&session, e, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let mapping = write_mapping(&mut e);
    let spec = SubscriptionSpec {
        name: e.name.clone(),
        action: e.action.id.clone(),
        trigger: e.trigger_text.clone(),
        mapping: Some(mapping),
        use_defaults: false,
        enabled: e.enabled,
        start_from: None,
    };
    let done = if e.original.is_empty() {
        console.reloader.add_subscription(&name, spec).await
    } else {
        console
            .reloader
            .update_subscription(&name, &e.original, spec)
            .await
    };
    match done {
        Ok(()) => Redirect::to(&format!(
            "/destinations/{}?done={}",
            path_segment(&name),
            path_segment(&format!(
                "Saved \u{201c}{}\u{201d}; it is in force now.",
                e.name
            ))
        ))
        .into_response(),
        Err(err) => {
            let (status, problems) = super::destinations::problems_of(err);
            for p in problems {
                let row = e.rows.iter_mut().find(|r| {
                    p.contains(&format!("/{}", r.key)) || p.contains(&format!("'{}'", r.key))
                });
                match row {
                    Some(row) => row.problems.push(p),
                    None if p.contains("trigger") => e.trigger_error = Some((1, p)),
                    None => e.problems.push(p),
                }
            }
            editor_page(&session, e, status)
        }
    }
}

/// The preview alone, for the live preview while typing.
pub(super) async fn live_preview(
    State(console): State<Arc<Console>>,
    session: SignedIn,
    Path(name): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    if let Err(refused) = check_csrf(&session, field(&form, "csrf")) {
        return refused.into_response();
    }
    let snapshot = console.live.current();
    match submitted(&console, &snapshot, &name, &form).await {
        Ok(e) => page(&PreviewFragment { e }, StatusCode::OK),
        Err(r) => r.into_response(),
    }
}

/// One subscription in a destination's list.
struct SubscriptionRow {
    name: String,
    /// The name as a path segment.
    path: String,
    action: String,
    trigger: String,
    words: String,
    enabled: bool,
}

#[derive(Template)]
#[template(path = "console/destination.html")]
struct DestinationPage {
    csrf: String,
    page: &'static str,
    name: String,
    plugin_name: String,
    enabled: bool,
    read_only: Option<String>,
    subscriptions: Vec<SubscriptionRow>,
    actions: Vec<(String, String)>,
    notice: Option<String>,
    problems: Vec<String>,
    /// The running subscriptions a replay can name; empty when the destination does not run.
    replay_subscriptions: Vec<String>,
    /// The replay form as last sent.
    replay: ReplayFields,
}

/// What the replay form holds (`console/replay.rs`).
#[derive(Debug, Clone, Deserialize)]
pub(in crate::console) struct ReplayFields {
    #[serde(default)]
    pub(in crate::console) subscription: String,
    #[serde(default)]
    pub(in crate::console) from: String,
    #[serde(default)]
    pub(in crate::console) until: String,
}

impl Default for ReplayFields {
    fn default() -> Self {
        ReplayFields {
            subscription: String::new(),
            from: "24h".into(),
            until: String::new(),
        }
    }
}

#[derive(Deserialize)]
pub(super) struct Done {
    done: Option<String>,
}

fn destination_page(
    console: &Console,
    session: &SignedIn,
    name: &str,
    notice: Option<String>,
    problems: Vec<String>,
    status: StatusCode,
) -> Response {
    destination_page_with(
        console,
        session,
        name,
        (notice, problems, status),
        ReplayFields::default(),
    )
}

/// The destination's page with this notice or these problems, and the replay form as given.
pub(in crate::console) fn destination_page_with(
    console: &Console,
    session: &SignedIn,
    name: &str,
    (notice, problems, status): (Option<String>, Vec<String>, StatusCode),
    replay: ReplayFields,
) -> Response {
    let snapshot = console.live.current();
    let replay_subscriptions = snapshot
        .routes
        .destinations
        .iter()
        .find(|r| r.name == name)
        .map(|r| r.subscriptions.iter().map(|s| s.name.clone()).collect())
        .unwrap_or_default();
    let (d, manifest) = match destination(&snapshot, name) {
        Ok(found) => found,
        Err(r) => return r.into_response(),
    };
    let title = |id: &str| {
        manifest
            .actions
            .iter()
            .find(|a| a.id == id)
            .map_or_else(|| id.to_string(), |a| a.title.clone())
    };
    let subscriptions = subscriptions_of(d, manifest)
        .into_iter()
        .map(|s| SubscriptionRow {
            words: Trigger::parse(&s.trigger).map_or_else(|e| e.to_string(), |t| t.in_words()),
            action: title(&s.action),
            path: path_segment(&s.name),
            name: s.name,
            trigger: s.trigger,
            enabled: s.enabled,
        })
        .collect();
    page(
        &DestinationPage {
            csrf: session.csrf.clone(),
            page: "destinations",
            name: d.name.clone(),
            plugin_name: manifest.name.clone(),
            enabled: d.enabled,
            read_only: (!d.stored).then(|| {
                format!(
                    "Defined in the {} (line {}): change it there.",
                    snapshot.config.origin, d.line
                )
            }),
            subscriptions,
            actions: manifest
                .actions
                .iter()
                .map(|a| (a.id.clone(), a.title.clone()))
                .collect(),
            notice,
            problems,
            replay_subscriptions,
            replay,
        },
        status,
    )
}

/// A destination and its subscriptions.
pub(super) async fn show(
    State(console): State<Arc<Console>>,
    session: SignedIn,
    Path(name): Path<String>,
    Query(done): Query<Done>,
) -> Response {
    destination_page(
        &console,
        &session,
        &name,
        done.done,
        Vec::new(),
        StatusCode::OK,
    )
}

#[derive(Deserialize)]
pub(super) struct SwitchForm {
    #[serde(default)]
    csrf: String,
    enabled: bool,
}

pub(super) async fn switch(
    State(console): State<Arc<Console>>,
    session: SignedIn,
    Path((name, sub)): Path<(String, String)>,
    Form(form): Form<SwitchForm>,
) -> Response {
    if let Err(refused) = check_csrf(&session, &form.csrf) {
        return refused.into_response();
    }
    let done = console
        .reloader
        .switch_subscription(&name, &sub, form.enabled)
        .await;
    finish(&console, &session, &name, done, || {
        format!(
            "\u{201c}{sub}\u{201d} is switched {}.",
            if form.enabled { "on" } else { "off" }
        )
    })
}

#[derive(Template)]
#[template(path = "console/confirm_delete_subscription.html")]
struct ConfirmPage {
    csrf: String,
    page: &'static str,
    destination: String,
    name: String,
    path: String,
}

pub(super) async fn confirm_delete(
    State(console): State<Arc<Console>>,
    session: SignedIn,
    Path((name, sub)): Path<(String, String)>,
) -> Response {
    let snapshot = console.live.current();
    if let Err(r) = destination(&snapshot, &name) {
        return r.into_response();
    }
    page(
        &ConfirmPage {
            csrf: session.csrf,
            page: "destinations",
            destination: name,
            path: path_segment(&sub),
            name: sub,
        },
        StatusCode::OK,
    )
}

pub(super) async fn delete(
    State(console): State<Arc<Console>>,
    session: SignedIn,
    Path((name, sub)): Path<(String, String)>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Err(refused) = check_csrf(&session, &form.csrf) {
        return refused.into_response();
    }
    let done = console.reloader.delete_subscription(&name, &sub).await;
    finish(&console, &session, &name, done, || {
        format!("\u{201c}{sub}\u{201d} is deleted.")
    })
}

/// After a change: back to the destination with what was done, or why not.
fn finish(
    console: &Console,
    session: &SignedIn,
    name: &str,
    done: Result<(), ChangeError>,
    notice: impl FnOnce() -> String,
) -> Response {
    match done {
        Ok(()) => done_at(&format!("/destinations/{}", path_segment(name)), &notice()),
        Err(err) => {
            let (status, problems) = super::destinations::problems_of(err);
            destination_page(console, session, name, None, problems, status)
        }
    }
}

#[cfg(test)]
mod tests;
