//! The webhook's one action.

pub(crate) mod send;
