//! Customer.io's actions. All but `reportDeliveryEvent` send an entity (`entity.rs`): one to
//! `/api/v2/entity`, or a batch to `/api/v2/batch` whose answer is every event's answer.
//! `reportDeliveryEvent` sends a delivery metric (`report_delivery_event.rs`).

pub(crate) mod entity;
pub(crate) mod report_delivery_event;

use crate::response;
use crate::settings::Settings;
use serde_json::{Map, Value, json};
use switchyard_plugin_sdk::{BatchResults, Context, Error};

pub(crate) type Payload = Map<String, Value>;

pub(crate) fn take(p: &mut Payload, key: &str) -> Option<Value> {
    p.remove(key).filter(|v| !v.is_null())
}

pub(crate) fn post(ctx: &mut Context, s: &Settings, path: &str, body: &Value) -> Result<(), Error> {
    let sent = ctx
        .post(&format!("{}{path}", s.host()))
        .header("Authorization", &s.auth())
        .json(body)
        .send()?;
    response::check(sent)
}

fn single(ctx: &mut Context, action: &str, p: Payload, s: &Settings) -> Result<(), Error> {
    let body = entity::entity(action, p)?;
    post(ctx, s, "/api/v2/entity", &body)
}

fn batch(ctx: &mut Context, action: &str, ps: Vec<Payload>, s: &Settings) -> BatchResults {
    let mut results: Vec<Result<(), Error>> = Vec::with_capacity(ps.len());
    // Objects for identified and anonymous people go in separate batch calls.
    let mut groups: Vec<(String, Vec<usize>, Vec<Value>)> = Vec::new();
    for (i, p) in ps.into_iter().enumerate() {
        match entity::entity(action, p) {
            Ok(e) => {
                results.push(Ok(()));
                let verb = e["action"].as_str().unwrap_or_default().to_string();
                match groups.iter_mut().find(|(v, ..)| *v == verb) {
                    Some((_, members, entities)) => {
                        members.push(i);
                        entities.push(e);
                    }
                    None => groups.push((verb, vec![i], vec![e])),
                }
            }
            Err(e) => results.push(Err(e)),
        }
    }
    for (_, members, entities) in groups {
        // Customer.io answers for the whole batch, so each event gets that answer.
        let outcome = post(ctx, s, "/api/v2/batch", &json!({"batch": entities}));
        for i in members {
            results[i] = outcome.clone();
        }
    }
    results
}

macro_rules! actions {
    ($($single:ident, $batch:ident => $id:literal;)*) => {$(
        pub(crate) fn $single(ctx: &mut Context, p: Payload, s: Settings) -> Result<(), Error> {
            single(ctx, $id, p, &s)
        }
        pub(crate) fn $batch(ctx: &mut Context, ps: Vec<Payload>, s: Settings) -> BatchResults {
            batch(ctx, $id, ps, &s)
        }
    )*};
}

actions! {
    create_update_person, create_update_person_batch => "createUpdatePerson";
    track_event, track_event_batch => "trackEvent";
    track_page_view, track_page_view_batch => "trackPageView";
    track_screen_view, track_screen_view_batch => "trackScreenView";
    create_update_device, create_update_device_batch => "createUpdateDevice";
    delete_device, delete_device_batch => "deleteDevice";
    delete_person, delete_person_batch => "deletePerson";
    suppress_person, suppress_person_batch => "suppressPerson";
    unsuppress_person, unsuppress_person_batch => "unsuppressPerson";
    merge_people, merge_people_batch => "mergePeople";
    create_update_object, create_update_object_batch => "createUpdateObject";
    delete_object, delete_object_batch => "deleteObject";
    delete_relationship, delete_relationship_batch => "deleteRelationship";
    report_content_event, report_content_event_batch => "reportContentEvent";
}
