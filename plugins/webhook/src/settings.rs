//! The webhook destination has no settings: the endpoint, method and headers are fields of each
//! `send` mapping, as in Segment, and the operator lists the endpoints the destination may reach
//! in its `allowed_hosts`.
