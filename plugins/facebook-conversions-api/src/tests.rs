//! Requests checked against Meta's Conversions API format and the reference's checks.

use crate::actions::user_data::build;
use crate::plugin;
use serde_json::{Value, json};
use switchyard_plugin_sdk::hash::sha256_hex as sha;
use switchyard_plugin_sdk::{Context, Error, FakeHttp, Response, SYNC_MODE};

fn perform(http: &FakeHttp, action: &str, payload: Value) -> Result<(), Error> {
    plugin().perform(
        &mut Context::fake(http),
        action,
        &payload,
        &json!({"pixelId": "123456", "accessToken": "fb-token"}),
    )
}

fn user() -> Value {
    json!({"externalId": ["u-42"], "email": "Ann@Example.com",
        "client_user_agent": "Mozilla/5.0", "client_ip_address": "203.0.113.9"})
}

#[test]
fn a_purchase_is_one_server_event() {
    let http = FakeHttp::new();
    perform(
        &http,
        "purchase",
        json!({"action_source": "website", "event_time": "2026-11-29T08:00:00Z",
            "user_data": user(), "currency": "EUR", "value": 438, "num_items": 1,
            "content_ids": [], "contents": [{"id": "JFK-LIS", "quantity": 1, "item_price": 389}],
            "event_id": "m-1", "event_source_url": "https://fly.example/pay",
            "custom_data": {"booking": "BK-1", "value": 1},
            "data_processing_options": true, "data_processing_options_country": 1}),
    )
    .unwrap();
    let sent = &http.requests()[0];
    assert_eq!(sent.method, "POST");
    assert_eq!(sent.url, "https://graph.facebook.com/v24.0/123456/events");
    assert_eq!(sent.header("authorization"), Some("Bearer fb-token"));
    assert_eq!(
        sent.json(),
        json!({"data": [{"event_name": "Purchase", "event_time": "2026-11-29T08:00:00Z",
            "action_source": "website", "event_source_url": "https://fly.example/pay",
            "event_id": "m-1",
            "user_data": {"external_id": [sha("u-42")], "em": sha("ann@example.com"),
                "client_user_agent": "Mozilla/5.0", "client_ip_address": "203.0.113.9"},
            "custom_data": {"booking": "BK-1", "currency": "EUR", "value": 438,
                "num_items": 1,
                "contents": [{"id": "JFK-LIS", "quantity": 1, "item_price": 389}]},
            "data_processing_options": ["LDU"], "data_processing_options_country": 1,
            "data_processing_options_state": 0}]})
    );
}

#[test]
fn page_views_have_no_custom_data_and_custom_events_take_their_name() {
    let http = FakeHttp::new();
    perform(
        &http,
        "pageView",
        json!({"action_source": "website", "event_time": "1764403200", "user_data": user()}),
    )
    .unwrap();
    perform(
        &http,
        "custom",
        json!({"action_source": "app", "event_time": "1764403200", "event_name": "Trip Booked",
            "user_data": {"email": "a@b.c"}, "custom_data": {"route": "JFK-LIS"},
            "app_data_field": {"use_app_data": true, "advertiser_tracking_enabled": true,
                "osVersion": "17.1", "madId": "idfa-1"}}),
    )
    .unwrap();
    let sent = http.requests();
    let page = &sent[0].json()["data"][0];
    assert_eq!(page["event_name"], "PageView");
    assert!(page.get("custom_data").is_none());
    let custom = &sent[1].json()["data"][0];
    assert_eq!(custom["event_name"], "Trip Booked");
    assert_eq!(custom["custom_data"], json!({"route": "JFK-LIS"}));
    let mut ext = vec![json!(""); 16];
    ext[4] = json!("17.1");
    assert_eq!(
        custom["app_data"],
        json!({"advertiser_tracking_enabled": 1, "application_tracking_enabled": 0,
            "madid": "idfa-1", "extinfo": ext})
    );
}

#[test]
fn events_meta_would_refuse_are_refused_here() {
    let http = FakeHttp::new();
    let cases = [
        (
            "purchase",
            json!({"action_source": "website", "event_time": "1", "user_data": {},
                "currency": "EUR", "value": 1}),
            "at least one user data property",
        ),
        (
            "purchase",
            json!({"action_source": "website", "event_time": "1",
                "user_data": {"email": "a@b.c"}, "currency": "EUR", "value": 1}),
            "client_user_agent",
        ),
        (
            "purchase",
            json!({"action_source": "app", "event_time": "1", "user_data": user(), "value": 1}),
            "Must include a currency for Purchase events",
        ),
        (
            "addToCart",
            json!({"action_source": "app", "event_time": "1", "user_data": user(),
                "currency": "eur"}),
            "eur is not a valid currency code.",
        ),
        (
            "viewContent",
            json!({"action_source": "app", "event_time": "1", "user_data": user(),
                "contents": [{"quantity": 1}]}),
            "contents[0] must include an 'id'",
        ),
        (
            "search",
            json!({"action_source": "app", "event_time": "1", "user_data": user(),
                "contents": [{"id": "a", "delivery_category": "drone"}]}),
            "delivery_category",
        ),
    ];
    for (action, payload, message) in cases {
        let err = perform(&http, action, payload.clone()).unwrap_err();
        assert!(
            matches!(&err, Error::InvalidPayload(m) if m.contains(message)),
            "{action} {payload}: {err:?}"
        );
    }
    assert!(http.requests().is_empty());
}

#[test]
fn graph_api_errors_keep_metas_message() {
    let http = FakeHttp::new();
    http.respond(Response::new(
        400,
        r#"{"error":{"message":"Invalid parameter","type":"OAuthException","code":100}}"#,
    ));
    http.respond(Response::new(503, "unavailable"));
    let payload = json!({"action_source": "app", "event_time": "1", "user_data": user()});
    let err = perform(&http, "pageView", payload.clone()).unwrap_err();
    assert!(
        matches!(&err, Error::Permanent { message, status: Some(400) } if message == "Invalid parameter"),
        "{err:?}"
    );
    let err = perform(&http, "pageView", payload).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Retryable {
                status: Some(503),
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn each_standard_event_sends_its_name_and_only_its_custom_data_keys() {
    // Every key any action may send, so each action's own list shows in what it keeps.
    let all = json!({"action_source": "website", "event_time": "2026-11-29T08:00:00Z",
        "user_data": user(), "currency": "EUR", "value": 120, "net_revenue": 100,
        "content_ids": ["JFK-LIS"], "content_name": "Lisbon", "content_type": "product",
        "contents": [{"id": "JFK-LIS", "quantity": 2, "delivery_category": "home_delivery"}],
        "num_items": 2, "content_category": "flights", "search_string": "lisbon",
        "custom_data": {"cabin": "economy"}});
    let cases = [
        (
            "initiateCheckout",
            "InitiateCheckout",
            json!({"cabin": "economy", "currency": "EUR", "value": 120,
                "content_ids": ["JFK-LIS"], "num_items": 2, "content_category": "flights",
                "contents": [{"id": "JFK-LIS", "quantity": 2,
                    "delivery_category": "home_delivery"}]}),
        ),
        (
            "addToCart",
            "AddToCart",
            json!({"cabin": "economy", "currency": "EUR", "value": 120,
                "content_ids": ["JFK-LIS"], "content_name": "Lisbon", "content_type": "product",
                "contents": [{"id": "JFK-LIS", "quantity": 2,
                    "delivery_category": "home_delivery"}]}),
        ),
        (
            "viewContent",
            "ViewContent",
            json!({"cabin": "economy", "currency": "EUR", "value": 120,
                "content_ids": ["JFK-LIS"], "content_name": "Lisbon", "content_type": "product",
                "content_category": "flights",
                "contents": [{"id": "JFK-LIS", "quantity": 2,
                    "delivery_category": "home_delivery"}]}),
        ),
        (
            "search",
            "Search",
            json!({"cabin": "economy", "currency": "EUR", "value": 120,
                "content_ids": ["JFK-LIS"], "content_category": "flights",
                "search_string": "lisbon",
                "contents": [{"id": "JFK-LIS", "quantity": 2,
                    "delivery_category": "home_delivery"}]}),
        ),
    ];
    for (action, name, custom) in cases {
        let http = FakeHttp::new();
        perform(&http, action, all.clone()).unwrap();
        let sent = &http.requests()[0];
        assert_eq!(sent.url, "https://graph.facebook.com/v24.0/123456/events");
        assert_eq!(
            sent.json(),
            json!({"data": [{"event_name": name, "event_time": "2026-11-29T08:00:00Z",
                "action_source": "website",
                "user_data": {"external_id": [sha("u-42")], "em": sha("ann@example.com"),
                    "client_user_agent": "Mozilla/5.0", "client_ip_address": "203.0.113.9"},
                "custom_data": custom}]}),
            "{action}"
        );
    }
}

#[test]
fn test_event_codes_settings_and_throttling() {
    let http = FakeHttp::new();
    let payload = json!({"action_source": "app", "event_time": "1", "user_data": user()});
    plugin()
        .perform(
            &mut Context::fake(&http),
            "pageView",
            &payload,
            &json!({"pixelId": "123456", "accessToken": "t", "testEventCode": "TEST123"}),
        )
        .unwrap();
    assert_eq!(http.requests()[0].json()["test_event_code"], "TEST123");

    let err = plugin()
        .perform(
            &mut Context::fake(&http),
            "pageView",
            &payload,
            &json!({"pixelId": "12/34", "accessToken": "t"}),
        )
        .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidSettings(m) if m.contains("pixelId")),
        "{err:?}"
    );
    assert_eq!(http.requests().len(), 1, "a bad pixel id sends nothing");

    http.respond(
        Response::new(
            429,
            r#"{"error":{"message":"User request limit reached","code":17}}"#,
        )
        .with_header("Retry-After", "60"),
    );
    let err = perform(&http, "pageView", payload).unwrap_err();
    assert!(
        matches!(&err, Error::RateLimited { retry_after: Some(d), .. } if d.as_secs() == 60),
        "{err:?}"
    );
}

#[test]
fn v2_actions_send_what_v1_sends_and_only_add() {
    let manifest = switchyard_plugin_sdk::__private::describe(&plugin());
    let ids: Vec<&str> = manifest.actions.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "purchase",
            "initiateCheckout",
            "addToCart",
            "viewContent",
            "search",
            "pageView",
            "custom",
            "purchase2",
            "initiateCheckout2",
            "addToCart2",
            "viewContent2",
            "search2",
            "pageView2",
            "custom2"
        ]
    );
    let v1 = &manifest.actions[0];
    let v2 = &manifest.actions[7];
    assert_eq!(v2.title, "Purchase V2");
    assert_eq!(v1.default_trigger, v2.default_trigger);
    assert_eq!(v2.fields.len(), v1.fields.len() + 1);
    let mode = v2.fields.iter().find(|f| f.key == SYNC_MODE).unwrap();
    assert_eq!(mode.default_mapping.as_deref(), Some("\"add\""));
    assert!(v1.fields.iter().all(|f| f.key != SYNC_MODE));

    let payload = json!({"action_source": "website", "event_time": "2026-11-29T08:00:00Z",
        "user_data": user(), "currency": "EUR", "value": 438});
    let http = FakeHttp::new();
    perform(&http, "purchase", payload.clone()).unwrap();
    let mut with_mode = payload.clone();
    with_mode[SYNC_MODE] = json!("add");
    perform(&http, "purchase2", with_mode).unwrap();
    let sent = http.requests();
    assert_eq!(sent[0].url, sent[1].url);
    assert_eq!(sent[0].json(), sent[1].json());

    let mut deleting = payload;
    deleting[SYNC_MODE] = json!("delete");
    let err = perform(&http, "purchase2", deleting).unwrap_err();
    assert!(
        matches!(&err, Error::InvalidPayload(m) if m.contains("Sync mode delete is not supported")),
        "{err:?}"
    );
    assert_eq!(
        http.requests().len(),
        2,
        "a refused sync mode sends nothing"
    );
}

#[test]
fn personal_data_is_normalised_then_hashed() {
    let u = json!({"email": " Ann@Example.COM ", "phone": "+1 (415) 555-0100",
        "gender": "Female", "dateOfBirth": "19901226", "firstName": "Ann Marie",
        "lastName": "Lee", "city": "Menlo Park", "state": "New York", "zip": "94025",
        "country": "US", "externalId": ["U-1", " "], "client_user_agent": "Mozilla/5.0",
        "leadID": 42, "fbLoginID": "not a number"});
    let out = build(u.as_object().unwrap());
    assert_eq!(
        Value::Object(out),
        json!({"em": sha("ann@example.com"), "ph": sha("14155550100"),
            "ge": sha("f"), "db": sha("19901226"), "fn": sha("annmarie"),
            "ln": sha("lee"), "ct": sha("menlopark"), "st": sha("ny"),
            "zp": sha("94025"), "country": sha("us"),
            "external_id": [sha("u-1")], "client_user_agent": "Mozilla/5.0",
            "lead_id": 42})
    );
}

#[test]
fn digests_pass_and_unknown_genders_are_dropped() {
    // The SHA-256 test vector for "abc" (FIPS 180-2).
    let abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    assert_eq!(sha("abc"), abc);
    let out = build(
        json!({"email": abc, "phone": abc, "gender": "x"})
            .as_object()
            .unwrap(),
    );
    assert_eq!(Value::Object(out), json!({"em": abc, "ph": abc}));
}
