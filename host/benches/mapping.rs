//! Mapping cost per event: Amplitude `logEventV2`'s default mapping (every field's default, from
//! the shared reference) on a realistic `Order Completed` track event.
//!
//! - `amplitude_logEventV2_defaults`: the mapping with the payload checks (empty-value removal,
//!   type checks and coercion), ready to send;
//! - `…_to_json`: the same, then serialised to the JSON text a plugin receives;
//! - `trigger_and_mapping`: the action's default trigger (`type = "track"`), then the mapping;
//! - `amplitude_preset_triggers`: the five triggers of Amplitude's cloud presets on one event.
//!
//! `cargo bench -p switchyard --bench mapping`

use criterion::{Criterion, criterion_group, criterion_main};
use serde::Deserialize;
use serde_json::Value;
use std::hint::black_box;
use switchyard::model::{Action, Field, FieldType};
use switchyard::payload;
use switchyard::trigger::Trigger;

/// The triggers of Amplitude's cloud presets (its plugin's `presets`, as Segment ships them).
const PRESETS: [&str; 5] = [
    r#"type = "track" and event != "Order Completed""#,
    r#"type = "track" and event = "Order Completed""#,
    r#"type = "page""#,
    r#"type = "screen""#,
    r#"type = "identify""#,
];

fn action() -> Action {
    let spec: Value =
        serde_json::from_str(include_str!("data/amplitude-logEventV2.json")).expect("valid JSON");
    let fields = spec["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .map(|f| Field {
            key: f["key"].as_str().expect("key").into(),
            label: String::new(),
            description: String::new(),
            kind: FieldType::deserialize(&f["type"]).expect("a field type"),
            required: false,
            multiple: f["multiple"].as_bool().unwrap_or(false),
            allow_null: f["allow_null"].as_bool().unwrap_or(false),
            choices: Vec::new(),
            default: f.get("default").cloned(),
        })
        .collect();
    Action {
        id: "logEventV2".into(),
        title: "Log Event V2".into(),
        description: String::new(),
        default_trigger: None,
        fields,
        max_batch_size: None,
        hooks: Vec::new(),
    }
}

fn bench(c: &mut Criterion) {
    let event: Value =
        serde_json::from_str(include_str!("data/track-order-completed.json")).expect("valid JSON");
    let action = action();
    let mapping = payload::action_mapping(&action, None, true).expect("valid mapping");
    let payload = mapping
        .build(&action, &event, true)
        .expect("valid")
        .into_value();
    assert_eq!(payload["event_type"], "Order Completed");
    assert_eq!(payload["products"].as_array().map(Vec::len), Some(2));
    assert_eq!(payload["setOnce"]["initial_utm_source"], "google");

    let mut group = c.benchmark_group("mapping");
    group.bench_function("amplitude_logEventV2_defaults", |b| {
        b.iter(|| {
            mapping
                .build(&action, black_box(&event), true)
                .expect("valid")
        })
    });
    group.bench_function("amplitude_logEventV2_defaults_to_json", |b| {
        b.iter(|| {
            mapping
                .build(&action, black_box(&event), true)
                .expect("valid")
                .to_json()
        })
    });
    let trigger = Trigger::parse(r#"type = "track""#).expect("valid trigger");
    assert!(trigger.matches(&event));
    group.bench_function("trigger_and_mapping", |b| {
        b.iter(|| {
            let event = black_box(&event);
            trigger
                .matches(event)
                .then(|| mapping.build(&action, event, true).expect("valid"))
        })
    });
    let presets: Vec<Trigger> = PRESETS
        .iter()
        .map(|t| Trigger::parse(t).expect("valid trigger"))
        .collect();
    let matching = presets.iter().filter(|t| t.matches(&event)).count();
    assert_eq!(matching, 1, "Order Completed goes to logPurchase only");
    group.bench_function("amplitude_preset_triggers", |b| {
        b.iter(|| {
            presets
                .iter()
                .filter(|t| t.matches(black_box(&event)))
                .count()
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
