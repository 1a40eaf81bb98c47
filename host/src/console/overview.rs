//! The overview: which data goes where. For every source, each destination it feeds and each
//! subscription: the trigger in plain words beside its text, the action, and which event
//! fields feed which destination fields. Two questions are answered on the same page:
//! - "Where does this event go?": the routes an event named so would take are marked, each with
//!   the payload it would send (built from the newest recent event of that name, or from a
//!   Track event made up for the question when none was seen);
//! - "Who receives this field?": every subscription whose mapping reads the field, or an
//!   object or the whole event that holds it.
//!
//! Everything here is built from the snapshot in force and the recent events, as data; the
//! template (`templates/console/overview.html`) shows it, escaped.

use crate::deliver::counts::Counts;
use crate::deliver::state::DestinationStates;
use crate::live::Snapshot;
use crate::mapping::{paths_read, reads_field};
use crate::recent::Recent;
use crate::routes::Route;
use crate::trigger::Trigger;
use serde_json::{Value, json};

/// The page's data.
pub(super) struct Overview {
    pub(super) sources: Vec<SourceRow>,
    /// The event name asked about ("where does this event go?"), as typed.
    pub(super) event_query: String,
    /// The event the routes were tried on, as JSON, and where it came from.
    pub(super) tried: Option<(String, String)>,
    /// How many subscriptions the event asked about matches.
    pub(super) matched: usize,
    /// The field asked about ("who receives this field?"), as typed.
    pub(super) field_query: String,
    /// The subscriptions that pass the field on.
    pub(super) receivers: Vec<Receiver>,
    /// Event names among the recent events, to pick from.
    pub(super) recent_names: Vec<String>,
}

pub(super) struct SourceRow {
    pub(super) name: String,
    pub(super) destinations: Vec<DestinationRow>,
}

pub(super) struct DestinationRow {
    pub(super) name: String,
    /// The plugin's name, id and version.
    pub(super) plugin: String,
    pub(super) running: bool,
    /// "configuration file" or "console / admin API".
    pub(super) managed_by: &'static str,
    /// closed, paused or probing; "off" when the destination does not run.
    pub(super) breaker: &'static str,
    /// Its deliveries of the last 24 hours.
    pub(super) counts: Counts,
    pub(super) subscriptions: Vec<SubscriptionRow>,
}

pub(super) struct SubscriptionRow {
    pub(super) name: String,
    pub(super) words: String,
    pub(super) trigger: String,
    /// The action's title and id.
    pub(super) action: String,
    pub(super) fields: Vec<FieldRow>,
    /// Whether the event asked about matches the trigger.
    pub(super) matched: bool,
    /// The payload it would send for that event, or why it cannot be built.
    pub(super) preview: Option<Preview>,
    /// Whether it passes on the field asked about.
    pub(super) receives: bool,
}

pub(super) struct Preview {
    pub(super) ok: bool,
    pub(super) text: String,
}

/// One destination field and what feeds it.
pub(super) struct FieldRow {
    pub(super) key: String,
    /// The field's label in the action's manifest.
    pub(super) label: String,
    /// What kind of source feeds it (see `source_of`).
    pub(super) kind: &'static str,
    pub(super) source: String,
    /// Whether this field passes on the field asked about.
    pub(super) receives: bool,
}

pub(super) struct Receiver {
    pub(super) destination: String,
    pub(super) subscription: String,
    /// The destination fields that carry it.
    pub(super) fields: Vec<String>,
}

/// What a field's mapping, as written, takes from the event: a kind ("event field", "template",
/// "literal", "each item of", "computed", "object of", "list") and the source as text.
fn source_of(mapping: &Value) -> (&'static str, String) {
    match mapping {
        Value::Object(map) if map.keys().any(|k| k.starts_with('@')) => directive(map, mapping),
        Value::Object(members) => {
            let shown: Vec<String> = members
                .iter()
                .map(|(key, member)| match source_of(member) {
                    ("event field", source) => format!("{key} \u{2190} {source}"),
                    (kind, source) => format!("{key} \u{2190} {kind} {source}"),
                })
                .collect();
            ("object of", shown.join("; "))
        }
        Value::Array(_) => ("list", mapping.to_string()),
        Value::String(s) => ("literal", format!("{s:?}")),
        other => ("literal", other.to_string()),
    }
}

/// A directive's source: the path, template or literal it names, else the directive as JSON.
fn directive(map: &serde_json::Map<String, Value>, mapping: &Value) -> (&'static str, String) {
    if let Some(Value::String(p)) = map.get("@path") {
        let path = p.trim_start_matches("$.").trim_start_matches('$');
        if path.is_empty() {
            return ("event field", "the whole event".to_string());
        }
        return ("event field", path.to_string());
    }
    if let Some(Value::String(t)) = map.get("@template") {
        return ("template", t.clone());
    }
    if let Some(v) = map.get("@literal") {
        return ("literal", v.to_string());
    }
    if let Some(Value::Array(args)) = map.get("@arrayPath")
        && let Some(Value::String(root)) = args.first()
    {
        let root = root.trim_start_matches("$.");
        let shape = args.get(1).map(|s| source_of(s).1).unwrap_or_default();
        return ("each item of", format!("{root}: {shape}"));
    }
    ("computed", mapping.to_string())
}

/// The breaker's state in words, or "off".
fn breaker(route: Option<&Route>, states: &DestinationStates) -> &'static str {
    match route {
        Some(r) => states.of(r).breaker.status().state,
        None => "off",
    }
}

/// The event to try the routes on: the newest recent one of that name, else a Track event
/// made up for the question. Answers the event, its source (if it has one) and a description.
fn event_named(name: &str, recent: &Recent) -> (Value, Option<String>, String) {
    let seen = recent.newest(|s| {
        s.event.get("event").and_then(Value::as_str) == Some(name)
            || s.event.get("name").and_then(Value::as_str) == Some(name)
    });
    if let Some(sample) = seen.into_iter().next() {
        let from = format!(
            "the newest recent event named {name:?}, from source {}",
            sample.source
        );
        return (sample.event, Some(sample.source.to_string()), from);
    }
    let made_up = json!({
        "type": "track",
        "event": name,
        "userId": "preview-user",
        "messageId": "preview",
        "timestamp": "2026-01-01T00:00:00.000Z",
        "properties": {},
        "context": {},
    });
    let from = format!(
        "a Track event named {name:?} made up for the question (no recent event has that name)"
    );
    (made_up, None, from)
}

/// Builds the overview; `event` and `field` are the questions asked, if any.
pub(super) fn build(
    snapshot: &Snapshot,
    states: &DestinationStates,
    recent: &Recent,
    event: Option<&str>,
    field: Option<&str>,
) -> Overview {
    let now = crate::queue::now();
    let event = event.map(str::trim).filter(|e| !e.is_empty());
    let field = field.map(str::trim).filter(|f| !f.is_empty());
    let tried = event.map(|name| event_named(name, recent));
    let mut matched = 0;
    let mut receivers = Vec::new();
    let mut sources = Vec::new();
    for source in &snapshot.config.sources {
        let mut destinations = Vec::new();
        for d in &snapshot.config.destinations {
            if !d.sources.contains(&source.name) {
                continue;
            }
            let route = snapshot
                .routes
                .destinations
                .iter()
                .find(|r| r.name == d.name);
            let plugin = snapshot.plugins.get(&d.plugin).map_or_else(
                || format!("{} (not loaded)", d.plugin),
                |p| {
                    let m = p.manifest();
                    format!("{} ({} {})", m.name, m.id, m.version)
                },
            );
            let mut subscriptions = Vec::new();
            if let Some(route) = route {
                for sub in &route.subscriptions {
                    let fields: Vec<FieldRow> = sub
                        .written
                        .iter()
                        .map(|(key, mapping)| {
                            let (kind, source) = source_of(mapping);
                            let label = sub
                                .action
                                .field(key)
                                .map_or_else(|| key.clone(), |f| f.label.clone());
                            let receives = field.is_some_and(|f| {
                                paths_read(mapping).iter().any(|p| reads_field(p, f))
                            });
                            FieldRow {
                                key: key.clone(),
                                label,
                                kind,
                                source,
                                receives,
                            }
                        })
                        .collect();
                    let receiving: Vec<String> = fields
                        .iter()
                        .filter(|f| f.receives)
                        .map(|f| f.key.clone())
                        .collect();
                    let receives = !receiving.is_empty();
                    // Each route is counted once, though it shows under each of its sources.
                    let first_source = route.sources.first() == Some(&source.name);
                    if receives && first_source {
                        receivers.push(Receiver {
                            destination: d.name.clone(),
                            subscription: sub.name.clone(),
                            fields: receiving,
                        });
                    }
                    let (is_match, preview) = match &tried {
                        Some((event, from_source, _))
                            if from_source.as_ref().is_none_or(|s| *s == source.name)
                                && sub.trigger.matches(event) =>
                        {
                            if first_source || from_source.is_some() {
                                matched += 1;
                            }
                            let preview =
                                match sub.mapping.build(&sub.action, event, sub.batch.is_none()) {
                                    Ok(payload) => Preview {
                                        ok: true,
                                        text: serde_json::from_str::<Value>(&payload.to_json())
                                            .and_then(|v| serde_json::to_string_pretty(&v))
                                            .unwrap_or_else(|_| payload.to_json()),
                                    },
                                    Err(e) => Preview {
                                        ok: false,
                                        text: route.secrets.mask(&e),
                                    },
                                };
                            (true, Some(preview))
                        }
                        _ => (false, None),
                    };
                    subscriptions.push(SubscriptionRow {
                        name: sub.name.clone(),
                        words: sub.trigger.in_words(),
                        trigger: sub.trigger.to_string(),
                        action: format!("{} ({})", sub.action.title, sub.action.id),
                        fields,
                        matched: is_match,
                        preview,
                        receives,
                    });
                }
            } else {
                // Not running (disabled, or refused): shown as configured.
                for sub in d.subscriptions.iter().flatten() {
                    let (words, trigger) = match Trigger::parse(&sub.trigger) {
                        Ok(t) => (t.in_words(), t.to_string()),
                        Err(e) => (format!("not a valid trigger ({e})"), sub.trigger.clone()),
                    };
                    subscriptions.push(SubscriptionRow {
                        name: sub.name.clone(),
                        words,
                        trigger,
                        action: sub.action.clone(),
                        fields: Vec::new(),
                        matched: false,
                        preview: None,
                        receives: false,
                    });
                }
            }
            destinations.push(DestinationRow {
                name: d.name.clone(),
                plugin,
                running: route.is_some(),
                managed_by: if d.stored {
                    "console / admin API"
                } else {
                    "configuration file"
                },
                breaker: breaker(route, states),
                counts: states.counts.last_day(&d.name, now),
                subscriptions,
            });
        }
        sources.push(SourceRow {
            name: source.name.clone(),
            destinations,
        });
    }
    let mut recent_names: Vec<String> = Vec::new();
    for sample in recent.newest(|_| true) {
        let name = sample
            .event
            .get("event")
            .or_else(|| sample.event.get("name"))
            .and_then(Value::as_str);
        if let Some(name) = name
            && !recent_names.iter().any(|n| n == name)
            && recent_names.len() < 20
        {
            recent_names.push(name.to_string());
        }
    }
    Overview {
        sources,
        event_query: event.unwrap_or_default().to_string(),
        tried: tried.map(|(event, _, from)| {
            (
                serde_json::to_string_pretty(&event).unwrap_or_default(),
                from,
            )
        }),
        matched,
        field_query: field.unwrap_or_default().to_string(),
        receivers,
        recent_names,
    }
}

#[cfg(test)]
mod tests {
    use super::source_of;
    use serde_json::json;

    #[test]
    fn each_kind_of_mapping_says_where_its_value_comes_from() {
        let shown = |v| source_of(&v);
        assert_eq!(
            shown(json!({"@path": "$.traits.email"})),
            ("event field", "traits.email".into())
        );
        assert_eq!(
            shown(json!({"@path": "$."})),
            ("event field", "the whole event".into())
        );
        assert_eq!(
            shown(json!({"@template": "{{userId}} booked"})),
            ("template", "{{userId}} booked".into())
        );
        assert_eq!(shown(json!("Segment")), ("literal", "\"Segment\"".into()));
        assert_eq!(shown(json!(false)), ("literal", "false".into()));
        assert_eq!(
            shown(json!({"email": {"@path": "$.traits.email"}, "n": 3})),
            (
                "object of",
                "email \u{2190} traits.email; n \u{2190} literal 3".into()
            )
        );
        assert_eq!(
            shown(json!({"@arrayPath": ["$.properties.trips", {"route": {"@path": "$.route"}}]})),
            (
                "each item of",
                "properties.trips: route \u{2190} route".into()
            )
        );
        assert_eq!(shown(json!({"@case": {"mode": "upper"}})).0, "computed");
    }
}
