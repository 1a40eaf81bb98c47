//! The component glue: wit-bindgen's generated bindings (hidden) and the conversions between the
//! SDK's types and the WIT types. Plugin authors never touch this; `export!` wires it up.

#![allow(unsafe_code, reason = "wit-bindgen's generated glue exports symbols")]

use crate::plugin::{FieldType, Plugin};
use crate::{Context, Error, Level};

#[doc(hidden)]
#[allow(missing_docs, unreachable_pub, clippy::all, reason = "generated")]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../wit/v0.3",
        world: "switchyard:destination/destination@0.3.0",
        pub_export_macro: true,
        export_macro_name: "__export_destination",
        default_bindings_module: "switchyard_plugin_sdk::__private::bindings",
    });
}

use bindings::exports::switchyard::destination::hooks as exported_hooks;
use bindings::exports::switchyard::destination::plugin as exported;
use bindings::switchyard::destination::types as wit;

pub use exported::Guest;
pub use exported_hooks::{Guest as HookGuest, Hook as HookSpec};
pub use wit::{ActionError, Manifest};

fn field_type(t: FieldType) -> wit::FieldType {
    match t {
        FieldType::String => wit::FieldType::String,
        FieldType::Text => wit::FieldType::Text,
        FieldType::Number => wit::FieldType::Number,
        FieldType::Integer => wit::FieldType::Integer,
        FieldType::Boolean => wit::FieldType::Boolean,
        FieldType::Datetime => wit::FieldType::Datetime,
        FieldType::Object => wit::FieldType::Object,
    }
}

fn choices(list: &[(String, String)]) -> Vec<wit::Choice> {
    list.iter()
        .map(|(value, label)| wit::Choice {
            value: value.clone(),
            label: label.clone(),
        })
        .collect()
}

fn fields(list: &[crate::Field]) -> Vec<wit::Field> {
    list.iter()
        .map(|f| wit::Field {
            key: f.key.clone(),
            label: f.label.clone(),
            description: f.description.clone(),
            type_: field_type(f.kind),
            required: f.required,
            multiple: f.multiple,
            allow_null: f.allow_null,
            choices: choices(&f.choices),
            default_mapping: f.default.as_ref().map(|v| v.to_string()),
        })
        .collect()
}

/// The hooks `list-hooks` answers.
pub fn list_hooks(p: &Plugin) -> Vec<HookSpec> {
    p.actions
        .iter()
        .flat_map(|a| {
            a.hooks.iter().map(|h| HookSpec {
                action: a.id.clone(),
                name: h.name.clone(),
                label: h.label.clone(),
                description: h.description.clone(),
                inputs: fields(&h.inputs),
                outputs: fields(&h.outputs),
            })
        })
        .collect()
}

/// `run-hook`, as exported: the plugin is built lean, with only what a call needs.
pub fn run_hook(
    build: fn() -> Plugin,
    action: &str,
    name: &str,
    inputs: &str,
    settings: &str,
) -> Result<String, ActionError> {
    crate::plugin::build_for_call(build)
        .run_hook_text(&mut context(), action, name, inputs, settings)
        .map(|outputs| serde_json::Value::Object(outputs).to_string())
        .map_err(action_error)
}

/// The manifest `describe` answers.
pub fn describe(p: &Plugin) -> Manifest {
    Manifest {
        id: p.id.clone(),
        name: p.name.clone(),
        version: p.version.clone(),
        description: p.description.clone(),
        settings: p
            .settings
            .iter()
            .map(|s| wit::Setting {
                key: s.key.clone(),
                label: s.label.clone(),
                description: s.description.clone(),
                type_: field_type(s.kind),
                required: s.required,
                default: s.default.as_ref().map(|v| v.to_string()),
                choices: choices(&s.choices),
                secret: s.secret,
            })
            .collect(),
        allowed_hosts: p.allowed_hosts.clone(),
        presets: p
            .presets
            .iter()
            .map(|pr| wit::Preset {
                name: pr.name.clone(),
                action: pr.action.clone(),
                trigger: pr.trigger.clone(),
                mapping: pr.mapping.as_ref().map(|v| v.to_string()),
            })
            .collect(),
        actions: p
            .actions
            .iter()
            .map(|a| wit::Action {
                id: a.id.clone(),
                title: a.title.clone(),
                description: a.description.clone(),
                default_trigger: a.default_trigger.clone(),
                fields: fields(&a.fields),
                batch: a.max_batch_size.map(|max_size| wit::Batching { max_size }),
            })
            .collect(),
    }
}

fn action_error(e: Error) -> ActionError {
    match e {
        Error::InvalidPayload(m) => ActionError::InvalidPayload(m),
        Error::InvalidSettings(m) => ActionError::InvalidSettings(m),
        Error::Auth { message, status } => ActionError::Auth(wit::Failure { message, status }),
        Error::RateLimited {
            message,
            retry_after,
        } => ActionError::RateLimited(wit::RateLimit {
            message,
            retry_after_ms: retry_after.map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
        }),
        Error::Retryable { message, status } => {
            ActionError::Retryable(wit::Failure { message, status })
        }
        Error::Permanent { message, status } => {
            ActionError::Permanent(wit::Failure { message, status })
        }
    }
}

fn context() -> Context {
    #[cfg(target_arch = "wasm32")]
    return Context::new(
        Box::new(crate::wasi_http::WasiHttp),
        Box::new(crate::kv::HostKv),
    );
    #[cfg(not(target_arch = "wasm32"))]
    Context::fake(&crate::FakeHttp::new())
}

/// `perform`, as exported: the plugin is built lean, with only what a call needs.
pub fn perform(
    build: fn() -> Plugin,
    action: &str,
    payload: &str,
    settings: &str,
) -> Result<(), ActionError> {
    crate::plugin::build_for_call(build)
        .perform_text(&mut context(), action, payload, settings)
        .map_err(action_error)
}

/// `perform-batch`, as exported: the plugin is built lean, with only what a call needs.
pub fn perform_batch(
    build: fn() -> Plugin,
    action: &str,
    payloads: &[String],
    settings: &str,
) -> Vec<Result<(), ActionError>> {
    crate::plugin::build_for_call(build)
        .perform_batch_text(&mut context(), action, payloads, settings)
        .into_iter()
        .map(|r| r.map_err(action_error))
        .collect()
}

#[cfg(target_arch = "wasm32")]
pub(crate) fn log(level: Level, message: &str) {
    use bindings::switchyard::destination::log as host;
    let level = match level {
        Level::Trace => wit::LogLevel::Trace,
        Level::Debug => wit::LogLevel::Debug,
        Level::Info => wit::LogLevel::Info,
        Level::Warn => wit::LogLevel::Warn,
        Level::Error => wit::LogLevel::Error,
    };
    host::log(level, message);
}

#[cfg(not(target_arch = "wasm32"))]
#[allow(dead_code, reason = "natively, logs stay in the Context")]
pub(crate) fn log(_level: Level, _message: &str) {}
