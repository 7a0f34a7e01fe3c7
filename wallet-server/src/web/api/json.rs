//! `ApiJson<T>`: a JSON body in, a JSON body out, with our error shape for every way a body
//! can be wrong: missing content type (415), not JSON at all (400 `malformed_json`), JSON of
//! the wrong shape (422 `invalid_body`), too large (413).
//!
//! The body is first read as a `serde_json::Value` and only then mapped onto `T`, so a
//! well-formed body with a wrong type (e.g. `"role": 5`) is always 422, never 400.
//!
//! A key twice in one object, at any depth, is refused (422 `invalid_body`, naming the key):
//! `serde_json` keeps the last, so `{"role": "parent", "role": "integration"}` would mean
//! what a proxy or a log that kept the first never saw. [`StrictValue`] builds the value and
//! sees every key as it is read.
//!
//! Two rules make the body mean what its JSON Schema in `/openapi.json` says (found by API
//! fuzzing): every request body is a JSON object, so an array is refused (serde would
//! otherwise read a struct from `["code", null]`); and a number with a zero fraction is an
//! integer (`5.0` is JSON Schema's `integer` 5), so it is read as one.

use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

use crate::web::error::ApiError;

/// JSON body in, JSON body out.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let axum::Json(StrictValue(mut value)) =
            axum::Json::<StrictValue>::from_request(req, state).await?;
        if !value.is_object() {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_body",
                "the request body must be a JSON object",
            ));
        }
        integral_floats_to_integers(&mut value);
        serde_json::from_value(value).map(ApiJson).map_err(|e| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_body",
                format!("the request body does not have the expected shape: {e}"),
            )
        })
    }
}

/// A JSON value read with no key twice in any object.
struct StrictValue(serde_json::Value);

impl<'de> serde::Deserialize<'de> for StrictValue {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StrictVisitor).map(StrictValue)
    }
}

/// Builds a `serde_json::Value` like its own visitor, refusing a key seen twice.
struct StrictVisitor;

impl<'de> serde::de::Visitor<'de> for StrictVisitor {
    type Value = serde_json::Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        // JSON text has no NaN or infinity; `Null` would only be reached by a non-JSON source.
        Ok(serde_json::Number::from_f64(v).map_or(serde_json::Value::Null, Into::into))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(serde_json::Value::Null)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::new();
        while let Some(StrictValue(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(items.into())
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut fields = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if fields.contains_key(&key) {
                return Err(serde::de::Error::custom(format_args!(
                    "duplicate key {key:?}: a key may appear only once in an object"
                )));
            }
            let StrictValue(value) = map.next_value()?;
            fields.insert(key, value);
        }
        Ok(fields.into())
    }
}

/// `5.0` → `5`, everywhere in the value (only where the integer is exact).
fn integral_floats_to_integers(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Number(n) if n.is_f64() => {
            // Floats of magnitude below 2^53 are exact integers when their fraction is zero.
            const EXACT: f64 = 9_007_199_254_740_992.0;
            if let Some(f) = n.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < EXACT) {
                #[allow(clippy::cast_possible_truncation)]
                let int = f as i64;
                *value = Value::from(int);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(integral_floats_to_integers),
        Value::Object(fields) => fields.values_mut().for_each(integral_floats_to_integers),
        _ => {}
    }
}

impl<T: serde::Serialize> IntoResponse for ApiJson<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::extract::FromRequest;
    use axum::http::{Request, StatusCode};
    use serde::Deserialize;

    use super::ApiJson;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Body2 {
        code: String,
        n: i64,
        #[serde(default)]
        list: Vec<u8>,
    }

    async fn read(body: &str) -> Result<Body2, (StatusCode, &'static str)> {
        let req = Request::post("/")
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .expect("request");
        ApiJson::<Body2>::from_request(req, &())
            .await
            .map(|ApiJson(b)| b)
            .map_err(|e| (e.status, e.code))
    }

    #[tokio::test]
    async fn a_body_is_an_object_and_integral_floats_are_integers() {
        let expected = Body2 {
            code: "x".into(),
            n: 847,
            list: vec![1, 2],
        };
        assert_eq!(
            read(r#"{"code":"x","n":847.0,"list":[1.0,2]}"#).await,
            Ok(expected)
        );
        // serde alone would read a struct from an array; the schema says object.
        assert_eq!(
            read(r#"["x", 847]"#).await,
            Err((StatusCode::UNPROCESSABLE_ENTITY, "invalid_body"))
        );
        assert_eq!(
            read(r#"{"code":"x","n":847.5}"#).await,
            Err((StatusCode::UNPROCESSABLE_ENTITY, "invalid_body"))
        );
        assert_eq!(
            read(r#"{"code":"x","n":1e300}"#).await,
            Err((StatusCode::UNPROCESSABLE_ENTITY, "invalid_body"))
        );
        assert_eq!(
            read("\u{0}").await,
            Err((StatusCode::BAD_REQUEST, "malformed_json"))
        );
    }

    #[tokio::test]
    async fn a_key_twice_in_any_object_is_refused() {
        for body in [
            r#"{"code":"x","n":1,"code":"y"}"#,
            r#"{"code":"x","n":1,"list":[],"extra":{"a":1,"a":2}}"#,
            r#"{"code":"x","n":1,"list":[{"k":[{"b":0,"b":0}]}]}"#,
        ] {
            assert_eq!(
                read(body).await,
                Err((StatusCode::UNPROCESSABLE_ENTITY, "invalid_body")),
                "{body}"
            );
        }
        let req = axum::http::Request::post("/")
            .header("content-type", "application/json")
            .body(Body::from(r#"{"code":"x","code":"y","n":1}"#))
            .expect("request");
        let err = ApiJson::<Body2>::from_request(req, &()).await.unwrap_err();
        assert!(
            err.message.contains(r#"duplicate key "code""#),
            "{}",
            err.message
        );
    }

    #[tokio::test]
    async fn a_value_reads_as_serde_json_reads_it() {
        // The same key in two different objects is two keys.
        let text = r#"{"a":[1,-2,3.5,true,null,"s",{"a":{}}],"c":18446744073709551615}"#;
        let req = axum::http::Request::post("/")
            .header("content-type", "application/json")
            .body(Body::from(text))
            .expect("request");
        let ApiJson(v) = ApiJson::<serde_json::Value>::from_request(req, &())
            .await
            .expect("read");
        assert_eq!(
            v,
            serde_json::from_str::<serde_json::Value>(text).expect("json")
        );
        assert_eq!(
            read("\u{0}").await,
            Err((StatusCode::BAD_REQUEST, "malformed_json"))
        );
    }
}
