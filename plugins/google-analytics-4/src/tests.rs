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
            "clientId": "ignored", "page_title": "Pricing", "timestamp_micros": "1700000000000000",
            "engagement_time_msec": 1}),
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

#[test]
fn each_action_sends_its_event_name_with_only_its_parameters() {
    // One payload holding every parameter any action sends; each action must keep exactly the
    // parameters the reference lists for it.
    let all = json!({"client_id": "c-1", "currency": "EUR", "value": 120,
        "items": [{"item_id": "JFK-LIS", "item_name": "Lisbon", "price": 120, "quantity": 1}],
        "transaction_id": "o-1", "affiliation": "app", "coupon": "SUMMER", "shipping": 5,
        "tax": 10, "item_list_id": "l-1", "item_list_name": "Deals", "payment_type": "card",
        "creative_name": "banner", "creative_slot": "top", "location_id": "home",
        "promotion_id": "p-1", "promotion_name": "Summer sale", "search_term": "lisbon",
        "method": "Google", "page_location": "https://fly.example/deals",
        "page_referrer": "https://search.example", "page_title": "Deals",
        "engagement_time_msec": 1});
    let promotion = [
        "creative_name",
        "creative_slot",
        "location_id",
        "promotion_id",
        "promotion_name",
        "items",
    ];
    let cases: [(&str, &str, &[&str]); 18] = [
        (
            "purchase",
            "purchase",
            &[
                "affiliation",
                "coupon",
                "currency",
                "items",
                "transaction_id",
                "shipping",
                "value",
                "tax",
            ],
        ),
        (
            "refund",
            "refund",
            &[
                "currency",
                "transaction_id",
                "value",
                "affiliation",
                "coupon",
                "shipping",
                "tax",
                "items",
            ],
        ),
        ("addToCart", "add_to_cart", &["currency", "items", "value"]),
        (
            "removeFromCart",
            "remove_from_cart",
            &["currency", "value", "items"],
        ),
        (
            "addToWishlist",
            "add_to_wishlist",
            &["currency", "value", "items"],
        ),
        ("viewCart", "view_cart", &["currency", "value", "items"]),
        ("viewItem", "view_item", &["currency", "items", "value"]),
        (
            "viewItemList",
            "view_item_list",
            &["item_list_id", "item_list_name", "items"],
        ),
        (
            "selectItem",
            "select_item",
            &["items", "item_list_name", "item_list_id"],
        ),
        (
            "beginCheckout",
            "begin_checkout",
            &["coupon", "currency", "items", "value"],
        ),
        (
            "addPaymentInfo",
            "add_payment_info",
            &["currency", "value", "coupon", "payment_type", "items"],
        ),
        ("selectPromotion", "select_promotion", &promotion),
        ("viewPromotion", "view_promotion", &promotion),
        ("search", "search", &["search_term"]),
        ("signUp", "sign_up", &["method"]),
        ("login", "login", &["method"]),
        ("generateLead", "generate_lead", &["currency", "value"]),
        (
            "pageView",
            "page_view",
            &["page_location", "page_referrer", "page_title"],
        ),
    ];
    for (action, name, keys) in cases {
        let http = FakeHttp::new();
        perform(&http, action, all.clone()).unwrap();
        let mut params: serde_json::Map<String, Value> = keys
            .iter()
            .map(|k| (k.to_string(), all[k].clone()))
            .collect();
        params.insert("engagement_time_msec".into(), json!(1));
        let sent = &http.requests()[0];
        assert_eq!(sent.method, "POST", "{action}");
        assert_eq!(
            sent.url,
            "https://www.google-analytics.com/mp/collect?api_secret=ga-secret&measurement_id=G-ABC123"
        );
        assert_eq!(
            sent.json(),
            json!({"client_id": "c-1", "events": [{"name": name, "params": params}]}),
            "{action}"
        );
    }
}

#[test]
fn currencies_must_be_iso_codes_in_any_case_and_are_sent_as_written() {
    let http = FakeHttp::new();
    perform(
        &http,
        "viewCart",
        json!({"client_id": "c", "currency": "eur", "value": 3, "items": [{"item_id": "a"}]}),
    )
    .unwrap();
    assert_eq!(
        http.requests()[0].json()["events"][0]["params"]["currency"],
        "eur"
    );
    for (payload, code) in [
        (
            json!({"client_id": "c", "currency": "XYZ", "items": [{"item_id": "a"}]}),
            "XYZ",
        ),
        (
            json!({"client_id": "c", "items": [{"item_id": "a", "currency": "ABC"}]}),
            "ABC",
        ),
    ] {
        let err = perform(&http, "addToCart", payload).unwrap_err();
        assert!(
            matches!(&err, Error::InvalidPayload(m) if m == &format!("{code} is not a valid currency code.")),
            "{err:?}"
        );
    }
    assert_eq!(http.requests().len(), 1);
}

#[test]
fn throttling_and_refusals_are_classified() {
    let http = FakeHttp::new();
    http.respond(Response::new(429, "").with_header("Retry-After", "5"));
    http.respond(Response::new(400, "bad request"));
    let err = perform(&http, "login", json!({"client_id": "c"})).unwrap_err();
    assert!(
        matches!(&err, Error::RateLimited { retry_after: Some(d), .. } if d.as_secs() == 5),
        "{err:?}"
    );
    let err = perform(&http, "login", json!({"client_id": "c"})).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Permanent {
                status: Some(400),
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn engagement_time_is_sent_only_when_mapped() {
    let http = FakeHttp::new();
    perform(
        &http,
        "search",
        json!({"client_id": "c-1", "search_term": "lisbon"}),
    )
    .unwrap();
    perform(
        &http,
        "search",
        json!({"client_id": "c-1", "search_term": "lisbon", "engagement_time_msec": 250}),
    )
    .unwrap();
    let params = |i: usize| http.requests()[i].json()["events"][0]["params"].clone();
    assert_eq!(params(0), json!({"search_term": "lisbon"}));
    assert_eq!(
        params(1),
        json!({"search_term": "lisbon", "engagement_time_msec": 250})
    );
}

#[test]
fn a_refund_with_no_products_still_sends_an_empty_item_list() {
    let http = FakeHttp::new();
    perform(
        &http,
        "refund",
        json!({"client_id": "c-1", "transaction_id": "o-1", "currency": "EUR", "value": 10}),
    )
    .unwrap();
    assert_eq!(
        http.requests()[0].json()["events"][0]["params"],
        json!({"currency": "EUR", "transaction_id": "o-1", "value": 10, "items": []})
    );
}

#[test]
fn checks_run_in_segments_order_so_the_same_error_comes_first() {
    let http = FakeHttp::new();
    // Both a bad event currency and an item with neither name nor id: the currency is first.
    let bad = perform(
        &http,
        "refund",
        json!({"client_id": "c-1", "transaction_id": "o-1", "currency": "EURO",
            "items": [{"price": 1}]}),
    )
    .unwrap_err();
    assert!(
        bad.to_string()
            .contains("EURO is not a valid currency code."),
        "{bad}"
    );
    // No currency anywhere and a nameless item: the currency rule is first.
    let none = perform(
        &http,
        "removeFromCart",
        json!({"client_id": "c-1", "items": [{"price": 1}]}),
    )
    .unwrap_err();
    assert!(
        none.to_string()
            .contains("One of item-level currency or top-level currency is required."),
        "{none}"
    );
    assert!(http.requests().is_empty());
}
