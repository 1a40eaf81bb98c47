//! The result of applying a mapping, borrowing from the event and the mapping wherever it can.
//!
//! Mapping an event mostly copies parts of it (`$.properties`, `$.context.ip`); cloning them
//! into new JSON values would cost an allocation per string and dominate the cost of a mapping.
//! A `Resolved` points at them instead, and is serialised straight to the JSON text the plugin
//! receives.

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::Value;

/// A mapped value.
#[derive(Debug, Clone, PartialEq)]
pub enum Resolved<'a> {
    /// A value of the event or of the mapping, not copied.
    Ref(&'a Value),
    /// A value the mapping computed (a template's text, a coerced scalar).
    Owned(Value),
    /// An object the mapping built, in the mapping's key order.
    Object(Vec<(&'a str, Resolved<'a>)>),
    /// A list the mapping built.
    Array(Vec<Resolved<'a>>),
}

impl<'a> Resolved<'a> {
    /// The value as an owned JSON value.
    pub fn into_value(self) -> Value {
        match self {
            Resolved::Ref(v) => v.clone(),
            Resolved::Owned(v) => v,
            Resolved::Object(fields) => Value::Object(
                fields
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v.into_value()))
                    .collect(),
            ),
            Resolved::Array(items) => {
                Value::Array(items.into_iter().map(Resolved::into_value).collect())
            }
        }
    }

    /// The JSON value, when this is a single value (not an object or list the mapping built).
    pub fn as_value(&self) -> Option<&Value> {
        match self {
            Resolved::Ref(v) => Some(v),
            Resolved::Owned(v) => Some(v),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        self.as_value().is_some_and(Value::is_null)
    }

    pub fn is_object(&self) -> bool {
        match self {
            Resolved::Object(_) => true,
            other => other.as_value().is_some_and(Value::is_object),
        }
    }
}

impl Serialize for Resolved<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Resolved::Ref(v) => v.serialize(serializer),
            Resolved::Owned(v) => v.serialize(serializer),
            Resolved::Object(fields) => {
                let mut map = serializer.serialize_map(Some(fields.len()))?;
                for (k, v) in fields {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
            Resolved::Array(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
        }
    }
}
