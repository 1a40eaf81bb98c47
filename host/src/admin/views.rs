//! How plugins and destinations are shown: plain JSON, with secret settings masked.

use crate::config::Destination;
use crate::deliver::state::DestinationStates;
use crate::live::Snapshot;
use crate::redact::{MASK, Secrets};
use crate::runtime::Plugin;
use serde_json::{Value, json};

fn millis(t: std::time::SystemTime) -> i64 {
    t.duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// A loaded plugin version.
pub(super) fn plugin(p: &Plugin) -> Value {
    let m = p.manifest();
    json!({
        "id": m.id,
        "name": m.name,
        "version": m.version,
        "hash": p.hash(),
        "wit_version": p.wit_version(),
        "origin": p.origin(),
        "loaded_at_ms": millis(p.loaded_at()),
        "actions": m.actions.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(),
    })
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
    let subscriptions: Vec<Value> = match (&d.subscriptions, route) {
        (Some(list), _) => list
            .iter()
            .map(|s| {
                let running = route.and_then(|r| r.subscriptions.iter().find(|x| x.name == s.name));
                json!({
                    "name": s.name,
                    "action": s.action,
                    "trigger": s.trigger,
                    "mapping": s.mapping,
                    "use_defaults": s.use_defaults,
                    "enabled": s.enabled,
                    "batch_size": running.and_then(|x| x.batch),
                })
            })
            .collect(),
        (None, Some(route)) => route
            .subscriptions
            .iter()
            .map(|s| {
                json!({
                    "name": s.name,
                    "action": s.action.id,
                    "trigger": s.trigger.to_string(),
                    "preset": true,
                    "enabled": true,
                    "batch_size": s.batch,
                })
            })
            .collect(),
        (None, None) => Vec::new(),
    };
    let breaker = route.map(|r| {
        let b = states.of(r).breaker.status();
        json!({
            "state": b.state,
            "failures_in_a_row": b.failures_in_a_row,
            "paused_until_ms": b.paused_until.map(millis),
        })
    });
    let mut view = json!({
        "name": d.name,
        "managed_by": if d.stored { "admin API" } else { "config file" },
        "enabled": d.enabled,
        "running": route.is_some(),
        "plugin": {
            "id": d.plugin,
            "version": plugin.map(|p| p.manifest().version.clone()),
            "hash": plugin.map(|p| p.hash().to_string()),
        },
        "sources": d.sources,
        "settings": settings,
        "limits": d.limits,
        "delivery": d.delivery,
        "allowed_hosts": d.allowed_hosts,
        "allow_private": d.allow_private,
        "redirect_outbound": d.redirect_outbound.as_ref().map(|u| u.as_str()),
        "breaker": breaker,
        "subscriptions": subscriptions,
    });
    // Anything else that holds a secret's value (a URL with a key in it) is masked too.
    let masked: Vec<&str> = match (plugin, d.settings.as_object()) {
        (None, Some(all)) => all.keys().map(String::as_str).collect(),
        _ => secret_keys,
    };
    Secrets::from_settings(&d.settings, masked).mask_json(&mut view);
    view
}
