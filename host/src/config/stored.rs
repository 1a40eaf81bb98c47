//! Destinations created through the admin API, kept in `data_dir/destinations.json`.
//!
//! The configuration file stays the operator's own: the server never rewrites it, because
//! comments, `${ENV}` references and the copy in version control would be lost. Destinations
//! written there are read-only through the API. Those created through the API are kept here,
//! with the keys of a `[[destinations]]` entry, and join the file's at every start and reload;
//! a name may be in only one of the two. The file holds secret settings, so it is written
//! whole (a crash leaves the old or the new one) and readable by its owner only.

use super::Delivery;
use super::{ConfigError, Destination, Subscription, parse_base_url};
use crate::model::Limits;
use crate::problems::Problems;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

/// The store's file name in the data folder.
pub const FILE: &str = "destinations.json";

/// A destination as the admin API takes it and the store keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DestinationSpec {
    pub name: String,
    pub plugin: String,
    /// The sources it receives events from; all of them when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sources: Option<Vec<String>>,
    #[serde(default = "empty_object")]
    pub settings: Value,
    #[serde(default)]
    pub limits: Limits,
    #[serde(default)]
    pub delivery: Delivery,
    #[serde(default)]
    pub allowed_hosts: Vec<String>,
    #[serde(default)]
    pub allow_private: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_outbound: Option<String>,
    #[serde(default = "yes")]
    pub enabled: bool,
    /// RFC 3339: where a new destination starts reading the event log (default: its end).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_from: Option<String>,
    /// Absent when creating: the plugin's presets are copied in, as Segment does, so they can
    /// be edited one by one afterwards.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscriptions: Option<Vec<SubscriptionSpec>>,
}

/// A subscription as the admin API takes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionSpec {
    pub name: String,
    pub action: String,
    pub trigger: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mapping: Option<Map<String, Value>>,
    #[serde(default = "yes")]
    pub use_defaults: bool,
    #[serde(default = "yes")]
    pub enabled: bool,
    /// RFC 3339: backfill the subscription from this time (see `config::Subscription`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_from: Option<String>,
}

fn yes() -> bool {
    true
}

fn empty_object() -> Value {
    Value::Object(Map::new())
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoreFile {
    destinations: Vec<DestinationSpec>,
}

/// The store of one data folder.
#[derive(Debug, Clone)]
pub struct Store {
    pub path: PathBuf,
}

impl Store {
    pub fn in_dir(data_dir: &Path) -> Store {
        Store {
            path: data_dir.join(FILE),
        }
    }

    /// The destinations kept; none when the file does not exist.
    pub fn read(&self) -> Result<Vec<DestinationSpec>, ConfigError> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => {
                return Err(ConfigError(format!(
                    "cannot read {}: {e}",
                    self.path.display()
                )));
            }
        };
        let file: StoreFile = serde_json::from_str(&text).map_err(|e| {
            ConfigError(format!(
                "{} line {} column {}: {e} (this file is written by the admin API; fix or \
                 remove it, then start again)",
                self.path.display(),
                e.line(),
                e.column()
            ))
        })?;
        Ok(file.destinations)
    }

    /// Replaces the file's content with `destinations`.
    pub fn write(&self, destinations: &[DestinationSpec]) -> std::io::Result<()> {
        let text = serde_json::to_string_pretty(&serde_json::json!({
            "destinations": destinations
        }))?;
        crate::files::write_whole_private(&self.path, text.as_bytes())
    }
}

impl DestinationSpec {
    /// Checks what can be checked without the plugins, and turns the spec into a destination
    /// of the configuration; `sources` are the configured source names.
    pub fn to_destination(&self, sources: &[String]) -> Result<Destination, String> {
        let at = |key: &str| format!("destination {:?} ({key})", self.name);
        check_name(&self.name).map_err(|e| format!("{}: {e}", at("name")))?;
        let names = match &self.sources {
            None => sources.to_vec(),
            Some(list) => {
                if let Some(unknown) = list.iter().find(|n| !sources.contains(n)) {
                    return Err(format!(
                        "{}: there is no source named {unknown:?}; the sources are: {}",
                        at("sources"),
                        sources.join(", ")
                    ));
                }
                list.clone()
            }
        };
        if !self.settings.is_object() {
            return Err(format!("{}: settings must be an object", at("settings")));
        }
        self.limits
            .validate()
            .map_err(|e| format!("{}: {e}", at("limits")))?;
        self.delivery
            .validate()
            .map_err(|e| format!("{}: {e}", at("delivery")))?;
        let redirect_outbound = self
            .redirect_outbound
            .as_deref()
            .map(parse_base_url)
            .transpose()
            .map_err(|e| format!("{}: {e}", at("redirect_outbound")))?;
        let mut subscriptions = Vec::new();
        for (i, s) in self.subscriptions.iter().flatten().enumerate() {
            let key = format!("subscriptions[{i}].name");
            check_name(&s.name).map_err(|e| format!("{}: {e}", at(&key)))?;
            if subscriptions
                .iter()
                .any(|x: &Subscription| x.name == s.name)
            {
                return Err(format!(
                    "{}: a subscription named {:?} is already defined",
                    at(&key),
                    s.name
                ));
            }
            subscriptions.push(Subscription {
                name: s.name.clone(),
                line: 0,
                action: s.action.clone(),
                trigger: s.trigger.clone(),
                trigger_line: 0,
                mapping: s.mapping.clone(),
                mapping_line: 0,
                use_defaults: s.use_defaults,
                hook_outputs: Vec::new(),
                enabled: s.enabled,
                start_from: s
                    .start_from
                    .as_deref()
                    .map(super::start_time)
                    .transpose()
                    .map_err(|e| {
                        format!("{}: {e}", at(&format!("subscriptions[{i}].start_from")))
                    })?,
            });
        }
        Ok(Destination {
            name: self.name.clone(),
            line: 0,
            stored: true,
            plugin: self.plugin.clone(),
            sources: names,
            settings: self.settings.clone(),
            limits: self.limits.clone(),
            delivery: self.delivery.clone(),
            allowed_hosts: self.allowed_hosts.clone(),
            allow_private: self.allow_private,
            redirect_outbound,
            enabled: self.enabled,
            start_from: self
                .start_from
                .as_deref()
                .map(super::start_time)
                .transpose()
                .map_err(|e| format!("{}: {e}", at("start_from")))?,
            subscriptions: self.subscriptions.as_ref().map(|_| subscriptions),
        })
    }
}

/// Names are path segments of the admin API: 1 to 100 characters, without `/` or control
/// characters (Segment's preset names, "Order Placed (beta)", pass).
fn check_name(name: &str) -> Result<(), String> {
    let bad = |c: char| c == '/' || c.is_control();
    if name.trim().is_empty() || name.chars().count() > 100 || name.chars().any(bad) {
        return Err(format!(
            "{name:?} is not a valid name: use 1 to 100 characters, without / or control \
             characters"
        ));
    }
    Ok(())
}

/// The configuration `file` (its destinations only, stored ones dropped) joined with the
/// stored destinations; a name in both is refused.
pub fn join(
    file: &super::Config,
    stored: &[DestinationSpec],
    store: &Store,
) -> Result<super::Config, Problems> {
    let mut config = file.clone();
    config.destinations.retain(|d| !d.stored);
    let sources: Vec<String> = config.sources.iter().map(|s| s.name.clone()).collect();
    let mut problems = Vec::new();
    for spec in stored {
        if let Some(d) = config.destinations.iter().find(|d| d.name == spec.name) {
            problems.push(format!(
                "destination {:?} is both in {} line {} and in {} (made through the admin \
                 API); remove one of them",
                spec.name,
                config.origin,
                d.line,
                store.path.display()
            ));
            continue;
        }
        match spec.to_destination(&sources) {
            Ok(d) => config.destinations.push(d),
            Err(e) => problems.push(format!("{}: {e}", store.path.display())),
        }
    }
    match Problems::from_list(problems) {
        None => Ok(config),
        Some(problems) => Err(problems),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(value: Value) -> DestinationSpec {
        serde_json::from_value(value).unwrap()
    }

    fn file() -> super::super::Config {
        super::super::Config::parse(
            r#"
[[sources]]
name = "app"
write_key = "k"
[[destinations]]
name = "chat"
plugin = "slack"
"#,
            "test.toml",
            |_| Err::<String, _>("none"),
        )
        .unwrap()
    }

    #[test]
    fn a_spec_becomes_a_destination_or_an_error_naming_the_key() {
        let sources = ["app".to_string()];
        let d = spec(json!({"name": "crm", "plugin": "braze", "settings": {"api_key": "x"},
            "subscriptions": [{"name": "All", "action": "trackEvent", "trigger": "type = \"track\""}]}))
        .to_destination(&sources)
        .unwrap();
        assert!(d.stored && d.enabled);
        assert_eq!(d.sources, ["app"]);
        assert_eq!(d.subscriptions.unwrap()[0].name, "All");

        for (value, named) in [
            (json!({"name": "", "plugin": "braze"}), "(name)"),
            (
                json!({"name": "crm", "plugin": "braze", "sources": ["web"]}),
                "\"web\"",
            ),
            (
                json!({"name": "crm", "plugin": "braze", "settings": [1]}),
                "(settings)",
            ),
            (
                json!({"name": "crm", "plugin": "braze", "delivery": {"concurrency": 0}}),
                "concurrency",
            ),
            (
                json!({"name": "crm", "plugin": "braze", "redirect_outbound": "ftp://x"}),
                "redirect_outbound",
            ),
            (
                json!({"name": "crm", "plugin": "braze", "subscriptions": [
                    {"name": "A", "action": "trackEvent", "trigger": "type = \"track\""},
                    {"name": "A", "action": "trackEvent", "trigger": "type = \"page\""}]}),
                "already defined",
            ),
        ] {
            let e = spec(value).to_destination(&sources).unwrap_err();
            assert!(e.contains(named), "{e}");
        }
        let unknown = serde_json::from_value::<DestinationSpec>(
            json!({"name": "crm", "plugin": "braze", "setings": {}}),
        )
        .unwrap_err();
        assert!(unknown.to_string().contains("setings"), "{unknown}");
    }

    #[test]
    fn stored_destinations_join_the_files_and_a_name_in_both_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::in_dir(dir.path());
        assert_eq!(store.read().unwrap(), []);
        let crm =
            spec(json!({"name": "crm", "plugin": "braze", "settings": {"api_key": "s3cret"}}));
        store.write(std::slice::from_ref(&crm)).unwrap();
        assert_eq!(store.read().unwrap(), std::slice::from_ref(&crm));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&store.path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }

        let joined = join(&file(), &[crm], &store).unwrap();
        let names: Vec<(&str, bool)> = joined
            .destinations
            .iter()
            .map(|d| (d.name.as_str(), d.stored))
            .collect();
        assert_eq!(names, [("chat", false), ("crm", true)]);
        // Joining again replaces the stored ones rather than adding them twice.
        let again = join(&joined, &[], &store).unwrap();
        assert_eq!(again.destinations.len(), 1);

        let clash = join(
            &file(),
            &[spec(json!({"name": "chat", "plugin": "slack"}))],
            &store,
        )
        .unwrap_err();
        assert!(
            clash.to_string().contains("\"chat\"") && clash.to_string().contains("line 5"),
            "{clash}"
        );

        std::fs::write(&store.path, "{\"destinations\": [{\"name\": 1}]}").unwrap();
        let broken = store.read().unwrap_err().0;
        assert!(broken.contains("destinations.json line 1"), "{broken}");
    }
}
