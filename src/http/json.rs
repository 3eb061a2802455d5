//! `GraphJson<T>`: the JSON body extractor and responder for every route.
//!
//! Malformed JSON, wrong types and missing required fields become a 400 Graph error that names the
//! field path (`targets[0].identity`) and what serde expected there. A bodiless POST (the Graph SDK
//! sends `keepAlive` with no body and no content type) is read as `{}`, so a body type whose fields
//! are all optional accepts it and one with a required field names that field.

use axum::extract::{FromRequest, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::error::ApiError;

/// A JSON request body (as an extractor) or a `200 OK` JSON response (as a responder).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GraphJson<T>(pub T);

impl<T, S> FromRequest<S> for GraphJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        if let Some(content_type) = request.headers().get(header::CONTENT_TYPE) {
            let content_type = content_type.to_str().unwrap_or("(not text)");
            if !is_json_content_type(content_type) {
                return Err(ApiError::unsupported_media_type(content_type));
            }
        }
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::new(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "invalidRequest",
                        rejection.body_text(),
                    )
                } else {
                    ApiError::bad_request(format!(
                        "could not read the request body: {}",
                        rejection.body_text()
                    ))
                }
            })?;
        parse_body(&bytes).map(GraphJson)
    }
}

impl<T: Serialize> IntoResponse for GraphJson<T> {
    fn into_response(self) -> Response {
        match serde_json::to_vec(&self.0) {
            Ok(body) => ([(header::CONTENT_TYPE, "application/json")], body).into_response(),
            Err(error) => {
                tracing::error!(%error, "response body failed to serialize");
                ApiError::internal("the response could not be serialized").into_response()
            }
        }
    }
}

/// Parses a request body as `T`, treating an empty or all-whitespace body as `{}`.
pub fn parse_body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let bytes: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        bytes
    };
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        describe_json_error(&path, &inner)
    })?;
    deserializer.end().map_err(|error| {
        ApiError::bad_request(format!(
            "request body has content after the JSON value: {error}"
        ))
    })?;
    Ok(value)
}

fn describe_json_error(path: &str, error: &serde_json::Error) -> ApiError {
    use serde_json::error::Category;
    match error.classify() {
        Category::Syntax | Category::Eof | Category::Io => {
            ApiError::bad_request(format!("request body is not valid JSON: {error}"))
        }
        Category::Data => {
            // serde_json appends " at line L column C"; the field path says more to a developer.
            let text = error.to_string();
            let detail = text
                .rsplit_once(" at line ")
                .map_or(text.as_str(), |(d, _)| d);
            if path == "." || path.is_empty() {
                ApiError::bad_request(format!("invalid request body: {detail}"))
            } else {
                ApiError::bad_request(format!("invalid request body at `{path}`: {detail}"))
            }
        }
    }
}

fn is_json_content_type(value: &str) -> bool {
    let essence = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// A JSON response with a status, an optional `Location` and `@odata.context`.
pub fn json_response(
    status: StatusCode,
    location: Option<String>,
    context: Option<String>,
    body: impl Serialize,
) -> Response {
    let mut value = match serde_json::to_value(body) {
        Ok(value) => value,
        Err(error) => {
            return ApiError::internal(format!("response failed to serialize: {error}"))
                .into_response();
        }
    };
    if let (Some(context), serde_json::Value::Object(map)) = (context, &mut value) {
        map.insert("@odata.context".into(), context.into());
    }
    let mut response = (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        value.to_string(),
    )
        .into_response();
    if let Some(location) = location.and_then(|l| HeaderValue::from_str(&l).ok()) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase")]
    #[allow(dead_code)]
    struct Target {
        identity: Identity,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Identity {
        id: String,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase")]
    #[allow(dead_code)]
    struct Body {
        targets: Vec<Target>,
        #[serde(default)]
        modality: Option<Modality>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase")]
    enum Modality {
        Audio,
        Video,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase")]
    #[allow(dead_code)]
    struct AllOptional {
        client_context: Option<String>,
    }

    fn message(result: Result<Body, ApiError>) -> String {
        let error = result.unwrap_err();
        assert_eq!(error.status, StatusCode::BAD_REQUEST);
        error.message
    }

    #[test]
    fn wrong_type_names_the_field_path() {
        let text = message(parse_body(br#"{"targets":[{"identity":{"id":7}}]}"#));
        assert!(text.contains("`targets[0].identity.id`"), "{text}");
        assert!(text.contains("expected a string"), "{text}");
    }

    #[test]
    fn missing_required_field_is_named() {
        let text = message(parse_body(br#"{"targets":[{}]}"#));
        assert!(text.contains("missing field `identity`"), "{text}");
        assert!(text.contains("`targets[0]`"), "{text}");
    }

    #[test]
    fn unknown_enum_value_lists_what_is_allowed() {
        let text = message(parse_body(br#"{"targets":[],"modality":"smell"}"#));
        assert!(text.contains("`modality`"), "{text}");
        assert!(
            text.contains("`audio`") && text.contains("`video`"),
            "{text}"
        );
    }

    #[test]
    fn malformed_json_is_a_400() {
        let text = message(parse_body(br#"{"targets": ["#));
        assert!(text.contains("not valid JSON"), "{text}");
    }

    #[test]
    fn trailing_garbage_is_rejected() {
        let text = message(parse_body(br#"{"targets":[]} x"#));
        assert!(text.contains("after the JSON value"), "{text}");
    }

    #[test]
    fn empty_body_reads_as_empty_object() {
        let parsed: AllOptional = parse_body(b"").unwrap();
        assert!(parsed.client_context.is_none());
        let text = message(parse_body(b"  \n"));
        assert!(text.contains("missing field `targets`"), "{text}");
    }

    #[test]
    fn json_content_types() {
        assert!(is_json_content_type("application/json"));
        assert!(is_json_content_type("application/json; charset=utf-8"));
        assert!(is_json_content_type("Application/JSON"));
        assert!(is_json_content_type("application/merge-patch+json"));
        assert!(!is_json_content_type("text/plain"));
        assert!(!is_json_content_type("application/x-www-form-urlencoded"));
    }
}
