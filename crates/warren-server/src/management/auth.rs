//! HTTP basic authentication and RabbitMQ's management tags.
//!
//! Every API request carries `Authorization: Basic …`. The user must exist, the password must
//! match (and `loopback_users` may only log in from loopback, as over AMQP), and the user must
//! have one of the tags `management`, `policymaker`, `monitoring` or `administrator`.
//! Administrators and monitoring users see every vhost; the others only vhosts they have
//! permissions in. User, vhost and permission changes, definitions and shutdown need
//! `administrator`.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use warren_core::{Mechanism, User};

use super::error::ApiError;
use super::Management;

/// The authenticated user of one request.
#[derive(Debug, Clone)]
pub struct Auth {
    /// The user.
    pub user: Arc<User>,
}

impl Auth {
    fn has_tag(&self, tag: &str) -> bool {
        self.user.tags.iter().any(|t| t == tag)
    }

    /// Has the `administrator` tag.
    pub fn is_admin(&self) -> bool {
        self.has_tag("administrator")
    }

    /// Sees every vhost's objects (`administrator` or `monitoring`).
    pub fn sees_all(&self) -> bool {
        self.is_admin() || self.has_tag("monitoring")
    }

    /// 401 unless the user is an administrator.
    pub fn require_admin(&self) -> Result<(), ApiError> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(ApiError::NotAuthorised("Not administrator user".into()))
        }
    }

    /// Whether the user may see objects in `vhost`.
    pub fn sees_vhost(&self, mgmt: &Management, vhost: &str) -> bool {
        self.sees_all() || mgmt.broker.permissions(&self.user.name, vhost).is_some()
    }

    /// 404 for a missing vhost, 401 for one the user may not see.
    pub fn require_vhost(&self, mgmt: &Management, vhost: &str) -> Result<(), ApiError> {
        if mgmt.broker.vhost(vhost).is_none() {
            return Err(ApiError::VHostNotFound);
        }
        if self.sees_vhost(mgmt, vhost) {
            Ok(())
        } else {
            Err(ApiError::NotAuthorised(
                "User not authorised to access virtual host".into(),
            ))
        }
    }
}

/// `user:password` from an `Authorization: Basic` header value.
pub fn parse_basic(value: &str) -> Option<(String, String)> {
    let (scheme, rest) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = STANDARD.decode(rest.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

/// The tags that open the management API.
const MANAGEMENT_TAGS: &[&str] = &["management", "policymaker", "monitoring", "administrator"];

impl FromRequestParts<Arc<Management>> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<Management>,
    ) -> Result<Auth, ApiError> {
        // The web UI marks its requests so that a failed login shows its own form, not the
        // browser's password dialog.
        let challenge = !parts.headers.contains_key("x-requested-with");
        let failed = ApiError::LoginFailed { challenge };
        let (name, password) = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_basic)
            .ok_or(ApiError::LoginFailed { challenge })?;
        let loopback = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .is_none_or(|ConnectInfo(addr)| addr.ip().is_loopback());
        let user = state
            .broker
            .authenticate(Mechanism::Plain, &name, &password, loopback)
            .map_err(|_| failed)?;
        if !user
            .tags
            .iter()
            .any(|t| MANAGEMENT_TAGS.contains(&t.as_str()))
        {
            return Err(ApiError::NotAuthorised("Not management user".into()));
        }
        Ok(Auth { user })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_parse() {
        assert_eq!(
            parse_basic("Basic Z3Vlc3Q6Z3Vlc3Q="),
            Some(("guest".into(), "guest".into()))
        );
        // A colon in the password belongs to the password.
        let v = format!("basic {}", STANDARD.encode("u:a:b"));
        assert_eq!(parse_basic(&v), Some(("u".into(), "a:b".into())));
        assert_eq!(parse_basic("Bearer abc"), None);
        assert_eq!(parse_basic("Basic !!!"), None);
        assert_eq!(parse_basic("Basic"), None);
    }
}
