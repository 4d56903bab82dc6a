//! A page's failure (`HttpError`: an HTTP status and a message for the user) and a page's result (`Page`).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::html;

/// A page's failure: an HTTP status and a message for the user.
#[derive(Debug)]
pub struct HttpError {
    pub status: StatusCode,
    pub message: String,
}

impl HttpError {
    pub fn bad_request(message: impl Into<String>) -> HttpError {
        HttpError { status: StatusCode::BAD_REQUEST, message: message.into() }
    }

    pub fn internal(error: &anyhow::Error) -> HttpError {
        HttpError { status: StatusCode::INTERNAL_SERVER_ERROR, message: format!("{error:#}") }
    }
}

impl From<anyhow::Error> for HttpError {
    fn from(e: anyhow::Error) -> HttpError {
        HttpError::internal(&e)
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        let title = format!("{} {}", self.status.as_u16(), self.status.canonical_reason().unwrap_or("error"));
        let body = format!("<h1>{}</h1>\n<pre class=\"error\">{}</pre>", html::esc(&title), html::esc(&self.message));
        (self.status, html::Html(html::page(&title, "", &body))).into_response()
    }
}

pub type Page = Result<Response, HttpError>;
