//! The `switchyard` command line. Arguments are parsed in two stages, as ripgrep does: clap
//! reads them, then each command checks and loads what they name (files, plugins), turning every
//! problem into an [`InputError`] (exit status 2) that names the file and what is wrong.

mod input;
mod queue;
mod remote;
mod run;
mod tools;

pub use input::InputError;

use crate::runtime::{Runtime, RuntimeConfig};
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::sync::Arc;

/// Self-hosted runtime for customer-data destination actions.
#[derive(Debug, Parser)]
#[command(name = "switchyard", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Log lines as text (default) or as JSON objects, one per line (also
    /// SWITCHYARD_LOG_FORMAT=json).
    #[arg(long, global = true, value_enum)]
    pub log_format: Option<LogFormat>,
}

/// How log lines are written (to stderr).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List, inspect and manage plugins.
    #[command(subcommand)]
    Plugin(PluginCommand),
    /// Receive events over HTTP (Segment-compatible) and deliver them to destinations.
    Serve {
        /// The configuration file (TOML); without one, the built-in default.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// Run one action of a plugin on an event (or a batch) and show the requests it makes.
    Run(run::RunArgs),
    /// Show whether a trigger matches events: prints true or false per event.
    Trigger(tools::TriggerArgs),
    /// Apply a mapping to events and print the result per event.
    Map(tools::MapArgs),
    /// List, replay or purge dead letters (deliveries given up on).
    #[command(subcommand)]
    Dlq(queue::DlqCommand),
    /// Show the delivery log: every attempt, newest last.
    Deliveries(queue::DeliveriesArgs),
    /// Run events from the event log again through a destination's subscriptions as they
    /// are now (asks the running server): a backfill after adding a subscription, or a resend.
    Replay(remote::ReplayArgs),
}

/// `switchyard plugin …`
#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// List the bundled plugins.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Print a plugin's manifest as JSON.
    Inspect {
        /// A bundled plugin id or the path of a .wasm file.
        plugin: String,
    },
    /// List the versions a running server keeps of a plugin (* marks the one in force).
    Versions {
        /// The plugin id.
        id: String,
        #[command(flatten)]
        server: remote::Server,
    },
    /// Switch a running server's plugin back to a kept version, in one step.
    Rollback {
        /// The plugin id.
        id: String,
        /// The version's content hash (see `plugin versions`); default: the newest kept
        /// version other than the one in force.
        #[arg(long, value_name = "HASH")]
        to: Option<String>,
        #[command(flatten)]
        server: remote::Server,
    },
}

/// What a command ends with.
pub enum Exit {
    /// Everything went well (status 0).
    Ok,
    /// The action reported an error (status 1).
    ActionFailed,
}

/// Runs a parsed command line, printing its output to stdout.
pub async fn main(cli: Cli) -> anyhow::Result<Exit> {
    match cli.command {
        Command::Plugin(PluginCommand::List { json }) => {
            let runtime = runtime()?;
            let mut rows = Vec::new();
            for id in crate::bundled::ids() {
                let plugin = load(&runtime, id).await?;
                rows.push(plugin.manifest().clone());
            }
            if json {
                let list: Vec<_> = rows
                    .iter()
                    .map(|m| {
                        serde_json::json!({
                            "id": m.id, "name": m.name, "version": m.version,
                            "description": m.description,
                            "actions": m.actions.iter().map(|a| &a.id).collect::<Vec<_>>(),
                        })
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                println!("{:<12} {:<10} {:<10} ACTIONS", "ID", "NAME", "VERSION");
                for m in rows {
                    let actions: Vec<&str> = m.action_ids();
                    println!(
                        "{:<12} {:<10} {:<10} {}",
                        m.id,
                        m.name,
                        m.version,
                        actions.join(", ")
                    );
                }
            }
            Ok(Exit::Ok)
        }
        Command::Plugin(PluginCommand::Inspect { plugin }) => {
            let runtime = runtime()?;
            let plugin = load(&runtime, &plugin).await?;
            let mut manifest = serde_json::to_value(plugin.manifest())?;
            manifest["sha256"] = plugin.hash().into();
            println!("{}", serde_json::to_string_pretty(&manifest)?);
            Ok(Exit::Ok)
        }
        Command::Plugin(PluginCommand::Versions { id, server }) => {
            remote::versions(&id, &server).await.map(|()| Exit::Ok)
        }
        Command::Plugin(PluginCommand::Rollback { id, to, server }) => {
            remote::rollback(&id, to.as_deref(), &server)
                .await
                .map(|()| Exit::Ok)
        }
        Command::Serve { config: path } => {
            let config = match &path {
                Some(path) => crate::config::Config::load(path),
                None => crate::config::Config::builtin(),
            }
            .map_err(|e| InputError(e.0))?;
            crate::server::serve(config, path).await?;
            Ok(Exit::Ok)
        }
        Command::Run(args) => run::run(args).await,
        Command::Trigger(args) => tools::trigger(args),
        Command::Map(args) => tools::map(args),
        Command::Dlq(command) => queue::dlq(command).await.map(|()| Exit::Ok),
        Command::Deliveries(args) => queue::deliveries(args).await.map(|()| Exit::Ok),
        Command::Replay(args) => remote::replay(&args).await.map(|()| Exit::Ok),
    }
}

/// The runtime the CLI uses: a small instance pool and the on-disk compile cache.
pub(crate) fn runtime() -> anyhow::Result<Arc<Runtime>> {
    Runtime::new(&RuntimeConfig {
        max_instances: 16,
        cache_dir: cache_dir(),
        ..RuntimeConfig::default()
    })
}

/// `$SWITCHYARD_CACHE_DIR`, else `$XDG_CACHE_HOME/switchyard`, else `~/.cache/switchyard`;
/// `SWITCHYARD_CACHE_DIR=off` turns the cache off.
fn cache_dir() -> Option<PathBuf> {
    match std::env::var_os("SWITCHYARD_CACHE_DIR") {
        Some(v) if v == "off" => return None,
        Some(v) => return Some(PathBuf::from(v)),
        None => {}
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("switchyard"))
}

/// Loads a bundled plugin by id, or a .wasm file by path.
pub(crate) async fn load(
    runtime: &Runtime,
    name: &str,
) -> anyhow::Result<Arc<crate::runtime::Plugin>> {
    if let Some(bytes) = crate::bundled::find(name) {
        return Ok(runtime
            .load(bytes, &format!("bundled plugin {name}"))
            .await?);
    }
    let path = PathBuf::from(name);
    if path.is_file() {
        let bytes = std::fs::read(&path)
            .map_err(|e| InputError(format!("cannot read plugin {}: {e}", path.display())))?;
        return runtime
            .load(&bytes, &path.display().to_string())
            .await
            .map_err(|e| InputError(e.to_string()).into());
    }
    Err(InputError(format!(
        "unknown plugin {name:?}: it is not a bundled plugin ({}) and no such file exists",
        crate::bundled::ids().join(", ")
    ))
    .into())
}
