/**
 * The TCP-over-WebSocket tunnel (proxy-http-auth-config.md §3.13), served by this runtime's
 * HTTP server, driven by the real `electric-sql proxy-tunnel` command and psql through it.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { findFreePort } from "../../src/embedded/mod.ts";
import { proxyTunnelHandler } from "../../src/proxy/mod.ts";
import { type HttpServerHandle, loadRuntime } from "../../src/runtime/mod.ts";
import { createLogger } from "../../src/telemetry/mod.ts";
import { waitFor } from "../helpers/wait.ts";
import { type ProxyHarness, psql, startProxy } from "./proxy_harness.ts";

const CLI = fileURLToPath(
  new URL("../interop/node_modules/.bin/electric-sql", import.meta.url),
);

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
  skip: !existsSync(CLI),
}, async () => {
  const localPort = await findFreePort();
  const child: ChildProcess = spawn(
    "node",
    [
      CLI,
      "proxy-tunnel",
      "--service",
      `http://127.0.0.1:${httpPort}`,
      "--local-port",
      String(localPort),
    ],
    { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env } },
  );
  let output = "";
  child.stdout!.on("data", (d) => output += d);
  child.stderr!.on("data", (d) => output += d);
  try {
    await waitFor(() => output.includes(`listening on port ${localPort}`), {
      timeoutMs: 20_000,
      what: "the tunnel to listen",
    });
    const r = await psql(localPort, ["-c", "SELECT 'through the tunnel' AS where_from"]);
    assert.equal(r.code, 0, r.stderr + output);
    assert.match(r.stdout, /through the tunnel/);
    const ddl = await psql(localPort, [
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
    child.kill();
  }
});
