//! Prometheus metrics, served as text at `/metrics` on the admin listener.
//!
//! One process-wide set of metric families, as Vector and most servers keep them: the places
//! that count (ingest, the delivery workers) call the functions here, and nothing has to be
//! threaded through their signatures. The queue's depth and age are not counted but read from
//! the queue when scraped, so they are never stale.
//!
//! Labels are bounded: sources, destinations, actions, plugins and outcomes come from the
//! configuration and the code, and a denied host is counted under the destination that asked
//! for it, so cardinality is set by the configuration, not by traffic.

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::sync::LazyLock;
use std::time::Duration;

type Labels = Vec<(&'static str, String)>;

struct Metrics {
    registry: Registry,
    events: Family<Labels, Counter>,
    refused: Family<Labels, Counter>,
    deliveries: Family<Labels, Counter>,
    dead_letters: Family<Labels, Counter>,
    invocations: Family<Labels, Histogram>,
    breaches: Family<Labels, Counter>,
    denied: Family<Labels, Counter>,
    queue_depth: Family<Labels, Gauge>,
    queue_age: Family<Labels, Gauge>,
    log_behind: Family<Labels, Gauge>,
    log_behind_age: Family<Labels, Gauge>,
    log_lost: Family<Labels, Gauge>,
    paused: Family<Labels, Gauge>,
    reloads: Family<Labels, Counter>,
}

fn invocation_histogram() -> Histogram {
    // 1 ms to about 16 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

static METRICS: LazyLock<Metrics> = LazyLock::new(|| {
    let mut registry = Registry::with_prefix("switchyard");
    let events = Family::default();
    registry.register(
        "events_received",
        "Events accepted by ingest, by source and type",
        events.clone(),
    );
    let refused = Family::default();
    registry.register(
        "ingest_refused",
        "Ingest requests or messages refused, by reason",
        refused.clone(),
    );
    let deliveries = Family::default();
    registry.register(
        "deliveries",
        "Delivery attempts by destination, action and outcome (delivered, retry, dead-letter)",
        deliveries.clone(),
    );
    let dead_letters = Family::default();
    registry.register(
        "dead_letters",
        "Deliveries moved to dead letters, by destination and reason",
        dead_letters.clone(),
    );
    let invocations = Family::new_with_constructor(invocation_histogram as fn() -> Histogram);
    registry.register(
        "invocation_seconds",
        "Time of one plugin invocation (one event or one batch), by plugin and version",
        invocations.clone(),
    );
    let breaches = Family::default();
    registry.register(
        "limit_breaches",
        "Invocations stopped by a sandbox limit, by plugin and limit",
        breaches.clone(),
    );
    let denied = Family::default();
    registry.register(
        "denied_hosts",
        "Outbound requests refused by the allow-list or the address rules, by destination",
        denied.clone(),
    );
    let queue_depth = Family::default();
    registry.register(
        "queue_depth",
        "Deliveries waiting, by destination (read when scraped)",
        queue_depth.clone(),
    );
    let queue_age = Family::default();
    registry.register(
        "queue_oldest_age_seconds",
        "Age of the oldest waiting delivery, by destination (read when scraped)",
        queue_age.clone(),
    );
    let log_behind = Family::default();
    registry.register(
        "log_behind_events",
        "Events in the event log a destination has not routed yet (read when scraped)",
        log_behind.clone(),
    );
    let log_behind_age = Family::default();
    registry.register(
        "log_behind_seconds",
        "Age of the oldest event a destination has not routed yet (read when scraped)",
        log_behind_age.clone(),
    );
    let log_lost = Family::default();
    registry.register(
        "log_lost_events",
        "Events the event log's size cap removed before a destination routed them, since the \
         destination started reading (read when scraped)",
        log_lost.clone(),
    );
    let paused = Family::default();
    registry.register(
        "destination_paused",
        "1 while the circuit breaker holds a destination paused, else 0 (read when scraped)",
        paused.clone(),
    );
    let reloads = Family::default();
    registry.register(
        "reloads",
        "Hot loads and reloads by what asked (plugins folder, admin API, SIGHUP) and outcome \
         (applied, refused)",
        reloads.clone(),
    );
    Metrics {
        reloads,
        paused,
        registry,
        events,
        refused,
        deliveries,
        dead_letters,
        invocations,
        breaches,
        denied,
        queue_depth,
        queue_age,
        log_behind,
        log_behind_age,
        log_lost,
    }
});

/// `n` events from `source` of `kind` (track, identify, ...) were accepted.
pub(crate) fn events_received(source: &str, kind: &str, n: u64) {
    METRICS
        .events
        .get_or_create(&vec![("source", source.into()), ("type", kind.into())])
        .inc_by(n);
}

/// An ingest request (or one message of a batch) was refused, for `reason`.
pub(crate) fn ingest_refused(reason: &'static str) {
    METRICS
        .refused
        .get_or_create(&vec![("reason", reason.into())])
        .inc();
}

/// One delivery attempt ended with `outcome`.
pub(crate) fn delivery(destination: &str, action: &str, outcome: &'static str) {
    METRICS
        .deliveries
        .get_or_create(&vec![
            ("destination", destination.into()),
            ("action", action.into()),
            ("outcome", outcome.into()),
        ])
        .inc();
}

/// A delivery went to dead letters for `reason`.
pub(crate) fn dead_letter(destination: &str, reason: &str) {
    METRICS
        .dead_letters
        .get_or_create(&vec![
            ("destination", destination.into()),
            ("reason", reason.into()),
        ])
        .inc();
}

/// One invocation of `plugin` at `version` took `time`.
pub(crate) fn invocation(plugin: &str, version: &str, time: Duration) {
    METRICS
        .invocations
        .get_or_create(&vec![
            ("plugin", plugin.into()),
            ("version", version.into()),
        ])
        .observe(time.as_secs_f64());
}

/// An invocation of `plugin` was stopped by the `limit` limit.
pub(crate) fn limit_breach(plugin: &str, limit: &'static str) {
    METRICS
        .breaches
        .get_or_create(&vec![("plugin", plugin.into()), ("limit", limit.into())])
        .inc();
}

/// A request of `destination`'s plugin was refused by the allow-list or the address rules.
pub(crate) fn denied_host(destination: &str) {
    METRICS
        .denied
        .get_or_create(&vec![("destination", destination.into())])
        .inc();
}

/// A reload (a hot load of the plugins folder included) asked for by `trigger` was applied or
/// refused.
pub(crate) fn reload(trigger: &str, applied: bool) {
    let outcome = if applied { "applied" } else { "refused" };
    METRICS
        .reloads
        .get_or_create(&vec![
            ("trigger", trigger.into()),
            ("outcome", outcome.into()),
        ])
        .inc();
}

/// How far one destination is behind in the event log: `(destination, events, age of the
/// oldest, events lost to the size cap)`.
pub(crate) type Behind = (String, i64, Duration, i64);

/// The metrics in the text format, with the queue's depth and oldest age per destination
/// (`(destination, depth, oldest age)`), how far each is behind in the event log, and whether
/// each destination is paused, as given.
pub(crate) fn render(
    queue: &[(String, i64, Duration)],
    behind: &[Behind],
    paused: &[(String, bool)],
) -> String {
    METRICS.paused.clear();
    for (destination, is_paused) in paused {
        METRICS
            .paused
            .get_or_create(&vec![("destination", destination.clone())])
            .set(i64::from(*is_paused));
    }
    METRICS.queue_depth.clear();
    METRICS.queue_age.clear();
    for (destination, depth, age) in queue {
        let labels = vec![("destination", destination.clone())];
        METRICS.queue_depth.get_or_create(&labels).set(*depth);
        METRICS
            .queue_age
            .get_or_create(&labels)
            .set(age.as_secs() as i64);
    }
    METRICS.log_behind.clear();
    METRICS.log_behind_age.clear();
    METRICS.log_lost.clear();
    for (destination, events, age, lost) in behind {
        let labels = vec![("destination", destination.clone())];
        METRICS.log_behind.get_or_create(&labels).set(*events);
        METRICS
            .log_behind_age
            .get_or_create(&labels)
            .set(age.as_secs() as i64);
        METRICS.log_lost.get_or_create(&labels).set(*lost);
    }
    let mut text = String::new();
    if let Err(e) = encode(&mut text, &METRICS.registry) {
        tracing::warn!(error = %e, "Could not encode the metrics.");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_show_in_the_text_format() {
        events_received("metrics-test-source", "track", 1);
        events_received("metrics-test-source", "track", 1);
        delivery("metrics-test-dest", "postToChannel", "delivered");
        invocation("slack", "0.1.0", Duration::from_millis(3));
        let text = render(
            &[("metrics-test-dest".into(), 7, Duration::from_secs(12))],
            &[("metrics-test-dest".into(), 40, Duration::from_secs(3), 2)],
            &[("metrics-test-dest".into(), true)],
        );
        for line in [
            "switchyard_log_behind_events{destination=\"metrics-test-dest\"} 40",
            "switchyard_log_behind_seconds{destination=\"metrics-test-dest\"} 3",
            "switchyard_log_lost_events{destination=\"metrics-test-dest\"} 2",
        ] {
            assert!(text.contains(line), "{line} in {text}");
        }
        assert!(
            text.contains("switchyard_destination_paused{destination=\"metrics-test-dest\"} 1")
        );
        assert!(
            text.contains(
                "switchyard_events_received_total{source=\"metrics-test-source\",type=\"track\"} 2"
            ),
            "{text}"
        );
        assert!(text.contains(
            "switchyard_deliveries_total{destination=\"metrics-test-dest\",action=\"postToChannel\",outcome=\"delivered\"} 1"
        ));
        assert!(text.contains("switchyard_queue_depth{destination=\"metrics-test-dest\"} 7"));
        assert!(
            text.contains(
                "switchyard_queue_oldest_age_seconds{destination=\"metrics-test-dest\"} 12"
            )
        );
        assert!(text.contains("switchyard_invocation_seconds_bucket{le=\"0.004\",plugin=\"slack\",version=\"0.1.0\"} 1")
            || text.contains("switchyard_invocation_seconds_bucket{plugin=\"slack\",version=\"0.1.0\",le=\"0.004\"} 1"), "{text}");
        assert!(text.ends_with("# EOF\n"));
    }
}
