//! Destinations and subscriptions over the admin API: list, create, update, enable, disable,
//! delete.
//!
//! The changes themselves are the live module's (`live/changes.rs`), shared with the console:
//! each is checked whole, stored, then put in force, or refused with nothing changed.
//! Destinations written in the configuration file are shown but changed only there (409 says
//! so): the server never rewrites the operator's file.
//!
//! Secrets: answers show secret settings as `***`. An update may send `***` back for a secret
//! setting to keep its value, so a client can send back what it read.

use super::error::AdminError;
use super::{Admin, views};
use crate::config::stored::{DestinationSpec, SubscriptionSpec};
use crate::live::ChangeError;
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
    let spec: DestinationSpec = match body(&bytes, "destination") {
        Ok(s) => s,
        Err(e) => return refused(e),
    };
    let name = spec.name.clone();
    let outcome = admin.reloader.create_destination(spec).await;
    tracing::info!(destination = %name, ok = outcome.is_ok(), "Destination created (admin API).");
    match outcome {
        Ok(()) => shown(&admin, &name, StatusCode::CREATED),
        Err(e) => refused(e),
    }
}

/// `PUT /admin/destinations/{name}`: replaces the destination (its name stays).
pub(super) async fn update(
    State(admin): State<Arc<Admin>>,
    Path(name): Path<String>,
    bytes: axum::body::Bytes,
) -> Response {
    let spec: DestinationSpec = match body(&bytes, "destination") {
        Ok(s) => s,
        Err(e) => return refused(e),
    };
    let outcome = admin.reloader.update_destination(&name, spec).await;
    tracing::info!(destination = %name, ok = outcome.is_ok(), "Destination updated (admin API).");
    match outcome {
        Ok(()) => shown(&admin, &name, StatusCode::OK),
        Err(e) => refused(e),
    }
}

/// `DELETE /admin/destinations/{name}`. Deliveries still queued for it stay queued (see
/// `/admin/queue`) and go out if a destination of that name comes back.
pub(super) async fn delete(State(admin): State<Arc<Admin>>, Path(name): Path<String>) -> Response {
    let outcome = admin.reloader.delete_destination(&name).await;
    tracing::info!(destination = %name, ok = outcome.is_ok(), "Destination deleted (admin API).");
    match outcome {
        Ok(()) => axum::Json(json!({"deleted": name})).into_response(),
        Err(e) => refused(e),
    }
}

async fn set_enabled(admin: &Admin, name: &str, enabled: bool) -> Response {
    let outcome = admin.reloader.switch_destination(name, enabled).await;
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
    let outcome = admin.reloader.add_subscription(&name, spec).await;
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
    let outcome = admin.reloader.update_subscription(&name, &sub, spec).await;
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
    let outcome = admin.reloader.delete_subscription(&name, &sub).await;
    tracing::info!(destination = %name, subscription = %sub, ok = outcome.is_ok(), "Subscription deleted (admin API).");
    match outcome {
        Ok(()) => axum::Json(json!({"deleted": sub})).into_response(),
        Err(e) => refused(e),
    }
}

async fn switch_subscription(admin: &Admin, name: &str, sub: &str, enabled: bool) -> Response {
    let outcome = admin.reloader.switch_subscription(name, sub, enabled).await;
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
