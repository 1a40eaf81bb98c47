//! Managing a running `switchyard serve` through the admin API: destinations and subscriptions
//! made, changed, switched off and deleted (kept across a restart, secrets never shown), and
//! the delivery log and dead letters read, replayed and purged.

use crate::mock::{Mock, Received, Reply};
use crate::serve::reqwest_like::Client;
use crate::serve::{Server, start};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::Duration;

const TOKEN: &str = "admin-token-for-tests-0123456789";
const SECRET: &str = "braze-secret-key-4242";

/// A server with source `app` and a file destination `chat` (Slack, to the mock).
fn config(dir: &Path, mock: &Mock) -> PathBuf {
    let token = format!("admin_token = \"{TOKEN}\"");
    crate::admin::config_with(dir, &token, &crate::admin::chat(mock))
}

/// The admin API, keeping every answer to look for secrets in at the end.
struct Admin {
    client: Client,
    answers: Vec<String>,
}

impl Admin {
    fn new(server: &Server) -> Admin {
        Admin {
            client: Client::new(&server.admin),
            answers: Vec::new(),
        }
    }

    async fn call(&mut self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let bytes = body.map_or(Vec::new(), |b| serde_json::to_vec(&b).unwrap());
        let (status, answer) = self.client.call(method, path, TOKEN, bytes).await;
        self.answers.push(answer.to_string());
        (status, answer)
    }

    async fn get(&mut self, path: &str) -> (u16, Value) {
        self.call("GET", path, None).await
    }
}

async fn track(ingest: &Client, event: &str, n: usize) {
    let body = json!({"type": "track", "event": event, "userId": format!("u-{n}"),
        "messageId": format!("m-{n}")});
    assert_eq!(ingest.post("/v1/track", Some("key-123"), body).await.0, 200);
}

async fn page(ingest: &Client, name: &str, n: usize) {
    let body = json!({"type": "page", "name": name, "userId": format!("u-{n}"),
        "messageId": format!("m-{n}")});
    assert_eq!(ingest.post("/v1/page", Some("key-123"), body).await.0, 200);
}

/// Waits until the mock has `n` requests (30 s at most), then a little longer for any that
/// should not come.
async fn received(mock: &Mock, n: usize) -> Vec<Received> {
    mock.wait_for(n).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    mock.received()
}

/// The Braze event names of a `/users/track` request.
fn braze_events(r: &Received) -> Vec<String> {
    r.json()["events"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| e["name"].as_str().unwrap().to_string())
        .collect()
}

fn names(subscriptions: &Value) -> Vec<String> {
    subscriptions
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn destinations_and_subscriptions_are_managed_through_the_admin_api() {
    let mock = Mock::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), &mock);
    let mut s = start(&config, &[]).await;
    let mut admin = Admin::new(&s);
    let ingest = Client::new(&s.ingest);

    // Bad bodies are refused with what is wrong, and nothing is made.
    for (body, named) in [
        (json!({"name": "crm"}), "plugin"),
        (
            json!({"name": "crm", "plugin": "braze", "setings": {}}),
            "setings",
        ),
        (
            json!({"name": "crm", "plugin": "braze", "sources": ["web"]}),
            "web",
        ),
        (json!({"name": "a/b", "plugin": "braze"}), "name"),
    ] {
        let (status, answer) = admin.call("POST", "/admin/destinations", Some(body)).await;
        assert_eq!(status, 400, "{answer}");
        assert!(
            answer["error"].as_str().unwrap().contains(named),
            "{answer}"
        );
    }
    // A destination that would not run (a required setting missing) is refused whole.
    let (status, answer) = admin
        .call(
            "POST",
            "/admin/destinations",
            Some(json!({"name": "crm", "plugin": "braze"})),
        )
        .await;
    assert_eq!(status, 422, "{answer}");
    assert!(
        answer["problems"][0].as_str().unwrap().contains("api_key"),
        "{answer}"
    );
    assert_eq!(admin.get("/admin/destinations/crm").await.0, 404);

    // Made without subscriptions: the plugin's presets are copied in.
    let (_, braze) = admin.get("/admin/plugins/braze").await;
    let presets = names(&braze["manifest"]["presets"]);
    let crm = json!({"name": "crm", "plugin": "braze", "settings": {"api_key": SECRET},
        "redirect_outbound": mock.url(""), "delivery": {"batch_wait_ms": 50}});
    let (status, made) = admin
        .call("POST", "/admin/destinations", Some(crm.clone()))
        .await;
    assert_eq!(status, 201, "{made}");
    assert_eq!(made["managed_by"], "admin API");
    assert_eq!(made["running"], true);
    assert_eq!(made["settings"]["api_key"], "***");
    assert_eq!(
        made["settings"]["endpoint"],
        "https://rest.iad-01.braze.com"
    );
    assert_eq!(names(&made["subscriptions"]), presets);
    let (status, _) = admin.call("POST", "/admin/destinations", Some(crm)).await;
    assert_eq!(status, 409);

    // It runs at once.
    track(&ingest, "Signed Up", 1).await;
    let got = received(&mock, 1).await;
    assert_eq!(got[0].path, "/users/track");
    assert_eq!(
        got[0].header("authorization"),
        Some(&*format!("Bearer {SECRET}"))
    );
    assert_eq!(braze_events(&got[0]), ["Signed Up"]);

    // A subscription that would not run is refused, naming it; nothing changes.
    let bad = json!({"name": "Broken", "action": "trackEvent", "trigger": "event = "});
    let (status, answer) = admin
        .call("POST", "/admin/destinations/crm/subscriptions", Some(bad))
        .await;
    assert_eq!(status, 422, "{answer}");
    let problem = answer["problems"][0].as_str().unwrap();
    assert!(
        problem.contains("\"Broken\"") && problem.contains("trigger"),
        "{problem}"
    );
    let (_, subs) = admin.get("/admin/destinations/crm/subscriptions").await;
    assert_eq!(names(&subs["subscriptions"]), presets);

    // A custom event from page views, by configuration; the track preset switched off.
    let pricing = json!({"name": "Viewed Pricing", "action": "trackEvent",
        "trigger": "type = \"page\" and name = \"Pricing\"",
        "mapping": {"name": "Viewed Pricing"}});
    let (status, sub) = admin
        .call(
            "POST",
            "/admin/destinations/crm/subscriptions",
            Some(pricing),
        )
        .await;
    assert_eq!((status, &sub["enabled"]), (201, &json!(true)), "{sub}");
    let (status, sub) = admin
        .call(
            "POST",
            "/admin/destinations/crm/subscriptions/Track%20Calls/disable",
            None,
        )
        .await;
    assert_eq!((status, &sub["enabled"]), (200, &json!(false)), "{sub}");
    track(&ingest, "Ignored Now", 2).await;
    page(&ingest, "Pricing", 3).await;
    let got = received(&mock, 2).await;
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(braze_events(&got[1]), ["Viewed Pricing"]);

    // A subscription is renamed by replacing it; a name taken is a conflict.
    let renamed = json!({"name": "Pricing Views", "action": "trackEvent",
        "trigger": "type = \"page\" and name = \"Pricing\"",
        "mapping": {"name": "Viewed Pricing"}});
    let path = "/admin/destinations/crm/subscriptions/Viewed%20Pricing";
    let (status, sub) = admin.call("PUT", path, Some(renamed)).await;
    assert_eq!(
        (status, &sub["name"]),
        (200, &json!("Pricing Views")),
        "{sub}"
    );
    assert_eq!(admin.get(path).await.0, 404);
    let taken =
        json!({"name": "Track Calls", "action": "trackEvent", "trigger": "type = \"page\""});
    let path = "/admin/destinations/crm/subscriptions/Pricing%20Views";
    assert_eq!(admin.call("PUT", path, Some(taken)).await.0, 409);
    let (status, _) = admin
        .call(
            "DELETE",
            "/admin/destinations/crm/subscriptions/Identify%20Calls",
            None,
        )
        .await;
    assert_eq!(status, 200);

    // An update may send the mask back for a secret: the stored value stays.
    let (_, shown) = admin.get("/admin/destinations/crm").await;
    let mut changed = json!({"name": "crm", "plugin": "braze", "settings": shown["settings"],
        "redirect_outbound": mock.url(""), "delivery": {"batch_wait_ms": 50}});
    changed["settings"]["app_id"] = json!("app-7");
    let (status, updated) = admin
        .call("PUT", "/admin/destinations/crm", Some(changed.clone()))
        .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["settings"]["app_id"], "app-7");
    // Every preset but "Identify Calls", and "Pricing Views".
    assert_eq!(names(&updated["subscriptions"]).len(), presets.len());
    changed["name"] = json!("renamed");
    assert_eq!(
        admin
            .call("PUT", "/admin/destinations/crm", Some(changed))
            .await
            .0,
        400
    );
    page(&ingest, "Pricing", 4).await;
    let got = received(&mock, 3).await;
    assert_eq!(
        got[2].header("authorization"),
        Some(&*format!("Bearer {SECRET}"))
    );

    // The configuration file's destinations are shown, and changed only in the file.
    let (_, all) = admin.get("/admin/destinations").await;
    let managed: Vec<(String, String)> = all["destinations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let text = |k: &str| d[k].as_str().unwrap().to_string();
            (text("name"), text("managed_by"))
        })
        .collect();
    assert_eq!(
        managed,
        [
            ("chat".to_string(), "config file".to_string()),
            ("crm".to_string(), "admin API".to_string())
        ]
    );
    for (method, path) in [
        ("DELETE", "/admin/destinations/chat"),
        ("POST", "/admin/destinations/chat/disable"),
        ("DELETE", "/admin/destinations/chat/subscriptions/Trips"),
    ] {
        let (status, answer) = admin.call(method, path, None).await;
        assert_eq!(status, 409, "{method} {path}: {answer}");
        assert!(
            answer["error"].as_str().unwrap().contains("config file"),
            "{answer}"
        );
    }

    // Kept in the data folder, readable by its owner only, and back after a restart.
    let store = dir.path().join("data/destinations.json");
    let kept = std::fs::read_to_string(&store).unwrap();
    assert!(kept.contains(SECRET) && kept.contains("app-7"), "{kept}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&store).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    crate::serve::stop(&mut s.child).await;
    let mut logs: Vec<String> = s.logs.lock().unwrap().clone();
    s = start(&config, &[]).await;
    admin.client = Client::new(&s.admin);
    let (status, again) = admin.get("/admin/destinations/crm").await;
    assert_eq!(status, 200);
    assert_eq!(again["settings"]["app_id"], "app-7");
    assert_eq!(again["subscriptions"], updated["subscriptions"]);

    // Switched off, it stops; deleted, it is gone from the API and the store.
    let (status, off) = admin
        .call("POST", "/admin/destinations/crm/disable", None)
        .await;
    assert_eq!((status, &off["running"]), (200, &json!(false)), "{off}");
    let (status, gone) = admin.call("DELETE", "/admin/destinations/crm", None).await;
    assert_eq!((status, &gone["deleted"]), (200, &json!("crm")), "{gone}");
    assert_eq!(admin.get("/admin/destinations/crm").await.0, 404);
    assert!(!std::fs::read_to_string(&store).unwrap().contains("crm"));

    // The secret was never in an answer, nor in the log.
    logs.extend(s.logs.lock().unwrap().iter().cloned());
    for text in admin.answers.iter().chain(&logs) {
        assert!(!text.contains(SECRET), "the secret leaked: {text}");
    }
    s.child.kill().await.unwrap();
}

#[tokio::test]
async fn deliveries_and_dead_letters_are_read_replayed_and_purged_through_the_admin_api() {
    let mock = Mock::start().await;
    // Slack refuses the first two messages for good (400): they become dead letters.
    mock.push(Reply::new(400, "invalid_payload"));
    mock.push(Reply::new(400, "invalid_payload"));
    let dir = tempfile::tempdir().unwrap();
    let mut s = start(&config(dir.path(), &mock), &[]).await;
    let mut admin = Admin::new(&s);
    let ingest = Client::new(&s.ingest);
    track(&ingest, "Trip Booked", 1).await;
    track(&ingest, "Trip Booked", 2).await;
    received(&mock, 2).await;

    let (status, letters) = admin
        .get("/admin/dead-letters?destination=chat&reason=permanent")
        .await;
    assert_eq!(status, 200, "{letters}");
    let mut ids: Vec<&str> = letters["dead_letters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["message_id"].as_str().unwrap())
        .collect();
    ids.sort_unstable();
    assert_eq!(ids, ["m-1", "m-2"]);
    let (_, log) = admin
        .get("/admin/deliveries?destination=chat&limit=10")
        .await;
    let outcomes: Vec<(&str, u64)> = log["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["outcome"].as_str().unwrap(),
                a["status"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(outcomes, [("dead-letter", 400), ("dead-letter", 400)]);

    // Unknown or malformed filters are refused, naming them; purge wants a filter or "all".
    for (path, named) in [
        ("/admin/dead-letters?destnation=chat", "destnation"),
        ("/admin/dead-letters?since=yesterday", "since"),
        ("/admin/deliveries?limit=0", "limit"),
    ] {
        let (status, answer) = admin.get(path).await;
        assert_eq!(status, 400, "{path}: {answer}");
        assert!(
            answer["error"].as_str().unwrap().contains(named),
            "{answer}"
        );
    }
    let (status, _) = admin
        .call("POST", "/admin/dead-letters/purge", Some(json!({})))
        .await;
    assert_eq!(status, 400);

    // Replayed, they go out again (the mock now answers 200) and leave the dead letters.
    let (status, done) = admin
        .call(
            "POST",
            "/admin/dead-letters/replay",
            Some(json!({"destination": "chat"})),
        )
        .await;
    assert_eq!((status, &done["replayed"]), (200, &json!(2)), "{done}");
    let got = received(&mock, 4).await;
    assert_eq!(got.len(), 4);
    let mut texts: Vec<String> = got[2..]
        .iter()
        .map(|r| r.json()["text"].as_str().unwrap().to_string())
        .collect();
    texts.sort();
    assert_eq!(texts, ["u-1 booked", "u-2 booked"]);
    let (_, letters) = admin.get("/admin/dead-letters").await;
    assert_eq!(letters["dead_letters"], json!([]));
    let (_, log) = admin.get("/admin/deliveries?outcome=delivered").await;
    assert_eq!(log["deliveries"].as_array().unwrap().len(), 2, "{log}");
    let (status, purged) = admin
        .call(
            "POST",
            "/admin/dead-letters/purge",
            Some(json!({"all": true})),
        )
        .await;
    assert_eq!((status, &purged["purged"]), (200, &json!(0)));

    // A subscription tested on a recently accepted event: the newest its trigger matches.
    track(&ingest, "Something Else", 3).await;
    let (status, tested) = admin
        .call(
            "POST",
            "/admin/destinations/chat/test",
            Some(json!({"recent": true})),
        )
        .await;
    assert_eq!(status, 200, "{tested}");
    assert_eq!(tested["event"]["messageId"], "m-2");
    assert_eq!(tested["results"][0]["matched"], true);
    assert_eq!(tested["results"][0]["payload"]["text"], "u-2 booked");
    let (status, tested) = admin
        .call(
            "POST",
            "/admin/destinations/chat/test",
            Some(json!({"recent": "m-1"})),
        )
        .await;
    assert_eq!(status, 200, "{tested}");
    assert_eq!(tested["results"][0]["payload"]["text"], "u-1 booked");
    let (status, missing) = admin
        .call(
            "POST",
            "/admin/destinations/chat/test",
            Some(json!({"recent": "m-9"})),
        )
        .await;
    assert_eq!(status, 404, "{missing}");
    assert!(
        missing["error"].as_str().unwrap().contains("m-9"),
        "{missing}"
    );
    let (_, recent) = admin.get("/admin/events/recent?source=app&limit=1").await;
    assert_eq!(recent["events"][0]["event"]["messageId"], "m-3");
    s.child.kill().await.unwrap();
}
