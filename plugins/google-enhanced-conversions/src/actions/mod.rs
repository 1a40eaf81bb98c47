//! Google Ads' actions: the uploads (`conversions.rs`: click and call conversions and
//! conversion adjustments, single and V2) and Customer Match (`user_list.rs`). They share
//! authorised requests with a cached OAuth token (`auth.rs`) and the normalisation and hashing
//! of personal data Google's matching wants (`identity.rs`).

pub(crate) mod auth;
pub(crate) mod conversions;
pub(crate) mod identity;
pub(crate) mod user_list;
