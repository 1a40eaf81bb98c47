//! The worker's conversation with the queue, seen through a queue that counts leases.

use crate::config::Config;
use crate::ingest::Sink;
use crate::ingest::intake::Intake;
use crate::queue::sqlite::{self, Retention, SqliteQueue};
use crate::queue::{Enqueued, Leases, Millis, NewEvent, Queue, QueueFuture, Settled};
use crate::routes::Routes;
use std::collections::HashMap;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// The SQLite queue, counting the leases asked of it.
struct Counting {
    inner: Arc<SqliteQueue>,
    leases: AtomicUsize,
}

impl Queue for Counting {
    fn enqueue(&self, events: Vec<NewEvent>, now: Millis) -> QueueFuture<'_, Enqueued> {
        self.inner.enqueue(events, now)
    }
    fn lease(&self, destination: &str, max: usize, now: Millis) -> QueueFuture<'_, Leases> {
        self.leases.fetch_add(1, Ordering::SeqCst);
        self.inner.lease(destination, max, now)
    }
    fn settle(&self, settled: Vec<Settled>, now: Millis) -> QueueFuture<'_, ()> {
        self.inner.settle(settled, now)
    }
    fn changed(&self, destination: &str) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        self.inner.changed(destination)
    }
}

/// One webhook destination whose vendor does not answer (its one attempt fails and waits a
/// minute for its retry), and a SQLite queue in a folder of its own.
struct Setup {
    routes: Arc<Routes>,
    dir: tempfile::TempDir,
    sqlite: Arc<SqliteQueue>,
}

async fn setup() -> Setup {
    let config = Config::parse(
        r#"
        [[sources]]
        name = "app"
        write_key = "k"
        [[destinations]]
        name = "hook"
        plugin = "webhook"
        allowed_hosts = ["https://hooks.example"]
        # Nothing listens here: the one event below fails and waits a minute for its retry.
        redirect_outbound = "http://127.0.0.1:9"
          [destinations.delivery]
          initial_backoff_ms = 60000
          max_backoff_ms = 60000
          [[destinations.subscriptions]]
          name = "All"
          action = "send"
          trigger = 'type = "track"'
            [destinations.subscriptions.mapping]
            url = "https://hooks.example/in"
        "#,
        "test",
        |_| Err::<String, _>("no environment"),
    )
    .unwrap();
    let runtime = crate::runtime::Runtime::new(&Default::default()).unwrap();
    let webhook = crate::bundled::find("webhook").unwrap();
    let plugin = runtime.load(webhook, "webhook").await.unwrap();
    let plugins: HashMap<_, _> = [("webhook".to_string(), plugin)].into_iter().collect();
    let routes = Arc::new(Routes::build(&config, &plugins).unwrap());
    let dir = tempfile::tempdir().unwrap();
    let sqlite =
        Arc::new(SqliteQueue::open(&sqlite::path_in(dir.path()), Retention::default()).unwrap());
    // The destination reads the log from before the first event, as the server arranges.
    crate::queue::EventLog::open_consumer(&*sqlite, "hook", crate::queue::log::Start::End, 0)
        .await
        .unwrap();
    Setup {
        routes,
        dir,
        sqlite,
    }
}

/// An intake over `setup`'s routes and queue.
fn intake(setup: &Setup) -> Intake {
    Intake {
        log: setup.sqlite.clone(),
        recent: Default::default(),
    }
}

fn event(id: &str) -> crate::ingest::message::Accepted {
    crate::ingest::message::Accepted::of(&serde_json::json!({"type": "track", "event": "E",
        "userId": "u", "messageId": id, "properties": {}}))
}

#[tokio::test(flavor = "multi_thread")]
async fn an_idle_worker_waits_for_work_instead_of_asking_again_and_again() {
    let setup = setup().await;
    let (routes, sqlite, dir) = (setup.routes.clone(), setup.sqlite.clone(), &setup.dir);
    let queue = Arc::new(Counting {
        inner: sqlite.clone(),
        leases: AtomicUsize::new(0),
    });
    let (stop, stopping) = tokio::sync::watch::channel(false);
    let workers = tokio::spawn(super::run(
        routes.clone(),
        Arc::default(),
        queue.clone(),
        sqlite.clone(),
        stopping,
        None,
        Duration::from_secs(1),
    ));

    // Nothing queued: one look, then a wait for news.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let idle = queue.leases.load(Ordering::SeqCst);
    assert!((1..=2).contains(&idle), "{idle} leases while idle");

    // An accepted event wakes the worker at once; after its failed attempt, it waits again.
    intake(&setup)
        .take("app".into(), vec![event("m-1")])
        .await
        .unwrap();
    let log = sqlite::attach(&sqlite::path_in(dir.path())).unwrap();
    let mut attempts = Vec::new();
    for _ in 0..100 {
        attempts = sqlite::attempts(&log, &Default::default()).unwrap();
        if !attempts.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(attempts.len(), 1, "the event was attempted once");
    let woken = queue.leases.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let later = queue.leases.load(Ordering::SeqCst);
    assert!(
        later - woken <= 2,
        "{} leases after the attempt",
        later - woken
    );

    let _ = stop.send(true);
    workers.await.unwrap();
}

/// Workers of replaced routes stop the moment the replacement is made: an event accepted after
/// it stays queued for the next round instead of going through the old routes (an operator who
/// rolled a plugin back gets the old version for every event accepted after the answer).
#[tokio::test(flavor = "multi_thread")]
async fn workers_of_replaced_routes_take_nothing_accepted_after_the_replacement() {
    let setup = setup().await;
    let (_stop, stopping) = tokio::sync::watch::channel(false);
    let (generation, replaced) = tokio::sync::watch::channel(0u64);
    let workers = tokio::spawn(super::run(
        setup.routes.clone(),
        Arc::default(),
        setup.sqlite.clone(),
        setup.sqlite.clone(),
        stopping,
        Some(replaced),
        Duration::from_secs(1),
    ));
    // The workers are up and waiting for work.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!workers.is_finished());

    generation.send_modify(|g| *g += 1);
    intake(&setup)
        .take("app".into(), vec![event("m-after")])
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(5), workers)
        .await
        .expect("the workers end once their routes are replaced")
        .unwrap();
    let log = sqlite::attach(&sqlite::path_in(setup.dir.path())).unwrap();
    assert_eq!(
        sqlite::attempts(&log, &Default::default()).unwrap(),
        Vec::new(),
        "no attempt was made by the replaced routes"
    );
    assert_eq!(sqlite::pending(&log).unwrap(), Vec::new());
    let lag = crate::queue::log::lag(&log).unwrap();
    assert_eq!(
        (lag[0].consumer.as_str(), lag[0].events),
        ("hook", 1),
        "the event waits in the log for the next round"
    );
}

/// The cursor moves past an event only once every delivery it made has a result, and past
/// events that made none.
#[test]
fn the_floor_waits_for_every_delivery_of_an_event() {
    let mut floor = super::Floor::default();
    assert_eq!(floor.through(), 0);
    // Events 1 (two deliveries) and 3 (one); 2, 4 and 5 made none.
    floor.fed(vec![1, 1, 3], 5);
    assert_eq!(floor.through(), 0);
    floor.done(1);
    assert_eq!(
        floor.through(),
        0,
        "one of event 1's deliveries has no result yet"
    );
    floor.done(3);
    assert_eq!(
        floor.through(),
        0,
        "a later event's result does not move it"
    );
    floor.done(1);
    assert_eq!(floor.through(), 5);
    floor.fed(vec![8], 9);
    assert_eq!(floor.through(), 7);
    floor.done(8);
    assert_eq!(floor.through(), 9);
    // A result for something never fed changes nothing.
    floor.done(42);
    assert_eq!(floor.through(), 9);
}
