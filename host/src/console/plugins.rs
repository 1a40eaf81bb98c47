//! Plugins: every loaded plugin with its version, content hash and where it came from; the
//! versions kept for rollback, each with a button to go back to it; uploading a `.wasm`; and the
//! latest refused reloads with their reasons. Uploads and rollbacks go through the same code as
//! the admin API's (`Reloader::install`): the component is checked as a hot load is, written to
//! the plugins folder, and swapped in, or refused whole with nothing changed.
//!
//! Invariants: an upload is a multipart form with the session's CSRF token, read whole but never
//! past `MAX_COMPONENT_BYTES`; a refusal names why (the loader's or the reload's problems).

use super::session::SignedIn;
use super::{Console, check_csrf, done_at, page};
use crate::queue::shown_time;
use crate::runtime::MAX_COMPONENT_BYTES;
use askama::Template;
use axum::extract::{Form, Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use std::sync::Arc;

/// One kept version of a plugin.
struct VersionRow {
    version: String,
    hash: String,
    kept: String,
    current: bool,
}

struct PluginRow {
    id: String,
    name: String,
    version: String,
    hash: String,
    origin: String,
    bundled: bool,
    loaded: String,
    versions: Vec<VersionRow>,
}

/// A refused reload or upload.
struct RefusalRow {
    at: String,
    trigger: &'static str,
    problems: Vec<String>,
}

#[derive(Template)]
#[template(path = "console/plugins.html")]
struct PluginsPage {
    csrf: String,
    page: &'static str,
    plugins: Vec<PluginRow>,
    refusals: Vec<RefusalRow>,
    /// Whether a plugins folder is configured (uploads need one).
    folder: Option<String>,
    notice: Option<String>,
    problems: Vec<String>,
}

fn plugins_page(
    console: &Console,
    session: &SignedIn,
    notice: Option<String>,
    problems: Vec<String>,
    status: StatusCode,
) -> Response {
    let snapshot = console.live.current();
    let mut plugins: Vec<PluginRow> = snapshot
        .plugins
        .values()
        .map(|p| {
            let m = p.manifest();
            let loaded = p
                .loaded_at()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as i64);
            PluginRow {
                id: m.id.clone(),
                name: m.name.clone(),
                version: m.version.clone(),
                hash: p.hash().to_string(),
                bundled: p.origin().starts_with("bundled plugin"),
                origin: p.origin().to_string(),
                loaded: shown_time(loaded),
                versions: console
                    .reloader
                    .archive
                    .list(&m.id)
                    .into_iter()
                    .rev()
                    .map(|v| VersionRow {
                        current: v.hash == p.hash(),
                        version: v.version,
                        hash: v.hash,
                        kept: shown_time(v.kept_at_ms),
                    })
                    .collect(),
            }
        })
        .collect();
    plugins.sort_by_key(|p| p.name.to_lowercase());
    let refusals = console
        .reloader
        .refusals()
        .into_iter()
        .rev()
        .map(|r| RefusalRow {
            at: shown_time(r.at_ms),
            trigger: r.trigger,
            problems: r.problems.list().to_vec(),
        })
        .collect();
    page(
        &PluginsPage {
            csrf: session.csrf.clone(),
            page: "plugins",
            plugins,
            refusals,
            folder: snapshot
                .config
                .plugin_dir
                .as_ref()
                .map(|d| d.display().to_string()),
            notice,
            problems,
        },
        status,
    )
}

#[derive(Deserialize)]
pub(super) struct Done {
    done: Option<String>,
}

pub(super) async fn show(
    State(console): State<Arc<Console>>,
    session: SignedIn,
    Query(done): Query<Done>,
) -> Response {
    plugins_page(&console, &session, done.done, Vec::new(), StatusCode::OK)
}

/// Uploads a `.wasm`: the form's `csrf` and `plugin` (the file).
pub(super) async fn upload(
    State(console): State<Arc<Console>>,
    session: SignedIn,
    mut form: Multipart,
) -> Response {
    let refused =
        |problems: Vec<String>, status| plugins_page(&console, &session, None, problems, status);
    let mut csrf = String::new();
    let mut bytes = None;
    loop {
        match form.next_field().await {
            Ok(Some(field)) => match field.name() {
                Some("csrf") => csrf = field.text().await.unwrap_or_default(),
                Some("plugin") => match field.bytes().await {
                    Ok(b) => bytes = Some(b),
                    Err(e) => {
                        return refused(
                            vec![format!("the file could not be read: {}", e.body_text())],
                            StatusCode::BAD_REQUEST,
                        );
                    }
                },
                _ => {}
            },
            Ok(None) => break,
            Err(e) => {
                return refused(
                    vec![format!("the upload could not be read: {}", e.body_text())],
                    e.status(),
                );
            }
        }
    }
    if let Err(no) = check_csrf(&session, &csrf) {
        return no.into_response();
    }
    let Some(bytes) = bytes.filter(|b| !b.is_empty()) else {
        return refused(
            vec!["choose a .wasm file to upload".into()],
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    };
    let plugin = match console
        .reloader
        .runtime
        .load(&bytes, "uploaded plugin")
        .await
    {
        Ok(p) => p,
        Err(e) => {
            return refused(
                vec![format!(
                    "the file is not a plugin this server can load: {e}"
                )],
                StatusCode::UNPROCESSABLE_ENTITY,
            );
        }
    };
    let m = plugin.manifest();
    let (id, version) = (m.id.clone(), m.version.clone());
    match console.reloader.install(&id, &bytes).await {
        Ok(_) => {
            tracing::info!(plugin = %id, hash = %plugin.hash(), "Plugin upload (console).");
            done_at(
                "/plugins",
                &format!("{} {version} is loaded and in force.", m.name),
            )
        }
        Err(problems) => refused(problems.list().to_vec(), StatusCode::UNPROCESSABLE_ENTITY),
    }
}

#[derive(Deserialize)]
pub(super) struct RollbackForm {
    #[serde(default)]
    csrf: String,
    hash: String,
}

/// Goes back to a kept version.
pub(super) async fn rollback(
    State(console): State<Arc<Console>>,
    session: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<RollbackForm>,
) -> Response {
    if let Err(no) = check_csrf(&session, &form.csrf) {
        return no.into_response();
    }
    let bytes = match console.reloader.archive.bytes(&id, &form.hash) {
        Ok(b) => b,
        Err(e) => {
            return plugins_page(
                &console,
                &session,
                None,
                vec![format!("version {} of {id:?} is not kept: {e}", form.hash)],
                StatusCode::NOT_FOUND,
            );
        }
    };
    match console.reloader.install(&id, &bytes).await {
        Ok(_) => {
            tracing::info!(plugin = %id, hash = %form.hash, "Plugin rollback (console).");
            done_at(
                "/plugins",
                &format!("{id} is back to version {}.", short(&form.hash)),
            )
        }
        Err(problems) => plugins_page(
            &console,
            &session,
            None,
            problems.list().to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    }
}

fn short(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}

/// The upload route's body limit: the largest component, and room for the form around it.
pub(super) const UPLOAD_LIMIT: usize = MAX_COMPONENT_BYTES + 64 * 1024;
