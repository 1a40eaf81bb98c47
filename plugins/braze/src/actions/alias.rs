//! `createAlias` (`/users/alias/new`) and `identifyUser` (`/users/identify`): one request per
//! event, as in the reference.

use crate::settings::Settings;
use serde::Deserialize;
use serde_json::{Value, json};
use switchyard_plugin_sdk::{Action, Context, Error, Field};

pub(crate) fn create_alias(v2: bool) -> Action {
    let (id, title) = if v2 {
        ("createAlias2", "Create Alias V2")
    } else {
        ("createAlias", "Create Alias")
    };
    let action = Action::new(id, title)
        .description(
            "Create new user aliases for existing identified users, or to create new \
             unidentified users.",
        )
        .default_trigger("event = \"Create Alias\"")
        .field(
            Field::string("external_id", "External ID")
                .description("The external ID of the user to create an alias for.")
                .allow_null(),
        )
        .field(
            Field::string("alias_name", "Alias Name")
                .description("The alias identifier")
                .required(),
        )
        .field(
            Field::string("alias_label", "Alias Label")
                .description("A label indicating the type of alias")
                .required(),
        );
    if v2 {
        action
            .field(crate::v2::sync_mode_field(&["add"], "add"))
            .perform(send_alias_2)
    } else {
        action.perform(send_alias)
    }
}

fn merge_behavior() -> Field {
    Field::string("merge_behavior", "Merge Behavior")
        .description(
            "Sets the endpoint to merge some fields found exclusively on the anonymous user to \
             the identified user.",
        )
        .choice("none", "None")
        .choice("merge", "Merge")
}

/// `identifyUser2`: by alias or by email (module `v2`).
pub(crate) fn identify_user_2() -> Action {
    Action::new("identifyUser2", "Identify User V2")
        .description("Identifies an unidentified (alias-only) user, by alias or by email address.")
        .field(
            Field::string("external_id", "External ID")
                .description("The external ID of the user to identify.")
                .required(),
        )
        .field(
            Field::object("user_alias", "User Alias Object").description(
                "A user alias object: alias_name and alias_label. Needed unless \
                    email_to_identify is given.",
            ),
        )
        .field(
            Field::string("email_to_identify", "Email to Identify").description(
                "Email address to identify the user by. Needed unless user_alias \
                    is given.",
            ),
        )
        .field(
            Field::object("prioritization", "Prioritization").description(
                "With email_to_identify: first_priority (required) and second_priority, \
                     each unidentified, most_recently_updated or least_recently_updated, for \
                     when several users share the email.",
            ),
        )
        .field(merge_behavior())
        .field(crate::v2::sync_mode_field(&["add", "upsert"], "add"))
        .perform(crate::v2::identify_user)
}

pub(crate) fn identify_user() -> Action {
    Action::new("identifyUser", "Identify User")
        .description(
            "Identifies an unidentified (alias-only) user. Use alongside the Create Alias \
             action, or with user aliases you have already defined.",
        )
        .field(
            Field::string("external_id", "External ID")
                .description("The external ID of the user to identify.")
                .required(),
        )
        .field(
            Field::object("user_alias", "User Alias Object")
                .description("A user alias object: alias_name and alias_label, both required.")
                .required(),
        )
        .field(merge_behavior())
        .perform(send_identify)
}

#[derive(Debug, Deserialize)]
pub(crate) struct Alias {
    #[serde(default)]
    external_id: Option<String>,
    alias_name: String,
    alias_label: String,
    #[serde(default, rename = "__segment_internal_sync_mode")]
    sync_mode: Option<Value>,
}

fn send_alias_2(ctx: &mut Context, a: Alias, s: Settings) -> Result<(), Error> {
    switchyard_plugin_sdk::sync_mode(a.sync_mode.as_ref(), &["add"], "add")?;
    send_alias(ctx, a, s)
}

fn send_alias(ctx: &mut Context, a: Alias, s: Settings) -> Result<(), Error> {
    let mut alias = json!({"alias_name": a.alias_name, "alias_label": a.alias_label});
    if let Some(id) = a.external_id {
        alias["external_id"] = json!(id);
    }
    let url = s.url("/users/alias/new")?;
    ctx.post(&url)
        .bearer(s.api_key())
        .json(&json!({"user_aliases": [alias]}))
        .send()?
        .error_for_status()?;
    Ok(())
}

#[derive(Debug, Deserialize)]
pub(crate) struct Identify {
    external_id: String,
    user_alias: Value,
    #[serde(default)]
    merge_behavior: Option<String>,
}

fn send_identify(ctx: &mut Context, p: Identify, s: Settings) -> Result<(), Error> {
    for key in ["alias_name", "alias_label"] {
        if !p.user_alias.get(key).is_some_and(Value::is_string) {
            return Err(Error::invalid_payload(format!(
                "user_alias is missing the required field '{key}'."
            )));
        }
    }
    let mut body = json!({"aliases_to_identify": [{
        "external_id": p.external_id,
        "user_alias": {"alias_name": p.user_alias["alias_name"],
            "alias_label": p.user_alias["alias_label"]},
    }]});
    if let Some(m) = p.merge_behavior {
        body["merge_behavior"] = json!(m);
    }
    let url = s.url("/users/identify")?;
    ctx.post(&url)
        .bearer(s.api_key())
        .json(&body)
        .send()?
        .error_for_status()?;
    Ok(())
}
