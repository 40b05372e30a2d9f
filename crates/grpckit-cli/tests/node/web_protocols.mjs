// gRPC-Web and Connect against the real `grpckit server` with the official clients
// (@connectrpc/connect-node), the services loaded at run time from the binary descriptor set
// (no code generation). Driven by tests/web_protocols.rs:
//
//   node web_protocols.mjs BASE_URL DESCRIPTOR_SET_FILE
//
// Prints one line per check; exits 1 on the first failure.
import { readFileSync } from "node:fs";
import http from "node:http";
import { randomUUID } from "node:crypto";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { createFileRegistry, fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";

const [baseUrl, descriptorFile] = process.argv.slice(2);
if (!baseUrl || !descriptorFile) {
  console.error("usage: node web_protocols.mjs BASE_URL DESCRIPTOR_SET_FILE");
  process.exit(2);
}
const registry = createFileRegistry(
  fromBinary(FileDescriptorSetSchema, readFileSync(descriptorFile)),
);
const UserService = registry.getService("user.v1.UserService");
const OrderService = registry.getService("order.v1.OrderService");
const OrderStatus = registry.getEnum("order.v1.OrderStatus");
const ChatEventKind = registry.getEnum("order.v1.ChatEventKind");
const PASSWORD = "password-web-123";

function check(ok, what) {
  if (!ok) {
    throw new Error(`check failed: ${what}`);
  }
}

/** Runs `call`, which must fail with `code`; returns the ConnectError. */
async function expectError(call, code, what) {
  try {
    await call();
  } catch (e) {
    const err = ConnectError.from(e);
    check(err.code === code, `${what}: code ${Code[err.code]} (${err.rawMessage}), want ${Code[code]}`);
    return err;
  }
  throw new Error(`check failed: ${what}: succeeded, want ${Code[code]}`);
}

/** An async iterable fed by push() until close(). */
function channel() {
  const queue = [];
  let wake = null;
  let closed = false;
  return {
    push(v) {
      queue.push(v);
      wake?.();
    },
    close() {
      closed = true;
      wake?.();
    },
    async *[Symbol.asyncIterator]() {
      for (;;) {
        if (queue.length) {
          yield queue.shift();
          continue;
        }
        if (closed) return;
        await new Promise((r) => (wake = r));
        wake = null;
      }
    },
  };
}

/** Signs up a fresh user over `transport`; returns its id and call options with the token. */
async function signUp(transport, label) {
  const users = createClient(UserService, transport);
  const email = `${label}-${randomUUID()}@example.com`;
  const created = await users.createUser({ name: label, email, password: PASSWORD });
  check(created.user?.email === email, `${label}: CreateUser returns the user`);
  const login = await users.login({ email, password: PASSWORD });
  check(login.accessToken.length > 20, `${label}: Login returns a token`);
  return {
    id: created.user.id,
    email,
    auth: { headers: { authorization: `Bearer ${login.accessToken}` }, timeoutMs: 30000 },
  };
}

/** Unary calls, errors with details, and a server stream followed to its end. */
async function scenario(name, transport) {
  const users = createClient(UserService, transport);
  const orders = createClient(OrderService, transport);
  const me = await signUp(transport, name.replace(/[^a-z0-9]+/gi, "-"));
  const got = await users.getUser({ id: me.id }, me.auth);
  check(got.user?.id === me.id && got.user?.email === me.email, `${name}: GetUser with the token`);

  // The same errors, codes and details as native gRPC.
  await expectError(() => users.getUser({ id: me.id }), Code.Unauthenticated, `${name}: GetUser without token`);
  await expectError(
    () => orders.getOrder({ id: randomUUID() }, me.auth),
    Code.NotFound,
    `${name}: GetOrder of an unknown order`,
  );
  const bad = await expectError(
    () => users.createUser({ name: "x", email: "not-an-email", password: "short" }),
    Code.InvalidArgument,
    `${name}: CreateUser with invalid fields`,
  );
  const types = bad.details.map((d) => d.type ?? d.desc?.typeName);
  check(types.includes("google.rpc.BadRequest"), `${name}: BadRequest detail (got ${types})`);
  check(bad.rawMessage.includes("email"), `${name}: error message names the field (${bad.rawMessage})`);

  // Server streaming: TrackOrder from CREATED through PAID to DELIVERED, in order.
  const created = await orders.createOrder(
    {
      requestId: randomUUID(),
      userId: me.id,
      items: [{ sku: "SKU-WEB", quantity: 2, unitPriceMinor: 250n }],
    },
    me.auth,
  );
  const orderId = created.order.id;
  const seen = [];
  for await (const ev of orders.trackOrder({ orderId }, me.auth)) {
    check(ev.orderId === orderId, `${name}: tracking event of the order`);
    seen.push(OrderStatus.value[ev.status].name);
    if (seen.length === 1) {
      const paid = await orders.payOrder({ id: orderId }, me.auth);
      check(paid.paymentId.length > 0, `${name}: PayOrder`);
    }
    check(seen.length < 10, `${name}: too many tracking events ${seen}`);
  }
  const want = ["ORDER_STATUS_CREATED", "ORDER_STATUS_PAID", "ORDER_STATUS_SHIPPED", "ORDER_STATUS_DELIVERED"];
  check(JSON.stringify(seen) === JSON.stringify(want), `${name}: TrackOrder states ${seen}`);
  console.log(`ok ${name}: unary, errors (UNAUTHENTICATED, NOT_FOUND, INVALID_ARGUMENT+BadRequest), TrackOrder ${seen.length} events`);
}

/**
 * A recording HTTP/1.1 proxy in front of the server: the requests as they went on the wire
 * ("GET /user.v1.UserService/GetUser?..."), to prove the client used GET.
 */
async function recordingProxy() {
  const target = new URL(baseUrl);
  const seen = [];
  const server = http.createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    const up = http.request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode, answer.headers);
        answer.pipe(res);
      },
    );
    up.on("error", (e) => res.destroy(e));
    req.pipe(up);
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${server.address().port}`, seen, close: () => server.close() };
}

/** Connect GET for a NO_SIDE_EFFECTS method (JSON and base64 binary), seen on the wire. */
async function connectGet() {
  const proxy = await recordingProxy();
  try {
    for (const useBinaryFormat of [false, true]) {
      proxy.seen.length = 0;
      const transport = createConnectTransport({
        baseUrl: proxy.url,
        httpVersion: "1.1",
        useHttpGet: true,
        useBinaryFormat,
      });
      const me = await signUp(transport, `get-${useBinaryFormat ? "proto" : "json"}`);
      const users = createClient(UserService, transport);
      const got = await users.getUser({ id: me.id }, me.auth);
      check(got.user?.email === me.email, "Connect GET: GetUser");
      await expectError(
        () => createClient(OrderService, transport).getOrder({ id: randomUUID() }, me.auth),
        Code.NotFound,
        "Connect GET: GetOrder of an unknown order",
      );
      const encoding = useBinaryFormat ? "encoding=proto" : "encoding=json";
      const get = proxy.seen.find((l) => l.startsWith("GET /user.v1.UserService/GetUser?"));
      check(get?.includes(encoding) && get.includes("message="), `GetUser went as GET (${proxy.seen})`);
      check(!useBinaryFormat || get.includes("base64=1"), `binary GET is base64 (${get})`);
      check(proxy.seen.some((l) => l === "POST /user.v1.UserService/CreateUser"), `CreateUser stayed a POST (${proxy.seen})`);
    }
  } finally {
    proxy.close();
  }
  // A method with side effects is not callable with GET.
  const res = await fetch(`${baseUrl}/user.v1.UserService/CreateUser?encoding=json&message=%7B%7D`);
  check(res.status === 405, `GET of CreateUser is 405 (got ${res.status})`);
  console.log("ok connect GET: GetUser (json, base64 proto) as GET on the wire, 405 for CreateUser");
}

/** Client streaming and bidirectional streaming (HTTP/2). */
async function streams(name, transport) {
  const users = createClient(UserService, transport);
  const orders = createClient(OrderService, transport);
  async function* batch(bad) {
    yield { name: "Batch A", email: `batch-a-${randomUUID()}@example.com`, password: PASSWORD };
    yield { name: "Batch B", email: `batch-b-${randomUUID()}@example.com`, password: PASSWORD };
    if (bad) yield { name: "Batch C", email: "not-an-email", password: PASSWORD };
  }
  const me = await signUp(transport, `${name.replace(/[^a-z0-9]+/gi, "-")}-streams`);
  const res = await users.batchCreateUsers(batch(false), me.auth);
  check(res.createdCount === 2 && res.failedCount === 0, `${name}: BatchCreateUsers ${res.createdCount}/${res.failedCount}`);
  // A message the validation refuses fails the stream with its details.
  const bad = await expectError(
    () => users.batchCreateUsers(batch(true), me.auth),
    Code.InvalidArgument,
    `${name}: BatchCreateUsers with an invalid user`,
  );
  check(bad.details.some((d) => d.type === "google.rpc.BadRequest"), `${name}: client stream error details`);

  // Chat: two participants in the room of an order; bob's join and words reach alice.
  const order = await orders.createOrder(
    { requestId: randomUUID(), userId: me.id, items: [{ sku: "SKU-CHAT", quantity: 1, unitPriceMinor: 100n }] },
    me.auth,
  );
  const orderId = order.order.id;
  const aliceIn = channel();
  const bobIn = channel();
  aliceIn.push({ orderId, sender: "alice" });
  const alice = orders.chat(aliceIn, me.auth)[Symbol.asyncIterator]();
  // Alice's call is open (in the room) once her first answer can be awaited; start bob
  // only after the server has her: wait for the join notice of bob below.
  await new Promise((r) => setTimeout(r, 300));
  bobIn.push({ orderId, sender: "bob" });
  const bob = orders.chat(bobIn, me.auth)[Symbol.asyncIterator]();
  const joined = await alice.next();
  check(!joined.done && ChatEventKind.value[joined.value.kind].name === "CHAT_EVENT_KIND_JOINED"
    && joined.value.sender === "bob", `${name}: alice sees bob join`);
  bobIn.push({ text: "hello alice" });
  const said = await alice.next();
  check(!said.done && said.value.text === "hello alice" && said.value.sender === "bob",
    `${name}: alice hears bob`);
  aliceIn.push({ text: "hi bob" });
  const bobGot = [];
  while (!bobGot.includes("hi bob") && bobGot.length < 10) {
    const n = await bob.next();
    if (n.done) break;
    bobGot.push(n.value.text);
  }
  check(bobGot.includes("hi bob"), `${name}: bob hears alice (${bobGot})`);
  // Both close their side: each call ends with OK.
  bobIn.close();
  while (!(await bob.next()).done);
  const left = await alice.next();
  check(!left.done && ChatEventKind.value[left.value.kind].name === "CHAT_EVENT_KIND_LEFT", `${name}: alice sees bob leave`);
  aliceIn.close();
  while (!(await alice.next()).done);
  console.log(`ok ${name}: client stream BatchCreateUsers, bidi Chat`);
}

const transports = [
  ["connect+json http/1.1", createConnectTransport({ baseUrl, httpVersion: "1.1", useBinaryFormat: false })],
  ["connect+proto http/1.1", createConnectTransport({ baseUrl, httpVersion: "1.1", useBinaryFormat: true })],
  ["connect+json http/2", createConnectTransport({ baseUrl, httpVersion: "2", useBinaryFormat: false })],
  ["connect+proto http/2", createConnectTransport({ baseUrl, httpVersion: "2", useBinaryFormat: true })],
  ["grpc-web+proto http/1.1", createGrpcWebTransport({ baseUrl, httpVersion: "1.1", useBinaryFormat: true })],
  ["grpc-web+json http/1.1", createGrpcWebTransport({ baseUrl, httpVersion: "1.1", useBinaryFormat: false })],
  ["grpc-web+proto http/2", createGrpcWebTransport({ baseUrl, httpVersion: "2", useBinaryFormat: true })],
];

try {
  for (const [name, transport] of transports) {
    await scenario(name, transport);
  }
  await connectGet();
  await streams("connect+json http/2", transports[2][1]);
  await streams("connect+proto http/2", transports[3][1]);
  await streams("grpc-web+proto http/2", transports[6][1]);
  console.log("all web protocol checks passed");
  process.exit(0);
} catch (e) {
  console.error(e instanceof ConnectError ? `${e.name} ${Code[e.code]}: ${e.rawMessage}` : e);
  process.exit(1);
}
