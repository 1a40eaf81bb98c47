//! Reading the JSON files the CLI takes, with errors that name the file and the position.

use crate::mapping::kind_of;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::path::Path;

/// A usage or input error: the command exits with status 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct InputError(pub String);

/// Reads and parses a JSON file; `what` names it in errors ("event file").
pub(super) fn read_json<T: DeserializeOwned>(path: &Path, what: &str) -> Result<T, InputError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| InputError(format!("cannot read {what} {}: {e}", path.display())))?;
    serde_json::from_str(&text).map_err(|e| {
        let position = if e.line() > 0 {
            format!(" at line {} column {}", e.line(), e.column())
        } else {
            String::new()
        };
        InputError(format!(
            "{what} {} is not valid{position}: {}",
            path.display(),
            strip_position(&e.to_string())
        ))
    })
}

/// serde_json appends " at line L column C"; we say it ourselves, once.
fn strip_position(message: &str) -> &str {
    message
        .rfind(" at line ")
        .map_or(message, |at| &message[..at])
}

/// Reads a file that must hold a JSON object.
pub(super) fn read_object(path: &Path, what: &str) -> Result<Value, InputError> {
    let value: Value = read_json(path, what)?;
    if !value.is_object() {
        return Err(InputError(format!(
            "{what} {} must hold a JSON object, not {}",
            path.display(),
            kind_of(&value)
        )));
    }
    Ok(value)
}

/// Reads a file that must hold a JSON array of objects.
pub(super) fn read_objects(path: &Path, what: &str) -> Result<Vec<Value>, InputError> {
    let value: Value = read_json(path, what)?;
    let Value::Array(items) = value else {
        return Err(InputError(format!(
            "{what} {} must hold a JSON array of events, not {}",
            path.display(),
            kind_of(&value)
        )));
    };
    for (i, item) in items.iter().enumerate() {
        if !item.is_object() {
            return Err(InputError(format!(
                "{what} {}: item {i} must be a JSON object, not {}",
                path.display(),
                kind_of(item)
            )));
        }
    }
    Ok(items)
}

/// Reads a JSON Lines file of events (blank lines skipped); errors name the line.
pub(super) fn read_jsonl(path: &Path, what: &str) -> Result<Vec<Value>, InputError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| InputError(format!("cannot read {what} {}: {e}", path.display())))?;
    let mut events = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let value: Value = serde_json::from_str(line).map_err(|e| {
            InputError(format!(
                "{what} {} is not valid at line {} column {}: {}",
                path.display(),
                i + 1,
                e.column(),
                strip_position(&e.to_string())
            ))
        })?;
        if !value.is_object() {
            return Err(InputError(format!(
                "{what} {}: line {} must hold a JSON object, not {}",
                path.display(),
                i + 1,
                kind_of(&value)
            )));
        }
        events.push(value);
    }
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_file_and_the_position() {
        let dir = std::env::temp_dir().join(format!("switchyard-input-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("event.json");
        std::fs::write(&path, "{\n  \"a\": 1,\n  \"b\": \n}").unwrap();
        let err = read_object(&path, "event file").unwrap_err().0;
        assert!(
            err.starts_with(&format!(
                "event file {} is not valid at line 4 column 1",
                path.display()
            )),
            "{err}"
        );
        std::fs::write(&path, "[1]").unwrap();
        let err = read_object(&path, "event file").unwrap_err().0;
        assert!(
            err.ends_with("must hold a JSON object, not an array"),
            "{err}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
