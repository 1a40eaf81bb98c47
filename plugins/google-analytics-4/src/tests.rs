//! Requests checked against the GA4 Measurement Protocol format and the reference's checks.

use crate::plugin;
use serde_json::{Value, json};
use switchyard_plugin_sdk::{Context, Error, FakeHttp, Response};

fn settings() -> Value {
    json!({"measurementId": "G-ABC123", "firebaseAppId": "1:123:android:abc",
        "apiSecret": "ga-secret"})
}

fn perform(http: &FakeHttp, action: &str, payload: Value) -> Result<(), Error> {
    plugin().perform(&mut Context::fake(http), action, &payload, &settings())
}

#[test]
fn a_purchase_goes_to_collect_for_the_web_stream() {
    let http = FakeHttp::new();
    perform(
        &http,
        "purchase",
        json!({"data_stream_type": "Web", "client_id": "u-42", "user_id": "u-42",
            "timestamp_micros": "2026-11-29T08:00:00.123Z",
            "currency": "EUR", "transaction_id": "o-1", "value": 438, "tax": 38,
            "affiliation": null,
            "items": [{"item_id": "JFK-LIS", "item_name": "Lisbon", "price": 389, "quantity": 1,
                "index": 0}],
            "user_properties": {"plan": "pro", "vip": true},
            "engagement_time_msec": 1, "params": {"booking_channel": "app"},
            "ad_user_data_consent": "GRANTED"}),
    )
    .unwrap();
    let sent = &http.requests()[0];
    assert_eq!(sent.method, "POST");
    assert_eq!(
        sent.url,
        "https://www.google-analytics.com/mp/collect?api_secret=ga-secret&measurement_id=G-ABC123"
    );
    assert_eq!(
        sent.json(),
        json!({"client_id": "u-42", "user_id": "u-42",
            "timestamp_micros": 1795939200123000i64,
            "events": [{"name": "purchase", "params": {"currency": "EUR", "transaction_id": "o-1",
                "value": 438, "tax": 38, "engagement_time_msec": 1, "booking_channel": "app",
                "items": [{"item_id": "JFK-LIS", "item_name": "Lisbon", "price": 389,
                    "quantity": 1, "index": 0}]}}],
            "user_properties": {"plan": {"value": "pro"}, "vip": {"value": true}},
            "consent": {"ad_user_data": "GRANTED"}})
    );
}

#[test]
fn an_app_stream_uses_the_firebase_ids() {
    let http = FakeHttp::new();
    perform(
        &http,
        "pageView",
        json!({"data_stream_type": "Mobile App", "app_instance_id": "inst-1",
            "clientId": "ignored", "page_title": "Pricing", "timestamp_micros": "1700000000000000"}),
    )
    .unwrap();
    let sent = &http.requests()[0];
    assert_eq!(
        sent.url,
        "https://www.google-analytics.com/mp/collect?api_secret=ga-secret&firebase_app_id=1:123:android:abc"
    );
    assert_eq!(
        sent.json(),
        json!({"app_instance_id": "inst-1", "timestamp_micros": 1700000000000000i64,
            "events": [{"name": "page_view",
                "params": {"page_title": "Pricing", "engagement_time_msec": 1}}]})
    );
}

#[test]
fn custom_event_names_are_normalised() {
    let http = FakeHttp::new();
    perform(
        &http,
        "customEvent",
        json!({"clientId": "c", "name": " Viewed  Pricing Page ", "lowercase": true}),
    )
    .unwrap();
    assert_eq!(
        http.requests()[0].json()["events"][0]["name"],
        "viewed__pricing_page"
    );
}

#[test]
fn events_google_would_drop_are_refused_with_the_reason() {
    let http = FakeHttp::new();
    let cases = [
        (
            "search",
            json!({"search_term": "lisbon"}),
            "Client ID is required",
        ),
        (
            "addToCart",
            json!({"client_id": "c", "items": [{"price": 1}]}),
            "product name or product id",
        ),
        (
            "viewPromotion",
            json!({"client_id": "c", "items": [{"price": 1}]}),
            "item id or item name",
        ),
        (
            "purchase",
            json!({"client_id": "c", "currency": "EURO", "transaction_id": "o",
                "items": [{"item_id": "a"}]}),
            "EURO is not a valid currency code.",
        ),
        (
            "generateLead",
            json!({"client_id": "c", "value": 10}),
            "Currency is required if value is set.",
        ),
        (
            "removeFromCart",
            json!({"client_id": "c", "items": [{"item_id": "a"}]}),
            "item-level currency or top-level currency",
        ),
        (
            "addPaymentInfo",
            json!({"client_id": "c", "currency": "USD", "items": []}),
            "one or more products",
        ),
        (
            "signUp",
            json!({"client_id": "c", "params": {"tags": ["a"]}}),
            "Param [tags] has unsupported value of type [Array]",
        ),
        (
            "login",
            json!({"client_id": "c", "user_properties": {"address": {"city": "x"}}}),
            "Param [address] has unsupported value of type [object]",
        ),
    ];
    for (action, payload, message) in cases {
        let err = perform(&http, action, payload.clone()).unwrap_err();
        assert!(
            matches!(&err, Error::InvalidPayload(m) if m.contains(message)),
            "{action} {payload}: {err:?}"
        );
    }
    assert!(http.requests().is_empty(), "nothing half-formed is sent");
}

#[test]
fn missing_stream_ids_are_settings_errors_and_http_errors_are_classified() {
    let http = FakeHttp::new();
    let err = plugin()
        .perform(
            &mut Context::fake(&http),
            "login",
            &json!({"client_id": "c"}),
            &json!({"apiSecret": "s"}),
        )
        .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidSettings(m) if m.contains("Measurement ID")),
        "{err:?}"
    );
    http.respond(Response::new(500, "oops"));
    let err = perform(&http, "login", json!({"client_id": "c"})).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Retryable {
                status: Some(500),
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn every_reference_action_is_declared() {
    let p = plugin();
    for id in [
        "purchase",
        "refund",
        "addToCart",
        "removeFromCart",
        "addToWishlist",
        "viewCart",
        "viewItem",
        "viewItemList",
        "selectItem",
        "beginCheckout",
        "addPaymentInfo",
        "selectPromotion",
        "viewPromotion",
        "search",
        "signUp",
        "login",
        "generateLead",
        "pageView",
        "customEvent",
    ] {
        assert!(p.find_action(id).is_some(), "{id}");
    }
}
