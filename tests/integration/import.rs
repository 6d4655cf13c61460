//! Bulk import through `POST /import/{kind}` and the `import` command.

use bac_metrics::db::enums::Role;
use diesel::{connection::SimpleConnection, prelude::*};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::{
    fixture,
    helpers::{rejections, report_lines, TestApp},
};

async fn upload(
    app: &TestApp,
    token: Option<&str>,
    kind: &str,
    content_type: &str,
    body: &str,
) -> (StatusCode, Value) {
    let mut request = app
        .client
        .post(format!("{}/import/{kind}", app.address))
        .header("content-type", content_type)
        .body(body.to_owned());
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}

const HEADER: &str = "source,external_id,channel,org_unit_code,agent_email,customer_ref,business_name,contact_name,email,phone,topic_code,started_at,wait_seconds,handle_seconds,transfers,abandoned,outcome";

#[tokio::test]
async fn csv_interactions_report_every_row_and_reimport_changes_nothing() {
    // One writer, so the batch count below is exact.
    let app = TestApp::spawn_with(&[("IMPORT_BATCH_SIZE", "3"), ("IMPORT_WORKERS", "1")]).await;
    let world = fixture::build(&app).await;
    let ingest = world.token(Role::Ingest);
    let file = format!(
        "{HEADER}\n\
         pbx,1,phone,TEAM-A1,agent@test.example,CRM-100,\"Acme, Inc.\",Ann,ann@acme.example,555,LICENSING,2026-11-01T09:00:00-05:00,12,240,0,false,resolved\n\
         pbx,2,fax,TEAM-A1,,,,,,,,2026-11-01T09:00:00-05:00,,,,,\n\
         pbx,3,chat,TEAM-A1,,,,,,,,2026-11-01T09:05:00-05:00,,,,true,\n\
         pbx,4,web_self_service,TEAM-A2,,CRM-100,,,,,LICENSING,2026-11-01T08:00:00-05:00,,,,,resolved\n\
         pbx,5,phone,TEAM-A1,,,,,,,,not-a-time,,,,,\n\
         pbx,1,phone,TEAM-A1,agent@test.example,CRM-100,\"Acme, Inc.\",Ann,ann@acme.example,555,LICENSING,2026-11-01T09:00:00-05:00,12,240,0,false,resolved\n\
         pbx,6,phone,TEAM-A1,agent@test.example,,,,,,,2026-11-01T10:00:00-05:00,-3,100,0,false,unresolved\n\
         pbx,4,web_self_service,TEAM-A2,,CRM-100,,,,,LICENSING,2026-11-01T08:00:00-05:00,,,,,unresolved\n\
         pbx,7,phone,TEAM-A1\n"
    );
    let (status, report) = upload(&app, Some(ingest), "interactions", "text/csv", &file).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["rows_read"], 9);
    assert_eq!(report["inserted"], 3, "{report}");
    assert_eq!(report["unchanged"], 1);
    assert_eq!(report["conflicts"], 1);
    assert_eq!(report["rejected"], 4);
    assert_eq!(report["batches"], 3);
    let rejected: Vec<(i64, String)> = rejections(&report)
        .into_iter()
        .map(|(line, field, _reason)| (line, field))
        .collect();
    assert_eq!(
        rejected,
        vec![
            (3, "channel".into()),
            (6, "started_at".into()),
            // Fields are named as the file spells them.
            (8, "wait_seconds".into()),
            (10, "".into())
        ],
        "{report}"
    );
    assert_eq!(report["conflict_rows"][0]["line"], 9);

    // The quoted comma survived, and the customer is shared by both interactions.
    let (_, body) = app
        .post(
            Some(world.token(Role::Admin)),
            "{ customers(customerRef: \"CRM-100\") { edges { node { businessName } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        body["data"]["customers"]["edges"][0]["node"]["businessName"],
        "Acme, Inc."
    );

    // Importing the same file again inserts nothing.
    let (_, again) = upload(&app, Some(ingest), "interactions", "text/csv", &file).await;
    assert_eq!(
        (again["inserted"].as_i64(), again["unchanged"].as_i64()),
        (Some(0), Some(4)),
        "{again}"
    );

    // One audit event per batch, with its counts.
    let (_, body) = app
        .post(Some(world.token(Role::Auditor)), "{ auditEvents(filter: { actions: [\"import.batch\"] }) { totalCount edges { node { after } } } }", json!({}))
        .await;
    assert_eq!(body["data"]["auditEvents"]["totalCount"], 6, "{body}");
    assert_eq!(
        body["data"]["auditEvents"]["edges"][0]["node"]["after"]["rows"],
        3
    );
}

#[tokio::test]
async fn ndjson_surveys_link_to_their_interactions() {
    let app = TestApp::spawn().await;
    let world = fixture::build(&app).await;
    let ingest = world.token(Role::Ingest);
    let invitations = "{\"source\":\"svy\",\"external_id\":\"i1\",\"interaction_source\":\"phone-system\",\"interaction_external_id\":\"call-2\",\"kind\":\"post_call\",\"sent_at\":\"2026-11-02T16:00:00Z\"}\n\
        {\"source\":\"svy\",\"external_id\":\"i2\",\"interaction_source\":\"phone-system\",\"interaction_external_id\":\"nope\",\"kind\":\"post_call\",\"sent_at\":\"2026-11-02T16:00:00Z\"}\n";
    let (status, report) = upload(
        &app,
        Some(ingest),
        "survey-invitations",
        "application/x-ndjson",
        invitations,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (report["inserted"].as_i64(), report["rejected"].as_i64()),
        (Some(1), Some(1)),
        "{report}"
    );
    assert_eq!(report["rejected_rows"][0]["line"], 2);

    let responses = "{\"source\":\"svy\",\"external_id\":\"r1\",\"interaction_source\":\"phone-system\",\"interaction_external_id\":\"call-2\",\"kind\":\"post_call\",\"submitted_at\":\"2026-11-02T17:00:00Z\",\"satisfaction\":4,\"trust\":5,\"resolved\":true,\"comment\":null}\n\
        \n\
        {\"source\":\"svy\",\"external_id\":\"r2\",\"interaction_source\":\"phone-system\",\"interaction_external_id\":\"call-2\",\"kind\":\"live_chat\",\"submitted_at\":\"2026-11-02T17:00:00Z\",\"satisfaction\":4}\n\
        {\"source\":\"svy\",\"external_id\":\"r3\",\"interaction_source\":\"phone-system\",\"interaction_external_id\":\"call-2\",\"kind\":\"post_call\",\"submitted_at\":\"2026-11-02T17:00:00Z\",\"ease\":9}\n\
        not json\n";
    let (_, report) = upload(
        &app,
        Some(ingest),
        "survey-responses",
        "application/x-ndjson",
        responses,
    )
    .await;
    assert_eq!(
        (report["inserted"].as_i64(), report["rejected"].as_i64()),
        (Some(1), Some(3)),
        "{report}"
    );
    let lines = report_lines(&report, "rejected_rows");
    assert_eq!(lines, vec![3, 4, 5]);
    assert_eq!(report["rejected_rows"][1]["field"], "ease");
    let (_, body) = app
        .post(
            Some(world.token(Role::Admin)),
            "{ surveyInvitations(filter: { responded: true }) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(
        body["data"]["surveyInvitations"]["totalCount"], 2,
        "the imported invitation is answered: {body}"
    );
}

#[tokio::test]
async fn reference_data_imports_are_for_admins_and_files_are_checked() {
    let app = TestApp::spawn().await;
    let world = fixture::build(&app).await;
    let admin = world.token(Role::Admin);
    let units = "code,name,parent_code\nREGION-C,Central Region,AGENCY\nTEAM-C1,Central Team,REGION-C\nTEAM-X,Orphan,NOWHERE\n";
    let (_, report) = upload(&app, Some(admin), "org-units", "text/csv", units).await;
    assert_eq!(
        (report["inserted"].as_i64(), report["rejected"].as_i64()),
        (Some(2), Some(1)),
        "{report}"
    );
    let (_, report) = upload(
        &app,
        Some(admin),
        "topics",
        "text/csv",
        "code,name\nGRANTS,Grants\nLICENSING,Licensing\nLICENSING,Renamed\n",
    )
    .await;
    assert_eq!(
        (
            report["inserted"].as_i64(),
            report["unchanged"].as_i64(),
            report["conflicts"].as_i64()
        ),
        (Some(1), Some(1), Some(1))
    );
    let (_, report) = upload(&app, Some(admin), "users", "text/csv", "email,display_name,role,org_unit_code\nNew.Agent@test.example,New Agent,agent,TEAM-C1\nx@test.example,X,wizard,TEAM-C1\n").await;
    assert_eq!(
        (report["inserted"].as_i64(), report["rejected"].as_i64()),
        (Some(1), Some(1)),
        "{report}"
    );

    let (status, body) = upload(
        &app,
        Some(world.token(Role::Ingest)),
        "users",
        "text/csv",
        "email,display_name,role,org_unit_code\n",
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, _) = upload(
        &app,
        Some(world.token(Role::Analyst)),
        "interactions",
        "text/csv",
        HEADER,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = upload(&app, None, "interactions", "text/csv", HEADER).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
    let (status, body) = upload(
        &app,
        Some(admin),
        "interactions",
        "text/csv",
        "source,external_id,chanel\n",
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("unknown column `chanel`"),
        "{body}"
    );
    let (status, _) = upload(&app, Some(admin), "interactions", "application/json", "{}").await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let (status, body) = upload(&app, Some(admin), "surveys", "text/csv", "").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("unknown import kind"));
}

#[tokio::test]
async fn the_import_command_reads_files_and_signals_rejected_rows() {
    let app = TestApp::spawn().await;
    fixture::build(&app).await;
    let directory =
        std::env::temp_dir().join(format!("bac-import-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&directory).unwrap();
    let good = directory.join("topics.csv");
    std::fs::write(&good, "code,name\nTAXES,Taxes\n").unwrap();
    let bad = directory.join("topics.ndjson");
    std::fs::write(
        &bad,
        "{\"code\":\"ZONING\",\"name\":\"Zoning\"}\n{\"code\":\"bad code\",\"name\":\"x\"}\n",
    )
    .unwrap();
    let run = |path: &std::path::Path| {
        std::process::Command::new(env!("CARGO_BIN_EXE_bac-metrics"))
            .args(["import", "topics"])
            .arg(path)
            .env("DATABASE_URL", &app.database_url)
            .env(
                "JWT_SECRET",
                std::str::from_utf8(crate::helpers::TEST_SECRET).unwrap(),
            )
            .env("PSEUDONYM_KEY", "integration-test-pseudonym-key-0123456789")
            .env("RUST_LOG", "warn")
            .output()
            .unwrap()
    };
    let output = run(&good);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["inserted"], 1);
    let output = run(&bad);
    assert_eq!(output.status.code(), Some(2));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        (
            report["inserted"].as_i64(),
            report["rejected_rows"][0]["line"].as_i64()
        ),
        (Some(1), Some(2))
    );
    use bac_metrics::db::schema::topics;
    let codes: Vec<String> = topics::table
        .select(topics::code)
        .order(topics::code)
        .load(&mut app.connection())
        .unwrap();
    assert_eq!(codes, vec!["LICENSING", "TAXES", "ZONING"]);
    std::fs::remove_dir_all(&directory).ok();
}

#[tokio::test]
async fn parallel_writers_import_every_row_once() {
    let app = TestApp::spawn_with(&[("IMPORT_BATCH_SIZE", "7"), ("IMPORT_WORKERS", "3")]).await;
    let world = fixture::build(&app).await;
    let mut file = String::from(HEADER);
    for index in 0..100 {
        let unit = ["TEAM-A1", "TEAM-A2", "TEAM-B1"][index % 3];
        file.push_str(&format!(
            "\npar,{index},phone,{unit},,CRM-{},,,,,LICENSING,2026-11-01T09:{:02}:00-05:00,10,,0,false,",
            index % 11,
            index % 60
        ));
    }
    file.push_str("\npar,bad,phone,NOWHERE,,,,,,,,2026-11-01T09:00:00-05:00,,,,,");
    // The same key twice with different content, far apart in the file: whatever the number
    // of writers, the first occurrence is recorded and the second is the conflict.
    file.push_str("\npar,dup,phone,TEAM-A1,,,,,,,,2026-11-01T10:00:00-05:00,10,,0,false,");
    // Rows go to the writer that owns their customer, but a key still being written keeps its
    // writer: the same key naming two different customers, close together, resolves in file
    // order too (the first is recorded with its customer, the second conflicts).
    for pair in 0..5 {
        file.push_str(&format!(
            "\npar,twin{pair},phone,TEAM-A1,,CRM-{pair},,,,,LICENSING,2026-11-01T10:0{pair}:00-05:00,10,,0,false,\n\
             par,twin{pair},phone,TEAM-A1,,CRM-{},,,,,LICENSING,2026-11-01T10:0{pair}:00-05:00,10,,0,false,",
            pair + 5
        ));
    }
    for index in 100..130 {
        file.push_str(&format!(
            "\npar,{index},chat,TEAM-A2,,,,,,,,2026-11-01T11:{:02}:00-05:00,5,,0,false,",
            index % 60
        ));
    }
    file.push_str("\npar,dup,phone,TEAM-A1,,,,,,,,2026-11-01T10:00:00-05:00,99,,0,false,\n");
    let (status, report) = upload(
        &app,
        Some(world.token(Role::Ingest)),
        "interactions",
        "text/csv",
        &file,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(
        (
            report["inserted"].as_i64(),
            report["rejected"].as_i64(),
            report["conflicts"].as_i64()
        ),
        (Some(136), Some(1), Some(6)),
        "{report}"
    );
    // 143 rows in batches of 7 per writer: at least 21, at most one partial batch per writer more.
    let batches = report["batches"].as_i64().unwrap();
    assert!((21..=24).contains(&batches), "{report}");
    assert_eq!(report["rejected_rows"][0]["line"], 102);
    let conflict_lines = report_lines(&report, "conflict_rows");
    assert_eq!(
        conflict_lines,
        vec![105, 107, 109, 111, 113, 144],
        "{report}"
    );
    // A second run through three writers finds every row already there.
    let (_, again) = upload(
        &app,
        Some(world.token(Role::Ingest)),
        "interactions",
        "text/csv",
        &file,
    )
    .await;
    assert_eq!(
        (again["inserted"].as_i64(), again["unchanged"].as_i64()),
        (Some(0), Some(136)),
        "{again}"
    );
    use bac_metrics::db::schema::interactions;
    let stored: i64 = interactions::table
        .filter(interactions::source.eq("par"))
        .count()
        .get_result(&mut app.connection())
        .unwrap();
    assert_eq!(stored, 136);
    // Each twin key holds its first row's customer.
    use bac_metrics::db::schema::customers;
    let twins: Vec<(String, String)> = interactions::table
        .inner_join(customers::table.on(customers::id.nullable().eq(interactions::customer_id)))
        .filter(interactions::external_id.like("twin%"))
        .order(interactions::external_id)
        .select((interactions::external_id, customers::customer_ref))
        .load(&mut app.connection())
        .unwrap();
    assert_eq!(
        twins,
        (0..5)
            .map(|pair| (format!("twin{pair}"), format!("CRM-{pair}")))
            .collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn customer_details_merge_across_batches_and_a_refused_batch_leaves_no_trace() {
    // Batches of two on one writer: the writer remembers the customers it has written, so
    // this checks that what it remembers is exactly what the database holds.
    let app = TestApp::spawn_with(&[("IMPORT_BATCH_SIZE", "2"), ("IMPORT_WORKERS", "1")]).await;
    let world = fixture::build(&app).await;
    // A rule the importer cannot foresee: the database refuses one row, so its whole batch
    // (which has just created customer CRM-NEW) rolls back and is retried row by row.
    app.connection()
        .batch_execute(
            "CREATE FUNCTION refuse_boom() RETURNS trigger LANGUAGE plpgsql AS $$ \
             BEGIN IF NEW.external_id = 'boom' THEN RAISE EXCEPTION 'boom'; END IF; RETURN NEW; END $$; \
             CREATE TRIGGER refuse_boom BEFORE INSERT ON interactions \
             FOR EACH ROW EXECUTE FUNCTION refuse_boom()",
        )
        .unwrap();
    let row = |id: &str, customer: &str, details: &str, minute: u32| {
        format!(
            "\ncrm,{id},phone,TEAM-A1,,{customer},{details},LICENSING,2026-11-01T09:{minute:02}:00-05:00,10,,0,false,"
        )
    };
    let mut file = String::from(HEADER);
    // Batch 1: the latest non-empty value of each detail wins within a batch.
    file.push_str(&row("1", "CRM-200", "Acme,Ann,ann@acme.example,", 0));
    file.push_str(&row("2", "CRM-200", ",,,555-0100", 1));
    // Batch 2: the same details again (nothing to write), then a new email.
    file.push_str(&row("3", "CRM-200", "Acme,Ann,ann@acme.example,", 2));
    file.push_str(&row("4", "CRM-200", ",,ann@new.example,", 3));
    // Batch 3: refused as a whole, then row by row: CRM-NEW is created twice and rolled back
    // twice, so it does not exist afterwards.
    file.push_str(&row("boom", "CRM-NEW", "Newco,,,", 4));
    file.push_str(&row("5", "", ",,,", 5));
    // Batch 4: CRM-NEW with the same details must resolve to the customer that exists.
    file.push_str(&row("6", "CRM-NEW", "Newco,,,", 6));
    file.push_str(&row("7", "CRM-200", "Acme,Ann,ann@acme.example,", 7));
    file.push('\n');
    let (status, report) = upload(
        &app,
        Some(world.token(Role::Ingest)),
        "interactions",
        "text/csv",
        &file,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(
        (report["inserted"].as_i64(), report["rejected"].as_i64()),
        (Some(7), Some(1)),
        "{report}"
    );
    assert_eq!(report["rejected_rows"][0]["line"], 6, "{report}");

    use bac_metrics::db::schema::{customers, interactions};
    let mut connection = app.connection();
    type Details = (
        String,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
    );
    let details: Vec<Details> = customers::table
        .filter(customers::customer_ref.eq_any(["CRM-200", "CRM-NEW"]))
        .order(customers::customer_ref)
        .select((
            customers::customer_ref,
            customers::business_name,
            customers::contact_name,
            customers::email,
            customers::phone,
        ))
        .load(&mut connection)
        .unwrap();
    let text = |value: &str| Some(value.to_owned());
    assert_eq!(
        details,
        vec![
            (
                "CRM-200".into(),
                text("Acme"),
                text("Ann"),
                // Row 7 sends the old email again, later than row 4: the latest wins.
                text("ann@acme.example"),
                text("555-0100")
            ),
            ("CRM-NEW".into(), text("Newco"), None, None, None),
        ]
    );
    // Row 6 names the CRM-NEW that exists (not one that was rolled back).
    let new_customer: Vec<Option<i64>> = interactions::table
        .filter(interactions::source.eq("crm"))
        .filter(interactions::external_id.eq("6"))
        .select(interactions::customer_id)
        .load(&mut connection)
        .unwrap();
    let existing: i64 = customers::table
        .filter(customers::customer_ref.eq("CRM-NEW"))
        .select(customers::id)
        .first(&mut connection)
        .unwrap();
    assert_eq!(new_customer, vec![Some(existing)]);
}

/// The daily rollups and the later-contact facts as stored, in a stable order.
fn rollup_state(connection: &mut PgConnection) -> Vec<String> {
    #[derive(QueryableByName)]
    struct Line {
        #[diesel(sql_type = diesel::sql_types::Text)]
        line: String,
    }
    diesel::sql_query(
        "SELECT line FROM ( \
           SELECT 'cell ' || row_to_json(c)::text AS line FROM metric_daily_cells c \
           UNION ALL SELECT 'unit ' || row_to_json(u)::text FROM metric_daily_units u \
           UNION ALL SELECT 'facts ' || id || ' ' || followed_by_assisted_within_7_days \
                            || ' ' || followed_by_assisted_within_24_hours FROM interactions \
         ) lines ORDER BY line",
    )
    .load::<Line>(connection)
    .unwrap()
    .into_iter()
    .map(|line| line.line)
    .collect()
}

/// One interaction row of the test below: `slot` sets its time (5 hours apart), so rows of a
/// later delivery fall between earlier ones and change their repeat-contact facts.
/// `business` is the customer's business name the row carries (may be empty).
fn mixed_row(index: usize, slot: usize, minute: usize, business: &str) -> String {
    let started = chrono::DateTime::parse_from_rfc3339("2026-10-01T00:00:00-04:00").unwrap()
        + chrono::Duration::hours(5 * slot as i64)
        + chrono::Duration::minutes(minute as i64);
    let started = started.to_rfc3339();
    let customer = format!("MIX-{}", index % 7);
    let business = if business.is_empty() {
        String::new()
    } else {
        format!("{business} {customer}")
    };
    match index % 4 {
        0 => format!("mix,{index},phone,TEAM-A1,agent@test.example,{customer},{business},,,,LICENSING,{started},{},100,0,false,resolved", 10 + index % 50),
        1 => format!("mix,{index},chat,TEAM-A1,,{customer},{business},,,,LICENSING,{started},5,60,0,false,unresolved"),
        2 => format!("mix,{index},email,TEAM-A2,,{customer},{business},,,,LICENSING,{started},,200,0,false,resolved"),
        _ => format!("mix,{index},web_self_service,TEAM-A2,,{customer},{business},,,,LICENSING,{started},,,0,false,"),
    }
}

#[tokio::test]
async fn large_batches_mixing_new_duplicate_conflicting_and_rejected_rows_keep_rollups_exact() {
    // Batches this large look their keys up before a plain insert (small ones use
    // `ON CONFLICT`): the outcomes, the report and the rollups must be the same.
    let app = TestApp::spawn_with(&[("IMPORT_BATCH_SIZE", "250"), ("IMPORT_WORKERS", "1")]).await;
    let world = fixture::build(&app).await;
    let ingest = world.token(Role::Ingest);
    let first: Vec<String> = (0..100)
        .map(|index| mixed_row(index, 2 * index, 0, "Acme"))
        .collect();
    let file = format!("{HEADER}\n{}\n", first.join("\n"));
    let (status, report) = upload(&app, Some(ingest), "interactions", "text/csv", &file).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["inserted"], 100, "{report}");

    // One batch: 50 rows sent again as they were, 10 sent again with another time and other
    // customer details (conflicts), 130 new rows between the earlier ones in time (the last 30
    // with newer details), a new key repeated unchanged and another repeated with another time
    // and a new customer, and a row naming an unknown org unit.
    let mut second: Vec<String> = (0..50)
        .map(|index| mixed_row(index, 2 * index, 0, "Acme"))
        .collect();
    second.extend((50..60).map(|index| mixed_row(index, 2 * index, 1, "Wrong")));
    second.extend((100..230).map(|index| {
        mixed_row(
            index,
            2 * (index - 100) + 1,
            0,
            if index >= 200 { "Newer" } else { "" },
        )
    }));
    second.push(mixed_row(100, 1, 0, ""));
    second.push(mixed_row(101, 3, 7, "").replace(",MIX-3,,", ",MIX-GHOST,Ghost,"));
    second.push("mix,lost,phone,NOWHERE,,,,,,,,2026-10-02T09:00:00-04:00,10,,0,false,".into());
    let file = format!("{HEADER}\n{}\n", second.join("\n"));
    let (status, report) = upload(&app, Some(ingest), "interactions", "text/csv", &file).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(
        (
            report["inserted"].as_i64(),
            report["unchanged"].as_i64(),
            report["conflicts"].as_i64(),
            report["rejected"].as_i64(),
            report["batches"].as_i64(),
        ),
        (Some(130), Some(51), Some(11), Some(1), Some(1)),
        "{report}"
    );
    let conflict_lines = report_lines(&report, "conflict_rows");
    assert_eq!(
        conflict_lines,
        (52..62).chain([193]).collect::<Vec<i64>>(),
        "{report}"
    );
    assert_eq!(report["rejected_rows"][0]["line"], 194, "{report}");
    // The repeated new key kept its first row.
    use bac_metrics::db::schema::interactions;
    let started: chrono::DateTime<chrono::Utc> = interactions::table
        .filter(interactions::source.eq("mix"))
        .filter(interactions::external_id.eq("101"))
        .select(interactions::started_at)
        .first(&mut app.connection())
        .unwrap();
    assert_eq!(started.to_rfc3339(), "2026-10-01T19:00:00+00:00");
    // Customers have the details of the rows that inserted, latest last; the conflicting rows
    // changed nothing, and a customer named only by a conflicting row has no details.
    use bac_metrics::db::schema::customers;
    let details: Vec<(String, Option<String>)> = customers::table
        .filter(customers::customer_ref.like("MIX-%"))
        .order(customers::customer_ref)
        .select((customers::customer_ref, customers::business_name))
        .load(&mut app.connection())
        .unwrap();
    let mut expected: Vec<(String, Option<String>)> = (0..7)
        .map(|k| (format!("MIX-{k}"), Some(format!("Newer MIX-{k}"))))
        .collect();
    expected.push(("MIX-GHOST".into(), None));
    assert_eq!(details, expected);

    // Sending the batch again changes nothing.
    let (_, again) = upload(&app, Some(ingest), "interactions", "text/csv", &file).await;
    assert_eq!(
        (again["inserted"].as_i64(), again["unchanged"].as_i64()),
        (Some(0), Some(181)),
        "{again}"
    );

    // The rollups and facts the imports maintained are those rebuilt from the records.
    let mut connection = app.connection();
    let maintained = rollup_state(&mut connection);
    assert!(maintained.iter().any(|line| line.ends_with(" true true")));
    diesel::sql_query("SELECT metric_rollup_rebuild()")
        .execute(&mut connection)
        .unwrap();
    assert_eq!(maintained, rollup_state(&mut connection));
}
