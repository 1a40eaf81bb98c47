//! Delivery workers: one per destination, each leasing its own deliveries from the queue,
//! running them in the sandbox (a bounded number at a time, optionally rate limited) and
//! settling each one as [`policy::classify`] decides.
//!
//! Destinations share nothing but the queue's writer: a destination that times out holds only
//! its own concurrency slots, so the others keep their pace. A worker leases no more than it has
//! free slots for, so nothing sits leased waiting for a slot.
//!
//! Batching: for a batched subscription (`enable_batching`, see [`crate::routes`]), leased
//! deliveries of one subscription are sent together, up to its batch size; a partly filled batch waits up to `batch_wait_ms` from
//! its oldest event for more. Each event's own result in the answer decides its fate.
//!
//! Stopping: workers stop leasing, attempts in flight get `grace` to finish and be settled;
//! what is still running after that is abandoned, and its deliveries are due again at the next
//! start (at least once, never lost).

pub mod policy;

use crate::queue::{self, Attempt, Leased, Millis, Queue, Settled, Verdict};
use crate::redact::Secrets;
use crate::routes::{Route, Routes};
use crate::runtime::{Exchange, Failure};
use policy::Next;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

/// The most leased deliveries a worker holds before it starts them.
const MAX_IN_HAND: usize = 4096;

/// The longest an idle worker waits before looking at the queue again.
const IDLE: Duration = Duration::from_secs(5);

/// Runs one worker per destination until `stop` turns true, then lets attempts in flight
/// finish for up to `grace`.
pub async fn run(
    routes: Arc<Routes>,
    queue: Arc<dyn Queue>,
    stop: watch::Receiver<bool>,
    grace: Duration,
) {
    let mut workers = JoinSet::new();
    for r in 0..routes.destinations.len() {
        let worker = Worker {
            routes: routes.clone(),
            route: r,
            queue: queue.clone(),
        };
        workers.spawn(worker.run(stop.clone(), grace));
    }
    while workers.join_next().await.is_some() {}
}

struct Worker {
    routes: Arc<Routes>,
    route: usize,
    queue: Arc<dyn Queue>,
}

/// Deliveries of one subscription sent in one invocation.
struct Group {
    subscription: Option<usize>,
    items: Vec<Leased>,
}

impl Worker {
    fn route(&self) -> &Route {
        &self.routes.destinations[self.route]
    }

    async fn run(self, mut stop: watch::Receiver<bool>, grace: Duration) {
        let this = Arc::new(self);
        let route = this.route();
        let concurrency = route.delivery.concurrency as usize;
        let slots = Arc::new(Semaphore::new(concurrency));
        let mut pacer = Pacer::new(route.delivery.rate_limit);
        let mut running = JoinSet::new();
        let widest = route
            .subscriptions
            .iter()
            .filter_map(|s| s.batch)
            .max()
            .unwrap_or(1) as usize;
        // Leased deliveries are kept in hand for two rounds of invocations, and the queue is
        // asked for more when half are used: one lease per delivery would cost a queue request
        // (and its share of an fsync) per delivery.
        let want = (2 * concurrency * widest).min(MAX_IN_HAND);
        // Invocations ready to go, and partly filled batches waiting for more, by subscription.
        let mut ready: VecDeque<Group> = VecDeque::new();
        let mut filling: HashMap<usize, Vec<Leased>> = HashMap::new();
        let batch_wait = route.delivery.batch_wait_ms as Millis;
        let mut next_due: Option<Millis> = None;
        let mut exhausted = false;
        loop {
            if *stop.borrow() || stop.has_changed().is_err() {
                break;
            }
            while running.try_join_next().is_some() {}
            let changed = this.queue.changed(&route.name);
            let in_hand: usize = ready.iter().map(|g| g.items.len()).sum::<usize>()
                + filling.values().map(Vec::len).sum::<usize>();
            if in_hand <= want / 2 && !(exhausted && in_hand > 0) {
                match this
                    .queue
                    .lease(&route.name, want - in_hand, queue::now())
                    .await
                {
                    Ok(leases) => {
                        exhausted = leases.items.len() < want - in_hand;
                        next_due = leases.next_due;
                        for group in this.group(leases.items, &mut filling) {
                            ready.push_back(group);
                        }
                    }
                    Err(e) => {
                        tracing::warn!(destination = %route.name, "Cannot lease deliveries: {e}");
                        tokio::select! {
                            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                            _ = stop.changed() => {}
                        }
                        continue;
                    }
                }
            }
            // Batches that are full, or whose oldest event has waited long enough, go now.
            let now = queue::now();
            let mut flush_at: Option<Millis> = None;
            filling.retain(|&s, items| {
                let max = route.subscriptions[s].batch.unwrap_or(1) as usize;
                let oldest = items.iter().map(|i| i.accepted_at).min().unwrap_or(now);
                if items.len() >= max || oldest + batch_wait <= now {
                    let group = Group {
                        subscription: Some(s),
                        items: std::mem::take(items),
                    };
                    ready.extend(this.chunks(group));
                    false
                } else {
                    let at = oldest + batch_wait;
                    flush_at = Some(flush_at.map_or(at, |f: Millis| f.min(at)));
                    true
                }
            });
            // Start what there are slots for.
            let mut started = false;
            while !ready.is_empty() {
                let Ok(permit) = slots.clone().try_acquire_owned() else {
                    break;
                };
                let group = ready.pop_front().expect("not empty");
                pacer.wait().await;
                let worker = this.clone();
                running.spawn(async move {
                    worker.attempt(group).await;
                    drop(permit);
                });
                started = true;
            }
            if started && ready.is_empty() && !exhausted {
                continue;
            }
            // Wait for a slot (when work is in hand), new work, or a due time.
            let next = [next_due, flush_at].into_iter().flatten().min();
            // Looked at again after IDLE at the latest: `switchyard dlq replay` from another
            // process adds work without waking this one.
            let wait = next.map_or(IDLE, |at| {
                Duration::from_millis((at - queue::now()).clamp(0, IDLE.as_millis() as i64) as u64)
            });
            tokio::select! {
                Some(_) = running.join_next(), if !running.is_empty() => {}
                _ = changed, if ready.is_empty() => exhausted = false,
                _ = tokio::time::sleep(wait), if ready.is_empty() => exhausted = false,
                _ = stop.changed() => {}
            }
        }
        let left: Vec<Leased> = ready
            .drain(..)
            .flat_map(|g| g.items)
            .chain(filling.drain().flat_map(|(_, items)| items))
            .collect();
        if !left.is_empty() {
            this.release(left).await;
        }
        if tokio::time::timeout(grace, async {
            while running.join_next().await.is_some() {}
        })
        .await
        .is_err()
        {
            tracing::warn!(
                destination = %route.name,
                attempts = running.len(),
                "Stopping with attempts still running; they will be made again at the next start."
            );
            running.abort_all();
        }
    }

    /// Sorts leased deliveries into invocations: batchable ones join their subscription's
    /// filling batch, the rest go one by one.
    fn group(&self, items: Vec<Leased>, filling: &mut HashMap<usize, Vec<Leased>>) -> Vec<Group> {
        let route = self.route();
        let mut single = Vec::new();
        for item in items {
            let s = route
                .subscriptions
                .iter()
                .position(|s| s.name == item.subscription && s.action.id == item.action);
            match s {
                Some(s) if route.subscriptions[s].batch.is_some() => {
                    filling.entry(s).or_default().push(item);
                }
                _ => single.push(Group {
                    subscription: s,
                    items: vec![item],
                }),
            }
        }
        single
    }

    /// Splits a group into invocations no larger than the action's batch size.
    fn chunks(&self, group: Group) -> Vec<Group> {
        let max = group
            .subscription
            .and_then(|s| self.route().subscriptions[s].batch)
            .unwrap_or(1)
            .max(1) as usize;
        let mut items = group.items;
        let mut out = Vec::new();
        while items.len() > max {
            let rest = items.split_off(max);
            out.push(Group {
                subscription: group.subscription,
                items,
            });
            items = rest;
        }
        out.push(Group {
            subscription: group.subscription,
            items,
        });
        out
    }

    /// Hands leased deliveries back untouched.
    async fn release(&self, items: Vec<Leased>) {
        let settled = items
            .into_iter()
            .map(|item| Settled {
                id: item.id,
                verdict: Verdict::Release,
                attempt: Attempt::default(),
            })
            .collect();
        self.settle(settled).await;
    }

    /// One invocation (one delivery, or one batch) and the settling of its deliveries.
    async fn attempt(&self, group: Group) {
        let route = self.route();
        let started = Instant::now();
        let Some(s) = group.subscription else {
            // The configuration no longer has this subscription: keep the deliveries, visibly.
            let error = Err(Failure::Internal(
                "the subscription is no longer in the configuration".into(),
            ));
            let gone = Next::DeadLetter("subscription-removed".into());
            let settled = group
                .items
                .iter()
                .map(|item| self.settled(item, &error, Some(gone.clone()), None, 0))
                .collect();
            self.settle(settled).await;
            return;
        };
        let sub = &route.subscriptions[s];
        let done = if sub.batch.is_some() {
            let payloads: Vec<String> = group.items.iter().map(|i| i.payload.clone()).collect();
            route
                .plugin
                .perform_batch(&sub.action.id, &payloads, &route.settings, &route.options)
                .await
        } else {
            let item = &group.items[0];
            route
                .plugin
                .perform(
                    &sub.action.id,
                    &item.payload,
                    &route.settings,
                    &route.options,
                )
                .await
        };
        let latency = started.elapsed().as_millis() as u64;
        let last = done.exchanges.last();
        let settled = group
            .items
            .iter()
            .zip(&done.results)
            .map(|(item, result)| self.settled(item, result, None, last, latency))
            .collect();
        self.settle(settled).await;
    }

    /// The verdict and log entry for one delivery's result.
    /// `decided` overrides the policy's decision (a delivery that cannot be attempted at all).
    fn settled(
        &self,
        item: &Leased,
        result: &Result<(), Failure>,
        decided: Option<Next>,
        last: Option<&Exchange>,
        latency_ms: u64,
    ) -> Settled {
        let route = self.route();
        let now = queue::now();
        let attempts = item.attempts + 1;
        let age = Duration::from_millis((now - item.accepted_at).max(0) as u64);
        let next = decided.unwrap_or_else(|| {
            policy::classify(result, attempts, age, &route.delivery, policy::random())
        });
        let error = result
            .as_ref()
            .err()
            .map(|f| route.secrets.mask(&f.to_string()));
        let (verdict, outcome) = match &next {
            Next::Delivered => (Verdict::Delivered, "delivered"),
            Next::Retry(wait) => (
                Verdict::Retry {
                    due_at: now + wait.as_millis() as Millis,
                },
                "retry",
            ),
            Next::DeadLetter(reason) => (
                Verdict::DeadLetter {
                    reason: reason.clone(),
                },
                "dead-letter",
            ),
        };
        match &next {
            Next::Delivered => tracing::debug!(
                destination = %route.name, subscription = %item.subscription,
                message_id = %item.message_id, "Delivered."
            ),
            Next::Retry(wait) => tracing::info!(
                destination = %route.name, subscription = %item.subscription,
                message_id = %item.message_id, attempts,
                "Delivery failed; retrying in {} ms: {}", wait.as_millis(),
                error.as_deref().unwrap_or("")
            ),
            Next::DeadLetter(reason) => tracing::warn!(
                destination = %route.name, subscription = %item.subscription,
                message_id = %item.message_id, attempts, reason = %reason,
                "Delivery failed for good; moved to dead letters: {}",
                error.as_deref().unwrap_or("")
            ),
        }
        Settled {
            id: item.id,
            verdict,
            attempt: Attempt {
                at: now,
                source: item.source.clone(),
                destination: route.name.clone(),
                subscription: item.subscription.clone(),
                action: item.action.clone(),
                message_id: item.message_id.clone(),
                outcome: outcome.into(),
                status: last
                    .and_then(|x| x.status)
                    .or(result.as_ref().err().and_then(Failure::status)),
                latency_ms,
                error,
                request: last.map(|x| summary(x, &route.secrets)),
            },
        }
    }

    /// Settles, retrying while the queue is busy or failing: a settle that never lands leaves
    /// the deliveries leased until the next start, when they are made again.
    async fn settle(&self, settled: Vec<Settled>) {
        let mut wait = Duration::from_millis(10);
        for _ in 0..10 {
            match self.queue.settle(settled.clone(), queue::now()).await {
                Ok(()) => return,
                Err(e) => {
                    tracing::warn!(destination = %self.route().name, "Cannot record delivery results yet: {e}");
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(Duration::from_secs(5));
                }
            }
        }
        tracing::error!(
            destination = %self.route().name,
            deliveries = settled.len(),
            "Could not record delivery results; these deliveries will be made again at the next start."
        );
    }
}

/// `METHOD URL → status` (or the error), with secret values masked.
fn summary(x: &Exchange, secrets: &Secrets) -> String {
    let answer = match (x.status, &x.error) {
        (Some(s), _) => s.to_string(),
        (None, Some(e)) => e.clone(),
        (None, None) => "no answer".into(),
    };
    secrets.mask(&format!("{} {} → {answer}", x.method, x.url))
}

/// Spaces invocations to at most `rate` per second.
struct Pacer {
    every: Option<Duration>,
    next: tokio::time::Instant,
}

impl Pacer {
    fn new(rate: u32) -> Pacer {
        Pacer {
            every: (rate > 0).then(|| Duration::from_secs(1) / rate),
            next: tokio::time::Instant::now(),
        }
    }

    async fn wait(&mut self) {
        let Some(every) = self.every else { return };
        let now = tokio::time::Instant::now();
        if self.next > now {
            tokio::time::sleep_until(self.next).await;
        }
        self.next = self.next.max(now) + every;
    }
}
