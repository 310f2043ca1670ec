import { test } from "node:test";
import assert from "node:assert/strict";
import { createLogger, MetricsRegistry } from "../telemetry/mod.ts";
import { createApp } from "./app.ts";

const logger = createLogger({ level: "error", write: () => {} });

test("GET /metrics answers the registry as Prometheus text", async () => {
  const metrics = new MetricsRegistry();
  const rows = metrics.counter("electric_rows_sent_total", "Rows.", { phase: "live" });
  const app = createApp({
    logger,
    connectorState: () => "ready",
    proxyTunnelEnabled: false,
    metrics,
  });
  rows.inc(7);
  const res = await app.request("http://localhost/metrics");
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  const body = await res.text();
  assert.match(body, /^# TYPE electric_rows_sent_total counter$/m);
  assert.match(body, /^electric_rows_sent_total\{phase="live"\} 7$/m);
  // Read at each scrape.
  rows.inc();
  assert.match(await (await app.request("http://localhost/metrics")).text(), /\} 8$/m);
});

test("other methods and deeper paths are 404; without a registry 501", async () => {
  const metrics = new MetricsRegistry();
  const app = createApp({
    logger,
    connectorState: () => "ready",
    proxyTunnelEnabled: false,
    metrics,
  });
  assert.equal((await app.request("http://localhost/metrics", { method: "POST" })).status, 404);
  assert.equal((await app.request("http://localhost/metrics/x")).status, 404);
  const without = createApp({ logger, connectorState: () => "ready", proxyTunnelEnabled: false });
  assert.equal((await without.request("http://localhost/metrics")).status, 501);
});
