//! End-to-end tests with real components built from `tests/fixtures/`, one binary.

#[path = "../../host/tests/all/mock.rs"]
mod mock;
mod sandbox;
mod versions;
