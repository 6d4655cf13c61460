//! Domain rules shared by every entry point (GraphQL, HTTP endpoints, imports, the command
//! line): the one place each rule about an input value lives.

pub mod text;
