//! Braze's actions, by request family: `track.rs` (the `/users/track` actions: events,
//! purchases, profiles), `ecommerce.rs` (Braze's recommended ecommerce events, also sent to
//! `/users/track`), `alias.rs` (`/users/alias/new` and `/users/identify`), `campaign.rs`
//! (triggered campaigns and canvases), `catalog.rs` (catalog items, with the hook that selects
//! or creates the catalog), `v2.rs` (the V2 twins and their sync modes), and
//! `convert.rs` (the value conversions they share).

pub(crate) mod alias;
pub(crate) mod campaign;
pub(crate) mod catalog;
pub(crate) mod convert;
pub(crate) mod ecommerce;
pub(crate) mod track;
pub(crate) mod v2;
