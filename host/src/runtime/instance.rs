//! Once per invocation: a fresh store with the invocation's limits, an instance from the
//! plugin's pre-instantiation, one call, then both dropped. The store's meters (CPU ticks,
//! memory, requests, log bytes) report the first breach as a typed [`Failure`]; a trap fails
//! only this invocation.

use super::bindings::{v0_1, v0_2, v0_3, wit};
use super::failure::{Failure, Limit};
use super::limits::Breach;
use super::logs::{LogLine, Logs};
use super::outbound::{Exchange, Outbound};
use super::plugin::{InvokeOptions, Plugin};
use super::state::State;
use std::sync::{Arc, Mutex};
use wasmtime::{Store, UpdateDeadline};

/// A pre-instantiated plugin, by the WIT version it was built against.
pub(super) enum Pre {
    V0_1(v0_1::DestinationPre<State>),
    V0_2(v0_2::DestinationPre<State>),
    V0_3(v0_3::DestinationPre<State>),
}

/// One instance, by WIT version. Every version's calls take and answer the same types.
pub(super) enum Instance {
    V0_1(v0_1::Destination),
    V0_2(v0_2::Destination),
    V0_3(v0_3::Destination),
}

impl Pre {
    pub(super) async fn instantiate(&self, store: &mut Store<State>) -> wasmtime::Result<Instance> {
        Ok(match self {
            Pre::V0_1(pre) => Instance::V0_1(pre.instantiate_async(store).await?),
            Pre::V0_2(pre) => Instance::V0_2(pre.instantiate_async(store).await?),
            Pre::V0_3(pre) => Instance::V0_3(pre.instantiate_async(store).await?),
        })
    }
}

impl Instance {
    pub(super) async fn describe(
        &self,
        store: &mut Store<State>,
    ) -> wasmtime::Result<wit::Manifest> {
        match self {
            Instance::V0_1(i) => i.switchyard_destination_plugin().call_describe(store).await,
            Instance::V0_2(i) => i.switchyard_destination_plugin().call_describe(store).await,
            Instance::V0_3(i) => i.switchyard_destination_plugin().call_describe(store).await,
        }
    }

    /// Every hook (WIT 0.3); none before 0.3.
    pub(super) async fn list_hooks(
        &self,
        store: &mut Store<State>,
    ) -> wasmtime::Result<Vec<v0_3::Hook>> {
        match self {
            Instance::V0_3(i) => {
                i.switchyard_destination_hooks()
                    .call_list_hooks(store)
                    .await
            }
            Instance::V0_1(_) | Instance::V0_2(_) => Ok(Vec::new()),
        }
    }

    /// Runs one hook (WIT 0.3). Before 0.3 a plugin has none, and the manifest says so, so the
    /// host never asks.
    pub(super) async fn run_hook(
        &self,
        store: &mut Store<State>,
        (action, name, inputs, settings): (&str, &str, &str, &str),
    ) -> wasmtime::Result<Result<String, wit::ActionError>> {
        match self {
            Instance::V0_3(i) => {
                i.switchyard_destination_hooks()
                    .call_run_hook(store, action, name, inputs, settings)
                    .await
            }
            Instance::V0_1(_) | Instance::V0_2(_) => {
                wasmtime::bail!("plugins built against WIT before 0.3 have no hooks")
            }
        }
    }

    pub(super) async fn perform(
        &self,
        store: &mut Store<State>,
        action: &str,
        payload: &str,
        settings: &str,
    ) -> wasmtime::Result<Result<(), wit::ActionError>> {
        match self {
            Instance::V0_1(i) => {
                i.switchyard_destination_plugin()
                    .call_perform(store, action, payload, settings)
                    .await
            }
            Instance::V0_2(i) => {
                i.switchyard_destination_plugin()
                    .call_perform(store, action, payload, settings)
                    .await
            }
            Instance::V0_3(i) => {
                i.switchyard_destination_plugin()
                    .call_perform(store, action, payload, settings)
                    .await
            }
        }
    }

    pub(super) async fn perform_batch(
        &self,
        store: &mut Store<State>,
        action: &str,
        payloads: &[String],
        settings: &str,
    ) -> wasmtime::Result<Vec<Result<(), wit::ActionError>>> {
        match self {
            Instance::V0_1(i) => {
                i.switchyard_destination_plugin()
                    .call_perform_batch(store, action, payloads, settings)
                    .await
            }
            Instance::V0_2(i) => {
                i.switchyard_destination_plugin()
                    .call_perform_batch(store, action, payloads, settings)
                    .await
            }
            Instance::V0_3(i) => {
                i.switchyard_destination_plugin()
                    .call_perform_batch(store, action, payloads, settings)
                    .await
            }
        }
    }
}

pub(super) enum Call<'a> {
    /// `describe`, then `list-hooks` (none before WIT 0.3), in one instance.
    Describe,
    One(&'a str, &'a str, &'a str),
    Batch(&'a str, &'a [String], &'a str),
    /// Action, hook name, inputs, settings.
    Hook(&'a str, &'a str, &'a str, &'a str),
}

pub(super) enum Answer {
    Manifest(wit::Manifest, Vec<v0_3::Hook>),
    Results(Vec<Result<(), wit::ActionError>>),
    Outputs(Result<String, wit::ActionError>),
}

impl Plugin {
    /// A fresh store with the invocation's limits, and the record of its outbound requests.
    pub(super) fn store(
        &self,
        options: &InvokeOptions,
        breach: &Breach,
        logs: &Logs,
    ) -> (Store<State>, Arc<Mutex<Vec<Exchange>>>) {
        let limits = &options.limits;
        let outbound = Outbound::new(
            options.net.clone(),
            breach.clone(),
            limits.max_requests,
            limits.max_response_bytes,
            self.pool.clone(),
        );
        let mut outbound = outbound;
        outbound.plugin = self.label.clone();
        let exchanges = outbound.exchanges.clone();
        let state = State::new(limits, breach, logs, outbound, options.kv.clone());
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.memory);
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(|mut ctx| {
            let state = ctx.data_mut();
            state.cpu_ticks += 1;
            if state.cpu_ticks > state.max_cpu_ticks {
                state
                    .breach
                    .record(Failure::LimitExceeded(Limit::Cpu(state.cpu_limit)));
                wasmtime::bail!("cpu limit exceeded");
            }
            Ok(UpdateDeadline::Yield(1))
        });
        (store, exchanges)
    }

    /// Benchmark hook: the time of `n` `perform` calls on one long-lived instance, without the
    /// fresh store and instance production uses. Comparing it with [`Plugin::perform`] in the
    /// same run separates the cost of isolation from the cost of the plugin's work. With
    /// `instantiate_between`, an unrelated store and instance is also created and dropped
    /// after every call (the calls keep their own instance): what an instantiation costs the
    /// work that follows it, beside its own time.
    #[cfg(feature = "bench")]
    pub async fn time_calls_on_one_instance(
        &self,
        action: &str,
        payload: &str,
        settings: &str,
        options: &InvokeOptions,
        n: u64,
        instantiate_between: bool,
    ) -> anyhow::Result<std::time::Duration> {
        let breach = Breach::default();
        let logs = Logs::new(u64::MAX, breach.clone());
        let (mut store, _) = self.store(options, &breach, &logs);
        store.data_mut().max_cpu_ticks = u64::MAX;
        let instance = self.pre.instantiate(&mut store).await?;
        let started = std::time::Instant::now();
        for _ in 0..n {
            // Each call gets the budget and record a fresh instance would have.
            store.data_mut().outbound.start_over();
            let answer = instance
                .perform(&mut store, action, payload, settings)
                .await?;
            if let Some(failure) = breach.take() {
                anyhow::bail!("the sandbox stopped a call: {failure}");
            }
            let _ = answer;
            if instantiate_between {
                self.time_instantiations(options, 1).await?;
            }
        }
        Ok(started.elapsed())
    }

    /// Benchmark hook: the time of `n` fresh stores and instances created and dropped without a
    /// call, the fixed part of isolation.
    #[cfg(feature = "bench")]
    pub async fn time_instantiations(
        &self,
        options: &InvokeOptions,
        n: u64,
    ) -> anyhow::Result<std::time::Duration> {
        let started = std::time::Instant::now();
        for _ in 0..n {
            let breach = Breach::default();
            let logs = Logs::new(options.limits.max_log_bytes, breach.clone());
            let (mut store, _) = self.store(options, &breach, &logs);
            self.pre.instantiate(&mut store).await?;
            drop(store);
        }
        Ok(started.elapsed())
    }

    /// One invocation in a fresh store. The sandbox's breach, if any, wins over the plugin's
    /// own answer.
    pub(super) async fn call(
        &self,
        call: Call<'_>,
        options: &InvokeOptions,
    ) -> (Result<Answer, Failure>, Vec<Exchange>, Vec<LogLine>) {
        let limits = &options.limits;
        let input = match &call {
            Call::Describe => 0,
            Call::Hook(a, h, i, s) => a.len() + h.len() + i.len() + s.len(),
            Call::One(a, p, s) => a.len() + p.len() + s.len(),
            Call::Batch(a, ps, s) => a.len() + s.len() + ps.iter().map(String::len).sum::<usize>(),
        } as u64;
        if input > limits.max_input_bytes {
            let failure = Failure::LimitExceeded(Limit::Input {
                size: input,
                limit: limits.max_input_bytes,
            });
            return (Err(failure), Vec::new(), Vec::new());
        }
        let breach = Breach::default();
        let logs = Logs::new(limits.max_log_bytes, breach.clone());
        let (mut store, exchanges) = self.store(options, &breach, &logs);

        let outcome = tokio::time::timeout(limits.wall_clock(), async {
            let instance = self.pre.instantiate(&mut store).await?;
            Ok::<_, wasmtime::Error>(match call {
                Call::Describe => {
                    let manifest = instance.describe(&mut store).await?;
                    Answer::Manifest(manifest, instance.list_hooks(&mut store).await?)
                }
                Call::Hook(action, name, inputs, settings) => Answer::Outputs(
                    instance
                        .run_hook(&mut store, (action, name, inputs, settings))
                        .await?,
                ),
                Call::One(action, payload, settings) => Answer::Results(vec![
                    instance
                        .perform(&mut store, action, payload, settings)
                        .await?,
                ]),
                Call::Batch(action, payloads, settings) => Answer::Results(
                    instance
                        .perform_batch(&mut store, action, payloads, settings)
                        .await?,
                ),
            })
        })
        .await;
        drop(store);

        let lines = logs.take();
        let answer = match (breach.take(), outcome) {
            (Some(failure), _) => Err(failure),
            (None, Err(_elapsed)) => Err(Failure::LimitExceeded(Limit::WallClock(
                limits.wall_clock(),
            ))),
            (None, Ok(Ok(answer))) => Ok(answer),
            (None, Ok(Err(error))) => Err(trap(&error, &lines)),
        };
        let exchanges = std::mem::take(&mut *exchanges.lock().unwrap_or_else(|e| e.into_inner()));
        (answer, exchanges, lines)
    }
}

/// Describes a trap, with the plugin's panic message when stderr has one. Rust prints a panic as
/// `thread '…' panicked at FILE:LINE:COL:` followed by the message on the next lines.
fn trap(error: &wasmtime::Error, lines: &[LogLine]) -> Failure {
    let stderr: Vec<&str> = lines
        .iter()
        .filter(|l| l.level == "stderr")
        .map(|l| l.message.as_str())
        .collect();
    let panic = stderr
        .iter()
        .position(|l| l.contains("panicked at "))
        .map(|at| {
            let place = stderr[at].split_once("panicked at ").map_or("", |(_, p)| p);
            let message: Vec<&str> = stderr[at + 1..]
                .iter()
                .take_while(|l| !l.starts_with("note:"))
                .copied()
                .collect();
            format!("panicked at {place} {}", message.join(" "))
        });
    let message = match (panic, error.downcast_ref::<wasmtime::Trap>()) {
        (Some(p), _) => p.trim_end().to_string(),
        (None, Some(t)) => t.to_string(),
        (None, None) => format!("{error:#}"),
    };
    Failure::Trap { message }
}
