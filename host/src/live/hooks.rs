//! Action hooks (WIT 0.3 `hooks`, Segment's `onMappingSave` and `retlOnMappingSave`), run when a
//! subscription is saved: at start, and at every change of the configuration file, the plugins
//! or the stored destinations (admin API, console), before the next snapshot is checked.
//!
//! Invariants, and why:
//! - A hook runs only for an enabled subscription of an enabled destination, whose mapping holds
//!   the hook's record with `inputs` and without `outputs`. A record that carries outputs (a
//!   configuration moved from Segment) is used as it is: running the hook again could create a
//!   second list or catalog.
//! - A hook runs at most once per destination, subscription, hook and inputs. Its outputs are
//!   kept in `data_dir/hook-outputs.json` ([`HookStore`]) before the change is put in force, so
//!   a restart, a reload or an unrelated change never runs it again; changing the inputs does.
//! - A hook that fails refuses the whole change, naming the subscription and what the hook or
//!   vendor said (secret settings masked); nothing is kept and the running snapshot stays.
//! - The configuration file is never rewritten (`config/stored.rs` says why): the outputs join
//!   the subscription in memory (`config::Subscription::hook_outputs`), and `routes.rs` adds
//!   them to the hook's record, which every payload then carries.

use crate::config::Config;
use crate::problems::Problems;
use crate::routes::Routes;
use crate::runtime::Plugin;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The store's file name in the data folder.
pub const FILE: &str = "hook-outputs.json";

/// The outputs of the hooks that ran, in one data folder.
#[derive(Debug, Clone)]
pub struct HookStore {
    pub path: PathBuf,
}

/// One hook run, kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeptOutputs {
    pub destination: String,
    pub subscription: String,
    pub hook: String,
    pub inputs: Map<String, Value>,
    pub outputs: Map<String, Value>,
    /// When the hook ran (Unix milliseconds).
    pub saved_at_ms: i64,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoreFile {
    hooks: Vec<KeptOutputs>,
}

impl HookStore {
    pub fn in_dir(data_dir: &Path) -> HookStore {
        HookStore {
            path: data_dir.join(FILE),
        }
    }

    /// Every run kept; none when the file does not exist.
    pub fn read(&self) -> Result<Vec<KeptOutputs>, String> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(format!("cannot read {}: {e}", self.path.display())),
        };
        let file: StoreFile = serde_json::from_str(&text).map_err(|e| {
            format!(
                "{} line {} column {}: {e} (this file is written by the server when it runs a \
                 subscription's hook; fix or remove it, and the hooks run again)",
                self.path.display(),
                e.line(),
                e.column()
            )
        })?;
        Ok(file.hooks)
    }

    fn write(&self, kept: &[KeptOutputs]) -> Result<(), String> {
        let text = serde_json::to_string_pretty(&serde_json::json!({ "hooks": kept }))
            .map_err(|e| e.to_string())?;
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
        crate::files::write_whole_private(&self.path, text.as_bytes())
            .map_err(|e| format!("cannot write {}: {e}", self.path.display()))
    }
}

/// A hook that has to run: where, and with what.
struct Pending {
    route: usize,
    subscription: String,
    action: String,
    hook: String,
    inputs: Map<String, Value>,
}

/// Builds the routing table of `config`, running the hooks it needs first (see the module's
/// notes) and adding every hook's outputs to its subscription.
pub async fn routes(
    config: &mut Config,
    plugins: &HashMap<String, Arc<Plugin>>,
    store: &HookStore,
) -> Result<Routes, Problems> {
    let routes = Routes::build(config, plugins)?;
    let pending = pending(&routes);
    if pending.is_empty() {
        return Ok(routes);
    }
    let mut kept = store.read().map_err(Problems::from)?;
    let mut ran = false;
    let mut errors = Vec::new();
    for p in pending {
        let route = &routes.destinations[p.route];
        let found = kept.iter().find(|k| {
            k.destination == route.name
                && k.subscription == p.subscription
                && k.hook == p.hook
                && k.inputs == p.inputs
        });
        let outputs = match found {
            Some(k) => k.outputs.clone(),
            None => {
                let inputs = Value::Object(p.inputs.clone()).to_string();
                let run = route
                    .plugin
                    .run_hook(&p.action, &p.hook, &inputs, &route.settings, &route.options)
                    .await;
                match run.outputs {
                    Ok(outputs) => {
                        tracing::info!(destination = %route.name, subscription = %p.subscription, hook = %p.hook, "Ran the subscription's hook; its outputs are kept.");
                        kept.push(KeptOutputs {
                            destination: route.name.clone(),
                            subscription: p.subscription.clone(),
                            hook: p.hook.clone(),
                            inputs: p.inputs.clone(),
                            outputs: outputs.clone(),
                            saved_at_ms: crate::queue::now(),
                        });
                        ran = true;
                        outputs
                    }
                    Err(failure) => {
                        errors.push(route.secrets.mask(&format!(
                            "destination {:?}, subscription {:?}: the hook {} of action {} \
                             failed, so the subscription cannot be saved: {failure}",
                            route.name, p.subscription, p.hook, p.action
                        )));
                        continue;
                    }
                }
            }
        };
        add_outputs(config, &route.name, &p.subscription, &p.hook, outputs);
    }
    if let Some(problems) = Problems::from_list(errors) {
        return Err(problems);
    }
    if ran {
        store.write(&kept).map_err(Problems::from)?;
    }
    Routes::build(config, plugins)
}

/// The hooks `routes` needs to run or look up: records with inputs and no outputs.
fn pending(routes: &Routes) -> Vec<Pending> {
    let mut pending = Vec::new();
    for (r, route) in routes.destinations.iter().enumerate() {
        for sub in &route.subscriptions {
            for hook in &sub.action.hooks {
                let record = sub
                    .written
                    .iter()
                    .find(|(key, _)| *key == hook.name)
                    .and_then(|(_, v)| v.as_object());
                let Some(record) = record else { continue };
                if record.contains_key("outputs") {
                    continue;
                }
                let Some(Value::Object(inputs)) = record.get("inputs") else {
                    continue;
                };
                pending.push(Pending {
                    route: r,
                    subscription: sub.name.clone(),
                    action: sub.action.id.clone(),
                    hook: hook.name.clone(),
                    inputs: inputs.clone(),
                });
            }
        }
    }
    pending
}

fn add_outputs(
    config: &mut Config,
    destination: &str,
    subscription: &str,
    hook: &str,
    outputs: Map<String, Value>,
) {
    let sub = config
        .destinations
        .iter_mut()
        .filter(|d| d.name == destination)
        .flat_map(|d| d.subscriptions.iter_mut().flatten())
        .find(|s| s.name == subscription);
    if let Some(sub) = sub {
        sub.hook_outputs.retain(|(name, _)| name != hook);
        sub.hook_outputs.push((hook.to_string(), outputs));
    }
}
