//! How the event log stores the events of one append (a *chunk*): packed one after another and
//! compressed together with zstd.
//!
//! Invariants, and why:
//! - A chunk is written once and never changed; it holds consecutive sequence numbers, so an
//!   event is found by its chunk's first number and its place in the chunk.
//! - The text of each event is kept exactly; unpacking gives back what was packed.
//! - The first byte names the format, so a later format can be read beside this one.
//!
//! Why compressed, and here: the events of one request are alike (the same keys, the same
//! context), so a chunk of them compresses to a fraction of its text at well under a
//! microsecond an event (BENCHMARKS.md, "Durable ingest throughput"), and SQLite writes each
//! byte twice (its write-ahead log, then the file). Packing runs in the request's task, so the
//! queue's one writer thread only copies the smaller bytes.

use std::cell::RefCell;

/// The format of this version: a 4-byte little-endian length of the packed text, then zstd.
const ZSTD: u8 = 1;

/// zstd's level 1: its fastest standard level; higher levels gained little on events.
const LEVEL: i32 = 1;

/// One event as packed: where it came from, its message id, its JSON text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct PackedEvent {
    pub source: String,
    pub message_id: String,
    pub body: String,
}

/// Why a chunk could not be read back.
#[derive(Debug)]
pub(super) struct Unreadable(pub(super) String);

thread_local! {
    /// A compression context per thread: making one costs more than compressing a chunk.
    static COMPRESSOR: RefCell<Option<zstd::bulk::Compressor<'static>>> = const { RefCell::new(None) };
    static DECOMPRESSOR: RefCell<Option<zstd::bulk::Decompressor<'static>>> = const { RefCell::new(None) };
}

fn put(out: &mut Vec<u8>, field: &str) {
    out.extend_from_slice(&(field.len() as u32).to_le_bytes());
    out.extend_from_slice(field.as_bytes());
}

/// Packs `events` (source, message id, body) into one chunk.
pub(super) fn pack<'a>(events: impl Iterator<Item = (&'a str, &'a str, &'a str)>) -> Vec<u8> {
    let mut text = Vec::new();
    for (source, message_id, body) in events {
        text.reserve(source.len() + message_id.len() + body.len() + 12);
        put(&mut text, source);
        put(&mut text, message_id);
        put(&mut text, body);
    }
    let compressed = COMPRESSOR.with(|c| {
        let mut c = c.borrow_mut();
        if c.is_none() {
            *c = zstd::bulk::Compressor::new(LEVEL).ok();
        }
        c.as_mut().and_then(|c| c.compress(&text).ok())
    });
    // zstd compressing from memory to memory fails only when it cannot allocate.
    let compressed = compressed.expect("zstd compresses a chunk");
    let mut chunk = Vec::with_capacity(compressed.len() + 5);
    chunk.push(ZSTD);
    chunk.extend_from_slice(&(text.len() as u32).to_le_bytes());
    chunk.extend_from_slice(&compressed);
    chunk
}

/// The events of a chunk, in order.
pub(super) fn unpack(chunk: &[u8]) -> Result<Vec<PackedEvent>, Unreadable> {
    let bad = |what: &str| Unreadable(format!("a chunk of the event log is unreadable: {what}"));
    let (&format, rest) = chunk.split_first().ok_or_else(|| bad("it is empty"))?;
    if format != ZSTD {
        return Err(bad(&format!("format {format} is unknown to this build")));
    }
    let (size, compressed) = rest
        .split_at_checked(4)
        .ok_or_else(|| bad("it is cut short"))?;
    let size = u32::from_le_bytes(size.try_into().expect("4 bytes")) as usize;
    let text = DECOMPRESSOR.with(|d| {
        let mut d = d.borrow_mut();
        if d.is_none() {
            *d = zstd::bulk::Decompressor::new().ok();
        }
        match d.as_mut() {
            Some(d) => d
                .decompress(compressed, size)
                .map_err(|e| bad(&e.to_string())),
            None => Err(bad("no memory to decompress it")),
        }
    })?;
    if text.len() != size {
        return Err(bad("its length is not the one recorded"));
    }
    let mut events = Vec::new();
    let mut at = 0usize;
    let take = |at: &mut usize| -> Result<String, Unreadable> {
        let len = text
            .get(*at..*at + 4)
            .ok_or_else(|| bad("an event is cut short"))?;
        let len = u32::from_le_bytes(len.try_into().expect("4 bytes")) as usize;
        let field = text
            .get(*at + 4..*at + 4 + len)
            .ok_or_else(|| bad("an event is cut short"))?;
        *at += 4 + len;
        String::from_utf8(field.to_vec()).map_err(|_| bad("an event is not UTF-8"))
    };
    while at < text.len() {
        events.push(PackedEvent {
            source: take(&mut at)?,
            message_id: take(&mut at)?,
            body: take(&mut at)?,
        });
    }
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_packed_is_unpacked_exactly_and_smaller() {
        let body = r#"{"type":"track","event":"Trip Booked","properties":{"trip":"LIS-NYC","price":1.50}}"#;
        let events: Vec<(String, String, String)> = (0..100)
            .map(|i| {
                (
                    "app".to_string(),
                    format!("m-{i}"),
                    body.replace("LIS", &format!("L{i}")),
                )
            })
            .collect();
        let chunk = pack(events.iter().map(|(s, m, b)| (&**s, &**m, &**b)));
        let text: usize = events.iter().map(|e| e.2.len()).sum();
        assert!(chunk.len() * 4 < text, "{} bytes for {text}", chunk.len());
        let back = unpack(&chunk).unwrap();
        assert_eq!(back.len(), 100);
        for (got, (s, m, b)) in back.iter().zip(&events) {
            assert_eq!((&got.source, &got.message_id, &got.body), (s, m, b));
        }
        assert_eq!(unpack(&pack(std::iter::empty())).unwrap(), []);
    }

    #[test]
    fn a_damaged_chunk_is_refused_with_what_is_wrong() {
        let chunk = pack([("app", "m-1", "{}")].into_iter());
        assert!(unpack(&[]).unwrap_err().0.contains("empty"));
        assert!(unpack(&[9, 0]).unwrap_err().0.contains("format 9"));
        assert!(unpack(&chunk[..3]).unwrap_err().0.contains("cut short"));
        let mut wrong_size = chunk;
        wrong_size[1] = wrong_size[1].wrapping_add(1);
        assert!(unpack(&wrong_size).is_err());
    }
}
