//! What one store holds: the WASI and `wasi:http` contexts (no filesystem, environment or
//! sockets), the outbound-request policy, the meters, the log buffer and the destination's
//! key-value store; and the host side of our `log` and `kv` interfaces for every WIT version.

use super::bindings::{v0_1, v0_2, v0_3, wit};
use super::kv::Kv;
use super::limits::{Breach, MemoryLimiter};
use super::logs::{Logs, Stdio};
use super::outbound::Outbound;
use crate::model::Limits;
use std::sync::Arc;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

/// Per-invocation store state.
pub(crate) struct State {
    pub(super) wasi: WasiCtx,
    pub(super) http: WasiHttpCtx,
    pub(super) table: ResourceTable,
    pub(super) outbound: Outbound,
    pub(super) memory: MemoryLimiter,
    pub(super) breach: Breach,
    pub(super) logs: Logs,
    pub(super) cpu_ticks: u64,
    pub(super) max_cpu_ticks: u64,
    pub(super) cpu_limit: std::time::Duration,
    pub(super) kv: Arc<Kv>,
}

impl State {
    pub(super) fn new(
        limits: &Limits,
        breach: &Breach,
        logs: &Logs,
        outbound: Outbound,
        kv: Arc<Kv>,
    ) -> State {
        // No preopened directories, no environment, no arguments, no network for sockets.
        let wasi = WasiCtxBuilder::new()
            .stdout(Stdio(logs.clone(), 0))
            .stderr(Stdio(logs.clone(), 1))
            .allow_ip_name_lookup(false)
            .allow_tcp(false)
            .allow_udp(false)
            .build();
        State {
            wasi,
            http: WasiHttpCtx::new(),
            table: ResourceTable::new(),
            outbound,
            memory: MemoryLimiter {
                limit: limits.memory_bytes(),
                breach: breach.clone(),
            },
            breach: breach.clone(),
            logs: logs.clone(),
            cpu_ticks: 0,
            max_cpu_ticks: limits.cpu_ticks(),
            cpu_limit: limits.cpu(),
            kv,
        }
    }
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for State {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.outbound,
        }
    }
}

impl wit::Host for State {}

impl v0_2::log::Host for State {
    fn log(&mut self, level: wit::LogLevel, message: String) -> wasmtime::Result<()> {
        v0_1::log::Host::log(self, level, message)
    }
}

impl v0_2::kv::Host for State {
    fn get(&mut self, key: String) -> wasmtime::Result<Option<String>> {
        Ok(self.kv.get(&key))
    }

    fn set(
        &mut self,
        key: String,
        value: String,
        ttl_seconds: u64,
    ) -> wasmtime::Result<Result<(), String>> {
        let ttl = (ttl_seconds > 0).then(|| std::time::Duration::from_secs(ttl_seconds));
        Ok(self.kv.set(&key, &value, ttl))
    }

    fn delete(&mut self, key: String) -> wasmtime::Result<()> {
        self.kv.delete(&key);
        Ok(())
    }
}

impl v0_1::log::Host for State {
    fn log(&mut self, level: wit::LogLevel, message: String) -> wasmtime::Result<()> {
        let level = match level {
            wit::LogLevel::Trace => "trace",
            wit::LogLevel::Debug => "debug",
            wit::LogLevel::Info => "info",
            wit::LogLevel::Warn => "warn",
            wit::LogLevel::Error => "error",
        };
        if !self.logs.push(level, &message) {
            wasmtime::bail!("log output limit exceeded");
        }
        Ok(())
    }
}

impl v0_3::log::Host for State {
    fn log(&mut self, level: wit::LogLevel, message: String) -> wasmtime::Result<()> {
        v0_1::log::Host::log(self, level, message)
    }
}

impl v0_3::kv::Host for State {
    fn get(&mut self, key: String) -> wasmtime::Result<Option<String>> {
        v0_2::kv::Host::get(self, key)
    }

    fn set(
        &mut self,
        key: String,
        value: String,
        ttl_seconds: u64,
    ) -> wasmtime::Result<Result<(), String>> {
        v0_2::kv::Host::set(self, key, value, ttl_seconds)
    }

    fn delete(&mut self, key: String) -> wasmtime::Result<()> {
        v0_2::kv::Host::delete(self, key)
    }
}
