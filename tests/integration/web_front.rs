//! The web front for oversight staff: sign-in through the real password check, the cookie
//! session checked like a bearer token on every request, CSRF-safe forms, the quarters, the
//! report and its CSV in a browser, friendly refusals, and the API never trusting the cookie.

use bac_metrics::db::{
    enums::Role,
    schema::{refresh_tokens, session_cookies, sessions, users},
};
use diesel::prelude::*;
use reqwest::{header, StatusCode};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::{
    fixture::{interaction_input, RECORD},
    helpers::{first_error_code, TestApp, PASSWORD},
};

const AUDITOR: &str = "auditor@test.example";
const AGENT: &str = "agent@test.example";

/// The `name=value` part of the `Set-Cookie` header for `name`, and the whole header.
fn set_cookie(response: &reqwest::Response, name: &str) -> Option<(String, String)> {
    response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find(|value| value.starts_with(&format!("{name}=")))
        .map(|value| {
            let pair = value.split(';').next().unwrap().to_owned();
            (pair, value.to_owned())
        })
}

fn hidden_field(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).expect("the field is in the form") + marker.len();
    let end = start + html[start..].find('"').unwrap();
    html[start..end].to_owned()
}

fn location(response: &reqwest::Response) -> String {
    response.headers()[header::LOCATION]
        .to_str()
        .unwrap()
        .to_owned()
}

/// A browser's first steps: the sign-in page, its double-submit cookie and form token.
async fn sign_in_form(app: &TestApp) -> (String, String) {
    let response = app
        .client
        .get(format!("{}/web/sign-in", app.address))
        .header(header::ACCEPT, "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let (cookie, _) = set_cookie(&response, "bac_sign_in").expect("the sign-in cookie");
    let html = response.text().await.unwrap();
    (cookie, hidden_field(&html, "csrf"))
}

async fn post_sign_in(
    app: &TestApp,
    cookie: &str,
    fields: &[(&str, &str)],
    origin: Option<&str>,
) -> reqwest::Response {
    let mut request = app
        .client
        .post(format!("{}/web/sign-in", app.address))
        .header(header::COOKIE, cookie)
        .form(fields);
    if let Some(origin) = origin {
        request = request.header(header::ORIGIN, origin);
    }
    request.send().await.unwrap()
}

/// Signs `email` in through the form; returns the session cookie (`bac_session=…`).
async fn sign_in(app: &TestApp, email: &str) -> String {
    let (cookie, csrf) = sign_in_form(app).await;
    let response = post_sign_in(
        app,
        &cookie,
        &[("email", email), ("password", PASSWORD), ("csrf", &csrf)],
        Some(&app.address),
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    set_cookie(&response, "bac_session").unwrap().0
}

async fn get_page(app: &TestApp, path: &str, cookie: Option<&str>) -> reqwest::Response {
    let mut request = app
        .client
        .get(format!("{}{path}", app.address))
        .header(header::ACCEPT, "text/html,application/xhtml+xml");
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    request.send().await.unwrap()
}

async fn staff(app: &TestApp) {
    app.seed_org().await;
    app.create_user(AUDITOR, Role::Auditor, "AGENCY", true)
        .await;
    app.create_user(AGENT, Role::Agent, "TEAM-A1", true).await;
}

#[tokio::test]
async fn oversight_staff_sign_in_and_read_the_report_in_a_browser() {
    let app = TestApp::spawn().await;
    staff(&app).await;
    // One interaction in November 2026: fiscal quarter FY2027-Q2 (the year starts in July).
    app.create_user("ingest@test.example", Role::Ingest, "AGENCY", false)
        .await;
    app.create_user("admin@test.example", Role::Admin, "AGENCY", false)
        .await;
    let admin = app.token_for("admin@test.example").await;
    let ingest = app.token_for("ingest@test.example").await;
    app.post(
        Some(&admin),
        "mutation { createTopic(code: \"LICENSING\", name: \"Licensing\") { id } }",
        json!({}),
    )
    .await;
    let (_, body) = app
        .post(
            Some(&ingest),
            RECORD,
            json!({ "input": interaction_input("call-1", Some(AGENT), "TEAM-A1", "CRM-1") }),
        )
        .await;
    assert!(body.get("errors").is_none(), "{body}");

    // The sign-in page sets its double-submit cookie: HttpOnly, SameSite=Strict, whole host.
    let response = get_page(&app, "/web/sign-in", None).await;
    let (_, attributes) = set_cookie(&response, "bac_sign_in").unwrap();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=3600"] {
        assert!(attributes.contains(attribute), "{attributes}");
    }
    assert!(
        !attributes.contains("Secure"),
        "plain HTTP: not Secure ({attributes})"
    );

    let (cookie, csrf) = sign_in_form(&app).await;
    let response = post_sign_in(
        &app,
        &cookie,
        &[
            ("email", "  Auditor@Test.Example "),
            ("password", PASSWORD),
            ("csrf", &csrf),
            ("next", "/reports/oversight?fiscalYear=2027&quarter=2"),
        ],
        Some(&app.address),
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&response),
        "/reports/oversight?fiscalYear=2027&quarter=2"
    );
    let (session, attributes) = set_cookie(&response, "bac_session").unwrap();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=28800"] {
        assert!(attributes.contains(attribute), "{attributes}");
    }
    // The double-submit cookie is spent.
    let (_, cleared) = set_cookie(&response, "bac_sign_in").unwrap();
    assert!(cleared.contains("Max-Age=0"));

    // The database keeps only the cookie's hash, in a browser session without refresh tokens.
    let value = session.trim_start_matches("bac_session=").to_owned();
    assert!(value.starts_with("bms_"));
    let mut connection = app.connection();
    let (session_id, kind, expires_at): (uuid::Uuid, String, chrono::DateTime<chrono::Utc>) =
        session_cookies::table
            .inner_join(sessions::table)
            .filter(session_cookies::token_hash.eq(Sha256::digest(value.as_bytes()).to_vec()))
            .select((sessions::id, sessions::kind, sessions::expires_at))
            .first(&mut connection)
            .expect("the cookie's session");
    assert_eq!(kind, "browser");
    let lifetime = expires_at - chrono::Utc::now();
    assert!(lifetime > chrono::Duration::hours(7) && lifetime <= chrono::Duration::hours(8));
    let refresh: i64 = refresh_tokens::table
        .filter(refresh_tokens::session_id.eq(session_id))
        .count()
        .get_result(&mut connection)
        .unwrap();
    assert_eq!(refresh, 0);

    // The index lists the quarter with data, linking its report and CSV.
    let response = get_page(&app, "/web/", Some(&session)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let policy = response.headers()[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(policy.contains("style-src 'sha256-") && !policy.contains("unsafe"));
    assert!(policy.contains("form-action 'self'"));
    assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
    let html = response.text().await.unwrap();
    assert!(html.contains("<html lang=\"en\">"));
    assert!(html.contains("Skip to main content"));
    assert!(html.contains("Signed in as"));
    assert!(html.contains("<th scope=\"row\">FY2027-Q2</th><td>2026-10-01 to 2026-12-31</td>"));
    assert!(html.contains("href=\"/reports/oversight?fiscalYear=2027&amp;quarter=2\""));
    assert!(html.contains("href=\"/export/oversight-report.csv?fiscalYear=2027&amp;quarter=2\""));

    // The report, with the banner and its own strict policy.
    let response = get_page(
        &app,
        "/reports/oversight?fiscalYear=2027&quarter=2",
        Some(&session),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let policy = response.headers()[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(policy.matches("'sha256-").count(), 2, "{policy}");
    assert!(!policy.contains("unsafe"));
    let html = response.text().await.unwrap();
    assert!(html.contains("<title>Quarterly oversight report FY2027-Q2"));
    assert!(html.contains("<button type=\"submit\">Sign out</button>"));
    assert!(html.contains("<main id=\"main\""));
    assert!(
        html.contains("<td>PHONE</td><td class=\"num\">1</td>"),
        "{html}"
    );

    // The CSV download with the same session.
    let response = get_page(
        &app,
        "/export/oversight-report.csv?fiscalYear=2027&quarter=2",
        Some(&session),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    assert!(response
        .text()
        .await
        .unwrap()
        .starts_with("fiscal_quarter,"));

    // The API does not take the cookie: GraphQL wants a bearer header.
    let response = app
        .client
        .post(app.graphql_url())
        .header(header::COOKIE, &session)
        .json(&json!({ "query": "{ me { email } }" }))
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(first_error_code(&body), Some("UNAUTHENTICATED"), "{body}");

    // Scripts keep their bearer access, with JSON errors.
    let auditor_token = app.token_for(AUDITOR).await;
    let response = app
        .client
        .get(format!(
            "{}/reports/oversight?fiscalYear=2027&quarter=2",
            app.address
        ))
        .bearer_auth(&auditor_token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(!response.text().await.unwrap().contains("Sign out"));
}

#[tokio::test]
async fn wrong_passwords_and_forged_forms_open_no_session() {
    let app = TestApp::spawn().await;
    staff(&app).await;
    let (cookie, csrf) = sign_in_form(&app).await;

    // A wrong password: the form again, with the email kept and the error announced.
    let response = post_sign_in(
        &app,
        &cookie,
        &[("email", AUDITOR), ("password", "wrong"), ("csrf", &csrf)],
        Some(&app.address),
    )
    .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(set_cookie(&response, "bac_session").is_none());
    let html = response.text().await.unwrap();
    assert!(html.contains("<title>Error: Sign in — bac-metrics</title>"));
    assert!(html.contains("role=\"alert\""));
    assert!(html.contains("The email address or password is not right"));
    assert!(html.contains(&format!("value=\"{AUDITOR}\"")));
    assert!(html.contains("aria-invalid=\"true\""));
    // It went through the one password check, which audits the failure.
    let failures: i64 = bac_metrics::db::schema::audit_events::table
        .filter(bac_metrics::db::schema::audit_events::action.eq("auth.login_failed"))
        .count()
        .get_result(&mut app.connection())
        .unwrap();
    assert_eq!(failures, 1);

    // No double-submit cookie, a token that does not match it, or a post from another site.
    let good = [("email", AUDITOR), ("password", PASSWORD), ("csrf", &csrf)];
    for (cookie, fields, origin) in [
        ("", good.to_vec(), Some(app.address.as_str())),
        (
            cookie.as_str(),
            vec![
                ("email", AUDITOR),
                ("password", PASSWORD),
                ("csrf", "forged"),
            ],
            Some(app.address.as_str()),
        ),
        (cookie.as_str(), good.to_vec(), Some("https://evil.example")),
    ] {
        let response = post_sign_in(&app, cookie, &fields, origin).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        assert!(set_cookie(&response, "bac_session").is_none());
        assert!(response
            .text()
            .await
            .unwrap()
            .contains("did not come from this site"));
    }
    // Empty fields are named, and check nothing.
    let response = post_sign_in(
        &app,
        &cookie,
        &[("email", ""), ("password", ""), ("csrf", &csrf)],
        None,
    )
    .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    // A `next` leaving the site is ignored.
    let response = post_sign_in(
        &app,
        &cookie,
        &[
            ("email", AUDITOR),
            ("password", PASSWORD),
            ("csrf", &csrf),
            ("next", "//evil.example/phish"),
        ],
        None,
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/web/");
    let open: i64 = sessions::table
        .filter(sessions::kind.eq("browser"))
        .count()
        .get_result(&mut app.connection())
        .unwrap();
    assert_eq!(open, 1, "only the last, genuine sign-in opened a session");
}

#[tokio::test]
async fn sign_out_needs_the_session_form_token_and_ends_the_session() {
    let app = TestApp::spawn().await;
    staff(&app).await;
    let session = sign_in(&app, AUDITOR).await;
    let html = get_page(&app, "/web/", Some(&session))
        .await
        .text()
        .await
        .unwrap();
    let form_token = hidden_field(&html, "csrf");

    // Another session's token (or none) does not sign this one out.
    let other = sign_in(&app, AUDITOR).await;
    let other_html = get_page(&app, "/web/", Some(&other))
        .await
        .text()
        .await
        .unwrap();
    let other_token = hidden_field(&other_html, "csrf");
    assert_ne!(form_token, other_token);
    for token in ["", other_token.as_str()] {
        let response = app
            .client
            .post(format!("{}/web/sign-out", app.address))
            .header(header::COOKIE, &session)
            .form(&[("csrf", token)])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
    }
    assert_eq!(
        get_page(&app, "/web/", Some(&session)).await.status(),
        StatusCode::OK
    );

    let response = app
        .client
        .post(format!("{}/web/sign-out", app.address))
        .header(header::COOKIE, &session)
        .header(header::ORIGIN, &app.address)
        .form(&[("csrf", form_token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/web/sign-in?notice=signed-out");
    let (_, cleared) = set_cookie(&response, "bac_session").unwrap();
    assert!(cleared.contains("Max-Age=0"));
    // The very next request with the old cookie is refused: back to sign in.
    let response = get_page(&app, "/web/", Some(&session)).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(location(&response).starts_with("/web/sign-in?next=%2Fweb%2F&notice=session-ended"));
    let response = get_page(
        &app,
        "/reports/oversight?fiscalYear=2027&quarter=2",
        Some(&session),
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    // The other session is untouched.
    assert_eq!(
        get_page(&app, "/web/", Some(&other)).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn deactivation_and_role_changes_end_cookie_sessions() {
    let app = TestApp::spawn().await;
    staff(&app).await;
    let session = sign_in(&app, AUDITOR).await;
    assert_eq!(
        get_page(&app, "/web/", Some(&session)).await.status(),
        StatusCode::OK
    );
    // The role changes behind the session's back: the cookie is out of date.
    diesel::update(users::table.filter(users::email.eq(AUDITOR)))
        .set(users::role.eq(Role::Admin))
        .execute(&mut app.connection())
        .unwrap();
    let response = get_page(&app, "/web/", Some(&session)).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(location(&response).contains("notice=session-ended"));
    let (_, cleared) = set_cookie(&response, "bac_session").unwrap();
    assert!(cleared.contains("Max-Age=0"));

    // A fresh sign-in, then deactivation through the API.
    let session = sign_in(&app, AUDITOR).await;
    assert_eq!(
        get_page(&app, "/web/", Some(&session)).await.status(),
        StatusCode::OK
    );
    app.create_user("boss@test.example", Role::Admin, "AGENCY", false)
        .await;
    let boss = app.token_for("boss@test.example").await;
    let (_, body) = app
        .post(
            Some(&boss),
            "{ users(first: 100) { edges { node { id email } } } }",
            json!({}),
        )
        .await;
    let id = body["data"]["users"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|edge| edge["node"]["email"] == AUDITOR)
        .map(|edge| edge["node"]["id"].clone())
        .expect("the auditor is listed");
    let (_, body) = app
        .post(
            Some(&boss),
            "mutation($id: ID!) { deactivateUser(id: $id) { active } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(body["data"]["deactivateUser"]["active"], false, "{body}");
    let response = get_page(&app, "/web/", Some(&session)).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    // Refused cookies are counted like refused tokens, never chained one by one (anyone can
    // send a cookie).
    assert!(
        app.auth
            .refusals()
            .tokens_total
            .load(std::sync::atomic::Ordering::Relaxed)
            >= 2
    );
    let chained: i64 = bac_metrics::db::schema::audit_events::table
        .filter(bac_metrics::db::schema::audit_events::action.like("%refused%"))
        .count()
        .get_result(&mut app.connection())
        .unwrap();
    assert_eq!(chained, 0);
}

#[tokio::test]
async fn other_roles_get_a_friendly_refusal_and_strangers_the_sign_in_page() {
    let app = TestApp::spawn().await;
    staff(&app).await;
    // No session: a browser is sent to sign in, and back afterwards.
    let response = get_page(&app, "/reports/oversight?fiscalYear=2026&quarter=1", None).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&response),
        "/web/sign-in?next=%2Freports%2Foversight%3FfiscalYear%3D2026%26quarter%3D1"
    );
    let response = get_page(&app, "/web", None).await;
    assert_eq!(location(&response), "/web/");
    let response = get_page(&app, "/web/", None).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/web/sign-in?next=%2Fweb%2F");
    // The sign-in page carries where to return.
    let html = get_page(
        &app,
        "/web/sign-in?next=%2Freports%2Foversight%3FfiscalYear%3D2026%26quarter%3D1",
        None,
    )
    .await
    .text()
    .await
    .unwrap();
    assert_eq!(
        hidden_field(&html, "next"),
        "/reports/oversight?fiscalYear=2026&amp;quarter=1"
    );

    // An agent may sign in, but reports are not for them: a 403 page that says why.
    let session = sign_in(&app, AGENT).await;
    for path in [
        "/web/",
        "/reports/oversight?fiscalYear=2026&quarter=1",
        "/export/oversight-report.csv?fiscalYear=2026&quarter=1",
    ] {
        let response = get_page(&app, path, Some(&session)).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{path}");
        assert!(response.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        let html = response.text().await.unwrap();
        assert!(html.contains("You do not have access to oversight reports"));
        assert!(html.contains("whose role is agent"));
        assert!(html.contains("auditor and admin"));
        assert!(html.contains("Sign out"), "the agent can still sign out");
    }
    // A bad quarter from a signed-in auditor: a page naming the problem.
    let session = sign_in(&app, AUDITOR).await;
    let response = get_page(
        &app,
        "/reports/oversight?fiscalYear=2026&quarter=9",
        Some(&session),
    )
    .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response
        .text()
        .await
        .unwrap()
        .contains("Quarter: a fiscal quarter is 1, 2, 3 or 4."));
}

#[tokio::test]
async fn the_session_cookie_is_secure_behind_tls() {
    let app = TestApp::spawn().await;
    staff(&app).await;
    // Behind a TLS-terminating proxy that says so: Secure, and the __Host- prefix.
    let response = app
        .client
        .get(format!("{}/web/sign-in", app.address))
        .header("x-forwarded-proto", "https")
        .send()
        .await
        .unwrap();
    let (_, attributes) = set_cookie(&response, "__Host-bac_sign_in").unwrap();
    assert!(attributes.ends_with("; Secure"), "{attributes}");

    // WEB_COOKIE_SECURE=always: whatever the request says; the plain name is not read.
    let app = TestApp::spawn_with(&[
        ("WEB_COOKIE_SECURE", "always"),
        ("WEB_SESSION_TTL_SECONDS", "600"),
    ])
    .await;
    staff(&app).await;
    let response = get_page(&app, "/web/sign-in", None).await;
    let (cookie, _) = set_cookie(&response, "__Host-bac_sign_in").unwrap();
    let csrf = hidden_field(&response.text().await.unwrap(), "csrf");
    let response = post_sign_in(
        &app,
        &cookie,
        &[("email", AUDITOR), ("password", PASSWORD), ("csrf", &csrf)],
        None,
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (session, attributes) = set_cookie(&response, "__Host-bac_session").unwrap();
    assert!(attributes.contains("Max-Age=600") && attributes.ends_with("; Secure"));
    assert_eq!(
        get_page(&app, "/web/", Some(&session)).await.status(),
        StatusCode::OK
    );
    let plain = session.replace("__Host-bac_session", "bac_session");
    assert_eq!(
        get_page(&app, "/web/", Some(&plain)).await.status(),
        StatusCode::SEE_OTHER
    );
}
