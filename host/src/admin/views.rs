//! How plugins and destinations are shown: view structs, one per schema of `openapi.json`
//! (a test checks that each serialises to exactly the properties its schema lists), with
//! secret settings masked.

use crate::config::Delivery;
use crate::config::Destination;
use crate::deliver::state::DestinationStates;
use crate::live::Snapshot;
use crate::model::{Limits, Manifest};
use crate::redact::{MASK, Secrets};
use crate::runtime::Plugin;
use serde::Serialize;
use serde_json::{Value, json};

fn millis(t: std::time::SystemTime) -> i64 {
    t.duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// A loaded plugin version (`Plugin` in openapi.json).
#[derive(Debug, Serialize)]
pub(super) struct PluginView<'a> {
    pub(super) id: &'a str,
    name: &'a str,
    version: &'a str,
    hash: &'a str,
    wit_version: &'static str,
    origin: &'a str,
    loaded_at_ms: i64,
    actions: Vec<&'a str>,
}

/// A loaded plugin version with its whole manifest (`PluginDetail`).
#[derive(Debug, Serialize)]
pub(super) struct PluginDetailView<'a> {
    #[serde(flatten)]
    plugin: PluginView<'a>,
    manifest: &'a Manifest,
}

/// A destination (`Destination`): secret settings masked.
#[derive(Debug, Serialize)]
pub(super) struct DestinationView<'a> {
    name: &'a str,
    managed_by: &'static str,
    enabled: bool,
    running: bool,
    plugin: PluginRef<'a>,
    sources: &'a [String],
    settings: Value,
    limits: &'a Limits,
    delivery: &'a Delivery,
    allowed_hosts: &'a [String],
    allow_private: bool,
    redirect_outbound: Option<&'a str>,
    start_from: Option<String>,
    breaker: Option<BreakerView>,
    subscriptions: Vec<SubscriptionView<'a>>,
}

/// Which plugin a destination names, and the version that runs it (if one is loaded).
#[derive(Debug, Serialize)]
struct PluginRef<'a> {
    id: &'a str,
    version: Option<&'a str>,
    hash: Option<&'a str>,
}

/// A destination's circuit breaker; `null` when the destination does not run.
#[derive(Debug, Serialize)]
struct BreakerView {
    state: &'static str,
    failures_in_a_row: u32,
    paused_until_ms: Option<i64>,
}

/// A subscription (`Subscription`): as configured, or a preset a file destination without
/// subscriptions runs (`preset: true`, with no mapping of its own).
#[derive(Debug, Serialize)]
struct SubscriptionView<'a> {
    name: &'a str,
    action: &'a str,
    trigger: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    mapping: Option<Option<&'a serde_json::Map<String, Value>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    use_defaults: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    preset: Option<bool>,
    enabled: bool,
    batch_size: Option<u32>,
    start_from: Option<String>,
}

impl<'a> PluginView<'a> {
    pub(super) fn of(p: &'a Plugin) -> PluginView<'a> {
        let m = p.manifest();
        PluginView {
            id: &m.id,
            name: &m.name,
            version: &m.version,
            hash: p.hash(),
            wit_version: p.wit_version(),
            origin: p.origin(),
            loaded_at_ms: millis(p.loaded_at()),
            actions: m.actions.iter().map(|a| a.id.as_str()).collect(),
        }
    }
}

impl<'a> PluginDetailView<'a> {
    pub(super) fn of(p: &'a Plugin) -> PluginDetailView<'a> {
        PluginDetailView {
            plugin: PluginView::of(p),
            manifest: p.manifest(),
        }
    }
}

/// A destination, whether it runs or not: its settings with every secret masked, and its
/// subscriptions (a file destination without any shows the plugin's presets it runs).
pub(super) fn destination(
    d: &Destination,
    snapshot: &Snapshot,
    states: &DestinationStates,
) -> Value {
    let route = snapshot
        .routes
        .destinations
        .iter()
        .find(|r| r.name == d.name);
    let plugin = route
        .map(|r| &r.plugin)
        .or_else(|| snapshot.plugins.get(&d.plugin));
    let secret_keys: Vec<&str> = plugin
        .map(|p| {
            p.manifest()
                .settings
                .iter()
                .filter(|s| s.secret)
                .map(|s| s.key.as_str())
                .collect()
        })
        .unwrap_or_default();
    // Settings as checked (defaults filled) when it runs, as written otherwise.
    let mut settings = route
        .and_then(|r| serde_json::from_str(&r.settings).ok())
        .unwrap_or_else(|| d.settings.clone());
    if let Value::Object(map) = &mut settings {
        for (key, value) in map.iter_mut() {
            // Without the plugin nobody knows which settings are secret: all are masked.
            let secret = plugin.is_none() || secret_keys.contains(&key.as_str());
            if secret && !value.is_null() {
                *value = json!(MASK);
            }
        }
    }
    let subscriptions: Vec<SubscriptionView> = match (&d.subscriptions, route) {
        (Some(list), _) => list
            .iter()
            .map(|s| {
                let running = route.and_then(|r| r.subscriptions.iter().find(|x| x.name == s.name));
                SubscriptionView {
                    name: &s.name,
                    action: &s.action,
                    trigger: s.trigger.clone(),
                    mapping: Some(s.mapping.as_ref()),
                    use_defaults: Some(s.use_defaults),
                    preset: None,
                    enabled: s.enabled,
                    batch_size: running.and_then(|x| x.batch),
                    start_from: s.start_from.map(crate::queue::shown_time),
                }
            })
            .collect(),
        (None, Some(route)) => route
            .subscriptions
            .iter()
            .map(|s| SubscriptionView {
                name: &s.name,
                action: &s.action.id,
                trigger: s.trigger.to_string(),
                mapping: None,
                use_defaults: None,
                preset: Some(true),
                enabled: true,
                batch_size: s.batch,
                start_from: None,
            })
            .collect(),
        (None, None) => Vec::new(),
    };
    let breaker = route.map(|r| {
        let b = states.of(r).breaker.status();
        BreakerView {
            state: b.state,
            failures_in_a_row: b.failures_in_a_row,
            paused_until_ms: b.paused_until.map(millis),
        }
    });
    let view = DestinationView {
        name: &d.name,
        managed_by: if d.stored { "admin API" } else { "config file" },
        enabled: d.enabled,
        running: route.is_some(),
        plugin: PluginRef {
            id: &d.plugin,
            version: plugin.map(|p| p.manifest().version.as_str()),
            hash: plugin.map(|p| p.hash()),
        },
        sources: &d.sources,
        settings,
        limits: &d.limits,
        delivery: &d.delivery,
        allowed_hosts: &d.allowed_hosts,
        allow_private: d.allow_private,
        redirect_outbound: d.redirect_outbound.as_ref().map(|u| u.as_str()),
        start_from: d.start_from.map(crate::queue::shown_time),
        breaker,
        subscriptions,
    };
    let mut view = serde_json::to_value(view).unwrap_or(Value::Null);
    // Anything else that holds a secret's value (a URL with a key in it) is masked too.
    let masked: Vec<&str> = match (plugin, d.settings.as_object()) {
        (None, Some(all)) => all.keys().map(String::as_str).collect(),
        _ => secret_keys,
    };
    Secrets::from_settings(&d.settings, masked).mask_json(&mut view);
    view
}
