import { test } from "node:test";
import assert from "node:assert/strict";
import { createLogger, MetricsRegistry, RecentErrors, StatusHistory } from "../telemetry/mod.ts";
import type { ConnectorState } from "../storage/mod.ts";
import { createApp } from "./app.ts";
import { statusDocument, type StatusSource, wantsJson } from "./status_json.ts";
import { STATUS_PAGE_HTML } from "./status_page.ts";

function app(state: ConnectorState | undefined, status?: StatusSource) {
  const logger = createLogger({ level: "error", write: () => {} });
  return createApp({ logger, connectorState: () => state, proxyTunnelEnabled: false, status });
}

function fixture() {
  const registry = new MetricsRegistry();
  let now = 1_700_000_000_000;
  const clients = registry.gauge("electric_clients_connected", "");
  const initial = registry.counter("electric_rows_sent_total", "", { phase: "initial" });
  const live = registry.counter("electric_rows_sent_total", "", { phase: "live" });
  const received = registry.counter("electric_transactions_received_total", "");
  registry.gaugeFrom("electric_shapes", "", () => {
    throw new Error("unreadable");
  });
  const history = new StatusHistory({ snapshot: () => registry.snapshot(), now: () => now });
  const errors = new RecentErrors({ now: () => new Date(now) });
  const source: StatusSource = {
    version: "0.12.1",
    instanceId: "instance-1",
    runtime: "deno",
    startedAt: now - 90_500,
    slot: "electric_replication_out_db",
    metrics: registry,
    history,
    recentErrors: errors,
    now: () => now,
  };
  return {
    source,
    step(ms: number) {
      now += ms;
      history.sample();
    },
    clients,
    initial,
    live,
    received,
    errors,
  };
}

test("the document: current figures, rates, history and errors; missing metrics are null", () => {
  const f = fixture();
  f.clients.set(1);
  f.step(0);
  f.initial.inc(10);
  f.live.inc(2);
  f.received.inc(4);
  f.step(2_000);
  f.errors.add("error", "Replication stream lost: connection reset", "postgres");
  const doc = statusDocument("ready", f.source);
  assert.equal(doc.status, "ok");
  assert.equal(doc.version, "0.12.1");
  assert.equal(doc.instance_id, "instance-1");
  assert.equal(doc.uptime_seconds, 93);
  assert.deepEqual(doc.postgres, {
    state: "ready",
    slot: "electric_replication_out_db",
    connected: null,
    replication_lag_bytes: null,
    replication_lag_seconds: null,
    transactions_received_total: 4,
    wal_window_bytes: null,
    wal_window_limit_bytes: null,
    transaction_cache_bytes: null,
    transaction_cache_limit_bytes: null,
  });
  assert.equal(doc.clients.connected, 1);
  assert.equal(doc.clients.authenticated, null);
  assert.equal(doc.clients.shapes, null, "a gauge whose read throws");
  assert.deepEqual([doc.sent.rows_total, doc.sent.rows_initial_total, doc.sent.rows_live_total], [
    12,
    10,
    2,
  ]);
  assert.equal(doc.rates.rows_per_second, 6);
  assert.equal(doc.rates.transactions_in_per_second, 2);
  assert.equal(doc.rates.transactions_out_per_second, null);
  assert.equal(doc.history.times.length, 2);
  assert.deepEqual(doc.history.series.rows_per_second, [null, 6]);
  assert.deepEqual(doc.history.series.clients_connected, [1, 1]);
  assert.deepEqual(doc.recent_errors.map((e) => [e.component, e.message]), [
    ["postgres", "Replication stream lost: connection reset"],
  ]);
  assert.equal(doc.metrics['electric_rows_sent_total{phase="live"}'], 2);
  assert.equal(doc.metrics.electric_shapes, null);
});

test("with nothing to read, every figure is null and the state still shows", () => {
  const doc = statusDocument("subscribing", {});
  assert.equal(doc.status, "starting");
  assert.equal(doc.postgres.state, "subscribing");
  assert.equal(doc.clients.connected, null);
  assert.equal(doc.uptime_seconds, null);
  assert.deepEqual(doc.history.times, []);
  assert.deepEqual(doc.recent_errors, []);
  assert.equal(statusDocument(undefined, {}).status, "failed");
});

test("JSON is chosen by ?format=json or an Accept naming application/json", () => {
  assert.equal(wantsJson("http://h/api/status?format=json", undefined), true);
  assert.equal(wantsJson("http://h/api/status?x=1&format=json#f", "*/*"), true);
  assert.equal(wantsJson("http://h/api/status", "application/json"), true);
  assert.equal(wantsJson("http://h/api/status", "text/html, Application/JSON;q=0.5"), true);
  assert.equal(wantsJson("http://h/api/status", "application/json;q=0"), false);
  assert.equal(wantsJson("http://h/api/status", "*/*"), false);
  assert.equal(wantsJson("http://h/api/status?format=text", undefined), false);
  assert.equal(wantsJson("http://h/api/status", undefined), false);
});

test("GET /api/status answers JSON when asked, the exact texts otherwise", async () => {
  const f = fixture();
  f.step(0);
  const a = app("ready", f.source);
  const json = await a.request("http://localhost/api/status?format=json");
  assert.equal(json.status, 200);
  assert.equal(json.headers.get("content-type"), "application/json");
  assert.equal((await json.json()).instance_id, "instance-1");
  const accepted = await a.request("http://localhost/api/status", {
    headers: { accept: "application/json" },
  });
  assert.equal((await accepted.json()).postgres.state, "ready");
  const text = await a.request("http://localhost/api/status", { headers: { accept: "*/*" } });
  assert.deepEqual([text.status, await text.text(), text.headers.get("content-type")], [
    200,
    "Connection to Postgres is up!",
    null,
  ]);
  const starting = app("initialization", f.source);
  const startingText = await starting.request("http://localhost/api/status");
  assert.deepEqual([startingText.status, await startingText.text()], [
    503,
    "Initializing connection to Posgres...",
  ]);
  const startingJson = await starting.request("http://localhost/api/status?format=json");
  assert.equal(startingJson.status, 200, "the page polls it: browsers log non-2xx as errors");
  assert.equal((await startingJson.json()).status, "starting");
  const bare = await app(undefined).request("http://localhost/api/status?format=json");
  assert.equal((await bare.json()).status, "failed");
});

test("GET / is the status page: self-contained HTML under a strict CSP", async () => {
  const res = await app("ready").request("http://localhost/");
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), "text/html; charset=utf-8");
  assert.match(res.headers.get("content-security-policy") ?? "", /default-src 'none'/);
  const html = await res.text();
  assert.equal(html, STATUS_PAGE_HTML);
  assert.doesNotMatch(html, /(src|href)="(https?:)?\/\//, "no external assets");
  assert.equal((await app("ready").request("http://localhost/", { method: "POST" })).status, 404);
});

test("the page reads only figures the document has, and its script compiles", () => {
  const doc = statusDocument("ready", fixture().source) as unknown as Record<string, unknown>;
  const paths = [...STATUS_PAGE_HTML.matchAll(/data-figure="([^"]+)"/g)].map((m) => m[1]);
  assert.ok(paths.length > 20);
  for (const path of paths) {
    const [group, field] = path.split(".");
    assert.ok(field in (doc[group] as object), `${path} is in the JSON`);
  }
  const charts = [...STATUS_PAGE_HTML.matchAll(/data-chart="([^"]+)"/g)].map((m) => m[1]);
  for (const chart of charts) assert.ok(chart in (doc.history as { series: object }).series);
  const script = STATUS_PAGE_HTML.match(/<script>([\s\S]*)<\/script>/)![1];
  assert.doesNotThrow(() => new Function(script));
});
