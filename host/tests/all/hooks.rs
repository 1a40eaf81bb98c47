//! Action hooks (issue 18, point 9) in a running server: a subscription saved through the admin
//! API runs its action's hook once, the outputs reach every event, a restart or an unrelated
//! change never runs it again, new inputs do, a failing hook refuses the change, and a mapping
//! that carries outputs (moved from Segment) is used as it is. Braze's `upsertCatalogItem`
//! against a real HTTP server standing in for Braze.

use crate::mock::{Mock, Reply};
use crate::serve::reqwest_like::Client;
use crate::serve::start;
use serde_json::{Value, json};

const TOKEN: &str = "admin-token-for-tests-0123456789";
const SECRET: &str = "braze-catalog-key-8080";

async fn admin(client: &Client, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let bytes = body.map_or(Vec::new(), |b| serde_json::to_vec(&b).unwrap());
    client.call(method, path, TOKEN, bytes).await
}

fn catalog_posts(mock: &Mock) -> usize {
    mock.received()
        .iter()
        .filter(|r| r.method == "POST" && r.path == "/catalogs")
        .count()
}

fn trips(catalog: &str) -> Value {
    json!({"name": "Trips", "action": "upsertCatalogItem",
        "trigger": "event = \"Trip Listed\"",
        "mapping": {
            "item_id": {"@path": "$.properties.trip_id"},
            "item": {"@path": "$.properties.item"},
            "enable_batching": false,
            "onMappingSave": {"inputs": {"operation": "create",
                "created_catalog_name": catalog, "description": "Trips on sale",
                "columns": [{"name": "city", "type": "string"}]}}}})
}

async fn list_trip(ingest: &Client, n: usize) {
    let body = json!({"type": "track", "event": "Trip Listed", "userId": "ops",
        "messageId": format!("trip-{n}"),
        "properties": {"trip_id": format!("t-{n}"), "item": {"city": "Lisbon"}}});
    assert_eq!(ingest.post("/v1/track", Some("key-123"), body).await.0, 200);
}

#[tokio::test]
async fn a_subscriptions_hook_runs_once_when_saved_and_its_outputs_reach_every_event() {
    let braze = Mock::start().await;
    let chat = Mock::start().await;
    let dir = tempfile::tempdir().unwrap();
    let token = format!("admin_token = \"{TOKEN}\"");
    let config = crate::admin::config_with(dir.path(), &token, &crate::admin::chat(&chat));
    let mut s = start(&config, &[]).await;
    let client = Client::new(&s.admin);
    let ingest = Client::new(&s.ingest);
    let destination = json!({"name": "catalogs", "plugin": "braze",
        "settings": {"api_key": SECRET}, "redirect_outbound": braze.url(""),
        "subscriptions": [trips("trips")]});
    let kept = dir.path().join("data/hook-outputs.json");

    // The hook fails (Braze refuses the catalog): nothing is made, the reason is given.
    braze.push(Reply::new(
        400,
        r#"{"errors":[{"id":"catalog-name-already-exists","message":"A catalog with that name already exists"}]}"#,
    ));
    let (status, answer) = admin(
        &client,
        "POST",
        "/admin/destinations",
        Some(destination.clone()),
    )
    .await;
    assert_eq!(status, 422, "{answer}");
    let problem = answer["problems"][0].as_str().unwrap();
    assert!(
        problem.contains("\"Trips\"")
            && problem.contains("onMappingSave")
            && problem.contains("A catalog with that name already exists"),
        "{problem}"
    );
    assert_eq!(
        admin(&client, "GET", "/admin/destinations/catalogs", None)
            .await
            .0,
        404
    );
    assert!(!kept.exists());

    // Saved: the hook creates the catalog once, and events go into it.
    braze.push(Reply::new(201, r#"{"message":"success"}"#));
    let (status, made) = admin(&client, "POST", "/admin/destinations", Some(destination)).await;
    assert_eq!(status, 201, "{made}");
    let got = braze.wait_for(2).await;
    assert_eq!(
        (got[1].method.as_str(), got[1].path.as_str()),
        ("POST", "/catalogs")
    );
    assert_eq!(
        got[1].header("authorization"),
        Some(&*format!("Bearer {SECRET}"))
    );
    assert_eq!(
        got[1].json(),
        json!({"catalogs": [{"name": "trips", "description": "Trips on sale",
            "fields": [{"name": "id", "type": "string"}, {"name": "city", "type": "string"}]}]})
    );
    list_trip(&ingest, 1).await;
    let got = braze.wait_for(3).await;
    assert_eq!(
        (got[2].method.as_str(), got[2].path.as_str()),
        ("PUT", "/catalogs/trips/items/t-1")
    );
    assert_eq!(got[2].json(), json!({"items": [{"city": "Lisbon"}]}));
    let file = std::fs::read_to_string(&kept).unwrap();
    assert!(file.contains("\"catalog_name\": \"trips\""), "{file}");

    // A restart and an unrelated change keep the outputs: the hook does not run again.
    crate::serve::stop(&mut s.child).await;
    s = start(&config, &[]).await;
    let client = Client::new(&s.admin);
    let ingest = Client::new(&s.ingest);
    let (status, off) = admin(
        &client,
        "POST",
        "/admin/destinations/catalogs/subscriptions/Trips/disable",
        None,
    )
    .await;
    assert_eq!(status, 200, "{off}");
    let (status, on) = admin(
        &client,
        "POST",
        "/admin/destinations/catalogs/subscriptions/Trips/enable",
        None,
    )
    .await;
    assert_eq!(status, 200, "{on}");
    list_trip(&ingest, 2).await;
    let got = braze.wait_for(4).await;
    assert_eq!(got[3].path, "/catalogs/trips/items/t-2");
    assert_eq!(catalog_posts(&braze), 2, "{got:?}");

    // New inputs run it again.
    let (status, changed) = admin(
        &client,
        "PUT",
        "/admin/destinations/catalogs/subscriptions/Trips",
        Some(trips("trips_2027")),
    )
    .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(catalog_posts(&braze), 3);
    list_trip(&ingest, 3).await;
    let got = braze.wait_for(6).await;
    assert_eq!(got[5].path, "/catalogs/trips_2027/items/t-3");

    // A mapping moved from Segment carries its outputs: used as they are, no hook runs.
    let moved = json!({"name": "Hotels", "action": "upsertCatalogItem",
        "trigger": "event = \"Hotel Listed\"",
        "mapping": {"item_id": {"@path": "$.properties.hotel_id"},
            "item": {"@path": "$.properties.item"}, "enable_batching": false,
            "onMappingSave": {"inputs": {"operation": "select", "selected_catalog_name": "hotels"},
                "outputs": {"catalog_name": "hotels"}}}});
    let (status, sub) = admin(
        &client,
        "POST",
        "/admin/destinations/catalogs/subscriptions",
        Some(moved),
    )
    .await;
    assert_eq!(status, 201, "{sub}");
    let body = json!({"type": "track", "event": "Hotel Listed", "userId": "ops",
        "messageId": "hotel-1", "properties": {"hotel_id": "h-1", "item": {"stars": 4}}});
    assert_eq!(ingest.post("/v1/track", Some("key-123"), body).await.0, 200);
    let got = braze.wait_for(7).await;
    assert_eq!(got[6].path, "/catalogs/hotels/items/h-1");
    assert_eq!(catalog_posts(&braze), 3);

    // A hook's record that is not {"inputs": {...}, "outputs": {...}} is refused, naming it.
    let bad = json!({"name": "Bad", "action": "upsertCatalogItem", "trigger": "type = \"track\"",
        "mapping": {"onMappingSave": {"inputs": "trips"}}});
    let (status, answer) = admin(
        &client,
        "POST",
        "/admin/destinations/catalogs/subscriptions",
        Some(bad),
    )
    .await;
    assert_eq!(status, 422, "{answer}");
    assert!(
        answer["problems"][0]
            .as_str()
            .unwrap()
            .contains("/onMappingSave/inputs should be an object"),
        "{answer}"
    );
    let logs = s.logs.lock().unwrap().join("\n");
    assert!(!logs.contains(SECRET), "the secret leaked into the log");
    s.child.kill().await.unwrap();
}

#[tokio::test]
async fn a_configuration_files_hook_runs_at_start_and_not_again_on_reload() {
    let braze = Mock::start().await;
    let dir = tempfile::tempdir().unwrap();
    let token = format!("admin_token = \"{TOKEN}\"");
    let destination = format!(
        r#"
[[destinations]]
name = "catalogs"
plugin = "braze"
redirect_outbound = "{mock}"
settings = {{ api_key = "{SECRET}" }}

  [[destinations.subscriptions]]
  name = "Trips"
  action = "upsertCatalogItem"
  trigger = 'event = "Trip Listed"'
    [destinations.subscriptions.mapping]
    item_id = {{ "@path" = "$.properties.trip_id" }}
    item = {{ "@path" = "$.properties.item" }}
    enable_batching = false
    [destinations.subscriptions.mapping.onMappingSave.inputs]
    operation = "create"
    created_catalog_name = "trips"
"#,
        mock = braze.url("")
    );
    let config = crate::admin::config_with(dir.path(), &token, &destination);
    let s = start(&config, &[]).await;
    let got = braze.wait_for(1).await;
    assert_eq!(
        (got[0].method.as_str(), got[0].path.as_str()),
        ("POST", "/catalogs")
    );
    assert_eq!(got[0].json()["catalogs"][0]["name"], "trips");

    let client = Client::new(&s.admin);
    let (status, reloaded) = client.post_bearer("/admin/reload", TOKEN).await;
    assert_eq!(status, 200, "{reloaded}");
    list_trip(&Client::new(&s.ingest), 1).await;
    let got = braze.wait_for(2).await;
    assert_eq!(got[1].path, "/catalogs/trips/items/t-1");
    assert_eq!(catalog_posts(&braze), 1);
}
