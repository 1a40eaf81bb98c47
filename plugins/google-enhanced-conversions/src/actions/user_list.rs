//! `userList`: adds people to, or removes them from, a Customer Match user list through an
//! offline user data job: create the job, add its operations, run it. A batch makes one job per
//! list (and consent), with per-event results from the job's partial failures.
//!
//! The list is chosen when the subscription is saved, by the `retlOnMappingSave` hook
//! ([`hook`]): it checks an existing list (`googleAds:search`) or creates one
//! (`userLists:mutate`), and its outputs (`id`, `name`, `external_id_type`) win over the
//! payload's `external_audience_id` and `external_id_type`, as in the reference.

use super::auth::{customer_id, post};
use super::conversions::Payload;
use super::identity::{email, phone, text};
use crate::response::partial_failures;
use crate::settings::{API, Settings};
use serde_json::{Map, Value, json};
use switchyard_plugin_sdk::{
    BatchResults, Context, Error, Field, Hook, RETL_ON_MAPPING_SAVE, SYNC_MODE,
};

/// Events per job in one batch.
pub(crate) const MAX_BATCH: u32 = 10_000;

pub(crate) fn perform(ctx: &mut Context, p: Payload, s: Settings) -> Result<(), Error> {
    sync(ctx, &[p], &s, false)
        .pop()
        .unwrap_or_else(|| Err(Error::permanent("no result")))
}

pub(crate) fn perform_batch(ctx: &mut Context, ps: Vec<Payload>, s: Settings) -> BatchResults {
    sync(ctx, &ps, &s, true)
}

/// The hook that connects the subscription to a Customer Match list.
pub(crate) fn hook() -> Hook {
    Hook::retl_on_mapping_save("Connect to a Google Customer Match User List")
        .description(
            "When saving this mapping, we will create a list in Google using the fields you \
             provide.",
        )
        .input(Field::string("list_id", "Existing List ID").description(
            "The ID of an existing Google list that you would like to sync users to. If you \
             provide this, we will not create a new list.",
        ))
        .input(
            Field::string("list_name", "List Name")
                .description("The name of the Google list that you would like to create."),
        )
        .input(
            Field::string("external_id_type", "External ID Type")
                .description("Customer match upload key types.")
                .choice("CONTACT_INFO", "CONTACT INFO")
                .choice("CRM_ID", "CRM ID")
                .choice("MOBILE_ADVERTISING_ID", "MOBILE ADVERTISING ID"),
        )
        .input(Field::string("app_id", "App ID").description(
            "A string that uniquely identifies a mobile application from which the data was \
             collected. Required if external ID type is mobile advertising ID",
        ))
        .output(Field::string("id", "ID").description(
            "The ID of the Google Customer Match User list that users will be synced to.",
        ))
        .output(Field::string("name", "List Name").description(
            "The name of the Google Customer Match User list that users will be synced to.",
        ))
        .output(
            Field::string("external_id_type", "External ID Type")
                .description("Customer match upload key types."),
        )
        .run(connect)
}

#[derive(serde::Deserialize)]
struct HookInputs {
    #[serde(default)]
    list_id: Option<String>,
    #[serde(default)]
    list_name: Option<String>,
    #[serde(default)]
    external_id_type: Option<String>,
    #[serde(default)]
    app_id: Option<String>,
}

/// Checks the list given, or creates one; answers its id, name and kind of IDs.
fn connect(
    ctx: &mut Context,
    inputs: HookInputs,
    s: Settings,
) -> Result<Map<String, Value>, Error> {
    let customer = customer_id(&s)?;
    let kind = inputs
        .external_id_type
        .filter(|k| !k.is_empty())
        .unwrap_or_else(|| "CONTACT_INFO".into());
    let (id, name) = match inputs.list_id.filter(|l| !l.is_empty()) {
        Some(list) => {
            // The id goes into a query: only digits, as Google's list ids are.
            if !list.bytes().all(|b| b.is_ascii_digit()) {
                return Err(Error::invalid_payload(format!(
                    "list_id {list:?} is not a Google user list id (digits only)"
                )));
            }
            let query = json!({"query": format!(
                "SELECT user_list.id, user_list.name FROM user_list where user_list.id = '{list}'"
            )});
            let url = format!("{API}/customers/{customer}/googleAds:search");
            let found: Value = post(ctx, &s, &url, Some(&query))?
                .error_for_status()?
                .json()?;
            let row = &found["results"][0]["userList"];
            if row["id"].is_null() {
                return Err(Error::invalid_payload("Failed to receive a customer list."));
            }
            (list, row["name"].clone())
        }
        None => {
            if kind == "MOBILE_ADVERTISING_ID" && inputs.app_id.is_none() {
                return Err(Error::invalid_payload(
                    "App ID is required when external ID type is mobile advertising ID.",
                ));
            }
            let name = inputs.list_name.unwrap_or_default();
            let mut crm = Map::new();
            crm.insert("uploadKeyType".into(), json!(kind));
            if let Some(app) = &inputs.app_id {
                crm.insert("appId".into(), json!(app));
            }
            let body = json!({"operations": [{"create": {
                "crmBasedUserList": crm,
                "membershipLifeSpan": "540",
                "name": name,
            }}]});
            let url = format!("{API}/customers/{customer}/userLists:mutate");
            let created: Value = post(ctx, &s, &url, Some(&body))?
                .error_for_status()?
                .json()?;
            let id = created["results"][0]["resourceName"]
                .as_str()
                .and_then(|r| r.split('/').nth(3))
                .ok_or_else(|| {
                    Error::invalid_payload("Failed to receive a created customer list id.")
                })?
                .to_string();
            (id, json!(name))
        }
    };
    let mut outputs = Map::new();
    outputs.insert("id".into(), json!(id));
    outputs.insert("name".into(), name);
    outputs.insert("external_id_type".into(), json!(kind));
    Ok(outputs)
}

/// An output of the list hook, when the subscription carries it.
fn hook_output<'a>(p: &'a Payload, key: &str) -> Option<&'a str> {
    p.get(RETL_ON_MAPPING_SAVE)?["outputs"]
        .get(key)?
        .as_str()
        .filter(|v| !v.is_empty())
}

fn text_of<'a>(p: &'a Payload, key: &str) -> Option<&'a str> {
    p.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// Google's RPC status codes, as HTTP statuses (for per-event results).
fn http_status(code: i64) -> u16 {
    match code {
        0 => 200,
        1 => 499,
        3 | 9 | 11 => 400,
        4 => 504,
        5 => 404,
        6 | 10 => 409,
        7 => 403,
        8 => 429,
        12 => 501,
        14 => 503,
        16 => 401,
        _ => 500,
    }
}

/// Whether the event adds its person to the list (`create`) or removes them (`remove`).
fn operation(p: &Payload) -> &'static str {
    match text_of(p, SYNC_MODE).unwrap_or("mirror") {
        "add" => "create",
        "delete" => "remove",
        _ if text_of(p, "event_name") == Some("Audience Exited") => "remove",
        _ => "create",
    }
}

/// The person's identifiers for the list's kind of IDs.
fn identifiers(p: &Payload) -> Result<Vec<Value>, Error> {
    let kind = hook_output(p, "external_id_type")
        .or_else(|| text_of(p, "external_id_type"))
        .unwrap_or("CONTACT_INFO");
    let required = |key: &str| {
        text_of(p, key).ok_or_else(|| {
            Error::invalid_payload(format!("{key} is required for a {kind} user list"))
        })
    };
    match kind {
        "CRM_ID" => Ok(vec![json!({"thirdPartyUserId": required("crm_id")?})]),
        "MOBILE_ADVERTISING_ID" => Ok(vec![
            json!({"mobileId": required("mobile_advertising_id")?}),
        ]),
        _ => {
            let mut ids = Vec::new();
            if let Some(e) = text_of(p, "email") {
                ids.push(json!({"hashedEmail": email(e)?}));
            }
            if let Some(ph) = text_of(p, "phone") {
                ids.push(json!({"hashedPhoneNumber": phone(ph, text_of(p, "phone_country_code"))}));
            }
            let first = text_of(p, "first_name");
            let last = text_of(p, "last_name");
            if first.is_some() || last.is_some() {
                let mut address = Map::new();
                if let Some(f) = first {
                    address.insert("hashedFirstName".into(), json!(text(f)));
                }
                if let Some(l) = last {
                    address.insert("hashedLastName".into(), json!(text(l)));
                }
                address.insert(
                    "countryCode".into(),
                    json!(text_of(p, "country_code").unwrap_or_default()),
                );
                address.insert(
                    "postalCode".into(),
                    json!(text_of(p, "postal_code").unwrap_or_default()),
                );
                ids.push(json!({"addressInfo": address}));
            }
            if ids.is_empty() {
                return Err(Error::invalid_payload(
                    "a CONTACT_INFO user list needs an email, a phone or a name",
                ));
            }
            Ok(ids)
        }
    }
}

/// A failed job step: Google's concurrent-modification errors pass, so they retry.
fn step_error(e: Error) -> Error {
    let concurrent = match &e {
        Error::Permanent { message, .. } | Error::Retryable { message, .. } => {
            message.contains("CONCURRENT_MODIFICATION")
        }
        _ => false,
    };
    if concurrent {
        Error::Retryable {
            message: e.to_string(),
            status: Some(500),
        }
    } else {
        e
    }
}

/// A job's list and consent.
type JobKey = (String, String, String);

fn sync(ctx: &mut Context, payloads: &[Payload], s: &Settings, batch: bool) -> BatchResults {
    let n = payloads.len();
    let customer = match customer_id(s) {
        Ok(c) => c,
        Err(e) => return vec![Err(e); n],
    };
    let mut results: Vec<Option<Result<(), Error>>> = vec![None; n];
    // Jobs by (list, user data consent, personalisation consent), in order of first use.
    let mut jobs: Vec<(JobKey, Vec<(usize, Value)>)> = Vec::new();
    for (i, p) in payloads.iter().enumerate() {
        let list = hook_output(p, "id").or_else(|| text_of(p, "external_audience_id"));
        let Some(list) = list else {
            results[i] = Some(Err(Error::invalid_payload(
                "external_audience_id (the user list's ID) is required, unless the subscription's retlOnMappingSave hook chose the list",
            )));
            continue;
        };
        let ids = match identifiers(p) {
            Ok(ids) => ids,
            Err(e) => {
                results[i] = Some(Err(e));
                continue;
            }
        };
        let key = (
            list.to_string(),
            text_of(p, "ad_user_data_consent_state")
                .unwrap_or_default()
                .to_string(),
            text_of(p, "ad_personalization_consent_state")
                .unwrap_or_default()
                .to_string(),
        );
        let op = json!({operation(p): {"userIdentifiers": ids}});
        match jobs.iter_mut().find(|(k, _)| *k == key) {
            Some((_, ops)) => ops.push((i, op)),
            None => jobs.push((key, vec![(i, op)])),
        }
    }
    for ((list, user_data, personalization), ops) in jobs {
        let places: Vec<usize> = ops.iter().map(|(i, _)| *i).collect();
        let operations: Vec<Value> = ops.into_iter().map(|(_, op)| op).collect();
        let answers = match run_job(
            ctx,
            s,
            &customer,
            (&list, &user_data, &personalization),
            operations,
            batch,
        ) {
            Ok(answers) => answers,
            Err(e) => vec![Some(e); places.len()],
        };
        for (place, answer) in places.into_iter().zip(answers) {
            results[place] = Some(answer.map_or(Ok(()), Err));
        }
    }
    results.into_iter().map(|r| r.unwrap_or(Ok(()))).collect()
}

/// Creates, fills and runs one job; each operation's failure, if any.
fn run_job(
    ctx: &mut Context,
    s: &Settings,
    customer: &str,
    (list, user_data, personalization): (&str, &str, &str),
    operations: Vec<Value>,
    batch: bool,
) -> Result<Vec<Option<Error>>, Error> {
    let count = operations.len();
    let mut consent = Map::new();
    if !user_data.is_empty() {
        consent.insert("adUserData".into(), json!(user_data));
    }
    if !personalization.is_empty() {
        consent.insert("adPersonalization".into(), json!(personalization));
    }
    let job = json!({"job": {
        "type": "CUSTOMER_MATCH_USER_LIST",
        "customerMatchUserListMetadata": {
            "userList": format!("customers/{customer}/userLists/{list}"),
            "consent": consent,
        },
    }});
    let url = format!("{API}/customers/{customer}/offlineUserDataJobs:create");
    let created: Value = post(ctx, s, &url, Some(&job))
        .and_then(|a| a.error_for_status())
        .map_err(step_error)?
        .json()?;
    let job_name = created["resourceName"]
        .as_str()
        .ok_or_else(|| Error::retryable("Google's job answer has no resourceName"))?
        .to_string();

    let mut body = json!({"operations": operations});
    if batch {
        body["enablePartialFailure"] = json!(true);
    } else {
        body["enable_warnings"] = json!(true);
    }
    let url = format!("{API}/{job_name}:addOperations");
    let added: Value = post(ctx, s, &url, Some(&body))
        .and_then(|a| a.error_for_status())
        .map_err(step_error)?
        .json()
        .unwrap_or(Value::Null);
    let code = added["partialFailureError"]["code"].as_i64().unwrap_or(3);
    let failures = partial_failures(&added, "operations", count, http_status(code));

    if failures.iter().any(Option::is_none) {
        let url = format!("{API}/{job_name}:run");
        post(ctx, s, &url, None)
            .and_then(|a| a.error_for_status())
            .map_err(step_error)?;
    }
    Ok(failures)
}
