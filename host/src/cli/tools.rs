//! `switchyard trigger` and `switchyard map`: try a trigger or a mapping on events before putting
//! it in a configuration. One result per event, in order, so a JSON Lines file of sample events
//! gives one line of output per line of input.

use super::Exit;
use super::input::{InputError, read_json, read_jsonl, read_object};
use crate::mapping::Mapping;
use crate::trigger::Trigger;
use clap::Args;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Where the events come from: one JSON file, or a JSON Lines file.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub(super) struct Events {
    /// A JSON file holding one event.
    #[arg(long, value_name = "FILE")]
    event: Option<PathBuf>,
    /// A JSON Lines file, one event per line.
    #[arg(long, value_name = "FILE.jsonl")]
    events: Option<PathBuf>,
}

impl Events {
    fn read(&self) -> Result<(Vec<Value>, bool), InputError> {
        match (&self.event, &self.events) {
            (Some(path), _) => Ok((vec![read_object(path, "event file")?], true)),
            (None, Some(path)) => Ok((read_jsonl(path, "events file")?, false)),
            (None, None) => unreachable!("clap requires one of them"),
        }
    }
}

/// Arguments of `switchyard trigger`.
#[derive(Debug, Args)]
pub struct TriggerArgs {
    /// The trigger, e.g. 'type = "track" and event = "Order Completed"'.
    trigger: String,
    #[command(flatten)]
    events: Events,
}

/// Arguments of `switchyard map`.
#[derive(Debug, Args)]
pub struct MapArgs {
    /// A JSON file holding the mapping (any JSON value with mapping directives).
    mapping: PathBuf,
    #[command(flatten)]
    events: Events,
}

/// Prints `true` or `false` per event; a trigger that does not parse is an input error that
/// points at the column.
pub(super) fn trigger(args: TriggerArgs) -> anyhow::Result<Exit> {
    let trigger = Trigger::parse(&args.trigger).map_err(|e| {
        let pointer = format!("{}^", " ".repeat(e.column.saturating_sub(1)));
        InputError(format!(
            "the trigger is not valid {e}\n  {}\n  {pointer}",
            args.trigger
        ))
    })?;
    for difference in trigger.segment_differences() {
        eprintln!(
            "warning: this trigger means something else than it did in Segment: {difference}"
        );
    }
    let (events, _) = args.events.read()?;
    for event in &events {
        println!("{}", trigger.matches(event));
    }
    Ok(Exit::Ok)
}

/// Prints the mapped JSON per event (`null` when the mapping yields nothing); pretty for one
/// event, one line per event for a JSON Lines file.
pub(super) fn map(args: MapArgs) -> anyhow::Result<Exit> {
    let mapping = read_mapping(&args.mapping)?;
    let (events, single) = args.events.read()?;
    for event in &events {
        let mapped = mapping.apply(event).unwrap_or(Value::Null);
        if single {
            println!("{}", serde_json::to_string_pretty(&mapped)?);
        } else {
            println!("{}", serde_json::to_string(&mapped)?);
        }
    }
    Ok(Exit::Ok)
}

fn read_mapping(path: &Path) -> Result<Mapping, InputError> {
    let value: Value = read_json(path, "mapping file")?;
    Mapping::parse(&value).map_err(|e| {
        InputError(format!(
            "mapping file {} is not valid: {}",
            path.display(),
            e.0.join("; ")
        ))
    })
}
