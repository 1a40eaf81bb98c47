//! WIT versions side by side: plugins built against `switchyard:destination@0.1.0` and
//! `@0.2.0` (the `legacy-v01` and `legacy-v02` fixtures, without the SDK) keep working beside SDK
//! plugins built against 0.3, whose hooks join the manifest; the `kv` store keeps values per
//! destination across invocations, within its bounds.

use crate::sandbox::runtime;
use std::sync::Arc;
use switchyard::runtime::{Failure, InvokeOptions, Kv, Plugin};

async fn load(path: &str, origin: &str) -> Arc<Plugin> {
    let bytes = std::fs::read(path).expect("the fixture was built");
    runtime().load(&bytes, origin).await.expect("loading")
}

#[tokio::test]
async fn a_plugin_built_against_wit_0_1_still_loads_and_runs() {
    let legacy = load(env!("FIXTURE_LEGACY_V01"), "legacy fixture").await;
    assert_eq!(legacy.wit_version(), "0.1");
    let manifest = legacy.manifest();
    assert_eq!(manifest.id, "legacy");
    assert_eq!(manifest.action_ids(), ["ok", "fail"]);

    let options = InvokeOptions::default();
    let done = legacy
        .perform("ok", r#"{"note":"hi"}"#, "{}", &options)
        .await;
    assert_eq!(done.results, [Ok(())]);
    assert_eq!(done.logs[0].message, r#"legacy ok: {"note":"hi"}"#);

    let failed = legacy.perform("fail", "{}", "{}", &options).await;
    assert_eq!(
        failed.results,
        [Err(Failure::Permanent {
            message: "legacy action fail fails".into(),
            status: Some(422)
        })]
    );
    let batch = legacy
        .perform_batch("ok", &["{}".to_string(), "{}".to_string()], "{}", &options)
        .await;
    assert_eq!(batch.results, [Ok(()), Ok(())]);

    let current = load(env!("FIXTURE_ADVERSARIAL"), "adversarial fixture").await;
    assert_eq!(current.wit_version(), "0.3");
}

#[tokio::test]
async fn a_plugin_built_against_wit_0_2_still_loads_and_keeps_its_kv_values() {
    let legacy = load(env!("FIXTURE_LEGACY_V02"), "legacy 0.2 fixture").await;
    assert_eq!(legacy.wit_version(), "0.2");
    assert_eq!(legacy.manifest().action_ids(), ["count"]);
    assert!(legacy.manifest().actions[0].hooks.is_empty());
    let options = InvokeOptions::default();
    let mut seen = Vec::new();
    for _ in 0..2 {
        let done = legacy.perform("count", "{}", "{}", &options).await;
        assert_eq!(done.results, [Ok(())]);
        seen.extend(done.logs.iter().map(|l| l.message.clone()));
    }
    assert_eq!(seen, ["seen=1", "seen=2"]);
    // Asking a plugin without hooks to run one is an error, not a trap.
    let run = legacy
        .run_hook("count", "onMappingSave", "{}", "{}", &options)
        .await;
    assert!(
        matches!(&run.outputs, Err(Failure::Internal(m)) if m.contains("has no hook")),
        "{:?}",
        run.outputs
    );
}

#[tokio::test]
async fn a_wit_0_3_plugins_hooks_join_its_manifest_and_run_in_the_sandbox() {
    let plugin = load(env!("FIXTURE_ADVERSARIAL"), "adversarial fixture").await;
    let action = plugin
        .manifest()
        .action("hooked")
        .expect("the fixture has it");
    let hook = action.hook("onMappingSave").expect("declared");
    assert_eq!(hook.label, "Name the list");
    assert_eq!(hook.inputs[0].key, "list_name");
    assert_eq!(hook.outputs[0].key, "list_id");
    // The hook's record is a field of the action, so mappings and payloads carry it.
    let field = action.field("onMappingSave").expect("added by the host");
    assert_eq!(field.kind, switchyard::model::FieldType::Object);

    let options = InvokeOptions::default();
    let run = plugin
        .run_hook(
            "hooked",
            "onMappingSave",
            r#"{"list_name":"Trip Bookers"}"#,
            "{}",
            &options,
        )
        .await;
    assert_eq!(
        serde_json::Value::Object(run.outputs.unwrap()),
        serde_json::json!({"list_id": "list-trip-bookers"})
    );
    // A hook is sandboxed like perform: a spinning one is stopped by the CPU limit.
    let spin = plugin
        .run_hook(
            "hooked",
            "onMappingSave",
            r#"{"list_name":"spin"}"#,
            "{}",
            &options,
        )
        .await;
    assert!(
        matches!(spin.outputs, Err(Failure::LimitExceeded(_))),
        "{:?}",
        spin.outputs
    );
    let refused = plugin
        .run_hook(
            "hooked",
            "onMappingSave",
            r#"{"list_name":""}"#,
            "{}",
            &options,
        )
        .await;
    assert_eq!(
        refused.outputs,
        Err(Failure::InvalidPayload("list_name is empty".into()))
    );
}

fn counts(logs: &[switchyard::runtime::LogLine]) -> Vec<String> {
    logs.iter()
        .filter(|l| l.message.starts_with("count="))
        .map(|l| l.message.clone())
        .collect()
}

#[tokio::test]
async fn the_kv_store_keeps_values_per_destination_across_invocations() {
    let plugin = load(env!("FIXTURE_ADVERSARIAL"), "adversarial fixture").await;
    let first = InvokeOptions::default();
    let second = InvokeOptions {
        kv: Arc::new(Kv::default()),
        ..InvokeOptions::default()
    };
    let mut seen = Vec::new();
    for options in [&first, &first, &second, &first] {
        let done = plugin.perform("remember", "{}", "{}", options).await;
        assert_eq!(done.results, [Ok(())]);
        seen.extend(counts(&done.logs));
    }
    assert_eq!(seen, ["count=1", "count=2", "count=1", "count=3"]);
    assert_eq!(first.kv.get("count").as_deref(), Some("3"));
}

#[tokio::test]
async fn the_kv_store_is_bounded() {
    let plugin = load(env!("FIXTURE_ADVERSARIAL"), "adversarial fixture").await;
    let options = InvokeOptions::default();
    let done = plugin.perform("kv-flood", "{}", "{}", &options).await;
    let failure = done.results[0].clone().unwrap_err();
    assert!(
        matches!(&failure, Failure::Permanent { message, .. }
            if message.contains("kv store is full (64 keys)") && message.contains("key-64")),
        "{failure:?}"
    );
    assert_eq!(options.kv.len(), 64);
    // The store still answers normally afterwards.
    let again = plugin.perform("remember", "{}", "{}", &options).await;
    assert!(
        matches!(&again.results[0], Err(Failure::Permanent { message, .. }) if message.contains("full")),
        "a full store refuses new keys: {:?}",
        again.results
    );
    options.kv.delete("key-0");
    let after = plugin.perform("remember", "{}", "{}", &options).await;
    assert_eq!(after.results, [Ok(())]);
}
