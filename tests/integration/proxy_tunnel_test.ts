/**
 * The TCP-over-WebSocket tunnel (proxy-http-auth-config.md §3.13), served by this runtime's
 * HTTP server, driven by the real `electric-sql proxy-tunnel` command and psql through it.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { findFreePort } from "../../src/embedded/mod.ts";
import { proxyTunnelHandler } from "../../src/proxy/mod.ts";
import { type HttpServerHandle, loadRuntime } from "../../src/runtime/mod.ts";
import { createLogger } from "../../src/telemetry/mod.ts";
import {
  hasElectricCli,
  type ProxyHarness,
  psql,
  startProxy,
  startProxyTunnel,
} from "./proxy_harness.ts";

let h: ProxyHarness;
let server: HttpServerHandle;
let httpPort: number;

before(async () => {
  h = await startProxy();
  const runtime = await loadRuntime();
  const tunnel = proxyTunnelHandler(runtime, {
    port: h.port,
    logger: createLogger({ level: "error", write: () => {} }),
  });
  httpPort = await findFreePort();
  const served = runtime.serve({
    port: httpPort,
    hostname: "127.0.0.1",
    fetch: (request) => {
      const path = new URL(request.url).pathname.split("/").filter((s) => s !== "");
      return path.length === 1 && path[0] === "proxy"
        ? tunnel(request)
        : new Response("no", { status: 404 });
    },
  });
  assert.ok(served.ok);
  server = served.server;
});

after(async () => {
  await server.close();
  await h.stop();
});

test("a plain HTTP request to the tunnel route is a 400", async () => {
  const res = await fetch(`http://127.0.0.1:${httpPort}/proxy`);
  assert.equal(res.status, 400);
  await res.body?.cancel();
});

test("electric-sql proxy-tunnel + psql reach the proxy (ENABLE ELECTRIC included)", {
  skip: !hasElectricCli,
}, async () => {
  const tunnel = await startProxyTunnel(httpPort);
  try {
    const r = await psql(tunnel.port, ["-c", "SELECT 'through the tunnel' AS where_from"]);
    assert.equal(r.code, 0, r.stderr + tunnel.output());
    assert.match(r.stdout, /through the tunnel/);
    const ddl = await psql(tunnel.port, [
      "-v",
      "ON_ERROR_STOP=1",
      "-c",
      "CREATE TABLE tunnelled (id uuid PRIMARY KEY);",
      "-c",
      "ALTER TABLE tunnelled ENABLE ELECTRIC;",
    ]);
    assert.equal(ddl.code, 0, ddl.stderr);
    assert.match(ddl.stdout, /ELECTRIC ENABLE/);
  } finally {
    tunnel.stop();
  }
});
