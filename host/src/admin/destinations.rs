//! Destinations and subscriptions over the admin API: list, create, update, enable, disable,
//! delete.
//!
//! Every change goes through [`Reloader::change_stored`](crate::live::Reloader::change_stored):
//! the whole configuration that would result is checked as a reload is (plugin, settings,
//! triggers, mappings), written to `data_dir/destinations.json`, then put in force; anything
//! wrong and nothing changes. Destinations written in the configuration file are shown but
//! changed only there (409 says so): the server never rewrites the operator's file.
//!
//! Secrets: answers show secret settings as `***`. An update may send `***` back for a secret
//! setting to keep its value, so a client can send back what it read.

use super::error::AdminError;
use super::{Admin, views};
use crate::config::stored::{DestinationSpec, SubscriptionSpec};
use crate::live::{ChangeError, Snapshot};
use crate::redact::MASK;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::sync::Arc;

/// A JSON body, or a 400 that names what is wrong and where.
fn body<T: DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T, ChangeError> {
    serde_json::from_slice(bytes).map_err(|e| {
        ChangeError::BadRequest(format!(
            "the body is not a valid {what} (line {} column {}): {e}",
            e.line(),
            e.column()
        ))
    })
}

fn refused(e: ChangeError) -> Response {
    AdminError::from(e).into_response()
}

/// The destination `name` as it is now in force.
fn shown(admin: &Admin, name: &str, status: StatusCode) -> Response {
    let snapshot = admin.live.current();
    match snapshot.config.destinations.iter().find(|d| d.name == name) {
        Some(d) => (
            status,
            axum::Json(views::destination(d, &snapshot, &admin.states)),
        )
            .into_response(),
        None => {
            AdminError::NotFound(format!("no destination {name:?} is configured")).into_response()
        }
    }
}

/// The stored destination `name`, to change; a file destination is a conflict.
fn stored<'a>(
    specs: &'a mut [DestinationSpec],
    snapshot: &Snapshot,
    name: &str,
) -> Result<&'a mut DestinationSpec, ChangeError> {
    if let Some(spec) = specs.iter_mut().find(|s| s.name == name) {
        return Ok(spec);
    }
    match snapshot.config.destinations.iter().find(|d| d.name == name) {
        Some(d) => Err(ChangeError::Conflict(format!(
            "destination {name:?} is written in the {} (line {}); change it there, then \
             reload",
            snapshot.config.origin, d.line
        ))),
        None => Err(ChangeError::NotFound(format!(
            "no destination {name:?} is configured"
        ))),
    }
}

/// The plugin's presets, as subscriptions to edit.
fn presets(snapshot: &Snapshot, plugin: &str) -> Vec<SubscriptionSpec> {
    snapshot
        .plugins
        .get(plugin)
        .map(|p| {
            p.manifest()
                .presets
                .iter()
                .map(|p| SubscriptionSpec {
                    name: p.name.clone(),
                    action: p.action.clone(),
                    trigger: p.trigger.clone(),
                    mapping: p.mapping.as_ref().and_then(Value::as_object).cloned(),
                    use_defaults: true,
                    enabled: true,
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Checks what needs no plugin, so that a bad body is a 400 naming the key.
fn check(spec: &DestinationSpec, snapshot: &Snapshot) -> Result<(), ChangeError> {
    let sources: Vec<String> = snapshot
        .config
        .sources
        .iter()
        .map(|s| s.name.clone())
        .collect();
    spec.to_destination(&sources)
        .map(drop)
        .map_err(ChangeError::BadRequest)
}

pub(super) async fn list(State(admin): State<Arc<Admin>>) -> Response {
    let snapshot = admin.live.current();
    let list: Vec<Value> = snapshot
        .config
        .destinations
        .iter()
        .map(|d| views::destination(d, &snapshot, &admin.states))
        .collect();
    axum::Json(json!({"destinations": list})).into_response()
}

pub(super) async fn get_one(State(admin): State<Arc<Admin>>, Path(name): Path<String>) -> Response {
    shown(&admin, &name, StatusCode::OK)
}

/// `POST /admin/destinations`: without `subscriptions`, the plugin's presets are copied in.
pub(super) async fn create(State(admin): State<Arc<Admin>>, bytes: axum::body::Bytes) -> Response {
    let mut spec: DestinationSpec = match body(&bytes, "destination") {
        Ok(s) => s,
        Err(e) => return refused(e),
    };
    let name = spec.name.clone();
    let outcome = admin
        .reloader
        .change_stored(|specs, snapshot| {
            if let Some(d) = snapshot.config.destinations.iter().find(|d| d.name == name) {
                let place = if d.stored {
                    "made through the admin API".to_string()
                } else {
                    format!("in the {} line {}", snapshot.config.origin, d.line)
                };
                return Err(ChangeError::Conflict(format!(
                    "a destination named {name:?} exists ({place}); update it with PUT, or \
                     choose another name"
                )));
            }
            if spec.subscriptions.is_none() {
                spec.subscriptions = Some(presets(snapshot, &spec.plugin));
            }
            check(&spec, snapshot)?;
            specs.push(spec);
            Ok(())
        })
        .await;
    tracing::info!(destination = %name, ok = outcome.is_ok(), "Destination created (admin API).");
    match outcome {
        Ok(()) => shown(&admin, &name, StatusCode::CREATED),
        Err(e) => refused(e),
    }
}

/// Puts back the stored value of every secret setting sent as `***`.
fn keep_masked(new: &mut Value, old: &Value) -> Result<(), ChangeError> {
    let Some(map) = new.as_object_mut() else {
        return Ok(());
    };
    for (key, value) in map.iter_mut() {
        if value.as_str() != Some(MASK) {
            continue;
        }
        match old.get(key) {
            Some(kept) => *value = kept.clone(),
            None => {
                return Err(ChangeError::BadRequest(format!(
                    "settings.{key} is {MASK:?}, the mask of a secret, but no value is kept \
                     for it: send the value itself"
                )));
            }
        }
    }
    Ok(())
}

/// `PUT /admin/destinations/{name}`: replaces the destination (its name stays).
pub(super) async fn update(
    State(admin): State<Arc<Admin>>,
    Path(name): Path<String>,
    bytes: axum::body::Bytes,
) -> Response {
    let mut spec: DestinationSpec = match body(&bytes, "destination") {
        Ok(s) => s,
        Err(e) => return refused(e),
    };
    let outcome = admin
        .reloader
        .change_stored(|specs, snapshot| {
            if spec.name != name {
                return Err(ChangeError::BadRequest(format!(
                    "name: {:?} is not {name:?}; a destination cannot be renamed (its queued \
                     events carry its name): create the new one and delete this one",
                    spec.name
                )));
            }
            let old = stored(specs, snapshot, &name)?;
            keep_masked(&mut spec.settings, &old.settings)?;
            if spec.subscriptions.is_none() {
                spec.subscriptions = old.subscriptions.clone();
            }
            check(&spec, snapshot)?;
            *old = spec;
            Ok(())
        })
        .await;
    tracing::info!(destination = %name, ok = outcome.is_ok(), "Destination updated (admin API).");
    match outcome {
        Ok(()) => shown(&admin, &name, StatusCode::OK),
        Err(e) => refused(e),
    }
}

/// `DELETE /admin/destinations/{name}`. Deliveries still queued for it stay queued (see
/// `/admin/queue`) and go out if a destination of that name comes back.
pub(super) async fn delete(State(admin): State<Arc<Admin>>, Path(name): Path<String>) -> Response {
    let outcome = admin
        .reloader
        .change_stored(|specs, snapshot| {
            stored(specs, snapshot, &name)?;
            specs.retain(|s| s.name != name);
            Ok(())
        })
        .await;
    tracing::info!(destination = %name, ok = outcome.is_ok(), "Destination deleted (admin API).");
    match outcome {
        Ok(()) => axum::Json(json!({"deleted": name})).into_response(),
        Err(e) => refused(e),
    }
}

async fn set_enabled(admin: &Admin, name: &str, enabled: bool) -> Response {
    let outcome = admin
        .reloader
        .change_stored(|specs, snapshot| {
            stored(specs, snapshot, name)?.enabled = enabled;
            Ok(())
        })
        .await;
    tracing::info!(destination = %name, enabled, ok = outcome.is_ok(), "Destination switched (admin API).");
    match outcome {
        Ok(()) => shown(admin, name, StatusCode::OK),
        Err(e) => refused(e),
    }
}

pub(super) async fn enable(State(admin): State<Arc<Admin>>, Path(name): Path<String>) -> Response {
    set_enabled(&admin, &name, true).await
}

pub(super) async fn disable(State(admin): State<Arc<Admin>>, Path(name): Path<String>) -> Response {
    set_enabled(&admin, &name, false).await
}

// ---- Subscriptions ----

/// The subscriptions of a stored destination, the presets copied in if it had none.
fn subscriptions_of<'a>(
    specs: &'a mut [DestinationSpec],
    snapshot: &Snapshot,
    name: &str,
) -> Result<&'a mut Vec<SubscriptionSpec>, ChangeError> {
    let spec = stored(specs, snapshot, name)?;
    let plugin = spec.plugin.clone();
    Ok(spec
        .subscriptions
        .get_or_insert_with(|| presets(snapshot, &plugin)))
}

fn subscription_shown(admin: &Admin, name: &str, sub: &str, status: StatusCode) -> Response {
    let snapshot = admin.live.current();
    let Some(d) = snapshot.config.destinations.iter().find(|d| d.name == name) else {
        return AdminError::NotFound(format!("no destination {name:?} is configured"))
            .into_response();
    };
    let view = views::destination(d, &snapshot, &admin.states);
    let found = view["subscriptions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|s| s["name"] == sub);
    match found {
        Some(s) => (status, axum::Json(s.clone())).into_response(),
        None => AdminError::NotFound(format!("destination {name:?} has no subscription {sub:?}"))
            .into_response(),
    }
}

pub(super) async fn subscriptions(
    State(admin): State<Arc<Admin>>,
    Path(name): Path<String>,
) -> Response {
    let snapshot = admin.live.current();
    match snapshot.config.destinations.iter().find(|d| d.name == name) {
        Some(d) => {
            let view = views::destination(d, &snapshot, &admin.states);
            axum::Json(json!({"subscriptions": view["subscriptions"]})).into_response()
        }
        None => {
            AdminError::NotFound(format!("no destination {name:?} is configured")).into_response()
        }
    }
}

pub(super) async fn subscription(
    State(admin): State<Arc<Admin>>,
    Path((name, sub)): Path<(String, String)>,
) -> Response {
    subscription_shown(&admin, &name, &sub, StatusCode::OK)
}

pub(super) async fn add_subscription(
    State(admin): State<Arc<Admin>>,
    Path(name): Path<String>,
    bytes: axum::body::Bytes,
) -> Response {
    let spec: SubscriptionSpec = match body(&bytes, "subscription") {
        Ok(s) => s,
        Err(e) => return refused(e),
    };
    let sub = spec.name.clone();
    let outcome = admin
        .reloader
        .change_stored(|specs, snapshot| {
            let list = subscriptions_of(specs, snapshot, &name)?;
            if list.iter().any(|s| s.name == spec.name) {
                return Err(ChangeError::Conflict(format!(
                    "destination {name:?} already has a subscription {:?}",
                    spec.name
                )));
            }
            list.push(spec);
            Ok(())
        })
        .await;
    tracing::info!(destination = %name, subscription = %sub, ok = outcome.is_ok(), "Subscription created (admin API).");
    match outcome {
        Ok(()) => subscription_shown(&admin, &name, &sub, StatusCode::CREATED),
        Err(e) => refused(e),
    }
}

/// `PUT`: replaces the subscription; a new `name` renames it.
pub(super) async fn update_subscription(
    State(admin): State<Arc<Admin>>,
    Path((name, sub)): Path<(String, String)>,
    bytes: axum::body::Bytes,
) -> Response {
    let spec: SubscriptionSpec = match body(&bytes, "subscription") {
        Ok(s) => s,
        Err(e) => return refused(e),
    };
    let new_name = spec.name.clone();
    let outcome = admin
        .reloader
        .change_stored(|specs, snapshot| {
            let list = subscriptions_of(specs, snapshot, &name)?;
            if new_name != sub && list.iter().any(|s| s.name == new_name) {
                return Err(ChangeError::Conflict(format!(
                    "destination {name:?} already has a subscription {new_name:?}"
                )));
            }
            let old = list.iter_mut().find(|s| s.name == sub).ok_or_else(|| {
                ChangeError::NotFound(format!("destination {name:?} has no subscription {sub:?}"))
            })?;
            *old = spec;
            Ok(())
        })
        .await;
    tracing::info!(destination = %name, subscription = %sub, ok = outcome.is_ok(), "Subscription updated (admin API).");
    match outcome {
        Ok(()) => subscription_shown(&admin, &name, &new_name, StatusCode::OK),
        Err(e) => refused(e),
    }
}

pub(super) async fn delete_subscription(
    State(admin): State<Arc<Admin>>,
    Path((name, sub)): Path<(String, String)>,
) -> Response {
    let outcome = admin
        .reloader
        .change_stored(|specs, snapshot| {
            let list = subscriptions_of(specs, snapshot, &name)?;
            let before = list.len();
            list.retain(|s| s.name != sub);
            if list.len() == before {
                return Err(ChangeError::NotFound(format!(
                    "destination {name:?} has no subscription {sub:?}"
                )));
            }
            Ok(())
        })
        .await;
    tracing::info!(destination = %name, subscription = %sub, ok = outcome.is_ok(), "Subscription deleted (admin API).");
    match outcome {
        Ok(()) => axum::Json(json!({"deleted": sub})).into_response(),
        Err(e) => refused(e),
    }
}

async fn switch_subscription(admin: &Admin, name: &str, sub: &str, enabled: bool) -> Response {
    let outcome = admin
        .reloader
        .change_stored(|specs, snapshot| {
            let list = subscriptions_of(specs, snapshot, name)?;
            let found = list.iter_mut().find(|s| s.name == sub).ok_or_else(|| {
                ChangeError::NotFound(format!("destination {name:?} has no subscription {sub:?}"))
            })?;
            found.enabled = enabled;
            Ok(())
        })
        .await;
    tracing::info!(destination = %name, subscription = %sub, enabled, ok = outcome.is_ok(), "Subscription switched (admin API).");
    match outcome {
        Ok(()) => subscription_shown(admin, name, sub, StatusCode::OK),
        Err(e) => refused(e),
    }
}

pub(super) async fn enable_subscription(
    State(admin): State<Arc<Admin>>,
    Path((name, sub)): Path<(String, String)>,
) -> Response {
    switch_subscription(&admin, &name, &sub, true).await
}

pub(super) async fn disable_subscription(
    State(admin): State<Arc<Admin>>,
    Path((name, sub)): Path<(String, String)>,
) -> Response {
    switch_subscription(&admin, &name, &sub, false).await
}
