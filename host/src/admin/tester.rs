//! "Test a subscription", as Segment's "test mapping" does: given an event, whether the
//! trigger matches, the payload the mapping builds (or why it cannot), and the requests the
//! action would send, made in a dry run (captured, answered `200 {}`, never sent). Secrets are
//! masked in everything shown.

use crate::deliver::dry_run::dry_run;
use crate::routes::Route;
use serde_json::{Value, json};

/// The test of each named (or every) subscription of `route` on `event`.
pub(super) async fn run(
    route: &Route,
    subscription: Option<&str>,
    event: &Value,
) -> Result<Value, String> {
    let chosen: Vec<_> = route
        .subscriptions
        .iter()
        .filter(|s| subscription.is_none_or(|name| s.name == name))
        .collect();
    if chosen.is_empty() {
        let names: Vec<&str> = route
            .subscriptions
            .iter()
            .map(|s| s.name.as_str())
            .collect();
        return Err(format!(
            "destination {:?} has no subscription {:?}; it has: {}",
            route.name,
            subscription.unwrap_or_default(),
            names.join(", ")
        ));
    }
    let mut results = Vec::new();
    for sub in chosen {
        let matched = sub.trigger.matches(event);
        let mut answer = json!({
            "subscription": sub.name,
            "action": sub.action.id,
            "trigger": sub.trigger.to_string(),
            "matched": matched,
        });
        match sub.mapping.build(&sub.action, event, true) {
            Err(e) => answer["error"] = json!(route.secrets.mask(&e)),
            Ok(payload) => {
                let text = payload.to_json();
                let mut shown: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                route.secrets.mask_json(&mut shown);
                answer["payload"] = shown;
                if matched {
                    let done = dry_run(route, &sub.action.id, &text).await;
                    answer["requests"] = Value::Array(done.requests);
                    answer["result"] = match done.result {
                        Ok(()) => json!("ok"),
                        Err(e) => json!(e),
                    };
                }
            }
        }
        results.push(answer);
    }
    Ok(json!({"destination": route.name, "results": results}))
}
