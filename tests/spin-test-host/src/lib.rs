//! A Spin-compatible host on wasmtime, so tests and benchmarks run the app's real wasm
//! components (`spin.toml`) against real PostgreSQL and Redis.
//!
//! ```no_run
//! # async fn example() -> anyhow::Result<()> {
//! use spin_test_host::{App, TestDatabase};
//! let db = TestDatabase::create().await?;
//! let app = App::builder("spin.toml").variable("database_url", db.url()).start().await?;
//! let url = app.url("/api/courses");
//! # Ok(()) }
//! ```

mod app;
mod bindings;
mod compose;
mod engine;
mod instance;
pub mod key_value;
mod load;
pub mod manifest;
pub mod outbound;
pub mod postgres;
pub mod redis_client;
mod redis_trigger;
mod reuse;
mod router;
pub mod runtime_config;
mod server;
mod testing;
pub mod variables;

pub use app::{App, AppBuilder, RunningApp, workspace_root};
pub use reuse::InstanceReuse;
pub use runtime_config::StateDir;
pub use testing::{TestDatabase, TestRedis};
