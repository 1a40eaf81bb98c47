//! Requests checked against TikTok's Events API 1.3 format and the reference's behaviour.

use crate::actions::report_web_event::URL;
use crate::actions::{compact, lower, phone, plain};
use crate::plugin;
use serde_json::{Value, json};
use switchyard_plugin_sdk::hash::sha256_hex as sha;
use switchyard_plugin_sdk::{Context, Error, FakeHttp, Response};

fn perform(http: &FakeHttp, payload: Value) -> Result<(), Error> {
    plugin().perform(
        &mut Context::fake(http),
        "reportWebEvent",
        &payload,
        &json!({"accessToken": "tt-token", "pixelCode": "PIXEL1"}),
    )
}

#[test]
fn a_purchase_is_sent_with_hashed_user_data() {
    let http = FakeHttp::new();
    http.respond(Response::new(200, r#"{"code":0,"message":"OK"}"#));
    perform(
        &http,
        json!({"event_source": "web", "event": "CompletePayment", "event_id": "m-1",
            "timestamp": "2026-11-29T08:00:00Z",
            "phone_number": ["+1 (415) 555-0100"], "email": ["Ann@Example.com"],
            "first_name": "Ann Marie", "last_name": "Lee",
            "address": {"city": "San Francisco", "country": "US", "zip_code": "94107",
                "state": "CA"},
            "external_id": ["U-42"], "ip": "203.0.113.9", "user_agent": "Mozilla/5.0",
            "url": "https://fly.example/pay?ttclid=CLICK1&x=1", "ttclid": "MAPPED",
            "contents": [{"price": 389, "quantity": 1, "content_id": "JFK-LIS",
                "content_name": "Lisbon", "extra": "dropped"}],
            "content_type": "product", "currency": "EUR", "value": 389,
            "order_id": "o-1", "limited_data_use": false}),
    )
    .unwrap();
    let sent = &http.requests()[0];
    assert_eq!(sent.method, "POST");
    assert_eq!(sent.url, URL);
    assert_eq!(sent.header("access-token"), Some("tt-token"));
    assert_eq!(sent.header("content-type"), Some("application/json"));
    assert_eq!(
        sent.json(),
        json!({"event_source": "web", "event_source_id": "PIXEL1", "partner_name": "Segment",
            "data": [{"event": "CompletePayment", "event_time": 1795939200i64, "event_id": "m-1",
                "user": {"external_id": [sha("u-42")], "phone": [sha("+14155550100")],
                    "email": [sha("ann@example.com")], "first_name": sha("annmarie"),
                    "last_name": sha("lee"), "city": "sanfrancisco", "state": "ca",
                    "country": "us", "zip_code": sha("94107"), "ttclid": "CLICK1",
                    "ip": "203.0.113.9", "user_agent": "Mozilla/5.0"},
                "properties": {"contents": [{"price": 389, "quantity": 1,
                        "content_id": "JFK-LIS", "content_name": "Lisbon"}],
                    "content_type": "product", "currency": "EUR", "value": 389,
                    "order_id": "o-1"},
                "page": {"url": "https://fly.example/pay?ttclid=CLICK1&x=1"},
                "limited_data_use": false}]})
    );
}

#[test]
fn hashed_values_pass_through_and_missing_ones_are_empty() {
    let http = FakeHttp::new();
    let digest = sha("someone@example.com");
    perform(
        &http,
        json!({"event": "PageView", "email": [digest], "test_event_code": "TEST1"}),
    )
    .unwrap();
    let body = http.requests()[0].json();
    assert_eq!(body["test_event_code"], "TEST1");
    let user = &body["data"][0]["user"];
    assert_eq!(user["email"], json!([digest]));
    assert_eq!(user["external_id"], json!([]));
    assert_eq!(user["first_name"], "");
    assert_eq!(user["zip_code"], "");
    assert_eq!(body["data"][0]["properties"]["contents"], json!([]));
    assert!(
        body["data"][0]["event_time"].as_i64().unwrap() > 1_700_000_000,
        "now"
    );
}

#[test]
fn travel_and_vehicle_fields_and_crm_leads() {
    let http = FakeHttp::new();
    perform(
        &http,
        json!({"event": "Search", "event_spec_type": "travel_fields", "timestamp": "2026-11-29T08:00:00Z",
            "travel_fields": {"origin_airport": "JFK", "destination_airport": "LIS",
                "num_adults": 2, "travel_class": "eco", "city": null}}),
    )
    .unwrap();
    perform(
        &http,
        json!({"event": "ViewContent", "event_spec_type": "vehicle_fields",
            "vehicle_fields": {"make": "Volvo", "mileage_value": 1200, "mileage_unit": "KM",
                "preferred_price_range_min": 10000, "preferred_price_range_max": 20000}}),
    )
    .unwrap();
    perform(
        &http,
        json!({"event": "SubmitForm", "event_source": "crm", "event_spec_type": "travel_fields",
            "travel_fields": {"origin_airport": "JFK"},
            "lead_fields": {"lead_id": "L-1", "lead_event_source": "HubSpot"}}),
    )
    .unwrap();
    let sent = http.requests();
    let props = |i: usize| sent[i].json()["data"][0]["properties"].clone();
    assert_eq!(
        props(0),
        json!({"contents": [], "origin_airport": "JFK", "destination_airport": "LIS",
            "num_adults": 2, "travel_class": "eco"})
    );
    assert_eq!(
        props(1),
        json!({"contents": [], "make": "Volvo", "mileage": {"unit": "KM", "value": 1200},
            "preferred_price_range": [10000, 20000]})
    );
    let crm = sent[2].json();
    assert_eq!(crm["event_source"], "crm");
    assert_eq!(
        crm["data"][0]["properties"],
        json!({"contents": []}),
        "travel is web only"
    );
    assert_eq!(
        crm["data"][0]["lead"],
        json!({"lead_id": "L-1", "lead_event_source": "HubSpot"})
    );
}

#[test]
fn bad_input_and_refusals() {
    let http = FakeHttp::new();
    let err = perform(
        &http,
        json!({"event": "PageView", "timestamp": "yesterday"}),
    )
    .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidPayload(m) if m.contains("timestamp")),
        "{err:?}"
    );
    assert!(http.requests().is_empty());
    http.respond(Response::new(
        200,
        r#"{"code":40002,"message":"Invalid pixel_code"}"#,
    ));
    let err = perform(&http, json!({"event": "PageView"})).unwrap_err();
    assert!(
        matches!(&err, Error::Permanent { message, .. } if message.contains("Invalid pixel_code")),
        "{err:?}"
    );
    http.respond(Response::new(503, "busy"));
    let err = perform(&http, json!({"event": "PageView"})).unwrap_err();
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
fn throttling_token_and_server_codes_are_classified() {
    let http = FakeHttp::new();
    let page = || json!({"event": "PageView"});
    http.respond(Response::new(429, "").with_header("Retry-After", "10"));
    let err = perform(&http, page()).unwrap_err();
    assert!(
        matches!(&err, Error::RateLimited { retry_after: Some(d), .. } if d.as_secs() == 10),
        "{err:?}"
    );
    for (code, check) in [
        (
            40100,
            (|e: &Error| matches!(e, Error::RateLimited { .. })) as fn(&Error) -> bool,
        ),
        (40105, |e| matches!(e, Error::Auth { .. })),
        (51000, |e| matches!(e, Error::Retryable { .. })),
        (40001, |e| matches!(e, Error::Permanent { .. })),
    ] {
        http.respond(Response::new(
            200,
            format!(r#"{{"code":{code},"message":"refused"}}"#),
        ));
        let err = perform(&http, page()).unwrap_err();
        assert!(check(&err), "{code}: {err:?}");
        assert!(err.to_string().contains(&format!("code {code}")), "{err}");
    }
    let err = plugin()
        .perform(
            &mut Context::fake(&http),
            "reportWebEvent",
            &page(),
            &json!({"accessToken": "t"}),
        )
        .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidSettings(m) if m.contains("pixelCode")),
        "{err:?}"
    );
}

#[test]
fn values_are_cleaned_then_hashed_and_digests_pass_through() {
    // The SHA-256 test vector for "abc" (FIPS 180-2).
    let abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    assert_eq!(lower("ABC"), abc);
    assert_eq!(lower(abc), abc, "a digest is not hashed again");
    assert_eq!(lower("Ann@Example.com"), sha("ann@example.com"));
    assert_eq!(phone("+1 (415) 555-0100"), sha("+14155550100"));
    assert_eq!(phone("0044 1234 5678 9012 345"), sha("+004412345678901"));
    assert_eq!(compact(" Mary Ann "), sha("maryann"));
    assert_eq!(plain("São Paulo-SP"), "sopaulosp");
}
