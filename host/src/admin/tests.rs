//! The admin API's handlers, driven in process through the router (`oneshot`, no socket), over
//! real state: the bundled webhook plugin loaded in the runtime, a SQLite queue and a store of
//! destinations in a temporary folder.

use super::{Admin, router};
use crate::config::Config;
use crate::config::stored::Store;
use crate::deliver::state::DestinationStates;
use crate::live::versions::Archive;
use crate::live::{Live, Reloader, Snapshot, load_plugins};
use crate::queue::sqlite::{self, Retention, SqliteQueue};
use crate::queue::{Queue, Records};
use crate::routes::Routes;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt as _;
use serde_json::{Value, json};
use std::sync::Arc;
use tower::ServiceExt as _;

const TOKEN: &str = "test-admin-token";

struct Setup {
    app: axum::Router,
    _dir: tempfile::TempDir,
}

async fn setup(config_text: &str) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "[server]\ndata_dir = {:?}\n[[sources]]\nname = \"app\"\nwrite_key = \"k\"\n{config_text}",
        dir.path().display().to_string()
    );
    let config = Config::parse(&text, "test.toml", |_| Err::<String, _>("no environment")).unwrap();
    let runtime = crate::runtime::Runtime::new(&Default::default()).unwrap();
    let plugins = load_plugins(&runtime, &config).await.unwrap();
    let routes = Arc::new(Routes::build(&config, &plugins).unwrap());
    let queue =
        Arc::new(SqliteQueue::open(&sqlite::path_in(dir.path()), Retention::default()).unwrap());
    let live = Arc::new(Live::new(Snapshot {
        config,
        plugins,
        routes,
    }));
    let reloader = Arc::new(Reloader {
        path: None,
        runtime,
        live: live.clone(),
        busy: tokio::sync::Mutex::default(),
        refusals: std::sync::Mutex::default(),
        archive: Archive {
            dir: dir.path().join("plugins"),
        },
        store: Store::in_dir(dir.path()),
        hooks: crate::live::hooks::HookStore::in_dir(dir.path()),
        log: None,
    });
    let app = router(Arc::new(Admin {
        token: TOKEN.into(),
        live,
        reloader,
        states: Arc::new(DestinationStates::default()),
        queue: queue.clone() as Arc<dyn Queue>,
        records: queue as Arc<dyn Records>,
        recent: Arc::default(),
    }));
    Setup { app, _dir: dir }
}

/// Sends one request; answers the status, the headers and the body as JSON.
async fn send(
    setup: &Setup,
    method: &str,
    path: &str,
    body: Option<Value>,
    token: Option<&str>,
) -> (StatusCode, axum::http::HeaderMap, Value) {
    let mut request = Request::builder().method(method).uri(path);
    if let Some(t) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    let request = match body {
        Some(b) => request
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(b.to_string())),
        None => request.body(Body::empty()),
    }
    .unwrap();
    let response = setup.app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, headers, json)
}

const HOOK: &str = r#"
[[destinations]]
name = "hook"
plugin = "webhook"
allowed_hosts = ["https://hooks.example"]
  [[destinations.subscriptions]]
  name = "All"
  action = "send"
  trigger = 'type = "track"'
    [destinations.subscriptions.mapping]
    url = "https://hooks.example/in"
"#;

#[tokio::test]
async fn without_the_token_every_path_answers_401_with_a_bearer_challenge() {
    let setup = setup("").await;
    for token in [None, Some("wrong")] {
        let (status, headers, body) = send(&setup, "GET", "/admin/plugins", None, token).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            headers[header::WWW_AUTHENTICATE],
            "Bearer realm=\"switchyard admin\""
        );
        assert!(
            body["error"].as_str().unwrap().contains("admin token"),
            "{body}"
        );
    }
    // An unknown path tells nothing more without the token.
    let (status, _, _) = send(&setup, "GET", "/admin/nothing-here", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn plugins_are_listed_and_an_unknown_one_is_not_found() {
    let setup = setup("").await;
    let (status, _, body) = send(&setup, "GET", "/admin/plugins", None, Some(TOKEN)).await;
    assert_eq!(status, StatusCode::OK);
    let ids: Vec<&str> = body["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&"webhook") && ids.contains(&"braze"),
        "{ids:?}"
    );
    let (status, _, body) = send(&setup, "GET", "/admin/plugins/nope", None, Some(TOKEN)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body, json!({"error": "no plugin \"nope\" is loaded"}));
}

#[tokio::test]
async fn a_destination_shows_its_breaker_from_delivery_state() {
    let setup = setup(HOOK).await;
    let (status, _, body) =
        send(&setup, "GET", "/admin/destinations/hook", None, Some(TOKEN)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["breaker"]["state"], "closed", "{body}");
    assert_eq!(body["breaker"]["failures_in_a_row"], 0, "{body}");
    assert_eq!(body["managed_by"], "config file");
}

#[tokio::test]
async fn a_malformed_body_is_a_bad_request_that_names_where() {
    let setup = setup("").await;
    let request = Request::post("/admin/destinations")
        .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
        .body(Body::from("{\"name\": \"x\",\n \"plugin\": }"))
        .unwrap();
    let response = setup.app.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let body: Value = serde_json::from_slice(&bytes).unwrap();
    let error = body["error"].as_str().unwrap();
    assert!(error.contains("line 2"), "{error}");
}

#[tokio::test]
async fn a_refused_change_answers_every_problem_as_a_list() {
    let setup = setup("").await;
    let (status, _, body) = send(
        &setup,
        "POST",
        "/admin/destinations",
        Some(json!({"name": "x", "plugin": "no-such-plugin"})),
        Some(TOKEN),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"], "refused; nothing changed");
    let problems = body["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1, "{body}");
    assert!(
        problems[0]
            .as_str()
            .unwrap()
            .contains("unknown plugin \"no-such-plugin\""),
        "{body}"
    );
    // Nothing changed.
    let (_, _, list) = send(&setup, "GET", "/admin/destinations", None, Some(TOKEN)).await;
    assert_eq!(list, json!({"destinations": []}));
}

#[tokio::test]
async fn a_reload_without_a_file_is_refused_with_its_reason_as_a_problem() {
    let setup = setup("").await;
    let (status, _, body) = send(&setup, "POST", "/admin/reload", None, Some(TOKEN)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        body["error"],
        "the configuration was refused; nothing changed"
    );
    assert!(
        body["problems"][0]
            .as_str()
            .unwrap()
            .contains("built-in default configuration"),
        "{body}"
    );
    // Nothing was tried, so nothing is kept as a refused reload.
    let (_, _, plugins) = send(&setup, "GET", "/admin/plugins", None, Some(TOKEN)).await;
    assert_eq!(plugins["refused_reloads"], json!([]), "{plugins}");
}

#[tokio::test]
async fn health_answers_without_a_token() {
    let setup = setup("").await;
    let (status, _, body) = send(&setup, "GET", "/healthz", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({"status": "alive"}));
}

/// The properties a schema of openapi.json lists (following `allOf`), and the required ones.
fn schema_keys(name: &str) -> (std::collections::BTreeSet<String>, Vec<String>) {
    let spec: Value = serde_json::from_str(super::OPENAPI).unwrap();
    let schema = &spec["components"]["schemas"][name];
    assert!(schema.is_object(), "no schema {name} in openapi.json");
    let mut properties = std::collections::BTreeSet::new();
    let mut required = Vec::new();
    let mut parts = vec![schema.clone()];
    for part in schema["allOf"].as_array().into_iter().flatten() {
        let target = part["$ref"].as_str().unwrap().rsplit('/').next().unwrap();
        parts.push(spec["components"]["schemas"][target].clone());
    }
    for part in parts {
        properties.extend(
            part["properties"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, _)| k.clone()),
        );
        required.extend(
            part["required"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|r| r.as_str().unwrap().to_string()),
        );
    }
    (properties, required)
}

/// `value`'s keys are among the schema's properties, with every required one; with `whole`,
/// exactly the schema's properties.
fn assert_fits(value: &Value, schema: &str, whole: bool) {
    let (properties, required) = schema_keys(schema);
    let keys: std::collections::BTreeSet<String> =
        value.as_object().unwrap().keys().cloned().collect();
    let undocumented: Vec<&String> = keys.difference(&properties).collect();
    assert!(
        undocumented.is_empty(),
        "{schema}: {undocumented:?} are not in openapi.json: {value}"
    );
    for r in &required {
        assert!(
            keys.contains(r),
            "{schema}: the required {r:?} is missing: {value}"
        );
    }
    if whole {
        let unsent: Vec<&String> = properties.difference(&keys).collect();
        assert!(
            unsent.is_empty(),
            "{schema}: documented but never sent: {unsent:?}"
        );
    }
}

#[tokio::test]
async fn the_views_send_what_openapi_json_describes() {
    // FullStory without subscriptions runs its presets.
    let presets = "[[destinations]]\nname = \"fs\"\nplugin = \"fullstory\"\n  [destinations.settings]\n  apiKey = \"fs-key\"\n";
    let setup = setup(&format!("{HOOK}\n{presets}")).await;
    let (_, _, plugins) = send(&setup, "GET", "/admin/plugins", None, Some(TOKEN)).await;
    assert_fits(&plugins["plugins"][0], "Plugin", true);
    let (_, _, detail) = send(&setup, "GET", "/admin/plugins/webhook", None, Some(TOKEN)).await;
    assert_fits(&detail, "PluginDetail", true);
    let (_, _, hook) = send(&setup, "GET", "/admin/destinations/hook", None, Some(TOKEN)).await;
    assert_fits(&hook, "Destination", true);
    // A configured subscription, and a preset of a destination without subscriptions.
    assert_fits(&hook["subscriptions"][0], "Subscription", false);
    assert_eq!(hook["subscriptions"][0]["use_defaults"], true, "{hook}");
    let (_, _, chat) = send(&setup, "GET", "/admin/destinations/fs", None, Some(TOKEN)).await;
    assert_fits(&chat["subscriptions"][0], "Subscription", false);
    assert_eq!(chat["subscriptions"][0]["preset"], true, "{chat}");
    // Between them, the two kinds of subscription send every documented property.
    let mut both = hook["subscriptions"][0].as_object().unwrap().clone();
    both.extend(chat["subscriptions"][0].as_object().unwrap().clone());
    assert_fits(&Value::Object(both), "Subscription", true);
    let (_, _, error) = send(&setup, "GET", "/admin/destinations/nope", None, Some(TOKEN)).await;
    assert_fits(&error, "Error", true);
}
