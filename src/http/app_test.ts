import { test } from "node:test";
import assert from "node:assert/strict";
import { createLogger } from "../telemetry/mod.ts";
import type { ConnectorState } from "../storage/mod.ts";
import { createApp } from "./app.ts";

function app(state: ConnectorState | undefined, proxyTunnelEnabled = false, lines: string[] = []) {
  const logger = createLogger({ level: "info", write: (l) => lines.push(l) });
  return createApp({ logger, connectorState: () => state, proxyTunnelEnabled });
}

async function call(a: ReturnType<typeof app>, path: string, init?: RequestInit) {
  const res = await a.request(`http://localhost${path}`, init);
  return { status: res.status, body: await res.text(), type: res.headers.get("content-type") };
}

test("status says whether Postgres is connected", async () => {
  assert.deepEqual(await call(app("ready"), "/api/status"), {
    status: 200,
    body: "Connection to Postgres is up!",
    type: null,
  });
  assert.deepEqual(
    (await call(app("initialization"), "/api/status/")).body,
    "Initializing connection to Posgres...",
  );
  assert.equal((await call(app("subscribing"), "/api/status")).status, 503);
  assert.deepEqual(await call(app(undefined), "/api/status"), {
    status: 503,
    body: "Database connection failure.",
    type: null,
  });
});

test("unknown routes, other methods and deeper paths are 404 Not found", async () => {
  const a = app("ready");
  for (
    const [path, method] of [["/nope", "GET"], ["/api/status", "POST"], ["/api/status", "HEAD"], [
      "/api/status/x",
      "GET",
    ], ["/", "POST"]]
  ) {
    const res = await call(a, path, { method });
    assert.equal(res.status, 404, `${method} ${path}`);
    if (method !== "HEAD") assert.equal(res.body, "Not found");
  }
});

test("every request is logged with its outcome", async () => {
  const lines: string[] = [];
  await call(app("ready", false, lines), "/api/status");
  assert.match(lines[0], /\[info\] GET \/api\/status$/);
  assert.match(lines[1], /\[info\] Sent 200 in \d+ms$/);
});

test("the WebSocket route waits for Postgres", async () => {
  const res = await call(app("establishing_repl_conn"), "/ws");
  assert.deepEqual([res.status, res.body], [
    503,
    "Postgres connection is not ready: establishing_repl_conn...",
  ]);
});

test("the proxy tunnel answers 404 with a reason when it is off", async () => {
  const res = await call(app("ready", false), "//proxy");
  assert.deepEqual([res.status, res.body], [
    404,
    "Migrations proxy is not configured to accept WebSocket connections",
  ]);
});

test("mounted handlers receive their requests", async () => {
  const logger = createLogger({ level: "error" });
  const a = createApp({
    logger,
    connectorState: () => "ready",
    proxyTunnelEnabled: true,
    mounts: {
      ws: () => new Response("ws"),
      migrations: (c) => new Response(`m:${c.req.query("dialect")}`),
      proxy: () => new Response("tunnel"),
    },
  });
  assert.equal((await call(a, "/ws/")).body, "ws");
  assert.equal((await call(a, "/api/migrations?dialect=sqlite")).body, "m:sqlite");
  assert.equal((await call(a, "//proxy")).body, "tunnel");
});

test("a Host with a bad port does not make the request fail", async () => {
  // What a runtime hands over for `Host: 127.0.0.1:99999`: a URL that `new URL` refuses.
  const request = {
    url: "http://127.0.0.1:99999/api/status",
    method: "GET",
    headers: new Headers({ host: "127.0.0.1:99999" }),
  } as Request;
  const res = await app("ready").fetch(request);
  assert.equal(res.status, 200);
});
