//! WIT versions side by side: a plugin built against `switchyard:destination@0.1.0` (the
//! `legacy-v01` fixture, without the SDK) keeps working beside SDK plugins built against 0.2,
//! and 0.2's `kv` store keeps values per destination across invocations, within its bounds.

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
    assert_eq!(current.wit_version(), "0.2");
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
