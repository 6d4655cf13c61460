//! The checked-in SDL matches what the server serves; migrations go up, down and up again.

use bac_metrics::db::{revert_all_migrations, run_migrations};
use diesel::{pg::PgConnection, prelude::*, sql_types::BigInt, Connection};

use crate::helpers::{empty_database, TestApp};

#[tokio::test]
async fn schema_graphql_equals_the_served_sdl() {
    let app = TestApp::spawn().await;
    let checked_in =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql"))
            .expect("schema.graphql is checked in");
    let served = app.schema.sdl();
    assert!(
        checked_in == served,
        "schema.graphql is out of date: run `cargo run -- schema > schema.graphql`"
    );
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    count: i64,
}

fn user_table_count(connection: &mut PgConnection) -> i64 {
    diesel::sql_query(
        "SELECT count(*) AS count FROM information_schema.tables \
         WHERE table_schema = 'public' AND table_name <> '__diesel_schema_migrations'",
    )
    .get_result::<Count>(connection)
    .unwrap()
    .count
}

#[test]
fn migrations_go_up_down_and_up_again() {
    let url = empty_database();
    let mut connection = PgConnection::establish(&url).unwrap();
    // Every folder under migrations/ is one migration, and every one applies.
    let on_disk = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations"))
        .unwrap()
        .filter(|entry| entry.as_ref().unwrap().path().is_dir())
        .count();
    assert_eq!(on_disk, 15);
    let applied = run_migrations(&mut connection).unwrap();
    assert_eq!(applied.len(), on_disk);
    // 15 record tables (legal holds among them), 3 metric tables (settings and two rollups), 2
    // measure views, the rate-limit counters, the web front's session cookies and the persisted
    // GraphQL documents, the callers' latest write positions (read routing), and the
    // directory's version (the servers' directory caches).
    assert_eq!(user_table_count(&mut connection), 25);

    let reverted = revert_all_migrations(&mut connection).unwrap();
    assert_eq!(reverted.len(), on_disk);
    assert_eq!(user_table_count(&mut connection), 0);

    let reapplied = run_migrations(&mut connection).unwrap();
    assert_eq!(reapplied, applied);
    assert_eq!(user_table_count(&mut connection), 25);
    // Nothing pending afterwards.
    assert!(run_migrations(&mut connection).unwrap().is_empty());
}
