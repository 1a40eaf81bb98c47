//! How plugins and destinations are shown: plain JSON, with secret settings masked.

use crate::redact::MASK;
use crate::routes::Route;
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

/// A destination, its settings with every secret masked, and its subscriptions.
pub(super) fn destination(route: &Route) -> Value {
    let manifest = route.plugin.manifest();
    let mut settings: Value = serde_json::from_str(&route.settings).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut settings {
        for s in manifest.settings.iter().filter(|s| s.secret) {
            if let Some(v) = map.get_mut(&s.key)
                && !v.is_null()
            {
                *v = json!(MASK);
            }
        }
    }
    // Anything else that holds a secret's value (a URL with a key in it) is masked too.
    route.secrets.mask_json(&mut settings);
    let breaker = route.breaker.status();
    let subscriptions: Vec<Value> = route
        .subscriptions
        .iter()
        .map(|s| {
            json!({
                "name": s.name,
                "trigger": s.trigger.to_string(),
                "action": s.action.id,
                "batch_size": s.batch,
            })
        })
        .collect();
    json!({
        "name": route.name,
        "plugin": {"id": manifest.id, "version": manifest.version, "hash": route.plugin.hash()},
        "sources": route.sources,
        "settings": settings,
        "delivery": {
            "concurrency": route.delivery.concurrency,
            "rate_limit": route.delivery.rate_limit,
        },
        "breaker": {
            "state": breaker.state,
            "failures_in_a_row": breaker.failures_in_a_row,
            "paused_until_ms": breaker.paused_until.map(millis),
        },
        "subscriptions": subscriptions,
    })
}
