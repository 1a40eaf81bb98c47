//! Signals: SIGHUP reloads the configuration; Ctrl-C (SIGINT) and SIGTERM stop the server
//! gracefully. Handlers are installed when these functions are called, before the server
//! answers, so a signal sent as soon as it answers never meets the default action.

use super::until_true;
use crate::live::Reloader;
use std::sync::Arc;
use tokio::sync::watch;

/// Reloads the configuration on SIGHUP, logging the outcome.
///
/// The handler is installed when this is called, not when the task first runs: until then a
/// SIGHUP would end the process (the signal's default action), and the server may already be
/// answering by the time a busy runtime gets to the task.
pub(super) fn reload_on_hangup(
    reloader: Arc<Reloader>,
    mut stop: watch::Receiver<bool>,
) -> impl Future<Output = ()> + Send {
    #[cfg(unix)]
    let hangups = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup());
    async move {
        #[cfg(unix)]
        {
            let Ok(mut hangups) = hangups else {
                tracing::warn!("Cannot listen for SIGHUP; reload with POST /admin/reload.");
                return;
            };
            loop {
                tokio::select! {
                    () = until_true(&mut stop) => return,
                    Some(()) = hangups.recv() => match reloader.reload("SIGHUP").await {
                        Ok(r) => tracing::info!(
                            destinations = ?r.destinations,
                            "SIGHUP: configuration reloaded."
                        ),
                        Err(e) => tracing::error!(
                            "SIGHUP: configuration refused, the running one stays:\n{e}"
                        ),
                    },
                }
            }
        }
        #[cfg(not(unix))]
        {
            let _ = reloader;
            until_true(&mut stop).await;
        }
    }
}

/// Resolves on Ctrl-C or SIGTERM. As with SIGHUP, the handlers are installed when this is
/// called, so a SIGTERM that comes as soon as the server answers still stops it gracefully.
pub(super) fn stopped() -> impl Future<Output = ()> + Send {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut interrupt = signal(SignalKind::interrupt()).expect("installing the SIGINT handler");
        let mut terminate =
            signal(SignalKind::terminate()).expect("installing the SIGTERM handler");
        async move {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}
