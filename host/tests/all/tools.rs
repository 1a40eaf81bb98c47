//! `switchyard trigger` and `switchyard map`, run for real on event files.

use crate::cli::{files, path, switchyard};

const EVENTS: &str = r#"{"type": "track", "event": "Order Completed", "properties": {"total": 30}}

{"type": "track", "event": "Signed Up", "properties": {"total": "30"}}
{"type": "identify", "traits": {"email": "Ada@Example.com"}}
"#;

#[tokio::test]
async fn trigger_prints_one_answer_per_event_in_order() {
    let dir = files(&[("events.jsonl", EVENTS)]);
    let run = switchyard(&[
        "trigger",
        r#"type = "track" and properties.total > 10 or type = "identify""#,
        "--events",
        &path(&dir, "events.jsonl"),
    ])
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, "true\nfalse\ntrue\n");
}

#[tokio::test]
async fn trigger_errors_point_at_the_column() {
    let dir = files(&[("event.json", r#"{"type": "track"}"#)]);
    let run = switchyard(&[
        "trigger",
        r#"type = "track" and (event = "A""#,
        "--event",
        &path(&dir, "event.json"),
    ])
    .await;
    assert_eq!(run.code, 2);
    assert_eq!(
        run.stderr,
        "error: the trigger is not valid at column 32: expected \")\" to close the \"(\" at \
         column 20, found the end of the trigger\n  type = \"track\" and (event = \"A\"\n  \
         \u{20}                              ^\n"
    );
}

#[tokio::test]
async fn map_prints_the_mapped_json_per_event() {
    let dir = files(&[
        ("events.jsonl", EVENTS),
        (
            "mapping.json",
            r#"{"name": {"@case": {"operator": "upper", "value": {"@path": "$.event"}}},
                "email": {"@case": {"operator": "lower", "value": {"@path": "$.traits.email"}}},
                "total": {"@json": {"mode": "encode", "value": {"@path": "$.properties.total"}}}}"#,
        ),
    ]);
    let run = switchyard(&[
        "map",
        &path(&dir, "mapping.json"),
        "--events",
        &path(&dir, "events.jsonl"),
    ])
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.stdout,
        "{\"name\":\"ORDER COMPLETED\",\"total\":\"30\"}\n\
         {\"name\":\"SIGNED UP\",\"total\":\"\\\"30\\\"\"}\n\
         {\"email\":\"ada@example.com\"}\n"
    );
}

#[tokio::test]
async fn map_refuses_a_bad_mapping_and_a_bad_events_line() {
    let dir = files(&[
        ("events.jsonl", "{\"type\": \"track\"}\n{\"type\": \n"),
        (
            "bad.json",
            r#"{"a": {"@merge": {"objects": []}}, "b": {"@nope": 1}}"#,
        ),
        ("good.json", r#"{"a": {"@path": "$.type"}}"#),
    ]);
    let run = switchyard(&[
        "map",
        &path(&dir, "bad.json"),
        "--events",
        &path(&dir, "events.jsonl"),
    ])
    .await;
    assert_eq!(run.code, 2);
    assert_eq!(
        run.stderr,
        format!(
            "error: mapping file {} is not valid: /a/@merge should have field \"direction\" but \
             it doesn't.; /b has an invalid directive: @nope.\n",
            path(&dir, "bad.json")
        )
    );
    let run = switchyard(&[
        "map",
        &path(&dir, "good.json"),
        "--events",
        &path(&dir, "events.jsonl"),
    ])
    .await;
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.starts_with(&format!(
            "error: events file {} is not valid at line 2 column",
            path(&dir, "events.jsonl")
        )),
        "{}",
        run.stderr
    );
    assert_eq!(
        run.stdout, "",
        "nothing is printed before the input is known to be good"
    );
}
