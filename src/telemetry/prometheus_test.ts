import { test } from "node:test";
import assert from "node:assert/strict";
import { MetricsRegistry } from "./metrics.ts";
import { escapeHelp, escapeLabelValue, formatPrometheus, formatValue } from "./prometheus.ts";

test("HELP and TYPE once per family, series of one name together", () => {
  const registry = new MetricsRegistry();
  registry.counter("electric_rows_sent_total", "Rows sent.", { phase: "initial" }).inc(3);
  registry.gauge("electric_clients_connected", "Clients.").set(2);
  registry.counter("electric_rows_sent_total", "Rows sent.", { phase: "live" }).inc();
  assert.equal(
    formatPrometheus(registry.snapshot()),
    [
      "# HELP electric_rows_sent_total Rows sent.",
      "# TYPE electric_rows_sent_total counter",
      'electric_rows_sent_total{phase="initial"} 3',
      'electric_rows_sent_total{phase="live"} 1',
      "# HELP electric_clients_connected Clients.",
      "# TYPE electric_clients_connected gauge",
      "electric_clients_connected 2",
      "",
    ].join("\n"),
  );
});

test("label values and help are escaped", () => {
  assert.equal(escapeLabelValue('a\\b"c\nd'), 'a\\\\b\\"c\\nd');
  assert.equal(escapeHelp('say "hi"\\\nnext'), 'say "hi"\\\\\\nnext');
  const registry = new MetricsRegistry();
  registry.gaugeFrom("x", "line one\nline two", () => 1, { path: 'C:\\"x"' });
  const text = formatPrometheus(registry.snapshot());
  assert.match(text, /^# HELP x line one\\nline two$/m);
  assert.match(text, /^x\{path="C:\\\\\\"x\\""\} 1$/m);
});

test("special values, and a failing gauge reads NaN", () => {
  assert.equal(formatValue(Number.NaN), "NaN");
  assert.equal(formatValue(Infinity), "+Inf");
  assert.equal(formatValue(-Infinity), "-Inf");
  assert.equal(formatValue(0.25), "0.25");
  const registry = new MetricsRegistry();
  registry.gaugeFrom("broken", "Throws.", () => {
    throw new Error("no");
  });
  assert.match(formatPrometheus(registry.snapshot()), /^broken NaN$/m);
});

test("a histogram has cumulative buckets, +Inf, sum and count", () => {
  const registry = new MetricsRegistry();
  const histogram = registry.histogram("lag_seconds", "Lag.", [0.1, 1]);
  for (const value of [0.05, 0.5, 0.5, 3]) histogram.observe(value);
  assert.equal(
    formatPrometheus(registry.snapshot()),
    [
      "# HELP lag_seconds Lag.",
      "# TYPE lag_seconds histogram",
      'lag_seconds_bucket{le="0.1"} 1',
      'lag_seconds_bucket{le="1"} 3',
      'lag_seconds_bucket{le="+Inf"} 4',
      "lag_seconds_sum 4.05",
      "lag_seconds_count 4",
      "",
    ].join("\n"),
  );
});

test("an empty registry is an empty body", () => {
  assert.equal(formatPrometheus([]), "");
});
