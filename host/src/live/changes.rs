//! The changes people make to the stored destinations and their subscriptions, from the admin
//! API or the console: create, update, switch on or off, delete. One implementation for both,
//! so a change means the same wherever it is made.
//!
//! Every change goes through [`Reloader::change_stored`]: the whole configuration that would
//! result is checked as a reload is (plugin, settings, triggers, mappings), written to
//! `data_dir/destinations.json`, then put in force; anything wrong and nothing changes.
//! Destinations written in the configuration file are changed only there (a conflict says so):
//! the server never rewrites the operator's file.
//!
//! Secrets: a setting sent back as the mask (`***`) keeps its stored value, so a client can
//! send back what it was shown.

use super::{ChangeError, Reloader, Snapshot};
use crate::config::stored::{DestinationSpec, SubscriptionSpec};
use crate::redact::MASK;
use serde_json::Value;

/// The stored destination `name`, to change; a file destination is a conflict.
fn stored<'a>(
    specs: &'a mut [DestinationSpec],
    snapshot: &Snapshot,
    name: &str,
) -> Result<&'a mut DestinationSpec, ChangeError> {
    if let Some(spec) = specs.iter_mut().find(|s| s.name == name) {
        return Ok(spec);
    }
    match snapshot.config.destinations.iter().find(|d| d.name == name) {
        Some(d) => Err(ChangeError::Conflict(format!(
            "destination {name:?} is written in the {} (line {}); change it there, then \
             reload",
            snapshot.config.origin, d.line
        ))),
        None => Err(ChangeError::NotFound(format!(
            "no destination {name:?} is configured"
        ))),
    }
}

/// The plugin's presets, as subscriptions to edit.
pub fn presets(snapshot: &Snapshot, plugin: &str) -> Vec<SubscriptionSpec> {
    snapshot
        .plugins
        .get(plugin)
        .map(|p| {
            p.manifest()
                .presets
                .iter()
                .map(|p| SubscriptionSpec {
                    name: p.name.clone(),
                    action: p.action.clone(),
                    trigger: p.trigger.clone(),
                    mapping: p.mapping.as_ref().and_then(Value::as_object).cloned(),
                    use_defaults: true,
                    enabled: true,
                    start_from: None,
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Checks what needs no plugin, so that a bad request names the key.
fn check(spec: &DestinationSpec, snapshot: &Snapshot) -> Result<(), ChangeError> {
    let sources: Vec<String> = snapshot
        .config
        .sources
        .iter()
        .map(|s| s.name.clone())
        .collect();
    spec.to_destination(&sources)
        .map(drop)
        .map_err(ChangeError::BadRequest)
}

/// Puts back the stored value of every secret setting sent as `***`.
fn keep_masked(new: &mut Value, old: &Value) -> Result<(), ChangeError> {
    let Some(map) = new.as_object_mut() else {
        return Ok(());
    };
    for (key, value) in map.iter_mut() {
        if value.as_str() != Some(MASK) {
            continue;
        }
        match old.get(key) {
            Some(kept) => *value = kept.clone(),
            None => {
                return Err(ChangeError::BadRequest(format!(
                    "settings.{key} is {MASK:?}, the mask of a secret, but no value is kept \
                     for it: send the value itself"
                )));
            }
        }
    }
    Ok(())
}

/// The subscriptions of a stored destination, the presets copied in if it had none.
fn subscriptions_of<'a>(
    specs: &'a mut [DestinationSpec],
    snapshot: &Snapshot,
    name: &str,
) -> Result<&'a mut Vec<SubscriptionSpec>, ChangeError> {
    let spec = stored(specs, snapshot, name)?;
    let plugin = spec.plugin.clone();
    Ok(spec
        .subscriptions
        .get_or_insert_with(|| presets(snapshot, &plugin)))
}

fn no_subscription(name: &str, sub: &str) -> ChangeError {
    ChangeError::NotFound(format!("destination {name:?} has no subscription {sub:?}"))
}

impl Reloader {
    /// Creates a destination; without subscriptions, the plugin's presets are copied in.
    pub async fn create_destination(&self, mut spec: DestinationSpec) -> Result<(), ChangeError> {
        let name = spec.name.clone();
        self.change_stored(|specs, snapshot| {
            if let Some(d) = snapshot.config.destinations.iter().find(|d| d.name == name) {
                let place = if d.stored {
                    "made through the admin API or the console".to_string()
                } else {
                    format!("in the {} line {}", snapshot.config.origin, d.line)
                };
                return Err(ChangeError::Conflict(format!(
                    "a destination named {name:?} exists ({place}); change that one, or choose \
                     another name"
                )));
            }
            if spec.subscriptions.is_none() {
                spec.subscriptions = Some(presets(snapshot, &spec.plugin));
            }
            check(&spec, snapshot)?;
            specs.push(spec);
            Ok(())
        })
        .await
    }

    /// Replaces destination `name` (its name stays); secrets sent as the mask keep their value,
    /// and without subscriptions it keeps its own.
    pub async fn update_destination(
        &self,
        name: &str,
        mut spec: DestinationSpec,
    ) -> Result<(), ChangeError> {
        self.change_stored(|specs, snapshot| {
            if spec.name != name {
                return Err(ChangeError::BadRequest(format!(
                    "name: {:?} is not {name:?}; a destination cannot be renamed (its queued \
                     events carry its name): create the new one and delete this one",
                    spec.name
                )));
            }
            let old = stored(specs, snapshot, name)?;
            keep_masked(&mut spec.settings, &old.settings)?;
            if spec.subscriptions.is_none() {
                spec.subscriptions = old.subscriptions.clone();
            }
            check(&spec, snapshot)?;
            *old = spec;
            Ok(())
        })
        .await
    }

    /// Deletes destination `name`. Deliveries still queued for it stay queued and go out if a
    /// destination of that name comes back.
    pub async fn delete_destination(&self, name: &str) -> Result<(), ChangeError> {
        self.change_stored(|specs, snapshot| {
            stored(specs, snapshot, name)?;
            specs.retain(|s| s.name != name);
            Ok(())
        })
        .await
    }

    /// Switches destination `name` on or off.
    pub async fn switch_destination(&self, name: &str, enabled: bool) -> Result<(), ChangeError> {
        self.change_stored(|specs, snapshot| {
            stored(specs, snapshot, name)?.enabled = enabled;
            Ok(())
        })
        .await
    }

    /// Adds a subscription to destination `name`.
    pub async fn add_subscription(
        &self,
        name: &str,
        spec: SubscriptionSpec,
    ) -> Result<(), ChangeError> {
        self.change_stored(|specs, snapshot| {
            let list = subscriptions_of(specs, snapshot, name)?;
            if list.iter().any(|s| s.name == spec.name) {
                return Err(ChangeError::Conflict(format!(
                    "destination {name:?} already has a subscription {:?}",
                    spec.name
                )));
            }
            list.push(spec);
            Ok(())
        })
        .await
    }

    /// Replaces subscription `sub` of destination `name`; a new name renames it.
    pub async fn update_subscription(
        &self,
        name: &str,
        sub: &str,
        spec: SubscriptionSpec,
    ) -> Result<(), ChangeError> {
        self.change_stored(|specs, snapshot| {
            let list = subscriptions_of(specs, snapshot, name)?;
            if spec.name != sub && list.iter().any(|s| s.name == spec.name) {
                return Err(ChangeError::Conflict(format!(
                    "destination {name:?} already has a subscription {:?}",
                    spec.name
                )));
            }
            let old = list
                .iter_mut()
                .find(|s| s.name == sub)
                .ok_or_else(|| no_subscription(name, sub))?;
            *old = spec;
            Ok(())
        })
        .await
    }

    /// Deletes subscription `sub` of destination `name`.
    pub async fn delete_subscription(&self, name: &str, sub: &str) -> Result<(), ChangeError> {
        self.change_stored(|specs, snapshot| {
            let list = subscriptions_of(specs, snapshot, name)?;
            let before = list.len();
            list.retain(|s| s.name != sub);
            if list.len() == before {
                return Err(no_subscription(name, sub));
            }
            Ok(())
        })
        .await
    }

    /// Switches subscription `sub` of destination `name` on or off.
    pub async fn switch_subscription(
        &self,
        name: &str,
        sub: &str,
        enabled: bool,
    ) -> Result<(), ChangeError> {
        self.change_stored(|specs, snapshot| {
            let list = subscriptions_of(specs, snapshot, name)?;
            let found = list
                .iter_mut()
                .find(|s| s.name == sub)
                .ok_or_else(|| no_subscription(name, sub))?;
            found.enabled = enabled;
            Ok(())
        })
        .await
    }
}
