//! A JSON object read one level deep: its keys, each with its value's JSON text as received.
//!
//! Ingest checks and completes a message by looking at a handful of its top-level keys
//! (`type`, `userId`, `timestamp`, `context`, …) and adding a few. Reading the whole message
//! into a `Value` tree and writing it out again cost most of ingest's time (BENCHMARKS.md,
//! "Durable ingest throughput"); reading one level and copying every other value's text as it
//! came does the same job in one pass over the bytes.
//!
//! Invariants, and why:
//! - The text of a value is exactly what the client sent (valid JSON, checked by the parser),
//!   or JSON text this program wrote; so [`Shallow::write`] always writes valid JSON.
//! - Keys are unique: a key sent twice keeps its first place and its last value, as a
//!   `serde_json::Map` (insertion-ordered) reads it, so the stored event is the one the rest of
//!   the program would have read.
//! - Looking a key up costs at most a hash once an object has many keys, so a message made of
//!   thousands of keys cannot make ingest quadratic.

use serde::Deserialize;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

/// Above this many keys, lookups go through a hash index.
const INDEXED_ABOVE: usize = 24;

/// One JSON object, one level deep.
#[derive(Debug, Clone, Default)]
pub struct Shallow<'a> {
    /// Keys (unescaped) and their values' JSON text, in first-seen order.
    entries: Vec<(Cow<'a, str>, Cow<'a, str>)>,
    /// Key → place in `entries`, built once there are more than [`INDEXED_ABOVE`] keys.
    index: Option<HashMap<Cow<'a, str>, usize>>,
}

/// Why a text is not read as an object.
#[derive(Debug)]
pub enum NotObject {
    /// The text is not JSON at all.
    Syntax(serde_json::Error),
    /// It is JSON, but not an object.
    Other,
}

impl<'a> Shallow<'a> {
    /// Reads `text`, which must be one JSON object.
    pub fn parse(text: &'a str) -> Result<Shallow<'a>, NotObject> {
        let mut de = serde_json::Deserializer::from_str(text);
        let read = Item::deserialize(&mut de);
        match read.and_then(|item| de.end().map(|()| item)) {
            Ok(Item::Object(object)) => Ok(object),
            Ok(Item::Other) => Err(NotObject::Other),
            Err(e) => Err(NotObject::Syntax(e)),
        }
    }

    fn place(&self, key: &str) -> Option<usize> {
        match &self.index {
            Some(index) => index.get(key).copied(),
            None => self.entries.iter().position(|(k, _)| k == key),
        }
    }

    /// The JSON text of `key`'s value.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.place(key).map(|i| &*self.entries[i].1)
    }

    pub fn contains(&self, key: &str) -> bool {
        self.place(key).is_some()
    }

    /// `key`'s value when it is a string, unescaped.
    pub fn string(&self, key: &str) -> Option<Cow<'_, str>> {
        self.get(key).and_then(string_of)
    }

    /// Sets `key` to the JSON text `value`: in its place when present, else last.
    pub fn set(&mut self, key: impl Into<Cow<'a, str>>, value: impl Into<Cow<'a, str>>) {
        let key = key.into();
        let value = value.into();
        match self.place(&key) {
            Some(i) => self.entries[i].1 = value,
            None => {
                if let Some(index) = &mut self.index {
                    index.insert(key.clone(), self.entries.len());
                }
                self.entries.push((key, value));
                if self.index.is_none() && self.entries.len() > INDEXED_ABOVE {
                    self.index = Some(
                        self.entries
                            .iter()
                            .enumerate()
                            .map(|(i, (k, _))| (k.clone(), i))
                            .collect(),
                    );
                }
            }
        }
    }

    /// Removes `key`, keeping the others' order.
    pub fn remove(&mut self, key: &str) {
        if let Some(i) = self.place(key) {
            self.entries.remove(i);
            if self.index.is_some() {
                self.index = Some(
                    self.entries
                        .iter()
                        .enumerate()
                        .map(|(i, (k, _))| (k.clone(), i))
                        .collect(),
                );
            }
        }
    }

    /// The keys, in order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(k, _)| &**k)
    }

    /// Adds each of `other`'s keys that this object lacks.
    pub fn fill_from(&mut self, other: &Shallow<'a>) {
        for (k, v) in &other.entries {
            if !self.contains(k) {
                self.set(k.clone(), v.clone());
            }
        }
    }

    /// Writes the object as JSON text.
    pub fn write(&self, out: &mut String) {
        out.push('{');
        for (i, (k, v)) in self.entries.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            write_string(k, out);
            out.push(':');
            out.push_str(v);
        }
        out.push('}');
    }

    /// The length of the object written as JSON ([`Shallow::write`]): its size as received,
    /// less any space between its keys and values.
    pub fn text_len(&self) -> usize {
        let entries: usize = self
            .entries
            .iter()
            .map(|(k, v)| k.len() + v.len() + 4)
            .sum();
        entries + 2 - usize::from(!self.entries.is_empty())
    }

    pub fn to_text(&self) -> String {
        let mut out = String::with_capacity(
            self.entries
                .iter()
                .map(|(k, v)| k.len() + v.len() + 4)
                .sum::<usize>()
                + 2,
        );
        self.write(&mut out);
        out
    }
}

/// A JSON value's text when it is a string, unescaped.
pub fn string_of(text: &str) -> Option<Cow<'_, str>> {
    let inner = text.strip_prefix('"')?.strip_suffix('"')?;
    if !inner.contains('\\') {
        // The parser has checked it: no quote or control character is left unescaped.
        return Some(Cow::Borrowed(inner));
    }
    serde_json::from_str::<String>(text).ok().map(Cow::Owned)
}

/// "a string", "an object", …: the kind of a value given as JSON text, for error messages.
pub fn kind_of(text: &str) -> &'static str {
    match text.as_bytes().first() {
        Some(b'"') => "a string",
        Some(b'{') => "an object",
        Some(b'[') => "an array",
        Some(b't' | b'f') => "a boolean",
        Some(b'n') => "null",
        _ => "a number",
    }
}

/// `text` as a JSON string.
pub fn write_string(text: &str, out: &mut String) {
    let plain = text.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\');
    if plain {
        out.push('"');
        out.push_str(text);
        out.push('"');
    } else {
        out.push_str(&serde_json::Value::from(text).to_string());
    }
}

/// `text` as JSON string text.
pub fn string_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    write_string(text, &mut out);
    out
}

/// A key, borrowed from the input when it has no escapes.
pub(super) struct Key<'a>(pub(super) Cow<'a, str>);

impl<'de> serde::Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_string())))
            }
            fn visit_string<E>(self, v: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

fn read_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<Shallow<'de>, A::Error> {
    let mut object = Shallow {
        entries: Vec::with_capacity(16),
        index: None,
    };
    while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
        let value = map.next_value::<&'de RawValue>()?;
        object.set(key, Cow::Borrowed(value.get()));
    }
    Ok(object)
}

/// One element of a batch: an object read one level deep, or anything else (which a batch
/// refuses by its place). Reading a batch's elements this way reads each message once.
#[derive(Debug)]
pub enum Item<'a> {
    Object(Shallow<'a>),
    Other,
}

/// Visitor methods that answer [`Item::Other`] for the value kinds named.
macro_rules! other {
    ($($name:ident($kind:ty)),*) => {
        $(fn $name<E>(self, _: $kind) -> Result<Item<'de>, E> {
            Ok(Item::Other)
        })*
    };
}

impl<'de> serde::Deserialize<'de> for Item<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ItemVisitor;
        impl<'de> Visitor<'de> for ItemVisitor {
            type Value = Item<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a message")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Item<'de>, A::Error> {
                read_map(map).map(Item::Object)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Item<'de>, A::Error> {
                while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(Item::Other)
            }
            // Every other kind of value is a message that is not an object.
            other!(
                visit_bool(bool),
                visit_i64(i64),
                visit_u64(u64),
                visit_f64(f64),
                visit_str(&str)
            );
            fn visit_unit<E>(self) -> Result<Item<'de>, E> {
                Ok(Item::Other)
            }
        }
        d.deserialize_any(ItemVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn reads_one_level_and_writes_the_same_object_back() {
        let text = r#"{"a": 1, "b\"q": {"x": [1, 2]}, "c": "t\u00e9", "d": null}"#;
        let o = Shallow::parse(text).unwrap();
        assert_eq!(o.keys().collect::<Vec<_>>(), ["a", "b\"q", "c", "d"]);
        let compact = r#"{"a":1,"b":{"x":[1, 2]},"c":"t"}"#;
        assert_eq!(Shallow::parse(compact).unwrap().text_len(), compact.len());
        assert_eq!(Shallow::parse("{ }").unwrap().text_len(), 2);
        assert_eq!(o.get("b\"q"), Some(r#"{"x": [1, 2]}"#));
        assert_eq!(o.string("c").as_deref(), Some("t\u{e9}"));
        assert_eq!(o.string("a"), None);
        let back: Value = serde_json::from_str(&o.to_text()).unwrap();
        assert_eq!(back, serde_json::from_str::<Value>(text).unwrap());
    }

    #[test]
    fn a_repeated_key_keeps_its_first_place_and_last_value_as_serde_json_does() {
        let text = r#"{"a": 1, "b": 2, "a": 3}"#;
        let o = Shallow::parse(text).unwrap();
        let as_map: serde_json::Map<String, Value> = serde_json::from_str(text).unwrap();
        assert_eq!(o.to_text(), Value::Object(as_map).to_string());
    }

    #[test]
    fn many_keys_are_found_through_the_index_and_stay_in_order() {
        let keys: Vec<String> = (0..200).map(|i| format!("k{i}")).collect();
        let text = format!(
            "{{{}}}",
            keys.iter()
                .map(|k| format!("\"{k}\": 1"))
                .chain(["\"k7\": 2".to_string()])
                .collect::<Vec<_>>()
                .join(",")
        );
        let mut o = Shallow::parse(&text).unwrap();
        assert_eq!(o.get("k7"), Some("2"));
        o.remove("k0");
        o.set("new", "true");
        assert_eq!(o.get("k199"), Some("1"));
        assert_eq!(o.keys().next(), Some("k1"));
        assert_eq!(o.keys().last(), Some("new"));
    }

    #[test]
    fn what_is_not_an_object_is_told_apart_from_what_is_not_json() {
        assert!(matches!(Shallow::parse("[1]"), Err(NotObject::Other)));
        assert!(matches!(Shallow::parse("\"x\""), Err(NotObject::Other)));
        assert!(matches!(
            Shallow::parse("{\"a\": }"),
            Err(NotObject::Syntax(_))
        ));
        assert!(matches!(Shallow::parse("{} x"), Err(NotObject::Syntax(_))));
    }

    #[test]
    fn strings_are_written_escaped() {
        assert_eq!(string_text("plain"), "\"plain\"");
        assert_eq!(string_text("a\"b\n"), r#""a\"b\n""#);
        assert_eq!(kind_of("[1]"), "an array");
        assert_eq!(kind_of("-1"), "a number");
    }
}
