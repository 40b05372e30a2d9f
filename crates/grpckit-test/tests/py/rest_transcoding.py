"""REST/JSON transcoding edge cases against bridge.test.v1.BridgeTest (tests/proto/
bridge_test.proto): Python `requests` over HTTP/1.1, `curl --http2-prior-knowledge` over h2c.

usage: rest_transcoding.py BASE_URL TOKEN
Prints one line per check and `OK <n>` at the end; any failed check raises (exit 1).
"""

import json
import subprocess
import sys
import time

import requests

BASE, TOKEN = sys.argv[1], sys.argv[2]
CHECKS = 0
S = requests.Session()


def check(cond, what, detail=None):
    global CHECKS
    if not cond:
        raise AssertionError(f"{what}: {detail!r}")
    CHECKS += 1
    print(f"ok {what}", flush=True)


def call(method, path, body=None, raw=None, headers=None, **kw):
    h = dict(headers or {})
    if body is not None:
        raw = json.dumps(body)
        h.setdefault("Content-Type", "application/json")
    return S.request(method, BASE + path, data=raw, headers=h, timeout=20, **kw)


def ok(res, what):
    check(res.status_code == 200, f"{what}: 200", (res.status_code, res.text))
    check(res.headers.get("content-type") == "application/json", f"{what}: JSON", res.headers)
    return res.json()


def error(res, http, code, what):
    check(res.status_code == http, f"{what}: HTTP {http}", (res.status_code, res.text))
    check(res.headers.get("content-type") == "application/json", f"{what}: JSON error", res.headers)
    body = res.json()
    check(body.get("code") == code, f"{what}: code {code}", body)
    return body


def violations(body):
    for d in body.get("details", []):
        if d.get("@type") == "type.googleapis.com/google.rpc.BadRequest":
            return [v["field"] for v in d["fieldViolations"]]
    return []


def curl(*args, data=None):
    res = subprocess.run(
        ["curl", "-sS", "--http2-prior-knowledge", "-w", "\n%{http_version} %{http_code}", *args],
        input=data, capture_output=True, text=True, timeout=30, check=False,
    )
    body, _, trailer = res.stdout.rpartition("\n")
    return body, trailer, res.stderr


# --- bindings: additional_bindings, path templates, verbs --------------------------------------

check(ok(call("GET", "/v1/echo/abc"), "GET /v1/echo/{id}") == {"id": "abc"}, "path variable", None)
check(ok(call("GET", "/v1/echo/a%20b%2Fc"), "percent-encoded path") == {"id": "a b/c"}, "path variable percent-decoded")
check(
    ok(call("GET", "/v1/echo/lbl:tag"), "':' inside a variable") == {"id": "lbl:tag"},
    "without a verb in the template ':' is part of the value",
)
echo = ok(call("POST", "/v1/echo", body={"id": "b", "name": "n"}), "additional binding POST body *")
check(echo == {"id": "b", "name": "n"}, "body * is the whole message", echo)
got = ok(call("GET", "/v1/shelves/s1/books/b-2"), "{name=shelves/*/books/*}")
check(got == {"name": "shelves/s1/books/b-2"}, "multi-segment variable keeps its literals", got)
error(call("GET", "/v1/shelves/s1"), 404, 5, "{name=shelves/*/books/*} needs every segment")
error(call("GET", "/v1/shelves/s1/books/b/extra"), 404, 5, "one segment per *")
got = ok(call("GET", "/v1/files/a/b/c.txt"), "{path=**}")
check(got == {"path": "a/b/c.txt"}, "** takes the rest of the path", got)
got = ok(call("PATCH", "/v1/echo/p1", body={"id": "ignored", "name": "n"}), "PATCH body * with a path variable")
check(got == {"id": "p1", "name": "n"}, "the path variable wins over the body", got)

# body: "field"
got = ok(call("PUT", "/v1/echo/e1/nested?small=3", body={"label": "L", "big": "5", "color": "COLOR_RED"}), 'body: "nested"')
check(got == {"id": "e1", "small": 3, "nested": {"label": "L", "big": "5", "color": "COLOR_RED"}}, 'body: "field" + path + query', got)
res = error(call("PUT", "/v1/echo/e1/nested?nested.label=x", body={}), 400, 3, "query naming the body field")
check(violations(res) == ["nested.label"], "query naming the body field: named", res)
got = ok(call("POST", "/v1/echo/lbl:tag", body=["a", "b"]), 'verb ":tag", body: "tags" (repeated)')
check(got == {"tags": ["a", "b"], "nested": {"label": "lbl"}}, "nested path variable {nested.label} and a repeated body field", got)
error(call("POST", "/v1/echo/lbl:tag", raw='["a", 3'), 400, 3, "malformed repeated body")

# --- query string ------------------------------------------------------------------------------

got = ok(call("GET", "/v1/echo/q?nested.label=x&nested.big=9&nested.color=COLOR_GREEN"), "nested query a.b=1")
check(got["nested"] == {"label": "x", "big": "9", "color": "COLOR_GREEN"}, "nested query parameters", got)
got = ok(
    call("GET", "/v1/echo/q", params=[("tags", "a"), ("tags", "b c"), ("colors", "COLOR_RED"), ("colors", "2"), ("numbers", "1"), ("numbers", "-2")]),
    "repeated query parameters",
)
check(got["tags"] == ["a", "b c"], "repeated strings, form-decoded", got)
check(got["colors"] == ["COLOR_RED", "COLOR_GREEN"], "repeated enums by name and number", got)
check(got["numbers"] == ["1", "-2"], "repeated int64 as strings", got)
got = ok(call("GET", "/v1/echo/q?color=COLOR_RED&small=-7&flag=true&ratio=0.25"), "scalars from the query")
check(got == {"id": "q", "color": "COLOR_RED", "small": -7, "flag": True, "ratio": 0.25}, "enum by name, int32, bool, double", got)
got = ok(call("GET", "/v1/echo/q?color=2"), "enum by number")
check(got["color"] == "COLOR_GREEN", "enum by number", got)
got = ok(call("GET", "/v1/echo/q?big=9007199254740993&ubig=18446744073709551615"), "64-bit integers")
check(got["big"] == "9007199254740993" and got["ubig"] == "18446744073709551615", "int64/uint64 exact, as strings", got)
got = ok(
    call(
        "GET",
        "/v1/echo/q",
        params={
            "when": "2024-01-02T03:04:05.5Z",
            "wait": "1.5s",
            "mask": "name,nested.label",
            "meta": '{"k": [1, "x"]}',
            "maybe_count": "0",
            "maybeFlag": "false",
            "maybe_text": "",
            "blob": "aGk=",
            "any_value": "42",
        },
    ),
    "well-known types from the query",
)
check(got["when"] == "2024-01-02T03:04:05.500Z", "Timestamp from the query", got)
check(got["wait"] == "1.500s", "Duration from the query", got)
check(got["mask"] == "name,nested.label", "FieldMask from the query", got)
check(got["meta"] == {"k": [1, "x"]}, "Struct from the query (JSON text)", got)
check(got["maybeCount"] == 0 and got["maybeFlag"] is False and got["maybeText"] == "", "wrappers keep presence of zero values", got)
check(got["blob"] == "aGk=" and got["anyValue"] == 42, "bytes (base64) and Value from the query", got)
got = ok(call("GET", "/v1/echo/q?custom_name=a"), "original name of a json_name field")
check(got["renamed"] == "a", "custom_name (original) accepted", got)
got = ok(call("GET", "/v1/echo/q?renamed=b"), "json_name in the query")
check(got["renamed"] == "b", "renamed (json_name) accepted", got)

res = error(call("GET", "/v1/echo/q?colour=red"), 400, 3, "unknown query parameter")
check(violations(res) == ["colour"] and "colour" in res["message"], "unknown query parameter named", res)
res = error(call("GET", "/v1/echo/q?color=COLOR_PURPLE"), 400, 3, "unknown enum name")
check(violations(res) == ["color"], "bad enum value: BadRequest names the field", res)
res = error(call("GET", "/v1/echo/q?small=many"), 400, 3, "int32 that is not a number")
check(violations(res) == ["small"], "bad number: BadRequest names the field", res)
res = error(call("GET", "/v1/echo/q?flag=maybe"), 400, 3, "bool that is not a bool")
res = error(call("GET", "/v1/echo/q?when=yesterday"), 400, 3, "Timestamp that is not RFC 3339")
check(violations(res) == ["when"], "bad Timestamp named", res)
res = error(call("GET", "/v1/echo/q?nested.nope=1"), 400, 3, "unknown nested query parameter")
check("nope" in res["message"], "unknown nested field named", res)
res = error(call("POST", "/v1/echo?id=x", body={}), 400, 3, "query with body *")
check(violations(res) == ["id"], "query parameters refused when the body carries every field", res)

# --- proto3 JSON in bodies --------------------------------------------------------------------

full = {
    "id": "j",
    "big": "-9007199254740993",
    "ubig": "18446744073709551615",
    "small": 2147483647,
    "flag": True,
    "ratio": 1.5,
    "color": "COLOR_GREEN",
    "tags": ["x"],
    "colors": ["COLOR_RED"],
    "numbers": ["0", "5"],
    "nested": {"label": "n", "big": "1"},
    "when": "2024-02-29T23:59:59.123456789Z",
    "wait": "-0.000001s",
    "mask": "name,nested.label",
    "meta": {"a": [1, "x", None, True, {"b": 2.5}]},
    "maybeCount": 0,
    "maybeText": "t",
    "maybeFlag": False,
    "path": "p",
    "blob": "AAEC",
    "renamed": "r",
    "anyValue": {"z": [1]},
    "nothing": {},
}
got = ok(call("POST", "/v1/echo", body=full), "every JSON form in a body")
check(got == full, "proto3 JSON round trip (int64 strings, enums, WKTs, wrappers, Struct, Value, Empty, bytes)", got)
got = ok(
    call("POST", "/v1/echo", body={"big": 12, "small": "3", "color": 1, "custom_name": "o", "maybe_count": 4, "nested": {"color": 2}}),
    "numbers, enums by number and original names on input",
)
check(
    got == {"big": "12", "small": 3, "color": "COLOR_RED", "renamed": "o", "maybeCount": 4, "nested": {"color": "COLOR_GREEN"}},
    "accepted forms are written the canonical way",
    got,
)
res = error(call("POST", "/v1/echo", raw='{"id": "x", "bogus": 1}'), 400, 3, "unknown body field")
check("bogus" in res["message"], "unknown body field named", res)
res = error(call("POST", "/v1/echo", raw='{"nested": {"label": "x", "extra": true}}'), 400, 3, "unknown nested body field")
check("extra" in res["message"], "unknown nested field named", res)
res = error(call("POST", "/v1/echo", raw='{\n  "id": "x",\n  "big": }\n}'), 400, 3, "malformed JSON")
check("line 3 column" in res["message"], "malformed JSON: line and column", res)
res = error(call("POST", "/v1/echo", raw='{"big": "twelve"}'), 400, 3, "int64 that is not a number")
error(call("POST", "/v1/echo", raw='{"when": "2024-13-01T00:00:00Z"}'), 400, 3, "invalid Timestamp")
got = ok(call("POST", "/v1/echo", raw=""), "empty body for body *")
check(got == {}, "an empty body is the empty message", got)

# --- response_body, Empty, pretty --------------------------------------------------------------

got = ok(call("GET", "/v1/nested/n1?nested.label=x&nested.big=3"), "response_body: nested")
check(got == {"label": "x", "big": "3"}, "response_body of a message field", got)
got = ok(call("GET", "/v1/nested/n1"), "response_body: unset message")
check(got == {}, "response_body of an unset message: {}", got)
got = ok(call("GET", "/v1/tags?tags=a&tags=b"), "response_body: tags")
check(got == ["a", "b"], "response_body of a repeated field", got)
check(ok(call("GET", "/v1/tags"), "response_body: no tags") == [], "response_body of an empty repeated field: []")
res = call("GET", "/v1/tags?tags=a&pretty")
check(res.text == '[\n  "a"\n]', "response_body ?pretty", res.text)
check(ok(call("POST", "/v1/ping", body={}), "Empty") == {}, "Empty in and out")
check(ok(call("POST", "/v1/ping"), "Empty without a body") == {}, "Empty without a body")
res = call("GET", "/v1/echo/pp?nested.label=x&pretty")
check(res.text == '{\n  "id": "pp",\n  "nested": {\n    "label": "x"\n  }\n}', "?pretty indents", res.text)
res = call("GET", "/v1/echo/pp?pretty=false")
check(res.text == '{"id":"pp"}', "?pretty=false does not", res.text)

# --- x-request-id -------------------------------------------------------------------------------

res = call("GET", "/v1/echo/rid", headers={"X-Request-Id": "my-request-42"})
check(res.headers.get("x-request-id") == "my-request-42", "the caller's x-request-id comes back", res.headers)
check(len(call("GET", "/v1/echo/rid").headers.get("x-request-id", "")) > 0, "an x-request-id is made up otherwise")
res = call("GET", "/v1/secret/rid", headers={"X-Request-Id": "refused-1"})
check(res.status_code == 401 and res.headers.get("x-request-id") == "refused-1", "x-request-id on errors", res.headers)
res = call("GET", "/v1/ticks?count=1", headers={"X-Request-Id": "stream-1"})
check(res.headers.get("x-request-id") == "stream-1", "x-request-id on streams", res.headers)
res = call("POST", "/v1/collect", raw='{"id":"a"}', headers={"X-Request-Id": "upload-1"})
check(res.headers.get("x-request-id") == "upload-1", "x-request-id on client streams", res.headers)

# --- 404 / 405 / auth --------------------------------------------------------------------------

res = error(call("GET", "/v1/nope"), 404, 5, "unknown path")
check("/v1/nope" in res["message"], "404 names the path", res)
error(call("GET", "/"), 404, 5, "root path")
res = error(call("DELETE", "/v1/echo/x"), 405, 12, "wrong verb")
check(sorted(res and call("DELETE", "/v1/echo/x").headers["allow"].split(", ")) == ["GET", "PATCH"], "Allow lists the verbs of the path", res)
res = call("GET", "/v1/echo")
check(res.status_code == 405 and res.headers["allow"] == "POST", "GET on a POST-only path: 405 Allow: POST", (res.status_code, res.headers))
res = error(call("GET", "/v1/secret/s"), 401, 16, "no token")
check(res.get("message"), "401 says why", res)
error(call("GET", "/v1/secret/s", headers={"Authorization": "Bearer nope"}), 401, 16, "bad token")
got = ok(call("GET", "/v1/secret/s", headers={"Authorization": f"Bearer {TOKEN}"}), "with a token")
check(got == {"id": "s"}, "authorized call", got)

# --- server streams ------------------------------------------------------------------------------

res = call("GET", "/v1/ticks?count=3")
check(res.status_code == 200 and res.headers["content-type"] == "application/x-ndjson", "NDJSON stream", res.headers)
lines = [json.loads(l) for l in res.text.splitlines()]
check(lines == [{"label": "tick", "big": str(n)} for n in (1, 2, 3)], "NDJSON: one message per line", res.text)
res = call("GET", "/v1/ticks?count=2&fail_code=9&fail_message=boom")
lines = [json.loads(l) for l in res.text.splitlines()]
check(len(lines) == 3 and lines[2] == {"error": {"code": 9, "message": "boom"}}, "NDJSON: a failure is the last line", res.text)
res = call("GET", "/v1/ticks?count=2&fail_code=9&fail_message=boom", headers={"Accept": "text/event-stream"})
check(res.headers["content-type"] == "text/event-stream", "SSE content type", res.headers)
check(
    res.text
    == 'id: 1\ndata: {"label":"tick","big":"1"}\n\n'
    'id: 2\ndata: {"label":"tick","big":"2"}\n\n'
    'event: error\ndata: {"code":9,"message":"boom"}\n\n',
    "SSE: id + data per message, the failure as event: error",
    res.text,
)
res = call("GET", "/v1/ticks?count=1&pretty", headers={"Accept": "text/event-stream"})
check(res.text == 'id: 1\ndata: {\ndata:   "label": "tick",\ndata:   "big": "1"\ndata: }\n\n', "SSE ?pretty: one data line per JSON line", res.text)
error(call("GET", "/v1/ticks?count=-1&fail_code=5&fail_message=gone"), 404, 5, "a stream refused before its first message: HTTP status")
error(call("GET", "/v1/ticks?count=x"), 400, 3, "bad query of a stream")
with call("GET", "/v1/ticks", headers={"Accept": "text/event-stream"}, stream=True) as res:
    events = []
    for line in res.iter_lines(decode_unicode=True):
        if line.startswith("data: "):
            events.append(json.loads(line[6:]))
        if len(events) == 3:
            break
check([e["big"] for e in events] == ["1", "2", "3"], "an endless SSE stream is read as it comes", events)

# --- client streams -----------------------------------------------------------------------------


def lines_body(items, pause):
    for item in items:
        yield (item + "\n").encode()
        time.sleep(pause)


items = [json.dumps({"id": f"m{i}", "big": str(i)}) for i in (1, 2, 3)]
got = ok(call("POST", "/v1/collect", raw=lines_body(items, 0.4), headers={"Content-Type": "application/x-ndjson"}), "NDJSON client stream")
check(got["tags"] == ["m1", "m2", "m3"] and got["small"] == 3 and got["big"] == "6", "every line reached the handler, in order", got)
check(got["ratio"] >= 0.6, "lines reach the handler as they arrive (not after the whole body)", got)
got = ok(call("POST", "/v1/collect", raw='{"id":"a"}\n\n  \n{"id":"b"}'), "blank lines, no final newline")
check(got["tags"] == ["a", "b"], "blank lines skipped, last line without newline read", got)
got = ok(call("POST", "/v1/collect", raw=""), "empty client stream")
check(got.get("small", 0) == 0, "no messages", got)
res = error(call("POST", "/v1/collect", raw='{"id":"a"}\n{"id": }\n{"id":"c"}\n'), 400, 3, "malformed line")
check(res["message"].startswith("line 2 of the request body") and "column" in res["message"], "malformed line: line and column", res)
res = error(call("POST", "/v1/collect", raw='{"id":"a"}\n{"idd":"b"}\n'), 400, 3, "unknown field in a line")
check("idd" in res["message"] and "line 2" in res["message"], "unknown field in a line: named", res)

# --- h2c -------------------------------------------------------------------------------------------

body, trailer, err = curl(f"{BASE}/v1/echo/h2?big=1&tags=x&tags=y")
check(trailer == "2 200" and json.loads(body) == {"id": "h2", "big": "1", "tags": ["x", "y"]}, "h2c unary GET", (body, trailer, err))
body, trailer, err = curl("-X", "POST", "-H", "Content-Type: application/json", "--data-binary", "@-", f"{BASE}/v1/echo", data=json.dumps(full))
check(trailer == "2 200" and json.loads(body) == full, "h2c POST body *", (body, trailer, err))
body, trailer, err = curl("-N", f"{BASE}/v1/ticks?count=2")
check(trailer == "2 200" and [json.loads(l)["big"] for l in body.splitlines()] == ["1", "2"], "h2c NDJSON stream", (body, trailer, err))
body, trailer, err = curl("-N", "-H", "Accept: text/event-stream", f"{BASE}/v1/ticks?count=1&fail_code=14&fail_message=later")
check(trailer == "2 200" and "event: error\ndata: {\"code\":14" in body, "h2c SSE with a failure", (body, trailer, err))
body, trailer, err = curl("-X", "POST", "--data-binary", "@-", f"{BASE}/v1/collect", data='{"id":"x","big":"2"}\n{"id":"y","big":"3"}\n')
check(trailer == "2 200" and json.loads(body)["tags"] == ["x", "y"], "h2c NDJSON client stream", (body, trailer, err))
body, trailer, err = curl("-X", "DELETE", f"{BASE}/v1/echo/x")
check(trailer == "2 405" and json.loads(body)["code"] == 12, "h2c 405", (body, trailer, err))
body, trailer, err = curl(f"{BASE}/v1/secret/x")
check(trailer == "2 401", "h2c 401", (body, trailer, err))

print(f"OK {CHECKS}", flush=True)
