//! GraphiQL, served entirely by this binary: the page a browser gets from `GET /graphql` and the
//! files it loads from `/graphiql/{hash}/{name}`.
//!
//! The third-party files (graphiql's UMD build and stylesheet, React and ReactDOM production
//! builds) are vendored in `assets/graphiql/` by `scripts/vendor-graphiql.sh`, with their
//! licences, and compiled into the binary, so GraphiQL works with no network and behind a strict
//! Content-Security-Policy. Each file's URL carries the start of its SHA-256, so it can be cached
//! for a year: a changed file gets a new URL, and an old URL answers 404 instead of new content.
//!
//! Only served while developer tools are enabled ([`Config::developer_tools_enabled`]).

use std::sync::LazyLock;

use actix_web::{http::header, web, HttpResponse};
use sha2::{Digest, Sha256};

use crate::{config::Config, http::AppState};

/// The GraphiQL page's Content-Security-Policy. Scripts and styles come only from this server,
/// and nothing inline runs (the start-up code is `graphiql-init.js`). The exceptions GraphiQL
/// needs, and why:
/// - `font-src data:`: graphiql's stylesheet embeds its fonts (Roboto, Fira Code) as `data:` URLs.
/// - `img-src 'self' data:`: graphiql's stylesheet draws some icons as `data:` SVG images.
/// - `connect-src 'self'`: the queries it sends to `/graphql`.
pub const PAGE_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
font-src data:; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; \
base-uri 'none'; form-action 'none'";

/// One file served under `/graphiql/`.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
    /// The first 16 hex digits of the content's SHA-256: the URL's version segment.
    hash: String,
}

impl Asset {
    fn new(name: &'static str, content_type: &'static str, bytes: &'static [u8]) -> Self {
        let digest = Sha256::digest(bytes);
        Self {
            name,
            content_type,
            bytes,
            hash: hex::encode(&digest[..8]),
        }
    }

    fn url(&self) -> String {
        format!("/graphiql/{}/{}", self.hash, self.name)
    }
}

const JAVASCRIPT: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

static ASSETS: LazyLock<Vec<Asset>> = LazyLock::new(|| {
    vec![
        Asset::new(
            "react.production.min.js",
            JAVASCRIPT,
            include_bytes!("../../assets/graphiql/react.production.min.js"),
        ),
        Asset::new(
            "react-dom.production.min.js",
            JAVASCRIPT,
            include_bytes!("../../assets/graphiql/react-dom.production.min.js"),
        ),
        Asset::new(
            "graphiql.min.js",
            JAVASCRIPT,
            include_bytes!("../../assets/graphiql/graphiql.min.js"),
        ),
        Asset::new(
            "graphiql.min.css",
            CSS,
            include_bytes!("../../assets/graphiql/graphiql.min.css"),
        ),
        Asset::new(
            "graphiql-init.js",
            JAVASCRIPT,
            include_bytes!("../../assets/graphiql/graphiql-init.js"),
        ),
        Asset::new(
            "graphiql-page.css",
            CSS,
            include_bytes!("../../assets/graphiql/graphiql-page.css"),
        ),
    ]
});

fn asset(name: &str) -> &'static Asset {
    ASSETS
        .iter()
        .find(|asset| asset.name == name)
        .expect("a vendored GraphiQL file")
}

/// The GraphiQL page for `endpoint`, loading every file from this server.
pub fn page(endpoint: &str) -> HttpResponse {
    let html = format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>bac-metrics GraphiQL</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="{graphiql_css}">
<link rel="stylesheet" href="{page_css}">
</head>
<body>
<div id="graphiql" data-endpoint="{endpoint}">Loading GraphiQL…</div>
<noscript>GraphiQL needs JavaScript. Without it, send queries to {endpoint} with any HTTP client.</noscript>
<script src="{react}"></script>
<script src="{react_dom}"></script>
<script src="{graphiql}"></script>
<script src="{init}"></script>
</body>
</html>
"#,
        graphiql_css = asset("graphiql.min.css").url(),
        page_css = asset("graphiql-page.css").url(),
        react = asset("react.production.min.js").url(),
        react_dom = asset("react-dom.production.min.js").url(),
        graphiql = asset("graphiql.min.js").url(),
        init = asset("graphiql-init.js").url(),
        endpoint = super::reports::escape_html(endpoint),
    );
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CONTENT_SECURITY_POLICY, PAGE_CSP))
        // The page names the files by hash; a stale copy would point at URLs that are gone.
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(html)
}

/// `GET /graphiql/{hash}/{name}`: a vendored file, cacheable for a year. 404 when developer
/// tools are off, or when the hash is not the current content's (an old URL never gets new
/// content under its long-lived cache entry).
pub async fn file(path: web::Path<(String, String)>, state: web::Data<AppState>) -> HttpResponse {
    let (hash, name) = path.into_inner();
    if !serves_graphiql(&state.config) {
        return not_found();
    }
    match ASSETS
        .iter()
        .find(|asset| asset.name == name && asset.hash == hash)
    {
        Some(asset) => HttpResponse::Ok()
            .content_type(asset.content_type)
            .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
            .body(asset.bytes),
        None => not_found(),
    }
}

fn serves_graphiql(config: &Config) -> bool {
    config.developer_tools_enabled()
}

fn not_found() -> HttpResponse {
    HttpResponse::NotFound()
        .content_type("text/plain; charset=utf-8")
        .body("not found")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_has_a_distinct_versioned_url() {
        let urls: std::collections::HashSet<String> = ASSETS.iter().map(Asset::url).collect();
        assert_eq!(urls.len(), ASSETS.len());
        for asset in ASSETS.iter() {
            assert_eq!(asset.hash.len(), 16);
            assert!(asset.url().ends_with(asset.name));
            assert!(!asset.bytes.is_empty());
        }
    }

    #[test]
    fn the_page_loads_only_local_files_and_no_inline_code() {
        let response = page("/graphql");
        let policy = response
            .headers()
            .get(header::CONTENT_SECURITY_POLICY)
            .unwrap()
            .to_str()
            .unwrap();
        assert!(policy.contains("script-src 'self';"));
        assert!(!policy.contains("unsafe"));
    }
}
