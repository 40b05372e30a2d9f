"""REST/JSON against the real `grpckit server`: every annotated method of user.v1.UserService
and order.v1.OrderService through Python `requests` (HTTP/1.1), streams as Server-Sent
Events (`curl -N`) and newline-delimited JSON, h2c with `curl --http2-prior-knowledge`, and
the error mapping.

usage: rest_gateway.py BASE_URL ADMIN_EMAIL ADMIN_PASSWORD
Prints one line per check and `OK <n>` at the end; any failed check raises (exit 1).
"""

import json
import subprocess
import sys
import threading
import time
import uuid

import requests

BASE, ADMIN_EMAIL, ADMIN_PASSWORD = sys.argv[1], sys.argv[2], sys.argv[3]
PASSWORD = "correct-horse-battery"
CHECKS = 0
S = requests.Session()


def check(cond, what, detail=None):
    global CHECKS
    if not cond:
        raise AssertionError(f"{what}: {detail!r}")
    CHECKS += 1
    print(f"ok {what}", flush=True)


def call(method, path, token=None, body=None, raw=None, headers=None, **kw):
    h = dict(headers or {})
    if token:
        h["Authorization"] = f"Bearer {token}"
    if body is not None:
        raw = json.dumps(body)
    if raw is not None:
        h.setdefault("Content-Type", "application/json")
    return S.request(method, BASE + path, data=raw, headers=h, timeout=20, **kw)


def ok_json(res, what):
    check(res.status_code == 200, f"{what}: 200", (res.status_code, res.text))
    check(
        res.headers.get("content-type", "").startswith("application/json"),
        f"{what}: JSON content type",
        res.headers.get("content-type"),
    )
    return res.json()


def error(res, http, code, what):
    check(res.status_code == http, f"{what}: HTTP {http}", (res.status_code, res.text))
    check(
        res.headers.get("content-type", "").startswith("application/json"),
        f"{what}: JSON error body",
        res.headers.get("content-type"),
    )
    body = res.json()
    check(body.get("code") == code, f"{what}: google.rpc code {code}", body)
    return body


def detail(body, type_name):
    for d in body.get("details", []):
        if d.get("@type") == "type.googleapis.com/" + type_name:
            return d
    return None


def email(tag):
    return f"{tag}-{uuid.uuid4().hex[:10]}@example.com"


def sse_events(lines):
    """Server-Sent Events from an iterator of text lines: (event, id, data) tuples."""
    event, ident, data = "message", None, []
    for line in lines:
        line = line.rstrip("\r\n")
        if line == "":
            if data:
                yield event, ident, "\n".join(data)
            event, ident, data = "message", None, []
        elif line.startswith("data:"):
            data.append(line[5:].lstrip(" "))
        elif line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("id:"):
            ident = line[3:].strip()


def curl(*args, timeout=30):
    return subprocess.run(
        ["curl", "-sS", *args], capture_output=True, text=True, timeout=timeout, check=False
    )


# --- sign-up, login, the profile ------------------------------------------------------------

ada_email = email("ada")
created = ok_json(
    call("POST", "/v1/users", body={"name": "Ada", "email": ada_email, "password": PASSWORD}),
    "CreateUser",
)
ada = created["user"]
check(ada["email"] == ada_email and ada["role"] == "ROLE_USER", "CreateUser: the user, enum by name", ada)
check("createdAt" in ada and ada["createdAt"].endswith("Z"), "CreateUser: Timestamp as RFC 3339", ada)

login = ok_json(call("POST", "/v1/auth/login", body={"email": ada_email, "password": PASSWORD}), "Login")
token = login["accessToken"]
check(login["tokenType"] == "Bearer", "Login: token type", login)
check(isinstance(login["expiresIn"], str) and int(login["expiresIn"]) > 0, "Login: int64 as a string", login)

got = ok_json(call("GET", f"/v1/users/{ada['id']}", token), "GetUser")
check(got["user"]["id"] == ada["id"], "GetUser: the same user", got)

pretty = call("GET", f"/v1/users/{ada['id']}?pretty", token)
check(pretty.status_code == 200 and "\n  " in pretty.text, "GetUser ?pretty: indented", pretty.text)
check(pretty.json() == got, "GetUser ?pretty: same content", pretty.text)

updated = ok_json(call("PATCH", f"/v1/users/{ada['id']}", token, body={"name": "Ada L."}), "UpdateUser (PATCH)")
check(updated["user"]["name"] == "Ada L." and updated["user"]["email"] == ada_email, "UpdateUser: only the name changed", updated)

# --- admin: ListUsers, BatchCreateUsers, DeleteUser ---------------------------------------------

admin = ok_json(
    call("POST", "/v1/auth/login", body={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}), "Login (admin)"
)["accessToken"]

batch_emails = [email("batch1"), email("batch2")]
lines = [
    json.dumps({"name": "B1", "email": batch_emails[0], "password": PASSWORD}),
    "",  # blank lines are skipped
    json.dumps({"name": "B2", "email": batch_emails[1], "password": PASSWORD}),
    json.dumps({"name": "B3", "email": ada_email, "password": PASSWORD}),  # taken
]


def ndjson_body(items, pause=0.05):
    # A generator: requests sends it chunked, line by line.
    for item in items:
        yield (item + "\n").encode()
        time.sleep(pause)


batch = ok_json(
    call(
        "POST",
        "/v1/users:batchCreate",
        admin,
        raw=ndjson_body(lines),
        headers={"Content-Type": "application/x-ndjson"},
    ),
    "BatchCreateUsers (NDJSON body, chunked)",
)
check(batch["createdCount"] == 2 and batch["failedCount"] == 1, "BatchCreateUsers: 2 created, 1 failed", batch)
check(
    batch["errors"][0]["index"] == 2 and batch["errors"][0]["code"] == "ALREADY_EXISTS",
    "BatchCreateUsers: the third message failed",
    batch,
)
invalid_batch = error(
    call(
        "POST",
        "/v1/users:batchCreate",
        admin,
        raw=json.dumps({"name": "B4", "email": "not-an-email", "password": PASSWORD}) + "\n",
    ),
    400,
    3,
    "BatchCreateUsers: an invalid message",
)
check(detail(invalid_batch, "google.rpc.BadRequest") is not None, "BatchCreateUsers invalid: BadRequest", invalid_batch)

bad_batch = call(
    "POST",
    "/v1/users:batchCreate",
    admin,
    raw=json.dumps({"name": "x", "email": email("x"), "password": PASSWORD}) + "\n{\"name\": \n",
    headers={"Content-Type": "application/x-ndjson"},
)
body = error(bad_batch, 400, 3, "BatchCreateUsers: a malformed line")
check("line 2" in body["message"] and "column" in body["message"], "BatchCreateUsers: names the line and column", body)

page1 = ok_json(call("GET", "/v1/users?page_size=2", admin), "ListUsers (query page_size)")
check(len(page1["users"]) == 2 and page1.get("nextPageToken"), "ListUsers: a page of 2 and a token", page1)
page2 = ok_json(
    call("GET", "/v1/users", admin, params={"pageSize": 2, "pageToken": page1["nextPageToken"]}),
    "ListUsers (json names in the query, page_token)",
)
check(
    {u["id"] for u in page2["users"]}.isdisjoint({u["id"] for u in page1["users"]}),
    "ListUsers: the second page is new users",
    page2,
)
error(call("GET", "/v1/users", token), 403, 7, "ListUsers as a user: PERMISSION_DENIED")

victim = next(u for u in batch["created"] if u["email"] == batch_emails[0])
deleted = ok_json(call("DELETE", f"/v1/users/{victim['id']}", admin), "DeleteUser")
check(deleted == {}, "DeleteUser: empty message", deleted)
error(call("GET", f"/v1/users/{victim['id']}", admin), 404, 5, "GetUser after DeleteUser: NOT_FOUND")

# --- activity feed: SSE and NDJSON ----------------------------------------------------------

with call(
    "GET",
    f"/v1/users/{ada['id']}/activity?replay_last=10",
    token,
    headers={"Accept": "text/event-stream"},
    stream=True,
) as res:
    check(res.status_code == 200, "StreamUserActivity SSE: 200", res.status_code)
    check(res.headers["content-type"].startswith("text/event-stream"), "StreamUserActivity SSE: content type", res.headers)
    events = []
    for ev, ident, data in sse_events(res.iter_lines(decode_unicode=True)):
        events.append((ev, ident, json.loads(data)))
        if len(events) == 3:
            break
kinds = [e[2]["kind"] for e in events]
check(
    kinds == ["ACTIVITY_KIND_USER_CREATED", "ACTIVITY_KIND_LOGIN", "ACTIVITY_KIND_PROFILE_UPDATED"],
    "StreamUserActivity SSE: replayed history in order",
    events,
)
check([e[1] for e in events] == ["1", "2", "3"] and all(e[0] == "message" for e in events), "SSE: ids 1..3", events)
check(all(e[2]["replayed"] for e in events), "StreamUserActivity: replayed flag", events)

with call("GET", f"/v1/users/{ada['id']}/activity", token, params={"replayLast": 2}, stream=True) as res:
    check(res.headers["content-type"].startswith("application/x-ndjson"), "StreamUserActivity NDJSON: content type", res.headers)
    got_lines = []
    for line in res.iter_lines(decode_unicode=True):
        if line:
            got_lines.append(json.loads(line))
        if len(got_lines) == 2:
            break
check(
    [l["kind"] for l in got_lines] == ["ACTIVITY_KIND_LOGIN", "ACTIVITY_KIND_PROFILE_UPDATED"],
    "StreamUserActivity NDJSON: the last 2 events",
    got_lines,
)
other = ok_json(call("POST", "/v1/users", body={"name": "Bob", "email": email("bob"), "password": PASSWORD}), "CreateUser (bob)")
error(
    call("GET", f"/v1/users/{other['user']['id']}/activity", token, headers={"Accept": "text/event-stream"}),
    403,
    7,
    "StreamUserActivity of another user: PERMISSION_DENIED before the stream",
)

# --- orders ------------------------------------------------------------------------------------


def new_order(quantity=2, price="150"):
    return ok_json(
        call(
            "POST",
            "/v1/orders",
            token,
            body={
                "requestId": str(uuid.uuid4()),
                "user_id": ada["id"],  # original names are accepted too
                "items": [{"sku": "BOOK", "quantity": quantity, "unitPriceMinor": price}],
                "currency": "EUR",
            },
        ),
        "CreateOrder",
    )["order"]


order = new_order()
check(order["status"] == "ORDER_STATUS_CREATED" and order["totalMinor"] == "300", "CreateOrder: created, int64 total as a string", order)
got = ok_json(call("GET", f"/v1/orders/{order['id']}", token), "GetOrder")
check(got["order"]["id"] == order["id"], "GetOrder: the same order", got)

listed = ok_json(call("GET", "/v1/orders", token, params={"user_id": ada["id"], "page_size": 10}), "ListOrders (query user_id, page_size)")
check([o["id"] for o in listed["orders"]] == [order["id"]], "ListOrders: ada's order", listed)

cancelled = ok_json(call("POST", f"/v1/orders/{order['id']}:cancel", token, body={"reason": "changed my mind"}), "CancelOrder (:cancel)")
check(cancelled["order"]["status"] == "ORDER_STATUS_CANCELLED", "CancelOrder: cancelled", cancelled)
not_payable = error(call("POST", f"/v1/orders/{order['id']}:pay", token, body={}), 400, 9, "PayOrder of a cancelled order: FAILED_PRECONDITION")
info = detail(not_payable, "google.rpc.ErrorInfo")
check(info is not None and info.get("reason"), "PayOrder refused: ErrorInfo reason", not_payable)

# TrackOrder over SSE with curl -N while the order is paid and shipped.
tracked = new_order(quantity=1, price="999")
proc = subprocess.Popen(
    [
        "curl", "-sN", "--max-time", "30",
        "-H", "Accept: text/event-stream",
        "-H", f"Authorization: Bearer {token}",
        f"{BASE}/v1/orders/{tracked['id']}/tracking",
    ],
    stdout=subprocess.PIPE,
    text=True,
)
seen = []
first = threading.Event()


def follow():
    for ev, _, data in sse_events(iter(proc.stdout.readline, "")):
        seen.append((ev, json.loads(data)))
        first.set()


reader = threading.Thread(target=follow, daemon=True)
reader.start()
check(first.wait(15), "TrackOrder SSE: first event (the current state) arrives before any change", seen)
paid = ok_json(
    call("POST", f"/v1/orders/{tracked['id']}:pay", token, body={"amountMinor": "999", "paymentMethod": "card"}),
    "PayOrder (:pay)",
)
check(paid["order"]["status"] == "ORDER_STATUS_PAID" and paid["paymentId"], "PayOrder: paid, a payment id", paid)
proc.wait(timeout=30)
reader.join(timeout=5)
states = [d["status"] for _, d in seen]
check(
    states == ["ORDER_STATUS_CREATED", "ORDER_STATUS_PAID", "ORDER_STATUS_SHIPPED", "ORDER_STATUS_DELIVERED"],
    "TrackOrder SSE (curl -N): every state in order, then the stream ends",
    seen,
)
check(proc.returncode == 0 and all(ev == "message" for ev, _ in seen), "TrackOrder SSE: clean end", proc.returncode)

# TrackOrder as NDJSON over h2c (curl --http2-prior-knowledge), once the order is delivered.
h2 = curl(
    "--http2-prior-knowledge", "-N", "-w", "\\n%{http_version} %{http_code}",
    "-H", f"Authorization: Bearer {token}",
    f"{BASE}/v1/orders/{tracked['id']}/tracking",
)
*body_lines, trailer = h2.stdout.strip().split("\n")
check(trailer == "2 200", "TrackOrder over h2c: HTTP/2, 200", (h2.stdout, h2.stderr))
check(
    [json.loads(l)["status"] for l in body_lines if l] == ["ORDER_STATUS_DELIVERED"],
    "TrackOrder NDJSON over h2c: the final state, then the end",
    body_lines,
)
error(call("GET", "/v1/orders/no-such-order/tracking", token), 404, 5, "TrackOrder of an unknown order: NOT_FOUND")

# UploadOrders: newline-delimited CreateOrderRequests.
uploads = [
    {"requestId": str(uuid.uuid4()), "userId": ada["id"], "items": [{"sku": "A", "quantity": 1, "unitPriceMinor": "10"}]},
    {"requestId": str(uuid.uuid4()), "userId": ada["id"], "items": [{"sku": "B", "quantity": 3, "unitPriceMinor": "20"}]},
]
up = ok_json(
    call(
        "POST",
        "/v1/orders:upload",
        token,
        raw=ndjson_body([json.dumps(u) for u in uploads]),
        headers={"Content-Type": "application/x-ndjson"},
    ),
    "UploadOrders (NDJSON body)",
)
check(up["createdCount"] == 2 and [o["totalMinor"] for o in up["created"]] == ["10", "60"], "UploadOrders: both created", up)

# --- h2c unary -------------------------------------------------------------------------------
h2 = curl(
    "--http2-prior-knowledge", "-w", "\\n%{http_version} %{http_code}",
    "-H", f"Authorization: Bearer {token}",
    f"{BASE}/v1/users/{ada['id']}",
)
body_text, trailer = h2.stdout.rsplit("\n", 1)
check(trailer == "2 200" and json.loads(body_text)["user"]["id"] == ada["id"], "GetUser over h2c", h2.stdout)
h2 = curl(
    "--http2-prior-knowledge", "-X", "POST", "-w", "\\n%{http_version} %{http_code}",
    "-H", "Content-Type: application/json", "-d", '{"email": "nobody@example.com", "password": "x"}',
    f"{BASE}/v1/auth/login",
)
body_text, trailer = h2.stdout.rsplit("\n", 1)
check(trailer == "2 401" and json.loads(body_text)["code"] == 16, "Login refused over h2c: 401", h2.stdout)

# --- error mapping -----------------------------------------------------------------------------

res = call("GET", f"/v1/users/{ada['id']}")
error(res, 401, 16, "GetUser without a token: UNAUTHENTICATED")
check(res.headers.get("www-authenticate", "").startswith("Bearer"), "401 names the Bearer scheme", res.headers)
error(call("GET", f"/v1/users/{ada['id']}", "not-a-token"), 401, 16, "GetUser with a bad token")

invalid = error(
    call("POST", "/v1/users", body={"name": "", "email": "nope", "password": "short"}),
    400,
    3,
    "CreateUser with invalid fields: INVALID_ARGUMENT",
)
bad = detail(invalid, "google.rpc.BadRequest")
fields = sorted({v["field"] for v in (bad or {}).get("fieldViolations", [])})
check(fields == ["email", "name", "password"], "CreateUser invalid: BadRequest lists every field", invalid)

error(call("GET", "/v1/nothing/here"), 404, 5, "unknown path: 404 NOT_FOUND")
error(call("GET", f"/v1/users/{ada['id']}/nope", token), 404, 5, "unknown sub-path: 404")
res = call("PUT", "/v1/users", token, body={})
error(res, 405, 12, "wrong verb: 405")
check(sorted(res.headers.get("allow", "").split(", ")) == ["GET", "POST"], "405 names the allowed verbs", res.headers)
res = call("POST", f"/v1/users/{ada['id']}", token, body={})
check(res.status_code == 405 and sorted(res.headers["allow"].split(", ")) == ["DELETE", "GET", "PATCH"], "405 on /v1/users/{id}", res.headers)

malformed = error(call("POST", "/v1/users", raw='{"name": "Ada",\n "email": }'), 400, 3, "malformed JSON: 400")
check("line 2 column" in malformed["message"], "malformed JSON: the position", malformed)
unknown = error(
    call("POST", "/v1/users", raw='{"name": "Ada", "nmae": "x", "email": "a@example.com", "password": "long enough"}'),
    400,
    3,
    "unknown field: 400",
)
check("nmae" in unknown["message"], "unknown field: named", unknown)
res = error(call("GET", "/v1/users", admin, params={"page_size": "many"}), 400, 3, "query value of the wrong type: 400")
bad = detail(res, "google.rpc.BadRequest")
check(bad and bad["fieldViolations"][0]["field"] == "page_size", "bad query value: BadRequest names it", res)
res = error(call("GET", "/v1/users", admin, params={"colour": "red"}), 400, 3, "unknown query parameter: 400")
check("colour" in res["message"], "unknown query parameter: named", res)
res = call("GET", "/v1/nothing?pretty")
check(res.status_code == 404 and "\n  " in res.text, "errors honour ?pretty", res.text)

print(f"OK {CHECKS}", flush=True)
