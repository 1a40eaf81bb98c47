//! The web console: HTML pages served at `/` on `admin_listen`, beside the JSON admin API, for
//! people who are not engineers. Pages are rendered by the server from templates compiled into
//! the binary (`templates/console/`), with a style sheet embedded too; nothing is loaded from
//! anywhere else and no build step is needed.
//!
//! Invariants:
//! - Every value that comes from an event, a setting or a plugin manifest is shown as text:
//!   templates escape everything they print (askama escapes HTML by default and no template
//!   marks a value safe), and every answer carries a Content-Security-Policy that allows no
//!   inline script, no other origin and no framing (`frame-ancestors 'none'`).
//! - Every page but sign-in needs a session (`session.rs`): its handler takes a [`SignedIn`],
//!   whose extractor redirects to sign-in when there is none. Every state-changing request
//!   carries the session's CSRF token.
//! - The console reads the same state as the admin API (the live snapshot, delivery state,
//!   recent events); secret setting values never reach a page.

mod catalogue;
mod deliveries;
mod destinations;
mod editor;
mod events;
mod overview;
mod plugins;
mod replay;
mod session;
#[cfg(test)]
mod tests;

pub(crate) use session::{Sessions, Throttle};

use crate::deliver::state::DestinationStates;
use crate::live::{Live, Reloader};
use crate::queue::Records;
use crate::recent::Recent;
use askama::Template;
use axum::Router;
use axum::extract::connect_info::ConnectInfo;
use axum::extract::{Extension, Form, FromRequestParts, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use session::SignedIn;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

/// What the console reads and keeps.
pub(crate) struct Console {
    /// The admin token, which signs in.
    pub(crate) token: String,
    pub(crate) live: Arc<Live>,
    /// Makes the changes (the same code as the admin API's).
    pub(crate) reloader: Arc<Reloader>,
    pub(crate) states: Arc<DestinationStates>,
    pub(crate) recent: Arc<Recent>,
    /// The delivery log, dead letters and what waits.
    pub(crate) records: Arc<dyn Records>,
    pub(crate) sessions: Sessions,
    pub(crate) throttle: Throttle,
}

/// The console's pages.
pub(crate) fn router(console: Arc<Console>) -> Router {
    Router::new()
        .route("/", get(overview))
        .route("/catalogue", get(catalogue_page))
        .route("/events", get(events_page))
        .route(
            "/plugins",
            get(plugins::show)
                .post(plugins::upload)
                .layer(axum::extract::DefaultBodyLimit::max(plugins::UPLOAD_LIMIT)),
        )
        .route("/plugins/{id}/rollback", post(plugins::rollback))
        .route("/deliveries", get(deliveries::show))
        .route("/deliveries/replay", post(deliveries::replay))
        .route("/deliveries/purge", post(deliveries::purge))
        .route("/destinations", get(destinations::list))
        .route(
            "/destinations/new",
            get(destinations::new_form).post(destinations::create),
        )
        .route(
            "/destinations/{name}/edit",
            get(destinations::edit_form).post(destinations::update),
        )
        .route("/destinations/{name}/switch", post(destinations::switch))
        .route("/destinations/{name}/replay", post(replay::replay))
        .route("/destinations/{name}", get(editor::show))
        .route("/destinations/{name}/subscriptions", post(editor::submit))
        .route(
            "/destinations/{name}/subscriptions/preview",
            post(editor::live_preview),
        )
        .route(
            "/destinations/{name}/subscriptions/new",
            get(editor::new_form),
        )
        .route(
            "/destinations/{name}/subscriptions/{sub}/edit",
            get(editor::edit_form),
        )
        .route(
            "/destinations/{name}/subscriptions/{sub}/switch",
            post(editor::switch),
        )
        .route(
            "/destinations/{name}/subscriptions/{sub}/delete",
            get(editor::confirm_delete).post(editor::delete),
        )
        .route(
            "/destinations/{name}/delete",
            get(destinations::confirm_delete).post(destinations::delete),
        )
        .route("/sign-in", get(sign_in_page).post(sign_in))
        .route("/sign-out", post(sign_out))
        .route("/assets/console.css", get(style_sheet))
        .route("/assets/console.js", get(script))
        .layer(middleware::from_fn(security_headers))
        .with_state(console)
}

/// The policy every console answer carries: the console's own style sheet and scripts (which may
/// fetch from the console itself), nothing inline, nothing from elsewhere, forms posted only to the console, never in a frame.
const CSP: &str = "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; \
                   img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, CSP),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_FRAME_OPTIONS, "DENY"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

const STYLE: &str = include_str!("../../assets/console.css");

async fn style_sheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        STYLE,
    )
        .into_response()
}

const SCRIPT: &str = include_str!("../../assets/console.js");

/// The console's one script: live preview in the editor, and live events.
async fn script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        SCRIPT,
    )
        .into_response()
}

/// A submitted form's field (empty when absent).
fn field<'a>(form: &'a [(String, String)], key: &str) -> &'a str {
    form.iter()
        .find(|(k, _)| k == key)
        .map_or("", |(_, v)| v.as_str())
}

/// A name as one segment of a console address (`Trip Booked` → `Trip%20Booked`).
fn path_segment(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// After a change: to `path`, which shows `notice` as what was done.
fn done_at(path: &str, notice: &str) -> Response {
    let query: String = url::form_urlencoded::byte_serialize(notice.as_bytes()).collect();
    let joiner = if path.contains('?') { '&' } else { '?' };
    Redirect::to(&format!("{path}{joiner}done={query}")).into_response()
}

/// Renders a page; a template that fails to render is the server's fault.
fn page(template: &impl Template, status: StatusCode) -> Response {
    match template.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "A console page failed to render.");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "the page failed to render",
            )
                .into_response()
        }
    }
}

/// The session the request's cookie names, if it is open.
fn signed_in(console: &Console, headers: &HeaderMap) -> Option<SignedIn> {
    let cookies = headers.get(header::COOKIE)?.to_str().ok()?;
    console.sessions.touch(session::cookie_value(cookies)?)
}

/// Pages that need a session take one: without an open session the request is sent to
/// sign-in before the handler runs.
impl FromRequestParts<Arc<Console>> for SignedIn {
    type Rejection = Redirect;

    async fn from_request_parts(
        parts: &mut Parts,
        console: &Arc<Console>,
    ) -> Result<Self, Self::Rejection> {
        signed_in(console, &parts.headers).ok_or_else(|| Redirect::to("/sign-in"))
    }
}

/// Whether the browser reached the console over HTTPS (through a proxy that says so).
fn over_https(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|p| p.eq_ignore_ascii_case("https"))
}

#[derive(Template)]
#[template(path = "console/sign_in.html")]
struct SignInPage<'a> {
    /// Why the last attempt failed, if it did.
    problem: Option<&'a str>,
}

async fn sign_in_page(State(console): State<Arc<Console>>, headers: HeaderMap) -> Response {
    if signed_in(&console, &headers).is_some() {
        return Redirect::to("/").into_response();
    }
    page(&SignInPage { problem: None }, StatusCode::OK)
}

#[derive(Deserialize)]
struct SignInForm {
    token: String,
}

async fn sign_in(
    State(console): State<Arc<Console>>,
    client: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    Form(form): Form<SignInForm>,
) -> Response {
    let client = client.map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.0.ip());
    if let Some(wait) = console.throttle.wait(client) {
        let seconds = wait.as_secs().max(1);
        let mut response = page(
            &SignInPage {
                problem: Some(
                    "Too many wrong tokens from this address: wait a minute, then try again.",
                ),
            },
            StatusCode::TOO_MANY_REQUESTS,
        );
        if let Ok(v) = HeaderValue::from_str(&seconds.to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return response;
    }
    if !crate::redact::same_secret(form.token.trim().as_bytes(), console.token.as_bytes()) {
        console.throttle.failed(client);
        tracing::warn!(client = %client, "Console sign-in with a wrong admin token.");
        return page(
            &SignInPage {
                problem: Some("That is not the admin token."),
            },
            StatusCode::UNAUTHORIZED,
        );
    }
    let session = console.sessions.open();
    let mut response = Redirect::to("/").into_response();
    if let Ok(cookie) =
        HeaderValue::from_str(&session::set_cookie(&session.id, over_https(&headers)))
    {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    response
}

#[derive(Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// A state-changing request without the session's CSRF token.
struct CsrfRefused;

impl IntoResponse for CsrfRefused {
    fn into_response(self) -> Response {
        (
            StatusCode::FORBIDDEN,
            "refused: the form did not come from this console session (CSRF check); reload the \
             page and try again",
        )
            .into_response()
    }
}

/// Refuses a state-changing request without the session's CSRF token.
fn check_csrf(session: &SignedIn, given: &str) -> Result<(), CsrfRefused> {
    if crate::redact::same_secret(given.as_bytes(), session.csrf.as_bytes()) {
        Ok(())
    } else {
        Err(CsrfRefused)
    }
}

async fn sign_out(
    State(console): State<Arc<Console>>,
    session: SignedIn,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Err(refused) = check_csrf(&session, &form.csrf) {
        return refused.into_response();
    }
    console.sessions.close(&session.id);
    let mut response = Redirect::to("/sign-in").into_response();
    if let Ok(cookie) = HeaderValue::from_str(&session::clear_cookie()) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    response
}

#[derive(Template)]
#[template(path = "console/events.html")]
struct EventsPage {
    csrf: String,
    page: &'static str,
    events: Vec<events::EventRow>,
    problem: Option<String>,
}

async fn events_page(State(console): State<Arc<Console>>, session: SignedIn) -> Response {
    let (events, problem) = match events::build(&console.recent, console.records.as_ref()).await {
        Ok(rows) => (rows, None),
        Err(problem) => (Vec::new(), Some(problem)),
    };
    page(
        &EventsPage {
            csrf: session.csrf,
            page: "events",
            events,
            problem,
        },
        StatusCode::OK,
    )
}

#[derive(Template)]
#[template(path = "console/catalogue.html")]
struct CataloguePage {
    csrf: String,
    page: &'static str,
    plugins: Vec<catalogue::PluginEntry>,
}

async fn catalogue_page(State(console): State<Arc<Console>>, session: SignedIn) -> Response {
    let plugins = catalogue::build(&console.live.current());
    page(
        &CataloguePage {
            csrf: session.csrf,
            page: "catalogue",
            plugins,
        },
        StatusCode::OK,
    )
}

#[derive(Template)]
#[template(path = "console/overview.html")]
struct OverviewPage {
    csrf: String,
    /// Which page of the navigation this is.
    page: &'static str,
    view: overview::Overview,
}

#[derive(Deserialize)]
struct OverviewQuery {
    event: Option<String>,
    field: Option<String>,
}

async fn overview(
    State(console): State<Arc<Console>>,
    session: SignedIn,
    Query(query): Query<OverviewQuery>,
) -> Response {
    let snapshot = console.live.current();
    let view = overview::build(
        &snapshot,
        &console.states,
        &console.recent,
        query.event.as_deref(),
        query.field.as_deref(),
    );
    page(
        &OverviewPage {
            csrf: session.csrf,
            page: "overview",
            view,
        },
        StatusCode::OK,
    )
}
