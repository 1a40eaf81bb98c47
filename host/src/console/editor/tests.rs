//! The subscription editor, driven through the router over real state: the bundled Braze
//! plugin (a real wasm component) in a dry run, recent events, the stored destinations.
//! Forms are posted as the page shows them: the tests read the editor's fields from the HTML,
//! change what a person would change, and post them back.

use crate::console::session;
use crate::console::tests::{
    Answer, SECRET, Setup, create_crm, csrf, get, post_form, setup, sign_in,
};
use axum::http::{StatusCode, header};
use serde_json::{Value, json};
use std::sync::Arc;

/// The editor form's fields as the page shows them: inputs, textareas, selected options and
/// checked radios, in page order (buttons left out).
fn fields(page: &str) -> Vec<(String, String)> {
    let start = page.find("id=\"editor\"").expect("an editor form");
    let form = &page[start
        ..page[start..]
            .find("</form>")
            .map_or(page.len(), |e| start + e)];
    let attr = |tag: &str, name: &str| -> Option<String> {
        let key = format!(" {name}=\"");
        let at = tag.find(&key)? + key.len();
        Some(unescape(&tag[at..at + tag[at..].find('"')?]))
    };
    let mut out = Vec::new();
    let mut rest = form;
    while let Some(open) = rest.find('<') {
        rest = &rest[open..];
        let end = rest.find('>').unwrap_or(rest.len() - 1);
        let tag = &rest[..=end];
        if tag.starts_with("<input") {
            let kind = attr(tag, "type").unwrap_or_default();
            if let Some(name) = attr(tag, "name")
                && (kind != "radio" || tag.contains(" checked"))
            {
                out.push((name, attr(tag, "value").unwrap_or_default()));
            }
        } else if tag.starts_with("<textarea") {
            let name = attr(tag, "name").unwrap();
            let body = &rest[end + 1..];
            out.push((name, unescape(&body[..body.find("</textarea>").unwrap()])));
        } else if tag.starts_with("<select") {
            let name = attr(tag, "name").unwrap();
            let body = &rest[end + 1..rest.find("</select>").unwrap()];
            let chosen = body
                .split("<option")
                .skip(1)
                .find(|o| o.contains(" selected"))
                .or(body.split("<option").nth(1))
                .and_then(|o| attr(o, "value"))
                .unwrap_or_default();
            out.push((name, chosen));
        }
        rest = &rest[1..];
    }
    out
}

fn unescape(text: &str) -> String {
    text.replace("&#34;", "\"")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// Sets a field, adding it when the page has none of that name.
fn set(form: &mut Vec<(String, String)>, name: &str, value: &str) {
    match form.iter_mut().find(|(k, _)| k == name) {
        Some(slot) => slot.1 = value.to_string(),
        None => form.push((name.to_string(), value.to_string())),
    }
}

fn encoded(form: &[(String, String)], intent: &str) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in form {
        s.append_pair(k, v);
    }
    s.append_pair("intent", intent);
    s.finish()
}

async fn post(
    setup: &Setup,
    path: &str,
    form: &[(String, String)],
    intent: &str,
    cookie: &str,
) -> Answer {
    post_form(
        setup,
        path,
        &encoded(form, intent),
        Some(cookie),
        "127.0.0.1:1",
    )
    .await
}

fn booking(id: &str) -> Value {
    json!({
        "type": "track", "event": "Trip Booked", "userId": "traveller-7",
        "messageId": id, "timestamp": "2026-12-03T09:00:00.000Z",
        "receivedAt": "2026-12-03T09:00:01.000Z",
        "traits": {"email": "t7@example.com"},
        "properties": {"booking_id": "B-1", "total": 420.5, "trips": [
            {"route": "LHR-JFK", "fare": 300.5, "currency": "EUR", "seats": 1},
            {"route": "JFK-BOS", "fare": 120, "currency": "EUR", "seats": 2}
        ]}
    })
}

/// Signs in, creates Braze destination `crm`, and keeps a recent Trip Booked event.
async fn ready() -> (Setup, String) {
    let setup = setup(session::IDLE).await;
    let cookie = sign_in(&setup).await;
    let created = create_crm(&setup, &cookie).await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    setup
        .recent
        .keep(&Arc::from("app"), vec![booking("m-trip-1").to_string()]);
    (setup, cookie)
}

/// The Fly Inc. purchase: one purchase per trip, by the per-item mapping.
fn as_purchases(form: &mut Vec<(String, String)>) {
    set(form, "name", "Trip Booked is a purchase");
    set(form, "trigger.kind", "track");
    set(form, "trigger.name", "Trip Booked");
    set(form, "field.products.kind", "items");
    set(form, "field.products.array", "properties.trips");
    form.retain(|(k, _)| !k.starts_with("field.products.part."));
    for (i, (key, path)) in [
        ("product_id", "route"),
        ("price", "fare"),
        ("currency", "currency"),
        ("quantity", "seats"),
    ]
    .iter()
    .enumerate()
    {
        set(form, &format!("field.products.part.{i}.key"), key);
        set(form, &format!("field.products.part.{i}.kind"), "path");
        set(form, &format!("field.products.part.{i}.value"), path);
    }
}

#[tokio::test]
async fn a_new_subscription_starts_from_the_actions_defaults_and_the_newest_recent_event() {
    let (setup, cookie) = ready().await;
    let page = get(
        &setup,
        "/destinations/crm/subscriptions/new?action=trackPurchase",
        Some(&cookie),
    )
    .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let form = fields(&page.body);
    let value = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(value("action"), Some("trackPurchase"));
    assert_eq!(value("name"), Some("Track Purchase"));
    // The default mapping, as rows: products one per item of properties.products.
    assert_eq!(value("field.products.kind"), Some("path"));
    assert_eq!(value("field.products.value"), Some("properties.products"));
    assert_eq!(value("field.external_id.kind"), Some("path"));
    assert_eq!(value("field.external_id.value"), Some("userId"));
    // Pickers hold the recent event's names and paths, items' paths relative to the item.
    assert!(
        page.body
            .contains(r#"<option value="Trip Booked"></option>"#),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains(r#"<option value="properties.trips[].route"></option>"#)
    );
    assert!(
        page.body
            .contains(r#"<datalist id="item-paths"><option value="currency"></option>"#)
    );
    assert_eq!(value("event"), Some("m-trip-1"));
}

#[tokio::test]
async fn the_preview_shows_the_exact_request_with_secrets_masked_and_save_puts_it_in_force() {
    let (setup, cookie) = ready().await;
    let page = get(
        &setup,
        "/destinations/crm/subscriptions/new?action=trackPurchase",
        Some(&cookie),
    )
    .await;
    let mut form = fields(&page.body);
    as_purchases(&mut form);
    let shown = post(
        &setup,
        "/destinations/crm/subscriptions",
        &form,
        "preview",
        &cookie,
    )
    .await;
    assert_eq!(shown.status, StatusCode::OK, "{}", shown.body);
    let body = &shown.body;
    assert!(body.contains("The trigger takes this event."), "{body}");
    assert!(
        body.contains("POST <code class=\"url\">https://rest.iad-01.braze.com/users/track</code>"),
        "{body}"
    );
    // One purchase per trip, from the items.
    let request = &body[body.find("<pre class=\"request-body\">").unwrap()..];
    let request =
        unescape(&request[request.find('>').unwrap() + 1..request.find("</pre>").unwrap()]);
    let sent: Value = serde_json::from_str(&request).unwrap();
    let purchases = sent["purchases"].as_array().unwrap();
    assert_eq!(purchases.len(), 2, "{sent}");
    assert_eq!(purchases[0]["product_id"], "LHR-JFK");
    assert_eq!(purchases[0]["price"], 300.5);
    assert_eq!(purchases[1]["quantity"], 2);
    assert_eq!(purchases[1]["external_id"], "traveller-7");
    // The API key is masked in the headers, and nowhere on the page.
    assert!(!body.contains(SECRET), "the secret is shown");
    assert!(body.contains("authorization"), "{body}");

    // The live preview answers the same preview alone.
    let fragment = post(
        &setup,
        "/destinations/crm/subscriptions/preview",
        &form,
        "preview",
        &cookie,
    )
    .await;
    assert_eq!(fragment.status, StatusCode::OK);
    assert!(!fragment.body.contains("<html"), "{}", fragment.body);
    assert!(fragment.body.contains("/users/track"), "{}", fragment.body);

    // Save: in force at once, stored as written, whole.
    let saved = post(
        &setup,
        "/destinations/crm/subscriptions",
        &form,
        "save",
        &cookie,
    )
    .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let snapshot = setup.reloader.live.current();
    let route = snapshot
        .routes
        .destinations
        .iter()
        .find(|r| r.name == "crm")
        .unwrap();
    let sub = route
        .subscriptions
        .iter()
        .find(|s| s.name == "Trip Booked is a purchase")
        .expect("in force");
    assert_eq!(
        sub.trigger.to_string(),
        r#"type = "track" and event = "Trip Booked""#
    );
    let stored = setup.reloader.store.read().unwrap();
    let spec = stored[0]
        .subscriptions
        .as_ref()
        .unwrap()
        .iter()
        .find(|s| s.name == "Trip Booked is a purchase")
        .unwrap();
    assert!(!spec.use_defaults);
    assert_eq!(
        spec.mapping.as_ref().unwrap()["products"],
        json!({"@arrayPath": ["$.properties.trips", {
            "product_id": {"@path": "$.route"}, "price": {"@path": "$.fare"},
            "currency": {"@path": "$.currency"}, "quantity": {"@path": "$.seats"}}]})
    );
    let list = get(
        &setup,
        saved.headers[header::LOCATION].to_str().unwrap(),
        Some(&cookie),
    )
    .await;
    assert!(list.body.contains("it is in force now"), "{}", list.body);
    // Opened again, it shows what was saved.
    let again = get(
        &setup,
        "/destinations/crm/subscriptions/Trip%20Booked%20is%20a%20purchase/edit",
        Some(&cookie),
    )
    .await;
    let form = fields(&again.body);
    assert!(form.contains(&("field.products.array".into(), "properties.trips".into())));
    // The keys keep the order they were written in.
    assert!(form.contains(&("field.products.part.0.value".into(), "route".into())));
}

#[tokio::test]
async fn a_pasted_bare_event_is_completed_as_ingest_completes_it() {
    let (setup, cookie) = ready().await;
    let page = get(
        &setup,
        "/destinations/crm/subscriptions/new?action=trackEvent",
        Some(&cookie),
    )
    .await;
    let mut form = fields(&page.body);
    set(&mut form, "trigger.kind", "track");
    set(&mut form, "trigger.name", "E");
    set(&mut form, "event", "paste");
    set(
        &mut form,
        "pasted",
        r#"{"type":"track","userId":"u","event":"E"}"#,
    );
    let shown = post(
        &setup,
        "/destinations/crm/subscriptions",
        &form,
        "preview",
        &cookie,
    )
    .await;
    let body = &shown.body;
    assert!(!body.contains("missing the required field"), "{body}");
    assert!(body.contains("The trigger takes this event."), "{body}");
    assert!(body.contains("/users/track"), "{body}");
    // The completed event is shown: it has a messageId and receivedAt now.
    assert!(body.contains("&#34;receivedAt&#34;"), "{body}");
    assert!(body.contains("switchyard-"), "{body}");

    // A pasted event ingest would refuse says why.
    set(&mut form, "pasted", r#"{"type":"track","event":"E"}"#);
    let refused = post(
        &setup,
        "/destinations/crm/subscriptions",
        &form,
        "preview",
        &cookie,
    )
    .await;
    assert!(
        refused.body.contains(
            "would be refused at ingest: &#34;userId&#34; or &#34;anonymousId&#34; is required"
        ),
        "{}",
        refused.body
    );
}

#[tokio::test]
async fn field_errors_are_shown_beside_their_field_and_a_mismatch_names_the_failing_condition() {
    let (setup, cookie) = ready().await;
    let page = get(
        &setup,
        "/destinations/crm/subscriptions/new?action=trackPurchase",
        Some(&cookie),
    )
    .await;
    let mut form = fields(&page.body);
    as_purchases(&mut form);
    // A required field left empty, and a trigger for another event.
    set(&mut form, "field.external_id.kind", "path");
    set(&mut form, "field.external_id.value", "traits.nothing");
    set(&mut form, "trigger.name", "Trip Cancelled");
    let shown = post(
        &setup,
        "/destinations/crm/subscriptions",
        &form,
        "preview",
        &cookie,
    )
    .await;
    let body = &shown.body;
    assert!(
        body.contains("The trigger does not take this event: event is \u{201c}Trip Cancelled\u{201d} (the event has &#34;Trip Booked&#34;)."),
        "{body}"
    );
    // Braze's external_id is optional: no error. A bad literal in a number field is one.
    set(&mut form, "field.products.part.1.kind", "literal");
    set(&mut form, "field.products.part.1.value", "cheap");
    set(&mut form, "field.time.kind", "literal");
    set(&mut form, "field.time.value", "");
    set(&mut form, "field.time.kind", "path");
    set(&mut form, "field.time.value", "");
    let shown = post(
        &setup,
        "/destinations/crm/subscriptions",
        &form,
        "preview",
        &cookie,
    )
    .await;
    let body = &shown.body;
    let row = &body[body.find("id=\"row-time\"").unwrap()..];
    let row = &row[..row.find("</fieldset>").unwrap()];
    assert!(row.contains("name the event variable"), "{row}");
    // Saving is refused with the problems where they are, and nothing changes.
    let before = setup.reloader.store.read().unwrap();
    let refused = post(
        &setup,
        "/destinations/crm/subscriptions",
        &form,
        "save",
        &cookie,
    )
    .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("name the event variable"));
    let after = setup.reloader.store.read().unwrap();
    assert_eq!(
        serde_json::to_value(&before[0].subscriptions).unwrap(),
        serde_json::to_value(&after[0].subscriptions).unwrap()
    );
}

#[tokio::test]
async fn a_trigger_written_as_text_shows_its_error_at_the_column() {
    let (setup, cookie) = ready().await;
    let page = get(
        &setup,
        "/destinations/crm/subscriptions/new?action=trackEvent",
        Some(&cookie),
    )
    .await;
    let mut form = fields(&page.body);
    set(&mut form, "trigger_mode", "text");
    set(
        &mut form,
        "trigger_text",
        r#"type = "track" and evnt = "X""#,
    );
    let shown = post(
        &setup,
        "/destinations/crm/subscriptions",
        &form,
        "preview",
        &cookie,
    )
    .await;
    assert!(
        shown
            .body
            .contains("At column 20: unknown field &#34;evnt&#34;"),
        "{}",
        shown.body
    );
    // A trigger the builder cannot show stays text, and works.
    set(
        &mut form,
        "trigger_text",
        r#"!(type = "identify") and event = "Trip Booked""#,
    );
    let shown = post(
        &setup,
        "/destinations/crm/subscriptions",
        &form,
        "trigger-builder",
        &cookie,
    )
    .await;
    assert!(
        shown.body.contains("the builder cannot show this trigger"),
        "{}",
        shown.body
    );
    assert!(
        shown.body.contains("The trigger takes this event."),
        "{}",
        shown.body
    );
    // One it can show goes back to the builder.
    set(
        &mut form,
        "trigger_text",
        r#"type = "track" and event = "Trip Booked" and properties.total > 100"#,
    );
    let shown = post(
        &setup,
        "/destinations/crm/subscriptions",
        &form,
        "trigger-builder",
        &cookie,
    )
    .await;
    let back = fields(&shown.body);
    assert!(
        back.contains(&("condition.0.operator".into(), "gt".into())),
        "{back:?}"
    );
    assert!(back.contains(&("trigger.name".into(), "Trip Booked".into())));
}

#[tokio::test]
async fn the_mapping_as_json_is_accepted_and_shown_as_rows_again() {
    let (setup, cookie) = ready().await;
    let page = get(
        &setup,
        "/destinations/crm/subscriptions/new?action=trackEvent",
        Some(&cookie),
    )
    .await;
    let form = fields(&page.body);
    let as_json = post(
        &setup,
        "/destinations/crm/subscriptions",
        &form,
        "mapping-json",
        &cookie,
    )
    .await;
    let mut form = fields(&as_json.body);
    assert!(
        form.iter()
            .any(|(k, v)| k == "mapping_json" && v.contains("\"@path\""))
    );
    set(
        &mut form,
        "mapping_json",
        r#"{"name": "Viewed Pricing", "external_id": {"@path": "$.userId"}, "time": {"@path": "$.receivedAt"}}"#,
    );
    let rows = post(
        &setup,
        "/destinations/crm/subscriptions",
        &form,
        "mapping-rows",
        &cookie,
    )
    .await;
    let form = fields(&rows.body);
    assert!(
        form.contains(&("field.name.kind".into(), "literal".into())),
        "{form:?}"
    );
    assert!(form.contains(&("field.name.value".into(), "Viewed Pricing".into())));
    assert!(form.contains(&("field.time.value".into(), "receivedAt".into())));
    // A key that is not a field is refused, naming it.
    let mut form = fields(&as_json.body);
    set(&mut form, "mapping_json", r#"{"nmae": "x"}"#);
    let refused = post(
        &setup,
        "/destinations/crm/subscriptions",
        &form,
        "mapping-rows",
        &cookie,
    )
    .await;
    assert!(
        refused
            .body
            .contains("&#34;nmae&#34; is not a field of Track Event"),
        "{}",
        refused.body
    );
}

#[tokio::test]
async fn the_editor_refuses_a_post_without_the_csrf_token() {
    let (setup, cookie) = ready().await;
    let page = get(
        &setup,
        "/destinations/crm/subscriptions/new?action=trackEvent",
        Some(&cookie),
    )
    .await;
    let mut form = fields(&page.body);
    set(&mut form, "csrf", "forged");
    for path in [
        "/destinations/crm/subscriptions",
        "/destinations/crm/subscriptions/preview",
    ] {
        let refused = post(&setup, path, &form, "save", &cookie).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{path}");
    }
    let stored = setup.reloader.store.read().unwrap();
    assert!(
        !stored[0]
            .subscriptions
            .as_ref()
            .unwrap()
            .iter()
            .any(|s| s.name == "Track Event"),
        "nothing was saved"
    );
}

#[tokio::test]
async fn subscriptions_are_listed_switched_and_deleted_after_a_confirmation() {
    let (setup, cookie) = ready().await;
    let page = get(&setup, "/destinations/crm", Some(&cookie)).await.body;
    // Braze's presets, with their triggers in words.
    let snapshot = setup.reloader.live.current();
    let route = snapshot
        .routes
        .destinations
        .iter()
        .find(|r| r.name == "crm")
        .unwrap();
    let first = route.subscriptions[0].name.clone();
    assert!(page.contains(&first), "{page}");
    let path = crate::console::path_segment(&first);
    assert!(
        page.contains(&format!("/destinations/crm/subscriptions/{path}/switch")),
        "{page}"
    );
    let token = csrf(&page);
    let off = post_form(
        &setup,
        &format!("/destinations/crm/subscriptions/{path}/switch"),
        &format!("csrf={token}&enabled=false"),
        Some(&cookie),
        "127.0.0.1:1",
    )
    .await;
    assert_eq!(off.status, StatusCode::SEE_OTHER, "{}", off.body);
    let snapshot = setup.reloader.live.current();
    let route = snapshot
        .routes
        .destinations
        .iter()
        .find(|r| r.name == "crm")
        .unwrap();
    assert!(
        !route.subscriptions.iter().any(|s| s.name == first),
        "switched off"
    );
    let confirm = get(
        &setup,
        &format!("/destinations/crm/subscriptions/{path}/delete"),
        Some(&cookie),
    )
    .await;
    assert!(
        confirm.body.contains("Delete the subscription"),
        "{}",
        confirm.body
    );
    let gone = post_form(
        &setup,
        &format!("/destinations/crm/subscriptions/{path}/delete"),
        &format!("csrf={token}"),
        Some(&cookie),
        "127.0.0.1:1",
    )
    .await;
    assert_eq!(gone.status, StatusCode::SEE_OTHER);
    let stored = setup.reloader.store.read().unwrap();
    assert!(
        !stored[0]
            .subscriptions
            .as_ref()
            .unwrap()
            .iter()
            .any(|s| s.name == first)
    );
}

#[tokio::test]
async fn a_file_destination_previews_but_does_not_save() {
    let setup = setup(session::IDLE).await;
    let cookie = sign_in(&setup).await;
    let page = get(
        &setup,
        "/destinations/hook/subscriptions/Bookings/edit",
        Some(&cookie),
    )
    .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body
            .contains("is written in the config file test.toml"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("id=\"save\""), "no Save button");
    let form = fields(&page.body);
    let refused = post(
        &setup,
        "/destinations/hook/subscriptions",
        &form,
        "save",
        &cookie,
    )
    .await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.body);
    assert!(refused.body.contains("change it there"), "{}", refused.body);
}

#[tokio::test]
async fn a_trigger_that_meant_something_else_in_segment_is_flagged() {
    let (setup, cookie) = ready().await;
    let page = get(
        &setup,
        "/destinations/crm/subscriptions/new?action=trackEvent",
        Some(&cookie),
    )
    .await;
    let mut form = fields(&page.body);
    set(&mut form, "trigger_mode", "text");
    set(
        &mut form,
        "trigger_text",
        r#"type = "track" and properties.vip != false"#,
    );
    let shown = post(
        &setup,
        "/destinations/crm/subscriptions",
        &form,
        "preview",
        &cookie,
    )
    .await;
    assert!(
        shown
            .body
            .contains("in Segment, `properties.vip != false` matched every event"),
        "{}",
        shown.body
    );
    set(
        &mut form,
        "trigger_text",
        r#"type = "track" and properties.vip = true"#,
    );
    let fine = post(
        &setup,
        "/destinations/crm/subscriptions",
        &form,
        "preview",
        &cookie,
    )
    .await;
    assert!(!fine.body.contains("segment-differences"), "{}", fine.body);
}

/// A hook runs when a subscription is saved, never in a preview: the preview takes the outputs
/// the running subscription keeps for the same inputs (issue 18, point 9).
#[tokio::test]
async fn the_preview_uses_the_hook_outputs_kept_for_the_same_inputs() {
    let text = r#"
[[sources]]
name = "app"
write_key = "k"
[[destinations]]
name = "catalogs"
plugin = "braze"
settings = { api_key = "k-1" }
  [[destinations.subscriptions]]
  name = "Trips"
  action = "upsertCatalogItem"
  trigger = 'event = "Trip Listed"'
    [destinations.subscriptions.mapping.onMappingSave.inputs]
    operation = "select"
    selected_catalog_name = "trips"
"#;
    let mut config =
        crate::config::Config::parse(text, "test.toml", |_| Err::<String, _>("no environment"))
            .unwrap();
    let runtime = crate::runtime::Runtime::new(&Default::default()).unwrap();
    let plugins = crate::live::load_plugins(&runtime, &config).await.unwrap();
    let outputs = json!({"catalog_name": "trips"});
    config.destinations[0].subscriptions.as_mut().unwrap()[0].hook_outputs =
        vec![("onMappingSave".into(), outputs.as_object().unwrap().clone())];
    let routes = crate::routes::Routes::build(&config, &plugins).unwrap();
    let route = &routes.destinations[0];
    let action = route.subscriptions[0].action.clone();

    let inputs = json!({"operation": "select", "selected_catalog_name": "trips"});
    let mut same = json!({"onMappingSave": {"inputs": inputs}});
    super::preview::add_kept_hook_outputs(route, &action, same.as_object_mut().unwrap());
    assert_eq!(same["onMappingSave"]["outputs"], outputs);

    let mut changed = json!({"onMappingSave": {"inputs": {"operation": "select",
        "selected_catalog_name": "hotels"}}});
    super::preview::add_kept_hook_outputs(route, &action, changed.as_object_mut().unwrap());
    assert_eq!(changed["onMappingSave"].get("outputs"), None);
}
