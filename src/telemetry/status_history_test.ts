import { test } from "node:test";
import assert from "node:assert/strict";
import { MetricsRegistry } from "./metrics.ts";
import { pointValues, seriesKey, StatusHistory, totalsOf } from "./status_history.ts";

test("series keys spell labels the Prometheus way, keys sorted", () => {
  assert.equal(seriesKey("a_total", {}), "a_total");
  assert.equal(seriesKey("a_total", { z: "1", phase: "live" }), 'a_total{phase="live",z="1"}');
});

test("counters become rates per second, labelled series also summed; gauges stay", () => {
  const registry = new MetricsRegistry();
  const initial = registry.counter("rows_total", "", { phase: "initial" });
  const live = registry.counter("rows_total", "", { phase: "live" });
  const clients = registry.gauge("clients", "");
  let now = 1_000;
  const history = new StatusHistory({ snapshot: () => registry.snapshot(), now: () => now });
  clients.set(2);
  const first = history.sample();
  assert.equal(first.values.get("clients"), 2);
  assert.equal(first.values.has("rows_total"), false, "no rate without an earlier point");
  initial.inc(30);
  live.inc(10);
  now += 2_000;
  const second = history.sample();
  assert.equal(second.values.get("rows_total"), 20);
  assert.equal(second.values.get('rows_total{phase="initial"}'), 15);
  assert.equal(second.values.get('rows_total{phase="live"}'), 5);
  assert.equal(history.latest(), second);
});

test("a counter that went down was reset; an unreadable series is left out", () => {
  const before = totalsOf([
    { name: "n_total", help: "", kind: "counter", labels: {}, value: 100 },
    { name: "g", help: "", kind: "gauge", labels: {}, value: 1 },
  ]);
  const after = totalsOf([
    { name: "n_total", help: "", kind: "counter", labels: {}, value: 4 },
    { name: "g", help: "", kind: "gauge", labels: {}, value: Number.NaN },
  ]);
  const values = pointValues(before, after, 2);
  assert.equal(values.get("n_total"), 2);
  assert.equal(values.has("g"), false);
});

test("histograms become the mean observed in the interval", () => {
  const registry = new MetricsRegistry();
  const lag = registry.histogram("lag_seconds", "", [0.1, 1]);
  let now = 0;
  const history = new StatusHistory({ snapshot: () => registry.snapshot(), now: () => now });
  lag.observe(5);
  history.sample();
  lag.observe(0.2);
  lag.observe(0.4);
  now += 1000;
  const point = history.sample();
  assert.ok(Math.abs(point.values.get("lag_seconds")! - 0.3) < 1e-9);
  now += 1000;
  assert.equal(history.sample().values.has("lag_seconds"), false, "nothing observed");
});

test("the ring keeps the window's worth of points, oldest first", () => {
  let now = 0;
  const history = new StatusHistory({
    snapshot: () => [],
    intervalMs: 1_000,
    windowMs: 3_000,
    now: () => now,
  });
  assert.deepEqual(history.points(), []);
  for (let i = 0; i < 5; i++) {
    history.sample();
    now += 1_000;
  }
  assert.deepEqual(history.points().map((p) => p.at), [2_000, 3_000, 4_000]);
});

test("run samples at once and every interval until aborted", async () => {
  let reads = 0;
  const history = new StatusHistory({ snapshot: () => (reads++, []), intervalMs: 10 });
  const controller = new AbortController();
  const running = history.run(controller.signal);
  assert.equal(reads, 1);
  while (reads < 3) await new Promise((resolve) => setTimeout(resolve, 5));
  controller.abort();
  await running;
  const after = reads;
  await new Promise((resolve) => setTimeout(resolve, 30));
  assert.equal(reads, after);
});
