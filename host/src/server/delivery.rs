//! Delivery follows the snapshot in force: a round of workers per snapshot, replaced when a
//! reload swaps the snapshot.

use super::{GRACE, until_true};
use crate::deliver;
use crate::deliver::state::DestinationStates;
use crate::live::Live;
use crate::queue::{EventLog, Queue};
use std::sync::Arc;
use tokio::sync::watch;

/// Delivery on the snapshot in force: when a reload replaces it, the workers stop as they do
/// at shutdown (attempts in flight finish, leases in hand go back) and start again on the new
/// one. Nothing is lost in between: deliveries wait in the queue, events in the log.
pub async fn deliver_live(
    live: Arc<Live>,
    states: Arc<DestinationStates>,
    queue: Arc<dyn Queue>,
    log: Arc<dyn EventLog>,
    mut stop: watch::Receiver<bool>,
) {
    let mut changes = live.changes();
    loop {
        // Marked first, then read: a replacement in between restarts the round once more
        // rather than being missed.
        changes.mark_unchanged();
        let routes = live.current().routes.clone();
        // The workers watch both signals themselves: the server's stop and a replacement.
        let mut workers = tokio::spawn(deliver::run(
            routes,
            states.clone(),
            queue.clone(),
            log.clone(),
            stop.clone(),
            Some(changes.clone()),
            GRACE,
        ));
        let mut next = tokio::select! {
            () = until_true(&mut stop) => Next::Stop,
            changed = changes.changed() => Next::after(changed),
            _ = &mut workers => Next::Idle,
        };
        if next == Next::Idle {
            // The workers ended on their own (no destinations): wait for a change or the stop.
            next = tokio::select! {
                () = until_true(&mut stop) => Next::Stop,
                changed = changes.changed() => Next::after(changed),
            };
        } else {
            let _ = workers.await;
        }
        if next == Next::Stop {
            return;
        }
        tracing::info!("Configuration reloaded: delivery continues on the new routes.");
    }
}

/// What ends one round of delivery workers.
#[derive(PartialEq)]
enum Next {
    Stop,
    Reload,
    Idle,
}

impl Next {
    fn after(changed: Result<(), watch::error::RecvError>) -> Next {
        if changed.is_ok() {
            Next::Reload
        } else {
            Next::Stop
        }
    }
}
