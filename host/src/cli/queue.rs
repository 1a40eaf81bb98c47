//! `switchyard dlq list|replay|purge` and `switchyard deliveries`: the dead letters and the
//! delivery log, read from the queue file while the server runs or not (SQLite's WAL lets both
//! use it at once). A replayed delivery is picked up by a running server within seconds.

use super::InputError;
use crate::queue::sqlite::{self, RecordsFile};
use crate::queue::{Filter, Millis, Records as _, shown_time};
use clap::{Args, Subcommand};
use std::path::PathBuf;

/// Which queue, and which entries.
#[derive(Debug, Args)]
pub struct Selection {
    /// The configuration file whose data folder to use.
    #[arg(long, value_name = "FILE", conflicts_with = "data_dir")]
    config: Option<PathBuf>,
    /// The data folder (default ./switchyard-data, as `switchyard serve` without a config).
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Only this destination.
    #[arg(long)]
    destination: Option<String>,
    /// Only this action.
    #[arg(long)]
    action: Option<String>,
    /// Only entries at or after this time: RFC 3339 (2026-11-28T10:00:00Z) or an age (30m, 2h, 7d).
    #[arg(long, value_name = "TIME")]
    since: Option<String>,
    /// Only entries before this time (same forms as --since).
    #[arg(long, value_name = "TIME")]
    until: Option<String>,
}

/// `switchyard dlq …`
#[derive(Debug, Subcommand)]
pub enum DlqCommand {
    /// List dead letters, oldest first.
    List {
        #[command(flatten)]
        select: Selection,
        /// Only this reason (e.g. permanent, auth, invalid-payload, retry-window, trap).
        #[arg(long)]
        reason: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// One JSON object per line instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Put dead letters back in the queue, due now, with a fresh retry window.
    Replay {
        #[command(flatten)]
        select: Selection,
        #[arg(long)]
        reason: Option<String>,
    },
    /// Delete dead letters for good.
    Purge {
        #[command(flatten)]
        select: Selection,
        #[arg(long)]
        reason: Option<String>,
        /// Required when no filter is given: purge every dead letter.
        #[arg(long)]
        all: bool,
    },
}

/// `switchyard deliveries`
#[derive(Debug, Args)]
pub struct DeliveriesArgs {
    #[command(flatten)]
    select: Selection,
    /// Only this outcome: delivered, retry or dead-letter.
    #[arg(long)]
    outcome: Option<String>,
    /// The most recent this many.
    #[arg(long, default_value_t = 50)]
    limit: usize,
    /// One JSON object per line instead of a table.
    #[arg(long)]
    json: bool,
}

impl Selection {
    fn open(&self) -> anyhow::Result<RecordsFile> {
        let data_dir = match (&self.config, &self.data_dir) {
            (Some(file), _) => {
                crate::config::Config::load(file)
                    .map_err(|e| InputError(e.0))?
                    .data_dir
            }
            (None, Some(dir)) => dir.clone(),
            (None, None) => PathBuf::from(crate::config::DEFAULT_DATA_DIR),
        };
        let path = sqlite::path_in(&data_dir);
        if !path.is_file() {
            return Err(InputError(format!(
                "no queue in {}: {} does not exist (has switchyard serve run with this data \
                 folder?)",
                data_dir.display(),
                path.display()
            ))
            .into());
        }
        Ok(RecordsFile::open(&path).map_err(|e| InputError(e.to_string()))?)
    }

    fn filter(&self, reason: Option<String>, limit: Option<usize>) -> anyhow::Result<Filter> {
        let now = crate::queue::now();
        Ok(Filter {
            destination: self.destination.clone(),
            action: self.action.clone(),
            reason,
            since: self
                .since
                .as_deref()
                .map(|t| parse_time(t, now, "--since"))
                .transpose()?,
            until: self
                .until
                .as_deref()
                .map(|t| parse_time(t, now, "--until"))
                .transpose()?,
            limit,
            message_ids: Vec::new(),
            ids: Vec::new(),
        })
    }

    fn is_empty(&self) -> bool {
        self.destination.is_none()
            && self.action.is_none()
            && self.since.is_none()
            && self.until.is_none()
    }
}

/// [`Filter::time`], with the flag named in the error.
fn parse_time(text: &str, now: Millis, flag: &str) -> Result<Millis, InputError> {
    Filter::time(text, now).map_err(|e| InputError(format!("{flag} {e}")))
}

pub(super) async fn dlq(command: DlqCommand) -> anyhow::Result<()> {
    match command {
        DlqCommand::List {
            select,
            reason,
            limit,
            json,
        } => {
            let records = select.open()?;
            let letters = records
                .dead_letters(select.filter(reason, Some(limit))?)
                .await?;
            if json {
                for l in &letters {
                    println!("{}", serde_json::to_string(l)?);
                }
                return Ok(());
            }
            if letters.is_empty() {
                println!("No dead letters.");
            }
            for l in &letters {
                println!(
                    "#{} {} {} / {} / {} message {} after {} attempt(s): {}{}",
                    l.id,
                    shown_time(l.dead_at),
                    l.destination,
                    l.subscription,
                    l.action,
                    l.message_id,
                    l.attempts,
                    l.reason,
                    l.error
                        .as_deref()
                        .map(|e| format!(": {e}"))
                        .unwrap_or_default()
                );
                if let Some(r) = &l.request {
                    println!("    last request: {r}");
                }
            }
            Ok(())
        }
        DlqCommand::Replay { select, reason } => {
            let records = select.open()?;
            let (replayed, skipped) = records
                .replay(select.filter(reason, None)?, crate::queue::now())
                .await?;
            println!("Replayed {replayed} dead letter(s); they are due now.");
            if skipped > 0 {
                println!(
                    "Left {skipped} whose payload could not be built (reason invalid-payload): \
                     fix the mapping, then send the events again; `dlq list --json` shows them."
                );
            }
            Ok(())
        }
        DlqCommand::Purge {
            select,
            reason,
            all,
        } => {
            if select.is_empty() && reason.is_none() && !all {
                return Err(InputError(
                    "purge deletes dead letters for good: give a filter (--destination, \
                     --action, --reason, --since, --until) or --all"
                        .into(),
                )
                .into());
            }
            let records = select.open()?;
            let n = records.purge(select.filter(reason, None)?).await?;
            println!("Purged {n} dead letter(s).");
            Ok(())
        }
    }
}

pub(super) async fn deliveries(args: DeliveriesArgs) -> anyhow::Result<()> {
    let records = args.select.open()?;
    let log = records
        .attempts(args.select.filter(args.outcome, Some(args.limit))?)
        .await?;
    if args.json {
        for a in &log {
            println!("{}", serde_json::to_string(a)?);
        }
        return Ok(());
    }
    if log.is_empty() {
        println!("No delivery attempts recorded.");
    }
    for a in &log {
        println!(
            "{} {} / {} / {} message {}{}: {}{} in {} ms{}",
            shown_time(a.at),
            a.destination,
            a.subscription,
            a.action,
            a.message_id,
            if a.replayed { " (replayed)" } else { "" },
            a.outcome,
            a.status.map(|s| format!(" (HTTP {s})")).unwrap_or_default(),
            a.latency_ms,
            a.error
                .as_deref()
                .map(|e| format!(": {e}"))
                .unwrap_or_default()
        );
    }
    Ok(())
}
