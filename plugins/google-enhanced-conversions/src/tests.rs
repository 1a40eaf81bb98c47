//! Requests checked against the Google Ads API's REST formats (v22) and Google's OAuth token
//! endpoint, and the reference's behaviour.

use crate::plugin;
use serde_json::{Value, json};
use std::time::Duration;
use switchyard_plugin_sdk::hash::sha256_hex as sha256;
use switchyard_plugin_sdk::{Context, Error, FakeHttp, FakeKv, Request, Response, SYNC_MODE};

fn settings() -> Value {
    json!({"customerId": "123-456-7890", "loginCustomerId": "999-888-7777",
        "developerToken": "dev-token", "clientId": "client-1", "clientSecret": "shh",
        "refreshToken": "refresh-1"})
}

fn token(http: &FakeHttp, token: &str) {
    http.respond(Response::new(
        200,
        json!({"access_token": token, "expires_in": 3599, "token_type": "Bearer"}).to_string(),
    ));
}

fn perform(http: &FakeHttp, kv: &FakeKv, action: &str, payload: Value) -> Result<(), Error> {
    plugin().perform(
        &mut Context::fake_with_kv(http, kv),
        action,
        &payload,
        &settings(),
    )
}

fn batch(http: &FakeHttp, kv: &FakeKv, action: &str, payloads: &[Value]) -> Vec<Result<(), Error>> {
    plugin().perform_batch(
        &mut Context::fake_with_kv(http, kv),
        action,
        payloads,
        &settings(),
    )
}

fn form(request: &Request) -> String {
    String::from_utf8(request.body.clone()).unwrap()
}

fn click() -> Value {
    json!({"conversion_action": 12345, "gclid": "gclid-1",
        "conversion_timestamp": "2026-11-29T08:00:00.000Z",
        "email_address": "Ann.Lee@Example.com", "phone_number": "(415) 555-0100",
        "order_id": "o-1", "value": 420.5, "currency": "EUR",
        "user_ip_address": "203.0.113.9",
        "session_attributes_key_value_pairs": {"gad_source": "1",
            "landing_page_url": "https://fly.example/pricing",
            "session_start_time_usec": "2026-11-29T07:59:00.000Z", "gad_campaignid": ""},
        "merchant_id": "m-1", "items": [{"product_id": "seat", "quantity": 2, "price": 210.25}],
        "ad_user_data_consent_state": "GRANTED",
        "enable_batching": false, "batch_size": 1500})
}

#[test]
fn a_click_conversion_refreshes_the_token_and_uploads() {
    let http = FakeHttp::new();
    let kv = FakeKv::new();
    token(&http, "ya29.first");
    perform(&http, &kv, "uploadClickConversion", click()).unwrap();
    let requests = http.requests();
    assert_eq!(requests.len(), 2);

    let refresh = &requests[0];
    assert_eq!(refresh.url, "https://www.googleapis.com/oauth2/v4/token");
    assert_eq!(
        form(refresh),
        "refresh_token=refresh-1&client_id=client-1&client_secret=shh&grant_type=refresh_token"
    );

    let upload = &requests[1];
    assert_eq!(upload.method, "POST");
    assert_eq!(
        upload.url,
        "https://googleads.googleapis.com/v22/customers/1234567890:uploadClickConversions"
    );
    assert_eq!(upload.header("authorization"), Some("Bearer ya29.first"));
    assert_eq!(upload.header("developer-token"), Some("dev-token"));
    assert_eq!(upload.header("login-customer-id"), Some("9998887777"));
    assert_eq!(
        upload.json(),
        json!({"conversions": [{
            "conversionAction": "customers/1234567890/conversionActions/12345",
            "conversionDateTime": "2026-11-29 08:00:00+00:00",
            "gclid": "gclid-1", "userIpAddress": "203.0.113.9",
            "sessionAttributesKeyValuePairs": {"keyValuePairs": [
                {"sessionAttributeKey": "gad_source", "sessionAttributeValue": "1"},
                {"sessionAttributeKey": "landing_page_url",
                    "sessionAttributeValue": "https://fly.example/pricing"},
                {"sessionAttributeKey": "session_start_time_usec",
                    "sessionAttributeValue": "1795939140000000"}]},
            "orderId": "o-1", "conversionValue": 420.5, "currencyCode": "EUR",
            "cartData": {"merchantId": "m-1",
                "items": [{"productId": "seat", "quantity": 2, "unitPrice": 210.25}]},
            "userIdentifiers": [{"hashedEmail": sha256("ann.lee@example.com")},
                {"hashedPhoneNumber": sha256("+14155550100")}],
            "consent": {"adUserData": "GRANTED"}}],
            "partialFailure": true})
    );
}

#[test]
fn the_access_token_is_kept_until_shortly_before_it_expires() {
    let http = FakeHttp::new();
    let kv = FakeKv::new();
    token(&http, "ya29.first");
    perform(&http, &kv, "uploadClickConversion", click()).unwrap();
    perform(&http, &kv, "uploadClickConversion", click()).unwrap();
    let requests = http.requests();
    assert_eq!(requests.len(), 3, "one token request for both events");
    assert_eq!(
        requests[2].header("authorization"),
        Some("Bearer ya29.first")
    );
    let keys = kv.keys();
    assert_eq!(keys.len(), 1);
    assert_eq!(kv.ttl(&keys[0]), Some(Duration::from_secs(3539)));

    // Another refresh token is another grant: it never reuses the first one's token.
    let other = FakeHttp::new();
    token(&other, "ya29.other");
    let mut s = settings();
    s["refreshToken"] = json!("refresh-2");
    plugin()
        .perform(
            &mut Context::fake_with_kv(&other, &kv),
            "uploadClickConversion",
            &click(),
            &s,
        )
        .unwrap();
    assert_eq!(
        other.requests()[1].header("authorization"),
        Some("Bearer ya29.other")
    );
}

#[test]
fn a_refused_token_is_refreshed_once() {
    let http = FakeHttp::new();
    let kv = FakeKv::new();
    token(&http, "ya29.stale");
    http.respond(Response::new(
        401,
        r#"{"error":{"code":401,"status":"UNAUTHENTICATED"}}"#,
    ));
    token(&http, "ya29.fresh");
    perform(&http, &kv, "uploadClickConversion", click()).unwrap();
    let requests = http.requests();
    assert_eq!(requests.len(), 4);
    assert_eq!(
        requests[3].header("authorization"),
        Some("Bearer ya29.fresh")
    );

    // Refused again after a refresh: an authentication error, not a loop.
    let http = FakeHttp::new();
    let kv = FakeKv::new();
    token(&http, "ya29.a");
    http.respond(Response::new(401, "{}"));
    token(&http, "ya29.b");
    http.respond(Response::new(403, r#"{"error":{"message":"no access"}}"#));
    let err = perform(&http, &kv, "uploadClickConversion", click()).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Auth {
                status: Some(403),
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(http.requests().len(), 4);
}

#[test]
fn a_revoked_refresh_token_is_an_authentication_error_naming_the_settings() {
    let http = FakeHttp::new();
    http.respond(Response::new(
        400,
        r#"{"error":"invalid_grant","error_description":"Token has been expired or revoked."}"#,
    ));
    let err = perform(&http, &FakeKv::new(), "uploadClickConversion", click()).unwrap_err();
    assert!(
        matches!(&err, Error::Auth { message, .. }
            if message.contains("invalid_grant: Token has been expired or revoked")
                && message.contains("refreshToken")),
        "{err:?}"
    );
    assert_eq!(http.requests().len(), 1);
}

#[test]
fn custom_variables_are_looked_up_by_name() {
    let http = FakeHttp::new();
    let kv = FakeKv::new();
    token(&http, "ya29.t");
    http.respond(Response::new(
        200,
        json!([{"results": [
            {"conversionCustomVariable": {"resourceName":
                "customers/1234567890/conversionCustomVariables/77", "id": "77",
                "name": "fare_class"}}]}])
        .to_string(),
    ));
    let mut payload = click();
    payload["custom_variables"] = json!({"fare_class": "economy", "unknown": 3});
    perform(&http, &kv, "uploadClickConversion2", payload).unwrap();
    let requests = http.requests();
    assert_eq!(
        requests[1].url,
        "https://googleads.googleapis.com/v22/customers/1234567890/googleAds:searchStream"
    );
    assert!(
        requests[1].json()["query"]
            .as_str()
            .unwrap()
            .contains("FROM conversion_custom_variable")
    );
    assert_eq!(
        requests[2].json()["conversions"][0]["customVariables"],
        json!([{"conversionCustomVariable": "customers/1234567890/conversionCustomVariables/77",
            "value": "economy"}])
    );
}

#[test]
fn a_batch_gets_a_result_per_conversion_from_googles_partial_failures() {
    let http = FakeHttp::new();
    let kv = FakeKv::new();
    token(&http, "ya29.t");
    http.respond(Response::new(
        200,
        json!({"results": [{}, {}, {}], "partialFailureError": {
            "code": 3, "message": "The click was not found.",
            "details": [{"@type": "type.googleapis.com/google.ads.googleads.v22.errors.GoogleAdsFailure",
                "errors": [{"errorCode": {"conversionUploadError": "UNPARSEABLE_GCLID"},
                    "message": "The click was not found.",
                    "location": {"fieldPathElements": [
                        {"fieldName": "conversions", "index": 1},
                        {"fieldName": "gclid"}]}}]}]}})
        .to_string(),
    ));
    let mut bad_email = click();
    bad_email["email_address"] = json!("not an email");
    let mut unknown_click = click();
    unknown_click["gclid"] = json!("nope");
    let results = batch(
        &http,
        &kv,
        "uploadClickConversion",
        &[click(), bad_email, unknown_click, click()],
    );
    assert_eq!(results.len(), 4);
    assert!(results[0].is_ok() && results[3].is_ok(), "{results:?}");
    assert!(
        matches!(&results[1], Err(Error::InvalidPayload(m)) if m.contains("valid format")),
        "{results:?}"
    );
    assert!(
        matches!(&results[2], Err(Error::Permanent { status: Some(400), message })
            if message == "The click was not found."),
        "{results:?}"
    );
    let sent = http.requests()[1].json();
    let gclids: Vec<&str> = sent["conversions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["gclid"].as_str().unwrap())
        .collect();
    assert_eq!(
        gclids,
        ["gclid-1", "nope", "gclid-1"],
        "the invalid one is not sent"
    );
}

#[test]
fn a_call_conversion() {
    for action in ["uploadCallConversion", "uploadCallConversion2"] {
        let http = FakeHttp::new();
        let kv = FakeKv::new();
        token(&http, "ya29.t");
        perform(
            &http,
            &kv,
            action,
            json!({"conversion_action": 777, "caller_id": "+16502531234",
                "call_timestamp": "2026-11-29T07:50:00-08:00",
                "conversion_timestamp": "2026-11-29T08:00:00Z", "value": 99, "currency": "USD",
                "ad_personalization_consent_state": "DENIED"}),
        )
        .unwrap();
        let upload = &http.requests()[1];
        assert_eq!(
            upload.url,
            "https://googleads.googleapis.com/v22/customers/1234567890:uploadCallConversions"
        );
        assert_eq!(
            upload.json(),
            json!({"conversions": [{
                "conversionAction": "customers/1234567890/conversionActions/777",
                "callerId": "+16502531234", "callStartDateTime": "2026-11-29 07:50:00-08:00",
                "conversionDateTime": "2026-11-29 08:00:00+00:00", "conversionValue": 99,
                "currencyCode": "USD", "consent": {"adPersonalization": "DENIED"}}],
                "partialFailure": true}),
            "{action}"
        );
    }
}

#[test]
fn conversion_adjustments_restate_retract_and_enhance() {
    let http = FakeHttp::new();
    let kv = FakeKv::new();
    token(&http, "ya29.t");
    perform(
        &http,
        &kv,
        "uploadConversionAdjustment",
        json!({"conversion_action": 12345, "adjustment_type": "ENHANCEMENT",
            "adjustment_timestamp": "2026-11-29T09:00:00Z", "order_id": "o-1",
            "gclid": "gclid-1", "conversion_timestamp": "2026-11-29T08:00:00Z",
            "email_address": "ann@example.com", "first_name": " Ann ", "last_name": "Lee",
            "street_address": "1 Main St", "city": "Lisbon", "country": "PT",
            "postal_code": "1100", "user_agent": "Mozilla/5.0",
            "restatement_value": 10, "restatement_currency_code": "EUR"}),
    )
    .unwrap();
    perform(
        &http,
        &kv,
        "uploadConversionAdjustment2",
        json!({"conversion_action": 12345, "adjustment_type": "RETRACTION",
            "order_id": "o-2", "restatement_value": 10}),
    )
    .unwrap();
    let requests = http.requests();
    assert_eq!(
        requests[1].url,
        "https://googleads.googleapis.com/v22/customers/1234567890:uploadConversionAdjustments"
    );
    assert_eq!(
        requests[1].json(),
        json!({"conversionAdjustments": [{
            "conversionAction": "customers/1234567890/conversionActions/12345",
            "adjustmentType": "ENHANCEMENT", "adjustmentDateTime": "2026-11-29 09:00:00+00:00",
            "orderId": "o-1",
            "gclidDateTimePair": {"gclid": "gclid-1",
                "conversionDateTime": "2026-11-29 08:00:00+00:00"},
            "userIdentifiers": [{"hashedEmail": sha256("ann@example.com")},
                {"addressInfo": {"hashedFirstName": sha256("ann"),
                    "hashedLastName": sha256("lee"), "hashedStreetAddress": sha256("1 main st"),
                    "city": "Lisbon", "countryCode": "PT", "postalCode": "1100"}}],
            "userAgent": "Mozilla/5.0",
            "restatementValue": {"adjustedValue": 10, "currencyCode": "EUR"}}],
            "partialFailure": true})
    );
    let retraction = &requests[2].json()["conversionAdjustments"][0];
    assert_eq!(retraction.get("restatementValue"), None);
    let when = retraction["adjustmentDateTime"].as_str().unwrap();
    assert!(
        when.len() == 25 && when.ends_with("+00:00") && when.as_bytes()[10] == b' ',
        "now, in Google's format: {when}"
    );

    let err = perform(
        &http,
        &kv,
        "uploadConversionAdjustment",
        json!({"conversion_action": 1, "adjustment_type": "RETRACTION"}),
    )
    .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidPayload(m) if m.contains("order_id")),
        "{err:?}"
    );
    assert_eq!(http.requests().len(), 3);
}

#[test]
fn a_click_conversion_without_identifiers_is_sent_as_segment_sends_it() {
    // Session attributes stand in for the click ids; Google judges the conversion.
    let http = FakeHttp::new();
    let kv = FakeKv::new();
    token(&http, "ya29.t");
    http.respond(Response::new(200, json!({"results": [{}]}).to_string()));
    perform(
        &http,
        &kv,
        "uploadClickConversion2",
        json!({"conversion_action": 1, "conversion_timestamp": "2026-11-29T08:00:00Z",
            "session_attributes_encoded": "eyJ4IjoxfQ"}),
    )
    .unwrap();
    let sent = http.requests()[1].json();
    assert_eq!(
        sent["conversions"].as_array().map(Vec::len),
        Some(1),
        "{sent}"
    );
}

#[test]
fn missing_settings_are_refused_before_sending() {
    let http = FakeHttp::new();
    let kv = FakeKv::new();
    let mut s = settings();
    s["customerId"] = json!("");
    let err = plugin()
        .perform(
            &mut Context::fake_with_kv(&http, &kv),
            "uploadCallConversion",
            &json!({"conversion_action": 1, "caller_id": "+1", "call_timestamp": "x",
                "conversion_timestamp": "y"}),
            &s,
        )
        .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidSettings(m) if m.contains("Customer ID is required")),
        "{err:?}"
    );
    assert!(http.requests().is_empty());
}

#[test]
fn google_errors_become_typed_errors() {
    let http = FakeHttp::new();
    let kv = FakeKv::new();
    token(&http, "ya29.t");
    http.respond(Response::new(
        503,
        r#"{"error":{"code":503,"status":"UNAVAILABLE"}}"#,
    ));
    http.respond(
        Response::new(
            429,
            r#"{"error":{"code":429,"status":"RESOURCE_EXHAUSTED"}}"#,
        )
        .with_header("retry-after", "20"),
    );
    http.respond(Response::new(
        200,
        r#"{"partialFailureError":{"code":3,"message":"Invalid conversion action."}}"#,
    ));
    let down = perform(&http, &kv, "uploadClickConversion", click()).unwrap_err();
    assert!(
        matches!(
            down,
            Error::Retryable {
                status: Some(503),
                ..
            }
        ),
        "{down:?}"
    );
    let throttled = perform(&http, &kv, "uploadClickConversion", click()).unwrap_err();
    assert!(
        matches!(throttled, Error::RateLimited { retry_after: Some(d), .. } if d.as_secs() == 20),
        "{throttled:?}"
    );
    let refused = perform(&http, &kv, "uploadClickConversion", click()).unwrap_err();
    assert!(
        matches!(&refused, Error::Permanent { status: Some(400), message }
            if message == "Invalid conversion action."),
        "{refused:?}"
    );
}

fn member(email: &str, event: &str) -> Value {
    json!({"email": email, "phone": "4155550100", "first_name": "Ann", "last_name": "Lee",
        "country_code": "US", "postal_code": "94107",
        "ad_user_data_consent_state": "GRANTED", "ad_personalization_consent_state": "GRANTED",
        "external_audience_id": "555", "event_name": event, "external_id_type": "CONTACT_INFO",
        "__segment_internal_sync_mode": "mirror", "enable_batching": true,
        "batch_size": 10000})
}

#[test]
fn a_user_list_job_is_created_filled_and_run() {
    let http = FakeHttp::new();
    let kv = FakeKv::new();
    token(&http, "ya29.t");
    http.respond(Response::new(
        200,
        r#"{"resourceName":"customers/1234567890/offlineUserDataJobs/42"}"#,
    ));
    perform(
        &http,
        &kv,
        "userList",
        member("Ann@Example.com", "Audience Entered"),
    )
    .unwrap();
    let requests = http.requests();
    assert_eq!(requests.len(), 4);
    assert_eq!(
        requests[1].url,
        "https://googleads.googleapis.com/v22/customers/1234567890/offlineUserDataJobs:create"
    );
    assert_eq!(
        requests[1].json(),
        json!({"job": {"type": "CUSTOMER_MATCH_USER_LIST", "customerMatchUserListMetadata": {
            "userList": "customers/1234567890/userLists/555",
            "consent": {"adUserData": "GRANTED", "adPersonalization": "GRANTED"}}}})
    );
    assert_eq!(
        requests[2].url,
        "https://googleads.googleapis.com/v22/customers/1234567890/offlineUserDataJobs/42:addOperations"
    );
    assert_eq!(
        requests[2].json(),
        json!({"operations": [{"create": {"userIdentifiers": [
            {"hashedEmail": sha256("ann@example.com")},
            {"hashedPhoneNumber": sha256("+14155550100")},
            {"addressInfo": {"hashedFirstName": sha256("ann"), "hashedLastName": sha256("lee"),
                "countryCode": "US", "postalCode": "94107"}}]}}],
            "enable_warnings": true})
    );
    assert_eq!(
        requests[3].url,
        "https://googleads.googleapis.com/v22/customers/1234567890/offlineUserDataJobs/42:run"
    );
    assert!(requests[3].body.is_empty());
}

#[test]
fn a_user_list_batch_removes_leavers_and_reports_each_member() {
    let http = FakeHttp::new();
    let kv = FakeKv::new();
    token(&http, "ya29.t");
    http.respond(Response::new(
        200,
        r#"{"resourceName":"customers/1234567890/offlineUserDataJobs/43"}"#,
    ));
    http.respond(Response::new(
        200,
        json!({"partialFailureError": {"code": 3, "message": "1 operation failed",
            "details": [{"errors": [{"message": "Invalid phone number.",
                "location": {"fieldPathElements": [{"fieldName": "operations", "index": 1}]}}]}]}})
        .to_string(),
    ));
    let mut crm = member("x@example.com", "Audience Entered");
    crm["external_id_type"] = json!("CRM_ID");
    let results = batch(
        &http,
        &kv,
        "userList",
        &[
            member("ann@example.com", "Audience Entered"),
            member("bob@example.com", "Audience Exited"),
            crm,
        ],
    );
    assert!(results[0].is_ok(), "{results:?}");
    assert!(
        matches!(&results[1], Err(Error::Permanent { status: Some(400), message })
            if message == "Invalid phone number."),
        "{results:?}"
    );
    assert!(
        matches!(&results[2], Err(Error::InvalidPayload(m)) if m.contains("crm_id is required")),
        "{results:?}"
    );
    let requests = http.requests();
    let ops = requests[2].json();
    assert!(ops["operations"][0].get("create").is_some());
    assert!(ops["operations"][1].get("remove").is_some());
    assert_eq!(ops["enablePartialFailure"], true);
    assert_eq!(
        requests.len(),
        4,
        "the job still runs for the member that was accepted"
    );
}

#[test]
fn concurrent_modification_of_a_user_list_retries() {
    let http = FakeHttp::new();
    let kv = FakeKv::new();
    token(&http, "ya29.t");
    http.respond(Response::new(
        400,
        r#"{"error":{"code":400,"details":[{"errors":[{"errorCode":{"databaseError":"CONCURRENT_MODIFICATION"}}]}]}}"#,
    ));
    let err = perform(
        &http,
        &kv,
        "userList",
        member("ann@example.com", "Audience Entered"),
    )
    .unwrap_err();
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
fn a_user_lists_sync_mode_add_or_delete_overrides_the_event_name() {
    let http = FakeHttp::new();
    let kv = FakeKv::new();
    token(&http, "ya29.t");
    http.respond(Response::new(
        200,
        r#"{"resourceName":"customers/1234567890/offlineUserDataJobs/44"}"#,
    ));
    let mut deleted = member("ann@example.com", "Audience Entered");
    deleted[SYNC_MODE] = json!("delete");
    let mut added = member("bob@example.com", "Audience Exited");
    added[SYNC_MODE] = json!("add");
    let results = batch(&http, &kv, "userList", &[deleted, added]);
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    let ops = http.requests()[2].json();
    assert!(ops["operations"][0].get("remove").is_some(), "{ops}");
    assert!(ops["operations"][1].get("create").is_some(), "{ops}");
}

mod identities {
    use crate::actions::identity::*;
    use switchyard_plugin_sdk::Error;
    use switchyard_plugin_sdk::hash::sha256_hex;

    #[test]
    fn emails_are_normalised_checked_and_hashed() {
        assert_eq!(
            email(" Ann.Lee@Example.COM ").unwrap(),
            sha256_hex("ann.lee@example.com")
        );
        assert_eq!(
            email("ann.m.lee@gmail.com").unwrap(),
            sha256_hex("annm.lee@gmail.com"),
            "only the first dot goes, as in the reference"
        );
        let digest = sha256_hex("x@example.com");
        assert_eq!(email(&digest).unwrap(), digest);
        for bad in [
            "not-an-email",
            "a@b@c.com",
            "a b@example.com",
            "a@-x.com",
            "@x.com",
        ] {
            assert!(
                matches!(email(bad), Err(Error::InvalidPayload(m)) if m.contains("valid format")),
                "{bad}"
            );
        }
    }

    #[test]
    fn phones_get_their_country_code() {
        assert_eq!(phone("(415) 555-0100", None), sha256_hex("+14155550100"));
        assert_eq!(phone("+1 415 555 0100", None), sha256_hex("+14155550100"));
        assert_eq!(
            phone("7700 900123", Some("+44")),
            sha256_hex("+447700900123")
        );
        assert_eq!(
            phone("447700900123", Some("44")),
            sha256_hex("+447700900123")
        );
        let digest = sha256_hex("+14155550100");
        assert_eq!(phone(&digest, None), digest);
    }

    #[test]
    fn times_take_googles_format() {
        assert_eq!(
            google_time("2021-06-10T18:08:04.000Z"),
            "2021-06-10 18:08:04+00:00"
        );
        assert_eq!(
            google_time("2021-06-10T18:08:04Z"),
            "2021-06-10 18:08:04+00:00"
        );
        assert_eq!(
            google_time("2021-06-10T18:08:04-07:00"),
            "2021-06-10 18:08:04-07:00"
        );
        assert_eq!(
            google_time("2021-06-10 18:08:04+02:00"),
            "2021-06-10 18:08:04+02:00"
        );
    }
}

#[test]
fn the_v2_actions_take_segments_sync_mode_and_refuse_one_they_do_not_support() {
    // Declared, so a migrated mapping that carries it loads.
    let manifest = plugin();
    for id in [
        "uploadClickConversion2",
        "uploadCallConversion2",
        "uploadConversionAdjustment2",
    ] {
        assert!(
            manifest.find_action(id).unwrap().has_field(SYNC_MODE),
            "{id}"
        );
    }
    let http = FakeHttp::new();
    let kv = FakeKv::new();
    token(&http, "ya29.t");
    http.respond(Response::new(200, json!({"results": [{}]}).to_string()));
    let mut payload = click();
    payload[SYNC_MODE] = json!("add");
    perform(&http, &kv, "uploadClickConversion2", payload.clone()).unwrap();
    let sent = http.requests()[1].json();
    assert!(!sent.to_string().contains(SYNC_MODE), "{sent}");
    payload[SYNC_MODE] = json!("upsert");
    let err = perform(&http, &kv, "uploadClickConversion2", payload).unwrap_err();
    assert!(
        matches!(&err, Error::InvalidPayload(m) if m == "Unsupported Sync Mode \"upsert\""),
        "{err:?}"
    );
    assert_eq!(
        http.requests().len(),
        2,
        "nothing sent for the refused mode"
    );
}

fn run_list_hook(http: &FakeHttp, kv: &FakeKv, inputs: Value) -> Result<Value, Error> {
    plugin()
        .run_hook(
            &mut Context::fake_with_kv(http, kv),
            "userList",
            "retlOnMappingSave",
            &inputs,
            &settings(),
        )
        .map(Value::Object)
}

#[test]
fn the_user_list_hook_creates_a_list_and_answers_its_id() {
    let http = FakeHttp::new();
    let kv = FakeKv::new();
    token(&http, "ya29.t");
    http.respond(Response::new(
        200,
        r#"{"results":[{"resourceName":"customers/1234567890/userLists/8675309"}]}"#,
    ));
    let outputs = run_list_hook(
        &http,
        &kv,
        json!({"list_name": "Trip Bookers", "external_id_type": "CRM_ID"}),
    )
    .unwrap();
    assert_eq!(
        outputs,
        json!({"id": "8675309", "name": "Trip Bookers", "external_id_type": "CRM_ID"})
    );
    let requests = http.requests();
    assert_eq!(
        requests[1].url,
        "https://googleads.googleapis.com/v22/customers/1234567890/userLists:mutate"
    );
    assert_eq!(requests[1].header("developer-token"), Some("dev-token"));
    assert_eq!(
        requests[1].json(),
        json!({"operations": [{"create": {"crmBasedUserList": {"uploadKeyType": "CRM_ID"},
            "membershipLifeSpan": "540", "name": "Trip Bookers"}}]})
    );
}

#[test]
fn the_user_list_hook_checks_an_existing_list_and_refuses_what_is_not_an_id() {
    let http = FakeHttp::new();
    let kv = FakeKv::new();
    token(&http, "ya29.t");
    http.respond(Response::new(
        200,
        r#"{"results":[{"userList":{"resourceName":"customers/1234567890/userLists/555","id":"555","name":"Buyers"}}]}"#,
    ));
    let outputs = run_list_hook(&http, &kv, json!({"list_id": "555"})).unwrap();
    assert_eq!(
        outputs,
        json!({"id": "555", "name": "Buyers", "external_id_type": "CONTACT_INFO"})
    );
    assert_eq!(
        http.requests()[1].json(),
        json!({"query": "SELECT user_list.id, user_list.name FROM user_list where user_list.id = '555'"})
    );
    let injected = run_list_hook(&http, &kv, json!({"list_id": "1' or '1'='1"}));
    assert!(
        matches!(injected, Err(Error::InvalidPayload(_))),
        "{injected:?}"
    );
    let no_app = run_list_hook(
        &http,
        &kv,
        json!({"list_name": "Phones", "external_id_type": "MOBILE_ADVERTISING_ID"}),
    );
    assert_eq!(
        no_app,
        Err(Error::invalid_payload(
            "App ID is required when external ID type is mobile advertising ID."
        ))
    );
    assert_eq!(http.requests().len(), 2);
}

#[test]
fn the_user_list_hooks_outputs_choose_the_list_and_its_kind_of_ids() {
    let http = FakeHttp::new();
    let kv = FakeKv::new();
    token(&http, "ya29.t");
    http.respond(Response::new(
        200,
        r#"{"resourceName":"customers/1234567890/offlineUserDataJobs/42"}"#,
    ));
    let mut payload = member("Ann@Example.com", "Audience Entered");
    payload["crm_id"] = json!("crm-7");
    payload["retlOnMappingSave"] = json!({"inputs": {"list_name": "Trip Bookers"},
        "outputs": {"id": "8675309", "name": "Trip Bookers", "external_id_type": "CRM_ID"}});
    perform(&http, &kv, "userList", payload).unwrap();
    let requests = http.requests();
    assert_eq!(
        requests[1].json()["job"]["customerMatchUserListMetadata"]["userList"],
        json!("customers/1234567890/userLists/8675309")
    );
    assert_eq!(
        requests[2].json()["operations"],
        json!([{"create": {"userIdentifiers": [{"thirdPartyUserId": "crm-7"}]}}])
    );
}

#[test]
fn a_click_conversion_without_cart_data_sends_an_empty_cart_as_segment_does() {
    let http = FakeHttp::new();
    let kv = FakeKv::new();
    token(&http, "ya29.t");
    http.respond(Response::new(200, r#"{"results":[{}]}"#));
    perform(
        &http,
        &kv,
        "uploadClickConversion",
        json!({"conversion_action": 12345, "gclid": "gclid-1",
            "conversion_timestamp": "2026-11-29T08:00:00.000Z"}),
    )
    .unwrap();
    let conversion = &http.requests()[1].json()["conversions"][0];
    assert_eq!(conversion["cartData"], json!({"items": []}));
}
