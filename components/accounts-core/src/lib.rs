//! Accounts domain, free of Spin so it is unit-tested natively.
//!
//! The `accounts` component and the shared session lookup in `runtime::session` are thin
//! adapters over these rules: what a valid email, password and name are, how passwords are
//! hashed, what a session is and how long it lives, the session cookie, and when repeated
//! login failures are refused.

pub mod email;
pub mod password;
pub mod registration;
pub mod role;
pub mod routes;
pub mod session;
pub mod session_cookie;
pub mod throttle;

pub use email::Email;
pub use password::Password;
pub use registration::{Registration, RegistrationRequest, SignInRequest, User};
pub use role::Role;
pub use routes::{Endpoint, ROUTES};
pub use session::{Session, SessionId};
