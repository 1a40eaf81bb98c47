//! Once per plugin version: a loaded [`Plugin`] (its manifest, hash and pre-instantiation) and
//! the calls it answers. Every call runs in a fresh instance (`instance.rs`), so nothing a
//! plugin keeps in memory outlives one invocation.

use super::allow::AllowList;
use super::convert;
use super::engine::LoadError;
use super::failure::Failure;
use super::instance::{Answer, Call, Pre};
use super::kv::Kv;
use super::logs::LogLine;
use super::outbound::{Exchange, NetPolicy};
use super::pool::Pool;
use crate::model::{Limits, Manifest};
use std::sync::Arc;
use wasmtime::Engine;

impl Manifest {
    pub(super) fn empty() -> Manifest {
        Manifest {
            id: String::new(),
            name: String::new(),
            version: String::new(),
            description: String::new(),
            settings: Vec::new(),
            allowed_hosts: Vec::new(),
            presets: Vec::new(),
            actions: Vec::new(),
        }
    }
}

/// How one invocation runs: its limits and its network policy.
#[derive(Debug, Clone, Default)]
pub struct InvokeOptions {
    pub limits: Limits,
    pub net: Arc<NetPolicy>,
    /// The destination's key-value store (WIT 0.2 `kv`), shared by its invocations.
    pub kv: Arc<Kv>,
}

/// What one invocation did.
#[derive(Debug, Clone, Default)]
pub struct Invocation {
    /// One result per payload, in order.
    pub results: Vec<Result<(), Failure>>,
    /// Every outbound request, in the order made.
    pub exchanges: Vec<Exchange>,
    pub logs: Vec<LogLine>,
}

/// What one hook run did.
#[derive(Debug, Clone)]
pub struct HookRun {
    /// The hook's outputs, or why there are none.
    pub outputs: Result<serde_json::Map<String, serde_json::Value>, Failure>,
    /// Every outbound request, in the order made.
    pub exchanges: Vec<Exchange>,
    pub logs: Vec<LogLine>,
}

/// One loaded plugin version.
pub struct Plugin {
    pub(super) hash: String,
    pub(super) origin: String,
    pub(super) loaded_at: std::time::SystemTime,
    /// `id@version#hash` (first 12 hex digits), naming this version in redirected requests.
    pub(super) label: Arc<str>,
    pub(super) manifest: Manifest,
    pub(super) pre: Pre,
    pub(super) engine: Engine,
    /// The runtime's kept-alive outbound connections.
    pub(super) pool: Pool,
}

impl std::fmt::Debug for Plugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plugin")
            .field("id", &self.manifest.id)
            .field("version", &self.manifest.version)
            .field("hash", &self.hash)
            .finish()
    }
}

impl Plugin {
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The SHA-256 of the component's bytes, hex-encoded.
    pub fn hash(&self) -> &str {
        &self.hash
    }

    /// Where the plugin was loaded from.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// When this version was loaded.
    pub fn loaded_at(&self) -> std::time::SystemTime {
        self.loaded_at
    }

    /// The version of the `switchyard:destination` WIT package the plugin was built against
    /// (its minor version: "0.1", "0.2" or "0.3").
    pub fn wit_version(&self) -> &'static str {
        match self.pre {
            Pre::V0_1(_) => "0.1",
            Pre::V0_2(_) => "0.2",
            Pre::V0_3(_) => "0.3",
        }
    }

    /// Runs `perform` on one payload. Payload and settings are JSON objects as text.
    pub async fn perform(
        &self,
        action: &str,
        payload: &str,
        settings: &str,
        options: &InvokeOptions,
    ) -> Invocation {
        let call = Call::One(action, payload, settings);
        self.run(call, 1, options).await
    }

    /// Runs `perform-batch` on many payloads; one result per payload, in order.
    pub async fn perform_batch(
        &self,
        action: &str,
        payloads: &[String],
        settings: &str,
        options: &InvokeOptions,
    ) -> Invocation {
        let call = Call::Batch(action, payloads, settings);
        self.run(call, 0, options).await
    }

    /// Runs one of an action's hooks (WIT 0.3) with the user's `inputs` and the destination's
    /// `settings` (JSON objects as text), in a fresh instance with the destination's limits and
    /// network policy. Answers the hook's outputs, which must be a JSON object.
    pub async fn run_hook(
        &self,
        action: &str,
        hook: &str,
        inputs: &str,
        settings: &str,
        options: &InvokeOptions,
    ) -> HookRun {
        let known = self
            .manifest
            .action(action)
            .is_some_and(|a| a.hook(hook).is_some());
        if !known {
            let failure = Failure::Internal(format!("action {action:?} has no hook {hook:?}"));
            return HookRun {
                outputs: Err(failure),
                exchanges: Vec::new(),
                logs: Vec::new(),
            };
        }
        let (answer, exchanges, logs) = self
            .call(Call::Hook(action, hook, inputs, settings), options)
            .await;
        let outputs = match answer {
            Ok(Answer::Outputs(Ok(text))) => {
                match serde_json::from_str::<serde_json::Value>(&text) {
                    Ok(serde_json::Value::Object(outputs)) => Ok(outputs),
                    _ => Err(Failure::Internal(format!(
                        "hook {hook} of action {action} answered outputs that are not a JSON object"
                    ))),
                }
            }
            Ok(Answer::Outputs(Err(e))) => Err(convert::action_error(e)),
            Ok(Answer::Manifest(..) | Answer::Results(_)) => unreachable!("a hook answers outputs"),
            Err(failure) => Err(failure),
        };
        HookRun {
            outputs,
            exchanges,
            logs,
        }
    }

    pub(super) async fn describe(&self) -> Result<Manifest, LoadError> {
        let (answer, _, _) = self.call(Call::Describe, &InvokeOptions::default()).await;
        let failure = |failure| LoadError::Describe {
            origin: self.origin.clone(),
            failure,
        };
        let (manifest, hooks) = match answer.map_err(failure)? {
            Answer::Manifest(m, hooks) => (m, hooks),
            Answer::Results(_) | Answer::Outputs(_) => unreachable!("describe answers a manifest"),
        };
        let invalid = |reason| LoadError::Manifest {
            origin: self.origin.clone(),
            reason,
        };
        let mut manifest = convert::manifest(manifest).map_err(invalid)?;
        convert::add_hooks(&mut manifest, hooks).map_err(invalid)?;
        check_manifest(&manifest).map_err(|reason| LoadError::Manifest {
            origin: self.origin.clone(),
            reason,
        })?;
        Ok(manifest)
    }

    async fn run(&self, call: Call<'_>, expected: usize, options: &InvokeOptions) -> Invocation {
        let expected = match &call {
            Call::Batch(_, payloads, _) => payloads.len(),
            _ => expected,
        };
        let (answer, exchanges, logs) = self.call(call, options).await;
        let results = match answer {
            Ok(Answer::Results(results)) if results.len() == expected => results
                .into_iter()
                .map(|r| r.map_err(convert::action_error))
                .collect(),
            Ok(Answer::Results(results)) => {
                let failure = Failure::Internal(format!(
                    "plugin answered {} results for {expected} payloads",
                    results.len()
                ));
                vec![Err(failure); expected]
            }
            Ok(Answer::Manifest(..) | Answer::Outputs(_)) => {
                unreachable!("perform answers results")
            }
            Err(failure) => vec![Err(failure); expected],
        };
        Invocation {
            results,
            exchanges,
            logs,
        }
    }
}

/// Rules a manifest must follow; checked once at load.
fn check_manifest(m: &Manifest) -> Result<(), String> {
    let slug = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    };
    if !slug(&m.id) {
        return Err(format!(
            "plugin id {:?} must be lowercase letters, digits and dashes",
            m.id
        ));
    }
    let mut actions = std::collections::HashSet::new();
    for a in &m.actions {
        if a.id.is_empty() || !actions.insert(a.id.as_str()) {
            return Err(format!("action id {:?} is empty or repeated", a.id));
        }
        let mut keys = std::collections::HashSet::new();
        for f in &a.fields {
            if f.key.is_empty() || !keys.insert(f.key.as_str()) {
                return Err(format!(
                    "field key {:?} of action {:?} is empty or repeated",
                    f.key, a.id
                ));
            }
            if let Some(default) = &f.default {
                crate::mapping::Mapping::parse(default).map_err(|e| {
                    format!(
                        "default mapping of field {:?} of action {:?}: {e}",
                        f.key, a.id
                    )
                })?;
            }
        }
        if a.max_batch_size == Some(0) {
            return Err(format!("action {:?} has a max batch size of 0", a.id));
        }
    }
    for p in &m.presets {
        if m.action(&p.action).is_none() {
            return Err(format!(
                "preset {:?} names action {:?}, which the plugin does not have",
                p.name, p.action
            ));
        }
    }
    AllowList::parse(&m.allowed_hosts)?;
    Ok(())
}
