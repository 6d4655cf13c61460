//! Observability for operators: the Prometheus series on the `METRICS_BIND` listener (and not on
//! the public one), and OpenTelemetry spans exported over OTLP/HTTP under the caller's W3C
//! `traceparent`, with the blocking database work as `db` child spans.

use std::{collections::BTreeMap, sync::mpsc, time::Duration};

use actix_web::{web, App, HttpResponse, HttpServer};
use bac_metrics::db::enums::Role;
use opentelemetry_proto::tonic::{
    collector::trace::v1::ExportTraceServiceRequest, common::v1::any_value, trace::v1::Span,
};
use prost::Message;
use reqwest::{header, StatusCode};
use serde_json::json;

use crate::helpers::{first_error_code, fresh_database, spawn_server_process, TestApp, PASSWORD};

/// One sample of a scrape: the series name, its labels and its value.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// Parses the Prometheus text format (enough of it for the series this server writes).
fn parse_scrape(text: &str) -> Vec<Sample> {
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .map(|line| {
            let (series, value) = line.rsplit_once(' ').expect("`series value`");
            let (name, labels) = match series.split_once('{') {
                Some((name, rest)) => {
                    let labels = rest
                        .trim_end_matches('}')
                        .split("\",")
                        .filter(|pair| !pair.is_empty())
                        .map(|pair| {
                            let (key, value) = pair.split_once("=\"").expect("label=\"value\"");
                            (key.to_owned(), value.trim_end_matches('"').to_owned())
                        })
                        .collect();
                    (name.to_owned(), labels)
                }
                None => (series.to_owned(), BTreeMap::new()),
            };
            Sample {
                name,
                labels,
                value: value.parse().expect("a number"),
            }
        })
        .collect()
}

/// The value of the series `name` whose labels include `labels` (0 when absent: a counter that
/// never moved is not written).
fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    samples
        .iter()
        .filter(|sample| {
            sample.name == name
                && labels
                    .iter()
                    .all(|(key, value)| sample.labels.get(*key).map(String::as_str) == Some(value))
        })
        .map(|sample| sample.value)
        .sum()
}

async fn scrape(app: &TestApp) -> Vec<Sample> {
    let url = format!("{}/metrics", app.metrics_address.as_ref().unwrap());
    let response = app.client.get(url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    parse_scrape(&response.text().await.unwrap())
}

#[tokio::test]
async fn metrics_count_operations_outcomes_failures_and_refusals_on_their_own_listener() {
    let app = TestApp::spawn_with(&[
        ("METRICS_BIND", "127.0.0.1:0"),
        ("REQUESTS_PER_MINUTE_PER_SESSION", "3"),
    ])
    .await;
    app.seed_org().await;
    app.create_user("obs.admin@test.example", Role::Admin, "AGENCY", true)
        .await;
    let before = scrape(&app).await;
    let ok = |samples: &[Sample], operation: &str, outcome: &str| {
        value(
            samples,
            "bac_http_requests_total",
            &[
                ("route", "/graphql"),
                ("operation", operation),
                ("outcome", outcome),
            ],
        )
    };

    // A sign-in with the wrong password: a login failure, and a client error.
    let (_, body) = app
        .post(
            None,
            "mutation ObsSignIn($email: String!, $password: String!) { login(email: $email, password: $password) { accessToken } }",
            json!({ "email": "obs.admin@test.example", "password": "not the password" }),
        )
        .await;
    assert_eq!(first_error_code(&body), Some("UNAUTHENTICATED"));

    // A named operation, twice, then over the session's budget of 3 requests a minute.
    let token = app.token_for("obs.admin@test.example").await;
    for _ in 0..3 {
        let (status, body) = app
            .post(Some(&token), "query ObsProbe { me { email } }", json!({}))
            .await;
        if body["errors"].is_null() {
            assert_eq!(status, StatusCode::OK);
            assert_eq!(body["data"]["me"]["email"], "obs.admin@test.example");
        } else {
            panic!("unexpected errors: {body}");
        }
    }
    let (status, body) = app
        .post(Some(&token), "query ObsProbe { me { email } }", json!({}))
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(first_error_code(&body), Some("RATE_LIMITED"));

    // A bulk import of one row, by a fresh session of the same account.
    let import_token = app.token_for("obs.admin@test.example").await;
    let response = app
        .client
        .post(format!("{}/import/topics", app.address))
        .bearer_auth(&import_token)
        .header(header::CONTENT_TYPE, "text/csv")
        .body("code,name\nOBS-TOPIC,Observability topic\n")
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "{:?}",
        response.text().await
    );

    let after = scrape(&app).await;
    // The operation has its own label; its outcomes are told apart (names are unique to this
    // test, so the counts are exact even though the counters are process-wide).
    assert_eq!(ok(&after, "ObsProbe", "ok"), 3.0);
    assert_eq!(ok(&after, "ObsProbe", "rate_limited"), 1.0);
    assert_eq!(
        value(
            &after,
            "bac_http_request_duration_seconds_count",
            &[("operation", "ObsProbe"), ("outcome", "ok")]
        ),
        3.0
    );
    // A name that never succeeded does not get a label of its own.
    assert_eq!(ok(&after, "ObsSignIn", "client_error"), 0.0);
    assert!(ok(&after, "other", "client_error") >= 1.0);
    let moved = |name: &str, labels: &[(&str, &str)]| {
        value(&after, name, labels) - value(&before, name, labels)
    };
    assert!(moved("bac_login_failures_total", &[]) >= 1.0);
    assert!(moved("bac_rate_limited_total", &[("reason", "session")]) >= 1.0);
    assert!(
        moved(
            "bac_import_rows_total",
            &[("kind", "topics"), ("result", "inserted")]
        ) >= 1.0
    );
    assert!(
        moved(
            "bac_http_requests_total",
            &[("route", "/import/{kind}"), ("outcome", "ok")]
        ) >= 1.0
    );
    // The lanes are this server's: the test configuration gives the interactive lane 4.
    assert_eq!(
        value(&after, "bac_db_pool_max", &[("workload", "interactive")]),
        4.0
    );
    assert_eq!(
        value(&after, "bac_db_pool_in_use", &[("workload", "interactive")]),
        0.0
    );
    for workload in ["interactive", "authentication", "reporting", "import"] {
        assert!(after
            .iter()
            .any(|sample| sample.name == "bac_db_pool_waits_total"
                && sample.labels["workload"] == workload));
    }
    assert_eq!(value(&after, "bac_database_up", &[]), 1.0);

    // Not on the public listener; and the metrics listener serves nothing else.
    let public = app
        .client
        .get(format!("{}/metrics", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(public.status(), StatusCode::NOT_FOUND);
    let other = app
        .client
        .get(format!("{}/healthz", app.metrics_address.as_ref().unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn without_metrics_bind_there_is_no_metrics_listener() {
    let app = TestApp::spawn().await;
    assert!(app.metrics_address.is_none());
    let response = app
        .client
        .get(format!("{}/metrics", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

/// A tiny OTLP/HTTP receiver on port 0: every span it is sent goes to the returned channel.
fn otlp_receiver() -> (String, mpsc::Receiver<Span>) {
    let (sender, receiver) = mpsc::channel::<Span>();
    let (address_sender, address_receiver) = mpsc::channel();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let server = HttpServer::new(move || {
                let sender = sender.clone();
                App::new().route(
                    "/v1/traces",
                    web::post().to(move |body: web::Bytes| {
                        let sender = sender.clone();
                        async move {
                            let Ok(request) = ExportTraceServiceRequest::decode(body) else {
                                return HttpResponse::BadRequest().finish();
                            };
                            for resource in request.resource_spans {
                                for scope in resource.scope_spans {
                                    for span in scope.spans {
                                        let _ = sender.send(span);
                                    }
                                }
                            }
                            HttpResponse::Ok()
                                .content_type("application/x-protobuf")
                                .finish()
                        }
                    }),
                )
            })
            .workers(1)
            .disable_signals()
            .bind("127.0.0.1:0")
            .unwrap();
            let port = server.addrs()[0].port();
            address_sender
                .send(format!("http://127.0.0.1:{port}"))
                .unwrap();
            server.run().await.unwrap();
        });
    });
    (address_receiver.recv().unwrap(), receiver)
}

fn string_attribute(span: &Span, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|attribute| attribute.key == key)
        .and_then(|attribute| attribute.value.as_ref())
        .and_then(|value| match &value.value {
            Some(any_value::Value::StringValue(text)) => Some(text.clone()),
            _ => None,
        })
}

#[tokio::test]
async fn spans_are_exported_under_the_callers_traceparent_with_database_spans() {
    let (collector, spans) = otlp_receiver();
    let database_url = tokio::task::spawn_blocking(fresh_database).await.unwrap();
    let (mut child, address, _logs) = spawn_server_process(
        &database_url,
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", collector.as_str()),
            ("OTEL_SERVICE_NAME", "bac-metrics-test"),
            // Batches every 100 ms, so the test waits a moment, not the default 5 s.
            ("OTEL_BSP_SCHEDULE_DELAY", "100"),
        ],
    );
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let parent_id = "00f067aa0ba902b7";
    let client = reqwest::Client::new();
    let response = client
        .get(format!("{address}/readyz"))
        .header("traceparent", format!("00-{trace_id}-{parent_id}-01"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    // A failed sign-in too: GraphQL, the authentication lane, a password check.
    let response = client
        .post(format!("{address}/graphql"))
        .header("traceparent", format!("00-{trace_id}-{parent_id}-01"))
        .json(&json!({
            "query": "mutation { login(email: \"nobody@test.example\", password: \"x\") { accessToken } }"
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    let wanted = hex::decode(trace_id).unwrap();
    let mut ours = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    // Two requests: two root spans and at least one `db` span under each.
    while std::time::Instant::now() < deadline {
        match spans.recv_timeout(Duration::from_millis(200)) {
            Ok(span) => {
                if span.trace_id == wanted {
                    ours.push(span);
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
        let roots = ours
            .iter()
            .filter(|span| span.parent_span_id == hex::decode(parent_id).unwrap())
            .count();
        let db = ours.iter().filter(|span| span.name == "db").count();
        if roots >= 2 && db >= 2 {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();

    let roots: Vec<&Span> = ours
        .iter()
        .filter(|span| span.parent_span_id == hex::decode(parent_id).unwrap())
        .collect();
    assert_eq!(
        roots.len(),
        2,
        "both requests continue the caller's trace: {ours:#?}"
    );
    let db_spans: Vec<&Span> = ours.iter().filter(|span| span.name == "db").collect();
    assert!(db_spans.len() >= 2, "database spans: {ours:#?}");
    for span in &db_spans {
        // Each database span is a child of one of the requests' root spans, across the
        // blocking thread, and names its workload.
        assert!(
            roots.iter().any(|root| root.span_id == span.parent_span_id),
            "{span:#?}"
        );
        assert!(string_attribute(span, "workload").is_some(), "{span:#?}");
    }
    assert!(db_spans
        .iter()
        .any(|span| string_attribute(span, "workload").as_deref() == Some("authentication")));
}

#[tokio::test]
async fn a_successful_sign_in_is_counted_ok_under_its_operation_name() {
    // Sign-ins are anonymous requests: their operation earns its label by succeeding, and a
    // correct password is an `ok`, never a `client_error`.
    let app = TestApp::spawn_with(&[("METRICS_BIND", "127.0.0.1:0")]).await;
    app.seed_org().await;
    app.create_user("obs.agent@test.example", Role::Agent, "TEAM-A1", true)
        .await;
    for _ in 0..2 {
        let (status, body) = app
            .post(
                None,
                "mutation ObsGoodSignIn($email: String!, $password: String!) { login(email: $email, password: $password) { accessToken } }",
                json!({ "email": "obs.agent@test.example", "password": PASSWORD }),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(body["data"]["login"]["accessToken"].is_string(), "{body}");
    }
    let after = scrape(&app).await;
    assert_eq!(
        value(
            &after,
            "bac_http_requests_total",
            &[("operation", "ObsGoodSignIn"), ("outcome", "ok")]
        ),
        2.0
    );
    assert_eq!(
        value(
            &after,
            "bac_http_requests_total",
            &[("operation", "ObsGoodSignIn"), ("outcome", "client_error")]
        ),
        0.0
    );
}
