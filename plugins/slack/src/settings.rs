//! Slack's destination has no settings: the incoming-webhook URL, which is the credential, is a
//! field of each `postToChannel` mapping, as in Segment.
