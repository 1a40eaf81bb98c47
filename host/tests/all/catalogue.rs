//! The launch catalogue end to end: bundled destination plugins behind `switchyard serve`,
//! configured as the examples ship, sending to a real mock of the vendor's API.

use crate::mock::{Mock, Received, Reply};
use crate::serve::reqwest_like::Client;
use crate::serve::{start_server_with, stop};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

async fn wait_for(mock: &Mock, n: usize) -> Vec<Received> {
    let started = Instant::now();
    loop {
        let got = mock.received();
        if got.len() >= n {
            // Anything more would be a request that should not have been made.
            tokio::time::sleep(Duration::from_millis(1500)).await;
            return mock.received();
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{} of {n} requests arrived: {got:?}",
            got.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A server config in `dir`: ingest on a free port, source `web` (write key `web-key`), and
/// `destination` (TOML from its `[[destinations]]` line, settings and subscriptions included)
/// with every request redirected to the mock.
fn write_config(dir: &Path, mock: &Mock, destination: &str) -> PathBuf {
    let redirect = format!("redirect_outbound = \"{}\"\n", mock.url(""));
    let destination = destination.replacen("\n  [", &format!("\n{redirect}  ["), 1);
    let text = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\nadmin_listen = \"127.0.0.1:0\"\ndata_dir = \"{}\"\n\n\
         [[sources]]\nname = \"web\"\nwrite_key = \"web-key\"\n{destination}",
        dir.join("data").display()
    );
    let path = dir.join("switchyard.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// A running server with one destination (see [`write_config`]) in front of a mock vendor.
struct Setup {
    mock: Mock,
    server: tokio::process::Child,
    client: Client,
    dir: tempfile::TempDir,
}

impl Setup {
    async fn start(destination: &str, env: &[(&str, &str)]) -> Setup {
        let mock = Mock::start().await;
        let dir = tempfile::tempdir().unwrap();
        let config = write_config(dir.path(), &mock, destination);
        let (server, address) = start_server_with(&config, env).await;
        Setup {
            mock,
            server,
            client: Client::new(&address),
            dir,
        }
    }
}

fn sha256(v: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(v.as_bytes()))
}

/// `time` is the server's receivedAt as Braze wants it (UTC, milliseconds); it is checked and
/// taken out so the rest can be compared whole.
fn without_time(mut object: Value) -> Value {
    let time = object["time"].as_str().expect("a time").to_string();
    assert!(
        time.len() == 24 && time.ends_with('Z') && time.as_bytes()[19] == b'.',
        "{time}"
    );
    object.as_object_mut().unwrap().remove("time");
    object
}

/// Fly Inc.: "Trip Booked" becomes Braze purchases (one per trip) and views of the pricing
/// page become the custom event "Viewed Pricing", by `examples/fly-inc.toml` alone.
#[tokio::test(flavor = "multi_thread")]
async fn fly_inc_bookings_and_pricing_views_reach_braze() {
    let mock = Mock::start().await;
    let dir = tempfile::tempdir().unwrap();
    let example = include_str!("../../../examples/fly-inc.toml");
    let text = example
        .replace(
            "listen = \"127.0.0.1:8088\"",
            "listen = \"127.0.0.1:0\"\nadmin_listen = \"127.0.0.1:0\"",
        )
        .replace(
            "data_dir = \"./switchyard-data\"",
            &format!("data_dir = \"{}\"", dir.path().join("data").display()),
        )
        .replace(
            "plugin = \"braze\"\n",
            &format!(
                "plugin = \"braze\"\nredirect_outbound = \"{}\"\n",
                mock.url("")
            ),
        );
    assert_ne!(text, example);
    let config = dir.path().join("fly-inc.toml");
    std::fs::write(&config, text).unwrap();
    let (mut server, address) = start_server_with(
        &config,
        &[
            ("FLY_INC_WRITE_KEY", "fly-key"),
            ("BRAZE_API_KEY", "braze-secret-1"),
        ],
    )
    .await;
    let client = Client::new(&address);

    let booking = json!({"type": "track", "event": "Trip Booked", "userId": "traveller-7",
        "messageId": "m-booking", "timestamp": "2026-11-29T08:00:00Z",
        "context": {"traits": {"email": "ana@example.com"}},
        "properties": {"booking_id": "BK-1001", "total": 438.0,
            "trips": [
                {"route": "JFK-LIS", "fare": 389.0, "currency": "EUR", "seats": 1,
                 "fare_class": "economy"},
                {"route": "LIS-OPO", "fare": 49.0, "currency": "EUR", "seats": 1,
                 "fare_class": "basic"}]}});
    let pricing = json!({"type": "page", "name": "Pricing", "userId": "traveller-7",
        "messageId": "m-pricing", "properties": {"path": "/pricing", "plan_shown": "flex"}});
    let other_page = json!({"type": "page", "name": "Home", "userId": "traveller-7",
        "messageId": "m-home", "properties": {"path": "/"}});
    let search = json!({"type": "track", "event": "Flights Searched", "userId": "traveller-7",
        "messageId": "m-search", "properties": {"route": "JFK-LIS"}});
    for (path, event) in [
        ("/v1/track", booking),
        ("/v1/page", pricing),
        ("/v1/page", other_page),
        ("/v1/track", search),
    ] {
        let (status, body) = client.post(path, Some("fly-key"), event).await;
        assert_eq!(status, 200, "{body}");
    }

    let got = wait_for(&mock, 2).await;
    assert_eq!(
        got.len(),
        2,
        "only the booking and the pricing view: {got:?}"
    );
    for request in &got {
        assert_eq!(request.method, "POST");
        assert_eq!(request.path, "/users/track");
        assert_eq!(
            request.header("x-switchyard-original-host"),
            Some("rest.iad-01.braze.com")
        );
        assert_eq!(
            request.header("authorization"),
            Some("Bearer braze-secret-1")
        );
        assert_eq!(request.header("content-type"), Some("application/json"));
    }
    let body = |key: &str| {
        got.iter()
            .map(Received::json)
            .find(|b| b.get(key).is_some())
            .unwrap_or_else(|| panic!("no request with {key}: {got:?}"))
    };

    let purchases = body("purchases");
    let purchases: Vec<Value> = purchases["purchases"]
        .as_array()
        .unwrap()
        .iter()
        .cloned()
        .map(without_time)
        .collect();
    let shared = json!({"booking_id": "BK-1001", "total": 438.0});
    assert_eq!(
        purchases,
        [
            json!({"external_id": "traveller-7", "product_id": "JFK-LIS", "price": 389.0,
                "currency": "EUR", "quantity": 1, "_update_existing_only": false,
                "properties": {"fare_class": "economy", "booking_id": shared["booking_id"],
                    "total": shared["total"]}}),
            json!({"external_id": "traveller-7", "product_id": "LIS-OPO", "price": 49.0,
                "currency": "EUR", "quantity": 1, "_update_existing_only": false,
                "properties": {"fare_class": "basic", "booking_id": shared["booking_id"],
                    "total": shared["total"]}}),
        ]
    );
    let purchase_request = got
        .iter()
        .find(|r| r.json().get("purchases").is_some())
        .unwrap();
    assert_eq!(purchase_request.header("x-braze-batch"), Some("true"));

    let events = body("events");
    let events = events["events"].as_array().unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(
        without_time(events[0].clone()),
        json!({"external_id": "traveller-7", "name": "Viewed Pricing",
            "properties": {"path": "/pricing", "plan_shown": "flex"},
            "_update_existing_only": false})
    );
    stop(&mut server).await;
}

/// A Braze destination configured with nothing but its settings gets Segment's presets:
/// identifies update profiles, ecommerce events become Braze's recommended events, other
/// tracks custom events.
#[tokio::test(flavor = "multi_thread")]
async fn braze_presets_route_each_kind_of_event() {
    let Setup {
        mock,
        mut server,
        client,
        dir: _dir,
    } = Setup::start(
        r#"
[[destinations]]
name = "braze"
plugin = "braze"
  [destinations.settings]
  api_key = "braze-secret-2"
  endpoint = "https://rest.fra-02.braze.eu"
"#,
        &[],
    )
    .await;
    let events = [
        (
            "/v1/identify",
            json!({"type": "identify", "userId": "u-1", "messageId": "m-1",
                "traits": {"email": "ann@example.com", "firstName": "Ann", "plan": "pro"}}),
        ),
        (
            "/v1/track",
            json!({"type": "track", "event": "Order Completed", "userId": "u-1",
                "messageId": "m-2", "timestamp": "2026-11-29T08:00:00Z",
                "properties": {"order_id": "o-1", "total": 30, "currency": "EUR",
                    "source": "web", "products": [{"product_id": "p-1", "name": "Mug",
                        "variant": "blue", "quantity": 2, "price": 15}]}}),
        ),
        (
            "/v1/track",
            json!({"type": "track", "event": "Product Added", "userId": "u-1",
                "messageId": "m-3", "timestamp": "2026-11-29T07:59:00Z",
                "properties": {"cart_id": "c-1", "product_id": "p-1", "name": "Mug",
                    "variant": "blue", "quantity": 1, "price": 15, "currency": "EUR",
                    "source": "web"}}),
        ),
        (
            "/v1/track",
            json!({"type": "track", "event": "Flights Searched", "userId": "u-1",
                "messageId": "m-4", "properties": {"route": "JFK-LIS"}}),
        ),
    ];
    for (path, event) in events {
        let (status, body) = client.post(path, Some("web-key"), event).await;
        assert_eq!(status, 200, "{body}");
    }
    let got = wait_for(&mock, 4).await;
    assert_eq!(got.len(), 4, "{got:?}");
    let bodies: Vec<Value> = got.iter().map(Received::json).collect();
    for request in &got {
        assert_eq!(request.path, "/users/track");
        assert_eq!(
            request.header("x-switchyard-original-host"),
            Some("rest.fra-02.braze.eu")
        );
        assert_eq!(
            request.header("authorization"),
            Some("Bearer braze-secret-2")
        );
    }
    let find = |f: &dyn Fn(&Value) -> bool| {
        bodies
            .iter()
            .find(|b| f(b))
            .unwrap_or_else(|| panic!("{bodies:?}"))
            .clone()
    };
    let profile = find(&|b| b.get("attributes").is_some());
    assert_eq!(
        profile["attributes"][0],
        json!({"external_id": "u-1", "email": "ann@example.com", "first_name": "Ann",
            "plan": "pro", "_update_existing_only": false})
    );
    let event_named = |name: &'static str| {
        find(&move |b: &Value| b["events"][0]["name"] == name)["events"][0].clone()
    };
    let order = event_named("ecommerce.order_placed");
    assert_eq!(order["time"], "2026-11-29T08:00:00.000Z");
    assert_eq!(
        order["properties"],
        json!({"currency": "EUR", "source": "web", "order_id": "o-1", "total_value": 30,
            "products": [{"product_id": "p-1", "product_name": "Mug", "variant_id": "blue",
                "quantity": 2, "price": 15}]})
    );
    let cart = event_named("ecommerce.cart_updated");
    assert_eq!(cart["properties"]["action"], "add");
    assert_eq!(cart["properties"]["cart_id"], "c-1");
    assert_eq!(cart["properties"]["products"][0]["quantity"], 1);
    let search = event_named("Flights Searched");
    assert_eq!(search["properties"], json!({"route": "JFK-LIS"}));
    stop(&mut server).await;
}

/// FullStory with only its API key: the presets send tracks to /v2/events and identifies to
/// /v2/users.
#[tokio::test(flavor = "multi_thread")]
async fn fullstory_presets_send_events_and_users() {
    let Setup {
        mock,
        mut server,
        client,
        dir: _dir,
    } = Setup::start(
        r#"
[[destinations]]
name = "fullstory"
plugin = "fullstory"
  [destinations.settings]
  apiKey = "${FULLSTORY_KEY}"
"#,
        &[("FULLSTORY_KEY", "fs-secret")],
    )
    .await;
    for (path, event) in [
        (
            "/v1/track",
            json!({"type": "track", "event": "Trip Booked", "userId": "u-9",
                "messageId": "m-1", "timestamp": "2026-11-29T08:00:00Z",
                "properties": {"fare-class": "economy"}}),
        ),
        (
            "/v1/identify",
            json!({"type": "identify", "userId": "u-9", "anonymousId": "a-1",
                "messageId": "m-2", "traits": {"name": "Ann", "email": "ann@example.com"}}),
        ),
    ] {
        let (status, body) = client.post(path, Some("web-key"), event).await;
        assert_eq!(status, 200, "{body}");
    }
    let got = wait_for(&mock, 2).await;
    assert_eq!(got.len(), 2, "{got:?}");
    let by_path = |p: &str| {
        got.iter()
            .find(|r| r.path == p)
            .unwrap_or_else(|| panic!("{got:?}"))
    };
    let event = by_path("/v2/events");
    assert_eq!(
        event.header("x-switchyard-original-host"),
        Some("api.fullstory.com")
    );
    assert_eq!(event.header("authorization"), Some("Basic fs-secret"));
    assert_eq!(
        event.json(),
        json!({"name": "Trip Booked", "user": {"uid": "u-9"},
            "timestamp": "2026-11-29T08:00:00.000Z", "properties": {"fareclass": "economy"}})
    );
    assert_eq!(
        by_path("/v2/users").json(),
        json!({"uid": "u-9", "email": "ann@example.com", "display_name": "Ann",
            "properties": {"name": "Ann", "email": "ann@example.com",
                "segmentAnonymousId": "a-1"}})
    );
    stop(&mut server).await;
}

/// Amplitude with its presets: track, "Order Completed", page and identify calls each reach
/// their API; the key travels in the body, never in a header.
#[tokio::test]
async fn amplitude_presets_send_events_purchases_and_identifies() {
    let Setup {
        mock,
        mut server,
        client,
        dir: _dir,
    } = Setup::start(
        r#"
[[destinations]]
name = "amplitude"
plugin = "amplitude"
  [destinations.settings]
  apiKey = "${AMPLITUDE_KEY}"
  secretKey = "${AMPLITUDE_SECRET}"
"#,
        &[
            ("AMPLITUDE_KEY", "amp-key"),
            ("AMPLITUDE_SECRET", "amp-secret"),
        ],
    )
    .await;
    let context = json!({"library": {"name": "analytics.js", "version": "2.1"},
        "userAgent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 \
            (KHTML, like Gecko) Chrome/129.0.0.0 Safari/537.36",
        "page": {"referrer": "https://news.example"}});
    for (path, event) in [
        (
            "/v1/track",
            json!({"type": "track", "event": "Trip Booked", "userId": "user-9",
                "anonymousId": "anon-1", "messageId": "m-1",
                "timestamp": "2026-11-29T08:00:00Z", "properties": {"route": "JFK-LIS"},
                "context": context}),
        ),
        (
            "/v1/track",
            json!({"type": "track", "event": "Order Completed", "userId": "user-9",
                "messageId": "m-2", "timestamp": "2026-11-29T08:01:00Z",
                "properties": {"revenue": 420, "products": [{"productId": "seat", "price": 420}]}}),
        ),
        (
            "/v1/page",
            json!({"type": "page", "name": "Pricing", "userId": "user-9", "messageId": "m-3",
                "timestamp": "2026-11-29T08:02:00Z"}),
        ),
        (
            "/v1/identify",
            json!({"type": "identify", "userId": "user-9", "messageId": "m-4",
                "traits": {"plan": "pro"}}),
        ),
    ] {
        let (status, body) = client.post(path, Some("web-key"), event).await;
        assert_eq!(status, 200, "{body}");
    }
    let got = wait_for(&mock, 4).await;
    assert_eq!(got.len(), 4, "{got:?}");
    for r in &got {
        assert_eq!(r.header("authorization"), None, "{r:?}");
    }
    let events: Vec<Value> = got
        .iter()
        .filter(|r| r.path == "/2/httpapi")
        .map(|r| {
            assert_eq!(
                r.header("x-switchyard-original-host"),
                Some("api2.amplitude.com")
            );
            let body = r.json();
            assert_eq!(body["api_key"], "amp-key");
            body["events"].clone()
        })
        .collect();
    let find = |name: &str| {
        events
            .iter()
            .find(|e| e[0]["event_type"] == name)
            .unwrap_or_else(|| panic!("no {name}: {events:?}"))
    };
    assert_eq!(
        find("Trip Booked")[0],
        json!({"user_id": "user-9", "device_id": "anon-1", "event_type": "Trip Booked",
            "time": 1795939200000_i64, "event_properties": {"route": "JFK-LIS"},
            "user_properties": {"$set": {"referrer": "https://news.example"},
                "$setOnce": {"initial_referrer": "https://news.example"}},
            "platform": "Web", "library": "analytics.js", "ip": "127.0.0.1",
            "os_name": "Mac OS", "os_version": "129", "device_manufacturer": "Apple",
            "device_model": "Macintosh", "use_batch_endpoint": false})
    );
    let order = find("Order Completed");
    assert_eq!(order[0]["revenue"], 420);
    assert_eq!(order[1]["event_type"], "Product Purchased");
    assert_eq!(
        order[1]["event_properties"],
        json!({"productId": "seat", "price": 420})
    );
    assert_eq!(find("Viewed Pricing")[0]["user_id"], "user-9");

    let identify = got
        .iter()
        .find(|r| r.path == "/identify")
        .expect("an identify");
    let form: Vec<(String, String)> = url::form_urlencoded::parse(&identify.body)
        .into_owned()
        .collect();
    assert_eq!(form[0], ("api_key".to_string(), "amp-key".to_string()));
    let identification: Value = serde_json::from_str(&form[1].1).unwrap();
    assert_eq!(
        identification,
        json!({"user_id": "user-9", "user_properties": {"plan": "pro"}, "library": "segment"})
    );
    stop(&mut server).await;
}

/// Google Ads with its OAuth grant: the first conversion fetches an access token, the second
/// reuses it from the destination's kv store (one token request for both), and every upload
/// carries the token and the developer token, with personal data hashed.
#[tokio::test]
async fn google_conversions_share_one_oauth_token_across_events() {
    let Setup {
        mock,
        mut server,
        client,
        dir: _dir,
    } = Setup::start(
        r#"
[[destinations]]
name = "google-ads"
plugin = "google-enhanced-conversions"
  [destinations.settings]
  customerId = "123-456-7890"
  developerToken = "${GOOGLE_DEV_TOKEN}"
  clientId = "client-1"
  clientSecret = "${GOOGLE_CLIENT_SECRET}"
  refreshToken = "${GOOGLE_REFRESH_TOKEN}"

  [[destinations.subscriptions]]
  name = "Bookings are conversions"
  action = "uploadClickConversion"
  trigger = 'type = "track" and event = "Trip Booked"'
    [destinations.subscriptions.mapping]
    conversion_action = 12345
    gclid = { "@path" = "$.properties.gclid" }
    value = { "@path" = "$.properties.total" }
"#,
        &[
            ("GOOGLE_DEV_TOKEN", "dev-token"),
            ("GOOGLE_CLIENT_SECRET", "shh"),
            ("GOOGLE_REFRESH_TOKEN", "refresh-1"),
        ],
    )
    .await;
    // Google's token endpoint and the upload both accept this answer.
    mock.set_fallback(Some(Reply::new(
        200,
        r#"{"access_token": "ya29.mock", "expires_in": 3599}"#,
    )));
    for (n, id) in [(2, "m-1"), (3, "m-2")] {
        let event = json!({"type": "track", "event": "Trip Booked", "userId": "user-9",
            "messageId": id, "timestamp": "2026-11-29T08:00:00Z",
            "properties": {"gclid": format!("gclid-{id}"), "total": 420, "currency": "EUR",
                "email": "Ann@Example.com"}});
        let (status, body) = client.post("/v1/track", Some("web-key"), event).await;
        assert_eq!(status, 200, "{body}");
        // One at a time, so the second event finds the first one's token.
        let got = wait_for(&mock, n).await;
        assert_eq!(got.len(), n, "{got:?}");
    }
    let got = mock.received();
    let paths: Vec<&str> = got.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/oauth2/v4/token",
            "/v22/customers/1234567890:uploadClickConversions",
            "/v22/customers/1234567890:uploadClickConversions",
        ]
    );
    assert_eq!(
        got[0].header("x-switchyard-original-host"),
        Some("www.googleapis.com")
    );
    for upload in &got[1..] {
        assert_eq!(upload.header("authorization"), Some("Bearer ya29.mock"));
        assert_eq!(upload.header("developer-token"), Some("dev-token"));
    }
    assert_eq!(
        got[1].json(),
        json!({"conversions": [{
            "conversionAction": "customers/1234567890/conversionActions/12345",
            "conversionDateTime": "2026-11-29 08:00:00+00:00", "gclid": "gclid-m-1",
            "userIpAddress": "127.0.0.1", "conversionValue": 420, "currencyCode": "EUR",
            "cartData": {"items": []},
            "userIdentifiers": [{"hashedEmail": sha256("ann@example.com")}]}],
            "partialFailure": true})
    );
    stop(&mut server).await;
}

/// TikTok with its token and pixel only: an "Order Completed" goes out through the Complete
/// Payment preset, its products as contents and its personal data hashed.
#[tokio::test(flavor = "multi_thread")]
async fn tiktok_presets_report_a_completed_order() {
    let Setup {
        mock,
        mut server,
        client,
        dir: _dir,
    } = Setup::start(
        r#"
[[destinations]]
name = "tiktok"
plugin = "tiktok-conversions"
  [destinations.settings]
  accessToken = "tt-secret"
  pixelCode = "PIXEL9"
"#,
        &[],
    )
    .await;
    let order = json!({"type": "track", "event": "Order Completed", "userId": "U-7",
        "messageId": "m-order", "timestamp": "2026-11-29T08:00:00Z",
        "context": {"traits": {"email": "Ann@Example.com"}},
        "properties": {"order_id": "o-5", "revenue": 438.0, "currency": "EUR",
            "products": [{"product_id": "JFK-LIS", "name": "Lisbon", "price": 389.0,
                "quantity": 1, "category": "flights"}]}});
    let (status, body) = client.post("/v1/track", Some("web-key"), order).await;
    assert_eq!(status, 200, "{body}");
    let got = wait_for(&mock, 1).await;
    assert_eq!(got.len(), 1, "{got:?}");
    let request = &got[0];
    assert_eq!(request.path, "/open_api/v1.3/event/track/");
    assert_eq!(
        request.header("x-switchyard-original-host"),
        Some("business-api.tiktok.com")
    );
    assert_eq!(request.header("access-token"), Some("tt-secret"));
    let body = request.json();
    assert_eq!(body["event_source_id"], "PIXEL9");
    let data = &body["data"][0];
    assert_eq!(data["event"], "CompletePayment");
    assert_eq!(data["event_id"], "m-order");
    assert_eq!(data["event_time"], 1795939200i64);
    assert_eq!(data["user"]["email"], json!([sha256("ann@example.com")]));
    assert_eq!(data["user"]["external_id"], json!([sha256("u-7")]));
    assert_eq!(
        data["properties"],
        json!({"contents": [{"price": 389.0, "quantity": 1, "content_category": "flights",
                "content_id": "JFK-LIS", "content_name": "Lisbon"}],
            "content_type": "product", "currency": "EUR", "value": 438.0, "order_id": "o-5"})
    );
    stop(&mut server).await;
}

/// GA4: a subscription to `purchase` with the action's default mapping turns an "Order
/// Completed" into a Measurement Protocol purchase event.
#[tokio::test(flavor = "multi_thread")]
async fn google_analytics_4_purchase_with_default_mappings() {
    let Setup {
        mock,
        mut server,
        client,
        dir: _dir,
    } = Setup::start(
        r#"
[[destinations]]
name = "ga4"
plugin = "google-analytics-4"
  [destinations.settings]
  measurementId = "G-FLY1"
  apiSecret = "ga-secret"
  [[destinations.subscriptions]]
  name = "Purchases"
  action = "purchase"
  trigger = 'type = "track" and event = "Order Completed"'
"#,
        &[],
    )
    .await;
    let order = json!({"type": "track", "event": "Order Completed", "userId": "u-3",
        "messageId": "m-ga", "timestamp": "2026-11-29T08:00:00Z",
        "properties": {"order_id": "o-7", "total": 438.0, "tax": 38.0, "currency": "EUR",
            "products": [{"product_id": "JFK-LIS", "name": "Lisbon", "price": 389.0,
                "quantity": 1, "position": 1, "category": "flights"}]}});
    let (status, body) = client.post("/v1/track", Some("web-key"), order).await;
    assert_eq!(status, 200, "{body}");
    let got = wait_for(&mock, 1).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(
        got[0].path,
        "/mp/collect?api_secret=ga-secret&measurement_id=G-FLY1"
    );
    assert_eq!(
        got[0].header("x-switchyard-original-host"),
        Some("www.google-analytics.com")
    );
    assert_eq!(
        got[0].json(),
        json!({"client_id": "u-3", "timestamp_micros": 1795939200000000i64,
            "events": [{"name": "purchase", "params": {"currency": "EUR",
                "transaction_id": "o-7", "value": 438.0, "tax": 38.0,
                "engagement_time_msec": 1,
                "items": [{"item_id": "JFK-LIS", "item_name": "Lisbon", "price": 389.0,
                    "quantity": 1, "index": 1, "item_category": "flights"}]}}]})
    );
    stop(&mut server).await;
}

/// Facebook Conversions API: an "Order Completed" through the purchase action's default
/// mappings, user data hashed, the access token from the settings.
#[tokio::test(flavor = "multi_thread")]
async fn facebook_purchase_with_default_mappings() {
    let Setup {
        mock,
        mut server,
        client,
        dir: _dir,
    } = Setup::start(
        r#"
[[destinations]]
name = "facebook"
plugin = "facebook-conversions-api"
  [destinations.settings]
  pixelId = "778899"
  accessToken = "fb-secret"
  [[destinations.subscriptions]]
  name = "Purchases"
  action = "purchase"
  trigger = 'type = "track" and event = "Order Completed"'
    [destinations.subscriptions.mapping]
    action_source = "website"
"#,
        &[],
    )
    .await;
    let order = json!({"type": "track", "event": "Order Completed", "userId": "u-5",
        "messageId": "m-fb", "timestamp": "2026-11-29T08:00:00Z",
        "context": {"userAgent": "Mozilla/5.0", "traits": {"email": "Ann@Example.com",
            "address": {"state": "California"}}},
        "properties": {"order_id": "o-9", "revenue": 438.0, "currency": "EUR",
            "products": [{"product_id": "JFK-LIS", "price": 389.0, "quantity": 1}]}});
    let (status, body) = client.post("/v1/track", Some("web-key"), order).await;
    assert_eq!(status, 200, "{body}");
    let got = wait_for(&mock, 1).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].path, "/v24.0/778899/events");
    assert_eq!(
        got[0].header("x-switchyard-original-host"),
        Some("graph.facebook.com")
    );
    assert_eq!(got[0].header("authorization"), Some("Bearer fb-secret"));
    let event = &got[0].json()["data"][0];
    assert_eq!(event["event_name"], "Purchase");
    assert_eq!(event["event_id"], "m-fb");
    assert_eq!(
        event["event_time"], "2026-11-29T08:00:00Z",
        "passed through"
    );
    assert_eq!(
        event["user_data"],
        json!({"external_id": [sha256("u-5")], "em": sha256("ann@example.com"), "st": sha256("ca"),
            "client_user_agent": "Mozilla/5.0", "client_ip_address": "127.0.0.1"})
    );
    assert_eq!(
        event["custom_data"],
        json!({"currency": "EUR", "value": 438.0,
            "contents": [{"id": "JFK-LIS", "quantity": 1, "item_price": 389.0}]})
    );
    stop(&mut server).await;
}

/// Customer.io with only its credentials: the presets batch an identify and a track into
/// Customer.io's batch endpoint with Basic auth.
#[tokio::test(flavor = "multi_thread")]
async fn customerio_presets_batch_people_and_events() {
    let Setup {
        mock,
        mut server,
        client,
        dir: _dir,
    } = Setup::start(
        r#"
[[destinations]]
name = "customerio"
plugin = "customerio"
  [destinations.settings]
  siteId = "12345"
  apiKey = "abcde"
"#,
        &[],
    )
    .await;
    for (path, event) in [
        (
            "/v1/identify",
            json!({"type": "identify", "userId": "u-8", "messageId": "m-1",
                "timestamp": "2026-11-29T08:00:00Z",
                "traits": {"email": "ann@example.com", "plan": "pro"}}),
        ),
        (
            "/v1/track",
            json!({"type": "track", "event": "Trip Booked", "userId": "u-8",
                "messageId": "m-2", "timestamp": "2026-11-29T08:00:00Z",
                "properties": {"route": "JFK-LIS"}}),
        ),
    ] {
        let (status, body) = client.post(path, Some("web-key"), event).await;
        assert_eq!(status, 200, "{body}");
    }
    let got = wait_for(&mock, 2).await;
    assert_eq!(got.len(), 2, "{got:?}");
    let entities: Vec<Value> = got
        .iter()
        .inspect(|r| {
            assert_eq!(r.path, "/api/v2/batch");
            assert_eq!(
                r.header("x-switchyard-original-host"),
                Some("track.customer.io")
            );
            assert_eq!(r.header("authorization"), Some("Basic MTIzNDU6YWJjZGU="));
        })
        .flat_map(|r| r.json()["batch"].as_array().unwrap().clone())
        .collect();
    let by_action = |a: &str| {
        entities
            .iter()
            .find(|e| e["action"] == a)
            .unwrap_or_else(|| panic!("{entities:?}"))
            .clone()
    };
    assert_eq!(
        by_action("identify"),
        json!({"type": "person", "action": "identify", "identifiers": {"id": "u-8"},
            "timestamp": 1795939200,
            "attributes": {"email": "ann@example.com", "plan": "pro"}})
    );
    assert_eq!(
        by_action("event"),
        json!({"type": "person", "action": "event", "identifiers": {"id": "u-8"},
            "name": "Trip Booked", "id": "m-2", "timestamp": 1795939200,
            "attributes": {"route": "JFK-LIS"}})
    );
    stop(&mut server).await;
}
