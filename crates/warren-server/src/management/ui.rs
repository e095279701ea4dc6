//! The web UI: one HTML page, one script and one stylesheet, embedded in the binary, so the UI
//! works with no internet access. The script talks to the same `/api` as any other client.

use std::sync::Arc;

use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

use super::Management;

const INDEX: &str = include_str!("ui/index.html");
const SCRIPT: &str = include_str!("ui/warren.js");
const STYLE: &str = include_str!("ui/warren.css");

/// `/`, `/index.html`, `/warren.js`, `/warren.css`.
pub fn routes() -> Router<Arc<Management>> {
    Router::new()
        .route("/", get(index))
        .route("/index.html", get(index))
        .route("/warren.js", get(script))
        .route("/warren.css", get(style))
}

async fn index() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], INDEX)
}

async fn script() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        SCRIPT,
    )
}

async fn style() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], STYLE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assets_are_self_contained() {
        for asset in [INDEX, SCRIPT, STYLE] {
            assert!(
                !asset.contains("http://") && !asset.contains("https://"),
                "no external URLs"
            );
        }
        assert!(INDEX.contains("warren.js") && INDEX.contains("warren.css"));
    }
}
