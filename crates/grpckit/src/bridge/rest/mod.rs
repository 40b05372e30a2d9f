//! REST/JSON transcoding driven by the `google.api.http` options of the served methods (as
//! grpc-gateway does, in process): the route table is built once from the descriptors
//! ([`routes`], [`template`]); a request becomes the method's request message from its path,
//! query string and body ([`request`]) and goes through the server's whole stack as a gRPC
//! call ([`call`](crate::bridge::call)); the answer is its response message as JSON
//! ([`response`]), a server stream as Server-Sent Events or newline-delimited JSON, and a
//! client stream is read as newline-delimited JSON ([`stream`]).
//!
//! A path no binding matches is `404` (`NOT_FOUND`); a path bound only for other verbs is
//! `405` with `Allow`. Errors carry the HTTP status of their code and the JSON form of
//! `google.rpc.Status` with its details.

mod request;
mod response;
mod routes;
mod stream;
mod template;

use std::borrow::Cow;

use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode, header};
use prost::Message;
use tonic::{Code, Status, body::Body};

pub(crate) use routes::Routes;

use super::{
    Ctx,
    call::{CallRequest, call_one},
};
use routes::{BodySpec, Lookup};
use stream::{Format, Recorder};

/// Serves a REST request.
pub(crate) async fn serve(req: Request<Body>, ctx: &Ctx) -> Response<Body> {
    let shared = &ctx.shared;
    let catalog = &shared.catalog;
    let routes = shared.rest.get_or_init(|| Routes::new(catalog));
    let (mut parts, body) = req.into_parts();
    let uri = parts.uri.clone();
    let pretty = request::wants_pretty(uri.query());
    let (route, values) = match routes.find(&parts.method, uri.path()) {
        Lookup::Found(m) => (m.route, m.values),
        Lookup::WrongVerb(allowed) => {
            let list: Vec<&str> = allowed.iter().map(|v| v.as_str()).collect();
            let list = list.join(", ");
            let st = Status::unimplemented(format!(
                "{} is not allowed on {}; allowed: {list}",
                parts.method,
                uri.path()
            ));
            let mut res =
                response::error_with(StatusCode::METHOD_NOT_ALLOWED, &st, catalog, pretty);
            if let Ok(v) = HeaderValue::from_str(&list) {
                res.headers_mut().insert(header::ALLOW, v);
            }
            return res;
        }
        Lookup::NotFound => {
            let st = Status::not_found(format!(
                "no method is bound to {} {}",
                parts.method,
                uri.path()
            ));
            return response::error(&st, catalog, pretty);
        }
    };
    let method = &route.method;
    if method.client_streaming() {
        let values = values
            .into_iter()
            .map(|v| Cow::Owned(v.into_owned()))
            .collect();
        return stream::client_stream(ctx, route.clone(), values, parts, body, pretty).await;
    }
    let mut recorder = Recorder::new(method.clone());
    let message = async {
        let bytes = match route.body {
            BodySpec::None => Bytes::new(),
            _ => ctx.read_body(body).await?,
        };
        request::build(route, &values, uri.query(), &bytes)
    };
    let message = match message.await {
        Ok(m) => Bytes::from(m.encode_to_vec()),
        Err(st) => {
            recorder.finish(st.code());
            return response::error(&st, catalog, pretty);
        }
    };
    let format = Format::of(&parts.headers);
    let call = CallRequest::from_parts(&method.path, &mut parts);
    let res = call_one(&ctx.inner, call, message).await;
    if method.server_streaming() {
        return stream::respond(res, route.clone(), format, pretty, recorder, catalog.pool());
    }
    let (result, headers, _) = res.unary().await;
    let mut out = match result.and_then(|b| response::message_json(route, &b, pretty)) {
        Ok(json) => {
            recorder.finish(Code::Ok);
            response::ok(json)
        }
        Err(st) => {
            recorder.finish(st.code());
            response::error(&st, catalog, pretty)
        }
    };
    response::request_id(&mut out, &headers);
    out
}
