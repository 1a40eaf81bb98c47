//! The one error type of the admin API. Every error answer has one JSON shape,
//! `{"error": "<what is wrong>"}`, plus `"problems": [...]` when a change was refused for
//! reasons listed one by one; the status says whose fault it is (4xx: the request's, 5xx: the
//! server's or what it depends on).

use crate::live::ChangeError;
use crate::problems::Problems;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// Why an admin request was not done.
#[derive(Debug)]
pub(crate) enum AdminError {
    /// The request is malformed (a body, a query, a parameter): 400.
    BadRequest(String),
    /// No or the wrong bearer token: 401, with a `WWW-Authenticate` challenge.
    Unauthorised(&'static str),
    /// What the request names does not exist: 404.
    NotFound(String),
    /// It clashes with what exists: 409.
    Conflict(String),
    /// Understood, but cannot be used (a plugin that does not load): 422.
    Unprocessable(String),
    /// A change was checked and refused whole, nothing changed: 422 with every problem.
    Refused {
        error: &'static str,
        problems: Problems,
    },
    /// Something the server depends on cannot answer now (the queue): 503.
    Unavailable(String),
    /// The server failed (a file it keeps cannot be written): 500.
    Internal(String),
}

impl AdminError {
    fn status(&self) -> StatusCode {
        match self {
            AdminError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AdminError::Unauthorised(_) => StatusCode::UNAUTHORIZED,
            AdminError::NotFound(_) => StatusCode::NOT_FOUND,
            AdminError::Conflict(_) => StatusCode::CONFLICT,
            AdminError::Unprocessable(_) | AdminError::Refused { .. } => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            AdminError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AdminError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = match self {
            AdminError::Unauthorised(message) => {
                let mut response = (status, axum::Json(json!({"error": message}))).into_response();
                response.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"switchyard admin\""),
                );
                return response;
            }
            AdminError::Refused { error, problems } => {
                json!({"error": error, "problems": problems})
            }
            AdminError::BadRequest(m)
            | AdminError::NotFound(m)
            | AdminError::Conflict(m)
            | AdminError::Unprocessable(m)
            | AdminError::Unavailable(m)
            | AdminError::Internal(m) => json!({"error": m}),
        };
        (status, axum::Json(body)).into_response()
    }
}

/// A change to the stored destinations that was not made.
impl From<ChangeError> for AdminError {
    fn from(e: ChangeError) -> AdminError {
        match e {
            ChangeError::NotFound(m) => AdminError::NotFound(m),
            ChangeError::Conflict(m) => AdminError::Conflict(m),
            ChangeError::BadRequest(m) => AdminError::BadRequest(m),
            ChangeError::Refused(problems) => AdminError::Refused {
                error: "refused; nothing changed",
                problems,
            },
            ChangeError::Store(m) => AdminError::Internal(m),
        }
    }
}
