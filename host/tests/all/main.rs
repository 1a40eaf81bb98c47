//! Integration tests of the `switchyard` package: one binary, one module per area.

mod admin;
mod catalogue;
mod cli;
mod console;
mod delivery;
mod hooks;
mod layout;
mod manage;
mod mock;
mod reload;
mod replay;
mod serve;
mod tools;
