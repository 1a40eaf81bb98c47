//! Authorised requests to the Google Ads API: an OAuth access token refreshed from the
//! refresh token, kept in the destination's kv store until a minute before it expires, and
//! refreshed once more when Google answers 401 (a token revoked or expired early).
//!
//! The kv key is derived from the client id and refresh token, so changing either in the
//! settings never reuses a token issued for the old ones.

use crate::settings::Settings;
use serde_json::Value;
use std::time::Duration;
use switchyard_plugin_sdk::hash::sha256_hex;
use switchyard_plugin_sdk::{Context, Error, Response};

pub(crate) const TOKEN_URL: &str = "https://www.googleapis.com/oauth2/v4/token";

/// Seconds before expiry at which a cached token is no longer used.
const MARGIN_SECONDS: u64 = 60;

fn cache_key(s: &Settings) -> String {
    let digest = sha256_hex(&format!("{}\n{}", s.client_id, s.refresh_token));
    format!("oauth-access-token:{}", &digest[..32])
}

/// A new access token from the refresh token, kept for its lifetime.
fn refresh(ctx: &mut Context, s: &Settings, key: &str) -> Result<String, Error> {
    let answer = ctx
        .post(TOKEN_URL)
        .form(&[
            ("refresh_token", s.refresh_token.as_str()),
            ("client_id", s.client_id.as_str()),
            ("client_secret", s.client_secret.as_str()),
            ("grant_type", "refresh_token"),
        ])
        .send()?;
    if matches!(answer.status, 400 | 401) {
        // Google's OAuth errors: {"error": "invalid_grant", "error_description": "..."}.
        let body: Value = answer.json().unwrap_or(Value::Null);
        let code = body["error"].as_str().unwrap_or("unknown error");
        let detail = body["error_description"].as_str().unwrap_or_default();
        return Err(Error::Auth {
            message: format!(
                "Google refused to refresh the access token ({code}{}{detail}); check the \
                 clientId, clientSecret and refreshToken settings",
                if detail.is_empty() { "" } else { ": " }
            ),
            status: Some(answer.status),
        });
    }
    let answer = answer.error_for_status()?;
    let body: Value = answer.json()?;
    let token = body["access_token"]
        .as_str()
        .filter(|t| !t.is_empty())
        .ok_or_else(|| Error::retryable("Google's token answer has no access_token"))?
        .to_string();
    let lifetime = body["expires_in"].as_u64().unwrap_or(3600);
    let ttl = lifetime.saturating_sub(MARGIN_SECONDS).max(1);
    if let Err(e) = ctx.kv_set(key, &token, Duration::from_secs(ttl)) {
        ctx.warn(&format!("the access token is not cached: {e}"));
    }
    Ok(token)
}

/// The customer ID without dashes, or the reason it is missing.
pub(crate) fn customer_id(s: &Settings) -> Result<String, Error> {
    let id = s
        .customer_id
        .as_deref()
        .unwrap_or_default()
        .replace('-', "");
    if id.is_empty() {
        return Err(Error::invalid_settings(
            "Customer ID is required for this action. Please set it in destination settings.",
        ));
    }
    Ok(id)
}

/// POSTs `body` (JSON; `None` for an empty body) to `url` with the access token, the
/// developer token and the login customer ID. A 401 refreshes the token and tries once more.
pub(crate) fn post(
    ctx: &mut Context,
    s: &Settings,
    url: &str,
    body: Option<&Value>,
) -> Result<Response, Error> {
    let key = cache_key(s);
    let mut token = match ctx.kv_get(&key) {
        Some(t) => t,
        None => refresh(ctx, s, &key)?,
    };
    let login = s
        .login_customer_id
        .as_deref()
        .map(|l| l.replace('-', ""))
        .filter(|l| !l.is_empty());
    let mut refreshed = false;
    loop {
        let mut request = ctx
            .post(url)
            .bearer(&token)
            .header("developer-token", &s.developer_token);
        if let Some(login) = &login {
            request = request.header("login-customer-id", login);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let answer = request.send()?;
        if answer.status == 401 && !refreshed {
            ctx.kv_delete(&key);
            token = refresh(ctx, s, &key)?;
            refreshed = true;
            continue;
        }
        return Ok(answer);
    }
}
