//! The editor's live preview of a subscription being edited, on one event: whether the trigger
//! matches (and the first condition that fails), each field's mapped value or its error beside
//! it, and the exact requests a dry run of the action makes (`deliver/dry_run.rs`).
//!
//! Invariants: the preview never sends anything (the dry run captures requests), secrets are
//! masked in everything it shows, and the payload is checked field by field with the same code
//! delivery uses (`payload::check_field`), so a field error here is the error delivery would
//! give.

use super::rows::Row;
use crate::deliver::dry_run::dry_run;
use crate::mapping::Mapping;
use crate::model::Action;
use crate::payload::check_field;
use crate::routes::Route;
use crate::trigger::Trigger;
use serde_json::{Map, Value};

/// One request of the dry run, secrets masked.
pub(in crate::console) struct Request {
    pub(in crate::console) method: String,
    pub(in crate::console) url: String,
    pub(in crate::console) headers: Vec<(String, String)>,
    pub(in crate::console) body: String,
}

/// What the preview shows.
#[derive(Default)]
pub(in crate::console) struct Preview {
    /// The event previewed, as JSON text.
    pub(in crate::console) event: String,
    /// `None` when the trigger does not parse.
    pub(in crate::console) matched: Option<bool>,
    /// For a mismatch, the first condition that failed.
    pub(in crate::console) why_not: Option<String>,
    /// The payload, when every field is valid.
    pub(in crate::console) payload: Option<String>,
    /// Fields that have errors, to list above the rows: (key, label, problem).
    pub(in crate::console) field_errors: Vec<(String, String, String)>,
    pub(in crate::console) requests: Vec<Request>,
    /// "sent" or the action's error in the dry run.
    pub(in crate::console) result: Option<String>,
    /// Why no requests are shown, when they are not.
    pub(in crate::console) note: Option<String>,
}

/// A hook runs when a subscription is saved (`live/hooks.rs`), not in a preview: a hook record
/// with inputs and no outputs gets the outputs the running destination keeps for the same
/// action and inputs, so the preview shows the requests saving would lead to.
pub(super) fn add_kept_hook_outputs(
    route: &Route,
    action: &Action,
    payload: &mut Map<String, Value>,
) {
    for hook in &action.hooks {
        let Some(Value::Object(record)) = payload.get_mut(&hook.name) else {
            continue;
        };
        if record.contains_key("outputs") {
            continue;
        }
        let kept = route
            .subscriptions
            .iter()
            .filter(|s| s.action.id == action.id)
            .flat_map(|s| s.written.iter())
            .filter(|(key, _)| *key == hook.name)
            .find_map(|(_, written)| {
                let same = written.get("inputs") == record.get("inputs");
                same.then(|| written.get("outputs").cloned()).flatten()
            });
        if let Some(outputs) = kept {
            record.insert("outputs".into(), outputs);
        }
    }
}

/// Previews `mapping` (as the rows wrote it) and `trigger` on `event`; each row gets its mapped
/// value or its error. `route` is the running destination, for the dry run.
pub(super) async fn preview(
    route: Option<&Route>,
    action: &Action,
    trigger: Option<&Trigger>,
    rows: &mut [Row],
    mapping: &Map<String, Value>,
    event: &Value,
) -> Preview {
    let mut shown = Preview {
        event: serde_json::to_string_pretty(event).unwrap_or_default(),
        matched: trigger.map(|t| t.matches(event)),
        why_not: trigger.and_then(|t| t.why_not(event)),
        ..Preview::default()
    };
    let mut payload = Map::new();
    let mut complete = true;
    for (field, row) in action.fields.iter().zip(rows.iter_mut()) {
        if !row.problems.is_empty() {
            complete = false;
            continue;
        }
        let value = match mapping.get(&field.key) {
            None => None,
            Some(written) => match Mapping::parse_at(written, &format!("/{}", field.key)) {
                Ok(m) => m.apply(event),
                Err(e) => {
                    row.problems.extend(e.0);
                    complete = false;
                    continue;
                }
            },
        };
        let resolved = value.as_ref().map(crate::mapping::Resolved::Ref);
        match check_field(field, resolved, true) {
            Ok(Some(v)) => {
                let v = v.into_value();
                row.mapped = serde_json::to_string(&v).ok();
                payload.insert(field.key.clone(), v);
            }
            Ok(None) => {}
            Err(e) => {
                row.problems.push(e);
                complete = false;
            }
        }
    }
    for row in rows.iter() {
        for p in &row.problems {
            shown
                .field_errors
                .push((row.key.clone(), row.label.clone(), p.clone()));
        }
    }
    if let Some(route) = route {
        for row in rows.iter_mut() {
            row.problems = row.problems.iter().map(|p| route.secrets.mask(p)).collect();
        }
        for (_, _, p) in &mut shown.field_errors {
            *p = route.secrets.mask(p);
        }
    }
    if !complete {
        shown.note =
            Some("The payload has errors (beside their fields), so nothing would be sent.".into());
        return shown;
    }
    if let Some(route) = route {
        add_kept_hook_outputs(route, action, &mut payload);
    }
    // The action gets the payload as mapped; only what is shown is masked.
    let payload = Value::Object(payload);
    let text = payload.to_string();
    let mut masked = payload;
    if let Some(route) = route {
        route.secrets.mask_json(&mut masked);
    }
    shown.payload = serde_json::to_string_pretty(&masked).ok();
    if shown.matched != Some(true) {
        shown.note = Some("The trigger does not take this event, so nothing would be sent.".into());
        return shown;
    }
    let Some(route) = route else {
        shown.note = Some(
            "The destination is switched off or refused, so its requests cannot be shown: switch \
             it on to see them."
                .into(),
        );
        return shown;
    };
    let done = dry_run(route, &action.id, &text).await;
    shown.requests = done.requests.iter().map(request).collect();
    shown.result = Some(match done.result {
        Ok(()) => "The action finished without an error (in a dry run: nothing was sent).".into(),
        Err(e) => format!("The action failed: {e}"),
    });
    shown
}

fn request(shown: &Value) -> Request {
    let text = |key: &str| {
        shown
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    Request {
        method: text("method"),
        url: text("url"),
        headers: shown
            .get("headers")
            .and_then(Value::as_object)
            .map(|h| {
                h.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                    .collect()
            })
            .unwrap_or_default(),
        body: match shown.get("body") {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(s)) => s.clone(),
            Some(other) => serde_json::to_string_pretty(other).unwrap_or_default(),
        },
    }
}
