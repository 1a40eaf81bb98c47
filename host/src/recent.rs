//! The last events accepted, kept in memory as samples: "test a subscription" on a real event
//! (as Segment's event tester picks one from the source), and later the console's live preview.
//!
//! Only the newest [`KEPT`] are kept, and only once stored in the event log. They are kept as
//! the JSON text ingest wrote and read into values only when asked for (rarely), so ingest pays
//! one copy of at most [`KEPT`] texts and one short lock per request. They are customer data,
//! so they are never written anywhere and only the admin API (behind its token) and the console
//! (behind its sign-in) show them.

use serde_json::Value;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

/// How many events are kept, all sources together.
pub(crate) const KEPT: usize = 100;

/// One accepted event and its source.
#[derive(Clone)]
pub struct Sample {
    pub source: Arc<str>,
    pub event: Value,
}

/// Each kept event's source and JSON text.
#[derive(Default)]
pub struct Recent(Mutex<VecDeque<(Arc<str>, String)>>);

/// Copies of the texts of the newest [`KEPT`] of `events`.
pub(crate) fn newest_texts<T>(events: &[T], text: impl Fn(&T) -> &String) -> Vec<String> {
    let skip = events.len().saturating_sub(KEPT);
    events[skip..].iter().map(|e| text(e).clone()).collect()
}

impl Recent {
    /// Keeps the newest of `events` (JSON texts), dropping the oldest kept.
    pub fn keep(&self, source: &Arc<str>, events: Vec<String>) {
        let skip = events.len().saturating_sub(KEPT);
        let mut kept = self.0.lock().unwrap_or_else(|e| e.into_inner());
        for event in events.into_iter().skip(skip) {
            if kept.len() == KEPT {
                kept.pop_front();
            }
            kept.push_back((source.clone(), event));
        }
    }

    /// The samples, newest first, that `wanted` takes.
    pub fn newest(&self, wanted: impl Fn(&Sample) -> bool) -> Vec<Sample> {
        let kept: Vec<(Arc<str>, String)> = {
            let kept = self.0.lock().unwrap_or_else(|e| e.into_inner());
            kept.iter().rev().cloned().collect()
        };
        kept.into_iter()
            .filter_map(|(source, text)| {
                let event = serde_json::from_str(&text).ok()?;
                Some(Sample { source, event })
            })
            .filter(|s| wanted(s))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keeps_the_newest_events_newest_first() {
        let recent = Recent::default();
        let app: Arc<str> = Arc::from("app");
        let web: Arc<str> = Arc::from("web");
        recent.keep(
            &app,
            (0..KEPT + 5).map(|i| json!({"n": i}).to_string()).collect(),
        );
        recent.keep(&web, vec![json!({"n": "w"}).to_string()]);
        let all = recent.newest(|_| true);
        assert_eq!(all.len(), KEPT);
        assert_eq!(all[0].event["n"], "w");
        assert_eq!(all[1].event["n"], KEPT + 4);
        assert_eq!(all.last().unwrap().event["n"], 6);
        let from_app = recent.newest(|s| &*s.source == "app");
        assert_eq!(from_app.len(), KEPT - 1);
    }
}
