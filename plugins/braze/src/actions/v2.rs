//! The V2 actions (`updateUserProfile2`, `trackEvent2`, `trackPurchase2`, `createAlias2`,
//! `identifyUser2`), as in the reference: the V1 requests, with a sync mode in place of the
//! `_update_existing_only` field. `update` sends `_update_existing_only: true` (Braze changes
//! only users it already has), `add` sends `false`. `identifyUser2` can also identify a user by
//! email, with a prioritization for when several users share it.

use super::campaign;
use super::track::{self, Batch, Payload, Single};
use crate::settings::Settings;
use serde_json::{Value, json};
use switchyard_plugin_sdk::{BatchResults, Context, Error, Field, SYNC_MODE, sync_mode};

/// The sync mode field, with its choices and default.
pub(crate) fn sync_mode_field(choices: &[&str], default: &str) -> Field {
    let description = if choices.contains(&"update") {
        "How records are synced: update changes only users Braze already has, add creates them."
    } else {
        "How records are synced; this action only adds."
    };
    choices.iter().fold(
        Field::string(SYNC_MODE, "Sync Mode")
            .description(description)
            .default(json!(default)),
        |f, c| f.choice(c, c),
    )
}

/// The track actions' default: update profiles of users Braze has, add events for anyone.
pub(crate) const PROFILE_DEFAULT: &str = "update";
pub(crate) const TRACK_DEFAULT: &str = "add";

/// The payload with `_update_existing_only` set from its sync mode (`default` when absent).
fn existing_only(mut p: Payload, default: &str) -> Result<Payload, Error> {
    let mode = sync_mode(p.remove(SYNC_MODE).as_ref(), &["add", "update"], default)?;
    p.insert("_update_existing_only".into(), json!(mode == "update"));
    Ok(p)
}

fn single(
    ctx: &mut Context,
    p: Payload,
    s: Settings,
    default: &str,
    f: Single,
) -> Result<(), Error> {
    f(ctx, existing_only(p, default)?, s)
}

/// A batch: events with a sync mode that is not supported are answered alone; the rest go on
/// together.
fn batch(
    ctx: &mut Context,
    ps: Vec<Payload>,
    s: Settings,
    default: &str,
    f: Batch,
) -> BatchResults {
    let mut results: Vec<Option<Result<(), Error>>> = vec![None; ps.len()];
    let (mut good, mut places) = (Vec::new(), Vec::new());
    for (i, p) in ps.into_iter().enumerate() {
        match existing_only(p, default) {
            Ok(p) => {
                good.push(p);
                places.push(i);
            }
            Err(e) => results[i] = Some(Err(e)),
        }
    }
    if !good.is_empty() {
        for (i, answer) in places.into_iter().zip(f(ctx, good, s)) {
            results[i] = Some(answer);
        }
    }
    results.into_iter().map(|r| r.unwrap_or(Ok(()))).collect()
}

pub(crate) fn track_event(ctx: &mut Context, p: Payload, s: Settings) -> Result<(), Error> {
    single(ctx, p, s, TRACK_DEFAULT, track::track_event)
}

pub(crate) fn track_event_batch(ctx: &mut Context, ps: Vec<Payload>, s: Settings) -> BatchResults {
    batch(ctx, ps, s, TRACK_DEFAULT, track::track_event_batch)
}

pub(crate) fn track_purchase(ctx: &mut Context, p: Payload, s: Settings) -> Result<(), Error> {
    single(ctx, p, s, TRACK_DEFAULT, track::track_purchase)
}

pub(crate) fn track_purchase_batch(
    ctx: &mut Context,
    ps: Vec<Payload>,
    s: Settings,
) -> BatchResults {
    batch(ctx, ps, s, TRACK_DEFAULT, track::track_purchase_batch)
}

pub(crate) fn update_user_profile(ctx: &mut Context, p: Payload, s: Settings) -> Result<(), Error> {
    single(ctx, p, s, PROFILE_DEFAULT, track::update_user_profile)
}

pub(crate) fn update_user_profile_batch(
    ctx: &mut Context,
    ps: Vec<Payload>,
    s: Settings,
) -> BatchResults {
    batch(
        ctx,
        ps,
        s,
        PROFILE_DEFAULT,
        track::update_user_profile_batch,
    )
}

/// `identifyUser2`: by alias (`aliases_to_identify`), by email (`emails_to_identify`, with
/// the prioritization Braze needs when several users share the email), or both.
pub(crate) fn identify_user(ctx: &mut Context, p: Payload, s: Settings) -> Result<(), Error> {
    sync_mode(p.get(SYNC_MODE), &["add", "upsert"], "add")?;
    let text = |k: &str| p.get(k).and_then(Value::as_str).filter(|v| !v.is_empty());
    let external_id = text("external_id").ok_or_else(|| {
        Error::invalid_payload("The root value is missing the required field 'external_id'.")
    })?;
    let alias = p.get("user_alias").filter(|a| a.is_object());
    let email = text("email_to_identify");
    if alias.is_none() && email.is_none() {
        return Err(Error::invalid_payload(
            "Either user_alias or email_to_identify is required.",
        ));
    }
    let mut body = json!({});
    if let Some(m) = text("merge_behavior") {
        body["merge_behavior"] = json!(m);
    }
    if let Some(alias) = alias {
        for key in ["alias_name", "alias_label"] {
            if !alias.get(key).is_some_and(Value::is_string) {
                return Err(Error::invalid_payload(format!(
                    "user_alias is missing the required field '{key}'."
                )));
            }
        }
        body["aliases_to_identify"] = json!([{"external_id": external_id,
            "user_alias": {"alias_name": alias["alias_name"], "alias_label": alias["alias_label"]}}]);
    }
    if let Some(email) = email {
        let order = p.get("prioritization");
        let first = order
            .and_then(|o| o.get("first_priority"))
            .and_then(Value::as_str);
        let Some(first) = first else {
            return Err(Error::invalid_payload(
                "prioritization.first_priority is required with email_to_identify.",
            ));
        };
        let mut priorities = vec![json!(first)];
        if let Some(second) = order
            .and_then(|o| o.get("second_priority"))
            .and_then(Value::as_str)
        {
            priorities.push(json!(second));
        }
        body["emails_to_identify"] = json!([{"external_id": external_id, "email": email,
            "prioritization": priorities}]);
    }
    let answer = campaign::post(ctx, "/users/identify", &body, &s)?;
    // Braze answers some refusals with a 2xx and an `errors` list.
    let errors = serde_json::from_slice::<Value>(&answer.body)
        .ok()
        .and_then(|b| b.get("errors").and_then(Value::as_array).cloned())
        .unwrap_or_default();
    if let Some(first) = errors.first() {
        let kind = first.get("type").and_then(Value::as_str).unwrap_or("error");
        return Err(Error::Permanent {
            message: format!("Braze refused the identification: {kind}"),
            status: Some(400),
        });
    }
    Ok(())
}
