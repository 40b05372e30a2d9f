//! The bad-token catalogue and the RBAC decision, against [`AuthState`] directly.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use http::{HeaderMap, HeaderValue};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;
use tonic::Code;

use super::*;
use crate::config::{
    ApiKeyConfig, AuthnConfig, JwtAlgorithm, JwtKeyConfig, MethodPattern, PrincipalSelector,
    RoleBinding, RoleRule,
};

const SECRET: &str = "login-secret-login-secret-login-secret";
const RSA_PRIV: &[u8] = include_bytes!("../../../tests/fixtures/rsa_private.pem");
const EC_PRIV: &[u8] = include_bytes!("../../../tests/fixtures/ec_private.pem");
const RSA_PUB: &[u8] = include_bytes!("../../../tests/fixtures/rsa_public.pem");

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn patterns(list: &[&str]) -> Vec<MethodPattern> {
    list.iter()
        .map(|p| MethodPattern::parse(p).unwrap())
        .collect()
}

/// Rules shaped like the reference app's: two public methods on top of the framework's, and
/// `support` and `user` roles besides the framework's `admin` and `service`.
fn app_rules(cfg: &mut AuthnConfig) {
    cfg.public_methods.extend(patterns(&[
        "user.v1.UserService/Login",
        "user.v1.UserService/CreateUser",
    ]));
    cfg.roles.push(RoleRule::new(
        "support",
        patterns(&[
            "user.v1.UserService/GetUser",
            "user.v1.UserService/ListUsers",
            "order.v1.OrderService/GetOrder",
            "order.v1.OrderService/ListOrders",
            "order.v1.OrderService/TrackOrder",
            "order.v1.OrderService/Chat",
        ]),
    ));
    cfg.roles.push(RoleRule::new(
        "user",
        patterns(&[
            "user.v1.UserService/GetUser",
            "user.v1.UserService/UpdateUser",
            "user.v1.UserService/DeleteUser",
            "order.v1.OrderService/*",
        ]),
    ));
}

fn state_with(tweak: impl FnOnce(&mut AuthnConfig)) -> AuthState {
    let mut cfg = AuthnConfig::default();
    app_rules(&mut cfg);
    cfg.jwt.keys = vec![
        JwtKeyConfig {
            kid: "rsa1".into(),
            algorithm: JwtAlgorithm::RS256,
            secret: None,
            file: Some(fixture("rsa_public.pem")),
        },
        JwtKeyConfig {
            kid: "ec1".into(),
            algorithm: JwtAlgorithm::ES256,
            secret: None,
            file: Some(fixture("ec_public.pem")),
        },
        JwtKeyConfig {
            kid: "hs2".into(),
            algorithm: JwtAlgorithm::HS256,
            secret: Some("second-secret".into()),
            file: None,
        },
    ];
    cfg.api_keys = vec![ApiKeyConfig {
        name: "order-service".into(),
        sha256: hash_api_key("k-123"),
        roles: vec!["service".into()],
    }];
    tweak(&mut cfg);
    let secrets = AuthSecrets {
        login_secret: SECRET.as_bytes().to_vec(),
        issuer: "grpckit".into(),
        audience: "grpckit".into(),
    };
    AuthState::from_config(&cfg, &secrets).unwrap()
}

fn state() -> AuthState {
    state_with(|_| {})
}

fn claims(sub: &str, roles: &[&str]) -> serde_json::Value {
    let n = now();
    json!({"sub": sub, "roles": roles, "iss": "grpckit", "aud": "grpckit", "iat": n, "nbf": n, "exp": n + 600})
}

fn sign(alg: Algorithm, kid: Option<&str>, key: &EncodingKey, c: &serde_json::Value) -> String {
    let mut h = Header::new(alg);
    h.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&h, c, key).unwrap()
}

fn hs(c: &serde_json::Value) -> String {
    sign(
        Algorithm::HS256,
        None,
        &EncodingKey::from_secret(SECRET.as_bytes()),
        c,
    )
}

fn bearer(t: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(
        "authorization",
        HeaderValue::from_str(&format!("Bearer {t}")).unwrap(),
    );
    h
}

const GET_USER: &str = "user.v1.UserService/GetUser";
const LIST_USERS: &str = "user.v1.UserService/ListUsers";

fn code(s: &AuthState, method: &str, h: &HeaderMap) -> Code {
    match s.decide(method, h) {
        Ok(_) => Code::Ok,
        Err(st) => {
            if st.code() == Code::Unauthenticated {
                assert_eq!(st.message(), UNAUTHENTICATED_MSG, "one generic message");
            }
            st.code()
        }
    }
}

#[test]
fn login_tokens_accepted_with_zero_config() {
    let s = state_with(|c| c.jwt.keys.clear());
    let p = s
        .decide(GET_USER, &bearer(&hs(&claims("u1", &["user"]))))
        .unwrap()
        .unwrap();
    assert_eq!(p.subject(), "u1");
    assert!(p.has_role("user"));
    assert_eq!(p.auth_method(), AuthMethod::Jwt);
}

#[test]
fn rs256_es256_and_second_hs_key_by_kid() {
    let s = state();
    let c = claims("u2", &["user"]);
    let rs = sign(
        Algorithm::RS256,
        Some("rsa1"),
        &EncodingKey::from_rsa_pem(RSA_PRIV).unwrap(),
        &c,
    );
    let es = sign(
        Algorithm::ES256,
        Some("ec1"),
        &EncodingKey::from_ec_pem(EC_PRIV).unwrap(),
        &c,
    );
    let hs2 = sign(
        Algorithm::HS256,
        Some("hs2"),
        &EncodingKey::from_secret(b"second-secret"),
        &c,
    );
    for t in [rs, es, hs2] {
        assert_eq!(code(&s, GET_USER, &bearer(&t)), Code::Ok);
    }
}

#[test]
fn jwks_file_keys() {
    let dir = tempfile::tempdir().unwrap();
    let k = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b"jwks-secret");
    let path = dir.path().join("jwks.json");
    std::fs::write(
        &path,
        json!({"keys": [{"kty": "oct", "kid": "j1", "k": k, "alg": "HS256"}]}).to_string(),
    )
    .unwrap();
    let s = state_with(|c| c.jwt.jwks_file = Some(path));
    let t = sign(
        Algorithm::HS256,
        Some("j1"),
        &EncodingKey::from_secret(b"jwks-secret"),
        &claims("u3", &["user"]),
    );
    assert_eq!(code(&s, GET_USER, &bearer(&t)), Code::Ok);
}

#[test]
fn bad_token_catalogue() {
    let s = state();
    let b64 = |v: &serde_json::Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    let good = claims("u1", &["user"]);
    let n = now();
    let mut cases: Vec<(&str, String)> = Vec::new();
    // alg=none, unsigned
    cases.push((
        "alg none",
        format!(
            "{}.{}.",
            b64(&json!({"alg": "none", "typ": "JWT"})),
            b64(&good)
        ),
    ));
    // HS256 signed with the RSA public key as the HMAC secret, claiming the RSA kid
    cases.push((
        "HS/RS confusion",
        sign(
            Algorithm::HS256,
            Some("rsa1"),
            &EncodingKey::from_secret(RSA_PUB),
            &good,
        ),
    ));
    // RS256 token presented under an HS kid
    cases.push((
        "RS under HS kid",
        sign(
            Algorithm::RS256,
            Some("hs2"),
            &EncodingKey::from_rsa_pem(RSA_PRIV).unwrap(),
            &good,
        ),
    ));
    cases.push((
        "unknown kid",
        sign(
            Algorithm::HS256,
            Some("nope"),
            &EncodingKey::from_secret(SECRET.as_bytes()),
            &good,
        ),
    ));
    cases.push(("garbage", "abc.def.ghi".into()));
    cases.push(("not a jwt", "hello".into()));
    cases.push(("empty", String::new()));
    cases.push((
        "wrong secret",
        sign(
            Algorithm::HS256,
            None,
            &EncodingKey::from_secret(b"other"),
            &good,
        ),
    ));
    let mut c = good.clone();
    c["exp"] = json!(n - 3600);
    cases.push(("expired", hs(&c)));
    let mut c = good.clone();
    c["nbf"] = json!(n + 3600);
    cases.push(("not yet valid", hs(&c)));
    let mut c = good.clone();
    c["aud"] = json!("someone-else");
    cases.push(("wrong audience", hs(&c)));
    let mut c = good.clone();
    c["iss"] = json!("evil");
    cases.push(("wrong issuer", hs(&c)));
    let mut c = good.clone();
    c.as_object_mut().unwrap().remove("sub");
    cases.push(("missing sub", hs(&c)));
    let mut c = good.clone();
    c.as_object_mut().unwrap().remove("exp");
    cases.push(("missing exp", hs(&c)));
    let mut c = good.clone();
    c["sub"] = json!("");
    cases.push(("empty sub", hs(&c)));
    let mut tampered = hs(&good);
    tampered.push('x');
    cases.push(("tampered signature", tampered));
    for (name, t) in &cases {
        let mut h = HeaderMap::new();
        h.insert(
            "authorization",
            HeaderValue::from_str(&format!("Bearer {t}")).unwrap(),
        );
        assert_eq!(code(&s, GET_USER, &h), Code::Unauthenticated, "{name}");
    }
    let mut h = HeaderMap::new();
    h.insert(
        "authorization",
        HeaderValue::from_static("Basic dXNlcjpwYXNz"),
    );
    assert_eq!(code(&s, GET_USER, &h), Code::Unauthenticated, "basic auth");
}

#[test]
fn expired_token_refused_even_when_cached() {
    let s = state_with(|c| c.jwt.leeway = std::time::Duration::ZERO);
    let mut c = claims("u1", &["user"]);
    c["exp"] = json!(now() + 1);
    let t = hs(&c);
    assert_eq!(code(&s, GET_USER, &bearer(&t)), Code::Ok);
    std::thread::sleep(std::time::Duration::from_millis(2100));
    assert_eq!(code(&s, GET_USER, &bearer(&t)), Code::Unauthenticated);
}

#[test]
fn api_keys() {
    let s = state();
    let mut h = HeaderMap::new();
    h.insert("x-api-key", HeaderValue::from_static("k-123"));
    let p = s.decide(LIST_USERS, &h).unwrap().unwrap();
    assert_eq!(p.subject(), "order-service");
    assert_eq!(p.auth_method(), AuthMethod::ApiKey);
    h.insert("x-api-key", HeaderValue::from_static("k-124"));
    assert_eq!(code(&s, LIST_USERS, &h), Code::Unauthenticated);
}

#[test]
fn rbac_matrix() {
    let s = state();
    let user = bearer(&hs(&claims("u1", &["user"])));
    let admin = bearer(&hs(&claims("a1", &["admin"])));
    let support = bearer(&hs(&claims("s1", &["support"])));
    let mut key = HeaderMap::new();
    key.insert("x-api-key", HeaderValue::from_static("k-123"));
    let anon = HeaderMap::new();
    let table: &[(&str, [Code; 5])] = &[
        //                                        user           admin     support                api key   anonymous
        (
            "user.v1.UserService/Login",
            [Code::Ok, Code::Ok, Code::Ok, Code::Ok, Code::Ok],
        ),
        (
            "user.v1.UserService/CreateUser",
            [Code::Ok, Code::Ok, Code::Ok, Code::Ok, Code::Ok],
        ),
        (
            GET_USER,
            [
                Code::Ok,
                Code::Ok,
                Code::Ok,
                Code::Ok,
                Code::Unauthenticated,
            ],
        ),
        (
            LIST_USERS,
            [
                Code::PermissionDenied,
                Code::Ok,
                Code::Ok,
                Code::Ok,
                Code::Unauthenticated,
            ],
        ),
        (
            "user.v1.UserService/DeleteUser",
            [
                Code::Ok,
                Code::Ok,
                Code::PermissionDenied,
                Code::Ok,
                Code::Unauthenticated,
            ],
        ),
        (
            "order.v1.OrderService/CreateOrder",
            [
                Code::Ok,
                Code::Ok,
                Code::PermissionDenied,
                Code::Ok,
                Code::Unauthenticated,
            ],
        ),
        (
            "order.v1.OrderService/Chat",
            [
                Code::Ok,
                Code::Ok,
                Code::Ok,
                Code::Ok,
                Code::Unauthenticated,
            ],
        ),
        (
            "grpc.health.v1.Health/Check",
            [Code::Ok, Code::Ok, Code::Ok, Code::Ok, Code::Ok],
        ),
        (
            "grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
            [Code::Ok, Code::Ok, Code::Ok, Code::Ok, Code::Ok],
        ),
        (
            "unknown.v1.Svc/Method",
            [
                Code::PermissionDenied,
                Code::Ok,
                Code::PermissionDenied,
                Code::Ok,
                Code::Unauthenticated,
            ],
        ),
    ];
    for (method, want) in table {
        let got = [&user, &admin, &support, &key, &anon].map(|h| code(&s, method, h));
        assert_eq!(&got, want, "{method}");
    }
}

#[test]
fn framework_defaults_open_only_health_and_reflection() {
    let s = AuthState::from_config(&AuthnConfig::default(), &AuthSecrets::default()).unwrap();
    assert!(s.is_public("grpc.health.v1.Health/Check"));
    assert!(s.is_public("grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"));
    assert!(!s.is_public("user.v1.UserService/Login"));
    let admin = Principal::new("a", vec!["admin".into()], AuthMethod::Jwt);
    let user = Principal::new("u", vec!["user".into()], AuthMethod::Jwt);
    assert!(s.allows(&admin, "any.v1.Svc/Anything"));
    assert!(!s.allows(&user, GET_USER));
}

#[test]
fn bindings_add_roles_by_user_api_key_and_role() {
    let bind = |principal: &str, roles: &[&str]| RoleBinding {
        principal: principal.parse::<PrincipalSelector>().unwrap(),
        roles: roles.iter().map(|r| (*r).to_owned()).collect(),
    };
    let s = state_with(|c| {
        c.bindings = vec![
            bind("user:u7", &["support"]),
            bind("apikey:order-service", &["user"]),
            bind("role:auditor", &["support"]),
            // Bindings do not chain: support -> admin is not applied to a bound support.
            bind("role:support", &["admin"]),
        ];
    });
    // A token without roles gets support through its subject...
    let bound = bearer(&hs(&claims("u7", &[])));
    assert_eq!(code(&s, LIST_USERS, &bound), Code::Ok);
    assert_eq!(
        code(&s, "user.v1.UserService/DeleteUser", &bound),
        Code::PermissionDenied
    );
    let p = s.decide(LIST_USERS, &bound).unwrap().unwrap();
    assert_eq!(p.roles().collect::<Vec<_>>(), ["support"]);
    // ...and keeps it when the token is served from the cache.
    assert_eq!(code(&s, LIST_USERS, &bound), Code::Ok);
    // Another subject does not.
    assert_eq!(
        code(&s, LIST_USERS, &bearer(&hs(&claims("u8", &[])))),
        Code::PermissionDenied
    );
    // A role claim binds too; a directly held role is not doubled.
    let auditor = s
        .decide(
            LIST_USERS,
            &bearer(&hs(&claims("x", &["auditor", "support"]))),
        )
        .unwrap()
        .unwrap();
    assert_eq!(
        auditor.roles().collect::<Vec<_>>(),
        ["auditor", "support", "admin"]
    );
    // An API key gets the roles bound to its name.
    let mut key = HeaderMap::new();
    key.insert("x-api-key", HeaderValue::from_static("k-123"));
    let p = s.decide(GET_USER, &key).unwrap().unwrap();
    assert!(p.has_role("service") && p.has_role("user"));
}

#[test]
fn a_caller_refused_for_its_roles_is_kept_for_the_records() {
    let s = state();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    // A user token on a method its role does not allow: refused, the caller kept.
    let refused = s
        .decide_recorded(
            LIST_USERS,
            &bearer(&hs(&claims("u1", &["user"]))),
            None,
            now,
        )
        .unwrap_err();
    assert_eq!(refused.status.code(), Code::PermissionDenied);
    assert_eq!(
        refused.caller.map(|p| p.subject().to_owned()).as_deref(),
        Some("u1")
    );
    // A certificate with no role bound: refused as itself.
    let id = CertIdentity::new("spiffe://example.org/ns/prod/sa/billing");
    let refused = s
        .decide_recorded(LIST_USERS, &HeaderMap::new(), Some(&id), now)
        .unwrap_err();
    let caller = refused.caller.unwrap();
    assert_eq!(caller.subject(), id.as_str());
    assert_eq!(caller.auth_method(), AuthMethod::Certificate);
    // No credentials: nobody to name.
    let refused = s
        .decide_recorded(LIST_USERS, &HeaderMap::new(), None, now)
        .unwrap_err();
    assert_eq!(refused.status.code(), Code::Unauthenticated);
    assert!(refused.caller.is_none());
}
