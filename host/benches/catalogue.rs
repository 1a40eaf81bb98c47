//! Events per second through each launch-catalogue plugin in dry run: the trigger and the
//! mapping (the action's default mappings), a fresh sandboxed instance, and the plugin building
//! its request, which the host captures instead of sending. Single events, and for the actions
//! that batch, one batch of 75 (reported per event).
//!
//! `cargo bench -p switchyard --bench catalogue`

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use switchyard::config::Config;
use switchyard::routes::Routes;
use switchyard::runtime::{CannedResponse, InvokeOptions, Mode, NetPolicy, Responder, Runtime};

/// (destination, plugin, settings TOML, action, extra mapping TOML).
const DESTINATIONS: &[(&str, &str, &str, &str, &str)] = &[
    (
        "amplitude",
        "amplitude",
        "apiKey = \"k\"\nsecretKey = \"s\"",
        "logEventV2",
        "",
    ),
    ("braze-event", "braze", "api_key = \"k\"", "trackEvent", ""),
    (
        "braze-purchase",
        "braze",
        "api_key = \"k\"",
        "trackPurchase",
        "",
    ),
    (
        "braze-ecommerce",
        "braze",
        "api_key = \"k\"",
        "ecommerce",
        "name = \"ecommerce.order_placed\"\nsource = \"web\"",
    ),
    (
        "fullstory",
        "fullstory",
        "apiKey = \"k\"",
        "trackEventV2",
        "",
    ),
    (
        "customerio",
        "customerio",
        "siteId = \"s\"\napiKey = \"k\"",
        "trackEvent",
        "",
    ),
    (
        "tiktok",
        "tiktok-conversions",
        "accessToken = \"k\"\npixelCode = \"P1\"",
        "reportWebEvent",
        "event = \"CompletePayment\"",
    ),
    (
        "ga4",
        "google-analytics-4",
        "measurementId = \"G-1\"\napiSecret = \"k\"",
        "purchase",
        "",
    ),
    (
        "facebook",
        "facebook-conversions-api",
        "pixelId = \"1\"\naccessToken = \"k\"",
        "purchase",
        "action_source = \"website\"",
    ),
    (
        "google-ads",
        "google-enhanced-conversions",
        "customerId = \"123-456-7890\"\ndeveloperToken = \"d\"\nclientId = \"c\"\n\
         clientSecret = \"s\"\nrefreshToken = \"r\"",
        "uploadClickConversion",
        "conversion_action = 12345\ngclid = \"g-1\"\nenable_batching = true",
    ),
    (
        "slack",
        "slack",
        "",
        "postToChannel",
        "url = \"https://hooks.slack.com/services/T/B/C\"\ntext = { \"@template\" = \"{{userId}} ordered\" }",
    ),
];

fn order(n: u64) -> Value {
    json!({"type": "track", "event": "Order Completed", "userId": format!("user-{n}"),
        "anonymousId": "anon-1", "messageId": format!("m-{n}"),
        "timestamp": "2026-11-29T08:00:00.000Z", "receivedAt": "2026-11-29T08:00:01.000Z",
        "context": {"ip": "203.0.113.9", "userAgent": "Mozilla/5.0 (Macintosh)",
            "page": {"url": "https://fly.example/checkout"},
            "traits": {"email": "ann@example.com", "phone": "+14155550100",
                "firstName": "Ann", "lastName": "Lee"}},
        "properties": {"order_id": "o-1", "total": 438.0, "revenue": 438.0, "tax": 38.0,
            "currency": "EUR", "source": "web",
            "products": [
                {"product_id": "JFK-LIS", "name": "Lisbon", "variant": "eco", "price": 389.0,
                 "quantity": 1, "category": "flights"},
                {"product_id": "SEAT-1", "name": "Seat", "variant": "aisle", "price": 49.0,
                 "quantity": 1, "category": "extras"}]}})
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let runtime = Runtime::new(&Default::default()).expect("runtime");
    // One routing table per destination, so each measurement maps for its plugin alone.
    let tables: Vec<Routes> = DESTINATIONS
        .iter()
        .map(|(name, plugin, settings, action, mapping)| {
            let text = format!(
                "[[sources]]\nname = \"app\"\nwrite_key = \"k\"\n\
                 [[destinations]]\nname = \"{name}\"\nplugin = \"{plugin}\"\n\
                 [destinations.settings]\n{settings}\n\
                 [[destinations.subscriptions]]\nname = \"s\"\naction = \"{action}\"\n\
                 trigger = 'event = \"Order Completed\"'\n\
                 [destinations.subscriptions.mapping]\n{mapping}\n"
            );
            let config = Config::parse(&text, "bench", |_| Err::<String, _>("no environment"))
                .expect("a valid configuration");
            let bytes = switchyard::bundled::find(plugin).expect("bundled");
            let loaded = rt.block_on(runtime.load(bytes, plugin)).expect("load");
            let plugins: HashMap<String, _> = [(plugin.to_string(), loaded)].into_iter().collect();
            Routes::build(&config, &plugins).expect("routes")
        })
        .collect();
    // The first answer is also an OAuth token, which Google Ads keeps in the destination's kv
    // store for the measured calls (every other plugin takes it as any 200 answer).
    let token = CannedResponse {
        body: json!({"access_token": "ya29.bench", "expires_in": 3599}),
        ..CannedResponse::default()
    };
    let dry = |route: &switchyard::routes::Route| InvokeOptions {
        net: Arc::new(NetPolicy {
            mode: Mode::DryRun(Responder::new(vec![token.clone()])),
            ..(*route.options.net).clone()
        }),
        ..route.options.clone()
    };

    let mut group = c.benchmark_group("catalogue");
    group.throughput(Throughput::Elements(1));
    for routes in &tables {
        let route = &routes.destinations[0];
        let options = dry(route);
        let sub = &route.subscriptions[0];
        // The path really builds a request (one or more captured exchanges, no failure).
        let (jobs, refused) = routes.route("app", &order(0));
        assert!(refused.is_empty(), "{}", refused[0].error);
        let done = rt.block_on(route.plugin.perform(
            &sub.action.id,
            &jobs[0].payload,
            &route.settings,
            &options,
        ));
        assert!(
            done.results[0].is_ok() && !done.exchanges.is_empty(),
            "{}: {done:?}",
            route.name
        );
        let mut n = 0;
        group.bench_function(format!("{}_single", route.name), |b| {
            b.iter(|| {
                n += 1;
                let (jobs, _) = routes.route("app", &order(n));
                rt.block_on(route.plugin.perform(
                    &sub.action.id,
                    &jobs[0].payload,
                    &route.settings,
                    &options,
                ))
            })
        });
    }
    group.finish();

    // One batch per invocation for the actions that batch (their defaults turn batching on):
    // 75 events, or 37 orders of two products for purchases (Braze takes 75 objects).
    let mut group = c.benchmark_group("catalogue_batch");
    for routes in &tables {
        let route = &routes.destinations[0];
        let sub = &route.subscriptions[0];
        if sub.batch.is_none() {
            continue;
        }
        let size = if sub.action.id == "trackPurchase" {
            37
        } else {
            75
        };
        group.throughput(Throughput::Elements(size));
        let options = dry(route);
        let mut n = 0;
        group.bench_function(format!("{}_batch_{size}", route.name), |b| {
            b.iter(|| {
                let payloads: Vec<String> = (0..size)
                    .map(|_| {
                        n += 1;
                        routes.route("app", &order(n)).0.remove(0).payload
                    })
                    .collect();
                let done = rt.block_on(route.plugin.perform_batch(
                    &sub.action.id,
                    &payloads,
                    &route.settings,
                    &options,
                ));
                assert!(done.results.iter().all(Result::is_ok), "{done:?}");
                done
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
