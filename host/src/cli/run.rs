//! `switchyard run`: one action on one event (or a batch), end to end as the server will do it:
//! settings checked, event mapped, payload validated, plugin run in the sandbox. Prints one JSON
//! object with the payload(s), every request made, the result(s) and the plugin's logs.

use super::input::{InputError, read_json, read_object, read_objects};
use super::{Exit, load, runtime};
use crate::model::Limits;
use crate::payload;
use crate::redact::{self, Secrets};
use crate::runtime::{
    AllowList, CannedResponse, Failure, Invocation, InvokeOptions, Mode, NetPolicy, Responder,
};
use clap::Args;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::sync::Arc;

/// Arguments of `switchyard run`.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("input").required(true).args(["event", "batch"]))]
pub struct RunArgs {
    /// A bundled plugin id or the path of a .wasm file.
    plugin: String,
    /// The action to run.
    #[arg(long)]
    action: String,
    /// A JSON file holding one event.
    #[arg(long, value_name = "FILE")]
    event: Option<PathBuf>,
    /// A JSON file holding an array of events, run through perform-batch.
    #[arg(long, value_name = "FILE")]
    batch: Option<PathBuf>,
    /// A JSON file holding the destination's settings.
    #[arg(long, value_name = "FILE")]
    settings: Option<PathBuf>,
    /// A JSON file mapping field keys to mapping directives; overrides the defaults field by
    /// field.
    #[arg(long, value_name = "FILE")]
    mapping: Option<PathBuf>,
    /// Use only --mapping, not the action's default mappings.
    #[arg(long, requires = "mapping")]
    no_defaults: bool,
    /// Capture outgoing requests instead of sending them.
    #[arg(long)]
    dry_run: bool,
    /// With --dry-run: a JSON file of responses ({status, headers, body}, or an array of them)
    /// answering the requests in order; then 200 {}.
    #[arg(long, value_name = "FILE", requires = "dry_run")]
    respond: Option<PathBuf>,
    /// Allow another outbound host (e.g. https://hooks.example.com); may be repeated.
    #[arg(long = "allow-host", value_name = "PATTERN")]
    allow_hosts: Vec<String>,
    /// Allow loopback, private and link-local addresses.
    #[arg(long)]
    allow_private: bool,
    /// A JSON file of sandbox limits overriding the defaults (memory_mib, cpu_ms, ...).
    #[arg(long, value_name = "FILE")]
    limits: Option<PathBuf>,
    /// Show secret setting values in the output instead of masking them.
    #[arg(long)]
    show_secrets: bool,
}

pub(super) async fn run(args: RunArgs) -> anyhow::Result<Exit> {
    let settings = match &args.settings {
        Some(path) => read_object(path, "settings file")?,
        None => json!({}),
    };
    let overrides = match &args.mapping {
        Some(path) => Some(read_object(path, "mapping file")?),
        None => None,
    };
    let limits: Limits = match &args.limits {
        Some(path) => read_json(path, "limits file")?,
        None => Limits::default(),
    };
    limits
        .validate()
        .map_err(|e| InputError(format!("limits: {e}")))?;
    let responses: Vec<CannedResponse> = match &args.respond {
        Some(path) => match read_json::<Value>(path, "respond file")? {
            Value::Array(items) => items
                .into_iter()
                .map(serde_json::from_value)
                .collect::<Result<_, _>>(),
            one => serde_json::from_value(one).map(|r| vec![r]),
        }
        .map_err(|e| InputError(format!("respond file {}: {e}", path.display())))?,
        None => Vec::new(),
    };
    let events = match (&args.event, &args.batch) {
        (Some(path), _) => vec![read_object(path, "event file")?],
        (None, Some(path)) => read_objects(path, "batch file")?,
        (None, None) => unreachable!("clap requires --event or --batch"),
    };

    let runtime = runtime()?;
    let plugin = load(&runtime, &args.plugin).await?;
    let manifest = plugin.manifest();
    let Some(action) = manifest.action(&args.action) else {
        return Err(InputError(format!(
            "plugin {} has no action {:?}; its actions are: {}",
            manifest.id,
            args.action,
            manifest.action_ids().join(", ")
        ))
        .into());
    };
    let mapping = payload::action_mapping(
        action,
        overrides.as_ref().and_then(Value::as_object),
        !args.no_defaults,
    )
    .map_err(|e| {
        let file = args
            .mapping
            .as_ref()
            .map_or(String::new(), |p| p.display().to_string());
        InputError(format!("mapping file {file}: {e}"))
    })?;

    let mut allowed = AllowList::parse(&manifest.allowed_hosts)
        .map_err(|e| InputError(format!("plugin manifest: {e}")))?;
    allowed.extend(
        AllowList::parse(&args.allow_hosts)
            .map_err(|e| InputError(format!("--allow-host: {e}")))?,
    );
    let options = InvokeOptions {
        limits,
        net: Arc::new(NetPolicy {
            allowed,
            allow_private: args.allow_private,
            mode: if args.dry_run {
                Mode::DryRun(Responder::new(responses))
            } else {
                Mode::Send
            },
        }),
        ..InvokeOptions::default()
    };

    let secrets = if args.show_secrets {
        Secrets::default()
    } else {
        let keys = manifest
            .settings
            .iter()
            .filter(|s| s.secret)
            .map(|s| s.key.as_str());
        Secrets::from_settings(&settings, keys)
    };
    let checked_settings = crate::settings::check(manifest, &settings);
    let single = args.event.is_some();

    // Map and validate every event; invalid ones never reach the plugin.
    let built: Vec<Result<String, Failure>> = events
        .iter()
        .map(|e| {
            mapping
                .build(action, e, single)
                .map(|p| p.to_json())
                .map_err(Failure::InvalidPayload)
        })
        .collect();
    let mut results: Vec<Result<(), Failure>> = Vec::new();
    let mut invocation = Invocation::default();
    match checked_settings {
        Err(e) => results = vec![Err(Failure::InvalidSettings(e)); events.len()],
        Ok(settings) => {
            let settings = settings.to_string();
            let valid: Vec<String> = built
                .iter()
                .filter_map(|b| b.as_ref().ok().cloned())
                .collect();
            if !valid.is_empty() {
                invocation = if single {
                    plugin
                        .perform(&action.id, &valid[0], &settings, &options)
                        .await
                } else {
                    plugin
                        .perform_batch(&action.id, &valid, &settings, &options)
                        .await
                };
            }
            let mut answers = invocation.results.clone().into_iter();
            for b in &built {
                results.push(match b {
                    Ok(_) => answers.next().unwrap_or(Ok(())),
                    Err(e) => Err(e.clone()),
                });
            }
        }
    }

    let payloads: Vec<Value> = built
        .iter()
        .map(|b| match b {
            Ok(text) => serde_json::from_str(text).unwrap_or(Value::Null),
            Err(_) => Value::Null,
        })
        .collect();
    let requests: Vec<Value> = invocation
        .exchanges
        .iter()
        .map(|x| redact::exchange(x, &secrets, !args.show_secrets))
        .collect();
    let logs: Vec<Value> = invocation
        .logs
        .iter()
        .map(|l| json!({"level": l.level, "message": secrets.mask(&l.message)}))
        .collect();
    let result_json = |r: &Result<(), Failure>| match r {
        Ok(()) => json!("ok"),
        Err(f) => {
            let mut error = serde_json::to_value(f).unwrap_or(Value::Null);
            secrets.mask_json(&mut error);
            json!({"error": error})
        }
    };
    let mut out = if single {
        let mut payload = payloads[0].clone();
        secrets.mask_json(&mut payload);
        json!({"payload": payload, "requests": requests, "result": result_json(&results[0])})
    } else {
        let mut payloads = Value::Array(payloads);
        secrets.mask_json(&mut payloads);
        json!({
            "payloads": payloads,
            "requests": requests,
            "results": results.iter().map(result_json).collect::<Vec<_>>(),
        })
    };
    out["logs"] = Value::Array(logs);
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(if results.iter().all(Result::is_ok) {
        Exit::Ok
    } else {
        Exit::ActionFailed
    })
}
