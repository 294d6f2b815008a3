//! The one harness of the app's integration tests: a migrated database per test, a private
//! Redis, the app from the repository's `spin.toml` (or three regions of it), and one
//! helper per endpoint answering the API's own types.
//!
//! - [`app`](TestApp): `TestApp::start()`, or `TestApp::builder()` with `.worker(..)` and
//!   `.variable(..)`; `.start_beside(&app)` starts another instance on the same stores.
//! - [`Client`]: a browser (cookies, forwarded address); `TestApp`, `User` and `Instance`
//!   deref to one. Endpoint helpers return a [`Call`]: awaited, it expects the endpoint's
//!   success status and reads its answer; `.send()` gives the raw response.
//! - [`regions::Regions`]: three regions and the shared replica.
//! - [`GuestLog`]: an app's guest stderr (`.stderr_to(log.path())`), read line by line.

mod accounts;
mod app;
mod catalog;
mod commerce;
pub mod fixtures;
mod http;
mod log;
pub mod regions;

pub use accounts::{Account, User};
pub use app::{
    AppWithoutDatabase, Credentials, Database, Instance, PASSWORD, TestApp, TestAppBuilder, Worker,
};
pub use commerce::{DECLINED_CARD, PROVIDER_ERROR_CARD, SUCCESS_CARD};
pub use http::{Call, Client, Problem, assert_problem, cookies_set, header, json_of, set_cookie};
pub use log::{GuestLog, events};
pub use spin_test_host;
