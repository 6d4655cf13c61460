//! The hosted survey page (`/s/{token}`) and survey links: what the page shows and sends, that
//! it answers through the same rules as `submitSurveyResponse` (one-time, expiry, shared rate
//! limit, answer rules), that every unusable link gets the same page, and that
//! `createSurveyInvitation` and the invitations import hand out links once.

use bac_metrics::db::{enums::Role, schema::audit_events};
use diesel::prelude::*;
use reqwest::{header, StatusCode};
use serde_json::{json, Value};

use crate::{
    fixture::{self, World},
    helpers::{first_error_code, TestApp},
};

const CREATE: &str = "mutation($id: ID!) { createSurveyInvitation(interactionId: $id, kind: POST_CALL) { token link invitation { id } } }";
const SUBMIT: &str = "mutation($token: String!, $answers: SurveyAnswersInput!) { submitSurveyResponse(token: $token, answers: $answers) { accepted } }";
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// A new invitation for the agent's phone call: `(token, link, invitation id)`.
async fn invite(app: &TestApp, world: &World) -> (String, Option<String>, String) {
    let (_, body) = app
        .post(
            Some(world.token(Role::Ingest)),
            CREATE,
            json!({ "id": world.own_interaction }),
        )
        .await;
    let created = &body["data"]["createSurveyInvitation"];
    assert!(created["token"].is_string(), "{body}");
    (
        created["token"].as_str().unwrap().to_owned(),
        created["link"].as_str().map(str::to_owned),
        created["invitation"]["id"].as_str().unwrap().to_owned(),
    )
}

async fn get(app: &TestApp, path: &str, accept_language: Option<&str>) -> reqwest::Response {
    let mut request = app.client.get(format!("{}{path}", app.address));
    if let Some(language) = accept_language {
        request = request.header(header::ACCEPT_LANGUAGE, language);
    }
    request.send().await.unwrap()
}

async fn post_form(app: &TestApp, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
    app.client
        .post(format!("{}{path}", app.address))
        .form(form)
        .send()
        .await
        .unwrap()
}

fn header_of<'a>(response: &'a reqwest::Response, name: &str) -> &'a str {
    response
        .headers()
        .get(name)
        .map(|value| value.to_str().unwrap())
        .unwrap_or("")
}

/// The headers every survey page carries.
fn assert_page_headers(response: &reqwest::Response) {
    assert_eq!(header_of(response, "content-security-policy"), CSP);
    assert_eq!(header_of(response, "referrer-policy"), "no-referrer");
    assert_eq!(header_of(response, "cache-control"), "no-store");
    assert_eq!(header_of(response, "x-content-type-options"), "nosniff");
    assert_eq!(header_of(response, "x-frame-options"), "DENY");
}

fn response_count(app: &TestApp) -> i64 {
    use bac_metrics::db::schema::survey_responses;
    survey_responses::table
        .count()
        .get_result(&mut app.connection())
        .unwrap()
}

#[tokio::test]
async fn the_page_names_the_contact_in_either_language_and_nothing_personal() {
    let app = TestApp::spawn().await;
    let world = fixture::build(&app).await;
    let (token, link, _) = invite(&app, &world).await;
    // In development the link is built from the server's own address.
    let path = format!("/s/{token}");
    assert_eq!(
        link.as_deref(),
        Some(format!("{}{path}", app.address).as_str())
    );

    let response = get(&app, &path, None).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_page_headers(&response);
    assert_eq!(header_of(&response, "content-language"), "en");
    assert!(header_of(&response, "content-type").starts_with("text/html"));
    let english = response.text().await.unwrap();
    assert!(english.contains("<html lang=\"en\">"), "{english}");
    // The fixture's call started 2026-11-02T15:00Z: Monday morning in New York.
    assert!(english.contains("your <strong>phone call</strong> with the Business Action Center on <strong>Monday, November 2, 2026</strong>"), "{english}");
    for statement in [
        "I am satisfied with the service I received.",
        "My issue was resolved.",
        "4,000 characters",
        "5 – Strongly agree",
    ] {
        assert!(english.contains(statement), "{statement}");
    }
    assert!(english.contains(&format!("action=\"/s/{token}?lang=en\"")));
    assert!(english.contains("<a href=\"?lang=es\" hreflang=\"es\" lang=\"es\">Español</a>"));
    // Nothing about the customer, and nothing from anywhere else.
    for personal in [
        "Pat Owner",
        "CRM-1",
        "example.com",
        "555-0100",
        "agent@test",
    ] {
        assert!(!english.contains(personal), "{personal} leaked");
    }
    assert!(!english.contains("http://") && !english.contains("https://"));
    assert!(english.contains("<link rel=\"stylesheet\" href=\"/s/assets/survey.css\">"));
    assert!(english.contains("<script src=\"/s/assets/survey.js\" defer></script>"));

    // Spanish from the browser's preference, or from the switch; the switch wins.
    let response = get(&app, &path, Some("es-MX,es;q=0.9,en;q=0.5")).await;
    assert_eq!(header_of(&response, "content-language"), "es");
    let spanish = response.text().await.unwrap();
    assert!(spanish.contains("<html lang=\"es\">"));
    assert!(spanish.contains("su <strong>llamada telefónica</strong> con el Centro de Acción Empresarial del <strong>lunes 2 de noviembre de 2026</strong>"), "{spanish}");
    assert!(spanish.contains("Quedé conforme con el servicio que recibí."));
    assert!(spanish.contains("<a href=\"?lang=en\" hreflang=\"en\" lang=\"en\">English</a>"));
    let switched = get(&app, &format!("{path}?lang=es"), None)
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(switched, spanish);
    let back = get(&app, &format!("{path}?lang=en"), Some("es"))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(back, english);

    // The page's own assets, served here with their types.
    let css = get(&app, "/s/assets/survey.css", None).await;
    assert_eq!(css.status(), StatusCode::OK);
    assert!(header_of(&css, "content-type").starts_with("text/css"));
    let script = get(&app, "/s/assets/survey.js", None).await;
    assert!(header_of(&script, "content-type").starts_with("text/javascript"));
    assert!(script.text().await.unwrap().contains("comment-count"));
}

#[tokio::test]
async fn a_submission_is_one_time_and_every_unusable_link_gets_the_same_page() {
    let app = TestApp::spawn().await;
    let world = fixture::build(&app).await;
    let (token, _, invitation_id) = invite(&app, &world).await;
    let (expired, _, expired_id) = invite(&app, &world).await;
    diesel::sql_query(format!(
        "UPDATE survey_invitations SET sent_at = now() - interval '30 days', expires_at = now() - interval '1 day' WHERE id = {expired_id}"
    ))
    .execute(&mut app.connection())
    .unwrap();
    let before = response_count(&app);

    let path = format!("/s/{token}");
    let response = post_form(
        &app,
        &path,
        &[
            ("satisfaction", "5"),
            ("trust", "4"),
            ("ease", "2"),
            ("resolved", "yes"),
            ("comment", "Quick and friendly."),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_page_headers(&response);
    assert_eq!(header_of(&response, "location"), "/s/thank-you?lang=en");
    assert_eq!(response_count(&app), before + 1);

    // Recorded like submitSurveyResponse records it: the answers, the invitation, the audit
    // event (anonymous, without the comment).
    let (_, body) = app
        .post(
            Some(world.token(Role::Admin)),
            "query($id: ID!) { interaction(id: $id) { surveyResponses { kind satisfaction trust effectiveness ease resolved comment invitationId } } }",
            json!({ "id": world.own_interaction }),
        )
        .await;
    let responses = body["data"]["interaction"]["surveyResponses"]
        .as_array()
        .unwrap();
    let response = responses
        .iter()
        .find(|response| response["invitationId"] == invitation_id.as_str())
        .unwrap_or_else(|| panic!("{body}"));
    assert_eq!(
        response,
        &json!({ "kind": "POST_CALL", "satisfaction": 5, "trust": 4, "effectiveness": null, "ease": 2,
                 "resolved": true, "comment": "Quick and friendly.", "invitationId": invitation_id })
    );
    let (actor, after): (Option<String>, Option<Value>) = audit_events::table
        .filter(audit_events::action.eq("survey_response.submit"))
        .order(audit_events::id.desc())
        .select((audit_events::actor_role, audit_events::after))
        .first(&mut app.connection())
        .unwrap();
    assert_eq!(actor.as_deref(), Some("anonymous"));
    assert!(!after.unwrap().to_string().contains("Quick"));

    let thanks = get(&app, "/s/thank-you?lang=es", None).await;
    assert_eq!(thanks.status(), StatusCode::OK);
    assert_page_headers(&thanks);
    assert!(thanks.text().await.unwrap().contains("<h1>Gracias</h1>"));

    // Used, expired, unknown and malformed links: one status, one page, byte for byte.
    let mut pages = Vec::new();
    for candidate in [
        token.clone(),
        expired.clone(),
        format!("bms_{}", "A".repeat(43)),
        "bms_not-a-token".to_owned(),
        "anything".to_owned(),
    ] {
        let response = get(&app, &format!("/s/{candidate}"), None).await;
        assert_page_headers(&response);
        pages.push((response.status(), response.text().await.unwrap()));
    }
    assert!(pages.iter().all(|page| page == &pages[0]), "{pages:?}");
    assert_eq!(pages[0].0, StatusCode::NOT_FOUND);
    assert!(pages[0].1.contains("This survey link cannot be used"));
    // Submitting through a spent link gets the same page and writes nothing.
    let again = post_form(&app, &path, &[("satisfaction", "1")]).await;
    assert_eq!(again.status(), StatusCode::NOT_FOUND);
    assert_eq!(again.text().await.unwrap(), pages[0].1);
    assert_eq!(response_count(&app), before + 1);
    // And the API refuses the spent token as it always did.
    let (_, body) = app
        .post(
            None,
            SUBMIT,
            json!({ "token": token, "answers": { "satisfaction": 1 } }),
        )
        .await;
    assert_eq!(first_error_code(&body), Some("NOT_FOUND"));
}

#[tokio::test]
async fn errors_bring_the_form_back_with_the_answers_and_spend_nothing() {
    let app = TestApp::spawn().await;
    let world = fixture::build(&app).await;
    let (token, _, _) = invite(&app, &world).await;
    let path = format!("/s/{token}");
    let before = response_count(&app);

    // Nothing answered: the summary names the problem and links to the first question.
    let response = post_form(&app, &path, &[("comment", "   ")]).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_page_headers(&response);
    let page = response.text().await.unwrap();
    assert!(page.contains("<title>Error: How did we do? – Business Action Center</title>"));
    assert!(page.contains(
        "role=\"alert\" aria-labelledby=\"error-summary-title\" tabindex=\"-1\" autofocus"
    ));
    assert!(page
        .contains("<a href=\"#satisfaction-1\">Answer at least one question before sending.</a>"));

    // Two rules broken at once: both listed, each at its field, the other answers kept.
    let long = "é".repeat(4001);
    let response = post_form(
        &app,
        &format!("{path}?lang=en"),
        &[
            ("satisfaction", "9"),
            ("ease", "2"),
            ("resolved", "no"),
            ("comment", &long),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = response.text().await.unwrap();
    assert!(page
        .contains("<a href=\"#satisfaction-1\">Question 1: choose one of the five answers.</a>"));
    assert!(page.contains(
        "<a href=\"#comment\">Your comment is longer than 4,000 characters: please shorten it.</a>"
    ));
    assert!(page.contains("<fieldset class=\"question has-error\" id=\"question-satisfaction\" aria-describedby=\"satisfaction-error\">"));
    assert!(page.contains("<p class=\"error-message\" id=\"satisfaction-error\"><span class=\"visually-hidden\">Error:</span> Question 1: choose one of the five answers.</p>"));
    assert!(page.contains("id=\"ease-2\" name=\"ease\" value=\"2\" checked>"));
    assert!(page.contains("id=\"resolved-no\" name=\"resolved\" value=\"no\" checked>"));
    assert!(page.contains(&format!(
        "aria-describedby=\"comment-hint comment-error\" aria-invalid=\"true\">{long}</textarea>"
    )));

    // A value no form of ours sends is named too, in the page's language.
    let response = post_form(
        &app,
        &format!("{path}?lang=es"),
        &[("trust", "lots"), ("satisfaction", "4")],
    )
    .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = response.text().await.unwrap();
    assert!(page.contains("<h2 id=\"error-summary-title\">Hay un problema</h2>"));
    assert!(page.contains("Pregunta 2: elija una de las cinco respuestas."));
    assert!(page.contains("id=\"satisfaction-4\" name=\"satisfaction\" value=\"4\" checked>"));

    // Nothing was recorded and the link still works.
    assert_eq!(response_count(&app), before);
    let response = post_form(&app, &path, &[("efficiency", "4")]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response_count(&app), before + 1);
}

#[tokio::test]
async fn the_page_and_the_api_share_one_rate_limit() {
    let app = TestApp::spawn_with(&[("SURVEY_SUBMISSIONS_PER_MINUTE", "4")]).await;
    let world = fixture::build(&app).await;
    let (token, _, _) = invite(&app, &world).await;
    let path = format!("/s/{token}");
    // The fixture's own survey, one attempt over GraphQL and two on the page (answers that
    // pass, links that do not) use up this address's minute…
    let (_, body) = app
        .post(
            None,
            SUBMIT,
            json!({ "token": "bms_unknown", "answers": { "satisfaction": 1 } }),
        )
        .await;
    assert_eq!(first_error_code(&body), Some("NOT_FOUND"));
    let unknown = format!("/s/bms_{}", "x".repeat(43));
    for _ in 0..2 {
        let response = post_form(&app, &unknown, &[("trust", "3")]).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
    }
    // (Answers the rules refuse are turned back before anything else and count for nothing.)
    let response = post_form(&app, &path, &[]).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // …so the page's next one is refused, with the answers kept and the wait stated.
    let response = post_form(&app, &path, &[("satisfaction", "5")]).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    // The wait is what is left of the minute the limit counts in.
    let wait: u64 = header_of(&response, "retry-after").parse().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    assert_page_headers(&response);
    let page = response.text().await.unwrap();
    assert!(page.contains("Too many surveys were sent from your connection in the last minute."));
    assert!(page.contains("id=\"satisfaction-5\" name=\"satisfaction\" value=\"5\" checked>"));
    // And so is the API's.
    let (_, body) = app
        .post(
            None,
            SUBMIT,
            json!({ "token": token, "answers": { "satisfaction": 1 } }),
        )
        .await;
    assert_eq!(first_error_code(&body), Some("RATE_LIMITED"));
}

const INVITATIONS_CSV: &str =
    "source,external_id,interaction_source,interaction_external_id,kind,sent_at
crm,inv-2,phone-system,call-2,post_call,2026-11-03T10:00:00Z
crm,inv-3,phone-system,call-3,post_call,2026-11-03T10:00:00Z
crm,inv-1,phone-system,call-1,post_call,2026-11-03T10:00:00Z
crm,inv-bad,phone-system,chat-1,post_call,2026-11-03T10:00:00Z
";

async fn import_invitations(app: &TestApp, token: &str, query: &str) -> (StatusCode, Value) {
    let response = app
        .client
        .post(format!("{}/import/survey-invitations{query}", app.address))
        .bearer_auth(token)
        .header(header::CONTENT_TYPE, "text/csv")
        .body(INVITATIONS_CSV)
        .send()
        .await
        .unwrap();
    (response.status(), response.json().await.unwrap())
}

#[tokio::test]
async fn an_invitations_import_issues_each_new_invitation_its_link_once() {
    let app = TestApp::spawn().await;
    let world = fixture::build(&app).await;
    let ingest = world.token(Role::Ingest);
    let mut call = fixture::interaction_input("call-3", None, "TEAM-A1", "CRM-3");
    call["agentEmail"] = json!("agent@test.example");
    let (_, body) = app
        .post(Some(ingest), fixture::RECORD, json!({ "input": call }))
        .await;
    assert_eq!(body["data"]["recordInteraction"]["created"], true, "{body}");

    // Links are only for survey invitations, for 1–90 days; refused before anything is read.
    for (kind, query, field) in [
        ("interactions", "?links=true", "links"),
        ("survey-invitations", "?links=true&linkDays=0", "linkDays"),
        ("survey-invitations", "?links=maybe", "links"),
    ] {
        let response = app
            .client
            .post(format!("{}/import/{kind}{query}", app.address))
            .bearer_auth(ingest)
            .header(header::CONTENT_TYPE, "text/csv")
            .body("source\n")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{kind}{query}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["errors"][0]["extensions"]["field"], field, "{body}");
    }

    let started = chrono::Utc::now();
    let (status, report) = import_invitations(&app, ingest, "?links=true&linkDays=7").await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["inserted"], 3, "{report}");
    assert_eq!(report["rejected"], 1, "{report}");
    assert_eq!(report["rejected_rows"][0]["line"], 5);
    // call-1 already has its post-call answer (the fixture's survey): its new invitation is
    // recorded, but a second link would invite a second answer, so it gets none.
    let links = report["links"].as_array().unwrap();
    assert_eq!(links.len(), 2, "{report}");
    assert_eq!(
        links
            .iter()
            .map(|link| (
                link["line"].as_u64().unwrap(),
                link["external_id"].as_str().unwrap()
            ))
            .collect::<Vec<_>>(),
        vec![(2, "inv-2"), (3, "inv-3")]
    );
    for link in links {
        let url = link["link"].as_str().unwrap();
        assert!(url.starts_with(&format!("{}/s/bms_", app.address)), "{url}");
        let expires_at: chrono::DateTime<chrono::Utc> =
            link["expires_at"].as_str().unwrap().parse().unwrap();
        let days = (expires_at - started).num_hours() as f64 / 24.0;
        assert!((6.9..=7.1).contains(&days), "{days}");
        let page = app.client.get(url).send().await.unwrap();
        assert_eq!(page.status(), StatusCode::OK);
        assert!(page
            .text()
            .await
            .unwrap()
            .contains("<strong>Monday, November 2, 2026</strong>"));
    }
    // Each batch that issued links says how many in its own audit event.
    let issued: Vec<Option<Value>> = audit_events::table
        .filter(audit_events::action.eq("survey_invitation.links_issued"))
        .select(audit_events::after)
        .load(&mut app.connection())
        .unwrap();
    let total: u64 = issued
        .iter()
        .map(|after| after.as_ref().unwrap()["links"].as_u64().unwrap())
        .sum();
    assert_eq!(total, 2);

    // The same rows again: unchanged, and no link is shown or replaced.
    let (_, again) = import_invitations(&app, ingest, "?links=true").await;
    assert_eq!(again["unchanged"], 3, "{again}");
    assert_eq!(again["links"], json!([]));
    let still = app
        .client
        .get(links[0]["link"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(still.status(), StatusCode::OK);
    // Without links=true the report has no links at all.
    let (_, plain) = import_invitations(&app, ingest, "").await;
    assert!(plain.get("links").is_none(), "{plain}");
}

#[tokio::test]
async fn links_use_the_public_base_url_and_production_needs_one() {
    let app = TestApp::spawn_with(&[("PUBLIC_BASE_URL", "https://survey.bac.example.gov/")]).await;
    let world = fixture::build(&app).await;
    let (token, link, _) = invite(&app, &world).await;
    assert_eq!(
        link,
        Some(format!("https://survey.bac.example.gov/s/{token}"))
    );

    let app = TestApp::spawn_with(&[("APP_ENV", "production")]).await;
    let world = fixture::build(&app).await;
    let (_, link, _) = invite(&app, &world).await;
    assert_eq!(link, None, "no public address, no link");
    let (status, body) = import_invitations(&app, world.token(Role::Ingest), "?links=true").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["errors"][0]["extensions"]["field"], "links");
}
