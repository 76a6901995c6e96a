//! The page at `/`: what this server is and where to go (GraphiQL, health).

use axum::{
    http::StatusCode,
    response::{Html, IntoResponse},
    routing::get,
    Router,
};

use super::HttpState;

pub fn router() -> Router<HttpState> {
    Router::new().route("/", get(|| async { page(StatusCode::OK) }))
}

pub fn page(status: StatusCode) -> impl IntoResponse {
    (status, Html(HOME))
}

const HOME: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Alpes</title>
<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem;line-height:1.5;color:#1f2937}
a{color:#1d4ed8}code{background:#f3f4f6;padding:.1rem .3rem;border-radius:.2rem}</style></head>
<body><h1>Alpes</h1>
<p>Partner tracking, attribution and commissions.</p>
<ul>
<li><a href="/graphql">GraphiQL</a> — explore and run the GraphQL API (sign in with the <code>login</code> mutation, then send <code>Authorization: Bearer &lt;token&gt;</code>).</li>
<li><a href="/health">/health</a> and <a href="/ready">/ready</a></li>
</ul></body></html>
"#;
