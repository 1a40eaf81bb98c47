//! The `switchyard` binary: parses arguments, sets up logging, runs the command.

use clap::Parser;
use std::process::ExitCode;
use switchyard::cli::{Cli, Exit, InputError, LogFormat};

// Parsing and routing JSON events allocates many small objects; mimalloc does that markedly
// faster than the system allocator (see BENCHMARKS.md, ingest).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The server reports each delivery; one-off commands only warnings.
    let level = match cli.command {
        switchyard::cli::Command::Serve { .. } => "info",
        _ => "warn",
    };
    let format =
        cli.log_format
            .unwrap_or_else(|| match std::env::var("SWITCHYARD_LOG_FORMAT").as_deref() {
                Ok("json") => LogFormat::Json,
                _ => LogFormat::Text,
            });
    let logs = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SWITCHYARD_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level)),
        )
        .with_writer(std::io::stderr);
    match format {
        // One JSON object per line, fields flattened beside the message, for log shippers.
        LogFormat::Json => logs.json().flatten_event(true).init(),
        LogFormat::Text => logs
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init(),
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(switchyard::cli::main(cli)) {
        Ok(Exit::Ok) => ExitCode::SUCCESS,
        Ok(Exit::ActionFailed) => ExitCode::from(1),
        Err(e) if e.is::<InputError>() => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
