//! Destination settings checked against the plugin's declared settings: unknown keys and missing
//! required settings are refused (naming the key), defaults fill what is absent, and values get
//! the same type checks as action fields.

use crate::mapping::Resolved;
use crate::model::{Field, Manifest};
use serde_json::{Map, Value};

/// The settings with defaults filled in, or a message naming what is wrong.
pub(crate) fn check(manifest: &Manifest, settings: &Value) -> Result<Value, String> {
    let Some(given) = settings.as_object() else {
        return Err("settings must be a JSON object".into());
    };
    let known: Vec<&str> = manifest.settings.iter().map(|s| s.key.as_str()).collect();
    let mut errors = Vec::new();
    for key in given.keys() {
        if !known.contains(&key.as_str()) {
            let list = if known.is_empty() {
                format!("plugin {} takes no settings", manifest.id)
            } else {
                format!(
                    "the settings of plugin {} are: {}",
                    manifest.id,
                    known.join(", ")
                )
            };
            errors.push(format!("unknown setting '{key}'; {list}"));
        }
    }
    let mut out = Map::new();
    for s in &manifest.settings {
        let value = given.get(&s.key).or(s.default.as_ref());
        // Settings are checked with the same rules as action fields.
        let as_field = Field {
            key: s.key.clone(),
            label: s.label.clone(),
            description: String::new(),
            kind: s.kind,
            required: s.required,
            multiple: false,
            allow_null: false,
            choices: s.choices.clone(),
            default: None,
        };
        match crate::payload::check_field(&as_field, value.map(Resolved::Ref), true) {
            Ok(Some(v)) => {
                out.insert(s.key.clone(), v.into_value());
            }
            Ok(None) => {}
            Err(e) => errors.push(e.replace("field '", "setting '")),
        }
    }
    if errors.is_empty() {
        Ok(Value::Object(out))
    } else {
        Err(errors.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{FieldType, Setting};
    use serde_json::json;

    fn manifest() -> Manifest {
        let setting = |key: &str, required, default: Option<Value>| Setting {
            key: key.into(),
            label: key.into(),
            description: String::new(),
            kind: FieldType::String,
            required,
            default,
            choices: vec![],
            secret: false,
        };
        Manifest {
            id: "p".into(),
            name: "P".into(),
            version: "1".into(),
            description: String::new(),
            settings: vec![
                setting("api_key", true, None),
                setting("region", false, Some(json!("us"))),
            ],
            allowed_hosts: vec![],
            presets: vec![],
            actions: vec![],
        }
    }

    #[test]
    fn fills_defaults_and_names_problems() {
        assert_eq!(
            check(&manifest(), &json!({"api_key": "k"})).unwrap(),
            json!({"api_key": "k", "region": "us"})
        );
        assert_eq!(
            check(&manifest(), &json!({"apikey": "k"})).unwrap_err(),
            "unknown setting 'apikey'; the settings of plugin p are: api_key, region; \
             missing the required setting 'api_key'"
        );
    }
}
