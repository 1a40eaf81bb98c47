//! Write Switchyard destination plugins in Rust.
//!
//! A plugin declares its settings and actions (each with typed fields and default mappings, as
//! in Segment's action destinations), implements each action as a plain function over typed
//! serde structs, and is exported as a WebAssembly component with [`export!`]. The host maps and
//! validates every event before your function runs, so the payload you get already has the
//! fields you declared. HTTP goes through [`Context`]; errors are an [`Error`] that says what
//! happened (the host decides about retries).
//!
//! Build with `cargo build --release --target wasm32-wasip2`; the `.wasm` file in
//! `target/wasm32-wasip2/release/` is the plugin. Unit-test the logic natively with
//! [`Context::fake`] and a [`FakeHttp`].
//!
//! # A complete plugin
//!
//! `Cargo.toml`:
//!
//! ```toml
//! [package]
//! name = "switchyard-plugin-hello"
//! edition = "2024"
//!
//! [lib]
//! crate-type = ["cdylib", "rlib"]
//!
//! [dependencies]
//! switchyard-plugin-sdk = { path = "../../plugin-sdk" }
//! serde = { version = "1", features = ["derive"] }
//! serde_json = "1"
//! ```
//!
//! `src/lib.rs`:
//!
//! ```no_run
//! use serde::Deserialize;
//! use serde_json::json;
//! use switchyard_plugin_sdk::{Action, Context, Error, Field, Plugin, Setting};
//!
//! #[derive(Deserialize)]
//! struct Settings {
//!     api_key: String,
//! }
//!
//! #[derive(Deserialize)]
//! struct Greeting {
//!     user_id: String,
//!     message: String,
//! }
//!
//! pub fn plugin() -> Plugin {
//!     Plugin::new("hello", "Hello", env!("CARGO_PKG_VERSION"))
//!         .description("Sends a greeting to the Hello API.")
//!         .setting(Setting::string("api_key", "API key").required().secret())
//!         .allowed_host("https://api.hello.example")
//!         .action(
//!             Action::new("greet", "Greet")
//!                 .default_trigger(r#"type = "identify""#)
//!                 .field(Field::string("user_id", "User ID").required()
//!                     .default(json!({"@path": "$.userId"})))
//!                 .field(Field::text("message", "Message").required()
//!                     .default(json!({"@template": "Hello {{traits.name}}!"})))
//!                 .perform(greet),
//!         )
//! }
//!
//! fn greet(ctx: &mut Context, greeting: Greeting, settings: Settings) -> Result<(), Error> {
//!     if greeting.message.len() > 1000 {
//!         return Err(Error::invalid_payload("message is longer than 1000 characters"));
//!     }
//!     ctx.post("https://api.hello.example/v1/greetings")
//!         .bearer(&settings.api_key)
//!         .json(&json!({"user": greeting.user_id, "text": greeting.message}))
//!         .send()?
//!         .error_for_status()?;
//!     Ok(())
//! }
//!
//! switchyard_plugin_sdk::export!(plugin);
//!
//! #[cfg(test)]
//! mod tests {
//!     use super::*;
//!     use switchyard_plugin_sdk::{FakeHttp, Response};
//!
//!     #[test]
//!     fn posts_the_greeting() {
//!         let http = FakeHttp::new();
//!         http.respond(Response::new(201, "{}"));
//!         let mut ctx = Context::fake(&http);
//!         plugin()
//!             .perform(&mut ctx, "greet",
//!                 &json!({"user_id": "u1", "message": "Hello Ada!"}),
//!                 &json!({"api_key": "k"}))
//!             .unwrap();
//!         let sent = &http.requests()[0];
//!         assert_eq!(sent.url, "https://api.hello.example/v1/greetings");
//!         assert_eq!(sent.header("authorization"), Some("Bearer k"));
//!         assert_eq!(sent.json(), json!({"user": "u1", "text": "Hello Ada!"}));
//!     }
//! }
//! ```
//!
//! Try it without a network: `switchyard run target/wasm32-wasip2/release/switchyard_plugin_hello.wasm
//! --action greet --event event.json --settings settings.json --dry-run` prints the mapped payload
//! and the exact request the plugin would send.
//!
//! # Hooks: work done once, when a subscription is saved
//!
//! An action whose events all go to something the user chooses or creates first (a list, a
//! catalog) declares a [`Hook`]. The host runs it when a subscription is saved and passes its
//! outputs to every call, inside the payload, as a [`HookRecord`] under the hook's name:
//!
//! ```
//! use serde::Deserialize;
//! use serde_json::{Map, Value, json};
//! use switchyard_plugin_sdk::{Action, Context, Error, Field, Hook, HookRecord, Plugin};
//!
//! #[derive(Deserialize)]
//! struct Inputs {
//!     list_name: String,
//! }
//!
//! #[derive(Deserialize)]
//! struct Member {
//!     email: String,
//!     #[serde(rename = "onMappingSave")]
//!     list: HookRecord,
//! }
//!
//! fn create_list(ctx: &mut Context, i: Inputs, _: Value) -> Result<Map<String, Value>, Error> {
//!     let made: Value = ctx
//!         .post("https://api.lists.example/lists")
//!         .json(&json!({"name": i.list_name}))
//!         .send()?
//!         .error_for_status()?
//!         .json()?;
//!     let mut outputs = Map::new();
//!     outputs.insert("list_id".into(), made["id"].clone());
//!     Ok(outputs)
//! }
//!
//! fn add(ctx: &mut Context, m: Member, _: Value) -> Result<(), Error> {
//!     let list = m.list.outputs["list_id"].as_str().unwrap_or_default();
//!     ctx.post(&format!("https://api.lists.example/lists/{list}/members"))
//!         .json(&json!({"email": m.email}))
//!         .send()?
//!         .error_for_status()?;
//!     Ok(())
//! }
//!
//! pub fn plugin() -> Plugin {
//!     Plugin::new("lists", "Lists", "1.0.0").action(
//!         Action::new("addMember", "Add Member")
//!             .field(Field::string("email", "Email").required())
//!             .hook(
//!                 Hook::on_mapping_save("Create a list")
//!                     .input(Field::string("list_name", "List name").required())
//!                     .output(Field::string("list_id", "List id"))
//!                     .run(create_list),
//!             )
//!             .perform(add),
//!     )
//! }
//!
//! let http = switchyard_plugin_sdk::FakeHttp::new();
//! http.respond(switchyard_plugin_sdk::Response::new(201, r#"{"id": "l-7"}"#));
//! let outputs = plugin()
//!     .run_hook(&mut Context::fake(&http), "addMember", "onMappingSave",
//!         &json!({"list_name": "Trip Bookers"}), &json!({}))
//!     .unwrap();
//! assert_eq!(Value::Object(outputs.clone()), json!({"list_id": "l-7"}));
//! plugin()
//!     .perform(&mut Context::fake(&http), "addMember",
//!         &json!({"email": "ann@example.com",
//!             "onMappingSave": {"inputs": {"list_name": "Trip Bookers"}, "outputs": outputs}}),
//!         &json!({}))
//!     .unwrap();
//! assert_eq!(http.requests()[1].url, "https://api.lists.example/lists/l-7/members");
//! ```
//!
//! # Cost per call
//!
//! Every call runs in a fresh instance, so `plugin()` runs once per call. For a call it runs in
//! a lean mode where the builders keep only action ids, functions and batch sizes, and
//! [`mapping::path`] skips building its value. Keep `plugin()` to the builders: work done
//! around them (reading tables, `format!`) is paid on every event. Give a `json!` default or
//! preset mapping as a closure ([`Field::default_with`], [`Preset::mapping_with`]) so that it
//! is built only for the manifest.

#![deny(missing_docs)]
#![doc(test(attr(deny(warnings), allow(dead_code))))]

mod context;
pub mod currency;
pub mod date;
mod error;
#[doc(hidden)]
pub mod guest;
pub mod hash;
mod http;
pub mod kv;
pub mod mapping;
mod plugin;
#[cfg(target_arch = "wasm32")]
mod wasi_http;

pub use context::{Context, Level};
pub use error::Error;
pub use http::{FakeHttp, Request, RequestBuilder, Response, Transport};
pub use kv::FakeKv;
pub use plugin::{
    Action, BatchResults, Field, FieldType, Hook, HookOutputs, HookRecord, ON_MAPPING_SAVE, Plugin,
    Preset, RETL_ON_MAPPING_SAVE, SYNC_MODE, Setting, sync_mode,
};

/// The `user-agent` every request carries unless the plugin sets its own.
pub const USER_AGENT: &str = concat!("Switchyard/", env!("CARGO_PKG_VERSION"));

/// The WIT package version this SDK builds plugins for.
pub const WIT_VERSION: &str = "0.3.0";

#[doc(hidden)]
pub mod __private {
    pub use crate::guest::bindings;
    pub use crate::guest::{
        ActionError, Guest, HookGuest, HookSpec, Manifest, describe, list_hooks, perform,
        perform_batch, run_hook,
    };
}

/// Exports a plugin as the component's `switchyard:destination/plugin` implementation.
///
/// Takes the path of a function `fn() -> Plugin`. Use it once per plugin crate.
#[macro_export]
macro_rules! export {
    ($plugin:path) => {
        #[doc(hidden)]
        pub struct __SwitchyardPlugin;

        impl $crate::__private::Guest for __SwitchyardPlugin {
            fn describe() -> $crate::__private::Manifest {
                $crate::__private::describe(&$plugin())
            }

            fn perform(
                action: ::std::string::String,
                payload: ::std::string::String,
                settings: ::std::string::String,
            ) -> ::std::result::Result<(), $crate::__private::ActionError> {
                $crate::__private::perform($plugin, &action, &payload, &settings)
            }

            fn perform_batch(
                action: ::std::string::String,
                payloads: ::std::vec::Vec<::std::string::String>,
                settings: ::std::string::String,
            ) -> ::std::vec::Vec<::std::result::Result<(), $crate::__private::ActionError>> {
                $crate::__private::perform_batch($plugin, &action, &payloads, &settings)
            }
        }

        impl $crate::__private::HookGuest for __SwitchyardPlugin {
            fn list_hooks() -> ::std::vec::Vec<$crate::__private::HookSpec> {
                $crate::__private::list_hooks(&$plugin())
            }

            fn run_hook(
                action: ::std::string::String,
                name: ::std::string::String,
                inputs: ::std::string::String,
                settings: ::std::string::String,
            ) -> ::std::result::Result<::std::string::String, $crate::__private::ActionError> {
                $crate::__private::run_hook($plugin, &action, &name, &inputs, &settings)
            }
        }

        // Only components carry the exports: their names are not valid native symbols.
        #[cfg(target_arch = "wasm32")]
        #[allow(unsafe_code)]
        const _: () = {
            $crate::__private::bindings::__export_destination!(
                __SwitchyardPlugin with_types_in $crate::__private::bindings
            );
        };
    };
}
