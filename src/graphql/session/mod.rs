//! Signing in and out: `me`, `login`, `refreshSession`, `logout`.

pub mod mutation;
pub mod query;
pub mod types;

pub use mutation::SessionMutation;
pub use query::SessionQuery;
