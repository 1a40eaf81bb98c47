//! Slack's one action.

pub(crate) mod post_to_channel;
