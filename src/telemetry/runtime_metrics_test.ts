import { test } from "node:test";
import assert from "node:assert/strict";
import { MetricsRegistry } from "./metrics.ts";
import { delayTickMs, RuntimeMetrics } from "./runtime_metrics.ts";

function value(registry: MetricsRegistry, name: string): number | undefined {
  return registry.snapshot().find((sample) => sample.name === name)?.value;
}

test("the delay timer ticks a twentieth of the period, within 10-100 ms", () => {
  assert.equal(delayTickMs(2_000), 100);
  assert.equal(delayTickMs(200), 10);
  assert.equal(delayTickMs(60_000), 100);
  assert.equal(delayTickMs(1), 10);
});

test("memory gauges read the process, a blocked loop shows as delay", async () => {
  const registry = new MetricsRegistry();
  const runtime = new RuntimeMetrics({ registry, periodMs: 100 });
  assert.ok(value(registry, "process_resident_memory_bytes")! > 1_000_000);
  assert.ok(value(registry, "electric_heap_used_bytes")! > 0);
  const stop = new AbortController();
  const running = runtime.run(stop.signal);
  try {
    await new Promise((resolve) => setTimeout(resolve, 30));
    const until = performance.now() + 150;
    while (performance.now() < until) {
      // Blocks the event loop.
    }
    const deadline = Date.now() + 5_000;
    while (value(registry, "electric_event_loop_delay_seconds")! < 0.1) {
      assert.ok(Date.now() < deadline, "the delay was not measured");
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  } finally {
    stop.abort();
    await running;
  }
});
