//! Requests checked against Customer.io's Track API v2 format and the reference's behaviour.

use crate::plugin;
use serde_json::{Value, json};
use switchyard_plugin_sdk::{Context, Error, FakeHttp, Response};

fn settings() -> Value {
    json!({"siteId": "12345", "apiKey": "abcde"})
}

fn perform(http: &FakeHttp, action: &str, payload: Value) -> Result<(), Error> {
    plugin().perform(&mut Context::fake(http), action, &payload, &settings())
}

fn sent(http: &FakeHttp, i: usize) -> Value {
    http.requests()[i].json()
}

#[test]
fn a_person_is_identified_with_basic_auth_and_converted_dates() {
    let http = FakeHttp::new();
    perform(
        &http,
        "createUpdatePerson",
        json!({"id": "u-42", "anonymous_id": "anon-1", "email": "ann@example.com",
            "created_at": "2026-11-29T08:00:00Z", "group_id": "acme",
            "custom_attributes": {"plan": "pro", "createdAt": "x", "trial_ends": "2026-12-01",
                "objectTypeId": "2"},
            "relationship_attributes": {"role": "admin"}, "timestamp": "2026-11-29T08:00:00Z",
            "convert_timestamp": true, "object_type_id": "2",
            "enable_batching": false, "batch_size": 50}),
    )
    .unwrap();
    let request = &http.requests()[0];
    assert_eq!(request.url, "https://track.customer.io/api/v2/entity");
    assert_eq!(
        request.header("authorization"),
        Some("Basic MTIzNDU6YWJjZGU=")
    );
    assert_eq!(
        request.json(),
        json!({"type": "person", "action": "identify", "identifiers": {"id": "u-42"},
            "timestamp": 1795939200,
            "attributes": {"plan": "pro", "trial_ends": 1796083200, "created_at": 1795939200,
                "email": "ann@example.com", "anonymous_id": "anon-1"},
            "cio_relationships": [{"identifiers": {"object_type_id": "2", "object_id": "acme"},
                "relationship_attributes": {"role": "admin"}}]})
    );
}

#[test]
fn events_pages_and_screens() {
    let http = FakeHttp::new();
    perform(
        &http,
        "trackEvent",
        json!({"id": "cio_a1", "name": "Trip Booked", "event_id": "m-1",
            "timestamp": "1795939200", "data": {"route": "JFK-LIS"}}),
    )
    .unwrap();
    perform(
        &http,
        "trackPageView",
        json!({"anonymous_id": "anon-2", "url": "https://fly.example/pricing",
            "data": {"title": "Pricing"}}),
    )
    .unwrap();
    perform(
        &http,
        "trackScreenView",
        json!({"id": "ann@example.com", "name": "Checkout", "data": {}}),
    )
    .unwrap();
    assert_eq!(
        sent(&http, 0),
        json!({"type": "person", "action": "event", "identifiers": {"cio_id": "a1"},
            "name": "Trip Booked", "id": "m-1", "timestamp": "1795939200",
            "attributes": {"route": "JFK-LIS"}})
    );
    assert_eq!(
        sent(&http, 1),
        json!({"type": "person", "action": "page", "identifiers": {"anonymous_id": "anon-2"},
            "name": "https://fly.example/pricing", "attributes": {"title": "Pricing"}})
    );
    assert_eq!(
        sent(&http, 2),
        json!({"type": "person", "action": "screen", "identifiers": {"email": "ann@example.com"},
            "name": "Checkout", "attributes": {}})
    );
}

#[test]
fn devices_merges_objects_and_relationships() {
    let http = FakeHttp::new();
    perform(
        &http,
        "createUpdateDevice",
        json!({"person_id": "u-1", "device_id": "tok-1", "platform": "ios",
            "app_version": "2.1", "last_used": "2026-11-29T08:00:00Z",
            "attributes": {"model": "iPhone"}, "convert_timestamp": true}),
    )
    .unwrap();
    perform(
        &http,
        "mergePeople",
        json!({"primary": "u-1", "secondary": "old@example.com"}),
    )
    .unwrap();
    perform(
        &http,
        "createUpdateObject",
        json!({"id": "acme", "anonymous_id": "anon-3", "custom_attributes": {"tier": "gold"}}),
    )
    .unwrap();
    perform(
        &http,
        "deleteRelationship",
        json!({"person_id": "u-1", "object_id": "acme", "object_type_id": "1"}),
    )
    .unwrap();
    assert_eq!(
        sent(&http, 0),
        json!({"type": "person", "action": "add_device", "identifiers": {"id": "u-1"},
            "device": {"token": "tok-1", "platform": "ios", "last_used": 1795939200,
                "attributes": {"model": "iPhone", "app_version": "2.1"}}})
    );
    assert_eq!(
        sent(&http, 1),
        json!({"type": "person", "action": "merge", "primary": {"id": "u-1"},
            "secondary": {"email": "old@example.com"}})
    );
    assert_eq!(
        sent(&http, 2),
        json!({"type": "object", "action": "identify_anonymous",
            "identifiers": {"object_id": "acme", "object_type_id": "1"},
            "attributes": {"tier": "gold", "anonymous_id": "anon-3"},
            "cio_relationships": [{"identifiers": {"anonymous_id": "anon-3"}}]})
    );
    assert_eq!(
        sent(&http, 3),
        json!({"type": "object", "action": "delete_relationships",
            "identifiers": {"object_id": "acme", "object_type_id": "1"},
            "cio_relationships": [{"identifiers": {"id": "u-1"}}]})
    );
}

#[test]
fn content_and_delivery_reports() {
    let http = FakeHttp::new();
    perform(
        &http,
        "reportContentEvent",
        json!({"anonymous_id": "anon-1", "actionType": "viewed_content",
            "data": {"actionType": "viewed_content", "message_id": "msg-1"}}),
    )
    .unwrap();
    perform(
        &http,
        "reportDeliveryEvent",
        json!({"delivery_id": "d-1", "metric": "clicked", "href": "https://fly.example",
            "action_name": "cta", "timestamp": "2026-11-29T08:00:00Z"}),
    )
    .unwrap();
    assert_eq!(
        sent(&http, 0),
        json!({"type": "person", "action": "viewed_content",
            "identifiers": {"anonymous_id": "anon-1"}, "name": "viewed_content",
            "attributes": {"message_id": "msg-1"}})
    );
    assert_eq!(
        http.requests()[1].url,
        "https://track.customer.io/api/v1/metrics"
    );
    assert_eq!(
        sent(&http, 1),
        json!({"delivery_id": "d-1", "metric": "clicked", "timestamp": 1795939200,
            "href": "https://fly.example", "metadata": {"action_name": "cta"}})
    );
}

#[test]
fn a_batch_is_one_request_and_its_answer_is_every_events_answer() {
    let http = FakeHttp::new();
    http.respond(Response::new(200, "{}"));
    http.respond(Response::new(500, "down"));
    let event = |id: &str| json!({"id": id, "name": "E", "data": {}});
    let results = plugin().perform_batch(
        &mut Context::fake(&http),
        "trackEvent",
        &[
            event("u-1"),
            json!({"name": "No one", "data": {}}),
            event("u-3"),
        ],
        &json!({"siteId": "1", "apiKey": "k", "accountRegion": "EU 🇪🇺"}),
    );
    let request = &http.requests()[0];
    assert_eq!(request.url, "https://track-eu.customer.io/api/v2/batch");
    assert_eq!(request.json()["batch"].as_array().unwrap().len(), 2);
    assert!(results[0].is_ok() && results[2].is_ok());
    assert!(matches!(&results[1], Err(Error::InvalidPayload(m)) if m.contains("person")));
    let again = plugin().perform_batch(
        &mut Context::fake(&http),
        "trackEvent",
        &[event("u-1"), event("u-2")],
        &settings(),
    );
    assert!(again.iter().all(|r| matches!(
        r,
        Err(Error::Retryable {
            status: Some(500),
            ..
        })
    )));
}

#[test]
fn objects_for_identified_and_anonymous_people_go_in_separate_batches() {
    let http = FakeHttp::new();
    let results = plugin().perform_batch(
        &mut Context::fake(&http),
        "createUpdateObject",
        &[
            json!({"id": "a", "user_id": "u-1"}),
            json!({"id": "b", "anonymous_id": "anon"}),
            json!({"id": "c", "user_id": "u-2"}),
        ],
        &settings(),
    );
    assert!(results.iter().all(Result::is_ok));
    let sent = http.requests();
    assert_eq!(sent.len(), 2);
    let actions = |i: usize| -> Vec<Value> {
        sent[i].json()["batch"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].clone())
            .collect()
    };
    assert_eq!(actions(0), [json!("identify"), json!("identify")]);
    assert_eq!(actions(1), [json!("identify_anonymous")]);
}

#[test]
fn people_are_deleted_suppressed_and_unsuppressed_by_any_identifier() {
    let http = FakeHttp::new();
    perform(&http, "deletePerson", json!({"person_id": "u-9"})).unwrap();
    perform(
        &http,
        "suppressPerson",
        json!({"person_id": "ann@example.com"}),
    )
    .unwrap();
    perform(&http, "unsuppressPerson", json!({"person_id": "cio_f00"})).unwrap();
    let requests = http.requests();
    assert!(
        requests
            .iter()
            .all(|r| r.method == "POST" && r.url == "https://track.customer.io/api/v2/entity")
    );
    assert_eq!(
        sent(&http, 0),
        json!({"type": "person", "action": "delete", "identifiers": {"id": "u-9"}})
    );
    assert_eq!(
        sent(&http, 1),
        json!({"type": "person", "action": "suppress",
            "identifiers": {"email": "ann@example.com"}})
    );
    assert_eq!(
        sent(&http, 2),
        json!({"type": "person", "action": "unsuppress", "identifiers": {"cio_id": "f00"}})
    );
}

#[test]
fn devices_and_objects_are_deleted() {
    let http = FakeHttp::new();
    perform(
        &http,
        "deleteDevice",
        json!({"person_id": "u-1", "device_id": "tok-1"}),
    )
    .unwrap();
    perform(
        &http,
        "deleteObject",
        json!({"object_id": "acme", "object_type_id": "3"}),
    )
    .unwrap();
    perform(&http, "deleteObject", json!({"object_id": "globex"})).unwrap();
    assert_eq!(
        sent(&http, 0),
        json!({"type": "person", "action": "delete_device", "identifiers": {"id": "u-1"},
            "device": {"token": "tok-1"}})
    );
    assert_eq!(
        sent(&http, 1),
        json!({"type": "object", "action": "delete",
            "identifiers": {"object_id": "acme", "object_type_id": "3"}})
    );
    assert_eq!(
        sent(&http, 2),
        json!({"type": "object", "action": "delete",
            "identifiers": {"object_id": "globex", "object_type_id": "1"}})
    );
}

#[test]
fn answers_become_typed_errors_and_events_naming_no_one_are_not_sent() {
    let http = FakeHttp::new();
    let err = perform(&http, "deletePerson", json!({})).unwrap_err();
    assert!(
        matches!(&err, Error::InvalidPayload(m) if m.contains("person_id")),
        "{err:?}"
    );
    assert!(http.requests().is_empty(), "nothing half-formed is sent");

    http.respond(Response::new(429, "slow down").with_header("Retry-After", "30"));
    let err = perform(&http, "deletePerson", json!({"person_id": "u-1"})).unwrap_err();
    assert!(
        matches!(&err, Error::RateLimited { retry_after: Some(d), .. } if d.as_secs() == 30),
        "{err:?}"
    );
    http.respond(Response::new(401, "bad credentials"));
    let err = perform(&http, "deletePerson", json!({"person_id": "u-1"})).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Auth {
                status: Some(401),
                ..
            }
        ),
        "{err:?}"
    );
    http.respond(Response::new(400, r#"{"errors":[{"reason":"bad"}]}"#));
    let err = perform(&http, "deletePerson", json!({"person_id": "u-1"})).unwrap_err();
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
fn default_triggers_match_the_presets_as_in_the_reference() {
    let manifest = switchyard_plugin_sdk::__private::describe(&plugin());
    assert_eq!(manifest.actions.len(), 15);
    assert_eq!(manifest.presets.len(), 15);
    for preset in &manifest.presets {
        let action = manifest
            .actions
            .iter()
            .find(|a| a.id == preset.action)
            .unwrap();
        assert_eq!(
            action.default_trigger.as_deref(),
            Some(preset.trigger.as_str()),
            "{}",
            action.id
        );
    }
    let device = manifest
        .presets
        .iter()
        .find(|p| p.action == "deleteDevice")
        .unwrap();
    assert_eq!(
        device.trigger,
        "event = \"Application Uninstalled\" or event = \"Device Deleted\""
    );
    let secrets: Vec<&str> = manifest
        .settings
        .iter()
        .filter(|s| s.secret)
        .map(|s| s.key.as_str())
        .collect();
    assert_eq!(secrets, ["siteId", "apiKey"]);
}

mod entities {
    use crate::actions::entity::*;
    use serde_json::{Value, json};

    #[test]
    fn iso_dates_become_unix_seconds() {
        assert_eq!(timestamp(&json!("1795939200")), json!("1795939200"));
        assert_eq!(timestamp(&json!("2026-11-29T08:00:00Z")), json!(1795939200));
        assert_eq!(timestamp(&json!("soon")), json!("soon"));
    }

    #[test]
    fn identifiers_follow_the_reference_order() {
        let ids = |p: Value| identifiers(p.as_object().unwrap());
        assert_eq!(
            ids(json!({"object_id": "o"})),
            Some(json!({"object_id": "o", "object_type_id": "1"}))
        );
        assert_eq!(
            ids(json!({"person_id": "cio_abc"})),
            Some(json!({"cio_id": "abc"}))
        );
        assert_eq!(
            ids(json!({"person_id": "ann@example.com"})),
            Some(json!({"email": "ann@example.com"}))
        );
        assert_eq!(
            ids(json!({"person_id": "u-1", "email": "x@y.z"})),
            Some(json!({"id": "u-1"}))
        );
        assert_eq!(
            ids(json!({"email": "x@y.z"})),
            Some(json!({"email": "x@y.z"}))
        );
        assert_eq!(
            ids(json!({"anonymous_id": "a"})),
            Some(json!({"anonymous_id": "a"}))
        );
        assert_eq!(ids(json!({})), None);
    }
}

#[test]
fn delete_relationship_keeps_the_anonymous_id_in_attributes() {
    let http = FakeHttp::new();
    perform(
        &http,
        "deleteRelationship",
        json!({"anonymous_id": "anon-9", "object_id": "acme", "object_type_id": "1"}),
    )
    .unwrap();
    assert_eq!(
        sent(&http, 0),
        json!({"type": "object", "action": "delete_relationships",
            "identifiers": {"object_id": "acme", "object_type_id": "1"},
            "attributes": {"anonymous_id": "anon-9"},
            "cio_relationships": [{"identifiers": {"anonymous_id": "anon-9"}}]})
    );
}

#[test]
fn a_batched_person_gets_email_and_created_at_only_when_they_are_set() {
    let http = FakeHttp::new();
    // In a batch, top-level "" is kept by the mapping; the action leaves it out.
    let results = plugin().perform_batch(
        &mut Context::fake(&http),
        "createUpdatePerson",
        &[
            json!({"id": "u-1", "email": "", "created_at": "", "group_id": "",
                "custom_attributes": {"plan": "pro"}}),
            json!({"id": "u-2", "email": "bo@example.com", "created_at": "1795939200",
                "custom_attributes": {}}),
        ],
        &settings(),
    );
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    let batch = sent(&http, 0)["batch"].clone();
    assert_eq!(
        batch[0],
        json!({"type": "person", "action": "identify", "identifiers": {"id": "u-1"},
            "attributes": {"plan": "pro"}})
    );
    assert_eq!(
        batch[1]["attributes"],
        json!({"email": "bo@example.com", "created_at": "1795939200"})
    );
}

#[test]
fn an_objects_relationship_attributes_have_their_dates_converted() {
    let http = FakeHttp::new();
    perform(
        &http,
        "createUpdateObject",
        json!({"id": "acme", "user_id": "u-1", "custom_attributes": {"since": "2026-11-29"},
            "relationship_attributes": {"joined": "2026-11-29T08:00:00Z", "role": "admin"},
            "convert_timestamp": true}),
    )
    .unwrap();
    let body = sent(&http, 0);
    assert_eq!(
        body["cio_relationships"],
        json!([{"identifiers": {"id": "u-1"},
            "relationship_attributes": {"joined": 1795939200, "role": "admin"}}])
    );
    assert_eq!(body["attributes"], json!({"since": 1795910400}));
    // Not converted when the mapping says not to.
    perform(
        &http,
        "createUpdateObject",
        json!({"id": "acme", "user_id": "u-1",
            "relationship_attributes": {"joined": "2026-11-29T08:00:00Z"},
            "convert_timestamp": false}),
    )
    .unwrap();
    assert_eq!(
        sent(&http, 1)["cio_relationships"][0]["relationship_attributes"],
        json!({"joined": "2026-11-29T08:00:00Z"})
    );
}
