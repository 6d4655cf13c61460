//! Access tokens of an external OpenID Connect identity provider: the test runs its own provider
//! (discovery document and JWKS, actix on port 0) with fixed RSA and P-256 keys
//! (`identity_provider_keys/`, generated once for these tests), signs tokens with them, and
//! checks what the server accepts, whom it maps them to, what it refuses, and how it fetches keys.
//! For the web front's sign-in it also plays the provider's authorization and token endpoints
//! (signing in, without asking, whoever the test says, and enforcing PKCE).

use std::sync::{
    atomic::{AtomicU64, Ordering},
    Arc, Mutex,
};
use std::time::Duration;

use actix_web::{web, App, HttpResponse, HttpServer};
use bac_metrics::{
    audit::Actor,
    db::{
        enums::Role,
        schema::{audit_events, sessions, users},
    },
    records::organisation,
};
use chrono::Utc;
use diesel::prelude::*;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{first_error_code, first_error_message, TestApp};

const AUDIENCE: &str = "api://bac-metrics-test";
const ME: &str = "{ me { email role } }";

/// A signing key of the test provider: its private half and its public JWK.
struct TestKey {
    kid: &'static str,
    algorithm: Algorithm,
    der: &'static [u8],
    jwk: &'static str,
}

const RSA_1: TestKey = TestKey {
    kid: "rsa-1",
    algorithm: Algorithm::RS256,
    der: include_bytes!("identity_provider_keys/rsa-1.der"),
    jwk: include_str!("identity_provider_keys/rsa-1.jwk.json"),
};
const RSA_2: TestKey = TestKey {
    kid: "rsa-2",
    algorithm: Algorithm::RS256,
    der: include_bytes!("identity_provider_keys/rsa-2.der"),
    jwk: include_str!("identity_provider_keys/rsa-2.jwk.json"),
};
const EC_1: TestKey = TestKey {
    kid: "ec-1",
    algorithm: Algorithm::ES256,
    der: include_bytes!("identity_provider_keys/ec-1.der"),
    jwk: include_str!("identity_provider_keys/ec-1.jwk.json"),
};

impl TestKey {
    fn encoding_key(&self) -> EncodingKey {
        match self.algorithm {
            Algorithm::ES256 => EncodingKey::from_ec_der(self.der),
            _ => EncodingKey::from_rsa_der(self.der),
        }
    }

    /// The public key as the provider publishes it.
    fn published(&self) -> Value {
        let mut jwk: Value = serde_json::from_str(self.jwk).unwrap();
        jwk["kid"] = json!(self.kid);
        jwk["use"] = json!("sig");
        jwk["alg"] = json!(format!("{:?}", self.algorithm));
        jwk
    }
}

/// The test's identity provider: serves its discovery document and its current key set, and
/// counts the fetches of each.
struct Provider {
    issuer: String,
    keys: Arc<Mutex<Vec<Value>>>,
    jwks_fetches: Arc<AtomicU64>,
    discovery_fetches: Arc<AtomicU64>,
    sign_ins: Arc<SignIns>,
}

/// The provider's side of browser sign-ins: whom it signs in, and the codes it issued.
#[derive(Default)]
struct SignIns {
    /// The email the next sign-in is for.
    email: Mutex<String>,
    /// Put this nonce in the ID token instead of the one asked for (a replayed token).
    nonce_override: Mutex<Option<String>>,
    /// Issued codes and what each was issued for.
    codes: Mutex<std::collections::HashMap<String, IssuedCode>>,
}

/// (client id, redirect URI, nonce, PKCE challenge, email)
type IssuedCode = (String, String, String, String, String);

#[derive(serde::Deserialize)]
struct AuthorizeQuery {
    response_type: String,
    client_id: String,
    redirect_uri: String,
    scope: String,
    state: String,
    nonce: String,
    code_challenge: String,
    code_challenge_method: String,
}

#[derive(serde::Deserialize)]
struct TokenForm {
    grant_type: String,
    code: String,
    redirect_uri: String,
    client_id: String,
    code_verifier: String,
}

impl Provider {
    async fn start(keys: &[&TestKey]) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let issuer = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        let published = Arc::new(Mutex::new(
            keys.iter().map(|key| key.published()).collect::<Vec<_>>(),
        ));
        let jwks_fetches = Arc::new(AtomicU64::new(0));
        let discovery_fetches = Arc::new(AtomicU64::new(0));
        let sign_ins = Arc::new(SignIns::default());
        let state = (
            issuer.clone(),
            published.clone(),
            jwks_fetches.clone(),
            discovery_fetches.clone(),
            sign_ins.clone(),
        );
        let server = HttpServer::new(move || {
            let (issuer, keys, jwks, discovery, sign_ins) = state.clone();
            let token_sign_ins = sign_ins.clone();
            let token_issuer = issuer.clone();
            App::new()
                .route(
                    "/.well-known/openid-configuration",
                    web::get().to(move || {
                        discovery.fetch_add(1, Ordering::SeqCst);
                        let document = json!({
                            "issuer": issuer,
                            "jwks_uri": format!("{issuer}/keys"),
                            "authorization_endpoint": format!("{issuer}/authorize"),
                            "token_endpoint": format!("{issuer}/token"),
                        });
                        async move { HttpResponse::Ok().json(document) }
                    }),
                )
                .route(
                    "/authorize",
                    web::get().to(move |query: web::Query<AuthorizeQuery>| {
                        let query = query.into_inner();
                        assert_eq!(query.response_type, "code");
                        assert_eq!(query.code_challenge_method, "S256");
                        assert!(query.scope.split(' ').any(|scope| scope == "openid"));
                        let code = format!("code-{}", uuid::Uuid::new_v4().simple());
                        let email = sign_ins.email.lock().unwrap().clone();
                        sign_ins.codes.lock().unwrap().insert(
                            code.clone(),
                            (
                                query.client_id,
                                query.redirect_uri.clone(),
                                query.nonce,
                                query.code_challenge,
                                email,
                            ),
                        );
                        let location =
                            format!("{}?code={code}&state={}", query.redirect_uri, query.state);
                        async move {
                            HttpResponse::SeeOther()
                                .insert_header(("Location", location))
                                .finish()
                        }
                    }),
                )
                .route(
                    "/token",
                    web::post().to(move |form: web::Form<TokenForm>| {
                        let form = form.into_inner();
                        // Codes are single use.
                        let issued = token_sign_ins.codes.lock().unwrap().remove(&form.code);
                        let answer = match issued {
                            Some((client_id, redirect_uri, nonce, challenge, email))
                                if form.grant_type == "authorization_code"
                                    && client_id == form.client_id
                                    && redirect_uri == form.redirect_uri
                                    && pkce_challenge(&form.code_verifier) == challenge =>
                            {
                                let nonce = token_sign_ins
                                    .nonce_override
                                    .lock()
                                    .unwrap()
                                    .clone()
                                    .unwrap_or(nonce);
                                let now = Utc::now().timestamp();
                                let id_token = sign(
                                    &RSA_1,
                                    "rsa-1",
                                    &json!({
                                        "iss": token_issuer, "aud": client_id,
                                        "sub": format!("subject-of-{email}"), "email": email,
                                        "email_verified": true, "nonce": nonce,
                                        "iat": now, "exp": now + 300,
                                    }),
                                );
                                HttpResponse::Ok().json(json!({
                                    "id_token": id_token, "access_token": "opaque",
                                    "token_type": "Bearer", "expires_in": 300,
                                }))
                            }
                            _ => HttpResponse::BadRequest().json(json!({"error": "invalid_grant"})),
                        };
                        async move { answer }
                    }),
                )
                .route(
                    "/keys",
                    web::get().to(move || {
                        jwks.fetch_add(1, Ordering::SeqCst);
                        let set = json!({ "keys": *keys.lock().unwrap() });
                        async move { HttpResponse::Ok().json(set) }
                    }),
                )
        })
        .workers(1)
        .disable_signals()
        .listen(listener)
        .unwrap()
        .run();
        tokio::spawn(server);
        Self {
            issuer,
            keys: published,
            jwks_fetches,
            discovery_fetches,
            sign_ins,
        }
    }

    /// Publishes `keys` instead of the current set (a key rotation).
    fn publish(&self, keys: &[&TestKey]) {
        *self.keys.lock().unwrap() = keys.iter().map(|key| key.published()).collect();
    }

    fn jwks_fetches(&self) -> u64 {
        self.jwks_fetches.load(Ordering::SeqCst)
    }

    /// Claims of a token this provider would issue for `email`, valid for ten minutes.
    fn claims(&self, email: &str) -> Value {
        let now = Utc::now().timestamp();
        json!({
            "iss": self.issuer,
            "aud": AUDIENCE,
            "sub": format!("subject-of-{email}"),
            "email": email,
            "email_verified": true,
            "iat": now,
            "nbf": now,
            "exp": now + 600,
            // A role claim the provider might send: the `users` row decides, never this.
            "roles": ["ADMIN"],
            "role": "ADMIN",
        })
    }
}

/// PKCE's S256 challenge of a verifier.
fn pkce_challenge(verifier: &str) -> String {
    use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
    use sha2::{Digest, Sha256};
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// `claims` signed by `key`, its header naming `kid`.
fn sign(key: &TestKey, kid: &str, claims: &Value) -> String {
    let mut header = Header::new(key.algorithm);
    header.kid = Some(kid.to_owned());
    encode(&header, claims, &key.encoding_key()).unwrap()
}

/// A server trusting `provider`, with the org tree, an agent and a supervisor.
async fn app_trusting(provider: &Provider, extra: &[(&str, &str)]) -> TestApp {
    let mut variables = vec![
        ("OIDC_ISSUER", provider.issuer.as_str()),
        ("OIDC_AUDIENCE", AUDIENCE),
    ];
    variables.extend_from_slice(extra);
    let app = TestApp::spawn_with(&variables).await;
    app.seed_org().await;
    app.create_user("agent@test.example", Role::Agent, "TEAM-A1", true)
        .await;
    app.create_user("agent.two@test.example", Role::Agent, "TEAM-A2", true)
        .await;
    app.create_user(
        "supervisor@test.example",
        Role::Supervisor,
        "OFFICE-A",
        true,
    )
    .await;
    app
}

fn audit_event_count(app: &TestApp) -> i64 {
    audit_events::table
        .count()
        .get_result(&mut app.connection())
        .unwrap()
}

fn session_count(app: &TestApp) -> i64 {
    sessions::table
        .count()
        .get_result(&mut app.connection())
        .unwrap()
}

#[tokio::test]
async fn rs256_and_es256_tokens_act_as_the_matching_user_with_their_role() {
    let provider = Provider::start(&[&RSA_1, &EC_1]).await;
    let app = app_trusting(&provider, &[]).await;
    let audit_before = audit_event_count(&app);
    let sessions_before = session_count(&app);

    // RS256, the email in another case than the account's.
    let supervisor = sign(&RSA_1, "rsa-1", &provider.claims("Supervisor@Test.EXAMPLE"));
    let (status, body) = app.post(Some(&supervisor), ME, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["me"]["email"], "supervisor@test.example");
    assert_eq!(
        body["data"]["me"]["role"], "SUPERVISOR",
        "the row's role, not the token's"
    );

    // ES256.
    let agent = sign(&EC_1, "ec-1", &provider.claims("agent@test.example"));
    let (_, body) = app.post(Some(&agent), ME, json!({})).await;
    assert_eq!(body["data"]["me"]["role"], "AGENT", "{body}");

    // Role-scoped data: the agent sees only themselves, the supervisor their office's staff.
    let users_query = "{ users(first: 20) { totalCount } }";
    let (_, body) = app.post(Some(&agent), users_query, json!({})).await;
    assert_eq!(body["data"]["users"]["totalCount"], 1, "{body}");
    let (_, body) = app.post(Some(&supervisor), users_query, json!({})).await;
    assert_eq!(body["data"]["users"]["totalCount"], 3, "{body}");
    // And what the role may not do stays forbidden, whatever the token claims.
    let (_, body) = app
        .post(
            Some(&agent),
            "{ auditEvents(first: 1) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(first_error_code(&body), Some("FORBIDDEN"), "{body}");

    // No session rows, no audit events for reading; the keys were fetched once, through the
    // discovery document.
    assert_eq!(session_count(&app), sessions_before);
    assert_eq!(audit_event_count(&app), audit_before);
    assert_eq!(provider.jwks_fetches(), 1);
    assert_eq!(provider.discovery_fetches.load(Ordering::SeqCst), 1);

    // There is no session here to end.
    let (_, body) = app
        .post(Some(&agent), "mutation { logout }", json!({}))
        .await;
    assert_eq!(first_error_code(&body), Some("BAD_USER_INPUT"), "{body}");
    assert!(first_error_message(&body).contains("identity provider"));
    // Our own tokens keep working beside the provider's.
    let own = app.token_for("agent@test.example").await;
    let (_, body) = app.post(Some(&own), ME, json!({})).await;
    assert_eq!(body["data"]["me"]["role"], "AGENT", "{body}");
}

#[tokio::test]
async fn provider_tokens_failing_a_check_are_unauthenticated_and_not_audited() {
    let provider = Provider::start(&[&RSA_1, &EC_1]).await;
    let app = app_trusting(&provider, &[]).await;
    let valid = provider.claims("agent@test.example");
    // Fetch the keys once, so every case below is judged against them.
    let (_, body) = app
        .post(Some(&sign(&RSA_1, "rsa-1", &valid)), ME, json!({}))
        .await;
    assert_eq!(body["data"]["me"]["role"], "AGENT", "{body}");
    let audit_before = audit_event_count(&app);
    let refused_before = app.auth.refusals().tokens_total.load(Ordering::Relaxed);

    let with = |change: &dyn Fn(&mut Value)| {
        let mut claims = valid.clone();
        change(&mut claims);
        claims
    };
    let now = Utc::now().timestamp();
    let public_pem = include_bytes!("identity_provider_keys/rsa-1.pub.pem");
    let hs256_with_public_key = |kid: Option<&str>| {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = kid.map(str::to_owned);
        encode(&header, &valid, &EncodingKey::from_secret(public_pem)).unwrap()
    };
    let alg_none = {
        use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
        let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT","kid":"rsa-1"}"#);
        let claims = URL_SAFE_NO_PAD.encode(valid.to_string());
        format!("{header}.{claims}.")
    };
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "wrong issuer",
            sign(
                &RSA_1,
                "rsa-1",
                &with(&|c| c["iss"] = json!("https://elsewhere.example")),
            ),
            "another issuer",
        ),
        (
            "wrong audience",
            sign(
                &RSA_1,
                "rsa-1",
                &with(&|c| c["aud"] = json!("api://another-app")),
            ),
            "another audience",
        ),
        (
            "expired",
            sign(
                &RSA_1,
                "rsa-1",
                &with(&|c| {
                    c["exp"] = json!(now - 120);
                    c["iat"] = json!(now - 720);
                    c["nbf"] = json!(now - 720);
                }),
            ),
            "expired",
        ),
        (
            "not yet valid",
            sign(&RSA_1, "rsa-1", &with(&|c| c["nbf"] = json!(now + 600))),
            "not valid yet",
        ),
        (
            "no expiry",
            sign(
                &RSA_1,
                "rsa-1",
                &with(&|c| {
                    c.as_object_mut().unwrap().remove("exp");
                }),
            ),
            "required claim",
        ),
        (
            "unknown key id",
            sign(&RSA_1, "rsa-9", &valid),
            "does not publish",
        ),
        // Signed by another key under rsa-1's id.
        (
            "forged signature",
            sign(&RSA_2, "rsa-1", &valid),
            "signature",
        ),
        // An RSA key's id on an ES256 token: the key may not verify that algorithm.
        (
            "algorithm mismatch",
            sign(&EC_1, "rsa-1", &valid),
            "algorithm",
        ),
        ("alg none", alg_none, "not valid"),
        (
            "HS256 keyed with the public key",
            hs256_with_public_key(Some("rsa-1")),
            "algorithm",
        ),
        (
            "HS256 without a key id",
            hs256_with_public_key(None),
            "not valid",
        ),
        (
            "unverified email",
            sign(
                &RSA_1,
                "rsa-1",
                &with(&|c| c["email_verified"] = json!(false)),
            ),
            "not verified",
        ),
        (
            "no email",
            sign(
                &RSA_1,
                "rsa-1",
                &with(&|c| {
                    c.as_object_mut().unwrap().remove("email");
                }),
            ),
            "no `email`",
        ),
    ];
    for (case, token, message) in &cases {
        let (status, body) = app.post(Some(token), ME, json!({})).await;
        assert_eq!(status, StatusCode::OK, "{case}: {body}");
        assert_eq!(
            first_error_code(&body),
            Some("UNAUTHENTICATED"),
            "{case}: {body}"
        );
        assert!(
            first_error_message(&body).contains(message),
            "{case}: {}",
            first_error_message(&body)
        );
    }
    // Refusals are counted and logged, never written to the audit chain one by one.
    assert_eq!(audit_event_count(&app), audit_before);
    assert_eq!(
        app.auth.refusals().tokens_total.load(Ordering::Relaxed) - refused_before,
        cases.len() as u64
    );
}

#[tokio::test]
async fn provider_tokens_need_an_active_account_and_follow_its_current_role() {
    let provider = Provider::start(&[&RSA_1]).await;
    let app = app_trusting(&provider, &[]).await;

    let stranger = sign(&RSA_1, "rsa-1", &provider.claims("nobody@test.example"));
    let (_, body) = app.post(Some(&stranger), ME, json!({})).await;
    assert_eq!(first_error_code(&body), Some("UNAUTHENTICATED"), "{body}");
    assert!(
        first_error_message(&body).contains("no active account"),
        "{body}"
    );

    let agent = sign(&RSA_1, "rsa-1", &provider.claims("agent@test.example"));
    let (_, body) = app.post(Some(&agent), ME, json!({})).await;
    assert_eq!(body["data"]["me"]["role"], "AGENT", "{body}");

    // A role change is in force on the next request: the row is read every time.
    diesel::update(users::table.filter(users::email.eq("agent@test.example")))
        .set(users::role.eq(Role::Supervisor))
        .execute(&mut app.connection())
        .unwrap();
    let (_, body) = app.post(Some(&agent), ME, json!({})).await;
    assert_eq!(body["data"]["me"]["role"], "SUPERVISOR", "{body}");

    // So is deactivation, though the token itself is still valid.
    diesel::update(users::table.filter(users::email.eq("agent@test.example")))
        .set(users::active.eq(false))
        .execute(&mut app.connection())
        .unwrap();
    let (_, body) = app.post(Some(&agent), ME, json!({})).await;
    assert_eq!(first_error_code(&body), Some("UNAUTHENTICATED"), "{body}");
    assert_eq!(first_error_message(&body), "the account is deactivated");
}

#[tokio::test]
async fn with_the_subject_claim_only_a_linked_account_matches() {
    let provider = Provider::start(&[&RSA_1]).await;
    let app = app_trusting(&provider, &[("OIDC_USER_CLAIM", "sub")]).await;
    let mut claims = provider.claims("agent@test.example");
    claims["sub"] = json!("00u1a2b3c4d5e6f7g8h9");
    let token = sign(&RSA_1, "rsa-1", &claims);

    // The email matches an account, but email is not the configured claim.
    let (_, body) = app.post(Some(&token), ME, json!({})).await;
    assert!(
        first_error_message(&body).contains("no active account"),
        "{body}"
    );

    organisation::link_external_subject(
        &app.database,
        Actor::operator(),
        "Agent.Two@test.example",
        Some("00u1a2b3c4d5e6f7g8h9".into()),
    )
    .await
    .unwrap();
    let (_, body) = app.post(Some(&token), ME, json!({})).await;
    assert_eq!(
        body["data"]["me"]["email"], "agent.two@test.example",
        "{body}"
    );

    // One subject, one account.
    let error = organisation::link_external_subject(
        &app.database,
        Actor::operator(),
        "agent@test.example",
        Some("00u1a2b3c4d5e6f7g8h9".into()),
    )
    .await
    .unwrap_err();
    assert_eq!(error.code(), bac_metrics::error::ErrorCode::Conflict);
}

#[tokio::test]
async fn rotated_keys_are_fetched_again_and_removed_keys_refused() {
    let provider = Provider::start(&[&RSA_1]).await;
    let app = app_trusting(&provider, &[("OIDC_JWKS_REFETCH_SECONDS", "1")]).await;
    let claims = provider.claims("agent@test.example");
    let old = sign(&RSA_1, "rsa-1", &claims);
    let new = sign(&RSA_2, "rsa-2", &claims);
    let (_, body) = app.post(Some(&old), ME, json!({})).await;
    assert_eq!(body["data"]["me"]["role"], "AGENT", "{body}");
    assert_eq!(provider.jwks_fetches(), 1);

    // The provider rotates: rsa-2 replaces rsa-1.
    provider.publish(&[&RSA_2]);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (_, body) = app.post(Some(&new), ME, json!({})).await;
    assert_eq!(
        body["data"]["me"]["role"], "AGENT",
        "new key accepted: {body}"
    );
    assert_eq!(provider.jwks_fetches(), 2);

    // The removed key no longer verifies anything.
    let (_, body) = app.post(Some(&old), ME, json!({})).await;
    assert_eq!(first_error_code(&body), Some("UNAUTHENTICATED"), "{body}");
    assert!(
        first_error_message(&body).contains("does not publish"),
        "{body}"
    );
}

#[tokio::test]
async fn made_up_key_ids_cannot_cause_a_storm_of_fetches() {
    let provider = Provider::start(&[&RSA_1]).await;
    let app = Arc::new(app_trusting(&provider, &[]).await);
    let claims = provider.claims("agent@test.example");

    // Twenty concurrent tokens with unknown key ids before any key was fetched: one fetch.
    let tokens: Vec<String> = (0..20)
        .map(|n| sign(&RSA_1, &format!("made-up-{n}"), &claims))
        .collect();
    let mut requests = Vec::new();
    for token in tokens.clone() {
        let app = app.clone();
        requests.push(tokio::spawn(async move {
            app.post(Some(&token), ME, json!({})).await
        }));
    }
    for request in requests {
        let (_, body) = request.await.unwrap();
        assert_eq!(first_error_code(&body), Some("UNAUTHENTICATED"), "{body}");
    }
    assert_eq!(provider.jwks_fetches(), 1);

    // More of them, one after the other, within the refetch interval: still none.
    for token in &tokens {
        let (_, body) = app.post(Some(token), ME, json!({})).await;
        assert_eq!(first_error_code(&body), Some("UNAUTHENTICATED"), "{body}");
    }
    assert_eq!(provider.jwks_fetches(), 1);

    // A real key is served from the cache.
    let (_, body) = app
        .post(Some(&sign(&RSA_1, "rsa-1", &claims)), ME, json!({}))
        .await;
    assert_eq!(body["data"]["me"]["role"], "AGENT", "{body}");
    assert_eq!(provider.jwks_fetches(), 1);
}

#[tokio::test]
async fn an_unreachable_provider_is_unavailable_not_a_refusal() {
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let issuer = format!("http://127.0.0.1:{port}");
    let app = TestApp::spawn_with(&[("OIDC_ISSUER", &issuer), ("OIDC_AUDIENCE", AUDIENCE)]).await;
    let now = Utc::now().timestamp();
    let token = sign(
        &RSA_1,
        "rsa-1",
        &json!({"iss": issuer, "aud": AUDIENCE, "sub": "x", "email": "a@test.example",
                "iat": now, "exp": now + 600}),
    );
    let (status, body) = app.post(Some(&token), ME, json!({})).await;
    assert_eq!(first_error_code(&body), Some("UNAVAILABLE"), "{body}");
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
}

/// The `name=value` part of the `Set-Cookie` header for `name`, and the whole header.
fn set_cookie(response: &reqwest::Response, name: &str) -> Option<(String, String)> {
    response
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find(|value| value.starts_with(&format!("{name}=")))
        .map(|value| {
            (
                value.split(';').next().unwrap().to_owned(),
                value.to_owned(),
            )
        })
}

fn location(response: &reqwest::Response) -> String {
    response.headers()[reqwest::header::LOCATION]
        .to_str()
        .unwrap()
        .to_owned()
}

async fn browse(app: &TestApp, url: &str, cookie: Option<&str>) -> reqwest::Response {
    let mut request = app
        .client
        .get(url)
        .header(reqwest::header::ACCEPT, "text/html,application/xhtml+xml");
    if let Some(cookie) = cookie {
        request = request.header(reqwest::header::COOKIE, cookie);
    }
    request.send().await.unwrap()
}

/// Starts a sign-in with the provider at the web front and follows it to the provider and back
/// to the callback URL: the flow cookie and the callback URL (not yet requested).
async fn to_provider_and_back(app: &TestApp, next: &str) -> (String, String) {
    let start = browse(
        app,
        &format!("{}/web/sign-in/provider?next={next}", app.address),
        None,
    )
    .await;
    assert_eq!(start.status(), StatusCode::SEE_OTHER);
    let (flow_cookie, header) = set_cookie(&start, "bac_provider_sign_in").unwrap();
    assert!(
        header.contains("HttpOnly") && header.contains("SameSite=Lax"),
        "{header}"
    );
    let at_provider = browse(app, &location(&start), None).await;
    assert_eq!(at_provider.status(), StatusCode::SEE_OTHER);
    let callback = location(&at_provider);
    assert!(
        callback.starts_with(&format!("{}/web/sign-in/callback?code=", app.address)),
        "{callback}"
    );
    (flow_cookie, callback)
}

async fn app_with_browser_sign_in(provider: &Provider) -> TestApp {
    let app = app_trusting(
        provider,
        &[
            ("OIDC_CLIENT_ID", "bac-web"),
            ("OIDC_PROVIDER_NAME", "Agency SSO"),
        ],
    )
    .await;
    app.create_user("auditor@test.example", Role::Auditor, "AGENCY", false)
        .await;
    app
}

#[tokio::test]
async fn the_web_front_signs_in_with_the_provider_using_pkce_state_and_nonce() {
    let provider = Provider::start(&[&RSA_1]).await;
    let app = app_with_browser_sign_in(&provider).await;

    let page = browse(&app, &format!("{}/web/sign-in", app.address), None).await;
    let html = page.text().await.unwrap();
    assert!(html.contains("your password, or Agency SSO"), "{html}");
    assert!(html.contains("href=\"/web/sign-in/provider\">Sign in with Agency SSO</a>"));

    // The auditor, a service account without a password, signs in at the provider.
    *provider.sign_ins.email.lock().unwrap() = "Auditor@test.example".into();
    let start = browse(
        &app,
        &format!("{}/web/sign-in/provider?next=%2Fweb%2F", app.address),
        None,
    )
    .await;
    let to_provider = location(&start);
    assert!(to_provider.starts_with(&format!("{}/authorize?", provider.issuer)));
    for parameter in [
        "response_type=code",
        "client_id=bac-web",
        "code_challenge_method=S256",
        "scope=openid%20email",
    ] {
        assert!(to_provider.contains(parameter), "{to_provider}");
    }
    let (flow_cookie, _) = set_cookie(&start, "bac_provider_sign_in").unwrap();
    let callback = location(&browse(&app, &to_provider, None).await);

    let audit_before = audit_event_count(&app);
    let signed_in = browse(&app, &callback, Some(&flow_cookie)).await;
    assert_eq!(signed_in.status(), StatusCode::OK);
    let (session_cookie, header) = set_cookie(&signed_in, "bac_session").unwrap();
    assert!(header.contains("SameSite=Strict"), "{header}");
    let (cleared, _) = set_cookie(&signed_in, "bac_provider_sign_in").unwrap();
    assert_eq!(cleared, "bac_provider_sign_in=");
    let html = signed_in.text().await.unwrap();
    assert!(html.contains("url=/web/"), "{html}");

    // The same cookie session as a password sign-in.
    let index = browse(
        &app,
        &format!("{}/web/", app.address),
        Some(&session_cookie),
    )
    .await;
    assert_eq!(index.status(), StatusCode::OK);
    assert!(index
        .text()
        .await
        .unwrap()
        .contains("Quarterly oversight reports"));
    let opened: Vec<Option<Value>> = audit_events::table
        .filter(audit_events::action.eq("auth.browser_session_opened"))
        .select(audit_events::after)
        .load(&mut app.connection())
        .unwrap();
    assert_eq!(opened.len(), 1);
    assert_eq!(
        opened[0].as_ref().unwrap()["signed_in_with"],
        "identity_provider"
    );
    assert_eq!(audit_event_count(&app), audit_before + 1);

    // The code cannot be used twice.
    let replayed = browse(&app, &callback, Some(&flow_cookie)).await;
    assert_eq!(replayed.status(), StatusCode::BAD_GATEWAY);
    assert!(set_cookie(&replayed, "bac_session").is_none());
}

#[tokio::test]
async fn provider_sign_ins_are_refused_without_their_state_nonce_or_account() {
    let provider = Provider::start(&[&RSA_1]).await;
    let app = app_with_browser_sign_in(&provider).await;
    *provider.sign_ins.email.lock().unwrap() = "auditor@test.example".into();

    // No flow cookie (the sign-in did not start in this browser), or another flow's cookie.
    let (_, callback) = to_provider_and_back(&app, "/web/").await;
    let (other_flow, _) = to_provider_and_back(&app, "/web/").await;
    for cookie in [None, Some(other_flow.as_str())] {
        let response = browse(&app, &callback, cookie).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        assert!(set_cookie(&response, "bac_session").is_none());
        assert!(response
            .text()
            .await
            .unwrap()
            .contains("had expired or did not start on this site"));
    }

    // An ID token answering another sign-in (wrong nonce).
    *provider.sign_ins.nonce_override.lock().unwrap() = Some("someone-elses-nonce".into());
    let (flow, callback) = to_provider_and_back(&app, "/web/").await;
    let response = browse(&app, &callback, Some(&flow)).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(set_cookie(&response, "bac_session").is_none());
    *provider.sign_ins.nonce_override.lock().unwrap() = None;

    // A provider user with no account here, and a deactivated account.
    for (email, message) in [
        (
            "nobody@test.example",
            "no active account here matches yours",
        ),
        ("agent@test.example", "your account here is deactivated"),
    ] {
        if email.starts_with("agent") {
            diesel::update(users::table.filter(users::email.eq(email)))
                .set(users::active.eq(false))
                .execute(&mut app.connection())
                .unwrap();
        }
        *provider.sign_ins.email.lock().unwrap() = email.into();
        let (flow, callback) = to_provider_and_back(&app, "/web/").await;
        let response = browse(&app, &callback, Some(&flow)).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert!(set_cookie(&response, "bac_session").is_none());
        let html = response.text().await.unwrap();
        assert!(html.contains(message), "{html}");
    }

    // Without OIDC_CLIENT_ID the page offers no provider and the routes do not exist.
    let plain = app_trusting(&provider, &[]).await;
    let html = browse(&plain, &format!("{}/web/sign-in", plain.address), None)
        .await
        .text()
        .await
        .unwrap();
    assert!(!html.contains("/web/sign-in/provider"));
    let response = browse(
        &plain,
        &format!("{}/web/sign-in/provider", plain.address),
        None,
    )
    .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}
