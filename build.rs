//! Rebuilds the crate when a migration is added or changed: `embed_migrations!` in `src/db`
//! compiles the `migrations/` folder into the binary, and cargo would not notice on its own.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
