//! Integration tests of the `switchyard` package: one binary, one module per area.

mod cli;
mod delivery;
mod mock;
mod serve;
mod tools;
