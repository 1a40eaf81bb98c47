//! Declaring a plugin: its settings, its actions with their fields and default mappings, and the
//! typed functions that perform them.
//!
//! Every invocation runs in a fresh instance, so `export!` builds the plugin anew for each call.
//! A call needs only the actions' ids and functions, while the manifest (labels, descriptions,
//! fields, default mappings, presets) is most of what a plugin declares: for GA4, nineteen
//! actions of about thirty fields, a quarter of a millisecond of allocation per call. So the
//! builders have a *lean* mode, on only while `export!` builds the plugin for a call: in it they
//! keep ids, functions and batch sizes, and drop the rest without allocating. `describe` and
//! everything else (tests included) build the whole plugin.

use crate::{Context, Error};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use std::cell::Cell;

thread_local! {
    static LEAN: Cell<bool> = const { Cell::new(false) };
}

/// Whether the plugin being built is for one call only (see the module's notes).
pub(crate) fn lean() -> bool {
    LEAN.with(Cell::get)
}

/// Builds the plugin for one call: only what performing needs.
pub(crate) fn build_for_call(build: fn() -> Plugin) -> Plugin {
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            LEAN.with(|l| l.set(false));
        }
    }
    LEAN.with(|l| l.set(true));
    let _reset = Reset;
    build()
}

/// `text` as an owned string, or an empty one (no allocation) in lean mode.
fn kept(text: &str) -> String {
    if lean() { String::new() } else { text.into() }
}

/// The type of a field or setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FieldType {
    /// Short text.
    String,
    /// Long text.
    Text,
    /// A number.
    Number,
    /// A whole number.
    Integer,
    /// `true` or `false`.
    Boolean,
    /// A date and time (ISO 8601 or a Unix timestamp).
    Datetime,
    /// A JSON object.
    Object,
}

/// The mapping key of an action's sync mode (`add`, `update`, `upsert`, `delete`...), as
/// Segment's configurations carry it, so a migrated subscription keeps its mode. Declare it as
/// a field of the actions that have one (Segment's "V2" actions).
pub const SYNC_MODE: &str = "__segment_internal_sync_mode";

/// The sync mode a payload's mapping gives (`mapped`, the value under [`SYNC_MODE`]), or
/// `default` when it gives none; one not in `allowed` is an invalid payload naming it.
pub fn sync_mode<'a>(
    mapped: Option<&Value>,
    allowed: &[&'a str],
    default: &'a str,
) -> Result<&'a str, Error> {
    let mode = match mapped {
        None | Some(Value::Null) => return Ok(default),
        Some(Value::String(m)) => m.clone(),
        Some(other) => other.to_string(),
    };
    allowed
        .iter()
        .find(|a| **a == mode)
        .copied()
        .ok_or_else(|| {
            Error::invalid_payload(format!(
                "Sync mode {mode} is not supported ({SYNC_MODE}): use {}.",
                allowed.join(" or ")
            ))
        })
}

/// A destination-wide setting (an API key, a region, ...).
#[derive(Debug, Clone)]
pub struct Setting {
    pub(crate) key: String,
    pub(crate) label: String,
    pub(crate) description: String,
    pub(crate) kind: FieldType,
    pub(crate) required: bool,
    pub(crate) default: Option<Value>,
    pub(crate) choices: Vec<(String, String)>,
    pub(crate) secret: bool,
}

impl Setting {
    /// A setting of the given type.
    pub fn new(key: &str, label: &str, kind: FieldType) -> Setting {
        Setting {
            key: kept(key),
            label: kept(label),
            description: String::new(),
            kind,
            required: false,
            default: None,
            choices: Vec::new(),
            secret: false,
        }
    }

    /// A text setting.
    pub fn string(key: &str, label: &str) -> Setting {
        Setting::new(key, label, FieldType::String)
    }

    /// Sets the description shown to users.
    pub fn description(mut self, text: &str) -> Self {
        self.description = kept(text);
        self
    }

    /// Makes it required.
    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }

    /// Marks the value secret: the host masks it in every answer and log.
    pub fn secret(mut self) -> Self {
        self.secret = true;
        self
    }

    /// Sets the default value.
    pub fn default(mut self, value: Value) -> Self {
        self.default = (!lean()).then_some(value);
        self
    }

    /// Sets the default value, built only when the manifest is (see [`Field::default_with`]).
    pub fn default_with(mut self, value: impl FnOnce() -> Value) -> Self {
        self.default = (!lean()).then(value);
        self
    }

    /// Adds an allowed value.
    pub fn choice(mut self, value: &str, label: &str) -> Self {
        if !lean() {
            self.choices.push((value.into(), label.into()));
        }
        self
    }
}

/// An input field of an action.
#[derive(Debug, Clone)]
pub struct Field {
    pub(crate) key: String,
    pub(crate) label: String,
    pub(crate) description: String,
    pub(crate) kind: FieldType,
    pub(crate) required: bool,
    pub(crate) multiple: bool,
    pub(crate) allow_null: bool,
    pub(crate) choices: Vec<(String, String)>,
    pub(crate) default: Option<Value>,
}

impl Field {
    /// A field of the given type.
    pub fn new(key: &str, label: &str, kind: FieldType) -> Field {
        Field {
            key: kept(key),
            label: kept(label),
            description: String::new(),
            kind,
            required: false,
            multiple: false,
            allow_null: false,
            choices: Vec::new(),
            default: None,
        }
    }

    /// A short-text one.
    pub fn string(key: &str, label: &str) -> Field {
        Field::new(key, label, FieldType::String)
    }

    /// A long text (a message body, a template).
    pub fn text(key: &str, label: &str) -> Field {
        Field::new(key, label, FieldType::Text)
    }

    /// A number field.
    pub fn number(key: &str, label: &str) -> Field {
        Field::new(key, label, FieldType::Number)
    }

    /// A whole-number field.
    pub fn integer(key: &str, label: &str) -> Field {
        Field::new(key, label, FieldType::Integer)
    }

    /// A boolean field.
    pub fn boolean(key: &str, label: &str) -> Field {
        Field::new(key, label, FieldType::Boolean)
    }

    /// A date-time field.
    pub fn datetime(key: &str, label: &str) -> Field {
        Field::new(key, label, FieldType::Datetime)
    }

    /// An object field.
    pub fn object(key: &str, label: &str) -> Field {
        Field::new(key, label, FieldType::Object)
    }

    /// Sets the description shown to users.
    pub fn description(mut self, text: &str) -> Self {
        self.description = kept(text);
        self
    }

    /// Makes it required.
    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }

    /// The value is a list; a single value is wrapped in one.
    pub fn multiple(mut self) -> Self {
        self.multiple = true;
        self
    }

    /// `null` is a value (kept, not removed).
    pub fn allow_null(mut self) -> Self {
        self.allow_null = true;
        self
    }

    /// Adds an allowed value.
    pub fn choice(mut self, value: &str, label: &str) -> Self {
        if !lean() {
            self.choices.push((value.into(), label.into()));
        }
        self
    }

    /// The default mapping, as mapping-directive JSON: `json!({"@path": "$.userId"})`, or a
    /// literal value.
    pub fn default(mut self, mapping: Value) -> Self {
        self.default = (!lean()).then_some(mapping);
        self
    }

    /// The default mapping, built only when the manifest is: for a large one (an `@arrayPath`
    /// with many keys), which a call would otherwise build and drop on every event.
    pub fn default_with(mut self, mapping: impl FnOnce() -> Value) -> Self {
        self.default = (!lean()).then(mapping);
        self
    }
}

/// What a batch answers: one result per payload, in the order the payloads came.
pub type BatchResults = Vec<Result<(), Error>>;

type PerformFn = Box<dyn Fn(&mut Context, &str, &str) -> Result<(), Error>>;
type HookFn = Box<dyn Fn(&mut Context, &str, &str) -> Result<HookOutputs, Error>>;

/// What a hook answers: its outputs, a JSON object kept with the subscription.
pub type HookOutputs = Map<String, Value>;
type BatchFn = Box<dyn Fn(&mut Context, &[String], &str) -> Vec<Result<(), Error>>>;

/// An action: what it is, its fields, and how to perform it.
pub struct Action {
    pub(crate) id: String,
    pub(crate) title: String,
    pub(crate) description: String,
    pub(crate) default_trigger: Option<String>,
    pub(crate) fields: Vec<Field>,
    pub(crate) max_batch_size: Option<u32>,
    pub(crate) perform: Option<PerformFn>,
    pub(crate) perform_batch: Option<BatchFn>,
    pub(crate) hooks: Vec<Hook>,
}

fn parse<T: DeserializeOwned>(text: &str, what: &str) -> Result<T, String> {
    serde_json::from_str(text).map_err(|e| format!("{what}: {e}"))
}

impl Action {
    /// Whether the action declares a field with this key (for tests of a plugin's manifest).
    pub fn has_field(&self, key: &str) -> bool {
        self.fields.iter().any(|f| f.key == key)
    }

    /// An action with its id (stable: subscriptions name it) and a title.
    pub fn new(id: &str, title: &str) -> Action {
        Action {
            id: id.into(),
            title: kept(title),
            description: String::new(),
            default_trigger: None,
            fields: Vec::new(),
            max_batch_size: None,
            perform: None,
            perform_batch: None,
            hooks: Vec::new(),
        }
    }

    /// Adds a hook: work done once when a subscription is saved (see [`Hook`]).
    pub fn hook(mut self, hook: Hook) -> Self {
        self.hooks.push(hook);
        self
    }

    /// Sets the description shown to users.
    pub fn description(mut self, text: &str) -> Self {
        self.description = kept(text);
        self
    }

    /// The trigger proposed when a user adds the action, e.g. `type = "track"`.
    pub fn default_trigger(mut self, trigger: &str) -> Self {
        self.default_trigger = (!lean()).then(|| trigger.into());
        self
    }

    /// Adds a field.
    pub fn field(mut self, field: Field) -> Self {
        if !lean() {
            self.fields.push(field);
        }
        self
    }

    /// How one event is delivered. `P` is the payload (the mapped fields) and `S` the settings,
    /// both deserialised with serde; a payload or settings that do not deserialise are refused
    /// as invalid before `perform` runs.
    pub fn perform<P, S>(mut self, f: fn(&mut Context, P, S) -> Result<(), Error>) -> Self
    where
        P: DeserializeOwned + 'static,
        S: DeserializeOwned + 'static,
    {
        self.perform = Some(Box::new(move |ctx, payload, settings| {
            let settings: S = parse(settings, "settings").map_err(Error::InvalidSettings)?;
            let payload: P = parse(payload, "payload").map_err(Error::InvalidPayload)?;
            f(ctx, payload, settings)
        }));
        self
    }

    /// How many events are delivered at once, up to `max_size`. `f` answers one result per
    /// payload, in order. Payloads that do not deserialise are answered as invalid and left out
    /// of the call.
    pub fn perform_batch<P, S>(
        mut self,
        max_size: u32,
        f: fn(&mut Context, Vec<P>, S) -> BatchResults,
    ) -> Self
    where
        P: DeserializeOwned + 'static,
        S: DeserializeOwned + 'static,
    {
        self.max_batch_size = Some(max_size);
        self.perform_batch = Some(Box::new(move |ctx, payloads, settings| {
            let settings: S = match parse(settings, "settings") {
                Ok(s) => s,
                Err(e) => return vec![Err(Error::InvalidSettings(e)); payloads.len()],
            };
            let mut results: Vec<Option<Result<(), Error>>> = vec![None; payloads.len()];
            let mut good = Vec::new();
            let mut places = Vec::new();
            for (i, text) in payloads.iter().enumerate() {
                match parse::<P>(text, "payload") {
                    Ok(p) => {
                        good.push(p);
                        places.push(i);
                    }
                    Err(e) => results[i] = Some(Err(Error::InvalidPayload(e))),
                }
            }
            let count = good.len();
            let answers = if count == 0 {
                Vec::new()
            } else {
                f(ctx, good, settings)
            };
            if answers.len() != count {
                let e = Error::permanent(format!(
                    "perform_batch answered {} results for {count} payloads",
                    answers.len()
                ));
                return vec![Err(e); payloads.len()];
            }
            for (place, answer) in places.into_iter().zip(answers) {
                results[place] = Some(answer);
            }
            results.into_iter().map(|r| r.unwrap_or(Ok(()))).collect()
        }));
        self
    }
}

/// The mapping key and hook name of Segment's `onMappingSave` hook.
pub const ON_MAPPING_SAVE: &str = "onMappingSave";
/// The mapping key and hook name of Segment's `retlOnMappingSave` hook (audiences, warehouses).
pub const RETL_ON_MAPPING_SAVE: &str = "retlOnMappingSave";

/// Work an action does once, when a subscription is saved, rather than for each event: create
/// the vendor-side list or catalog the events go to, or check that the one named exists. The
/// user fills in the hook's inputs; the hook answers outputs (a JSON object) that the host keeps
/// with the subscription. Every payload then carries the hook's record under its name
/// ([`ON_MAPPING_SAVE`] or [`RETL_ON_MAPPING_SAVE`]); read it with a [`HookRecord`] field.
pub struct Hook {
    pub(crate) name: String,
    pub(crate) label: String,
    pub(crate) description: String,
    pub(crate) inputs: Vec<Field>,
    pub(crate) outputs: Vec<Field>,
    pub(crate) run: Option<HookFn>,
}

impl Hook {
    /// Segment's `onMappingSave`.
    pub fn on_mapping_save(label: &str) -> Hook {
        Hook::named(ON_MAPPING_SAVE, label)
    }

    /// Segment's `retlOnMappingSave`.
    pub fn retl_on_mapping_save(label: &str) -> Hook {
        Hook::named(RETL_ON_MAPPING_SAVE, label)
    }

    fn named(name: &str, label: &str) -> Hook {
        Hook {
            name: name.into(),
            label: kept(label),
            description: String::new(),
            inputs: Vec::new(),
            outputs: Vec::new(),
            run: None,
        }
    }

    /// Sets the description shown to users.
    pub fn description(mut self, text: &str) -> Self {
        self.description = kept(text);
        self
    }

    /// Adds an input the user fills in.
    pub fn input(mut self, field: Field) -> Self {
        if !lean() {
            self.inputs.push(field);
        }
        self
    }

    /// Adds an output the hook answers.
    pub fn output(mut self, field: Field) -> Self {
        if !lean() {
            self.outputs.push(field);
        }
        self
    }

    /// What the hook does. `I` is the inputs and `S` the settings, deserialised with serde;
    /// the answer is the outputs, a JSON object.
    pub fn run<I, S>(mut self, f: fn(&mut Context, I, S) -> Result<HookOutputs, Error>) -> Self
    where
        I: DeserializeOwned + 'static,
        S: DeserializeOwned + 'static,
    {
        self.run = Some(Box::new(move |ctx, inputs, settings| {
            let settings: S = parse(settings, "settings").map_err(Error::InvalidSettings)?;
            let inputs: I = parse(inputs, "hook inputs").map_err(Error::InvalidPayload)?;
            f(ctx, inputs, settings)
        }));
        self
    }
}

/// A hook's record as a payload carries it, under the hook's name: the inputs the user gave
/// and the outputs the hook answered (or a configuration moved from Segment carried).
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize)]
pub struct HookRecord {
    /// What the user filled in.
    #[serde(default)]
    pub inputs: Map<String, Value>,
    /// What the hook answered.
    #[serde(default)]
    pub outputs: Map<String, Value>,
}

/// A preset: a subscription a destination gets when it is configured without any.
#[derive(Debug, Clone)]
pub struct Preset {
    pub(crate) name: String,
    pub(crate) action: String,
    pub(crate) trigger: String,
    pub(crate) mapping: Option<Value>,
}

impl Preset {
    /// A preset using the action's default mappings.
    pub fn new(name: &str, action: &str, trigger: &str) -> Preset {
        Preset {
            name: kept(name),
            action: kept(action),
            trigger: kept(trigger),
            mapping: None,
        }
    }

    /// A mapping of its own instead of the action's defaults.
    pub fn mapping(mut self, mapping: Value) -> Self {
        self.mapping = (!lean()).then_some(mapping);
        self
    }

    /// A mapping of its own, built only when the manifest is (see [`Field::default_with`]).
    pub fn mapping_with(mut self, mapping: impl FnOnce() -> Value) -> Self {
        self.mapping = (!lean()).then(mapping);
        self
    }
}

/// A destination plugin: build one with [`Plugin::new`] and export it with
/// [`export!`](crate::export).
pub struct Plugin {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) version: String,
    pub(crate) description: String,
    pub(crate) settings: Vec<Setting>,
    pub(crate) allowed_hosts: Vec<String>,
    pub(crate) presets: Vec<Preset>,
    pub(crate) actions: Vec<Action>,
}

impl Plugin {
    /// `id` is the plugin's stable identifier (lowercase, dashes), `version` usually
    /// `env!("CARGO_PKG_VERSION")`.
    pub fn new(id: &str, name: &str, version: &str) -> Plugin {
        Plugin {
            id: id.into(),
            name: kept(name),
            version: kept(version),
            description: String::new(),
            settings: Vec::new(),
            allowed_hosts: Vec::new(),
            presets: Vec::new(),
            actions: Vec::new(),
        }
    }

    /// Sets the description shown to users.
    pub fn description(mut self, text: &str) -> Self {
        self.description = kept(text);
        self
    }

    /// Adds a setting.
    pub fn setting(mut self, setting: Setting) -> Self {
        if !lean() {
            self.settings.push(setting);
        }
        self
    }

    /// A host the plugin calls: `https://api.example.com` or `https://*.example.com`.
    pub fn allowed_host(mut self, pattern: &str) -> Self {
        if !lean() {
            self.allowed_hosts.push(pattern.into());
        }
        self
    }

    /// Adds a preset.
    pub fn preset(mut self, preset: Preset) -> Self {
        if !lean() {
            self.presets.push(preset);
        }
        self
    }

    /// Adds an action.
    pub fn action(mut self, action: Action) -> Self {
        self.actions.push(action);
        self
    }

    /// The action with this id.
    pub fn find_action(&self, id: &str) -> Option<&Action> {
        self.actions.iter().find(|a| a.id == id)
    }

    /// Runs one action on one payload, as the host does. For tests.
    pub fn perform(
        &self,
        ctx: &mut Context,
        action: &str,
        payload: &Value,
        settings: &Value,
    ) -> Result<(), Error> {
        self.perform_text(ctx, action, &payload.to_string(), &settings.to_string())
    }

    /// Runs one action on many payloads, as the host does. For tests.
    pub fn perform_batch(
        &self,
        ctx: &mut Context,
        action: &str,
        payloads: &[Value],
        settings: &Value,
    ) -> Vec<Result<(), Error>> {
        let texts: Vec<String> = payloads.iter().map(Value::to_string).collect();
        self.perform_batch_text(ctx, action, &texts, &settings.to_string())
    }

    pub(crate) fn perform_text(
        &self,
        ctx: &mut Context,
        action: &str,
        payload: &str,
        settings: &str,
    ) -> Result<(), Error> {
        let found = self
            .find_action(action)
            .ok_or_else(|| self.unknown(action))?;
        match &found.perform {
            Some(f) => f(ctx, payload, settings),
            None => match &found.perform_batch {
                Some(f) => f(ctx, &[payload.to_string()], settings)
                    .pop()
                    .unwrap_or(Ok(())),
                None => Err(Error::permanent(format!("action {action} has no perform"))),
            },
        }
    }

    pub(crate) fn perform_batch_text(
        &self,
        ctx: &mut Context,
        action: &str,
        payloads: &[String],
        settings: &str,
    ) -> Vec<Result<(), Error>> {
        let Some(found) = self.find_action(action) else {
            return vec![Err(self.unknown(action)); payloads.len()];
        };
        match &found.perform_batch {
            Some(f) => f(ctx, payloads, settings),
            None => payloads
                .iter()
                .map(|p| self.perform_text(ctx, action, p, settings))
                .collect(),
        }
    }

    /// Runs one of an action's hooks, as the host does when a subscription is saved. For tests.
    pub fn run_hook(
        &self,
        ctx: &mut Context,
        action: &str,
        hook: &str,
        inputs: &Value,
        settings: &Value,
    ) -> Result<Map<String, Value>, Error> {
        self.run_hook_text(
            ctx,
            action,
            hook,
            &inputs.to_string(),
            &settings.to_string(),
        )
    }

    pub(crate) fn run_hook_text(
        &self,
        ctx: &mut Context,
        action: &str,
        hook: &str,
        inputs: &str,
        settings: &str,
    ) -> Result<Map<String, Value>, Error> {
        let found = self
            .find_action(action)
            .ok_or_else(|| self.unknown(action))?;
        let run = found
            .hooks
            .iter()
            .find(|h| h.name == hook)
            .and_then(|h| h.run.as_ref())
            .ok_or_else(|| Error::permanent(format!("action {action} has no hook {hook}")))?;
        run(ctx, inputs, settings)
    }

    fn unknown(&self, action: &str) -> Error {
        let ids: Vec<&str> = self.actions.iter().map(|a| a.id.as_str()).collect();
        Error::permanent(format!(
            "plugin {} has no action {action:?}; its actions are: {}",
            self.id,
            ids.join(", ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::path;
    use serde_json::json;

    #[derive(serde::Deserialize)]
    struct Payload {
        name: String,
    }

    fn greet(_: &mut Context, p: Payload, _: Value) -> Result<(), Error> {
        if p.name.is_empty() {
            return Err(Error::invalid_payload("name is empty"));
        }
        Ok(())
    }

    fn sample() -> Plugin {
        Plugin::new("sample", "Sample", "1.0.0")
            .description("A sample.")
            .allowed_host("https://api.example.com")
            .setting(Setting::string("apiKey", "API Key").required().secret())
            .preset(Preset::new("Greet", "greet", "type = \"track\""))
            .action(
                Action::new("greet", "Greet")
                    .default_trigger("type = \"track\"")
                    .field(
                        Field::string("name", "Name")
                            .choice("a", "A")
                            .default(path("$.event")),
                    )
                    .perform(greet),
            )
    }

    #[test]
    fn a_call_builds_only_ids_and_functions_and_describe_builds_everything() {
        let lean = build_for_call(sample);
        assert!(lean.settings.is_empty() && lean.presets.is_empty());
        assert!(lean.allowed_hosts.is_empty() && lean.description.is_empty());
        let action = lean.find_action("greet").expect("ids are kept");
        assert!(action.fields.is_empty() && action.default_trigger.is_none());
        let mut ctx = Context::fake(&crate::FakeHttp::new());
        assert_eq!(
            lean.perform(&mut ctx, "greet", &json!({"name": "Ann"}), &json!({})),
            Ok(())
        );
        assert!(matches!(
            lean.perform(&mut ctx, "greet", &json!({"name": ""}), &json!({})),
            Err(Error::InvalidPayload(_))
        ));
        assert!(
            matches!(lean.perform(&mut ctx, "wave", &json!({}), &json!({})),
                Err(Error::Permanent { message, .. }) if message.contains("greet"))
        );

        // Outside a call, nothing is left out.
        let full = crate::guest::describe(&sample());
        assert_eq!(full.settings.len(), 1);
        assert_eq!(full.presets.len(), 1);
        assert_eq!(full.allowed_hosts, ["https://api.example.com"]);
        let field = &full.actions[0].fields[0];
        assert_eq!(field.key, "name");
        assert_eq!(field.choices.len(), 1);
        assert_eq!(
            field.default_mapping.as_deref(),
            Some(r#"{"@path":"$.event"}"#)
        );
    }

    #[test]
    fn lazy_defaults_and_mappings_are_built_only_for_the_manifest() {
        thread_local! {
            static BUILT: Cell<u32> = const { Cell::new(0) };
        }
        fn counted() -> Value {
            BUILT.with(|b| b.set(b.get() + 1));
            json!({"@arrayPath": ["$.properties.products", {"id": {"@path": "$.sku"}}]})
        }
        fn lazy() -> Plugin {
            Plugin::new("lazy", "Lazy", "1.0.0")
                .setting(Setting::string("region", "Region").default_with(counted))
                .preset(Preset::new("All", "greet", "type = \"track\"").mapping_with(counted))
                .action(
                    Action::new("greet", "Greet")
                        .field(Field::object("items", "Items").default_with(counted))
                        .perform(greet),
                )
        }
        let _ = build_for_call(lazy);
        assert_eq!(BUILT.with(Cell::get), 0, "a call builds none of them");
        let manifest = crate::guest::describe(&lazy());
        assert_eq!(BUILT.with(Cell::get), 3);
        let expected = counted().to_string();
        assert_eq!(
            manifest.actions[0].fields[0].default_mapping.as_deref(),
            Some(expected.as_str())
        );
        assert_eq!(
            manifest.presets[0].mapping.as_deref(),
            Some(expected.as_str())
        );
        assert_eq!(
            manifest.settings[0].default.as_deref(),
            Some(expected.as_str())
        );
    }

    #[test]
    fn sync_modes_default_and_refuse_what_is_not_allowed() {
        let allowed = ["add", "update"];
        assert_eq!(sync_mode(None, &allowed, "update"), Ok("update"));
        assert_eq!(sync_mode(Some(&Value::Null), &allowed, "add"), Ok("add"));
        assert_eq!(
            sync_mode(Some(&json!("add")), &allowed, "update"),
            Ok("add")
        );
        for bad in [json!("mirror"), json!(3)] {
            let err = sync_mode(Some(&bad), &allowed, "add").unwrap_err();
            assert!(
                matches!(&err, Error::InvalidPayload(m)
                    if m.contains("is not supported") && m.contains("use add or update")),
                "{err:?}"
            );
        }
    }

    #[test]
    fn the_exported_calls_perform_on_the_lean_build() {
        assert!(crate::guest::perform(sample, "greet", r#"{"name":"Ann"}"#, "{}").is_ok());
        let answers = crate::guest::perform_batch(
            sample,
            "greet",
            &[r#"{"name":"Ann"}"#.into(), r#"{"name":""}"#.into()],
            "{}",
        );
        assert_eq!(answers.len(), 2);
        assert!(answers[0].is_ok() && answers[1].is_err());
        assert!(!lean(), "lean mode ends with the build");
    }
}
