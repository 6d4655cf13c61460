//! Authentication and authorization: password hashing, access tokens, login sessions, and the
//! scope module every resolver goes through.

pub mod browser_session;
pub mod jwt;
pub mod oidc;
pub mod password;
pub mod pseudonym;
pub mod refusals;
pub mod scope;
pub mod session;
pub mod throttle;

pub use jwt::{Claims, JwtKeys, MintedToken, TokenRejection};
pub use password::PasswordHasher;
pub use pseudonym::Pseudonymizer;
pub use scope::{authenticate, authenticate_session_cookie, Action, Principal, RecordScope, Scope};
pub use session::{AuthService, IssuedSession};
