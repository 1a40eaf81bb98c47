//! The catalogue: every loaded plugin (bundled, or from the plugins folder) with its version,
//! its actions and what they do, its settings, and the hosts it may call. Built from the
//! manifests of the snapshot in force; plugin text is shown escaped, like event data.

use crate::live::Snapshot;
use crate::model::{FieldType, Manifest};
use crate::trigger::Trigger;

pub(super) struct PluginEntry {
    pub(super) name: String,
    pub(super) id: String,
    pub(super) version: String,
    pub(super) description: String,
    /// "bundled with the server" or the file it was loaded from.
    pub(super) origin: String,
    pub(super) wit_version: &'static str,
    pub(super) allowed_hosts: Vec<String>,
    pub(super) settings: Vec<SettingEntry>,
    pub(super) actions: Vec<ActionEntry>,
}

pub(super) struct SettingEntry {
    pub(super) label: String,
    pub(super) key: String,
    pub(super) kind: &'static str,
    pub(super) required: bool,
    pub(super) secret: bool,
    pub(super) description: String,
    pub(super) choices: Vec<String>,
}

pub(super) struct ActionEntry {
    pub(super) title: String,
    pub(super) id: String,
    pub(super) description: String,
    /// The default trigger, in words and as text.
    pub(super) trigger: Option<(String, String)>,
    /// The largest batch, when the action takes batches.
    pub(super) batch: Option<u32>,
    pub(super) fields: usize,
}

pub(super) fn kind(t: FieldType) -> &'static str {
    match t {
        FieldType::String => "text",
        FieldType::Text => "long text",
        FieldType::Number => "number",
        FieldType::Integer => "whole number",
        FieldType::Boolean => "yes / no",
        FieldType::Datetime => "date and time",
        FieldType::Object => "object",
    }
}

fn entry(m: &Manifest, origin: &str, wit_version: &'static str) -> PluginEntry {
    PluginEntry {
        name: m.name.clone(),
        id: m.id.clone(),
        version: m.version.clone(),
        description: m.description.clone(),
        origin: if origin.starts_with("bundled plugin") {
            "bundled with the server".into()
        } else {
            origin.to_string()
        },
        wit_version,
        allowed_hosts: m.allowed_hosts.clone(),
        settings: m
            .settings
            .iter()
            .map(|s| SettingEntry {
                label: s.label.clone(),
                key: s.key.clone(),
                kind: kind(s.kind),
                required: s.required,
                secret: s.secret,
                description: s.description.clone(),
                choices: s.choices.iter().map(|c| c.label.clone()).collect(),
            })
            .collect(),
        actions: m
            .actions
            .iter()
            .map(|a| ActionEntry {
                title: a.title.clone(),
                id: a.id.clone(),
                description: a.description.clone(),
                trigger: a.default_trigger.as_ref().map(|t| match Trigger::parse(t) {
                    Ok(parsed) => (parsed.in_words(), t.clone()),
                    Err(_) => (String::new(), t.clone()),
                }),
                batch: a.max_batch_size,
                fields: a.fields.len(),
            })
            .collect(),
    }
}

/// Every loaded plugin, by name.
pub(super) fn build(snapshot: &Snapshot) -> Vec<PluginEntry> {
    let mut entries: Vec<PluginEntry> = snapshot
        .plugins
        .values()
        .map(|p| entry(p.manifest(), p.origin(), p.wit_version()))
        .collect();
    entries.sort_by_key(|e| e.name.to_lowercase());
    entries
}
