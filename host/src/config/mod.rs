//! The configuration file (TOML) of `switchyard serve`, and the built-in default used without one.
//!
//! Reading is strict: unknown keys, wrong types and missing `${ENV_VAR}`s are refused with the
//! file, line and key. What needs the plugins to check (plugin ids, actions, settings, triggers,
//! mappings) is checked by [`crate::routes`], which reports the same way using the line numbers
//! kept here. The key reference is in README.md ("Configuration").

mod delivery;

pub use delivery::Delivery;

use crate::model::Limits;
use serde::Deserialize;
use serde_json::Value;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use toml::Spanned;

/// The whole configuration, as `serve` uses it.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where the configuration came from, for messages ("built-in default" without a file).
    pub origin: String,
    pub listen: SocketAddr,
    pub admin_listen: SocketAddr,
    /// The admin API's bearer token; `None`: made once and kept in the data folder.
    pub admin_token: Option<String>,
    pub data_dir: PathBuf,
    /// A messageId seen from the same source within this window is accepted once.
    pub dedup_window: std::time::Duration,
    /// The largest the queue file may grow, in MiB; `None` for no limit but the disk.
    pub queue_max_mb: Option<u64>,
    /// How long the event log keeps events that every destination has routed.
    pub log_retention: std::time::Duration,
    /// The most the event log's events may take, in MiB; the oldest go first, routed or not.
    pub log_max_mb: Option<u64>,
    /// How long a console session lasts without use.
    pub console_idle: std::time::Duration,
    /// Extra plugins: every .wasm file in this folder.
    pub plugin_dir: Option<PathBuf>,
    pub sources: Vec<Source>,
    pub destinations: Vec<Destination>,
}

#[derive(Debug, Clone)]
pub struct Source {
    pub name: String,
    pub write_key: String,
}

#[derive(Debug, Clone)]
pub struct Destination {
    pub name: String,
    /// Line of the `[[destinations]]` entry, for messages (0 when stored).
    pub line: usize,
    /// Made through the admin API and kept in the data folder (see [`stored`]), rather than
    /// written in the configuration file.
    pub stored: bool,
    pub plugin: String,
    /// The sources it receives events from; all of them when the file does not say.
    pub sources: Vec<String>,
    pub settings: Value,
    pub limits: Limits,
    pub delivery: Delivery,
    pub allowed_hosts: Vec<String>,
    pub allow_private: bool,
    pub redirect_outbound: Option<url::Url>,
    pub enabled: bool,
    /// Where a new destination starts reading the event log, in milliseconds since the Unix
    /// epoch (`start_from`, RFC 3339); `None`: at its end, with the events accepted from then on.
    pub start_from: Option<i64>,
    /// `None`: the plugin's presets.
    pub subscriptions: Option<Vec<Subscription>>,
}

#[derive(Debug, Clone)]
pub struct Subscription {
    pub name: String,
    pub line: usize,
    pub action: String,
    pub trigger: String,
    pub trigger_line: usize,
    /// Field-by-field overrides of the action's default mapping.
    pub mapping: Option<serde_json::Map<String, Value>>,
    pub mapping_line: usize,
    pub use_defaults: bool,
    pub enabled: bool,
    /// A backfill: the events received from this time on (milliseconds since the Unix epoch)
    /// that the destination read before the subscription existed are run through it once
    /// (`deliver/replay.rs`). `None`: only events the destination reads from now on.
    pub start_from: Option<i64>,
    /// The outputs of the action's hooks that the server ran for this subscription, by hook
    /// name (`live/hooks.rs` fills them in); never read from the file.
    pub hook_outputs: Vec<(String, serde_json::Map<String, Value>)>,
}

/// A configuration problem, already phrased for the operator.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

// ---- The file as written. ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    server: ServerSection,
    #[serde(default)]
    plugins: PluginsSection,
    #[serde(default)]
    sources: Vec<Spanned<SourceEntry>>,
    #[serde(default)]
    destinations: Vec<Spanned<DestinationEntry>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ServerSection {
    listen: Option<Spanned<String>>,
    admin_listen: Option<Spanned<String>>,
    admin_token: Option<Spanned<String>>,
    data_dir: Option<PathBuf>,
    dedup_window_s: Option<u64>,
    queue_max_mb: Option<u64>,
    log_retention_h: Option<u64>,
    log_max_mb: Option<u64>,
    console_idle_s: Option<u64>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct PluginsSection {
    dir: Option<PathBuf>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SourceEntry {
    name: String,
    write_key: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DestinationEntry {
    name: String,
    plugin: String,
    sources: Option<Vec<Spanned<String>>>,
    #[serde(default)]
    settings: Option<Spanned<Value>>,
    #[serde(default)]
    limits: Limits,
    #[serde(default)]
    delivery: Delivery,
    #[serde(default)]
    allowed_hosts: Vec<String>,
    #[serde(default)]
    allow_private: bool,
    redirect_outbound: Option<Spanned<String>>,
    #[serde(default = "yes")]
    enabled: bool,
    start_from: Option<Spanned<String>>,
    subscriptions: Option<Vec<Spanned<SubscriptionEntry>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SubscriptionEntry {
    name: String,
    action: String,
    trigger: Spanned<String>,
    mapping: Option<Spanned<serde_json::Map<String, Value>>>,
    #[serde(default = "yes")]
    use_defaults: bool,
    #[serde(default = "yes")]
    enabled: bool,
    start_from: Option<Spanned<String>>,
}

fn yes() -> bool {
    true
}

/// A `start_from` time: RFC 3339, such as `2026-11-28T10:00:00Z`; milliseconds since the Unix
/// epoch.
pub fn start_time(text: &str) -> Result<i64, String> {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map(|t| (t.unix_timestamp_nanos() / 1_000_000) as i64)
        .map_err(|e| format!("{text:?} is not an RFC 3339 time such as 2026-11-28T10:00:00Z ({e})"))
}

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8088";
pub const DEFAULT_ADMIN_LISTEN: &str = "127.0.0.1:8089";
pub const DEFAULT_DATA_DIR: &str = "./switchyard-data";
pub const DEFAULT_DEDUP_WINDOW_S: u64 = 24 * 3600;
/// How long the event log keeps routed events, in hours: a week, for replays.
pub const DEFAULT_LOG_RETENTION_H: u64 = 7 * 24;

/// A console session ends after this long without use: 12 hours.
pub const DEFAULT_CONSOLE_IDLE_S: u64 = 12 * 3600;

impl Config {
    /// Reads a configuration file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError(format!("cannot read config file {}: {e}", path.display())))?;
        Config::parse(&text, &path.display().to_string(), |name| {
            std::env::var(name)
        })
    }

    /// Parses configuration text; `origin` names it in errors, `env` looks up `${VAR}`s.
    pub fn parse<E>(
        text: &str,
        origin: &str,
        env: impl Fn(&str) -> Result<String, E>,
    ) -> Result<Config, ConfigError> {
        let file: File = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| line_of(text, s.start));
            let at = line.map_or(String::new(), |l| format!(" line {l}"));
            ConfigError(format!("config file {origin}{at}: {}", e.message()))
        })?;
        let place = |span: std::ops::Range<usize>, key: &str| {
            format!(
                "config file {origin} line {} ({key})",
                line_of(text, span.start)
            )
        };
        let expand = |value: &Spanned<String>, key: &str| {
            expand_env(value.get_ref(), &env)
                .map_err(|e| ConfigError(format!("{}: {e}", place(value.span(), key))))
        };
        let address = |value: &Option<Spanned<String>>, key: &str, default: &str| {
            let (text, where_) = match value {
                Some(v) => (v.get_ref().as_str(), place(v.span(), key)),
                None => (default, String::new()),
            };
            text.parse::<SocketAddr>().map_err(|_| {
                ConfigError(format!(
                    "{where_}: {text:?} is not an address with a port, such as {default}"
                ))
            })
        };

        let admin_token = match &file.server.admin_token {
            Some(t) => {
                let token = expand(t, "server.admin_token")?;
                if token.trim().len() < 16 {
                    return Err(ConfigError(format!(
                        "{}: the admin token must be at least 16 characters",
                        place(t.span(), "server.admin_token")
                    )));
                }
                Some(token.trim().to_string())
            }
            None => None,
        };
        if file.server.console_idle_s == Some(0) {
            return Err(ConfigError(format!(
                "config file {origin} (server.console_idle_s): must be at least 1 (seconds)"
            )));
        }
        for (key, value) in [
            ("queue_max_mb", file.server.queue_max_mb),
            ("log_max_mb", file.server.log_max_mb),
            ("log_retention_h", file.server.log_retention_h),
        ] {
            if value == Some(0) {
                return Err(ConfigError(format!(
                    "config file {origin} (server.{key}): must be at least 1"
                )));
            }
        }
        let mut sources = Vec::new();
        for (i, entry) in file.sources.iter().enumerate() {
            let key = format!("sources[{i}].write_key");
            let source = entry.get_ref();
            if sources.iter().any(|s: &Source| s.name == source.name) {
                return Err(ConfigError(format!(
                    "{}: a source named {:?} is already defined",
                    place(entry.span(), &format!("sources[{i}].name")),
                    source.name
                )));
            }
            let write_key = expand(&source.write_key, &key)?;
            if write_key.is_empty() {
                return Err(ConfigError(format!(
                    "{}: the write key is empty",
                    place(source.write_key.span(), &key)
                )));
            }
            if let Some(other) = sources.iter().find(|s: &&Source| s.write_key == write_key) {
                return Err(ConfigError(format!(
                    "{}: the same write key as source {:?}; each source needs its own",
                    place(source.write_key.span(), &key),
                    other.name
                )));
            }
            sources.push(Source {
                name: source.name.clone(),
                write_key,
            });
        }

        let mut destinations = Vec::new();
        for (i, entry) in file.destinations.iter().enumerate() {
            let d = entry.get_ref();
            let at = |key: &str| format!("destinations[{i}].{key}");
            if destinations.iter().any(|x: &Destination| x.name == d.name) {
                return Err(ConfigError(format!(
                    "{}: a destination named {:?} is already defined",
                    place(entry.span(), &at("name")),
                    d.name
                )));
            }
            let names: Vec<String> = match &d.sources {
                None => sources.iter().map(|s| s.name.clone()).collect(),
                Some(list) => {
                    for name in list {
                        if !sources.iter().any(|s| &s.name == name.get_ref()) {
                            return Err(ConfigError(format!(
                                "{}: there is no source named {:?}",
                                place(name.span(), &at("sources")),
                                name.get_ref()
                            )));
                        }
                    }
                    list.iter().map(|n| n.get_ref().clone()).collect()
                }
            };
            let mut settings = match &d.settings {
                Some(s) if !s.get_ref().is_object() => {
                    return Err(ConfigError(format!(
                        "{}: settings must be a table",
                        place(s.span(), &at("settings"))
                    )));
                }
                Some(s) => s.get_ref().clone(),
                None => Value::Object(Default::default()),
            };
            if let Some(s) = &d.settings {
                expand_strings(&mut settings, &env).map_err(|e| {
                    ConfigError(format!("{}: {e}", place(s.span(), &at("settings"))))
                })?;
            }
            d.limits
                .validate()
                .map_err(|e| ConfigError(format!("{}: {e}", place(entry.span(), &at("limits")))))?;
            d.delivery.validate().map_err(|e| {
                ConfigError(format!("{}: {e}", place(entry.span(), &at("delivery"))))
            })?;
            let redirect_outbound = match &d.redirect_outbound {
                None => None,
                Some(v) => Some(
                    parse_base_url(&expand(v, &at("redirect_outbound"))?).map_err(|e| {
                        ConfigError(format!(
                            "{}: {e}",
                            place(v.span(), &at("redirect_outbound"))
                        ))
                    })?,
                ),
            };
            let time = |v: &Option<Spanned<String>>, key: &str| {
                v.as_ref()
                    .map(|v| {
                        start_time(v.get_ref())
                            .map_err(|e| ConfigError(format!("{}: {e}", place(v.span(), key))))
                    })
                    .transpose()
            };
            let start_from = time(&d.start_from, &at("start_from"))?;
            let subscriptions = d.subscriptions.as_ref().map(|list| {
                list.iter()
                    .map(|s| {
                        let sub = s.get_ref();
                        Ok(Subscription {
                            name: sub.name.clone(),
                            line: line_of(text, s.span().start),
                            action: sub.action.clone(),
                            trigger: sub.trigger.get_ref().clone(),
                            trigger_line: line_of(text, sub.trigger.span().start),
                            mapping: sub.mapping.as_ref().map(|m| m.get_ref().clone()),
                            mapping_line: sub
                                .mapping
                                .as_ref()
                                .map_or(0, |m| line_of(text, m.span().start)),
                            use_defaults: sub.use_defaults,
                            hook_outputs: Vec::new(),
                            enabled: sub.enabled,
                            start_from: time(
                                &sub.start_from,
                                &at(&format!("subscription {:?} start_from", sub.name)),
                            )?,
                        })
                    })
                    .collect::<Result<Vec<_>, ConfigError>>()
            });
            let subscriptions = subscriptions.transpose()?;
            destinations.push(Destination {
                name: d.name.clone(),
                line: line_of(text, entry.span().start),
                stored: false,
                plugin: d.plugin.clone(),
                sources: names,
                settings,
                limits: d.limits.clone(),
                delivery: d.delivery.clone(),
                allowed_hosts: d.allowed_hosts.clone(),
                allow_private: d.allow_private,
                redirect_outbound,
                enabled: d.enabled,
                start_from,
                subscriptions,
            });
        }

        Ok(Config {
            origin: format!("config file {origin}"),
            listen: address(&file.server.listen, "server.listen", DEFAULT_LISTEN)?,
            admin_listen: address(
                &file.server.admin_listen,
                "server.admin_listen",
                DEFAULT_ADMIN_LISTEN,
            )?,
            admin_token,
            data_dir: file
                .server
                .data_dir
                .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR)),
            dedup_window: std::time::Duration::from_secs(
                file.server.dedup_window_s.unwrap_or(DEFAULT_DEDUP_WINDOW_S),
            ),
            queue_max_mb: file.server.queue_max_mb,
            log_retention: std::time::Duration::from_secs(
                3600 * file
                    .server
                    .log_retention_h
                    .unwrap_or(DEFAULT_LOG_RETENTION_H),
            ),
            log_max_mb: file.server.log_max_mb,
            console_idle: std::time::Duration::from_secs(
                file.server.console_idle_s.unwrap_or(DEFAULT_CONSOLE_IDLE_S),
            ),
            plugin_dir: file.plugins.dir,
            sources,
            destinations,
        })
    }

    /// The built-in default: ingest on 127.0.0.1:8088, data in ./switchyard-data, one source
    /// named `default` whose write key is made once and kept in the data folder.
    pub fn builtin() -> Result<Config, ConfigError> {
        let data_dir = PathBuf::from(DEFAULT_DATA_DIR);
        let write_key = default_write_key(&data_dir)?;
        Ok(Config {
            origin: "built-in default configuration".into(),
            listen: DEFAULT_LISTEN.parse().expect("a valid address"),
            admin_listen: DEFAULT_ADMIN_LISTEN.parse().expect("a valid address"),
            admin_token: None,
            data_dir,
            dedup_window: std::time::Duration::from_secs(DEFAULT_DEDUP_WINDOW_S),
            queue_max_mb: None,
            log_retention: std::time::Duration::from_secs(3600 * DEFAULT_LOG_RETENTION_H),
            log_max_mb: None,
            console_idle: std::time::Duration::from_secs(DEFAULT_CONSOLE_IDLE_S),
            plugin_dir: None,
            sources: vec![Source {
                name: "default".into(),
                write_key,
            }],
            destinations: Vec::new(),
        })
    }
}

/// The default source's write key: read from `DATA_DIR/default-write-key`, or made and saved
/// there, so it stays the same across restarts.
fn default_write_key(data_dir: &Path) -> Result<String, ConfigError> {
    let path = data_dir.join("default-write-key");
    if let Ok(key) = std::fs::read_to_string(&path) {
        let key = key.trim().to_string();
        if !key.is_empty() {
            return Ok(key);
        }
    }
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)
        .map_err(|e| ConfigError(format!("cannot make a write key: {e}")))?;
    let key = hex::encode(bytes);
    std::fs::create_dir_all(data_dir)
        .and_then(|()| std::fs::write(&path, format!("{key}\n")))
        .map_err(|e| {
            ConfigError(format!(
                "cannot save the write key in {}: {e}",
                path.display()
            ))
        })?;
    Ok(key)
}

/// 1-based line of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// Replaces every `${NAME}` with the environment variable's value.
fn expand_env<E>(text: &str, env: &impl Fn(&str) -> Result<String, E>) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| format!("\"${{\" without a closing \"}}\" in {text:?}"))?;
        let name = &after[..end];
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(format!("${{{name}}} is not an environment variable name"));
        }
        let value = env(name).map_err(|_| format!("the environment variable {name} is not set"))?;
        out.push_str(&value);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn expand_strings<E>(
    value: &mut Value,
    env: &impl Fn(&str) -> Result<String, E>,
) -> Result<(), String> {
    match value {
        Value::String(s) => *s = expand_env(s, env)?,
        Value::Array(items) => items.iter_mut().try_for_each(|v| expand_strings(v, env))?,
        Value::Object(map) => map.values_mut().try_for_each(|v| expand_strings(v, env))?,
        _ => {}
    }
    Ok(())
}

pub(crate) fn parse_base_url(text: &str) -> Result<url::Url, String> {
    let url = url::Url::parse(text).map_err(|e| format!("{text:?} is not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(format!("{text:?} is not an http or https URL"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!(
            "{text:?} is a base URL and cannot have a query or fragment"
        ));
    }
    Ok(url)
}

pub mod stored;
#[cfg(test)]
mod tests;
