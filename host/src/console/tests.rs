//! The console's pages, driven in process through the router (`oneshot`, no socket), over real
//! state: the bundled plugins, a configuration with a webhook destination, recent events.

use super::{Console, Sessions, Throttle, router, session};
use crate::config::Config;
use crate::deliver::state::DestinationStates;
use crate::live::{Live, Snapshot, load_plugins};
use crate::recent::Recent;
use crate::routes::Routes;
use axum::body::Body;
use axum::extract::connect_info::ConnectInfo;
use axum::http::{HeaderMap, Request, StatusCode, header};
use http_body_util::BodyExt as _;
use serde_json::json;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tower::ServiceExt as _;

pub(super) const TOKEN: &str = "console-test-admin-token";

const CONFIG: &str = r#"
[[sources]]
name = "app"
write_key = "k"
[[destinations]]
name = "hook"
plugin = "webhook"
allowed_hosts = ["https://hooks.example"]
  [[destinations.subscriptions]]
  name = "Bookings"
  action = "send"
  trigger = 'type = "track" and event = "Trip Booked"'
    [destinations.subscriptions.mapping]
    url = "https://hooks.example/in"
    data = { email = { "@path" = "$.traits.email" }, trip = { "@path" = "$.properties.trip" } }
[[destinations]]
name = "chat"
plugin = "slack"
  [[destinations.subscriptions]]
  name = "Pricing views"
  action = "postToChannel"
  trigger = 'type = "page" and name = "Pricing"'
    [destinations.subscriptions.mapping]
    url = "https://hooks.slack.com/services/T/B/X"
    text = { "@template" = "{{userId}} looked at pricing" }
"#;

pub(super) struct Setup {
    pub(super) app: axum::Router,
    pub(super) recent: Arc<Recent>,
    pub(super) states: Arc<DestinationStates>,
    pub(super) reloader: Arc<crate::live::Reloader>,
    pub(super) _dir: tempfile::TempDir,
}

pub(super) async fn setup(idle: Duration) -> Setup {
    setup_with(idle, false).await
}

/// The setup, with a plugins folder (`data_dir/plugins`) when `folder`.
pub(super) async fn setup_with(idle: Duration, folder: bool) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let mut text = format!(
        "[server]\ndata_dir = {:?}\n",
        dir.path().display().to_string()
    );
    if folder {
        let plugins = dir.path().join("plugins");
        std::fs::create_dir_all(&plugins).unwrap();
        text.push_str(&format!(
            "[plugins]\ndir = {:?}\n",
            plugins.display().to_string()
        ));
    }
    text.push_str(CONFIG);
    let config = Config::parse(&text, "test.toml", |_| Err::<String, _>("no environment")).unwrap();
    let runtime = crate::runtime::Runtime::new(&Default::default()).unwrap();
    let plugins = load_plugins(&runtime, &config).await.unwrap();
    let routes = Arc::new(Routes::build(&config, &plugins).unwrap());
    let recent = Arc::new(Recent::default());
    let states = Arc::new(DestinationStates::default());
    let live = Arc::new(Live::new(Snapshot {
        config,
        plugins,
        routes,
    }));
    let log = Arc::new(
        crate::queue::sqlite::SqliteQueue::open(
            &crate::queue::sqlite::path_in(dir.path()),
            crate::queue::sqlite::Retention::default(),
        )
        .unwrap(),
    );
    let reloader = Arc::new(crate::live::Reloader {
        path: None,
        runtime,
        live: live.clone(),
        busy: tokio::sync::Mutex::default(),
        refusals: std::sync::Mutex::default(),
        archive: crate::live::versions::Archive {
            dir: dir.path().join("plugins"),
        },
        store: crate::config::stored::Store::in_dir(dir.path()),
        hooks: crate::live::hooks::HookStore::in_dir(dir.path()),
        log: Some(log.clone()),
    });
    let console = Arc::new(Console {
        token: TOKEN.into(),
        live,
        records: log,
        reloader: reloader.clone(),
        states: states.clone(),
        recent: recent.clone(),
        sessions: Sessions::new(idle),
        throttle: Throttle::default(),
    });
    Setup {
        app: router(console),
        recent,
        states,
        reloader,
        _dir: dir,
    }
}

pub(super) struct Answer {
    pub(super) status: StatusCode,
    pub(super) headers: HeaderMap,
    pub(super) body: String,
}

async fn request(setup: &Setup, request: Request<Body>) -> Answer {
    let response = setup.app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    Answer {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

pub(super) async fn get(setup: &Setup, path: &str, cookie: Option<&str>) -> Answer {
    let mut r = Request::get(path);
    if let Some(c) = cookie {
        r = r.header(header::COOKIE, c);
    }
    request(setup, r.body(Body::empty()).unwrap()).await
}

pub(super) async fn post_form(
    setup: &Setup,
    path: &str,
    form: &str,
    cookie: Option<&str>,
    client: &str,
) -> Answer {
    let mut r =
        Request::post(path).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(c) = cookie {
        r = r.header(header::COOKIE, c);
    }
    let mut r = r.body(Body::from(form.to_string())).unwrap();
    let address: SocketAddr = client.parse().unwrap();
    r.extensions_mut().insert(ConnectInfo(address));
    request(setup, r).await
}

/// Signs in; answers the session cookie (`name=value`).
pub(super) async fn sign_in(setup: &Setup) -> String {
    let answer = post_form(
        setup,
        "/sign-in",
        &format!("token={TOKEN}"),
        None,
        "127.0.0.1:5000",
    )
    .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    assert_eq!(answer.headers[header::LOCATION], "/");
    let cookie = answer.headers[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_string();
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Strict"), "{cookie}");
    assert!(!cookie.contains(TOKEN), "the token is not the session");
    cookie.split(';').next().unwrap().to_string()
}

/// The CSRF token a page's forms carry.
pub(super) fn csrf(page: &str) -> String {
    let at = page
        .find("name=\"csrf\" value=\"")
        .expect("a form with a CSRF token");
    let rest = &page[at + "name=\"csrf\" value=\"".len()..];
    rest[..rest.find('"').unwrap()].to_string()
}

#[tokio::test]
async fn without_a_session_pages_lead_to_sign_in_and_every_answer_carries_the_policy() {
    let setup = setup(session::IDLE).await;
    let answer = get(&setup, "/", None).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    assert_eq!(answer.headers[header::LOCATION], "/sign-in");
    let page = get(&setup, "/sign-in", None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body
            .contains(r#"<label for="token">Admin token</label>"#),
        "{}",
        page.body
    );
    assert!(page.body.contains(r#"type="password""#));
    for answer in [&answer, &page] {
        let csp = answer.headers[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap();
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert!(csp.contains("script-src 'self'"), "{csp}");
        assert!(!csp.contains("unsafe-inline"), "{csp}");
        assert_eq!(answer.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    }
}

#[tokio::test]
async fn the_right_token_opens_a_session_and_a_wrong_one_is_refused() {
    let setup = setup(session::IDLE).await;
    let wrong = post_form(&setup, "/sign-in", "token=guess", None, "127.0.0.1:5000").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(
        wrong.body.contains("That is not the admin token."),
        "{}",
        wrong.body
    );
    assert!(wrong.headers.get(header::SET_COOKIE).is_none());
    let cookie = sign_in(&setup).await;
    let overview = get(&setup, "/", Some(&cookie)).await;
    assert_eq!(overview.status, StatusCode::OK, "{}", overview.body);
    assert!(
        !overview.body.contains(TOKEN),
        "the token never appears on a page"
    );
    assert!(overview.body.contains("Which data goes where"));
    // Signed in, the sign-in page leads to the overview.
    let again = get(&setup, "/sign-in", Some(&cookie)).await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn ten_wrong_tokens_a_minute_are_throttled_per_address() {
    let setup = setup(session::IDLE).await;
    for i in 0..session::MAX_FAILURES {
        let a = post_form(
            &setup,
            "/sign-in",
            &format!("token=guess{i}"),
            None,
            "192.0.2.1:9",
        )
        .await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    // Now even the right token waits, from that address.
    let held = post_form(
        &setup,
        "/sign-in",
        &format!("token={TOKEN}"),
        None,
        "192.0.2.1:10",
    )
    .await;
    assert_eq!(held.status, StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = held.headers[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    assert!(held.body.contains("Too many wrong tokens"), "{}", held.body);
    // Another address is not held back.
    let other = post_form(
        &setup,
        "/sign-in",
        &format!("token={TOKEN}"),
        None,
        "192.0.2.2:9",
    )
    .await;
    assert_eq!(other.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn signing_out_needs_the_csrf_token_and_ends_the_session() {
    let setup = setup(session::IDLE).await;
    let cookie = sign_in(&setup).await;
    let page = get(&setup, "/", Some(&cookie)).await;
    let token = csrf(&page.body);
    let forged = post_form(
        &setup,
        "/sign-out",
        "csrf=forged",
        Some(&cookie),
        "127.0.0.1:1",
    )
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(forged.body.contains("CSRF"), "{}", forged.body);
    let missing = post_form(&setup, "/sign-out", "", Some(&cookie), "127.0.0.1:1").await;
    assert_eq!(missing.status, StatusCode::FORBIDDEN);
    // Still signed in after the refusals.
    assert_eq!(get(&setup, "/", Some(&cookie)).await.status, StatusCode::OK);
    let out = post_form(
        &setup,
        "/sign-out",
        &format!("csrf={token}"),
        Some(&cookie),
        "127.0.0.1:1",
    )
    .await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert!(
        out.headers[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    assert_eq!(
        get(&setup, "/", Some(&cookie)).await.status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn a_session_expires_after_its_idle_time() {
    let setup = setup(Duration::from_millis(300)).await;
    let cookie = sign_in(&setup).await;
    assert_eq!(get(&setup, "/", Some(&cookie)).await.status, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(400)).await;
    let expired = get(&setup, "/", Some(&cookie)).await;
    assert_eq!(expired.status, StatusCode::SEE_OTHER);
    assert_eq!(expired.headers[header::LOCATION], "/sign-in");
}

#[tokio::test]
async fn the_overview_shows_triggers_in_words_and_where_each_field_comes_from() {
    let setup = setup(session::IDLE).await;
    let cookie = sign_in(&setup).await;
    let page = get(&setup, "/", Some(&cookie)).await.body;
    assert!(page.contains("Source app"), "{page}");
    assert!(
        page.contains("Track events named \u{201c}Trip Booked\u{201d}"),
        "{page}"
    );
    assert!(
        page.contains("Page views named \u{201c}Pricing\u{201d}"),
        "{page}"
    );
    assert!(page.contains("Post Message (postToChannel)"), "{page}");
    // The template and the field it feeds, as text.
    assert!(page.contains("{{userId}} looked at pricing"), "{page}");
    assert!(page.contains("<code>text</code>"), "{page}");
}

#[tokio::test]
async fn where_does_this_event_go_marks_its_routes_with_their_payloads() {
    let setup = setup(session::IDLE).await;
    setup.recent.keep(
        &Arc::from("app"),
        [
            json!({"type": "track", "event": "Trip Booked", "userId": "u1",
            "traits": {"email": "ann@example.com"}, "properties": {"trip": "LIS-NYC"}}),
        ]
        .map(|e| e.to_string())
        .to_vec(),
    );
    let cookie = sign_in(&setup).await;
    let page = get(&setup, "/?event=Trip+Booked", Some(&cookie)).await.body;
    assert!(page.contains("goes to 1 subscription"), "{page}");
    assert!(page.contains("the newest recent event named"), "{page}");
    assert!(
        page.contains("matches \u{201c}Trip Booked\u{201d}"),
        "{page}"
    );
    assert!(
        page.contains("LIS-NYC"),
        "the payload built from the recent event: {page}"
    );
    assert!(page.contains("It would send"), "{page}");
    // An event nobody sent is made up for the question; it goes nowhere here.
    let nowhere = get(&setup, "/?event=Nothing+Like+It", Some(&cookie))
        .await
        .body;
    assert!(nowhere.contains("goes to 0 subscriptions"), "{nowhere}");
    assert!(nowhere.contains("made up for the question"), "{nowhere}");
}

#[tokio::test]
async fn who_receives_this_field_lists_the_mappings_that_read_it() {
    let setup = setup(session::IDLE).await;
    let cookie = sign_in(&setup).await;
    let page = get(&setup, "/?field=traits.email", Some(&cookie))
        .await
        .body;
    assert!(page.contains("Who receives traits.email"), "{page}");
    assert!(
        page.contains("<strong>hook</strong> / Bookings: in <code>data</code>"),
        "{page}"
    );
    assert!(
        !page.contains("<strong>chat</strong>"),
        "Slack's mapping does not read it: {page}"
    );
    let none = get(&setup, "/?field=traits.phone", Some(&cookie))
        .await
        .body;
    assert!(
        none.contains("No subscription&#39;s mapping reads") || none.contains("No subscription"),
        "{none}"
    );
}

#[tokio::test]
async fn event_data_is_shown_as_text_never_as_markup() {
    let setup = setup(session::IDLE).await;
    let evil = "<img src=x onerror=alert(1)></script><script>alert(2)</script>";
    setup.recent.keep(
        &Arc::from("app"),
        [
            json!({"type": "track", "event": evil, "userId": "javascript:alert(3)",
            "properties": {evil: evil}}),
        ]
        .map(|e| e.to_string())
        .to_vec(),
    );
    let cookie = sign_in(&setup).await;
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("event", evil)
        .append_pair("field", "<script>alert(4)</script>")
        .finish();
    let page = get(&setup, &format!("/?{query}"), Some(&cookie)).await.body;
    // The recent event was found by its name, and shown.
    assert!(page.contains("the newest recent event named"), "{page}");
    assert!(!page.contains("<img"), "{page}");
    assert!(!page.contains("<script>"), "{page}");
    assert!(!page.contains("</script>"), "{page}");
    assert!(
        page.contains("&#60;img src=x onerror=alert(1)&#62;"),
        "{page}"
    );
    assert!(!page.contains("href=\"javascript:"), "{page}");
}

#[tokio::test]
async fn each_destination_shows_its_deliveries_of_the_last_day() {
    let setup = setup(session::IDLE).await;
    let now = crate::queue::now();
    setup.states.counts.add("hook", "delivered", now, 41);
    setup.states.counts.add("hook", "retry", now - 3_600_000, 2);
    setup.states.counts.add("hook", "dead-letter", now, 1);
    setup
        .states
        .counts
        .add("hook", "delivered", now - 25 * 3_600_000, 1000);
    let cookie = sign_in(&setup).await;
    let page = get(&setup, "/", Some(&cookie)).await.body;
    assert!(
        page.contains("last 24 hours: 41 delivered, 2 retrying, 1 dead-lettered"),
        "{page}"
    );
    assert!(
        page.contains("last 24 hours: 0 delivered, 0 retrying, 0 dead-lettered"),
        "chat: {page}"
    );
}

#[tokio::test]
async fn the_catalogue_lists_every_plugin_with_its_actions_settings_and_hosts() {
    let setup = setup(session::IDLE).await;
    assert_eq!(
        get(&setup, "/catalogue", None).await.status,
        StatusCode::SEE_OTHER
    );
    let cookie = sign_in(&setup).await;
    let page = get(&setup, "/catalogue", Some(&cookie)).await.body;
    for name in [
        "Amplitude",
        "Braze",
        "Customer.io",
        "Slack",
        "Webhook",
        "Google Analytics 4",
    ] {
        assert!(
            page.contains(&format!("-name\">{name}</h2>")),
            "{name}: {page}"
        );
    }
    // Braze: an action with its description and default trigger, a secret setting, its hosts.
    assert!(
        page.contains("<strong>Track Purchase</strong> <code>trackPurchase</code>"),
        "{page}"
    );
    assert!(page.contains("API Key <code>api_key</code> <span class=\"tag\">required</span> <span class=\"tag\">secret</span>"), "{page}");
    assert!(
        page.contains("<code>https://*.braze.com</code>") || page.contains("braze"),
        "{page}"
    );
    assert!(page.contains("Default trigger:"), "{page}");
    assert!(page.contains("bundled with the server"), "{page}");
}

pub(super) const SECRET: &str = "braze-secret-key-5f2a9c";

/// Creates destination `crm` (Braze) through the console's form.
pub(super) async fn create_crm(setup: &Setup, cookie: &str) -> Answer {
    let page = get(setup, "/destinations/new?plugin=braze", Some(cookie)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let form = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("csrf", &csrf(&page.body))
        .append_pair("plugin", "braze")
        .append_pair("name", "crm")
        .append_pair("setting.api_key", SECRET)
        .append_pair("setting.app_id", "app-1")
        .append_pair("setting.endpoint", "https://rest.iad-01.braze.com")
        .append_pair("presets", "yes")
        .finish();
    post_form(
        setup,
        "/destinations/new",
        &form,
        Some(cookie),
        "127.0.0.1:1",
    )
    .await
}

#[tokio::test]
async fn a_destination_is_created_from_a_form_made_from_the_manifest() {
    let setup = setup(session::IDLE).await;
    let cookie = sign_in(&setup).await;
    let form = get(&setup, "/destinations/new?plugin=braze", Some(&cookie))
        .await
        .body;
    // The manifest's settings, typed: a secret as a password field, choices as a select.
    assert!(
        form.contains(r#"name="setting.api_key" type="password""#),
        "{form}"
    );
    assert!(
        form.contains(r#"<select id="setting-endpoint" name="setting.endpoint""#),
        "{form}"
    );
    assert!(form.contains("(required)"), "{form}");
    let created = create_crm(&setup, &cookie).await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    let list = get(
        &setup,
        created.headers[header::LOCATION].to_str().unwrap(),
        Some(&cookie),
    )
    .await
    .body;
    assert!(list.contains("Destination crm created"), "{list}");
    assert!(
        list.contains(r#"<a href="/destinations/crm/edit">Edit settings</a>"#),
        "{list}"
    );
    // It runs now, with Braze's presets as its subscriptions.
    let snapshot = setup.reloader.live.current();
    let route = snapshot
        .routes
        .destinations
        .iter()
        .find(|r| r.name == "crm")
        .expect("running");
    assert!(!route.subscriptions.is_empty());
    // The secret is stored, and shown nowhere.
    let stored = setup.reloader.store.read().unwrap();
    assert_eq!(stored[0].settings["api_key"], SECRET);
    // Without the presets, and sent to a local server instead of Braze.
    let form = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("csrf", &csrf(&list))
        .append_pair("plugin", "braze")
        .append_pair("name", "crm-test")
        .append_pair("setting.api_key", SECRET)
        .append_pair("setting.endpoint", "https://rest.iad-01.braze.com")
        .append_pair("redirect_outbound", "http://127.0.0.1:9")
        .finish();
    let bare = post_form(
        &setup,
        "/destinations/new",
        &form,
        Some(&cookie),
        "127.0.0.1:1",
    )
    .await;
    assert_eq!(bare.status, StatusCode::SEE_OTHER, "{}", bare.body);
    let stored = setup.reloader.store.read().unwrap();
    let bare = stored.iter().find(|d| d.name == "crm-test").unwrap();
    assert_eq!(bare.subscriptions.as_deref(), Some(&[][..]));
    assert_eq!(
        bare.redirect_outbound.as_deref(),
        Some("http://127.0.0.1:9")
    );
    for path in ["/destinations", "/destinations/crm/edit", "/"] {
        let page = get(&setup, path, Some(&cookie)).await.body;
        assert!(!page.contains(SECRET), "{path} shows the secret");
    }
}

#[tokio::test]
async fn an_untouched_secret_keeps_its_value_on_save() {
    let setup = setup(session::IDLE).await;
    let cookie = sign_in(&setup).await;
    assert_eq!(
        create_crm(&setup, &cookie).await.status,
        StatusCode::SEE_OTHER
    );
    let edit = get(&setup, "/destinations/crm/edit", Some(&cookie))
        .await
        .body;
    assert!(
        edit.contains(r#"name="setting.api_key" type="password" value="""#),
        "{edit}"
    );
    assert!(
        edit.contains("leave empty to keep the stored value"),
        "{edit}"
    );
    let form = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("csrf", &csrf(&edit))
        .append_pair("setting.api_key", "")
        .append_pair("setting.app_id", "app-2")
        .append_pair("setting.endpoint", "https://rest.iad-01.braze.com")
        .finish();
    let saved = post_form(
        &setup,
        "/destinations/crm/edit",
        &form,
        Some(&cookie),
        "127.0.0.1:1",
    )
    .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let stored = setup.reloader.store.read().unwrap();
    assert_eq!(stored[0].settings["api_key"], SECRET, "kept");
    assert_eq!(stored[0].settings["app_id"], "app-2", "changed");
    assert!(
        stored[0]
            .subscriptions
            .as_ref()
            .is_some_and(|s| !s.is_empty()),
        "kept too"
    );
}

#[tokio::test]
async fn a_refused_destination_shows_the_problems_beside_the_fields_and_changes_nothing() {
    let setup = setup(session::IDLE).await;
    let cookie = sign_in(&setup).await;
    let page = get(&setup, "/destinations/new?plugin=braze", Some(&cookie)).await;
    let form = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("csrf", &csrf(&page.body))
        .append_pair("plugin", "braze")
        .append_pair("name", "crm")
        .append_pair("setting.endpoint", "https://rest.iad-01.braze.com")
        .finish();
    let refused = post_form(
        &setup,
        "/destinations/new",
        &form,
        Some(&cookie),
        "127.0.0.1:1",
    )
    .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.body
    );
    assert!(
        refused.body.contains("Not saved; nothing changed"),
        "{}",
        refused.body
    );
    assert!(refused.body.contains("api_key"), "{}", refused.body);
    assert!(
        refused.body.contains("field has-problem"),
        "the field is marked: {}",
        refused.body
    );
    assert!(setup.reloader.store.read().unwrap().is_empty());
    // Without the session's CSRF token, nothing is made either.
    let forged = post_form(
        &setup,
        "/destinations/new",
        "csrf=x&plugin=braze&name=crm",
        Some(&cookie),
        "127.0.0.1:1",
    )
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn file_destinations_are_read_only_and_stored_ones_switch_and_delete() {
    let setup = setup(session::IDLE).await;
    let cookie = sign_in(&setup).await;
    let list = get(&setup, "/destinations", Some(&cookie)).await.body;
    assert!(
        list.contains("Defined in the config file test.toml line"),
        "{list}"
    );
    assert!(
        !list.contains(r#"href="/destinations/hook/edit""#),
        "{list}"
    );
    let edit = get(&setup, "/destinations/hook/edit", Some(&cookie)).await;
    assert_eq!(edit.status, StatusCode::CONFLICT);
    assert!(edit.body.contains("change it there"), "{}", edit.body);

    assert_eq!(
        create_crm(&setup, &cookie).await.status,
        StatusCode::SEE_OTHER
    );
    let token = csrf(&get(&setup, "/destinations", Some(&cookie)).await.body);
    let off = post_form(
        &setup,
        "/destinations/crm/switch",
        &format!("csrf={token}&enabled=false"),
        Some(&cookie),
        "127.0.0.1:1",
    )
    .await;
    assert_eq!(off.status, StatusCode::SEE_OTHER, "{}", off.body);
    assert!(
        !setup
            .reloader
            .live
            .current()
            .routes
            .destinations
            .iter()
            .any(|r| r.name == "crm")
    );
    let on = post_form(
        &setup,
        "/destinations/crm/switch",
        &format!("csrf={token}&enabled=true"),
        Some(&cookie),
        "127.0.0.1:1",
    )
    .await;
    assert_eq!(on.status, StatusCode::SEE_OTHER);
    assert!(
        setup
            .reloader
            .live
            .current()
            .routes
            .destinations
            .iter()
            .any(|r| r.name == "crm")
    );
    // Deleting asks first; the question itself changes nothing.
    let confirm = get(&setup, "/destinations/crm/delete", Some(&cookie))
        .await
        .body;
    assert!(confirm.contains("Delete crm?"), "{confirm}");
    assert_eq!(setup.reloader.store.read().unwrap().len(), 1);
    let gone = post_form(
        &setup,
        "/destinations/crm/delete",
        &format!("csrf={token}"),
        Some(&cookie),
        "127.0.0.1:1",
    )
    .await;
    assert_eq!(gone.status, StatusCode::SEE_OTHER);
    assert!(setup.reloader.store.read().unwrap().is_empty());
}

#[tokio::test]
async fn the_events_page_shows_where_each_recent_event_went() {
    let setup = setup(session::IDLE).await;
    setup.recent.keep(
        &Arc::from("app"),
        [
            json!({"type": "track", "event": "Trip Booked", "userId": "u1", "messageId": "m-1",
                "receivedAt": "2026-12-03T09:00:00.000Z"}),
            json!({"type": "page", "name": "Pricing", "anonymousId": "a9", "messageId": "m-2"}),
            json!({"type": "track", "event": "Trip Booked", "userId": "u2", "messageId": "m-4"}),
            json!({"type": "track", "event": "Trip Booked", "userId": "u3", "messageId": "m-5"}),
            json!({"type": "track", "event": "Nobody Wants This", "userId": "u1", "messageId": "m-3"}),
        ]
        .map(|e| e.to_string())
        .to_vec(),
    );
    // The queue and its log, as delivery leaves them: m-1 delivered; m-2 failed once and
    // waits for its retry; m-4 waits for its first attempt; m-5 went to dead letters; m-3
    // went nowhere. The attempts were made half a second after m-1 was received.
    let conn =
        crate::queue::sqlite::open(&crate::queue::sqlite::path_in(setup._dir.path())).unwrap();
    for (id, destination, subscription, outcome, status) in [
        ("m-1", "hook", "Bookings", "delivered", 200),
        ("m-2", "chat", "Pricing views", "retry", 503),
    ] {
        conn.execute(
            "INSERT INTO attempts (at, source, destination, subscription, action, message_id, \
             outcome, status, latency_ms, error) \
             VALUES (1796288400500, 'app', ?1, ?2, 'a', ?3, ?4, ?5, 3, ?6)",
            rusqlite::params![
                destination,
                subscription,
                id,
                outcome,
                status,
                (status != 200).then_some("the vendor is down")
            ],
        )
        .unwrap();
    }
    for (id, destination, subscription) in [
        ("m-2", "chat", "Pricing views"),
        ("m-4", "hook", "Bookings"),
    ] {
        conn.execute(
            "INSERT INTO deliveries (destination, subscription, action, source, message_id, \
             payload, accepted_at, due_at) VALUES (?1, ?2, 'a', 'app', ?3, '{}', 1, 1)",
            rusqlite::params![destination, subscription, id],
        )
        .unwrap();
    }
    conn.execute(
        "INSERT INTO dead_letters (destination, subscription, action, source, message_id, \
         payload, reason, attempts, accepted_at, dead_at) \
         VALUES ('hook', 'Bookings', 'send', 'app', 'm-5', '{}', 'invalid-payload', 0, 1, 1)",
        [],
    )
    .unwrap();
    let cookie = sign_in(&setup).await;
    let page = get(&setup, "/events", Some(&cookie)).await.body;
    let shown = |destination: &str, subscription: &str, outcome: &str| {
        format!(
            "<strong>{destination}</strong> / {subscription}: <span class=\"outcome \
             outcome-{outcome}\">{outcome}</span>"
        )
    };
    for (d, s, o) in [
        ("hook", "Bookings", "delivered"),
        ("chat", "Pricing views", "retrying"),
        ("hook", "Bookings", "waiting"),
        ("hook", "Bookings", "dead-lettered"),
    ] {
        assert!(page.contains(&shown(d, s, o)), "{d} {s} {o}: {page}");
    }
    assert!(page.contains("(HTTP 503: the vendor is down)"), "{page}");
    assert!(page.contains("No subscription took it."), "{page}");
    // Newest first.
    let newest = page.find("Nobody Wants This").unwrap();
    let oldest = page.find("Pricing").unwrap();
    assert!(newest < oldest, "{page}");
}

/// Two dead letters (crm: auth, hook: permanent) and three log entries, written as delivery
/// writes them.
fn some_deliveries(setup: &Setup) -> rusqlite::Connection {
    let conn =
        crate::queue::sqlite::open(&crate::queue::sqlite::path_in(setup._dir.path())).unwrap();
    let now = crate::queue::now();
    for (id, destination, outcome, status, error) in [
        ("m-1", "hook", "delivered", Some(200), None),
        (
            "m-2",
            "chat",
            "retry",
            Some(503),
            Some("HTTP 503: {\"error\":\"try later\"}"),
        ),
        (
            "m-3",
            "hook",
            "dead-letter",
            Some(400),
            Some("HTTP 400: bad field <b>x</b>"),
        ),
    ] {
        conn.execute(
            "INSERT INTO attempts (at, source, destination, subscription, action, message_id, \
             outcome, status, latency_ms, error, request) \
             VALUES (?1, 'app', ?2, 'S', 'send', ?3, ?4, ?5, 12, ?6, ?7)",
            rusqlite::params![
                now - 1000,
                destination,
                id,
                outcome,
                status,
                error,
                format!(
                    "POST https://{destination}.example/in → {}",
                    status.unwrap()
                )
            ],
        )
        .unwrap();
    }
    for (id, destination, reason) in [("m-3", "hook", "permanent"), ("m-4", "chat", "auth")] {
        conn.execute(
            "INSERT INTO dead_letters (destination, subscription, action, source, message_id, \
             payload, reason, error, attempts, accepted_at, dead_at) \
             VALUES (?1, 'S', 'send', 'app', ?2, '{\"n\":1}', ?3, 'gave up', 3, ?4, ?4)",
            rusqlite::params![destination, id, reason, now - 500],
        )
        .unwrap();
    }
    conn
}

fn count(conn: &rusqlite::Connection, table: &str) -> i64 {
    conn.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))
        .unwrap()
}

#[tokio::test]
async fn deliveries_are_filtered_and_show_each_attempts_request_status_and_error() {
    let setup = setup(session::IDLE).await;
    let _conn = some_deliveries(&setup);
    let cookie = sign_in(&setup).await;
    let page = get(&setup, "/deliveries", Some(&cookie)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let body = &page.body;
    assert!(
        body.contains("POST https://chat.example/in → 503"),
        "{body}"
    );
    assert!(
        body.contains("HTTP 503: {&#34;error&#34;:&#34;try later&#34;}"),
        "{body}"
    );
    // The vendor's answer is text.
    assert!(
        body.contains("bad field &#60;b&#62;x&#60;/b&#62;"),
        "{body}"
    );
    assert!(body.contains("Dead letters (2)"), "{body}");
    let hook = get(
        &setup,
        "/deliveries?destination=hook&outcome=dead-letter",
        Some(&cookie),
    )
    .await;
    assert!(
        hook.body.contains("Delivery log (1, newest first)"),
        "{}",
        hook.body
    );
    assert!(hook.body.contains("Dead letters (1)"), "{}", hook.body);
    assert!(!hook.body.contains("chat.example"), "{}", hook.body);
    let auth = get(&setup, "/deliveries?reason=auth", Some(&cookie)).await;
    assert!(auth.body.contains("Dead letters (1)"), "{}", auth.body);
    // Nothing older than the filter's time.
    let later = get(
        &setup,
        "/deliveries?until=2000-01-01T00:00:00Z",
        Some(&cookie),
    )
    .await;
    assert!(
        later.body.contains("No dead letters match."),
        "{}",
        later.body
    );
    let bad = get(&setup, "/deliveries?since=yesterday", Some(&cookie)).await;
    assert!(bad.body.contains("since: "), "{}", bad.body);
}

#[tokio::test]
async fn dead_letters_replay_when_selected_and_purge_only_after_a_confirmation() {
    let setup = setup(session::IDLE).await;
    let conn = some_deliveries(&setup);
    let cookie = sign_in(&setup).await;
    let page = get(&setup, "/deliveries", Some(&cookie)).await.body;
    let token = csrf(&page);
    let auth_id: i64 = conn
        .query_row(
            "SELECT id FROM dead_letters WHERE reason = 'auth'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    // Replay the selected one: it is back in the queue, the other stays.
    let replayed = post_form(
        &setup,
        "/deliveries/replay",
        &format!("csrf={token}&since=24h&which=selected&id={auth_id}"),
        Some(&cookie),
        "127.0.0.1:1",
    )
    .await;
    assert_eq!(replayed.status, StatusCode::SEE_OTHER, "{}", replayed.body);
    assert_eq!(count(&conn, "dead_letters"), 1);
    assert_eq!(count(&conn, "deliveries"), 1);
    let notice = get(
        &setup,
        replayed.headers[header::LOCATION].to_str().unwrap(),
        Some(&cookie),
    )
    .await;
    assert!(
        notice
            .body
            .contains("1 dead letter(s) are back in the queue"),
        "{}",
        notice.body
    );
    // Purge with no filter and nothing selected is refused.
    let refused = post_form(
        &setup,
        "/deliveries/purge",
        &format!("csrf={token}&since=&which=matching"),
        Some(&cookie),
        "127.0.0.1:1",
    )
    .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("give a filter"), "{}", refused.body);
    // Purge asks first, and deletes nothing until confirmed.
    let asked = post_form(
        &setup,
        "/deliveries/purge",
        &format!("csrf={token}&since=24h&destination=hook&which=matching"),
        Some(&cookie),
        "127.0.0.1:1",
    )
    .await;
    assert_eq!(asked.status, StatusCode::OK);
    assert!(
        asked.body.contains("Delete 1 dead letter(s) for good?"),
        "{}",
        asked.body
    );
    assert_eq!(count(&conn, "dead_letters"), 1);
    // Without the CSRF token, nothing.
    let forged = post_form(
        &setup,
        "/deliveries/purge",
        "csrf=forged&since=24h&destination=hook&which=matching&confirmed=yes",
        Some(&cookie),
        "127.0.0.1:1",
    )
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(count(&conn, "dead_letters"), 1);
    let purged = post_form(
        &setup,
        "/deliveries/purge",
        &format!("csrf={token}&since=24h&destination=hook&which=matching&confirmed=yes"),
        Some(&cookie),
        "127.0.0.1:1",
    )
    .await;
    assert_eq!(purged.status, StatusCode::SEE_OTHER, "{}", purged.body);
    assert_eq!(count(&conn, "dead_letters"), 0);
}

/// The bundled webhook plugin as another version (a custom section makes its hash differ).
fn webhook_version(version: u8) -> Vec<u8> {
    let mut bytes = crate::bundled::find("webhook").unwrap().to_vec();
    let name = b"switchyard-test-version";
    let mut section = vec![name.len() as u8];
    section.extend_from_slice(name);
    section.push(version);
    bytes.push(0);
    bytes.push(section.len() as u8);
    bytes.extend_from_slice(&section);
    bytes
}

async fn upload(setup: &Setup, cookie: &str, csrf: &str, bytes: &[u8]) -> Answer {
    let mut body = Vec::new();
    body.extend_from_slice(
        format!(
            "--XyZ\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n\
             --XyZ\r\nContent-Disposition: form-data; name=\"plugin\"; \
             filename=\"webhook.wasm\"\r\nContent-Type: application/wasm\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend_from_slice(b"\r\n--XyZ--\r\n");
    let r = Request::post("/plugins")
        .header(header::CONTENT_TYPE, "multipart/form-data; boundary=XyZ")
        .header(header::COOKIE, cookie)
        .body(Body::from(body))
        .unwrap();
    request(setup, r).await
}

fn webhook_hash(setup: &Setup) -> String {
    setup.reloader.live.current().plugins["webhook"]
        .hash()
        .to_string()
}

#[tokio::test]
async fn a_plugin_is_uploaded_and_rolled_back_from_the_plugins_page() {
    let setup = setup_with(session::IDLE, true).await;
    let cookie = sign_in(&setup).await;
    let page = get(&setup, "/plugins", Some(&cookie)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body.contains("bundled with the server"),
        "{}",
        page.body
    );
    let token = csrf(&page.body);
    let bundled = webhook_hash(&setup);

    // Without the session's CSRF token, nothing is installed.
    let forged = upload(&setup, &cookie, "forged", &webhook_version(1)).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(webhook_hash(&setup), bundled);
    // Not a component: refused, saying why.
    let junk = upload(&setup, &cookie, &token, b"not wasm at all").await;
    assert_eq!(
        junk.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        junk.body
    );
    assert!(
        junk.body.contains("not a plugin this server can load"),
        "{}",
        junk.body
    );

    let first = upload(&setup, &cookie, &token, &webhook_version(1)).await;
    assert_eq!(first.status, StatusCode::SEE_OTHER, "{}", first.body);
    let v1 = webhook_hash(&setup);
    assert_ne!(v1, bundled);
    let second = upload(&setup, &cookie, &token, &webhook_version(2)).await;
    assert_eq!(second.status, StatusCode::SEE_OTHER, "{}", second.body);
    let v2 = webhook_hash(&setup);
    assert_ne!(v2, v1);
    let page = get(&setup, "/plugins", Some(&cookie)).await.body;
    assert!(
        page.contains("is loaded and in force") || page.contains(&v2),
        "{page}"
    );
    assert!(
        page.contains(&format!(
            "<input type=\"hidden\" name=\"hash\" value=\"{v1}\">"
        )),
        "{page}"
    );
    let back = post_form(
        &setup,
        "/plugins/webhook/rollback",
        &format!("csrf={token}&hash={v1}"),
        Some(&cookie),
        "127.0.0.1:1",
    )
    .await;
    assert_eq!(back.status, StatusCode::SEE_OTHER, "{}", back.body);
    assert_eq!(webhook_hash(&setup), v1);
    let unknown = post_form(
        &setup,
        "/plugins/webhook/rollback",
        &format!("csrf={token}&hash=0000"),
        Some(&cookie),
        "127.0.0.1:1",
    )
    .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert!(unknown.body.contains("is not kept"), "{}", unknown.body);
    // An id that would leave the archive folder is refused before any file is read.
    let outside = post_form(
        &setup,
        "/plugins/..%2F..%2Fplugins%2Fwebhook/rollback",
        &format!("csrf={token}&hash={v1}"),
        Some(&cookie),
        "127.0.0.1:1",
    )
    .await;
    assert_eq!(outside.status, StatusCode::NOT_FOUND);
    assert!(
        outside.body.contains("is not a plugin id"),
        "{}",
        outside.body
    );
    assert_eq!(webhook_hash(&setup), v1);
}

#[tokio::test]
async fn past_events_are_counted_then_sent_again_from_the_destination_page() {
    use crate::queue::Routed;
    use crate::queue::log::{LogEvent, Start};
    let setup = setup(session::IDLE).await;
    let log = setup.reloader.log.clone().unwrap();
    let now = crate::queue::now();
    // The destination has read three events: two trips booked and a page view.
    log.open_consumer("hook", Start::End, now).await.unwrap();
    let events = [
        ("m-1", "Trip Booked"),
        ("m-2", "Viewed"),
        ("m-3", "Trip Booked"),
    ]
    .iter()
    .map(|(id, event)| LogEvent {
        source: "app".into(),
        message_id: id.to_string(),
        timestamp: None,
        body: json!({"type": "track", "event": event, "userId": "u1", "messageId": id,
                "properties": {"trip": "Lisbon"}, "traits": {"email": "<b>a@example.com</b>"}})
        .to_string(),
    })
    .collect();
    let appended = log.append(events, now).await.unwrap();
    log.advance("hook", appended.last, Routed::default(), now)
        .await
        .unwrap();
    let conn =
        crate::queue::sqlite::attach(&crate::queue::sqlite::path_in(setup._dir.path())).unwrap();
    let cookie = sign_in(&setup).await;
    let page = get(&setup, "/destinations/hook", Some(&cookie)).await;
    assert!(
        page.body.contains("Send past events again"),
        "{}",
        page.body
    );
    let token = csrf(&page.body);
    let send = |form: String| {
        let (setup, cookie) = (&setup, &cookie);
        async move {
            post_form(
                setup,
                "/destinations/hook/replay",
                &form,
                Some(cookie),
                "127.0.0.1:1",
            )
            .await
        }
    };
    // Counting sends nothing and keeps the form as filled in.
    let counted = send(format!(
        "csrf={token}&subscription=Bookings&from=1h&until=&send=no"
    ))
    .await;
    assert_eq!(counted.status, StatusCode::OK, "{}", counted.body);
    assert!(
        counted
            .body
            .contains("Counted, nothing sent: 3 event(s) received from"),
        "{}",
        counted.body
    );
    assert!(
        counted
            .body
            .contains("would make 2 deliveries (Bookings 2)"),
        "{}",
        counted.body
    );
    assert!(
        counted
            .body
            .contains(r#"<option value="Bookings" selected>"#)
    );
    assert_eq!(count(&conn, "deliveries"), 0);
    // Sending queues them, marked as replayed.
    let sent = send(format!(
        "csrf={token}&subscription=Bookings&from=1h&until=&send=yes"
    ))
    .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    let after = get(
        &setup,
        sent.headers[header::LOCATION].to_str().unwrap(),
        Some(&cookie),
    )
    .await;
    assert!(
        after.body.contains("Sent again: 3 event(s)")
            && after.body.contains("made 2 deliveries (Bookings 2)"),
        "{}",
        after.body
    );
    let replayed: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM deliveries WHERE destination = 'hook' AND replayed = 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(replayed, 2);
    // A bad time or an unknown subscription is named, and nothing is sent.
    for (form, says) in [
        ("subscription=&from=yesterday&until=", "Received since:"),
        (
            "subscription=Nope&from=1h&until=",
            "no enabled subscription",
        ),
        ("subscription=&from=1h&until=2h", "must be after"),
    ] {
        let refused = send(format!("csrf={token}&{form}&send=yes")).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{form}");
        assert!(refused.body.contains(says), "{form}: {}", refused.body);
    }
    let forged = send("csrf=forged&subscription=&from=1h&until=&send=yes".into()).await;
    assert_ne!(forged.status, StatusCode::SEE_OTHER);
    assert_eq!(count(&conn, "deliveries"), 2);
}
