//! Configuration reload without a restart (`POST /admin/reload`, SIGHUP): applied whole or
//! refused whole, and nothing accepted is lost or sent twice while it happens.

use crate::mock::Mock;
use crate::serve::reqwest_like::Client;
use crate::serve::{Server, start};
use serde_json::{Value, json};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

const TOKEN: &str = "reload-test-admin-token-000000";

/// The configuration: one webhook destination whose payload carries `version`; `extra` is
/// appended as it is.
fn write(dir: &Path, mock: &Mock, version: u32, extra: &str) {
    let hooks = format!(
        r#"
[[destinations]]
name = "hooks"
plugin = "webhook"
allowed_hosts = ["https://hooks.example"]
redirect_outbound = "{mock}"
  [destinations.delivery]
  batch_wait_ms = 0
  [[destinations.subscriptions]]
  name = "Ticks"
  action = "send"
  trigger = 'type = "track"'
    [destinations.subscriptions.mapping]
    url = "https://hooks.example/in"
    data = {{ v = {version}, n = {{ "@path" = "$.properties.n" }} }}
{extra}
"#,
        mock = mock.url(""),
    );
    crate::admin::config_with(dir, &format!("admin_token = \"{TOKEN}\""), &hooks);
}

async fn server(dir: &Path) -> Server {
    start(&dir.join("switchyard.toml"), &[]).await
}

async fn tick(ingest: &Client, n: u64) {
    let event = json!({"type": "track", "event": "Tick", "userId": "u1",
        "messageId": format!("m-{n}"), "properties": {"n": n}});
    let (status, body) = ingest.post("/v1/track", Some("key-123"), event).await;
    assert_eq!(status, 200, "{body}");
}

async fn reload(admin: &Client) -> (u16, Value) {
    admin.post_bearer("/admin/reload", TOKEN).await
}

/// The `data` objects the mock received, once `n` of them have arrived.
async fn payloads(mock: &Mock, n: usize) -> Vec<Value> {
    let started = Instant::now();
    loop {
        let got: Vec<Value> = mock.received().iter().map(|r| r.json()).collect();
        if got.len() >= n {
            tokio::time::sleep(Duration::from_millis(500)).await;
            return mock.received().iter().map(|r| r.json()).collect();
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{} of {n} arrived",
            got.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_reload_under_load_switches_whole_and_loses_nothing() {
    let mock = Mock::start().await;
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), &mock, 1, "");
    let mut s = server(dir.path()).await;
    let ingest = Arc::new(Client::new(&s.ingest));
    let admin = Client::new(&s.admin);
    const N: u64 = 300;
    let acked = Arc::new(AtomicU64::new(0));
    let sender = {
        let (ingest, acked) = (ingest.clone(), acked.clone());
        tokio::spawn(async move {
            for n in 0..N {
                tick(&ingest, n).await;
                acked.store(n + 1, Ordering::SeqCst);
            }
        })
    };
    while acked.load(Ordering::SeqCst) < 100 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    write(dir.path(), &mock, 2, "");
    let before = acked.load(Ordering::SeqCst);
    let (status, body) = reload(&admin).await;
    let after = acked.load(Ordering::SeqCst) + 1;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["destinations"], json!(["hooks"]));
    sender.await.unwrap();
    assert!(
        after < N,
        "the reload finished before the last event was sent"
    );

    let got = payloads(&mock, N as usize).await;
    assert_eq!(got.len(), N as usize, "each event exactly once");
    let mut seen: Vec<u64> = got.iter().map(|p| p["n"].as_u64().unwrap()).collect();
    seen.sort_unstable();
    assert_eq!(seen, (0..N).collect::<Vec<_>>());
    for p in &got {
        let (n, v) = (p["n"].as_u64().unwrap(), p["v"].as_u64().unwrap());
        // Accepted before the reload started: the old mapping; after it answered: the new.
        if n < before {
            assert_eq!(v, 1, "{p}");
        }
        if n >= after {
            assert_eq!(v, 2, "{p}");
        }
        assert!(v == 1 || v == 2, "{p}");
    }
    s.child.kill().await.unwrap();
}

#[tokio::test]
async fn an_invalid_configuration_is_refused_whole_and_the_old_one_keeps_serving() {
    let mock = Mock::start().await;
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), &mock, 1, "");
    let mut s = server(dir.path()).await;
    let ingest = Client::new(&s.ingest);
    let admin = Client::new(&s.admin);

    // Two problems at once: a new destination's plugin does not exist, and its trigger is bad.
    let broken = r#"
[[destinations]]
name = "crm"
plugin = "hubspot"

[[destinations]]
name = "more"
plugin = "webhook"
  [[destinations.subscriptions]]
  name = "Broken"
  action = "send"
  trigger = 'type = '
"#;
    write(dir.path(), &mock, 2, broken);
    let (status, body) = reload(&admin).await;
    assert_eq!(status, 422, "{body}");
    let problems = body["problems"].to_string();
    assert!(
        problems.contains("unknown plugin \\\"hubspot\\\""),
        "{problems}"
    );
    assert!(
        problems.contains("subscription \\\"Broken\\\""),
        "{problems}"
    );
    // A setting that needs a restart is refused too, and reloading needs the admin token.
    write(dir.path(), &mock, 2, "");
    let file = dir.path().join("switchyard.toml");
    let text = std::fs::read_to_string(&file).unwrap().replace(
        "admin_listen = \"127.0.0.1:0\"",
        "admin_listen = \"127.0.0.1:1\"",
    );
    std::fs::write(&file, text).unwrap();
    assert_eq!(
        admin.post_bearer("/admin/reload", "wrong-token").await.0,
        401
    );
    let (status, body) = reload(&admin).await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body["problems"]
            .to_string()
            .contains("server.admin_listen changed"),
        "{body}"
    );

    // The running configuration is untouched: the old mapping, one destination.
    tick(&ingest, 7).await;
    let got = payloads(&mock, 1).await;
    assert_eq!(got, [json!({"v": 1, "n": 7})]);
    let (_, _, destinations) = admin.get("/admin/destinations", Some(TOKEN)).await;
    assert_eq!(destinations["destinations"].as_array().unwrap().len(), 1);
    s.child.kill().await.unwrap();
}

#[cfg(unix)]
#[tokio::test]
async fn sighup_reloads_the_configuration() {
    let mock = Mock::start().await;
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), &mock, 1, "");
    let mut s = server(dir.path()).await;
    let ingest = Client::new(&s.ingest);
    let admin = Client::new(&s.admin);
    let people = r#"
  [[destinations.subscriptions]]
  name = "People"
  action = "send"
  trigger = 'type = "identify"'
    [destinations.subscriptions.mapping]
    url = "https://hooks.example/people"
    data = { "@path" = "$.traits" }
"#;
    write(dir.path(), &mock, 1, people);
    let pid = s.child.id().unwrap().to_string();
    let status = std::process::Command::new("kill")
        .args(["-HUP", &pid])
        .status()
        .unwrap();
    assert!(status.success());
    let started = Instant::now();
    loop {
        let (_, _, hooks) = admin.get("/admin/destinations/hooks", Some(TOKEN)).await;
        if hooks["subscriptions"].as_array().unwrap().len() == 2 {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "{hooks}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let event = json!({"type": "identify", "userId": "u1", "messageId": "p-1",
        "traits": {"plan": "pro"}});
    assert_eq!(
        ingest.post("/v1/identify", Some("key-123"), event).await.0,
        200
    );
    let got = payloads(&mock, 1).await;
    assert_eq!(got, [json!({"plan": "pro"})]);
    assert_eq!(mock.received()[0].path, "/people");
    s.child.kill().await.unwrap();
}

/// The bundled webhook plugin as another version: the same component with a custom section
/// naming `version`, so its content hash (the version's identity) differs.
fn webhook_version(version: u8) -> (Vec<u8>, String) {
    let mut bytes = switchyard::bundled::find("webhook").unwrap().to_vec();
    let name = b"switchyard-test-version";
    let mut section = vec![name.len() as u8];
    section.extend_from_slice(name);
    section.push(version);
    bytes.push(0); // a custom section
    bytes.push(section.len() as u8);
    bytes.extend_from_slice(&section);
    use sha2::Digest;
    let hash = hex::encode(sha2::Sha256::digest(&bytes));
    (bytes, hash)
}

/// Puts a plugin file in place whole: written beside it, then renamed over it.
fn install(dir: &Path, bytes: &[u8]) {
    let partial = dir.join("webhook.part");
    std::fs::write(&partial, bytes).unwrap();
    std::fs::rename(&partial, dir.join("webhook.wasm")).unwrap();
}

async fn serving(admin: &Client, hash: &str) {
    let started = Instant::now();
    loop {
        let (_, _, plugins) = admin.get("/admin/plugins", Some(TOKEN)).await;
        let webhook = plugins["plugins"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["id"] == "webhook")
            .cloned()
            .unwrap();
        if webhook["hash"] == hash {
            assert!(
                webhook["origin"]
                    .as_str()
                    .unwrap()
                    .ends_with("webhook.wasm")
            );
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{hash} not serving: {plugins}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_plugin_replaced_three_times_under_load_loses_and_doubles_nothing() {
    let mock = Mock::start().await;
    let dir = tempfile::tempdir().unwrap();
    let plugins = dir.path().join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    let versions: Vec<(Vec<u8>, String)> = (1..=4).map(webhook_version).collect();
    install(&plugins, &versions[0].0);
    let folder = format!("[plugins]\ndir = \"{}\"\n", plugins.display());
    write(dir.path(), &mock, 1, "");
    let text = std::fs::read_to_string(dir.path().join("switchyard.toml")).unwrap();
    std::fs::write(
        dir.path().join("switchyard.toml"),
        format!("{folder}{text}"),
    )
    .unwrap();
    let mut s = server(dir.path()).await;
    let ingest = Arc::new(Client::new(&s.ingest));
    let admin = Client::new(&s.admin);
    serving(&admin, &versions[0].1).await;

    // A steady stream (a new version is compiled when it appears, which takes a second or two
    // here, so the stream is paced to outlast three swaps).
    const N: u64 = 600;
    let acked = Arc::new(AtomicU64::new(0));
    let sender = {
        let (ingest, acked) = (ingest.clone(), acked.clone());
        tokio::spawn(async move {
            for n in 0..N {
                tick(&ingest, n).await;
                acked.store(n + 1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(15)).await;
            }
        })
    };
    // Three replacements while events flow, each waited for until it serves.
    let mut last_swap = 0;
    for (i, (bytes, hash)) in versions.iter().enumerate().skip(1) {
        while acked.load(Ordering::SeqCst) < 60 * i as u64 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        install(&plugins, bytes);
        serving(&admin, hash).await;
        last_swap = acked.load(Ordering::SeqCst);
    }
    sender.await.unwrap();
    assert!(
        last_swap < N - 20,
        "the swaps ended before the last events were sent"
    );

    let got = payloads(&mock, N as usize).await;
    let received = mock.received();
    assert_eq!(received.len(), N as usize, "each event exactly once");
    let mut seen: Vec<u64> = got.iter().map(|p| p["n"].as_u64().unwrap()).collect();
    seen.sort_unstable();
    assert_eq!(seen, (0..N).collect::<Vec<_>>());
    // Each request was made by one of the versions, named in full.
    let labels: Vec<String> = versions
        .iter()
        .map(|(_, hash)| format!("webhook@0.1.0#{}", &hash[..12]))
        .collect();
    let mut used = std::collections::BTreeSet::new();
    for r in &received {
        let label = r
            .header("x-switchyard-plugin")
            .unwrap_or_default()
            .to_string();
        assert!(labels.contains(&label), "{label} is not one of {labels:?}");
        used.insert(label);
        // Events accepted after the last swap served are delivered by the last version.
        if r.json()["n"].as_u64().unwrap() > last_swap + 5 {
            assert_eq!(r.header("x-switchyard-plugin"), Some(labels[3].as_str()));
        }
    }
    assert!(used.len() >= 2, "{used:?}");

    // A broken upload is refused; the version in force keeps serving.
    install(&plugins, b"\0asm this is not a component");
    let started = Instant::now();
    let refused = loop {
        let (_, _, plugins) = admin.get("/admin/plugins", Some(TOKEN)).await;
        if let Some(r) = plugins["refused_reloads"].as_array().and_then(|r| r.last()) {
            break r.clone();
        }
        assert!(started.elapsed() < Duration::from_secs(10), "{plugins}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(refused["trigger"], "plugins folder");
    let (_, _, metrics) = admin.get_text("/metrics", Some(TOKEN)).await;
    for line in [
        "switchyard_reloads_total{trigger=\"plugins folder\",outcome=\"applied\"} 3",
        "switchyard_reloads_total{trigger=\"plugins folder\",outcome=\"refused\"} 1",
    ] {
        assert!(metrics.contains(line), "{line} not in:\n{metrics}");
    }
    assert!(
        refused["problems"].to_string().contains("webhook.wasm"),
        "{refused}"
    );
    serving(&admin, &versions[3].1).await;
    tick(&ingest, N).await;
    let after = payloads(&mock, N as usize + 1).await;
    assert_eq!(after.len(), N as usize + 1);
    assert_eq!(
        mock.received()
            .last()
            .unwrap()
            .header("x-switchyard-plugin"),
        Some(labels[3].as_str())
    );
    s.child.kill().await.unwrap();
}

async fn current_hash(admin: &Client, id: &str) -> String {
    let (_, _, plugins) = admin.get("/admin/plugins", Some(TOKEN)).await;
    plugins["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == id)
        .unwrap()["hash"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn uploads_versions_rollback_and_removal_through_the_admin_api() {
    let mock = Mock::start().await;
    let dir = tempfile::tempdir().unwrap();
    let plugins = dir.path().join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    write(dir.path(), &mock, 1, "");
    let text = std::fs::read_to_string(dir.path().join("switchyard.toml")).unwrap();
    let folder = format!("[plugins]\ndir = \"{}\"\n", plugins.display());
    std::fs::write(
        dir.path().join("switchyard.toml"),
        format!("{folder}{text}"),
    )
    .unwrap();
    let mut s = server(dir.path()).await;
    let ingest = Client::new(&s.ingest);
    let admin = Client::new(&s.admin);
    let bundled = current_hash(&admin, "webhook").await;
    let (v2, h2) = webhook_version(2);
    let (v3, h3) = webhook_version(3);

    // Uploads need the token, and a broken one is refused with its reason.
    assert_eq!(
        admin
            .call("POST", "/admin/plugins", "wrong", v2.clone())
            .await
            .0,
        401
    );
    let (status, body) = admin
        .call(
            "POST",
            "/admin/plugins",
            TOKEN,
            b"\0asm\x0d\0\x01\0junk".to_vec(),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("uploaded plugin"),
        "{body}"
    );
    assert_eq!(current_hash(&admin, "webhook").await, bundled);

    for (bytes, hash) in [(&v2, &h2), (&v3, &h3)] {
        let (status, body) = admin
            .call("POST", "/admin/plugins", TOKEN, bytes.clone())
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            (body["id"].as_str(), body["hash"].as_str()),
            (Some("webhook"), Some(hash.as_str()))
        );
        assert_eq!(current_hash(&admin, "webhook").await, *hash);
    }
    assert_eq!(std::fs::read(plugins.join("webhook.wasm")).unwrap(), v3);
    let (_, _, versions) = admin
        .get("/admin/plugins/webhook/versions", Some(TOKEN))
        .await;
    let kept: Vec<&str> = versions["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["hash"].as_str().unwrap())
        .collect();
    assert_eq!(kept, [h2.as_str(), h3.as_str()]);
    assert_eq!(versions["current"], h3.as_str());
    tick(&ingest, 1).await;
    payloads(&mock, 1).await;
    let label = |hash: &str| format!("webhook@0.1.0#{}", &hash[..12]);
    assert_eq!(
        mock.received()[0].header("x-switchyard-plugin"),
        Some(label(&h3).as_str())
    );

    // Rollback, in one step, to the version before.
    let (status, body) = admin
        .post_bearer("/admin/plugins/webhook/rollback", TOKEN)
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["hash"], h2.as_str());
    assert_eq!(current_hash(&admin, "webhook").await, h2);
    tick(&ingest, 2).await;
    payloads(&mock, 2).await;
    assert_eq!(
        mock.received()[1].header("x-switchyard-plugin"),
        Some(label(&h2).as_str())
    );
    // ... or to a named one, from the command line.
    let cli = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_switchyard"))
            .args(["plugin"])
            .args(args)
            .args(["--admin", &s.admin])
            .env("SWITCHYARD_ADMIN_TOKEN", TOKEN)
            .output()
            .unwrap()
    };
    let listed = cli(&["versions", "webhook"]);
    let text = String::from_utf8_lossy(&listed.stdout);
    assert!(listed.status.success(), "{listed:?}");
    assert!(text.contains(&format!("* {h2}")), "{text}");
    assert!(text.contains(&format!("  {h3}")), "{text}");
    let unknown = cli(&["rollback", "webhook", "--to", "abc123"]);
    assert_eq!(unknown.status.code(), Some(2), "{unknown:?}");
    let said = String::from_utf8_lossy(&unknown.stderr);
    assert!(
        said.contains("abc123") && said.contains("not kept"),
        "{said}"
    );
    assert_eq!(current_hash(&admin, "webhook").await, h2);
    let rolled = cli(&["rollback", "webhook", "--to", &h3]);
    assert!(rolled.status.success(), "{rolled:?}");
    assert!(String::from_utf8_lossy(&rolled.stdout).contains(&h3));
    assert_eq!(current_hash(&admin, "webhook").await, h3);

    // Removing the folder's webhook brings back the bundled one; bundled ones stay.
    let (status, body) = admin
        .call("DELETE", "/admin/plugins/webhook", TOKEN, vec![])
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(current_hash(&admin, "webhook").await, bundled);
    assert!(!plugins.join("webhook.wasm").exists());
    let (status, body) = admin
        .call("DELETE", "/admin/plugins/slack", TOKEN, vec![])
        .await;
    assert_eq!(status, 422, "{body}");
    assert!(body["problems"].to_string().contains("bundled"), "{body}");
    s.child.kill().await.unwrap();
}
