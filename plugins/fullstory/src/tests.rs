//! Requests checked against FullStory's v2 server API format and the reference's behaviour.

use crate::actions::track_event::session_id;
use crate::plugin;
use serde_json::{Value, json};
use switchyard_plugin_sdk::{Context, Error, FakeHttp, Response};

fn perform(http: &FakeHttp, action: &str, payload: Value) -> Result<(), Error> {
    plugin().perform(
        &mut Context::fake(http),
        action,
        &payload,
        &json!({"apiKey": "fs-key-1"}),
    )
}

#[test]
fn an_event_goes_to_v2_events_with_clean_property_names() {
    let http = FakeHttp::new();
    perform(
        &http,
        "trackEventV2",
        json!({"userId": "u-42", "name": "Trip Booked",
            "properties": {"originally-hyphenated": 1, "originally spaced": "x",
                "nested": {"a.b": {"c d": true}}, "list": [{"e-f": 1}]},
            "timestamp": "2026-11-29T09:00:00+01:00",
            "useRecentSession": true,
            "sessionUrl": "https://app.fullstory.com/ui/o-1/session/5436%3A7788"}),
    )
    .unwrap();
    let sent = &http.requests()[0];
    assert_eq!(sent.method, "POST");
    assert_eq!(sent.url, "https://api.fullstory.com/v2/events");
    assert_eq!(sent.header("authorization"), Some("Basic fs-key-1"));
    assert_eq!(sent.header("integration-source"), Some("segment"));
    assert_eq!(
        sent.json(),
        json!({"name": "Trip Booked", "user": {"uid": "u-42"},
            "timestamp": "2026-11-29T08:00:00.000Z",
            "properties": {"originallyhyphenated": 1, "originallyspaced": "x",
                "nested": {"ab": {"cd": true}}, "list": [{"e-f": 1}]},
            "session": {"id": "5436:7788", "use_most_recent": true}})
    );
}

#[test]
fn false_and_absent_options_are_left_out() {
    let http = FakeHttp::new();
    perform(
        &http,
        "trackEventV2",
        json!({"name": "E", "useRecentSession": false, "timestamp": "not a time"}),
    )
    .unwrap();
    assert_eq!(http.requests()[0].json(), json!({"name": "E"}));
}

#[test]
fn a_user_goes_to_v2_users() {
    let http = FakeHttp::new();
    perform(
        &http,
        "identifyUserV2",
        json!({"uid": "u-42", "anonymousId": "anon-1", "displayName": "Ann Lee",
            "email": "ann@example.com",
            "properties": {"name": "Ann Lee", "plan-tier": "pro", "email": "ann@example.com"}}),
    )
    .unwrap();
    let sent = &http.requests()[0];
    assert_eq!(sent.url, "https://api.fullstory.com/v2/users");
    assert_eq!(
        sent.json(),
        json!({"uid": "u-42", "email": "ann@example.com", "display_name": "Ann Lee",
            "properties": {"name": "Ann Lee", "plantier": "pro", "email": "ann@example.com",
                "segmentAnonymousId": "anon-1"}})
    );
}

#[test]
fn the_name_is_required_and_vendor_errors_are_classified() {
    let http = FakeHttp::new();
    let err = perform(&http, "trackEventV2", json!({"userId": "u"})).unwrap_err();
    assert!(
        matches!(&err, Error::InvalidPayload(m) if m.contains("name")),
        "{err:?}"
    );
    assert!(http.requests().is_empty());
    http.respond(Response::new(401, "unauthorized"));
    http.respond(Response::new(429, "slow").with_header("retry-after", "5"));
    let auth = perform(&http, "trackEventV2", json!({"name": "E"})).unwrap_err();
    assert!(
        matches!(
            auth,
            Error::Auth { .. }
                | Error::Permanent {
                    status: Some(401),
                    ..
                }
        ),
        "{auth:?}"
    );
    let slow = perform(&http, "trackEventV2", json!({"name": "E"})).unwrap_err();
    assert!(matches!(slow, Error::RateLimited { .. }), "{slow:?}");
}

#[test]
fn session_ids_come_from_the_last_path_segment() {
    assert_eq!(
        session_id("https://app.fullstory.com/ui/ORG/session/123%3A456?x=1").as_deref(),
        Some("123:456")
    );
    assert_eq!(session_id("https://app.fullstory.com/ui/").as_deref(), None);
    assert_eq!(session_id("plain-id").as_deref(), Some("plain-id"));
}

#[test]
fn settings_without_an_api_key_are_refused_naming_it() {
    let http = FakeHttp::new();
    let err = plugin()
        .perform(
            &mut Context::fake(&http),
            "trackEventV2",
            &json!({"userId": "u-42", "name": "Trip Booked"}),
            &json!({}),
        )
        .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidSettings(m) if m.contains("apiKey")),
        "{err:?}"
    );
    assert!(http.requests().is_empty());
}

// ---- The V1 actions (issue 18, point 9): expected requests are what Segment's own trackEvent
// and identifyUser produce for the same payloads (run with node against the published package).

#[test]
fn a_v1_event_goes_to_the_users_v1_api_with_type_suffixed_names() {
    let http = FakeHttp::new();
    perform(
        &http,
        "trackEvent",
        json!({"userId": "u 42/é", "name": "Trip Booked",
            "properties": {"plan-tier": "pro", "seats": 3, "tags": ["a", "b"], "when_date": "x",
                "nested": {"a.b": {"c d": true}}, "mixed": [1, "a"]},
            "timestamp": "2026-11-29T09:00:00+01:00", "useRecentSession": true,
            "sessionUrl": "https://app.fullstory.com/ui/o-1/session/5436%3A7788"}),
    )
    .unwrap();
    let sent = &http.requests()[0];
    assert_eq!(sent.method, "POST");
    assert_eq!(
        sent.url,
        "https://api.fullstory.com/users/v1/individual/u%2042%2F%C3%A9/customevent?integration=segment"
    );
    assert_eq!(sent.header("authorization"), Some("Basic fs-key-1"));
    assert_eq!(sent.header("integration-source"), Some("segment"));
    assert_eq!(
        sent.json(),
        json!({"event": {"event_name": "Trip Booked", "event_data": {"plantier_str": "pro",
            "seats_real": 3, "tags_strs": ["a", "b"], "when_date": "x",
            "nested": {"ab": {"cd_bool": true}}, "mixed": {"0_real": 1, "1_str": "a"}},
            "timestamp": "2026-11-29T08:00:00.000Z", "use_recent_session": true,
            "session_url": "https://app.fullstory.com/ui/o-1/session/5436%3A7788"}})
    );

    perform(
        &http,
        "trackEvent",
        json!({"userId": "u-1", "name": "Bare"}),
    )
    .unwrap();
    assert_eq!(
        http.requests()[1].json(),
        json!({"event": {"event_name": "Bare", "event_data": {}}})
    );
}

#[test]
fn a_v1_identify_sends_camel_cased_suffixed_traits_to_customvars() {
    let http = FakeHttp::new();
    perform(
        &http,
        "identifyUser",
        json!({"userId": "u-42", "anonymousId": "anon-1", "displayName": "Ann Lee",
            "email": "ann@example.com",
            "traits": {"first_name": "Ann", "plan tier": "pro", "is_pro": true,
                "email": "ann@example.com", "address": {"postal_code": "94107"}}}),
    )
    .unwrap();
    let sent = &http.requests()[0];
    assert_eq!(
        sent.url,
        "https://api.fullstory.com/users/v1/individual/u-42/customvars?integration=segment"
    );
    assert_eq!(
        sent.body,
        json!({"firstName_str": "Ann", "planTier_str": "pro", "isPro_bool": true,
            "email_str": "ann@example.com", "address": {"postalCode_str": "94107"},
            "segmentAnonymousId_str": "anon-1", "email": "ann@example.com",
            "displayName": "Ann Lee"})
        .to_string()
        .into_bytes(),
        "same keys in the same order as Segment's"
    );
}

#[test]
fn the_v1_actions_need_a_user_id() {
    let http = FakeHttp::new();
    let plugin = plugin();
    let action = plugin.find_action("identifyUser").unwrap();
    assert!(action.has_field("traits"));
    let missing = perform(&http, "trackEvent", json!({"name": "No User"}));
    assert!(
        matches!(missing, Err(Error::InvalidPayload(_))),
        "{missing:?}"
    );
}
