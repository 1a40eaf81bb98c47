//! Conversions between generated WIT types and the host's own types, all in one place.

use super::bindings::{v0_3, wit};
use super::failure::Failure;
use crate::model::{Action, Choice, Field, FieldType, HOOK_NAMES, Hook, Manifest, Preset, Setting};
use serde_json::Value;
use std::time::Duration;

fn field_type(t: wit::FieldType) -> FieldType {
    match t {
        wit::FieldType::String => FieldType::String,
        wit::FieldType::Text => FieldType::Text,
        wit::FieldType::Number => FieldType::Number,
        wit::FieldType::Integer => FieldType::Integer,
        wit::FieldType::Boolean => FieldType::Boolean,
        wit::FieldType::Datetime => FieldType::Datetime,
        wit::FieldType::Object => FieldType::Object,
    }
}

fn choices(list: Vec<wit::Choice>) -> Vec<Choice> {
    list.into_iter()
        .map(|c| Choice {
            value: c.value,
            label: c.label,
        })
        .collect()
}

/// Parses JSON text that a manifest carries, naming where it sits when it does not parse.
fn json(text: Option<String>, place: impl FnOnce() -> String) -> Result<Option<Value>, String> {
    text.map(|t| {
        serde_json::from_str(&t).map_err(|e| format!("{} is not valid JSON: {e}", place()))
    })
    .transpose()
}

fn fields(list: Vec<wit::Field>, owner: &str) -> Result<Vec<Field>, String> {
    list.into_iter()
        .map(|f| {
            let key = f.key;
            Ok(Field {
                default: json(f.default_mapping, || {
                    format!("the default mapping of field {key:?} of {owner}")
                })?,
                key,
                label: f.label,
                description: f.description,
                kind: field_type(f.type_),
                required: f.required,
                multiple: f.multiple,
                allow_null: f.allow_null,
                choices: choices(f.choices),
            })
        })
        .collect()
}

/// Adds `list-hooks`' answer (WIT 0.3) to a manifest: each hook joins its action, and the
/// action gains an object field of the hook's name, so subscriptions can carry the hook's
/// record and payloads receive it.
pub(crate) fn add_hooks(manifest: &mut Manifest, list: Vec<v0_3::Hook>) -> Result<(), String> {
    for h in list {
        if !HOOK_NAMES.contains(&h.name.as_str()) {
            return Err(format!(
                "hook {:?} of action {:?} is not one of {}",
                h.name,
                h.action,
                HOOK_NAMES.join(", ")
            ));
        }
        let owner = format!("hook {} of action {:?}", h.name, h.action);
        let hook = Hook {
            inputs: fields(h.inputs, &owner)?,
            outputs: fields(h.outputs, &owner)?,
            name: h.name,
            label: h.label,
            description: h.description,
        };
        let Some(action) = manifest.actions.iter_mut().find(|a| a.id == h.action) else {
            return Err(format!("{owner}: the plugin has no such action"));
        };
        if action.hook(&hook.name).is_some() || action.field(&hook.name).is_some() {
            return Err(format!(
                "{owner}: the action already has a hook or field of that name"
            ));
        }
        action.fields.push(Field {
            key: hook.name.clone(),
            label: hook.label.clone(),
            description: format!(
                "{} Filled in when the subscription is saved: {{\"inputs\": {{…}}, \"outputs\": {{…}}}}.",
                hook.description
            ),
            kind: FieldType::Object,
            required: false,
            multiple: false,
            allow_null: false,
            choices: Vec::new(),
            default: None,
        });
        action.hooks.push(hook);
    }
    Ok(())
}

/// Turns `describe`'s answer into a [`Manifest`], parsing the JSON it carries.
pub(crate) fn manifest(m: wit::Manifest) -> Result<Manifest, String> {
    let settings = m
        .settings
        .into_iter()
        .map(|s| {
            let key = s.key;
            Ok(Setting {
                default: json(s.default, || format!("the default of setting {key:?}"))?,
                key,
                label: s.label,
                description: s.description,
                kind: field_type(s.type_),
                required: s.required,
                choices: choices(s.choices),
                secret: s.secret,
            })
        })
        .collect::<Result<_, String>>()?;
    let actions = m
        .actions
        .into_iter()
        .map(|a| {
            let id = a.id;
            let fields = fields(a.fields, &format!("action {id:?}"))?;
            Ok(Action {
                title: a.title,
                description: a.description,
                default_trigger: a.default_trigger,
                fields,
                max_batch_size: a.batch.map(|b| b.max_size),
                hooks: Vec::new(),
                id,
            })
        })
        .collect::<Result<_, String>>()?;
    let presets = m
        .presets
        .into_iter()
        .map(|p| {
            let name = p.name;
            Ok(Preset {
                mapping: json(p.mapping, || format!("the mapping of preset {name:?}"))?,
                name,
                action: p.action,
                trigger: p.trigger,
            })
        })
        .collect::<Result<_, String>>()?;
    Ok(Manifest {
        id: m.id,
        name: m.name,
        version: m.version,
        description: m.description,
        settings,
        allowed_hosts: m.allowed_hosts,
        presets,
        actions,
    })
}

/// The plugin's typed error as a [`Failure`].
pub(crate) fn action_error(e: wit::ActionError) -> Failure {
    match e {
        wit::ActionError::InvalidPayload(m) => Failure::InvalidPayload(m),
        wit::ActionError::InvalidSettings(m) => Failure::InvalidSettings(m),
        wit::ActionError::Auth(f) => Failure::Auth {
            message: f.message,
            status: f.status,
        },
        wit::ActionError::RateLimited(r) => Failure::RateLimited {
            message: r.message,
            retry_after: r.retry_after_ms.map(Duration::from_millis),
        },
        wit::ActionError::Retryable(f) => Failure::Retryable {
            message: f.message,
            status: f.status,
        },
        wit::ActionError::Permanent(f) => Failure::Permanent {
            message: f.message,
            status: f.status,
        },
    }
}
