//! The sandbox against a plugin that misbehaves on purpose (`tests/fixtures/adversarial`): each
//! misbehaviour ends in its own typed error, within its limit, and the same host then serves the
//! next invocation normally.

use crate::mock::{Mock, Reply};
use serde_json::{Value, json};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use switchyard::model::Limits;
use switchyard::runtime::{
    AllowList, Failure, Invocation, InvokeOptions, Limit, NetPolicy, Plugin, Runtime, RuntimeConfig,
};

/// Every fixture action and the test that covers it.
const COVERED: &[(&str, &str)] = &[
    ("ok", "batches_answer_per_payload"),
    ("spin", "an_endless_loop_hits_the_cpu_limit"),
    ("sleep", "a_sleeper_hits_the_wall_clock_limit"),
    ("hog", "a_memory_hog_hits_the_memory_limit"),
    (
        "fetch",
        "outbound_hosts_are_denied_unless_allowed (and the request and response limits)",
    ),
    ("panic", "a_panic_is_a_trap_with_its_message"),
    ("log-flood", "log_floods_hit_the_log_limit"),
    ("print-flood", "log_floods_hit_the_log_limit"),
    ("escape", "no_filesystem_environment_or_sockets"),
    (
        "remember",
        "versions::the_kv_store_keeps_values_per_destination_across_invocations",
    ),
    ("kv-flood", "versions::the_kv_store_is_bounded"),
    (
        "hooked",
        "versions::a_wit_0_3_plugins_hooks_join_its_manifest_and_run_in_the_sandbox",
    ),
];

pub(crate) fn runtime() -> Arc<Runtime> {
    static RUNTIME: OnceLock<Arc<Runtime>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            Runtime::new(&RuntimeConfig {
                max_instances: 64,
                ..RuntimeConfig::default()
            })
            .expect("building the runtime")
        })
        .clone()
}

async fn fixture() -> Arc<Plugin> {
    let bytes = std::fs::read(env!("FIXTURE_ADVERSARIAL")).expect("the fixture was built");
    runtime()
        .load(&bytes, "adversarial fixture")
        .await
        .expect("loading the fixture")
}

fn options(limits: Limits, allowed: &[String], allow_private: bool) -> InvokeOptions {
    let mut list = AllowList::parse(&["https://allowed.example"]).unwrap();
    list.extend(AllowList::parse(allowed).unwrap());
    InvokeOptions {
        limits,
        net: Arc::new(NetPolicy {
            allowed: list,
            allow_private,
            ..NetPolicy::default()
        }),
        ..InvokeOptions::default()
    }
}

async fn perform(
    plugin: &Plugin,
    action: &str,
    payload: Value,
    options: &InvokeOptions,
) -> Invocation {
    plugin
        .perform(action, &payload.to_string(), "{}", options)
        .await
}

fn failure(invocation: &Invocation) -> Failure {
    invocation.results[0]
        .clone()
        .expect_err("the invocation should fail")
}

/// The same host runs the next invocation normally.
async fn still_serves(plugin: &Plugin) {
    let done = perform(plugin, "ok", json!({}), &InvokeOptions::default()).await;
    assert_eq!(done.results, [Ok(())]);
    assert_eq!(done.logs[0].message, "all good");
}

#[tokio::test]
async fn every_fixture_action_has_a_test() {
    let plugin = fixture().await;
    let mut actions = plugin.manifest().action_ids();
    actions.sort();
    let mut covered: Vec<&str> = COVERED.iter().map(|(a, _)| *a).collect();
    covered.sort();
    assert_eq!(
        actions, covered,
        "add a test for each new fixture action and list it in COVERED"
    );
}

#[tokio::test]
async fn an_endless_loop_hits_the_cpu_limit() {
    let plugin = fixture().await;
    let started = Instant::now();
    let done = perform(&plugin, "spin", json!({}), &InvokeOptions::default()).await;
    let f = failure(&done);
    assert_eq!(
        f,
        Failure::LimitExceeded(Limit::Cpu(Duration::from_secs(2)))
    );
    assert_eq!(f.to_string(), "cpu limit of 2s exceeded");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "stopped by the CPU budget, not the wall clock"
    );
    still_serves(&plugin).await;
}

#[tokio::test]
async fn a_sleeper_hits_the_wall_clock_limit() {
    let plugin = fixture().await;
    let limits = Limits {
        wall_clock_ms: 1_000,
        ..Limits::default()
    };
    let done = perform(&plugin, "sleep", json!({}), &options(limits, &[], false)).await;
    assert_eq!(
        failure(&done).to_string(),
        "wall-clock limit of 1s exceeded"
    );
    still_serves(&plugin).await;
}

#[tokio::test]
async fn a_memory_hog_hits_the_memory_limit() {
    let plugin = fixture().await;
    let done = perform(&plugin, "hog", json!({}), &InvokeOptions::default()).await;
    assert_eq!(
        failure(&done),
        Failure::LimitExceeded(Limit::Memory(64 << 20))
    );
    assert_eq!(
        failure(&done).to_string(),
        "memory limit of 64 MiB exceeded"
    );
    still_serves(&plugin).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn outbound_hosts_are_denied_unless_allowed() {
    let plugin = fixture().await;
    let mock = Mock::start().await;

    // Not in the allow-list: refused before any connection.
    let done = perform(
        &plugin,
        "fetch",
        json!({"url": "https://evil.example/steal"}),
        &InvokeOptions::default(),
    )
    .await;
    assert_eq!(
        failure(&done).to_string(),
        "host evil.example is not in the allow-list"
    );
    assert_eq!(done.exchanges.len(), 0);

    // Allowed by pattern, but 127.0.0.1 is loopback: refused after resolution.
    let allowed = [mock.pattern()];
    let done = perform(
        &plugin,
        "fetch",
        json!({"url": mock.url("/x")}),
        &options(Limits::default(), &allowed, false),
    )
    .await;
    match failure(&done) {
        Failure::AddressDenied { address, class, .. } => {
            assert_eq!((address.as_str(), class), ("127.0.0.1", "loopback"));
        }
        other => panic!("expected an address denial, got {other:?}"),
    }
    assert!(mock.received().is_empty());

    // Allowed explicitly by the operator: delivered.
    let done = perform(
        &plugin,
        "fetch",
        json!({"url": mock.url("/x")}),
        &options(Limits::default(), &allowed, true),
    )
    .await;
    assert_eq!(done.results, [Ok(())]);
    assert_eq!(mock.received().len(), 1);
    assert_eq!(done.exchanges[0].status, Some(200));
    still_serves(&plugin).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn outbound_requests_and_response_bodies_are_bounded() {
    let plugin = fixture().await;
    let mock = Mock::start().await;
    let allowed = [mock.pattern()];
    let open = options(Limits::default(), &allowed, true);

    let done = perform(
        &plugin,
        "fetch",
        json!({"url": mock.url("/many"), "count": 25}),
        &open,
    )
    .await;
    assert_eq!(
        failure(&done).to_string(),
        "outbound request limit of 20 per invocation exceeded"
    );
    assert_eq!(mock.received().len(), 20, "the 21st request is never sent");

    mock.push(Reply::new(200, vec![b'x'; 2 << 20]));
    let small = Limits {
        max_response_bytes: 1 << 20,
        ..Limits::default()
    };
    let done = perform(
        &plugin,
        "fetch",
        json!({"url": mock.url("/big")}),
        &options(small, &allowed, true),
    )
    .await;
    assert_eq!(
        failure(&done).to_string(),
        "response body limit of 1 MiB exceeded"
    );

    let huge = json!({"url": "x".repeat(2 << 20)});
    let done = perform(&plugin, "fetch", huge, &open).await;
    assert!(matches!(
        failure(&done),
        Failure::LimitExceeded(Limit::Input { .. })
    ));
    still_serves(&plugin).await;
}

#[tokio::test]
async fn a_panic_is_a_trap_with_its_message() {
    let plugin = fixture().await;
    let done = perform(&plugin, "panic", json!({}), &InvokeOptions::default()).await;
    let f = failure(&done);
    assert_eq!(f.kind(), "trap");
    assert!(
        f.to_string().contains("the fixture panicked on purpose"),
        "{f}"
    );
    still_serves(&plugin).await;
}

#[tokio::test]
async fn log_floods_hit_the_log_limit() {
    let plugin = fixture().await;
    for action in ["log-flood", "print-flood"] {
        let done = perform(&plugin, action, json!({}), &InvokeOptions::default()).await;
        assert_eq!(
            failure(&done).to_string(),
            "log output limit of 64 KiB exceeded",
            "{action}"
        );
        let kept: usize = done.logs.iter().map(|l| l.message.len()).sum();
        assert!(kept <= 64 << 10, "{action} kept {kept} bytes of logs");
        assert!(
            !done.logs.is_empty(),
            "{action}: the lines within the limit are kept"
        );
    }
    still_serves(&plugin).await;
}

#[tokio::test]
async fn no_filesystem_environment_or_sockets() {
    let plugin = fixture().await;
    let done = perform(&plugin, "escape", json!({}), &InvokeOptions::default()).await;
    assert_eq!(
        done.results,
        [Ok(())],
        "the plugin reached something it must not"
    );
}

#[tokio::test]
async fn batches_answer_per_payload() {
    let plugin = fixture().await;
    let payloads = [
        json!({"count": 1}),
        json!({"count": 0}),
        json!({"count": 2}),
    ]
    .map(|p| p.to_string());
    let done = plugin
        .perform_batch("ok", &payloads, "{}", &InvokeOptions::default())
        .await;
    assert_eq!(done.results.len(), 3);
    assert!(done.results[0].is_ok() && done.results[2].is_ok());
    assert_eq!(
        done.results[1],
        Err(Failure::Permanent {
            message: "count 0 is refused".into(),
            status: None
        })
    );
    assert_eq!(done.logs[0].message, "batch of 3");
}
