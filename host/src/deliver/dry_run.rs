//! A dry run of one action: the requests it would send for a payload, captured and answered
//! `200 {}` instead of sent. The admin API's subscription test and the console's live preview
//! both use it, so the requests they show are the same.
//!
//! Invariants: nothing leaves the machine (the net policy's mode is `DryRun` whatever the
//! route's is), the destination's real kv store is not touched (a fresh one is used), and every
//! request and error shown has the destination's secrets masked.

use crate::redact;
use crate::routes::Route;
use crate::runtime::{InvokeOptions, Mode, NetPolicy, Responder};
use serde_json::Value;
use std::sync::Arc;

/// What a dry run saw.
pub struct DryRun {
    /// Each request as `redact::exchange` shows it, secrets masked.
    pub requests: Vec<Value>,
    /// Whether the action finished without an error, or the error, masked.
    pub result: Result<(), String>,
}

/// Runs `action` of `route` on `payload` (the payload's JSON text) without sending anything.
pub async fn dry_run(route: &Route, action: &str, payload: &str) -> DryRun {
    let dry = InvokeOptions {
        net: Arc::new(NetPolicy {
            mode: Mode::DryRun(Responder::default()),
            ..(*route.options.net).clone()
        }),
        // A test must not touch the destination's real kv store (tokens and such).
        kv: Arc::default(),
        ..route.options.clone()
    };
    let done = route
        .plugin
        .perform(action, payload, &route.settings, &dry)
        .await;
    DryRun {
        requests: done
            .exchanges
            .iter()
            .map(|x| redact::exchange(x, &route.secrets, true))
            .collect(),
        result: match done.results.first() {
            Some(Ok(())) => Ok(()),
            Some(Err(f)) => Err(route.secrets.mask(&f.to_string())),
            None => Err("the action gave no result".into()),
        },
    }
}
