//! `upsertCatalogItem`: puts items into a Braze catalog, or deletes them, by sync mode
//! (`upsert`, the default, or `delete`).
//!
//! The catalog is chosen once, when the subscription is saved, by the action's `onMappingSave`
//! hook: it selects an existing catalog, or creates one (`POST /catalogs`, with an `id` field
//! first and the columns given). Its output `catalog_name` reaches every payload in the hook's
//! record. As in the reference, one event is `PUT` (or `DELETE`)
//! `/catalogs/{name}/items/{item_id}` with `{"items": [item]}`, and a batch is one request to
//! `/catalogs/{name}/items/` with each item carrying its `id`. Braze's errors for a batch name
//! the items they concern; those fail alone, and the others are answered as the reference
//! answers them (404 for a missing catalog, a retry for items Braze refused with the rest).

use crate::response;
use crate::settings::Settings;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use switchyard_plugin_sdk::{
    Action, BatchResults, Context, Error, Field, Hook, HookRecord, ON_MAPPING_SAVE, Response,
    SYNC_MODE, sync_mode,
};

/// The reference's batch limit.
const MAX_BATCH: u32 = 50;

pub(crate) fn action() -> Action {
    Action::new("upsertCatalogItem", "Upsert Catalog Item")
        .description("Upserts or deletes items in a catalog")
        .field(Field::object("item", "Catalog item to upsert").description(
            "The item to upsert in the catalog. The item object should contain fields that \
                 exist in the catalog. The item object should not contain the id field. \
                 Required when the sync mode is upsert.",
        ))
        .field(
            Field::string("item_id", "Item ID")
                .description(
                    "The unique identifier for the item. Maximum 250 characters. Supported \
                     characters: letters, numbers, hyphens, and underscores.",
                )
                .required(),
        )
        .field(
            Field::boolean("enable_batching", "Batch Data to Braze?")
                .description("If true, Segment will batch events before sending to Braze.")
                .default(json!(true)),
        )
        .field(
            Field::number("batch_size", "Batch Size")
                .description(
                    "If batching is enabled, this is the number of events to include in each \
                     batch. Maximum 50 events per batch.",
                )
                .default(json!(MAX_BATCH)),
        )
        .field(
            Field::string(SYNC_MODE, "How to sync records")
                .description("Define how the records from your destination will be synced.")
                .default(json!("upsert"))
                .choice("upsert", "Upsert Catalog Item")
                .choice("delete", "Delete Catalog Item"),
        )
        .hook(catalog_hook())
        .perform(perform)
        .perform_batch(MAX_BATCH, perform_batch)
}

fn catalog_hook() -> Hook {
    Hook::on_mapping_save("Select or Create a Catalog")
        .description("Select an existing catalog or create a new one in Braze.")
        .input(
            Field::string("operation", "Operation")
                .description("Whether to select an existing catalog or create a new one in Braze.")
                .choice("create", "Create a new catalog")
                .choice("select", "Select an existing catalog")
                .required(),
        )
        .input(
            Field::string("selected_catalog_name", "Catalog Name")
                .description("The unique name of the catalog (to select one)."),
        )
        .input(
            Field::string("created_catalog_name", "Catalog Name").description(
                "The name of the catalog (to create one). Must be unique. Maximum 250 characters. \
             Supported characters: letters, numbers, hyphens, and underscores.",
            ),
        )
        .input(
            Field::string("description", "Catalog Description")
                .description("The description of the catalog. Maximum 250 characters."),
        )
        .input(
            Field::object("columns", "Catalog Fields")
                .description(
                    "The fields to create in the catalog (name, and type: string, number, time, \
                     boolean, object or array). Maximum 500 fields. The id field is added.",
                )
                .multiple(),
        )
        .output(
            Field::string("catalog_name", "Catalog Name")
                .description("The name of the catalog.")
                .required(),
        )
        .run(select_or_create)
}

#[derive(Deserialize)]
struct HookInputs {
    #[serde(default)]
    operation: Option<String>,
    #[serde(default)]
    selected_catalog_name: Option<String>,
    #[serde(default)]
    created_catalog_name: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    columns: Vec<Map<String, Value>>,
}

/// The hook: selecting answers the name given; creating posts the catalog first.
fn select_or_create(
    ctx: &mut Context,
    inputs: HookInputs,
    s: Settings,
) -> Result<Map<String, Value>, Error> {
    let name = match inputs.operation.as_deref() {
        Some("select") => inputs.selected_catalog_name.unwrap_or_default(),
        Some("create") => {
            let name = inputs.created_catalog_name.unwrap_or_default();
            let mut fields = vec![json!({"name": "id", "type": "string"})];
            fields.extend(
                inputs
                    .columns
                    .iter()
                    .filter(|c| c.get("name") != Some(&json!("id")))
                    .map(|c| json!({"name": c.get("name"), "type": c.get("type")})),
            );
            let body = json!({"catalogs": [{
                "name": name,
                "description": inputs.description.unwrap_or_default(),
                "fields": fields,
            }]});
            let answer = ctx
                .post(&s.url("/catalogs")?)
                .bearer(s.api_key())
                .json(&body)
                .send()?;
            if !answer.is_success() {
                let message = first_error(&answer)
                    .and_then(|e| e.message)
                    .unwrap_or_else(|| "Unknown Error".into());
                return Err(Error::from_status(answer.status, &message, None));
            }
            name
        }
        other => {
            return Err(Error::invalid_payload(format!(
                "operation is {other:?}; it must be \"select\" or \"create\""
            )));
        }
    };
    let mut outputs = Map::new();
    outputs.insert("catalog_name".into(), json!(name));
    Ok(outputs)
}

#[derive(Deserialize)]
struct Payload {
    #[serde(default)]
    item: Option<Map<String, Value>>,
    #[serde(default)]
    item_id: String,
    #[serde(rename = "__segment_internal_sync_mode", default)]
    sync_mode: Option<Value>,
    #[serde(rename = "onMappingSave", default)]
    hook: Option<HookRecord>,
}

impl Payload {
    /// `upsert` or `delete`. The reference sends a `DELETE` for any other mode; refusing it
    /// keeps a typo from deleting items.
    fn mode(&self) -> Result<&'static str, Error> {
        sync_mode(self.sync_mode.as_ref(), &["upsert", "delete"], "upsert")
    }

    /// The catalog the hook chose.
    fn catalog(&self) -> Result<&str, Error> {
        self.hook
            .as_ref()
            .and_then(|h| h.outputs.get("catalog_name"))
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())
            .ok_or_else(|| {
                Error::invalid_payload(format!(
                    "no catalog: the subscription's {ON_MAPPING_SAVE} hook chooses it (give \
                     {ON_MAPPING_SAVE}.inputs with operation \"select\" or \"create\", or \
                     {ON_MAPPING_SAVE}.outputs.catalog_name)"
                ))
            })
    }

    /// The item, checked: a valid id, and an item when upserting.
    fn checked(&self, mode: &str) -> Result<Map<String, Value>, Error> {
        let valid = !self.item_id.is_empty()
            && self
                .item_id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !valid {
            return Err(Error::invalid_payload("Invalid ID Format"));
        }
        let item = self.item.clone().unwrap_or_default();
        if mode == "upsert" && item.is_empty() {
            return Err(Error::invalid_payload("Item is required"));
        }
        Ok(item)
    }
}

fn method(mode: &str) -> &'static str {
    if mode == "upsert" { "PUT" } else { "DELETE" }
}

#[derive(Deserialize)]
struct BrazeError {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    parameters: Option<Vec<Value>>,
    #[serde(default)]
    parameter_values: Vec<Value>,
}

fn errors(answer: &Response) -> Vec<BrazeError> {
    #[derive(Deserialize)]
    struct Body {
        #[serde(default)]
        errors: Vec<BrazeError>,
    }
    serde_json::from_slice::<Body>(&answer.body)
        .map(|b| b.errors)
        .unwrap_or_default()
}

fn first_error(answer: &Response) -> Option<BrazeError> {
    errors(answer).into_iter().next()
}

fn perform(ctx: &mut Context, p: Payload, s: Settings) -> Result<(), Error> {
    let catalog = p.catalog()?;
    let mode = p.mode()?;
    let item = p.checked(mode)?;
    let url = s.url(&format!("/catalogs/{catalog}/items/{}", p.item_id))?;
    let answer = ctx
        .request(method(mode), &url)
        .bearer(s.api_key())
        .json(&json!({"items": [item]}))
        .send()?;
    if answer.is_success() {
        return Ok(());
    }
    let first = first_error(&answer);
    if mode == "delete" && first.as_ref().and_then(|e| e.id.as_deref()) == Some("item-not-found") {
        // Deleting what is not there is done.
        return Ok(());
    }
    match first.and_then(|e| e.message) {
        Some(message) => Err(Error::from_status(answer.status, &message, None)),
        None => response::with_braze_message(answer).map(|_| ()),
    }
}

/// A batch request's items: where each came from, its id, and what is sent.
type Members = Vec<(usize, String, Value)>;

fn perform_batch(ctx: &mut Context, ps: Vec<Payload>, s: Settings) -> BatchResults {
    let mut results: Vec<Option<Result<(), Error>>> = vec![None; ps.len()];
    // One request per catalog and mode, in order of first use (a subscription has one of each
    // unless its mapping computes them).
    let mut requests: Vec<((String, &'static str), Members)> = Vec::new();
    for (i, p) in ps.iter().enumerate() {
        let checked = p.catalog().and_then(|catalog| {
            let mode = p.mode()?;
            Ok((catalog.to_string(), mode, p.checked(mode)?))
        });
        let (catalog, mode, item) = match checked {
            Ok(c) => c,
            Err(e) => {
                results[i] = Some(Err(e));
                continue;
            }
        };
        let key = (catalog, mode);
        let slot = match requests.iter().position(|(k, _)| *k == key) {
            Some(at) => at,
            None => {
                requests.push((key, Vec::new()));
                requests.len() - 1
            }
        };
        let members = &mut requests[slot].1;
        if members.iter().any(|(_, id, _)| *id == p.item_id) {
            results[i] = Some(Err(Error::invalid_payload(
                "Every item in the batch must have a unique item_id",
            )));
            continue;
        }
        let mut body = if mode == "upsert" { item } else { Map::new() };
        body.insert("id".into(), json!(p.item_id));
        members.push((i, p.item_id.clone(), Value::Object(body)));
    }
    for ((catalog, mode), members) in requests {
        let items: Vec<&Value> = members.iter().map(|(_, _, item)| item).collect();
        let sent = s
            .url(&format!("/catalogs/{catalog}/items/"))
            .and_then(|url| {
                ctx.request(method(mode), &url)
                    .bearer(s.api_key())
                    .json(&json!({"items": items}))
                    .send()
            });
        let answers = match sent {
            Ok(answer) if answer.is_success() => vec![Ok(()); members.len()],
            Ok(answer) => refused(&answer, &members),
            Err(e) => vec![Err(e); members.len()],
        };
        for ((place, _, _), answer) in members.iter().zip(answers) {
            results[*place] = Some(answer);
        }
    }
    results.into_iter().map(|r| r.unwrap_or(Ok(()))).collect()
}

/// Each member's result when Braze refused a batch: the items its errors name fail with the
/// error's message; a missing catalog fails them all (404); the rest retry, as in the
/// reference. An answer without errors is classified by its status.
fn refused(answer: &Response, members: &[(usize, String, Value)]) -> BatchResults {
    let listed = errors(answer);
    if listed.is_empty() {
        let e = response::with_braze_message(answer.clone())
            .err()
            .unwrap_or_else(|| Error::retryable("Braze refused the batch"));
        return vec![Err(e); members.len()];
    }
    let mut results: Vec<Option<Result<(), Error>>> = vec![None; members.len()];
    let mut catalog_found = true;
    for error in &listed {
        if error.id.as_deref() == Some("catalog-not-found") {
            catalog_found = false;
            continue;
        }
        let objects = error.parameters.as_ref().is_some_and(|p| p.len() > 1);
        for value in &error.parameter_values {
            let id = if objects { &value["id"] } else { value };
            let at = members
                .iter()
                .position(|(_, item_id, _)| Some(item_id.as_str()) == id.as_str());
            if let Some(at) = at
                && results[at].is_none()
            {
                let message = error
                    .message
                    .clone()
                    .unwrap_or_else(|| "Unknown error".into());
                results[at] = Some(Err(Error::Permanent {
                    message,
                    status: Some(400),
                }));
            }
        }
    }
    results
        .into_iter()
        .zip(members)
        .map(|(result, (_, item_id, _))| match result {
            Some(r) => r,
            None if !catalog_found => Err(Error::Permanent {
                message: "Catalog not found. Please create a catalog first.".into(),
                status: Some(404),
            }),
            None => Err(Error::Retryable {
                message: format!(
                    "Item with ID {item_id} could not be processed due to invalid catalog items \
                     in the batch request."
                ),
                status: Some(500),
            }),
        })
        .collect()
}
