//! Requests the Braze plugin sends, checked against Braze's documented `/users/track`,
//! `/users/alias/new` and `/users/identify` formats and the reference's behaviour.

use crate::plugin;
use serde_json::{Value, json};
use switchyard_plugin_sdk::{Context, Error, FakeHttp, Response, SYNC_MODE};

fn settings() -> Value {
    json!({"api_key": "b-key-1", "app_id": "app-9", "endpoint": "https://rest.fra-01.braze.eu"})
}

fn perform(http: &FakeHttp, action: &str, payload: Value) -> Result<(), Error> {
    plugin().perform(&mut Context::fake(http), action, &payload, &settings())
}

#[test]
fn track_event_sends_one_event_object() {
    let http = FakeHttp::new();
    http.respond(Response::new(
        201,
        r#"{"message":"success","events_processed":1}"#,
    ));
    perform(
        &http,
        "trackEvent",
        json!({"external_id": "u-42", "email": "ann@example.com", "name": "Viewed Pricing",
            "time": "2026-11-29T10:15:00.5+01:00", "properties": {"plan": "pro"},
            "_update_existing_only": false, "enable_batching": false, "batch_size": 75}),
    )
    .unwrap();
    let sent = http.requests();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].method, "POST");
    assert_eq!(sent[0].url, "https://rest.fra-01.braze.eu/users/track");
    assert_eq!(sent[0].header("authorization"), Some("Bearer b-key-1"));
    assert_eq!(sent[0].header("content-type"), Some("application/json"));
    assert_eq!(sent[0].header("x-braze-batch"), None);
    assert_eq!(
        sent[0].json(),
        json!({"events": [{"external_id": "u-42", "email": "ann@example.com", "app_id": "app-9",
            "name": "Viewed Pricing", "time": "2026-11-29T09:15:00.500Z",
            "properties": {"plan": "pro"}, "_update_existing_only": false}]})
    );
}

#[test]
fn an_alias_counts_only_with_name_and_label() {
    let http = FakeHttp::new();
    let half = perform(
        &http,
        "trackEvent",
        json!({"user_alias": {"alias_name": "a-1"}, "name": "E", "time": "2026-01-01"}),
    );
    let Err(Error::InvalidPayload(message)) = half else {
        panic!("{half:?}")
    };
    assert!(
        message.contains("\"external_id\" or \"user_alias\""),
        "{message}"
    );
    assert!(http.requests().is_empty(), "nothing is sent half-formed");

    perform(
        &http,
        "trackEvent",
        json!({"user_alias": {"alias_name": "a-1", "alias_label": "crm"}, "name": "E",
            "time": "2026-01-01"}),
    )
    .unwrap();
    assert_eq!(
        http.requests()[0].json()["events"][0]["user_alias"],
        json!({"alias_name": "a-1", "alias_label": "crm"})
    );
}

#[test]
fn a_purchase_becomes_one_object_per_product() {
    let http = FakeHttp::new();
    perform(
        &http,
        "trackPurchase",
        json!({"external_id": "u-42", "time": "2026-11-29T10:00:00Z",
            "products": [
                {"product_id": "LIS-1", "price": 129.5, "quantity": 2, "currency": "EUR",
                 "name": "Flight to Lisbon"},
                {"product_id": 77, "price": "15.00", "name": "Seat upgrade"}],
            "properties": {"order_id": "o-1", "revenue": 274, "products": [{"x": 1}]}}),
    )
    .unwrap();
    let sent = &http.requests()[0];
    assert_eq!(sent.header("x-braze-batch"), Some("true"));
    assert_eq!(
        sent.json(),
        json!({"purchases": [
            {"external_id": "u-42", "app_id": "app-9", "time": "2026-11-29T10:00:00.000Z",
             "product_id": "LIS-1", "currency": "EUR", "price": 129.5, "quantity": 2,
             "properties": {"name": "Flight to Lisbon", "order_id": "o-1", "revenue": 274}},
            {"external_id": "u-42", "app_id": "app-9", "time": "2026-11-29T10:00:00.000Z",
             "product_id": "77", "currency": "USD", "price": 15.0,
             "properties": {"name": "Seat upgrade", "order_id": "o-1", "revenue": 274}}]})
    );
}

#[test]
fn a_purchase_without_products_sends_nothing_and_a_bad_product_is_named() {
    let http = FakeHttp::new();
    perform(
        &http,
        "trackPurchase",
        json!({"external_id": "u", "time": "2026-01-01", "products": []}),
    )
    .unwrap();
    assert!(http.requests().is_empty());
    let err = perform(
        &http,
        "trackPurchase",
        json!({"external_id": "u", "time": "2026-01-01",
            "products": [{"product_id": "a", "price": 1}, {"product_id": "b"}]}),
    )
    .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidPayload(m) if m.contains("products[1]") && m.contains("price")),
        "{err:?}"
    );
    assert!(http.requests().is_empty());
}

#[test]
fn profiles_carry_standard_and_custom_attributes() {
    let http = FakeHttp::new();
    perform(
        &http,
        "updateUserProfile",
        json!({"external_id": "u-42", "email": "ann@example.com", "first_name": "Ann",
            "gender": "Female", "dob": "1990-05-17T00:00:00Z",
            "current_location": {"latitude": 38.7},
            "subscription_groups": [],
            "custom_attributes": {"email": "ann@example.com", "firstName": "Ann",
                "avatar": "https://x/y.png", "plan": "pro", "seats": 3},
            "_update_existing_only": false}),
    )
    .unwrap();
    assert_eq!(
        http.requests()[0].json(),
        json!({"attributes": [{"external_id": "u-42", "email": "ann@example.com",
            "first_name": "Ann", "gender": "F", "dob": "1990-05-17",
            "current_location": {"latitude": 38.7}, "plan": "pro", "seats": 3,
            "_update_existing_only": false}]})
    );
}

#[test]
fn a_batch_sends_the_valid_events_together_and_answers_each() {
    let http = FakeHttp::new();
    // Braze refuses the second object of the request (index 1), accepts the rest.
    http.respond(Response::new(
        201,
        r#"{"message":"success","errors":[{"type":"'name' is required","input_array":"events","index":1}]}"#,
    ));
    let event = |id: &str, name: &str| json!({"external_id": id, "name": name, "time": "2026-11-29T10:00:00Z"});
    let results = plugin().perform_batch(
        &mut Context::fake(&http),
        "trackEvent",
        &[
            event("u-1", "A"),
            json!({"name": "No user", "time": "2026-11-29T10:00:00Z"}),
            event("u-3", "C"),
            event("u-4", "D"),
        ],
        &settings(),
    );
    let sent = http.requests();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].header("x-braze-batch"), Some("true"));
    let names: Vec<Value> = sent[0].json()["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].clone())
        .collect();
    assert_eq!(names, ["A", "C", "D"]);
    assert!(results[0].is_ok());
    assert!(matches!(results[1], Err(Error::InvalidPayload(_))));
    assert!(
        matches!(&results[2], Err(Error::Permanent { message, status: Some(400) }) if message.contains("'name'")),
        "{:?}",
        results[2]
    );
    assert!(results[3].is_ok());
}

#[test]
fn vendor_failures_are_every_events_answer() {
    let http = FakeHttp::new();
    http.respond(Response::new(503, "unavailable"));
    http.respond(Response::new(429, "slow down").with_header("retry-after", "30"));
    http.respond(Response::new(401, r#"{"message":"Invalid API key"}"#));
    let two = [
        json!({"external_id": "a", "name": "A", "time": "2026-01-01"}),
        json!({"external_id": "b", "name": "B", "time": "2026-01-01"}),
    ];
    let run = |http: &FakeHttp| {
        plugin().perform_batch(&mut Context::fake(http), "trackEvent", &two, &settings())
    };
    let down = run(&http);
    assert!(down.iter().all(|r| matches!(
        r,
        Err(Error::Retryable {
            status: Some(503),
            ..
        })
    )));
    let throttled = run(&http);
    assert!(throttled.iter().all(|r| matches!(
        r,
        Err(Error::RateLimited { retry_after: Some(d), .. }) if d.as_secs() == 30
    )));
    let refused = run(&http);
    assert!(
        refused.iter().all(|r| matches!(
            r,
            Err(Error::Auth { .. })
                | Err(Error::Permanent {
                    status: Some(401),
                    ..
                })
        )),
        "{refused:?}"
    );
}

#[test]
fn purchases_beyond_75_objects_wait_for_the_next_batch() {
    let http = FakeHttp::new();
    let order = |n: usize| {
        let products: Vec<Value> = (0..n)
            .map(|i| json!({"product_id": format!("p{i}"), "price": 1}))
            .collect();
        json!({"external_id": "u", "time": "2026-01-01", "products": products})
    };
    let results = plugin().perform_batch(
        &mut Context::fake(&http),
        "trackPurchase",
        &[order(50), order(30), order(20), order(76)],
        &settings(),
    );
    assert_eq!(
        http.requests()[0].json()["purchases"]
            .as_array()
            .unwrap()
            .len(),
        70
    );
    assert!(results[0].is_ok() && results[2].is_ok());
    assert!(matches!(
        results[1],
        Err(Error::Retryable {
            status: Some(429),
            ..
        })
    ));
    assert!(matches!(
        results[3],
        Err(Error::Permanent {
            status: Some(413),
            ..
        })
    ));
}

#[test]
fn aliases_and_identifies() {
    let http = FakeHttp::new();
    perform(
        &http,
        "createAlias",
        json!({"external_id": null, "alias_name": "anon-7", "alias_label": "web"}),
    )
    .unwrap();
    perform(
        &http,
        "identifyUser",
        json!({"external_id": "u-42", "user_alias": {"alias_name": "anon-7", "alias_label": "web"},
            "merge_behavior": "merge"}),
    )
    .unwrap();
    let sent = http.requests();
    assert_eq!(sent[0].url, "https://rest.fra-01.braze.eu/users/alias/new");
    assert_eq!(
        sent[0].json(),
        json!({"user_aliases": [{"alias_name": "anon-7", "alias_label": "web"}]})
    );
    assert_eq!(sent[1].url, "https://rest.fra-01.braze.eu/users/identify");
    assert_eq!(
        sent[1].json(),
        json!({"aliases_to_identify": [{"external_id": "u-42",
            "user_alias": {"alias_name": "anon-7", "alias_label": "web"}}],
            "merge_behavior": "merge"})
    );
    let err = perform(
        &http,
        "identifyUser",
        json!({"external_id": "u-42", "user_alias": {"alias_name": "anon-7"}}),
    )
    .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidPayload(m) if m.contains("alias_label")),
        "{err:?}"
    );
    assert_eq!(http.requests().len(), 2);
}

#[test]
fn an_endpoint_that_is_not_https_is_a_settings_error() {
    let http = FakeHttp::new();
    let err = plugin()
        .perform(
            &mut Context::fake(&http),
            "trackEvent",
            &json!({"external_id": "u", "name": "E", "time": "2026-01-01"}),
            &json!({"api_key": "k", "endpoint": "http://rest.iad-01.braze.com"}),
        )
        .unwrap_err();
    assert!(matches!(err, Error::InvalidSettings(_)), "{err:?}");
    assert!(http.requests().is_empty());
}

#[test]
fn a_campaign_goes_to_its_recipients_with_their_prioritization() {
    let http = FakeHttp::new();
    perform(
        &http,
        "triggerCampaign",
        json!({"campaign_id": "camp-1", "trigger_properties": {"route": "JFK-LIS"},
            "recipients": [{"external_user_id": "u-42"}, {"email": "ann@example.com"}],
            "prioritization": {"first_priority": "identified",
                "second_priority": "most_recently_updated"}}),
    )
    .unwrap();
    let sent = &http.requests()[0];
    assert_eq!(
        sent.url,
        "https://rest.fra-01.braze.eu/campaigns/trigger/send"
    );
    assert_eq!(sent.header("authorization"), Some("Bearer b-key-1"));
    let order = json!(["identified", "most_recently_updated"]);
    assert_eq!(
        sent.json(),
        json!({"campaign_id": "camp-1", "trigger_properties": {"route": "JFK-LIS"},
            "recipients": [{"external_user_id": "u-42", "prioritization": order},
                {"email": "ann@example.com", "prioritization": order}]})
    );
}

#[test]
fn a_canvas_needs_broadcast_or_recipients_but_not_both() {
    let http = FakeHttp::new();
    perform(
        &http,
        "triggerCanvas",
        json!({"canvas_id": "cv-1", "broadcast": true, "canvas_entry_properties": {"a": 1}}),
    )
    .unwrap();
    assert_eq!(
        http.requests()[0].url,
        "https://rest.fra-01.braze.eu/canvas/trigger/send"
    );
    assert_eq!(
        http.requests()[0].json(),
        json!({"canvas_id": "cv-1", "broadcast": true, "canvas_entry_properties": {"a": 1}})
    );
    for payload in [
        json!({"canvas_id": "cv-1"}),
        json!({"canvas_id": "cv-1", "broadcast": true, "recipients": [{"external_user_id": "u"}]}),
        json!({"canvas_id": "cv-1", "recipients": [{"email": "a@b.c"}],
            "prioritization": {"first_priority": "newest"}}),
    ] {
        let err = perform(&http, "triggerCanvas", payload.clone()).unwrap_err();
        assert!(
            matches!(err, Error::InvalidPayload(_)),
            "{payload}: {err:?}"
        );
    }
    assert_eq!(http.requests().len(), 1, "refused payloads are not sent");
}

#[test]
fn brazes_own_message_explains_a_refused_trigger() {
    let http = FakeHttp::new();
    http.respond(Response::new(400, r#"{"message":"Invalid campaign_id"}"#));
    let err = perform(
        &http,
        "triggerCampaign",
        json!({"campaign_id": "nope", "broadcast": true}),
    )
    .unwrap_err();
    assert!(
        matches!(&err, Error::Permanent { message, status: Some(400) } if message == "Invalid campaign_id"),
        "{err:?}"
    );
}

#[test]
fn an_order_placed_follows_brazes_ecommerce_schema() {
    let http = FakeHttp::new();
    perform(
        &http,
        "ecommerce",
        json!({"name": "ecommerce.order_placed", "external_id": "u-42", "phone": "+351912345678",
            "time": "2026-11-29T08:00:00Z", "order_id": "o-9", "cart_id": "c-1",
            "total_value": 438.0, "subtotal_value": 400.0, "tax": 38.0,
            "total_discounts": 10, "discounts": [{"code": "WINTER", "amount": 10}],
            "currency": "EUR", "source": "web", "metadata": {"channel": "app"},
            "products": [{"product_id": "JFK-LIS", "product_name": "Lisbon", "variant_id": "eco",
                "quantity": 1, "price": 389.0, "fare_class": "economy"}],
            "enable_batching": true, "batch_size": 75}),
    )
    .unwrap();
    assert_eq!(
        http.requests()[0].json(),
        json!({"events": [{"external_id": "u-42", "phone": "+351912345678", "app_id": "app-9",
            "name": "ecommerce.order_placed", "time": "2026-11-29T08:00:00.000Z",
            "properties": {"currency": "EUR", "source": "web", "metadata": {"channel": "app"},
                "order_id": "o-9", "cart_id": "c-1", "subtotal_value": 400.0, "tax": 38.0,
                "total_discounts": 10, "discounts": [{"code": "WINTER", "amount": 10}],
                "total_value": 438.0,
                "products": [{"product_id": "JFK-LIS", "product_name": "Lisbon",
                    "variant_id": "eco", "quantity": 1, "price": 389.0,
                    "metadata": {"fare_class": "economy"}}]}}]})
    );
}

#[test]
fn a_viewed_product_carries_its_fields_in_the_properties() {
    let http = FakeHttp::new();
    perform(
        &http,
        "ecommerceSingleProduct",
        json!({"name": "ecommerce.product_viewed", "user_alias":
                {"alias_name": "anon-7", "alias_label": "web"},
            "time": "2026-11-29T08:00:00Z", "currency": "USD", "source": "ios",
            "catalog_type": ["price_drop"],
            "product": {"product_id": "p1", "product_name": "Seat", "variant_id": "aisle",
                "price": 15}}),
    )
    .unwrap();
    assert_eq!(
        http.requests()[0].json(),
        json!({"events": [{"user_alias": {"alias_name": "anon-7", "alias_label": "web"},
            "_update_existing_only": true, "app_id": "app-9", "name": "ecommerce.product_viewed",
            "time": "2026-11-29T08:00:00.000Z",
            "properties": {"currency": "USD", "source": "ios", "product_id": "p1",
                "product_name": "Seat", "variant_id": "aisle", "price": 15,
                "type": ["price_drop"]}}]})
    );
}

#[test]
fn ecommerce_events_missing_what_their_name_needs_are_refused() {
    let http = FakeHttp::new();
    let product = json!([{"product_id": "p", "product_name": "n", "variant_id": "v",
        "quantity": 1, "price": 1}]);
    let base = |name: &str| {
        json!({"name": name, "external_id": "u", "time": "2026-01-01", "currency": "EUR",
            "source": "web", "products": product.clone()})
    };
    let cases = [
        (base("ecommerce.order_placed"), "order_id"),
        (base("ecommerce.checkout_started"), "checkout_id"),
        (
            {
                let mut p = base("ecommerce.order_cancelled");
                p["order_id"] = json!("o");
                p
            },
            "cancel_reason",
        ),
        (
            {
                let mut p = base("ecommerce.cart_updated");
                p["cart_id"] = json!("c");
                p["action"] = json!("replace");
                p
            },
            "total_value",
        ),
        (
            {
                let mut p = base("ecommerce.order_refunded");
                p["order_id"] = json!("o");
                p["total_value"] = json!(1);
                p["products"] = json!([{"product_id": "p", "price": 1}]);
                p
            },
            "products[0]",
        ),
        (
            {
                let mut p = base("ecommerce.order_refunded");
                p["currency"] = json!("euro");
                p
            },
            "currency",
        ),
        (
            {
                let mut p = base("ecommerce.order_refunded");
                p["currency"] = json!("XYZ");
                p
            },
            "currency \"XYZ\" is not an ISO 4217 code",
        ),
        (base("order_placed"), "not a Braze ecommerce event"),
    ];
    for (payload, named) in cases {
        let err = perform(&http, "ecommerce", payload.clone()).unwrap_err();
        assert!(
            matches!(&err, Error::InvalidPayload(m) if m.contains(named)),
            "{payload}: {err:?}"
        );
    }
    // A cart change (add/remove) needs no total.
    let mut add = base("ecommerce.cart_updated");
    add["cart_id"] = json!("c");
    add["action"] = json!("add");
    perform(&http, "ecommerce", add).unwrap();
    assert_eq!(http.requests().len(), 1);
}

#[test]
fn v2_track_actions_take_update_existing_only_from_the_sync_mode() {
    let http = FakeHttp::new();
    let event = |mode: Option<&str>| {
        let mut p = json!({"external_id": "u-42", "name": "Viewed Pricing",
            "time": "2026-11-29T09:15:00Z", "properties": {"plan": "pro"}});
        if let Some(m) = mode {
            p[SYNC_MODE] = json!(m);
        }
        p
    };
    perform(&http, "trackEvent2", event(Some("update"))).unwrap();
    perform(&http, "trackEvent2", event(Some("add"))).unwrap();
    perform(&http, "trackEvent2", event(None)).unwrap();
    perform(
        &http,
        "updateUserProfile2",
        json!({"external_id": "u-42", "first_name": "Ann"}),
    )
    .unwrap();
    let sent = http.requests();
    assert_eq!(
        sent[0].json(),
        json!({"events": [{"external_id": "u-42", "app_id": "app-9", "name": "Viewed Pricing",
            "time": "2026-11-29T09:15:00.000Z", "properties": {"plan": "pro"},
            "_update_existing_only": true}]})
    );
    assert_eq!(sent[1].json()["events"][0]["_update_existing_only"], false);
    assert_eq!(
        sent[2].json()["events"][0]["_update_existing_only"],
        false,
        "events add by default"
    );
    assert_eq!(
        sent[3].json(),
        json!({"attributes": [{"external_id": "u-42", "first_name": "Ann",
            "_update_existing_only": true}]}),
        "profiles update by default, as in the reference"
    );

    let err = perform(&http, "trackPurchase2", event(Some("delete"))).unwrap_err();
    assert!(
        matches!(&err, Error::InvalidPayload(m) if m.contains("Sync mode delete is not supported")),
        "{err:?}"
    );
    assert_eq!(http.requests().len(), 4, "nothing sent for a refused mode");
}

#[test]
fn a_v2_batch_answers_a_bad_sync_mode_alone_and_sends_the_rest() {
    let http = FakeHttp::new();
    let event = |id: &str, mode: &str| {
        json!({"external_id": id, "name": "E", "time": "2026-11-29T09:15:00Z",
            "__segment_internal_sync_mode": mode})
    };
    let results = plugin().perform_batch(
        &mut Context::fake(&http),
        "trackEvent2",
        &[
            event("u-1", "update"),
            event("u-2", "mirror"),
            event("u-3", "update"),
        ],
        &settings(),
    );
    assert!(results[0].is_ok() && results[2].is_ok(), "{results:?}");
    assert!(
        matches!(&results[1], Err(Error::InvalidPayload(m)) if m.contains("mirror")),
        "{results:?}"
    );
    let sent = http.requests();
    assert_eq!(sent.len(), 1);
    let ids: Vec<Value> = sent[0].json()["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["external_id"].clone())
        .collect();
    assert_eq!(ids, [json!("u-1"), json!("u-3")]);
}

#[test]
fn v2_aliases_and_identification_by_email() {
    let http = FakeHttp::new();
    perform(
        &http,
        "createAlias2",
        json!({"alias_name": "anon-7", "alias_label": "web", SYNC_MODE: "add"}),
    )
    .unwrap();
    perform(
        &http,
        "identifyUser2",
        json!({"external_id": "u-42", "email_to_identify": "ann@example.com",
            "prioritization": {"first_priority": "unidentified",
                "second_priority": "most_recently_updated"},
            "merge_behavior": "merge", SYNC_MODE: "add"}),
    )
    .unwrap();
    let sent = http.requests();
    assert_eq!(sent[0].url, "https://rest.fra-01.braze.eu/users/alias/new");
    assert_eq!(
        sent[0].json(),
        json!({"user_aliases": [{"alias_name": "anon-7", "alias_label": "web"}]})
    );
    assert_eq!(sent[1].url, "https://rest.fra-01.braze.eu/users/identify");
    assert_eq!(
        sent[1].json(),
        json!({"merge_behavior": "merge", "emails_to_identify": [{"external_id": "u-42",
            "email": "ann@example.com",
            "prioritization": ["unidentified", "most_recently_updated"]}]})
    );

    for (payload, named) in [
        (
            json!({"external_id": "u-42"}),
            "Either user_alias or email_to_identify",
        ),
        (
            json!({"external_id": "u-42", "email_to_identify": "ann@example.com"}),
            "prioritization.first_priority",
        ),
        (
            json!({"external_id": "u-42", "user_alias": {"alias_name": "a"}}),
            "alias_label",
        ),
    ] {
        let err = perform(&http, "identifyUser2", payload.clone()).unwrap_err();
        assert!(
            matches!(&err, Error::InvalidPayload(m) if m.contains(named)),
            "{payload}: {err:?}"
        );
    }
    let err = perform(
        &http,
        "createAlias2",
        json!({"alias_name": "a", "alias_label": "b", SYNC_MODE: "update"}),
    )
    .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidPayload(m) if m.contains("update")),
        "{err:?}"
    );
    assert_eq!(http.requests().len(), 2, "refused events are not sent");

    // Braze reports some refusals inside a 2xx answer.
    http.respond(Response::new(
        201,
        r#"{"message":"success","errors":[{"type":"'external_id' is required"}]}"#,
    ));
    let err = perform(
        &http,
        "identifyUser2",
        json!({"external_id": "u-42", "user_alias": {"alias_name": "a", "alias_label": "b"}}),
    )
    .unwrap_err();
    assert!(
        matches!(&err, Error::Permanent { status: Some(400), message }
            if message.contains("'external_id' is required")),
        "{err:?}"
    );
    assert_eq!(
        http.requests()[2].json(),
        json!({"aliases_to_identify": [{"external_id": "u-42",
            "user_alias": {"alias_name": "a", "alias_label": "b"}}]})
    );
}

#[test]
fn an_ecommerce_sync_mode_of_update_changes_only_existing_users() {
    let http = FakeHttp::new();
    let viewed = |mode: &str| {
        json!({"name": "ecommerce.product_viewed", "external_id": "u-42",
            "time": "2026-11-29T08:00:00Z", "currency": "USD", "source": "ios",
            "product": {"product_id": "p1", "product_name": "Seat", "variant_id": "aisle",
                "price": 15}, SYNC_MODE: mode})
    };
    perform(&http, "ecommerceSingleProduct", viewed("update")).unwrap();
    perform(&http, "ecommerceSingleProduct", viewed("add")).unwrap();
    let sent = http.requests();
    assert_eq!(sent[0].json()["events"][0]["_update_existing_only"], true);
    assert!(
        sent[1].json()["events"][0]
            .get("_update_existing_only")
            .is_none()
    );
    let err = perform(&http, "ecommerceSingleProduct", viewed("upsert")).unwrap_err();
    assert!(
        matches!(&err, Error::InvalidPayload(m) if m.contains("upsert")),
        "{err:?}"
    );
    assert_eq!(http.requests().len(), 2);
}

mod conversions {
    use crate::actions::convert::*;
    use serde_json::{Value, json};

    #[test]
    fn times_become_utc_iso_with_milliseconds() {
        assert_eq!(
            iso(&json!("2024-03-01T12:30:00+02:00")),
            Some(json!("2024-03-01T10:30:00.000Z"))
        );
        assert_eq!(
            iso(&json!("2024-03-01T10:30:00.123456Z")),
            Some(json!("2024-03-01T10:30:00.123Z"))
        );
        assert_eq!(
            iso(&json!("2024-03-01")),
            Some(json!("2024-03-01T00:00:00.000Z"))
        );
        assert_eq!(
            iso(&json!(1709288400000u64)),
            Some(json!("2024-03-01T10:20:00.000Z"))
        );
        assert_eq!(iso(&json!("next tuesday")), None);
        assert_eq!(iso(&Value::Null), Some(Value::Null));
    }

    #[test]
    fn dates_of_birth_and_genders() {
        assert_eq!(
            dob(&json!("1990-05-17T00:00:00Z")),
            Some(json!("1990-05-17"))
        );
        assert_eq!(gender(&json!("Female")), json!("F"));
        assert_eq!(gender(&json!("prefer not to say")), json!("P"));
        assert_eq!(gender(&json!("nonbinary")), json!("nonbinary"));
    }
}

#[test]
fn a_broadcast_keeps_its_top_level_prioritization() {
    let http = FakeHttp::new();
    perform(
        &http,
        "triggerCampaign",
        json!({"campaign_id": "camp-1", "broadcast": true,
            "prioritization": {"first_priority": "identified"}}),
    )
    .unwrap();
    assert_eq!(
        http.requests()[0].json(),
        json!({"campaign_id": "camp-1", "broadcast": true,
            "prioritization": {"first_priority": "identified"}})
    );
}

#[test]
fn recipients_keep_only_their_declared_keys_and_a_canvas_alias_its_name_and_label() {
    let http = FakeHttp::new();
    perform(
        &http,
        "triggerCanvas",
        json!({"canvas_id": "cv-1", "recipients": [{"external_user_id": "u-1",
            "user_alias": {"alias_name": "a", "alias_label": "web", "extra": 1},
            "nickname": "Ann"}]}),
    )
    .unwrap();
    assert_eq!(
        http.requests()[0].json()["recipients"],
        json!([{"external_user_id": "u-1", "user_alias": {"alias_name": "a", "alias_label": "web"}}])
    );
    // A campaign's user_alias declares no keys of its own: it is sent as mapped.
    perform(
        &http,
        "triggerCampaign",
        json!({"campaign_id": "c-1", "recipients": [{"user_alias": {"alias_name": "a",
            "alias_label": "web", "extra": 1}, "nickname": "Ann"}]}),
    )
    .unwrap();
    assert_eq!(
        http.requests()[1].json()["recipients"],
        json!([{"user_alias": {"alias_name": "a", "alias_label": "web", "extra": 1}}])
    );
}

#[test]
fn an_ecommerce_event_accepts_every_code_of_segments_currency_list() {
    let http = FakeHttp::new();
    for code in ["XAD", "XCG", "EUR"] {
        perform(
            &http,
            "ecommerce",
            json!({"external_id": "u-1", "name": "ecommerce.order_placed", "time": "2026-11-29T08:00:00Z",
                "currency": code, "source": "web", "order_id": "o-1", "total_value": 10,
                "products": [{"product_id": "p", "product_name": "P", "variant_id": "v",
                    "quantity": 1, "price": 10}]}),
        )
        .unwrap_or_else(|e| panic!("{code}: {e:?}"));
    }
    assert_eq!(http.requests().len(), 3);
}

// ---- upsertCatalogItem and its onMappingSave hook (issue 18, point 9) ----

fn catalog_payload(item_id: &str, item: Value, mode: &str) -> Value {
    json!({"item_id": item_id, "item": item, "enable_batching": true, "batch_size": 50,
        SYNC_MODE: mode,
        "onMappingSave": {"inputs": {"operation": "select", "selected_catalog_name": "trips"},
            "outputs": {"catalog_name": "trips"}}})
}

#[test]
fn the_catalog_hook_creates_the_catalog_with_an_id_field_first() {
    let http = FakeHttp::new();
    http.respond(Response::new(201, r#"{"message":"success"}"#));
    let outputs = plugin()
        .run_hook(
            &mut Context::fake(&http),
            "upsertCatalogItem",
            "onMappingSave",
            &json!({"operation": "create", "created_catalog_name": "trips",
                "description": "Trips on sale",
                "columns": [{"name": "id", "type": "string"},
                    {"name": "city", "type": "string"}, {"name": "price", "type": "number"}]}),
            &settings(),
        )
        .unwrap();
    assert_eq!(json!(outputs), json!({"catalog_name": "trips"}));
    let sent = http.requests();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].method, "POST");
    assert_eq!(sent[0].url, "https://rest.fra-01.braze.eu/catalogs");
    assert_eq!(sent[0].header("authorization"), Some("Bearer b-key-1"));
    assert_eq!(
        sent[0].json(),
        json!({"catalogs": [{"name": "trips", "description": "Trips on sale",
            "fields": [{"name": "id", "type": "string"}, {"name": "city", "type": "string"},
                {"name": "price", "type": "number"}]}]})
    );
}

#[test]
fn the_catalog_hook_selects_without_a_request_and_fails_with_brazes_words() {
    let http = FakeHttp::new();
    let outputs = plugin()
        .run_hook(
            &mut Context::fake(&http),
            "upsertCatalogItem",
            "onMappingSave",
            &json!({"operation": "select", "selected_catalog_name": "hotels"}),
            &settings(),
        )
        .unwrap();
    assert_eq!(json!(outputs), json!({"catalog_name": "hotels"}));
    assert!(http.requests().is_empty());

    http.respond(Response::new(
        400,
        r#"{"errors":[{"id":"catalog-name-already-exists","message":"A catalog with that name already exists"}]}"#,
    ));
    let refused = plugin().run_hook(
        &mut Context::fake(&http),
        "upsertCatalogItem",
        "onMappingSave",
        &json!({"operation": "create", "created_catalog_name": "hotels"}),
        &settings(),
    );
    assert_eq!(
        refused,
        Err(Error::Permanent {
            message: "A catalog with that name already exists".into(),
            status: Some(400)
        })
    );
}

#[test]
fn a_catalog_item_is_put_to_the_catalog_the_hook_chose() {
    let http = FakeHttp::new();
    http.respond(Response::new(202, r#"{"message":"success"}"#));
    perform(
        &http,
        "upsertCatalogItem",
        catalog_payload("trip-7", json!({"city": "Lisbon", "price": 120}), "upsert"),
    )
    .unwrap();
    let sent = http.requests();
    assert_eq!(sent[0].method, "PUT");
    assert_eq!(
        sent[0].url,
        "https://rest.fra-01.braze.eu/catalogs/trips/items/trip-7"
    );
    assert_eq!(
        sent[0].json(),
        json!({"items": [{"city": "Lisbon", "price": 120}]})
    );

    // Deleting sends the same address with DELETE; an item Braze does not have is done.
    http.respond(Response::new(
        404,
        r#"{"errors":[{"id":"item-not-found","message":"Could not find item"}]}"#,
    ));
    perform(
        &http,
        "upsertCatalogItem",
        catalog_payload("trip-8", json!({}), "delete"),
    )
    .unwrap();
    let sent = http.requests();
    assert_eq!(sent[1].method, "DELETE");
    assert_eq!(sent[1].json(), json!({"items": [{}]}));
}

#[test]
fn a_catalog_item_is_refused_as_segment_refuses_it() {
    let http = FakeHttp::new();
    let bad_id = perform(
        &http,
        "upsertCatalogItem",
        catalog_payload("trip 7", json!({"a": 1}), "upsert"),
    );
    assert_eq!(bad_id, Err(Error::invalid_payload("Invalid ID Format")));
    let no_item = perform(
        &http,
        "upsertCatalogItem",
        catalog_payload("trip-7", json!({}), "upsert"),
    );
    assert_eq!(no_item, Err(Error::invalid_payload("Item is required")));
    // Without the hook's output there is no catalog to write to.
    let no_catalog = perform(
        &http,
        "upsertCatalogItem",
        json!({"item_id": "trip-7", "item": {"a": 1}}),
    );
    let Err(Error::InvalidPayload(message)) = no_catalog else {
        panic!("{no_catalog:?}")
    };
    assert!(message.contains("onMappingSave"), "{message}");
    // A mode other than upsert or delete is refused (Segment would send a DELETE).
    let add = perform(
        &http,
        "upsertCatalogItem",
        catalog_payload("trip-7", json!({"a": 1}), "add"),
    );
    assert!(matches!(add, Err(Error::InvalidPayload(_))), "{add:?}");
    assert!(http.requests().is_empty());
}

#[test]
fn a_catalog_batch_is_one_request_and_brazes_errors_fail_only_the_items_they_name() {
    let http = FakeHttp::new();
    http.respond(Response::new(
        400,
        r#"{"errors":[{"id":"invalid-fields","message":"Fields do not match with fields on the catalog","parameters":["id"],"parameter_values":["trip-2"]}]}"#,
    ));
    let results = plugin().perform_batch(
        &mut Context::fake(&http),
        "upsertCatalogItem",
        &[
            catalog_payload("trip-1", json!({"city": "Porto"}), "upsert"),
            catalog_payload("trip-2", json!({"town": "Faro"}), "upsert"),
            catalog_payload("trip-1", json!({"city": "Braga"}), "upsert"),
            catalog_payload("trip-3", json!({"city": "Evora"}), "upsert"),
        ],
        &settings(),
    );
    let sent = http.requests();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].method, "PUT");
    assert_eq!(
        sent[0].url,
        "https://rest.fra-01.braze.eu/catalogs/trips/items/"
    );
    assert_eq!(
        sent[0].json(),
        json!({"items": [{"city": "Porto", "id": "trip-1"}, {"town": "Faro", "id": "trip-2"},
            {"city": "Evora", "id": "trip-3"}]})
    );
    assert!(matches!(&results[0], Err(Error::Retryable { message, .. })
        if message == "Item with ID trip-1 could not be processed due to invalid catalog items in the batch request."));
    assert_eq!(
        results[1],
        Err(Error::Permanent {
            message: "Fields do not match with fields on the catalog".into(),
            status: Some(400)
        })
    );
    assert_eq!(
        results[2],
        Err(Error::invalid_payload(
            "Every item in the batch must have a unique item_id"
        ))
    );
    assert!(matches!(&results[3], Err(Error::Retryable { .. })));

    http.respond(Response::new(
        404,
        r#"{"errors":[{"id":"catalog-not-found","message":"Could not find catalog"}]}"#,
    ));
    let results = plugin().perform_batch(
        &mut Context::fake(&http),
        "upsertCatalogItem",
        &[catalog_payload("trip-1", json!({}), "delete")],
        &settings(),
    );
    assert_eq!(http.requests()[1].method, "DELETE");
    assert_eq!(
        http.requests()[1].json(),
        json!({"items": [{"id": "trip-1"}]})
    );
    assert_eq!(
        results,
        [Err(Error::Permanent {
            message: "Catalog not found. Please create a catalog first.".into(),
            status: Some(404)
        })]
    );
}
