//! CORS for browser clients from `server.http.cors`: preflight answers, and on actual
//! answers the allowed origin and the headers a page may read (the gRPC status headers,
//! Connect's `trailer-*` headers and every other metadata header of the answer). An origin
//! that is not allowed gets no CORS header at all (its preflight `403`).
//!
//! A small module rather than `tower-http`'s `CorsLayer`: the bridges answer preflights
//! and decorate answers from their own dispatch, and the exposed headers depend on each
//! answer's metadata.

use http::{HeaderMap, HeaderName, HeaderValue, Request, Response, StatusCode, header};
use tonic::body::Body;

use crate::config::CorsConfig;

/// The methods a preflight allows.
const METHODS: &str = "GET, POST, PUT, PATCH, DELETE, OPTIONS";

/// Headers always exposed to pages (when the answer has them they are listed anyway).
const ALWAYS_EXPOSED: &[&str] = &[
    "grpc-status",
    "grpc-message",
    "grpc-status-details-bin",
    "grpc-encoding",
    "connect-content-encoding",
    "connect-accept-encoding",
    "content-encoding",
];

/// Response headers a page may read without being told (CORS-safelisted), and the CORS
/// headers themselves.
fn is_safelisted(name: &HeaderName) -> bool {
    matches!(
        *name,
        header::CACHE_CONTROL
            | header::CONTENT_LANGUAGE
            | header::CONTENT_LENGTH
            | header::CONTENT_TYPE
            | header::EXPIRES
            | header::LAST_MODIFIED
            | header::PRAGMA
            | header::VARY
    ) || name.as_str().starts_with("access-control-")
}

/// The CORS policy.
#[derive(Debug, Clone)]
pub(crate) struct Cors {
    /// `*` among the allowed origins.
    any: bool,
    /// The allowed origins (lower case, no trailing `/`).
    origins: Vec<String>,
    /// `Access-Control-Allow-Headers`.
    allow_headers: Option<HeaderValue>,
    /// `Access-Control-Max-Age`.
    max_age: HeaderValue,
    /// `Access-Control-Allow-Credentials: true`.
    credentials: bool,
}

impl Cors {
    /// The policy of `server.http.cors`.
    pub(crate) fn new(cfg: &CorsConfig) -> Self {
        let origins: Vec<String> = cfg
            .allowed_origins
            .iter()
            .map(|o| o.trim().trim_end_matches('/').to_ascii_lowercase())
            .collect();
        let headers = cfg
            .allowed_headers
            .iter()
            .map(|h| h.trim())
            .filter(|h| !h.is_empty())
            .collect::<Vec<_>>()
            .join(", ");
        Self {
            any: origins.iter().any(|o| o == "*"),
            origins,
            allow_headers: HeaderValue::from_str(&headers)
                .ok()
                .filter(|_| !headers.is_empty()),
            max_age: HeaderValue::from(cfg.max_age.as_secs()),
            credentials: cfg.allow_credentials,
        }
    }

    /// The `Access-Control-Allow-Origin` value for `origin`, `None` when not allowed:
    /// `*` for any origin unless credentials are allowed (then the origin itself).
    fn allow_origin(&self, origin: &HeaderValue) -> Option<HeaderValue> {
        let o = origin.to_str().ok()?;
        if self.any {
            return Some(if self.credentials {
                origin.clone()
            } else {
                HeaderValue::from_static("*")
            });
        }
        let o = o.trim_end_matches('/');
        self.origins
            .iter()
            .any(|allowed| allowed.eq_ignore_ascii_case(o))
            .then(|| origin.clone())
    }

    /// Answers a preflight request: `204` with the policy for an allowed origin (and an
    /// allowed method), else `403` without CORS headers.
    pub(crate) fn preflight(&self, req: &Request<Body>) -> Response<Body> {
        let h = req.headers();
        let allowed = h.get(header::ORIGIN).and_then(|o| self.allow_origin(o));
        let method_ok = h
            .get(header::ACCESS_CONTROL_REQUEST_METHOD)
            .is_none_or(|m| {
                METHODS
                    .split(", ")
                    .any(|allowed| allowed.as_bytes() == m.as_bytes())
            });
        let Some(origin) = allowed.filter(|_| method_ok) else {
            let mut res = super::plain(StatusCode::FORBIDDEN, "CORS request not allowed");
            res.headers_mut()
                .insert(header::VARY, HeaderValue::from_static("origin"));
            return res;
        };
        let mut res = Response::new(Body::empty());
        *res.status_mut() = StatusCode::NO_CONTENT;
        let out = res.headers_mut();
        out.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        out.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static(METHODS),
        );
        if let Some(headers) = &self.allow_headers {
            out.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, headers.clone());
        }
        out.insert(header::ACCESS_CONTROL_MAX_AGE, self.max_age.clone());
        if self.credentials {
            out.insert(
                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
        }
        out.insert(
            header::VARY,
            HeaderValue::from_static(
                "origin, access-control-request-method, access-control-request-headers",
            ),
        );
        res
    }

    /// Adds the CORS headers for `origin` to an answer (nothing when it is not allowed).
    pub(crate) fn apply(&self, origin: &HeaderValue, headers: &mut HeaderMap) {
        let Some(allow) = self.allow_origin(origin) else {
            return;
        };
        let mut expose: Vec<&str> = ALWAYS_EXPOSED.to_vec();
        for name in headers.keys() {
            if !is_safelisted(name) && !expose.contains(&name.as_str()) {
                expose.push(name.as_str());
            }
        }
        let expose = HeaderValue::from_str(&expose.join(", "))
            .unwrap_or_else(|_| HeaderValue::from_static("grpc-status, grpc-message"));
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, allow);
        headers.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, expose);
        if self.credentials {
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
        }
        headers.append(header::VARY, HeaderValue::from_static("origin"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cors(origins: &[&str], credentials: bool) -> Cors {
        Cors::new(&CorsConfig {
            allowed_origins: origins.iter().map(|s| (*s).to_owned()).collect(),
            allow_credentials: credentials,
            ..CorsConfig::default()
        })
    }

    fn preflight(c: &Cors, origin: &str, method: &str) -> Response<Body> {
        let req = Request::builder()
            .method("OPTIONS")
            .uri("/user.v1.UserService/GetUser")
            .header("origin", origin)
            .header("access-control-request-method", method)
            .body(Body::empty())
            .unwrap();
        c.preflight(&req)
    }

    #[test]
    fn preflight_of_an_allowed_origin_echoes_it() {
        let c = cors(&["https://app.example.com/"], false);
        let res = preflight(&c, "https://app.example.com", "POST");
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
        let h = res.headers();
        assert_eq!(h["access-control-allow-origin"], "https://app.example.com");
        assert!(
            h["access-control-allow-headers"]
                .to_str()
                .unwrap()
                .contains("connect-protocol-version")
        );
        assert_eq!(h["access-control-max-age"], "7200");
        assert!(h.get("access-control-allow-credentials").is_none());
    }

    #[test]
    fn other_origins_and_methods_are_refused_without_cors_headers() {
        let c = cors(&["https://app.example.com"], false);
        let res = preflight(&c, "https://evil.example.com", "POST");
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        assert!(res.headers().get("access-control-allow-origin").is_none());
        assert_eq!(
            preflight(&c, "https://app.example.com", "TRACE").status(),
            StatusCode::FORBIDDEN
        );
        let mut h = HeaderMap::new();
        c.apply(
            &HeaderValue::from_static("https://evil.example.com"),
            &mut h,
        );
        assert!(h.is_empty());
        assert_eq!(
            cors(&[], false)
                .preflight(
                    &Request::builder()
                        .method("OPTIONS")
                        .header("origin", "https://app.example.com")
                        .body(Body::empty())
                        .unwrap()
                )
                .status(),
            StatusCode::FORBIDDEN
        );
    }

    #[test]
    fn any_origin_is_a_star_unless_credentials_are_allowed() {
        let mut h = HeaderMap::new();
        cors(&["*"], false).apply(&HeaderValue::from_static("https://a.example"), &mut h);
        assert_eq!(h["access-control-allow-origin"], "*");
        let mut h = HeaderMap::new();
        cors(&["*"], true).apply(&HeaderValue::from_static("https://a.example"), &mut h);
        assert_eq!(h["access-control-allow-origin"], "https://a.example");
        assert_eq!(h["access-control-allow-credentials"], "true");
    }

    #[test]
    fn answers_expose_the_status_and_metadata_headers() {
        let mut h = HeaderMap::new();
        h.insert("content-type", HeaderValue::from_static("application/json"));
        h.insert("trailer-x-served-by", HeaderValue::from_static("a"));
        h.insert("x-request-id", HeaderValue::from_static("1"));
        cors(&["https://app.example.com"], false)
            .apply(&HeaderValue::from_static("https://app.example.com"), &mut h);
        let expose = h["access-control-expose-headers"].to_str().unwrap();
        for name in [
            "grpc-status",
            "grpc-message",
            "grpc-status-details-bin",
            "trailer-x-served-by",
            "x-request-id",
        ] {
            assert!(expose.contains(name), "{expose}");
        }
        assert!(!expose.contains("content-type"), "{expose}");
        assert_eq!(h["vary"], "origin");
    }
}
