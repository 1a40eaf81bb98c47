//! A plugin's manifest as the host keeps it: what `describe` answered, parsed and checked once at
//! load time, so the rest of the host never sees raw WIT values or unparsed JSON text.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The type of an action field or a setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldType {
    String,
    Text,
    Number,
    Integer,
    Boolean,
    Datetime,
    Object,
}

/// One allowed value of a field or setting.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Choice {
    pub value: String,
    pub label: String,
}

/// A destination-wide setting.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Setting {
    pub key: String,
    pub label: String,
    pub description: String,
    #[serde(rename = "type")]
    pub kind: FieldType,
    pub required: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default: Option<Value>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<Choice>,
    pub secret: bool,
}

/// One input field of an action.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Field {
    pub key: String,
    pub label: String,
    pub description: String,
    #[serde(rename = "type")]
    pub kind: FieldType,
    pub required: bool,
    pub multiple: bool,
    pub allow_null: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<Choice>,
    /// The default mapping (mapping-directive JSON).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default: Option<Value>,
}

/// One action of a plugin.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Action {
    pub id: String,
    pub title: String,
    pub description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_trigger: Option<String>,
    pub fields: Vec<Field>,
    /// The largest batch `perform-batch` takes; `None` when the action has no batch support.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_batch_size: Option<u32>,
    /// What the action does once when a subscription is saved (WIT 0.3 `hooks`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hooks: Vec<Hook>,
}

impl Action {
    /// The field with this key, if the action declares one.
    pub fn field(&self, key: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.key == key)
    }

    /// The hook with this name, if the action has one.
    pub fn hook(&self, name: &str) -> Option<&Hook> {
        self.hooks.iter().find(|h| h.name == name)
    }
}

/// The hooks an action may have, by Segment's names: `onMappingSave` runs when a subscription
/// is saved, `retlOnMappingSave` when an audience or warehouse (reverse ETL) subscription is.
/// Switchyard runs both when a subscription is saved.
pub const HOOK_NAMES: [&str; 2] = ["onMappingSave", "retlOnMappingSave"];

/// Work an action does once, when a subscription is saved, such as creating the list every
/// event then goes to. The subscription's mapping holds it under its name as
/// `{"inputs": {...}, "outputs": {...}}`, and so does every payload: the host adds a field of
/// that name to the action (type object) when it reads the manifest.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hook {
    /// One of [`HOOK_NAMES`].
    pub name: String,
    pub label: String,
    pub description: String,
    /// What the user fills in.
    pub inputs: Vec<Field>,
    /// What the hook answers, kept with the subscription.
    pub outputs: Vec<Field>,
}

/// A ready-made subscription.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Preset {
    pub name: String,
    pub action: String,
    pub trigger: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mapping: Option<Value>,
}

/// Everything a plugin says about itself.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Manifest {
    pub id: String,
    pub name: String,
    pub version: String,
    pub description: String,
    pub settings: Vec<Setting>,
    pub allowed_hosts: Vec<String>,
    pub presets: Vec<Preset>,
    pub actions: Vec<Action>,
}

impl Manifest {
    /// The action with this id, if the plugin has one.
    pub fn action(&self, id: &str) -> Option<&Action> {
        self.actions.iter().find(|a| a.id == id)
    }

    /// The ids of every action, for error messages.
    pub fn action_ids(&self) -> Vec<&str> {
        self.actions.iter().map(|a| a.id.as_str()).collect()
    }
}
