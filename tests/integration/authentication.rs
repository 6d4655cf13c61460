//! Login, token refusal, refresh rotation and reuse detection, logout and deactivation.

use bac_metrics::{audit, db::enums::Role, db::schema::audit_events};
use chrono::Utc;
use diesel::prelude::*;
use jsonwebtoken::{Algorithm, Header};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{first_error_code, first_error_message, TestApp, PASSWORD};

const ME: &str = "{ me { email role } }";

async fn app_with_agent() -> TestApp {
    let app = TestApp::spawn().await;
    app.seed_org().await;
    app.create_user("agent@test.example", Role::Agent, "TEAM-A1", true)
        .await;
    app
}

#[tokio::test]
async fn login_succeeds_with_the_right_password_and_tokens_work() {
    let app = app_with_agent().await;
    let (status, body) = app.login("Agent@Test.Example ", PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let login = &body["data"]["login"];
    assert_eq!(login["tokenType"], "Bearer");
    assert_eq!(login["user"]["role"], "AGENT");
    assert!(login["refreshToken"].as_str().unwrap().starts_with("bmr_"));

    let token = login["accessToken"].as_str().unwrap();
    let (status, body) = app.post(Some(token), ME, json!({})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["data"]["me"]["email"], "agent@test.example");
}

#[tokio::test]
async fn login_fails_alike_for_wrong_password_unknown_email_and_service_accounts() {
    let app = app_with_agent().await;
    app.create_user("robot@test.example", Role::Ingest, "AGENCY", false)
        .await;
    for (email, password) in [
        ("agent@test.example", "wrong password entirely"),
        ("nobody@test.example", PASSWORD),
        ("robot@test.example", PASSWORD),
        ("robot@test.example", ""),
    ] {
        let (status, body) = app.login(email, password).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["data"], Value::Null, "{body}");
        assert_eq!(first_error_code(&body), Some("UNAUTHENTICATED"));
        assert_eq!(first_error_message(&body), "invalid email or password");
    }
    // Every attempt on a real account is in the audit trail, by account id and reason, with no
    // email; the one naming no account is counted, not written to the chain. The chain verifies.
    let mut connection = app.connection();
    let failures: Vec<(Option<String>, Option<Value>)> = audit_events::table
        .filter(audit_events::action.eq("auth.login_failed"))
        .order(audit_events::id)
        .select((audit_events::entity_id, audit_events::after))
        .load(&mut connection)
        .unwrap();
    assert_eq!(failures.len(), 3, "{failures:?}");
    let reasons: Vec<&str> = failures
        .iter()
        .map(|(_, after)| after.as_ref().unwrap()["reason"].as_str().unwrap())
        .collect();
    assert_eq!(
        reasons,
        ["wrong_password", "service_account", "service_account"]
    );
    assert!(failures.iter().all(|(id, _)| id.is_some()));
    assert!(!serde_json::to_string(&failures).unwrap().contains('@'));
    assert_eq!(
        app.auth
            .refusals()
            .unknown_accounts_total
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );
    let verification = audit::verify_chain(&mut connection).unwrap();
    assert!(verification.ok);
    assert!(verification.checked >= 5, "{verification:?}");
}

/// Builds claims that are valid in every respect, for a real session of the agent.
async fn valid_claims(app: &TestApp) -> Value {
    let (_, body) = app.login("agent@test.example", PASSWORD).await;
    let token = body["data"]["login"]["accessToken"].as_str().unwrap();
    let claims = app.keys.verify(token).expect("login token verifies");
    serde_json::to_value(claims).unwrap()
}

async fn assert_refused(app: &TestApp, token: &str, expected_message: Option<&str>) {
    let (status, body) = app.post_graphql_response(Some(token), ME).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(first_error_code(&body), Some("UNAUTHENTICATED"), "{body}");
    assert_eq!(body["data"], Value::Null);
    if let Some(expected) = expected_message {
        assert!(
            first_error_message(&body).contains(expected),
            "expected {expected:?} in {body}"
        );
    }
}

#[tokio::test]
async fn every_malformed_or_misused_token_is_refused() {
    let app = app_with_agent().await;
    let claims = valid_claims(&app).await;
    let hs256 = Header::new(Algorithm::HS256);
    let now = Utc::now().timestamp();

    // The untouched claims work, so each refusal below is caused by the one change it makes.
    let (status, _) = app
        .post_graphql_response(Some(&app.keys.sign_raw(&hs256, &claims)), ME)
        .await;
    assert_eq!(status, StatusCode::OK);

    let with = |field: &str, value: Value| {
        let mut changed = claims.clone();
        changed[field] = value;
        changed
    };
    let expired = app.keys.sign_raw(&hs256, &with("exp", json!(now - 120)));
    assert_refused(&app, &expired, Some("expired")).await;
    let not_yet_valid = app.keys.sign_raw(&hs256, &with("nbf", json!(now + 600)));
    assert_refused(&app, &not_yet_valid, Some("not valid yet")).await;
    let future_iat = app.keys.sign_raw(&hs256, &with("iat", json!(now + 600)));
    assert_refused(&app, &future_iat, Some("issued in the future")).await;
    let wrong_issuer = app
        .keys
        .sign_raw(&hs256, &with("iss", json!("someone-else")));
    assert_refused(&app, &wrong_issuer, None).await;
    let wrong_audience = app
        .keys
        .sign_raw(&hs256, &with("aud", json!("another-api")));
    assert_refused(&app, &wrong_audience, None).await;
    let string_exp = app
        .keys
        .sign_raw(&hs256, &with("exp", json!((now + 600).to_string())));
    assert_refused(&app, &string_exp, None).await;
    let role_escalated = app.keys.sign_raw(&hs256, &with("role", json!("ADMIN")));
    assert_refused(&app, &role_escalated, Some("out of date")).await;
    let other_session = app
        .keys
        .sign_raw(&hs256, &with("sid", json!(uuid::Uuid::new_v4())));
    assert_refused(&app, &other_session, Some("session has ended")).await;

    for claim in ["exp", "nbf", "iat", "iss", "aud", "sub", "jti"] {
        let mut missing = claims.clone();
        missing.as_object_mut().unwrap().remove(claim);
        let token = app.keys.sign_raw(&hs256, &missing);
        assert_refused(&app, &token, None).await;
    }

    // Signed with another key.
    let other_keys = bac_metrics::auth::JwtKeys::new(
        b"a-completely-different-secret-of-32-bytes!",
        &app.config.tokens,
    );
    assert_refused(&app, &other_keys.sign_raw(&hs256, &claims), None).await;
    // Same key, another algorithm.
    let hs512 = app.keys.sign_raw(&Header::new(Algorithm::HS512), &claims);
    assert_refused(&app, &hs512, None).await;
    // `alg: none` with no signature.
    let b64 = |value: &Value| {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value.to_string())
    };
    let unsigned = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "JWT"})),
        b64(&claims)
    );
    assert_refused(&app, &unsigned, None).await;
    // Garbage and a non-Bearer scheme.
    assert_refused(&app, "not-a-jwt", None).await;
    // No refusal wrote to the audit chain (an anonymous caller must not be able to grow it);
    // each was counted, and one summary event carries the counts by reason, never a token.
    let chain_length = || -> i64 {
        audit_events::table
            .count()
            .get_result(&mut app.connection())
            .unwrap()
    };
    let before_summary = chain_length();
    let refused_rows: i64 = audit_events::table
        .filter(audit_events::action.eq("auth.token_refused"))
        .count()
        .get_result(&mut app.connection())
        .unwrap();
    assert_eq!(refused_rows, 0);
    let refusals = app.auth.refusals();
    assert_eq!(
        refusals
            .tokens_total
            .load(std::sync::atomic::Ordering::Relaxed),
        19
    );
    refusals
        .write_summary(&app.database, std::time::Duration::from_secs(900))
        .await;
    assert_eq!(chain_length(), before_summary + 1);
    let summary: serde_json::Value = audit_events::table
        .filter(audit_events::action.eq("auth.refusals_summary"))
        .select(audit_events::after.assume_not_null())
        .first(&mut app.connection())
        .unwrap();
    let by_reason = summary["refused_tokens"].as_object().unwrap();
    assert_eq!(
        by_reason
            .values()
            .map(|count| count.as_u64().unwrap())
            .sum::<u64>(),
        19,
        "{summary}"
    );
    assert!(by_reason.contains_key("expired"), "{summary}");
    assert!(!summary.to_string().contains("eyJ"));
    // Nothing new to summarise: no further event.
    refusals
        .write_summary(&app.database, std::time::Duration::from_secs(900))
        .await;
    assert_eq!(chain_length(), before_summary + 1);
    let response = app
        .client
        .post(app.graphql_url())
        .header("authorization", "Basic YWdlbnQ6cGFzcw==")
        .header("accept", "application/graphql-response+json")
        .json(&json!({ "query": ME }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_session() {
    let app = app_with_agent().await;
    let (_, body) = app.login("agent@test.example", PASSWORD).await;
    let first_access = body["data"]["login"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let first_refresh = body["data"]["login"]["refreshToken"]
        .as_str()
        .unwrap()
        .to_owned();

    let refresh = "mutation($token: String!) { refreshSession(refreshToken: $token) { accessToken refreshToken } }";
    let (_, body) = app
        .post(None, refresh, json!({ "token": first_refresh }))
        .await;
    let second_access = body["data"]["refreshSession"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let second_refresh = body["data"]["refreshSession"]["refreshToken"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(first_refresh, second_refresh);
    let (status, _) = app.post_graphql_response(Some(&second_access), ME).await;
    assert_eq!(status, StatusCode::OK);

    // An unknown refresh token is simply refused.
    let (_, body) = app
        .post(None, refresh, json!({ "token": "bmr_unknown" }))
        .await;
    assert_eq!(first_error_code(&body), Some("UNAUTHENTICATED"));

    // Presenting the spent token again: refused, and the whole session ends.
    let (_, body) = app
        .post(None, refresh, json!({ "token": first_refresh }))
        .await;
    assert_eq!(first_error_code(&body), Some("UNAUTHENTICATED"));
    assert!(
        first_error_message(&body).contains("already used"),
        "{body}"
    );
    assert_refused(&app, &second_access, Some("session has ended")).await;
    assert_refused(&app, &first_access, Some("session has ended")).await;
    let (_, body) = app
        .post(None, refresh, json!({ "token": second_refresh }))
        .await;
    assert_eq!(first_error_code(&body), Some("UNAUTHENTICATED"));
}

#[tokio::test]
async fn logout_and_deactivation_take_effect_on_the_next_request() {
    let app = app_with_agent().await;
    let (_, body) = app.login("agent@test.example", PASSWORD).await;
    let access = body["data"]["login"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let refresh_token = body["data"]["login"]["refreshToken"]
        .as_str()
        .unwrap()
        .to_owned();

    let (_, body) = app
        .post(Some(&access), "mutation { logout }", json!({}))
        .await;
    assert_eq!(body["data"]["logout"], true, "{body}");
    assert_refused(&app, &access, Some("session has ended")).await;
    let (_, body) = app
        .post(
            None,
            "mutation($t: String!) { refreshSession(refreshToken: $t) { accessToken } }",
            json!({ "t": refresh_token }),
        )
        .await;
    assert_eq!(first_error_code(&body), Some("UNAUTHENTICATED"));

    // Deactivation (by an administrator, here directly in the database).
    let (_, body) = app.login("agent@test.example", PASSWORD).await;
    let access = body["data"]["login"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, _) = app.post_graphql_response(Some(&access), ME).await;
    assert_eq!(status, StatusCode::OK);
    diesel::sql_query("UPDATE users SET active = false WHERE email = 'agent@test.example'")
        .execute(&mut app.connection())
        .unwrap();
    assert_refused(&app, &access, Some("deactivated")).await;
    let (_, body) = app.login("agent@test.example", PASSWORD).await;
    assert_eq!(first_error_message(&body), "invalid email or password");
}

#[tokio::test]
async fn audit_trail_refuses_updates_and_detects_tampering() {
    let app = app_with_agent().await;
    app.login("agent@test.example", PASSWORD).await;
    app.login("agent@test.example", "wrong wrong wrong").await;
    let mut connection = app.connection();
    let before = audit::verify_chain(&mut connection).unwrap();
    assert!(before.ok, "{before:?}");

    // The database itself refuses to change or remove events.
    let update = diesel::sql_query("UPDATE audit_events SET action = 'x'").execute(&mut connection);
    assert!(update.is_err());
    let delete = diesel::sql_query("DELETE FROM audit_events").execute(&mut connection);
    assert!(delete.is_err());

    // Someone with the power to bypass triggers edits one event: verification names it.
    let victim: i64 = audit_events::table
        .select(audit_events::id)
        .order(audit_events::id.asc())
        .offset(1)
        .first(&mut connection)
        .unwrap();
    use diesel::connection::SimpleConnection;
    connection
        .batch_execute(&format!(
            "ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update_or_delete; \
             UPDATE audit_events SET actor_role = 'admin' WHERE id = {victim}; \
             ALTER TABLE audit_events ENABLE TRIGGER audit_events_no_update_or_delete;"
        ))
        .unwrap();
    let after = audit::verify_chain(&mut connection).unwrap();
    assert!(!after.ok);
    assert_eq!(after.first_broken_id, Some(victim));
}
