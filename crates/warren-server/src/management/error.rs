//! API errors: RabbitMQ's JSON shape `{"error": …, "reason": …}` with its status codes.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use warren_core::CoreError;

/// Why an API request failed. Each variant maps to the status code and `error` word RabbitMQ's
/// management plugin uses for the same situation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// No or wrong credentials (401 `not_authorized`, with a `WWW-Authenticate` challenge).
    #[error("Login failed")]
    LoginFailed {
        /// Whether to send the `WWW-Authenticate` header (not for the web UI's own requests,
        /// so the browser shows no password dialog).
        challenge: bool,
    },
    /// Logged in, but the user lacks a tag or a permission (401 `not_authorised`).
    #[error("{0}")]
    NotAuthorised(String),
    /// The object does not exist (404 `Object Not Found`).
    #[error("Not Found")]
    NotFound,
    /// A vhost named in the path or body does not exist (404 `not_found`).
    #[error("vhost_not_found")]
    VHostNotFound,
    /// The request is malformed or the core refused it as a precondition failure (400).
    #[error("{0}")]
    BadRequest(String),
    /// A pagination parameter is invalid (400 `invalid_pagination_parameters`).
    #[error("{0}")]
    Pagination(String),
    /// A page past the end (400 `page_out_of_range`).
    #[error("{0}")]
    PageOutOfRange(String),
    /// The core answered with an error a client should see as-is (404 for a missing queue
    /// during a get, 405 for someone else's exclusive queue, …).
    #[error(transparent)]
    Core(#[from] CoreError),
    /// A health check failed (503 `failed`).
    #[error("{0}")]
    HealthCheck(String),
}

impl ApiError {
    /// The HTTP status, the `error` word and the `reason` text.
    pub fn parts(&self) -> (StatusCode, &'static str, String) {
        match self {
            ApiError::LoginFailed { .. } => (
                StatusCode::UNAUTHORIZED,
                "not_authorized",
                "Login failed".into(),
            ),
            ApiError::NotAuthorised(r) => (StatusCode::UNAUTHORIZED, "not_authorised", r.clone()),
            ApiError::NotFound => (
                StatusCode::NOT_FOUND,
                "Object Not Found",
                "Not Found".into(),
            ),
            ApiError::VHostNotFound => {
                (StatusCode::NOT_FOUND, "not_found", "vhost_not_found".into())
            }
            ApiError::BadRequest(r) => (StatusCode::BAD_REQUEST, "bad_request", r.clone()),
            ApiError::Pagination(r) => (
                StatusCode::BAD_REQUEST,
                "invalid_pagination_parameters",
                r.clone(),
            ),
            ApiError::PageOutOfRange(r) => {
                (StatusCode::BAD_REQUEST, "page_out_of_range", r.clone())
            }
            ApiError::HealthCheck(r) => (StatusCode::SERVICE_UNAVAILABLE, "failed", r.clone()),
            ApiError::Core(e) => core_parts(e),
        }
    }
}

/// RabbitMQ's reply text without the `CODE_NAME - ` prefix.
fn bare_reason(e: &CoreError) -> String {
    let text = e.to_string();
    match text.split_once(" - ") {
        Some((code, rest)) if code.chars().all(|c| c.is_ascii_uppercase() || c == '_') => {
            rest.to_owned()
        }
        _ => text,
    }
}

fn core_parts(e: &CoreError) -> (StatusCode, &'static str, String) {
    match e {
        CoreError::VHostAccessRefused { .. } => (
            StatusCode::UNAUTHORIZED,
            "not_authorised",
            "User not authorised to access virtual host".into(),
        ),
        CoreError::VHostNotFound { .. } => {
            (StatusCode::NOT_FOUND, "not_found", "vhost_not_found".into())
        }
        CoreError::NotFound { .. } => (StatusCode::NOT_FOUND, "not_found", e.to_string()),
        _ => match e.reply_code() {
            403 => (
                StatusCode::UNAUTHORIZED,
                "not_authorised",
                "Access refused.".into(),
            ),
            405 => (
                StatusCode::METHOD_NOT_ALLOWED,
                "resource_locked",
                e.to_string(),
            ),
            406 | 503 | 506 | 541 => (StatusCode::BAD_REQUEST, "bad_request", bare_reason(e)),
            _ => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal_error",
                e.to_string(),
            ),
        },
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, error, reason) = self.parts();
        let body = match &self {
            // RabbitMQ's health checks answer `{"status": "failed", "reason": …}`.
            ApiError::HealthCheck(_) => serde_json::json!({ "status": "failed", "reason": reason }),
            _ => serde_json::json!({ "error": error, "reason": reason }),
        };
        let mut resp = (status, axum::Json(body)).into_response();
        if matches!(self, ApiError::LoginFailed { challenge: true }) {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"RabbitMQ Management\""),
            );
        }
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use warren_core::ResourceKind;

    #[test]
    fn core_errors_map_to_rabbitmq_statuses() {
        let nf = ApiError::Core(CoreError::NotFound {
            kind: ResourceKind::Queue,
            name: "q".into(),
            vhost: "/".into(),
        });
        let (status, error, reason) = nf.parts();
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(error, "not_found");
        assert_eq!(reason, "NOT_FOUND - no queue 'q' in vhost '/'");
        let busy = ApiError::Core(CoreError::NotEmpty {
            name: "q".into(),
            vhost: "/".into(),
        });
        let (status, error, reason) = busy.parts();
        assert_eq!((status, error), (StatusCode::BAD_REQUEST, "bad_request"));
        assert!(!reason.starts_with("PRECONDITION_FAILED"), "{reason}");
        let denied = ApiError::Core(CoreError::DefaultExchange);
        assert_eq!(denied.parts().0, StatusCode::UNAUTHORIZED);
    }
}
