//! Plugin log output of one invocation: the `log` interface, stdout and stderr, kept in one
//! bounded buffer.
//!
//! Lines longer than 4 KiB are cut. Once the invocation's byte budget is spent the next write
//! traps the plugin and records a `logs` limit breach: a plugin that floods its logs is stopped,
//! not allowed to fill the host's memory.

use super::failure::{Failure, Limit};
use super::limits::Breach;
use serde::Serialize;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use tokio::io::AsyncWrite;

/// The longest line kept; the rest of a longer line is dropped.
pub(crate) const MAX_LINE_BYTES: usize = 4 << 10;

/// One line of plugin output.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LogLine {
    /// `trace` … `error`, or `stdout` / `stderr` for raw output.
    pub level: &'static str,
    pub message: String,
}

#[derive(Debug)]
struct Buffer {
    lines: Vec<LogLine>,
    bytes: u64,
    limit: u64,
    breach: Breach,
    partial: [String; 2],
}

/// The shared log buffer of one invocation.
#[derive(Debug, Clone)]
pub(crate) struct Logs(Arc<Mutex<Buffer>>);

impl Logs {
    pub(crate) fn new(limit: u64, breach: Breach) -> Logs {
        Logs(Arc::new(Mutex::new(Buffer {
            lines: Vec::new(),
            bytes: 0,
            limit,
            breach,
            partial: [String::new(), String::new()],
        })))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Buffer> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds a line; `false` when the budget is spent (the breach is then recorded).
    pub(crate) fn push(&self, level: &'static str, message: &str) -> bool {
        self.lock().push(level, message)
    }

    /// Takes every line, flushing unterminated stdout/stderr output.
    pub(crate) fn take(&self) -> Vec<LogLine> {
        let mut buf = self.lock();
        for (i, level) in ["stdout", "stderr"].into_iter().enumerate() {
            let rest = std::mem::take(&mut buf.partial[i]);
            if !rest.is_empty() && buf.fits(&rest) {
                buf.lines.push(LogLine {
                    level,
                    message: rest,
                });
            }
        }
        std::mem::take(&mut buf.lines)
    }

    /// A stream for the guest's stdout (`0`) or stderr (`1`).
    pub(crate) fn stream(&self, which: usize) -> OutputStream {
        OutputStream {
            logs: self.clone(),
            which,
        }
    }
}

impl Buffer {
    fn push(&mut self, level: &'static str, message: &str) -> bool {
        let message = if message.len() > MAX_LINE_BYTES {
            let mut end = MAX_LINE_BYTES;
            while !message.is_char_boundary(end) {
                end -= 1;
            }
            format!("{}… (line cut at 4 KiB)", &message[..end])
        } else {
            message.to_string()
        };
        if !self.fits(&message) {
            self.breach
                .record(Failure::LimitExceeded(Limit::Logs(self.limit)));
            return false;
        }
        self.lines.push(LogLine { level, message });
        true
    }

    /// Counts the line against the budget; `false` when it does not fit.
    fn fits(&mut self, message: &str) -> bool {
        self.bytes += message.len() as u64;
        self.bytes <= self.limit
    }

    fn write(&mut self, which: usize, bytes: &[u8]) -> bool {
        let level = if which == 0 { "stdout" } else { "stderr" };
        self.partial[which].push_str(&String::from_utf8_lossy(bytes));
        while let Some(end) = self.partial[which].find('\n') {
            let line: String = self.partial[which].drain(..=end).collect();
            if !self.push(level, line.trim_end_matches(['\n', '\r'])) {
                return false;
            }
        }
        // A long run without a newline still counts against the budget.
        if self.partial[which].len() > MAX_LINE_BYTES {
            let line = std::mem::take(&mut self.partial[which]);
            return self.push(level, &line);
        }
        true
    }
}

/// The guest's stdout or stderr, feeding the log buffer.
pub(crate) struct OutputStream {
    logs: Logs,
    which: usize,
}

impl AsyncWrite for OutputStream {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.logs.lock().write(self.which, buf) {
            Poll::Ready(Ok(buf.len()))
        } else {
            Poll::Ready(Err(io::Error::other("log output limit exceeded")))
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// What `WasiCtxBuilder::stdout` takes: a factory of output streams.
pub(crate) struct Stdio(pub(crate) Logs, pub(crate) usize);

impl wasmtime_wasi::cli::IsTerminal for Stdio {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl wasmtime_wasi::cli::StdoutStream for Stdio {
    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(self.0.stream(self.1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_stdout_into_lines_and_flushes_the_rest() {
        let logs = Logs::new(1024, Breach::default());
        assert!(logs.lock().write(0, b"one\ntw"));
        assert!(logs.lock().write(0, b"o\nthree"));
        let lines: Vec<_> = logs.take().into_iter().map(|l| l.message).collect();
        assert_eq!(lines, ["one", "two", "three"]);
    }

    #[test]
    fn cuts_long_lines() {
        let logs = Logs::new(1 << 20, Breach::default());
        assert!(logs.push("info", &"x".repeat(10_000)));
        let line = &logs.take()[0].message;
        assert!(line.len() < MAX_LINE_BYTES + 40);
        assert!(line.ends_with("(line cut at 4 KiB)"));
    }

    #[test]
    fn records_a_breach_when_the_budget_is_spent() {
        let breach = Breach::default();
        let logs = Logs::new(10, breach.clone());
        assert!(logs.push("info", "12345"));
        assert!(!logs.push("info", "123456"));
        assert_eq!(breach.take(), Some(Failure::LimitExceeded(Limit::Logs(10))));
    }
}
