//! Which data goes where: the routing table built from the configuration and the loaded plugins.
//!
//! Everything a route needs is checked and compiled here, once, at startup: the plugin and its
//! actions exist, the settings fit the plugin's manifest, triggers parse and mappings compile.
//! Problems are reported all together, each with the config file line. Per event, [`Routes::
//! route`] then only evaluates triggers and builds payloads.
//!
//! The table is plain data (configuration compiled, no state), so that the web console can show
//! it ("which data goes where"). What a destination keeps between invocations (its circuit
//! breaker, its key-value store) is delivery's, in `deliver/state.rs`.

use crate::config::Delivery;
use crate::config::{Config, Destination};
use crate::model::Action;
use crate::payload::{self, ActionMapping};
use crate::problems::Problems;
use crate::redact::Secrets;
use crate::runtime::{AllowList, InvokeOptions, Mode, NetPolicy, Plugin};
use crate::trigger::Trigger;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;

/// All routes of a configuration.
pub struct Routes {
    pub destinations: Vec<Route>,
}

/// One destination: its plugin, settings, sandbox options and subscriptions.
pub struct Route {
    pub name: String,
    pub sources: Vec<String>,
    pub plugin: Arc<Plugin>,
    /// Settings as checked against the manifest (defaults filled), as JSON text.
    pub settings: String,
    /// The secret setting values, to mask in logs.
    pub secrets: Secrets,
    pub options: InvokeOptions,
    pub delivery: Delivery,
    pub subscriptions: Vec<Subscription>,
    /// Where the destination starts reading the event log when it is new (see
    /// `config::Destination::start_from`).
    pub start_from: Option<i64>,
}

impl Route {
    /// Where the destination starts reading the event log the first time: at its
    /// `start_from`, else at the end.
    pub fn start(&self) -> crate::queue::log::Start {
        self.start_from
            .map_or(crate::queue::log::Start::End, crate::queue::log::Start::At)
    }
}

/// One subscription: a trigger and the action it feeds.
pub struct Subscription {
    pub name: String,
    pub trigger: Trigger,
    pub action: Action,
    pub mapping: ActionMapping,
    /// The mapping as written, field by field in the action's order: each field's own
    /// mapping, else its default (unless defaults are off). What the console shows of "which
    /// data goes where".
    pub written: Vec<(String, Value)>,
    /// The most events one invocation takes, when the subscription is batched.
    pub batch: Option<u32>,
    /// Backfill from this time (see `config::Subscription::start_from`).
    pub start_from: Option<i64>,
}

/// One delivery to make: this payload to this destination's action.
pub struct Job {
    pub route: usize,
    pub subscription: usize,
    /// The payload as the plugin receives it.
    pub payload: String,
}

/// A subscription that matched an event but could not build a payload from it.
pub struct Unmapped {
    pub route: usize,
    pub subscription: usize,
    /// Why, with secret setting values masked.
    pub error: String,
}

impl Routes {
    /// Builds the table; `plugins` maps plugin ids to loaded plugins. Errors list every problem.
    pub fn build(
        config: &Config,
        plugins: &HashMap<String, Arc<Plugin>>,
    ) -> Result<Routes, Problems> {
        let mut errors = Vec::new();
        let mut destinations = Vec::new();
        for d in config.destinations.iter().filter(|d| d.enabled) {
            let at = if d.stored {
                format!("destination {:?} (made through the admin API)", d.name)
            } else {
                format!(
                    "{} line {} (destination {:?})",
                    config.origin, d.line, d.name
                )
            };
            match route(d, plugins, &at) {
                Ok(r) => destinations.push(r),
                Err(mut e) => errors.append(&mut e),
            }
        }
        match Problems::from_list(errors) {
            None => Ok(Routes { destinations }),
            Some(problems) => Err(problems),
        }
    }

    /// The deliveries an event from `source` makes, with payloads built; mapping or validation
    /// failures are returned beside them, one per subscription that could not use the event.
    pub fn route(&self, source: &str, event: &Value) -> (Vec<Job>, Vec<Unmapped>) {
        let mut jobs = Vec::new();
        let mut refused = Vec::new();
        for r in 0..self.destinations.len() {
            self.route_to(r, source, event, &mut jobs, &mut refused);
        }
        (jobs, refused)
    }

    /// What an event from `source` makes for destination `r` alone, added to `jobs` and
    /// `refused`: pure (triggers and mappings), no I/O.
    pub fn route_to(
        &self,
        r: usize,
        source: &str,
        event: &Value,
        jobs: &mut Vec<Job>,
        refused: &mut Vec<Unmapped>,
    ) {
        let route = &self.destinations[r];
        if !route.sources.iter().any(|s| s == source) {
            return;
        }
        for (s, sub) in route.subscriptions.iter().enumerate() {
            if !sub.trigger.matches(event) {
                continue;
            }
            match sub.mapping.build(&sub.action, event, sub.batch.is_none()) {
                Ok(payload) => jobs.push(Job {
                    route: r,
                    subscription: s,
                    payload: payload.to_json(),
                }),
                Err(e) => refused.push(Unmapped {
                    route: r,
                    subscription: s,
                    error: route.secrets.mask(&e),
                }),
            }
        }
    }
}

/// A subscription as configured (or preset), before checking.
struct Wanted {
    name: String,
    action: String,
    trigger: String,
    mapping: Option<serde_json::Map<String, Value>>,
    use_defaults: bool,
    start_from: Option<i64>,
    /// Where it was written, for messages.
    place: String,
}

fn route(
    d: &Destination,
    plugins: &HashMap<String, Arc<Plugin>>,
    at: &str,
) -> Result<Route, Vec<String>> {
    let Some(plugin) = plugins.get(&d.plugin) else {
        let mut known: Vec<&str> = plugins.keys().map(String::as_str).collect();
        known.sort_unstable();
        return Err(vec![format!(
            "{at}: unknown plugin {:?}; the plugins are: {}",
            d.plugin,
            known.join(", ")
        )]);
    };
    let manifest = plugin.manifest();
    let mut errors = Vec::new();
    let settings = crate::settings::check(manifest, &d.settings).unwrap_or_else(|e| {
        errors.push(format!("{at}: settings: {e}"));
        Value::Null
    });
    let secret_keys = manifest
        .settings
        .iter()
        .filter(|s| s.secret)
        .map(|s| s.key.as_str());
    let secrets = Secrets::from_settings(&d.settings, secret_keys);

    let mut allowed = AllowList::parse(&manifest.allowed_hosts).unwrap_or_else(|e| {
        errors.push(format!("{at}: the plugin's allowed hosts: {e}"));
        AllowList::default()
    });
    match AllowList::parse(&d.allowed_hosts) {
        Ok(extra) => allowed.extend(extra),
        Err(e) => errors.push(format!("{at}: allowed_hosts: {e}")),
    }

    let wanted: Vec<Wanted> = match &d.subscriptions {
        Some(list) => list
            .iter()
            .filter(|s| s.enabled)
            .map(|s| Wanted {
                name: s.name.clone(),
                action: s.action.clone(),
                trigger: s.trigger.clone(),
                mapping: with_hook_outputs(s),
                use_defaults: s.use_defaults,
                start_from: s.start_from,
                place: if d.stored {
                    "admin API".into()
                } else {
                    format!("line {}", s.line)
                },
            })
            .collect(),
        None => manifest
            .presets
            .iter()
            .map(|p| Wanted {
                name: p.name.clone(),
                action: p.action.clone(),
                trigger: p.trigger.clone(),
                mapping: p.mapping.as_ref().and_then(Value::as_object).cloned(),
                use_defaults: true,
                start_from: None,
                place: "plugin preset".into(),
            })
            .collect(),
    };
    let mut subscriptions = Vec::new();
    for Wanted {
        name,
        action: action_id,
        trigger: trigger_text,
        mapping,
        use_defaults,
        start_from,
        place,
    } in wanted
    {
        let at = format!("{at}, subscription {name:?} ({place})");
        let Some(action) = manifest.action(&action_id) else {
            errors.push(format!(
                "{at}: plugin {} has no action {action_id:?}; its actions are: {}",
                manifest.id,
                manifest.action_ids().join(", ")
            ));
            continue;
        };
        if let Err(e) = check_hook_records(action, mapping.as_ref()) {
            errors.push(format!("{at}: mapping: {e}"));
            continue;
        }
        let trigger = match Trigger::parse(&trigger_text) {
            Ok(t) => t,
            Err(e) => {
                errors.push(format!("{at}: trigger {trigger_text:?} is not valid {e}"));
                continue;
            }
        };
        // A configuration moved from Segment may have relied on a bug of Segment's parser.
        for difference in trigger.segment_differences() {
            tracing::warn!(subscription = %at, trigger = %trigger_text, "This trigger means something else than it did in Segment: {difference}.");
        }
        let batch = batching(action, mapping.as_ref(), use_defaults);
        let written = written(action, mapping.as_ref(), use_defaults);
        match payload::action_mapping(action, mapping.as_ref(), use_defaults) {
            Ok(mapping) => subscriptions.push(Subscription {
                name,
                trigger,
                action: action.clone(),
                mapping,
                written,
                batch,
                start_from,
            }),
            Err(e) => errors.push(format!("{at}: mapping: {e}")),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let mode = match &d.redirect_outbound {
        Some(base) => Mode::Redirect(base.clone()),
        None => Mode::Send,
    };
    Ok(Route {
        name: d.name.clone(),
        sources: d.sources.clone(),
        plugin: plugin.clone(),
        settings: settings.to_string(),
        secrets,
        options: InvokeOptions {
            limits: d.limits.clone(),
            net: Arc::new(NetPolicy {
                allowed,
                allow_private: d.allow_private,
                mode,
            }),
            // Delivery gives each destination its own store (`deliver/state.rs`).
            kv: Arc::default(),
        },
        delivery: d.delivery.clone(),
        subscriptions,
        start_from: d.start_from,
    })
}

/// The subscription's mapping with the outputs the server's hooks answered added to each hook's
/// record (`{"inputs": …, "outputs": …}`), as a mapping that carried them would hold them.
fn with_hook_outputs(s: &crate::config::Subscription) -> Option<serde_json::Map<String, Value>> {
    let mut mapping = s.mapping.clone()?;
    for (hook, outputs) in &s.hook_outputs {
        if let Some(Value::Object(record)) = mapping.get_mut(hook) {
            record.insert("outputs".into(), Value::Object(outputs.clone()));
        }
    }
    Some(mapping)
}

/// A hook's record in a mapping is `{"inputs": {...}, "outputs": {...}}`, both optional objects,
/// as Segment's configurations carry it: literal values, never directives.
fn check_hook_records(
    action: &Action,
    mapping: Option<&serde_json::Map<String, Value>>,
) -> Result<(), String> {
    for hook in &action.hooks {
        let Some(record) = mapping.and_then(|m| m.get(&hook.name)) else {
            continue;
        };
        let shape = || {
            format!(
                "/{} is the record of the hook {:?}: {{\"inputs\": {{…}}, \"outputs\": {{…}}}}",
                hook.name, hook.label
            )
        };
        let Value::Object(record) = record else {
            return Err(shape());
        };
        for (key, value) in record {
            if !matches!(key.as_str(), "inputs" | "outputs") {
                return Err(format!(
                    "{}; /{}/{key} is not allowed there",
                    shape(),
                    hook.name
                ));
            }
            if !value.is_object() {
                return Err(format!(
                    "{}; /{}/{key} should be an object",
                    shape(),
                    hook.name
                ));
            }
        }
    }
    Ok(())
}

/// Each field's mapping as written: the subscription's own, else the field's default.
fn written(
    action: &Action,
    mapping: Option<&serde_json::Map<String, Value>>,
    use_defaults: bool,
) -> Vec<(String, Value)> {
    action
        .fields
        .iter()
        .filter_map(|f| {
            let own = mapping.and_then(|m| m.get(&f.key));
            let value = own.or(if use_defaults {
                f.default.as_ref()
            } else {
                None
            })?;
            Some((f.key.clone(), value.clone()))
        })
        .collect()
}

/// Batching is opt-in per subscription, as in Segment: the action must have `perform-batch`,
/// and the mapping (or, with defaults, the field's default) sets `enable_batching` to `true`.
/// A positive `batch_size` lowers the action's maximum. Only literal values count: a batch is
/// formed before any one event is mapped.
fn batching(
    action: &Action,
    mapping: Option<&serde_json::Map<String, Value>>,
    use_defaults: bool,
) -> Option<u32> {
    let max = action.max_batch_size?;
    let value = |key: &str| {
        mapping
            .and_then(|m| m.get(key))
            .or_else(|| {
                use_defaults
                    .then(|| action.field(key).and_then(|f| f.default.as_ref()))
                    .flatten()
            })
            .cloned()
    };
    if value("enable_batching") != Some(Value::Bool(true)) {
        return None;
    }
    let size = value("batch_size")
        .and_then(|v| v.as_u64())
        .filter(|n| *n > 0)
        .map_or(max, |n| n.min(u64::from(max)) as u32);
    Some(size.max(1))
}
