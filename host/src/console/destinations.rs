//! Destinations in the console: the list (on or off, where each is defined), creating one from
//! a plugin with a settings form generated from its manifest, editing its settings, switching
//! it on or off, and deleting it after a confirmation. Changes go through the same code as the
//! admin API's (`live/changes.rs`): checked whole, stored, put in force at once.
//!
//! Destinations written in the configuration file are shown read-only, with the file named.
//! Secret settings are never sent to the browser: their fields start empty, and an empty secret
//! field on save keeps the stored value.

use super::catalogue::kind;
use super::session::SignedIn;
use super::{Console, CsrfForm, check_csrf, done_at, field, page};
use crate::config::stored::DestinationSpec;
use crate::live::ChangeError;
use crate::model::{FieldType, Manifest};
use crate::redact::MASK;
use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::sync::Arc;

/// One destination in the list.
pub(super) struct Row {
    name: String,
    plugin: String,
    enabled: bool,
    running: bool,
    /// Where it is defined, when that is the configuration file.
    file: Option<String>,
}

#[derive(Template)]
#[template(path = "console/destinations.html")]
struct ListPage {
    csrf: String,
    page: &'static str,
    rows: Vec<Row>,
    /// Plugins to create a destination from: (id, name).
    plugins: Vec<(String, String)>,
    /// What the last change did, or why it was refused.
    notice: Option<String>,
    problems: Vec<String>,
}

/// One settings field of the form.
pub(super) struct SettingField {
    key: String,
    label: String,
    description: String,
    kind: &'static str,
    /// "text", "password", "number", "checkbox", "select" or "textarea".
    input: &'static str,
    required: bool,
    secret: bool,
    /// The value shown (never a secret's).
    value: String,
    checked: bool,
    choices: Vec<(String, String)>,
    /// Problems that name this setting.
    problems: Vec<String>,
}

#[derive(Template)]
#[template(path = "console/destination_form.html")]
struct FormPage {
    csrf: String,
    page: &'static str,
    /// Editing an existing destination (its name is fixed), or creating one.
    editing: bool,
    name: String,
    plugin_id: String,
    plugin_name: String,
    fields: Vec<SettingField>,
    problems: Vec<String>,
    /// Creating: whether to start with the plugin's presets.
    presets: bool,
    /// Creating: where every request is sent instead (for testing), if anywhere.
    redirect: String,
}

#[derive(Template)]
#[template(path = "console/confirm_delete.html")]
struct ConfirmPage {
    csrf: String,
    page: &'static str,
    name: String,
}

fn rows(console: &Console) -> Vec<Row> {
    let snapshot = console.live.current();
    snapshot
        .config
        .destinations
        .iter()
        .map(|d| Row {
            name: d.name.clone(),
            plugin: snapshot
                .plugins
                .get(&d.plugin)
                .map_or_else(|| d.plugin.clone(), |p| p.manifest().name.clone()),
            enabled: d.enabled,
            running: snapshot
                .routes
                .destinations
                .iter()
                .any(|r| r.name == d.name),
            file: (!d.stored).then(|| format!("{} line {}", snapshot.config.origin, d.line)),
        })
        .collect()
}

fn plugins(console: &Console) -> Vec<(String, String)> {
    let snapshot = console.live.current();
    let mut list: Vec<(String, String)> = snapshot
        .plugins
        .values()
        .map(|p| (p.manifest().id.clone(), p.manifest().name.clone()))
        .collect();
    list.sort_by_key(|(_, name)| name.to_lowercase());
    list
}

fn list_page(
    console: &Console,
    session: &SignedIn,
    notice: Option<String>,
    problems: Vec<String>,
    status: StatusCode,
) -> Response {
    page(
        &ListPage {
            csrf: session.csrf.clone(),
            page: "destinations",
            rows: rows(console),
            plugins: plugins(console),
            notice,
            problems,
        },
        status,
    )
}

#[derive(Deserialize)]
pub(super) struct Notice {
    done: Option<String>,
}

pub(super) async fn list(
    State(console): State<Arc<Console>>,
    session: SignedIn,
    Query(notice): Query<Notice>,
) -> Response {
    list_page(&console, &session, notice.done, Vec::new(), StatusCode::OK)
}

/// The problems of a refused change, as lines to show.
pub(super) fn problems_of(e: ChangeError) -> (StatusCode, Vec<String>) {
    match e {
        ChangeError::NotFound(m) => (StatusCode::NOT_FOUND, vec![m]),
        ChangeError::Conflict(m) => (StatusCode::CONFLICT, vec![m]),
        ChangeError::BadRequest(m) => (StatusCode::UNPROCESSABLE_ENTITY, vec![m]),
        ChangeError::Refused(p) => (StatusCode::UNPROCESSABLE_ENTITY, p.list().to_vec()),
        ChangeError::Store(m) => (StatusCode::INTERNAL_SERVER_ERROR, vec![m]),
    }
}

/// The settings form of `manifest`, filled from `values` (secrets left empty).
fn fields(
    manifest: &Manifest,
    values: &Map<String, Value>,
    problems: &[String],
) -> Vec<SettingField> {
    manifest
        .settings
        .iter()
        .map(|s| {
            let value = values.get(&s.key).or(s.default.as_ref());
            let shown = match value {
                _ if s.secret => String::new(),
                Some(Value::String(text)) => text.clone(),
                Some(Value::Null) | None => String::new(),
                Some(other) => other.to_string(),
            };
            let input = match s.kind {
                _ if s.secret => "password",
                _ if !s.choices.is_empty() => "select",
                FieldType::Boolean => "checkbox",
                FieldType::Number | FieldType::Integer => "number",
                FieldType::Object => "textarea",
                _ => "text",
            };
            let named = |p: &&String| {
                p.contains(&format!("settings.{}", s.key))
                    || p.contains(&format!("'{}'", s.key))
                    || p.contains(&format!("\"{}\"", s.key))
                    || p.contains(&format!("settings: {}", s.key))
            };
            SettingField {
                key: s.key.clone(),
                label: s.label.clone(),
                description: s.description.clone(),
                kind: kind(s.kind),
                input,
                required: s.required,
                secret: s.secret,
                checked: value == Some(&Value::Bool(true)),
                value: shown,
                choices: s
                    .choices
                    .iter()
                    .map(|c| (c.value.clone(), c.label.clone()))
                    .collect(),
                problems: problems.iter().filter(named).cloned().collect(),
            }
        })
        .collect()
}

/// The settings a submitted form holds: each typed as the manifest says; empty fields are left
/// out (so defaults apply), and an empty secret means "keep" when editing.
fn settings_of(
    manifest: &Manifest,
    form: &[(String, String)],
    editing: bool,
) -> Result<Map<String, Value>, Vec<String>> {
    let given = |key: &str| {
        form.iter()
            .find(|(k, _)| k.strip_prefix("setting.") == Some(key))
            .map(|(_, v)| v.trim())
    };
    let mut settings = Map::new();
    let mut problems = Vec::new();
    for s in &manifest.settings {
        let raw = given(&s.key);
        if s.kind == FieldType::Boolean && s.choices.is_empty() && !s.secret {
            settings.insert(s.key.clone(), Value::Bool(raw.is_some()));
            continue;
        }
        let Some(raw) = raw.filter(|r| !r.is_empty()) else {
            if s.secret && editing {
                settings.insert(s.key.clone(), json!(MASK));
            }
            continue;
        };
        let value = match s.kind {
            FieldType::Integer => raw
                .parse::<i64>()
                .map(Value::from)
                .map_err(|_| format!("settings.{}: {raw:?} is not a whole number", s.key)),
            FieldType::Number => raw
                .parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
                .map(Value::Number)
                .ok_or_else(|| format!("settings.{}: {raw:?} is not a number", s.key)),
            FieldType::Object => serde_json::from_str(raw)
                .map_err(|e| format!("settings.{}: not valid JSON ({e})", s.key)),
            _ => Ok(Value::String(raw.to_string())),
        };
        match value {
            Ok(v) => {
                settings.insert(s.key.clone(), v);
            }
            Err(p) => problems.push(p),
        }
    }
    if problems.is_empty() {
        Ok(settings)
    } else {
        Err(problems)
    }
}

#[derive(Deserialize)]
pub(super) struct NewQuery {
    plugin: Option<String>,
}

pub(super) async fn new_form(
    State(console): State<Arc<Console>>,
    session: SignedIn,
    Query(query): Query<NewQuery>,
) -> Response {
    let snapshot = console.live.current();
    let id = query.plugin.unwrap_or_default();
    let Some(plugin) = snapshot.plugins.get(&id) else {
        return list_page(
            &console,
            &session,
            None,
            vec![format!("there is no plugin {id:?}; pick one of the list")],
            StatusCode::NOT_FOUND,
        );
    };
    let m = plugin.manifest();
    page(
        &FormPage {
            csrf: session.csrf,
            page: "destinations",
            editing: false,
            name: String::new(),
            plugin_id: m.id.clone(),
            plugin_name: m.name.clone(),
            fields: fields(m, &Map::new(), &[]),
            problems: Vec::new(),
            presets: true,
            redirect: String::new(),
        },
        StatusCode::OK,
    )
}

/// The form again, as submitted, with the problems that refused it.
fn refilled(
    session: &SignedIn,
    manifest: &Manifest,
    name: &str,
    editing: bool,
    form: &[(String, String)],
    problems: Vec<String>,
    status: StatusCode,
) -> Response {
    let values: Map<String, Value> = form
        .iter()
        .filter_map(|(k, v)| {
            Some((
                k.strip_prefix("setting.")?.to_string(),
                Value::String(v.clone()),
            ))
        })
        .collect();
    page(
        &FormPage {
            csrf: session.csrf.clone(),
            page: "destinations",
            editing,
            name: name.to_string(),
            plugin_id: manifest.id.clone(),
            plugin_name: manifest.name.clone(),
            fields: fields(manifest, &values, &problems),
            problems,
            presets: field(form, "presets") == "yes",
            redirect: field(form, "redirect_outbound").to_string(),
        },
        status,
    )
}

pub(super) async fn create(
    State(console): State<Arc<Console>>,
    session: SignedIn,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    if let Err(refused) = check_csrf(&session, field(&form, "csrf")) {
        return refused.into_response();
    }
    let snapshot = console.live.current();
    let id = field(&form, "plugin").to_string();
    let name = field(&form, "name").trim().to_string();
    let Some(plugin) = snapshot.plugins.get(&id) else {
        return list_page(
            &console,
            &session,
            None,
            vec![format!("there is no plugin {id:?}")],
            StatusCode::NOT_FOUND,
        );
    };
    let m = plugin.manifest();
    let refused = |problems: Vec<String>, status: StatusCode| {
        refilled(&session, m, &name, false, &form, problems, status)
    };
    let settings = match settings_of(m, &form, false) {
        Ok(s) => s,
        Err(problems) => return refused(problems, StatusCode::UNPROCESSABLE_ENTITY),
    };
    let mut written = json!({"name": name, "plugin": id, "settings": settings});
    let presets = field(&form, "presets") == "yes";
    if !presets {
        written["subscriptions"] = json!([]);
    }
    let redirect = field(&form, "redirect_outbound").trim();
    if !redirect.is_empty() {
        written["redirect_outbound"] = json!(redirect);
    }
    let spec: DestinationSpec = match serde_json::from_value(written) {
        Ok(spec) => spec,
        Err(e) => return refused(vec![e.to_string()], StatusCode::UNPROCESSABLE_ENTITY),
    };
    match console.reloader.create_destination(spec).await {
        Ok(()) => {
            tracing::info!(destination = %name, "Destination created (console).");
            let notice = if presets {
                format!(
                    "Destination {name} created, with the plugin's presets as its subscriptions."
                )
            } else {
                format!("Destination {name} created, with no subscriptions yet.")
            };
            done_at("/destinations", &notice)
        }
        Err(e) => {
            let (status, problems) = problems_of(e);
            refused(problems, status)
        }
    }
}

/// The list with `done` as its notice when the change was made, else with the problems.
fn after_change(
    console: &Console,
    session: &SignedIn,
    outcome: Result<(), ChangeError>,
    done: String,
) -> Response {
    match outcome {
        Ok(()) => done_at("/destinations", &done),
        Err(e) => {
            let (status, problems) = problems_of(e);
            list_page(console, session, None, problems, status)
        }
    }
}

/// A destination that cannot be changed here: the status, and why.
type NotChangeable = (StatusCode, String);

/// The stored destination `name`, with its plugin.
fn stored_one(
    console: &Console,
    name: &str,
) -> Result<(crate::config::Destination, Arc<crate::runtime::Plugin>), NotChangeable> {
    let snapshot = console.live.current();
    let Some(d) = snapshot.config.destinations.iter().find(|d| d.name == name) else {
        return Err((
            StatusCode::NOT_FOUND,
            format!("no destination {name:?} is configured"),
        ));
    };
    if !d.stored {
        return Err((
            StatusCode::CONFLICT,
            format!(
                "destination {name:?} is written in the {} (line {}); change it there, then \
                 reload",
                snapshot.config.origin, d.line
            ),
        ));
    }
    let Some(plugin) = snapshot.plugins.get(&d.plugin) else {
        return Err((
            StatusCode::CONFLICT,
            format!(
                "destination {name:?} uses plugin {:?}, which is not loaded",
                d.plugin
            ),
        ));
    };
    Ok((d.clone(), plugin.clone()))
}

pub(super) async fn edit_form(
    State(console): State<Arc<Console>>,
    session: SignedIn,
    Path(name): Path<String>,
) -> Response {
    let (d, plugin) = match stored_one(&console, &name) {
        Ok(found) => found,
        Err((status, problem)) => {
            return list_page(&console, &session, None, vec![problem], status);
        }
    };
    let m = plugin.manifest();
    let values = d.settings.as_object().cloned().unwrap_or_default();
    page(
        &FormPage {
            csrf: session.csrf,
            page: "destinations",
            editing: true,
            name: d.name,
            plugin_id: m.id.clone(),
            plugin_name: m.name.clone(),
            fields: fields(m, &values, &[]),
            problems: Vec::new(),
            presets: false,
            redirect: String::new(),
        },
        StatusCode::OK,
    )
}

pub(super) async fn update(
    State(console): State<Arc<Console>>,
    session: SignedIn,
    Path(name): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    if let Err(refused) = check_csrf(&session, field(&form, "csrf")) {
        return refused.into_response();
    }
    let (d, plugin) = match stored_one(&console, &name) {
        Ok(found) => found,
        Err((status, problem)) => {
            return list_page(&console, &session, None, vec![problem], status);
        }
    };
    let m = plugin.manifest();
    let refused = |problems: Vec<String>, status: StatusCode| {
        refilled(&session, m, &name, true, &form, problems, status)
    };
    let settings = match settings_of(m, &form, true) {
        Ok(s) => s,
        Err(problems) => return refused(problems, StatusCode::UNPROCESSABLE_ENTITY),
    };
    // Everything but the settings stays as stored; the subscriptions too.
    let stored: Vec<DestinationSpec> = match console.reloader.store.read() {
        Ok(specs) => specs,
        Err(e) => return refused(vec![e.to_string()], StatusCode::INTERNAL_SERVER_ERROR),
    };
    let Some(mut spec) = stored.into_iter().find(|s| s.name == d.name) else {
        return refused(
            vec![format!("destination {name:?} is no longer stored")],
            StatusCode::NOT_FOUND,
        );
    };
    spec.settings = Value::Object(settings);
    match console.reloader.update_destination(&name, spec).await {
        Ok(()) => {
            tracing::info!(destination = %name, "Destination updated (console).");
            done_at(
                "/destinations",
                &format!("Destination {name} saved; it is in force now."),
            )
        }
        Err(e) => {
            let (status, problems) = problems_of(e);
            refused(problems, status)
        }
    }
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
    Path(name): Path<String>,
    Form(form): Form<SwitchForm>,
) -> Response {
    if let Err(refused) = check_csrf(&session, &form.csrf) {
        return refused.into_response();
    }
    let outcome = console
        .reloader
        .switch_destination(&name, form.enabled)
        .await;
    tracing::info!(destination = %name, enabled = form.enabled, ok = outcome.is_ok(), "Destination switched (console).");
    let state = if form.enabled { "on" } else { "off" };
    after_change(
        &console,
        &session,
        outcome,
        format!("Destination {name} is {state}."),
    )
}

pub(super) async fn confirm_delete(
    State(console): State<Arc<Console>>,
    session: SignedIn,
    Path(name): Path<String>,
) -> Response {
    if let Err((status, problem)) = stored_one(&console, &name) {
        return list_page(&console, &session, None, vec![problem], status);
    }
    page(
        &ConfirmPage {
            csrf: session.csrf,
            page: "destinations",
            name,
        },
        StatusCode::OK,
    )
}

pub(super) async fn delete(
    State(console): State<Arc<Console>>,
    session: SignedIn,
    Path(name): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Err(refused) = check_csrf(&session, &form.csrf) {
        return refused.into_response();
    }
    let outcome = console.reloader.delete_destination(&name).await;
    tracing::info!(destination = %name, ok = outcome.is_ok(), "Destination deleted (console).");
    after_change(
        &console,
        &session,
        outcome,
        format!(
            "Destination {name} deleted. Deliveries still queued for it wait in case it comes \
             back."
        ),
    )
}
