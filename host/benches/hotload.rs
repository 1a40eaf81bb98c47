//! Hot loading: how long a new plugin version takes from its bytes to a routing table that
//! serves it, which is what a swap waits for after the plugins folder changes (the folder is
//! looked at every 500 ms, so add up to that for a file dropped in).
//!
//! - `new_version`: a version the server has not seen (new content hash): compile, pre-
//!   instantiate, `describe`, check the manifest;
//! - `known_version`: the same bytes again (compiled code cached by hash): pre-instantiate and
//!   `describe` only, as for every unchanged plugin during a reload;
//! - `reload_with_a_new_version`: what a reload does in all: every bundled plugin again (known)
//!   and one new version, then the routing table built.
//!
//! `cargo bench -p switchyard --bench hotload`

use criterion::{Criterion, criterion_group, criterion_main};
use std::collections::HashMap;
use std::time::Duration;
use switchyard::config::Config;
use switchyard::routes::Routes;
use switchyard::runtime::Runtime;

mod common;

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let runtime = Runtime::new(&Default::default()).unwrap();
    let config = Config::parse(
        r#"
[[sources]]
name = "app"
write_key = "k"
[[destinations]]
name = "hooks"
plugin = "webhook"
allowed_hosts = ["https://hooks.example"]
  [[destinations.subscriptions]]
  name = "All"
  action = "send"
  trigger = 'type = "track"'
    [destinations.subscriptions.mapping]
    url = "https://hooks.example/in"
"#,
        "bench",
        |_| Err::<String, _>("no environment"),
    )
    .unwrap();
    let mut n = 0;
    let mut group = c.benchmark_group("hotload");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(30));
    group.bench_function("new_version", |b| {
        b.iter(|| {
            n += 1;
            rt.block_on(runtime.load(&common::webhook_version(n), "bench"))
                .unwrap()
        })
    });
    let known = common::webhook_version(0);
    rt.block_on(runtime.load(&known, "bench")).unwrap();
    group.bench_function("known_version", |b| {
        b.iter(|| rt.block_on(runtime.load(&known, "bench")).unwrap())
    });
    group.bench_function("reload_with_a_new_version", |b| {
        b.iter(|| {
            n += 1;
            rt.block_on(async {
                let mut plugins = HashMap::new();
                for id in switchyard::bundled::ids() {
                    let bytes = switchyard::bundled::find(id).unwrap();
                    plugins.insert(id.to_string(), runtime.load(bytes, id).await.unwrap());
                }
                let new = runtime
                    .load(&common::webhook_version(n), "bench")
                    .await
                    .unwrap();
                plugins.insert("webhook".to_string(), new);
                Routes::build(&config, &plugins).unwrap()
            })
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
