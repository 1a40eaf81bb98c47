//! Amplitude's actions: the three event actions (`event.rs`: `logEvent`, `logEventV2`,
//! `logPurchase`), and the form-encoded calls (`identify.rs`: `identifyUser`,
//! `groupIdentifyUser`, `mapUser`). `ua.rs` reads the user agent for both.

pub(crate) mod event;
pub(crate) mod identify;
pub(crate) mod ua;
