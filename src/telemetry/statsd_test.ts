import { test } from "node:test";
import assert from "node:assert/strict";
import dgram from "node:dgram";
import { createLogger } from "./logger.ts";
import { MetricsRegistry } from "./metrics.ts";
import { packDatagrams, parseStatsdHost, statsdLines, StatsdReporter } from "./statsd.ts";

test("STATSD_HOST forms", () => {
  assert.deepEqual(parseStatsdHost("statsd"), { host: "statsd", port: 8125 });
  assert.deepEqual(parseStatsdHost("statsd:9125"), { host: "statsd", port: 9125 });
  assert.deepEqual(parseStatsdHost("[::1]:9000"), { host: "::1", port: 9000 });
  assert.deepEqual(parseStatsdHost("[::1]"), { host: "::1", port: 8125 });
  assert.deepEqual(parseStatsdHost("::1"), { host: "::1", port: 8125 });
});

test("counters go out as deltas, gauges as values, tagged", () => {
  const registry = new MetricsRegistry();
  const rows = registry.counter("electric_rows_sent_total", "Rows.", { phase: "initial" });
  const clients = registry.gauge("electric_clients_connected", "Clients.");
  registry.gaugeFrom("broken", "NaN is skipped.", () => Number.NaN);
  const previous = new Map<string, number>();
  const tags = ["instance_id:i1"];
  rows.inc(5);
  clients.set(2);
  assert.deepEqual(statsdLines(registry.snapshot(), previous, tags), [
    "electric_rows_sent_total:5|c|#instance_id:i1,phase:initial",
    "electric_clients_connected:2|g|#instance_id:i1",
  ]);
  rows.inc(3);
  assert.deepEqual(statsdLines(registry.snapshot(), previous, tags), [
    "electric_rows_sent_total:3|c|#instance_id:i1,phase:initial",
    "electric_clients_connected:2|g|#instance_id:i1",
  ]);
});

test("histograms go out as count and sum deltas", () => {
  const registry = new MetricsRegistry();
  const histogram = registry.histogram("lag_seconds", "Lag.", [1]);
  histogram.observe(0.5);
  histogram.observe(2);
  const previous = new Map<string, number>();
  assert.deepEqual(statsdLines(registry.snapshot(), previous, []), [
    "lag_seconds_count:2|c",
    "lag_seconds_sum:2.5|c",
  ]);
  histogram.observe(1);
  assert.deepEqual(statsdLines(registry.snapshot(), previous, []), [
    "lag_seconds_count:1|c",
    "lag_seconds_sum:1|c",
  ]);
});

test("lines are packed into datagrams under the limit", () => {
  const lines = Array.from({ length: 100 }, (_, i) => `metric_${i}:${i}|c|#instance_id:abc`);
  const datagrams = packDatagrams(lines, 200);
  assert.ok(datagrams.length > 1);
  for (const datagram of datagrams) assert.ok(datagram.length <= 200);
  const back = datagrams.map((d) => new TextDecoder().decode(d)).join("\n").split("\n");
  assert.deepEqual(back, lines);
  assert.equal(packDatagrams([]).length, 0);
});

test("the reporter sends datagrams to a UDP listener every period", async () => {
  const server = dgram.createSocket("udp4");
  await new Promise<void>((resolve) => server.bind(0, "127.0.0.1", () => resolve()));
  const port = (server.address() as { port: number }).port;
  const received: string[] = [];
  server.on("message", (message) => received.push(new TextDecoder().decode(message)));
  const registry = new MetricsRegistry();
  const counter = registry.counter("electric_transactions_received_total", "Transactions.");
  registry.gauge("electric_clients_connected", "Clients.").set(1);
  counter.inc(4);
  const reporter = new StatsdReporter({
    registry,
    target: `127.0.0.1:${port}`,
    instanceId: "test-instance",
    logger: createLogger({ level: "error", write: () => {} }),
    periodMs: 50,
  });
  const stop = new AbortController();
  const running = reporter.run(stop.signal);
  try {
    await waitFor(() => received.length >= 2, 5_000);
    const lines = received.join("\n").split("\n");
    assert.ok(
      lines.includes("electric_transactions_received_total:4|c|#instance_id:test-instance"),
    );
    assert.ok(lines.includes("electric_clients_connected:1|g|#instance_id:test-instance"));
    // Later flushes carry deltas.
    assert.ok(
      lines.includes("electric_transactions_received_total:0|c|#instance_id:test-instance"),
    );
  } finally {
    stop.abort();
    await running;
    server.close();
  }
});

test("an unreachable host is logged once and never thrown", async () => {
  const warnings: string[] = [];
  const registry = new MetricsRegistry();
  registry.gauge("g", "G.").set(1);
  const reporter = new StatsdReporter({
    registry,
    target: "no-such-host.invalid:8125",
    instanceId: "i",
    logger: createLogger({ level: "warning", write: (line) => warnings.push(line) }),
    periodMs: 20,
  });
  const stop = new AbortController();
  const running = reporter.run(stop.signal);
  await waitFor(() => warnings.length > 0, 5_000);
  await reporter.flush();
  await reporter.flush();
  stop.abort();
  await running;
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /Could not send metrics to StatsD at "no-such-host.invalid:8125"/);
});

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
