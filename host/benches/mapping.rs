//! Mapping cost per event: Amplitude `logEventV2`'s default mapping (every field's default, from
//! the shared reference) on a realistic `Order Completed` track event, alone and followed by the
//! payload validation the host runs before a plugin.
//!
//! `cargo bench -p switchyard --bench mapping`

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::Value;
use std::hint::black_box;
use switchyard::mapping::Mapping;
use switchyard::payload;
use switchyard::runtime::{Action, Field, FieldType};

fn action() -> Action {
    let spec: Value =
        serde_json::from_str(include_str!("data/amplitude-logEventV2.json")).expect("valid JSON");
    let kind = |t: &str| match t {
        "string" => FieldType::String,
        "number" => FieldType::Number,
        "integer" => FieldType::Integer,
        "boolean" => FieldType::Boolean,
        "datetime" => FieldType::Datetime,
        "object" => FieldType::Object,
        other => panic!("unknown type {other}"),
    };
    let fields = spec["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .map(|f| Field {
            key: f["key"].as_str().expect("key").into(),
            label: String::new(),
            description: String::new(),
            kind: kind(f["type"].as_str().expect("type")),
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
    }
}

fn bench(c: &mut Criterion) {
    let event: Value =
        serde_json::from_str(include_str!("data/track-order-completed.json")).expect("valid JSON");
    let action = action();
    let mapping: Mapping = payload::action_mapping(&action, None, true).expect("valid mapping");
    let mapped = mapping.apply(&event).expect("an object");
    assert_eq!(mapped["event_type"], "Order Completed");
    assert_eq!(mapped["products"].as_array().map(Vec::len), Some(2));

    let mut group = c.benchmark_group("mapping");
    group.bench_function("amplitude_logEventV2_defaults", |b| {
        b.iter(|| mapping.apply(black_box(&event)))
    });
    group.bench_function("amplitude_logEventV2_defaults_and_validation", |b| {
        b.iter(|| payload::build(&action, &mapping, black_box(&event), true).expect("valid"))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
