//! Delivery: per destination, a feeder (`feed.rs`) that routes the event log, and a worker that
//! takes what it routed straight from it (in memory) and what waits in the destination's
//! deliveries (retries, replays; every delivery of an `ordered` destination) from the queue,
//! running them in the sandbox (a bounded number at a time, optionally rate limited) and
//! recording each one's result as [`policy::classify`] decides, together with how far the
//! destination's cursor in the log may move (one [`EventLog::ack`] per group of results).
//!
//! Destinations share nothing but the queue's writer: a destination that times out holds only
//! its own concurrency slots, so the others keep their pace. A worker keeps about two rounds of
//! its slots leased in hand, and leases more while its attempts run, so neither a lease nor a
//! settle (each waits for a commit) leaves a slot idle.
//!
//! Batching: for a batched subscription (`enable_batching`, see [`crate::routes`]), leased
//! deliveries of one subscription are sent together, up to its batch size; a partly filled batch waits up to `batch_wait_ms` from
//! its oldest event for more. Each event's own result in the answer decides its fate.
//!
//! Stopping: workers stop leasing, attempts in flight get `grace` to finish and be settled;
//! what is still running after that is abandoned, and its deliveries are due again at the next
//! start (at least once, never lost).

pub mod breaker;
pub mod counts;
pub mod dry_run;
mod feed;
pub mod policy;
pub mod replay;
pub mod state;
#[cfg(test)]
mod tests;

use crate::queue::log::Seq;
use crate::queue::{
    self, Acked, Attempt, EventLog, FreshResult, Held, Leased, Millis, NewDelivery, Queue, Refused,
    Settled, Verdict,
};
use crate::redact::Secrets;
use crate::routes::{Route, Routes};
use crate::runtime::{Exchange, Failure, InvokeOptions};
use breaker::{Admit, Outcome};
use policy::Next;
use state::{DestinationState, DestinationStates};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, watch};
use tokio::task::JoinSet;

/// The most leased deliveries a worker holds before it starts them.
const MAX_IN_HAND: usize = 4096;

/// Chunks of routed events (up to 512 events each) a feeder may have handed over that its
/// worker has not taken yet.
const FED_CHUNKS: usize = 2;

/// The longest an idle worker waits before looking at the queue again.
const IDLE: Duration = Duration::from_secs(5);

/// Runs one worker per destination until `stop` turns true or `replaced` (the generation of
/// the routes, when they can be replaced) changes, then lets attempts in flight finish for up
/// to `grace`.
///
/// A replacement is seen by the workers the moment it is made, not when a task gets round to
/// passing it on: a worker checks before every lease, so an event accepted after a reload
/// (or a plugin rollback) answered is never taken by a worker of the routes it replaced.
pub async fn run(
    routes: Arc<Routes>,
    states: Arc<DestinationStates>,
    queue: Arc<dyn Queue>,
    log: Arc<dyn EventLog>,
    stop: watch::Receiver<bool>,
    replaced: Option<watch::Receiver<u64>>,
    grace: Duration,
) {
    let signal = Stop { stop, replaced };
    states.keep_only(&routes);
    // Destinations removed or switched off stop reading the log: switched on again, they
    // start at its end, as they would have got nothing meanwhile.
    let names = routes.destinations.iter().map(|r| r.name.clone()).collect();
    if let Err(e) = log.keep_consumers(names).await {
        tracing::warn!("Cannot forget the event log's old readers: {e}");
    }
    let mut workers = JoinSet::new();
    for (r, route) in routes.destinations.iter().enumerate() {
        // An ordered destination's deliveries wait in the queue, where a lease hands out one
        // per user at a time; the others go from the feeder to the worker in memory.
        let (store, fed) = if route.delivery.ordered {
            (feed::Store::Table, None)
        } else {
            let (to_worker, fed) = mpsc::channel(FED_CHUNKS);
            (feed::Store::Worker(to_worker), Some(fed))
        };
        workers.spawn(feed::feed(
            routes.clone(),
            r,
            log.clone(),
            signal.clone(),
            store,
        ));
        let state = states.of(route);
        let options = InvokeOptions {
            kv: state.kv.clone(),
            ..route.options.clone()
        };
        let worker = Worker {
            routes: routes.clone(),
            route: r,
            queue: queue.clone(),
            log: log.clone(),
            fed,
            state,
            states: states.clone(),
            options,
        };
        workers.spawn(worker.run(signal.clone(), grace));
    }
    while workers.join_next().await.is_some() {}
}

/// What ends a round of workers: the server stopping, or the routes being replaced.
#[derive(Clone)]
struct Stop {
    stop: watch::Receiver<bool>,
    replaced: Option<watch::Receiver<u64>>,
}

impl Stop {
    /// Whether the round is over (a closed channel counts as a stop).
    fn now(&self) -> bool {
        *self.stop.borrow()
            || self.stop.has_changed().is_err()
            || self
                .replaced
                .as_ref()
                .is_some_and(|r| r.has_changed().unwrap_or(true))
    }

    /// Resolves when either signal changes. The replacement is awaited on a copy, which takes
    /// the news; this one keeps it for [`Stop::now`].
    async fn changed(&mut self) {
        let Stop { stop, replaced } = self;
        match replaced {
            Some(replaced) => {
                let mut news = replaced.clone();
                tokio::select! {
                    _ = stop.changed() => {}
                    _ = news.changed() => {}
                }
            }
            None => {
                let _ = stop.changed().await;
            }
        }
    }
}

struct Worker {
    routes: Arc<Routes>,
    route: usize,
    queue: Arc<dyn Queue>,
    /// Where results are recorded and the cursor moves.
    log: Arc<dyn EventLog>,
    /// What the feeder routed, handed over in memory (`None` for an ordered destination).
    fed: Option<mpsc::Receiver<feed::Fed>>,
    /// The destination's breaker and key-value store, kept across rounds of workers.
    state: Arc<DestinationState>,
    /// Every destination's state, for the 24-hour counts.
    states: Arc<DestinationStates>,
    /// The route's sandbox options, with the destination's key-value store.
    options: InvokeOptions,
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

    async fn run(mut self, mut stop: Stop, grace: Duration) {
        let mut fed = self.fed.take();
        let this = Arc::new(self);
        let (results, settling) = mpsc::unbounded_channel();
        let settler = tokio::spawn(settler(
            this.log.clone(),
            this.route().name.clone(),
            settling,
        ));
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
        // The lease in flight, if any: it runs alongside the attempts, so that waiting for its
        // commit never idles a slot. `changed` is taken before a lease starts and kept until it
        // fires, so work added while the lease runs is never missed.
        let mut leasing: Option<Pin<Box<dyn Future<Output = Leasing> + Send>>> = None;
        let mut changed: Option<Pin<Box<dyn Future<Output = ()> + Send + '_>>> = None;
        // Whether `changed` fired while the lease was running: the lease may not have seen the
        // new work, so a short answer does not mean there is none.
        let mut news = false;
        loop {
            if stop.now() {
                break;
            }
            while running.try_join_next().is_some() {}
            // Deliveries in hand, counted apart by where they came from: the feeder's never
            // crowd out the leases of retries.
            let (mut from_log, mut leased) = (0, 0);
            for item in ready
                .iter()
                .flat_map(|g| &g.items)
                .chain(filling.values().flatten())
            {
                if item.seq.is_some() {
                    from_log += 1;
                } else {
                    leased += 1;
                }
            }
            let in_hand = leased;
            // After a lease that found less than it asked for, the next waits for a sign of new
            // work (`changed`) or a due time.
            if leasing.is_none() && !exhausted && in_hand <= want / 2 {
                if changed.is_none() {
                    changed = Some(this.queue.changed(&route.name));
                }
                news = false;
                leasing = Some(Box::pin(lease(
                    this.queue.clone(),
                    route.name.clone(),
                    want - in_hand,
                )));
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
            // Start what there are slots for, unless the breaker has paused the destination.
            let mut paused_until = None;
            while !ready.is_empty() {
                let Ok(permit) = slots.clone().try_acquire_owned() else {
                    break;
                };
                match this.state.breaker.admit(Instant::now()) {
                    Admit::Go => {}
                    Admit::PausedUntil(until) => {
                        paused_until = Some(until);
                        break;
                    }
                    Admit::Probing => break,
                }
                let group = ready.pop_front().expect("not empty");
                pacer.wait().await;
                let worker = this.clone();
                let results = results.clone();
                running.spawn(async move { worker.attempt(group, permit, results).await });
            }
            // Wait for a lease, a slot (when work is in hand), new work, or a due time.
            let next = [next_due, flush_at].into_iter().flatten().min();
            // Looked at again after IDLE at the latest: `switchyard dlq replay` from another
            // process adds work without waking this one.
            let wait = next.map_or(IDLE, |at| {
                Duration::from_millis((at - queue::now()).clamp(0, IDLE.as_millis() as i64) as u64)
            });
            tokio::select! {
                got = maybe(leasing.as_mut()), if leasing.is_some() => {
                    leasing = None;
                    if let Ok(leases) = got.leases {
                        exhausted = leases.items.len() < got.asked && !news;
                        next_due = leases.next_due;
                        for group in this.group(leases.items, &mut filling) {
                            ready.push_back(group);
                        }
                    }
                }
                got = maybe_recv(fed.as_mut()), if fed.is_some() && from_log < want => {
                    let mut taken = 0;
                    let mut next = got;
                    loop {
                        let Some(chunk) = next else {
                            fed = None;
                            break;
                        };
                        taken += chunk.items.len();
                        // Registered with the settler before any of them can end.
                        let _ = results.send(ToSettle::Fed {
                            seqs: chunk.items.iter().filter_map(|i| i.seq).collect(),
                            through: chunk.through,
                            refused: chunk.refused,
                        });
                        for group in this.group(chunk.items, &mut filling) {
                            ready.push_back(group);
                        }
                        // What else is waiting joins now, so batches fill before they go.
                        if from_log + taken >= want {
                            break;
                        }
                        next = match fed.as_mut().map(mpsc::Receiver::try_recv) {
                            Some(Ok(chunk)) => Some(chunk),
                            Some(Err(mpsc::error::TryRecvError::Disconnected)) => None,
                            _ => break,
                        };
                    }
                }
                Some(_) = running.join_next(), if !running.is_empty() => {}
                _ = tokio::time::sleep_until(
                    paused_until.map_or_else(tokio::time::Instant::now, tokio::time::Instant::from_std)
                ), if paused_until.is_some() => {}
                _ = maybe(changed.as_mut()), if changed.is_some() && ready.is_empty() => {
                    changed = None;
                    exhausted = false;
                    news = true;
                }
                _ = tokio::time::sleep(wait), if ready.is_empty() && leasing.is_none() => exhausted = false,
                () = stop.changed() => {}
            }
        }
        // A lease still in flight is waited for, so that what it took is handed back now.
        if let Some(lease) = leasing
            && let Ok(leases) = lease.await.leases
        {
            ready.extend(this.group(leases.items, &mut filling));
        }
        let left: Vec<Leased> = ready
            .drain(..)
            .flat_map(|g| g.items)
            .chain(filling.drain().flat_map(|(_, items)| items))
            .collect();
        if !left.is_empty() {
            this.release(left, &results);
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
            while running.join_next().await.is_some() {}
        }
        // The results of finished attempts are recorded before the worker ends.
        drop(results);
        let _ = settler.await;
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

    /// Hands deliveries back untouched: leased ones to the queue as they were, ones from the
    /// log into the destination's deliveries, due now.
    fn release(&self, items: Vec<Leased>, results: &mpsc::UnboundedSender<ToSettle>) {
        let settled = items
            .into_iter()
            .map(|item| {
                let s = Settled {
                    id: item.id,
                    verdict: Verdict::Release,
                    attempt: Attempt::default(),
                };
                (s, item)
            })
            .collect();
        let _ = results.send(ToSettle::Done(settled));
    }

    /// One invocation (one delivery, or one batch) and the settling of its deliveries.
    /// The slot is given back when the invocation ends, before the settle: a slot limits the
    /// calls made to the destination, and waiting for the settle's commit (an fsync shared
    /// with others) would idle it for no reason.
    async fn attempt(
        &self,
        group: Group,
        slot: OwnedSemaphorePermit,
        results: mpsc::UnboundedSender<ToSettle>,
    ) {
        let route = self.route();
        let started = Instant::now();
        let Some(s) = group.subscription else {
            drop(slot);
            // The configuration no longer has this subscription: keep the deliveries, visibly.
            let error = Err(Failure::Internal(
                "the subscription is no longer in the configuration".into(),
            ));
            let gone = Next::DeadLetter("subscription-removed".into());
            let settled = group
                .items
                .into_iter()
                .map(|item| {
                    let s = self.settled(&item, &error, Some(gone.clone()), None, 0);
                    (s, item)
                })
                .collect();
            let _ = results.send(ToSettle::Done(settled));
            return;
        };
        let sub = &route.subscriptions[s];
        let done = if sub.batch.is_some() {
            let payloads: Vec<String> = group.items.iter().map(|i| i.payload.clone()).collect();
            route
                .plugin
                .perform_batch(&sub.action.id, &payloads, &route.settings, &self.options)
                .await
        } else {
            let item = &group.items[0];
            route
                .plugin
                .perform(
                    &sub.action.id,
                    &item.payload,
                    &route.settings,
                    &self.options,
                )
                .await
        };
        drop(slot);
        let elapsed = started.elapsed();
        let manifest = route.plugin.manifest();
        crate::metrics::invocation(&manifest.id, &manifest.version, elapsed);
        // A sandbox stop ends the whole invocation: counted once, not once per event.
        if let Some(Err(f)) = done.results.iter().find(|r| r.is_err()) {
            match f {
                Failure::LimitExceeded(limit) => {
                    crate::metrics::limit_breach(&manifest.id, limit.name());
                }
                Failure::HostDenied { .. } | Failure::AddressDenied { .. } => {
                    crate::metrics::denied_host(&route.name);
                }
                _ => {}
            }
        }
        let outcome = Outcome::of(&done.results);
        if let Some(pause) = self
            .state
            .breaker
            .record(outcome, &route.delivery, Instant::now())
        {
            tracing::warn!(
                destination = %route.name,
                failures = self.state.breaker.status().failures_in_a_row,
                "Destination paused for {} ms after failing again and again; its events stay \
                 queued and it will be tried again after the pause.",
                pause.as_millis()
            );
        }
        let latency = elapsed.as_millis() as u64;
        let last = done.exchanges.last();
        let settled = group
            .items
            .into_iter()
            .zip(&done.results)
            .map(|(item, result)| {
                let s = self.settled(&item, result, None, last, latency);
                (s, item)
            })
            .collect();
        let _ = results.send(ToSettle::Done(settled));
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
        crate::metrics::delivery(&route.name, &item.action, outcome);
        self.states.counts.add(&route.name, outcome, now, 1);
        if let Next::DeadLetter(reason) = &next {
            crate::metrics::dead_letter(&route.name, reason);
        }
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
                replayed: item.replayed,
            },
        }
    }
}

/// The most results recorded in one ack, and the longest the first of them waits for others
/// to join it. One commit per attempt would cost a dozen page writes for each delivery; a few
/// milliseconds' wait lets one commit carry dozens. Until its ack lands, a leased delivery
/// stays leased and an event from the log stays ahead of the cursor: a crash in between makes
/// it again (at least once).
const SETTLE_MAX: usize = 512;
const SETTLE_WAIT: Duration = Duration::from_millis(5);

/// What the settler is told, in the order things happen.
enum ToSettle {
    /// The worker took a chunk from the feeder: one entry per delivery (its event's sequence
    /// number), the last sequence number routed, and the payloads that could not be built.
    Fed {
        seqs: Vec<Seq>,
        through: Seq,
        refused: Vec<(String, String, Millis, Refused)>,
    },
    /// Deliveries that ended (or were handed back), each with its result.
    Done(Vec<(Settled, Leased)>),
}

/// How far a destination's cursor may move: past every event the worker took whose
/// deliveries all have their results, and no further than the first that has one waiting.
#[derive(Default)]
struct Floor {
    /// Deliveries still without a result, by their event's sequence number.
    waiting: BTreeMap<Seq, usize>,
    /// The last sequence number the worker took.
    read: Seq,
}

impl Floor {
    fn fed(&mut self, seqs: Vec<Seq>, through: Seq) {
        for seq in seqs {
            *self.waiting.entry(seq).or_default() += 1;
        }
        self.read = self.read.max(through);
    }

    fn done(&mut self, seq: Seq) {
        if let Some(n) = self.waiting.get_mut(&seq) {
            *n -= 1;
            if *n == 0 {
                self.waiting.remove(&seq);
            }
        }
    }

    fn through(&self) -> Seq {
        self.waiting
            .keys()
            .next()
            .map_or(self.read, |first| first - 1)
    }
}

/// Records the results the worker's attempts send, gathered into acks of up to
/// [`SETTLE_MAX`], each moving the cursor as far as [`Floor`] allows. Ends when every sender is
/// gone and what they sent is recorded.
async fn settler(
    log: Arc<dyn EventLog>,
    destination: String,
    mut inbox: mpsc::UnboundedReceiver<ToSettle>,
) {
    let mut floor = Floor::default();
    let mut acked_through: Seq = 0;
    // After an ack that could not be recorded, the cursor stays where it is for the rest of
    // the round: moving it on would skip the events whose results were lost.
    let mut stuck = false;
    while let Some(first) = inbox.recv().await {
        let mut acked = Acked::default();
        let mut results = take(&mut floor, &destination, first, &mut acked);
        let deadline = tokio::time::Instant::now() + SETTLE_WAIT;
        while results < SETTLE_MAX {
            match tokio::time::timeout_at(deadline, inbox.recv()).await {
                Ok(Some(more)) => results += take(&mut floor, &destination, more, &mut acked),
                Ok(None) | Err(_) => break,
            }
        }
        let through = floor.through();
        if !stuck && through > acked_through {
            acked.through = Some(through);
        }
        if acked == Acked::default() {
            continue;
        }
        if ack(&*log, &destination, acked).await {
            acked_through = acked_through.max(through);
        } else {
            stuck = true;
        }
    }
}

/// Adds one message to the ack being gathered; answers how many results it held.
fn take(floor: &mut Floor, destination: &str, message: ToSettle, acked: &mut Acked) -> usize {
    match message {
        ToSettle::Fed {
            seqs,
            through,
            refused,
        } => {
            floor.fed(seqs, through);
            acked.refused.extend(refused);
            0
        }
        ToSettle::Done(done) => {
            let n = done.len();
            for (settled, item) in done {
                let Some(seq) = item.seq else {
                    acked.settled.push(settled);
                    continue;
                };
                floor.done(seq);
                acked.fresh.push(FreshResult {
                    delivery: Held {
                        delivery: NewDelivery {
                            destination: destination.to_string(),
                            subscription: item.subscription,
                            action: item.action,
                            payload: item.payload,
                            order_key: None,
                        },
                        source: item.source,
                        message_id: item.message_id,
                        accepted_at: item.accepted_at,
                        due_at: item.accepted_at,
                        attempts: item.attempts,
                        replayed: item.replayed,
                    },
                    verdict: settled.verdict,
                    attempt: settled.attempt,
                });
            }
            n
        }
    }
}

/// Records an ack, retrying while the queue is busy or failing; answers whether it landed.
/// One that never lands leaves its leased deliveries leased and its events ahead of the
/// cursor until the next start, when they are made again.
async fn ack(log: &dyn EventLog, destination: &str, acked: Acked) -> bool {
    let mut wait = Duration::from_millis(10);
    for _ in 0..10 {
        match log.ack(destination, acked.clone(), queue::now()).await {
            Ok(()) => return true,
            Err(e) => {
                tracing::warn!(destination = %destination, "Cannot record delivery results yet: {e}");
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(5));
            }
        }
    }
    tracing::error!(
        destination = %destination,
        deliveries = acked.settled.len() + acked.fresh.len(),
        "Could not record delivery results; these deliveries will be made again at the next start."
    );
    false
}

/// Receives from a channel that may not be there.
async fn maybe_recv<T>(rx: Option<&mut mpsc::Receiver<T>>) -> Option<T> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// Awaits a future that may not be there (a `select!` branch is built even when disabled).
async fn maybe<F: Future + Unpin>(future: Option<&mut F>) -> F::Output {
    match future {
        Some(future) => future.await,
        None => std::future::pending().await,
    }
}

/// What a lease came to, and how many deliveries it asked for.
struct Leasing {
    asked: usize,
    leases: Result<queue::Leases, queue::QueueError>,
}

/// Leases up to `max` deliveries of `destination`. After a failure it waits a second before
/// answering, so that a queue that cannot be read is not asked again at once.
async fn lease(queue: Arc<dyn Queue>, destination: String, max: usize) -> Leasing {
    let leases = queue.lease(&destination, max, queue::now()).await;
    if let Err(e) = &leases {
        tracing::warn!(destination = %destination, "Cannot lease deliveries: {e}");
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    Leasing { asked: max, leases }
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
